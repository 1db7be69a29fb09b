//! Driver-native strings that are not URIs but name a host and a password the same way:
//! the Go MySQL driver's `user:password@tcp(host:port)/db?params` and Oracle JDBC thin URLs
//! (`jdbc:oracle:thin:user/password@//host:1521/service`, `@host:1521:SID`,
//! `@(DESCRIPTION=...(HOST=h)...)`). Both are reported as `DsnForm::Uri`.

use std::ops::Range;

use super::scan::{floor_boundary, opens_string, template_end};
use super::{Dsn, DsnForm, Host, HostClass, Part, classify_host};

/// Longest user:password looked back over, and longest string taken.
const MAX_USERINFO: usize = 256;
const MAX_LEN: usize = 2048;

/// A user name up to the first `:` (or the whole of `s`): letters, digits, `_`, `.`, `-`, `$`.
fn user_follows(s: &[u8]) -> bool {
    let user = s.split(|&c| c == b':').next().unwrap_or_default();
    (!user.is_empty() || s.first() == Some(&b':'))
        && user
            .iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-' | b'$'))
}

fn is_blank(c: u8) -> bool {
    c.is_ascii_whitespace() || c.is_ascii_control()
}

/// Characters that end a string embedded in config or code.
fn is_end(c: u8) -> bool {
    c.is_ascii_whitespace()
        || c.is_ascii_control()
        || matches!(c, b'"' | b'\'' | b'`' | b'<' | b'>')
}

/// End of the string from `i`: the first terminator, template tokens skipped whole. With
/// `quotes`, a `"..."` inside (an Oracle quoted password) is skipped whole too.
fn string_end(text: &str, i: usize, quotes: bool) -> usize {
    let b = text.as_bytes();
    let limit = floor_boundary(text, i.saturating_add(MAX_LEN));
    let mut j = i;
    while j < limit {
        if let Some(e) = template_end(b, j, limit) {
            j = e;
            continue;
        }
        if quotes
            && b[j] == b'"'
            && let Some(k) = b[j + 1..limit].iter().position(|&c| c == b'"')
            && b.get(j + k + 2) == Some(&b'@')
        {
            j += k + 2;
            continue;
        }
        if is_end(b[j]) {
            break;
        }
        j += 1;
    }
    j
}

fn part(text: &str, r: Range<usize>) -> Part {
    Part {
        value: text[r.clone()].to_string(),
        span: r,
    }
}

fn host(text: &str, r: Range<usize>, port: Option<&str>, class: Option<HostClass>) -> Host {
    let name = text[r.clone()].to_lowercase();
    Host {
        class: class.unwrap_or_else(|| classify_host(&name)),
        name,
        span: r,
        port: port.filter(|p| !p.is_empty()).map(str::to_string),
    }
}

/// `host:port`, `[v6]:port` or a bare name, as ranges in the text.
fn host_port(text: &str, r: Range<usize>) -> (Range<usize>, Option<&str>) {
    let s = &text[r.clone()];
    if let Some(rest) = s.strip_prefix('[')
        && let Some((name, tail)) = rest.split_once(']')
    {
        let name_r = r.start + 1..r.start + 1 + name.len();
        return (name_r, tail.strip_prefix(':'));
    }
    match s.split_once(':') {
        Some((name, port)) if !port.contains(':') => (r.start..r.start + name.len(), Some(port)),
        _ => (r, None),
    }
}

/// The Go MySQL driver DSN whose `@` before `tcp(`/`unix(` is at `at`.
pub(super) fn go_mysql(text: &str, at: usize) -> Option<Dsn> {
    let b = text.as_bytes();
    let open = at + 1 + b.get(at + 1..)?.iter().take(8).position(|&c| c == b'(')?;
    let net = text.get(at + 1..open)?.to_ascii_lowercase();
    let close = open
        + 1
        + b.get(open + 1..)?
            .iter()
            .take(512)
            .position(|&c| c == b')')?;
    // The database path is required; without it this is some other `x@tcp(...)`.
    if b.get(close + 1) != Some(&b'/') {
        return None;
    }
    let end = string_end(text, close + 1, false);
    // user[:password] runs back to the start of the embedded string: the first quote that is
    // not closed before the `@` (a closed one is a JSON key, one inside the password comes
    // later).
    let mut start = at;
    while start > 0 && at - start < MAX_USERINFO && !is_blank(b[start - 1]) {
        start -= 1;
    }
    // The cap may stop inside a character.
    while !text.is_char_boundary(start) {
        start += 1;
    }
    let mut q = start;
    while q < at {
        let c = b[q];
        if matches!(c, b'"' | b'\'' | b'`') && opens_string(b, q) {
            match b[q + 1..at].iter().position(|&x| x == c) {
                Some(k) => q += k + 2,
                // The string opens here only if a user name follows (`"app:...`); a quote
                // after `:` or `,` inside a password does not.
                None if user_follows(&b[q + 1..at]) => {
                    start = q + 1;
                    break;
                }
                None => q += 1,
            }
            continue;
        }
        q += 1;
    }
    let userinfo = start..at;
    let colon = text[userinfo.clone()].find(':').map(|k| start + k);
    // `DSN=app:pw@tcp(...)`: the user starts after the key's `=`.
    let user_end = colon.unwrap_or(at);
    let user_start = text[start..user_end]
        .rfind('=')
        .map_or(start, |k| start + k + 1);

    let mut dsn = Dsn::new(DsnForm::Uri, "mysql".to_string(), user_start..end);
    if user_end > user_start {
        dsn.user = Some(part(text, user_start..user_end));
    }
    if let Some(c) = colon {
        dsn.add_password(part(text, c + 1..at));
    }
    let addr = open + 1..close;
    if net.starts_with("unix") {
        dsn.hosts
            .push(host(text, addr, None, Some(HostClass::UnixSocket)));
    } else if addr.is_empty() {
        // `tcp()` is the driver's default, localhost:3306.
        dsn.hosts.push(Host {
            name: "localhost".to_string(),
            span: addr,
            port: None,
            class: HostClass::Loopback,
        });
    } else {
        let (name, port) = host_port(text, addr);
        dsn.hosts.push(host(text, name, port, None));
    }
    let path_end = text[close + 2..end]
        .find('?')
        .map_or(end, |k| close + 2 + k);
    if path_end > close + 2 {
        dsn.database = Some(text[close + 2..path_end].to_string());
    }
    Some(dsn)
}

/// The Oracle JDBC URL starting at `start` (`jdbc:oracle:`).
pub(super) fn oracle(text: &str, start: usize) -> Option<Dsn> {
    let b = text.as_bytes();
    let after = start + "jdbc:oracle:".len();
    let driver_len = b.get(after..)?.iter().take(16).position(|&c| c == b':')?;
    let driver = text.get(after..after + driver_len)?;
    if driver.is_empty() || !driver.bytes().all(|c| c.is_ascii_alphanumeric()) {
        return None;
    }
    let body = after + driver_len + 1;
    let end = string_end(text, body, true);
    // user/password@ — a quoted password may hold `@`.
    let mut at = None;
    let mut i = body;
    let mut quoted = false;
    while i < end {
        match b[i] {
            b'"' => quoted = !quoted,
            b'@' if !quoted => {
                at = Some(i);
                break;
            }
            _ => {}
        }
        i += 1;
    }
    let at = at?;
    let scheme = text[start..body - 1].to_ascii_lowercase();
    let mut dsn = Dsn::new(DsnForm::Uri, scheme, start..end);
    if at > body {
        let slash = text[body..at].find('/').map(|k| body + k);
        let user = body..slash.unwrap_or(at);
        if !user.is_empty() {
            dsn.user = Some(part(text, user));
        }
        if let Some(s) = slash {
            let mut pw = s + 1..at;
            if text[pw.clone()].len() >= 2 && b[pw.start] == b'"' && b[pw.end - 1] == b'"' {
                pw = pw.start + 1..pw.end - 1;
            }
            dsn.add_password(part(text, pw));
        }
    }
    let mut h = at + 1;
    if text[h..end].starts_with("//") {
        h += 2;
    }
    if b.get(h) == Some(&b'(') {
        // Connect descriptor: every (HOST=...) inside.
        let lower = text[h..end].to_ascii_lowercase();
        let lb = lower.as_bytes();
        let mut from = 0;
        while let Some(k) = lower[from..].find("host") {
            let mut j = from + k + 4;
            from = j;
            while lb.get(j) == Some(&b' ') {
                j += 1;
            }
            if lb.get(j) != Some(&b'=') {
                continue;
            }
            j += 1;
            while lb.get(j) == Some(&b' ') {
                j += 1;
            }
            let value_end = lower[j..].find([')', ' ']).map_or(lower.len(), |x| j + x);
            if value_end > j {
                dsn.hosts.push(host(text, h + j..h + value_end, None, None));
            }
        }
        return Some(dsn);
    }
    let host_end = text[h..end].find(['/', '?']).map_or(end, |k| h + k);
    // `host:port:SID` keeps its SID after a second colon.
    let spec = &text[h..host_end];
    let (name, port) = match spec.split(':').collect::<Vec<_>>().as_slice() {
        [name, port, ..] if !name.starts_with('[') => (h..h + name.len(), Some(*port)),
        _ => host_port(text, h..host_end),
    };
    if !name.is_empty() {
        // A TNS alias without a dot is resolved through tnsnames.ora, like a service name.
        dsn.hosts.push(host(text, name, port, None));
    }
    if host_end < end && b[host_end] == b'/' {
        let db_end = text[host_end + 1..end]
            .find('?')
            .map_or(end, |k| host_end + 1 + k);
        if db_end > host_end + 1 {
            dsn.database = Some(text[host_end + 1..db_end].to_string());
        }
    } else if let Some(sid) = spec.splitn(3, ':').nth(2).filter(|s| !s.is_empty()) {
        dsn.database = Some(sid.to_string());
    }
    Some(dsn)
}

#[cfg(test)]
mod tests {
    use super::super::find_dsns;
    use super::*;

    fn one(text: &str) -> Dsn {
        let mut found = find_dsns(text);
        assert_eq!(found.len(), 1, "{text}: {found:#?}");
        found.remove(0)
    }

    #[test]
    fn go_mysql_dsns() {
        type Want = (
            &'static str,
            Option<&'static str>,
            Option<&'static str>,
            &'static str,
            HostClass,
            Option<&'static str>,
        );
        let cases: &[(&str, Want)] = &[
            (
                "DB_DSN=app:s3cr3t@tcp(mysql.prod.internal:3306)/app?parseTime=true",
                (
                    "app:s3cr3t@tcp(mysql.prod.internal:3306)/app?parseTime=true",
                    Some("app"),
                    Some("s3cr3t"),
                    "mysql.prod.internal",
                    HostClass::Remote,
                    Some("app"),
                ),
            ),
            (
                "dsn: \"app:p@ss:w@tcp([2001:db8::1]:3306)/app\"",
                (
                    "app:p@ss:w@tcp([2001:db8::1]:3306)/app",
                    Some("app"),
                    Some("p@ss:w"),
                    "2001:db8::1",
                    HostClass::Reserved,
                    Some("app"),
                ),
            ),
            (
                "root@unix(/var/run/mysqld/mysqld.sock)/app",
                (
                    "root@unix(/var/run/mysqld/mysqld.sock)/app",
                    Some("root"),
                    None,
                    "/var/run/mysqld/mysqld.sock",
                    HostClass::UnixSocket,
                    Some("app"),
                ),
            ),
            (
                "app:${DB_PASSWORD}@tcp(db:3306)/",
                (
                    "app:${DB_PASSWORD}@tcp(db:3306)/",
                    Some("app"),
                    Some("${DB_PASSWORD}"),
                    "db",
                    HostClass::SingleLabel,
                    None,
                ),
            ),
            (
                "u:p@tcp()/app",
                (
                    "u:p@tcp()/app",
                    Some("u"),
                    Some("p"),
                    "localhost",
                    HostClass::Loopback,
                    Some("app"),
                ),
            ),
        ];
        for (text, (span, user, pw, name, class, db)) in cases {
            let d = one(text);
            assert_eq!(&text[d.span.clone()], *span, "{text}");
            assert_eq!(d.user.as_ref().map(|u| u.value.as_str()), *user, "{text}");
            assert_eq!(d.password.as_ref().map(|u| u.value.as_str()), *pw, "{text}");
            assert_eq!(
                (d.hosts[0].name.as_str(), d.hosts[0].class),
                (*name, *class),
                "{text}"
            );
            assert_eq!(d.database.as_deref(), *db, "{text}");
        }
        // Near misses: no database path, or not a driver network.
        for text in [
            "ssh user@tcp(host) now",
            "mail me@tcpserver.com",
            "x@unix",
            "a@tcp(b",
        ] {
            assert!(find_dsns(text).is_empty(), "{text}");
        }
    }

    #[test]
    fn oracle_urls() {
        type Want = (
            &'static str,
            Option<&'static str>,
            Option<&'static str>,
            &'static [(&'static str, HostClass)],
            Option<&'static str>,
        );
        let cases: &[(&str, Want)] = &[
            (
                "url=jdbc:oracle:thin:@//ora.prod.internal:1521/ORCLPDB1",
                (
                    "jdbc:oracle:thin",
                    None,
                    None,
                    &[("ora.prod.internal", HostClass::Remote)],
                    Some("ORCLPDB1"),
                ),
            ),
            (
                "jdbc:oracle:thin:scott/tiger@ora.prod.internal:1521:ORCL",
                (
                    "jdbc:oracle:thin",
                    Some("scott"),
                    Some("tiger"),
                    &[("ora.prod.internal", HostClass::Remote)],
                    Some("ORCL"),
                ),
            ),
            (
                "jdbc:oracle:thin:app/\"p@ss\"@localhost:1521/XE",
                (
                    "jdbc:oracle:thin",
                    Some("app"),
                    Some("p@ss"),
                    &[("localhost", HostClass::Loopback)],
                    Some("XE"),
                ),
            ),
            (
                "jdbc:oracle:thin:@(DESCRIPTION=(ADDRESS=(PROTOCOL=TCP)(HOST=ora1.prod.internal)(PORT=1521))(ADDRESS=(PROTOCOL=TCP)(HOST=ora2.prod.internal)(PORT=1521)))",
                (
                    "jdbc:oracle:thin",
                    None,
                    None,
                    &[
                        ("ora1.prod.internal", HostClass::Remote),
                        ("ora2.prod.internal", HostClass::Remote),
                    ],
                    None,
                ),
            ),
            (
                "jdbc:oracle:oci:@PRODDB",
                (
                    "jdbc:oracle:oci",
                    None,
                    None,
                    &[("proddb", HostClass::SingleLabel)],
                    None,
                ),
            ),
        ];
        for (text, (scheme, user, pw, hosts, db)) in cases {
            let d = one(text);
            assert_eq!(d.scheme, *scheme, "{text}");
            assert_eq!(d.user.as_ref().map(|u| u.value.as_str()), *user, "{text}");
            assert_eq!(d.password.as_ref().map(|u| u.value.as_str()), *pw, "{text}");
            let got: Vec<(&str, HostClass)> =
                d.hosts.iter().map(|h| (h.name.as_str(), h.class)).collect();
            assert_eq!(got, *hosts, "{text}");
            assert_eq!(d.database.as_deref(), *db, "{text}");
            if let Some(pw) = pw {
                assert!(!d.masked(text).contains(pw), "{text}");
            }
        }
        for text in [
            "jdbc:oracle:",
            "jdbc:oracle:thin:",
            "jdbc:oracle:thin:scott",
            "jdbc:oracle:th in:@h",
        ] {
            assert!(find_dsns(text).is_empty(), "{text}");
        }
    }
}
