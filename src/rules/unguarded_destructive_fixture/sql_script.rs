//! SQL reset scripts a test suite runs (`tests/**/*.sql`, `reset*.sql`): destructive statements
//! and the guards before them.
//!
//! Kept deliberately simple. A guard is one of:
//! - a `DO` block that raises (`RAISE EXCEPTION`, or a bare `RAISE`) under an `IF` whose condition
//!   reads the target (`current_database()`, `current_catalog`, `inet_server_addr()`,
//!   `current_setting(...)`, `current_user`) and is true when the target is *not* a test one
//!   (`current_database() NOT LIKE '%test%'`, `inet_server_addr() <> '127.0.0.1'`,
//!   `current_setting('app.env') = 'production'`), or an `ASSERT` of the opposite;
//! - a psql `\if` on a variable set by `\gset` from such a check, either holding the destructive
//!   statements in its test-only branch or `\quit`ting in its other branch.
//!
//! A guard covers the statements after it; destructive statements inside a `DO` block are
//! covered by a guard earlier in the same block or by an enclosing test-only `IF`.

use std::collections::HashMap;
use std::ops::Range;

use crate::lang::sql_text::destructive_sql;
use crate::syntax::sql::{Token, TokenKind, lex, statements};

/// A destructive statement no guard covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct ScriptOp {
    pub span: Range<usize>,
    pub operation: String,
    pub tables: Vec<String>,
    pub reason: String,
}

/// Where a check sends the run when it is true.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pol {
    /// True only against a test target.
    Safe,
    /// True against a target that is not a test one.
    Unsafe,
}

impl Pol {
    fn flip(self) -> Pol {
        match self {
            Pol::Safe => Pol::Unsafe,
            Pol::Unsafe => Pol::Safe,
        }
    }
}

/// The guard to paste at the top of a script.
pub(super) const HELP: &str = "start the script with a guard that stops it on any database but a test one, and run it with `psql -v ON_ERROR_STOP=1` (or a driver that stops on errors):\n    DO $$ BEGIN\n      IF current_database() NOT LIKE '%test%' THEN\n        RAISE EXCEPTION 'refusing to reset %: not a test database', current_database();\n      END IF;\n    END $$;";

/// Every destructive statement in `text` that no guard covers.
pub(super) fn unguarded(text: &str) -> Vec<ScriptOp> {
    let toks = lex(text).tokens;
    let mut events: Vec<(usize, Event)> = statements(text, &toks)
        .into_iter()
        .map(|r| (r.start, Event::Stmt(r)))
        .collect();
    for (i, t) in toks.iter().enumerate() {
        if t.is_punct(text, "\\") && starts_line(text, t.span.start) {
            events.push((i, Event::Meta(i)));
        }
    }
    events.sort_by_key(|(i, _)| *i);

    let mut vars: HashMap<String, Pol> = HashMap::new();
    let mut frames: Vec<Frame> = Vec::new();
    let mut guard_line: Option<usize> = None;
    let mut open: Vec<ScriptOp> = Vec::new();
    let mut guards_after: Vec<usize> = Vec::new();
    for (_, ev) in events {
        match ev {
            Event::Meta(i) => {
                if let Some(l) = meta(text, &toks, i, &vars, &mut frames) {
                    guards_after.push(l);
                    guard_line.get_or_insert(l);
                }
            }
            Event::Stmt(r) => {
                let stmt = &toks[r.clone()];
                let (Some(first), Some(last)) = (stmt.first(), stmt.last()) else {
                    continue;
                };
                let span = first.span.start..last.span.end;
                let covered = guard_line.is_some() || frames.iter().any(Frame::test_only);
                if stmt.iter().any(|t| t.is_punct(text, "\\"))
                    && stmt.iter().any(|t| t.is_word(text, "gset"))
                {
                    note_gset(text, stmt, &mut vars);
                }
                if first.is_word(text, "do") {
                    let block = do_block(text, stmt);
                    if !covered {
                        open.extend(block.open);
                    }
                    if let Some(at) = block.guard {
                        guards_after.push(line_of(text, at));
                        guard_line.get_or_insert(line_of(text, at));
                    }
                    continue;
                }
                if covered {
                    continue;
                }
                if let Some(d) = text.get(span.clone()).and_then(destructive_sql) {
                    open.push(ScriptOp {
                        span,
                        operation: d.operation,
                        tables: d.tables,
                        reason: "no guard runs before it".into(),
                    });
                }
            }
        }
    }
    for op in &mut open {
        let at = line_of(text, op.span.start);
        if let Some(g) = guards_after.iter().find(|g| **g > at) {
            op.reason = format!("the guard on line {g} runs after it");
        }
    }
    open
}

enum Event {
    /// A statement: a token range.
    Stmt(Range<usize>),
    /// A psql meta-command: the index of its `\` token.
    Meta(usize),
}

/// An open psql `\if`.
struct Frame {
    cond: Option<Pol>,
    in_else: bool,
    /// A `\quit` ran in the branch taken when the target is not a test one.
    quits_unsafe: bool,
}

impl Frame {
    /// The current branch runs only against a test target.
    fn test_only(&self) -> bool {
        matches!(
            (self.cond, self.in_else),
            (Some(Pol::Safe), false) | (Some(Pol::Unsafe), true)
        )
    }

    fn unsafe_branch(&self) -> bool {
        matches!(
            (self.cond, self.in_else),
            (Some(Pol::Unsafe), false) | (Some(Pol::Safe), true)
        )
    }
}

/// Follows one psql meta-command; returns the line of a guard it completes.
fn meta(
    text: &str,
    toks: &[Token],
    i: usize,
    vars: &HashMap<String, Pol>,
    frames: &mut Vec<Frame>,
) -> Option<usize> {
    let cmd = toks
        .get(i + 1)
        .filter(|t| t.span.start == toks[i].span.end)?;
    let cmd = cmd.text(text).to_ascii_lowercase();
    match cmd.as_str() {
        "if" => {
            // `\if :name`: a variable set by `\gset` earlier.
            let cond = match (toks.get(i + 2), toks.get(i + 3)) {
                (Some(colon), Some(name)) if colon.is_punct(text, ":") => {
                    vars.get(&name.text(text).to_ascii_lowercase()).copied()
                }
                _ => None,
            };
            frames.push(Frame {
                cond,
                in_else: false,
                quits_unsafe: false,
            });
        }
        "elif" | "else" => {
            if let Some(f) = frames.last_mut() {
                if cmd == "elif" {
                    // A further condition: nothing is known about the branch any more.
                    f.cond = None;
                }
                f.in_else = true;
            }
        }
        "endif" => {
            return frames
                .pop()
                .filter(|f| f.quits_unsafe)
                .map(|_| line_of(text, toks[i].span.start));
        }
        "q" | "quit" => {
            if let Some(f) = frames.last_mut()
                && f.unsafe_branch()
            {
                f.quits_unsafe = true;
            }
        }
        _ => {}
    }
    None
}

/// `SELECT current_database() LIKE '%test%' AS is_test \gset`: remember what `:is_test` means.
fn note_gset(text: &str, stmt: &[Token], vars: &mut HashMap<String, Pol>) {
    let Some(pol) = condition(text, stmt) else {
        return;
    };
    for (k, t) in stmt.iter().enumerate() {
        if t.is_word(text, "as")
            && let Some(name) = stmt.get(k + 1)
            && matches!(name.kind, TokenKind::Word | TokenKind::QuotedIdent)
        {
            vars.insert(name.text(text).trim_matches('"').to_ascii_lowercase(), pol);
        }
    }
}

/// What a `DO` block holds: its guard (the byte offset of the raise) and the destructive
/// statements inside it that nothing covers.
struct Block {
    guard: Option<usize>,
    open: Vec<ScriptOp>,
}

/// Words that start a PL/pgSQL statement, after which a destructive statement may begin.
const LEADERS: &[&str] = &["begin", "then", "else", "loop"];

fn do_block(text: &str, stmt: &[Token]) -> Block {
    let mut block = Block {
        guard: None,
        open: Vec::new(),
    };
    let Some(body) = stmt
        .iter()
        .find(|t| matches!(t.kind, TokenKind::DollarString | TokenKind::String))
    else {
        return block;
    };
    let base = body.content.start;
    let src = text.get(body.content.clone()).unwrap_or("");
    let toks = lex(src).tokens;
    // Open IFs: the condition's polarity and whether the ELSE branch is running.
    let mut ifs: Vec<(Option<Pol>, bool)> = Vec::new();
    let mut k = 0;
    while k < toks.len() {
        let t = &toks[k];
        let prev_end = k > 0 && toks[k - 1].is_word(src, "end");
        if (t.is_word(src, "if") || t.is_word(src, "elsif")) && !prev_end {
            let then = toks[k + 1..]
                .iter()
                .position(|x| x.is_word(src, "then"))
                .map_or(toks.len(), |p| k + 1 + p);
            let pol = condition(src, &toks[k + 1..then]);
            if t.is_word(src, "elsif") {
                if let Some(top) = ifs.last_mut() {
                    // Reached only when the earlier conditions were false.
                    *top = (pol, false);
                }
            } else {
                ifs.push((pol, false));
            }
            k = then + 1;
            continue;
        }
        if t.is_word(src, "else")
            && let Some(top) = ifs.last_mut()
        {
            top.1 = true;
        }
        if t.is_word(src, "if") && prev_end {
            ifs.pop();
        }
        let starts = k == 0
            || toks[k - 1].is_punct(src, ";")
            || LEADERS.iter().any(|w| toks[k - 1].is_word(src, w));
        if starts && t.is_word(src, "raise") {
            let level = toks.get(k + 1).map(|x| x.text(src).to_ascii_lowercase());
            let stops = !matches!(
                level.as_deref(),
                Some("debug" | "log" | "info" | "notice" | "warning")
            );
            let unsafe_branch = ifs.last().is_some_and(|(pol, in_else)| match pol {
                Some(p) => (if *in_else { p.flip() } else { *p }) == Pol::Unsafe,
                None => false,
            });
            if stops && unsafe_branch {
                block.guard.get_or_insert(base + t.span.start);
            }
        }
        if starts && t.is_word(src, "assert") {
            let end = statement_end(src, &toks, k);
            if condition(src, &toks[k + 1..end]) == Some(Pol::Safe) {
                block.guard.get_or_insert(base + t.span.start);
            }
        }
        if starts
            && ["truncate", "delete", "drop"]
                .iter()
                .any(|w| t.is_word(src, w))
        {
            let end = statement_end(src, &toks, k);
            let span = t.span.start..toks[end.max(k + 1) - 1].span.end;
            let test_only = ifs.iter().any(|(pol, in_else)| match pol {
                Some(p) => (if *in_else { p.flip() } else { *p }) == Pol::Safe,
                None => false,
            });
            if block.guard.is_none()
                && !test_only
                && let Some(d) = src.get(span.clone()).and_then(destructive_sql)
            {
                block.open.push(ScriptOp {
                    span: base + span.start..base + span.end,
                    operation: d.operation,
                    tables: d.tables,
                    reason: "no guard runs before it".into(),
                });
            }
        }
        k += 1;
    }
    block
}

/// Index of the `;` ending the statement that starts at `k` (or the end).
fn statement_end(src: &str, toks: &[Token], k: usize) -> usize {
    toks[k..]
        .iter()
        .position(|x| x.is_punct(src, ";"))
        .map_or(toks.len(), |p| k + p)
}

/// Target-reading functions and settings.
const TARGET_READS: &[&str] = &[
    "current_database",
    "current_catalog",
    "inet_server_addr",
    "current_setting",
    "current_user",
    "session_user",
];

/// What a condition over the target means when true, if it checks the target against a marker.
fn condition(src: &str, toks: &[Token]) -> Option<Pol> {
    if !toks
        .iter()
        .any(|t| TARGET_READS.iter().any(|w| t.is_word(src, w)))
    {
        return None;
    }
    let mut marker = None;
    let mut negations = 0usize;
    for (k, t) in toks.iter().enumerate() {
        let setting_name =
            k >= 2 && toks[k - 1].is_punct(src, "(") && toks[k - 2].is_word(src, "current_setting");
        if t.kind == TokenKind::String && !setting_name {
            match marker_of(src.get(t.content.clone()).unwrap_or("")) {
                Some(Pol::Unsafe) => marker = Some(Pol::Unsafe),
                Some(Pol::Safe) if marker.is_none() => marker = Some(Pol::Safe),
                _ => {}
            }
        }
        let is_distinct = t.is_word(src, "distinct")
            && k >= 1
            && toks[k - 1].is_word(src, "is")
            && !(k >= 2 && toks[k - 2].is_word(src, "not"));
        if t.is_word(src, "not")
            || is_distinct
            || ["<>", "!=", "!~", "!~*", "!~~", "!~~*"]
                .iter()
                .any(|p| t.is_punct(src, p))
        {
            negations += 1;
        }
    }
    // `IS NOT DISTINCT FROM` is an equality: its NOT does not negate.
    let not_distinct = toks.windows(3).any(|w| {
        w[0].is_word(src, "is") && w[1].is_word(src, "not") && w[2].is_word(src, "distinct")
    });
    if not_distinct {
        negations = negations.saturating_sub(1);
    }
    let m = marker?;
    Some(if negations % 2 == 1 { m.flip() } else { m })
}

/// A test/staging/local marker (true means "this is a test target") or a production one.
fn marker_of(lit: &str) -> Option<Pol> {
    let l = lit.to_ascii_lowercase();
    let words = || l.split(|c: char| !c.is_ascii_alphanumeric());
    if [
        "test",
        "staging",
        "stage",
        "local",
        "127.0.0.1",
        "::1",
        "sandbox",
        "e2e",
    ]
    .iter()
    .any(|p| l.contains(p))
        || words().any(|w| ["ci", "qa", "dev", "development", "stg", "uat"].contains(&w))
    {
        return Some(Pol::Safe);
    }
    if l.contains("prod") || words().any(|w| w == "prd" || w == "live") {
        return Some(Pol::Unsafe);
    }
    None
}

fn starts_line(text: &str, at: usize) -> bool {
    text.as_bytes()
        .get(..at)
        .unwrap_or(&[])
        .iter()
        .rev()
        .take_while(|&&b| b != b'\n')
        .all(|b| b.is_ascii_whitespace())
}

/// 1-based line of a byte offset.
fn line_of(text: &str, at: usize) -> usize {
    let at = at.min(text.len());
    text.as_bytes()[..at]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const GUARD: &str = "DO $$ BEGIN\n  IF current_database() NOT LIKE '%test%' THEN\n    RAISE EXCEPTION 'not a test database';\n  END IF;\nEND $$;\n";

    /// (line, operation, reason) of every unguarded statement.
    fn open(text: &str) -> Vec<(usize, String, String)> {
        unguarded(text)
            .into_iter()
            .map(|o| (line_of(text, o.span.start), o.operation, o.reason))
            .collect()
    }

    #[test]
    fn scripts_with_and_without_guards() {
        let truncate = "TRUNCATE categories, cms_blocks CASCADE;\n";
        type Want = Vec<(usize, &'static str, &'static str)>;
        let cases: Vec<(String, Want)> = vec![
            // Unguarded statements.
            (
                format!("{truncate}DELETE FROM coupons WHERE id > 0;\n"),
                vec![
                    (1, "TRUNCATE", "no guard"),
                    (2, "DELETE FROM with an always-true WHERE", "no guard"),
                ],
            ),
            // A narrowing delete and plain inserts are not destructive.
            (
                "DELETE FROM sessions WHERE user_id = 42;\nINSERT INTO t VALUES (1);\n".into(),
                vec![],
            ),
            // A guard first covers the whole script.
            (format!("{GUARD}{truncate}"), vec![]),
            // A guard after the statement does not.
            (
                format!("{truncate}{GUARD}"),
                vec![(1, "TRUNCATE", "the guard on line 4 runs after it")],
            ),
            // A raise on the test database is backwards: no guard.
            (
                format!(
                    "DO $$ BEGIN IF current_database() LIKE '%test%' THEN RAISE EXCEPTION 'x'; END IF; END $$;\n{truncate}"
                ),
                vec![(2, "TRUNCATE", "no guard")],
            ),
            // A notice does not stop anything.
            (
                format!(
                    "DO $$ BEGIN IF current_database() NOT LIKE '%test%' THEN RAISE NOTICE 'x'; END IF; END $$;\n{truncate}"
                ),
                vec![(2, "TRUNCATE", "no guard")],
            ),
            // A production denylist raises when true.
            (
                format!(
                    "DO $$ BEGIN IF inet_server_addr()::text = '10.0.0.5' OR current_setting('app.env') = 'production' THEN RAISE 'refusing'; END IF; END $$;\n{truncate}"
                ),
                vec![],
            ),
            // ASSERT of a test target.
            (
                format!("DO $$ BEGIN ASSERT current_database() LIKE '%\\_test'; END $$;\n{truncate}"),
                vec![],
            ),
            // A check of something else is no guard.
            (
                format!(
                    "DO $$ BEGIN IF (SELECT count(*) FROM users) > 0 THEN RAISE EXCEPTION 'x'; END IF; END $$;\n{truncate}"
                ),
                vec![(2, "TRUNCATE", "no guard")],
            ),
            // Destructive statements inside a DO block: under a test-only IF, or after a guard.
            (
                "DO $$ BEGIN\n  IF current_database() LIKE '%_test' THEN\n    TRUNCATE orders;\n  END IF;\nEND $$;\n".into(),
                vec![],
            ),
            (
                "DO $$ BEGIN\n  IF current_database() LIKE '%_test' THEN\n    NULL;\n  ELSE\n    TRUNCATE orders;\n  END IF;\nEND $$;\n".into(),
                vec![(5, "TRUNCATE", "no guard")],
            ),
            (
                "DO $$ BEGIN\n  TRUNCATE orders;\nEND $$;\n".into(),
                vec![(2, "TRUNCATE", "no guard")],
            ),
            // psql: destructive statements in the test-only branch of `\if`.
            (
                format!("SELECT current_database() LIKE '%test%' AS is_test \\gset\n\\if :is_test\n{truncate}\\endif\n"),
                vec![],
            ),
            (
                format!("SELECT current_database() LIKE '%test%' AS is_test \\gset\n\\if :is_test\n\\else\n{truncate}\\endif\n"),
                vec![(4, "TRUNCATE", "no guard")],
            ),
            // psql: `\quit` when the target is not a test one guards what follows.
            (
                format!("SELECT current_database() NOT LIKE '%test%' AS wrong_db \\gset\n\\if :wrong_db\n  \\echo 'refusing'\n  \\quit\n\\endif\n{truncate}"),
                vec![],
            ),
            // psql: a flag the caller sets checks nothing.
            (
                format!("\\if :allow_reset\n{truncate}\\endif\n"),
                vec![(2, "TRUNCATE", "no guard")],
            ),
            // Destructive words in comments and strings are not statements.
            (
                "-- TRUNCATE orders;\nINSERT INTO notes VALUES ('DROP TABLE x');\n".into(),
                vec![],
            ),
        ];
        for (text, want) in cases {
            let got = open(&text);
            assert_eq!(got.len(), want.len(), "{text}\n{got:?}");
            for ((gl, gop, greason), (wl, wop, wreason)) in got.iter().zip(&want) {
                assert_eq!((gl, gop.as_str()), (wl, *wop), "{text}");
                assert!(greason.contains(wreason), "{text}: {greason}");
            }
        }
    }

    #[test]
    fn tables_are_named() {
        let ops = unguarded("TRUNCATE TABLE a, b;\n");
        assert_eq!(ops[0].tables, ["a", "b"]);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        #[test]
        fn never_panics_and_spans_are_in_bounds(s in "(DO \\$\\$|\\$\\$|IF|THEN|ELSE|END|RAISE|TRUNCATE t|DELETE FROM t|\\\\if|\\\\else|\\\\endif|\\\\quit|:v|\\\\gset|current_database\\(\\)|'test'|;|\n| |é)*") {
            for op in unguarded(&s) {
                prop_assert!(op.span.start <= op.span.end && op.span.end <= s.len());
                prop_assert!(s.is_char_boundary(op.span.start) && s.is_char_boundary(op.span.end));
            }
        }
    }
}
