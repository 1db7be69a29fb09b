//! Logical lines and droppable tests of a Java test class: methods annotated `@Test` (or
//! `@ParameterizedTest`, `@RepeatedTest`, `@TestFactory`, `@TestTemplate`, qualified or not)
//! directly in a class body, from their first annotation line to the `}` alone on its line at
//! the same indentation. A method that also carries a lifecycle annotation (`@BeforeEach`,
//! `@AfterAll`, ...), `@Sql` or `@Rule` is never a candidate, nor is any other member.
//!
//! As for Go (see [`super::go`]), the analysis resolves a variable to its first initialised
//! declaration anywhere in the file, so a test holding the first one of a name written anywhere
//! outside it is kept.

use std::collections::HashSet;
use std::hash::BuildHasherDefault;

use super::{Block, Fnv, Lang, Line};

type Range = std::ops::Range<usize>;

const RESERVED: &[&str] = &[
    "abstract",
    "assert",
    "boolean",
    "break",
    "byte",
    "case",
    "catch",
    "char",
    "class",
    "const",
    "continue",
    "default",
    "do",
    "double",
    "else",
    "enum",
    "extends",
    "final",
    "finally",
    "float",
    "for",
    "goto",
    "if",
    "implements",
    "import",
    "instanceof",
    "int",
    "interface",
    "long",
    "native",
    "new",
    "package",
    "private",
    "protected",
    "public",
    "return",
    "short",
    "static",
    "strictfp",
    "super",
    "switch",
    "synchronized",
    "this",
    "throw",
    "throws",
    "transient",
    "try",
    "void",
    "volatile",
    "while",
    "var",
    "record",
    "yield",
    "true",
    "false",
    "null",
];

/// Statements whose braces open a branch, loop or handler, not something named (`static {` and
/// `default` methods have no `(` or a name before it, so they need no entry).
const CONTROL: &[&str] = &[
    "if",
    "else",
    "for",
    "while",
    "do",
    "switch",
    "try",
    "catch",
    "finally",
    "synchronized",
    "case",
    "return",
];

/// Annotations that make a method a test JUnit runs by itself.
const TEST_ANNOTATIONS: &[&str] = &[
    "Test",
    "ParameterizedTest",
    "RepeatedTest",
    "TestFactory",
    "TestTemplate",
];

/// Modifiers a test method's header may carry.
const MODIFIERS: &[&str] = &[
    "public",
    "protected",
    "private",
    "static",
    "final",
    "synchronized",
    "strictfp",
];

/// Calls whose result can be the text of an operation or a list of tables (the analysis
/// evaluates `format`, `formatted`, `of` and `asList`; the rest plainly build strings). A name
/// bound to any other call's result holds a value, which carries no operation.
const TEXT_CALLS: &[&str] = &[
    "format",
    "formatted",
    "of",
    "asList",
    "join",
    "concat",
    "replace",
    "replaceAll",
    "repeat",
    "strip",
    "trim",
    "toUpperCase",
    "toLowerCase",
    "valueOf",
    "copyOf",
];

/// One statement-level line: a statement or declaration up to its `;`, `{` or `}` (with the
/// annotations before it), or a closing brace.
struct Logical {
    range: Range,
    /// Where its text starts, after the indentation.
    text: usize,
    /// Braces it closes before any it opens, and braces it leaves open.
    pops: usize,
    pushes: usize,
    /// The `=` of its assignments and initialisers, as indices into the list [`lex`] returns.
    assigns: Range,
}

/// The index just past the string or char literal opening at `i`, or `None` if it does not
/// close on its line.
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

/// The index just past the text block (`"""`) opening at `i`, or `None` if it never closes.
fn skip_text_block(b: &[u8], i: usize) -> Option<usize> {
    let mut j = i + 3;
    loop {
        match *b.get(j)? {
            b'\\' => j += 2,
            b'"' if b[j..].starts_with(b"\"\"\"") => return Some(j + 3),
            _ => j += 1,
        }
    }
}

/// Whether the `=` at `i` assigns (`=`, `+=`, `<<=`, ...) rather than compares.
fn assigns_at(b: &[u8], i: usize) -> bool {
    let before = |k: usize| i.checked_sub(k).map(|j| b[j]);
    match before(1) {
        Some(b'!' | b'=') => false,
        Some(c @ (b'<' | b'>')) => before(2) == Some(c),
        _ => true,
    }
}

/// The logical lines of `src` with the `=` of each assignment, or `None` when it ends inside a
/// literal, a comment or a bracket, closes a brace it never opened, or leaves one open.
fn lex(src: &str) -> Option<(Vec<Logical>, Vec<usize>)> {
    let b = src.as_bytes();
    let mut lines = Vec::new();
    let mut assigns = Vec::new();
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
            i = memchr::memchr(b'\n', &b[i..]).map_or(b.len(), |n| i + n + 1);
            continue;
        }
        let text = i;
        let first = assigns.len();
        let mut paren = 0usize;
        let (mut depth, mut min_depth) = (0isize, 0isize);
        let mut last = 0u8;
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
                    // A statement runs to its `;`, a declaration to its `{`.
                    if paren == 0 && matches!(last, 0 | b';' | b'{' | b'}') {
                        break;
                    }
                    continue;
                }
                b'/' if b.get(i + 1) == Some(&b'/') => {
                    i = memchr::memchr(b'\n', &b[i..]).map_or(b.len(), |n| i + n);
                    continue;
                }
                b'/' if b.get(i + 1) == Some(&b'*') => {
                    i = memchr::memmem::find(&b[i + 2..], b"*/")? + i + 4;
                    continue;
                }
                b'"' if b[i..].starts_with(b"\"\"\"") => i = skip_text_block(b, i)? - 1,
                b'"' | b'\'' => i = skip_quoted(b, i)? - 1,
                b'(' | b'[' => paren += 1,
                b')' | b']' => paren = paren.checked_sub(1)?,
                b'{' => depth += 1,
                b'}' => {
                    depth -= 1;
                    min_depth = min_depth.min(depth);
                }
                b'=' if b.get(i + 1) == Some(&b'=') => {
                    last = c;
                    i += 2;
                    continue;
                }
                b'=' if assigns_at(b, i) => assigns.push(i),
                _ => {}
            }
            if !c.is_ascii_whitespace() {
                last = c;
            }
            i += 1;
        }
        let pops = min_depth.unsigned_abs();
        let pushes = (depth - min_depth).unsigned_abs();
        open_braces = open_braces.checked_sub(pops)? + pushes;
        lines.push(Logical {
            range: start..i,
            text,
            pops,
            pushes,
            assigns: first..assigns.len(),
        });
    }
    (open_braces == 0).then_some((lines, assigns))
}

/// The identifier at the start of `t`.
fn ident(t: &str) -> &str {
    let end = t
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '$'))
        .unwrap_or(t.len());
    &t[..end]
}

/// The annotations a declaration starts with (their simple names) and the rest of it, or
/// `None` when their arguments do not close.
fn split_annotations(text: &str) -> Option<(Vec<&str>, &str)> {
    let b = text.as_bytes();
    let mut names = Vec::new();
    let mut i = 0;
    loop {
        while i < b.len() && b[i].is_ascii_whitespace() {
            i += 1;
        }
        if b.get(i) != Some(&b'@') {
            return Some((names, &text[i..]));
        }
        i += 1;
        let start = i;
        while i < b.len() && (b[i].is_ascii_alphanumeric() || matches!(b[i], b'_' | b'$' | b'.')) {
            i += 1;
        }
        let name = &text[start..i];
        names.push(name.rsplit('.').next().unwrap_or(name));
        while i < b.len() && b[i].is_ascii_whitespace() {
            i += 1;
        }
        if b.get(i) == Some(&b'(') {
            // Skip the arguments, their strings included.
            let mut depth = 0usize;
            loop {
                match *b.get(i)? {
                    b'(' => depth += 1,
                    b')' => {
                        depth -= 1;
                        if depth == 0 {
                            i += 1;
                            break;
                        }
                    }
                    b'"' if b[i..].starts_with(b"\"\"\"") => {
                        i = skip_text_block(b, i)?;
                        continue;
                    }
                    b'"' | b'\'' => {
                        i = skip_quoted(b, i)?;
                        continue;
                    }
                    _ => {}
                }
                i += 1;
            }
        }
    }
}

/// Whether a declaration's annotations make it a test JUnit runs by itself and nothing else.
fn test_annotations(names: &[&str]) -> bool {
    names.iter().any(|n| TEST_ANNOTATIONS.contains(n))
        && !names.iter().any(|n| {
            n.starts_with("Before")
                || n.starts_with("After")
                || n.starts_with("Sql")
                || matches!(*n, "Rule" | "ClassRule")
        })
}

/// The name of the test method a header declares: `[modifiers] void name(...) [throws ...] {`.
fn test_method(header: &str) -> Option<&str> {
    let open = header.find('(')?;
    let mut ws = header[..open].split_ascii_whitespace().rev();
    let name = ws.next()?;
    if ws.next()? != "void" || !ws.all(|m| MODIFIERS.contains(&m)) {
        return None;
    }
    (ident(name) == name && !name.is_empty() && header.ends_with('{')).then_some(name)
}

/// The type a line declares (`class`, `interface`, `enum`, `record`), if it does.
fn declared_type(header: &str) -> Option<&str> {
    let before = &header[..header.find('(').unwrap_or(header.len())];
    let mut ws = before.split_ascii_whitespace();
    while let Some(w) = ws.next() {
        if matches!(w, "class" | "interface" | "enum" | "record") {
            return ws.next().map(ident).filter(|n| !n.is_empty());
        }
    }
    None
}

/// The name a line that opens a brace gives it: a type's, or the word before its first `(`
/// (a method, a constructor, an anonymous class's type); none for a branch or loop.
fn declared(header: &str) -> Option<&str> {
    if let Some(t) = declared_type(header) {
        return Some(t);
    }
    let head = ident(header.trim_start_matches(['}', ' ', '\t']));
    if CONTROL.contains(&head) && head != "synchronized" {
        return None;
    }
    let open = header.find('(')?;
    let before = header[..open].trim_end();
    let start = before
        .rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '$'))
        .map_or(0, |n| n + 1);
    Some(&before[start..]).filter(|n| !n.is_empty() && !CONTROL.contains(n))
}

/// Whether a right-hand side can hold the text of an operation: anything but a call to
/// something other than [`TEXT_CALLS`].
fn rhs_carries(rhs: &str) -> bool {
    let r = rhs.trim_start();
    let path_end = r
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '$' || c == '.'))
        .unwrap_or(r.len());
    let path = &r[..path_end];
    if path.is_empty() || path == "new" || !r[path_end..].trim_start().starts_with('(') {
        return true;
    }
    path.rsplit('.')
        .next()
        .is_some_and(|last| TEXT_CALLS.contains(&last))
}

/// Words a declaration's type may hold besides a type's own name.
const DECLARATION_WORDS: &[&str] = &[
    "public",
    "protected",
    "private",
    "static",
    "final",
    "transient",
    "volatile",
    "var",
    "boolean",
    "byte",
    "char",
    "short",
    "int",
    "long",
    "float",
    "double",
];

/// Whether `lhs`, the text before an `=` from the start of its statement, declares the variable
/// it ends with (`private static final String SQL`, `List<String> names`): the analysis binds
/// it then. Unsure forms (annotations, `for (`, a second declarator) are not.
fn certain_binding(lhs: &str) -> bool {
    let mut tokens: Vec<&str> = lhs.split_ascii_whitespace().collect();
    let Some(name) = tokens.pop() else {
        return false;
    };
    let plain = ident(name) == name && !name.starts_with(|c: char| c.is_ascii_digit());
    plain
        && !name.is_empty()
        && !RESERVED.contains(&name)
        && !tokens.is_empty()
        && tokens.iter().all(|t| {
            t.bytes().all(|c| {
                c.is_ascii_alphanumeric()
                    || matches!(
                        c,
                        b'_' | b'$' | b'<' | b'>' | b',' | b'?' | b'[' | b']' | b'.'
                    )
            }) && (ident(t) != *t || DECLARATION_WORDS.contains(t) || !RESERVED.contains(t))
        })
}

type Seen<'a> = HashSet<&'a str, BuildHasherDefault<Fnv>>;

/// An open brace: the names bound to what it opens, whether it opens a type's body, and the
/// candidate it opens.
struct Frame<'a> {
    names: Vec<&'a str>,
    type_body: bool,
    cand: Option<usize>,
}

/// The Java file `source` with its droppable tests blanked, or `None` to parse it whole.
pub(crate) fn slice(
    source: &str,
    may_destroy: fn(&str) -> bool,
    named: &[String],
) -> Option<String> {
    let b = source.as_bytes();
    let has = |s: &str| memchr::memmem::find(b, s.as_bytes()).is_some();
    // Nothing to drop without a test; Flyway's `cleanDisabled(false)` turns on `clean()`
    // anywhere in the file, so a file that may have it is read whole.
    let tests = [
        "@Test",
        "@ParameterizedTest",
        "@RepeatedTest",
        "@TestFactory",
    ]
    .iter()
    .any(|t| has(t))
        || has("@org.junit")
        || has("@TestTemplate");
    if !tests || ((has("lyway") || has("LYWAY")) && has("isabled")) {
        return None;
    }
    let (logical, assigns) = lex(source)?;
    let mut lines: Vec<Line> = Vec::with_capacity(logical.len());
    let mut blocks: Vec<Block> = Vec::new();
    let mut valid: Vec<bool> = Vec::new();
    let mut indents: Vec<&str> = Vec::new();
    // Names bound for certain so far, and the names a candidate may bind before any such
    // binding (one of those may be the binding the analysis reads): (block, name).
    let mut bound_before = Seen::default();
    let mut binds: Vec<(usize, &str)> = Vec::new();
    let mut stack: Vec<Frame> = Vec::new();
    let mut open: Option<usize> = None;
    // Where the declarations start, after the package clause and imports.
    let mut code_start = None;
    let reserved = |w: &&str| !RESERVED.contains(w);
    for l in &logical {
        let text = source[l.text..l.range.end].trim_end();
        let indent = &source[l.range.start..l.text];
        let block = open;
        // What encloses its first byte: a line that closes an initialiser still sits in it.
        let scope: Vec<&str> = stack
            .iter()
            .rev()
            .flat_map(|f| f.names.iter().copied())
            .collect();
        for _ in 0..l.pops {
            let frame = stack.pop()?;
            if let Some(c) = frame.cand {
                // The test ends at a `}` alone at its annotation's indentation, or is no
                // candidate.
                valid[c] &= text == "}" && indent == indents[c] && l.pops == 1 && l.pushes == 0;
                blocks[c].range.end = l.range.end;
                open = None;
            }
        }
        let (annotations, header) = split_annotations(text)?;
        if code_start.is_none() && !matches!(ident(header), "package" | "import") {
            code_start = Some(l.range.start);
        }
        let mut bound: Vec<&str> = Vec::new();
        if l.pushes > 0 {
            bound.extend(declared(header));
        }
        let mut floor = l.text;
        for &eq in &assigns[l.assigns.clone()] {
            // The name assigned: the last word before the `=` (`String sql = ...`,
            // `String names[] = ...`, `this.sql = ...`).
            let lhs = &source[floor.min(eq)..eq];
            floor = eq + 1;
            let Some(name) = super::code_words(lhs, false).last().filter(reserved) else {
                continue;
            };
            if !bound_before.contains(name)
                && let Some(c) = block
                && !binds
                    .iter()
                    .rev()
                    .take_while(|x| x.0 == c)
                    .any(|x| x.1 == name)
            {
                binds.push((c, name));
            }
            if certain_binding(lhs) {
                bound_before.insert(name);
            }
            if rhs_carries(&source[eq + 1..l.range.end]) {
                bound.push(name);
            }
        }
        let mut cand = None;
        if l.pops == 0
            && l.pushes == 1
            && !stack.is_empty()
            && stack.iter().all(|f| f.type_body)
            && test_annotations(&annotations)
            && let Some(name) = test_method(header)
        {
            cand = Some(blocks.len());
            blocks.push(Block {
                range: l.range.clone(),
                name: Some(name),
                fill: "",
                fill_at: l.range.start,
            });
            valid.push(true);
            indents.push(indent);
            open = cand;
        }
        let head = ident(header.trim_start_matches(['}', ' ', '\t']));
        let control = CONTROL.contains(&head) && head != "synchronized";
        let type_body = declared_type(header).is_some();
        for k in 0..l.pushes {
            let names = if k == 0 && !control {
                bound.clone()
            } else {
                Vec::new()
            };
            stack.push(Frame {
                names,
                type_body: k == 0 && type_body,
                cand,
            });
        }
        lines.push(Line {
            range: l.range.clone(),
            bound,
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
        false,
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
    use crate::lang::{Context, java};

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
            java::analyze(src, &Context::default()),
            java::analyze(src, &whole),
            "slicing changed:\n{src}"
        );
        crate::lang::slice::remaining_lines(src, sliced(src))
    }

    /// A test class with `members` in its body after a hook that truncates.
    fn class(members: &str) -> String {
        format!(
            "class OrdersTest {{\n    @BeforeEach\n    void reset() {{\n        jdbc.execute(\"TRUNCATE orders\");\n    }}\n\n{members}}}\n"
        )
    }

    fn holds_test(src: &str) -> bool {
        kept(src).iter().any(|l| l.contains("void testA("))
    }

    #[test]
    fn ordinary_tests_are_blanked_and_offsets_kept() {
        let src = class(
            "    @Test\n    @DisplayName(\"a } { test\")\n    void testA() throws Exception {\n        String s = \"\"\"\n            }\n            \"\"\";\n        char c = '}';\n        assertEquals(1, f(s, c)); // }\n    }\n\n    @org.junit.jupiter.params.ParameterizedTest\n    @ValueSource(ints = {1, 2})\n    public void testB(int x)\n    {\n        /* { */ assertTrue(x > 0);\n    }\n",
        );
        let out = sliced(&src).expect("sliced");
        assert_eq!(out.len(), src.len());
        assert_eq!(out.matches('\n').count(), src.matches('\n').count());
        assert_eq!(
            kept(&src),
            [
                "class OrdersTest {",
                "    @BeforeEach",
                "    void reset() {",
                "        jdbc.execute(\"TRUNCATE orders\");",
                "    }",
                "}",
            ]
        );
    }

    #[test]
    fn tests_that_can_reach_an_operation_are_kept() {
        let test = "    @Test\n    void testA() {\n        BODY\n    }\n";
        let cases = [
            // Its own keyword.
            ("", "jdbc.execute(\"DELETE FROM users\");"),
            // A helper that truncates, called by name, or through another helper.
            (
                "    private void wipe() {\n        jdbc.execute(\"TRUNCATE t\");\n    }\n",
                "wipe();",
            ),
            (
                "    static void wipe() {\n        jdbc.execute(\"TRUNCATE t\");\n    }\n    void setup() {\n        wipe();\n    }\n",
                "setup();",
            ),
            (
                "    synchronized void wipe() {\n        jdbc.execute(\"TRUNCATE t\");\n    }\n",
                "wipe();",
            ),
            // Constants: a string, one built from it, a list, a formatted statement.
            (
                "    static final String WIPE = \"TRUNCATE t\";\n",
                "jdbc.execute(WIPE);",
            ),
            (
                "    static final String BASE = \"TRUNCATE \";\n    static final String WIPE = BASE + \"t\";\n",
                "jdbc.execute(WIPE);",
            ),
            (
                "    static final String[] STMTS = {\n        \"SELECT 1\",\n        \"TRUNCATE t\",\n    };\n",
                "run(STMTS);",
            ),
            (
                "    static final String WIPE = String.format(\"TRUNCATE %s\", T);\n",
                "jdbc.execute(WIPE);",
            ),
            (
                "    private final Runnable wipe = () -> {\n        jdbc.execute(\"TRUNCATE t\");\n    };\n",
                "wipe.run();",
            ),
            // Named elsewhere: a method source, a call.
            ("    void other() {\n        testA();\n    }\n", "x();"),
        ];
        for (members, body) in cases {
            let src = class(&format!("{members}{}", test.replace("BODY", body)));
            assert!(holds_test(&src), "dropped a test that matters:\n{src}");
        }
    }

    #[test]
    fn a_test_holding_the_first_binding_of_a_name_used_elsewhere_is_kept() {
        let src = "class T {\n    @Test\n    void testA() {\n        String url = \"x\";\n        f(url);\n    }\n\n    @BeforeAll\n    static void wipe() {\n        String url = ds.getUrl();\n        if (!url.contains(\"test\")) throw new IllegalStateException();\n        jdbc.execute(\"TRUNCATE t\");\n    }\n}\n";
        assert!(holds_test(src));
        let local = src
            .replace("String url = ds.getUrl();", "")
            .replace("url.", "dsUrl.");
        assert!(!holds_test(&local), "{local}");
        // An assignment binds nothing for the analysis: the test's declaration stays the first.
        let assigned = src.replace(
            "class T {\n",
            "class T {\n    void set() {\n        url = \"y\";\n    }\n",
        );
        assert!(holds_test(&assigned), "{assigned}");
        // A later declaration, or a name written only in strings elsewhere, changes nothing.
        let declared = src.replace("class T {\n", "class T {\n    String url = \"y\";\n");
        assert!(!holds_test(&declared), "{declared}");
        let quoted = class(
            "    @Test\n    void testA() {\n        int orders = 1;\n        f(orders);\n    }\n",
        );
        assert!(!holds_test(&quoted), "{quoted}");
    }

    #[test]
    fn hooks_helpers_and_other_members_are_never_candidates() {
        let cases = [
            "    @BeforeEach\n    void testA() {\n        x();\n    }\n",
            "    @Test\n    @BeforeEach\n    void testA() {\n        x();\n    }\n",
            "    @AfterAll\n    static void testA() {\n        x();\n    }\n",
            "    @Test\n    @Sql(\"/wipe.sql\")\n    void testA() {\n        x();\n    }\n",
            "    @Rule\n    public TestRule testA = new TestRule() {\n        void x() {}\n    };\n",
            "    void testA() {\n        x();\n    }\n",
            "    OrdersTest() {\n        x();\n    }\n",
            "    {\n        x();\n    }\n",
            "    @Test\n    int testA() {\n        return 1;\n    }\n",
            "    @Test void testA() { x(); }\n",
            "    Object o = new Object() {\n        @Test\n        void testA() {\n            x();\n        }\n    };\n",
        ];
        for case in cases {
            let src = class(case);
            assert_eq!(sliced(&src), None, "{src}");
        }
    }

    #[test]
    fn unusual_layouts_are_parsed_whole() {
        let test = "    @Test\n    void testA() {\n        x();\n    }\n";
        for src in [
            // The closing brace is not at the annotation's indentation, or something follows.
            class(&test.replace("\n    }\n", "\n      }\n")),
            class(&test.replace("\n    }\n", "\n    } // done\n")),
            // An unterminated string, text block, comment; an unclosed brace; a stray one.
            class(&test.replace("x();", "x(\"abc);")),
            class(&test.replace("x();", "x(\"\"\"abc);")),
            class(&test.replace("x();", "/* x();")),
            class(&test.replace("x();", "if (a) {")),
            format!("}}\n{}", class(test)),
        ] {
            assert_eq!(sliced(&src), None, "{src}");
        }
        // Flyway's clean protection turned off anywhere.
        let flyway = class(&test.replace("x();", "Flyway.configure().cleanDisabled(false);"));
        assert_eq!(sliced(&flyway), None);
    }

    #[test]
    fn headers_and_annotations() {
        assert_eq!(
            split_annotations("@A @b.C(x = \")\", y = {1}) @D\n void f() {"),
            Some((vec!["A", "C", "D"], "void f() {"))
        );
        assert!(test_annotations(&["DisplayName", "Test"]));
        assert!(!test_annotations(&["Test", "BeforeTransaction"]));
        assert_eq!(test_method("public void a(int x) throws E {"), Some("a"));
        assert_eq!(test_method("<T> void a() {"), None);
        assert_eq!(test_method("void a();"), None);
        assert_eq!(
            declared_type("public final class A<T> extends B {"),
            Some("A")
        );
        assert_eq!(declared_type("void record(int a) {"), None);
        assert_eq!(
            declared("public static <T> T make(Class<T> c) {"),
            Some("make")
        );
        assert_eq!(declared("} catch (Exception e) {"), None);
        assert_eq!(declared("synchronized (lock) {"), None);
        assert!(!rhs_carries(" jdbc.update(\"DELETE FROM t\");"));
        assert!(rhs_carries(" String.format(\"TRUNCATE %s\", t);"));
        assert!(rhs_carries(" new String[] {\"TRUNCATE t\"};"));
        assert!(rhs_carries(" \"TRUNCATE \" + t;"));
    }
}
