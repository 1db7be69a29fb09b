import os
def f(
    x = (((((((((((((((((((((((((((((((((1))))))))))))))))))))))))))))))))),
):
    cursor.execute(f"TRUNCATE {t}" f'''DELETE FROM users''' "DROP TABLE x" %s)
    '''unterminated
class C(:
    @pytest.fixture(autouse=True
    def setup(self):
        if os.environ["DATABASE_URL"].endswith("_test"):
            conn.execute("TRUNCATE users CASCADE")
lambda: lambda: lambda: lambda: execute("DELETE FROM t")
