//! Connection targets in a config file: connection strings, split host/user/password fields and
//! bare database host fields. Shared by `literal-dsn`, `cross-environment-target` and
//! `unprotected-config-path`, computed once per file.

use std::collections::{HashMap, HashSet};
use std::ops::Range;
use std::sync::LazyLock;

use aho_corasick::AhoCorasick;

use crate::classify::FileKind;
use crate::source::{Entry, SourceFile};
use crate::syntax::dsn::{self, Credential, Dsn, HostClass};
use crate::syntax::yaml;

/// How a target is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    /// A connection string (URI, conninfo or `Key=Value;`).
    Dsn,
    /// Host, user and password as separate fields of one mapping, section or file.
    Split,
    /// A database host field on its own.
    Host,
}

/// One connection target.
#[derive(Debug, Clone)]
pub struct Target {
    pub form: Form,
    /// Where findings point: the connection string, the password field, or the host value.
    pub span: Range<usize>,
    /// `postgresql`, `redis`, `libpq`, `ado.net`; `fields` for split fields; `host` for a host.
    pub scheme: String,
    /// The host for messages (first real one), with port when written.
    pub host: String,
    pub host_class: HostClass,
    pub credential: Credential,
    /// Key path of the value (`db.url`, `DATABASE_URL`).
    pub key_path: String,
    /// The connection string with its password masked (for split fields and hosts, the host).
    pub masked: String,
    /// Every real (remote) host the target names: a multi-host string is judged host by host.
    pub hosts: Vec<String>,
}

impl Target {
    /// True when the target names a real, non-local host.
    pub fn is_real(&self) -> bool {
        self.host_class == HostClass::Remote
    }
}

/// Targets and secret ranges of one file.
#[derive(Debug, Clone, Default)]
pub struct Targets {
    pub items: Vec<Target>,
    /// Byte ranges of literal passwords: masked wherever the file is shown.
    pub secrets: Vec<Range<usize>>,
}

const PASSWORD_KEYS: &[&str] = &[
    "pgpassword",
    "password",
    "passwd",
    "pwd",
    "pass",
    "secret",
    "token",
    "auth_token",
    "authtoken",
];
const USER_KEYS: &[&str] = &[
    "pguser", "user", "username", "usr", "login", "uid", "userid", "user_id",
];
const HOST_KEYS: &[&str] = &[
    "pghost",
    "pghostaddr",
    "host",
    "hostname",
    "server",
    "address",
    "endpoint",
    "addr",
    "hostaddr",
];
const DB_WORDS: &[&str] = &[
    "pghost",
    "pghostaddr",
    "db",
    "database",
    "databases",
    "postgres",
    "postgresql",
    "pg",
    "psql",
    "mysql",
    "mariadb",
    "mongo",
    "mongodb",
    "redis",
    "sql",
    "rds",
    "aurora",
    "amqp",
    "rabbitmq",
    "rabbit",
    "mssql",
    "sqlserver",
    "clickhouse",
    "cockroach",
    "cockroachdb",
    "datasource",
    "externaldatabase",
    "primary",
    "replica",
    "cache",
    "memcached",
    "jdbc",
    "pgbouncer",
];

/// The words of a key or path, as slices: split on separators and camelCase boundaries
/// (`externalDatabase.host` → external, Database, host; `DB_HOST` → DB, HOST). Compare them
/// case-insensitively. No allocation: this runs for every config value.
fn word_slices(s: &str) -> impl Iterator<Item = &str> {
    let b = s.as_bytes();
    let mut i = 0;
    std::iter::from_fn(move || {
        while i < b.len() && !b[i].is_ascii_alphanumeric() {
            i += 1;
        }
        if i >= b.len() {
            return None;
        }
        let start = i;
        let mut prev_lower = false;
        while i < b.len() && b[i].is_ascii_alphanumeric() {
            if b[i].is_ascii_uppercase() && prev_lower {
                break;
            }
            prev_lower = b[i].is_ascii_lowercase() || b[i].is_ascii_digit();
            i += 1;
        }
        Some(&s[start..i])
    })
}

/// The words of `s`, lowercased.
fn words(s: &str) -> Vec<String> {
    word_slices(s).map(str::to_ascii_lowercase).collect()
}

/// Whether the letters and digits of `s`, lowercased, spell `name` (a lowercase word):
/// `DB_PASSWORD` spells `dbpassword`.
fn spells(s: &str, name: &str) -> bool {
    let mut want = name.bytes();
    s.bytes()
        .filter(u8::is_ascii_alphanumeric)
        .all(|c| want.next() == Some(c.to_ascii_lowercase()))
        && want.next().is_none()
}

fn key_is(key: &str, names: &[&str]) -> bool {
    names.iter().any(|n| spells(key, n))
        || word_slices(key)
            .last()
            .is_some_and(|l| names.iter().any(|n| l.eq_ignore_ascii_case(n)))
}

fn path_is_database(path: &str) -> bool {
    word_slices(path).any(|t| DB_WORDS.iter().any(|d| t.eq_ignore_ascii_case(d))) || {
        let joined = words(path).concat();
        DB_WORDS.iter().any(|d| d.len() > 4 && joined.contains(d))
    }
}

/// A key without its last word: `DB_HOST` → `db`, `host` → ``, `PGHOST` → `pg`.
fn key_stem(key: &str) -> String {
    let w = words(key);
    let joined = w.concat();
    for k in ["pghostaddr", "pghost", "pguser", "pgpassword"] {
        if joined == k {
            return "pg".into();
        }
    }
    w[..w.len().saturating_sub(1)].concat()
}

/// Values under `example`/`examples` keys (OpenAPI, JSON Schema) document a shape; they are
/// not configuration.
fn is_documentation(path: &str) -> bool {
    word_slices(path)
        .any(|w| w.eq_ignore_ascii_case("example") || w.eq_ignore_ascii_case("examples"))
}

/// Files whose every host field is a database host: `config/database.yml`, `db.ini`, `my.cnf`.
fn file_is_database(path: &str) -> bool {
    let file = path.rsplit('/').next().unwrap_or(path).to_ascii_lowercase();
    let stem = file.split('.').next().unwrap_or("");
    matches!(
        stem,
        "database" | "databases" | "db" | "my" | "pgbouncer" | "pg_service"
    )
}

/// Maps a span inside an entry's value to the file. Exact values map directly; others (quoted
/// with escapes, block scalars, aliases) are located by searching the source text.
fn map_span(file: &SourceFile, e: &Entry, inner: &Range<usize>) -> Range<usize> {
    if e.exact {
        return e.value_span.start + inner.start..e.value_span.start + inner.end;
    }
    let needle = e.value.get(inner.clone()).unwrap_or("");
    yaml::locate(&file.text, &e.value_span, needle)
}

fn dsn_target(
    file: &SourceFile,
    d: &Dsn,
    text: &str,
    span: Range<usize>,
    key_path: &str,
    out: &mut Targets,
) {
    // Every password-like part (password, sslpassword, key-store passwords) is masked when literal.
    let parts = d.password.iter().chain(d.secrets.iter());
    for pw in parts.filter(|p| dsn::classify_credential(&p.value) == Credential::Literal) {
        // Map the password's offset inside the string to the file; search only as a fallback
        // (a password equal to the scheme or user, `postgres:postgres`, must not mask those).
        let exact =
            span.len() == d.span.len() && text.get(d.span.clone()) == file.text.get(span.clone());
        let at = if exact && pw.span.start >= d.span.start {
            Some(
                span.start + (pw.span.start - d.span.start)
                    ..span.start + (pw.span.end - d.span.start),
            )
        } else {
            let raw = text.get(pw.span.clone()).unwrap_or("");
            let needle = format!(":{raw}@");
            let found = yaml::locate(&file.text, &span, &needle);
            (!raw.is_empty() && found != span).then(|| found.start + 1..found.end - 1)
        };
        out.secrets.push(at.unwrap_or_else(|| span.clone()));
    }
    let class = best_class(d);
    out.items.push(Target {
        form: Form::Dsn,
        span,
        scheme: d.scheme.clone(),
        host: d.display_host(),
        host_class: class,
        credential: d.credential,
        key_path: key_path.to_string(),
        masked: d.masked(text),
        hosts: d
            .hosts
            .iter()
            .filter(|h| h.class == HostClass::Remote)
            .map(|h| h.name.clone())
            .collect(),
    });
}

fn best_class(d: &Dsn) -> HostClass {
    if d.hosts.iter().any(|h| h.class == HostClass::Remote) {
        HostClass::Remote
    } else if d.hosts.iter().any(|h| h.class == HostClass::SingleLabel) {
        HostClass::SingleLabel
    } else {
        d.hosts.first().map_or(HostClass::UnixSocket, |h| h.class)
    }
}

/// Words without which a file cannot hold a target: `://` and the connection-string trigger
/// words (see `dsn::find_dsns`), the host keys above (joined-word spellings included), and a
/// backslash, since an escape in a quoted value can spell any of them.
static KEYWORDS: LazyLock<AhoCorasick> = LazyLock::new(|| {
    AhoCorasick::builder()
        .ascii_case_insensitive(true)
        .build([
            "://",
            "host",
            "server",
            "addr",
            "endpoint",
            "end_point",
            "end-point",
            "end.point",
            "\\",
            "source",
        ])
        .expect("static patterns compile")
});

/// A cheap test run before any parse: false means `find` would return no target. It may say
/// true for a file without one.
pub fn may_hold_target(text: &str) -> bool {
    let b = text.as_bytes();
    KEYWORDS.find_iter(text).any(|m| {
        // `source` counts only as `Data Source=`, the ADO.NET key.
        m.pattern().as_usize() != 9 || {
            let rest = b.get(m.end()..).unwrap_or_default();
            let i = rest
                .iter()
                .position(|c| !matches!(c, b' ' | b'\t'))
                .unwrap_or(rest.len());
            rest.get(i) == Some(&b'=')
        }
    })
}

/// Computes the targets of a config file.
pub fn find(file: &SourceFile) -> Targets {
    let mut out = Targets::default();
    let entries = file.entries();
    let text_only =
        file.kind == FileKind::HelmTemplate || (file.kind.is_yaml() && file.yaml().error.is_some());
    if text_only {
        // Templates are not YAML, and a broken file still deserves its connection strings found.
        for d in dsn::find_dsns(&file.text) {
            let span = d.span.clone();
            dsn_target(file, &d, &file.text, span, "", &mut out);
        }
        return out;
    }
    for e in entries
        .iter()
        .filter(|e| !e.alias && !is_documentation(&e.path))
    {
        for d in dsn::find_dsns(&e.value) {
            let span = map_span(file, e, &d.span);
            dsn_target(file, &d, &e.value, span, &e.path, &mut out);
        }
        if key_is(&e.key, PASSWORD_KEYS)
            && dsn::classify_credential(&e.value) == Credential::Literal
        {
            out.secrets.push(e.value_span.clone());
        }
    }
    // Split fields and bare hosts, by group (one mapping, section, or a whole .env file).
    let mut i = 0;
    let mut by_group: Vec<&Entry> = entries.iter().collect();
    by_group.sort_by_key(|e| (e.group, e.value_span.start));
    let db_file = file_is_database(&file.path);
    while i < by_group.len() {
        let g = by_group[i].group;
        let mut j = i;
        while j < by_group.len() && by_group[j].group == g {
            j += 1;
        }
        let group = &by_group[i..j];
        i = j;
        let mut fields: Option<GroupFields> = None;
        for host in group.iter().filter(|e| {
            key_is(&e.key, HOST_KEYS)
                && (db_file || path_is_database(&e.path))
                && !is_documentation(&e.path)
        }) {
            if dsn::find_dsns(&host.value).iter().any(|_| true) {
                continue;
            }
            let name = host.value.trim();
            let class = dsn::classify_host(name);
            if name.is_empty() || dsn::is_placeholder_or_reference(name) {
                continue;
            }
            // Fields belong together when they share a stem: DB_HOST, DB_USER and DB_PASSWORD
            // do; REDIS_HOST and SMTP_PASSWORD in the same .env file do not.
            let stem = key_stem(&host.key);
            let fields = fields.get_or_insert_with(|| GroupFields::new(group));
            let password = fields.passwords.get(&stem).copied();
            let user = fields.users.contains(&stem);
            let (form, span, credential) = match password {
                Some(p) if user => (Form::Split, p.value_span.clone(), Credential::Literal),
                _ => (Form::Host, host.value_span.clone(), Credential::None),
            };
            out.items.push(Target {
                form,
                span,
                scheme: if form == Form::Split {
                    "fields".into()
                } else {
                    "host".into()
                },
                host: name.to_string(),
                host_class: class,
                credential,
                key_path: host.path.clone(),
                masked: name.to_string(),
                hosts: if class == HostClass::Remote {
                    vec![host_only(name).to_string()]
                } else {
                    vec![]
                },
            });
        }
    }
    out.items.sort_by_key(|t| t.span.start);
    out
}

/// The password and user fields of one group, by key stem, read once per group: a group with
/// many host fields (a long `.env`, a mapping with repeated keys) stays linear.
struct GroupFields<'e> {
    /// The first literal password of each stem, in file order.
    passwords: HashMap<String, &'e Entry>,
    /// Stems with a user field.
    users: HashSet<String>,
}

impl<'e> GroupFields<'e> {
    fn new(group: &[&'e Entry]) -> Self {
        let mut passwords = HashMap::new();
        let mut users = HashSet::new();
        for e in group {
            if key_is(&e.key, PASSWORD_KEYS)
                && dsn::classify_credential(&e.value) == Credential::Literal
            {
                passwords.entry(key_stem(&e.key)).or_insert(*e);
            }
            if key_is(&e.key, USER_KEYS) {
                users.insert(key_stem(&e.key));
            }
        }
        GroupFields { passwords, users }
    }
}

/// A `host:port` display string without its port.
pub fn host_only(host: &str) -> &str {
    host.rsplit_once(':')
        .filter(|(h, p)| !h.ends_with(']') || !p.is_empty())
        .filter(|(_, p)| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()))
        .map_or(host, |(h, _)| h)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_words_split_on_separators_and_camel_case() {
        let w: Vec<&str> = word_slices("externalDatabase.host").collect();
        assert_eq!(w, ["external", "Database", "host"]);
        let w: Vec<&str> = word_slices("--DB_HOST2x..pgHostAddr").collect();
        assert_eq!(w, ["DB", "HOST2x", "pg", "Host", "Addr"]);
        assert_eq!(words("DB_HOST"), ["db", "host"]);
        assert!(key_is("DB_PASSWORD", PASSWORD_KEYS));
        assert!(key_is("PgPassword", PASSWORD_KEYS));
        assert!(key_is("db.Pass", PASSWORD_KEYS));
        // Near misses: the key only begins with a password word, or spells it with more.
        assert!(!key_is("passwordHint", PASSWORD_KEYS));
        assert!(!key_is("passwords_file", PASSWORD_KEYS));
        assert!(is_documentation("paths./orders.Examples.url"));
        assert!(!is_documentation("paths./orders.counterexample.url"));
    }

    fn dotenv(text: &str) -> SourceFile {
        SourceFile::new(
            "config/database.env",
            text.to_string(),
            FileKind::DotEnv { example: false },
        )
    }

    #[test]
    fn split_fields_take_the_first_literal_password_of_their_stem() {
        let text = "REDIS_HOST=cache.prod.internal\nDB_HOST=pg.prod.internal\nDB_USER=app\n\
                    DB_PASSWORD=${DB_PASSWORD}\nDB_PASSWORD=first-pw\nDB_PASSWORD=second-pw\n";
        let found = find(&dotenv(text));
        let got: Vec<(Form, &str, &str)> = found
            .items
            .iter()
            .map(|t| (t.form, t.host.as_str(), &text[t.span.clone()]))
            .collect();
        assert_eq!(
            got,
            vec![
                (Form::Host, "cache.prod.internal", "cache.prod.internal"),
                (Form::Split, "pg.prod.internal", "first-pw"),
            ]
        );
    }

    #[test]
    fn every_host_of_a_large_group_is_a_target() {
        let mut text: String = (0..5_000)
            .map(|i| format!("DB_HOST=pg{i}.prod.internal\n"))
            .collect();
        let hosts_only = find(&dotenv(&text));
        assert_eq!(hosts_only.items.len(), 5_000);
        assert!(hosts_only.items.iter().all(|t| t.form == Form::Host));
        text.push_str("DB_USER=app\nDB_PASSWORD=pw-1\n");
        let split = find(&dotenv(&text));
        assert_eq!(split.items.len(), 5_000);
        assert!(split.items.iter().all(|t| t.form == Form::Split));
        assert!(split.items.iter().all(|t| &text[t.span.clone()] == "pw-1"));
        assert_eq!(split.items[4_999].host, "pg4999.prod.internal");
    }
}
