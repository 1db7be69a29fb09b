//! The last safety net on output: every literal password in a string becomes `****`.

use std::borrow::Cow;
use std::ops::Range;
use std::sync::LazyLock;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};

use super::scan::{closes_string, floor_boundary, param_follows, replace_spans, skip_blanks};
use super::{Credential, Part, classify_credential, find_dsns, uri};

/// Anything worth a closer look: a URI, a password-like key, or a key=value connection string.
static PREFILTER: LazyLock<AhoCorasick> = LazyLock::new(|| {
    AhoCorasickBuilder::new()
        .ascii_case_insensitive(true)
        .match_kind(MatchKind::LeftmostFirst)
        .build(["pass", "pwd"].iter().chain(&super::TRIGGER_WORDS))
        .expect("static patterns compile")
});

static SECRET_KEYS: LazyLock<AhoCorasick> = LazyLock::new(|| {
    AhoCorasickBuilder::new()
        .ascii_case_insensitive(true)
        .build(["pass", "pwd"])
        .expect("static patterns compile")
});

/// `text` with every literal password replaced by `****`: the passwords of connection strings
/// (any scheme's `user:password@`, so `https://user:token@...` too), and the values of
/// password-like keys (`password=...`, `Pwd={...};`, `PGPASSWORD=...`, `password: ...`,
/// `"password": "..."`). Placeholders and references (`${DB_PASSWORD}`, `ENC[...]`) stay, so
/// help text keeps its meaning. Returns the input unchanged, without allocating, when there is
/// nothing to hide.
pub fn mask_secrets(text: &str) -> Cow<'_, str> {
    if !PREFILTER.is_match(text) {
        return Cow::Borrowed(text);
    }
    let mut spans = Vec::new();
    let mut take = |part: &Part| {
        if !part.span.is_empty() && classify_credential(&part.value) == Credential::Literal {
            spans.push(part.span.clone());
        }
    };
    let found = find_dsns(text);
    for dsn in &found {
        dsn.secrets.iter().for_each(&mut take);
    }
    // Other schemes (`https://user:token@...`) and strings built inside templates.
    let mut known = found.iter().map(|d| d.span.clone()).peekable();
    let mut covered = 0;
    for sep in memchr::memmem::find_iter(text.as_bytes(), b"://") {
        while known.next_if(|span| span.end <= sep).is_some() {}
        if sep < covered || known.peek().is_some_and(|span| span.start <= sep) {
            continue;
        }
        if let Some(dsn) = uri::parse_at(text, sep, true) {
            covered = dsn.span.end;
            dsn.secrets.iter().for_each(&mut take);
        }
    }
    key_value_secrets(text, &mut spans);
    if spans.is_empty() {
        Cow::Borrowed(text)
    } else {
        Cow::Owned(replace_spans(text, spans, "****"))
    }
}

/// Longest password-like key looked at (`spring.datasource.hikari.password` fits).
const MAX_KEY: usize = 128;
/// Longest value looked at after a password-like key.
const MAX_VALUE: usize = 4096;

fn is_key_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-')
}

/// A key naming a password: `password`, `db_password`, `PGPASSWORD`, `Pwd`, `DB_PASS`.
fn is_secret_key(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    k.ends_with("password")
        || k.ends_with("passwd")
        || k.ends_with("pwd")
        || k == "pass"
        || ["_pass", "-pass", ".pass"].iter().any(|s| k.ends_with(s))
}

/// Values of password-like keys written `key=value` or, in a mapping, `key: value`.
fn key_value_secrets(text: &str, spans: &mut Vec<Range<usize>>) {
    let b = text.as_bytes();
    // End of the last value read: a key inside a value is part of that value.
    let mut covered = 0;
    for m in SECRET_KEYS.find_iter(text) {
        if m.start() < covered {
            continue;
        }
        let mut ks = m.start();
        while ks > 0 && m.start() - ks <= MAX_KEY && is_key_byte(b[ks - 1]) {
            ks -= 1;
        }
        let mut ke = m.end();
        while ke < b.len() && ke - m.end() <= MAX_KEY && is_key_byte(b[ke]) {
            ke += 1;
        }
        if ke - ks > MAX_KEY || !is_secret_key(&text[ks..ke]) {
            continue;
        }
        // A value longer than this is not a password; the cap keeps long lines linear.
        let window = floor_boundary(text, ke.saturating_add(MAX_VALUE));
        let line_end = memchr::memchr(b'\n', &b[ke..window]).map_or(window, |k| ke + k);
        let key_quote = ks
            .checked_sub(1)
            .map(|k| b[k])
            .filter(|c| matches!(c, b'"' | b'\''));
        let mut i = ke;
        if key_quote.is_some() && b.get(i).copied() == key_quote {
            i += 1;
        }
        i = skip_blanks(b, i, line_end);
        let Some(&sep) = b.get(i).filter(|_| i < line_end) else {
            continue;
        };
        let key_at = ks - usize::from(key_quote.is_some());
        let ctx = match sep {
            b'=' if starts_line(b, key_at) => Ctx::Line,
            b'=' => Ctx::Param,
            b':' if b
                .get(i + 1)
                .is_none_or(|c| c.is_ascii_whitespace() || matches!(c, b'"' | b'\'')) =>
            {
                match mapping_context(b, key_at) {
                    Some(ctx) => ctx,
                    None => continue,
                }
            }
            _ => continue,
        };
        let start = skip_blanks(b, i + 1, line_end);
        let value = value_range(b, start, line_end, ctx, key_quote);
        covered = value.end;
        let raw = &text[value.clone()];
        let skip = matches!(raw, "|" | ">" | "|-" | ">-" | "|+" | ">+" | "~" | "null");
        if !value.is_empty() && !skip && classify_credential(raw) == Credential::Literal {
            spans.push(value);
        }
    }
}

/// Where a password-like key sits, which decides where its unquoted value ends.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Ctx {
    /// `password=...` inside a connection string or query: ends at whitespace, or at `;`/`&`
    /// when another parameter follows.
    Param,
    /// `PGPASSWORD=...` starting a line (`.env`, properties, shell): ends at whitespace.
    Line,
    /// `password: ...` in block YAML: the rest of the line, less a ` #` comment.
    Block,
    /// `{password: ..., user: ...}`: ends at `, ` or the closing bracket.
    Flow,
}

/// True when the key at `ks` begins its line (after indentation, a list dash or `export`).
fn starts_line(b: &[u8], ks: usize) -> bool {
    let mut j = ks;
    while j > 0 && matches!(b[j - 1], b' ' | b'\t') {
        j -= 1;
    }
    if j >= 6 && &b[j - 6..j] == b"export" {
        j -= 6;
        while j > 0 && matches!(b[j - 1], b' ' | b'\t') {
            j -= 1;
        }
    } else if j > 0 && b[j - 1] == b'-' {
        j -= 1;
        while j > 0 && matches!(b[j - 1], b' ' | b'\t') {
            j -= 1;
        }
    }
    j == 0 || matches!(b[j - 1], b'\n' | b'\r')
}

/// How the key at `ks` starts a YAML/JSON mapping entry: at the start of a line, after a list
/// dash, a comment mark or a rendered gutter `|` (block), or after `{`, `[` or `,` (flow).
/// `None` for a word in prose.
fn mapping_context(b: &[u8], ks: usize) -> Option<Ctx> {
    let mut j = ks;
    while j > 0 && matches!(b[j - 1], b' ' | b'\t') {
        j -= 1;
    }
    match j.checked_sub(1).map(|k| b[k]) {
        None | Some(b'\n' | b'\r' | b'-' | b'#' | b';' | b'|') => Some(Ctx::Block),
        Some(b'{' | b',' | b'[') => Some(Ctx::Flow),
        _ => None,
    }
}

/// The value after a password key: inside quotes or ODBC braces, else as `ctx` says.
fn value_range(
    b: &[u8],
    start: usize,
    line_end: usize,
    ctx: Ctx,
    key_quote: Option<u8>,
) -> Range<usize> {
    let Some(&first) = b.get(start).filter(|_| start < line_end) else {
        return start..start;
    };
    let braced = first == b'{' && matches!(ctx, Ctx::Param | Ctx::Line);
    if matches!(first, b'"' | b'\'') || braced {
        let close = if first == b'{' { b'}' } else { first };
        let mut k = start + 1;
        while k < line_end {
            if b[k] == close {
                // ODBC escapes `}` as `}}`.
                if close == b'}' && b.get(k + 1) == Some(&b'}') {
                    k += 2;
                    continue;
                }
                break;
            }
            k += if b[k] == b'\\' && first == b'"' { 2 } else { 1 };
        }
        // An unclosed quote is the end of an enclosing string (`'password=' + pw`), not a value.
        return if k < line_end {
            start + 1..k
        } else {
            start..start
        };
    }
    let mut k = start;
    let mut depth = 0i32;
    while k < line_end {
        let c = b[k];
        let closing_quote = matches!(c, b'"' | b'\'' | b'`') && closes_string(b, k);
        let stop = match ctx {
            Ctx::Param => {
                c.is_ascii_whitespace()
                    || (matches!(c, b';' | b'&') && param_follows(b, k, line_end))
                    || closing_quote
                    || (c == b',' && b.get(k + 1).is_some_and(u8::is_ascii_whitespace))
                    || (c == b')' && depth == 0)
            }
            // `"PGPASSWORD=x"`: only the quote the key opened with closes the value.
            Ctx::Line => {
                c.is_ascii_whitespace()
                    || (closing_quote
                        && (Some(c) == key_quote
                            || b.get(k + 1).is_none_or(u8::is_ascii_whitespace)))
            }
            Ctx::Block => c == b'\r' || (c == b'#' && k > start && b[k - 1].is_ascii_whitespace()),
            Ctx::Flow => {
                c == b'\r'
                    || (c == b',' && b.get(k + 1).is_none_or(u8::is_ascii_whitespace))
                    || (matches!(c, b'}' | b']') && depth == 0)
            }
        };
        if stop {
            break;
        }
        match c {
            b'(' | b'{' | b'[' => depth += 1,
            b')' | b'}' | b']' => depth -= 1,
            _ => {}
        }
        k += 1;
    }
    while k > start && b[k - 1].is_ascii_whitespace() {
        k -= 1;
    }
    start..k
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_keys() {
        for k in [
            "password",
            "PGPASSWORD",
            "db_password",
            "Pwd",
            "DB_PASS",
            "pass",
            "--password",
        ] {
            assert!(is_secret_key(k), "{k}");
        }
        for k in [
            "bypass",
            "compass",
            "passwords",
            "password_file",
            "passphrase_hint",
        ] {
            assert!(!is_secret_key(k), "{k}");
        }
    }

    #[test]
    fn key_values() {
        let cases: &[(&str, &str)] = &[
            ("POSTGRES_PASSWORD=s3cr3t", "POSTGRES_PASSWORD=****"),
            ("  password: \"s3cr3t\"", "  password: \"****\""),
            ("  password: s3cr3t # rotate", "  password: **** # rotate"),
            (
                "{\"password\":\"s3cr3t\",\"user\":\"u\"}",
                "{\"password\":\"****\",\"user\":\"u\"}",
            ),
            ("{password: s3cr3t, user: u}", "{password: ****, user: u}"),
            (
                "spring.datasource.password=s3cr3t",
                "spring.datasource.password=****",
            ),
            (
                "?user=u&password=s3cr3t&ssl=true",
                "?user=u&password=****&ssl=true",
            ),
            ("Uid=u;Pwd={p;w}};x};Server=s", "Uid=u;Pwd={****};Server=s"),
            ("connect(password=s3cr3t)", "connect(password=****)"),
            (
                "- MYSQL_ROOT_PASSWORD: s3cr3t",
                "- MYSQL_ROOT_PASSWORD: ****",
            ),
            ("12 |   password: s3cr3t", "12 |   password: ****"),
            // left alone
            ("password: ${DB_PASSWORD}", "password: ${DB_PASSWORD}"),
            ("password: |", "password: |"),
            ("dsn = 'password=' + pw", "dsn = 'password=' + pw"),
            ("password:", "password:"),
            (
                "Set the password: it is long",
                "Set the password: it is long",
            ),
            ("bypass=1", "bypass=1"),
            (
                "password_file: /run/secrets/db",
                "password_file: /run/secrets/db",
            ),
        ];
        for (input, want) in cases {
            assert_eq!(mask_secrets(input), *want, "{input}");
        }
    }
}
