//! Destructive SQL inside a string literal, and the keyword prefilter that keeps files without any
//! destructive word from being parsed at all. Shared by every language analyser.
//!
//! The lexer knows quotes, comments, dollar quoting and the placeholders of the host languages
//! (`{t}`, `${t}`, `#{t}`, `%s`, `$1`, `?`, `:name`), so interpolated table names and bound
//! parameters are never mistaken for literal names or always-true conditions.

use std::sync::LazyLock;

use aho_corasick::AhoCorasick;

/// A destructive statement (or several) found in one SQL string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqlDestruction {
    /// What it does: `TRUNCATE`, `DELETE FROM without WHERE`, `DROP TABLE`, ...; several distinct
    /// operations in one string are joined with `, `.
    pub operation: String,
    /// Literal target names in statement order, unquoted, without duplicates. Interpolated or
    /// bound names (`{t}`, `${t}`, `%s`) are left out: the caller knows what they stand for.
    pub tables: Vec<String>,
}

/// Does `sql` hold a destructive statement: `TRUNCATE`, `DELETE FROM` with no `WHERE` or an
/// always-true one, `DROP TABLE|SCHEMA|DATABASE|OWNED`, `FLUSHALL`/`FLUSHDB`?
pub fn destructive_sql(sql: &str) -> Option<SqlDestruction> {
    let mut toks = Vec::new();
    lex(sql, 0, &mut toks);
    let mut ops: Vec<&'static str> = Vec::new();
    let mut tables: Vec<String> = Vec::new();
    for stmt in toks.split(|t| matches!(t, Tok::Semi)) {
        for (i, _) in stmt.iter().enumerate() {
            let starts = i == 0
                || matches!(&stmt[i - 1], Tok::Word(w) if STMT_LEADERS.contains(&w.as_str()));
            if !starts {
                continue;
            }
            if let Some((op, names)) = statement_at(&stmt[i..]) {
                if !ops.contains(&op) {
                    ops.push(op);
                }
                for n in names {
                    if !tables.contains(&n) {
                        tables.push(n);
                    }
                }
            }
        }
    }
    if ops.is_empty() {
        return None;
    }
    Some(SqlDestruction {
        operation: ops.join(", "),
        tables,
    })
}

/// Words after which a new statement can begin inside one statement: PL/pgSQL blocks
/// (`DO $$ BEGIN TRUNCATE ...`), `EXECUTE 'TRUNCATE ...'`, `IF ... THEN DELETE FROM ...`.
const STMT_LEADERS: &[&str] = &[
    "begin",
    "then",
    "else",
    "loop",
    "do",
    "execute",
    "immediate",
];

const PREFILTER_WORDS: &[&str] = &[
    "truncat",
    "delet",
    "drop",
    "flushall",
    "flushdb",
    "\"flush\"",
    "'flush'",
    "databasecleaner",
    "clean_with",
    ".clean(",
    ".sync(",
    "synchronize",
    "destroy_all",
    "destroy(",
    "destroy (",
    ".del(",
    "@sql(",
    "purge",
    "reset_db",
    ".clear()",
];

static PREFILTER: LazyLock<Option<AhoCorasick>> = LazyLock::new(|| {
    AhoCorasick::builder()
        .ascii_case_insensitive(true)
        .build(PREFILTER_WORDS)
        .ok()
});

/// The prefilter words found in `source`, each once at most per occurrence (for a language that
/// narrows a word further, as Python narrows `delete`).
pub fn destructive_keywords(source: &[u8]) -> impl Iterator<Item = &'static str> + '_ {
    PREFILTER
        .as_ref()
        .into_iter()
        .flat_map(move |ac| ac.find_iter(source))
        .map(|m| PREFILTER_WORDS[m.pattern().as_usize()])
}

/// Where the prefilter words occur in `source` (offsets of their first bytes), or `None` when
/// the prefilter is unavailable and every text must count as destructive.
pub fn destructive_keyword_offsets(source: &[u8]) -> Option<impl Iterator<Item = usize> + '_> {
    let ac = PREFILTER.as_ref()?;
    Some(ac.find_iter(source).map(|m| m.start()))
}

/// The prefilter for a language that narrows `delete` to the forms its analysis reports: true
/// when any other keyword occurs, or `delete` does in one of `forms`.
pub fn has_destructive_keyword_narrowing_delete(
    source: &str,
    forms: Option<&regex::Regex>,
) -> bool {
    let mut delete = false;
    for w in destructive_keywords(source.as_bytes()) {
        if w != "delet" {
            return true;
        }
        delete = true;
    }
    delete && forms.is_none_or(|re| re.is_match(source))
}

/// Cheap case-insensitive check for any word a destructive operation of any supported form needs.
/// A file for which this is false cannot hold a finding and need not be parsed.
pub fn has_destructive_keyword(source: &[u8]) -> bool {
    match PREFILTER.as_ref() {
        Some(ac) => ac.is_match(source),
        // Building a fixed automaton cannot fail in practice; if it did, parse everything.
        None => true,
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    /// An unquoted word, lowercased.
    Word(String),
    /// A quoted identifier, unquoted.
    QIdent(String),
    Num(f64),
    Str(String),
    /// A bound parameter or host-language interpolation: its value is unknown.
    Param,
    Sym(&'static str),
    LParen,
    RParen,
    Comma,
    Dot,
    Semi,
}

const MAX_LEX_DEPTH: usize = 3;
const MAX_TOKENS: usize = 200_000;

/// Tokenize `s` into `out`. Dollar-quoted bodies and strings run by `EXECUTE` are code, so their
/// contents are lexed inline (depth-capped).
fn lex(s: &str, depth: usize, out: &mut Vec<Tok>) {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if out.len() >= MAX_TOKENS {
            return;
        }
        let c = b[i];
        match c {
            b' ' | b'\t' | b'\r' | b'\n' | 0x0c => i += 1,
            b'-' if b.get(i + 1) == Some(&b'-') => {
                i = memchr::memchr(b'\n', &b[i..]).map_or(b.len(), |p| i + p + 1);
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                // Postgres block comments nest.
                let mut level = 0usize;
                while i < b.len() {
                    if b[i] == b'/' && b.get(i + 1) == Some(&b'*') {
                        level += 1;
                        i += 2;
                    } else if b[i] == b'*' && b.get(i + 1) == Some(&b'/') {
                        level = level.saturating_sub(1);
                        i += 2;
                        if level == 0 {
                            break;
                        }
                    } else {
                        i += 1;
                    }
                }
            }
            b'\'' => {
                let backslash = i > 0 && matches!(b[i - 1], b'e' | b'E');
                let (content, next) = quoted(s, i, b'\'', backslash);
                i = next;
                let after_execute = matches!(out.last(), Some(Tok::Word(w)) if w == "execute")
                    || matches!(out.as_slice(), [.., Tok::Word(w), Tok::LParen] if w == "format");
                if after_execute && depth < MAX_LEX_DEPTH {
                    lex(&content, depth + 1, out);
                } else {
                    out.push(Tok::Str(content));
                }
            }
            b'"' | b'`' => {
                let (content, next) = quoted(s, i, c, false);
                i = next;
                out.push(Tok::QIdent(content));
            }
            b'$' => {
                if b.get(i + 1).is_some_and(u8::is_ascii_digit) {
                    i += 1;
                    while i < b.len() && b[i].is_ascii_digit() {
                        i += 1;
                    }
                    out.push(Tok::Param);
                } else if b.get(i + 1) == Some(&b'{') {
                    i = skip_braces(b, i + 1);
                    out.push(Tok::Param);
                } else if let Some((body, next)) = dollar_quoted(s, i) {
                    i = next;
                    if depth < MAX_LEX_DEPTH {
                        lex(body, depth + 1, out);
                    } else {
                        out.push(Tok::Str(String::new()));
                    }
                } else {
                    i += 1;
                    out.push(Tok::Sym("$"));
                }
            }
            b'{' => {
                i = skip_braces(b, i);
                out.push(Tok::Param);
            }
            b'#' if b.get(i + 1) == Some(&b'{') => {
                i = skip_braces(b, i + 1);
                out.push(Tok::Param);
            }
            b'%' => {
                match b.get(i + 1) {
                    Some(b'(') => {
                        // Python `%(name)s`.
                        i = memchr::memchr(b')', &b[i..]).map_or(b.len(), |p| i + p + 2);
                        out.push(Tok::Param);
                    }
                    Some(x) if x.is_ascii_alphabetic() => {
                        i += 2;
                        out.push(Tok::Param);
                    }
                    Some(b'%') => {
                        i += 2;
                        out.push(Tok::Sym("%"));
                    }
                    _ => {
                        i += 1;
                        out.push(Tok::Sym("%"));
                    }
                }
            }
            b'?' => {
                i += 1;
                while i < b.len() && b[i].is_ascii_digit() {
                    i += 1;
                }
                out.push(Tok::Param);
            }
            b':' => {
                if b.get(i + 1) == Some(&b':') {
                    i += 2;
                    out.push(Tok::Sym("::"));
                } else if b
                    .get(i + 1)
                    .is_some_and(|x| x.is_ascii_alphabetic() || *x == b'_')
                {
                    i += 1;
                    while i < b.len() && is_word_byte(b[i]) {
                        i += 1;
                    }
                    out.push(Tok::Param);
                } else {
                    i += 1;
                    out.push(Tok::Sym(":"));
                }
            }
            b'@' if b.get(i + 1).is_some_and(|x| x.is_ascii_alphabetic()) => {
                i += 1;
                while i < b.len() && is_word_byte(b[i]) {
                    i += 1;
                }
                out.push(Tok::Param);
            }
            b'(' => {
                i += 1;
                out.push(Tok::LParen);
            }
            b')' => {
                i += 1;
                out.push(Tok::RParen);
            }
            b',' => {
                i += 1;
                out.push(Tok::Comma);
            }
            b'.' if !b.get(i + 1).is_some_and(u8::is_ascii_digit) => {
                i += 1;
                out.push(Tok::Dot);
            }
            b';' => {
                i += 1;
                out.push(Tok::Semi);
            }
            b'0'..=b'9' | b'.' => {
                let start = i;
                while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'.') {
                    i += 1;
                }
                let n = s.get(start..i).and_then(|t| t.parse::<f64>().ok());
                out.push(n.map_or(Tok::Sym("?num"), Tok::Num));
            }
            b'<' | b'>' | b'=' | b'!' => {
                let two = b.get(i + 1).copied();
                let sym = match (c, two) {
                    (b'<', Some(b'=')) => "<=",
                    (b'>', Some(b'=')) => ">=",
                    (b'<', Some(b'>')) | (b'!', Some(b'=')) => "<>",
                    (b'=', Some(b'=')) => "=",
                    (b'<', _) => "<",
                    (b'>', _) => ">",
                    (b'=', _) => "=",
                    _ => "!",
                };
                i += if matches!(sym, "<=" | ">=" | "<>") || (c == b'=' && two == Some(b'=')) {
                    2
                } else {
                    1
                };
                out.push(Tok::Sym(sym));
            }
            _ if is_word_byte(c) || c >= 0x80 => {
                let start = i;
                while i < b.len() && (is_word_byte(b[i]) || b[i] >= 0x80 || b[i] == b'$') {
                    i += 1;
                }
                // Only ASCII bytes stop a word, so `start..i` lies on char boundaries.
                let w = s.get(start..i).unwrap_or_default().to_ascii_lowercase();
                out.push(Tok::Word(w));
            }
            _ => {
                i += 1;
                out.push(Tok::Sym("other"));
            }
        }
    }
}

fn is_word_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

/// Content of a quoted run starting at `start` (the opening quote), doubled quotes unescaped, and
/// the index just past the closing quote (or the end of input when unterminated).
fn quoted(s: &str, start: usize, q: u8, backslash: bool) -> (String, usize) {
    let b = s.as_bytes();
    let mut out = String::new();
    let mut i = start + 1;
    let mut seg = i;
    while i < b.len() {
        if backslash && b[i] == b'\\' {
            i += 2;
            continue;
        }
        if b[i] == q {
            if b.get(i + 1) == Some(&q) {
                out.push_str(s.get(seg..=i).unwrap_or_default());
                i += 2;
                seg = i;
                continue;
            }
            out.push_str(s.get(seg..i).unwrap_or_default());
            return (out, i + 1);
        }
        i += 1;
    }
    out.push_str(s.get(seg.min(b.len())..).unwrap_or_default());
    (out, b.len())
}

/// A `$tag$ ... $tag$` body starting at `start`, and the index past the closing tag.
fn dollar_quoted(s: &str, start: usize) -> Option<(&str, usize)> {
    let b = s.as_bytes();
    let mut j = start + 1;
    while j < b.len() && is_word_byte(b[j]) {
        j += 1;
    }
    if b.get(j) != Some(&b'$') {
        return None;
    }
    let tag = s.get(start..=j)?;
    let body_start = j + 1;
    let rest = s.get(body_start..)?;
    match rest.find(tag) {
        Some(p) => Some((rest.get(..p)?, body_start + p + tag.len())),
        None => Some((rest, b.len())),
    }
}

/// Index just past the `}` matching the `{` at `open`.
fn skip_braces(b: &[u8], open: usize) -> usize {
    let mut level = 0usize;
    let mut i = open;
    while i < b.len() {
        match b[i] {
            b'{' => level += 1,
            b'}' => {
                level = level.saturating_sub(1);
                if level == 0 {
                    return i + 1;
                }
            }
            _ => {}
        }
        i += 1;
    }
    b.len()
}

fn word_is(t: Option<&Tok>, w: &str) -> bool {
    matches!(t, Some(Tok::Word(x)) if x == w)
}

/// The destructive statement starting at `toks[0]`, if any: its operation and literal names.
fn statement_at(toks: &[Tok]) -> Option<(&'static str, Vec<String>)> {
    let Tok::Word(first) = toks.first()? else {
        return None;
    };
    match first.as_str() {
        "truncate" => {
            let mut i = 1;
            if word_is(toks.get(i), "table") {
                i += 1;
            }
            Some(("TRUNCATE", name_list(&toks[i.min(toks.len())..])))
        }
        "delete" if word_is(toks.get(1), "from") => {
            let mut rest = &toks[2..];
            if word_is(rest.first(), "only") {
                rest = &rest[1..];
            }
            let (name, after) = one_name(rest);
            delete_verdict(rest, after, name.into_iter().collect())
        }
        "drop" => {
            let kind = match toks.get(1) {
                Some(Tok::Word(w)) => w.as_str(),
                _ => return None,
            };
            let (op, skip) = match kind {
                "table" => ("DROP TABLE", 2),
                "schema" => ("DROP SCHEMA", 2),
                "database" => ("DROP DATABASE", 2),
                "owned" => ("DROP OWNED", 2),
                "all" if word_is(toks.get(2), "objects") => ("DROP ALL OBJECTS", 3),
                _ => return None,
            };
            let names = if matches!(op, "DROP OWNED" | "DROP ALL OBJECTS") {
                Vec::new()
            } else {
                name_list(&toks[skip.min(toks.len())..])
            };
            Some((op, names))
        }
        "flushall" => Some(("FLUSHALL", Vec::new())),
        "flushdb" => Some(("FLUSHDB", Vec::new())),
        _ => None,
    }
}

/// `DELETE FROM <name> ...`: destructive unless a `WHERE` narrows it.
fn delete_verdict(
    rest: &[Tok],
    after_name: usize,
    names: Vec<String>,
) -> Option<(&'static str, Vec<String>)> {
    let tail = &rest[after_name.min(rest.len())..];
    let Some(w) = tail
        .iter()
        .position(|t| matches!(t, Tok::Word(w) if w == "where"))
    else {
        return Some(("DELETE FROM without WHERE", names));
    };
    let cond = &tail[w + 1..];
    let end = cond
        .iter()
        .position(
            |t| matches!(t, Tok::Word(w) if matches!(w.as_str(), "returning" | "order" | "limit")),
        )
        .unwrap_or(cond.len());
    if tautology(&cond[..end], 0) {
        Some(("DELETE FROM with an always-true WHERE", names))
    } else {
        None
    }
}

/// Comma-separated names after `TRUNCATE [TABLE]` / `DROP TABLE`, skipping `ONLY`, `IF EXISTS`
/// and the trailing options.
fn name_list(toks: &[Tok]) -> Vec<String> {
    let mut names = Vec::new();
    let mut i = 0;
    while i < toks.len() {
        while matches!(&toks.get(i), Some(Tok::Word(w)) if matches!(w.as_str(), "only" | "if" | "exists"))
        {
            i += 1;
        }
        let (name, used) = one_name(&toks[i.min(toks.len())..]);
        if used == 0 {
            break;
        }
        names.extend(name);
        i += used;
        if matches!(toks.get(i), Some(Tok::Sym("other"))) {
            // `TRUNCATE ONLY t *`
            i += 1;
        }
        if matches!(toks.get(i), Some(Tok::Comma)) {
            i += 1;
        } else {
            break;
        }
    }
    names
}

/// One possibly qualified name at the start of `toks`: the literal name (None when any part is
/// interpolated) and the number of tokens it spans (0 when there is no name).
fn one_name(toks: &[Tok]) -> (Option<String>, usize) {
    let mut parts: Vec<String> = Vec::new();
    let mut literal = true;
    let mut i = 0;
    loop {
        match toks.get(i) {
            Some(Tok::Word(w)) if !is_clause_word(w) => parts.push(w.clone()),
            Some(Tok::QIdent(q)) => parts.push(q.clone()),
            Some(Tok::Param) => literal = false,
            _ => break,
        }
        i += 1;
        if matches!(toks.get(i), Some(Tok::Dot)) {
            i += 1;
        } else {
            break;
        }
    }
    if i == 0 || (parts.is_empty() && literal) {
        return (None, 0);
    }
    let name = (literal && !parts.is_empty()).then(|| parts.join("."));
    (name, i)
}

fn is_clause_word(w: &str) -> bool {
    matches!(
        w,
        "where"
            | "using"
            | "returning"
            | "cascade"
            | "restrict"
            | "restart"
            | "continue"
            | "identity"
            | "as"
            | "with"
            | "order"
            | "limit"
    )
}

const MAX_COND_DEPTH: usize = 24;

/// Is this `WHERE` condition true for (nearly) every row? Anything not recognised narrows.
fn tautology(toks: &[Tok], depth: usize) -> bool {
    if depth > MAX_COND_DEPTH || toks.is_empty() {
        return false;
    }
    let ors = split_top(toks, "or");
    if ors.len() > 1 {
        return ors.iter().any(|p| tautology(p, depth + 1));
    }
    let ands = split_top(toks, "and");
    if ands.len() > 1 {
        return ands.iter().all(|p| tautology(p, depth + 1));
    }
    if let Some(inner) = strip_parens(toks) {
        return tautology(inner, depth + 1);
    }
    if word_is(toks.first(), "not") {
        return toks.len() == 2 && word_is(toks.get(1), "false");
    }
    atom_tautology(toks)
}

/// Split on a top-level boolean keyword, keeping `BETWEEN a AND b` together.
fn split_top<'a>(toks: &'a [Tok], kw: &str) -> Vec<&'a [Tok]> {
    let mut parts = Vec::new();
    let mut level = 0i32;
    let mut start = 0;
    let mut between = false;
    for (i, t) in toks.iter().enumerate() {
        match t {
            Tok::LParen => level += 1,
            Tok::RParen => level -= 1,
            Tok::Word(w) if level == 0 && w == "between" => between = true,
            Tok::Word(w) if level == 0 && w == kw => {
                if kw == "and" && between {
                    between = false;
                    continue;
                }
                parts.push(&toks[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&toks[start.min(toks.len())..]);
    parts
}

/// The inside of `( ... )` when the parentheses wrap the whole slice.
fn strip_parens(toks: &[Tok]) -> Option<&[Tok]> {
    if !matches!(toks.first(), Some(Tok::LParen)) || !matches!(toks.last(), Some(Tok::RParen)) {
        return None;
    }
    let mut level = 0i32;
    for (i, t) in toks.iter().enumerate() {
        match t {
            Tok::LParen => level += 1,
            Tok::RParen => {
                level -= 1;
                if level == 0 && i != toks.len() - 1 {
                    return None;
                }
            }
            _ => {}
        }
    }
    Some(&toks[1..toks.len() - 1])
}

const NOW_WORDS: &[&str] = &[
    "now",
    "current_timestamp",
    "current_date",
    "localtimestamp",
    "clock_timestamp",
    "statement_timestamp",
    "transaction_timestamp",
    "getdate",
    "sysdate",
    "sysdatetime",
    "utc_timestamp",
];

fn atom_tautology(toks: &[Tok]) -> bool {
    if toks.iter().any(|t| matches!(t, Tok::Param)) {
        return false;
    }
    match toks {
        [Tok::Word(w)] => return w == "true",
        [Tok::Num(n)] => return *n != 0.0,
        [Tok::Str(s)] => return matches!(s.to_ascii_lowercase().as_str(), "t" | "true" | "1"),
        _ => {}
    }
    // `col IS NOT NULL`
    if let [lhs @ .., Tok::Word(a), Tok::Word(b), Tok::Word(c)] = toks
        && a == "is"
        && b == "not"
        && c == "null"
        && is_column(lhs)
    {
        return true;
    }
    // `col LIKE '%'`
    if let [lhs @ .., Tok::Word(l), Tok::Str(p)] = toks
        && (l == "like" || l == "ilike")
        && p.chars().all(|c| c == '%')
        && !p.is_empty()
        && is_column(lhs)
    {
        return true;
    }
    let Some(op_at) = toks
        .iter()
        .position(|t| matches!(t, Tok::Sym("=" | "<>" | "<" | ">" | "<=" | ">=")))
    else {
        return false;
    };
    let (lhs, op, rhs) = match &toks[op_at] {
        Tok::Sym(op) => (&toks[..op_at], *op, &toks[op_at + 1..]),
        _ => return false,
    };
    if lhs.is_empty() || rhs.is_empty() {
        return false;
    }
    if lhs == rhs {
        return matches!(op, "=" | "<=" | ">=");
    }
    if let (Some(a), Some(b)) = (literal(lhs), literal(rhs)) {
        return compare_literals(&a, op, &b);
    }
    // Mirror `0 < id` and `now() > created_at` into `id > 0` and `created_at < now()`.
    let (col, op, val) = if is_column(lhs) {
        (lhs, op, rhs)
    } else if is_column(rhs) {
        (rhs, mirror(op), lhs)
    } else {
        return false;
    };
    let name = column_name(col);
    if let [Tok::Num(n)] = val
        && is_id_like(&name)
    {
        return match op {
            ">" => *n <= 0.0,
            ">=" => *n <= 1.0,
            "<>" => *n == 0.0,
            _ => false,
        };
    }
    if matches!(op, "<" | "<=") && is_now(val) && is_creation_time(&name) {
        return true;
    }
    false
}

#[derive(Debug, PartialEq)]
enum Lit {
    Num(f64),
    Str(String),
    Bool(bool),
}

fn literal(toks: &[Tok]) -> Option<Lit> {
    match toks {
        [Tok::Num(n)] => Some(Lit::Num(*n)),
        [Tok::Str(s)] => Some(Lit::Str(s.clone())),
        [Tok::Word(w)] if w == "true" || w == "false" => Some(Lit::Bool(w == "true")),
        _ => None,
    }
}

fn compare_literals(a: &Lit, op: &str, b: &Lit) -> bool {
    let ord = match (a, b) {
        (Lit::Num(x), Lit::Num(y)) => x.partial_cmp(y),
        (Lit::Str(x), Lit::Str(y)) => Some(x.cmp(y)),
        (Lit::Bool(x), Lit::Bool(y)) => Some(x.cmp(y)),
        _ => None,
    };
    let Some(ord) = ord else { return false };
    use std::cmp::Ordering::*;
    match op {
        "=" => ord == Equal,
        "<>" => ord != Equal,
        "<" => ord == Less,
        ">" => ord == Greater,
        "<=" => ord != Greater,
        ">=" => ord != Less,
        _ => false,
    }
}

fn mirror(op: &'static str) -> &'static str {
    match op {
        "<" => ">",
        ">" => "<",
        "<=" => ">=",
        ">=" => "<=",
        other => other,
    }
}

/// A bare, possibly qualified column reference.
fn is_column(toks: &[Tok]) -> bool {
    let mut expect_name = true;
    for t in toks {
        match (t, expect_name) {
            (Tok::Word(w), true) if !matches!(w.as_str(), "true" | "false" | "null" | "not") => {
                expect_name = false
            }
            (Tok::QIdent(_), true) => expect_name = false,
            (Tok::Dot, false) => expect_name = true,
            _ => return false,
        }
    }
    !toks.is_empty() && !expect_name
}

fn column_name(toks: &[Tok]) -> String {
    match toks.last() {
        Some(Tok::Word(w)) => w.clone(),
        Some(Tok::QIdent(q)) => q.to_ascii_lowercase(),
        _ => String::new(),
    }
}

fn is_id_like(name: &str) -> bool {
    name == "id" || name.ends_with("_id") || name == "pk" || name == "rowid" || name == "oid"
}

/// Creation or update stamps are never in the future, so `< now()` holds for every row; an
/// expiry column (`expires_at < now()`) genuinely narrows.
fn is_creation_time(name: &str) -> bool {
    ["creat", "insert", "updat", "modif"]
        .iter()
        .any(|k| name.contains(k))
}

/// `now()`, `CURRENT_TIMESTAMP`, `now()::timestamptz`, `datetime('now')`.
fn is_now(toks: &[Tok]) -> bool {
    let core = match toks.iter().position(|t| matches!(t, Tok::Sym("::"))) {
        Some(p) => &toks[..p],
        None => toks,
    };
    match core {
        [Tok::Word(w)] | [Tok::Word(w), Tok::LParen, Tok::RParen] => {
            NOW_WORDS.contains(&w.as_str())
        }
        [Tok::Word(w), Tok::LParen, Tok::Str(s), Tok::RParen] => {
            (w == "datetime" || w == "date") && s.eq_ignore_ascii_case("now")
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn op(sql: &str) -> Option<(String, Vec<String>)> {
        destructive_sql(sql).map(|d| (d.operation, d.tables))
    }

    fn tables(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn destructive_statements_are_recognised() {
        let cases: &[(&str, &str, &[&str])] = &[
            (
                "TRUNCATE TABLE categories CASCADE",
                "TRUNCATE",
                &["categories"],
            ),
            ("truncate a, b restart identity", "TRUNCATE", &["a", "b"]),
            ("TRUNCATE ONLY public.users", "TRUNCATE", &["public.users"]),
            (
                "TRUNCATE \"Order\", `items`",
                "TRUNCATE",
                &["Order", "items"],
            ),
            (
                "DELETE FROM coupons",
                "DELETE FROM without WHERE",
                &["coupons"],
            ),
            ("delete from t;", "DELETE FROM without WHERE", &["t"]),
            (
                "DELETE FROM categories WHERE id > 0",
                "DELETE FROM with an always-true WHERE",
                &["categories"],
            ),
            (
                "DELETE FROM coupons WHERE created_at < NOW()",
                "DELETE FROM with an always-true WHERE",
                &["coupons"],
            ),
            (
                "DELETE FROM t WHERE 1=1",
                "DELETE FROM with an always-true WHERE",
                &["t"],
            ),
            (
                "DELETE FROM t WHERE true",
                "DELETE FROM with an always-true WHERE",
                &["t"],
            ),
            (
                "DELETE FROM t WHERE x IS NOT NULL",
                "DELETE FROM with an always-true WHERE",
                &["t"],
            ),
            (
                "DELETE FROM t WHERE (id >= 1) AND ('a' = 'a')",
                "DELETE FROM with an always-true WHERE",
                &["t"],
            ),
            (
                "DELETE FROM t WHERE id = $1 OR 1 = 1",
                "DELETE FROM with an always-true WHERE",
                &["t"],
            ),
            (
                "DROP TABLE IF EXISTS a, b CASCADE",
                "DROP TABLE",
                &["a", "b"],
            ),
            ("drop schema public cascade", "DROP SCHEMA", &["public"]),
            ("DROP DATABASE storefront", "DROP DATABASE", &["storefront"]),
            ("FLUSHALL", "FLUSHALL", &[]),
            ("flushdb async", "FLUSHDB", &[]),
            ("BEGIN; TRUNCATE a; COMMIT;", "TRUNCATE", &["a"]),
            ("-- reset\nTRUNCATE /* all */ a", "TRUNCATE", &["a"]),
            (
                "TRUNCATE a; DROP TABLE b",
                "TRUNCATE, DROP TABLE",
                &["a", "b"],
            ),
            (
                "DO $$ BEGIN EXECUTE 'TRUNCATE TABLE ' || quote_ident(r.t); END $$",
                "TRUNCATE",
                &[],
            ),
            ("TRUNCATE TABLE {t} CASCADE", "TRUNCATE", &[]),
            ("TRUNCATE ${tables.join(', ')}", "TRUNCATE", &[]),
            ("TRUNCATE TABLE %s CASCADE", "TRUNCATE", &[]),
        ];
        for (sql, want_op, want_tables) in cases {
            assert_eq!(
                op(sql),
                Some((want_op.to_string(), tables(want_tables))),
                "{sql}"
            );
        }
    }

    #[test]
    fn narrowing_and_harmless_sql_is_not_destructive() {
        let cases = [
            "DELETE FROM t WHERE id = $1",
            "DELETE FROM t WHERE id = ?",
            "DELETE FROM t WHERE id = %s",
            "DELETE FROM t WHERE id = :id",
            "DELETE FROM t WHERE email = 'a@b.c'",
            "DELETE FROM sessions WHERE expires_at < now()",
            "DELETE FROM t WHERE created_at < now() - interval '30 days'",
            "DELETE FROM t WHERE id > 100",
            "DELETE FROM t WHERE id IN (1, 2)",
            "DELETE FROM t WHERE x IS NULL",
            "DELETE FROM t WHERE 1 = 0",
            "DELETE FROM t WHERE id > 0 AND owner_id = $1",
            "DELETE FROM t WHERE id = {id}",
            "SELECT * FROM t",
            "SELECT truncate(x) FROM t",
            "INSERT INTO t (note) VALUES ('TRUNCATE TABLE users')",
            "-- TRUNCATE users\nSELECT 1",
            "/* DROP TABLE x */ SELECT 1",
            "DROP TEMPORARY TABLE scratch",
            "DROP INDEX idx",
            "CREATE TABLE t (id int)",
            "",
            "please delete from the list",
        ];
        for sql in cases {
            assert_eq!(op(sql), None, "{sql}");
        }
    }

    #[test]
    fn prefilter_finds_every_form_and_skips_clean_files() {
        let hits = [
            "cur.execute('TRUNCATE x')",
            "Model.objects.all().delete()",
            "metadata.drop_all(engine)",
            "redis.FLUSHALL()",
            "call_command(\"flush\")",
            "DatabaseCleaner.strategy = :deletion",
            "sequelize.sync({ force: true })",
            "User.destroy({ truncate: true })",
            "knex('t').del()",
            "flyway.clean()",
            "dataSource.synchronize(true)",
            "@Sql(\"/reset.sql\")",
            "prisma.user.deleteMany()",
            "before { Order.destroy_all }",
            "await User.destroy({ where: {} })",
            "after(:each) { Order.find_each(&:destroy_all) }",
        ];
        for h in hits {
            assert!(has_destructive_keyword(h.as_bytes()), "{h}");
        }
        let misses = [
            "def test_add():\n    assert add(1, 2) == 3\n",
            "async function f() { await model(x); session.flush(); }",
            "const x = await fetch(url);",
            // A Rails association option, not a call that deletes anything.
            "class Order < ApplicationRecord\n  has_many :items, dependent: :destroy\nend\n",
            "it 'is destroyed with its order' do\n  expect(item).to be_destroyed\nend\n",
        ];
        for m in misses {
            assert!(!has_destructive_keyword(m.as_bytes()), "{m}");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        #[test]
        fn never_panics_and_names_come_from_the_input(s in "\\PC{0,200}") {
            if let Some(d) = destructive_sql(&s) {
                prop_assert!(!d.operation.is_empty());
            }
            let _ = has_destructive_keyword(s.as_bytes());
        }

        #[test]
        fn never_panics_on_sql_like_noise(
            parts in proptest::collection::vec(
                prop_oneof![
                    Just("TRUNCATE "), Just("DELETE FROM "), Just("WHERE "), Just("("),
                    Just(")"), Just("'"), Just("\""), Just("$$"), Just("$a$"), Just("--"),
                    Just("/*"), Just("*/"), Just(";"), Just("{"), Just("}"), Just("%("),
                    Just("id > 0 "), Just(" OR "), Just(" AND "), Just("é"), Just("EXECUTE "),
                ],
                0..40,
            )
        ) {
            let s: String = parts.concat();
            let _ = destructive_sql(&s);
        }
    }
}
