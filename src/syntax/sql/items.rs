//! Recognises the statements the rules read: functions, triggers, unique indexes and
//! constraints, drops, `ALTER SYSTEM SET` and `DO` blocks. Anything else is skipped.

use std::ops::Range;

use super::{LexError, Token, TokenKind, ident_name, lex, plpgsql, statements};

/// `DO` blocks nested deeper than this are not searched for statements.
const MAX_DO_DEPTH: usize = 4;

/// A function or `DO` body, unescaped, with the way back to file offsets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionBody {
    /// The body's text (for a single-quoted body, with `''` collapsed to `'`).
    pub text: String,
    /// The body's content span in the file (inside the quotes or dollar tags).
    pub span: Range<usize>,
    /// Offsets in `text` where a doubled quote was collapsed, ascending.
    collapsed: Vec<usize>,
}

impl FunctionBody {
    /// Maps an offset in `text` to an offset in the file.
    pub fn to_file(&self, off: usize) -> usize {
        let shift = self.collapsed.partition_point(|&c| c < off);
        (self.span.start + off + shift).min(self.span.end)
    }

    /// Maps a span in `text` to a span in the file.
    pub fn span_to_file(&self, r: &Range<usize>) -> Range<usize> {
        self.to_file(r.start)..self.to_file(r.end)
    }

    fn new(text: &str, tok: &Token, base: usize) -> FunctionBody {
        let raw = text.get(tok.content.clone()).unwrap_or("");
        let span = base + tok.content.start..base + tok.content.end;
        let single_quoted = tok.kind == TokenKind::String
            && text
                .get(tok.span.clone())
                .is_some_and(|t| t.starts_with('\''));
        if !single_quoted || !raw.contains("''") {
            return FunctionBody {
                text: raw.to_string(),
                span,
                collapsed: Vec::new(),
            };
        }
        let mut out = String::with_capacity(raw.len());
        let mut collapsed = Vec::new();
        let mut rest = raw;
        while let Some(k) = rest.find("''") {
            out.push_str(&rest[..=k]);
            collapsed.push(out.len());
            rest = &rest[k + 2..];
        }
        out.push_str(rest);
        FunctionBody {
            text: out,
            span,
            collapsed,
        }
    }
}

/// When a trigger fires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TriggerTiming {
    /// `BEFORE`
    Before,
    /// `AFTER`
    After,
    /// `INSTEAD OF`
    InsteadOf,
}

/// Where a configuration parameter is set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetScope {
    /// `ALTER SYSTEM SET`: the whole server.
    System,
    /// `ALTER DATABASE ... SET`.
    Database,
    /// `ALTER ROLE|USER ... SET`.
    Role,
}

/// A function named by `DROP FUNCTION`; `args` is `None` when no argument list was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DroppedFunction {
    /// Lowercased, quotes stripped, schema kept when written.
    pub name: String,
    /// The argument list as normalised text (`""` for `()`).
    pub args: Option<String>,
}

/// A unique or plain index, or a `UNIQUE`/`PRIMARY KEY` constraint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexDef {
    /// The index or constraint name; PostgreSQL's default name when none was written.
    pub name: String,
    /// The indexed table as written (lowercased).
    pub table: String,
    /// True for `UNIQUE` indexes and `UNIQUE`/`PRIMARY KEY` constraints.
    pub unique: bool,
    /// Column names; an expression is its compact lowercased text (`coalesce(org_id,'')`).
    pub columns: Vec<String>,
    /// True with `NULLS NOT DISTINCT` (or a primary key, whose columns are never null).
    pub nulls_not_distinct: bool,
    /// True for a partial index (`WHERE ...`).
    pub partial: bool,
}

/// A statement premortem reads. Spans are byte ranges in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    /// `CREATE [OR REPLACE] FUNCTION`.
    CreateFunction {
        /// Lowercased, quotes stripped, schema kept when written (`audit.f`).
        name: String,
        /// The argument list as normalised text (`""` for none).
        args: String,
        /// The return type, lowercased (`trigger`, `setof integer`...).
        returns: String,
        /// The language, lowercased, when written.
        language: Option<String>,
        /// The body when it is a string or dollar-quoted constant.
        body: Option<FunctionBody>,
        /// The function name's span.
        name_span: Range<usize>,
        /// The whole statement.
        span: Range<usize>,
    },
    /// `CREATE [OR REPLACE] [CONSTRAINT] TRIGGER`.
    CreateTrigger {
        /// Trigger name.
        name: String,
        /// Table as written (lowercased).
        table: String,
        /// BEFORE, AFTER or INSTEAD OF.
        timing: TriggerTiming,
        /// `insert`, `update`, `delete`, `truncate`.
        events: Vec<String>,
        /// The function executed, as written (lowercased).
        function: String,
        /// The whole statement.
        span: Range<usize>,
    },
    /// `DROP FUNCTION`.
    DropFunction {
        /// The functions dropped.
        functions: Vec<DroppedFunction>,
        /// True with `CASCADE` (dependent triggers go too).
        cascade: bool,
        /// The whole statement.
        span: Range<usize>,
    },
    /// `DROP TRIGGER name ON table`.
    DropTrigger {
        /// Trigger name.
        name: String,
        /// Table as written.
        table: String,
        /// The whole statement.
        span: Range<usize>,
    },
    /// `CREATE INDEX`, or a `UNIQUE`/`PRIMARY KEY` constraint in `CREATE`/`ALTER TABLE`.
    CreateIndex {
        /// The index.
        index: IndexDef,
        /// The statement (or constraint clause).
        span: Range<usize>,
    },
    /// `DROP INDEX`.
    DropIndex {
        /// Index names as written.
        names: Vec<String>,
        /// The whole statement.
        span: Range<usize>,
    },
    /// `ALTER TABLE ... DROP CONSTRAINT`.
    DropConstraint {
        /// Table as written.
        table: String,
        /// Constraint name.
        name: String,
        /// The whole statement.
        span: Range<usize>,
    },
    /// `DROP TABLE`.
    DropTable {
        /// Table names as written.
        names: Vec<String>,
        /// The whole statement.
        span: Range<usize>,
    },
    /// `ALTER SYSTEM|DATABASE|ROLE ... SET name = value`.
    SetConfig {
        /// Where the setting applies.
        scope: SetScope,
        /// Parameter name, lowercased.
        name: String,
        /// The value's text (string contents unquoted).
        value: String,
        /// The parameter name's span.
        name_span: Range<usize>,
        /// The value token's span (quotes included).
        value_span: Range<usize>,
        /// The whole statement.
        span: Range<usize>,
    },
    /// `DO [LANGUAGE l] $$ ... $$`.
    DoBlock {
        /// The block's language, lowercased, when written.
        language: Option<String>,
        /// The block's body.
        body: FunctionBody,
        /// The whole statement.
        span: Range<usize>,
    },
}

impl Item {
    /// The statement (or clause) the item was read from.
    pub fn span(&self) -> &Range<usize> {
        match self {
            Item::CreateFunction { span, .. }
            | Item::CreateTrigger { span, .. }
            | Item::DropFunction { span, .. }
            | Item::DropTrigger { span, .. }
            | Item::CreateIndex { span, .. }
            | Item::DropIndex { span, .. }
            | Item::DropConstraint { span, .. }
            | Item::DropTable { span, .. }
            | Item::SetConfig { span, .. }
            | Item::DoBlock { span, .. } => span,
        }
    }
}

/// Lexes `text` and returns the items in order with every lexing error, including those inside
/// function and `DO` bodies. Statements inside `DO` blocks are items too.
pub fn items(text: &str) -> (Vec<Item>, Vec<LexError>) {
    let lexed = lex(text);
    let mut out = Vec::new();
    let mut errors = lexed.errors.clone();
    for r in statements(text, &lexed.tokens) {
        let toks = &lexed.tokens[r];
        items_in_tokens(text, toks, 0, 0, &mut out, &mut errors);
    }
    (out, errors)
}

/// Recognises one statement's tokens (spans relative to `text`); `base` is added to every span.
pub fn items_in_tokens(
    text: &str,
    toks: &[Token],
    base: usize,
    depth: usize,
    out: &mut Vec<Item>,
    errors: &mut Vec<LexError>,
) {
    let s = Toks::new(text, toks, base);
    let Some(first) = s.word(0) else {
        return;
    };
    let second = s.word(1).unwrap_or_default();
    match (first.as_str(), second.as_str()) {
        ("create", _) => create(&s, out, errors),
        ("drop", "function") => out.extend(drop_function(&s)),
        ("drop", "trigger") => out.extend(drop_trigger(&s)),
        ("drop", "index") => out.push(Item::DropIndex {
            names: s.name_list(2).0,
            span: s.span(),
        }),
        ("drop", "table") => out.push(Item::DropTable {
            names: s.name_list(2).0,
            span: s.span(),
        }),
        ("alter", "table") => alter_table(&s, out),
        ("alter", "system") | ("alter", "database") | ("alter", "role") | ("alter", "user") => {
            out.extend(set_config(&s))
        }
        ("do", _) => do_block(&s, depth, out, errors),
        _ => {}
    }
}

/// A statement's tokens with helpers; spans reported with `base` added.
struct Toks<'a> {
    text: &'a str,
    t: &'a [Token],
    base: usize,
    /// For each `(`, the index of its `)` (or the end); computed once so lookups stay linear.
    close: Vec<usize>,
}

impl<'a> Toks<'a> {
    fn new(text: &'a str, t: &'a [Token], base: usize) -> Toks<'a> {
        let mut close = vec![t.len(); t.len()];
        let mut open = Vec::new();
        for (k, tok) in t.iter().enumerate() {
            if tok.is_punct(text, "(") {
                open.push(k);
            } else if tok.is_punct(text, ")")
                && let Some(o) = open.pop()
            {
                close[o] = k;
            }
        }
        Toks {
            text,
            t,
            base,
            close,
        }
    }

    fn word(&self, i: usize) -> Option<String> {
        let t = self.t.get(i)?;
        (t.kind == TokenKind::Word).then(|| t.text(self.text).to_ascii_lowercase())
    }

    fn is(&self, i: usize, kw: &str) -> bool {
        self.t.get(i).is_some_and(|t| t.is_word(self.text, kw))
    }

    fn punct(&self, i: usize, p: &str) -> bool {
        self.t.get(i).is_some_and(|t| t.is_punct(self.text, p))
    }

    fn span(&self) -> Range<usize> {
        match (self.t.first(), self.t.last()) {
            (Some(a), Some(b)) => self.base + a.span.start..self.base + b.span.end,
            _ => self.base..self.base,
        }
    }

    fn tok_span(&self, i: usize) -> Range<usize> {
        self.t.get(i).map_or(self.base..self.base, |t| {
            self.base + t.span.start..self.base + t.span.end
        })
    }

    /// Skips the optional words `seq` in order, returning the next index.
    fn skip_words(&self, mut i: usize, seq: &[&str]) -> usize {
        for w in seq {
            if self.is(i, w) {
                i += 1;
            }
        }
        i
    }

    /// A dotted name at `i`: (name, index after it, span).
    fn name(&self, i: usize) -> Option<(String, usize, Range<usize>)> {
        let is_ident = |k: usize| {
            self.t
                .get(k)
                .is_some_and(|t| matches!(t.kind, TokenKind::Word | TokenKind::QuotedIdent))
        };
        if !is_ident(i) {
            return None;
        }
        let mut parts = vec![ident_name(self.text, &self.t[i])];
        let mut j = i + 1;
        while self.punct(j, ".") && is_ident(j + 1) {
            parts.push(ident_name(self.text, &self.t[j + 1]));
            j += 2;
        }
        let span = self.tok_span(i).start..self.tok_span(j - 1).end;
        Some((parts.join("."), j, span))
    }

    /// Comma-separated names from `i`, after optional `CONCURRENTLY` / `IF EXISTS`.
    fn name_list(&self, i: usize) -> (Vec<String>, usize) {
        let mut i = self.skip_words(i, &["concurrently", "if", "exists"]);
        let mut names = Vec::new();
        while let Some((n, j, _)) = self.name(i) {
            names.push(n);
            i = j;
            if !self.punct(i, ",") {
                break;
            }
            i += 1;
        }
        (names, i)
    }

    /// The index of the `)` matching the `(` at `open`, or the end.
    fn close_paren(&self, open: usize) -> usize {
        self.close.get(open).copied().unwrap_or(self.t.len())
    }

    /// Splits `open+1..close` at top-level commas.
    fn split_commas(&self, open: usize, close: usize) -> Vec<Range<usize>> {
        let mut out = Vec::new();
        let mut depth = 0usize;
        let mut start = open + 1;
        for k in open + 1..close.min(self.t.len()) {
            if self.punct(k, "(") {
                depth += 1;
            } else if self.punct(k, ")") {
                depth = depth.saturating_sub(1);
            } else if depth == 0 && self.punct(k, ",") {
                out.push(start..k);
                start = k + 1;
            }
        }
        if start < close.min(self.t.len()) {
            out.push(start..close.min(self.t.len()));
        }
        out
    }

    /// Compact lowercased text of tokens `r` (words lowercased, no spaces).
    fn compact(&self, r: Range<usize>) -> String {
        let mut s = String::new();
        for t in self.t.get(r).unwrap_or(&[]) {
            match t.kind {
                TokenKind::Word => s.push_str(&t.text(self.text).to_ascii_lowercase()),
                _ => s.push_str(t.text(self.text)),
            }
        }
        s
    }

    /// Space-joined lowercased text of tokens `r`.
    fn spaced(&self, r: Range<usize>) -> String {
        let parts: Vec<String> = self
            .t
            .get(r)
            .unwrap_or(&[])
            .iter()
            .map(|t| match t.kind {
                TokenKind::Word => t.text(self.text).to_ascii_lowercase(),
                _ => t.text(self.text).to_string(),
            })
            .collect();
        parts.join(" ")
    }
}

fn create(s: &Toks, out: &mut Vec<Item>, errors: &mut Vec<LexError>) {
    let mut i = s.skip_words(1, &["or", "replace"]);
    // CREATE TABLE modifiers.
    while let Some(w) = s.word(i) {
        if matches!(
            w.as_str(),
            "global" | "local" | "temp" | "temporary" | "unlogged" | "constraint"
        ) {
            i += 1;
        } else {
            break;
        }
    }
    match s.word(i).as_deref() {
        Some("function") => out.extend(create_function(s, i + 1, errors)),
        Some("trigger") => out.extend(create_trigger(s, i + 1)),
        Some("unique") if s.is(i + 1, "index") => out.extend(create_index(s, i + 2, true)),
        Some("index") => out.extend(create_index(s, i + 1, false)),
        Some("table") => create_table(s, i + 1, out),
        _ => {}
    }
}

/// Words that start a `CREATE FUNCTION` clause, ending a `RETURNS` type.
const FUNCTION_CLAUSES: &[&str] = &[
    "language",
    "as",
    "immutable",
    "stable",
    "volatile",
    "security",
    "set",
    "strict",
    "called",
    "cost",
    "rows",
    "parallel",
    "leakproof",
    "window",
    "support",
    "transform",
    "begin",
    "external",
    "not",
    "return",
];

fn create_function(s: &Toks, i: usize, errors: &mut Vec<LexError>) -> Option<Item> {
    let (name, j, name_span) = s.name(i)?;
    let (args, mut k) = if s.punct(j, "(") {
        let close = s.close_paren(j);
        (s.spaced(j + 1..close), close + 1)
    } else {
        (String::new(), j)
    };
    let (mut returns, mut language, mut body) = (String::new(), None, None);
    while k < s.t.len() {
        if s.is(k, "returns") {
            let start = k + 1;
            k = start;
            while k < s.t.len()
                && !s
                    .word(k)
                    .is_some_and(|w| FUNCTION_CLAUSES.contains(&w.as_str()))
            {
                k += if s.punct(k, "(") {
                    s.close_paren(k) - k + 1
                } else {
                    1
                };
            }
            returns = s.spaced(start..k.min(s.t.len()));
            continue;
        }
        if s.is(k, "language") {
            language = s.t.get(k + 1).map(|t| ident_or_string(s.text, t));
            k += 2;
            continue;
        }
        if s.is(k, "as")
            && let Some(t) = s.t.get(k + 1)
            && matches!(t.kind, TokenKind::String | TokenKind::DollarString)
        {
            body = Some(FunctionBody::new(s.text, t, s.base));
            k += 2;
            continue;
        }
        k += 1;
    }
    if let Some(b) = &body {
        let lang = language.as_deref().unwrap_or("plpgsql");
        if lang == "plpgsql" {
            let lexed = lex(&b.text);
            errors.extend(lexed.errors.into_iter().map(|e| LexError {
                span: b.span_to_file(&e.span),
                message: e.message,
            }));
        }
    }
    Some(Item::CreateFunction {
        name,
        args,
        returns,
        language,
        body,
        name_span,
        span: s.span(),
    })
}

fn ident_or_string(text: &str, t: &Token) -> String {
    match t.kind {
        TokenKind::String | TokenKind::DollarString => text
            .get(t.content.clone())
            .unwrap_or("")
            .to_ascii_lowercase(),
        _ => ident_name(text, t),
    }
}

fn create_trigger(s: &Toks, i: usize) -> Option<Item> {
    let (name, mut k, _) = s.name(i)?;
    let timing = match s.word(k).as_deref() {
        Some("before") => TriggerTiming::Before,
        Some("after") => TriggerTiming::After,
        Some("instead") => {
            k += 1;
            TriggerTiming::InsteadOf
        }
        _ => return None,
    };
    k += 1;
    let mut events = Vec::new();
    while k < s.t.len() && !s.is(k, "on") {
        if let Some(w) = s.word(k)
            && matches!(w.as_str(), "insert" | "update" | "delete" | "truncate")
        {
            events.push(w);
        }
        k += 1;
    }
    let (table, mut k, _) = s.name(k + 1)?;
    while k < s.t.len() && !s.is(k, "execute") {
        k += 1;
    }
    let k = s.skip_words(k + 1, &["function", "procedure"]);
    let (function, _, _) = s.name(k)?;
    Some(Item::CreateTrigger {
        name,
        table,
        timing,
        events,
        function,
        span: s.span(),
    })
}

fn drop_function(s: &Toks) -> Option<Item> {
    let mut i = s.skip_words(2, &["if", "exists"]);
    let mut functions = Vec::new();
    while let Some((name, j, _)) = s.name(i) {
        i = j;
        let args = if s.punct(i, "(") {
            let close = s.close_paren(i);
            let a = s.spaced(i + 1..close);
            i = close + 1;
            Some(a)
        } else {
            None
        };
        functions.push(DroppedFunction { name, args });
        if !s.punct(i, ",") {
            break;
        }
        i += 1;
    }
    Some(Item::DropFunction {
        functions,
        cascade: s.is(i, "cascade"),
        span: s.span(),
    })
}

fn drop_trigger(s: &Toks) -> Option<Item> {
    let i = s.skip_words(2, &["if", "exists"]);
    let (name, j, _) = s.name(i)?;
    if !s.is(j, "on") {
        return None;
    }
    let (table, _, _) = s.name(j + 1)?;
    Some(Item::DropTrigger {
        name,
        table,
        span: s.span(),
    })
}

fn create_index(s: &Toks, i: usize, unique: bool) -> Option<Item> {
    let mut i = s.skip_words(i, &["concurrently", "if", "not", "exists"]);
    let mut name = None;
    if !s.is(i, "on") {
        let (n, j, _) = s.name(i)?;
        name = Some(n);
        i = j;
    }
    if !s.is(i, "on") {
        return None;
    }
    let (table, mut i, _) = s.name(s.skip_words(i + 1, &["only"]))?;
    if s.is(i, "using") {
        i += 2;
    }
    if !s.punct(i, "(") {
        return None;
    }
    let close = s.close_paren(i);
    let columns = index_columns(s, i, close);
    let rest = close + 1..s.t.len();
    let nulls_not_distinct = rest
        .clone()
        .any(|k| s.is(k, "nulls") && s.is(k + 1, "not") && s.is(k + 2, "distinct"));
    let partial = rest.clone().any(|k| s.is(k, "where"));
    let name = name.unwrap_or_else(|| default_name(&table, &columns, "idx"));
    Some(Item::CreateIndex {
        index: IndexDef {
            name,
            table,
            unique,
            columns,
            nulls_not_distinct,
            partial,
        },
        span: s.span(),
    })
}

/// Column names (or compact expressions) of the parenthesised list at `open`.
fn index_columns(s: &Toks, open: usize, close: usize) -> Vec<String> {
    s.split_commas(open, close)
        .into_iter()
        .map(|r| {
            let first = r.start;
            let plain =
                s.t.get(first)
                    .is_some_and(|t| matches!(t.kind, TokenKind::Word | TokenKind::QuotedIdent))
                    && !s.punct(first + 1, "(")
                    && !s.punct(first + 1, ".");
            if plain {
                ident_name(s.text, &s.t[first])
            } else {
                let mut r = r;
                // An expression element is parenthesised: `((lower(x)))` reads as `lower(x)`.
                while !r.is_empty() && s.punct(r.start, "(") && s.close_paren(r.start) + 1 == r.end
                {
                    r = r.start + 1..r.end - 1;
                }
                s.compact(r)
            }
        })
        .collect()
}

fn default_name(table: &str, columns: &[String], suffix: &str) -> String {
    let t = table.rsplit('.').next().unwrap_or(table);
    format!("{t}_{}_{suffix}", columns.join("_"))
}

/// A `[CONSTRAINT name] UNIQUE|PRIMARY KEY [NULLS NOT DISTINCT] (cols)` clause starting at `i`.
fn constraint_at(s: &Toks, i: usize, table: &str) -> Option<(IndexDef, usize)> {
    let (mut name, mut i) = (None, i);
    if s.is(i, "constraint") {
        let (n, j, _) = s.name(i + 1)?;
        name = Some(n);
        i = j;
    }
    let primary = if s.is(i, "unique") {
        i += 1;
        false
    } else if s.is(i, "primary") && s.is(i + 1, "key") {
        i += 2;
        true
    } else {
        return None;
    };
    let mut nulls_not_distinct = primary;
    if s.is(i, "nulls") {
        nulls_not_distinct |= s.is(i + 1, "not");
        i = s.skip_words(i + 1, &["not", "distinct"]);
    }
    if !s.punct(i, "(") {
        return None;
    }
    let close = s.close_paren(i);
    let columns = index_columns(s, i, close);
    let suffix = if primary { "pkey" } else { "key" };
    let name = name.unwrap_or_else(|| {
        if primary {
            format!("{}_pkey", table.rsplit('.').next().unwrap_or(table))
        } else {
            default_name(table, &columns, suffix)
        }
    });
    let def = IndexDef {
        name,
        table: table.to_string(),
        unique: true,
        columns,
        nulls_not_distinct,
        partial: false,
    };
    Some((def, close + 1))
}

fn create_table(s: &Toks, i: usize, out: &mut Vec<Item>) {
    let i = s.skip_words(i, &["if", "not", "exists"]);
    let Some((table, j, _)) = s.name(i) else {
        return;
    };
    if !s.punct(j, "(") {
        return;
    }
    let close = s.close_paren(j);
    for el in s.split_commas(j, close) {
        if let Some((index, _)) = constraint_at(s, el.start, &table) {
            out.push(Item::CreateIndex {
                index,
                span: s.tok_span(el.start).start..s.tok_span(el.end - 1).end,
            });
            continue;
        }
        // A column definition: `name type ... UNIQUE | PRIMARY KEY`.
        let Some((col, _, _)) = s.name(el.start) else {
            continue;
        };
        let at = |k: usize| s.is(k, "unique") || (s.is(k, "primary") && s.is(k + 1, "key"));
        if let Some(k) = (el.start + 1..el.end).find(|&k| at(k)) {
            let primary = s.is(k, "primary");
            let columns = vec![col];
            let name = if primary {
                format!("{}_pkey", table.rsplit('.').next().unwrap_or(&table))
            } else {
                default_name(&table, &columns, "key")
            };
            let nnd = primary || (s.is(k + 1, "nulls") && s.is(k + 2, "not"));
            out.push(Item::CreateIndex {
                index: IndexDef {
                    name,
                    table: table.clone(),
                    unique: true,
                    columns,
                    nulls_not_distinct: nnd,
                    partial: false,
                },
                span: s.tok_span(el.start).start..s.tok_span(el.end - 1).end,
            });
        }
    }
}

fn alter_table(s: &Toks, out: &mut Vec<Item>) {
    let i = s.skip_words(2, &["if", "exists", "only"]);
    let Some((table, mut k, _)) = s.name(i) else {
        return;
    };
    while k < s.t.len() {
        if s.is(k, "add") {
            if let Some((index, next)) = constraint_at(s, k + 1, &table) {
                let span = s.tok_span(k).start..s.tok_span(next - 1).end;
                out.push(Item::CreateIndex { index, span });
                k = next;
                continue;
            }
        } else if s.is(k, "drop") && s.is(k + 1, "constraint") {
            let j = s.skip_words(k + 2, &["if", "exists"]);
            if let Some((name, next, _)) = s.name(j) {
                out.push(Item::DropConstraint {
                    table: table.clone(),
                    name,
                    span: s.span(),
                });
                k = next;
                continue;
            }
        }
        k += 1;
    }
}

fn set_config(s: &Toks) -> Option<Item> {
    let scope = match s.word(1).as_deref() {
        Some("system") => SetScope::System,
        Some("database") => SetScope::Database,
        _ => SetScope::Role,
    };
    let k = (1..s.t.len()).find(|&k| s.is(k, "set"))?;
    let (name, j, name_span) = s.name(k + 1)?;
    if !(s.punct(j, "=") || s.is(j, "to")) {
        return None;
    }
    let v = s.t.get(j + 1)?;
    let value = match v.kind {
        TokenKind::String | TokenKind::DollarString => {
            s.text.get(v.content.clone()).unwrap_or("").to_string()
        }
        _ => v.text(s.text).to_string(),
    };
    Some(Item::SetConfig {
        scope,
        name,
        value,
        name_span,
        value_span: s.tok_span(j + 1),
        span: s.span(),
    })
}

fn do_block(s: &Toks, depth: usize, out: &mut Vec<Item>, errors: &mut Vec<LexError>) {
    let mut language = None;
    let mut body = None;
    let mut k = 1;
    while k < s.t.len() {
        if s.is(k, "language") {
            language = s.t.get(k + 1).map(|t| ident_or_string(s.text, t));
            k += 2;
            continue;
        }
        if let Some(t) = s.t.get(k)
            && matches!(t.kind, TokenKind::String | TokenKind::DollarString)
            && body.is_none()
        {
            body = Some(FunctionBody::new(s.text, t, s.base));
        }
        k += 1;
    }
    let Some(body) = body else {
        return;
    };
    let plpgsql = language.as_deref().is_none_or(|l| l == "plpgsql");
    out.push(Item::DoBlock {
        language,
        body: body.clone(),
        span: s.span(),
    });
    if !plpgsql {
        return;
    }
    let parsed = plpgsql::parse(&body.text);
    errors.extend(parsed.lexed.errors.iter().map(|e| LexError {
        span: body.span_to_file(&e.span),
        message: e.message.clone(),
    }));
    // Statements of a single-quoted body cannot be mapped back exactly; they are still read
    // when no quote was collapsed.
    if depth >= MAX_DO_DEPTH || !body.collapsed.is_empty() {
        return;
    }
    for r in plpgsql::simple_statements(&parsed.stmts) {
        let toks = &parsed.lexed.tokens[r];
        // Nested bodies are single tokens of this one, so their errors are new.
        items_in_tokens(&body.text, toks, body.span.start, depth + 1, out, errors);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn one(src: &str) -> Item {
        let (items, errors) = items(src);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(items.len(), 1, "{items:?}");
        items.into_iter().next().unwrap()
    }

    #[test]
    fn create_function_in_either_clause_order() {
        let a = "CREATE OR REPLACE FUNCTION audit.\"Chain\"() RETURNS trigger AS $fn$ BEGIN RETURN NEW; END $fn$ LANGUAGE plpgsql;";
        let b = "create function chain() returns TRIGGER language 'plpgsql' security definer set search_path = public as $$ BEGIN RETURN NEW; END $$";
        for (src, want_name) in [(a, "audit.Chain"), (b, "chain")] {
            let Item::CreateFunction {
                name,
                args,
                returns,
                language,
                body,
                ..
            } = one(src)
            else {
                panic!("not a function: {src}");
            };
            assert_eq!(name, want_name);
            assert_eq!(args, "");
            assert_eq!(returns, "trigger");
            assert_eq!(language.as_deref(), Some("plpgsql"));
            let body = body.unwrap();
            assert_eq!(body.text.trim(), "BEGIN RETURN NEW; END");
            assert_eq!(&src[body.span.clone()], body.text);
        }
        let Item::CreateFunction { returns, args, .. } =
            one("CREATE FUNCTION f(a int, b text) RETURNS SETOF int LANGUAGE sql AS 'SELECT 1'")
        else {
            panic!()
        };
        assert_eq!(
            (returns.as_str(), args.as_str()),
            ("setof int", "a int , b text")
        );
    }

    #[test]
    fn single_quoted_body_maps_back_to_the_file() {
        let src = "CREATE FUNCTION f() RETURNS trigger AS 'BEGIN RAISE ''x''; RETURN NEW; END' LANGUAGE plpgsql";
        let Item::CreateFunction { body, .. } = one(src) else {
            panic!()
        };
        let body = body.unwrap();
        assert_eq!(body.text, "BEGIN RAISE 'x'; RETURN NEW; END");
        let at = body.text.find("RETURN").unwrap();
        let file = body.to_file(at);
        assert_eq!(&src[file..file + 6], "RETURN");
    }

    #[test]
    fn triggers_and_drops() {
        let src = "CREATE TRIGGER trg BEFORE INSERT OR UPDATE OF a ON public.audit_logs FOR EACH ROW EXECUTE PROCEDURE chain();";
        let Item::CreateTrigger {
            name,
            table,
            timing,
            events,
            function,
            ..
        } = one(src)
        else {
            panic!()
        };
        assert_eq!(
            (name.as_str(), table.as_str(), function.as_str()),
            ("trg", "public.audit_logs", "chain")
        );
        assert_eq!(timing, TriggerTiming::Before);
        assert_eq!(events, vec!["insert", "update"]);
        let Item::CreateTrigger { timing, .. } =
            one("CREATE OR REPLACE CONSTRAINT TRIGGER t AFTER INSERT ON x EXECUTE FUNCTION f()")
        else {
            panic!()
        };
        assert_eq!(timing, TriggerTiming::After);

        let Item::DropFunction {
            functions, cascade, ..
        } = one("DROP FUNCTION IF EXISTS a.f(), g, h(int) CASCADE")
        else {
            panic!()
        };
        assert!(cascade);
        assert_eq!(
            functions,
            vec![
                DroppedFunction {
                    name: "a.f".into(),
                    args: Some(String::new())
                },
                DroppedFunction {
                    name: "g".into(),
                    args: None
                },
                DroppedFunction {
                    name: "h".into(),
                    args: Some("int".into())
                },
            ]
        );
        assert!(matches!(
            one("DROP TRIGGER IF EXISTS trg ON audit_logs"),
            Item::DropTrigger { name, table, .. } if name == "trg" && table == "audit_logs"
        ));
        assert!(matches!(
            one("DROP TABLE IF EXISTS a, b CASCADE"),
            Item::DropTable { names, .. } if names == ["a", "b"]
        ));
        assert!(matches!(
            one("DROP INDEX CONCURRENTLY IF EXISTS ux"),
            Item::DropIndex { names, .. } if names == ["ux"]
        ));
    }

    fn indexes(src: &str) -> Vec<IndexDef> {
        items(src)
            .0
            .into_iter()
            .filter_map(|i| match i {
                Item::CreateIndex { index, .. } => Some(index),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn unique_indexes_and_constraints() {
        let ix = indexes(
            "CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS ux ON ONLY audit_logs USING btree (org_id, prev_hash) NULLS NOT DISTINCT;",
        );
        assert_eq!(ix.len(), 1);
        assert!(ix[0].unique && ix[0].nulls_not_distinct && !ix[0].partial);
        assert_eq!(ix[0].columns, vec!["org_id", "prev_hash"]);

        let ix =
            indexes("CREATE UNIQUE INDEX ON t ((COALESCE(org_id, '')), seq DESC) WHERE seq > 0");
        assert_eq!(ix[0].name, "t_coalesce(org_id,'')_seq_idx");
        assert_eq!(ix[0].columns, vec!["coalesce(org_id,'')", "seq"]);
        assert!(ix[0].partial);

        let ix = indexes("CREATE INDEX i ON t (a)");
        assert!(!ix[0].unique);

        let ix = indexes(
            "CREATE TABLE IF NOT EXISTS ledger (id bigserial PRIMARY KEY, account_id int NOT NULL, seq int UNIQUE, CONSTRAINT ledger_chain UNIQUE (account_id, seq), UNIQUE NULLS NOT DISTINCT (account_id, prev_hash))",
        );
        let names: Vec<&str> = ix.iter().map(|i| i.name.as_str()).collect();
        assert_eq!(
            names,
            vec![
                "ledger_pkey",
                "ledger_seq_key",
                "ledger_chain",
                "ledger_account_id_prev_hash_key"
            ]
        );
        assert!(ix[3].nulls_not_distinct && !ix[2].nulls_not_distinct);

        let (got, _) = items(
            "ALTER TABLE audit_logs ADD COLUMN x int, ADD CONSTRAINT uq UNIQUE (org_id, prev_checksum); ALTER TABLE audit_logs DROP CONSTRAINT IF EXISTS uq;",
        );
        assert!(
            matches!(&got[0], Item::CreateIndex { index, .. } if index.name == "uq" && index.table == "audit_logs")
        );
        assert!(matches!(&got[1], Item::DropConstraint { name, .. } if name == "uq"));
    }

    #[test]
    fn set_config_forms() {
        let src = "ALTER SYSTEM SET fsync = off; ALTER SYSTEM SET full_page_writes TO 'off'; ALTER DATABASE d SET zero_damaged_pages = on; ALTER ROLE r IN DATABASE d SET ignore_checksum_failure TO true; ALTER SYSTEM RESET fsync; SET fsync = off;";
        let (found, _) = items(src);
        let got: Vec<(SetScope, &str, &str, &str)> = found
            .iter()
            .map(|i| match i {
                Item::SetConfig {
                    scope,
                    name,
                    value,
                    value_span,
                    ..
                } => (
                    *scope,
                    name.as_str(),
                    value.as_str(),
                    &src[value_span.clone()],
                ),
                _ => panic!("{i:?}"),
            })
            .collect();
        assert_eq!(
            got,
            vec![
                (SetScope::System, "fsync", "off", "off"),
                (SetScope::System, "full_page_writes", "off", "'off'"),
                (SetScope::Database, "zero_damaged_pages", "on", "on"),
                (SetScope::Role, "ignore_checksum_failure", "true", "true"),
            ]
        );
    }

    #[test]
    fn do_block_statements_are_items() {
        let src = "DO $$\nBEGIN\n  IF NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgname = 'trg') THEN\n    CREATE TRIGGER trg BEFORE INSERT ON t FOR EACH ROW EXECUTE FUNCTION f();\n  END IF;\nEND $$;";
        let (found, errors) = items(src);
        assert!(errors.is_empty());
        assert!(matches!(&found[0], Item::DoBlock { .. }));
        let Item::CreateTrigger { span, .. } = &found[1] else {
            panic!("{found:?}")
        };
        assert!(src[span.clone()].starts_with("CREATE TRIGGER trg"));
    }

    #[test]
    fn comments_and_strings_are_not_items() {
        let src = "-- CREATE TRIGGER a BEFORE INSERT ON t EXECUTE FUNCTION f();\n/* DROP FUNCTION f; */ SELECT 'CREATE FUNCTION f() RETURNS trigger AS $$ $$';";
        assert!(items(src).0.is_empty());
    }

    #[test]
    fn unterminated_dollar_quote_is_a_diagnostic() {
        let src = "CREATE FUNCTION f() RETURNS trigger AS $body$ BEGIN RETURN NEW; END; LANGUAGE plpgsql;";
        let (found, errors) = items(src);
        assert_eq!(errors.len(), 1);
        assert!(errors[0].message.contains("$body$"));
        assert_eq!(errors[0].span.start, src.find("$body$").unwrap());
        assert_eq!(found.len(), 1);
        // An unterminated quote inside a body is reported at its place in the file.
        let src =
            "CREATE FUNCTION f() RETURNS trigger AS $$ BEGIN RAISE 'x; END $$ LANGUAGE plpgsql;";
        let (_, errors) = items(src);
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].span.start, src.find("'x").unwrap());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        #[test]
        fn items_never_panic_and_spans_are_in_bounds(words in proptest::collection::vec(
            prop_oneof![
                Just("CREATE"), Just("FUNCTION"), Just("TRIGGER"), Just("UNIQUE"), Just("INDEX"),
                Just("ON"), Just("DROP"), Just("ALTER"), Just("SYSTEM"), Just("SET"), Just("TABLE"),
                Just("DO"), Just("$$"), Just("'"), Just("''"), Just("("), Just(")"), Just(","),
                Just(";"), Just("="), Just("x"), Just("é"), Just("AS"), Just("RETURNS"),
                Just("EXECUTE"), Just("CONSTRAINT"), Just("ADD"), Just("."), Just("\""),
            ], 0..40)) {
            let src = words.join(" ");
            let (found, errors) = items(&src);
            let ok = |r: &Range<usize>| r.start <= r.end && r.end <= src.len()
                && src.is_char_boundary(r.start) && src.is_char_boundary(r.end);
            for e in &errors {
                prop_assert!(ok(&e.span));
            }
            for i in &found {
                if let Item::CreateFunction { body: Some(b), .. } = i {
                    prop_assert!(ok(&b.span));
                }
                prop_assert!(ok(i.span()));
            }
        }
    }
}
