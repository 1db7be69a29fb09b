//! Vectors from the PostgreSQL, MySQL, MongoDB, Redis and pgjdbc documentation (with the
//! verdicts `literal-dsn` should give), the incident DSN, and masking.

use std::borrow::Cow;

use super::*;
use Credential as C;
use HostClass::*;

/// One connection string in, what the parser must see.
struct Row {
    input: &'static str,
    form: DsnForm,
    /// `has_real_target()`.
    real: bool,
    cred: Credential,
    password: Option<&'static str>,
    user: Option<&'static str>,
    hosts: &'static [(&'static str, HostClass)],
    db: Option<&'static str>,
}

const fn row(input: &'static str, real: bool, cred: Credential) -> Row {
    Row {
        input,
        form: DsnForm::Uri,
        real,
        cred,
        password: None,
        user: None,
        hosts: &[],
        db: None,
    }
}

impl Row {
    const fn form(mut self, form: DsnForm) -> Self {
        self.form = form;
        self
    }
    const fn pw(mut self, pw: &'static str) -> Self {
        self.password = Some(pw);
        self
    }
    const fn user(mut self, user: &'static str) -> Self {
        self.user = Some(user);
        self
    }
    const fn hosts(mut self, hosts: &'static [(&'static str, HostClass)]) -> Self {
        self.hosts = hosts;
        self
    }
    const fn db(mut self, db: &'static str) -> Self {
        self.db = Some(db);
        self
    }
}

fn one(input: &str) -> Dsn {
    let mut found = find_dsns(input);
    assert_eq!(found.len(), 1, "{input}: {found:#?}");
    found.remove(0)
}

fn check(rows: &[Row]) {
    for r in rows {
        let d = one(r.input);
        let ctx = format!("{}\n{d:#?}", r.input);
        assert_eq!(d.form, r.form, "form: {ctx}");
        assert_eq!(d.has_real_target(), r.real, "real target: {ctx}");
        assert_eq!(d.credential, r.cred, "credential: {ctx}");
        assert_eq!(
            d.password.as_ref().map(|p| p.value.as_str()),
            r.password,
            "password: {ctx}"
        );
        assert_eq!(
            d.user.as_ref().map(|p| p.value.as_str()),
            r.user,
            "user: {ctx}"
        );
        let hosts: Vec<(&str, HostClass)> =
            d.hosts.iter().map(|h| (h.name.as_str(), h.class)).collect();
        assert_eq!(hosts, r.hosts, "hosts: {ctx}");
        assert_eq!(d.database.as_deref(), r.db, "database: {ctx}");
        assert_spans(r.input, &d);
        if let Some(pw) = r.password.filter(|p| !p.is_empty()) {
            assert!(!d.masked(r.input).contains(pw), "masked: {ctx}");
        }
    }
}

/// Every span is in bounds, on char boundaries, and inside the connection string.
fn assert_spans(input: &str, d: &Dsn) {
    assert!(input.get(d.span.clone()).is_some(), "{input}: {:?}", d.span);
    let parts = d.user.iter().chain(&d.password).chain(&d.secrets);
    let spans = parts
        .map(|p| p.span.clone())
        .chain(d.hosts.iter().map(|h| h.span.clone()));
    for s in spans {
        assert!(input.get(s.clone()).is_some(), "{input}: {s:?}");
        assert!(
            s.start >= d.span.start && s.end <= d.span.end,
            "{input}: {s:?} outside {:?}",
            d.span
        );
    }
}

/// A.1: libpq keyword/value form.
#[test]
fn libpq_conninfo_vectors() {
    use DsnForm::Conninfo;
    check(&[
        row("host=localhost port=5432 dbname=mydb connect_timeout=10", false, C::None)
            .form(Conninfo)
            .hosts(&[("localhost", Loopback)])
            .db("mydb"),
        row(
            "host=prod-pg-cluster.internal port=5432 dbname=storefront user=storefront_app password=s3cr3t",
            true,
            C::Literal,
        )
        .form(Conninfo)
        .pw("s3cr3t")
        .user("storefront_app")
        .hosts(&[("prod-pg-cluster.internal", Remote)])
        .db("storefront"),
        row(r"host = prod-pg-cluster.internal password = 'pa ss\'word'", true, C::Literal)
            .form(Conninfo)
            .pw("pa ss'word")
            .hosts(&[("prod-pg-cluster.internal", Remote)]),
        row("host=/var/run/postgresql dbname=app user=app password=s3cr3t", false, C::Literal)
            .form(Conninfo)
            .pw("s3cr3t")
            .user("app")
            .hosts(&[("/var/run/postgresql", UnixSocket)])
            .db("app"),
        row("host=db1.internal,db2.internal port=5432 dbname=app password=s3cr3t", true, C::Literal)
            .form(Conninfo)
            .pw("s3cr3t")
            .hosts(&[("db1.internal", Remote), ("db2.internal", Remote)])
            .db("app"),
    ]);
    let multi = one("host=db1.internal,db2.internal port=5432 dbname=app password=s3cr3t");
    let ports: Vec<Option<&str>> = multi.hosts.iter().map(|h| h.port.as_deref()).collect();
    assert_eq!(ports, [Some("5432"), Some("5432")]);
}

/// A.2: libpq connection URIs.
#[test]
fn libpq_uri_vectors() {
    check(&[
        // 1-14: the documentation examples, all local or without credentials.
        row("postgresql://", false, C::None).hosts(&[("", UnixSocket)]),
        row("postgresql://localhost", false, C::None).hosts(&[("localhost", Loopback)]),
        row("postgresql://localhost:5433", false, C::None).hosts(&[("localhost", Loopback)]),
        row("postgresql://localhost/mydb", false, C::None)
            .hosts(&[("localhost", Loopback)])
            .db("mydb"),
        row("postgresql://user@localhost", false, C::None)
            .user("user")
            .hosts(&[("localhost", Loopback)]),
        row("postgresql://user:secret@localhost", false, C::Literal)
            .user("user")
            .pw("secret")
            .hosts(&[("localhost", Loopback)]),
        row(
            "postgresql://other@localhost/otherdb?connect_timeout=10&application_name=myapp",
            false,
            C::None,
        )
        .user("other")
        .hosts(&[("localhost", Loopback)])
        .db("otherdb"),
        row(
            "postgresql://host1:123,host2:456/somedb?target_session_attrs=any&application_name=myapp",
            false,
            C::None,
        )
        .hosts(&[("host1", SingleLabel), ("host2", SingleLabel)])
        .db("somedb"),
        row("postgresql:///mydb?host=localhost&port=5433", false, C::None)
            .hosts(&[("localhost", Loopback)])
            .db("mydb"),
        row(
            "postgresql://user@localhost:5433/mydb?options=-c%20synchronous_commit%3Doff",
            false,
            C::None,
        )
        .user("user")
        .hosts(&[("localhost", Loopback)])
        .db("mydb"),
        row("postgresql://[2001:db8::1234]/database", false, C::None)
            .hosts(&[("2001:db8::1234", Reserved)])
            .db("database"),
        row("postgresql:///dbname?host=/var/lib/postgresql", false, C::None)
            .hosts(&[("/var/lib/postgresql", UnixSocket)])
            .db("dbname"),
        row("postgresql://%2Fvar%2Flib%2Fpostgresql/dbname", false, C::None)
            .hosts(&[("/var/lib/postgresql", UnixSocket)])
            .db("dbname"),
        row("postgres://user:secret@localhost", false, C::Literal)
            .user("user")
            .pw("secret")
            .hosts(&[("localhost", Loopback)]),
        // 15-17: derived positives.
        row(
            "postgresql://storefront_app:pw@prod-pg-cluster.internal:5432/storefront",
            true,
            C::Literal,
        )
        .user("storefront_app")
        .pw("pw")
        .hosts(&[("prod-pg-cluster.internal", Remote)])
        .db("storefront"),
        row("postgresql:///app?host=db.prod.internal&user=app&password=s3cr3t", true, C::Literal)
            .user("app")
            .pw("s3cr3t")
            .hosts(&[("db.prod.internal", Remote)])
            .db("app"),
        row(
            "postgresql://app:p%40ss@db1.internal:5432,db2.internal:5432/app?target_session_attrs=read-write",
            true,
            C::Literal,
        )
        .user("app")
        .pw("p@ss")
        .hosts(&[("db1.internal", Remote), ("db2.internal", Remote)])
        .db("app"),
        // 18: placeholder passwords. The reference calls these negative for the credential; the
        // host is still a literal remote target, which the design reports as a warning.
        row("postgresql://app:${DB_PASSWORD}@db.prod.internal/app", true, C::Placeholder)
            .user("app")
            .pw("${DB_PASSWORD}")
            .hosts(&[("db.prod.internal", Remote)])
            .db("app"),
        row("postgresql://app:changeme@db.prod.internal/app", true, C::Placeholder)
            .user("app")
            .pw("changeme")
            .hosts(&[("db.prod.internal", Remote)])
            .db("app"),
        row("postgresql://app:REDACTED@db.prod.internal/app", true, C::Placeholder)
            .user("app")
            .pw("REDACTED")
            .hosts(&[("db.prod.internal", Remote)])
            .db("app"),
        row("postgresql://app:<password>@db.prod.internal/app", true, C::Placeholder)
            .user("app")
            .pw("<password>")
            .hosts(&[("db.prod.internal", Remote)])
            .db("app"),
    ]);
}

/// A.3 to A.6: MySQL, MongoDB, Redis and pgjdbc.
#[test]
fn other_driver_vectors() {
    check(&[
        // A.3 MySQL
        row("jdbc:mysql://host1:33060/sakila", false, C::None)
            .hosts(&[("host1", SingleLabel)])
            .db("sakila"),
        row("mysql://app:s3cr3t@mysql.prod.internal:3306/app", true, C::Literal)
            .user("app")
            .pw("s3cr3t")
            .hosts(&[("mysql.prod.internal", Remote)])
            .db("app"),
        // A.4 MongoDB: example.com is a reserved documentation domain.
        row("mongodb://mongodb0.example.com:27017", false, C::None)
            .hosts(&[("mongodb0.example.com", Reserved)]),
        row(
            "mongodb://myDBReader:D1fficultP%40ssw0rd@mongodb0.example.com:27017/?authSource=admin",
            false,
            C::Literal,
        )
        .user("myDBReader")
        .pw("D1fficultP@ssw0rd")
        .hosts(&[("mongodb0.example.com", Reserved)]),
        row(
            "mongodb://mongodb0.example.com:27017,mongodb1.example.com:27017,mongodb2.example.com:27017/?replicaSet=myRepl",
            false,
            C::None,
        )
        .hosts(&[
            ("mongodb0.example.com", Reserved),
            ("mongodb1.example.com", Reserved),
            ("mongodb2.example.com", Reserved),
        ]),
        row(
            "mongodb+srv://myDatabaseUser:D1fficultP%40ssw0rd@mongodb0.example.com/?authSource=admin&replicaSet=myRepl",
            false,
            C::Literal,
        )
        .user("myDatabaseUser")
        .pw("D1fficultP@ssw0rd")
        .hosts(&[("mongodb0.example.com", Reserved)]),
        // A.5 Redis
        row("redis://default:<password>@<host>:6379/0", false, C::Placeholder)
            .user("default")
            .pw("<password>")
            .hosts(&[("<host>", Placeholder)])
            .db("0"),
        row("redis://user:secret@localhost:6379/0?foo=bar&qux=baz", false, C::Literal)
            .user("user")
            .pw("secret")
            .hosts(&[("localhost", Loopback)])
            .db("0"),
        row("redis://:s3cr3t@cache.prod.internal:6379/0", true, C::Literal)
            .pw("s3cr3t")
            .hosts(&[("cache.prod.internal", Remote)])
            .db("0"),
        row("rediss://default:s3cr3t@[2001:db8::1]:6380", false, C::Literal)
            .user("default")
            .pw("s3cr3t")
            .hosts(&[("2001:db8::1", Reserved)]),
        // A.6 pgjdbc
        row("jdbc:postgresql://[::1]:5740/accounting", false, C::None)
            .hosts(&[("::1", Loopback)])
            .db("accounting"),
        row("jdbc:postgresql://localhost/test?user=fred&password=secret&ssl=true", false, C::Literal)
            .user("fred")
            .pw("secret")
            .hosts(&[("localhost", Loopback)])
            .db("test"),
        row("jdbc:postgresql://db.prod.internal:5432/app?user=app&password=s3cr3t", true, C::Literal)
            .user("app")
            .pw("s3cr3t")
            .hosts(&[("db.prod.internal", Remote)])
            .db("app"),
    ]);
}

/// Vectors that are not connection strings this parser reads, so no target at all.
#[test]
fn not_found() {
    for input in [
        "myuser@example.com:3306/main-schema",
        "jdbc:postgresql:database",
        "jdbc:postgresql:/",
        "https://user:pw@github.com/org/repo",
        "see https://www.postgresql.org/docs/current/libpq-connect.html",
        "we run postgres in production",
        "sqlite:///var/db/app.sqlite",
        "{{ printf \"postgresql://app:%s@db.prod.internal/app\" .Values.pw }}",
        "",
        "host",
        "://",
        // Regression: a multi-byte character before the trigger word.
        "é  host=",
    ] {
        let found = find_dsns(input);
        assert!(
            found.iter().all(|d| !d.has_real_target()),
            "{input}: {found:#?}"
        );
    }
    // These are not connection strings at all.
    for input in [
        "myuser@example.com:3306/main-schema",
        "jdbc:postgresql:database",
        "https://user:pw@github.com/org/repo",
        "{{ printf \"postgresql://app:%s@db.prod.internal/app\" .Values.pw }}",
        "export HOST=db.prod.internal PORT=5432",
    ] {
        assert!(find_dsns(input).is_empty(), "{input}");
    }
}

/// Incident 001: the production DSN copied into the staging values file, password redacted in
/// the report. A literal production target, so a finding even without the real password.
#[test]
fn incident_001_production_dsn_in_staging_values() {
    let values = "\
postgres:
  # copied from values-production.yaml, to be replaced
  POSTGRES_DSN: postgresql://storefront_app:REDACTED@prod-pg-cluster.internal:5432/storefront
";
    let d = one(values);
    assert_eq!(
        &values[d.span.clone()],
        "postgresql://storefront_app:REDACTED@prod-pg-cluster.internal:5432/storefront"
    );
    assert!(d.has_real_target());
    assert_eq!(d.credential, Credential::Placeholder);
    assert_eq!(d.scheme, "postgresql");
    assert_eq!(
        d.user.as_ref().map(|u| u.value.as_str()),
        Some("storefront_app")
    );
    assert_eq!(d.database.as_deref(), Some("storefront"));
    assert_eq!(d.display_host(), "prod-pg-cluster.internal:5432");
    assert_eq!(
        d.masked(values),
        "postgresql://storefront_app:****@prod-pg-cluster.internal:5432/storefront"
    );
    assert_eq!(&values[d.hosts[0].span.clone()], "prod-pg-cluster.internal");
}

/// Forms beyond the reference vectors: JDBC SQL Server, SQLAlchemy, other schemes, ADO.NET and
/// ODBC, placeholders and references inside parts.
#[test]
fn more_forms() {
    use DsnForm::{Conninfo, KeyValueSemicolon as Ado};
    check(&[
        row(
            "jdbc:sqlserver://sql.prod.internal:1433;databaseName=app;user=app;password=s3cr3t",
            true,
            C::Literal,
        )
        .user("app")
        .pw("s3cr3t")
        .hosts(&[("sql.prod.internal", Remote)])
        .db("app"),
        row(
            r"jdbc:sqlserver://sql.prod.internal\inst:1433;password={p;ss}}w};user=app",
            true,
            C::Literal,
        )
        .user("app")
        .pw("p;ss}w")
        .hosts(&[("sql.prod.internal", Remote)]),
        row("jdbc:sqlserver://;serverName=sql.prod.internal;databaseName=app", true, C::None)
            .hosts(&[("sql.prod.internal", Remote)])
            .db("app"),
        row(
            "jdbc:mysql://(host=mysql.prod.internal,port=3306,user=app,password=s3cr3t)/app",
            true,
            C::Literal,
        )
        .user("app")
        .pw("s3cr3t")
        .hosts(&[("mysql.prod.internal", Remote)])
        .db("app"),
        row(
            "jdbc:mysql://address=(host=mysql.prod.internal)(port=3306)(password=s3cr3t)/app",
            true,
            C::Literal,
        )
        .pw("s3cr3t")
        .hosts(&[("mysql.prod.internal", Remote)])
        .db("app"),
        row("jdbc:mysql:replication://primary.prod.internal,replica.prod.internal/app", true, C::None)
            .hosts(&[("primary.prod.internal", Remote), ("replica.prod.internal", Remote)])
            .db("app"),
        row("postgresql+psycopg2://app:s3cr3t@db.prod.internal/app", true, C::Literal)
            .user("app")
            .pw("s3cr3t")
            .hosts(&[("db.prod.internal", Remote)])
            .db("app"),
        row(
            "mssql+pyodbc://sa:s3cr3t@sql.prod.internal/app?driver=ODBC+Driver+17+for+SQL+Server",
            true,
            C::Literal,
        )
        .user("sa")
        .pw("s3cr3t")
        .hosts(&[("sql.prod.internal", Remote)])
        .db("app"),
        row("amqps://svc:s3cr3t@rabbit.prod.internal:5671/vhost", true, C::Literal)
            .user("svc")
            .pw("s3cr3t")
            .hosts(&[("rabbit.prod.internal", Remote)])
            .db("vhost"),
        row("clickhouse://default:@ch.prod.internal:9000/db", true, C::Placeholder)
            .user("default")
            .pw("")
            .hosts(&[("ch.prod.internal", Remote)])
            .db("db"),
        row("cockroachdb://root@crdb.prod.internal:26257/defaultdb", true, C::None)
            .user("root")
            .hosts(&[("crdb.prod.internal", Remote)])
            .db("defaultdb"),
        row("sqlserver://sa:s3cr3t@sql.prod.internal:1433?database=app", true, C::Literal)
            .user("sa")
            .pw("s3cr3t")
            .hosts(&[("sql.prod.internal", Remote)])
            .db("app"),
        row("POSTGRES://App:S3cr3t@DB.Prod.Internal/App", true, C::Literal)
            .user("App")
            .pw("S3cr3t")
            .hosts(&[("db.prod.internal", Remote)])
            .db("App"),
        row("postgres://app:s3cr3t@db:5432/app", false, C::Literal)
            .user("app")
            .pw("s3cr3t")
            .hosts(&[("db", SingleLabel)])
            .db("app"),
        row("postgres://app:s3cr3t@host.docker.internal:5432/app", false, C::Literal)
            .user("app")
            .pw("s3cr3t")
            .hosts(&[("host.docker.internal", Loopback)])
            .db("app"),
        // Placeholders and references inside parts.
        row("postgresql://app:s3cr3t@{{ .Values.db.host }}:5432/app", false, C::Literal)
            .user("app")
            .pw("s3cr3t")
            .hosts(&[("{{ .values.db.host }}", Placeholder)])
            .db("app"),
        row("postgresql://app:s3cr3t@${DB_HOST:-localhost}:5432/app", false, C::Literal)
            .user("app")
            .pw("s3cr3t")
            .hosts(&[("${db_host:-localhost}", Placeholder)])
            .db("app"),
        row(
            "postgresql://app:ENC[AES256_GCM,data:a/b=,iv:x,tag:y,type:str]@db.prod.internal/app",
            true,
            C::Reference,
        )
        .user("app")
        .pw("ENC[AES256_GCM,data:a/b=,iv:x,tag:y,type:str]")
        .hosts(&[("db.prod.internal", Remote)])
        .db("app"),
        row("postgresql://app:ref+vault://secret/db#password@db.prod.internal/app", true, C::Reference)
            .user("app")
            .pw("ref+vault://secret/db#password")
            .hosts(&[("db.prod.internal", Remote)])
            .db("app"),
        row("postgresql://app:{{ .Values.db.password }}@db.prod.internal/app", true, C::Placeholder)
            .user("app")
            .pw("{{ .Values.db.password }}")
            .hosts(&[("db.prod.internal", Remote)])
            .db("app"),
        // Conninfo in code and with hostaddr.
        row(
            "conn = psycopg2.connect(\"host=db.prod.internal dbname=app user=app password=s3cr3t\")",
            true,
            C::Literal,
        )
        .form(Conninfo)
        .pw("s3cr3t")
        .user("app")
        .hosts(&[("db.prod.internal", Remote)])
        .db("app"),
        row(
            "dsn := \"user=app password=s3cr3t host=db.prod.internal dbname=app sslmode=disable\"",
            true,
            C::Literal,
        )
        .form(Conninfo)
        .pw("s3cr3t")
        .user("app")
        .hosts(&[("db.prod.internal", Remote)])
        .db("app"),
        row("hostaddr=10.1.2.3 port=5432 user=app", true, C::None)
            .form(Conninfo)
            .user("app")
            .hosts(&[("10.1.2.3", Remote)]),
        row("host={{ .Values.db.host }} dbname=app password=s3cr3t", false, C::Literal)
            .form(Conninfo)
            .pw("s3cr3t")
            .hosts(&[("{{ .values.db.host }}", Placeholder)])
            .db("app"),
        row("DSN=host=db.prod.internal dbname=app", true, C::None)
            .form(Conninfo)
            .hosts(&[("db.prod.internal", Remote)])
            .db("app"),
        // ADO.NET / ODBC
        row(
            "Server=tcp:sql.prod.internal,1433;Initial Catalog=app;Persist Security Info=False;User ID=app;Password=s3cr3t;",
            true,
            C::Literal,
        )
        .form(Ado)
        .pw("s3cr3t")
        .user("app")
        .hosts(&[("sql.prod.internal", Remote)])
        .db("app"),
        row(
            r#"  "Default": "Server=sql.prod.internal;Database=app;User Id=app;Password=s3cr3t;""#,
            true,
            C::Literal,
        )
        .form(Ado)
        .pw("s3cr3t")
        .user("app")
        .hosts(&[("sql.prod.internal", Remote)])
        .db("app"),
        row(
            r"Data Source=(localdb)\MSSQLLocalDB;Initial Catalog=app;Integrated Security=True",
            false,
            C::None,
        )
        .form(Ado)
        .hosts(&[("(localdb)", Loopback)])
        .db("app"),
        row(
            "Host=pg.prod.internal;Username=app;Password={{ .Values.pw }};Database=app",
            true,
            C::Placeholder,
        )
        .form(Ado)
        .pw("{{ .Values.pw }}")
        .user("app")
        .hosts(&[("pg.prod.internal", Remote)])
        .db("app"),
        row(
            "Driver={ODBC Driver 18 for SQL Server};Server=db;Database=app;Uid=root;Pwd={p;ss};",
            false,
            C::Literal,
        )
        .form(Ado)
        .pw("p;ss")
        .user("root")
        .hosts(&[("db", SingleLabel)])
        .db("app"),
        row("Data Source=app.db;Version=3;Password=s3cr3t;", false, C::Literal)
            .form(Ado)
            .pw("s3cr3t")
            .hosts(&[("app.db", UnixSocket)]),
        row(
            "Server=mysql.prod.internal;Port=3306;Database=app;Uid=app;Pwd='it''s';",
            true,
            C::Literal,
        )
        .form(Ado)
        .pw("it's")
        .user("app")
        .hosts(&[("mysql.prod.internal", Remote)])
        .db("app"),
    ]);
}

/// Where a URI starts and ends inside surrounding text.
#[test]
fn uri_in_context() {
    let cases: &[(&str, &str)] = &[
        (
            "DATABASE_URL=postgres://app:s3cr3t@db.prod.internal:5432/app",
            "postgres://app:s3cr3t@db.prod.internal:5432/app",
        ),
        (
            "  \"url\": \"postgres://app@db.prod.internal/app\",",
            "postgres://app@db.prod.internal/app",
        ),
        (
            "url: 'mysql://app@mysql.prod.internal/app'",
            "mysql://app@mysql.prod.internal/app",
        ),
        (
            "DSN:postgres://app@db.prod.internal/app",
            "postgres://app@db.prod.internal/app",
        ),
        (
            "url:jdbc:postgresql://db.prod.internal/app",
            "jdbc:postgresql://db.prod.internal/app",
        ),
        (
            "See [prod](postgres://app@db.prod.internal/app).",
            "postgres://app@db.prod.internal/app",
        ),
        (
            "<postgres://app@db.prod.internal/app>",
            "postgres://app@db.prod.internal/app",
        ),
        (
            "`redis://cache.prod.internal:6379`",
            "redis://cache.prod.internal:6379",
        ),
        (
            "${DATABASE_URL:-postgres://app@db.prod.internal/app}",
            "postgres://app@db.prod.internal/app",
        ),
        (
            "const url = \"postgres://app@db.prod.internal/app\\n\";",
            "postgres://app@db.prod.internal/app",
        ),
        (
            "<url>jdbc:postgresql://db.prod.internal/app</url>",
            "jdbc:postgresql://db.prod.internal/app",
        ),
        (
            "é postgres://app@db.prod.internal/app é",
            "postgres://app@db.prod.internal/app",
        ),
    ];
    for (input, want) in cases {
        let d = one(input);
        assert_eq!(&input[d.span.clone()], *want, "{input}");
        assert!(d.has_real_target(), "{input}");
    }
}

#[test]
fn line_endings_and_bom() {
    let text = "\u{FEFF}Server=sql.prod.internal;User Id=app;Password=s3cr3t\r\nurl: postgres://app:pw2@db.prod.internal/app\r\nhost=pg.prod.internal password=pw3\r\n";
    let found = find_dsns(text);
    let passwords: Vec<&str> = found
        .iter()
        .filter_map(|d| d.password.as_ref().map(|p| p.value.as_str()))
        .collect();
    assert_eq!(passwords, ["s3cr3t", "pw2", "pw3"]);
    assert!(found.iter().all(Dsn::has_real_target));
    let masked = mask_secrets(text);
    assert_eq!(
        masked,
        "\u{FEFF}Server=sql.prod.internal;User Id=app;Password=****\r\nurl: postgres://app:****@db.prod.internal/app\r\nhost=pg.prod.internal password=****\r\n"
    );
}

#[test]
fn several_in_one_text() {
    let text = "\
primary: postgres://app:s3cr3t@db.prod.internal/app
replica: host=replica.prod.internal port=5432 user=app
cache: redis://cache:6379/0
sql: Server=sql.prod.internal;Database=app;User Id=app;Password=pw2;
";
    let found = find_dsns(text);
    let forms: Vec<DsnForm> = found.iter().map(|d| d.form).collect();
    assert_eq!(
        forms,
        [
            DsnForm::Uri,
            DsnForm::Conninfo,
            DsnForm::Uri,
            DsnForm::KeyValueSemicolon
        ]
    );
    let hosts: Vec<String> = found.iter().map(Dsn::display_host).collect();
    assert_eq!(
        hosts,
        [
            "db.prod.internal",
            "replica.prod.internal:5432",
            "cache:6379",
            "sql.prod.internal"
        ]
    );
    for d in &found {
        assert_spans(text, d);
    }
}

/// The password text never survives masking, however it is written.
#[test]
fn masking_hides_every_password() {
    let cases: &[(&str, &str, &str)] = &[
        (
            "postgres://app:p@ss:w;rd@db.prod.internal/app",
            "p@ss:w;rd",
            "postgres://app:****@db.prod.internal/app",
        ),
        (
            "postgres://app:p%40ss%3Aw%3Brd@db.prod.internal/app",
            "p%40ss%3Aw%3Brd",
            "postgres://app:****@db.prod.internal/app",
        ),
        (
            "postgres://app:pa/ss@db.prod.internal/app",
            "pa/ss",
            "postgres://app:****@db.prod.internal/app",
        ),
        (
            "postgres://app:pa#s?s@db.prod.internal/app",
            "pa#s?s",
            "postgres://app:****@db.prod.internal/app",
        ),
        (
            "jdbc:postgresql://db.prod.internal/app?user=app&password=s3cr3t&ssl=true",
            "s3cr3t",
            "jdbc:postgresql://db.prod.internal/app?user=app&password=****&ssl=true",
        ),
        (
            "jdbc:sqlserver://sql.prod.internal;user=app;password={a;b}}c};encrypt=true",
            "a;b}}c",
            "jdbc:sqlserver://sql.prod.internal;user=app;password={****};encrypt=true",
        ),
        (
            "Server=sql.prod.internal;User Id=app;Password=\"p;w\"\"d\";",
            "p;w",
            "Server=sql.prod.internal;User Id=app;Password=\"****\"",
        ),
        (
            r"host=db.prod.internal password='pa ss\'word' sslpassword=k3y",
            "pa ss",
            r"host=db.prod.internal password='****' sslpassword=****",
        ),
        (
            "postgresql://app:REDACTED@db.prod.internal/app",
            "REDACTED",
            "postgresql://app:****@db.prod.internal/app",
        ),
        // Quotes and angle brackets inside a password do not end the string.
        (
            "DATABASE_URL=postgres://app:Xy'9z\"q@db.prod.internal/app",
            "Xy'9z\"q",
            "postgres://app:****@db.prod.internal/app",
        ),
        (
            "url: \"postgres://app:a<b>c`d@db.prod.internal/app\"",
            "a<b>c`d",
            "postgres://app:****@db.prod.internal/app",
        ),
        (
            "host=db.prod.internal password=Xy'9z dbname=app",
            "Xy'9z",
            "host=db.prod.internal password=**** dbname=app",
        ),
        (
            "\"Server=db.prod.internal;User Id=app;Password=Xy\"9z;\"",
            "Xy\"9z",
            "Server=db.prod.internal;User Id=app;Password=****",
        ),
        (
            "dsn: app:Xy'9z@tcp(db.prod.internal:3306)/app",
            "Xy'9z",
            "app:****@tcp(db.prod.internal:3306)/app",
        ),
        (
            "{\"dsn\":\"app:a,'b@tcp(db.prod.internal:3306)/app\"}",
            "a,'b",
            "app:****@tcp(db.prod.internal:3306)/app",
        ),
        // Raw `@`, `/`, `?` in a password: the last `@` before a plausible host ends it.
        (
            "postgres://app:p@2/x@db.prod.internal/app",
            "p@2/x",
            "postgres://app:****@db.prod.internal/app",
        ),
        (
            "postgres://app:p@?x@db.prod.internal/app",
            "p@?x",
            "postgres://app:****@db.prod.internal/app",
        ),
        // Separators inside a parameter value when no parameter follows them.
        (
            "jdbc:mysql://db.prod.internal/app?user=app&password=pa&ss#1&useSSL=true",
            "pa&ss#1",
            "jdbc:mysql://db.prod.internal/app?user=app&password=****&useSSL=true",
        ),
        (
            "Server=db.prod.internal;User Id=app;Password=pa;ss;Encrypt=true",
            "pa;ss",
            "Server=db.prod.internal;User Id=app;Password=****;Encrypt=true",
        ),
    ];
    for (input, secret, want) in cases {
        let d = one(input);
        let masked = d.masked(input);
        assert_eq!(masked, *want, "{input}");
        assert!(!masked.contains(secret), "{input}");
        if d.credential == Credential::Literal {
            let net = mask_secrets(input);
            assert!(!net.contains(secret), "{input}: {net}");
            assert!(net.contains("****"), "{input}: {net}");
        }
    }
}

#[test]
fn mask_secrets_on_output_strings() {
    let cases: &[(&str, &str)] = &[
        (
            "error: literal DSN postgres://app:s3cr3t@db.prod.internal/app in values.yaml",
            "error: literal DSN postgres://app:****@db.prod.internal/app in values.yaml",
        ),
        (
            "a=postgres://u:one@h1.prod/x b=mysql://u:two@h2.prod/y",
            "a=postgres://u:****@h1.prod/x b=mysql://u:****@h2.prod/y",
        ),
        (
            "git clone https://deploy:tok3n@git.example.org/x.git",
            "git clone https://deploy:****@git.example.org/x.git",
        ),
        (
            "{{ printf \"postgresql://app:s3cr3t@db/app\" }}",
            "{{ printf \"postgresql://app:****@db/app\" }}",
        ),
        ("  POSTGRES_PASSWORD: s3cr3t", "  POSTGRES_PASSWORD: ****"),
        ("PGPASSWORD=Xy'9z psql", "PGPASSWORD=**** psql"),
        (
            "host=db user=app password=s3cr3t",
            "host=db user=app password=****",
        ),
    ];
    for (input, want) in cases {
        assert_eq!(mask_secrets(input), *want, "{input}");
    }
    // Nothing to hide: the same string comes back, not a copy.
    for input in [
        "3 errors, 1 warning in 1,204 files",
        "postgresql://app:${DB_PASSWORD}@db.prod.internal/app",
        "postgresql://storefront_app:REDACTED@prod-pg-cluster.internal:5432/storefront",
        "use existingSecret: db-credentials",
        "password: {{ .Values.db.password }}",
        "https://github.com/org/repo",
    ] {
        assert!(matches!(mask_secrets(input), Cow::Borrowed(_)), "{input}");
    }
}

#[test]
fn display_host_picks_the_remote_one() {
    let d = one("postgresql://localhost:5432,db.prod.internal:6432/app");
    assert_eq!(d.display_host(), "db.prod.internal:6432");
    assert_eq!(
        one("postgresql://[2600:1f18::5]:5432/app").display_host(),
        "[2600:1f18::5]:5432"
    );
    assert_eq!(
        one("postgresql://localhost/app").display_host(),
        "localhost"
    );
    assert_eq!(one("postgresql:///app").display_host(), "");
}

mod props {
    use super::*;
    use proptest::prelude::*;

    /// Long enough, in bytes, to cross the look-back caps.
    const LONG: &str = "éééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééé";

    /// Text built from the characters connection strings are made of, plus non-ASCII.
    fn dsnish() -> impl Strategy<Value = String> {
        let atoms = prop::sample::select(vec![
            "postgres://",
            "jdbc:sqlserver://",
            "mysql://",
            "://",
            "host=",
            "Server=",
            "Data Source=",
            "password=",
            "Pwd=",
            "user=",
            "@",
            ":",
            "/",
            "?",
            "&",
            ";",
            ",",
            "=",
            "'",
            "\"",
            "\\",
            "{",
            "}",
            "{{",
            "}}",
            "${",
            "$(",
            ")",
            "(",
            "[",
            "]",
            "<",
            ">",
            "%",
            "%2F",
            "%4",
            "#",
            " ",
            "\n",
            "db.prod.internal",
            "localhost",
            "::1",
            "é",
            "日本",
            "\u{FEFF}",
            "a",
            "1",
            "@tcp(",
            "@unix(",
            ")/",
            "jdbc:oracle:thin:",
            "@//",
            "(HOST=",
            "\r",
            "\t",
            LONG,
        ]);
        prop::collection::vec(atoms, 0..40).prop_map(|v| v.concat())
    }

    /// Characters that may appear raw inside a password (no whitespace or quotes).
    fn password() -> impl Strategy<Value = String> {
        "[A-Za-z0-9@:;/?#%!$&*+=,.~-]{1,16}".prop_map(|p| format!("Zq9{p}"))
    }

    fn encode(p: &str) -> String {
        p.bytes()
            .map(|c| {
                if c.is_ascii_alphanumeric() || b"-._~".contains(&c) {
                    (c as char).to_string()
                } else {
                    format!("%{c:02X}")
                }
            })
            .collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn never_panics_and_spans_hold(text in dsnish()) {
            for d in find_dsns(&text) {
                prop_assert!(text.get(d.span.clone()).is_some());
                let parts = d.user.iter().chain(&d.password).chain(&d.secrets);
                for s in parts.map(|p| p.span.clone()).chain(d.hosts.iter().map(|h| h.span.clone())) {
                    prop_assert!(text.get(s.clone()).is_some(), "{:?} in {:?}", s, text);
                }
                let _ = d.masked(&text);
                let _ = d.display_host();
            }
            let _ = mask_secrets(&text);
        }

        #[test]
        fn encoded_passwords_round_trip_and_never_leak(pw in password()) {
            let enc = encode(&pw);
            let text = format!("url: postgres://app:{enc}@db.prod.internal:5432/app # x");
            let d = one(&text);
            prop_assert_eq!(d.password.as_ref().map(|p| p.value.as_str()), Some(pw.as_str()));
            prop_assert!(d.has_real_target());
            prop_assert!(!d.masked(&text).contains(&enc));
            prop_assert!(!mask_secrets(&text).contains(&enc));
        }

        #[test]
        fn raw_passwords_never_leak(pw in password()) {
            for text in [
                format!("postgres://app:{pw}@db.prod.internal/app"),
                format!("host=db.prod.internal user=app password='{pw}'"),
                format!("Server=db.prod.internal;User Id=app;Password={{{}}};", pw.replace('}', "}}")),
            ] {
                let masked = mask_secrets(&text);
                prop_assert!(!masked.contains(&pw), "{} -> {}", text, masked);
                let d = one(&text);
                prop_assert!(!d.masked(&text).contains(&pw), "{}", text);
            }
        }
    }
}

/// Shapes that once cost quadratic time: each is read in bounded time and still gives the
/// expected answer where there is one (`None`: anything without a real target will do).
#[test]
fn pathological_lines_still_parse() {
    let cases: Vec<(String, Option<usize>)> = vec![
        (("a=".repeat(500) + "host").repeat(40), Some(0)),
        ("host=".repeat(8_000), Some(0)),
        (";a=x;Server=y".repeat(3_000), Some(0)),
        ("{{".repeat(20_000), Some(0)),
        ("<a".repeat(20_000), Some(0)),
        ("postgres://".repeat(4_000), None),
        (
            ("postgres://a:b/".to_owned() + &"@".repeat(4000)).repeat(4),
            None,
        ),
        (
            "jdbc:sqlserver://h;".to_owned() + &"{a;".repeat(10_000),
            None,
        ),
        (
            "postgres://u:s3cr3t@h.prod.internal/db ".repeat(1_000),
            Some(1_000),
        ),
    ];
    for (text, want) in &cases {
        let found = find_dsns(text);
        match want {
            Some(n) => assert_eq!(found.len(), *n, "{}", &text[..40]),
            None => assert!(
                found.iter().all(|d| !d.has_real_target()),
                "{}",
                &text[..40]
            ),
        }
        for d in &found {
            assert_spans(text, d);
        }
        assert!(!mask_secrets(text).contains("s3cr3t"));
    }
    // One pathological line does not hide the connection string on the next.
    let late = "host=".repeat(20_000) + "\nhost=db.prod.internal dbname=app";
    assert!(find_dsns(&late).last().is_some_and(Dsn::has_real_target));
}
