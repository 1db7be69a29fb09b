class T {
  @BeforeEach void setUp() {
    jdbcTemplate.execute("TRUNCATE TABLE users");
    String q = """
      DELETE FROM t
      """;
    new Object() { void f() { new Object() { void g() { stmt.executeUpdate("DROP TABLE x"); } }; } };
    String s = "unterminated
  }
  @Sql(statements = {"DELETE FROM t", "TRUNCATE u"}) @Test void t() {}
