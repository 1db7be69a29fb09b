//! Key=value connection strings: libpq conninfo (`host=db port=5432 dbname=app`) and
//! ADO.NET/ODBC (`Server=db;Database=app;User Id=u;Password=p;`).
//!
//! Both are found by scanning the line around a trigger word (`host`, `server`, `data source`,
//! `addr`) for the longest run of well-formed pairs. A run counts only with a host key and a
//! second connection key, so prose and shell assignments are left alone.

use std::cell::Cell;
use std::ops::Range;

use super::scan::{
    TemplateState, closes_string, floor_boundary, param_follows, skip_blanks, template_end,
};
use super::{Dsn, DsnForm, Host, HostClass, Part, classify_host};

/// How far before a trigger word a run may start.
const WINDOW: usize = 1024;
/// Longest run looked at.
const MAX_RUN: usize = 4096;
/// Most pairs in one run.
const MAX_PAIRS: usize = 64;

/// libpq connection keywords (PostgreSQL 17 and earlier), plus `database` which several
/// drivers accept in the same syntax.
const LIBPQ_KEYWORDS: &[&str] = &[
    "host",
    "hostaddr",
    "port",
    "dbname",
    "database",
    "user",
    "password",
    "passfile",
    "require_auth",
    "channel_binding",
    "connect_timeout",
    "client_encoding",
    "options",
    "application_name",
    "fallback_application_name",
    "keepalives",
    "keepalives_idle",
    "keepalives_interval",
    "keepalives_count",
    "tcp_user_timeout",
    "replication",
    "gssencmode",
    "sslmode",
    "sslnegotiation",
    "sslcompression",
    "sslcert",
    "sslkey",
    "sslkeylogfile",
    "sslpassword",
    "sslcertmode",
    "sslrootcert",
    "sslcrl",
    "sslcrldir",
    "sslsni",
    "requirepeer",
    "ssl_min_protocol_version",
    "ssl_max_protocol_version",
    "min_protocol_version",
    "max_protocol_version",
    "krbsrvname",
    "gsslib",
    "gssdelegation",
    "service",
    "target_session_attrs",
    "load_balance_hosts",
];

/// Shell words after which `host=x port=y` is a variable assignment, not a connection string.
const SHELL_WORDS: &[&str] = &[
    "export", "set", "declare", "local", "readonly", "typeset", "env",
];

const HOST: u8 = 1;
const SECOND: u8 = 2;

/// Scans the line of the trigger word at `p` for key=value connection strings that start at or
/// after `from` and no later than `p`; pushes them and returns where the next scan may start.
/// Every attempt is charged to `budget` (bytes looked at), so a pathological line cannot make
/// the scan quadratic; once it is spent, no more attempts are made.
pub(super) fn scan(
    text: &str,
    p: usize,
    from: usize,
    out: &mut Vec<Dsn>,
    templates: &mut TemplateState,
    budget: &mut usize,
) -> usize {
    let b = text.as_bytes();
    let lo = floor_boundary(text, p.saturating_sub(WINDOW)).max(from);
    let lo = memchr::memrchr(b'\n', &b[lo..p]).map_or(lo, |i| lo + i + 1);
    let hi = floor_boundary(text, p.saturating_add(MAX_RUN));
    let line_end = memchr::memchr(b'\n', &b[p..hi]).map_or(hi, |i| p + i);
    let mut s = lo;
    let mut resume = p + 1;
    while s <= p && s < line_end && *budget > 0 {
        let after_bom = s == 3 && text.starts_with('\u{FEFF}');
        if b[s].is_ascii_alphabetic() && (s == 0 || after_bom || is_delimiter(b[s - 1])) {
            let ln = Line {
                text,
                limit: floor_boundary(text, line_end.min(s + MAX_RUN)),
                quote: Some(b[s.saturating_sub(1)])
                    .filter(|c| s > 0 && matches!(c, b'"' | b'\'' | b'`')),
                reach: Cell::new(s),
            };
            let found = ado(&ln, s).or_else(|| conninfo(&ln, s));
            *budget = budget.saturating_sub(ln.reach.get() - s + 1);
            if let Some(dsn) = found {
                s = dsn.span.end;
                resume = resume.max(s);
                if !templates.inside(text, dsn.span.start) {
                    out.push(dsn);
                }
                continue;
            }
        }
        s += 1;
    }
    resume
}

fn is_delimiter(c: u8) -> bool {
    c.is_ascii_whitespace()
        || matches!(
            c,
            b'"' | b'\'' | b'`' | b'(' | b'[' | b'{' | b',' | b':' | b'=' | b';' | b'>' | b'|'
        )
}

/// The stretch of a line a run is parsed in, and how far parsing has looked (the work charged
/// against the scan budget).
struct Line<'a> {
    text: &'a str,
    limit: usize,
    /// The quote right before the run, which ends unquoted values.
    quote: Option<u8>,
    reach: Cell<usize>,
}

impl Line<'_> {
    fn bytes(&self) -> &[u8] {
        self.text.as_bytes()
    }

    /// Records that parsing looked up to `j`, and passes it through.
    fn touch(&self, j: usize) -> usize {
        self.reach.set(self.reach.get().max(j));
        j
    }
}

/// One `key=value` pair: raw ranges in the text (the value inside any quotes or braces).
struct Pair {
    key: Range<usize>,
    value: Range<usize>,
    /// Quote or brace the value was wrapped in.
    wrap: Option<u8>,
    /// End of the pair in the text (after a closing quote or brace).
    end: usize,
}

// ---------------------------------------------------------------------------------------------
// libpq conninfo

/// Parses one conninfo pair at `i`: `key = value`, `key='quoted \' value'`.
fn conninfo_pair(ln: &Line<'_>, i: usize) -> Option<Pair> {
    let (b, limit, quote) = (ln.bytes(), ln.limit, ln.quote);
    let mut j = i;
    while j < limit
        && (b[j].is_ascii_lowercase() || b[j] == b'_' || (j > i && b[j].is_ascii_digit()))
    {
        j += 1;
    }
    if j == i {
        return None;
    }
    let key = i..j;
    j = skip_blanks(b, j, limit);
    if b.get(ln.touch(j)) != Some(&b'=') || j >= limit {
        return None;
    }
    j = skip_blanks(b, j + 1, limit);
    if j < limit && b[j] == b'\'' && quote != Some(b'\'') {
        let start = j + 1;
        let mut k = start;
        loop {
            if k >= limit {
                ln.touch(limit);
                return None;
            }
            match b[k] {
                b'\\' => k += 2,
                b'\'' => break,
                _ => k += 1,
            }
        }
        return Some(Pair {
            key,
            value: start..k,
            wrap: Some(b'\''),
            end: ln.touch(k + 1),
        });
    }
    let start = j;
    while j < limit {
        if let Some(e) = template_end(b, j, limit) {
            j = e;
            continue;
        }
        let c = b[j];
        if c.is_ascii_whitespace() || (matches!(c, b'\'' | b'"' | b'`') && closes_string(b, j)) {
            break;
        }
        j = if c == b'\\' {
            (j + 2).min(limit)
        } else {
            j + 1
        };
    }
    Some(Pair {
        key,
        value: start..j,
        wrap: None,
        end: ln.touch(j),
    })
}

/// Walks the conninfo pairs starting at `s`, calling `f` on each; returns the run's end.
fn conninfo_run(ln: &Line<'_>, s: usize, mut f: impl FnMut(&str, &Pair)) -> usize {
    let (text, b, limit) = (ln.text, ln.bytes(), ln.limit);
    let mut pos = s;
    let mut end = s;
    for n in 0..MAX_PAIRS {
        if n > 0 {
            let next = skip_blanks(b, pos, limit);
            if next == pos {
                break;
            }
            pos = next;
        }
        let Some(pair) = conninfo_pair(ln, pos) else {
            break;
        };
        let key = &text[pair.key.clone()];
        if !LIBPQ_KEYWORDS.contains(&key) {
            break;
        }
        f(key, &pair);
        end = pair.end;
        pos = pair.end;
    }
    end
}

fn conninfo(ln: &Line<'_>, s: usize) -> Option<Dsn> {
    let text = ln.text;
    let mut flags = 0;
    let end = conninfo_run(ln, s, |key, _| {
        flags |= match key {
            "host" | "hostaddr" => HOST,
            "dbname" | "database" | "user" | "password" | "port" => SECOND,
            _ => 0,
        };
    });
    if flags != HOST | SECOND || follows_shell_word(text, s) {
        return None;
    }
    let mut dsn = Dsn::new(DsnForm::Conninfo, "libpq".to_string(), s..end);
    let mut host = None;
    let mut hostaddr = None;
    let mut port = None;
    conninfo_run(ln, s, |key, pair| {
        let part = || Part {
            value: unescape_backslashes(&text[pair.value.clone()]),
            span: pair.value.clone(),
        };
        match key {
            "host" => host = Some(pair.value.clone()),
            "hostaddr" => hostaddr = Some(pair.value.clone()),
            "port" => port = Some(pair.value.clone()),
            "user" => dsn.user = Some(part()).filter(|p| !p.value.is_empty()),
            "password" => dsn.add_password(part()),
            "sslpassword" => dsn.secrets.push(part()),
            "dbname" | "database" => {
                dsn.database = Some(part().value).filter(|d| !d.is_empty());
            }
            _ => {}
        }
    });
    let ports: Vec<&str> = port.map_or(Vec::new(), |r| text[r].split(',').collect());
    for r in [host, hostaddr].into_iter().flatten() {
        let mut offset = r.start;
        for (k, item) in text[r.clone()].split(',').enumerate() {
            let name = unescape_backslashes(item).to_lowercase();
            let span = offset..offset + item.len();
            offset += item.len() + 1;
            if dsn.hosts.iter().any(|h| h.name == name && !name.is_empty()) {
                continue;
            }
            let port = match ports.as_slice() {
                [one] => Some(*one),
                many => many.get(k).copied(),
            };
            dsn.hosts.push(Host {
                class: classify_host(&name),
                name,
                span,
                port: port.filter(|p| !p.is_empty()).map(str::to_string),
            });
        }
    }
    Some(dsn)
}

/// True when the word before `s` on its line is `export`, `set` and the like.
fn follows_shell_word(text: &str, s: usize) -> bool {
    let before = text[..s].trim_end_matches([' ', '\t']);
    let word_start = before
        .char_indices()
        .rev()
        .find(|(_, c)| !c.is_ascii_alphanumeric())
        .map_or(0, |(k, c)| k + c.len_utf8());
    SHELL_WORDS.contains(&&before[word_start..])
}

/// libpq value escapes: `\'` is `'` and `\\` is `\`.
fn unescape_backslashes(raw: &str) -> String {
    if !raw.contains('\\') {
        return raw.to_string();
    }
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(next) = chars.next() {
                out.push(next);
            }
        } else {
            out.push(c);
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// ADO.NET / ODBC

/// What an ADO.NET/ODBC key means, after lowercasing and removing spaces and underscores.
#[derive(Clone, Copy, PartialEq, Eq)]
enum AdoKey {
    Server,
    Password,
    User,
    Database,
    Port,
    OtherSecret,
    Other,
}

fn ado_key(raw: &str) -> AdoKey {
    // Keys are at most 40 bytes (see `ado_pair`): normalise on the stack.
    let mut buf = [0u8; 40];
    let mut len = 0;
    for c in raw.bytes().filter(|c| !matches!(c, b' ' | b'_')) {
        if len == buf.len() {
            return AdoKey::Other;
        }
        buf[len] = c.to_ascii_lowercase();
        len += 1;
    }
    let key = std::str::from_utf8(&buf[..len]).unwrap_or_default();
    match key {
        "server" | "datasource" | "host" | "address" | "addr" | "networkaddress" | "servername"
        | "hostname" => AdoKey::Server,
        "password" | "pwd" => AdoKey::Password,
        "userid" | "uid" | "user" | "username" => AdoKey::User,
        "database" | "initialcatalog" | "dbname" => AdoKey::Database,
        "port" => AdoKey::Port,
        k if k.contains("password") => AdoKey::OtherSecret,
        _ => AdoKey::Other,
    }
}

/// Parses one ADO pair at `i`: `Key Name = value`, `{braced;value}`, `"quoted ""value"""`.
fn ado_pair(ln: &Line<'_>, i: usize) -> Option<Pair> {
    let (b, limit, quote) = (ln.bytes(), ln.limit, ln.quote);
    let mut j = i;
    while j < limit && (b[j].is_ascii_alphanumeric() || matches!(b[j], b' ' | b'_' | b'.' | b'-')) {
        j += 1;
    }
    if j == i || ln.touch(j) >= limit || b[j] != b'=' || j - i > 40 {
        return None;
    }
    let mut key_end = j;
    while key_end > i && b[key_end - 1] == b' ' {
        key_end -= 1;
    }
    let key = i..key_end;
    j = skip_blanks(b, j + 1, limit);
    let open = b.get(j).copied().filter(|_| j < limit);
    let template = template_end(b, j, limit).is_some();
    let close = match open {
        _ if template => None,
        Some(b'{') => Some(b'}'),
        Some(c @ (b'"' | b'\'')) if Some(c) != quote => Some(c),
        _ => None,
    };
    if let Some(close) = close {
        // The closing character doubled is an escaped one.
        let start = j + 1;
        let mut k = start;
        loop {
            if k >= limit {
                ln.touch(limit);
                return None;
            }
            if b[k] == close {
                if k + 1 < limit && b[k + 1] == close {
                    k += 2;
                    continue;
                }
                break;
            }
            k += 1;
        }
        return Some(Pair {
            key,
            value: start..k,
            wrap: open,
            end: ln.touch(k + 1),
        });
    }
    let start = j;
    while j < limit
        && b[j] != b'\r'
        && !(b[j] == b';' && param_follows(b, j, limit))
        && !((matches!(b[j], b'"' | b'`') || Some(b[j]) == quote) && closes_string(b, j))
    {
        j = template_end(b, j, limit).unwrap_or(j + 1);
    }
    ln.touch(j);
    let mut end = j;
    while end > start && b[end - 1].is_ascii_whitespace() {
        end -= 1;
    }
    Some(Pair {
        key,
        value: start..end,
        wrap: None,
        end,
    })
}

/// Walks the `;`-separated pairs starting at `s`, calling `f` on each; returns the run's end and
/// the number of pairs.
fn ado_run(ln: &Line<'_>, s: usize, mut f: impl FnMut(AdoKey, &Pair)) -> (usize, usize) {
    let (text, b, limit) = (ln.text, ln.bytes(), ln.limit);
    let mut pos = s;
    let mut end = s;
    let mut n = 0;
    while n < MAX_PAIRS {
        pos = skip_blanks(b, pos, limit);
        let Some(pair) = ado_pair(ln, pos) else {
            break;
        };
        f(ado_key(&text[pair.key.clone()]), &pair);
        n += 1;
        end = pair.end;
        pos = skip_blanks(b, pair.end, limit);
        if pos < limit && b[pos] == b';' {
            pos += 1;
        } else {
            break;
        }
    }
    (end, n)
}

fn ado(ln: &Line<'_>, s: usize) -> Option<Dsn> {
    let text = ln.text;
    let mut flags = 0;
    let (end, n) = ado_run(ln, s, |key, pair| {
        flags |= match key {
            // A server name has no inner spaces, except an Oracle connect descriptor; prose
            // like `the host = example and the server = x; user = y` has them.
            AdoKey::Server if host_like(&text[pair.value.clone()]) => HOST,
            AdoKey::Server => 0,
            AdoKey::Password | AdoKey::User | AdoKey::Database => SECOND,
            _ => 0,
        };
    });
    if n < 2 || flags != HOST | SECOND {
        return None;
    }
    let mut dsn = Dsn::new(DsnForm::KeyValueSemicolon, "ado.net".to_string(), s..end);
    let mut port = None;
    ado_run(ln, s, |key, pair| {
        let raw = &text[pair.value.clone()];
        let part = || Part {
            value: match pair.wrap {
                Some(b'{') => raw.replace("}}", "}"),
                Some(b'"') => raw.replace("\"\"", "\""),
                Some(_) => raw.replace("''", "'"),
                None => raw.to_string(),
            },
            span: pair.value.clone(),
        };
        match key {
            AdoKey::Server => {
                let data_source = ado_key_is_data_source(&text[pair.key.clone()]);
                server_hosts(&mut dsn, &part(), pair.wrap.is_none(), data_source);
            }
            AdoKey::Password => dsn.add_password(part()),
            AdoKey::OtherSecret => dsn.secrets.push(part()),
            AdoKey::User => {
                if dsn.user.is_none() {
                    dsn.user = Some(part()).filter(|p| !p.value.is_empty());
                }
            }
            AdoKey::Database => {
                if dsn.database.is_none() {
                    dsn.database = Some(part().value).filter(|d| !d.is_empty());
                }
            }
            AdoKey::Port => port = Some(part().value).filter(|p| !p.is_empty()),
            AdoKey::Other => {}
        }
    });
    if let Some(port) = port {
        for h in &mut dsn.hosts {
            h.port.get_or_insert_with(|| port.clone());
        }
    }
    Some(dsn)
}

fn host_like(value: &str) -> bool {
    let v = value.trim().as_bytes();
    if v.first() == Some(&b'(') {
        return true;
    }
    let mut i = 0;
    while i < v.len() {
        if let Some(e) = template_end(v, i, v.len()) {
            i = e;
            continue;
        }
        if v[i].is_ascii_whitespace() {
            return false;
        }
        i += 1;
    }
    true
}

fn ado_key_is_data_source(raw: &str) -> bool {
    raw.split_whitespace()
        .collect::<String>()
        .eq_ignore_ascii_case("datasource")
}

/// File extensions of embedded databases named by `Data Source=` (SQLite, Access, SQL CE,
/// Firebird, detached SQL Server files).
const FILE_EXTENSIONS: &[&str] = &[
    ".db", ".db3", ".sqlite", ".sqlite3", ".mdb", ".accdb", ".sdf", ".fdb", ".gdb", ".mdf",
];

/// Hosts of a `Server=`/`Data Source=` value: `tcp:host,1433`, `host\instance`, `h1:5432,h2`,
/// Oracle `//host:1521/svc` and `(DESCRIPTION=...(HOST=h)...)`, or a local database file.
fn server_hosts(dsn: &mut Dsn, part: &Part, exact: bool, data_source: bool) {
    let value = part.value.as_str();
    let trimmed = value.trim_start();
    let lead = value.len() - trimmed.len();
    let v = trimmed.trim_end();
    let lower = v.to_ascii_lowercase();
    // Map an offset in `value` to a span in the input when the value is written unescaped.
    let span_of = |r: Range<usize>| {
        if exact && r.end <= part.span.len() {
            part.span.start + r.start..part.span.start + r.end
        } else {
            part.span.clone()
        }
    };
    let push = |dsn: &mut Dsn, name: String, r: Range<usize>, class: HostClass| {
        dsn.hosts.push(Host {
            name,
            span: span_of(r),
            port: None,
            class,
        });
    };
    if is_local_file(&lower, data_source) {
        push(dsn, lower, lead..lead + v.len(), HostClass::UnixSocket);
        return;
    }
    if lower.starts_with('(') && !lower.starts_with("(local") {
        // Oracle connect descriptor.
        if let Some(k) = lower.find("host") {
            let after = &lower[k + 4..];
            let value_at = after.trim_start().strip_prefix('=').map(str::trim_start);
            if let Some(rest) = value_at {
                let name_len = rest.find([')', ' ']).unwrap_or(rest.len());
                let name = rest[..name_len].to_string();
                let start = lead + (lower.len() - rest.len());
                let class = classify_host(&name);
                push(dsn, name, start..start + name_len, class);
            }
        }
        return;
    }
    let mut start = lead;
    for prefix in ["tcp:", "np:", "lpc:", "admin:"] {
        if lower[start - lead..].starts_with(prefix) {
            start += prefix.len();
        }
    }
    if lower[start - lead..].starts_with("//") {
        start += 2;
    }
    let end = lead
        + lower[start - lead..]
            .find('/')
            .map_or(lower.len(), |k| start - lead + k);
    let mut offset = start;
    for item in value[start..end].split(',') {
        let item_start = offset;
        offset += item.len() + 1;
        let t = item.trim();
        let item_start = item_start + (item.len() - item.trim_start().len());
        if t.is_empty() {
            continue;
        }
        // SQL Server `host,1433`: a bare number is the previous host's port.
        if t.bytes().all(|c| c.is_ascii_digit()) {
            if let Some(last) = dsn.hosts.last_mut() {
                last.port.get_or_insert_with(|| t.to_string());
            }
            continue;
        }
        let (name, port) = split_host_port(t);
        let name = name.split('\\').next().unwrap_or_default();
        let name_at = item_start + usize::from(t.starts_with('['));
        let lowered = name.to_lowercase();
        let class = classify_host(&lowered);
        push(dsn, lowered, name_at..name_at + name.len(), class);
        if let (Some(port), Some(last)) = (port, dsn.hosts.last_mut()) {
            last.port = Some(port.to_string());
        }
    }
}

/// `[v6]:port`, `host:port` or a bare name (unbracketed IPv6 keeps all its colons).
fn split_host_port(t: &str) -> (&str, Option<&str>) {
    if let Some(rest) = t.strip_prefix('[') {
        return match rest.split_once(']') {
            Some((name, tail)) => (name, tail.strip_prefix(':').filter(|p| !p.is_empty())),
            None => (t, None),
        };
    }
    match t.split_once(':') {
        Some((name, port)) if !port.contains(':') => (name, Some(port).filter(|p| !p.is_empty())),
        _ => (t, None),
    }
}

/// A database file rather than a server: a path, `|DataDirectory|`, `:memory:`, or (for
/// `Data Source=`) a file name with a database extension.
fn is_local_file(lower: &str, data_source: bool) -> bool {
    let b = lower.as_bytes();
    lower.contains("|datadirectory|")
        || lower == ":memory:"
        || (lower.starts_with('/') && !lower.starts_with("//"))
        || lower.starts_with("./")
        || lower.starts_with("..")
        || lower.starts_with('~')
        || (b.len() > 2
            && b[0].is_ascii_alphabetic()
            && b[1] == b':'
            && matches!(b[2], b'\\' | b'/'))
        || (data_source && FILE_EXTENSIONS.iter().any(|e| lower.ends_with(e)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(text: &str) -> Vec<Dsn> {
        super::super::find_dsns(text)
    }

    #[test]
    fn conninfo_pairs_and_runs() {
        let text = "host = db.prod.internal password = 'pa ss\\'word' port=5432";
        let d = &found(text)[0];
        assert_eq!(d.span, 0..text.len());
        assert_eq!(
            d.password.as_ref().map(|p| p.value.as_str()),
            Some("pa ss'word")
        );
        assert_eq!(d.hosts[0].port.as_deref(), Some("5432"));
    }

    #[test]
    fn conninfo_near_misses() {
        for text in [
            "export host=db.prod.internal port=5432 user=x",
            "export HOST=db.prod.internal PORT=5432",
            "Set host = the primary and port = 5432 in the file",
            "host=db.prod.internal",
            "host=db.prod.internal sslmode=require",
            "dbname=app user=app password=x",
            "connect(host=\"db.prod.internal\", dbname=\"app\")",
            "host=db.prod.internal\nport=5432",
            "host=db.prod.internal unknown=1 port=5432",
        ] {
            assert!(found(text).is_empty(), "{text}: {:?}", found(text));
        }
    }

    #[test]
    fn ado_near_misses() {
        for text in [
            "Server=sql.prod.internal",
            "Server=sql.prod.internal;Encrypt=True",
            "Server=sql.prod.internal;Port=1433",
            "Database=app;User Id=u;Password=p",
            "The host = example and the server is x, user = y; see below",
        ] {
            assert!(found(text).is_empty(), "{text}");
        }
    }

    #[test]
    fn server_values() {
        type Want = (&'static str, Option<&'static str>, HostClass);
        let cases: &[(&str, &[Want])] = &[
            (
                "Server=tcp:sql.prod.internal,1433;Database=a",
                &[("sql.prod.internal", Some("1433"), HostClass::Remote)],
            ),
            (
                "Server=sql.prod.internal\\INST;Database=a",
                &[("sql.prod.internal", None, HostClass::Remote)],
            ),
            (
                "Host=pg1.prod.internal:5433,pg2.prod.internal;Database=a",
                &[
                    ("pg1.prod.internal", Some("5433"), HostClass::Remote),
                    ("pg2.prod.internal", None, HostClass::Remote),
                ],
            ),
            (
                "Data Source=//ora.prod.internal:1521/svc;User Id=u",
                &[("ora.prod.internal", Some("1521"), HostClass::Remote)],
            ),
            (
                "Data Source=(DESCRIPTION=(ADDRESS=(PROTOCOL=TCP)(HOST=ora.prod.internal)(PORT=1521)));User Id=u",
                &[("ora.prod.internal", None, HostClass::Remote)],
            ),
            (
                "Data Source=app.db;Password=p",
                &[("app.db", None, HostClass::UnixSocket)],
            ),
            (
                "Data Source=C:\\data\\app.mdb;Password=p",
                &[("c:\\data\\app.mdb", None, HostClass::UnixSocket)],
            ),
            (
                "Server=(localdb)\\MSSQLLocalDB;Database=a",
                &[("(localdb)", None, HostClass::Loopback)],
            ),
            (
                "Server=.\\SQLEXPRESS;Database=a",
                &[(".", None, HostClass::Loopback)],
            ),
            (
                "Server=[2001:db8::1],1433;Database=a",
                &[("2001:db8::1", Some("1433"), HostClass::Reserved)],
            ),
        ];
        for (text, want) in cases {
            let d = &found(text)[0];
            let got: Vec<(&str, Option<&str>, HostClass)> = d
                .hosts
                .iter()
                .map(|h| (h.name.as_str(), h.port.as_deref(), h.class))
                .collect();
            assert_eq!(got, *want, "{text}");
            for h in &d.hosts {
                assert!(text.get(h.span.clone()).is_some(), "{text}: {h:?}");
            }
        }
    }
}
