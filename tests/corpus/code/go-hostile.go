package x
func TestMain(m *testing.M) {
	db.Exec("TRUNCATE users")
	db.Exec(`DELETE FROM t`)
	if os.Getenv("ENV") != "test" { panic("no") }
	func() { func() { func() { db.Exec("DROP TABLE x") }() }() }()
	s := "unterminated
	r := `unterminated raw
}
func (s *Suite) SetupTest() { s.db.Exec(fmt.Sprintf("TRUNCATE %s", t)) }
