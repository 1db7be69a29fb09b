//! Logical lines and droppable tests of a Go test file: `func TestXxx(t *testing.T) {` (and
//! `BenchmarkXxx(b *testing.B)`, `FuzzXxx(f *testing.F)`) at column 0, from that header line to
//! the `}` alone at column 0 that closes it (gofmt's layout). Helpers, methods, `TestMain`,
//! `init` and one-line tests are never candidates.
//!
//! Go adds one condition to those of [`super`]: the analysis resolves a name to its first
//! one-to-one binding anywhere in the file, whatever the function (`q := "..."`,
//! `ok := env == "test"`; not `a, b := ...`), so
//! a test that holds the first binding of a name written anywhere outside it is kept: dropping it
//! would change what that name means to a kept guard or operation.

use std::collections::HashSet;
use std::hash::BuildHasherDefault;

use super::{Block, Fnv, Lang, Line};

type Range = std::ops::Range<usize>;

const RESERVED: &[&str] = &[
    "break",
    "case",
    "chan",
    "const",
    "continue",
    "default",
    "defer",
    "else",
    "fallthrough",
    "for",
    "func",
    "go",
    "goto",
    "if",
    "import",
    "interface",
    "map",
    "package",
    "range",
    "return",
    "select",
    "struct",
    "switch",
    "type",
    "var",
    "nil",
    "true",
    "false",
    "iota",
    "_",
];

/// Statements whose braces open a branch or loop, not something a name is bound to.
const CONTROL: &[&str] = &[
    "if", "for", "switch", "select", "else", "case", "default", "go", "defer", "return",
];

/// Calls whose result can be the text of an operation (the analysis evaluates `fmt.Sprintf`; the
/// rest plainly build strings). A name bound to any other call's result holds a value (a result,
/// an error, a transaction), which carries no operation: the operations on it name their own
/// keyword (`tx.Exec("TRUNCATE t")`, `coll.Drop(ctx)`).
const TEXT_CALLS: &[&str] = &[
    "Sprintf",
    "Sprint",
    "Sprintln",
    "Join",
    "Replace",
    "ReplaceAll",
    "Repeat",
    "TrimSpace",
    "Trim",
    "TrimPrefix",
    "TrimSuffix",
    "ToUpper",
    "ToLower",
];

/// One statement-level line: a statement with its continuation lines, a block's opening line, a
/// closing brace, or one spec of a `var (` / `const (` group.
struct Logical {
    range: Range,
    /// Where its text starts, after the indentation.
    text: usize,
    /// It is one physical line.
    single: bool,
    /// Braces it closes before any it opens, and braces it leaves open.
    pops: usize,
    pushes: usize,
    /// Its assignment operators, as indices into the list [`lex`] returns beside the lines.
    assigns: Range,
}

/// An assignment: where its operator starts and where its right-hand side does.
type Assign = (usize, usize);

/// The index just past the line break that ends the physical line holding `i` (or the end).
fn line_end(b: &[u8], i: usize) -> usize {
    memchr::memchr(b'\n', &b[i..]).map_or(b.len(), |n| i + n + 1)
}

/// The index just past the string or rune literal opening at `i`, or `None` if it does not close
/// on its line.
fn skip_quoted(b: &[u8], i: usize) -> Option<usize> {
    let q = b[i];
    let mut j = i + 1;
    loop {
        match *b.get(j)? {
            b'\\' => j += 2,
            b'\n' => return None,
            c if c == q => return Some(j + 1),
            _ => j += 1,
        }
    }
}

/// Whether a line whose last two significant bytes are `last2`, `last` continues on the next
/// (Go inserts no semicolon after a binary operator, a comma or a dot).
fn continues(last: u8, last2: u8) -> bool {
    matches!(
        last,
        b'+' | b'-'
            | b'*'
            | b'/'
            | b'%'
            | b'&'
            | b'|'
            | b'^'
            | b'<'
            | b'>'
            | b'='
            | b','
            | b'.'
            | b'!'
    ) && !(matches!(last, b'+' | b'-') && last2 == last)
}

/// Where the assignment operator whose `=` is at `i` starts, or `None` for a comparison.
fn assign_op(b: &[u8], i: usize) -> Option<usize> {
    let before = |k: usize| i.checked_sub(k).map(|j| b[j]);
    match before(1) {
        Some(b'!' | b'=') => None,
        Some(c @ (b'<' | b'>')) => (before(2) == Some(c)).then(|| i - 2),
        Some(b'^') if before(2) == Some(b'&') => Some(i - 2),
        Some(b':' | b'+' | b'-' | b'*' | b'/' | b'%' | b'&' | b'|' | b'^') => Some(i - 1),
        _ => Some(i),
    }
}

/// `var (`, `const (` or `import (` alone on its line (a comment may follow).
fn group_opener(b: &[u8], i: usize) -> bool {
    let Some(kw) = [&b"var"[..], b"const", b"import"]
        .into_iter()
        .find(|k| b[i..].starts_with(k))
    else {
        return false;
    };
    let mut j = i + kw.len();
    while j < b.len() && matches!(b[j], b' ' | b'\t') {
        j += 1;
    }
    if b.get(j) != Some(&b'(') {
        return false;
    }
    j += 1;
    while j < b.len() && matches!(b[j], b' ' | b'\t' | b'\r') {
        j += 1;
    }
    j >= b.len() || b[j] == b'\n' || b[j..].starts_with(b"//")
}

/// Whether only blanks or a comment follow `i` on its line.
fn rest_blank(b: &[u8], mut i: usize) -> bool {
    while i < b.len() && matches!(b[i], b' ' | b'\t' | b'\r') {
        i += 1;
    }
    i >= b.len() || b[i] == b'\n' || b[i..].starts_with(b"//")
}

/// The logical lines of `src` with their assignments, or `None` when it ends inside a literal, a
/// comment or a bracket, closes a brace it never opened, or leaves one open.
fn lex(src: &str) -> Option<(Vec<Logical>, Vec<Assign>)> {
    let b = src.as_bytes();
    let mut lines = Vec::new();
    let mut assigns = Vec::new();
    let mut in_group = false;
    let mut open_braces = 0usize;
    let mut i = 0;
    while i < b.len() {
        let start = i;
        while i < b.len() && matches!(b[i], b' ' | b'\t' | b'\r' | b'\x0c') {
            i += 1;
        }
        if i >= b.len() {
            break;
        }
        if b[i] == b'\n' || b[i..].starts_with(b"//") {
            i = line_end(b, i);
            continue;
        }
        let text = i;
        let first = assigns.len();
        // A group's specs are lines of their own: its parentheses count as a block's braces.
        let group = if in_group {
            (b[i] == b')').then_some((1, 0))
        } else {
            group_opener(b, i).then_some((0, 1))
        };
        if let Some((pops, pushes)) = group {
            if pops == 1 && !rest_blank(b, i + 1) {
                return None;
            }
            in_group = pushes == 1;
            i = line_end(b, i);
            lines.push(Logical {
                range: start..i,
                text,
                single: true,
                pops,
                pushes,
                assigns: first..first,
            });
            continue;
        }
        let mut paren = 0usize;
        let (mut depth, mut min_depth) = (0isize, 0isize);
        let (mut last, mut last2) = (0u8, 0u8);
        let mut single = true;
        loop {
            let Some(&c) = b.get(i) else {
                if paren > 0 {
                    return None;
                }
                break;
            };
            match c {
                b'\n' => {
                    i += 1;
                    if paren == 0 && !continues(last, last2) {
                        break;
                    }
                    single = false;
                    continue;
                }
                b'/' if b.get(i + 1) == Some(&b'/') => {
                    i = memchr::memchr(b'\n', &b[i..]).map_or(b.len(), |n| i + n);
                    continue;
                }
                b'/' if b.get(i + 1) == Some(&b'*') => {
                    let end = memchr::memmem::find(&b[i + 2..], b"*/")? + i + 2;
                    single &= !b[i..end].contains(&b'\n');
                    i = end + 2;
                    continue;
                }
                b'"' | b'\'' => i = skip_quoted(b, i)? - 1,
                b'`' => {
                    let end = memchr::memchr(b'`', &b[i + 1..])? + i + 1;
                    single &= !b[i..end].contains(&b'\n');
                    i = end;
                }
                b'(' | b'[' => paren += 1,
                b')' | b']' => paren = paren.checked_sub(1)?,
                b'{' => depth += 1,
                b'}' => {
                    depth -= 1;
                    min_depth = min_depth.min(depth);
                }
                b'=' if b.get(i + 1) == Some(&b'=') => {
                    (last2, last) = (last, c);
                    i += 2;
                    continue;
                }
                b'=' => {
                    if let Some(op) = assign_op(b, i) {
                        assigns.push((op, i + 1));
                    }
                }
                _ => {}
            }
            if !c.is_ascii_whitespace() {
                (last2, last) = (last, c);
            }
            i += 1;
        }
        let pops = min_depth.unsigned_abs();
        let pushes = (depth - min_depth).unsigned_abs();
        open_braces = open_braces.checked_sub(pops)? + pushes;
        lines.push(Logical {
            range: start..i,
            text,
            single,
            pops,
            pushes,
            assigns: first..assigns.len(),
        });
    }
    (!in_group && open_braces == 0).then_some((lines, assigns))
}

/// The identifier at the start of `t`.
fn ident(t: &str) -> &str {
    let end = t
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(t.len());
    &t[..end]
}

/// The first word of a line, closing braces skipped (`} else {` starts with `else`).
fn head(text: &str) -> &str {
    ident(text.trim_start_matches(['}', ' ', '\t']))
}

/// The name a `func` line declares (a method's too), `None` for a function literal.
fn declared(text: &str) -> Option<&str> {
    let rest = text.strip_prefix("func")?;
    let mut r = rest.trim_start();
    if r.len() == rest.len() && !r.starts_with('(') {
        return None;
    }
    if r.starts_with('(') {
        r = r[r.find(')')? + 1..].trim_start();
    }
    Some(ident(r)).filter(|n| !n.is_empty())
}

/// The test a header line opens: `func TestXxx(t *testing.T) {` and the like, never `TestMain`.
fn test_header(text: &str) -> Option<&str> {
    let rest = text.strip_prefix("func ")?;
    let open = rest.find('(')?;
    let name = &rest[..open];
    let ty = [
        ("Test", "*testing.T"),
        ("Benchmark", "*testing.B"),
        ("Fuzz", "*testing.F"),
    ]
    .into_iter()
    .find_map(|(prefix, ty)| {
        let tail = name.strip_prefix(prefix)?;
        let named = tail.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_')
            && !tail.starts_with(|c: char| c.is_ascii_lowercase());
        named.then_some(ty)
    })?;
    let params = rest[open + 1..].strip_suffix(") {")?;
    let (var, param_ty) = params.split_once(' ')?;
    let var_ok = !var.is_empty() && ident(var) == var;
    (var_ok && param_ty == ty && name != "TestMain").then_some(name)
}

/// Whether a right-hand side can hold the text of an operation: anything but a call to something
/// other than [`TEXT_CALLS`], and a `range` clause (the analysis binds no loop variable).
fn rhs_carries(rhs: &str) -> bool {
    let r = rhs.trim_start();
    let word = ident(r);
    if word == "range" {
        return false;
    }
    if word == "func" {
        return true;
    }
    let path_end = r
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '.'))
        .unwrap_or(r.len());
    let path = &r[..path_end];
    if path.is_empty() || !r[path_end..].starts_with('(') {
        return true;
    }
    path.rsplit('.')
        .next()
        .is_some_and(|last| TEXT_CALLS.contains(&last))
}

/// The name `lhs` binds for certain, by the analysis' reading: one identifier (after `var`,
/// `const` or `if`) assigned one value. `None` when unsure.
fn certain_binding<'a>(lhs: &'a str, b: &[u8], rhs: usize, end: usize) -> Option<&'a str> {
    let t = lhs.trim();
    let t = ["var ", "const ", "if "]
        .iter()
        .find_map(|k| t.strip_prefix(k))
        .map_or(t, str::trim_start);
    let plain = !t.is_empty() && ident(t) == t && !t.starts_with(|c: char| c.is_ascii_digit());
    if !plain || RESERVED.contains(&t) {
        return None;
    }
    // One value: no comma at the top level before the statement ends (looked at up to a
    // bound, so a long line stays linear).
    let mut depth = 0usize;
    let mut j = rhs;
    let stop = end.min(rhs + 4096);
    while j < stop {
        match b[j] {
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' => depth = depth.saturating_sub(1),
            b'"' | b'\'' => {
                j = skip_quoted(b, j)?;
                continue;
            }
            b'`' => {
                j = memchr::memchr(b'`', &b[j + 1..])? + j + 2;
                continue;
            }
            b',' if depth == 0 => return None,
            b';' | b'\n' if depth == 0 => return Some(t),
            _ => {}
        }
        j += 1;
    }
    (j >= end).then_some(t)
}

type Seen<'a> = HashSet<&'a str, BuildHasherDefault<Fnv>>;

/// The Go file `source` with its droppable tests blanked, or `None` to parse it whole.
pub(crate) fn slice(
    source: &str,
    may_destroy: fn(&str) -> bool,
    named: &[String],
) -> Option<String> {
    let b = source.as_bytes();
    let has = |s: &str| memchr::memmem::find(b, s.as_bytes()).is_some();
    // Nothing to drop without a test; testfixtures' switch turns on operations anywhere in the
    // file, so a file that has it is read whole.
    if !(has("func Test") || has("func Benchmark") || has("func Fuzz"))
        || has("DangerousSkipTestDatabaseCheck")
    {
        return None;
    }
    let (logical, assigns) = lex(source)?;
    let mut lines: Vec<Line> = Vec::with_capacity(logical.len());
    let mut blocks: Vec<Block> = Vec::new();
    let mut valid: Vec<bool> = Vec::new();
    // Names bound for certain so far, and the names a candidate may bind before any such
    // binding (one of those may be the binding the analysis reads): (block, name).
    let mut bound_before = Seen::default();
    let mut binds: Vec<(usize, &str)> = Vec::new();
    // Open braces: the names bound to what they open (a function, a literal), and the
    // candidate they open.
    let mut stack: Vec<(Vec<&str>, Option<usize>)> = Vec::new();
    let mut open: Option<usize> = None;
    // Where the declarations start, after the package clause and imports.
    let mut code_start = None;
    let reserved = |w: &&str| !RESERVED.contains(w);
    for l in &logical {
        let text = source[l.text..l.range.end].trim_end();
        let block = open;
        // What encloses its first byte: a line that closes a literal still sits in it.
        let scope: Vec<&str> = stack
            .iter()
            .rev()
            .flat_map(|f| f.0.iter().copied())
            .collect();
        for _ in 0..l.pops {
            let (_, cand) = stack.pop()?;
            if let Some(c) = cand {
                // The test ends at a `}` alone at column 0, or is no candidate.
                valid[c] &= text == "}" && l.text == l.range.start && l.pops == 1 && l.pushes == 0;
                blocks[c].range.end = l.range.end;
                open = None;
            }
        }
        let head = head(text);
        if code_start.is_none() && stack.is_empty() && !matches!(head, "package" | "import") {
            code_start = Some(l.range.start);
        }
        let mut carry: Vec<&str> = declared(text).into_iter().collect();
        let mut floor = l.text;
        for &(op, rhs) in &assigns[l.assigns.clone()] {
            // The left-hand side: back to the start of its statement (or the previous
            // assignment's right-hand side, so a line of many stays linear).
            let mut s = op;
            while s > floor && !matches!(b[s - 1], b'\n' | b';' | b'{' | b'}') {
                s -= 1;
            }
            floor = rhs;
            let lhs = &source[s..op];
            let carries = rhs_carries(&source[rhs..l.range.end]);
            // The analysis binds a name to a value only one to one (`q := ...`, not
            // `a, b := ...`); any word of such a left-hand side may be that name.
            let single = !lhs.contains(',');
            for w in super::code_words(lhs, true).filter(reserved) {
                if single
                    && !bound_before.contains(w)
                    && let Some(c) = block
                    && !binds
                        .iter()
                        .rev()
                        .take_while(|x| x.0 == c)
                        .any(|x| x.1 == w)
                {
                    binds.push((c, w));
                }
                if carries {
                    carry.push(w);
                }
            }
            if single && let Some(name) = certain_binding(lhs, b, rhs, l.range.end) {
                bound_before.insert(name);
            }
        }
        let mut cand = None;
        if stack.is_empty()
            && l.pops == 0
            && l.pushes == 1
            && l.text == l.range.start
            && l.single
            && let Some(name) = test_header(text)
        {
            // Its doc comment goes with it (it names the test, and would keep it).
            let floor = lines.last().map_or(0, |x: &Line| x.range.end);
            let mut start = l.range.start;
            while start > floor {
                let prev = b[..start - 1]
                    .iter()
                    .rposition(|c| *c == b'\n')
                    .map_or(0, |n| n + 1);
                if prev < floor || !b[prev..start].starts_with(b"//") {
                    break;
                }
                start = prev;
            }
            cand = Some(blocks.len());
            blocks.push(Block {
                range: start..l.range.end,
                name: Some(name),
                fill: "",
                fill_at: l.range.start,
            });
            valid.push(true);
            open = cand;
        }
        for k in 0..l.pushes {
            let names = if k == 0 && !CONTROL.contains(&head) {
                carry.clone()
            } else {
                Vec::new()
            };
            stack.push((names, cand));
        }
        lines.push(Line {
            range: l.range.clone(),
            bound: carry,
            scope,
            block: block.or(cand),
        });
    }
    // A test that may hold the first binding of a name used outside it stays.
    super::first_bindings_stay(
        source,
        code_start.unwrap_or(0),
        &binds,
        &blocks,
        &mut valid,
        true,
    );
    let lang = Lang {
        may_destroy,
        reserved: RESERVED,
        // first bindings: see `first_bindings_stay`.
        binding_readers: None,
    };
    super::plan_valid(source, &mut lines, blocks, &valid, &lang, named)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lang::{Context, go};

    fn may(s: &str) -> bool {
        crate::lang::sql_text::has_destructive_keyword(s.as_bytes())
    }

    fn sliced(src: &str) -> Option<String> {
        slice(src, may, &[])
    }

    /// The lines left after slicing, blank lines dropped; and the sliced and whole analyses agree.
    fn kept(src: &str) -> Vec<String> {
        let whole = Context {
            keep_whole: true,
            ..Context::default()
        };
        assert_eq!(
            go::analyze(src, &Context::default()),
            go::analyze(src, &whole),
            "slicing changed:\n{src}"
        );
        crate::lang::slice::remaining_lines(src, sliced(src))
    }

    const RESET: &str = "func resetDB(t *testing.T) {\n\tdb.Exec(\"TRUNCATE orders\")\n}\n";

    #[test]
    fn ordinary_tests_are_blanked_and_offsets_kept() {
        let src = format!(
            "package store\n\nimport (\n\t\"testing\"\n)\n\n{RESET}\n// TestA checks.\nfunc TestA(t *testing.T) {{\n\tgot := f(`raw\n{{`, '}}')\n\tif got != 1 {{ /* }} */\n\t\tt.Fatal(\"}}\")\n\t}}\n}}\n\nfunc BenchmarkB(b *testing.B) {{\n\tfor i := 0; i < b.N; i++ {{\n\t}}\n}}\n"
        );
        let out = sliced(&src).expect("sliced");
        assert_eq!(out.len(), src.len());
        assert_eq!(out.matches('\n').count(), src.matches('\n').count());
        assert_eq!(
            kept(&src),
            [
                "package store",
                "import (",
                "\t\"testing\"",
                ")",
                "func resetDB(t *testing.T) {",
                "\tdb.Exec(\"TRUNCATE orders\")",
                "}",
            ]
        );
    }

    #[test]
    fn tests_that_can_reach_an_operation_are_kept() {
        let test = "func TestA(t *testing.T) {\n\tBODY\n}\n";
        let cases = [
            // Its own keyword.
            (RESET, "db.Exec(\"DELETE FROM users\")"),
            // A helper that truncates, called by name, or through a helper that calls it.
            (RESET, "resetDB(t)"),
            (
                "func setup(t *testing.T) {\n\tresetDB(t)\n}\nfunc resetDB(t *testing.T) {\n\tdb.Exec(\"TRUNCATE t\")\n}\n",
                "setup(t)",
            ),
            // Constants, a group, a list and a formatted statement.
            ("const wipe = \"TRUNCATE orders\"\n", "db.Exec(wipe)"),
            (
                "const (\n\tsel = \"SELECT 1\"\n\twipe = \"TRUNCATE orders\"\n)\n",
                "db.Exec(wipe)",
            ),
            (
                "var stmts = []string{\n\t\"TRUNCATE a\",\n}\n",
                "for _, s := range stmts { db.Exec(s) }",
            ),
            (
                "var stmts = []string{\n\t\"SELECT 1\",\n\t\"TRUNCATE a\",\n\t\"SELECT 2\",\n}\n",
                "run(stmts)",
            ),
            (
                "func r(t *testing.T) {\n\tq := fmt.Sprintf(\"TRUNCATE %s\", name)\n\tdb.Exec(q)\n}\n",
                "db.Exec(q)",
            ),
            (
                "var reset = func() {\n\tdb.Exec(\"TRUNCATE t\")\n}\n",
                "reset()",
            ),
            // A method of a suite that truncates.
            (
                "func (s *Suite) wipe() {\n\ts.db.Exec(\"TRUNCATE t\")\n}\n",
                "s.wipe()",
            ),
            // Named elsewhere: passed to a helper.
            (
                "func run(f func(*testing.T)) {\n\tf(nil)\n\tdb.Exec(\"TRUNCATE t\")\n}\nvar _ = TestA\n",
                "x := 1",
            ),
        ];
        for (other, body) in cases {
            let src = format!("package s\n{other}{}", test.replace("BODY", body));
            assert!(
                kept(&src).iter().any(|l| l.starts_with("func TestA")),
                "dropped a test that matters:\n{src}"
            );
        }
    }

    #[test]
    fn a_test_holding_the_first_binding_of_a_name_used_elsewhere_is_kept() {
        // The analysis reads `isTest` through its first binding in the file, the test's.
        let src = "package s\nfunc TestA(t *testing.T) {\n\tisTest := false\n\t_ = isTest\n}\nfunc resetDB(t *testing.T) {\n\tisTest := strings.Contains(dsn, \"test\")\n\tif !isTest {\n\t\tt.Fatal(\"no\")\n\t}\n\tdb.Exec(\"TRUNCATE t\")\n}\n";
        assert!(kept(src).iter().any(|l| l.starts_with("func TestA")));
        // A later binding of the name changes nothing: that test goes.
        let later = src
            .replace("func TestA", "func resetFirst() {}\nfunc TestA")
            .replacen(
                "func resetFirst() {}",
                "func resetFirst() {\n\tisTest := true\n\t_ = isTest\n}",
                1,
            );
        assert!(!kept(&later).iter().any(|l| l.starts_with("func TestA")));
        // A left-hand side that binds nothing for certain (`s.isTest = ...`) before the test
        // leaves the test's binding the first.
        let field = src.replace(
            "func TestA",
            "func setFlag() {\n\ts.isTest = true\n}\nfunc TestA",
        );
        assert!(kept(&field).iter().any(|l| l.starts_with("func TestA")));
        // A name written only in strings elsewhere is used nowhere else.
        let quoted = "package s\nfunc TestA(t *testing.T) {\n\torders := 1\n\t_ = orders\n}\n";
        assert!(
            !kept(&format!("{quoted}{RESET}"))
                .iter()
                .any(|l| l.starts_with("func TestA"))
        );
        // Names only the test uses do not matter, nor names bound several at a time.
        let local = "package s\nfunc TestA(t *testing.T) {\n\tgot := 1\n\t_ = got\n\tres, err := f()\n}\nfunc TestB(t *testing.T) {\n\tres, err := f()\n}\n";
        let src = format!("{local}{RESET}");
        assert!(!kept(&src).iter().any(|l| l.starts_with("func TestA")));
    }

    #[test]
    fn hooks_helpers_and_methods_are_never_candidates() {
        let cases = [
            "func TestMain(m *testing.M) {\n\tos.Exit(m.Run())\n}\n",
            "func init() {\n\tx := 1\n\t_ = x\n}\n",
            "func helper(t *testing.T) {\n\tt.Helper()\n}\n",
            "func Testable(t *testing.T) {\n\tt.Helper()\n}\n",
            "func (s *Suite) TestA() {\n\ts.True(true)\n}\n",
            "func (s *Suite) SetupTest() {\n\ts.True(true)\n}\n",
            "func ExampleA() {\n\tfmt.Println(1)\n}\n",
            "func TestA(t *testing.T) { t.Log(1) }\n",
            "func TestA(t *testing.T, x int) {\n\tt.Log(1)\n}\n",
            "func TestA(t *testing.T) (err error) {\n\treturn nil\n}\n",
        ];
        for case in cases {
            let src = format!("package s\n{case}{RESET}");
            assert_eq!(sliced(&src), None, "{src}");
        }
    }

    #[test]
    fn unusual_layouts_are_parsed_whole() {
        for src in [
            // The closing brace is not at column 0.
            "package s\nfunc TestA(t *testing.T) {\n\tt.Log(1)\n  }\n",
            // Something follows it.
            "package s\nfunc TestA(t *testing.T) {\n\tt.Log(1)\n} // done\n",
            // An unterminated raw string, string, comment; an unclosed brace; a stray one.
            "package s\nfunc TestA(t *testing.T) {\n\tx := `abc\n}\n",
            "package s\nfunc TestA(t *testing.T) {\n\tx := \"abc\n}\n",
            "package s\nfunc TestA(t *testing.T) {\n\t/* x\n}\n",
            "package s\nfunc TestA(t *testing.T) {\n\tif x {\n}\n",
            "package s\n}\nfunc TestA(t *testing.T) {\n\tt.Log(1)\n}\n",
        ] {
            let src = format!("{src}{RESET}");
            assert_eq!(sliced(&src), None, "{src}");
        }
        // testfixtures' switch turns on operations anywhere.
        let fixtures = format!(
            "package s\nfunc TestA(t *testing.T) {{\n\ttestfixtures.DangerousSkipTestDatabaseCheck()\n}}\n{RESET}"
        );
        assert_eq!(sliced(&fixtures), None);
    }

    #[test]
    fn assignments_and_continuations() {
        let b = b"a := 1; b <<= 2; c >= 3; d != 4; e &^= 5; f == 6";
        let ops: Vec<usize> = (0..b.len())
            .filter(|&i| b[i] == b'=' && b.get(i + 1) != Some(&b'=') && b[i - 1] != b'=')
            .filter_map(|i| assign_op(b, i))
            .collect();
        assert_eq!(ops, [2, 10, 35]);
        assert!(continues(b'+', b'x') && continues(b',', b'"') && !continues(b'+', b'+'));
        assert!(!rhs_carries(" db.Exec(\"TRUNCATE t\").Error"));
        assert!(!rhs_carries(" range tables"));
        assert!(rhs_carries(" fmt.Sprintf(\"TRUNCATE %s\", t)"));
        assert!(rhs_carries(" \"TRUNCATE \" + t"));
        assert!(rhs_carries(" func() {"));
        assert_eq!(declared("func (s *S) Reset() {"), Some("Reset"));
        assert_eq!(declared("func() {"), None);
        assert_eq!(test_header("func TestA(t *testing.T) {"), Some("TestA"));
        assert_eq!(test_header("func Test_b(t *testing.T) {"), Some("Test_b"));
        assert_eq!(test_header("func FuzzA(f *testing.F) {"), Some("FuzzA"));
        assert_eq!(test_header("func BenchmarkA(b *testing.T) {"), None);
        assert_eq!(test_header("func TestMain(m *testing.M) {"), None);
    }
}
