//! URI-form connection strings:
//! `scheme://[user[:password]@][host[:port]][,host[:port]...][/db][?key=value&...]`, with the
//! JDBC variants (`jdbc:sqlserver://host;user=u;password=p`, Connector/J `(host=..,port=..)`)
//! and SQLAlchemy `dialect+driver://`.

use std::ops::Range;

use super::scan::{
    blank_groups, closes_string, ends_markup, floor_boundary, percent_decode, shadow, split_ranges,
    template_end,
};
use super::{Dsn, DsnForm, Host, HostClass, Part, classify_host};

/// Database, queue and cache schemes (the part before any `+driver`).
const DIALECTS: &[&str] = &[
    "postgres",
    "postgresql",
    "pgsql",
    "postgis",
    "mysql",
    "mysqlx",
    "mysql2",
    "mariadb",
    "trilogy",
    "mongodb",
    "redis",
    "rediss",
    "valkey",
    "valkeys",
    "amqp",
    "amqps",
    "mssql",
    "sqlserver",
    "clickhouse",
    "cockroachdb",
    "cockroach",
    "oracle",
    "redshift",
    "timescale",
];

/// Longest scheme looked at, `jdbc:mysql+srv:loadbalance` included.
const MAX_SCHEME: usize = 64;
/// Longest connection string taken; anything longer is cut there.
const MAX_LEN: usize = 4096;

fn is_scheme_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'+' | b'.' | b'-' | b'_' | b':')
}

/// `jdbc:` followed by one or more `:`-separated sub-protocols (`jdbc:postgresql`,
/// `jdbc:mysql:replication`, `jdbc:jtds:sqlserver`).
fn jdbc_scheme(s: &str) -> bool {
    let Some(rest) = s.get(..5).filter(|p| p.eq_ignore_ascii_case("jdbc:")) else {
        return false;
    };
    let rest = &s[rest.len()..];
    rest.starts_with(|c: char| c.is_ascii_alphabetic())
        && rest.split(':').all(|seg| {
            !seg.is_empty()
                && seg
                    .bytes()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'+' | b'.' | b'-' | b'_'))
        })
}

/// A scheme this module treats as a connection string.
fn known_scheme(s: &str) -> bool {
    if jdbc_scheme(s) {
        return true;
    }
    if s.contains(':') {
        return false;
    }
    let (dialect, driver) = match s.split_once('+') {
        Some((d, drv)) => (d, Some(drv)),
        None => (s, None),
    };
    DIALECTS.iter().any(|d| d.eq_ignore_ascii_case(dialect))
        && driver.is_none_or(|d| {
            !d.is_empty() && d.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_')
        })
}

/// Any syntactically valid scheme (used when masking: `https://user:token@...` too).
fn any_scheme(s: &str) -> bool {
    jdbc_scheme(s)
        || (s.starts_with(|c: char| c.is_ascii_alphabetic())
            && s.bytes()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'+' | b'.' | b'-')))
}

/// Parses the URI whose `://` starts at `sep`. With `any` every scheme is accepted (for
/// masking); the caller decides about template context.
pub(super) fn parse_at(text: &str, sep: usize, any: bool) -> Option<Dsn> {
    let b = text.as_bytes();
    if b.get(sep..sep + 3) != Some(b"://") {
        return None;
    }
    let mut s = sep;
    while s > 0 && sep - s < MAX_SCHEME && is_scheme_byte(b[s - 1]) {
        s -= 1;
    }
    // The walk back stopped on a scheme byte only when the cap was hit.
    let cut = s > 0 && is_scheme_byte(b[s - 1]);
    let accepts = |cand: &str| {
        if any {
            any_scheme(cand)
        } else {
            known_scheme(cand)
        }
    };
    // `DSN:postgres://`, `url:jdbc:mysql://`, `${URL:-postgres://`: try each start after a
    // punctuation byte, longest first.
    let start = (s..sep).find(|&st| {
        let boundary = if st == s {
            !cut
        } else {
            !b[st - 1].is_ascii_alphanumeric()
        };
        boundary && accepts(&text[st..sep])
    });
    let start = start?;
    let body_start = sep + 3;
    let end = uri_end(text, body_start);
    if any && end == body_start {
        return None;
    }
    let scheme = text[start..sep].to_ascii_lowercase();
    let mut dsn = Dsn::new(DsnForm::Uri, scheme, start..end);
    parse_body(&mut dsn, &text[body_start..end], body_start);
    Some(dsn)
}

/// End of a URI: whitespace, a quote, a backtick, `<`, `>` or an escaped quote, with trailing
/// sentence punctuation and unbalanced closing brackets dropped. Template tokens are skipped
/// whole, so `{{ .Values.host }}` does not end it.
fn uri_end(text: &str, body_start: usize) -> usize {
    let b = text.as_bytes();
    let limit = floor_boundary(text, body_start.saturating_add(MAX_LEN));
    let mut i = body_start;
    let mut last_at = None;
    while i < limit {
        if let Some(e) = template_end(b, i, limit) {
            i = e;
            continue;
        }
        let c = b[i];
        if c.is_ascii_whitespace() || c.is_ascii_control() {
            break;
        }
        // A quote inside a password (`app:Xy'9z@db`) does not end the string; one followed by
        // the end, a space or punctuation does.
        let stop = (matches!(c, b'"' | b'\'') && closes_string(b, i))
            || (matches!(c, b'`' | b'<' | b'>') && ends_markup(b, i))
            || (c == b'<' && b.get(i + 1) == Some(&b'/'))
            || (c == b'\\' && matches!(b.get(i + 1), Some(b'"' | b'\'' | b'n' | b'r' | b't')));
        if stop {
            match password_at(b, body_start, i, limit, last_at) {
                Some(at) => i = at,
                None => break,
            }
        }
        if b[i] == b'@' {
            last_at = Some(i);
        }
        i += 1;
    }
    let count = |c: u8| b[body_start..i].iter().filter(|&&x| x == c).count();
    let mut depth = [
        count(b'(') as isize - count(b')') as isize,
        count(b'[') as isize - count(b']') as isize,
        count(b'{') as isize - count(b'}') as isize,
    ];
    let mut end = i;
    while end > body_start {
        let slot = match b[end - 1] {
            b'.' | b',' | b';' | b':' | b'!' | b'?' => None,
            b')' => Some(0),
            b']' => Some(1),
            b'}' => Some(2),
            _ => break,
        };
        if let Some(k) = slot {
            // A closing bracket stays when it closes something inside the string.
            if depth[k] >= 0 {
                break;
            }
            depth[k] += 1;
        }
        end -= 1;
    }
    end
}

/// When a would-be end at `i` still lies in `user:password` (a `:` without a port after it, and
/// no plausible host after the last `@` so far), the `@` ahead in the same unbroken run that
/// ends the password.
fn password_at(
    b: &[u8],
    body_start: usize,
    i: usize,
    limit: usize,
    last_at: Option<usize>,
) -> Option<usize> {
    let so_far = &b[body_start..i];
    let first_sep = so_far
        .iter()
        .position(|c| matches!(c, b'/' | b'?' | b'#'))
        .unwrap_or(so_far.len());
    let auth = &so_far[..first_sep];
    if !auth.contains(&b':') {
        return None;
    }
    match last_at {
        None if looks_like_hostspec(auth) => return None,
        Some(a) => {
            let tail = &b[a + 1..i];
            if tail.iter().any(|c| matches!(c, b'/' | b'?' | b'#')) || plausible_hostspec(tail) {
                return None;
            }
        }
        None => {}
    }
    b[i..limit.min(i + 256)]
        .iter()
        .take_while(|c| !c.is_ascii_whitespace() && !c.is_ascii_control())
        .position(|&c| c == b'@')
        .map(|k| i + k)
}

/// A host list as it may follow `@`: names, ports, brackets, commas, percent escapes and
/// blanked templates; non-ASCII for international names.
fn plausible_hostspec(h: &[u8]) -> bool {
    !h.is_empty()
        && h.first() != Some(&b',')
        && h.iter()
            .all(|&c| c.is_ascii_alphanumeric() || c >= 0x80 || b"._-:[],%".contains(&c))
}

/// Fills user, password, hosts, database and parameters from the text after `://`.
fn parse_body(dsn: &mut Dsn, body: &str, base: usize) {
    let jdbc = dsn.scheme.starts_with("jdbc:");
    // SQL Server JDBC drivers put properties after `;` instead of a query string.
    let semis = jdbc && (dsn.scheme.contains("sqlserver") || dsn.scheme.contains("jtds"));
    let mut sh = shadow(body);
    if jdbc {
        blank_groups(&mut sh, b'(', b')');
    }
    if semis {
        blank_groups(&mut sh, b'{', b'}');
    }
    let is_sep = |c: u8| matches!(c, b'/' | b'?' | b'#') || (semis && c == b';');
    let first_sep = sh.iter().position(|&c| is_sep(c)).unwrap_or(sh.len());
    let at = userinfo_at(&sh, first_sep, semis, &is_sep)
        .or_else(|| misplaced_at(&sh, first_sep, &is_sep))
        .or_else(|| sh[..first_sep].iter().rposition(|&c| c == b'@'));

    let mut host_from = 0;
    if let Some(at) = at {
        let colon = sh[..at].iter().position(|&c| c == b':');
        let user = 0..colon.unwrap_or(at);
        if !user.is_empty() {
            dsn.user = Some(decoded_part(body, base, user));
        }
        if let Some(c) = colon {
            dsn.add_password(decoded_part(body, base, c + 1..at));
        }
        host_from = at + 1;
    }
    let host_end = sh[host_from..]
        .iter()
        .position(|&c| is_sep(c))
        .map_or(sh.len(), |k| host_from + k);
    parse_hostspec(dsn, body, &sh, host_from..host_end, base, jdbc);

    let src = Src {
        body,
        sh: &sh,
        base,
    };
    let mut params = Params::default();
    let mut pos = host_end;
    let mut path_done = false;
    while pos < sh.len() {
        let stop = |from: usize, set: &[u8]| {
            sh[from..]
                .iter()
                .position(|c| set.contains(c))
                .map_or(sh.len(), |k| from + k)
        };
        match sh[pos] {
            b'/' if !path_done => {
                path_done = true;
                let end = stop(pos + 1, if semis { b"?#;" } else { b"?#" });
                let db = percent_decode(&body[pos + 1..end]);
                if !db.is_empty() && dsn.database.is_none() {
                    dsn.database = Some(db);
                }
                pos = end;
            }
            b'?' => {
                // Connection strings have no fragment: a `#` here is part of a value.
                params.parse(dsn, &src, pos + 1..sh.len(), b'&', true);
                pos = sh.len();
            }
            b';' if semis => {
                params.parse(dsn, &src, pos + 1..sh.len(), b';', false);
                pos = sh.len();
            }
            _ => break,
        }
    }
    // libpq: `?host=` overrides the authority (`postgresql:///db?host=...`).
    if !params.hosts.is_empty() {
        if let Some(port) = &params.port {
            for h in params.hosts.iter_mut() {
                h.port.get_or_insert_with(|| port.clone());
            }
        }
        dsn.hosts = params.hosts;
    }
}

/// The `@` that ends `user:password`: the last one before the query whose host part is
/// plausible, so that a raw `@` in a password (`app:p@ss@db`, `app:p@2/x@db`) stays in it. One
/// after the first `/` counts only when the text before that `/` is not a host list.
fn userinfo_at(
    sh: &[u8],
    first_sep: usize,
    semis: bool,
    is_sep: &impl Fn(u8) -> bool,
) -> Option<usize> {
    let query = sh
        .iter()
        .position(|&c| c == b'?' || (semis && c == b';'))
        .unwrap_or(sh.len());
    let pre = &sh[..first_sep];
    let slash_ok = pre.contains(&b':') && !looks_like_hostspec(pre);
    (0..query).rev().filter(|&a| sh[a] == b'@').find(|&a| {
        let host_end = sh[a + 1..]
            .iter()
            .position(|&c| is_sep(c))
            .map_or(sh.len(), |k| a + 1 + k);
        (a < first_sep || slash_ok) && plausible_hostspec(&sh[a + 1..host_end])
    })
}

/// The `@` ending a password that holds an unencoded `/`, `?` or `#`
/// (`postgres://app:pa/ss@db/app`): the first `@` after the first separator whose host part is
/// plausible. Only tried when the text before that separator is not a host list.
fn misplaced_at(sh: &[u8], first_sep: usize, is_sep: &impl Fn(u8) -> bool) -> Option<usize> {
    let pre = &sh[..first_sep];
    if !pre.contains(&b':') || looks_like_hostspec(pre) {
        return None;
    }
    // The last `@` of a segment whose host part (up to the next separator) is clean.
    let mut candidate = None;
    for k in first_sep..=sh.len() {
        match sh.get(k).copied() {
            None => return candidate.filter(|&a| k > a + 1),
            Some(c) if is_sep(c) => {
                if let Some(a) = candidate.filter(|&a| k > a + 1) {
                    return Some(a);
                }
                candidate = None;
            }
            Some(b'@') => candidate = Some(k),
            Some(b'=' | b'&') => candidate = None,
            Some(_) => {}
        }
    }
    None
}

/// `host`, `host:port`, `[v6]:port` or bare IPv6, comma-separated; `_` stands for a blanked
/// template and counts as a port.
fn looks_like_hostspec(pre: &[u8]) -> bool {
    let portish = |p: &[u8]| p.iter().all(|c| c.is_ascii_digit() || *c == b'_');
    pre.split(|&c| c == b',').all(|item| {
        if item.first() == Some(&b'[') {
            return match item.iter().position(|&c| c == b']') {
                Some(close) => match &item[close + 1..] {
                    [] => true,
                    [b':', port @ ..] => portish(port),
                    _ => false,
                },
                None => false,
            };
        }
        match item.iter().filter(|&&c| c == b':').count() {
            0 => true,
            1 => item
                .iter()
                .position(|&c| c == b':')
                .is_some_and(|k| portish(&item[k + 1..])),
            _ => item
                .iter()
                .all(|c| c.is_ascii_hexdigit() || matches!(c, b':' | b'.')),
        }
    })
}

/// The text after `://`, its template-blanked shadow, and its offset in the input.
#[derive(Clone, Copy)]
struct Src<'a> {
    body: &'a str,
    sh: &'a [u8],
    base: usize,
}

fn decoded_part(body: &str, base: usize, r: Range<usize>) -> Part {
    Part {
        value: percent_decode(&body[r.clone()]),
        span: base + r.start..base + r.end,
    }
}

fn parse_hostspec(dsn: &mut Dsn, body: &str, sh: &[u8], r: Range<usize>, base: usize, jdbc: bool) {
    if r.is_empty() {
        let at = base + r.start;
        dsn.hosts.push(Host {
            name: String::new(),
            span: at..at,
            port: None,
            class: HostClass::UnixSocket,
        });
        return;
    }
    for item in split_ranges(sh, r, b',') {
        if item.is_empty() {
            continue;
        }
        if jdbc && body[item.clone()].contains('(') {
            parse_address_props(dsn, body, item, base);
            continue;
        }
        let s = &sh[item.clone()];
        let (mut name, port) = if s.first() == Some(&b'[') {
            match s.iter().position(|&c| c == b']') {
                Some(close) => {
                    let port =
                        (s.get(close + 1) == Some(&b':')).then(|| item.start + close + 2..item.end);
                    (item.start + 1..item.start + close, port)
                }
                None => (item.clone(), None),
            }
        } else {
            let colons: Vec<usize> = s
                .iter()
                .enumerate()
                .filter(|&(_, &c)| c == b':')
                .map(|(k, _)| k)
                .collect();
            match colons.as_slice() {
                [k] => (
                    item.start..item.start + k,
                    Some(item.start + k + 1..item.end),
                ),
                _ => (item.clone(), None),
            }
        };
        // SQL Server named instance: `host\instance`.
        if let Some(k) = sh[name.clone()].iter().position(|&c| c == b'\\') {
            name.end = name.start + k;
        }
        push_host(dsn, body, base, name, port);
    }
}

fn push_host(
    dsn: &mut Dsn,
    body: &str,
    base: usize,
    name: Range<usize>,
    port: Option<Range<usize>>,
) {
    let decoded = percent_decode(&body[name.clone()]).to_lowercase();
    dsn.hosts.push(Host {
        class: classify_host(&decoded),
        name: decoded,
        span: base + name.start..base + name.end,
        port: port.map(|p| body[p].to_string()).filter(|p| !p.is_empty()),
    });
}

/// Extends the last secret (the parameter just read) to `end`, relative to `body`.
fn extend_password(dsn: &mut Dsn, body: &str, base: usize, end: usize, decode: bool) {
    let Some(last) = dsn.secrets.last_mut() else {
        return;
    };
    let Some(rel) = last.span.start.checked_sub(base).filter(|&rel| rel < end) else {
        return;
    };
    let old_start = last.span.start;
    last.span.end = base + end;
    let raw = &body[rel..end];
    last.value = if decode {
        percent_decode(raw)
    } else {
        raw.replace("}}", "}")
    };
    let last = last.clone();
    if dsn
        .password
        .as_ref()
        .is_some_and(|p| p.span.start == old_start)
    {
        dsn.credential = super::classify_credential(&last.value);
        dsn.password = Some(last);
    }
}

/// Connector/J address forms: `(host=h,port=1,user=u,password=p)` and
/// `address=(host=h)(port=1)(password=p)`.
fn parse_address_props(dsn: &mut Dsn, body: &str, item: Range<usize>, base: usize) {
    let raw = &body[item.clone()];
    let b = raw.as_bytes();
    let mut host = None;
    let mut port = None;
    let mut i = 0;
    while i < b.len() {
        if !matches!(b[i], b'(' | b',') {
            i += 1;
            continue;
        }
        let key_start = i + 1;
        let Some(eq) = b[key_start..]
            .iter()
            .position(|&c| c == b'=')
            .map(|k| key_start + k)
        else {
            break;
        };
        let key = &raw[key_start..eq];
        if !key.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_') {
            i += 1;
            continue;
        }
        let value_end = b[eq + 1..]
            .iter()
            .position(|&c| c == b',' || c == b')')
            .map_or(b.len(), |k| eq + 1 + k);
        let span = item.start + eq + 1..item.start + value_end;
        match key.to_ascii_lowercase().as_str() {
            "host" => host = Some(span),
            "port" => port = Some(span),
            "user" if dsn.user.is_none() => dsn.user = Some(decoded_part(body, base, span)),
            "password" => dsn.add_password(decoded_part(body, base, span)),
            _ => {}
        }
        i = value_end;
    }
    if let Some(host) = host {
        push_host(dsn, body, base, host, port);
    }
}

/// Query-string or `;`-property parsing; hosts given as parameters are collected apart because
/// they replace the authority's.
#[derive(Default)]
struct Params {
    hosts: Vec<Host>,
    port: Option<String>,
}

impl Params {
    fn parse(&mut self, dsn: &mut Dsn, src: &Src<'_>, r: Range<usize>, sep: u8, decode: bool) {
        let Src { body, sh, base } = *src;
        let mut after_secret = false;
        for pr in split_ranges(sh, r, sep) {
            let Some(eq) = sh[pr.clone()].iter().position(|&c| c == b'=') else {
                // `password=pa&ss`: a piece without `=` continues the password before it.
                if after_secret {
                    extend_password(dsn, body, base, pr.end, decode);
                }
                continue;
            };
            let key = body[pr.start..pr.start + eq].trim().to_ascii_lowercase();
            let mut vr = pr.start + eq + 1..pr.end;
            let raw = &body[vr.clone()];
            if !decode && raw.len() >= 2 && raw.starts_with('{') && raw.ends_with('}') {
                vr = vr.start + 1..vr.end - 1;
            }
            let value = if decode {
                percent_decode(&body[vr.clone()])
            } else {
                body[vr.clone()].replace("}}", "}")
            };
            let part = Part {
                value,
                span: base + vr.start..base + vr.end,
            };
            after_secret = matches!(key.as_str(), "password" | "pwd" | "pass" | "passwd")
                || key.contains("password");
            match key.as_str() {
                "password" | "pwd" | "pass" | "passwd" => dsn.add_password(part),
                k if k.contains("password") => dsn.secrets.push(part),
                "user" | "username" | "uid" | "userid" | "user id"
                    if dsn.user.is_none() && !part.value.is_empty() =>
                {
                    dsn.user = Some(part);
                }
                "dbname" | "database" | "databasename"
                    if dsn.database.is_none() && !part.value.is_empty() =>
                {
                    dsn.database = Some(part.value);
                }
                "host" | "hostaddr" | "server" | "servername" => self.hosts_from(&part, &body[vr]),
                "port" | "portnumber" => self.port = Some(part.value).filter(|p| !p.is_empty()),
                _ => {}
            }
        }
    }

    /// `host=a,b` and `host=/socket/dir`: each comma item is a host; `serverName` may carry an
    /// `\instance`.
    fn hosts_from(&mut self, part: &Part, raw: &str) {
        let mut offset = 0;
        for item in raw.split(',') {
            let start = part.span.start + offset;
            offset += item.len() + 1;
            let decoded = percent_decode(item).to_lowercase();
            let name = decoded.split('\\').next().unwrap_or_default().to_string();
            self.hosts.push(Host {
                class: classify_host(&name),
                name,
                span: start..start + item.len(),
                port: None,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemes() {
        for s in [
            "postgres",
            "PostgreSQL",
            "mongodb+srv",
            "postgresql+psycopg2",
            "mysql+pymysql",
            "mssql+pyodbc",
            "rediss",
            "jdbc:postgresql",
            "jdbc:mysql:loadbalance",
            "jdbc:mysql+srv:replication",
            "jdbc:jtds:sqlserver",
        ] {
            assert!(known_scheme(s), "{s}");
        }
        for s in [
            "https",
            "http",
            "file",
            "sqlite",
            "postgres+",
            "dsn:postgres",
            "jdbc:",
            "jdbc::x",
            "jdbc:1x",
            "postgresql+psy-copg",
        ] {
            assert!(!known_scheme(s), "{s}");
        }
        assert!(any_scheme("https") && any_scheme("git+ssh") && !any_scheme("1http"));
    }

    #[test]
    fn uri_ends() {
        let cases: &[(&str, &str)] = &[
            ("postgres://h/db rest", "postgres://h/db"),
            ("postgres://h/db\"", "postgres://h/db"),
            ("postgres://h/db.", "postgres://h/db"),
            ("postgres://h/db),", "postgres://h/db"),
            ("postgres://h/(db)", "postgres://h/(db)"),
            ("postgres://[::1]", "postgres://[::1]"),
            (
                "postgres://{{ .Values.h }}/db x",
                "postgres://{{ .Values.h }}/db",
            ),
            (
                "postgres://u:<password>@<host>/0>",
                "postgres://u:<password>@<host>/0",
            ),
            ("postgres://h/db\\\"", "postgres://h/db"),
            ("postgres://h/db</url>", "postgres://h/db"),
        ];
        for (input, want) in cases {
            let end = uri_end(input, 11);
            assert_eq!(&input[..end], *want, "{input}");
        }
    }

    #[test]
    fn hostspec_shapes() {
        assert!(looks_like_hostspec(b"h1:5432,h2:5432"));
        assert!(looks_like_hostspec(b"[::1]:5432"));
        assert!(looks_like_hostspec(b"h:____"));
        assert!(looks_like_hostspec(b"::1"));
        assert!(!looks_like_hostspec(b"app:pa"));
        assert!(!looks_like_hostspec(b"app:ref+vault:"));
    }
}
