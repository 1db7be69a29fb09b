//! Connection-string parsing: URI, libpq conninfo, ADO.NET/ODBC and JDBC forms.
//!
//! Pure text in, spans out: this module knows nothing about rules or files. `find_dsns` finds every
//! connection string inside a piece of text, `mask_secrets` hides the passwords in any output
//! string, and the `classify_*` functions tell a literal value from a placeholder or a reference.

use std::ops::Range;
use std::sync::LazyLock;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};

mod classify;
mod keyvalue;
mod mask;
mod native;
mod scan;
mod uri;

pub use classify::{classify_credential, classify_host, is_placeholder_or_reference};
pub use mask::mask_secrets;

/// How a connection string is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DsnForm {
    /// `scheme://user:password@host:port/db?params`, including JDBC and SQLAlchemy schemes,
    /// and the URI-like driver forms `user:password@tcp(host:port)/db` (Go MySQL, scheme
    /// `mysql`) and `jdbc:oracle:thin:user/password@//host:port/service`.
    Uri,
    /// libpq keyword/value form: `host=... port=... dbname=...`.
    Conninfo,
    /// ADO.NET / ODBC form: `Server=...;User Id=...;Password=...;`.
    KeyValueSemicolon,
}

/// One component of a connection string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    /// The value as the driver sees it: percent-decoded (URI) or unquoted and unescaped.
    pub value: String,
    /// Raw text span in the input (inside any quotes or braces).
    pub span: Range<usize>,
}

/// Where a host name points.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HostClass {
    /// `localhost`, `127.0.0.0/8`, `::1`, `host.docker.internal`, SQL Server `(local)`.
    Loopback,
    /// A Unix-domain socket (empty host, absolute path) or a local database file.
    UnixSocket,
    /// A name without dots: a compose or in-cluster service name like `db` or `postgres`.
    SingleLabel,
    /// A documentation name or address (RFC 2606, RFC 6761, RFC 5737, RFC 3849).
    Reserved,
    /// A template or placeholder (`<host>`, `${HOST}`, `{{ .Values.x }}`), not a real name.
    Placeholder,
    /// Anything else: a real network target.
    Remote,
}

/// What the password of a connection string is, ordered from least to most telling.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Credential {
    /// No password is written.
    None,
    /// A placeholder or template: `${X}`, `{{ .Values.x }}`, `<password>`, `REDACTED`, empty.
    Placeholder,
    /// An indirect or encrypted value: `ENC[...]`, `ref+vault://...`, `arn:aws:secretsmanager:...`.
    Reference,
    /// A password written out in the text.
    Literal,
}

/// A host of a connection string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Host {
    /// Lowercased and decoded, IPv6 brackets and SQL Server `\instance` stripped.
    pub name: String,
    /// Raw span of the host name in the input.
    pub span: Range<usize>,
    /// The port as written next to this host (or given once for all hosts), if any.
    pub port: Option<String>,
    /// What kind of target the name is.
    pub class: HostClass,
}

/// A connection string found in text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dsn {
    /// How it is written.
    pub form: DsnForm,
    /// The scheme as written, lowercased (`postgresql`, `jdbc:postgresql`, `mongodb+srv`);
    /// `libpq` for conninfo and `ado.net` for `Key=Value;` strings.
    pub scheme: String,
    /// The whole connection string in the input.
    pub span: Range<usize>,
    /// The user name, when one is written.
    pub user: Option<Part>,
    /// The password that decides `credential` (the most literal one when several are written).
    pub password: Option<Part>,
    /// Classification of `password`.
    pub credential: Credential,
    /// Every host, multi-host lists split; one empty-named `UnixSocket` host when none is written.
    pub hosts: Vec<Host>,
    /// The database name, when one is written.
    pub database: Option<String>,
    /// Every secret value in the string (passwords, `sslpassword`, key store passwords);
    /// `masked` hides all of them.
    pub secrets: Vec<Part>,
}

impl Dsn {
    fn new(form: DsnForm, scheme: String, span: Range<usize>) -> Self {
        Dsn {
            form,
            scheme,
            span,
            user: None,
            password: None,
            credential: Credential::None,
            hosts: Vec::new(),
            database: None,
            secrets: Vec::new(),
        }
    }

    /// Records a password; the most literal one becomes `password` and sets `credential`.
    fn add_password(&mut self, part: Part) {
        let class = classify_credential(&part.value);
        if class > self.credential {
            self.credential = class;
            self.password = Some(part.clone());
        }
        self.secrets.push(part);
    }

    /// True when some host is a real network target.
    pub fn has_real_target(&self) -> bool {
        self.hosts.iter().any(|h| h.class == HostClass::Remote)
    }

    /// The connection string as written in `input`, with every secret replaced by `****`.
    pub fn masked(&self, input: &str) -> String {
        let Some(raw) = input.get(self.span.clone()) else {
            return String::new();
        };
        let spans = self
            .secrets
            .iter()
            .filter(|s| !s.span.is_empty())
            .filter(|s| s.span.start >= self.span.start && s.span.end <= self.span.end)
            .map(|s| s.span.start - self.span.start..s.span.end - self.span.start)
            .collect();
        scan::replace_spans(raw, spans, "****")
    }

    /// The first remote host (or else the first host) with `:port` when one is written, for messages.
    pub fn display_host(&self) -> String {
        let host = self
            .hosts
            .iter()
            .find(|h| h.class == HostClass::Remote)
            .or_else(|| self.hosts.first());
        let Some(host) = host else {
            return String::new();
        };
        let name = if host.name.contains(':') {
            format!("[{}]", host.name)
        } else {
            host.name.clone()
        };
        match &host.port {
            Some(port) => format!("{name}:{port}"),
            None => name,
        }
    }
}

/// Trigger words: `://` starts a URI, `@tcp(`/`@unix(` a Go MySQL DSN, `jdbc:oracle:` an Oracle
/// URL; the rest start a key=value scan of their line.
static TRIGGERS: LazyLock<AhoCorasick> = LazyLock::new(|| {
    AhoCorasickBuilder::new()
        .ascii_case_insensitive(true)
        .match_kind(MatchKind::LeftmostFirst)
        .build(TRIGGER_WORDS)
        .expect("static patterns compile")
});

const TRIGGER_WORDS: [&str; 8] = [
    "://",
    "@tcp(",
    "@unix(",
    "jdbc:oracle:",
    "host",
    "server",
    "data source",
    "addr",
];
/// Triggers before this index parse one string at the match; the rest scan key=value runs.
const FIRST_KEY_WORD: usize = 4;

/// Every connection string found anywhere inside `text` (a config value, a line, a block scalar,
/// a code string), in order of position.
pub fn find_dsns(text: &str) -> Vec<Dsn> {
    let mut out = Vec::new();
    // End of the last connection string found: nothing inside it is looked at again.
    let mut covered = 0;
    // Where the next key=value scan may start.
    let mut kv_cursor = 0;
    let mut templates = scan::TemplateState::new();
    // Work allowed for key=value scans on the current line, linear in its length, so that one
    // pathological line neither takes quadratic time nor starves the lines after it.
    let mut budget = 0;
    let mut budget_line_end = 0;
    for m in TRIGGERS.find_iter(text) {
        let p = m.start();
        if p < covered {
            continue;
        }
        if p >= budget_line_end {
            budget_line_end =
                memchr::memchr(b'\n', &text.as_bytes()[p..]).map_or(text.len(), |k| p + k + 1);
            budget = (budget_line_end - p)
                .saturating_mul(8)
                .saturating_add(1 << 16);
        }
        let pattern = m.pattern().as_usize();
        if pattern < FIRST_KEY_WORD {
            let found = match pattern {
                0 => uri::parse_at(text, p, false),
                1 | 2 => native::go_mysql(text, p),
                _ => native::oracle(text, p),
            };
            if let Some(dsn) = found
                && dsn.span.start >= covered
                && !templates.inside(text, dsn.span.start)
            {
                covered = dsn.span.end;
                out.push(dsn);
            }
        } else if p >= kv_cursor && budget > 0 {
            let before = out.len();
            let from = covered.max(kv_cursor);
            kv_cursor = keyvalue::scan(text, p, from, &mut out, &mut templates, &mut budget);
            if let Some(last) = out.get(before..).and_then(|found| found.last()) {
                covered = covered.max(last.span.end);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests;
