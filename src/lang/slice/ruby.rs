//! Statements and droppable tests of a Ruby test file: RSpec examples (`it`, `specify`,
//! `example`, `scenario`, `its`, `fit`) written as a `do ... end` block whose `end` stands alone at
//! the opening line's indentation, or as a `{ ... }` block on one line; Rails `test "..." do`
//! blocks; and minitest `def test_*` methods.
//!
//! A test is a candidate only where the analysis sees it as an example the runner calls: directly
//! in the body of `describe`/`context`/`feature`/shared groups, classes and modules (never inside
//! an `each` loop, an `if`, a `let` or a hook, where a guard inside it would count for the code
//! around it). A candidate that defines a method, opens a hook or a group, includes a shared
//! context or touches DatabaseCleaner's settings is not one, nor one that holds the file's first
//! assignment of a name used elsewhere (the analysis resolves a name by its first assignment in
//! the file), nor one in a class or module whose surrounding body runs code when the file loads
//! (the analysis of that code looks into the classes beside it).
//!
//! The lexer knows strings with interpolation, heredocs, `%` literals, regexes, symbols,
//! comments and `=begin`/`=end`; what it cannot place (an unclosed literal, an `end` out of line
//! with its group, a file that ends inside a block) makes the file parse whole.

use super::{Block, Fnv, Lang, Line, named_outside, plan, words};
use regex::Regex;
use std::collections::HashMap;
use std::hash::BuildHasherDefault;
use std::sync::LazyLock;

/// `describe Model do`, `RSpec.describe "x", type: :model do`, `context "when ..." do`.
static EMPTY_GROUP_HEAD: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"^[ \t]*(?:RSpec\.)?(?:describe|context)[ \t]+(?:[A-Z][A-Za-z0-9_]*(?:::[A-Z][A-Za-z0-9_]*)*|'[^'\\\n]*'|"[^"\\#\n]*")(?:[ \t]*,[ \t]*(?:[a-z_]+:[ \t]*:?[a-z_]+|:[a-z_]+))*[ \t]+do[ \t]*$"#,
    )
    .expect("static pattern compiles")
});

/// A method `describe` or `context` of the file's own, or methods made at run time.
static DEFINES_GROUP_NAME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"def[ \t]+(?:self\.)?(?:describe|context)\b|define_method|method_missing|alias")
        .expect("static pattern compiles")
});

/// A statement boundary in Ruby: the line before ends a statement (no operator, comma or
/// backslash carries on into it), and the line after starts one (no `.method` chain, `and`,
/// `or` or operator continuing the group's value).
const STATEMENT: super::Statement = super::Statement {
    ends: |prev| {
        prev.last().is_none_or(|c| {
            c.is_ascii_alphanumeric() || matches!(c, b'_' | b'"' | b'\'' | b')' | b']' | b'}')
        })
    },
    starts: |next| {
        let word = next
            .split(|c| !(c.is_ascii_alphanumeric() || *c == b'_'))
            .next()
            .unwrap_or_default();
        next.is_empty()
            || matches!(next[0], b'#' | b'}' | b'@' | b'\'' | b'"')
            || ((next[0].is_ascii_alphabetic() || next[0] == b'_')
                && !matches!(
                    word,
                    b"and" | b"or" | b"then" | b"if" | b"unless" | b"while" | b"until" | b"rescue"
                ))
    },
};

static EMPTY_GROUP_TAIL: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[ \t]*end[ \t]*$").expect("static pattern compiles"));

/// Deeper nesting than this parses whole (and keeps the per-statement work bounded).
const MAX_DEPTH: usize = 200;

/// How many names may be looked up in the whole file for the first-assignment rule; past it,
/// the tests holding the rest stay.
const MAX_LOOKUPS: usize = 64;

const RESERVED: &[&str] = &[
    "BEGIN",
    "END",
    "alias",
    "and",
    "begin",
    "break",
    "case",
    "class",
    "def",
    "defined",
    "do",
    "else",
    "elsif",
    "end",
    "ensure",
    "false",
    "for",
    "if",
    "in",
    "module",
    "next",
    "nil",
    "not",
    "or",
    "redo",
    "rescue",
    "retry",
    "return",
    "self",
    "super",
    "then",
    "true",
    "undef",
    "unless",
    "until",
    "when",
    "while",
    "yield",
    "__FILE__",
    "__LINE__",
    "__method__",
];

/// Calls whose block is a group (the analysis's group names, `configure` aside).
const GROUPS: &[&str] = &[
    "describe",
    "context",
    "feature",
    "shared_context",
    "shared_examples",
    "shared_examples_for",
];

/// Calls whose block is a test the runner calls by itself.
/// Blocks the runner calls by itself. A `let` block runs only when an example names it, and
/// the analysis never follows that name into it (it resolves methods and assignments, not
/// `let`s): like an example, one with no destructive keyword and no carrier can go.
const EXAMPLES: &[&str] = &[
    "it", "specify", "example", "scenario", "its", "fit", "test", "let",
];

/// Calls whose block is a hook or an example of the analysis: code in them runs later.
const UNITS: &[&str] = &[
    "it",
    "specify",
    "example",
    "scenario",
    "its",
    "fit",
    "test",
    "let",
    "let!",
    "subject",
    "before",
    "after",
    "around",
    "prepend_before",
    "append_before",
    "prepend_after",
    "append_after",
    "setup",
    "teardown",
];

/// Calls that name what they define by their first symbol (`let(:cleaner) { ... }`).
const NAMERS: &[&str] = &[
    "let",
    "let!",
    "subject",
    "subject!",
    "given",
    "given!",
    "define_method",
    "alias_method",
    "helper_method",
    "attr_reader",
    "attr_writer",
    "attr_accessor",
];

/// Statements that may stand beside a class or module without running code the analysis
/// would look into that class from.
const QUIET: &[&str] = &[
    "require",
    "require_relative",
    "load",
    "class",
    "module",
    "end",
    "def",
    "RSpec",
    "include",
    "extend",
    "private",
    "protected",
    "public",
    "describe",
    "context",
    "feature",
    "shared_context",
    "shared_examples",
    "shared_examples_for",
    "it",
    "specify",
    "example",
    "scenario",
    "its",
    "fit",
    "test",
    "let",
    "let!",
    "subject",
    "before",
    "after",
    "around",
    "setup",
    "teardown",
];

/// Words that make a test matter to the code around it when they open a statement: a hook or
/// group opened inside it would count for its group.
const OPENERS_INSIDE: &[&str] = &[
    "before",
    "after",
    "around",
    "prepend_before",
    "append_before",
    "prepend_after",
    "append_after",
    "setup",
    "teardown",
    "describe",
    "context",
    "feature",
    "shared_context",
    "shared_examples",
    "shared_examples_for",
    "experiment",
];

/// Words that make a test matter wherever they stand in it.
const POISON: &[&str] = &[
    "include_context",
    "maintain_test_schema",
    "configure",
    "alias",
    "alias_method",
    "define_method",
    "BEGIN",
    "END",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// A group (`describe` block, class, module) with its index in `Scan::busy`.
    Group { id: usize, class: bool },
    /// A method body.
    Def,
    /// A hook, `let` or example block.
    Unit,
    /// A candidate test, by index in `Scan::cands`.
    Cand(usize),
    /// Any other block (`each do`, `if`, `begin`, a hash).
    Other,
}

#[derive(Debug, Clone, Copy)]
struct Open<'a> {
    kind: Kind,
    brace: bool,
    /// Indentation and start of the opening statement's first line.
    indent: usize,
    line_start: usize,
    name: Option<&'a str>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Last {
    /// Nothing yet, or something after which a line break ends the statement.
    None,
    /// An operator, comma or `and`/`or`/`not`: the statement goes on.
    Op,
    /// A `.`, `&.` or `::`: a method name follows.
    Dot,
    /// A value: an identifier, literal, closing bracket or `end`.
    Value,
}

struct Cand<'a> {
    range: std::ops::Range<usize>,
    name: Option<&'a str>,
    ok: bool,
    /// The groups around each class or module around it: none may run code when loading.
    parents: Vec<usize>,
}

struct Statement<'a> {
    start: usize,
    bound: Vec<&'a str>,
    scope: Vec<&'a str>,
    /// Everything around it is a group (or class/module body) or the top level.
    in_groups: bool,
}

struct Scan<'a> {
    s: &'a str,
    b: &'a [u8],
    i: usize,
    /// Start of the physical line `i` is on.
    phys: usize,
    stack: Vec<Open<'a>>,
    /// Per group (0 is the file): whether its body runs code when the file loads.
    busy: Vec<bool>,
    paren: usize,
    last: Last,
    /// The last token was a plain identifier, and whitespace followed it.
    last_ident: bool,
    space_before: bool,
    /// After `return`, `break` or `next`: an `if` that follows is a modifier.
    after_jump: bool,
    /// A `while`/`until`/`for` opened on this statement: its `do` opens no block.
    loop_do: bool,
    heredocs: Vec<(&'a [u8], bool)>,
    need_start: bool,
    stmts: Vec<Statement<'a>>,
    /// Tokens since the statement started, and the statement's head words.
    tokens: usize,
    head: Option<&'a str>,
    head2: Option<&'a str>,
    head_state: u8,
    eq_seen: bool,
    /// Blocks open when the statement started (for "first block opened on the line").
    depth_at_start: usize,
    symbol_seen: bool,
    /// (name, offset) of every `name =` in code.
    sites: Vec<(&'a str, usize)>,
    cands: Vec<Cand<'a>>,
    /// The candidate on the stack, if any.
    in_cand: Option<usize>,
    /// Blocks nest deeper than any test file does: parse whole.
    too_deep: bool,
}

fn is_ident(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c >= 0x80
}

fn is_ident_start(c: u8) -> bool {
    c.is_ascii_alphabetic() || c == b'_' || c >= 0x80
}

impl<'a> Scan<'a> {
    fn new(s: &'a str) -> Self {
        Scan {
            s,
            b: s.as_bytes(),
            i: 0,
            phys: 0,
            stack: Vec::new(),
            busy: vec![false],
            paren: 0,
            last: Last::None,
            last_ident: false,
            space_before: false,
            after_jump: false,
            loop_do: false,
            heredocs: Vec::new(),
            need_start: true,
            stmts: Vec::new(),
            tokens: 0,
            head: None,
            head2: None,
            head_state: 0,
            eq_seen: false,
            depth_at_start: 0,
            symbol_seen: false,
            sites: Vec::new(),
            cands: Vec::new(),
            in_cand: None,
            too_deep: false,
        }
    }

    fn at(&self, k: usize) -> u8 {
        self.b.get(k).copied().unwrap_or(0)
    }

    /// Runs over the whole file; `None` when anything is out of the ordinary.
    fn run(&mut self) -> Option<()> {
        while self.i < self.b.len() {
            if self.too_deep {
                return None;
            }
            let c = self.b[self.i];
            match c {
                b'\n' => self.newline()?,
                b' ' | b'\t' | b'\r' | b'\x0c' => {
                    self.i += 1;
                    self.space_before = true;
                }
                b'\\' if matches!(self.at(self.i + 1), b'\n' | b'\r') => {
                    if !self.heredocs.is_empty() {
                        return None;
                    }
                    self.i += if self.at(self.i + 1) == b'\r' { 3 } else { 2 };
                    self.phys = self.i;
                    self.space_before = true;
                }
                b'#' => self.skip_comment(),
                b'=' if self.i == self.phys && self.b[self.i..].starts_with(b"=begin") => {
                    self.skip_block_comment()?;
                }
                b'_' if self.i == self.phys && self.b[self.i..].starts_with(b"__END__") => {
                    return None;
                }
                _ => self.token(c)?,
            }
        }
        self.newline_at_eof()?;
        (self.stack.is_empty() && self.paren == 0 && self.heredocs.is_empty()).then_some(())
    }

    /// After a literal that began at `from`: the physical line it ends on.
    fn sync_phys(&mut self, from: usize) {
        if let Some(p) = memchr::memrchr(b'\n', &self.b[from..self.i]) {
            self.phys = from + p + 1;
        }
    }

    fn skip_comment(&mut self) {
        while self.i < self.b.len() && self.b[self.i] != b'\n' {
            self.i += 1;
        }
    }

    fn skip_block_comment(&mut self) -> Option<()> {
        loop {
            // Past this line.
            while self.i < self.b.len() && self.b[self.i] != b'\n' {
                self.i += 1;
            }
            self.i += 1;
            self.phys = self.i;
            if self.i >= self.b.len() {
                return None;
            }
            if self.b[self.i..].starts_with(b"=end") {
                self.skip_comment();
                return Some(());
            }
        }
    }

    fn newline_at_eof(&mut self) -> Option<()> {
        (self.heredocs.is_empty()).then_some(())
    }

    /// A line break in code: heredoc bodies, then whether the statement goes on.
    fn newline(&mut self) -> Option<()> {
        self.i += 1;
        self.phys = self.i;
        self.space_before = true;
        for k in 0..self.heredocs.len() {
            let (id, indented) = self.heredocs[k];
            loop {
                if self.i >= self.b.len() {
                    return None;
                }
                let end =
                    memchr::memchr(b'\n', &self.b[self.i..]).map_or(self.b.len(), |e| self.i + e);
                let mut line = &self.b[self.i..end];
                if line.last() == Some(&b'\r') {
                    line = &line[..line.len() - 1];
                }
                if indented {
                    line = line.trim_ascii_start();
                }
                self.i = (end + 1).min(self.b.len());
                self.phys = self.i;
                if line == id {
                    break;
                }
            }
        }
        self.heredocs.clear();
        let goes_on = !self.need_start
            && (self.paren > 0 || matches!(self.last, Last::Op | Last::Dot) || self.dot_next());
        if !goes_on {
            self.end_statement();
        }
        Some(())
    }

    fn end_statement(&mut self) {
        self.need_start = true;
        self.last = Last::None;
        self.last_ident = false;
        self.after_jump = false;
        self.loop_do = false;
    }

    /// Whether the next line with code starts with `.` or `&.` (a method chain goes on).
    fn dot_next(&self) -> bool {
        let mut k = self.i;
        while k < self.b.len() {
            match self.b[k] {
                b' ' | b'\t' | b'\r' | b'\n' => k += 1,
                b'#' => {
                    while k < self.b.len() && self.b[k] != b'\n' {
                        k += 1;
                    }
                }
                b'.' => return self.at(k + 1) != b'.',
                b'&' => return self.at(k + 1) == b'.',
                _ => return false,
            }
        }
        false
    }

    /// Starts a statement at the first token of a line, if one is due.
    fn begin_token(&mut self, word: Option<&'a str>) {
        if self.need_start {
            self.need_start = false;
            let scope: Vec<&str> = self.stack.iter().rev().filter_map(|o| o.name).collect();
            let in_groups = self.all_groups();
            self.stmts.push(Statement {
                start: self.phys,
                bound: Vec::new(),
                scope,
                in_groups,
            });
            self.tokens = 0;
            self.head = None;
            self.head2 = None;
            self.head_state = 0;
            self.eq_seen = false;
            self.symbol_seen = false;
            self.depth_at_start = self.stack.len();
            // Code that runs when the file loads, directly in a group's body.
            let mut group = Some(0);
            for o in self.stack.iter().rev() {
                match o.kind {
                    Kind::Def | Kind::Unit | Kind::Cand(_) => {
                        group = None;
                        break;
                    }
                    Kind::Group { id, .. } => {
                        group = Some(id);
                        break;
                    }
                    Kind::Other => {}
                }
            }
            if let Some(g) = group
                && !word.is_some_and(|w| QUIET.contains(&w))
            {
                self.busy[g] = true;
            }
        }
        // Head words: `describe`, `RSpec.describe`, `config.before`.
        match (self.head_state, word) {
            (0, Some(w)) if self.tokens == 0 => {
                self.head = Some(w);
                self.head_state = 1;
            }
            (2, Some(w)) => {
                self.head2 = Some(w);
                self.head_state = 3;
            }
            _ => self.head_state = 3,
        }
        self.tokens += 1;
    }

    fn bind(&mut self, name: &'a str) {
        if let Some(st) = self.stmts.last_mut() {
            st.bound.push(name);
        }
    }

    fn value(&mut self) {
        self.last = Last::Value;
        self.last_ident = false;
        self.after_jump = false;
    }

    fn op(&mut self) {
        self.last = Last::Op;
        self.last_ident = false;
        self.after_jump = false;
    }

    fn prev_value(&self) -> bool {
        self.last == Last::Value
    }

    fn token(&mut self, c: u8) -> Option<()> {
        let start = self.i;
        let space = self.space_before;
        self.space_before = false;
        if is_ident_start(c) {
            return self.word(start);
        }
        if c == b':' && self.at(start + 1) == b':' {
            self.begin_token(None);
            self.i += 2;
            self.last = Last::Dot;
            self.last_ident = false;
            return Some(());
        }
        if self.head_state == 1 && c == b'.' && self.at(start + 1) != b'.' {
            self.head_state = 2;
            self.tokens += 1;
            self.i += 1;
            self.last = Last::Dot;
            self.last_ident = false;
            return Some(());
        }
        self.begin_token(None);
        match c {
            b'"' | b'`' => {
                self.i = skip_quoted(self.b, start + 1, c, 0, true, &mut self.heredocs)?;
                self.sync_phys(start);
                self.value();
            }
            b'\'' => {
                self.i = skip_quoted(self.b, start + 1, c, 0, false, &mut self.heredocs)?;
                self.sync_phys(start);
                self.value();
            }
            b':' => {
                let n = self.at(start + 1);
                let symbol = !self.prev_value() || (space && !matches!(n, b' ' | b'\t' | b'\n'));
                if symbol && (n == b'"' || n == b'\'') {
                    self.i = skip_quoted(self.b, start + 2, n, 0, n == b'"', &mut self.heredocs)?;
                    self.sync_phys(start);
                    self.value();
                } else if symbol && is_ident_start(n) {
                    let mut k = start + 1;
                    while is_ident(self.at(k)) {
                        k += 1;
                    }
                    if matches!(self.at(k), b'?' | b'!' | b'=') && self.at(k + 1) != b'=' {
                        k += 1;
                    }
                    let name = &self.s[start + 1..k];
                    if !self.symbol_seen {
                        self.symbol_seen = true;
                        if self.head.is_some_and(|h| NAMERS.contains(&h)) && self.tokens <= 4 {
                            self.bind(name);
                        }
                    }
                    self.i = k;
                    self.value();
                } else if symbol && b"[]=<>+-*/%!~^&|".contains(&n) {
                    let mut k = start + 1;
                    while k < start + 4 && b"[]=<>+-*/%!~^&|@".contains(&self.at(k)) {
                        k += 1;
                    }
                    self.i = k;
                    self.value();
                } else {
                    self.i += 1;
                    self.op();
                }
            }
            b'?' => {
                let n = self.at(start + 1);
                if self.prev_value() || matches!(n, b' ' | b'\t' | b'\n' | b'\r' | 0) {
                    self.i += 1;
                    self.op();
                } else {
                    // A character literal: `?a`, `?\n`.
                    let mut k = start + 1;
                    if n == b'\\' {
                        k += 1;
                    }
                    k += 1;
                    while k < self.b.len() && !self.s.is_char_boundary(k) {
                        k += 1;
                    }
                    if is_ident(self.at(k)) {
                        return None;
                    }
                    self.i = k;
                    self.value();
                }
            }
            b'%' => {
                let literal = !self.prev_value()
                    || (self.last_ident
                        && space
                        && !matches!(self.at(start + 1), b' ' | b'=' | b'\t'));
                let (kind, delim) = match self.at(start + 1) {
                    k @ (b'q' | b'Q' | b'w' | b'W' | b'i' | b'I' | b'r' | b's' | b'x')
                        if !is_ident(self.at(start + 2))
                            && !matches!(self.at(start + 2), b' ' | b'\n' | b'\r' | b'\t' | 0) =>
                    {
                        (k, start + 2)
                    }
                    d if !is_ident(d) && !matches!(d, b' ' | b'\n' | b'\r' | b'\t' | b'=' | 0) => {
                        (b'Q', start + 1)
                    }
                    _ => (0, 0),
                };
                if literal && kind != 0 {
                    let open = self.b[delim];
                    let close = match open {
                        b'(' => b')',
                        b'[' => b']',
                        b'{' => b'}',
                        b'<' => b'>',
                        o => o,
                    };
                    let nest = if close != open { open } else { 0 };
                    let interp = matches!(kind, b'Q' | b'W' | b'I' | b'r' | b'x');
                    self.i =
                        skip_quoted(self.b, delim + 1, close, nest, interp, &mut self.heredocs)?;
                    self.sync_phys(start);
                    if kind == b'r' {
                        while self.at(self.i).is_ascii_alphabetic() {
                            self.i += 1;
                        }
                    }
                    self.value();
                } else if literal && !self.prev_value() {
                    return None;
                } else {
                    self.i += 1;
                    self.op();
                }
            }
            b'/' => {
                let n = self.at(start + 1);
                let regex = !self.prev_value()
                    || (self.last_ident && space && !matches!(n, b' ' | b'=' | b'\t'));
                if regex {
                    self.i = skip_regex(self.b, start + 1)?;
                    self.value();
                } else {
                    self.i += 1;
                    self.op();
                }
            }
            b'<' if self.at(start + 1) == b'<' => {
                let mut k = start + 2;
                let indented = matches!(self.at(k), b'~' | b'-');
                if indented {
                    k += 1;
                }
                let q = self.at(k);
                let heredoc_ok = !self.prev_value() || space;
                let heredoc = heredoc_ok
                    && (matches!(q, b'"' | b'\'' | b'`')
                        || (indented && is_ident_start(q))
                        || q.is_ascii_uppercase()
                        || q == b'_');
                if heredoc {
                    let (id, end) = if matches!(q, b'"' | b'\'' | b'`') {
                        let close = memchr::memchr(q, &self.b[k + 1..])? + k + 1;
                        if self.b[k + 1..close].contains(&b'\n') {
                            return None;
                        }
                        (&self.b[k + 1..close], close + 1)
                    } else {
                        let mut e = k;
                        while is_ident(self.at(e)) {
                            e += 1;
                        }
                        (&self.b[k..e], e)
                    };
                    self.heredocs.push((id, indented));
                    self.i = end;
                    self.value();
                } else if heredoc_ok && !indented && q.is_ascii_lowercase() {
                    return None;
                } else {
                    self.i = start + 2;
                    if self.at(self.i) == b'=' {
                        self.i += 1;
                    }
                    self.op();
                }
            }
            b'(' | b'[' => {
                self.paren += 1;
                self.i += 1;
                self.op();
            }
            b')' | b']' => {
                self.paren = self.paren.checked_sub(1)?;
                self.i += 1;
                self.value();
            }
            b'{' => {
                self.i += 1;
                self.open_block(start, true);
            }
            b'}' => {
                let o = self.stack.pop()?;
                if !o.brace {
                    return None;
                }
                self.i += 1;
                self.close(o, start)?;
                self.value();
            }
            b';' => {
                self.i += 1;
                self.last = Last::None;
                self.last_ident = false;
                self.after_jump = false;
                self.loop_do = false;
            }
            b'.' => {
                if self.at(start + 1) == b'.' {
                    self.i += if self.at(start + 2) == b'.' { 3 } else { 2 };
                    self.op();
                } else {
                    self.i += 1;
                    self.last = Last::Dot;
                    self.last_ident = false;
                }
            }
            b'&' if self.at(start + 1) == b'.' => {
                self.i += 2;
                self.last = Last::Dot;
                self.last_ident = false;
            }
            b'@' => {
                let mut k = start + 1;
                if self.at(k) == b'@' {
                    k += 1;
                }
                while is_ident(self.at(k)) {
                    k += 1;
                }
                self.i = k;
                self.after_ident(start + 1, k, false);
            }
            b'$' => {
                let mut k = start + 1;
                if is_ident_start(self.at(k)) {
                    while is_ident(self.at(k)) {
                        k += 1;
                    }
                } else {
                    k += 1;
                }
                self.i = k;
                self.value();
            }
            b'0'..=b'9' => {
                let mut k = start;
                while is_ident(self.at(k))
                    || (self.at(k) == b'.' && self.at(k + 1).is_ascii_digit())
                {
                    k += 1;
                }
                self.i = k;
                self.value();
            }
            b'=' if matches!(self.at(start + 1), b'=' | b'~' | b'>') => {
                let mut k = start + 1;
                while matches!(self.at(k), b'=' | b'~' | b'>') {
                    k += 1;
                }
                self.i = k;
                self.op();
            }
            b'=' => {
                self.assignment(start);
                self.i += 1;
                self.op();
            }
            _ => {
                // Other operators; `x ||= 1`, `x += 1` are assignments, `!=`, `<=` are not.
                let mut k = start + 1;
                if b"|&*<>+-!^~".contains(&c) {
                    while b"|&*<>+-!^~".contains(&self.at(k)) && k < start + 3 {
                        k += 1;
                    }
                }
                if self.at(k) == b'=' {
                    let assigns = matches!(
                        &self.b[start..k],
                        b"||"
                            | b"&&"
                            | b"+"
                            | b"-"
                            | b"*"
                            | b"**"
                            | b"|"
                            | b"&"
                            | b"^"
                            | b"<<"
                            | b">>"
                    ) && !matches!(self.at(k + 1), b'=' | b'~');
                    if assigns {
                        self.assignment(start);
                    }
                    k += 1;
                }
                while !self.s.is_char_boundary(k) {
                    k += 1;
                }
                self.i = k;
                self.op();
            }
        }
        Some(())
    }

    /// A `=` at `at`: the first at the statement's own level binds every word before it.
    fn assignment(&mut self, at: usize) {
        if !self.eq_seen && self.paren == 0 && self.stack.len() == self.depth_at_start {
            self.eq_seen = true;
            if let Some(st) = self.stmts.last_mut() {
                st.bound.extend(words(&self.s[st.start..at]));
            }
        }
    }

    /// After an identifier `s[from..to]`: a following `=` binds it.
    fn after_ident(&mut self, from: usize, to: usize, site: bool) {
        let mut k = to;
        while matches!(self.at(k), b' ' | b'\t') {
            k += 1;
        }
        let mut op = k;
        while b"|&*<>+-/%^".contains(&self.at(op)) && op < k + 3 {
            op += 1;
        }
        let assigns = self.at(op) == b'='
            && !matches!(self.at(op + 1), b'=' | b'~' | b'>')
            && (op == k
                || matches!(
                    &self.b[k..op],
                    b"||"
                        | b"&&"
                        | b"+"
                        | b"-"
                        | b"*"
                        | b"/"
                        | b"**"
                        | b"%"
                        | b"<<"
                        | b">>"
                        | b"|"
                        | b"&"
                        | b"^"
                ));
        if assigns && from < to {
            let name = &self.s[from..to];
            self.bind(name);
            if site {
                self.sites.push((name, from));
            }
        }
        self.last = Last::Value;
        self.last_ident = true;
        self.after_jump = false;
    }

    fn word(&mut self, start: usize) -> Option<()> {
        let mut k = start;
        while is_ident(self.at(k)) {
            k += 1;
        }
        if matches!(self.at(k), b'?' | b'!') && self.at(k + 1) != b'=' {
            k += 1;
        } else if matches!(self.at(k), b'?' | b'!') && self.at(k + 2) == b'=' {
            // `x!== y`, `a?==b`: rare enough to parse whole.
            return None;
        }
        if !self.s.is_char_boundary(k) {
            return None;
        }
        let w = &self.s[start..k];
        let after_dot = self.last == Last::Dot;
        let label = self.at(k) == b':' && self.at(k + 1) != b':' && !after_dot;
        self.i = k;
        if label {
            self.begin_token(None);
            self.i = k + 1;
            self.op();
            return Some(());
        }
        let first = self.need_start || self.tokens == 0 || self.last == Last::None;
        self.begin_token(Some(w));
        if let Some(c) = self.in_cand {
            let opens = OPENERS_INSIDE.contains(&w) && (first || after_dot);
            let defines = (w == "class" || w == "module" || w == "def") && !after_dot;
            if opens || defines || POISON.contains(&w) {
                self.cands[c].ok = false;
            }
        }
        if after_dot {
            self.after_ident(start, k, false);
            return Some(());
        }
        match w {
            "def" => self.def(start)?,
            "class" | "module" => {
                let mut j = k;
                while matches!(self.at(j), b' ' | b'\t') {
                    j += 1;
                }
                let singleton = self.at(j) == b'<';
                let mut name = None;
                if !singleton {
                    // `class Foo::BarTest < Base`: every segment binds, the last names it.
                    while is_ident_start(self.at(j)) {
                        let s0 = j;
                        while is_ident(self.at(j)) {
                            j += 1;
                        }
                        name = Some(&self.s[s0..j]);
                        self.bind(&self.s[s0..j]);
                        if self.at(j) == b':' && self.at(j + 1) == b':' {
                            j += 2;
                        } else {
                            break;
                        }
                    }
                }
                let kind = if singleton {
                    Kind::Other
                } else {
                    let id = self.busy.len();
                    self.busy.push(false);
                    Kind::Group { id, class: true }
                };
                self.push(kind, false, name);
                self.i = j;
                self.last = Last::None;
                self.last_ident = false;
            }
            "if" | "unless" | "while" | "until" => {
                if self.prev_value() || self.after_jump {
                    self.op();
                } else {
                    self.push(Kind::Other, false, None);
                    if w == "while" || w == "until" {
                        self.loop_do = true;
                    }
                    self.op();
                }
            }
            "case" | "begin" => {
                self.push(Kind::Other, false, None);
                self.last = Last::None;
                self.last_ident = false;
            }
            "for" => {
                self.push(Kind::Other, false, None);
                self.loop_do = true;
                self.op();
            }
            "do" => {
                if self.loop_do {
                    self.loop_do = false;
                    self.last = Last::None;
                    self.last_ident = false;
                } else {
                    self.open_block(start, false);
                }
            }
            "end" => {
                let o = self.stack.pop()?;
                if o.brace {
                    return None;
                }
                self.close(o, start)?;
                self.value();
            }
            "and" | "or" | "not" => self.op(),
            "then" | "else" | "elsif" | "when" | "in" | "rescue" | "ensure" => {
                self.last = Last::None;
                self.last_ident = false;
                self.after_jump = false;
            }
            "return" | "break" | "next" => {
                self.last = Last::None;
                self.last_ident = false;
                self.after_jump = true;
            }
            "self" | "nil" | "true" | "false" | "super" | "yield" | "redo" | "retry" => {
                self.value()
            }
            _ => self.after_ident(start, k, true),
        }
        Some(())
    }

    fn push(&mut self, kind: Kind, brace: bool, name: Option<&'a str>) {
        if self.stack.len() >= MAX_DEPTH {
            self.too_deep = true;
            return;
        }
        let line_start = self.stmts.last().map_or(0, |s| s.start);
        let indent = self.b[line_start..]
            .iter()
            .take_while(|c| matches!(c, b' ' | b'\t'))
            .count();
        self.stack.push(Open {
            kind,
            brace,
            indent,
            line_start,
            name,
        });
    }

    fn all_groups(&self) -> bool {
        self.stack
            .iter()
            .all(|o| matches!(o.kind, Kind::Group { .. }))
    }

    /// The groups around each class or module on the stack.
    fn parents(&self) -> Vec<usize> {
        let mut out = Vec::new();
        let mut outer = 0;
        for o in &self.stack {
            if let Kind::Group { id, class } = o.kind {
                if class {
                    out.push(outer);
                }
                outer = id;
            }
        }
        out
    }

    /// Whether only `|params|`, blanks and a comment follow `k` on its line.
    fn rest_blank(&self, mut k: usize, params: bool) -> bool {
        while matches!(self.at(k), b' ' | b'\t') {
            k += 1;
        }
        if params && self.at(k) == b'|' && self.at(k + 1) != b'|' {
            let Some(e) = memchr::memchr2(b'|', b'\n', &self.b[k + 1..]) else {
                return false;
            };
            if self.b[k + 1 + e] != b'|' {
                return false;
            }
            k += e + 2;
            while matches!(self.at(k), b' ' | b'\t') {
                k += 1;
            }
        }
        matches!(self.at(k), b'#' | b'\n' | b'\r' | 0)
    }

    /// A `do` or `{` at `at`.
    fn open_block(&mut self, at: usize, brace: bool) {
        let first = self.stack.len() == self.depth_at_start && self.paren == 0;
        let method = match self.head_state {
            3 if self.head2.is_some() => self.head2,
            1 | 3 if self.head2.is_none() => self.head,
            _ => None,
        };
        let plain = self.head2.is_none();
        let kind = match method {
            Some(m)
                if first
                    && !brace
                    && GROUPS.contains(&m)
                    && (plain || self.head == Some("RSpec")) =>
            {
                let id = self.busy.len();
                self.busy.push(false);
                Kind::Group { id, class: false }
            }
            Some(m)
                if first
                    && plain
                    && EXAMPLES.contains(&m)
                    && self.all_groups()
                    && self.in_cand.is_none()
                    && (brace || self.rest_blank(at + 2, true)) =>
            {
                let start = self.stmts.last().map_or(0, |s| s.start);
                let parents = self.parents();
                self.cands.push(Cand {
                    range: start..start,
                    name: None,
                    ok: true,
                    parents,
                });
                Kind::Cand(self.cands.len() - 1)
            }
            Some(m) if first && UNITS.contains(&m) => Kind::Unit,
            _ => Kind::Other,
        };
        let name = (kind == Kind::Unit && self.head.is_some_and(|h| NAMERS.contains(&h)))
            .then(|| self.stmts.last().and_then(|s| s.bound.last().copied()))
            .flatten();
        if let Kind::Cand(c) = kind {
            self.in_cand = Some(c);
        }
        self.push(kind, brace, name);
        // Block parameters.
        let mut k = self.i;
        while matches!(self.at(k), b' ' | b'\t') {
            k += 1;
        }
        if self.at(k) == b'|'
            && self.at(k + 1) != b'|'
            && let Some(e) = memchr::memchr2(b'|', b'\n', &self.b[k + 1..])
            && self.b[k + 1 + e] == b'|'
        {
            self.i = k + e + 2;
        }
        self.last = Last::None;
        self.last_ident = false;
        self.after_jump = false;
    }

    /// Closes `o` at the `end` or `}` at `at` (already popped).
    fn close(&mut self, o: Open<'a>, at: usize) -> Option<()> {
        let one_line = o.line_start == self.phys;
        // Only groups and candidates are checked, and they nest no deeper than `MAX_DEPTH`.
        let aligned = || {
            at - self.phys == o.indent
                && self.b[self.phys..at]
                    .iter()
                    .all(|c| matches!(c, b' ' | b'\t'))
        };
        let after = at + if o.brace { 1 } else { 3 };
        match o.kind {
            Kind::Group { .. } if !(one_line || aligned() && self.rest_blank(after, false)) => {
                return None;
            }
            Kind::Cand(c) => {
                self.in_cand = None;
                let fits = if o.brace {
                    one_line && self.rest_blank(after, false)
                } else {
                    if !one_line && !aligned() {
                        return None;
                    }
                    !one_line && self.rest_blank(after, false)
                };
                if fits {
                    let end = memchr::memchr(b'\n', &self.b[after..])
                        .map_or(self.b.len(), |e| after + e + 1);
                    self.cands[c].range.end = end;
                } else {
                    self.cands[c].ok = false;
                }
            }
            _ => {}
        }
        Some(())
    }

    /// `def` at `at`: its name binds; a `test_*` method directly in a class is a candidate.
    fn def(&mut self, at: usize) -> Option<()> {
        let mut k = at + 3;
        while matches!(self.at(k), b' ' | b'\t') {
            k += 1;
        }
        if self.b[k..].starts_with(b"self.") {
            k += 5;
        }
        let n0 = k;
        if is_ident_start(self.at(k)) {
            while is_ident(self.at(k)) {
                k += 1;
            }
            if matches!(self.at(k), b'?' | b'!' | b'=') && !matches!(self.at(k + 1), b'=' | b'~') {
                k += 1;
            }
        } else {
            while b"[]+-*/%<>=!~^&|@`".contains(&self.at(k)) {
                k += 1;
            }
        }
        if k == n0 || !self.s.is_char_boundary(k) {
            return None;
        }
        let full = &self.s[n0..k];
        let name = full.trim_end_matches(['?', '!', '=']);
        if !name.is_empty() {
            self.bind(name);
        }
        let mut j = k;
        if self.at(j) == b'(' {
            j = skip_parens(self.b, j, &mut self.heredocs)?;
        }
        let mut e = j;
        while matches!(self.at(e), b' ' | b'\t') {
            e += 1;
        }
        self.i = j;
        self.last = Last::None;
        self.last_ident = false;
        if self.at(e) == b'=' && !matches!(self.at(e + 1), b'=' | b'~') {
            // An endless method: no `end` follows.
            return Some(());
        }
        let candidate = name == full
            && full.starts_with("test_")
            && n0 == at + 4
            && self.all_groups()
            && self.in_cand.is_none()
            && self.tokens == 1
            && self.paren == 0
            && (j == k || &self.s[k..j] == "()")
            && self.rest_blank(j, false);
        if candidate {
            let start = self.stmts.last().map_or(0, |s| s.start);
            let parents = self.parents();
            self.cands.push(Cand {
                range: start..start,
                name: Some(full),
                ok: true,
                parents,
            });
            let c = self.cands.len() - 1;
            self.in_cand = Some(c);
            self.push(Kind::Cand(c), false, None);
        } else {
            self.push(Kind::Def, false, (!name.is_empty()).then_some(name));
        }
        Some(())
    }
}

/// Past a quoted literal whose body starts at `k` and ends at `close` (nesting `nest`, an
/// opening bracket, when not 0), or `None` if it never ends.
fn skip_quoted<'a>(
    b: &'a [u8],
    mut k: usize,
    close: u8,
    nest: u8,
    interp: bool,
    heredocs: &mut Vec<(&'a [u8], bool)>,
) -> Option<usize> {
    let mut depth = 0usize;
    while k < b.len() {
        let c = b[k];
        if c == b'\\' {
            k += 2;
            continue;
        }
        if c == b'\n' && !heredocs.is_empty() {
            return None;
        }
        if interp && c == b'#' && b.get(k + 1) == Some(&b'{') {
            k = skip_interp(b, k + 2, heredocs)?;
            continue;
        }
        if nest != 0 && c == nest {
            depth += 1;
        } else if c == close {
            if depth == 0 {
                return Some(k + 1);
            }
            depth -= 1;
        }
        k += 1;
    }
    None
}

/// Past the `}` that closes an interpolation whose code starts at `k`.
fn skip_interp<'a>(
    b: &'a [u8],
    mut k: usize,
    heredocs: &mut Vec<(&'a [u8], bool)>,
) -> Option<usize> {
    let mut depth = 1usize;
    while k < b.len() {
        match b[k] {
            b'{' => depth += 1,
            b'}' => {
                depth -= 1;
                if depth == 0 {
                    return Some(k + 1);
                }
            }
            q @ (b'"' | b'\'' | b'`') => {
                k = skip_quoted(b, k + 1, q, 0, q != b'\'', heredocs)?;
                continue;
            }
            b'\n' | b'#' | b'/' | b'%' | b'<' => return None,
            _ => {}
        }
        k += 1;
    }
    None
}

/// Past a regex literal whose body starts at `k`, with its flags; `None` if it spans lines.
fn skip_regex(b: &[u8], mut k: usize) -> Option<usize> {
    let mut class = false;
    let mut none = Vec::new();
    while k < b.len() {
        match b[k] {
            b'\\' => {
                k += 2;
                continue;
            }
            b'\n' => return None,
            b'[' => class = true,
            b']' => class = false,
            b'#' if b.get(k + 1) == Some(&b'{') => {
                k = skip_interp(b, k + 2, &mut none)?;
                continue;
            }
            b'/' if !class => {
                k += 1;
                while b.get(k).is_some_and(u8::is_ascii_alphabetic) {
                    k += 1;
                }
                return Some(k);
            }
            _ => {}
        }
        k += 1;
    }
    None
}

/// Past the `)` matching the `(` at `k`, strings skipped.
fn skip_parens<'a>(
    b: &'a [u8],
    mut k: usize,
    heredocs: &mut Vec<(&'a [u8], bool)>,
) -> Option<usize> {
    let mut depth = 0usize;
    while k < b.len() {
        match b[k] {
            b'(' => depth += 1,
            b')' => {
                depth -= 1;
                if depth == 0 {
                    return Some(k + 1);
                }
            }
            q @ (b'"' | b'\'') => {
                k = skip_quoted(b, k + 1, q, 0, q == b'"', heredocs)?;
                continue;
            }
            b'\n' | b'#' | b'/' | b'%' | b'<' | b'`' => return None,
            _ => {}
        }
        k += 1;
    }
    None
}

/// The candidate's own prefilter, stricter than the file's: any destructive keyword but
/// `delete`, and every `delete` but a request verb (`delete "/orders/1"`), a method call on a
/// name (`params.delete(:token)`), a symbol (`:delete`) and longer words (`deleted_at`).
pub(crate) fn block_may_destroy(text: &str) -> bool {
    let b = text.as_bytes();
    let Some(offsets) = crate::lang::sql_text::destructive_keyword_offsets(b) else {
        return true;
    };
    for at in offsets {
        let is_delete = b.len() >= at + 5 && b[at..at + 5].eq_ignore_ascii_case(b"delet");
        if !is_delete || delete_matters(b, at) {
            return true;
        }
    }
    false
}

fn delete_matters(b: &[u8], at: usize) -> bool {
    let get = |k: usize| b.get(k).copied().unwrap_or(0);
    if !get(at + 5).eq_ignore_ascii_case(&b'e') {
        // `deletion`, `deleting`.
        return false;
    }
    let end = at + 6;
    if is_ident(get(end)) {
        // `delete_all`, `delete_many`; `deleted`, `deletes`, `delete_at` are no operation.
        return b[end..].starts_with(b"_all") || b[end..].starts_with(b"_many");
    }
    if &b[at..end] != b"delete" {
        return true;
    }
    // SQL: `delete from`, `DELETE" + "FROM`.
    let mut k = end;
    while matches!(get(k), b' ' | b'\t' | b'"' | b'\'' | b'+' | b'\n' | b'\r') {
        k += 1;
    }
    if b.len() >= k + 4 && b[k..k + 4].eq_ignore_ascii_case(b"from") {
        return true;
    }
    let before = at.checked_sub(1).map_or(0, |k| b[k]);
    if before == b':' && get(at.wrapping_sub(2)) != b':' {
        return false;
    }
    if before == b'.' {
        let mut r = at - 1;
        if r > 0 && b[r - 1] == b'&' {
            r -= 1;
        }
        let recv = r.checked_sub(1).map_or(0, |k| b[k]);
        return !(is_ident(recv) || matches!(recv, b')' | b'?' | b'!'));
    }
    // A request verb opening a statement: `delete "/x"`, `delete(path)`, `delete :destroy`.
    let prev = b[..at]
        .iter()
        .rev()
        .find(|c| !matches!(c, b' ' | b'\t'))
        .copied()
        .filter(|c| *c != b'\n' && *c != b'\r');
    let opens = matches!(prev, None | Some(b'{' | b';' | b'|' | b'('));
    let mut n = end;
    if get(n) == b' ' {
        n += 1;
    } else if get(n) != b'(' {
        return true;
    }
    let arg = get(n);
    !(opens && (matches!(arg, b'"' | b'\'' | b':' | b'(' | b'%') || is_ident_start(arg)))
}

/// The Ruby file `source` with its droppable tests blanked, or `None` to parse it whole.
pub(crate) fn slice(source: &str, named: &[String]) -> Option<String> {
    let mut scan = Scan::new(source);
    scan.run()?;
    let Scan {
        stmts,
        mut cands,
        busy,
        sites,
        ..
    } = scan;
    for c in &mut cands {
        if c.ok
            && (c.range.is_empty()
                || c.parents.iter().any(|p| busy[*p])
                || memchr::memmem::find(source[c.range.clone()].as_bytes(), b"DATABASE_CLEANER")
                    .is_some())
        {
            c.ok = false;
        }
    }
    cands.retain(|c| c.ok);
    if cands.is_empty() {
        return None;
    }
    // Where a statement opens among groups only: where an empty group may be blanked.
    let group_stmts: Vec<usize> = stmts
        .iter()
        .filter(|st| st.in_groups)
        .map(|st| st.start)
        .collect();
    // The analysis reads a name by its first assignment in the file: a test holding one of a
    // name used elsewhere stays.
    let mut first: HashMap<&str, usize, BuildHasherDefault<Fnv>> = HashMap::default();
    for (name, at) in &sites {
        first.entry(name).or_insert(*at);
    }
    let mut lookups = 0;
    for (name, at) in first {
        let c = cands.partition_point(|c| c.range.end <= at);
        if let Some(cand) = cands.get_mut(c)
            && cand.range.start <= at
            && cand.ok
        {
            lookups += 1;
            if lookups > MAX_LOOKUPS || named_outside(source, name, &cand.range) {
                cand.ok = false;
            }
        }
    }
    cands.retain(|c| c.ok);
    if cands.is_empty() {
        return None;
    }
    let blocks: Vec<Block> = cands
        .iter()
        .map(|c| Block {
            range: c.range.clone(),
            name: c.name,
            fill: "",
            fill_at: c.range.start,
        })
        .collect();
    // Lines: from each statement to the next, cut where a candidate ends.
    let mut lines: Vec<Line> = Vec::with_capacity(stmts.len() + blocks.len() + 1);
    let mut cuts: Vec<(usize, Option<usize>)> = Vec::with_capacity(stmts.len() + blocks.len() + 1);
    cuts.push((0, None));
    let mut bi = 0;
    for (k, st) in stmts.iter().enumerate() {
        while bi < blocks.len() && blocks[bi].range.end <= st.start {
            cuts.push((blocks[bi].range.end, None));
            bi += 1;
        }
        cuts.push((st.start, Some(k)));
    }
    while bi < blocks.len() {
        cuts.push((blocks[bi].range.end, None));
        bi += 1;
    }
    cuts.sort_by_key(|(at, st)| (*at, st.is_some()));
    cuts.dedup_by(|later, earlier| {
        if later.0 == earlier.0 {
            earlier.1 = earlier.1.or(later.1);
            true
        } else {
            false
        }
    });
    let mut stmts = stmts;
    for (n, (at, st)) in cuts.iter().enumerate() {
        let end = cuts.get(n + 1).map_or(source.len(), |c| c.0);
        if *at >= end {
            continue;
        }
        let b = blocks.partition_point(|b| b.range.end <= *at);
        let block = blocks
            .get(b)
            .filter(|b| b.range.start <= *at && end <= b.range.end)
            .map(|_| b);
        let (bound, scope) = match st {
            Some(k) => (
                std::mem::take(&mut stmts[*k].bound),
                std::mem::take(&mut stmts[*k].scope),
            ),
            None => (Vec::new(), Vec::new()),
        };
        lines.push(Line {
            range: *at..end,
            bound,
            scope: if block.is_some() { Vec::new() } else { scope },
            block,
        });
    }
    let lang = Lang {
        may_destroy: block_may_destroy,
        reserved: RESERVED,
        // first assignments are checked by this module.
        binding_readers: None,
    };
    let mut out = plan(source, &lines, &blocks, &lang, named)?.into_bytes();
    // A group left empty, unless the file defines a method a group's call could reach. Its head
    // must open a statement the scanner saw among groups only (never in a method, a loop, a
    // string or a heredoc).
    if !DEFINES_GROUP_NAME.is_match(source) {
        let may_stand_at = |at: usize| group_stmts.binary_search(&at).is_ok();
        super::blank_empty_groups(
            &mut out,
            &EMPTY_GROUP_HEAD,
            &EMPTY_GROUP_TAIL,
            &STATEMENT,
            &may_stand_at,
        );
    }
    // Only ASCII spaces were written, over whole lines.
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sliced(src: &str) -> Option<String> {
        slice(src, &[])
    }

    /// The lines left after slicing, blank lines dropped.
    fn kept(src: &str) -> Vec<String> {
        crate::lang::slice::remaining_lines(src, sliced(src))
    }

    const HOOK: &str = "  before { ActiveRecord::Base.connection.execute(\"TRUNCATE orders\") }\n";

    #[test]
    fn ordinary_examples_are_blanked_and_offsets_kept() {
        let src = format!(
            "require \"rails_helper\"\n\nRSpec.describe Order do\n{HOOK}\n  it \"totals\" do |ex|\n    expect(order.total).to eq(3) # sum\n  end\n\n  it {{ is_expected.to be_valid }}\n  its(:name) {{ is_expected.to eq \"x\" }}\n\n  context \"when paid\" do\n    specify do\n      expect(<<~TXT).to include(\"a\")\n        a b\n      TXT\n    end\n  end\nend\n"
        );
        let out = sliced(&src).expect("sliced");
        assert_eq!(out.len(), src.len());
        assert_eq!(out.matches('\n').count(), src.matches('\n').count());
        assert_eq!(
            kept(&src),
            [
                "require \"rails_helper\"",
                "RSpec.describe Order do",
                HOOK.trim_end(),
                "end",
            ]
        );
    }

    #[test]
    fn minitest_and_rails_tests_are_blanked() {
        let src = "class OrderTest < ActiveSupport::TestCase\n  setup do\n    Order.delete_all\n  end\n\n  test \"totals\" do\n    assert_equal 3, orders(:one).total\n  end\n\n  def test_name\n    assert orders(:one).name\n  end\n\n  def helper\n    1\n  end\nend\n";
        assert_eq!(
            kept(src),
            [
                "class OrderTest < ActiveSupport::TestCase",
                "  setup do",
                "    Order.delete_all",
                "  end",
                "  def helper",
                "    1",
                "  end",
                "end",
            ]
        );
    }

    #[test]
    fn tests_that_can_reach_an_operation_are_kept() {
        let cases = [
            // Its own operation.
            "describe X do\n  before { x }\n  it \"a\" do\n    User.delete_all\n  end\n  it { y }\nend\n",
            // A helper that truncates, called by name.
            "describe X do\n  def wipe\n    conn.execute(\"TRUNCATE t\")\n  end\n  it \"a\" do\n    wipe\n  end\n  it { y }\nend\n",
            // A constant, and a constant built from it.
            "SQL = \"TRUNCATE t\"\nRESET = SQL + \" CASCADE\"\ndescribe X do\n  it \"a\" do\n    conn.execute(RESET)\n  end\n  it { y }\nend\n",
            // A heredoc constant.
            "SQL = <<~S\n  SELECT 1;\n  TRUNCATE t;\nS\ndescribe X do\n  it \"a\" do\n    conn.execute(SQL)\n  end\n  it { y }\nend\n",
            // A minitest test named elsewhere.
            "class T < Minitest::Test\n  def test_ok\n    assert true\n  end\n  def setup\n    test_ok\n    User.delete_all\n  end\n  def test_b\n  end\nend\n",
            // The file's first assignment of a name a hook reads.
            "describe X do\n  it \"a\" do\n    ok = true\n  end\n  before do\n    ok = Rails.env.test?\n    raise unless ok\n    User.delete_all\n  end\n  it { y }\nend\n",
            // Sequel's delete on an element, however spelled.
            "describe X do\n  before { conn.execute(\"TRUNCATE t\") }\n  it \"a\" do\n    DB[:items]&.delete\n  end\n  it { y }\nend\n",
            // SQL spelled in lower case.
            "describe X do\n  before { conn.execute(\"TRUNCATE t\") }\n  it \"a\" do\n    conn.execute(<<~SQL)\n      delete from t\n    SQL\n  end\n  it { y }\nend\n",
        ];
        for src in cases {
            let k = kept(src);
            assert!(
                k.iter()
                    .any(|l| l.contains("it \"a\"") || l.contains("def test_ok")),
                "dropped a test that matters:\n{src}\n{k:#?}"
            );
            assert!(
                !k.iter()
                    .any(|l| l.contains("it { y }") || l.contains("def test_b")),
                "sliced nothing:\n{src}"
            );
        }
    }

    #[test]
    fn tests_that_shape_guards_are_kept() {
        let cases = [
            // A method defined inside a test is a helper of the file.
            "describe X do\n  before { check!; User.delete_all }\n  it \"a\" do\n    def check!\n      raise unless Rails.env.test?\n    end\n  end\n  it { y }\nend\n",
            // A hook or a shared context opened inside a test counts for its group.
            "describe X do\n  before { User.delete_all }\n  it \"a\" do\n    before { raise unless Rails.env.test? }\n  end\n  it { y }\nend\n",
            "describe X do\n  before { User.delete_all }\n  it \"a\" do\n    include_context \"test database\"\n  end\n  it { y }\nend\n",
            "describe X do\n  before { User.delete_all }\n  it \"a\" do\n    ENV[\"DATABASE_CLEANER_ALLOW_PRODUCTION\"] = \"true\"\n  end\n  it { y }\nend\n",
        ];
        for src in cases {
            let k = kept(src);
            assert!(
                k.iter().any(|l| l.contains("it \"a\"")),
                "dropped a test that matters:\n{src}\n{k:#?}"
            );
            assert!(
                !k.iter().any(|l| l.contains("it { y }")),
                "sliced nothing:\n{src}"
            );
        }
    }

    #[test]
    fn lazy_lets_go_like_examples_and_groups_left_empty_go_too() {
        let src = "require \"rails_helper\"\n\nRSpec.describe Order, type: :model do\n  let(:order) { create(:order, state: \"paid\") }\n  let(:sql) { \"TRUNCATE orders\" }\n  let(:wipe) do\n    purge_all\n  end\n  let!(:eager) { create(:user) }\n\n  before { ActiveRecord::Base.connection.execute(sql) }\n\n  describe \"total\" do\n    let(:line) { build(:line) }\n    context 'when empty' do\n      it { expect(order.total).to eq(0) }\n    end\n  end\nend\n\ndef purge_all\n  Order.delete_all\nend\n";
        assert_eq!(
            kept(src),
            [
                "require \"rails_helper\"",
                "RSpec.describe Order, type: :model do",
                "  let(:sql) { \"TRUNCATE orders\" }",
                "  let(:wipe) do",
                "    purge_all",
                "  end",
                "  let!(:eager) { create(:user) }",
                "  before { ActiveRecord::Base.connection.execute(sql) }",
                "end",
                "def purge_all",
                "  Order.delete_all",
                "end",
            ]
        );
        // Near misses: groups whose heads are not in the plain form stay, emptied.
        let src = "describe Y do # slow\n  it { z }\nend\ndescribe \"a #{b}\" do\n  it { z }\nend\nbefore { User.delete_all }\n";
        assert_eq!(
            kept(src),
            [
                "describe Y do # slow",
                "end",
                "describe \"a #{b}\" do",
                "end",
                "before { User.delete_all }"
            ]
        );
    }

    #[test]
    fn hooks_eager_lets_groups_and_helpers_are_never_candidates() {
        let cases = [
            "describe X do\n  before do\n    x\n  end\n  after { y }\n  around do |ex|\n    ex.run\n  end\n  let!(:b) do\n    2\n  end\n  subject { 3 }\n  def helper\n    4\n  end\n  shared_examples \"s\" do\n  end\n  context \"c\" do\n  end\n  it \"drops\" do\n    User.delete_all\n  end\nend\n",
            "RSpec.configure do |config|\n  config.before(:suite) { DatabaseCleaner.clean_with(:truncation) }\nend\n",
            "class T < Minitest::Test\n  def setup\n    User.delete_all\n  end\n  def teardown\n    x\n  end\n  def test_a\n    User.delete_all\n  end\nend\n",
            // Examples in a loop, in a skipped group or behind a condition stay.
            "describe X do\n  before { User.delete_all }\n  %w[a b].each do |r|\n    it \"works for #{r}\" do\n      expect(r).to be\n    end\n  end\n  xdescribe \"y\" do\n    it { z }\n  end\n  xit \"w\" do\n    w\n  end\nend\n",
        ];
        for src in cases {
            assert_eq!(sliced(src), None, "{src}");
        }
    }

    #[test]
    fn classes_beside_code_that_runs_on_load_are_kept() {
        let src = "DatabaseCleaner.strategy = :truncation\nclass T < Minitest::Test\n  def test_a\n    assert_equal \"test\", Rails.env\n  end\nend\n";
        assert_eq!(sliced(src), None);
        let quiet = "require \"test_helper\"\nclass T < Minitest::Test\n  setup { User.delete_all }\n  def test_a\n    assert_equal \"test\", Rails.env\n  end\nend\n";
        assert!(sliced(quiet).is_some());
    }

    #[test]
    fn unusual_layouts_are_parsed_whole() {
        let body = "  before { User.delete_all }\n  it \"a\" do\n    x\n  end\n";
        assert!(sliced(&format!("describe X do\n{body}end\n")).is_some());
        for src in [
            // An `end` out of line with its group, an unclosed string, heredoc or regex.
            format!("describe X do\n{body}  end\n"),
            format!("describe X do\n{body}  y = \"abc\nend\n"),
            format!("describe X do\n{body}  y = <<~A\nend\n"),
            format!("describe X do\n{body}  y = /abc\nend\n"),
            // A group wrapped in a condition, data after `__END__`.
            format!("describe X do\n{body}end if ENV[\"CI\"]\n"),
            format!("describe X do\n{body}end\n__END__\nit do\n"),
            // A comment block that never ends.
            format!("describe X do\n{body}end\n=begin\n"),
        ] {
            assert_eq!(sliced(&src), None, "{src}");
        }
        // An example whose `end` is not alone on its line stays.
        let tail = "describe X do\n  before { User.delete_all }\n  it \"a\" do\n    x\n  end.tap { }\nend\n";
        assert_eq!(sliced(tail), None);
    }

    #[test]
    fn literals_do_not_open_blocks() {
        let src = "describe X do\n  before { User.delete_all }\n  it \"a\" do\n    s = %w[do end if]\n    t = %q{ do } + \"#{ \"end\" } do\" + 'if'\n    u = x ? :end : y.end\n    v = { if: 1, end: 2 }\n    w = /do|end/\n    z = foo if bar\n    q = <<-EOS\n    do\n    EOS\n  end\n=begin\ndo\n=end\n  it { y }\nend\n";
        assert_eq!(
            kept(src),
            [
                "describe X do",
                "  before { User.delete_all }",
                "=begin",
                "do",
                "=end",
                "end"
            ]
        );
    }

    #[test]
    fn block_prefilter_is_stricter_than_the_file_prefilter() {
        for hit in [
            "DB[:items].delete",
            "DB[:items]&.delete",
            "DB[:items]\n  .delete",
            "Order.delete_all",
            "conn.execute(\"DELETE FROM t\")",
            "x = 'delete' + ' from t'",
            "conn.execute(\"Delete t\")",
            "sql = \"delete\\nfrom t\"",
            "User.destroy_all",
        ] {
            assert!(block_may_destroy(hit), "{hit}");
        }
        for miss in [
            "delete \"/orders/1\"",
            "delete :destroy, params: { id: 1 }",
            "expect { delete(path) }.to change(Order, :count)",
            "params.delete(:token)",
            "order.delete",
            "it \"deletes the order\" do",
            "expect(order.deleted_at).to be",
            "request.method = :delete",
        ] {
            assert!(!block_may_destroy(miss), "{miss}");
        }
    }
}
