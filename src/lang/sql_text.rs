//! Recognises destructive SQL (and Redis flush commands) inside a string taken from source code.

use std::sync::OnceLock;

use aho_corasick::AhoCorasick;

/// A destructive statement found in a SQL string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqlDestruction {
    /// `TRUNCATE`, `DELETE FROM without WHERE`, `DROP TABLE`, `FLUSHALL`, ...
    pub operation: String,
    /// Target tables (or schemas, databases) named in the statement, in order.
    pub tables: Vec<String>,
}

/// Keywords of every destructive form the language analyses look for, matched case-insensitively.
const KEYWORDS: &[&str] = &[
    "truncate", "delete", "drop", "flush", "clean", "sync", "destroy", "purge", "del(",
];

/// Cheap prefilter: can this file hold any destructive operation at all?
pub fn has_destructive_keyword(source: &[u8]) -> bool {
    static MATCHER: OnceLock<Option<AhoCorasick>> = OnceLock::new();
    let matcher = MATCHER.get_or_init(|| {
        AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .build(KEYWORDS)
            .ok()
    });
    match matcher {
        Some(m) => m.is_match(source),
        // Building a fixed pattern set cannot fail; if it ever did, parse every file.
        None => true,
    }
}

/// The destructive statements in `sql`, if any: several statements in one string report every
/// distinct operation (joined with `, `) and every target.
pub fn destructive_sql(sql: &str) -> Option<SqlDestruction> {
    let tokens = lex(sql);
    let mut operations: Vec<String> = Vec::new();
    let mut tables: Vec<String> = Vec::new();
    for statement in tokens.split(|t| *t == Tok::Semi) {
        if let Some((op, names)) = judge_statement(statement) {
            if !operations.contains(&op) {
                operations.push(op);
            }
            for name in names {
                if !tables.contains(&name) {
                    tables.push(name);
                }
            }
        }
    }
    if operations.is_empty() {
        return None;
    }
    Some(SqlDestruction {
        operation: operations.join(", "),
        tables,
    })
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    /// A bare or quoted identifier or keyword; `quoted` identifiers are never keywords.
    Word {
        text: String,
        quoted: bool,
    },
    Number(String),
    Str,
    Param,
    Punct(String),
    Semi,
}

impl Tok {
    fn is_kw(&self, kw: &str) -> bool {
        matches!(self, Tok::Word { text, quoted: false } if text.eq_ignore_ascii_case(kw))
    }
}

/// Splits SQL into tokens, dropping comments. Works on bytes and only cuts at ASCII bytes, so every
/// slice lands on a char boundary.
fn lex(sql: &str) -> Vec<Tok> {
    let b = sql.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_whitespace() {
            i += 1;
        } else if c == b'-' && b.get(i + 1) == Some(&b'-') {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
        } else if c == b'/' && b.get(i + 1) == Some(&b'*') {
            i += 2;
            while i < b.len() && !(b[i] == b'*' && b.get(i + 1) == Some(&b'/')) {
                i += 1;
            }
            i = (i + 2).min(b.len());
        } else if c == b'\'' {
            i += 1;
            while i < b.len() {
                if b[i] == b'\'' {
                    if b.get(i + 1) == Some(&b'\'') {
                        i += 2;
                        continue;
                    }
                    break;
                }
                i += 1;
            }
            i = (i + 1).min(b.len());
            out.push(Tok::Str);
        } else if c == b'"' || c == b'`' || c == b'[' {
            let close = if c == b'[' { b']' } else { c };
            let start = i + 1;
            let mut j = start;
            while j < b.len() && b[j] != close {
                j += 1;
            }
            let text = sql.get(start..j).unwrap_or_default().to_string();
            out.push(Tok::Word { text, quoted: true });
            i = (j + 1).min(b.len());
        } else if c == b'$'
            || c == b'?'
            || (c == b':' && b.get(i + 1).is_some_and(u8::is_ascii_alphabetic))
        {
            i += 1;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                i += 1;
            }
            out.push(Tok::Param);
        } else if c.is_ascii_digit() {
            let start = i;
            while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'.') {
                i += 1;
            }
            out.push(Tok::Number(
                sql.get(start..i).unwrap_or_default().to_string(),
            ));
        } else if c.is_ascii_alphabetic() || c == b'_' || c >= 0x80 {
            let start = i;
            while i < b.len()
                && (b[i].is_ascii_alphanumeric() || b[i] == b'_' || b[i] == b'$' || b[i] >= 0x80)
            {
                i += 1;
            }
            let text = sql.get(start..i).unwrap_or_default().to_string();
            out.push(Tok::Word {
                text,
                quoted: false,
            });
        } else if c == b';' {
            out.push(Tok::Semi);
            i += 1;
        } else {
            let two = b.get(i..i + 2);
            let len = match two {
                Some(b"<=" | b">=" | b"<>" | b"!=" | b"::") => 2,
                _ => 1,
            };
            out.push(Tok::Punct(
                sql.get(i..i + len).unwrap_or_default().to_string(),
            ));
            i += len;
        }
    }
    out
}

/// Reads a possibly schema-qualified name starting at `i`; returns it and the index after it.
fn qualified_name(t: &[Tok], mut i: usize) -> Option<(String, usize)> {
    let mut name = String::new();
    loop {
        match t.get(i) {
            Some(Tok::Word { text, .. }) => name.push_str(text),
            _ => return None,
        }
        i += 1;
        if matches!(t.get(i), Some(Tok::Punct(p)) if p == ".") {
            name.push('.');
            i += 1;
        } else {
            return Some((name, i));
        }
    }
}

/// A comma-separated list of names after `i` (for TRUNCATE and DROP).
fn name_list(t: &[Tok], mut i: usize) -> Vec<String> {
    let mut names = Vec::new();
    while let Some((name, next)) = qualified_name(t, i) {
        if ["CASCADE", "RESTRICT", "RESTART", "CONTINUE"]
            .iter()
            .any(|kw| name.eq_ignore_ascii_case(kw))
        {
            break;
        }
        names.push(name);
        i = next;
        if matches!(t.get(i), Some(Tok::Punct(p)) if p == "*") {
            i += 1;
        }
        if matches!(t.get(i), Some(Tok::Punct(p)) if p == ",") {
            i += 1;
        } else {
            break;
        }
    }
    names
}

fn judge_statement(t: &[Tok]) -> Option<(String, Vec<String>)> {
    // A statement may follow a CTE or sit after a label; look for the verb anywhere at the top.
    for (i, tok) in t.iter().enumerate() {
        if tok.is_kw("TRUNCATE") {
            let mut j = i + 1;
            for kw in ["TABLE", "ONLY"] {
                if t.get(j).is_some_and(|x| x.is_kw(kw)) {
                    j += 1;
                }
            }
            return Some(("TRUNCATE".to_string(), name_list(t, j)));
        }
        if tok.is_kw("DELETE") && t.get(i + 1).is_some_and(|x| x.is_kw("FROM")) {
            let mut j = i + 2;
            if t.get(j).is_some_and(|x| x.is_kw("ONLY")) {
                j += 1;
            }
            let table = qualified_name(t, j).map(|(n, _)| n);
            let where_at = t[j..].iter().position(|x| x.is_kw("WHERE")).map(|p| p + j);
            let op = match where_at {
                None => "DELETE FROM without WHERE",
                Some(w) if tautology(&t[w + 1..]) => "DELETE FROM with an always-true WHERE",
                Some(_) => return None,
            };
            return Some((op.to_string(), table.into_iter().collect()));
        }
        if tok.is_kw("DROP") {
            let kind = ["TABLE", "SCHEMA", "DATABASE"]
                .into_iter()
                .find(|kw| t.get(i + 1).is_some_and(|x| x.is_kw(kw)))?;
            let mut j = i + 2;
            if t.get(j).is_some_and(|x| x.is_kw("IF"))
                && t.get(j + 1).is_some_and(|x| x.is_kw("EXISTS"))
            {
                j += 2;
            }
            return Some((format!("DROP {kind}"), name_list(t, j)));
        }
        if tok.is_kw("FLUSHALL") || tok.is_kw("FLUSHDB") {
            return Some((tok_text(tok).to_ascii_uppercase(), Vec::new()));
        }
    }
    None
}

fn tok_text(t: &Tok) -> &str {
    match t {
        Tok::Word { text, .. } | Tok::Number(text) | Tok::Punct(text) => text,
        _ => "",
    }
}

/// A WHERE clause that every row satisfies: `1=1`, `true`, `id > 0`, `x IS NOT NULL`,
/// `created_at < now()`, or an OR with any such branch.
fn tautology(cond: &[Tok]) -> bool {
    let end = cond
        .iter()
        .position(|x| ["RETURNING", "ORDER", "LIMIT"].iter().any(|kw| x.is_kw(kw)))
        .unwrap_or(cond.len());
    let cond = &cond[..end];
    cond.split(|x| x.is_kw("OR"))
        .any(|branch| !branch.is_empty() && branch.split(|x| x.is_kw("AND")).all(always_true))
}

fn always_true(c: &[Tok]) -> bool {
    let c: Vec<&Tok> = c
        .iter()
        .filter(|x| !matches!(x, Tok::Punct(p) if p == "(" || p == ")"))
        .collect();
    let word = |i: usize| {
        c.get(i)
            .map(|t| tok_text(t).to_ascii_lowercase())
            .unwrap_or_default()
    };
    match c.len() {
        1 => word(0) == "true" || word(0) == "1",
        2 => word(0) == "not" && word(1) == "false",
        3 | 4 if word(1) == "is" && word(2) == "not" && word(3) == "null" => true,
        _ if c.len() >= 3 => {
            let (left, op, right) = (word(0), word(1), word(2));
            let same_literal = left == right
                && matches!(c[0], Tok::Number(_))
                && matches!(op.as_str(), "=" | ">=" | "<=");
            let positive_key = matches!(c[0], Tok::Word { .. })
                && matches!(
                    (op.as_str(), right.as_str()),
                    (">", "0") | (">=", "0") | (">=", "1")
                );
            let before_now = matches!(op.as_str(), "<" | "<=")
                && ["now", "current_timestamp", "current_date", "localtimestamp"]
                    .contains(&right.as_str());
            same_literal || positive_key || before_now
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_destructive_statements() {
        type Expected = Option<(&'static str, &'static [&'static str])>;
        let cases: &[(&str, Expected)] = &[
            (
                "TRUNCATE TABLE categories CASCADE",
                Some(("TRUNCATE", &["categories"])),
            ),
            (
                "truncate a, public.b restart identity",
                Some(("TRUNCATE", &["a", "public.b"])),
            ),
            (
                "DELETE FROM users",
                Some(("DELETE FROM without WHERE", &["users"])),
            ),
            (
                "DELETE FROM categories WHERE id > 0",
                Some(("DELETE FROM with an always-true WHERE", &["categories"])),
            ),
            (
                "delete from t where 1=1",
                Some(("DELETE FROM with an always-true WHERE", &["t"])),
            ),
            (
                "DELETE FROM coupons WHERE created_at < NOW()",
                Some(("DELETE FROM with an always-true WHERE", &["coupons"])),
            ),
            (
                "DELETE FROM t WHERE x IS NOT NULL",
                Some(("DELETE FROM with an always-true WHERE", &["t"])),
            ),
            (
                "DROP TABLE IF EXISTS a, b",
                Some(("DROP TABLE", &["a", "b"])),
            ),
            (
                "drop schema public cascade",
                Some(("DROP SCHEMA", &["public"])),
            ),
            ("DROP DATABASE shop", Some(("DROP DATABASE", &["shop"]))),
            ("FLUSHALL", Some(("FLUSHALL", &[]))),
            (
                "SET x = 1; TRUNCATE \"Users\"",
                Some(("TRUNCATE", &["Users"])),
            ),
            ("-- TRUNCATE a\nSELECT 1", None),
            ("/* DROP TABLE a */ SELECT 1", None),
            ("DELETE FROM t WHERE id = $1", None),
            ("DELETE FROM t WHERE id = ?", None),
            ("DELETE FROM t WHERE name = 'x -- y'", None),
            ("SELECT 'TRUNCATE a'", None),
            ("DROP INDEX i", None),
            ("", None),
        ];
        for (sql, want) in cases {
            let got = destructive_sql(sql);
            let want = want.map(|(op, tables)| SqlDestruction {
                operation: op.to_string(),
                tables: tables.iter().map(|t| t.to_string()).collect(),
            });
            assert_eq!(got, want, "{sql}");
        }
    }

    #[test]
    fn prefilter_finds_keywords_in_any_case() {
        assert!(has_destructive_keyword(b"conn.execute('TRUNCATE a')"));
        assert!(has_destructive_keyword(b"User.Delete_All"));
        assert!(has_destructive_keyword(b"rdb.FlushAll(ctx)"));
        assert!(!has_destructive_keyword(b"SELECT * FROM users"));
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]
        #[test]
        fn never_panics(s in "\\PC{0,80}") {
            let _ = destructive_sql(&s);
            let _ = has_destructive_keyword(s.as_bytes());
        }
    }
}
