//! Test-source analysis for `unguarded-destructive-fixture`: find destructive operations in test
//! setup code, the environment guards that run before them, and the scopes and fixture
//! dependencies that connect the two. One file per language; this module is the interface.

use std::ops::Range;

pub mod go;
pub mod java;
pub mod javascript;
pub mod python;
pub mod ruby;
mod shared;
pub use shared::note_thread_stack;
pub(crate) mod slice;
pub mod sql_text;

/// A source language premortem can analyse for destructive test setup.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Lang {
    Python,
    JavaScript,
    TypeScript,
    Tsx,
    Ruby,
    Go,
    Java,
}

/// A destructive operation found in test code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DestructiveOp {
    /// Byte range of the destructive call or statement in the file.
    pub span: Range<usize>,
    /// What it does, for the message: `TRUNCATE`, `DELETE FROM without WHERE`, `Django flush`, ...
    pub operation: String,
    /// Target tables when they are known from the code.
    pub tables: Vec<String>,
    /// Name of the enclosing function, fixture, hook or method, when there is one.
    pub scope: Option<String>,
}

/// A destructive operation that no guard protects, with the reason and a fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnguardedOp {
    pub op: DestructiveOp,
    /// Why it is unguarded: `no guard runs before it`, `the guard on line 12 runs after it`,
    /// `the guard on line 9 sits in a branch that can be skipped`,
    /// `DatabaseCleaner's remote-URL refusal is turned off on line 4`.
    pub reason: String,
    /// A guard in this file's language and framework, ready to paste where it belongs.
    pub help: String,
}

/// What a file offers to files that inherit from it (a `conftest.py` to the test modules below it).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Exports {
    /// A guard runs at module level (import time), so everything below is guarded.
    pub module_guard: bool,
    /// Fixtures (or hooks) whose body is a guard, or that depend on one.
    pub guard_fixtures: Vec<String>,
    /// An autouse fixture is a guard, so every test below is guarded.
    pub autouse_guard: bool,
    /// Functions whose own body is a guard.
    pub guard_helpers: Vec<String>,
}

/// What the analysis of one file needs from outside it.
#[derive(Debug, Clone, Default)]
pub struct Context {
    /// Guard helper names listed in config (`guards: [assert_test_database]`).
    pub extra_guards: Vec<String>,
    /// Exports merged from the files this one inherits from (its `conftest.py` chain).
    pub inherited: Exports,
    /// Other files inherit from this one: analyse all of it (see [`slice`]), since a guard
    /// anywhere in it may protect them.
    pub keep_whole: bool,
}

/// The result of analysing one file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileAnalysis {
    pub unguarded: Vec<UnguardedOp>,
    pub exports: Exports,
}

/// The language of a test source file, by its extension.
pub fn lang_for_path(path: &str) -> Option<Lang> {
    let name = path.rsplit(['/', '\\']).next().unwrap_or(path);
    let ext = name.rsplit_once('.')?.1.to_ascii_lowercase();
    Some(match ext.as_str() {
        "py" => Lang::Python,
        "js" | "mjs" | "cjs" | "jsx" => Lang::JavaScript,
        "ts" | "mts" | "cts" => Lang::TypeScript,
        "tsx" => Lang::Tsx,
        "rb" => Lang::Ruby,
        "go" => Lang::Go,
        "java" => Lang::Java,
        _ => return None,
    })
}

/// The prefilter for one test file: false means analysing it cannot find a destructive
/// operation, so it is not parsed. Each language may narrow the shared keyword list.
pub fn may_destroy(lang: Lang, source: &str) -> bool {
    match lang {
        Lang::Python => python::may_destroy(source),
        Lang::Ruby => ruby::may_destroy(source),
        Lang::JavaScript | Lang::TypeScript | Lang::Tsx => javascript::may_destroy(source),
        _ => sql_text::has_destructive_keyword(source.as_bytes()),
    }
}

/// Analyse one file in the given language.
pub fn analyze(lang: Lang, source: &str, ctx: &Context) -> Result<FileAnalysis, String> {
    match lang {
        Lang::Python => python::analyze(source, ctx),
        Lang::JavaScript | Lang::TypeScript | Lang::Tsx => javascript::analyze(lang, source, ctx),
        Lang::Ruby => ruby::analyze(source, ctx),
        Lang::Go => go::analyze(source, ctx),
        Lang::Java => java::analyze(source, ctx),
    }
}

/// Analyses `source`, and checks that slicing it (see [`slice`]) changes nothing: every
/// language's unit tests go through this.
#[cfg(test)]
pub(crate) fn analyze_checked(lang: Lang, source: &str, ctx: &Context) -> FileAnalysis {
    let a = analyze(lang, source, ctx)
        .unwrap_or_else(|e| panic!("{lang:?} analysis failed: {e}\n{source}"));
    let whole = Context {
        keep_whole: true,
        ..ctx.clone()
    };
    assert_eq!(
        analyze(lang, source, &whole).as_ref(),
        Ok(&a),
        "{lang:?}: slicing changed the analysis of:\n{source}"
    );
    a
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn languages_follow_the_extension() {
        let cases = [
            ("tests/conftest.py", Some(Lang::Python)),
            ("a/b.test.js", Some(Lang::JavaScript)),
            ("x.mjs", Some(Lang::JavaScript)),
            ("x.cjs", Some(Lang::JavaScript)),
            ("x.jsx", Some(Lang::JavaScript)),
            ("x.spec.ts", Some(Lang::TypeScript)),
            ("x.mts", Some(Lang::TypeScript)),
            ("x.cts", Some(Lang::TypeScript)),
            ("x.TSX", Some(Lang::Tsx)),
            ("spec/x_spec.rb", Some(Lang::Ruby)),
            ("x_test.go", Some(Lang::Go)),
            ("FooTest.java", Some(Lang::Java)),
            ("x.d/readme", None),
            ("Makefile", None),
            ("x.pyc", None),
            ("x.json", None),
        ];
        for (path, want) in cases {
            assert_eq!(lang_for_path(path), want, "{path}");
        }
    }
}

/// Inputs where slicing once changed the analysis (found by review): each must analyse the same
/// sliced and whole. Non-ASCII names, groups that call a method of the file's own or are a
/// method's value, and lines that run into each other once a group or import between them is
/// blanked.
#[cfg(test)]
mod slicing_regressions {
    use super::*;

    fn chk(lang: Lang, src: &str) {
        analyze_checked(lang, src, &Context::default());
    }

    #[test]
    fn ruby() {
        for src in [
            "describe A do\n  before { abort unless Rails.env.test? }\n  def wipé\n    User.delete_all\n  end\nend\ndescribe B do\n  let(:x) { wipé }\nend\n",
            "describe A do\n  before { abort unless Rails.env.test? }\n  def wipé\n    User.delete_all\n  end\nend\ndescribe B do\n  it { wipé }\nend\n",
            "before { abort unless Rails.env.test? }\ndef context(name)\n  User.delete_all\nend\ncontext \"x\" do\nend\ndescribe X do\n  it { 1 }\nend\n",
            "def safe_target\n  describe ENV, env: :test do\n  end\nend\n\ndescribe X do\n  before { abort unless safe_target }\n  before { User.delete_all }\n  it { 1 }\nend\n",
        ] {
            chk(Lang::Ruby, src);
        }
    }

    #[test]
    fn javascript() {
        for src in [
            "describe('x', () => {\n})\n(function () {\n  beforeEach(() => { if (process.env.NODE_ENV !== 'test') throw new Error('no'); });\n})\nafterEach(async () => {\n  await db.query('TRUNCATE users');\n});\nit('x', () => {\n  expect(1).toBe(1);\n});\n",
            "const f = () => 0\nimport { helper } from './helper'\n(db.query('TRUNCATE users'))\nbeforeEach(() => {\n  if (process.env.NODE_ENV !== 'test') throw new Error('no');\n  f();\n});\nit('x', () => {\n  expect(1).toBe(1);\n});\n",
            "function describe(name, fn) {\n  return db.query('TRUNCATE users');\n}\ndescribe('x', () => {\n});\nit('y', () => {\n  expect(1).toBe(1);\n});\n",
            "const describe = (name, fn) => db.query('TRUNCATE users');\nbeforeEach(() => {\n  if (process.env.NODE_ENV !== 'test') throw new Error('x');\n});\ndescribe('x', () => {\n});\nit('y', () => {\n  expect(1).toBe(1);\n});\n",
            "const f = () => 0\nimport { helper } from './helper'\n(db.query('TRUNCATE users'))\nit('x', () => {\n  expect(1).toBe(1);\n});\n",
            "describe('x', () => {\n})\n(db.query('TRUNCATE users'))\nit('x', () => {\n  expect(1).toBe(1);\n});\n",
            "beforeEach(() => {\n  if (process.env.NODE_ENV !== 'test') throw new Error('x');\n});\nfunction wipé() {\n  return db.query('TRUNCATE users');\n}\nit('x', () => {\n  wipé();\n});\n",
        ] {
            chk(Lang::JavaScript, src);
        }
    }

    // Found by a second review: groups and imports on lines inside strings, templates and
    // heredocs; groups in a method at column 0 or indented with tabs; methods of the file's own
    // named `describe`.
    const IT: &str = "it('x', () => {\n  expect(1).toBe(1);\n});\n";

    #[test]
    fn js_template_import() {
        let src = format!(
            "beforeEach(async () => {{\n  const s = `x;\nimport {{ zz }} from \"${{await db.query('TRUNCATE users')}}\"\nend`;\n}});\n{IT}"
        );
        chk(Lang::JavaScript, &src);
    }
    #[test]
    fn ts_template_import() {
        let src = format!(
            "beforeEach(async () => {{\n  const s = `x;\nimport {{ zz }} from \"${{await db.query('TRUNCATE users')}}\"\nend`;\n}});\n{IT}"
        );
        chk(Lang::TypeScript, &src);
    }
    #[test]
    fn js_template_group() {
        let src = format!(
            "beforeEach(async () => {{\n  const s = `x;\ndescribe('${{await db.query(\"TRUNCATE users\")}}', () => {{\n}});\nend`;\n}});\n{IT}"
        );
        chk(Lang::JavaScript, &src);
    }
    #[test]
    fn ts_static_method_describe() {
        let src = format!(
            "class S {{\n  static describe(n, f) {{\n    return db.query('TRUNCATE users');\n  }}\n}}\nbeforeEach(() => {{\n  if (process.env.NODE_ENV !== 'test') throw new Error('x');\n}});\ndescribe('x', () => {{\n}});\n{IT}"
        );
        chk(Lang::TypeScript, &src);
    }
    #[test]
    fn ts_typed_method_describe() {
        let src = format!(
            "class S {{\n  describe(n: string, f: () => void) {{\n    return db.query('TRUNCATE users');\n  }}\n}}\ndescribe('x', () => {{\n}});\n{IT}"
        );
        chk(Lang::TypeScript, &src);
    }
    #[test]
    fn js_default_param_describe() {
        let src = format!(
            "function wrap() {{}}\nconst o = {{\n  describe(n = 'a', f) {{\n    return db.query('TRUNCATE users');\n  }},\n}};\ndescribe('x', () => {{\n}});\n{IT}"
        );
        chk(Lang::JavaScript, &src);
    }
    #[test]
    fn js_describe_at_col0_in_function() {
        let src = format!(
            "function check() {{\ndescribe('x', () => {{\n}});\n}}\nbeforeEach(async () => {{\n  check();\n  await db.query('TRUNCATE users');\n}});\n{IT}"
        );
        chk(Lang::JavaScript, &src);
    }
    #[test]
    fn rb_heredoc_group() {
        let src = "before do\n  x = <<~EOS\ndescribe '#{User.delete_all}' do\nend\nEOS\nend\ndescribe X do\n  it { 1 }\nend\n";
        chk(Lang::Ruby, src);
    }
    #[test]
    fn rb_string_group() {
        let src = "before do\n  x = \"a\ndescribe '#{User.delete_all}' do\nend\nb\"\nend\ndescribe X do\n  it { 1 }\nend\n";
        chk(Lang::Ruby, src);
    }
    #[test]
    fn rb_col0_def() {
        let src = "def safe_target\ndescribe ENV, env: :test do\nend\nend\n\ndescribe X do\n  before { abort unless safe_target }\n  before { User.delete_all }\n  it { 1 }\nend\n";
        chk(Lang::Ruby, src);
    }
    #[test]
    fn rb_tabs_def() {
        let src = "describe X do\n    def safe_target\n\t\tdescribe ENV, env: :test do\n\t\tend\n    end\n    before { abort unless safe_target }\n    before { User.delete_all }\n    it { 1 }\nend\n";
        chk(Lang::Ruby, src);
    }
    #[test]
    fn rb_end_dot() {
        let src = "def safe_target\n  describe ENV, env: :test do\n  end.then { 1 }\nend\n\ndescribe X do\n  before { abort unless safe_target }\n  before { User.delete_all }\n  it { 1 }\nend\n";
        chk(Lang::Ruby, src);
    }
    #[test]
    fn js_tabs_in_function() {
        let src = "describe('a', () => {\n    function check() {\n\t\tdescribe('x', () => {\n\t\t});\n    }\n    beforeEach(async () => {\n      check();\n      await db.query('TRUNCATE users');\n    });\n    it('x', () => {\n      expect(1).toBe(1);\n    });\n});\n";
        chk(Lang::JavaScript, src);
    }

    #[test]
    fn crlf_js() {
        let src = "function describe(n, f) {\r\n  return db.query('TRUNCATE users');\r\n}\r\ndescribe('x', () => {\r\n});\r\nimport { zz } from './z';\r\nit('x', () => {\r\n  expect(zz).toBe(1);\r\n});\r\n";
        chk(Lang::JavaScript, src);
    }
    #[test]
    fn py_alias() {
        let src = "import os\nfrom helpers import reset as os_check\nimport pytest\n\n@pytest.fixture\ndef reset_db(conn):\n    assert 'test' in os.environ['DATABASE_URL']\n    conn.execute('TRUNCATE TABLE users')\n\ndef test_a():\n    os_check()\n";
        chk(Lang::Python, src);
    }
    #[test]
    fn py_string() {
        let src = "import pytest\n\n@pytest.fixture\ndef reset_db(conn):\n    q = f'''x\nimport os\n{conn.execute('TRUNCATE TABLE users')}'''\n\ndef test_a():\n    assert 1\n";
        chk(Lang::Python, src);
    }
    #[test]
    fn tsx_jsx_use() {
        let src = "import { Row } from './row';\nbeforeEach(async () => {\n  await db.query('TRUNCATE users');\n  render(<Row />);\n});\nit('x', () => {\n  expect(1).toBe(1);\n});\n";
        chk(Lang::Tsx, src);
    }
}
