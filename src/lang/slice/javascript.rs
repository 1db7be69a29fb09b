//! Statement lines and droppable tests of a JavaScript or TypeScript test file (Jest, Mocha,
//! Vitest, node:test, Playwright).
//!
//! A candidate is a statement-level `it(...)` or `test(...)` call, possibly `.only`, `.skip`,
//! `.concurrent`, `.todo`, `.failing` and `.each(table)` or `` .each`table` ``, that starts its
//! line and whose closing parenthesis ends its line. Hooks, `describe` blocks, helpers and
//! module-level code never are.
//!
//! Beyond what [`plan`] checks, a test stays when the analysis could read something of it from
//! outside by name: a test that registers a hook or forces an environment variable (`before`,
//! `setup`, `env`, `stubEnv` in its code), or that declares a name (a `const`, a function, a
//! method) which code staying in the file mentions, since guard helpers and the values a guard
//! condition reads are looked up by name across the file. A file that declares a function
//! called `it` or `test` is parsed whole.
//!
//! The lexer knows strings, template literals with nested `${ }`, comments and regular
//! expressions (told from a division by the token before them); anything it cannot be sure of
//! makes it give up, and the file is parsed whole.

use std::collections::HashSet;
use std::hash::BuildHasherDefault;
use std::sync::LazyLock;

use regex::Regex;

use super::{Block, Fnv, Lang, Line, plan, words};

type Names<'a> = HashSet<&'a str, BuildHasherDefault<Fnv>>;

const RESERVED: &[&str] = &[
    "abstract",
    "as",
    "async",
    "await",
    "break",
    "case",
    "catch",
    "class",
    "const",
    "continue",
    "debugger",
    "declare",
    "default",
    "delete",
    "do",
    "else",
    "enum",
    "export",
    "extends",
    "false",
    "finally",
    "for",
    "from",
    "function",
    "get",
    "if",
    "implements",
    "import",
    "in",
    "instanceof",
    "interface",
    "let",
    "new",
    "null",
    "of",
    "private",
    "protected",
    "public",
    "readonly",
    "return",
    "satisfies",
    "set",
    "static",
    "super",
    "switch",
    "this",
    "throw",
    "true",
    "try",
    "type",
    "typeof",
    "undefined",
    "var",
    "void",
    "while",
    "with",
    "yield",
];

/// Words in a test's code that make it register a hook or force an environment variable: the
/// analysis reads those from anywhere in the file.
const SENSITIVE: &[&str] = &[
    "before",
    "after",
    "beforeAll",
    "beforeEach",
    "afterAll",
    "afterEach",
    "setup",
    "teardown",
    "suiteSetup",
    "suiteTeardown",
    "env",
    "stubEnv",
];

/// Modifiers between `it`/`test` and its call.
const MODIFIERS: &[&str] = &["only", "skip", "concurrent", "todo", "failing"];

/// Words after which a `/` starts a regular expression.
const BEFORE_REGEX: &[&str] = &[
    "return",
    "typeof",
    "case",
    "do",
    "else",
    "in",
    "of",
    "instanceof",
    "new",
    "delete",
    "void",
    "throw",
    "yield",
    "await",
];

/// Words after which a line break cannot end the statement.
const CONTINUING: &[&str] = &[
    "await",
    "new",
    "typeof",
    "void",
    "delete",
    "in",
    "of",
    "instanceof",
    "extends",
    "case",
    "as",
    "satisfies",
    "keyof",
];

/// Multi-character operators, longest first.
const OPERATORS: &[&str] = &[
    ">>>=", "...", "===", "!==", "**=", "<<=", ">>=", ">>>", "&&=", "||=", "??=", "=>", "==", "!=",
    "<=", ">=", "&&", "||", "??", "?.", "++", "--", "+=", "-=", "*=", "/=", "%=", "&=", "|=", "^=",
    "**", "<<", ">>",
];

/// Deeper bracket nesting than this parses whole: the tree walk of the analysis stops at a
/// depth, and which node it stops at must not depend on what was blanked.
const MAX_DEPTH: usize = 32;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tok<'a> {
    Start,
    Open(u8),
    /// A closing bracket; for `)`, whether it closes `if (...)`, `while (...)` and the like.
    Close(u8, bool),
    Punct(u8),
    Op,
    Assign,
    Arrow,
    Incr,
    Word(&'a str),
    /// A string, template, number or regular expression.
    Value,
}

struct Opened<'a> {
    kind: u8,
    /// The logical line it was opened on.
    line: usize,
    /// For `(`: the word before it (a called or declared name, or `if`).
    word: Option<&'a str>,
}

/// Where a candidate call is in its shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Name,
    Dot,
    Each,
    EachArgs,
    Table,
    Call,
    End,
    Semi,
}

struct Cand<'a> {
    start: usize,
    /// Offset of the `it`/`test` word: a space there after planning means it was dropped.
    at: usize,
    depth: usize,
    phase: Phase,
    first_line: usize,
    decls: Vec<&'a str>,
    tainted: bool,
}

struct Done<'a> {
    range: std::ops::Range<usize>,
    at: usize,
    lines: std::ops::Range<usize>,
    decls: Vec<&'a str>,
    tainted: bool,
}

/// The logical line being read.
struct Cur<'a> {
    start: usize,
    /// Only indentation before its first token.
    at_line_start: bool,
    base: usize,
    toks: usize,
    eq_at: Option<usize>,
    bound: Vec<&'a str>,
    scope: Vec<&'a str>,
    /// In a `const`/`let`/`var`: its bracket depth, and whether names are being declared.
    decl: Option<(usize, bool)>,
    import: bool,
    /// A declared name `it` or `test` was just assigned: its value decides.
    test_value: bool,
    /// The first name of the declarator being read.
    declarator: Option<&'a str>,
    /// The name before a `(...)` just closed: a method when `{` or `:` follows.
    method: Option<&'a str>,
}

struct Lexer<'a> {
    src: &'a str,
    b: &'a [u8],
    stack: Vec<Opened<'a>>,
    prev: Tok<'a>,
    prev2: Tok<'a>,
    cur: Option<Cur<'a>>,
    lines: Vec<Line<'a>>,
    cand: Option<Cand<'a>>,
    done: Vec<Done<'a>>,
    /// A function named `it` or `test` is declared: the file is parsed whole.
    test_fn: bool,
    /// The last run of blanks and comments [`Lexer::next_continues`] read past.
    skipped: (usize, usize),
}

fn is_ident(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c == b'$' || c >= 0x80
}

impl<'a> Lexer<'a> {
    fn new(src: &'a str) -> Self {
        Lexer {
            src,
            b: src.as_bytes(),
            stack: Vec::new(),
            prev: Tok::Start,
            prev2: Tok::Start,
            cur: None,
            lines: Vec::new(),
            cand: None,
            done: Vec::new(),
            test_fn: false,
            skipped: (usize::MAX, 0),
        }
    }

    fn run(mut self) -> Option<Self> {
        let b = self.b;
        let mut i = 0;
        if b.starts_with(b"#!") {
            i = memchr::memchr(b'\n', b).unwrap_or(b.len());
        }
        while i < b.len() {
            let c = b[i];
            match c {
                b'\n' => {
                    self.newline(i);
                    i += 1;
                }
                b' ' | b'\t' | b'\r' | 0x0b | 0x0c => i += 1,
                b'/' if b.get(i + 1) == Some(&b'/') => {
                    i = memchr::memchr(b'\n', &b[i..]).map_or(b.len(), |k| i + k);
                }
                b'/' if b.get(i + 1) == Some(&b'*') => {
                    i = i + 2 + memchr::memmem::find(&b[i + 2..], b"*/")? + 2;
                }
                b'/' if self.regex_allowed()? => {
                    self.tok(Tok::Value, i);
                    i = skip_regex(b, i)?;
                }
                b'\'' | b'"' => {
                    self.tok(Tok::Value, i);
                    i = skip_string(b, i)?;
                }
                b'`' => {
                    self.tok(Tok::Value, i);
                    i = self.template(i + 1)?;
                }
                b'(' | b'[' | b'{' => {
                    self.tok(Tok::Open(c), i);
                    let word = match (c, self.prev2) {
                        (b'(', Tok::Word(w)) => Some(w),
                        _ => None,
                    };
                    self.stack.push(Opened {
                        kind: c,
                        line: self.lines.len(),
                        word,
                    });
                    if self.stack.len() > MAX_DEPTH {
                        return None;
                    }
                    i += 1;
                }
                b')' | b']' | b'}' => {
                    let open = self.stack.pop()?;
                    if c == b'}' && open.kind == b'$' {
                        i = self.template(i + 1)?;
                        continue;
                    }
                    let want = match c {
                        b')' => b'(',
                        b']' => b'[',
                        _ => b'{',
                    };
                    if open.kind != want {
                        return None;
                    }
                    let ctrl = open
                        .word
                        .is_some_and(|w| matches!(w, "if" | "while" | "for" | "with"));
                    self.tok(Tok::Close(c, ctrl), i);
                    if let (Some(w), Some(cur)) = (open.word, &mut self.cur) {
                        // `name(...)` followed by `{` or `:` declares a method.
                        cur.method = Some(w);
                    }
                    i += 1;
                }
                b'0'..=b'9' => {
                    let start = i;
                    while i < b.len() && (is_ident(b[i]) || b[i] == b'.') {
                        i += 1;
                    }
                    self.tok(Tok::Value, start);
                }
                b'.' if b.get(i + 1).is_some_and(u8::is_ascii_digit) => {
                    let start = i;
                    i += 1;
                    while i < b.len() && is_ident(b[i]) {
                        i += 1;
                    }
                    self.tok(Tok::Value, start);
                }
                c if is_ident(c) => {
                    let start = i;
                    while i < b.len() && is_ident(b[i]) {
                        i += 1;
                    }
                    // Only whole characters: identifier bytes >= 0x80 continue a UTF-8 sequence.
                    let w = self.src.get(start..i)?;
                    self.tok(Tok::Word(w), start);
                }
                b'\\' => return None,
                _ => {
                    let rest = &b[i..];
                    let op = if rest.get(1).is_some_and(|n| b"=&|?.<>*+-".contains(n)) {
                        OPERATORS.iter().find(|o| rest.starts_with(o.as_bytes()))
                    } else {
                        None
                    };
                    let (t, len) = match op {
                        Some(&"=>") => (Tok::Arrow, 2),
                        Some(&"?.") => (Tok::Punct(b'.'), 2),
                        Some(&("++" | "--")) => (Tok::Incr, 2),
                        Some(o)
                            if o.ends_with('=')
                                && !matches!(*o, "==" | "===" | "!=" | "!==" | "<=" | ">=") =>
                        {
                            (Tok::Assign, o.len())
                        }
                        Some(o) => (Tok::Op, o.len()),
                        None if c == b'=' => (Tok::Assign, 1),
                        None if c.is_ascii() => (Tok::Punct(c), 1),
                        None => return None,
                    };
                    self.tok(t, i);
                    i += len;
                }
            }
        }
        if !self.stack.is_empty() {
            return None;
        }
        if self.cur.is_some() {
            self.finish(b.len());
        }
        if self.cand.is_some() {
            self.abort();
        }
        Some(self)
    }

    /// Whether a `/` here starts a regular expression; `None` when that cannot be told.
    fn regex_allowed(&self) -> Option<bool> {
        Some(match self.prev {
            Tok::Start | Tok::Open(_) | Tok::Punct(_) | Tok::Op | Tok::Assign | Tok::Arrow => true,
            Tok::Incr | Tok::Value | Tok::Close(b']', _) => false,
            Tok::Close(b')', ctrl) => ctrl,
            Tok::Close(..) => return None,
            Tok::Word(w) => BEFORE_REGEX.contains(&w),
        })
    }

    /// Reads a template literal from `j` (just past a backtick or a substitution's `}`) to its
    /// end or its next `${`, which is pushed.
    fn template(&mut self, mut j: usize) -> Option<usize> {
        let b = self.b;
        while j < b.len() {
            match b[j] {
                b'\\' => j += 2,
                b'`' => {
                    self.prev2 = self.prev;
                    self.prev = Tok::Value;
                    return Some(j + 1);
                }
                b'$' if b.get(j + 1) == Some(&b'{') => {
                    self.stack.push(Opened {
                        kind: b'$',
                        line: self.lines.len(),
                        word: None,
                    });
                    if self.stack.len() > MAX_DEPTH {
                        return None;
                    }
                    self.prev2 = self.prev;
                    self.prev = Tok::Open(b'$');
                    return Some(j + 2);
                }
                _ => j += 1,
            }
        }
        None
    }

    /// A line break in code: the end of the logical line unless the statement goes on.
    fn newline(&mut self, i: usize) {
        if self.cur.is_none() {
            return;
        }
        if matches!(self.stack.last().map(|o| o.kind), Some(b'(' | b'[' | b'$')) {
            return;
        }
        let goes_on = match self.prev {
            Tok::Punct(c) => c != b';',
            Tok::Op | Tok::Assign | Tok::Arrow => true,
            Tok::Word(w) => CONTINUING.contains(&w),
            _ => false,
        };
        if goes_on || self.next_continues(i + 1) {
            return;
        }
        self.finish(i + 1);
    }

    /// Whether the next line starts with something that continues the statement before it.
    fn next_continues(&mut self, mut j: usize) -> bool {
        let b = self.b;
        // Only blanks and comments lie between the ends of the last skip: no need to read them
        // again at every line break of a long comment.
        let (from, to) = self.skipped;
        let start = if from <= j && j <= to {
            j = to;
            from
        } else {
            j
        };
        loop {
            while j < b.len() && matches!(b[j], b' ' | b'\t' | b'\r' | b'\n') {
                j += 1;
            }
            // Comments in between: what follows them decides.
            match (b.get(j), b.get(j + 1)) {
                (Some(b'/'), Some(b'/')) => {
                    j = memchr::memchr(b'\n', &b[j..]).map_or(b.len(), |k| j + k);
                }
                (Some(b'/'), Some(b'*')) => match memchr::memmem::find(&b[j + 2..], b"*/") {
                    Some(k) => j += k + 4,
                    None => return true,
                },
                _ => break,
            }
        }
        self.skipped = (start, j);
        match b.get(j) {
            Some(b'/') => !matches!(b.get(j + 1), Some(b'/' | b'*')),
            Some(c) => b".?:,([`+-*%&|^=<>)]".contains(c),
            None => false,
        }
    }

    fn tok(&mut self, t: Tok<'a>, pos: usize) {
        if self.cur.is_none() {
            self.start_line(pos);
        }
        let depth = self.stack.len();
        self.candidate(t, pos, depth);
        let Some(cur) = self.cur.as_mut() else {
            return;
        };
        let mut declared: Option<&'a str> = None;
        if let Some(w) = cur.method.take()
            && matches!(t, Tok::Open(b'{') | Tok::Punct(b':'))
        {
            declared = Some(w);
        }
        if cur.test_value {
            cur.test_value = false;
            if !matches!(t, Tok::Word(w) if w != "function" && w != "async") {
                self.test_fn = true;
            }
        }
        match t {
            Tok::Word(w) => {
                let after_function = matches!(self.prev, Tok::Word("function"))
                    || (self.prev == Tok::Punct(b'*') && self.prev2 == Tok::Word("function"));
                if after_function {
                    declared = Some(w);
                } else if self.prev == Tok::Word("class") {
                    cur.bound.push(w);
                }
                match cur.decl {
                    Some((d, true)) if depth >= d => {
                        if w == "of" || w == "in" {
                            cur.decl = None;
                        } else {
                            cur.bound.push(w);
                            cur.declarator.get_or_insert(w);
                            if let Some(c) = &mut self.cand {
                                c.decls.push(w);
                            }
                        }
                    }
                    _ => {}
                }
                if matches!(w, "const" | "let" | "var") {
                    cur.decl = Some((depth, true));
                    cur.declarator = None;
                }
                if cur.toks == 0 && w == "import" {
                    cur.import = true;
                }
                if let Some(c) = &mut self.cand
                    && SENSITIVE.contains(&w)
                {
                    c.tainted = true;
                }
            }
            Tok::Assign => {
                if depth <= cur.base && cur.eq_at.is_none() {
                    cur.eq_at = Some(pos);
                }
                if let Some((d, _)) = cur.decl
                    && d == depth
                {
                    cur.decl = Some((d, false));
                    cur.test_value = matches!(cur.declarator, Some("it" | "test"));
                }
            }
            Tok::Punct(b',') => {
                if let Some((d, false)) = cur.decl
                    && d == depth
                {
                    cur.decl = Some((d, true));
                    cur.declarator = None;
                }
            }
            Tok::Punct(b':') => {
                if let Some((d, true)) = cur.decl
                    && d == depth
                {
                    // A type annotation: not names.
                    cur.decl = Some((d, false));
                }
                if let Tok::Word(w) = self.prev
                    && (cur.toks == 1 || matches!(self.prev2, Tok::Open(b'{') | Tok::Punct(b',')))
                {
                    // An object key or a label.
                    cur.bound.push(w);
                }
            }
            Tok::Punct(b';') if cur.decl.is_some_and(|(d, _)| depth <= d) => cur.decl = None,
            Tok::Close(..) if cur.decl.is_some_and(|(d, _)| depth < d) => cur.decl = None,
            _ => {}
        }
        if let Some(w) = declared.filter(|w| !RESERVED.contains(w)) {
            cur.bound.push(w);
            if let Some(c) = &mut self.cand {
                c.decls.push(w);
            }
            if w == "it" || w == "test" {
                self.test_fn = true;
            }
        }
        cur.toks += 1;
        self.prev2 = self.prev;
        self.prev = t;
    }

    fn start_line(&mut self, pos: usize) {
        let b = self.b;
        let mut s = pos;
        while s > 0 && matches!(b[s - 1], b' ' | b'\t') {
            s -= 1;
        }
        let at_line_start = s == 0 || b[s - 1] == b'\n';
        let start = if at_line_start { s } else { pos };
        let mut scope = Vec::new();
        let mut last = usize::MAX;
        for o in self.stack.iter().rev() {
            if o.line != last {
                last = o.line;
                if let Some(l) = self.lines.get(o.line) {
                    scope.extend(l.bound.iter().copied());
                }
            }
        }
        self.cur = Some(Cur {
            start,
            at_line_start,
            base: self.stack.len(),
            toks: 0,
            eq_at: None,
            bound: Vec::new(),
            scope,
            decl: None,
            import: false,
            test_value: false,
            declarator: None,
            method: None,
        });
    }

    /// Follows the shape of a candidate call, or starts one.
    fn candidate(&mut self, t: Tok<'a>, pos: usize, depth: usize) {
        let Some(c) = self.cand.as_mut() else {
            let cur = self.cur.as_ref().expect("a line was started");
            if cur.toks == 0
                && cur.at_line_start
                && matches!(t, Tok::Word("it" | "test"))
                && matches!(self.stack.last().map(|o| o.kind), None | Some(b'{'))
                && statement_ends(self.prev)
            {
                self.cand = Some(Cand {
                    start: cur.start,
                    at: pos,
                    depth,
                    phase: Phase::Name,
                    first_line: self.lines.len(),
                    decls: Vec::new(),
                    tainted: false,
                });
            }
            return;
        };
        if depth > c.depth && !matches!(c.phase, Phase::Call | Phase::EachArgs) {
            // Inside a template's substitution.
            return;
        }
        let next = match (c.phase, t) {
            (Phase::Name, Tok::Punct(b'.')) => Phase::Dot,
            (Phase::Name | Phase::Table, Tok::Open(b'(')) => Phase::Call,
            (Phase::Dot, Tok::Word("each")) => Phase::Each,
            (Phase::Dot, Tok::Word(w)) if MODIFIERS.contains(&w) => Phase::Name,
            (Phase::Each, Tok::Open(b'(')) => Phase::EachArgs,
            (Phase::Each, Tok::Value) => Phase::Table,
            (Phase::EachArgs, Tok::Close(b')', _)) if depth == c.depth => Phase::Table,
            (Phase::Call, Tok::Close(b')', _)) if depth == c.depth => Phase::End,
            (Phase::EachArgs | Phase::Call, _) => c.phase,
            (Phase::End, Tok::Punct(b';')) => Phase::Semi,
            _ => {
                self.abort();
                return;
            }
        };
        c.phase = next;
    }

    fn abort(&mut self) {
        if let Some(c) = self.cand.take() {
            for l in &mut self.lines[c.first_line..] {
                l.block = None;
            }
        }
    }

    fn finish(&mut self, end: usize) {
        let Some(cur) = self.cur.take() else {
            return;
        };
        let mut bound = cur.bound;
        if cur.import {
            bound.extend(words(&self.src[cur.start..end]));
        } else if let Some(eq) = cur.eq_at {
            bound.extend(words(&self.src[cur.start..eq]));
        }
        self.lines.push(Line {
            range: cur.start..end,
            bound,
            scope: cur.scope,
            block: self.cand.as_ref().map(|_| self.done.len()),
        });
        if let Some(c) = self
            .cand
            .take_if(|c| matches!(c.phase, Phase::End | Phase::Semi))
        {
            self.done.push(Done {
                range: c.start..end,
                at: c.at,
                lines: c.first_line..self.lines.len(),
                decls: c.decls,
                tainted: c.tainted,
            });
        }
    }
}

/// Whether a statement can start after `prev` (the last token of the line before).
fn statement_ends(prev: Tok<'_>) -> bool {
    match prev {
        Tok::Start | Tok::Open(b'{') | Tok::Punct(b';') | Tok::Value | Tok::Incr => true,
        Tok::Close(b')', ctrl) => !ctrl,
        Tok::Close(..) => true,
        Tok::Word(w) => !RESERVED.contains(&w),
        _ => false,
    }
}

/// The index just past the string literal that opens at `i`, or `None` if it does not close on
/// its line.
fn skip_string(b: &[u8], i: usize) -> Option<usize> {
    let q = b[i];
    let mut j = i + 1;
    while j < b.len() {
        match b[j] {
            b'\\' => j += if b.get(j + 1) == Some(&b'\r') { 3 } else { 2 },
            c if c == q => return Some(j + 1),
            b'\n' => return None,
            _ => j += 1,
        }
    }
    None
}

/// The index just past the regular expression literal that opens at `i`.
fn skip_regex(b: &[u8], i: usize) -> Option<usize> {
    let mut j = i + 1;
    let mut class = false;
    while j < b.len() {
        match b[j] {
            b'\\' => j += 2,
            b'\n' => return None,
            b'[' => {
                class = true;
                j += 1;
            }
            b']' => {
                class = false;
                j += 1;
            }
            b'/' if !class => {
                j += 1;
                while j < b.len() && is_ident(b[j]) {
                    j += 1;
                }
                return Some(j);
            }
            _ => j += 1,
        }
    }
    None
}

/// The JavaScript or TypeScript file `source` with its droppable tests blanked, or `None` to
/// parse it whole.
pub(crate) fn slice(
    source: &str,
    may_destroy: fn(&str) -> bool,
    named: &[String],
) -> Option<String> {
    if named.iter().any(|n| n == "it" || n == "test") {
        return None;
    }
    let lexed = Lexer::new(source).run()?;
    if lexed.test_fn || lexed.done.is_empty() {
        return None;
    }
    let mut lines = lexed.lines;
    let cands = lexed.done;
    let origin: Vec<Option<usize>> = lines.iter().map(|l| l.block).collect();
    let mut alive: Vec<bool> = cands.iter().map(|c| !c.tainted).collect();
    // Words of the code that stays: a name a test declares must not be read there.
    let mut outside: Names = Names::default();
    for (l, o) in lines.iter().zip(&origin) {
        if o.is_none_or(|b| !alive[b]) {
            outside.extend(words(&source[l.range.clone()]));
        }
    }
    let lang = Lang {
        may_destroy,
        reserved: RESERVED,
        // declared names are checked by this module.
        binding_readers: None,
    };
    let mut kept = vec![false; cands.len()];
    loop {
        // Drop candidates whose declarations are read outside, until none is.
        loop {
            let mut changed = false;
            for (k, c) in cands.iter().enumerate() {
                if alive[k] && !kept[k] && c.decls.iter().any(|d| outside.contains(d)) {
                    alive[k] = false;
                    changed = true;
                    for l in &lines[c.lines.clone()] {
                        outside.extend(words(&source[l.range.clone()]));
                    }
                }
            }
            if !changed {
                break;
            }
        }
        let mut index = vec![None; cands.len()];
        let mut blocks = Vec::new();
        for (k, c) in cands.iter().enumerate() {
            if alive[k] {
                index[k] = Some(blocks.len());
                blocks.push(Block {
                    range: c.range.clone(),
                    name: None,
                    fill: "",
                    fill_at: c.range.start,
                });
            }
        }
        if blocks.is_empty() {
            return None;
        }
        for (l, o) in lines.iter_mut().zip(&origin) {
            l.block = o.and_then(|b| index[b]);
        }
        let out = plan(source, &lines, &blocks, &lang, named)?;
        // A test that stays is code that stays: what it reads must be kept too.
        let mut again = false;
        for (k, c) in cands.iter().enumerate() {
            if alive[k] && !kept[k] && out.as_bytes()[c.at] != b' ' {
                kept[k] = true;
                for l in &lines[c.lines.clone()] {
                    outside.extend(words(&source[l.range.clone()]));
                }
            }
        }
        for (k, c) in cands.iter().enumerate() {
            if alive[k] && !kept[k] && c.decls.iter().any(|d| outside.contains(d)) {
                again = true;
            }
        }
        if !again {
            return blank_leftovers(source, out);
        }
    }
}

/// `describe('title', () => {` (or `async () =>`, `function () {`) alone on its line.
static EMPTY_GROUP_HEAD: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"^[ \t]*(?:describe|context|suite)(?:\.(?:only|skip))?\([ \t]*(?:'[^'\\\n]*'|"[^"\\\n]*")[ \t]*,[ \t]*(?:async[ \t]*)?(?:\([ \t]*\)[ \t]*=>|function[ \t]*\([ \t]*\))[ \t]*\{[ \t]*$"#,
    )
    .expect("static pattern compiles")
});

/// `});` alone on its line.
static EMPTY_GROUP_TAIL: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[ \t]*\}\)[ \t]*;?[ \t]*$").expect("static pattern compiles"));

/// `describe`, `context` or `suite` called as a group: `describe('...'`, `context.only("...`.
static GROUP_CALL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"\b(?:describe|context|suite)(?:\.(?:only|skip))?[ \t]*\([ \t]*['"]"#)
        .expect("static pattern compiles")
});

static GROUP_NAME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\b(?:describe|context|suite)\b").expect("static pattern compiles")
});

/// Whether every `describe`, `context` and `suite` in the file (outside its import lines) is a
/// group call with a title. Any other use (a function, method or variable of that name, a
/// `describe.each` table) could make a group's call reach the file's own code: then no group is
/// blanked.
fn only_calls_group_names(source: &str) -> bool {
    source
        .lines()
        .filter(|l| !l.trim_start().starts_with("import "))
        .all(|l| GROUP_NAME.find_iter(l).count() == GROUP_CALL.find_iter(l).count())
}

/// A line that cannot sit inside a template literal's substitution or carry an escape: no `$`,
/// backtick or backslash. Blanking such a line inside a string changes only the string's text,
/// which the analysis reads from the original.
fn plain_code_line(line: &[u8]) -> bool {
    let end = memchr::memchr(b'\n', line).unwrap_or(line.len());
    !line[..end].iter().any(|c| matches!(c, b'$' | b'`' | b'\\'))
}

/// A statement boundary in JavaScript: the line before ends a statement (`;`, `{`, `}`), and the
/// line after cannot continue one (no `(`, `[`, template, operator or `in` to run on into).
const STATEMENT: super::Statement = super::Statement {
    ends: |prev| matches!(prev.last(), None | Some(b';' | b'{' | b'}')),
    starts: |next| {
        let word = next
            .split(|c| !(c.is_ascii_alphanumeric() || *c == b'_' || *c == b'$'))
            .next()
            .unwrap_or_default();
        next.is_empty()
            || next.starts_with(b"//")
            || next.starts_with(b"/*")
            || matches!(next[0], b'}' | b'\'' | b'"')
            || ((next[0].is_ascii_alphabetic() || matches!(next[0], b'_' | b'$'))
                && !matches!(word, b"in" | b"instanceof" | b"as" | b"satisfies"))
    },
};

/// A one-line `import ... from '...'` with the names it binds in `names`.
static IMPORT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"^[ \t]*import[ \t]+(?:type[ \t]+)?(?P<names>\{[^}\n]*\}|\*[ \t]+as[ \t]+[A-Za-z_$][A-Za-z0-9_$]*|[A-Za-z_$][A-Za-z0-9_$]*(?:[ \t]*,[ \t]*(?:\{[^}\n]*\}|\*[ \t]+as[ \t]+[A-Za-z_$][A-Za-z0-9_$]*))?)[ \t]+from[ \t]+(?:'[^'\n]*'|"[^"\n]*")[ \t]*;?[ \t]*$"#,
    )
    .expect("static pattern compiles")
});

/// Blanks what dropping the tests left behind and nothing can read any more: a `describe`
/// whose callback now holds nothing (no hook, test or statement inside it), and an `import`
/// none of whose names the text that stays mentions, strings and comments included. Neither
/// can hold an operation or a guard, and the analysis reads an imported name only where code
/// names it. Both are recognised only in their plainest one-line forms; anything else stays.
fn blank_leftovers(source: &str, text: String) -> Option<String> {
    let mut b = text.into_bytes();
    // A file that defines its own `describe` (or `context`, `suite`) calls it with a group's
    // shape: its groups stay.
    if only_calls_group_names(source) {
        let code = |at: usize| plain_code_line(&b[at..]);
        let heads: Vec<usize> = super::line_ranges(&b)
            .into_iter()
            .filter(|r| code(r.start))
            .map(|r| r.start)
            .collect();
        let may_stand_at = |at: usize| heads.binary_search(&at).is_ok();
        super::blank_empty_groups(
            &mut b,
            &EMPTY_GROUP_HEAD,
            &EMPTY_GROUP_TAIL,
            &STATEMENT,
            &may_stand_at,
        );
    }
    // Imports whose names occur nowhere else.
    let text = String::from_utf8(b).ok()?;
    let counts = super::WordCounts::of(&text);
    let mut unused: Vec<std::ops::Range<usize>> = Vec::new();
    let lines = super::line_ranges(text.as_bytes());
    let code: Vec<&std::ops::Range<usize>> = lines
        .iter()
        .filter(|r| !text[(*r).clone()].trim().is_empty())
        .collect();
    for (k, r) in code.iter().enumerate() {
        let r = (*r).clone();
        let line = &text[r.clone()];
        // With the import gone, the lines around it must not run into each other.
        if !plain_code_line(line.as_bytes()) {
            continue;
        }
        let prev = k
            .checked_sub(1)
            .map_or("", |p| text[code[p].clone()].trim());
        let next = code.get(k + 1).map_or("", |n| text[(*n).clone()].trim());
        if !((STATEMENT.ends)(prev.as_bytes()) || prev.starts_with("import "))
            || !(STATEMENT.starts)(next.as_bytes())
        {
            continue;
        }
        let Some(names) = IMPORT.captures(line).and_then(|c| c.name("names")) else {
            continue;
        };
        let bound = import_names(names.as_str());
        // A name `words` would not see whole (not plain ASCII) is never judged unused.
        let plain = |n: &&str| {
            n.bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'$')
                && n.bytes().next().is_some_and(|c| !c.is_ascii_digit())
        };
        if !bound.iter().all(plain) {
            continue;
        }
        if counts.only_on(line, &bound) {
            unused.push(r);
        }
    }
    super::blank_lines(text, unused)
}

/// The local names an import clause binds: `A`, `{ B, C as D, type E }`, `* as F`.
fn import_names(clause: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (default, rest) = match clause.find(['{', '*']) {
        Some(i) => (clause[..i].trim().trim_end_matches(','), &clause[i..]),
        None => (clause.trim(), ""),
    };
    if !default.is_empty() {
        out.push(default.trim());
    }
    if let Some(ns) = rest.strip_prefix('*') {
        if let Some(name) = ns.split_whitespace().last() {
            out.push(name);
        }
    } else if let Some(inner) = rest.strip_prefix('{').and_then(|r| r.strip_suffix('}')) {
        for spec in inner.split(',') {
            if let Some(name) = spec.split_whitespace().last() {
                out.push(name);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sliced(src: &str) -> Option<String> {
        slice(src, crate::lang::javascript::may_destroy, &[])
    }

    /// The lines left after slicing, blank lines dropped.
    fn kept(src: &str) -> Vec<String> {
        crate::lang::slice::remaining_lines(src, sliced(src))
    }

    const HOOK: &str = "beforeEach(async () => {\n  await db.query('TRUNCATE users');\n});\n";

    #[test]
    fn ordinary_tests_are_blanked_and_offsets_kept() {
        let src = format!(
            "{HOOK}\ndescribe('orders', () => {{\n  it('lists', async () => {{\n    const res = await request(app).get(`/orders/${{id}}`);\n    expect(res.status).toBe(200); // ok\n  }});\n\n  test.each([[1], [2]])('n %i', (n) => {{\n    expect(/a\\/b/.test(s)).toBe(true);\n  }})\n  it.skip('later', () => {{}});\n}});\n"
        );
        let out = sliced(&src).expect("sliced");
        assert_eq!(out.len(), src.len());
        assert_eq!(out.matches('\n').count(), src.matches('\n').count());
        assert_eq!(
            kept(&src),
            [
                "beforeEach(async () => {",
                "  await db.query('TRUNCATE users');",
                "});",
            ]
        );
    }

    #[test]
    fn groups_left_empty_and_imports_left_unused_are_blanked() {
        let src = format!(
            "import {{ Order }} from '../src/order';\nimport db, {{ pool as p }} from './db';\nimport * as fx from './fixtures';\nimport type {{ Row }} from './types';\n{HOOK}\ndescribe('orders', () => {{\n  context(\"nested\", async () => {{\n    it('lists', () => {{\n      expect(new Order().id).toBe(1);\n    }});\n  }});\n}});\n"
        );
        let out = sliced(&src).expect("sliced");
        assert_eq!(out.len(), src.len());
        assert_eq!(
            kept(&src),
            [
                "import db, { pool as p } from './db';",
                "beforeEach(async () => {",
                "  await db.query('TRUNCATE users');",
                "});",
            ]
        );
        // Near misses: a group that still holds a hook, a group that is part of an expression,
        // an import whose name a string or the code that stays mentions, one with a name the
        // word scan would not see whole, and a side-effect import.
        let src = format!(
            "import {{ Order }} from '../src/order';\nimport {{ seed }} from './seed';\nimport {{ café }} from './menu';\nimport './setup';\n{HOOK}\nconst label = 'Order';\ndescribe('orders', () => {{\n  afterEach(() => seed());\n  it('lists', () => {{\n    expect(1).toBe(1);\n  }});\n}});\nconst suite =\ndescribe('x', () => {{\n}});\n"
        );
        assert_eq!(
            kept(&src),
            [
                "import { Order } from '../src/order';",
                "import { seed } from './seed';",
                "import { café } from './menu';",
                "import './setup';",
                "beforeEach(async () => {",
                "  await db.query('TRUNCATE users');",
                "});",
                "const label = 'Order';",
                "describe('orders', () => {",
                "  afterEach(() => seed());",
                "});",
                "const suite =",
                "describe('x', () => {",
                "});",
            ]
        );
    }

    #[test]
    fn tests_that_can_reach_an_operation_are_kept() {
        let cases = [
            // Its own keyword.
            "it('a', async () => {\n  await db.query('DELETE FROM t');\n});\n",
            // A helper that truncates, called by name.
            "async function wipe() {\n  await db.query('TRUNCATE t');\n}\nit('a', async () => {\n  await wipe();\n});\n",
            "const wipe = async () =>\n  db.query('TRUNCATE t');\nit('a', async () => {\n  await wipe();\n});\n",
            "const helpers = {\n  async wipe() {\n    await db.query('TRUNCATE t');\n  },\n};\nit('a', async () => {\n  await helpers.reset();\n});\n",
            // A constant, and a constant built from it, over several lines.
            "const SQL = `\n  TRUNCATE t;\n`;\nconst RESET = SQL +\n  ' CASCADE';\ntest('a', async () => {\n  await db.query(RESET);\n});\n",
            "const SQL = [\n  'TRUNCATE a',\n  'TRUNCATE b',\n], OTHER = 1;\ntest('a', async () => {\n  await db.query(SQL.join(';'));\n});\n",
            // A method of a class that truncates.
            "class Db {\n  async wipe() {\n    await this.pool.query('TRUNCATE t');\n  }\n}\nit('a', async () => {\n  await new Db().wipe();\n});\n",
            // Declares a name a guard elsewhere reads.
            "const ok = isTest();\nbeforeEach(async () => {\n  if (!ok) throw new Error('no');\n  await db.query('TRUNCATE t');\n});\nit('a', () => {\n  const ok = process.argv.includes('test');\n});\n",
            // Forces the environment, or registers a hook.
            "beforeEach(async () => {\n  if (process.env.NODE_ENV !== 'test') throw new Error('no');\n  await db.query('TRUNCATE t');\n});\nit('a', () => {\n  process.env.NODE_ENV = 'test';\n});\n",
            "describe('x', () => {\n  it('a', () => {\n    beforeEach(assertTestDb);\n  });\n  beforeEach(() => db.query('TRUNCATE t'));\n});\n",
            // Declares a guard helper a hook calls by name.
            "it('a', () => {\n  function check() {\n    assert(process.env.DATABASE_URL.includes('test'));\n  }\n});\nbeforeEach(async () => {\n  check();\n  await db.query('TRUNCATE t');\n});\n",
        ];
        for src in cases {
            assert!(
                kept(src).iter().any(|l| l.starts_with("it(")
                    || l.starts_with("test(")
                    || l.starts_with("  it(")),
                "dropped a test that matters:\n{src}"
            );
        }
    }

    #[test]
    fn hooks_describes_and_helpers_are_never_candidates() {
        let cases = [
            "beforeEach(() => {\n  seed();\n});\ndescribe('x', () => {\n  beforeAll(() => {});\n});\nfunction helper() {\n  return 1;\n}\nafterAll(() => db.query('TRUNCATE t'));\n",
            "before(async () => {\n  await db.query('TRUNCATE t');\n});\nafter(() => {});\nsetup(() => {});\n",
            // `test` called as a function the file declares.
            "function test(name, fn) {\n  return db.query('TRUNCATE t');\n}\ntest('a', () => {});\n",
            "const it = (name, fn) => fn();\nit('a', () => {});\nbeforeEach(() => db.query('TRUNCATE t'));\n",
            // Not a statement of its own.
            "const t = it('a', () => {});\nbeforeEach(() => db.query('TRUNCATE t'));\n",
            "it('a', () => {})\n  .timeout(5000);\nbeforeEach(() => db.query('TRUNCATE t'));\n",
            "if (cond)\n  it('a', () => {});\nbeforeEach(() => db.query('TRUNCATE t'));\n",
            "it('a', () => {}); beforeEach(() => db.query('TRUNCATE t'));\n",
            // A call that goes on after a comment.
            "assertTestDb()\nit('a', () => {})\n// slow\n.timeout(5000)\nbeforeEach(() => db.query('TRUNCATE t'));\n",
            // A function called `it`, typed.
            "const it: Runner = (name, fn) => fn();\nit('a', () => {});\nbeforeEach(() => db.query('TRUNCATE t'));\n",
        ];
        for src in cases {
            assert_eq!(sliced(src), None, "{src}");
        }
    }

    #[test]
    fn unusual_layouts_are_parsed_whole() {
        for src in [
            // An unterminated string, an unclosed bracket, a stray closing one.
            "const x = 'abc\nit('a', () => {});\nbeforeEach(() => db.query('TRUNCATE t'));\n",
            "foo(\nit('a', () => {});\nbeforeEach(() => db.query('TRUNCATE t'));\n",
            "it('a', () => {}));\nbeforeEach(() => db.query('TRUNCATE t'));\n",
            // A `/` after a block: regular expression or division cannot be told.
            "if (a) {}\n/x/.test(s);\nit('a', () => {});\nbeforeEach(() => db.query('TRUNCATE t'));\n",
            // An unterminated template or comment.
            "const q = `abc\nit('a', () => {});\nbeforeEach(() => db.query('TRUNCATE t'));\n",
            "/* abc\nit('a', () => {});\nbeforeEach(() => db.query('TRUNCATE t'));\n",
        ] {
            assert_eq!(sliced(src), None, "{src}");
        }
    }

    #[test]
    fn strings_comments_and_regexes_do_not_confuse_brackets() {
        let src = "beforeEach(() => db.query('TRUNCATE t'));\nit('a (', () => {\n  // )\n  /* } */\n  const r = /[)}]/g;\n  const s = `${`)`}` + \"}\" + ')';\n  expect(x / 2).toBe(y / 3);\n});\nit('b', () => {});\n";
        let out = sliced(src).expect("sliced");
        assert_eq!(out.len(), src.len());
        assert_eq!(
            kept(src),
            ["beforeEach(() => db.query('TRUNCATE t'));"],
            "{out}"
        );
    }
}
