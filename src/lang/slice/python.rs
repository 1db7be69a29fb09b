//! Logical lines and droppable tests of a Python module: `def test*` functions at module level
//! and `test*` methods in a class body, with their decorators, unless a decorator makes them a
//! fixture.

use super::{Block, Lang, Line, plan, words};
use regex::Regex;
use std::sync::LazyLock;

const RESERVED: &[&str] = &[
    "False", "None", "True", "and", "as", "assert", "async", "await", "break", "class", "continue",
    "def", "del", "elif", "else", "except", "finally", "for", "from", "global", "if", "import",
    "in", "is", "lambda", "nonlocal", "not", "or", "pass", "raise", "return", "try", "while",
    "with", "yield", "self", "cls",
];

/// A logical line: its range, its indentation, and where its first `=` at bracket depth 0 is.
struct Logical {
    range: Range,
    indent: usize,
    assign: Option<usize>,
}

type Range = std::ops::Range<usize>;

/// The logical lines of `src`, or `None` when its indentation uses tabs or it ends inside a
/// string or bracket (then the file is parsed whole).
fn logical_lines(src: &str) -> Option<Vec<Logical>> {
    let b = src.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        // Start of a physical line outside any statement.
        let start = i;
        let mut indent = 0;
        while i < b.len() && (b[i] == b' ' || b[i] == b'\t' || b[i] == b'\x0c') {
            if b[i] == b'\t' {
                return None;
            }
            indent += 1;
            i += 1;
        }
        if i >= b.len() {
            break;
        }
        if b[i] == b'\n' || b[i] == b'\r' || b[i] == b'#' {
            // Blank or comment-only line.
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
            i += 1;
            continue;
        }
        let mut depth = 0usize;
        let mut assign = None;
        let mut prev = 0u8;
        loop {
            if i >= b.len() {
                if depth > 0 {
                    return None;
                }
                break;
            }
            let c = b[i];
            match c {
                b'\n' if depth == 0 => {
                    i += 1;
                    break;
                }
                b'\\' => {
                    // A line continuation (or a stray backslash): skip the next byte.
                    i += 2;
                    prev = b'\\';
                    continue;
                }
                b'#' => {
                    while i < b.len() && b[i] != b'\n' {
                        i += 1;
                    }
                    continue;
                }
                b'(' | b'[' | b'{' => depth += 1,
                b')' | b']' | b'}' => depth = depth.saturating_sub(1),
                b'\'' | b'"' => {
                    i = skip_string(b, i)?;
                    prev = c;
                    continue;
                }
                b'=' if depth == 0
                    && assign.is_none()
                    && b.get(i + 1) != Some(&b'=')
                    && !matches!(prev, b'=' | b'!' | b'<' | b'>') =>
                {
                    assign = Some(i);
                }
                _ => {}
            }
            prev = c;
            i += 1;
        }
        out.push(Logical {
            range: start..i.min(b.len()),
            indent,
            assign,
        });
    }
    Some(out)
}

/// The index just past the string literal that opens at `i` (a quote), or `None` if it never
/// closes.
fn skip_string(b: &[u8], i: usize) -> Option<usize> {
    let q = b[i];
    let triple = b.get(i + 1) == Some(&q) && b.get(i + 2) == Some(&q);
    let mut j = if triple { i + 3 } else { i + 1 };
    while j < b.len() {
        match b[j] {
            b'\\' => j += 2,
            c if c == q => {
                if !triple {
                    return Some(j + 1);
                }
                if b.get(j + 1) == Some(&q) && b.get(j + 2) == Some(&q) {
                    return Some(j + 3);
                }
                j += 1;
            }
            b'\n' if !triple => return None,
            _ => j += 1,
        }
    }
    None
}

/// The first word after leading whitespace, `async` skipped.
fn head(text: &str) -> (&str, &str) {
    let t = text.trim_start();
    let t = t.strip_prefix("async ").map_or(t, str::trim_start);
    let end = t
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(t.len());
    (&t[..end], &t[end..])
}

/// The name a `def` or `class` line declares.
fn declared(text: &str) -> Option<&str> {
    let (kw, rest) = head(text);
    if kw != "def" && kw != "class" {
        return None;
    }
    words(rest).next()
}

/// Names a logical line binds: assignment targets, a declared name, imports, `as` and `for`
/// targets. Over-approximated: every word of the target side counts.
fn bound<'a>(src: &'a str, l: &Logical) -> Vec<&'a str> {
    let text = &src[l.range.clone()];
    let (kw, _) = head(text);
    if matches!(kw, "import" | "from") {
        return words(text).collect();
    }
    let mut out: Vec<&str> = declared(text).into_iter().collect();
    if let Some(eq) = l.assign {
        out.extend(words(&src[l.range.start..eq]));
    }
    // `as` and `for` targets; most lines have neither word.
    let might = |w: &str| memchr::memmem::find(text.as_bytes(), w.as_bytes()).is_some();
    if !might("as") && !might("for") {
        return out;
    }
    let mut ws = words(text).peekable();
    while let Some(w) = ws.next() {
        match w {
            "as" => out.extend(ws.peek().copied()),
            "for" => {
                for t in ws.by_ref() {
                    if t == "in" {
                        break;
                    }
                    out.push(t);
                }
            }
            _ => {}
        }
    }
    out
}

/// The Python module `source` with its droppable tests blanked, or `None` to parse it whole.
pub(crate) fn slice(
    source: &str,
    may_destroy: fn(&str) -> bool,
    named: &[String],
) -> Option<String> {
    let logical = logical_lines(source)?;
    let mut lines: Vec<Line> = Vec::with_capacity(logical.len());
    let mut blocks: Vec<Block> = Vec::new();
    // Enclosing lines: their indentation, the name they declare, whether they are a class.
    let mut stack: Vec<Header> = Vec::new();
    let mut i = 0;
    while i < logical.len() {
        let l = &logical[i];
        while stack.last().is_some_and(|h| h.indent >= l.indent) {
            stack.pop();
        }
        // Decorators, then the `def` they decorate.
        let mut def = i;
        while def < logical.len()
            && logical[def].indent == l.indent
            && source[logical[def].range.clone()]
                .trim_start()
                .starts_with('@')
        {
            def += 1;
        }
        let in_class_or_module = stack.iter().all(|h| h.class);
        let candidate = (def < logical.len() && logical[def].indent == l.indent)
            .then(|| &source[logical[def].range.clone()])
            .filter(|d| head(d).0 == "def" && in_class_or_module)
            .and_then(declared)
            .filter(|name| name.starts_with("test"))
            .filter(|_| !source[l.range.start..logical[def].range.start].contains("fixture"))
            .filter(|_| !sticky(&source[l.range.start..block_end(&logical, def, l.indent)]));
        if let Some(name) = candidate {
            let end = block_end_line(&logical, def, l.indent);
            let b = blocks.len();
            blocks.push(Block {
                range: l.range.start..logical[end - 1].range.end,
                name: Some(name),
                // A class body must keep a statement; a module needs none.
                fill: if stack.is_empty() { "" } else { "pass" },
                fill_at: l.range.start + l.indent,
            });
            // Within a block the enclosing function is the block itself, named by the block.
            for l in &logical[i..end] {
                lines.push(line_of(source, l, Vec::new(), Some(b)));
            }
            i = end;
            continue;
        }
        let scope = stack.iter().rev().filter_map(|h| h.name).collect();
        lines.push(line_of(source, l, scope, None));
        // Every line may head a block: the next line at its indentation or less pops it.
        let text = &source[l.range.clone()];
        stack.push(Header {
            indent: l.indent,
            name: declared(text),
            class: head(text).0 == "class",
        });
        i += 1;
    }
    let lang = Lang {
        may_destroy,
        reserved: RESERVED,
        // `is_target` reads every assignment of a name.
        binding_readers: Some((reads_names, may_bind_target)),
    };
    plan(source, &lines, &blocks, &lang, named).and_then(blank_unused_imports)
}

/// A top-level one-line `import a.b [as c], ...` or `from m import a [as b], ...`.
static IMPORT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^(?:from[ \t]+(?P<module>\.*[A-Za-z_][A-Za-z0-9_.]*|\.+)[ \t]+import[ \t]+(?P<names>[A-Za-z_][A-Za-z0-9_]*(?:[ \t]+as[ \t]+[A-Za-z_][A-Za-z0-9_]*)?(?:[ \t]*,[ \t]*[A-Za-z_][A-Za-z0-9_]*(?:[ \t]+as[ \t]+[A-Za-z_][A-Za-z0-9_]*)?)*)|import[ \t]+(?P<modules>[A-Za-z_][A-Za-z0-9_.]*(?:[ \t]+as[ \t]+[A-Za-z_][A-Za-z0-9_]*)?(?:[ \t]*,[ \t]*[A-Za-z_][A-Za-z0-9_.]*(?:[ \t]+as[ \t]+[A-Za-z_][A-Za-z0-9_]*)?)*))[ \t]*$",
    )
    .expect("static pattern compiles")
});

/// Words that make an import matter to the analysis whatever it binds: Django and its test
/// modules, `unittest`, `__future__`, and the analysis's own list of other database drivers
/// (which module a file imports decides whether Django's test database covers it).
const IMPORT_MATTERS: &[&str] = &[
    "django",
    "rest_framework",
    "unittest",
    "TestCase",
    "__future__",
];

/// Blanks the top-level one-line imports the sliced text no longer needs: none of the names one
/// binds occurs anywhere else in what stays (strings and comments included), and it names no
/// module the analysis reads (see [`IMPORT_MATTERS`]). Tests are often the only users of what a
/// file imports.
fn blank_unused_imports(text: String) -> Option<String> {
    let counts = super::WordCounts::of(&text);
    let mut unused = Vec::new();
    for r in super::line_ranges(text.as_bytes()) {
        let line = &text[r.clone()];
        let Some(c) = IMPORT.captures(line) else {
            continue;
        };
        if (IMPORT_MATTERS.iter())
            .chain(crate::lang::python::OTHER_DRIVERS)
            .any(|m| line.contains(m))
        {
            continue;
        }
        // The local names: `a` for `import a.b`, `c` for `... as c`, `x` for `from m import x`.
        let specs = c.name("names").or_else(|| c.name("modules"));
        let bound: Vec<&str> = specs
            .map(|m| m.as_str())
            .unwrap_or("")
            .split(',')
            .filter_map(|spec| {
                let spec = spec.trim();
                match spec.rsplit_once(" as ") {
                    Some((_, alias)) => Some(alias.trim()),
                    None => spec.split('.').next(),
                }
            })
            .collect();
        if counts.only_on(line, &bound) {
            unused.push(r);
        }
    }
    super::blank_lines(text, unused)
}

/// Words the Python analysis collects facts by from the whole file, wherever they stand:
/// imports (Django's, other drivers), environment variables forced to a test value
/// (`monkeypatch.setenv`, `os.environ[...] =`, `os.putenv`), Django set up by hand
/// (`django.setup()`, `settings.configure()`). A test holding one is never dropped.
const STICKY: &[&str] = &[
    "import",
    "environ",
    "setenv",
    "putenv",
    "setup",
    "configure",
];

fn sticky(text: &str) -> bool {
    STICKY
        .iter()
        .any(|w| memchr::memmem::find(text.as_bytes(), w.as_bytes()).is_some())
}

/// The index of the first logical line after the `def` at `def` whose indentation is `indent`.
fn block_end_line(logical: &[Logical], def: usize, indent: usize) -> usize {
    let mut end = def + 1;
    while end < logical.len() && logical[end].indent > indent {
        end += 1;
    }
    end
}

/// The byte where the block of the `def` at `def` ends.
fn block_end(logical: &[Logical], def: usize, indent: usize) -> usize {
    logical[block_end_line(logical, def, indent) - 1].range.end
}

/// Whether a line can hold a condition, the one place the analysis reads a name through its
/// assignments (`is_target`): an `assert`, `if`, `elif`, `while` or `return`, a decorator
/// (`skipif`), or any line with a conditional expression or a comparison.
fn reads_names(line: &str) -> bool {
    let t = line.trim_start();
    matches!(head(t).0, "assert" | "if" | "elif" | "while" | "return")
        || t.starts_with('@')
        || [
            " if ", "==", "!=", " in ", " not ", "<", ">", "assert", "skip",
        ]
        .iter()
        .any(|w| memchr::memmem::find(t.as_bytes(), w.as_bytes()).is_some())
}

/// Whether a binding on this line can matter to `is_target`, which follows a name to the values
/// assigned to it: one whose text reads like a target (`shared::reads_target`), or another bare
/// name, which it follows in turn.
fn may_bind_target(line: &str) -> bool {
    if crate::lang::shared::reads_target(line) {
        return true;
    }
    line.split_once('=').is_some_and(|(_, v)| {
        let v = v.trim();
        !v.is_empty()
            && v.bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'.')
    })
}

/// A line that may head the lines below it.
struct Header<'a> {
    indent: usize,
    name: Option<&'a str>,
    class: bool,
}

fn line_of<'a>(src: &'a str, l: &Logical, scope: Vec<&'a str>, block: Option<usize>) -> Line<'a> {
    Line {
        range: l.range.clone(),
        bound: bound(src, l),
        scope,
        block,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sliced(src: &str) -> Option<String> {
        slice(src, crate::lang::python::may_destroy, &[])
    }

    /// The lines left after slicing, blank lines dropped.
    fn kept(src: &str) -> Vec<String> {
        crate::lang::slice::remaining_lines(src, sliced(src))
    }

    #[test]
    fn ordinary_tests_are_blanked_and_offsets_kept() {
        let src = "import os\n\n@pytest.fixture(autouse=True)\ndef reset_db(db):\n    db.execute(\"TRUNCATE t\")\n\n@pytest.mark.parametrize('x', [1])\ndef test_a(client, x):\n    assert client.get('/').status_code == 200\n\nclass TestB:\n    def test_c(self):\n        assert 1\n";
        let out = sliced(src).expect("sliced");
        assert_eq!(out.len(), src.len());
        assert_eq!(out.matches('\n').count(), src.matches('\n').count());
        // `os` was used by nothing that stays: its import goes too.
        assert_eq!(
            kept(src),
            [
                "@pytest.fixture(autouse=True)",
                "def reset_db(db):",
                "    db.execute(\"TRUNCATE t\")",
                "class TestB:",
                "    pass",
            ]
        );
    }

    #[test]
    fn imports_nothing_left_uses_are_blanked() {
        let src = "import os\nimport pytest\nimport app.models as m\nfrom app.billing import Invoice, charge as bill\nfrom . import factories\nfrom app.util import label\nfrom django.db import connection\nimport psycopg2\nfrom .base import BaseTestCase\nfrom app.shapes import (\n    Square,\n)\nimport json  # for payloads\n\n@pytest.fixture(autouse=True)\ndef reset_db(db):\n    db.execute(\"TRUNCATE t\")  # see label\n\ndef test_a():\n    assert bill(Invoice(), m.X, factories.y, os.sep, json.dumps(1))\n";
        assert_eq!(
            kept(src),
            [
                // Used by what stays (the fixture, a comment in it).
                "import pytest",
                "from app.util import label",
                // Modules the analysis reads, and forms left alone.
                "from django.db import connection",
                "import psycopg2",
                "from .base import BaseTestCase",
                "from app.shapes import (",
                "    Square,",
                ")",
                "import json  # for payloads",
                "@pytest.fixture(autouse=True)",
                "def reset_db(db):",
                "    db.execute(\"TRUNCATE t\")  # see label",
            ]
        );
    }

    #[test]
    fn tests_that_can_reach_an_operation_are_kept() {
        let cases = [
            // Its own keyword.
            "def test_a(db):\n    db.execute('DELETE FROM t')\n",
            // A helper that truncates, called by name.
            "def wipe(db):\n    db.execute('TRUNCATE t')\n\ndef test_a(db):\n    wipe(db)\n",
            // A constant, and a constant built from it.
            "SQL = 'TRUNCATE t'\nRESET = SQL + ' CASCADE'\n\ndef test_a(db):\n    db.execute(RESET)\n",
            // A multi-line string.
            "SQL = \"\"\"\nSELECT 1;\nTRUNCATE t;\n\"\"\"\n\ndef test_a(db):\n    db.execute(SQL)\n",
            // A method of the class that truncates.
            "class TestX:\n    def wipe(self):\n        self.db.execute('TRUNCATE t')\n    def test_a(self):\n        self.wipe()\n",
            // Facts the analysis gathers from the whole file: a forced environment variable,
            // Django set up by hand, an import, a name the guard reads.
            "def reset(db):\n    assert os.environ['APP_ENV'] == 'test'\n    db.execute('TRUNCATE t')\n\ndef test_a(monkeypatch):\n    monkeypatch.setenv('APP_ENV', 'test')\n",
            "def reset(db):\n    db.execute('TRUNCATE t')\n\ndef test_a():\n    django.setup()\n",
            "def reset(db):\n    db.execute('TRUNCATE t')\n\ndef test_a():\n    import psycopg2\n",
            "def reset(db):\n    assert 'localhost' in db_url\n    db.execute('TRUNCATE t')\n\ndef test_a():\n    db_url = os.getenv('DATABASE_URL')\n",
            // Named elsewhere: called from another function.
            "def test_helper():\n    assert 'test' in os.environ['DB']\n\ndef reset():\n    test_helper()\n    db.execute('TRUNCATE t')\n",
        ];
        for src in cases {
            assert!(
                kept(src).iter().any(|l| l.contains("def test_")),
                "dropped a test that matters:\n{src}"
            );
        }
    }

    #[test]
    fn redefined_tests_and_names_only_bound_are_no_reason_to_keep() {
        // Two tests of one name, a local `resp` in each, an import naming a module `resp`.
        let src = "from app import resp\n\ndef reset(db):\n    db.execute('TRUNCATE t')\n\ndef test_a(client):\n    resp = client.get('/')\n    assert resp.ok\n\ndef test_a(client):\n    resp = client.get('/x')\n    assert resp.ok\n";
        assert!(
            !kept(src).iter().any(|l| l.contains("test_a")),
            "{:?}",
            kept(src)
        );
        // A condition that stays and reads the name keeps the test that binds it, when the
        // value bound could be a target: `resp = client.get('/')` cannot.
        let read = src.replace(
            "    db.execute",
            "    assert resp != 'prod'\n    db.execute",
        );
        assert!(!kept(&read).iter().any(|l| l.contains("test_a")));
        let target = read.replace("resp = client.get('/x')", "resp = settings.DB_HOST");
        assert!(kept(&target).iter().any(|l| l.contains("test_a")));
        let alias = read.replace("resp = client.get('/x')", "resp = primary");
        assert!(kept(&alias).iter().any(|l| l.contains("test_a")));
    }

    #[test]
    fn fixtures_hooks_and_nested_functions_are_never_candidates() {
        let cases = [
            "@pytest.fixture\ndef test_db():\n    return 1\n\ndef reset(test_db):\n    test_db.execute('TRUNCATE t')\n",
            "class TestX:\n    def setUp(self):\n        assert 'test' in DB\n    def tearDown(self):\n        db.execute('TRUNCATE t')\n",
            "def outer():\n    def test_inner():\n        pass\n    db.execute('TRUNCATE t')\n",
        ];
        for src in cases {
            assert_eq!(sliced(src), None, "{src}");
        }
    }

    #[test]
    fn unusual_layouts_are_parsed_whole() {
        // Tabs, an unterminated string, an unclosed bracket.
        for src in [
            "def test_a():\n\tpass\ndef reset():\n\tdb.execute('TRUNCATE t')\n",
            "x = 'abc\ndef test_a():\n    pass\n",
            "x = (1,\ndef test_a():\n    pass\n",
        ] {
            assert_eq!(sliced(src), None, "{src}");
        }
    }
}
