//! The block structure of a PL/pgSQL body: statements, `IF`/`CASE` branches, loops and
//! `BEGIN ... EXCEPTION ... END` blocks. Expressions stay token ranges; callers read them.

use std::ops::Range;

use super::{Lexed, Token, TokenKind, lex};

/// Nesting deeper than this is read as flat statements, so hostile input cannot overflow the stack.
const MAX_DEPTH: usize = 64;

/// One PL/pgSQL statement. Token ranges index [`PlBody::lexed`]`.tokens`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stmt {
    /// A statement without nested statements (assignment, `SELECT`, `PERFORM`, `RETURN`...).
    Simple(Range<usize>),
    /// The condition or header of a compound statement (`IF` condition, `CASE` selector or
    /// `WHEN` value, loop header), placed just before it: evaluated, never an assignment.
    Cond(Range<usize>),
    /// `IF`/`ELSIF`/`ELSE` or a `CASE` statement. `exhaustive` is true when no path skips every
    /// branch (an `ELSE` exists, or a `CASE` that raises when nothing matches).
    Branch {
        /// The statements of each branch.
        branches: Vec<Vec<Stmt>>,
        /// True when some branch always runs.
        exhaustive: bool,
    },
    /// `LOOP`, `WHILE`, `FOR`, `FOREACH`: the body may run zero or more times.
    Loop(Vec<Stmt>),
    /// `[DECLARE ...] BEGIN ... [EXCEPTION WHEN ... THEN ...] END`.
    Block {
        /// Declarations, each a simple statement.
        decls: Vec<Stmt>,
        /// The block's statements.
        body: Vec<Stmt>,
        /// The statements of each exception handler.
        handlers: Vec<Vec<Stmt>>,
    },
}

/// A lexed and structured PL/pgSQL body.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PlBody {
    /// The body's tokens and lexing errors; spans are relative to the body text.
    pub lexed: Lexed,
    /// The top-level statements.
    pub stmts: Vec<Stmt>,
}

/// Lexes and structures a PL/pgSQL body.
pub fn parse(text: &str) -> PlBody {
    let lexed = lex(text);
    let stmts = {
        let mut p = Parser {
            text,
            toks: &lexed.tokens,
            i: 0,
        };
        p.list(&[], 0)
    };
    PlBody { lexed, stmts }
}

/// All simple statements in textual order (conditions and loop headers excluded).
pub fn simple_statements(stmts: &[Stmt]) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    collect(stmts, &mut out);
    out
}

fn collect(stmts: &[Stmt], out: &mut Vec<Range<usize>>) {
    for s in stmts {
        match s {
            Stmt::Simple(r) => out.push(r.clone()),
            Stmt::Cond(_) => {}
            Stmt::Branch { branches, .. } => branches.iter().for_each(|b| collect(b, out)),
            Stmt::Loop(body) => collect(body, out),
            Stmt::Block {
                decls,
                body,
                handlers,
            } => {
                collect(decls, out);
                collect(body, out);
                handlers.iter().for_each(|h| collect(h, out));
            }
        }
    }
}

struct Parser<'a> {
    text: &'a str,
    toks: &'a [Token],
    i: usize,
}

impl Parser<'_> {
    fn is(&self, kw: &str) -> bool {
        self.toks
            .get(self.i)
            .is_some_and(|t| t.is_word(self.text, kw))
    }

    fn is_punct(&self, p: &str) -> bool {
        self.toks
            .get(self.i)
            .is_some_and(|t| t.is_punct(self.text, p))
    }

    fn list(&mut self, stops: &[&str], depth: usize) -> Vec<Stmt> {
        let mut out = Vec::new();
        loop {
            while self.is_punct(";") {
                self.i += 1;
            }
            if self.i >= self.toks.len() || stops.iter().any(|s| self.is(s)) {
                return out;
            }
            let before = self.i;
            self.stmt(&mut out, depth);
            if self.i == before {
                self.i += 1;
            }
        }
    }

    fn stmt(&mut self, out: &mut Vec<Stmt>, depth: usize) {
        if depth >= MAX_DEPTH {
            return self.simple(out);
        }
        if self.is_punct("#") {
            // `#variable_conflict use_column`, `#print_strict_params on`: a directive line.
            let start = self.toks[self.i].span.end;
            let line_end = self.text[start..]
                .find('\n')
                .map_or(self.text.len(), |k| start + k);
            while self
                .toks
                .get(self.i)
                .is_some_and(|t| t.span.start < line_end)
            {
                self.i += 1;
            }
            return;
        }
        if self.is_punct("<<") {
            // `<<label>>` before a block or loop.
            while self.i < self.toks.len() && !self.is_punct(">>") {
                self.i += 1;
            }
            self.i += 1;
            return;
        }
        let d = depth + 1;
        if self.is("declare") {
            self.i += 1;
            let decls = self.list(&["begin"], d);
            return self.block(out, decls, d);
        }
        if self.is("begin") {
            return self.block(out, Vec::new(), d);
        }
        if self.is("if") {
            let mut branches = Vec::new();
            let mut exhaustive = false;
            loop {
                self.i += 1;
                let cond = self.scan_to("then");
                out.push(Stmt::Cond(cond));
                branches.push(self.list(&["elsif", "elseif", "else", "end"], d));
                if self.is("elsif") || self.is("elseif") {
                    continue;
                }
                if self.is("else") {
                    self.i += 1;
                    branches.push(self.list(&["end"], d));
                    exhaustive = true;
                }
                break;
            }
            self.end();
            return out.push(Stmt::Branch {
                branches,
                exhaustive,
            });
        }
        if self.is("case") {
            self.i += 1;
            let selector = self.scan_to("when");
            // Leave the first WHEN for the branch loop.
            if self.i > 0
                && self
                    .toks
                    .get(self.i - 1)
                    .is_some_and(|t| t.is_word(self.text, "when"))
            {
                self.i -= 1;
            }
            if !selector.is_empty() {
                out.push(Stmt::Cond(selector));
            }
            let mut branches = Vec::new();
            while self.is("when") {
                self.i += 1;
                let cond = self.scan_to("then");
                out.push(Stmt::Cond(cond));
                branches.push(self.list(&["when", "else", "end"], d));
            }
            if self.is("else") {
                self.i += 1;
                branches.push(self.list(&["end"], d));
            }
            self.end();
            // A CASE statement with no matching branch raises CASE_NOT_FOUND: no path skips it.
            return out.push(Stmt::Branch {
                branches,
                exhaustive: true,
            });
        }
        if self.is("loop") || self.is("while") || self.is("for") || self.is("foreach") {
            if !self.is("loop") {
                let header = self.scan_to("loop");
                out.push(Stmt::Cond(header.start + 1..header.end));
            } else {
                self.i += 1;
            }
            let body = self.list(&["end"], d);
            self.end();
            return out.push(Stmt::Loop(body));
        }
        self.simple(out)
    }

    fn block(&mut self, out: &mut Vec<Stmt>, decls: Vec<Stmt>, d: usize) {
        if self.is("begin") {
            self.i += 1;
        }
        let body = self.list(&["end", "exception"], d);
        let mut handlers = Vec::new();
        if self.is("exception") {
            self.i += 1;
            while self.is("when") {
                self.i += 1;
                self.scan_to("then");
                handlers.push(self.list(&["when", "end"], d));
            }
        }
        self.end();
        out.push(Stmt::Block {
            decls,
            body,
            handlers,
        });
    }

    /// Consumes `END [IF|LOOP|CASE|label] [;]`.
    fn end(&mut self) {
        if !self.is("end") {
            return;
        }
        self.i += 1;
        if self.is("if") || self.is("loop") || self.is("case") {
            self.i += 1;
        }
        let label = self
            .toks
            .get(self.i)
            .is_some_and(|t| matches!(t.kind, TokenKind::Word | TokenKind::QuotedIdent));
        if label
            && self
                .toks
                .get(self.i + 1)
                .is_some_and(|t| t.is_punct(self.text, ";"))
        {
            self.i += 1;
        }
        if self.is_punct(";") {
            self.i += 1;
        }
    }

    /// Token range up to (not including) the keyword `kw` at nesting level 0, which is then
    /// consumed. Stops at `;` when the keyword is missing.
    fn scan_to(&mut self, kw: &str) -> Range<usize> {
        let start = self.i;
        let mut parens = 0usize;
        let mut cases = 0usize;
        while let Some(t) = self.toks.get(self.i) {
            if parens == 0 && cases == 0 && t.is_word(self.text, kw) {
                let r = start..self.i;
                self.i += 1;
                return r;
            }
            if t.is_punct(self.text, "(") {
                parens += 1;
            } else if t.is_punct(self.text, ")") {
                parens = parens.saturating_sub(1);
            } else if t.is_word(self.text, "case") {
                cases += 1;
            } else if t.is_word(self.text, "end") && cases > 0 {
                cases -= 1;
            } else if parens == 0 && t.is_punct(self.text, ";") {
                break;
            }
            self.i += 1;
        }
        start..self.i
    }

    fn simple(&mut self, out: &mut Vec<Stmt>) {
        let start = self.i;
        let mut parens = 0usize;
        while let Some(t) = self.toks.get(self.i) {
            if t.is_punct(self.text, "(") {
                parens += 1;
            } else if t.is_punct(self.text, ")") {
                parens = parens.saturating_sub(1);
            } else if parens == 0 && t.is_punct(self.text, ";") {
                break;
            }
            self.i += 1;
        }
        if start < self.i {
            out.push(Stmt::Simple(start..self.i));
        }
        if self.is_punct(";") {
            self.i += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Renders the structure compactly: simple statements by their first word.
    fn shape(src: &str) -> String {
        let body = parse(src);
        fn go(src: &str, toks: &[Token], stmts: &[Stmt], out: &mut String) {
            for s in stmts {
                match s {
                    Stmt::Simple(r) | Stmt::Cond(r) => {
                        let w = toks.get(r.start).map_or("", |t| t.text(src));
                        if matches!(s, Stmt::Cond(_)) {
                            out.push('?');
                        }
                        out.push_str(&w.to_ascii_lowercase());
                        out.push(' ');
                    }
                    Stmt::Branch {
                        branches,
                        exhaustive,
                    } => {
                        out.push_str(if *exhaustive { "IF!{" } else { "IF{" });
                        for b in branches {
                            out.push('[');
                            go(src, toks, b, out);
                            out.push(']');
                        }
                        out.push_str("} ");
                    }
                    Stmt::Loop(b) => {
                        out.push_str("LOOP{");
                        go(src, toks, b, out);
                        out.push_str("} ");
                    }
                    Stmt::Block {
                        decls,
                        body,
                        handlers,
                    } => {
                        out.push_str("BLOCK{");
                        go(src, toks, decls, out);
                        out.push('|');
                        go(src, toks, body, out);
                        for h in handlers {
                            out.push_str("|H:");
                            go(src, toks, h, out);
                        }
                        out.push_str("} ");
                    }
                }
            }
        }
        let mut out = String::new();
        go(src, &body.lexed.tokens, &body.stmts, &mut out);
        out.trim_end().to_string()
    }

    #[test]
    fn structures() {
        let cases = [
            (
                "DECLARE prev text; BEGIN SELECT 1 INTO prev; RETURN NEW; END;",
                "BLOCK{prev |select return }",
            ),
            (
                "BEGIN IF a THEN x := 1; ELSIF b THEN y := 2; ELSE z := 3; END IF; RETURN NEW; END",
                "BLOCK{|?a ?b IF!{[x ][y ][z ]} return }",
            ),
            (
                "BEGIN IF a THEN PERFORM f(); END IF; END",
                "BLOCK{|?a IF{[perform ]} }",
            ),
            (
                "BEGIN FOR r IN SELECT * FROM t LOOP x := r.a; END LOOP; END",
                "BLOCK{|?r LOOP{x } }",
            ),
            (
                "BEGIN <<outer>> LOOP EXIT; END LOOP outer; END",
                "BLOCK{|LOOP{exit } }",
            ),
            (
                "BEGIN x := CASE WHEN a THEN 1 ELSE 2 END; END",
                "BLOCK{|x }",
            ),
            (
                "BEGIN CASE v WHEN 1 THEN a := 1; ELSE b := 2; END CASE; END",
                "BLOCK{|?v ?1 IF!{[a ][b ]} }",
            ),
            (
                "BEGIN BEGIN x := 1; EXCEPTION WHEN others THEN y := 2; END; END",
                "BLOCK{|BLOCK{|x |H:y } }",
            ),
            (
                "#variable_conflict use_column\nBEGIN x := 1; END",
                "BLOCK{|x }",
            ),
            (
                "BEGIN IF CASE WHEN a THEN true END THEN x := 1; END IF; END",
                "BLOCK{|?case IF{[x ]} }",
            ),
        ];
        for (src, want) in cases {
            assert_eq!(shape(src), want, "{src}");
        }
    }

    #[test]
    fn raise_strings_and_comments_are_not_statements() {
        let src = "BEGIN RAISE NOTICE 'SELECT x; LIMIT 1'; -- SELECT y;\n RETURN NEW; END";
        assert_eq!(shape(src), "BLOCK{|raise return }");
    }

    #[test]
    fn deep_nesting_is_bounded() {
        let src = "BEGIN ".repeat(10_000) + &"END; ".repeat(10_000);
        let body = parse(&src);
        assert!(!body.stmts.is_empty());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        #[test]
        fn parse_never_panics(words in proptest::collection::vec(
            prop_oneof![
                Just("BEGIN"), Just("END"), Just("IF"), Just("THEN"), Just("ELSE"), Just("LOOP"),
                Just("CASE"), Just("WHEN"), Just("EXCEPTION"), Just(";"), Just("("), Just(")"),
                Just("<<"), Just(">>"), Just("x"), Just("DECLARE"), Just("FOR"), Just("$$"),
            ], 0..48)) {
            let src = words.join(" ");
            let body = parse(&src);
            for r in simple_statements(&body.stmts) {
                prop_assert!(r.start <= r.end && r.end <= body.lexed.tokens.len());
            }
        }
    }
}
