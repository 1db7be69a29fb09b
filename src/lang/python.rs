//! Python test sources: pytest fixtures and `conftest.py`, unittest and Django test cases.
//!
//! A destructive call is guarded when a target check runs before it on every path: earlier in the
//! same function (or an enclosing one), in a fixture it requests (directly or through other
//! fixtures), in an autouse fixture, in the class-level setup of its test case, at module level,
//! or by the framework itself (Django's test database). A helper that is not a fixture is guarded
//! when every call to it in the file is.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;

use regex::Regex;
use tree_sitter::{Node, Parser};

use super::shared::{
    self, BlockGuards, MAX_TREE_DEPTH, Marker, Polarity, ScopeGuards, Store, Throwaway,
    Transactions, named_children, walk,
};
use super::sql_text::{self, destructive_sql};
use super::{Context, DestructiveOp, Exports, FileAnalysis, UnguardedOp};

/// How deep expression evaluation and condition classification follow an expression.
const MAX_EXPR_DEPTH: usize = 32;
/// How many helper-call hops the analysis follows to find a guard at a call site.
const MAX_CALL_HOPS: usize = 4;
/// How many alternative SQL texts (a loop over statements or tables) are kept.
const MAX_ALTERNATIVES: usize = 64;

/// Analyse one Python file.
pub fn analyze(source: &str, ctx: &Context) -> Result<FileAnalysis, String> {
    let mut parser = Parser::new();
    parser
        .set_language(&tree_sitter_python::LANGUAGE.into())
        .map_err(|e| format!("cannot load the Python grammar: {e}"))?;
    let sliced = if ctx.keep_whole {
        None
    } else {
        super::slice::python::slice(source, may_destroy, &super::slice::keeps(ctx))
    };
    let tree = shared::parse_sliced(&mut parser, source, sliced)
        .ok_or_else(|| "the Python parser returned no tree".to_string())?;
    let file = PyFile::collect(source, tree.root_node(), ctx)?;
    Ok(file.run())
}

/// pytest-django fixtures that put a test on the separate `test_` database.
const DJANGO_DB_FIXTURES: &[&str] = &[
    "db",
    "transactional_db",
    "django_db_setup",
    "django_db_reset_sequences",
    "django_db_serialized_rollback",
    "live_server",
    "admin_user",
    "admin_client",
];

/// Modules whose test case classes run on Django's test database.
const DJANGO_TEST_MODULES: &[&str] = &[
    "django.test",
    "rest_framework.test",
    "django.contrib.staticfiles.testing",
];

/// The forms in which Python code can spell a destructive `delete`: SQL `DELETE FROM` (pieces of
/// one string or several), `delete_many`, the ORM's `.all().delete()` and `query(...).delete()`
/// chains (a call or `.query` before an empty `.delete()`), and SQLAlchemy's `delete(table)`.
/// `obj.delete()`, `client.delete(url)` and `on_delete=` are not among them.
static DELETE_FORMS: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(
        r#"(?i)delete["'\s+]*from|delete_many|\)\s*\.\s*delete\s*\(\s*\)|\.query\s*\.\s*delete\s*\(\s*\)|(?:^|[^.\w])delete\s*\(|sa\.delete\s*\("#,
    )
    .ok()
});

/// The Python prefilter: the shared keywords, with `delete` counted only in a form the analysis
/// can report (Django test suites say `.delete()` on single objects everywhere).
pub(super) fn may_destroy(source: &str) -> bool {
    sql_text::has_destructive_keyword_narrowing_delete(source, DELETE_FORMS.as_ref())
}

/// Database drivers whose connections Django's test runner does not redirect.
pub(crate) const OTHER_DRIVERS: &[&str] = &[
    "psycopg",
    "psycopg2",
    "asyncpg",
    "sqlalchemy",
    "pymysql",
    "MySQLdb",
    "sqlite3",
    "pg8000",
    "databases",
];

/// Calls that end the fixture, test or run.
const STOP_CALLS: &[&str] = &[
    "pytest.exit",
    "pytest.fail",
    "pytest.skip",
    "sys.exit",
    "exit",
    "quit",
    "os._exit",
    "os.abort",
    "self.fail",
    "self.skipTest",
    "unittest.skip",
];

/// Calls that run a SQL string (or a Redis command string).
const EXEC_NAMES: &[&str] = &[
    "execute",
    "executemany",
    "executescript",
    "exec_driver_sql",
    "execute_command",
    "execute_sql",
    "run_sql",
    "query",
    "raw",
    "run",
];

/// pytest hooks that run before any test is collected.
const SESSION_HOOKS: &[&str] = &["pytest_configure", "pytest_sessionstart"];

struct Func<'a> {
    node: Node<'a>,
    name: String,
    /// The pytest fixture name when this is a fixture.
    fixture: Option<String>,
    autouse: bool,
    /// Fixture scope: 0 function, 1 class, 2 module, 3 package, 4 session.
    scope_rank: u8,
    params: Vec<String>,
    usefixtures: Vec<String>,
    django_db_mark: bool,
    /// A `skipif`/`skipUnless` decorator that skips it on a wrong target.
    skip_guard: bool,
    class: Option<usize>,
    /// Defined at module level or directly in a class body.
    top_level: bool,
}

struct Class<'a> {
    node: Node<'a>,
    name: String,
    bases: Vec<String>,
    usefixtures: Vec<String>,
    django_db_mark: bool,
    skip_guard: bool,
}

/// A call site with its ancestors (outermost first).
struct Site<'a> {
    node: Node<'a>,
    path: Vec<Node<'a>>,
}

/// What an identifier stands for at some point of the code.
enum Binding<'a> {
    /// The variable of a `for` loop or comprehension over this iterable.
    Loop(Node<'a>),
    /// An assignment's value, with the ancestors of the assignment.
    Value(Node<'a>, Vec<Node<'a>>),
    Unknown,
}

enum Verdict {
    Guarded,
    Unguarded(String),
}

struct Found<'a> {
    node: Node<'a>,
    path: Vec<Node<'a>>,
    operation: String,
    tables: Vec<String>,
    store: Store,
}

struct PyFile<'a> {
    src: &'a str,
    root: Node<'a>,
    ctx: &'a Context,
    funcs: Vec<Func<'a>>,
    classes: Vec<Class<'a>>,
    /// Module-level `name = value` assignments, in order.
    module_assigns: Vec<(String, Node<'a>)>,
    /// Every `name = value` assignment in the file, for judging what a name reads.
    all_assigns: Vec<(String, Node<'a>)>,
    django_names: HashSet<String>,
    /// The file imports from `django`: its tests run under Django's test runner or pytest-django.
    django_import: bool,
    /// `connection` or `connections` is imported from `django.db`.
    django_connection: bool,
    /// Another database driver is imported, so raw SQL may not go through Django.
    other_driver: bool,
    /// Local names of `unittest`'s test case classes (`from unittest import TestCase`).
    unittest_names: HashSet<String>,
    /// Line of a `django.setup()` or `settings.configure()` call: Django set up by hand, outside
    /// the test runner, talks to whatever database the settings name.
    django_by_hand: Option<usize>,
    /// Environment variables this file forces to a test value: (name, line).
    forced_env: Vec<(String, usize)>,
    module_usefixtures: Vec<String>,
    module_django_db: bool,
    module_skip_guard: bool,
    /// Line of a `django_db_setup` override that does not build the test database.
    django_setup_override: Option<usize>,
    throwaway: Throwaway,
    guard_helpers: HashSet<String>,
    /// Function index by definition node id.
    func_index: HashMap<usize, usize>,
    /// File-level fixture index by fixture name.
    fixture_index: HashMap<String, usize>,
    block_guards: BlockGuards<'a>,
    scope_guards: ScopeGuards<'a>,
    url_vars: RefCell<HashMap<Store, String>>,
    transactions: Transactions,
    /// File-level fixtures that are guards or request one.
    guard_fixtures: HashSet<String>,
    /// A guard runs at module level or in a session-start hook.
    module_guarded: bool,
    /// Calls to this file's own functions, by the called name.
    calls: HashMap<String, Vec<Site<'a>>>,
    ops: Vec<Found<'a>>,
}

fn line(n: Node<'_>) -> usize {
    n.start_position().row + 1
}

fn field<'a>(n: Node<'a>, name: &'static str) -> Option<Node<'a>> {
    super::shared::field(n, name)
}

/// Strip parentheses and `await`.
fn unwrap_expr(mut n: Node<'_>) -> Node<'_> {
    for _ in 0..MAX_EXPR_DEPTH {
        match n.kind() {
            "parenthesized_expression" | "await" => match n.named_child(0) {
                Some(c) => n = c,
                None => return n,
            },
            _ => return n,
        }
    }
    n
}

/// The positional arguments of a call.
fn positional_args(call: Node<'_>) -> Vec<Node<'_>> {
    field(call, "arguments")
        .map(|a| {
            named_children(a)
                .into_iter()
                .filter(|c| c.kind() != "keyword_argument" && c.kind() != "comment")
                .collect()
        })
        .unwrap_or_default()
}

impl<'a> PyFile<'a> {
    fn text(&self, n: Node<'_>) -> &'a str {
        self.src.get(n.byte_range()).unwrap_or("")
    }

    /// Node text with all whitespace removed, for comparing dotted names.
    fn compact(&self, n: Node<'_>) -> String {
        self.text(n)
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect()
    }

    /// The last name of a callee: `execute` for `cur.execute`, `reset` for `reset`.
    fn callee_name(&self, call: Node<'_>) -> Option<&'a str> {
        let f = unwrap_expr(field(call, "function")?);
        match f.kind() {
            "identifier" => Some(self.text(f)),
            "attribute" => field(f, "attribute").map(|a| self.text(a)),
            _ => None,
        }
    }

    fn keyword_arg(&self, call: Node<'a>, name: &str) -> Option<Node<'a>> {
        let args = field(call, "arguments")?;
        named_children(args).into_iter().find_map(|c| {
            (c.kind() == "keyword_argument" && field(c, "name").map(|n| self.text(n)) == Some(name))
                .then(|| field(c, "value"))
                .flatten()
        })
    }

    /// A plain string literal's value (no interpolation).
    fn str_value(&self, n: Node<'_>) -> Option<String> {
        match n.kind() {
            "string" => {
                let mut out = String::new();
                for c in named_children(n) {
                    match c.kind() {
                        "string_content" | "escape_sequence" => out.push_str(self.text(c)),
                        "interpolation" => return None,
                        _ => {}
                    }
                }
                Some(out)
            }
            "concatenated_string" => {
                let mut out = String::new();
                for c in named_children(n) {
                    out.push_str(&self.str_value(c)?);
                }
                Some(out)
            }
            _ => None,
        }
    }

    // ---------------------------------------------------------------- collection

    fn collect(src: &'a str, root: Node<'a>, ctx: &'a Context) -> Result<PyFile<'a>, String> {
        let mut file = PyFile {
            src,
            root,
            ctx,
            funcs: Vec::new(),
            classes: Vec::new(),
            module_assigns: Vec::new(),
            all_assigns: Vec::new(),
            django_names: HashSet::new(),
            django_import: false,
            django_connection: false,
            other_driver: false,
            unittest_names: HashSet::new(),
            django_by_hand: None,
            forced_env: Vec::new(),
            module_usefixtures: Vec::new(),
            module_django_db: false,
            module_skip_guard: false,
            django_setup_override: None,
            throwaway: shared::throwaway_targets(src),
            guard_helpers: HashSet::new(),
            func_index: HashMap::new(),
            fixture_index: HashMap::new(),
            block_guards: BlockGuards::default(),
            scope_guards: ScopeGuards::default(),
            url_vars: RefCell::default(),
            transactions: Transactions::default(),
            guard_fixtures: HashSet::new(),
            module_guarded: false,
            calls: HashMap::new(),
            ops: Vec::new(),
        };
        let mut defs: Vec<(Node<'a>, Vec<Node<'a>>)> = Vec::new();
        let mut classes: Vec<(Node<'a>, Vec<Node<'a>>)> = Vec::new();
        let mut calls: Vec<Site<'a>> = Vec::new();
        let cut = walk(root, MAX_TREE_DEPTH, |n, path| {
            match n.kind() {
                "function_definition" => defs.push((n, path.to_vec())),
                "class_definition" => classes.push((n, path.to_vec())),
                "call" => calls.push(Site {
                    node: n,
                    path: path.to_vec(),
                }),
                "import_from_statement" => file.note_import(n),
                "import_statement" => file.note_plain_import(n),
                "assignment" => file.note_assignment(n, path),
                _ => {}
            }
            true
        });
        if let Some(reason) = shared::hidden_destruction(src, root, cut) {
            return Err(reason);
        }
        for (n, path) in &classes {
            file.note_class(*n, path);
        }
        for (n, path) in &defs {
            file.note_func(*n, path);
        }
        for site in &calls {
            file.note_env_call(site.node);
        }
        for (i, f) in file.funcs.iter().enumerate() {
            file.func_index.insert(f.node.id(), i);
            if f.class.is_none()
                && let Some(name) = &f.fixture
            {
                file.fixture_index.entry(name.clone()).or_insert(i);
            }
        }
        file.find_guard_helpers();
        file.guard_fixtures = file
            .funcs
            .iter()
            .filter(|f| f.class.is_none())
            .filter_map(|f| f.fixture.clone())
            .filter(|n| file.guard_fixture(n, &mut HashSet::new()))
            .collect();
        file.module_guarded = file.module_guard();
        let local: HashSet<&str> = file.funcs.iter().map(|f| f.name.as_str()).collect();
        let mut kept: HashMap<String, Vec<Site<'a>>> = HashMap::new();
        for site in calls {
            if let Some((operation, tables, store)) = file.destructive_call(site.node, &site.path) {
                file.ops.push(Found {
                    node: site.node,
                    path: site.path.clone(),
                    operation,
                    tables,
                    store,
                });
            }
            if let Some(n) = file.callee_name(site.node)
                && local.contains(n)
            {
                kept.entry(n.to_string()).or_default().push(site);
            }
        }
        file.calls = kept;
        Ok(file)
    }

    fn note_import(&mut self, n: Node<'a>) {
        let Some(module) = field(n, "module_name") else {
            return;
        };
        let module = self.compact(module);
        self.note_module(&module);
        let mut c = n.walk();
        let names: Vec<(&str, &str)> = n
            .children_by_field_name("name", &mut c)
            .filter_map(|name| match name.kind() {
                "aliased_import" => Some((
                    field(name, "name").map(|x| self.text(x))?,
                    field(name, "alias").map(|a| self.text(a))?,
                )),
                _ => Some((self.text(name), self.text(name))),
            })
            .collect();
        if module == "django.db" {
            self.django_connection |= names
                .iter()
                .any(|(n, _)| matches!(*n, "connection" | "connections"));
        }
        if module == "unittest" {
            for (n, local) in &names {
                if n.ends_with("TestCase") {
                    self.unittest_names.insert(local.to_string());
                }
            }
        }
        if DJANGO_TEST_MODULES.contains(&module.as_str()) {
            for (_, local) in names {
                self.django_names.insert(local.to_string());
            }
        }
    }

    /// `import django.test`, `import psycopg2 as pg`.
    fn note_plain_import(&mut self, n: Node<'a>) {
        for name in named_children(n) {
            let dotted = match name.kind() {
                "aliased_import" => field(name, "name"),
                _ => Some(name),
            };
            if let Some(d) = dotted {
                let module = self.compact(d);
                self.note_module(&module);
            }
        }
    }

    fn note_module(&mut self, module: &str) {
        let top = module.split('.').next().unwrap_or(module);
        self.django_import |= top == "django";
        self.other_driver |= OTHER_DRIVERS.contains(&top);
    }

    fn note_assignment(&mut self, n: Node<'a>, path: &[Node<'a>]) {
        let (Some(left), Some(right)) = (field(n, "left"), field(n, "right")) else {
            return;
        };
        match left.kind() {
            "identifier" => {
                let name = self.text(left).to_string();
                let at_module = path.len() == 2 && path[0].kind() == "module";
                if at_module {
                    if name == "pytestmark" {
                        self.note_module_marks(right);
                    }
                    self.module_assigns.push((name.clone(), right));
                }
                self.all_assigns.push((name, right));
            }
            // os.environ["APP_ENV"] = "test"
            "subscript" => {
                let value = field(left, "value")
                    .map(|v| self.compact(v))
                    .unwrap_or_default();
                if value.ends_with("environ")
                    && let Some(key) = field(left, "subscript").and_then(|k| self.str_value(k))
                    && self.str_value(right).as_deref().and_then(shared::marker)
                        == Some(Marker::Safe)
                {
                    self.forced_env.push((key, line(n)));
                }
            }
            _ => {}
        }
    }

    /// `monkeypatch.setenv("APP_ENV", "test")`, `os.putenv(...)`, `os.environ.update(APP_ENV="test")`.
    fn note_env_call(&mut self, call: Node<'a>) {
        let callee = field(call, "function")
            .map(|f| self.compact(f))
            .unwrap_or_default();
        if callee == "django.setup" || callee.ends_with("settings.configure") {
            self.django_by_hand.get_or_insert(line(call));
        }
        if callee.ends_with("setenv") || callee.ends_with("putenv") {
            let args = positional_args(call);
            if let (Some(k), Some(v)) = (args.first(), args.get(1))
                && let (Some(k), Some(v)) = (self.str_value(*k), self.str_value(*v))
                && shared::marker(&v) == Some(Marker::Safe)
            {
                self.forced_env.push((k, line(call)));
            }
        } else if callee.ends_with("environ.update")
            && let Some(args) = field(call, "arguments")
        {
            for kw in named_children(args) {
                if kw.kind() == "keyword_argument"
                    && let (Some(k), Some(v)) = (field(kw, "name"), field(kw, "value"))
                    && self.str_value(v).as_deref().and_then(shared::marker) == Some(Marker::Safe)
                {
                    self.forced_env.push((self.text(k).to_string(), line(call)));
                }
            }
        }
    }

    /// `pytestmark = pytest.mark.django_db` or a list of marks.
    fn note_module_marks(&mut self, value: Node<'a>) {
        let marks = match value.kind() {
            "list" | "tuple" => named_children(value),
            _ => vec![value],
        };
        for m in marks {
            let marks = self.marks(m);
            self.module_usefixtures.extend(marks.usefixtures);
            self.module_django_db |= marks.django_db;
            self.module_skip_guard |= marks.skip_guard;
        }
    }

    fn note_class(&mut self, n: Node<'a>, path: &[Node<'a>]) {
        let name = field(n, "name")
            .map(|x| self.text(x))
            .unwrap_or("")
            .to_string();
        let bases = field(n, "superclasses")
            .map(|s| {
                named_children(s)
                    .into_iter()
                    .filter(|b| b.kind() != "keyword_argument")
                    .map(|b| self.compact(b))
                    .collect()
            })
            .unwrap_or_default();
        let mut class = Class {
            node: n,
            name,
            bases,
            usefixtures: Vec::new(),
            django_db_mark: false,
            skip_guard: false,
        };
        if let Some(p) = path.last()
            && p.kind() == "decorated_definition"
        {
            for d in named_children(*p)
                .into_iter()
                .filter(|d| d.kind() == "decorator")
            {
                if let Some(e) = d.named_child(0) {
                    let m = self.marks(e);
                    class.usefixtures.extend(m.usefixtures);
                    class.django_db_mark |= m.django_db;
                    class.skip_guard |= m.skip_guard;
                }
            }
        }
        // `pytestmark = ...` in a class body marks every test in it.
        if let Some(body) = field(n, "body") {
            for st in named_children(body) {
                if st.kind() == "expression_statement"
                    && let Some(a) = st.named_child(0)
                    && a.kind() == "assignment"
                    && field(a, "left").map(|l| self.text(l)) == Some("pytestmark")
                    && let Some(v) = field(a, "right")
                {
                    let items = match v.kind() {
                        "list" | "tuple" => named_children(v),
                        _ => vec![v],
                    };
                    for m in items {
                        let m = self.marks(m);
                        class.usefixtures.extend(m.usefixtures);
                        class.django_db_mark |= m.django_db;
                        class.skip_guard |= m.skip_guard;
                    }
                }
            }
        }
        self.classes.push(class);
    }

    fn note_func(&mut self, n: Node<'a>, path: &[Node<'a>]) {
        let name = field(n, "name")
            .map(|x| self.text(x))
            .unwrap_or("")
            .to_string();
        let decorated = path
            .last()
            .filter(|p| p.kind() == "decorated_definition")
            .copied();
        let holder_at = path.len() - usize::from(decorated.is_some());
        // The block holding the definition, and what holds that block.
        let block = holder_at.checked_sub(1).and_then(|i| path.get(i)).copied();
        let block_owner = holder_at.checked_sub(2).and_then(|i| path.get(i)).copied();
        let class = match (block, block_owner) {
            (Some(b), Some(o)) if b.kind() == "block" && o.kind() == "class_definition" => {
                self.classes.iter().position(|c| c.node == o)
            }
            _ => None,
        };
        let top_level = block.is_some_and(|b| b.kind() == "module") || class.is_some();
        let params = self
            .param_names(n)
            .into_iter()
            .filter(|p| *p != "self" && *p != "cls")
            .map(str::to_string)
            .collect();
        let mut func = Func {
            node: n,
            name: name.clone(),
            fixture: None,
            autouse: false,
            scope_rank: 0,
            params,
            usefixtures: Vec::new(),
            django_db_mark: false,
            skip_guard: false,
            class,
            top_level,
        };
        if let Some(d) = decorated {
            for dec in named_children(d)
                .into_iter()
                .filter(|x| x.kind() == "decorator")
            {
                let Some(e) = dec.named_child(0) else {
                    continue;
                };
                let (target, call) = if e.kind() == "call" {
                    (field(e, "function").unwrap_or(e), Some(e))
                } else {
                    (e, None)
                };
                let t = self.compact(target);
                if matches!(
                    t.as_str(),
                    "pytest.fixture"
                        | "fixture"
                        | "pytest_asyncio.fixture"
                        | "pytest.yield_fixture"
                ) {
                    let mut fixture_name = name.clone();
                    if let Some(c) = call {
                        func.autouse = self
                            .keyword_arg(c, "autouse")
                            .is_some_and(|v| self.text(v) == "True");
                        func.scope_rank = match self
                            .keyword_arg(c, "scope")
                            .and_then(|v| self.str_value(v))
                            .as_deref()
                        {
                            Some("class") => 1,
                            Some("module") => 2,
                            Some("package") => 3,
                            Some("session") => 4,
                            _ => 0,
                        };
                        if let Some(v) = self.keyword_arg(c, "name").and_then(|v| self.str_value(v))
                        {
                            fixture_name = v;
                        }
                    }
                    func.fixture = Some(fixture_name);
                }
                let m = self.marks(e);
                func.usefixtures.extend(m.usefixtures);
                func.django_db_mark |= m.django_db;
                func.skip_guard |= m.skip_guard;
            }
        }
        if func.fixture.as_deref() == Some("django_db_setup")
            && !func.params.iter().any(|p| p == "django_db_setup")
            && class.is_none()
        {
            self.django_setup_override = Some(line(n));
        }
        self.funcs.push(func);
    }

    /// The parameter names of a function definition.
    fn param_names(&self, def: Node<'_>) -> Vec<&'a str> {
        field(def, "parameters")
            .map(|p| {
                named_children(p)
                    .into_iter()
                    .filter_map(|c| match c.kind() {
                        "identifier" => Some(self.text(c)),
                        "typed_parameter" | "list_splat_pattern" | "dictionary_splat_pattern" => {
                            named_children(c)
                                .into_iter()
                                .find(|i| i.kind() == "identifier")
                                .map(|i| self.text(i))
                        }
                        "default_parameter" | "typed_default_parameter" => {
                            field(c, "name").map(|i| self.text(i))
                        }
                        _ => None,
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// What a mark expression says: `pytest.mark.usefixtures("a")`, `pytest.mark.django_db`,
    /// `pytest.mark.skipif(<cond>)`, `unittest.skipUnless(<cond>)`.
    fn marks(&self, e: Node<'a>) -> Marks {
        let mut m = Marks::default();
        let (target, call) = if e.kind() == "call" {
            (field(e, "function").unwrap_or(e), Some(e))
        } else {
            (e, None)
        };
        let t = self.compact(target);
        let last = t.rsplit('.').next().unwrap_or("");
        match last {
            "usefixtures" => {
                if let Some(c) = call {
                    m.usefixtures = positional_args(c)
                        .into_iter()
                        .filter_map(|a| self.str_value(a))
                        .collect();
                }
            }
            "django_db" => m.django_db = true,
            "skipif" | "skipIf" | "skipUnless" => {
                if let Some(cond) = call.and_then(|c| positional_args(c).into_iter().next())
                    && let Some(p) = self.polarity(cond, 0)
                {
                    m.skip_guard = if last == "skipUnless" {
                        p.safe_when_true
                    } else {
                        p.safe_when_false
                    };
                }
            }
            _ => {}
        }
        m
    }

    /// Functions whose own body is a guard, found to a fixed point (a helper may call a helper).
    fn find_guard_helpers(&mut self) {
        self.guard_helpers = self
            .ctx
            .extra_guards
            .iter()
            .chain(&self.ctx.inherited.guard_helpers)
            .cloned()
            .collect();
        for _ in 0..=self.funcs.len() {
            let new: Vec<String> = self
                .funcs
                .iter()
                .filter(|f| f.fixture.is_none() && !self.guard_helpers.contains(&f.name))
                .filter(|f| self.body_guard(f.node).is_some())
                .map(|f| f.name.clone())
                .collect();
            if new.is_empty() {
                break;
            }
            self.guard_helpers.extend(new);
        }
    }

    // ---------------------------------------------------------------- destructive calls

    /// Is this call destructive? Its operation, target tables and store.
    fn destructive_call(
        &self,
        call: Node<'a>,
        path: &[Node<'a>],
    ) -> Option<(String, Vec<String>, Store)> {
        let name = self.callee_name(call)?;
        let func = unwrap_expr(field(call, "function")?);
        let receiver = if func.kind() == "attribute" {
            field(func, "object").map(unwrap_expr)
        } else {
            None
        };
        let args = positional_args(call);
        match name {
            n if EXEC_NAMES.contains(&n) => {
                let arg = unwrap_expr(*args.first()?);
                if let Some(found) = self.sqlalchemy_core_delete(arg) {
                    return Some(found);
                }
                let mut holes = Vec::new();
                let texts = self.eval(arg, path, 0, &mut holes)?;
                let mut ops: Vec<String> = Vec::new();
                let mut tables: Vec<String> = Vec::new();
                for t in &texts {
                    if let Some(d) = destructive_sql(t) {
                        if !ops.contains(&d.operation) {
                            ops.push(d.operation);
                        }
                        for tb in d.tables {
                            if !tables.contains(&tb) {
                                tables.push(tb);
                            }
                        }
                    }
                }
                if ops.is_empty() {
                    return None;
                }
                if tables.is_empty() {
                    tables = self.hole_tables(&holes, path);
                }
                let op = ops.join(", ");
                let store = if op.starts_with("FLUSH") {
                    Store::Redis
                } else {
                    Store::Sql
                };
                let op = if store == Store::Redis {
                    format!("Redis {op}")
                } else {
                    op
                };
                Some((op, tables, store))
            }
            "drop_all" => Some(("SQLAlchemy drop_all".into(), Vec::new(), Store::Sql)),
            "flushall" | "flushdb" => Some((
                format!("Redis {}", name.to_ascii_uppercase()),
                Vec::new(),
                Store::Redis,
            )),
            "drop_database" => Some((
                "MongoDB drop_database".into(),
                args.first()
                    .and_then(|a| self.str_value(*a))
                    .into_iter()
                    .collect(),
                Store::Mongo,
            )),
            "delete_many" => {
                let everything = match args.first() {
                    None => true,
                    Some(a) => a.kind() == "dictionary" && a.named_child_count() == 0,
                };
                everything.then(|| {
                    let coll = receiver
                        .and_then(|r| self.collection_name(r))
                        .into_iter()
                        .collect();
                    ("MongoDB delete_many({})".to_string(), coll, Store::Mongo)
                })
            }
            "call_command" => {
                let cmd = args.first().and_then(|a| self.str_value(*a))?;
                match cmd.as_str() {
                    "flush" | "reset_db" => Some((format!("Django {cmd}"), Vec::new(), Store::Sql)),
                    _ => None,
                }
            }
            "delete" if args.is_empty() => self.orm_delete_all(receiver?),
            _ => None,
        }
    }

    /// `db["users"]` or `db.users` as the collection a Mongo call works on.
    fn collection_name(&self, r: Node<'_>) -> Option<String> {
        match r.kind() {
            "subscript" => field(r, "subscript").and_then(|s| self.str_value(s)),
            "attribute" => field(r, "attribute").map(|a| self.text(a).to_string()),
            _ => None,
        }
    }

    /// `session.execute(delete(User))` with no `.where(...)`.
    fn sqlalchemy_core_delete(&self, arg: Node<'a>) -> Option<(String, Vec<String>, Store)> {
        if arg.kind() != "call" || self.callee_name(arg)? != "delete" {
            return None;
        }
        let f = unwrap_expr(field(arg, "function")?);
        let plain = f.kind() == "identifier" || self.compact(f).ends_with("sa.delete");
        let model = positional_args(arg).into_iter().next()?;
        plain.then(|| {
            (
                format!("SQLAlchemy delete({}) without where", self.text(model)),
                vec![self.text(model).to_string()],
                Store::Sql,
            )
        })
    }

    /// `M.objects.all().delete()`, `session.query(M).delete()`, `M.query.delete()`: a delete of
    /// every row. A filter anywhere in the chain, or a single fetched object, narrows it.
    fn orm_delete_all(&self, receiver: Node<'a>) -> Option<(String, Vec<String>, Store)> {
        const NARROWING: &[&str] = &[
            "filter",
            "filter_by",
            "where",
            "get",
            "exclude",
            "limit",
            "first",
            "one",
            "get_or_404",
            "first_or_404",
        ];
        // Django: `<Model>.<manager>.all().delete()`
        if receiver.kind() == "call" && self.callee_name(receiver) == Some("all") {
            let f = unwrap_expr(field(receiver, "function")?);
            let manager = field(f, "object").map(unwrap_expr)?;
            if manager.kind() == "attribute" {
                let model = field(manager, "object")?;
                let last = self.text(model).rsplit('.').next().unwrap_or("");
                if !last.starts_with(|c: char| c.is_ascii_uppercase()) {
                    return None;
                }
                return Some((
                    "Django objects.all().delete()".into(),
                    vec![self.text(model).to_string()],
                    Store::Sql,
                ));
            }
            return None;
        }
        // SQLAlchemy: walk the method chain down to `query(M)` or `M.query`.
        let mut n = receiver;
        for _ in 0..MAX_EXPR_DEPTH {
            match n.kind() {
                "call" => {
                    let name = self.callee_name(n)?;
                    if NARROWING.contains(&name) {
                        return None;
                    }
                    if name == "query" {
                        let model = positional_args(n).into_iter().next()?;
                        return Some((
                            format!("SQLAlchemy query({}).delete()", self.text(model)),
                            vec![self.text(model).to_string()],
                            Store::Sql,
                        ));
                    }
                    let f = unwrap_expr(field(n, "function")?);
                    n = unwrap_expr(field(f, "object")?);
                }
                "attribute" => {
                    if field(n, "attribute").map(|a| self.text(a)) == Some("query") {
                        let model = field(n, "object")?;
                        return Some((
                            format!("SQLAlchemy {}.query.delete()", self.text(model)),
                            vec![self.text(model).to_string()],
                            Store::Sql,
                        ));
                    }
                    return None;
                }
                _ => return None,
            }
        }
        None
    }

    /// Tables of a statement whose table names are interpolated: the loop's table list, or its
    /// name when the list is not literal.
    fn hole_tables(&self, holes: &[Node<'a>], path: &[Node<'a>]) -> Vec<String> {
        let mut out = Vec::new();
        for h in holes {
            let iter = match h.kind() {
                "identifier" => match self.resolve(*h, path) {
                    Binding::Loop(it) => Some(it),
                    _ => None,
                },
                "call" if self.callee_name(*h) == Some("join") => {
                    positional_args(*h).into_iter().next()
                }
                _ => None,
            };
            if let Some(it) = iter {
                match self.string_list(it, path, 0) {
                    Some(list) => out.extend(list),
                    None => out.push(format!("each table in {}", self.text(it))),
                }
            }
        }
        out.dedup();
        out
    }

    /// The SQL texts an expression can evaluate to; holes (unknown interpolated values) become
    /// `{?}` and are recorded. `None` when the expression is not a string at all.
    fn eval(
        &self,
        n: Node<'a>,
        path: &[Node<'a>],
        depth: usize,
        holes: &mut Vec<Node<'a>>,
    ) -> Option<Vec<String>> {
        if depth > MAX_EXPR_DEPTH {
            return None;
        }
        let n = unwrap_expr(n);
        match n.kind() {
            "string" => {
                let mut alts = vec![String::new()];
                for c in named_children(n) {
                    match c.kind() {
                        "string_content" | "escape_sequence" => {
                            let t = self.text(c);
                            alts.iter_mut().for_each(|a| a.push_str(t));
                        }
                        "interpolation" => {
                            let expr = field(c, "expression").or_else(|| c.named_child(0))?;
                            let part = self.eval(expr, path, depth + 1, holes);
                            alts = product(alts, self.or_hole(part, expr, holes));
                        }
                        _ => {}
                    }
                }
                Some(alts)
            }
            "concatenated_string" => {
                let mut alts = vec![String::new()];
                for c in named_children(n) {
                    let part = self.eval(c, path, depth + 1, holes)?;
                    alts = product(alts, part);
                }
                Some(alts)
            }
            "binary_operator" => {
                let (l, r) = (field(n, "left")?, field(n, "right")?);
                let op = field(n, "operator").map(|o| self.text(o)).unwrap_or("");
                match op {
                    "+" => {
                        let lv = self.eval(l, path, depth + 1, holes);
                        let rv = self.eval(r, path, depth + 1, holes);
                        if lv.is_none() && rv.is_none() {
                            return None;
                        }
                        Some(product(
                            self.or_hole(lv, l, holes),
                            self.or_hole(rv, r, holes),
                        ))
                    }
                    "%" => {
                        let lv = self.eval(l, path, depth + 1, holes)?;
                        match r.kind() {
                            "tuple" => holes.extend(named_children(r)),
                            _ => holes.push(r),
                        }
                        Some(lv)
                    }
                    _ => None,
                }
            }
            "call" => {
                let name = self.callee_name(n)?;
                let f = unwrap_expr(field(n, "function")?);
                let args = positional_args(n);
                match name {
                    "format" if f.kind() == "attribute" => {
                        holes.extend(args);
                        self.eval(field(f, "object")?, path, depth + 1, holes)
                    }
                    "join" if f.kind() == "attribute" => {
                        let sep = self.str_value(field(f, "object")?)?;
                        let list = *args.first()?;
                        match self.string_list(list, path, depth + 1) {
                            Some(items) => Some(vec![items.join(&sep)]),
                            None => {
                                holes.push(n);
                                Some(vec!["{?}".into()])
                            }
                        }
                    }
                    "text" | "SQL" | "DDL" | "literal_column" => {
                        self.eval(*args.first()?, path, depth + 1, holes)
                    }
                    _ => None,
                }
            }
            "identifier" => match self.resolve(n, path) {
                Binding::Loop(iter) => match self.string_list(iter, path, depth + 1) {
                    Some(items) if !items.is_empty() => Some(items),
                    _ => {
                        holes.push(n);
                        Some(vec!["{?}".into()])
                    }
                },
                Binding::Value(v, vpath) => self.eval(v, &vpath, depth + 1, holes),
                Binding::Unknown => None,
            },
            _ => None,
        }
    }

    fn or_hole(
        &self,
        v: Option<Vec<String>>,
        n: Node<'a>,
        holes: &mut Vec<Node<'a>>,
    ) -> Vec<String> {
        v.unwrap_or_else(|| {
            holes.push(unwrap_expr(n));
            vec!["{?}".into()]
        })
    }

    /// A literal list of strings, directly or through a name.
    fn string_list(&self, n: Node<'a>, path: &[Node<'a>], depth: usize) -> Option<Vec<String>> {
        if depth > MAX_EXPR_DEPTH {
            return None;
        }
        let n = unwrap_expr(n);
        match n.kind() {
            "list" | "tuple" | "set" => {
                let items: Option<Vec<String>> = named_children(n)
                    .into_iter()
                    .map(|c| self.str_value(c))
                    .collect();
                items.filter(|i| i.len() <= MAX_ALTERNATIVES)
            }
            "identifier" => match self.resolve(n, path) {
                Binding::Value(v, vpath) => self.string_list(v, &vpath, depth + 1),
                _ => None,
            },
            "call" => {
                let name = self.callee_name(n)?;
                let arg = *positional_args(n).first()?;
                match name {
                    "sorted" => {
                        let mut l = self.string_list(arg, path, depth + 1)?;
                        l.sort();
                        Some(l)
                    }
                    "list" | "tuple" | "reversed" => self.string_list(arg, path, depth + 1),
                    _ => None,
                }
            }
            _ => None,
        }
    }

    /// What the identifier `n` stands for at its position, given its ancestors.
    fn resolve(&self, n: Node<'a>, path: &[Node<'a>]) -> Binding<'a> {
        let name = self.text(n);
        for i in (0..path.len()).rev() {
            let p = path[i];
            let child = path.get(i + 1).copied().unwrap_or(n);
            match p.kind() {
                "for_statement" => {
                    if field(p, "body") == Some(child)
                        && field(p, "left").is_some_and(|l| self.text(l) == name)
                        && let Some(r) = field(p, "right")
                    {
                        return Binding::Loop(r);
                    }
                }
                "list_comprehension"
                | "generator_expression"
                | "set_comprehension"
                | "dictionary_comprehension" => {
                    for c in named_children(p) {
                        if c.kind() == "for_in_clause"
                            && field(c, "left").is_some_and(|l| self.text(l) == name)
                            && let Some(r) = field(c, "right")
                        {
                            return Binding::Loop(r);
                        }
                    }
                }
                "module" => {
                    let before = child.start_byte();
                    if let Some((_, v)) = self
                        .module_assigns
                        .iter()
                        .rev()
                        .find(|(k, v)| k == name && v.start_byte() < before)
                    {
                        return Binding::Value(*v, vec![self.root]);
                    }
                }
                "block" => {
                    let mut found = None;
                    for st in named_children(p) {
                        if st == child {
                            break;
                        }
                        if st.kind() == "expression_statement"
                            && let Some(a) = st.named_child(0)
                            && a.kind() == "assignment"
                            && field(a, "left")
                                .is_some_and(|l| l.kind() == "identifier" && self.text(l) == name)
                        {
                            found = field(a, "right").map(|r| (r, st));
                        }
                    }
                    if let Some((r, st)) = found {
                        let mut vpath = path[..=i].to_vec();
                        vpath.push(st);
                        return Binding::Value(r, vpath);
                    }
                }
                "function_definition" if self.param_names(p).contains(&name) => {
                    return Binding::Unknown;
                }
                _ => {}
            }
        }
        match self.module_assigns.iter().rev().find(|(k, _)| k == name) {
            Some((_, v)) => Binding::Value(*v, vec![self.root]),
            None => Binding::Unknown,
        }
    }

    // ---------------------------------------------------------------- guards

    /// Does this condition check the target, and when is the target then safe?
    fn polarity(&self, n: Node<'_>, depth: usize) -> Option<Polarity> {
        if depth > MAX_EXPR_DEPTH {
            return None;
        }
        match n.kind() {
            "parenthesized_expression" => self.polarity(n.named_child(0)?, depth + 1),
            "not_operator" => self
                .polarity(field(n, "argument")?, depth + 1)
                .map(Polarity::not),
            "boolean_operator" => {
                let l = self.polarity(field(n, "left")?, depth + 1);
                let r = self.polarity(field(n, "right")?, depth + 1);
                match field(n, "operator").map(|o| self.text(o)) {
                    Some("and") => Polarity::and(l, r),
                    Some("or") => Polarity::or(l, r),
                    _ => None,
                }
            }
            "comparison_operator" => self.comparison_polarity(n, depth),
            "call" => self.call_polarity(n, depth),
            "identifier" | "attribute" | "subscript" => {
                // A testing flag: `settings.TESTING`, `app.config["TESTING"]`.
                let t = self.text(n);
                (t.contains("TESTING") && !t.contains("environ"))
                    .then_some(Polarity::SAFE_WHEN_TRUE)
            }
            _ => None,
        }
    }

    fn comparison_polarity(&self, n: Node<'_>, depth: usize) -> Option<Polarity> {
        let operands = named_children(n);
        let mut c = n.walk();
        let ops: Vec<String> = n
            .children_by_field_name("operators", &mut c)
            .map(|o| {
                self.text(o)
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect();
        let ([a, b], [op]) = (operands.as_slice(), ops.as_slice()) else {
            return None;
        };
        let (a, b) = (unwrap_expr(*a), unwrap_expr(*b));
        match op.as_str() {
            "==" | "!=" | "is" | "is not" => {
                let (lit, other) = match (self.str_value(a), self.str_value(b)) {
                    (Some(l), None) => (l, b),
                    (None, Some(l)) => (l, a),
                    _ => return None,
                };
                if !self.is_target(other, depth) {
                    return None;
                }
                let p = shared::marker(&lit)?.matches();
                Some(if op == "==" || op == "is" { p } else { p.not() })
            }
            "in" | "not in" => {
                let p = if let Some(lit) = self.str_value(a) {
                    // "staging" in db_host
                    if !self.is_target(b, depth) {
                        return None;
                    }
                    shared::marker(&lit)?.matches()
                } else {
                    // db_host in ALLOWED_HOSTS / in ("localhost", "127.0.0.1")
                    if !self.is_target(a, depth) {
                        return None;
                    }
                    match b.kind() {
                        "list" | "tuple" | "set" => {
                            let items: Vec<String> = named_children(b)
                                .into_iter()
                                .filter_map(|c| self.str_value(c))
                                .collect();
                            shared::markers(items.iter().map(String::as_str))?.matches()
                        }
                        "string" => shared::marker(&self.str_value(b)?)?.matches(),
                        "identifier" | "attribute" | "subscript" => {
                            shared::collection_marker(self.text(b)).matches()
                        }
                        _ => return None,
                    }
                };
                Some(if op == "in" { p } else { p.not() })
            }
            _ => None,
        }
    }

    fn call_polarity(&self, n: Node<'_>, depth: usize) -> Option<Polarity> {
        let name = self.callee_name(n)?;
        let f = unwrap_expr(field(n, "function")?);
        let args = positional_args(n);
        match name {
            "endswith" | "startswith" | "__contains__" => {
                let obj = field(f, "object")?;
                if !self.is_target(obj, depth) {
                    return None;
                }
                let lits = self.literal_alternatives(*args.first()?);
                shared::markers(lits.iter().map(String::as_str)).map(Marker::matches)
            }
            "match" | "search" | "fullmatch" | "fnmatch" | "fnmatchcase" => {
                let lits: Vec<String> = args
                    .iter()
                    .flat_map(|a| self.literal_alternatives(*a))
                    .collect();
                let target = args
                    .iter()
                    .any(|a| self.str_value(*a).is_none() && self.is_target(*a, depth));
                if !target {
                    return None;
                }
                shared::markers(lits.iter().map(String::as_str)).map(Marker::matches)
            }
            other if shared::looks_like_test_predicate(other) => Some(Polarity::SAFE_WHEN_TRUE),
            _ => None,
        }
    }

    fn literal_alternatives(&self, n: Node<'_>) -> Vec<String> {
        match n.kind() {
            "tuple" | "list" | "set" => named_children(n)
                .into_iter()
                .filter_map(|c| self.str_value(c))
                .collect(),
            _ => self.str_value(n).into_iter().collect(),
        }
    }

    /// Does this expression read the database target or the environment, directly or through a
    /// variable assigned from one?
    fn is_target(&self, n: Node<'_>, depth: usize) -> bool {
        if self.str_value(n).is_some() {
            return false;
        }
        let t = self.text(n);
        if shared::reads_target(t) {
            return true;
        }
        if n.kind() == "identifier" && depth < MAX_EXPR_DEPTH {
            return self
                .all_assigns
                .iter()
                .filter(|(k, _)| k == t)
                .any(|(_, v)| self.is_target(*v, depth + 1));
        }
        false
    }

    fn is_stop(&self, st: Node<'_>) -> bool {
        match st.kind() {
            "raise_statement" | "return_statement" => true,
            "expression_statement" => st.named_child(0).map(unwrap_expr).is_some_and(|e| {
                e.kind() == "call"
                    && field(e, "function")
                        .is_some_and(|f| STOP_CALLS.contains(&self.compact(f).as_str()))
            }),
            _ => false,
        }
    }

    /// Is this statement itself a guard: an assert on the target, an `if` on the target that
    /// stops the run, or a call to a guard helper?
    fn stmt_guard(&self, st: Node<'_>) -> bool {
        match st.kind() {
            "assert_statement" => st
                .named_child(0)
                .and_then(|c| self.polarity(c, 0))
                .is_some_and(|p| p.safe_when_true),
            "if_statement" => {
                let stops = field(st, "consequence")
                    .is_some_and(|b| named_children(b).into_iter().any(|s| self.is_stop(s)));
                stops
                    && field(st, "condition")
                        .and_then(|c| self.polarity(c, 0))
                        .is_some_and(|p| p.safe_when_false)
            }
            "expression_statement" => st.named_child(0).map(unwrap_expr).is_some_and(|e| {
                e.kind() == "call"
                    && self
                        .callee_name(e)
                        .is_some_and(|n| self.guard_helpers.contains(n))
            }),
            _ => false,
        }
    }

    /// A guard that runs whenever this statement runs: the statement itself, or one inside a
    /// `with` body, or inside a `try` whose handlers all stop the run too.
    fn runs_guard(&self, st: Node<'a>, depth: usize) -> Option<Node<'a>> {
        if self.stmt_guard(st) {
            return Some(st);
        }
        if depth > 8 {
            return None;
        }
        match st.kind() {
            "with_statement" => field(st, "body").and_then(|b| {
                named_children(b)
                    .into_iter()
                    .find_map(|s| self.runs_guard(s, depth + 1))
            }),
            "try_statement" => {
                let handlers_stop = named_children(st)
                    .into_iter()
                    .filter(|c| c.kind() == "except_clause")
                    .all(|h| {
                        named_children(h)
                            .into_iter()
                            .filter(|b| b.kind() == "block")
                            .any(|b| named_children(b).into_iter().any(|s| self.is_stop(s)))
                    });
                if !handlers_stop {
                    return None;
                }
                field(st, "body").and_then(|b| {
                    named_children(b)
                        .into_iter()
                        .find_map(|s| self.runs_guard(s, depth + 1))
                })
            }
            _ => None,
        }
    }

    /// The guard a function body runs unconditionally before it yields, if any.
    fn body_guard(&self, def: Node<'a>) -> Option<Node<'a>> {
        let body = field(def, "body")?;
        for st in named_children(body) {
            if let Some(g) = self.runs_guard(st, 0) {
                return Some(g);
            }
            if st.kind() == "expression_statement"
                && st.named_child(0).is_some_and(|e| e.kind() == "yield")
            {
                return None;
            }
        }
        None
    }

    /// A guard whose check only reads environment-name variables this file forces to a test
    /// value, so it can never fail: (variable, line that forces it).
    fn defeated(&self, guard: Node<'_>) -> Option<(String, usize)> {
        if self.forced_env.is_empty() {
            return None;
        }
        let cond = match guard.kind() {
            "assert_statement" => guard.named_child(0)?,
            "if_statement" => field(guard, "condition")?,
            _ => return None,
        };
        let mut hit = None;
        let mut other_target = false;
        walk(cond, MAX_TREE_DEPTH, |n, _| match n.kind() {
            "string" => {
                if let Some(v) = self.str_value(n)
                    && let Some((var, at)) = self
                        .forced_env
                        .iter()
                        .find(|(k, _)| *k == v && shared::is_env_name_var(k))
                {
                    hit.get_or_insert((var.clone(), *at));
                }
                false
            }
            "identifier" => {
                let t = self.text(n);
                if !matches!(t, "os" | "environ" | "getenv" | "get") && shared::reads_target(t) {
                    other_target = true;
                }
                false
            }
            _ => true,
        });
        if other_target { None } else { hit }
    }

    // ---------------------------------------------------------------- judging

    fn func_of(&self, def: Node<'_>) -> Option<&Func<'a>> {
        self.func_index
            .get(&def.id())
            .and_then(|i| self.funcs.get(*i))
    }

    fn fixture(&self, name: &str) -> Option<&Func<'a>> {
        self.fixture_index
            .get(name)
            .and_then(|i| self.funcs.get(*i))
    }

    /// Is the fixture `name` a guard, or does it request one (through other fixtures)?
    fn guard_fixture(&self, name: &str, seen: &mut HashSet<String>) -> bool {
        if !seen.insert(name.to_string()) || seen.len() > 64 {
            return false;
        }
        if let Some(f) = self.fixture(name) {
            if self
                .body_guard(f.node)
                .is_some_and(|g| self.defeated(g).is_none())
            {
                return true;
            }
            return f
                .params
                .iter()
                .chain(&f.usefixtures)
                .any(|p| self.guard_fixture(p, seen));
        }
        self.ctx.inherited.guard_fixtures.iter().any(|g| g == name)
    }

    fn is_guard_fixture(&self, name: &str) -> bool {
        self.guard_fixtures.contains(name)
            || (self.fixture(name).is_none()
                && self.ctx.inherited.guard_fixtures.iter().any(|g| g == name))
    }

    /// Does the fixture `name` (or one it requests) put the test on Django's test database?
    fn django_fixture(&self, name: &str, seen: &mut HashSet<String>) -> bool {
        if !seen.insert(name.to_string()) || seen.len() > 64 {
            return false;
        }
        match self.fixture(name) {
            Some(f) if name != "django_db_setup" => f
                .params
                .iter()
                .chain(&f.usefixtures)
                .any(|p| self.django_fixture(p, seen)),
            _ => DJANGO_DB_FIXTURES.contains(&name),
        }
    }

    /// Is this class (or a base class in this file) a Django test case?
    fn django_class(&self, idx: usize, depth: usize) -> bool {
        let Some(c) = self.classes.get(idx) else {
            return false;
        };
        c.bases.iter().any(|b| {
            let last = b.rsplit('.').next().unwrap_or(b);
            DJANGO_TEST_MODULES
                .iter()
                .any(|m| b.starts_with(&format!("{m}.")))
                || self.django_names.contains(b.as_str())
                || (depth < 8
                    && self
                        .classes
                        .iter()
                        .position(|k| k.name == last)
                        .is_some_and(|k| k != idx && self.django_class(k, depth + 1)))
        })
    }

    /// The class and its same-file bases, nearest first.
    fn class_chain(&self, idx: usize) -> Vec<usize> {
        let mut chain = vec![idx];
        let mut i = 0;
        while i < chain.len() && chain.len() < 16 {
            let c = &self.classes[chain[i]];
            for b in &c.bases {
                let last = b.rsplit('.').next().unwrap_or(b);
                if let Some(k) = self.classes.iter().position(|k| k.name == last)
                    && !chain.contains(&k)
                {
                    chain.push(k);
                }
            }
            i += 1;
        }
        chain
    }

    fn method(&self, class: usize, name: &str) -> Option<&Func<'a>> {
        self.funcs
            .iter()
            .find(|f| f.class == Some(class) && f.name == name)
    }

    fn module_guard(&self) -> bool {
        named_children(self.root).into_iter().any(|st| {
            self.runs_guard(st, 0)
                .is_some_and(|g| self.defeated(g).is_none())
        }) || self.funcs.iter().any(|f| {
            f.class.is_none()
                && SESSION_HOOKS.contains(&f.name.as_str())
                && self.body_guard(f.node).is_some()
        })
    }

    /// Is the destructive call (or helper call) at `node` guarded?
    fn judge(
        &self,
        node: Node<'a>,
        path: &[Node<'a>],
        store: Store,
        hops: usize,
        notes: &mut Notes,
    ) -> Verdict {
        if self.throwaway.covers(store) || self.ctx.inherited.module_guard {
            return Verdict::Guarded;
        }
        // Walk out from the call: earlier statements in each enclosing block, enclosing `if`s,
        // rolled-back transactions.
        let mut deferred = false;
        let mut child = node;
        for i in (0..path.len()).rev() {
            let p = path[i];
            match p.kind() {
                "module" | "block" => {
                    let collection_level =
                        p.kind() == "module" || (i > 0 && path[i - 1].kind() == "class_definition");
                    // Module and class bodies finish before any function in them is called.
                    let all = deferred && collection_level;
                    let here = child.start_byte();
                    let guards = self.block_guards.get(p, |st| self.runs_guard(st, 0));
                    for (at, g) in guards.iter() {
                        if *at < here || (all && *at != here) {
                            match self.defeated(*g) {
                                None => return Verdict::Guarded,
                                Some(d) => {
                                    notes.defeated.get_or_insert((line(*g), d));
                                }
                            }
                        }
                    }
                    // Transactions are begun and rolled back inside functions: a transaction
                    // begun before the statement and rolled back after it.
                    if store == Store::Sql
                        && !collection_level
                        && self
                            .transactions
                            .get(p, |n| self.text(n), |st| self.transaction_var(st))
                            .rolled_back_around(child)
                    {
                        return Verdict::Guarded;
                    }
                }
                "if_statement" | "elif_clause" => {
                    let cond = field(p, "condition").and_then(|c| self.polarity(c, 0));
                    if let Some(c) = cond {
                        if field(p, "consequence") == Some(child) && c.safe_when_true {
                            return Verdict::Guarded;
                        }
                        if child.kind() == "else_clause" && c.safe_when_false {
                            return Verdict::Guarded;
                        }
                    }
                }
                // `is_test_db() and conn.execute(...)`
                "boolean_operator"
                    if field(p, "right") == Some(child)
                        && field(p, "operator").map(|o| self.text(o)) == Some("and")
                        && field(p, "left")
                            .and_then(|l| self.polarity(l, 0))
                            .is_some_and(|c| c.safe_when_true) =>
                {
                    return Verdict::Guarded;
                }
                "with_statement" if store == Store::Sql && self.rolled_back_with(p) => {
                    return Verdict::Guarded;
                }
                "function_definition" => deferred = true,
                _ => {}
            }
            child = p;
        }
        // Outside the function: fixtures, class setup, module and session guards, the framework.
        let outer = path
            .iter()
            .copied()
            .find(|n| n.kind() == "function_definition");
        let Some(outer) = outer else {
            return Verdict::Unguarded(self.local_reason(node, None, notes));
        };
        if self.module_guarded || self.ctx.inherited.autouse_guard {
            return Verdict::Guarded;
        }
        let Some(f) = self.func_of(outer) else {
            return Verdict::Unguarded(self.local_reason(node, Some(outer), notes));
        };
        let is_test = f.name.starts_with("test") && f.fixture.is_none();
        let class = f.class;
        let in_test_context = f.fixture.is_some() || is_test || class.is_some();
        if in_test_context {
            let mut deps: Vec<&String> = f.params.iter().chain(&f.usefixtures).collect();
            if f.fixture.is_none() {
                deps.extend(&self.module_usefixtures);
                if let Some(c) = class {
                    for k in self.class_chain(c) {
                        deps.extend(&self.classes[k].usefixtures);
                    }
                }
            }
            if deps.iter().any(|d| self.is_guard_fixture(d)) {
                return Verdict::Guarded;
            }
            let autouse = self.funcs.iter().any(|g| {
                // A wider-scoped fixture is set up before a narrower autouse one.
                g.autouse
                    && g.node != f.node
                    && g.scope_rank >= f.scope_rank
                    && (g.class.is_none() || g.class == class)
                    && g.fixture
                        .as_deref()
                        .is_some_and(|n| self.is_guard_fixture(n))
            });
            if autouse {
                return Verdict::Guarded;
            }
            if is_test
                && (f.skip_guard
                    || self.module_skip_guard
                    || class.is_some_and(|c| self.classes[c].skip_guard))
            {
                return Verdict::Guarded;
            }
            // unittest: class-level setup runs before setUp, setUp before each test.
            if let Some(c) = class {
                for k in self.class_chain(c) {
                    if f.name != "setUpClass"
                        && self
                            .method(k, "setUpClass")
                            .is_some_and(|m| self.body_guard(m.node).is_some())
                    {
                        return Verdict::Guarded;
                    }
                    if f.name != "setUp"
                        && f.name != "setUpClass"
                        && self
                            .method(k, "setUp")
                            .is_some_and(|m| self.body_guard(m.node).is_some())
                    {
                        return Verdict::Guarded;
                    }
                }
                if self.funcs.iter().any(|m| {
                    m.class.is_none()
                        && m.name == "setUpModule"
                        && self.body_guard(m.node).is_some()
                }) {
                    return Verdict::Guarded;
                }
            }
            if store == Store::Sql {
                let django = class.is_some_and(|c| self.django_class(c, 0))
                    || (is_test
                        && (f.django_db_mark
                            || self.module_django_db
                            || class.is_some_and(|c| self.classes[c].django_db_mark)))
                    || deps
                        .iter()
                        .any(|d| self.django_fixture(d, &mut HashSet::new()));
                if django {
                    match self.django_setup_override {
                        None => return Verdict::Guarded,
                        Some(at) => {
                            notes.django_off = Some(at);
                        }
                    }
                }
            }
            if f.fixture.is_some() || is_test {
                return Verdict::Unguarded(self.local_reason(node, Some(outer), notes));
            }
        }
        // A helper: guarded when every call to it in this file is.
        if hops < MAX_CALL_HOPS {
            let callers: Vec<&Site<'a>> = self
                .calls
                .get(&f.name)
                .into_iter()
                .flatten()
                .filter(|s| !s.path.contains(&outer))
                .collect();
            if !callers.is_empty() {
                for s in &callers {
                    let mut inner = Notes::default();
                    if let Verdict::Unguarded(_) =
                        self.judge(s.node, &s.path, store, hops + 1, &mut inner)
                    {
                        notes.unguarded_caller = Some(line(s.node));
                        return Verdict::Unguarded(self.local_reason(node, Some(outer), notes));
                    }
                }
                return Verdict::Guarded;
            }
        }
        Verdict::Unguarded(self.local_reason(node, Some(outer), notes))
    }

    /// `tx = conn.begin()`: the transaction variable.
    fn transaction_var(&self, st: Node<'_>) -> Option<String> {
        let a = st.named_child(0)?;
        if a.kind() != "assignment" {
            return None;
        }
        let left = field(a, "left")?;
        let right = unwrap_expr(field(a, "right")?);
        (left.kind() == "identifier"
            && right.kind() == "call"
            && matches!(
                self.callee_name(right),
                Some("begin" | "begin_nested" | "transaction")
            ))
        .then(|| self.text(left).to_string())
    }

    /// `with conn.begin() as tx: ...; tx.rollback()` or `with transaction.atomic(): ...;
    /// transaction.set_rollback(True)`.
    fn rolled_back_with(&self, with: Node<'_>) -> bool {
        let Some(body) = field(with, "body") else {
            return false;
        };
        let body_text = self.text(body);
        let mut c = with.walk();
        let items: Vec<Node<'_>> = with
            .named_children(&mut c)
            .filter(|n| n.kind() == "with_clause")
            .flat_map(named_children)
            .collect();
        items.into_iter().any(|item| {
            let Some(v) = field(item, "value") else {
                return false;
            };
            let (call, alias) = if v.kind() == "as_pattern" {
                (
                    v.named_child(0),
                    field(v, "alias").map(|a| self.text(a).trim().to_string()),
                )
            } else {
                (Some(v), None)
            };
            let Some(call) = call.map(unwrap_expr).filter(|c| c.kind() == "call") else {
                return false;
            };
            let begins = matches!(
                self.callee_name(call),
                Some("begin" | "begin_nested" | "atomic" | "transaction")
            );
            begins
                && (body_text.contains("set_rollback(True)")
                    || alias.is_some_and(|a| body_text.contains(&format!("{a}.rollback("))))
        })
    }

    /// Why a call is unguarded, from what the file does hold.
    fn local_reason(&self, node: Node<'a>, outer: Option<Node<'a>>, notes: &Notes) -> String {
        if let Some((g, (var, at))) = &notes.defeated {
            return format!(
                "the guard on line {g} checks {var}, which line {at} sets to a test value itself"
            );
        }
        if let Some(at) = notes.django_off {
            return format!(
                "pytest-django's separate test database is turned off: `django_db_setup` is overridden on line {at}"
            );
        }
        // The guard statements of the scope, in source order, found once per scope.
        let guards = self.scope_guards.get(outer, || {
            let mut found = Vec::new();
            let mut consider = |n: Node<'a>| {
                if matches!(
                    n.kind(),
                    "assert_statement" | "if_statement" | "expression_statement"
                ) && self.stmt_guard(n)
                {
                    found.push(n);
                    return false;
                }
                true
            };
            match outer {
                Some(o) => {
                    walk(o, MAX_TREE_DEPTH, |n, _| consider(n));
                }
                // At module level only module-level statements matter.
                None => named_children(self.root).into_iter().for_each(|n| {
                    consider(n);
                }),
            }
            found
        });
        let (before, after) = shared::guards_around(
            &guards,
            |g| g.start_byte() < node.start_byte(),
            node.end_byte(),
        );
        if let Some(b) = before {
            let swallowed = {
                let mut p = b.parent();
                let mut found = false;
                for _ in 0..MAX_TREE_DEPTH {
                    match p {
                        Some(x) if Some(x) != outer && x != self.root => {
                            if x.kind() == "try_statement" {
                                found = true;
                                break;
                            }
                            p = x.parent();
                        }
                        _ => break,
                    }
                }
                found
            };
            return if swallowed {
                format!(
                    "the guard on line {} sits in a `try` whose handler lets the run continue",
                    line(b)
                )
            } else {
                format!(
                    "the guard on line {} sits in a branch that can be skipped",
                    line(b)
                )
            };
        }
        if let Some(a) = after {
            return format!("the guard on line {} runs after it", line(a));
        }
        if let Some(at) = notes.unguarded_caller {
            let name = outer
                .and_then(|o| field(o, "name"))
                .map(|n| self.text(n))
                .unwrap_or("it");
            return format!("no guard runs before it: `{name}` is called unguarded on line {at}");
        }
        if let Some(f) = outer.and_then(|o| self.func_of(o))
            && f.fixture.is_some()
            && let Some(g) = self
                .funcs
                .iter()
                .filter(|g| g.node != f.node && g.class.is_none())
                .find(|g| {
                    g.fixture
                        .as_ref()
                        .is_some_and(|n| self.guard_fixtures.contains(n))
                })
        {
            return format!(
                "no guard runs before it: the guard fixture `{}` on line {} is not among its parameters",
                g.fixture.as_deref().unwrap_or(&g.name),
                line(g.node)
            );
        }
        "no guard runs before it".to_string()
    }

    fn scope_name(&self, path: &[Node<'_>]) -> Option<String> {
        let def = path
            .iter()
            .rev()
            .find(|n| n.kind() == "function_definition")?;
        let name = field(*def, "name").map(|n| self.text(n))?;
        match self.func_of(*def).and_then(|f| f.class) {
            Some(c) => Some(format!("{}.{}", self.classes[c].name, name)),
            None => Some(name.to_string()),
        }
    }

    fn exports(&self) -> Exports {
        let guard_fixtures: Vec<String> = self
            .funcs
            .iter()
            .filter(|f| f.class.is_none())
            .filter_map(|f| f.fixture.clone())
            .filter(|n| self.guard_fixtures.contains(n))
            .collect();
        let autouse_guard = self.funcs.iter().any(|f| {
            f.autouse
                && f.class.is_none()
                && f.fixture
                    .as_ref()
                    .is_some_and(|n| guard_fixtures.contains(n))
        });
        let mut guard_helpers: Vec<String> = self
            .funcs
            .iter()
            .filter(|f| f.fixture.is_none() && f.top_level && f.class.is_none())
            .filter(|f| self.body_guard(f.node).is_some())
            .map(|f| f.name.clone())
            .collect();
        guard_helpers.dedup();
        Exports {
            module_guard: self.module_guarded,
            guard_fixtures,
            autouse_guard,
            guard_helpers,
        }
    }

    /// Is `op` a database operation Django's test runner (or pytest-django) sends to its separate
    /// test database? Django's runner switches every connection to the `test_` database before
    /// any test runs, whatever the test case's class; pytest-django refuses database access to a
    /// test not marked for it. So in a Django test file an ORM call, a `flush`, or raw SQL on
    /// Django's own `connection` is safe, unless Django is set up by hand, `django_db_setup` is
    /// overridden, the function requests pytest-django's database blocker, or the test case is
    /// `unittest`'s own (a signal the suite is not run by Django's runner).
    fn on_django_test_db(&self, op: &Found<'a>) -> bool {
        if !self.django_import
            || op.store != Store::Sql
            || self.django_by_hand.is_some()
            || self.django_setup_override.is_some()
        {
            return false;
        }
        let through_django = op.operation.starts_with("Django ")
            || (self.django_connection
                && !self.other_driver
                && !op.operation.starts_with("SQLAlchemy"));
        if !through_django {
            return false;
        }
        let func = op
            .path
            .iter()
            .rev()
            .find(|n| n.kind() == "function_definition")
            .and_then(|d| self.func_of(*d));
        // A function that requests pytest-django's blocker means to unblock it by hand.
        if func.is_some_and(|f| f.params.iter().any(|p| p == "django_db_blocker")) {
            return false;
        }
        let class = func.and_then(|f| f.class);
        !class.is_some_and(|c| {
            self.class_chain(c).iter().any(|&k| {
                self.classes[k]
                    .bases
                    .iter()
                    .any(|b| b.starts_with("unittest.") || self.unittest_names.contains(b.as_str()))
            })
        })
    }

    fn run(&self) -> FileAnalysis {
        let mut unguarded = Vec::new();
        for op in &self.ops {
            if self.on_django_test_db(op) {
                continue;
            }
            let mut notes = Notes::default();
            if let Verdict::Unguarded(reason) =
                self.judge(op.node, &op.path, op.store, 0, &mut notes)
            {
                let scope = self.scope_name(&op.path);
                let help = help(
                    &op.store.url_var_cached(self.src, &self.url_vars),
                    scope.as_deref(),
                    &op.operation,
                );
                unguarded.push(UnguardedOp {
                    op: DestructiveOp {
                        span: op.node.byte_range(),
                        operation: op.operation.clone(),
                        tables: op.tables.clone(),
                        scope,
                    },
                    reason,
                    help,
                });
            }
        }
        FileAnalysis {
            unguarded,
            exports: self.exports(),
        }
    }
}

#[derive(Default)]
struct Marks {
    usefixtures: Vec<String>,
    django_db: bool,
    skip_guard: bool,
}

/// What the walk noticed on the way that explains a missing guard.
#[derive(Default)]
struct Notes {
    /// (guard line, (forced variable, line that forces it))
    defeated: Option<(usize, (String, usize))>,
    django_off: Option<usize>,
    unguarded_caller: Option<usize>,
}

fn product(a: Vec<String>, b: Vec<String>) -> Vec<String> {
    let mut out = Vec::new();
    for x in &a {
        for y in &b {
            if out.len() >= MAX_ALTERNATIVES {
                return out;
            }
            out.push(format!("{x}{y}"));
        }
    }
    out
}

/// A pytest guard to paste as the first lines of the function that holds the operation.
fn help(var: &str, scope: Option<&str>, operation: &str) -> String {
    let place = match scope {
        Some(s) => format!("as the first lines of `{s}`, before the {operation}"),
        None => format!("at the top of the module, before the {operation}"),
    };
    format!(
        "add an environment guard {place} (with `import os` and `from urllib.parse import urlparse`):\n    db_host = urlparse(os.environ[\"{var}\"]).hostname or \"\"\n    assert db_host.endswith((\".staging.internal\", \"localhost\")), f\"refusing to reset {{db_host}}\""
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn run_with(src: &str, ctx: &Context) -> FileAnalysis {
        crate::lang::analyze_checked(crate::lang::Lang::Python, src, ctx)
    }

    fn run(src: &str) -> FileAnalysis {
        run_with(src, &Context::default())
    }

    /// Exactly one finding, whose operation and reason contain the given words.
    fn flagged(src: &str, operation: &str, reason: &str) -> UnguardedOp {
        assert!(
            super::may_destroy(src),
            "the prefilter would skip a file with a finding:\n{src}"
        );
        let a = run(src);
        assert_eq!(
            a.unguarded.len(),
            1,
            "want one finding in:\n{src}\ngot {:#?}",
            a.unguarded
        );
        let u = a.unguarded.into_iter().next().expect("one finding");
        assert!(
            u.op.operation.contains(operation),
            "operation {:?} lacks {operation:?}",
            u.op.operation
        );
        assert!(
            u.reason.contains(reason),
            "reason {:?} lacks {reason:?}",
            u.reason
        );
        assert_eq!(&src[u.op.span.clone()].lines().count().min(1), &1);
        u
    }

    fn clean(src: &str) {
        let a = run(src);
        assert!(
            a.unguarded.is_empty(),
            "want no finding in:\n{src}\ngot {:#?}",
            a.unguarded
        );
    }

    const HEADER: &str = "import os\nimport pytest\nfrom urllib.parse import urlparse\n\n";

    fn py(body: &str) -> String {
        format!("{HEADER}{body}")
    }

    #[test]
    fn unguarded_fixture_is_flagged_at_the_call() {
        let src = py(r#"@pytest.fixture
def reset_db(db_conn):
    with db_conn.cursor() as cur:
        cur.execute("TRUNCATE TABLE users CASCADE")
"#);
        let u = flagged(&src, "TRUNCATE", "no guard runs before it");
        assert_eq!(
            &src[u.op.span.clone()],
            r#"cur.execute("TRUNCATE TABLE users CASCADE")"#
        );
        assert_eq!(u.op.tables, vec!["users"]);
        assert_eq!(u.op.scope.as_deref(), Some("reset_db"));
        assert!(u.help.contains("first lines of `reset_db`"), "{}", u.help);
        assert!(
            u.help.contains(r#"os.environ["DATABASE_URL"]"#),
            "{}",
            u.help
        );
    }

    #[test]
    fn guard_in_the_same_function_protects() {
        clean(&py(r#"@pytest.fixture
def reset_db(db_conn):
    db_host = urlparse(os.environ["DATABASE_URL"]).hostname or ""
    assert db_host.endswith((".staging.internal", "localhost")), f"refusing to reset {db_host}"
    with db_conn.cursor() as cur:
        cur.execute("TRUNCATE TABLE users CASCADE")
"#));
        clean(&py(r#"@pytest.fixture
def reset_db(db_conn):
    if "staging" not in os.environ["DATABASE_URL"]:
        raise RuntimeError("refusing to reset a non-staging database")
    db_conn.execute("TRUNCATE TABLE users")
"#));
        clean(&py(r#"@pytest.fixture
def reset_db(db_conn):
    if os.environ.get("APP_ENV") != "test":
        pytest.skip("only on the test database")
    db_conn.execute("DELETE FROM users")
"#));
    }

    #[test]
    fn the_suggested_help_is_itself_a_guard() {
        let src = py(r#"@pytest.fixture
def reset_db(db_conn):
    db_conn.execute("TRUNCATE TABLE users")
"#);
        let help = flagged(&src, "TRUNCATE", "no guard").help;
        let guard: String = help.lines().skip(1).map(|l| format!("{l}\n")).collect();
        let fixed = src.replace(
            "def reset_db(db_conn):\n",
            &format!("def reset_db(db_conn):\n{guard}"),
        );
        clean(&fixed);
    }

    #[test]
    fn guard_in_a_requested_fixture_protects() {
        let guard = r#"@pytest.fixture(scope="session")
def check_target():
    if "staging" not in os.environ["DATABASE_URL"]:
        pytest.exit("refusing to run against a non-staging database")

"#;
        clean(&py(&format!(
            "{guard}@pytest.fixture\ndef reset_db(check_target, db_conn):\n    db_conn.execute(\"TRUNCATE TABLE users\")\n"
        )));
        // Through a chain of fixtures.
        clean(&py(&format!(
            "{guard}@pytest.fixture\ndef clean_slate(check_target):\n    yield\n\n@pytest.fixture\ndef reset_db(clean_slate, db_conn):\n    db_conn.execute(\"TRUNCATE TABLE users\")\n"
        )));
        // Through usefixtures on a test.
        clean(&py(&format!(
            "{guard}@pytest.mark.usefixtures(\"check_target\")\ndef test_reset(db_conn):\n    db_conn.execute(\"TRUNCATE TABLE users\")\n"
        )));
        // An autouse guard covers every fixture of no wider scope.
        clean(&py(&format!(
            "{}@pytest.fixture\ndef reset_db(db_conn):\n    db_conn.execute(\"TRUNCATE TABLE users\")\n",
            guard.replace("scope=\"session\"", "autouse=True, scope=\"session\"")
        )));
        // Near miss: the guard fixture exists but is not requested.
        flagged(
            &py(&format!(
                "{guard}@pytest.fixture\ndef reset_db(db_conn):\n    db_conn.execute(\"TRUNCATE TABLE users\")\n"
            )),
            "TRUNCATE",
            "guard fixture `check_target` on line 6 is not among its parameters",
        );
        // Near miss: a function-scoped autouse guard runs after a session fixture.
        flagged(
            &py(
                "@pytest.fixture(autouse=True)\ndef check_target():\n    assert 'staging' in os.environ['DATABASE_URL']\n\n@pytest.fixture(scope='session')\ndef reset_db(db_conn):\n    db_conn.execute('TRUNCATE TABLE users')\n",
            ),
            "TRUNCATE",
            "no guard",
        );
    }

    #[test]
    fn guard_helper_in_the_same_file_protects() {
        let helper = r#"def assert_test_database(conn):
    name = conn.info.dbname
    if not name.endswith("_test"):
        raise RuntimeError(f"refusing to reset {name}")

"#;
        clean(&py(&format!(
            "{helper}@pytest.fixture\ndef reset_db(conn):\n    assert_test_database(conn)\n    conn.execute(\"TRUNCATE TABLE users\")\n"
        )));
        // A configured guard name counts without its body.
        let ctx = Context {
            extra_guards: vec!["ensure_sandbox".into()],
            ..Context::default()
        };
        let a = run_with(
            &py(
                "from helpers import ensure_sandbox\n\n@pytest.fixture\ndef reset_db(conn):\n    ensure_sandbox()\n    conn.execute('TRUNCATE TABLE users')\n",
            ),
            &ctx,
        );
        assert!(a.unguarded.is_empty(), "{:#?}", a.unguarded);
        // Near miss: a helper that only logs is no guard.
        flagged(
            &py(
                "import logging\n\ndef warn_if_remote(conn):\n    if 'staging' not in conn.info.host:\n        logging.warning('remote database')\n\n@pytest.fixture\ndef reset_db(conn):\n    warn_if_remote(conn)\n    conn.execute('TRUNCATE TABLE users')\n",
            ),
            "TRUNCATE",
            "no guard",
        );
    }

    #[test]
    fn many_operations_in_one_function_are_judged_against_its_guards_and_transactions() {
        // Operations before the guard are flagged with it; those after it are guarded; those
        // inside a transaction rolled back later are not.
        let op = "    db_conn.execute(\"TRUNCATE TABLE users\")\n";
        let mut body = String::from("@pytest.fixture\ndef reset_db(db_conn):\n");
        body.push_str(&op.repeat(1_500));
        body.push_str("    assert \"staging\" in os.environ[\"DATABASE_URL\"]\n");
        body.push_str(&op.repeat(1_500));
        let src = py(&body);
        let guard_line = src
            .lines()
            .position(|l| l.contains("assert"))
            .expect("guard")
            + 1;
        let a = run(&src);
        assert_eq!(a.unguarded.len(), 1_500);
        let want = format!("the guard on line {guard_line} runs after it");
        assert!(
            a.unguarded.iter().all(|u| u.reason == want),
            "{:?}",
            a.unguarded[0]
        );

        let mut body = String::from("def reset(conn):\n    tx = conn.begin()\n");
        body.push_str(&"    conn.execute(\"TRUNCATE TABLE users\")\n".repeat(2_000));
        body.push_str("    tx.rollback()\n    conn.execute(\"TRUNCATE TABLE users\")\n");
        let src = py(&body);
        let a = run(&src);
        assert_eq!(a.unguarded.len(), 1, "{:#?}", a.unguarded.first());
        assert_eq!(
            a.unguarded[0].op.span.start,
            src.rfind("conn.execute").expect("op")
        );
    }

    #[test]
    fn guard_after_the_operation_is_flagged() {
        let src = py(r#"@pytest.fixture
def reset_db(db_conn):
    db_conn.execute("TRUNCATE TABLE users")
    assert "staging" in os.environ["DATABASE_URL"]
"#);
        flagged(&src, "TRUNCATE", "the guard on line 8 runs after it");
    }

    #[test]
    fn guard_in_a_skippable_branch_is_flagged() {
        flagged(
            &py(r#"@pytest.fixture
def reset_db(db_conn):
    if os.environ.get("CHECK_DB"):
        assert "staging" in os.environ["DATABASE_URL"]
    db_conn.execute("TRUNCATE TABLE users")
"#),
            "TRUNCATE",
            "the guard on line 8 sits in a branch that can be skipped",
        );
        flagged(
            &py(r#"@pytest.fixture
def reset_db(db_conn):
    try:
        assert "staging" in os.environ["DATABASE_URL"]
    except AssertionError:
        pass
    db_conn.execute("TRUNCATE TABLE users")
"#),
            "TRUNCATE",
            "sits in a `try`",
        );
        // A handler that stops the run keeps the guard.
        clean(&py(r#"@pytest.fixture
def reset_db(db_conn):
    try:
        assert "staging" in os.environ["DATABASE_URL"]
    except AssertionError:
        pytest.exit("wrong database")
    db_conn.execute("TRUNCATE TABLE users")
"#));
    }

    #[test]
    fn positive_environment_branch_protects_and_other_branches_do_not() {
        clean(&py(r#"@pytest.fixture
def reset_db(db_conn):
    if os.environ.get("APP_ENV") == "test":
        db_conn.execute("TRUNCATE TABLE users")
"#));
        clean(&py(r#"@pytest.fixture
def reset_db(db_conn):
    if os.environ.get("APP_ENV") != "test":
        print("skipping")
    else:
        db_conn.execute("TRUNCATE TABLE users")
"#));
        flagged(
            &py(r#"@pytest.fixture
def reset_db(db_conn):
    if os.environ.get("APP_ENV") == "production":
        db_conn.execute("TRUNCATE TABLE users")
"#),
            "TRUNCATE",
            "no guard",
        );
    }

    #[test]
    fn prefilter_narrows_delete_to_the_forms_the_analysis_reports() {
        for hit in [
            "Order.objects.all().delete()",
            "Order.objects\n    .all()\n    .delete()",
            "session.query(User).execution_options(x=1).delete()",
            "User.query.delete()",
            "conn.execute(delete(users))",
            "conn.execute(sa.delete(users))",
            "cur.execute(\"DELETE \"\n    \"FROM orders\")",
            "cur.execute(f'delete from {table}')",
            "db.users.delete_many({})",
            "cur.execute('TRUNCATE orders')",
        ] {
            assert!(super::may_destroy(hit), "{hit}");
        }
        for miss in [
            "order.delete()",
            "self.client.delete(f'/api/orders/{order.id}')",
            "user = models.ForeignKey(User, on_delete=models.CASCADE)",
            "def test_delete_order(self):\n    assert order.can_delete",
        ] {
            assert!(!super::may_destroy(miss), "{miss}");
        }
    }

    #[test]
    fn framework_guarantees_are_not_flagged() {
        clean(
            r#"from django.test import TestCase
from django.core.management import call_command

class ResetTests(TestCase):
    def setUp(self):
        call_command("flush", interactive=False)
        Order.objects.all().delete()
"#,
        );
        clean(
            r#"import pytest
from django.core.management import call_command

@pytest.fixture
def clean_orders(db):
    call_command("flush", interactive=False)

@pytest.mark.django_db
def test_reset():
    with connection.cursor() as c:
        c.execute("TRUNCATE orders")
"#,
        );
        clean(
            r#"from rest_framework.test import APITestCase as Base

class Base2(Base):
    pass

class ResetTests(Base2):
    def test_wipe(self):
        Order.objects.all().delete()
"#,
        );
        // Near miss: unittest's TestCase has no test database.
        flagged(
            r#"from unittest import TestCase
from django.core.management import call_command

class ResetTests(TestCase):
    def setUp(self):
        call_command("flush", interactive=False)
"#,
            "Django flush",
            "no guard",
        );
        // Django's own suite and most projects keep their base test case in another module: the
        // runner still puts every test on the test database.
        clean(
            r#"from django.contrib.sites.models import Site
from .base import AdminDocsTestCase, TestDataMixin

class AdminDocViewTests(TestDataMixin, AdminDocsTestCase):
    def test_no_sites_framework(self):
        Site.objects.all().delete()
"#,
        );
        clean(
            r#"from django.db import connection, migrations
from .test_base import OperationTestBase

class OperationTests(OperationTestBase):
    def test_alter_unique_together(self):
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM test_alunto_pony")

def forward_ref_fk_test(self, format):
    NaturalKeyThing.objects.all().delete()
"#,
        );
        // Near miss: Django set up by hand talks to the settings' own database.
        flagged(
            r#"import django
django.setup()
from .base import BaseTestCase

class ResetTests(BaseTestCase):
    def setUp(self):
        Order.objects.all().delete()
"#,
            "Django objects.all().delete()",
            "no guard",
        );
        // Near miss: raw SQL through another driver is not redirected by Django's runner.
        flagged(
            r#"import psycopg2
from django.db import connection
from .base import BaseTestCase

class ResetTests(BaseTestCase):
    def setUp(self):
        pg = psycopg2.connect(os.environ["DATABASE_URL"])
        pg.cursor().execute("TRUNCATE orders")
"#,
            "TRUNCATE",
            "no guard",
        );
        // Near miss: no Django import, so nothing says Django's runner runs it.
        flagged(
            "from .base import BaseTestCase\n\nclass ResetTests(BaseTestCase):\n    def setUp(self):\n        Order.objects.all().delete()\n",
            "Django objects.all().delete()",
            "no guard",
        );
        // Near miss: unblocking pytest-django's database blocker by hand reaches the real
        // database when `django_db_setup` has not run.
        flagged(
            r#"import pytest
from django.core.management import call_command

@pytest.fixture(scope="session")
def wipe(django_db_blocker):
    with django_db_blocker.unblock():
        call_command("flush", interactive=False)
"#,
            "Django flush",
            "no guard",
        );
        // Near miss: Django's guarantee covers the database, not Redis.
        flagged(
            "import pytest\n\n@pytest.fixture\ndef clean_cache(db, redis_client):\n    redis_client.flushall()\n",
            "Redis FLUSHALL",
            "no guard",
        );
    }

    #[test]
    fn throwaway_targets_are_not_flagged() {
        clean(
            "from sqlalchemy import create_engine\nimport pytest\n\nengine = create_engine('sqlite://')\n\n@pytest.fixture\ndef schema():\n    Base.metadata.drop_all(engine)\n",
        );
        clean(
            "import fakeredis\n\ndef test_x():\n    r = fakeredis.FakeRedis()\n    r.flushall()\n",
        );
    }

    #[test]
    fn guard_turned_off_is_flagged() {
        flagged(
            r#"import pytest
from django.core.management import call_command

@pytest.fixture(scope="session")
def django_db_setup():
    pass

@pytest.fixture
def clean_orders(db):
    call_command("flush", interactive=False)
"#,
            "Django flush",
            "`django_db_setup` is overridden on line 5",
        );
        flagged(
            &py(r#"os.environ["APP_ENV"] = "test"

@pytest.fixture
def reset_db(db_conn):
    assert os.environ["APP_ENV"] == "test"
    db_conn.execute("TRUNCATE TABLE users")
"#),
            "TRUNCATE",
            "the guard on line 9 checks APP_ENV, which line 5 sets to a test value itself",
        );
        // Forced inside a test, which every later test inherits.
        flagged(
            &py(r#"@pytest.fixture(autouse=True)
def reset_db(db_conn):
    assert os.environ["APP_ENV"] == "test"
    db_conn.execute("TRUNCATE TABLE users")

def test_checkout(client):
    assert client.get("/cart").status_code == 200

def test_staging_banner(monkeypatch, client):
    monkeypatch.setenv("APP_ENV", "test")
    assert "banner" in client.get("/").text
"#),
            "TRUNCATE",
            "which line 14 sets to a test value itself",
        );
        // Forcing the database URL to a local one is no defeat: the target really is local.
        clean(&py(
            r#"os.environ["DATABASE_URL"] = "postgresql://localhost/app_test"

@pytest.fixture
def reset_db(db_conn):
    assert "localhost" in os.environ["DATABASE_URL"]
    db_conn.execute("TRUNCATE TABLE users")
"#,
        ));
        // Near miss: the original `django_db_setup` is requested, so the test database stays.
        clean(
            r#"import pytest
from django.core.management import call_command

@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        call_command("loaddata", "seed.json")

@pytest.fixture
def clean_orders(db):
    call_command("flush", interactive=False)
"#,
        );
    }

    #[test]
    fn destructive_text_that_never_runs_is_not_flagged() {
        clean(&py(r#"RESET_SQL = "TRUNCATE TABLE users CASCADE"

def test_docs(caplog):
    assert "TRUNCATE" in RESET_SQL
    print(RESET_SQL)
    logger.info("DELETE FROM users")
    query = "DROP TABLE users"
"#));
    }

    #[test]
    fn incident_001_reset_db_truncates_23_tables() {
        let tables = [
            "addresses",
            "audit_log",
            "carts",
            "categories",
            "cms_blocks",
            "coupons",
            "customers",
            "gift_cards",
            "inventory",
            "invoices",
            "line_items",
            "newsletters",
            "orders",
            "payment_methods",
            "payments",
            "prices",
            "products",
            "promotions",
            "refunds",
            "reviews",
            "sessions",
            "shipments",
            "wishlists",
        ];
        assert_eq!(tables.len(), 23);
        let list: String = tables.iter().map(|t| format!("    \"{t}\",\n")).collect();
        let unguarded = format!(
            "import os\nimport psycopg2\nimport pytest\n\nTABLES = [\n{list}]\n\n\n@pytest.fixture(autouse=True)\ndef reset_db():\n    conn = psycopg2.connect(os.environ[\"POSTGRES_DSN\"])\n    cur = conn.cursor()\n    cur.execute(\"DELETE FROM categories WHERE id > 0\")\n    for table in TABLES:\n        cur.execute(f\"TRUNCATE TABLE {{table}} CASCADE\")\n    conn.commit()\n    yield\n"
        );
        let a = run(&unguarded);
        assert_eq!(a.unguarded.len(), 2, "{:#?}", a.unguarded);
        assert_eq!(
            a.unguarded[0].op.operation,
            "DELETE FROM with an always-true WHERE"
        );
        assert_eq!(a.unguarded[0].op.tables, vec!["categories"]);
        let t = &a.unguarded[1];
        assert_eq!(t.op.operation, "TRUNCATE");
        assert_eq!(t.op.tables, tables.to_vec());
        assert_eq!(t.op.scope.as_deref(), Some("reset_db"));
        assert!(
            t.help.contains(r#"os.environ["POSTGRES_DSN"]"#),
            "{}",
            t.help
        );
        assert_eq!(
            &unguarded[t.op.span.clone()],
            "cur.execute(f\"TRUNCATE TABLE {table} CASCADE\")"
        );

        // The twin with the guard the postmortem asks for.
        let guarded = unguarded.replace(
            "    conn = psycopg2.connect",
            "    db_host = urlparse(os.environ[\"POSTGRES_DSN\"]).hostname\n    assert 'staging' in db_host\n    conn = psycopg2.connect",
        );
        clean(&guarded);

        // Tables held in a list the file does not spell out are named by the list.
        let opaque = unguarded.replace(
            "for table in TABLES:",
            "for table in settings.RESET_TABLES:",
        );
        let a = run(&opaque);
        assert_eq!(
            a.unguarded[1].op.tables,
            vec!["each table in settings.RESET_TABLES"]
        );
    }

    #[test]
    fn conftest_guards_are_exported_and_inherited() {
        let conftest = r#"import os
import pytest

@pytest.fixture(scope="session")
def check_db():
    assert os.environ["DATABASE_URL"].endswith("/app_test")

@pytest.fixture(autouse=True, scope="session")
def guard_everything(check_db):
    yield

def assert_test_database():
    if "staging" not in os.environ["DATABASE_URL"]:
        raise SystemExit("refusing")

@pytest.fixture
def db_conn():
    return connect()
"#;
        let e = run(conftest).exports;
        assert_eq!(e.guard_fixtures, vec!["check_db", "guard_everything"]);
        assert!(e.autouse_guard);
        assert_eq!(e.guard_helpers, vec!["assert_test_database"]);
        assert!(!e.module_guard);
        let module = run("import os\nassert 'localhost' in os.environ['DATABASE_URL']\n").exports;
        assert!(module.module_guard);

        let test_file = "import pytest\n\n@pytest.fixture\ndef reset_db(check_db, db_conn):\n    db_conn.execute('TRUNCATE TABLE users')\n";
        flagged(test_file, "TRUNCATE", "no guard");
        let only_fixture = Context {
            inherited: Exports {
                guard_fixtures: vec!["check_db".into()],
                ..Exports::default()
            },
            ..Context::default()
        };
        assert!(run_with(test_file, &only_fixture).unguarded.is_empty());
        let no_dep = "import pytest\n\n@pytest.fixture\ndef reset_db(db_conn):\n    db_conn.execute('TRUNCATE TABLE users')\n";
        assert_eq!(run_with(no_dep, &only_fixture).unguarded.len(), 1);
        for inherited in [
            Exports {
                autouse_guard: true,
                ..Exports::default()
            },
            Exports {
                module_guard: true,
                ..Exports::default()
            },
        ] {
            let ctx = Context {
                inherited,
                ..Context::default()
            };
            assert!(run_with(no_dep, &ctx).unguarded.is_empty());
        }
        let via_helper = Context {
            inherited: Exports {
                guard_helpers: vec!["assert_test_database".into()],
                ..Exports::default()
            },
            ..Context::default()
        };
        let helper_file = "import pytest\n\n@pytest.fixture\ndef reset_db(db_conn):\n    assert_test_database()\n    db_conn.execute('TRUNCATE TABLE users')\n";
        assert!(run_with(helper_file, &via_helper).unguarded.is_empty());
        assert_eq!(run(helper_file).unguarded.len(), 1);
    }

    #[test]
    fn module_level_and_session_guards_protect_functions() {
        clean(&py(r#"if os.environ.get("APP_ENV") != "test":
    pytest.skip("integration tests need the test database", allow_module_level=True)

@pytest.fixture
def reset_db(db_conn):
    db_conn.execute("TRUNCATE TABLE users")
"#));
        clean(&py(r#"@pytest.fixture
def reset_db(db_conn):
    db_conn.execute("TRUNCATE TABLE users")

assert urlparse(os.environ["DATABASE_URL"]).hostname in ALLOWED_HOSTS
"#));
        clean(&py(r#"def pytest_sessionstart(session):
    if not os.environ["DATABASE_URL"].endswith("_test"):
        pytest.exit("refusing to run against a non-test database")

def reset(conn):
    conn.execute("TRUNCATE TABLE users")
"#));
        // A module-level operation runs at import, before a guard further down.
        flagged(
            &py(
                "conn.execute('TRUNCATE TABLE users')\nassert 'localhost' in os.environ['DATABASE_URL']\n",
            ),
            "TRUNCATE",
            "runs after it",
        );
    }

    #[test]
    fn unittest_class_setup_runs_first() {
        let base = r#"import os
import unittest

class ResetTests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if os.environ.get("APP_ENV") != "test":
            raise unittest.SkipTest("needs the test database")

    def setUp(self):
        self.conn.execute("TRUNCATE TABLE users")

    def test_x(self):
        self.conn.execute("DELETE FROM orders")
"#;
        clean(base);
        let without = base.replace("if os.environ.get(\"APP_ENV\") != \"test\":\n            raise unittest.SkipTest(\"needs the test database\")", "pass");
        assert_eq!(run(&without).unguarded.len(), 2);
        // setUp guards the tests, not itself.
        let in_setup = r#"import os
import unittest

class ResetTests(unittest.TestCase):
    def setUp(self):
        assert os.environ["DB_NAME"].endswith("_test")

    def test_x(self):
        self.conn.execute("DELETE FROM orders")
"#;
        clean(in_setup);
    }

    #[test]
    fn helpers_are_judged_at_their_call_sites() {
        let helper = "def wipe(conn):\n    conn.execute('TRUNCATE TABLE users')\n\n";
        clean(&py(&format!(
            "{helper}@pytest.fixture\ndef reset_db(conn):\n    assert 'staging' in os.environ['DATABASE_URL']\n    wipe(conn)\n"
        )));
        flagged(
            &py(&format!(
                "{helper}@pytest.fixture\ndef reset_db(conn):\n    wipe(conn)\n"
            )),
            "TRUNCATE",
            "`wipe` is called unguarded on line 10",
        );
        // Never called in this file: the helper is where the guard belongs.
        let u = flagged(&py(helper), "TRUNCATE", "no guard");
        assert!(u.help.contains("`wipe`"));
    }

    #[test]
    fn rolled_back_transactions_are_safe() {
        clean(&py(r#"@pytest.fixture
def scratch(conn):
    with conn.begin() as tx:
        conn.execute(text("DELETE FROM users"))
        yield conn
        tx.rollback()
"#));
        clean(&py(r#"def test_wipe():
    with transaction.atomic():
        Order.objects.all().delete()
        transaction.set_rollback(True)
"#));
        clean(&py(r#"def test_wipe(conn):
    tx = conn.begin()
    conn.execute("TRUNCATE TABLE users")
    tx.rollback()
"#));
        // Near miss: committed, not rolled back.
        flagged(
            &py(r#"def test_wipe(conn):
    with conn.begin() as tx:
        conn.execute("TRUNCATE TABLE users")
        tx.commit()
"#),
            "TRUNCATE",
            "no guard",
        );
    }

    #[test]
    fn library_forms_are_recognised() {
        let cases: &[(&str, &str, &[&str])] = &[
            (
                "session.execute(text('TRUNCATE orders'))",
                "TRUNCATE",
                &["orders"],
            ),
            (
                "engine.execute('DROP TABLE orders')",
                "DROP TABLE",
                &["orders"],
            ),
            (
                "connection.cursor().execute('TRUNCATE orders')",
                "TRUNCATE",
                &["orders"],
            ),
            (
                "cur.execute('TRUNCATE ' + ', '.join(TABLES))",
                "TRUNCATE",
                &["a", "b"],
            ),
            ("cur.execute('TRUNCATE TABLE %s' % name)", "TRUNCATE", &[]),
            ("metadata.drop_all(engine)", "SQLAlchemy drop_all", &[]),
            (
                "Base.metadata.drop_all(bind=engine)",
                "SQLAlchemy drop_all",
                &[],
            ),
            (
                "session.query(User).delete()",
                "SQLAlchemy query(User).delete()",
                &["User"],
            ),
            (
                "User.query.delete()",
                "SQLAlchemy User.query.delete()",
                &["User"],
            ),
            (
                "session.execute(delete(User))",
                "SQLAlchemy delete(User) without where",
                &["User"],
            ),
            (
                "Order.objects.all().delete()",
                "Django objects.all().delete()",
                &["Order"],
            ),
            (
                "call_command('flush', interactive=False)",
                "Django flush",
                &[],
            ),
            (
                "management.call_command('reset_db')",
                "Django reset_db",
                &[],
            ),
            ("redis.flushall()", "Redis FLUSHALL", &[]),
            ("r.flushdb()", "Redis FLUSHDB", &[]),
            ("r.execute_command('FLUSHALL')", "Redis FLUSHALL", &[]),
            (
                "client.drop_database('shop')",
                "MongoDB drop_database",
                &["shop"],
            ),
            (
                "db.orders.delete_many({})",
                "MongoDB delete_many({})",
                &["orders"],
            ),
            (
                "db['orders'].delete_many({})",
                "MongoDB delete_many({})",
                &["orders"],
            ),
            (
                "for s in RESET:\n        cur.execute(s)",
                "TRUNCATE, DELETE FROM without WHERE",
                &["a", "b"],
            ),
        ];
        for (call, op, tables) in cases {
            let src = py(&format!(
                "TABLES = ['a', 'b']\nRESET = ['TRUNCATE a', 'DELETE FROM b']\n\ndef test_x(cur):\n    {call}\n"
            ));
            let a = run(&src);
            assert_eq!(a.unguarded.len(), 1, "{call}: {:#?}", a.unguarded);
            assert_eq!(a.unguarded[0].op.operation, *op, "{call}");
            assert_eq!(a.unguarded[0].op.tables, *tables, "{call}");
        }
    }

    #[test]
    fn narrowing_forms_are_not_flagged() {
        let cases = [
            "cur.execute('DELETE FROM users WHERE id = %s', (uid,))",
            "cur.execute('SELECT * FROM users')",
            "user.delete()",
            "Order.objects.get(pk=1).delete()",
            "Order.objects.filter(owner=u).delete()",
            "self.user.groups.all().delete()",
            "session.query(User).filter(User.id == 1).delete()",
            "db.orders.delete_many({'owner': 1})",
            "session.delete(obj)",
            "call_command('migrate')",
            "client.delete('/api/users')",
            "cache.delete('k')",
            "session.flush()",
            "session.query(User)",
        ];
        for call in cases {
            clean(&py(&format!(
                "def test_x(cur, user, obj, client, cache, session):\n    {call}\n"
            )));
        }
    }

    #[test]
    fn a_syntax_error_hiding_a_destructive_keyword_is_reported() {
        let err = analyze(
            "def f(:\n    cur.execute('TRUNCATE users'\n",
            &Context::default(),
        );
        assert!(err.is_err(), "{err:?}");
        // Errors away from any destructive word are analysed around.
        assert!(analyze("def f(:\n    pass\n", &Context::default()).is_ok());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        #[test]
        fn never_panics_and_spans_are_in_bounds(
            parts in proptest::collection::vec(
                prop_oneof![
                    Just("def f(conn):\n"), Just("    "), Just("cur.execute('TRUNCATE t')\n"),
                    Just("assert 'test' in db_host\n"), Just("if x:\n"), Just("@pytest.fixture\n"),
                    Just("for t in T:\n"), Just("f\"{t}\""), Just("("), Just(")"), Just("é"),
                    Just("class C(TestCase):\n"), Just("call_command('flush')\n"), Just("\n"),
                    Just("with a.begin() as tx:\n"), Just("redis.flushall()\n"), Just("'''"),
                ],
                0..30,
            )
        ) {
            let src: String = parts.concat();
            if let Ok(a) = analyze(&src, &Context::default()) {
                for u in a.unguarded {
                    prop_assert!(u.op.span.end <= src.len());
                    prop_assert!(src.is_char_boundary(u.op.span.start));
                    prop_assert!(src.is_char_boundary(u.op.span.end));
                }
            }
        }

        #[test]
        fn never_panics_on_arbitrary_text(src in "\\PC{0,300}") {
            let _ = analyze(&src, &Context::default());
        }
    }

    #[test]
    fn deep_nesting_does_not_overflow() {
        let deep = format!(
            "x = {}1{}\ncur.execute('TRUNCATE t')\n",
            "(".repeat(5000),
            ")".repeat(5000)
        );
        let _ = analyze(&deep, &Context::default());
        let deep_call = format!(
            "x = {}cur.execute('TRUNCATE t'){}\n",
            "[".repeat(3000),
            "]".repeat(3000)
        );
        assert!(analyze(&deep_call, &Context::default()).is_err());
    }
}
