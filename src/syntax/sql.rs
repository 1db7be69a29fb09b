//! A PL/pgSQL-aware SQL lexer and the statement shapes premortem reads.
//!
//! The lexer understands what decides whether text is code: `--` and nested `/* */` comments,
//! quoted identifiers, string literals (`'..'`, `E'..'`, `U&'..'`, `B'..'`, `X'..'`), dollar
//! quoting with tags (`$$`, `$fn$`), numbers, parameters (`$1`) and operators. Comments are
//! dropped; everything else becomes a [`Token`] with a byte span into the lexed text. Unterminated
//! constructs produce a [`LexError`] and a token running to the end of the text, never a panic.
//!
//! A full SQL grammar is not needed: [`items`] recognises the few statements the rules read.

mod items;
pub mod migrations;
pub mod plpgsql;

use std::ops::Range;

pub use items::{
    DroppedFunction, FunctionBody, IndexDef, Item, SetScope, TriggerTiming, items, items_in_tokens,
};

/// What a token is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    /// An unquoted identifier or keyword (may contain `$` after the first character).
    Word,
    /// A double-quoted identifier; `content` excludes the quotes.
    QuotedIdent,
    /// A quoted string constant; `content` excludes the prefix and quotes.
    String,
    /// A dollar-quoted string constant; `content` excludes the `$tag$` delimiters.
    DollarString,
    /// A numeric constant.
    Number,
    /// A positional parameter such as `$1`.
    Param,
    /// Punctuation or an operator (`(`, `;`, `:=`, `::`, `||`, `=` ...).
    Punct,
}

/// One token: its kind, its span and the span of its content (the same as `span` for words).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    /// What the token is.
    pub kind: TokenKind,
    /// Bytes of the whole token in the lexed text.
    pub span: Range<usize>,
    /// Bytes of the token's content (inside quotes or dollar tags).
    pub content: Range<usize>,
}

impl Token {
    /// The token's text.
    pub fn text<'a>(&self, src: &'a str) -> &'a str {
        src.get(self.span.clone()).unwrap_or("")
    }

    /// True when the token is a word equal to `kw`, ignoring ASCII case.
    pub fn is_word(&self, src: &str, kw: &str) -> bool {
        self.kind == TokenKind::Word && self.text(src).eq_ignore_ascii_case(kw)
    }

    /// True when the token is punctuation spelled exactly `p`.
    pub fn is_punct(&self, src: &str, p: &str) -> bool {
        self.kind == TokenKind::Punct && self.text(src) == p
    }
}

/// A construct the lexer could not finish (an unterminated quote, dollar quote or comment).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LexError {
    /// From the opening delimiter to the end of the text.
    pub span: Range<usize>,
    /// What is wrong, in one sentence.
    pub message: String,
}

/// The tokens of a text and the errors met while lexing it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Lexed {
    /// Tokens in order, comments removed.
    pub tokens: Vec<Token>,
    /// Unterminated constructs.
    pub errors: Vec<LexError>,
}

fn is_ident_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_' || b >= 0x80
}

fn is_ident_cont(b: u8) -> bool {
    is_ident_start(b) || b.is_ascii_digit() || b == b'$'
}

fn is_op_char(b: u8) -> bool {
    matches!(
        b,
        b'+' | b'-'
            | b'*'
            | b'/'
            | b'<'
            | b'>'
            | b'='
            | b'~'
            | b'!'
            | b'@'
            | b'#'
            | b'%'
            | b'^'
            | b'&'
            | b'|'
            | b'`'
            | b'?'
    )
}

/// Lexes `text`. Spans are byte ranges into `text` and always fall on char boundaries.
pub fn lex(text: &str) -> Lexed {
    Lexer {
        s: text.as_bytes(),
        i: 0,
        out: Lexed::default(),
        copy: CopyState::default(),
    }
    .run()
}

/// Tracks `COPY ... FROM stdin;` so the inline data that follows is not lexed as SQL.
#[derive(Default)]
struct CopyState {
    at_statement_start: bool,
    in_copy: bool,
    saw_from: bool,
    from_stdin: bool,
}

struct Lexer<'a> {
    s: &'a [u8],
    i: usize,
    out: Lexed,
    copy: CopyState,
}

impl Lexer<'_> {
    fn peek(&self, k: usize) -> u8 {
        self.s.get(self.i + k).copied().unwrap_or(0)
    }

    fn push(&mut self, kind: TokenKind, span: Range<usize>, content: Range<usize>) {
        self.out.tokens.push(Token {
            kind,
            span,
            content,
        });
    }

    fn error(&mut self, start: usize, message: &str) {
        self.out.errors.push(LexError {
            span: start..self.s.len(),
            message: message.to_string(),
        });
    }

    fn run(mut self) -> Lexed {
        self.copy.at_statement_start = true;
        while self.i < self.s.len() {
            let b = self.s[self.i];
            let start = self.i;
            match b {
                b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c => self.i += 1,
                // A byte order mark is whitespace wherever it appears.
                0xEF if self.peek(1) == 0xBB && self.peek(2) == 0xBF => self.i += 3,
                b'-' if self.peek(1) == b'-' => self.line_comment(),
                b'/' if self.peek(1) == b'*' => self.block_comment(),
                b'\'' => self.string(start, start + 1, false),
                b'"' => self.quoted_ident(start, start + 1),
                b'$' => self.dollar(start),
                b'0'..=b'9' => self.number(start),
                b'.' if self.peek(1).is_ascii_digit() => self.number(start),
                _ if is_ident_start(b) => self.word_or_prefixed(start),
                b':' => {
                    let len = if matches!(self.peek(1), b':' | b'=') {
                        2
                    } else {
                        1
                    };
                    self.i += len;
                    self.push(TokenKind::Punct, start..self.i, start..self.i);
                }
                b'.' => {
                    let len = if self.peek(1) == b'.' { 2 } else { 1 };
                    self.i += len;
                    self.push(TokenKind::Punct, start..self.i, start..self.i);
                }
                _ if is_op_char(b) => self.operator(start),
                _ => {
                    // Any other ASCII byte is a single punctuation token.
                    self.i += 1;
                    self.push(TokenKind::Punct, start..self.i, start..self.i);
                }
            }
            if self
                .out
                .tokens
                .last()
                .is_some_and(|t| t.span.start == start)
            {
                self.after_token();
            }
        }
        self.out
    }

    fn line_comment(&mut self) {
        while self.i < self.s.len() && self.s[self.i] != b'\n' {
            self.i += 1;
        }
    }

    fn block_comment(&mut self) {
        let start = self.i;
        let mut depth = 0usize;
        while self.i < self.s.len() {
            if self.s[self.i] == b'/' && self.peek(1) == b'*' {
                depth += 1;
                self.i += 2;
            } else if self.s[self.i] == b'*' && self.peek(1) == b'/' {
                depth -= 1;
                self.i += 2;
                if depth == 0 {
                    return;
                }
            } else {
                self.i += 1;
            }
        }
        self.error(start, "unterminated /* comment");
    }

    /// A quoted string whose opening quote is at `quote - 1`; `escapes` enables backslashes.
    fn string(&mut self, start: usize, body: usize, escapes: bool) {
        self.i = body;
        while self.i < self.s.len() {
            match self.s[self.i] {
                b'\\' if escapes => self.i += 2,
                b'\'' if self.peek(1) == b'\'' => self.i += 2,
                b'\'' => {
                    self.i += 1;
                    self.push(TokenKind::String, start..self.i, body..self.i - 1);
                    return;
                }
                _ => self.i += 1,
            }
        }
        self.i = self.s.len();
        self.push(TokenKind::String, start..self.i, body..self.i);
        self.error(start, "unterminated string literal");
    }

    fn quoted_ident(&mut self, start: usize, body: usize) {
        self.i = body;
        while self.i < self.s.len() {
            if self.s[self.i] == b'"' {
                if self.peek(1) == b'"' {
                    self.i += 2;
                    continue;
                }
                self.i += 1;
                self.push(TokenKind::QuotedIdent, start..self.i, body..self.i - 1);
                return;
            }
            self.i += 1;
        }
        self.push(
            TokenKind::QuotedIdent,
            start..self.s.len(),
            body..self.s.len(),
        );
        self.error(start, "unterminated quoted identifier");
    }

    fn dollar(&mut self, start: usize) {
        let next = self.peek(1);
        if next.is_ascii_digit() {
            self.i += 1;
            while self.peek(0).is_ascii_digit() {
                self.i += 1;
            }
            self.push(TokenKind::Param, start..self.i, start..self.i);
            return;
        }
        // `$tag$` where tag is empty or an identifier without `$`.
        let mut j = start + 1;
        if is_ident_start(next) {
            while j < self.s.len() && is_ident_cont(self.s[j]) && self.s[j] != b'$' {
                j += 1;
            }
        }
        if self.s.get(j) != Some(&b'$') {
            self.i += 1;
            self.push(TokenKind::Punct, start..self.i, start..self.i);
            return;
        }
        let delim = &self.s[start..=j];
        let body = j + 1;
        match memchr::memmem::find(&self.s[body..], delim) {
            Some(k) => {
                self.i = body + k + delim.len();
                self.push(TokenKind::DollarString, start..self.i, body..body + k);
            }
            None => {
                self.i = self.s.len();
                self.push(TokenKind::DollarString, start..self.i, body..self.i);
                let tag = String::from_utf8_lossy(delim).into_owned();
                self.error(start, &format!("unterminated dollar-quoted string {tag}"));
            }
        }
    }

    fn number(&mut self, start: usize) {
        while self.peek(0).is_ascii_digit() || self.peek(0) == b'_' {
            self.i += 1;
        }
        if self.peek(0) == b'.' && self.peek(1) != b'.' {
            self.i += 1;
            while self.peek(0).is_ascii_digit() || self.peek(0) == b'_' {
                self.i += 1;
            }
        }
        if matches!(self.peek(0), b'e' | b'E')
            && (self.peek(1).is_ascii_digit()
                || (matches!(self.peek(1), b'+' | b'-') && self.peek(2).is_ascii_digit()))
        {
            self.i += 2;
            while self.peek(0).is_ascii_digit() {
                self.i += 1;
            }
        }
        // Trailing identifier characters (hex `0x1F`, junk) stay in the number token.
        while self.i < self.s.len() && is_ident_cont(self.s[self.i]) && self.s[self.i] != b'$' {
            self.i += 1;
        }
        self.push(TokenKind::Number, start..self.i, start..self.i);
    }

    fn word_or_prefixed(&mut self, start: usize) {
        let b = self.s[start].to_ascii_lowercase();
        let next = self.peek(1);
        if next == b'\'' && matches!(b, b'e' | b'b' | b'x' | b'n') {
            return self.string(start, start + 2, b == b'e');
        }
        if b == b'u' && next == b'&' && self.peek(2) == b'\'' {
            return self.string(start, start + 3, false);
        }
        if b == b'u' && next == b'&' && self.peek(2) == b'"' {
            return self.quoted_ident(start, start + 3);
        }
        while self.i < self.s.len() && is_ident_cont(self.s[self.i]) {
            self.i += 1;
        }
        self.push(TokenKind::Word, start..self.i, start..self.i);
    }

    fn operator(&mut self, start: usize) {
        while self.i < self.s.len() && is_op_char(self.s[self.i]) {
            // A comment start ends the operator.
            if self.i > start
                && ((self.s[self.i] == b'-' && self.peek(1) == b'-')
                    || (self.s[self.i] == b'/' && self.peek(1) == b'*'))
            {
                break;
            }
            self.i += 1;
        }
        self.push(TokenKind::Punct, start..self.i, start..self.i);
    }

    /// After each token: skip the inline data of `COPY ... FROM stdin;` up to its `\.` line.
    fn after_token(&mut self) {
        let Some(tok) = self.out.tokens.last() else {
            return;
        };
        let text = std::str::from_utf8(&self.s[tok.span.clone()]).unwrap_or("");
        let is_semi = tok.kind == TokenKind::Punct && text == ";";
        let c = &mut self.copy;
        if c.at_statement_start {
            c.in_copy = tok.kind == TokenKind::Word && text.eq_ignore_ascii_case("copy");
            c.saw_from = false;
            c.from_stdin = false;
        } else if c.in_copy && tok.kind == TokenKind::Word {
            if text.eq_ignore_ascii_case("from") {
                c.saw_from = true;
            } else if c.saw_from && text.eq_ignore_ascii_case("stdin") {
                c.from_stdin = true;
            }
        }
        c.at_statement_start = is_semi;
        if is_semi && c.in_copy && c.from_stdin {
            c.in_copy = false;
            self.skip_copy_data();
        }
    }

    fn skip_copy_data(&mut self) {
        // Data starts on the line after the `;` and ends with a line holding `\.`.
        while self.i < self.s.len() && self.s[self.i] != b'\n' {
            self.i += 1;
        }
        while self.i < self.s.len() {
            self.i += 1;
            let line_end = memchr::memchr(b'\n', &self.s[self.i..])
                .map(|k| self.i + k)
                .unwrap_or(self.s.len());
            let line = &self.s[self.i..line_end];
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            self.i = line_end;
            if line == b"\\." {
                return;
            }
        }
    }
}

/// Splits a token list into statements: token index ranges separated by `;` (not included).
///
/// A `BEGIN ATOMIC ... END` function body keeps its inner semicolons, and a psql meta-command
/// (a line starting with `\`) ends the statement before it and is dropped.
pub fn statements(text: &str, tokens: &[Token]) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut atomic_depth = 0usize;
    let mut i = 0;
    while i < tokens.len() {
        let t = &tokens[i];
        if t.is_punct(text, "\\") && starts_line(text, t.span.start) {
            if start < i {
                out.push(start..i);
            }
            let line_end = text[t.span.start..]
                .find('\n')
                .map_or(text.len(), |k| t.span.start + k);
            while i < tokens.len() && tokens[i].span.start < line_end {
                i += 1;
            }
            start = i;
            continue;
        }
        let opens_atomic =
            t.is_word(text, "atomic") && i > 0 && tokens[i - 1].is_word(text, "begin");
        if opens_atomic || (atomic_depth > 0 && t.is_word(text, "case")) {
            atomic_depth += 1;
        } else if atomic_depth > 0 && t.is_word(text, "end") {
            atomic_depth -= 1;
        } else if atomic_depth == 0 && t.is_punct(text, ";") {
            if start < i {
                out.push(start..i);
            }
            start = i + 1;
        }
        i += 1;
    }
    if start < tokens.len() {
        out.push(start..tokens.len());
    }
    out
}

fn starts_line(text: &str, at: usize) -> bool {
    // Stops at the first non-blank byte, so a long line costs nothing.
    let before = text.as_bytes().get(..at).unwrap_or(&[]);
    before
        .iter()
        .rev()
        .take_while(|&&b| b != b'\n')
        .all(|b| b.is_ascii_whitespace())
}

/// Lowercases an unquoted identifier and unescapes a quoted one (`"A""b"` -> `A"b`).
pub fn ident_name(text: &str, tok: &Token) -> String {
    let content = text.get(tok.content.clone()).unwrap_or("");
    match tok.kind {
        TokenKind::QuotedIdent => content.replace("\"\"", "\""),
        _ => content.to_ascii_lowercase(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn kinds_and_texts(src: &str) -> Vec<(TokenKind, &str)> {
        lex(src)
            .tokens
            .iter()
            .map(|t| (t.kind, t.text(src)))
            .collect()
    }

    fn words(src: &str) -> Vec<String> {
        lex(src)
            .tokens
            .iter()
            .filter(|t| t.kind == TokenKind::Word)
            .map(|t| t.text(src).to_ascii_lowercase())
            .collect()
    }

    #[test]
    fn comments_hide_code() {
        let cases = [
            ("SELECT 1 -- LIMIT 1\n", vec!["select"]),
            ("a /* b /* nested */ still comment */ c", vec!["a", "c"]),
            ("a/*x*/b", vec!["a", "b"]),
            ("x --y\nz", vec!["x", "z"]),
            ("x-/*c*/y", vec!["x", "y"]),
        ];
        for (src, want) in cases {
            assert_eq!(words(src), want, "{src}");
        }
    }

    #[test]
    fn strings_and_quoted_identifiers() {
        use TokenKind::*;
        let src = r#"'it''s' E'a\'b' "Od""d" U&'x' b'01' n'x'"#;
        let got = kinds_and_texts(src);
        assert_eq!(
            got,
            vec![
                (String, "'it''s'"),
                (String, r"E'a\'b'"),
                (QuotedIdent, r#""Od""d""#),
                (String, "U&'x'"),
                (String, "b'01'"),
                (String, "n'x'"),
            ]
        );
        let toks = lex(src).tokens;
        assert_eq!(&src[toks[0].content.clone()], "it''s");
        assert_eq!(ident_name(src, &toks[2]), "Od\"d");
        // `e` alone is a word, `e'` starts a string.
        assert_eq!(words("e + E"), vec!["e", "e"]);
    }

    #[test]
    fn dollar_quoting_with_tags() {
        let src = "AS $fn$ BEGIN x := $$inner$$; END $fn$ LANGUAGE plpgsql";
        let lexed = lex(src);
        assert!(lexed.errors.is_empty());
        let d: Vec<_> = lexed
            .tokens
            .iter()
            .filter(|t| t.kind == TokenKind::DollarString)
            .collect();
        assert_eq!(d.len(), 1);
        assert_eq!(&src[d[0].content.clone()], " BEGIN x := $$inner$$; END ");
        // `$1` is a parameter, `a$b` one word, a lone `$` punctuation.
        assert_eq!(
            kinds_and_texts("$1 a$b $ x"),
            vec![
                (TokenKind::Param, "$1"),
                (TokenKind::Word, "a$b"),
                (TokenKind::Punct, "$"),
                (TokenKind::Word, "x"),
            ]
        );
    }

    #[test]
    fn unterminated_constructs_are_errors_not_panics() {
        let cases = [
            ("SELECT $body$ never closed", "dollar"),
            ("SELECT 'open", "string"),
            ("SELECT \"open", "quoted identifier"),
            ("SELECT /* open /* nested */", "comment"),
        ];
        for (src, what) in cases {
            let l = lex(src);
            assert_eq!(l.errors.len(), 1, "{src}");
            assert!(l.errors[0].message.contains(what), "{src}");
            assert_eq!(l.errors[0].span.end, src.len());
        }
        assert!(lex("SELECT $$ ok $$").errors.is_empty());
    }

    #[test]
    fn operators_and_punctuation() {
        let got: Vec<&str> = kinds_and_texts("a:=b::int||c<>d=-1 x..y <<l>>")
            .into_iter()
            .map(|(_, t)| t)
            .collect();
        assert_eq!(
            got,
            vec![
                "a", ":=", "b", "::", "int", "||", "c", "<>", "d", "=-", "1", "x", "..", "y", "<<",
                "l", ">>"
            ]
        );
        assert_eq!(words("1..10"), Vec::<String>::new());
        assert_eq!(
            kinds_and_texts("1..10").len(),
            3,
            "a range is number, dots, number"
        );
    }

    #[test]
    fn bom_and_crlf_are_whitespace() {
        assert_eq!(words("\u{FEFF}SELECT\r\n1;\r\n"), vec!["select"]);
    }

    #[test]
    fn copy_from_stdin_data_is_skipped() {
        let src = "COPY t (a) FROM stdin;\nit's data -- not code\n\\.\nSELECT 1;";
        let l = lex(src);
        assert!(l.errors.is_empty());
        assert_eq!(
            words(src),
            vec!["copy", "t", "a", "from", "stdin", "select"]
        );
        // COPY to a file is ordinary SQL.
        assert_eq!(
            words("COPY t FROM '/x';\nSELECT 1;").last().unwrap(),
            "select"
        );
    }

    #[test]
    fn statement_boundaries() {
        let src = "SELECT 1; ;CREATE FUNCTION f() RETURNS int BEGIN ATOMIC SELECT 1; SELECT CASE WHEN true THEN 2 END; END; SELECT 'a;b'\n\\connect x\nSELECT 3";
        let l = lex(src);
        let st = statements(src, &l.tokens);
        let firsts: Vec<String> = st
            .iter()
            .map(|r| l.tokens[r.start].text(src).to_ascii_lowercase())
            .collect();
        assert_eq!(firsts, vec!["select", "create", "select", "select"]);
        let last_of_create = &l.tokens[st[1].end - 1];
        assert!(last_of_create.is_word(src, "end"));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        #[test]
        fn lexer_never_panics_and_spans_are_valid(s in "(\\PC|[$'\"/*\\-;\\\\ ]|\\$\\$|\\$t\\$|/\\*|\\*/|--|E'){0,64}") {
            let l = lex(&s);
            for t in &l.tokens {
                prop_assert!(t.span.start <= t.span.end && t.span.end <= s.len());
                prop_assert!(s.is_char_boundary(t.span.start) && s.is_char_boundary(t.span.end));
                prop_assert!(t.content.start >= t.span.start && t.content.end <= t.span.end);
                prop_assert!(s.is_char_boundary(t.content.start) && s.is_char_boundary(t.content.end));
            }
            for e in &l.errors {
                prop_assert!(e.span.end <= s.len() && s.is_char_boundary(e.span.start));
            }
            let st = statements(&s, &l.tokens);
            for r in st {
                prop_assert!(r.start < r.end && r.end <= l.tokens.len());
            }
        }
    }
}
