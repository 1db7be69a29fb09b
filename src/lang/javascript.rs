//! JavaScript, TypeScript and TSX test sources: Jest, Mocha, Vitest and Playwright hooks, with
//! Sequelize, Prisma, TypeORM, knex, node-postgres, MongoDB and Redis clients.
//!
//! A destructive call is guarded when a target check runs before it on every path: earlier in the
//! same function (or an enclosing one), in a hook that runs before it (`beforeAll` before
//! `beforeEach`, outer `describe` before inner), at module level, or at the top of a `describe`
//! body (which runs while tests are collected). A helper is guarded when every call to it in the
//! file is. Throwaway targets (in-memory databases, containers) need no guard.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;

use regex::Regex;

use tree_sitter::{Node, Parser};

use super::shared::{
    self, BlockGuards, MAX_TREE_DEPTH, Marker, Polarity, ScopeGuards, Store, Throwaway,
    Transactions, named_children, walk,
};
use super::sql_text::destructive_sql;
use super::{Context, DestructiveOp, Exports, FileAnalysis, Lang, UnguardedOp};

/// How deep expression evaluation and condition classification follow an expression.
const MAX_EXPR_DEPTH: usize = 32;
/// How many helper-call hops the analysis follows to find a guard at a call site.
const MAX_CALL_HOPS: usize = 4;
/// How many alternative SQL texts (a loop over statements or tables) are kept.
const MAX_ALTERNATIVES: usize = 64;

/// The forms in which JavaScript and TypeScript can spell a destructive `delete`: SQL
/// `DELETE FROM`, `deleteMany`, and an empty `.delete()` or TypeORM's `.delete({})`. A supertest
/// `.delete('/orders/1')` and `map.delete(key)` are not among them.
static DELETE_FORMS: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(r#"(?i)delete["'`\s+]*from|deletemany|\.\s*delete\s*\(\s*(\{\s*\}\s*)?\)"#).ok()
});

/// The JavaScript prefilter: the shared keywords, with `delete` counted only in a form the
/// analysis can report (API tests call `.delete(url)` everywhere).
pub(super) fn may_destroy(source: &str) -> bool {
    super::sql_text::has_destructive_keyword_narrowing_delete(source, DELETE_FORMS.as_ref())
}

/// Analyse one JavaScript, TypeScript or TSX file; `lang` picks the grammar.
pub fn analyze(lang: Lang, source: &str, ctx: &Context) -> Result<FileAnalysis, String> {
    let language = match lang {
        Lang::TypeScript => tree_sitter_typescript::LANGUAGE_TYPESCRIPT.into(),
        Lang::Tsx => tree_sitter_typescript::LANGUAGE_TSX.into(),
        _ => tree_sitter_javascript::LANGUAGE.into(),
    };
    let mut parser = Parser::new();
    parser
        .set_language(&language)
        .map_err(|e| format!("cannot load the {lang:?} grammar: {e}"))?;
    let sliced = if ctx.keep_whole {
        None
    } else {
        super::slice::javascript::slice(source, may_destroy, &super::slice::keeps(ctx))
    };
    let tree = shared::parse_sliced(&mut parser, source, sliced)
        .ok_or_else(|| format!("the {lang:?} parser returned no tree"))?;
    let file = JsFile::collect(lang, source, tree.root_node(), ctx)?;
    Ok(file.run())
}

/// When a test-framework hook runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum HookKind {
    BeforeAll,
    BeforeEach,
    AfterEach,
    AfterAll,
}

/// A call into the test framework.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Framework {
    Describe,
    Hook(HookKind),
    Test,
}

/// Code that runs inside the framework, after collection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RunsIn {
    Hook(HookKind),
    Test,
}

const DESCRIBE_NAMES: &[&str] = &["describe", "context", "suite", "fdescribe", "xdescribe"];
const TEST_NAMES: &[&str] = &["it", "test", "specify", "fit", "xit", "xtest"];

fn hook_kind(name: &str) -> Option<HookKind> {
    Some(match name {
        "beforeAll" | "before" | "suiteSetup" => HookKind::BeforeAll,
        "beforeEach" | "setup" => HookKind::BeforeEach,
        "afterEach" | "teardown" => HookKind::AfterEach,
        "afterAll" | "after" | "suiteTeardown" => HookKind::AfterAll,
        _ => return None,
    })
}

/// Calls that run a SQL string (or a Redis command).
const EXEC_NAMES: &[&str] = &[
    "query",
    "raw",
    "execute",
    "exec",
    "run",
    "none",
    "any",
    "many",
    "multi",
    "result",
    "one",
    "oneOrNone",
    "manyOrNone",
    "$executeRaw",
    "$executeRawUnsafe",
    "$queryRaw",
    "$queryRawUnsafe",
    "unsafe",
    "sendCommand",
];

/// Calls that end the hook, test or run.
const STOP_CALLS: &[&str] = &[
    "process.exit",
    "this.skip",
    "ctx.skip",
    "context.skip",
    "test.skip",
    "t.skip",
    "assert.fail",
    "fail",
];

struct Hook<'a> {
    call: Node<'a>,
    kind: HookKind,
    /// The innermost `describe` call around the registration; `None` at file level.
    describe: Option<Node<'a>>,
}

struct FnDef<'a> {
    node: Node<'a>,
    name: String,
    /// Declared at file level (possibly exported).
    top_level: bool,
}

struct Site<'a> {
    node: Node<'a>,
    path: Vec<Node<'a>>,
}

struct Found<'a> {
    node: Node<'a>,
    path: Vec<Node<'a>>,
    operation: String,
    tables: Vec<String>,
    store: Store,
}

enum Binding<'a> {
    Loop(Node<'a>),
    Value(Node<'a>, Vec<Node<'a>>),
    Unknown,
}

enum Verdict {
    Guarded,
    Unguarded(String),
}

#[derive(Default)]
struct Notes {
    /// (guard line, (forced variable, line that forces it))
    defeated: Option<(usize, (String, usize))>,
    /// A guard hook that exists but runs after the operation: (hook name, line).
    late_hook: Option<(String, usize)>,
    unguarded_caller: Option<usize>,
}

/// Where the operation sits, for the help text.
enum Place {
    Hook(String, HookKind),
    Test,
    Helper(String),
    Module,
}

struct JsFile<'a> {
    lang: Lang,
    src: &'a str,
    root: Node<'a>,
    ctx: &'a Context,
    fns: Vec<FnDef<'a>>,
    hooks: Vec<Hook<'a>>,
    /// Every `name = value` declaration in the file, for judging what a name reads.
    decls: Vec<(String, Node<'a>)>,
    /// Environment variables this file forces to a test value: (name, line).
    forced_env: Vec<(String, usize)>,
    throwaway: Throwaway,
    mentions_knex: bool,
    /// Mocha spells the once-per-suite hook `before`.
    mocha_style: bool,
    guard_helpers: HashSet<String>,
    /// Whether each hook (same order as `hooks`) runs a guard.
    guard_hooks: Vec<bool>,
    /// Hook indexes by the id of their innermost `describe` call (`None` at file level).
    hooks_by_describe: HashMap<Option<usize>, Vec<usize>>,
    /// File-level declarations in order: (name, value, statement).
    program_decls: Vec<(String, Node<'a>, Node<'a>)>,
    block_guards: BlockGuards<'a>,
    scope_guards: ScopeGuards<'a>,
    url_vars: RefCell<HashMap<Store, String>>,
    transactions: Transactions,
    /// Calls and hook references to this file's own functions, by the called name.
    calls: HashMap<String, Vec<Site<'a>>>,
    ops: Vec<Found<'a>>,
}

fn line(n: Node<'_>) -> usize {
    n.start_position().row + 1
}

fn field<'a>(n: Node<'a>, name: &'static str) -> Option<Node<'a>> {
    super::shared::field(n, name)
}

/// Strip parentheses, `await` and TypeScript's type-only wrappers.
fn unwrap_expr(mut n: Node<'_>) -> Node<'_> {
    for _ in 0..MAX_EXPR_DEPTH {
        match n.kind() {
            "parenthesized_expression"
            | "await_expression"
            | "as_expression"
            | "non_null_expression"
            | "satisfies_expression"
            | "type_assertion" => match n.named_children(&mut n.walk()).find(|c| {
                !matches!(
                    c.kind(),
                    "type_annotation"
                        | "type_arguments"
                        | "predefined_type"
                        | "type_identifier"
                        | "generic_type"
                ) && c.kind() != "comment"
            }) {
                Some(c) => n = c,
                None => return n,
            },
            _ => return n,
        }
    }
    n
}

fn is_function(n: Node<'_>) -> bool {
    matches!(
        n.kind(),
        "arrow_function"
            | "function_expression"
            | "function"
            | "function_declaration"
            | "generator_function"
            | "generator_function_declaration"
            | "method_definition"
    )
}

/// The arguments of a call (empty for a tagged template).
fn call_args(call: Node<'_>) -> Vec<Node<'_>> {
    match field(call, "arguments") {
        Some(a) if a.kind() == "arguments" => named_children(a)
            .into_iter()
            .filter(|c| c.kind() != "comment")
            .collect(),
        _ => Vec::new(),
    }
}

/// The template of a tagged template call: sql`...`.
fn tagged_template(call: Node<'_>) -> Option<Node<'_>> {
    field(call, "arguments").filter(|a| a.kind() == "template_string")
}

impl<'a> JsFile<'a> {
    fn text(&self, n: Node<'_>) -> &'a str {
        self.src.get(n.byte_range()).unwrap_or("")
    }

    fn compact(&self, n: Node<'_>) -> String {
        self.text(n)
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect()
    }

    /// The last name of a callee: `query` for `pool.query`, `resetDb` for `resetDb`.
    fn callee_name(&self, call: Node<'_>) -> Option<&'a str> {
        let f = unwrap_expr(field(call, "function")?);
        match f.kind() {
            "identifier" => Some(self.text(f)),
            "member_expression" => field(f, "property").map(|p| self.text(p)),
            _ => None,
        }
    }

    fn receiver(&self, call: Node<'a>) -> Option<Node<'a>> {
        let f = unwrap_expr(field(call, "function")?);
        (f.kind() == "member_expression")
            .then(|| field(f, "object").map(unwrap_expr))
            .flatten()
    }

    /// Is this a call into the test framework, and which kind?
    fn framework(&self, call: Node<'_>) -> Option<Framework> {
        let mut f = field(call, "function")?;
        // describe.each(table)(name, fn)
        for _ in 0..4 {
            if f.kind() == "call_expression" {
                f = field(f, "function")?;
            } else {
                break;
            }
        }
        let t = self.compact(f);
        let segs: Vec<&str> = t.split('.').collect();
        let has_fn = call_args(call)
            .iter()
            .any(|a| is_function(unwrap_expr(*a)) || unwrap_expr(*a).kind() == "identifier");
        if !has_fn {
            return None;
        }
        if segs.iter().any(|s| DESCRIBE_NAMES.contains(s)) {
            return Some(Framework::Describe);
        }
        if let Some(k) = segs.iter().find_map(|s| hook_kind(s)) {
            // A bare `setup(fn)` or `before(fn)` is a hook; `db.setup(fn)` is not.
            if segs.len() == 1 || matches!(segs[0], "test" | "mocha" | "vitest" | "jest") {
                return Some(Framework::Hook(k));
            }
        }
        if segs.first().is_some_and(|s| TEST_NAMES.contains(s)) {
            return Some(Framework::Test);
        }
        None
    }

    /// A string literal's value (no substitutions), or a regex's source.
    fn str_value(&self, n: Node<'_>) -> Option<String> {
        let n = unwrap_expr(n);
        match n.kind() {
            "string" => Some(
                named_children(n)
                    .into_iter()
                    .map(|c| self.text(c))
                    .collect(),
            ),
            "template_string" => {
                let mut out = String::new();
                for c in named_children(n) {
                    match c.kind() {
                        "string_fragment" | "escape_sequence" => out.push_str(self.text(c)),
                        "template_substitution" => return None,
                        _ => {}
                    }
                }
                Some(out)
            }
            "regex" => field(n, "pattern").map(|p| self.text(p).to_string()),
            _ => None,
        }
    }

    fn param_names(&self, f: Node<'_>) -> Vec<&'a str> {
        if let Some(p) = field(f, "parameter") {
            return vec![self.text(p)];
        }
        let Some(ps) = field(f, "parameters") else {
            return Vec::new();
        };
        named_children(ps)
            .into_iter()
            .filter_map(|p| {
                let p = match p.kind() {
                    "required_parameter" | "optional_parameter" => field(p, "pattern")?,
                    "assignment_pattern" => field(p, "left")?,
                    "rest_pattern" => p.named_child(0)?,
                    _ => p,
                };
                (p.kind() == "identifier").then(|| self.text(p))
            })
            .collect()
    }

    // ---------------------------------------------------------------- collection

    fn collect(
        lang: Lang,
        src: &'a str,
        root: Node<'a>,
        ctx: &'a Context,
    ) -> Result<JsFile<'a>, String> {
        let mut file = JsFile {
            lang,
            src,
            root,
            ctx,
            fns: Vec::new(),
            hooks: Vec::new(),
            decls: Vec::new(),
            forced_env: Vec::new(),
            throwaway: shared::throwaway_targets(src),
            mentions_knex: src.contains("knex"),
            mocha_style: false,
            guard_helpers: HashSet::new(),
            guard_hooks: Vec::new(),
            hooks_by_describe: HashMap::new(),
            program_decls: Vec::new(),
            block_guards: BlockGuards::default(),
            scope_guards: ScopeGuards::default(),
            url_vars: RefCell::default(),
            transactions: Transactions::default(),
            calls: HashMap::new(),
            ops: Vec::new(),
        };
        let mut calls: Vec<Site<'a>> = Vec::new();
        let mut refs: Vec<Site<'a>> = Vec::new();
        let cut = walk(root, MAX_TREE_DEPTH, |n, path| {
            match n.kind() {
                "call_expression" => calls.push(Site {
                    node: n,
                    path: path.to_vec(),
                }),
                "function_declaration" | "generator_function_declaration" => {
                    if let Some(name) = field(n, "name") {
                        file.fns.push(FnDef {
                            node: n,
                            name: file.text(name).to_string(),
                            top_level: top_level(path),
                        });
                    }
                }
                "method_definition" => {
                    if let Some(name) = field(n, "name") {
                        file.fns.push(FnDef {
                            node: n,
                            name: file.text(name).to_string(),
                            top_level: false,
                        });
                    }
                }
                "variable_declarator" => {
                    if let (Some(name), Some(value)) = (field(n, "name"), field(n, "value")) {
                        let v = unwrap_expr(value);
                        if name.kind() == "identifier" {
                            if is_function(v) {
                                file.fns.push(FnDef {
                                    node: v,
                                    name: file.text(name).to_string(),
                                    top_level: path.len() >= 2
                                        && top_level(&path[..path.len() - 1]),
                                });
                            }
                            file.decls.push((file.text(name).to_string(), value));
                        } else {
                            // const { hostname } = new URL(...): each bound name reads the value.
                            walk(name, 8, |p, _| {
                                if matches!(
                                    p.kind(),
                                    "shorthand_property_identifier_pattern" | "identifier"
                                ) {
                                    file.decls.push((file.text(p).to_string(), value));
                                }
                                true
                            });
                        }
                    }
                }
                "assignment_expression" => file.note_env_assignment(n),
                "identifier" if path.last().is_some_and(|p| p.kind() == "arguments") => {
                    refs.push(Site {
                        node: n,
                        path: path.to_vec(),
                    });
                }
                _ => {}
            }
            true
        });
        if let Some(reason) = shared::hidden_destruction(src, root, cut) {
            return Err(reason);
        }
        for site in &calls {
            file.note_env_call(site.node);
            if let Some(Framework::Hook(kind)) = file.framework(site.node) {
                let describe = site
                    .path
                    .iter()
                    .rev()
                    .find(|p| {
                        p.kind() == "call_expression"
                            && file.framework(**p) == Some(Framework::Describe)
                    })
                    .copied();
                if file.callee_name(site.node) == Some("before") {
                    file.mocha_style = true;
                }
                file.hooks.push(Hook {
                    call: site.node,
                    kind,
                    describe,
                });
            }
        }
        file.find_guard_helpers();
        file.guard_hooks = file.hooks.iter().map(|h| file.guard_hook(h)).collect();
        for (i, h) in file.hooks.iter().enumerate() {
            file.hooks_by_describe
                .entry(h.describe.map(|d| d.id()))
                .or_default()
                .push(i);
        }
        for st in named_children(root) {
            let decl = match st.kind() {
                "lexical_declaration" | "variable_declaration" => Some(st),
                "export_statement" => field(st, "declaration"),
                _ => None,
            };
            for d in decl.map(named_children).unwrap_or_default() {
                if d.kind() == "variable_declarator"
                    && let (Some(n), Some(v)) = (field(d, "name"), field(d, "value"))
                {
                    file.program_decls.push((file.text(n).to_string(), v, st));
                }
            }
        }
        let local: HashSet<&str> = file.fns.iter().map(|f| f.name.as_str()).collect();
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
        // `beforeEach(resetDb)`: a hook that runs a local function by reference.
        for r in refs {
            let n = file.text(r.node);
            if local.contains(n) {
                kept.entry(n.to_string()).or_default().push(r);
            }
        }
        file.calls = kept;
        Ok(file)
    }

    /// `process.env.NODE_ENV = 'test'`
    fn note_env_assignment(&mut self, n: Node<'a>) {
        let (Some(left), Some(right)) = (field(n, "left"), field(n, "right")) else {
            return;
        };
        if let Some(var) = self.env_var(left)
            && self.str_value(right).as_deref().and_then(shared::marker) == Some(Marker::Safe)
        {
            self.forced_env.push((var, line(n)));
        }
    }

    /// `vi.stubEnv('NODE_ENV', 'test')`
    fn note_env_call(&mut self, call: Node<'a>) {
        if self.callee_name(call) == Some("stubEnv") {
            let args = call_args(call);
            if let (Some(k), Some(v)) = (args.first(), args.get(1))
                && let (Some(k), Some(v)) = (self.str_value(*k), self.str_value(*v))
                && shared::marker(&v) == Some(Marker::Safe)
            {
                self.forced_env.push((k, line(call)));
            }
        }
    }

    /// The variable an expression reads from `process.env`, if it is one.
    fn env_var(&self, n: Node<'_>) -> Option<String> {
        let n = unwrap_expr(n);
        match n.kind() {
            "member_expression" => {
                let obj = field(n, "object")?;
                (self.compact(obj) == "process.env")
                    .then(|| field(n, "property").map(|p| self.text(p).to_string()))
                    .flatten()
            }
            "subscript_expression" => {
                let obj = field(n, "object")?;
                if self.compact(obj) != "process.env" {
                    return None;
                }
                self.str_value(field(n, "index")?)
            }
            _ => None,
        }
    }

    fn find_guard_helpers(&mut self) {
        self.guard_helpers = self
            .ctx
            .extra_guards
            .iter()
            .chain(&self.ctx.inherited.guard_helpers)
            .cloned()
            .collect();
        for _ in 0..=self.fns.len() {
            let new: Vec<String> = self
                .fns
                .iter()
                .filter(|f| !self.guard_helpers.contains(&f.name))
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

    fn destructive_call(
        &self,
        call: Node<'a>,
        path: &[Node<'a>],
    ) -> Option<(String, Vec<String>, Store)> {
        let name = self.callee_name(call)?;
        let receiver = self.receiver(call);
        let args = call_args(call);
        let recv_text = receiver.map(|r| self.compact(r)).unwrap_or_default();
        let recv_lower = recv_text.to_ascii_lowercase();
        if let Some(tpl) = tagged_template(call) {
            // sql`...` builds a query; it runs where it is awaited or passed to a query call.
            let runs = matches!(
                name,
                "$executeRaw"
                    | "$executeRawUnsafe"
                    | "$queryRaw"
                    | "$queryRawUnsafe"
                    | "query"
                    | "unsafe"
            ) || (name == "sql"
                && path.last().is_some_and(|p| {
                    matches!(p.kind(), "await_expression" | "expression_statement")
                }));
            return if runs { self.sql_op(tpl, path) } else { None };
        }
        match name {
            // `/re/.exec(s)` and `pattern.exec(s)` match text, they run nothing.
            "exec"
                if receiver.is_some_and(|r| r.kind() == "regex")
                    || recv_lower.ends_with("re")
                    || recv_lower.ends_with("regex")
                    || recv_lower.ends_with("pattern") =>
            {
                None
            }
            n if EXEC_NAMES.contains(&n) => self.sql_op(*args.first()?, path),
            "sync" => {
                let opts = args.first().copied()?;
                (self.object_prop(opts, "force").map(|v| self.text(v)) == Some("true")).then(|| {
                    (
                        "Sequelize sync({ force: true })".to_string(),
                        self.model_name(receiver).into_iter().collect(),
                        Store::Sql,
                    )
                })
            }
            "destroy" => {
                let opts = args.first().copied()?;
                let truncate =
                    self.object_prop(opts, "truncate").map(|v| self.text(v)) == Some("true");
                let where_all = self
                    .object_prop(opts, "where")
                    .is_some_and(|w| w.kind() == "object" && w.named_child_count() == 0);
                let op = if truncate {
                    "Sequelize destroy({ truncate: true })"
                } else if where_all {
                    "Sequelize destroy({ where: {} })"
                } else {
                    return None;
                };
                Some((
                    op.to_string(),
                    self.model_name(receiver).into_iter().collect(),
                    Store::Sql,
                ))
            }
            "deleteMany" => {
                let everything = match args.first() {
                    None => true,
                    Some(a) => {
                        let a = unwrap_expr(*a);
                        a.kind() == "object"
                            && (a.named_child_count() == 0
                                || (a.named_child_count() == 1
                                    && self.object_prop(a, "where").is_some_and(|w| {
                                        w.kind() == "object" && w.named_child_count() == 0
                                    })))
                    }
                };
                if !everything {
                    return None;
                }
                let r = receiver?;
                let mongo = recv_lower.contains("collection")
                    || recv_lower.contains("mongo")
                    || (r.kind() == "identifier"
                        && self.text(r).starts_with(|c: char| c.is_ascii_uppercase()));
                let table = self.collection_or_model(r, path);
                Some(if mongo {
                    ("MongoDB deleteMany({})".to_string(), table, Store::Mongo)
                } else {
                    ("Prisma deleteMany()".to_string(), table, Store::Sql)
                })
            }
            "synchronize" => (args.first().is_some_and(|a| self.text(*a) == "true")).then(|| {
                (
                    "TypeORM synchronize(true)".to_string(),
                    Vec::new(),
                    Store::Sql,
                )
            }),
            "dropDatabase" => {
                let mongo = recv_lower.contains("mongo")
                    || recv_lower == "db"
                    || recv_lower.ends_with(".db")
                    || recv_lower.ends_with("connection");
                Some(if mongo {
                    (
                        "MongoDB dropDatabase()".to_string(),
                        Vec::new(),
                        Store::Mongo,
                    )
                } else {
                    ("TypeORM dropDatabase()".to_string(), Vec::new(), Store::Sql)
                })
            }
            "dropTable" | "dropTableIfExists" if recv_lower.ends_with("schema") => Some((
                format!("knex schema.{name}()"),
                args.first()
                    .and_then(|a| self.str_value(*a))
                    .into_iter()
                    .collect(),
                Store::Sql,
            )),
            "truncate" if args.is_empty() => {
                let (root, _) = self.builder_root(receiver?)?;
                Some((
                    "knex truncate()".to_string(),
                    self.builder_table(root, path),
                    Store::Sql,
                ))
            }
            "del" | "delete" if args.is_empty() => {
                let (root, narrowed) = self.builder_root(receiver?)?;
                (!narrowed).then(|| {
                    (
                        format!("knex {name}() without where"),
                        self.builder_table(root, path),
                        Store::Sql,
                    )
                })
            }
            "clear"
                if recv_lower.contains("repo")
                    || (recv_lower.contains("manager") && !args.is_empty()) =>
            {
                Some((
                    "TypeORM clear()".to_string(),
                    args.first()
                        .map(|a| self.text(*a).to_string())
                        .into_iter()
                        .collect(),
                    Store::Sql,
                ))
            }
            "delete"
                if recv_lower.contains("repo")
                    && args.first().is_some_and(|a| {
                        let a = unwrap_expr(*a);
                        a.kind() == "object" && a.named_child_count() == 0
                    }) =>
            {
                Some(("TypeORM delete({})".to_string(), Vec::new(), Store::Sql))
            }
            "drop" if args.is_empty() && recv_lower.contains("collection") => Some((
                "MongoDB drop()".to_string(),
                self.collection_or_model(receiver?, path),
                Store::Mongo,
            )),
            n if matches!(n.to_ascii_lowercase().as_str(), "flushall" | "flushdb") => Some((
                format!("Redis {}", n.to_ascii_uppercase()),
                Vec::new(),
                Store::Redis,
            )),
            _ => None,
        }
    }

    /// A SQL (or Redis command) string passed to a call that runs it.
    fn sql_op(&self, arg: Node<'a>, path: &[Node<'a>]) -> Option<(String, Vec<String>, Store)> {
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
        Some(if op.starts_with("FLUSH") {
            (format!("Redis {op}"), tables, Store::Redis)
        } else {
            (op, tables, Store::Sql)
        })
    }

    /// A property of an object literal argument.
    fn object_prop(&self, obj: Node<'a>, key: &str) -> Option<Node<'a>> {
        let obj = unwrap_expr(obj);
        if obj.kind() != "object" {
            return None;
        }
        named_children(obj).into_iter().find_map(|p| {
            (p.kind() == "pair"
                && field(p, "key").is_some_and(|k| {
                    let t = self.text(k);
                    t == key || t.trim_matches(['"', '\'']) == key
                }))
            .then(|| field(p, "value").map(unwrap_expr))
            .flatten()
        })
    }

    /// `User` in `User.destroy(...)` or `db.User.destroy(...)`.
    fn model_name(&self, receiver: Option<Node<'_>>) -> Option<String> {
        let r = receiver?;
        let name = match r.kind() {
            "identifier" => self.text(r),
            "member_expression" => self.text(field(r, "property")?),
            _ => return None,
        };
        name.starts_with(|c: char| c.is_ascii_uppercase())
            .then(|| name.to_string())
    }

    /// `users` in `prisma.users.deleteMany()`, `db.collection('users').deleteMany({})`,
    /// `prisma[model].deleteMany()` (the loop's list).
    fn collection_or_model(&self, r: Node<'a>, path: &[Node<'a>]) -> Vec<String> {
        match r.kind() {
            "member_expression" => field(r, "property")
                .map(|p| vec![self.text(p).to_string()])
                .unwrap_or_default(),
            "subscript_expression" => field(r, "index")
                .map(|i| match self.str_value(i) {
                    Some(s) => vec![s],
                    None => self.hole_tables(&[unwrap_expr(i)], path),
                })
                .unwrap_or_default(),
            "call_expression" => call_args(r)
                .first()
                .and_then(|a| self.str_value(*a))
                .into_iter()
                .collect(),
            "identifier" => vec![self.text(r).to_string()],
            _ => Vec::new(),
        }
    }

    /// The root call of a knex builder chain (the one naming the table), and whether a `where`
    /// (or a limit) narrows it.
    fn builder_root(&self, receiver: Node<'a>) -> Option<(Node<'a>, bool)> {
        let mut n = receiver;
        let mut narrowed = false;
        for _ in 0..MAX_EXPR_DEPTH {
            if n.kind() != "call_expression" {
                return None;
            }
            let name = self.callee_name(n)?;
            if name.starts_with("where")
                || name.starts_with("orWhere")
                || name.starts_with("andWhere")
                || matches!(name, "limit" | "first" | "join" | "innerJoin")
            {
                narrowed = true;
            }
            let f = unwrap_expr(field(n, "function")?);
            if f.kind() == "identifier" {
                // knex('users'), trx('users'), db('users')
                let has_table = !call_args(n).is_empty();
                let knex_like = self.mentions_knex || matches!(self.text(f), "knex" | "trx");
                return (has_table && knex_like).then_some((n, narrowed));
            }
            let obj = unwrap_expr(field(f, "object")?);
            if obj.kind() != "call_expression" {
                // knex.from('users'), knex.table('users')
                let named = matches!(name, "from" | "table" | "into") && !call_args(n).is_empty();
                return (named && self.mentions_knex).then_some((n, narrowed));
            }
            n = obj;
        }
        None
    }

    fn builder_table(&self, root: Node<'a>, path: &[Node<'a>]) -> Vec<String> {
        let Some(arg) = call_args(root).first().copied() else {
            return Vec::new();
        };
        match self.str_value(arg) {
            Some(s) => vec![s],
            None => self.hole_tables(&[unwrap_expr(arg)], path),
        }
    }

    /// Tables of a statement whose table names are interpolated: the loop's list, or its name
    /// when the list is not literal.
    fn hole_tables(&self, holes: &[Node<'a>], path: &[Node<'a>]) -> Vec<String> {
        let mut out = Vec::new();
        for h in holes {
            let h = unwrap_expr(*h);
            let iter = match h.kind() {
                "identifier" => match self.resolve(h, path) {
                    Binding::Loop(it) => Some(it),
                    _ => None,
                },
                "call_expression" if self.callee_name(h) == Some("join") => self.join_source(h),
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

    /// `X` in `X.join(', ')` or `X.map(f).join(', ')`.
    fn join_source(&self, join_call: Node<'a>) -> Option<Node<'a>> {
        let mut x = self.receiver(join_call)?;
        if x.kind() == "call_expression" && self.callee_name(x) == Some("map") {
            x = self.receiver(x)?;
        }
        Some(x)
    }

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
            "string" => self.str_value(n).map(|s| vec![s]),
            "template_string" => {
                let mut alts = vec![String::new()];
                for c in named_children(n) {
                    match c.kind() {
                        "string_fragment" | "escape_sequence" => {
                            let t = self.text(c);
                            alts.iter_mut().for_each(|a| a.push_str(t));
                        }
                        "template_substitution" => {
                            let expr = c.named_child(0)?;
                            let part = self.eval(expr, path, depth + 1, holes);
                            alts = product(alts, or_hole(part, expr, holes));
                        }
                        _ => {}
                    }
                }
                Some(alts)
            }
            "binary_expression" => {
                let op = field(n, "operator").map(|o| self.text(o))?;
                if op != "+" {
                    return None;
                }
                let (l, r) = (field(n, "left")?, field(n, "right")?);
                let lv = self.eval(l, path, depth + 1, holes);
                let rv = self.eval(r, path, depth + 1, holes);
                if lv.is_none() && rv.is_none() {
                    return None;
                }
                Some(product(or_hole(lv, l, holes), or_hole(rv, r, holes)))
            }
            "array" => {
                let items: Option<Vec<String>> = named_children(n)
                    .into_iter()
                    .map(|c| self.str_value(c))
                    .collect();
                items.map(|i| vec![i.join("; ")])
            }
            "call_expression" => {
                let name = self.callee_name(n)?;
                if let Some(tpl) = tagged_template(n) {
                    return self.eval(tpl, path, depth + 1, holes);
                }
                match name {
                    "join" => {
                        let sep = call_args(n)
                            .first()
                            .and_then(|a| self.str_value(*a))
                            .unwrap_or_else(|| ",".into());
                        let src = self.join_source(n)?;
                        match self.string_list(src, path, depth + 1) {
                            Some(items) => Some(vec![items.join(&sep)]),
                            None => {
                                holes.push(n);
                                Some(vec!["{?}".into()])
                            }
                        }
                    }
                    "format" | "sprintf" | "raw" | "sql" | "unsafe" => {
                        self.eval(*call_args(n).first()?, path, depth + 1, holes)
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

    fn string_list(&self, n: Node<'a>, path: &[Node<'a>], depth: usize) -> Option<Vec<String>> {
        if depth > MAX_EXPR_DEPTH {
            return None;
        }
        let n = unwrap_expr(n);
        match n.kind() {
            "array" => {
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
            "call_expression" => {
                let name = self.callee_name(n)?;
                let r = self.receiver(n)?;
                match name {
                    "sort" | "toSorted" => {
                        let mut l = self.string_list(r, path, depth + 1)?;
                        l.sort();
                        Some(l)
                    }
                    "slice" | "reverse" | "toReversed" | "concat" if call_args(n).is_empty() => {
                        self.string_list(r, path, depth + 1)
                    }
                    _ => None,
                }
            }
            _ => None,
        }
    }

    /// What the identifier `n` stands for at its position.
    fn resolve(&self, n: Node<'a>, path: &[Node<'a>]) -> Binding<'a> {
        let name = self.text(n);
        for i in (0..path.len()).rev() {
            let p = path[i];
            let child = path.get(i + 1).copied().unwrap_or(n);
            match p.kind() {
                "for_in_statement" => {
                    if field(p, "body") == Some(child)
                        && field(p, "left").is_some_and(|l| self.text(l) == name)
                        && let Some(r) = field(p, "right")
                    {
                        return Binding::Loop(r);
                    }
                }
                _ if is_function(p) && self.param_names(p).contains(&name) => {
                    // TABLES.map((t) => ...), TABLES.forEach(...)
                    if i >= 2
                        && path[i - 1].kind() == "arguments"
                        && path[i - 2].kind() == "call_expression"
                        && matches!(
                            self.callee_name(path[i - 2]),
                            Some("map" | "forEach" | "flatMap")
                        )
                        && let Some(r) = self.receiver(path[i - 2])
                    {
                        return Binding::Loop(r);
                    }
                    return Binding::Unknown;
                }
                "program" => {
                    let before = child.start_byte();
                    if let Some((_, v, st)) = self
                        .program_decls
                        .iter()
                        .rev()
                        .find(|(k, _, st)| k == name && st.start_byte() < before)
                    {
                        return Binding::Value(*v, vec![self.root, *st]);
                    }
                }
                "statement_block" => {
                    let mut found = None;
                    for st in named_children(p) {
                        if st == child {
                            break;
                        }
                        if let Some(v) = self.declared_value(st, name) {
                            found = Some((v, st));
                        }
                    }
                    if let Some((v, st)) = found {
                        let mut vpath = path[..=i].to_vec();
                        vpath.push(st);
                        return Binding::Value(v, vpath);
                    }
                }
                _ => {}
            }
        }
        // A file-level declaration after the function that uses it.
        match self.program_decls.iter().rev().find(|(k, _, _)| k == name) {
            Some((_, v, st)) => Binding::Value(*v, vec![self.root, *st]),
            None => Binding::Unknown,
        }
    }

    /// The value `name` is declared with in this statement (`const name = v`, `export const`).
    fn declared_value(&self, st: Node<'a>, name: &str) -> Option<Node<'a>> {
        let decl = match st.kind() {
            "lexical_declaration" | "variable_declaration" => st,
            "export_statement" => field(st, "declaration")?,
            _ => return None,
        };
        named_children(decl).into_iter().find_map(|d| {
            (d.kind() == "variable_declarator"
                && field(d, "name").is_some_and(|n| self.text(n) == name))
            .then(|| field(d, "value"))
            .flatten()
        })
    }

    // ---------------------------------------------------------------- guards

    fn polarity(&self, n: Node<'_>, depth: usize) -> Option<Polarity> {
        if depth > MAX_EXPR_DEPTH {
            return None;
        }
        let n = unwrap_expr(n);
        match n.kind() {
            "unary_expression" => {
                if field(n, "operator").map(|o| self.text(o)) == Some("!") {
                    self.polarity(field(n, "argument")?, depth + 1)
                        .map(Polarity::not)
                } else {
                    None
                }
            }
            "binary_expression" => {
                let op = field(n, "operator").map(|o| self.text(o))?;
                let (l, r) = (field(n, "left")?, field(n, "right")?);
                match op {
                    "&&" => Polarity::and(self.polarity(l, depth + 1), self.polarity(r, depth + 1)),
                    "||" => Polarity::or(self.polarity(l, depth + 1), self.polarity(r, depth + 1)),
                    "===" | "==" => self.equality(l, r, depth),
                    "!==" | "!=" => self.equality(l, r, depth).map(Polarity::not),
                    _ => None,
                }
            }
            "call_expression" => self.call_polarity(n, depth),
            _ => None,
        }
    }

    /// `target === "test"`
    fn equality(&self, a: Node<'_>, b: Node<'_>, depth: usize) -> Option<Polarity> {
        let (lit, other) = match (self.str_value(a), self.str_value(b)) {
            (Some(l), None) => (l, b),
            (None, Some(l)) => (l, a),
            _ => return None,
        };
        self.is_target(other, depth)
            .then(|| shared::marker(&lit).map(Marker::matches))
            .flatten()
    }

    fn literal_alternatives(&self, n: Node<'_>) -> Vec<String> {
        let n = unwrap_expr(n);
        match n.kind() {
            "array" => named_children(n)
                .into_iter()
                .filter_map(|c| self.str_value(c))
                .collect(),
            "new_expression" => field(n, "arguments")
                .and_then(|a| a.named_child(0))
                .map(|a| self.literal_alternatives(a))
                .unwrap_or_default(),
            _ => self.str_value(n).into_iter().collect(),
        }
    }

    fn call_polarity(&self, n: Node<'_>, depth: usize) -> Option<Polarity> {
        let name = self.callee_name(n)?;
        let f = unwrap_expr(field(n, "function")?);
        let obj = (f.kind() == "member_expression")
            .then(|| field(f, "object").map(unwrap_expr))
            .flatten();
        let args = call_args(n);
        match name {
            "startsWith" | "endsWith" | "match" | "search" => {
                let obj = obj?;
                if !self.is_target(obj, depth) {
                    return None;
                }
                let lits = self.literal_alternatives(*args.first()?);
                shared::markers(lits.iter().map(String::as_str)).map(Marker::matches)
            }
            "includes" | "has" => {
                let obj = obj?;
                let arg = *args.first()?;
                if self.is_target(arg, depth) && self.str_value(arg).is_none() {
                    // ALLOWED.includes(host), ['localhost', '127.0.0.1'].includes(host)
                    return match obj.kind() {
                        "array" => shared::markers(
                            self.literal_alternatives(obj).iter().map(String::as_str),
                        )
                        .map(Marker::matches),
                        "identifier" | "member_expression" => {
                            Some(shared::collection_marker(self.text(obj)).matches())
                        }
                        _ => None,
                    };
                }
                // host.includes('staging')
                if self.is_target(obj, depth) {
                    return shared::marker(&self.str_value(arg)?).map(Marker::matches);
                }
                None
            }
            "test" => {
                // /staging|localhost/.test(host)
                let re = obj?;
                let arg = *args.first()?;
                if !self.is_target(arg, depth) {
                    return None;
                }
                let lits = self.literal_alternatives(re);
                shared::markers(lits.iter().map(String::as_str)).map(Marker::matches)
            }
            other if shared::looks_like_test_predicate(other) => Some(Polarity::SAFE_WHEN_TRUE),
            _ => None,
        }
    }

    fn is_target(&self, n: Node<'_>, depth: usize) -> bool {
        let n = unwrap_expr(n);
        if self.str_value(n).is_some() {
            return false;
        }
        let t = self.text(n);
        if shared::reads_target(t) {
            return true;
        }
        if n.kind() == "identifier" && depth < MAX_EXPR_DEPTH {
            return self
                .decls
                .iter()
                .filter(|(k, _)| k == t)
                .any(|(_, v)| self.is_target(*v, depth + 1));
        }
        false
    }

    fn is_stop(&self, st: Node<'_>) -> bool {
        match st.kind() {
            "throw_statement" | "return_statement" => true,
            "statement_block" => named_children(st).into_iter().any(|s| self.is_stop(s)),
            "expression_statement" => st.named_child(0).map(unwrap_expr).is_some_and(|e| {
                e.kind() == "call_expression"
                    && field(e, "function")
                        .is_some_and(|f| STOP_CALLS.contains(&self.compact(f).as_str()))
            }),
            _ => false,
        }
    }

    /// An assertion call on the target: `assert(...)`, `assert.equal(...)`, `expect(...).toBe(...)`.
    fn assertion(&self, e: Node<'_>) -> bool {
        let Some(callee) = field(e, "function") else {
            return false;
        };
        let c = self.compact(callee);
        let args = call_args(e);
        let first = args.first().copied();
        match c.as_str() {
            "assert" | "assert.ok" | "invariant" | "ok" | "assert.strict" => first
                .and_then(|a| self.polarity(a, 0))
                .is_some_and(|p| p.safe_when_true),
            "assert.equal"
            | "assert.strictEqual"
            | "assert.deepEqual"
            | "assert.deepStrictEqual" => match (first, args.get(1)) {
                (Some(a), Some(b)) => self.equality(a, *b, 0).is_some_and(|p| p.safe_when_true),
                _ => false,
            },
            "assert.notEqual" | "assert.notStrictEqual" => match (first, args.get(1)) {
                (Some(a), Some(b)) => self.equality(a, *b, 0).is_some_and(|p| p.safe_when_false),
                _ => false,
            },
            "assert.match" | "assert.doesNotMatch" => match (first, args.get(1)) {
                (Some(a), Some(b)) if self.is_target(a, 0) => {
                    let lits = self.literal_alternatives(*b);
                    shared::markers(lits.iter().map(String::as_str))
                        .map(Marker::matches)
                        .is_some_and(|p| {
                            if c == "assert.match" {
                                p.safe_when_true
                            } else {
                                p.safe_when_false
                            }
                        })
                }
                _ => false,
            },
            _ => self.expect_chain(e),
        }
    }

    /// `expect(host).toMatch(/staging/)`, `expect(env).not.toBe('production')`,
    /// `expect(host).to.include('staging')`.
    fn expect_chain(&self, e: Node<'_>) -> bool {
        let Some(matcher) = self.callee_name(e) else {
            return false;
        };
        let mut negated = false;
        let mut n = match field(e, "function") {
            Some(f) if f.kind() == "member_expression" => field(f, "object"),
            _ => None,
        };
        let mut subject = None;
        for _ in 0..8 {
            let Some(x) = n else { break };
            match x.kind() {
                "member_expression" => {
                    if field(x, "property").map(|p| self.text(p)) == Some("not") {
                        negated = !negated;
                    }
                    n = field(x, "object");
                }
                "call_expression" => {
                    if self.callee_name(x) == Some("expect") {
                        subject = call_args(x).first().copied();
                    }
                    break;
                }
                _ => break,
            }
        }
        let (Some(subject), Some(expected)) = (subject, call_args(e).first().copied()) else {
            return false;
        };
        let matches = matches!(
            matcher,
            "toBe"
                | "toEqual"
                | "toStrictEqual"
                | "toMatch"
                | "toContain"
                | "equal"
                | "eq"
                | "equals"
                | "match"
                | "include"
                | "contain"
                | "includes"
                | "oneOf"
        );
        if !matches {
            return false;
        }
        let p = if self.is_target(subject, 0) {
            let lits = self.literal_alternatives(expected);
            shared::markers(lits.iter().map(String::as_str)).map(Marker::matches)
        } else if matcher == "toContain" && self.is_target(expected, 0) {
            // expect(ALLOWED_HOSTS).toContain(host)
            Some(shared::collection_marker(self.text(subject)).matches())
        } else {
            None
        };
        p.map(|p| if negated { p.not() } else { p })
            .is_some_and(|p| p.safe_when_true)
    }

    fn stmt_guard(&self, st: Node<'_>) -> bool {
        match st.kind() {
            "if_statement" => {
                field(st, "consequence").is_some_and(|c| self.is_stop(c))
                    && field(st, "condition")
                        .and_then(|c| self.polarity(c, 0))
                        .is_some_and(|p| p.safe_when_false)
            }
            "expression_statement" => st
                .named_child(0)
                .map(unwrap_expr)
                .is_some_and(|e| self.guard_call(e)),
            _ => false,
        }
    }

    fn guard_call(&self, e: Node<'_>) -> bool {
        e.kind() == "call_expression"
            && (self
                .callee_name(e)
                .is_some_and(|n| self.guard_helpers.contains(n))
                || self.assertion(e))
    }

    fn runs_guard(&self, st: Node<'a>, depth: usize) -> Option<Node<'a>> {
        if self.stmt_guard(st) {
            return Some(st);
        }
        if depth > 8 {
            return None;
        }
        match st.kind() {
            "statement_block" => named_children(st)
                .into_iter()
                .find_map(|s| self.runs_guard(s, depth + 1)),
            "try_statement" => {
                let handler_stops = field(st, "handler")
                    .and_then(|h| field(h, "body"))
                    .is_none_or(|b| self.is_stop(b));
                if !handler_stops {
                    return None;
                }
                field(st, "body").and_then(|b| self.runs_guard(b, depth + 1))
            }
            _ => None,
        }
    }

    /// The guard a function runs unconditionally, if any.
    fn body_guard(&self, f: Node<'a>) -> Option<Node<'a>> {
        let body = field(f, "body")?;
        if body.kind() == "statement_block" {
            named_children(body)
                .into_iter()
                .find_map(|s| self.runs_guard(s, 0))
        } else {
            // () => assertTestDatabase()
            self.guard_call(unwrap_expr(body)).then_some(body)
        }
    }

    /// A guard whose condition only reads environment-name variables this file forces.
    fn defeated(&self, guard: Node<'_>) -> Option<(String, usize)> {
        if self.forced_env.is_empty() {
            return None;
        }
        let cond = match guard.kind() {
            "if_statement" => field(guard, "condition")?,
            "expression_statement" => guard.named_child(0)?,
            _ => return None,
        };
        let mut hit = None;
        let mut other_target = false;
        walk(cond, MAX_TREE_DEPTH, |n, _| {
            if let Some(var) = self.env_var(n) {
                if let Some((v, at)) = self
                    .forced_env
                    .iter()
                    .find(|(k, _)| *k == var && shared::is_env_name_var(k))
                {
                    hit.get_or_insert((v.clone(), *at));
                } else {
                    other_target = true;
                }
                return false;
            }
            if matches!(
                n.kind(),
                "identifier" | "property_identifier" | "shorthand_property_identifier"
            ) && shared::reads_target(self.text(n))
            {
                other_target = true;
            }
            !matches!(n.kind(), "string" | "template_string" | "regex")
        });
        if other_target { None } else { hit }
    }

    // ---------------------------------------------------------------- judging

    /// Is a hook's callback a guard?
    fn guard_hook(&self, h: &Hook<'a>) -> bool {
        call_args(h.call).iter().any(|a| {
            let a = unwrap_expr(*a);
            if is_function(a) {
                self.body_guard(a)
                    .is_some_and(|g| self.defeated(g).is_none())
            } else {
                a.kind() == "identifier" && self.guard_helpers.contains(self.text(a))
            }
        })
    }

    fn is_describe_body(&self, block: Node<'_>, path: &[Node<'_>], i: usize) -> bool {
        block.kind() == "statement_block"
            && i >= 3
            && is_function(path[i - 1])
            && path[i - 2].kind() == "arguments"
            && path[i - 3].kind() == "call_expression"
            && self.framework(path[i - 3]) == Some(Framework::Describe)
    }

    /// Do the hooks registered around `at` (a hook or test call) guard what runs in it?
    fn hooks_guard(
        &self,
        at: Node<'a>,
        runs: RunsIn,
        chain: &[Option<Node<'a>>],
        notes: &mut Notes,
    ) -> bool {
        let Some(own) = chain.first().copied() else {
            return false;
        };
        let candidates = chain
            .iter()
            .filter_map(|d| self.hooks_by_describe.get(&d.map(|d| d.id())))
            .flatten();
        for &i in candidates {
            let (Some(h), Some(true)) = (self.hooks.get(i), self.guard_hooks.get(i)) else {
                continue;
            };
            if h.call == at {
                continue;
            }
            let same = h.describe == own;
            let earlier = h.call.start_byte() < at.start_byte();
            let ok = match (runs, h.kind) {
                (RunsIn::Hook(HookKind::BeforeAll), HookKind::BeforeAll) => !same || earlier,
                (RunsIn::Hook(HookKind::BeforeEach), HookKind::BeforeAll) => true,
                (RunsIn::Hook(HookKind::BeforeEach), HookKind::BeforeEach) => !same || earlier,
                (
                    RunsIn::Test | RunsIn::Hook(HookKind::AfterEach | HookKind::AfterAll),
                    HookKind::BeforeAll | HookKind::BeforeEach,
                ) => true,
                _ => false,
            };
            if ok {
                return true;
            }
            notes.late_hook.get_or_insert((
                field(h.call, "function")
                    .map(|f| self.compact(f))
                    .unwrap_or_default(),
                line(h.call),
            ));
        }
        false
    }

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
        let mut deferred = false;
        let mut runs: Option<(RunsIn, Node<'a>, usize)> = None;
        let mut helper: Option<(String, Node<'a>)> = None;
        let mut child = node;
        for i in (0..path.len()).rev() {
            let p = path[i];
            match p.kind() {
                "statement_block" | "program" => {
                    let collection = p.kind() == "program" || self.is_describe_body(p, path, i);
                    // The file and describe bodies finish before any hook, test or helper runs.
                    let all = deferred && collection;
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
                        && !collection
                        && self
                            .transactions
                            .get(
                                p,
                                |n| self.text(n),
                                |st| self.transaction_var(st).map(str::to_string),
                            )
                            .rolled_back_around(child)
                    {
                        return Verdict::Guarded;
                    }
                }
                "if_statement" => {
                    if let Some(c) = field(p, "condition").and_then(|c| self.polarity(c, 0)) {
                        if field(p, "consequence") == Some(child) && c.safe_when_true {
                            return Verdict::Guarded;
                        }
                        if child.kind() == "else_clause" && c.safe_when_false {
                            return Verdict::Guarded;
                        }
                    }
                }
                "ternary_expression" => {
                    if let Some(c) = field(p, "condition").and_then(|c| self.polarity(c, 0)) {
                        if field(p, "consequence") == Some(child) && c.safe_when_true {
                            return Verdict::Guarded;
                        }
                        if field(p, "alternative") == Some(child) && c.safe_when_false {
                            return Verdict::Guarded;
                        }
                    }
                }
                // isTestDb() && db.query('TRUNCATE ...')
                "binary_expression"
                    if field(p, "right") == Some(child)
                        && field(p, "operator").map(|o| self.text(o)) == Some("&&")
                        && field(p, "left")
                            .and_then(|l| self.polarity(l, 0))
                            .is_some_and(|c| c.safe_when_true) =>
                {
                    return Verdict::Guarded;
                }
                // beforeEach(resetDb): the reference runs inside the hook.
                "arguments"
                    if child == node && node.kind() == "identifier" && runs.is_none() && i >= 1 =>
                {
                    match self.framework(path[i - 1]) {
                        Some(Framework::Hook(k)) => {
                            runs = Some((RunsIn::Hook(k), path[i - 1], i - 1));
                            deferred = true;
                        }
                        Some(Framework::Test) => {
                            runs = Some((RunsIn::Test, path[i - 1], i - 1));
                            deferred = true;
                        }
                        _ => {}
                    }
                }
                _ if is_function(p) => {
                    let framework_call = (i >= 2 && path[i - 1].kind() == "arguments")
                        .then(|| path[i - 2])
                        .filter(|c| c.kind() == "call_expression");
                    match framework_call.and_then(|c| self.framework(c)) {
                        Some(Framework::Hook(k)) => {
                            if runs.is_none() {
                                runs = framework_call.map(|c| (RunsIn::Hook(k), c, i - 2));
                            }
                            deferred = true;
                        }
                        Some(Framework::Test) => {
                            if runs.is_none() {
                                runs = framework_call.map(|c| (RunsIn::Test, c, i - 2));
                            }
                            deferred = true;
                        }
                        Some(Framework::Describe) => {}
                        None => {
                            if store == Store::Sql
                                && let Some(c) = framework_call
                                && self.callee_name(c) == Some("transaction")
                                && self.rolls_back(p)
                            {
                                return Verdict::Guarded;
                            }
                            if let Some(name) = self.fn_name(p, path, i) {
                                if helper.is_none() && runs.is_none() {
                                    helper = Some((name, p));
                                }
                                deferred = true;
                            }
                        }
                    }
                }
                _ => {}
            }
            child = p;
        }
        if let Some((kind, call, at)) = runs {
            let mut chain: Vec<Option<Node<'a>>> = path[..at]
                .iter()
                .rev()
                .filter(|n| {
                    n.kind() == "call_expression"
                        && self.framework(**n) == Some(Framework::Describe)
                })
                .map(|n| Some(*n))
                .collect();
            chain.push(None);
            if self.hooks_guard(call, kind, &chain, notes) || self.ctx.inherited.autouse_guard {
                return Verdict::Guarded;
            }
            return Verdict::Unguarded(self.reason(node, path, notes));
        }
        let Some((name, f)) = helper else {
            return Verdict::Unguarded(self.reason(node, path, notes));
        };
        if self.ctx.inherited.autouse_guard {
            return Verdict::Guarded;
        }
        if hops < MAX_CALL_HOPS {
            let callers: Vec<&Site<'a>> = self
                .calls
                .get(&name)
                .into_iter()
                .flatten()
                .filter(|s| !s.path.contains(&f) && s.node != f)
                .collect();
            if !callers.is_empty() {
                for s in &callers {
                    let mut inner = Notes::default();
                    if let Verdict::Unguarded(_) =
                        self.judge(s.node, &s.path, store, hops + 1, &mut inner)
                    {
                        notes.unguarded_caller = Some(line(s.node));
                        return Verdict::Unguarded(self.reason(node, path, notes));
                    }
                }
                return Verdict::Guarded;
            }
        }
        Verdict::Unguarded(self.reason(node, path, notes))
    }

    /// The name a function is declared or assigned under.
    fn fn_name(&self, f: Node<'_>, path: &[Node<'_>], i: usize) -> Option<String> {
        if let Some(n) = field(f, "name") {
            return Some(self.text(n).to_string());
        }
        let parent = path.get(i.checked_sub(1)?)?;
        match parent.kind() {
            "variable_declarator" => field(*parent, "name")
                .filter(|n| n.kind() == "identifier")
                .map(|n| self.text(n).to_string()),
            "pair" => field(*parent, "key").map(|n| self.text(n).to_string()),
            // module.exports = async () => { ... } (a Jest globalSetup), exports.reset = ...
            "assignment_expression" => field(*parent, "left").map(|n| self.compact(n)),
            "export_statement" => Some("export default".to_string()),
            _ => None,
        }
    }

    /// `const trx = await knex.transaction()`: the transaction variable.
    fn transaction_var(&self, st: Node<'_>) -> Option<&'a str> {
        if !matches!(st.kind(), "lexical_declaration" | "variable_declaration") {
            return None;
        }
        let d = named_children(st)
            .into_iter()
            .find(|d| d.kind() == "variable_declarator")?;
        let name = field(d, "name")?;
        let v = unwrap_expr(field(d, "value")?);
        (name.kind() == "identifier"
            && v.kind() == "call_expression"
            && matches!(
                self.callee_name(v),
                Some("transaction" | "begin" | "startTransaction")
            ))
        .then(|| self.text(name))
    }

    /// `knex.transaction(async (trx) => { ...; await trx.rollback(); })`
    fn rolls_back(&self, f: Node<'_>) -> bool {
        let Some(body) = field(f, "body") else {
            return false;
        };
        let text = self.text(body);
        self.param_names(f)
            .first()
            .is_some_and(|p| text.contains(&format!("{p}.rollback(")))
    }

    fn reason(&self, node: Node<'a>, path: &[Node<'a>], notes: &Notes) -> String {
        if let Some((g, (var, at))) = &notes.defeated {
            return format!(
                "the guard on line {g} checks {var}, which line {at} sets to a test value itself"
            );
        }
        // The function around the operation: its guards that do not count explain why.
        let scope = path.iter().rev().find(|n| is_function(**n)).copied();
        // The guard statements of the scope, in source order, found once per scope.
        let guards = self.scope_guards.get(scope, || {
            let mut found = Vec::new();
            let mut consider = |n: Node<'a>| {
                if matches!(n.kind(), "if_statement" | "expression_statement") && self.stmt_guard(n)
                {
                    found.push(n);
                    return false;
                }
                true
            };
            match scope {
                Some(s) => {
                    walk(s, MAX_TREE_DEPTH, |n, _| consider(n));
                }
                None => named_children(self.root).into_iter().for_each(|n| {
                    consider(n);
                }),
            }
            found
        });
        let (before, after) = shared::guards_around(
            &guards,
            |g| g.end_byte() <= node.start_byte(),
            node.end_byte(),
        );
        if let Some(b) = before {
            let mut in_try = false;
            let mut p = b.parent();
            for _ in 0..MAX_TREE_DEPTH {
                match p {
                    Some(x) if Some(x) != scope && x != self.root => {
                        if x.kind() == "try_statement" {
                            in_try = true;
                            break;
                        }
                        p = x.parent();
                    }
                    _ => break,
                }
            }
            return if in_try {
                format!(
                    "the guard on line {} sits in a `try` whose `catch` lets the run continue",
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
        if let Some((hook, at)) = &notes.late_hook {
            return format!("the guard in the `{hook}` on line {at} runs after it");
        }
        if let Some(at) = notes.unguarded_caller {
            return format!("no guard runs before it: it is reached unguarded from line {at}");
        }
        "no guard runs before it".to_string()
    }

    fn place(&self, path: &[Node<'a>]) -> Place {
        for i in (0..path.len()).rev() {
            let p = path[i];
            if !is_function(p) {
                continue;
            }
            let call = (i >= 2 && path[i - 1].kind() == "arguments")
                .then(|| path[i - 2])
                .filter(|c| c.kind() == "call_expression");
            match call.and_then(|c| self.framework(c)) {
                Some(Framework::Hook(k)) => {
                    let name = call
                        .and_then(|c| field(c, "function"))
                        .map(|f| self.compact(f))
                        .unwrap_or_default();
                    return Place::Hook(name, k);
                }
                Some(Framework::Test) => return Place::Test,
                Some(Framework::Describe) => continue,
                None => {
                    if let Some(n) = self.fn_name(p, path, i) {
                        return Place::Helper(n);
                    }
                }
            }
        }
        Place::Module
    }

    fn scope_name(&self, place: &Place, path: &[Node<'a>]) -> Option<String> {
        match place {
            Place::Hook(name, _) => Some(name.clone()),
            Place::Helper(name) => Some(name.clone()),
            Place::Test => {
                let call = path.iter().rev().find(|n| {
                    n.kind() == "call_expression" && self.framework(**n) == Some(Framework::Test)
                })?;
                let title = call_args(*call)
                    .first()
                    .and_then(|a| self.str_value(*a))
                    .unwrap_or_default();
                let title: String = title.chars().take(60).collect();
                let callee = field(*call, "function")
                    .map(|f| self.compact(f))
                    .unwrap_or_default();
                Some(format!("{callee}({title:?})"))
            }
            Place::Module => None,
        }
    }

    fn help(&self, store: Store, place: &Place, operation: &str) -> String {
        let var = store.url_var_cached(self.src, &self.url_vars);
        let url = if matches!(self.lang, Lang::TypeScript | Lang::Tsx) {
            format!("process.env.{var} ?? \"\"")
        } else {
            format!("process.env.{var}")
        };
        let lines = format!(
            "const {{ hostname }} = new URL({url});\nif (!/(^localhost$|\\.test\\.|staging)/.test(hostname)) throw new Error(`refusing to reset ${{hostname}}`);"
        );
        let indent = |s: &str, by: &str| -> String {
            s.lines().map(|l| format!("{by}{l}\n")).collect::<String>()
        };
        let before_all = if self.mocha_style {
            "before"
        } else {
            "beforeAll"
        };
        let hook_block = format!(
            "    {before_all}(() => {{\n{}    }});",
            indent(&lines, "      ")
        );
        match place {
            Place::Hook(name, HookKind::BeforeAll) => format!(
                "add an environment guard as the first lines of this `{name}`, before the {operation}:\n{}",
                indent(&lines, "    ").trim_end()
            ),
            Place::Hook(name, _) => format!(
                "add an environment guard in a `{before_all}` at the top of the enclosing `describe` (or as the first lines of this `{name}`):\n{hook_block}"
            ),
            Place::Test => format!(
                "add an environment guard in a `{before_all}` at the top of the enclosing `describe`:\n{hook_block}"
            ),
            Place::Helper(name) => format!(
                "add an environment guard as the first lines of `{name}`, before the {operation}:\n{}",
                indent(&lines, "    ").trim_end()
            ),
            Place::Module => format!(
                "add an environment guard at the top of the file, before the {operation}:\n{}",
                indent(&lines, "    ").trim_end()
            ),
        }
    }

    fn exports(&self) -> Exports {
        let module_guard = named_children(self.root).into_iter().any(|st| {
            self.runs_guard(st, 0)
                .is_some_and(|g| self.defeated(g).is_none())
        });
        let autouse_guard = self.hooks.iter().zip(&self.guard_hooks).any(|(h, guards)| {
            h.describe.is_none()
                && matches!(h.kind, HookKind::BeforeAll | HookKind::BeforeEach)
                && *guards
        });
        let mut guard_helpers: Vec<String> = self
            .fns
            .iter()
            .filter(|f| f.top_level && self.body_guard(f.node).is_some())
            .map(|f| f.name.clone())
            .collect();
        guard_helpers.dedup();
        Exports {
            module_guard,
            guard_fixtures: Vec::new(),
            autouse_guard,
            guard_helpers,
        }
    }

    fn run(&self) -> FileAnalysis {
        let mut unguarded = Vec::new();
        for op in &self.ops {
            let mut notes = Notes::default();
            if let Verdict::Unguarded(reason) =
                self.judge(op.node, &op.path, op.store, 0, &mut notes)
            {
                let place = self.place(&op.path);
                unguarded.push(UnguardedOp {
                    op: DestructiveOp {
                        span: op.node.byte_range(),
                        operation: op.operation.clone(),
                        tables: op.tables.clone(),
                        scope: self.scope_name(&place, &op.path),
                    },
                    reason,
                    help: self.help(op.store, &place, &op.operation),
                });
            }
        }
        FileAnalysis {
            unguarded,
            exports: self.exports(),
        }
    }
}

/// Declared at file level: directly in the program or an `export` there.
fn top_level(path: &[Node<'_>]) -> bool {
    match path {
        [p] => p.kind() == "program",
        [.., p, e] => p.kind() == "program" && e.kind() == "export_statement",
        [] => false,
    }
}

fn or_hole<'a>(v: Option<Vec<String>>, n: Node<'a>, holes: &mut Vec<Node<'a>>) -> Vec<String> {
    v.unwrap_or_else(|| {
        holes.push(unwrap_expr(n));
        vec!["{?}".into()]
    })
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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const LANGS: [Lang; 3] = [Lang::JavaScript, Lang::TypeScript, Lang::Tsx];

    /// Analyses `src`, and checks that slicing it changes nothing.
    fn run_with(lang: Lang, src: &str, ctx: &Context) -> FileAnalysis {
        let a = crate::lang::analyze_checked(lang, src, ctx);
        assert!(
            a.unguarded.is_empty() || may_destroy(src),
            "the prefilter would skip a file with a finding:\n{src}"
        );
        a
    }

    #[test]
    fn prefilter_narrows_delete_to_the_forms_the_analysis_reports() {
        for hit in [
            "await knex('orders').delete()",
            "await query.delete( )",
            "await prisma.order.deleteMany()",
            "await repo.delete({})",
            "await db.query(`DELETE\n  FROM orders`)",
            "await db.query('DELETE ' + 'FROM orders')",
        ] {
            assert!(may_destroy(hit), "{hit}");
        }
        for miss in [
            "await request(app).delete('/orders/1').expect(204)",
            "cache.delete(key)",
            "it('deletes an order', async () => { await api.deleteOrder(1) })",
        ] {
            assert!(!may_destroy(miss), "{miss}");
        }
    }

    /// Exactly one finding in every language, whose operation and reason contain the given words.
    fn flagged(src: &str, operation: &str, reason: &str) -> UnguardedOp {
        let mut last = None;
        for lang in LANGS {
            let a = run_with(lang, src, &Context::default());
            assert_eq!(
                a.unguarded.len(),
                1,
                "{lang:?}: want one finding in:\n{src}\ngot {:#?}",
                a.unguarded
            );
            let u = a.unguarded.into_iter().next().expect("one finding");
            assert!(
                u.op.operation.contains(operation),
                "{lang:?}: operation {:?} lacks {operation:?}",
                u.op.operation
            );
            assert!(
                u.reason.contains(reason),
                "{lang:?}: reason {:?} lacks {reason:?}",
                u.reason
            );
            last = Some(u);
        }
        last.expect("at least one language")
    }

    fn clean_with(src: &str, ctx: &Context) {
        for lang in LANGS {
            let a = run_with(lang, src, ctx);
            assert!(
                a.unguarded.is_empty(),
                "{lang:?}: want no finding in:\n{src}\ngot {:#?}",
                a.unguarded
            );
        }
    }

    fn clean(src: &str) {
        clean_with(src, &Context::default());
    }

    const GUARD_LINES: &str = "  const { hostname } = new URL(process.env.DATABASE_URL);\n  if (!/(^localhost$|\\.test\\.|staging)/.test(hostname)) throw new Error(`refusing to reset ${hostname}`);\n";

    #[test]
    fn unguarded_hook_is_flagged_at_the_call() {
        let src = r#"const { PrismaClient } = require('@prisma/client');
const prisma = new PrismaClient();

describe('users', () => {
  beforeEach(async () => {
    await prisma.$executeRawUnsafe('TRUNCATE TABLE "users" CASCADE');
  });

  it('lists users', async () => {});
});
"#;
        let u = flagged(src, "TRUNCATE", "no guard runs before it");
        assert_eq!(
            &src[u.op.span.clone()],
            r#"prisma.$executeRawUnsafe('TRUNCATE TABLE "users" CASCADE')"#
        );
        assert_eq!(u.op.tables, vec!["users"]);
        assert_eq!(u.op.scope.as_deref(), Some("beforeEach"));
        assert!(u.help.contains("beforeAll(() => {"), "{}", u.help);
        let js = run_with(Lang::JavaScript, src, &Context::default());
        assert!(
            js.unguarded[0]
                .help
                .contains("new URL(process.env.DATABASE_URL);")
        );
        let ts = run_with(Lang::TypeScript, src, &Context::default());
        assert!(
            ts.unguarded[0]
                .help
                .contains("new URL(process.env.DATABASE_URL ?? \"\");")
        );
    }

    #[test]
    fn the_suggested_help_is_itself_a_guard() {
        for lang in LANGS {
            let src = "describe('users', () => {\n  beforeEach(async () => {\n    await knex('users').truncate();\n  });\n});\n";
            let a = run_with(lang, src, &Context::default());
            let help = &a.unguarded[0].help;
            let block: String = help.lines().skip(1).map(|l| format!("{l}\n")).collect();
            let fixed = src.replace(
                "describe('users', () => {\n",
                &format!("describe('users', () => {{\n{block}"),
            );
            let a = run_with(lang, &fixed, &Context::default());
            assert!(
                a.unguarded.is_empty(),
                "{lang:?}:\n{fixed}\n{:#?}",
                a.unguarded
            );
        }
    }

    #[test]
    fn guard_in_the_same_hook_protects() {
        clean(&format!(
            "beforeEach(async () => {{\n{GUARD_LINES}  await knex.raw('TRUNCATE TABLE users CASCADE');\n}});\n"
        ));
        clean(
            "beforeEach(async () => {\n  if (process.env.NODE_ENV !== 'test') {\n    throw new Error('refusing to reset a non-test database');\n  }\n  await pool.query('DELETE FROM users');\n});\n",
        );
        clean(
            "beforeEach(async () => {\n  expect(process.env.DATABASE_URL).toMatch(/localhost/);\n  await pool.query('DELETE FROM users');\n});\n",
        );
        clean(
            "beforeEach(async () => {\n  assert.ok(['localhost', '127.0.0.1'].includes(dbHost));\n  await pool.query('DELETE FROM users');\n});\n",
        );
        // Near miss: console.assert does not stop the run.
        flagged(
            "beforeEach(async () => {\n  console.assert(process.env.NODE_ENV === 'test');\n  await pool.query('DELETE FROM users');\n});\n",
            "DELETE FROM without WHERE",
            "no guard",
        );
    }

    #[test]
    fn guard_in_an_earlier_hook_protects() {
        let nested = format!(
            "describe('db', () => {{\n  beforeAll(() => {{\n{GUARD_LINES}  }});\n\n  describe('users', () => {{\n    beforeEach(async () => {{\n      await sequelize.sync({{ force: true }});\n    }});\n  }});\n}});\n"
        );
        clean(&nested);
        // A guard in beforeEach runs after a beforeAll in the same block.
        flagged(
            &format!(
                "describe('db', () => {{\n  beforeEach(() => {{\n{GUARD_LINES}  }});\n\n  beforeAll(async () => {{\n    await sequelize.sync({{ force: true }});\n  }});\n}});\n"
            ),
            "Sequelize sync({ force: true })",
            "the guard in the `beforeEach` on line 2 runs after it",
        );
        // A guard in a sibling describe does not run for this one.
        flagged(
            &format!(
                "describe('a', () => {{\n  beforeAll(() => {{\n{GUARD_LINES}  }});\n}});\n\ndescribe('b', () => {{\n  beforeEach(async () => {{\n    await sequelize.sync({{ force: true }});\n  }});\n}});\n"
            ),
            "Sequelize sync",
            "no guard",
        );
        // Mocha's before, and tests after a guarding beforeEach.
        clean(&format!(
            "describe('db', function () {{\n  before(function () {{\n{GUARD_LINES}  }});\n  it('wipes', async function () {{\n    await db.collection('users').deleteMany({{}});\n  }});\n}});\n"
        ));
    }

    #[test]
    fn guard_helper_in_the_same_file_protects() {
        let helper = "function assertTestDatabase() {\n  if (process.env.NODE_ENV !== 'test') throw new Error('refusing to reset');\n}\n\n";
        clean(&format!(
            "{helper}beforeEach(async () => {{\n  assertTestDatabase();\n  await User.destroy({{ truncate: true }});\n}});\n"
        ));
        clean(&format!(
            "{helper}describe('users', () => {{\n  beforeAll(assertTestDatabase);\n  beforeEach(async () => {{\n    await User.destroy({{ where: {{}}, truncate: true }});\n  }});\n}});\n"
        ));
        let arrow = "const assertTestDb = () => {\n  assert(process.env.DB_NAME.endsWith('_test'));\n};\n\n";
        clean(&format!(
            "{arrow}beforeEach(async () => {{\n  assertTestDb();\n  await User.destroy({{ truncate: true }});\n}});\n"
        ));
        let ctx = Context {
            extra_guards: vec!["ensureSandbox".into()],
            ..Context::default()
        };
        clean_with(
            "import { ensureSandbox } from './guards';\nbeforeEach(async () => {\n  await ensureSandbox();\n  await User.destroy({ truncate: true });\n});\n",
            &ctx,
        );
        // Near miss: a helper that only logs.
        flagged(
            "function warnIfRemote() {\n  if (!process.env.DATABASE_URL.includes('localhost')) console.warn('remote database');\n}\nbeforeEach(async () => {\n  warnIfRemote();\n  await User.destroy({ truncate: true });\n});\n",
            "Sequelize destroy({ truncate: true })",
            "no guard",
        );
    }

    #[test]
    fn many_operations_in_one_hook_are_judged_against_its_guards_and_transactions() {
        let op = "  await prisma.user.deleteMany();\n";
        let guard = "  if (process.env.NODE_ENV !== 'test') throw new Error('wrong database');\n";
        let src = format!(
            "beforeEach(async () => {{\n{}{guard}{}}});\n",
            op.repeat(1_500),
            op.repeat(1_500)
        );
        let a = run_with(Lang::JavaScript, &src, &Context::default());
        assert_eq!(a.unguarded.len(), 1_500);
        assert!(
            a.unguarded
                .iter()
                .all(|u| u.reason == "the guard on line 1502 runs after it"),
            "{:?}",
            a.unguarded[0]
        );

        let src = format!(
            "it('wipes', async () => {{\n  const trx = await knex.transaction();\n{}  await trx.rollback();\n  await trx('users').del();\n}});\n",
            "  await trx('users').del();\n".repeat(2_000)
        );
        let a = run_with(Lang::JavaScript, &src, &Context::default());
        assert_eq!(a.unguarded.len(), 1, "{:#?}", a.unguarded.first());
        assert_eq!(
            a.unguarded[0].op.span.start,
            src.rfind("trx('users')").expect("op")
        );
    }

    #[test]
    fn guard_after_the_operation_is_flagged() {
        flagged(
            "beforeEach(async () => {\n  await prisma.user.deleteMany();\n  if (process.env.NODE_ENV !== 'test') throw new Error('wrong database');\n});\n",
            "Prisma deleteMany()",
            "the guard on line 3 runs after it",
        );
    }

    #[test]
    fn guard_in_a_skippable_branch_is_flagged() {
        flagged(
            "function assertTestDatabase() {\n  if (process.env.NODE_ENV !== 'test') throw new Error('refusing');\n}\nbeforeEach(async () => {\n  if (process.env.CHECK_DB) {\n    assertTestDatabase();\n  }\n  await prisma.user.deleteMany({});\n});\n",
            "Prisma deleteMany()",
            "the guard on line 6 sits in a branch that can be skipped",
        );
        flagged(
            "beforeEach(async () => {\n  try {\n    assert.strictEqual(process.env.NODE_ENV, 'test');\n  } catch (e) {\n    console.warn(e);\n  }\n  await prisma.user.deleteMany({});\n});\n",
            "Prisma deleteMany()",
            "sits in a `try`",
        );
    }

    #[test]
    fn positive_environment_branch_protects() {
        clean(
            "afterEach(async () => {\n  if (process.env.NODE_ENV === 'test') {\n    await redis.flushall();\n  }\n});\n",
        );
        clean(
            "afterEach(async () => {\n  process.env.NODE_ENV === 'test' && (await redis.flushAll());\n});\n",
        );
        flagged(
            "afterEach(async () => {\n  if (process.env.NODE_ENV === 'production') {\n    await redis.flushall();\n  }\n});\n",
            "Redis FLUSHALL",
            "no guard",
        );
    }

    #[test]
    fn throwaway_targets_are_the_framework_guarantee() {
        clean(
            "const sequelize = new Sequelize('sqlite::memory:', { logging: false });\nbeforeEach(async () => {\n  await sequelize.sync({ force: true });\n});\n",
        );
        clean(
            "const { MongoMemoryServer } = require('mongodb-memory-server');\nafterEach(async () => {\n  await mongoose.connection.dropDatabase();\n});\n",
        );
        clean(
            "import { PostgreSqlContainer } from '@testcontainers/postgresql';\nbeforeEach(async () => {\n  await pool.query('TRUNCATE users');\n});\n",
        );
        // Near miss: a real database URL.
        flagged(
            "const sequelize = new Sequelize(process.env.DATABASE_URL);\nbeforeEach(async () => {\n  await sequelize.sync({ force: true });\n});\n",
            "Sequelize sync",
            "no guard",
        );
        // Near miss: an in-memory Mongo does not make the SQL database throwaway.
        flagged(
            "const { MongoMemoryServer } = require('mongodb-memory-server');\nbeforeEach(async () => {\n  await pool.query('TRUNCATE users');\n});\n",
            "TRUNCATE",
            "no guard",
        );
    }

    #[test]
    fn guard_turned_off_is_flagged() {
        flagged(
            "process.env.NODE_ENV = 'test';\n\nbeforeEach(async () => {\n  if (process.env.NODE_ENV !== 'test') throw new Error('refusing');\n  await knex('users').del();\n});\n",
            "knex del() without where",
            "the guard on line 4 checks NODE_ENV, which line 1 sets to a test value itself",
        );
        flagged(
            "vi.stubEnv('APP_ENV', 'test');\nbeforeEach(async () => {\n  expect(process.env.APP_ENV).toBe('test');\n  await knex('users').del();\n});\n",
            "knex del()",
            "checks APP_ENV, which line 1 sets",
        );
        // Forcing the database URL to a local one makes the target local.
        clean(
            "process.env.DATABASE_URL = 'postgres://localhost/app_test';\nbeforeEach(async () => {\n  if (!process.env.DATABASE_URL.includes('localhost')) throw new Error('refusing');\n  await knex('users').del();\n});\n",
        );
    }

    #[test]
    fn destructive_text_that_never_runs_is_not_flagged() {
        clean(
            "const RESET_SQL = 'TRUNCATE TABLE users CASCADE';\n\nit('TRUNCATE users resets the table', () => {\n  console.log(RESET_SQL);\n  expect(buildSql()).toContain('DELETE FROM users');\n  const q = `DROP TABLE ${name}`;\n});\n",
        );
    }

    #[test]
    fn module_level_guards_protect_hooks_and_helpers() {
        clean(
            "if (process.env.NODE_ENV !== 'test') {\n  throw new Error('integration tests need NODE_ENV=test');\n}\n\nbeforeEach(async () => {\n  await prisma.user.deleteMany();\n});\n\nexport async function reset() {\n  await prisma.order.deleteMany();\n}\n",
        );
        clean(
            "describe('users', () => {\n  beforeEach(async () => {\n    await prisma.user.deleteMany();\n  });\n\n  if (!['localhost', '127.0.0.1'].includes(new URL(process.env.DATABASE_URL).hostname)) {\n    throw new Error('refusing');\n  }\n});\n",
        );
        // A module-level operation runs before a guard further down.
        flagged(
            "await pool.query('TRUNCATE users');\nif (process.env.NODE_ENV !== 'test') throw new Error('refusing');\n",
            "TRUNCATE",
            "runs after it",
        );
    }

    #[test]
    fn incident_001_reset_loop_names_every_table() {
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
        let list: String = tables.iter().map(|t| format!("  '{t}',\n")).collect();
        let loop_src = format!(
            "const TABLES = [\n{list}];\n\nbeforeEach(async () => {{\n  for (const table of TABLES) {{\n    await pool.query(`TRUNCATE TABLE ${{table}} CASCADE`);\n  }}\n}});\n"
        );
        let u = flagged(&loop_src, "TRUNCATE", "no guard");
        assert_eq!(u.op.tables, tables.to_vec());
        let joined = format!(
            "const TABLES = [\n{list}] as const;\n\nbeforeEach(async () => {{\n  await knex.raw(`TRUNCATE ${{TABLES.map((t) => `\"${{t}}\"`).join(', ')}} CASCADE`);\n}});\n"
        );
        for lang in [Lang::TypeScript, Lang::Tsx] {
            let a = run_with(lang, &joined, &Context::default());
            assert_eq!(a.unguarded.len(), 1, "{lang:?}");
            assert_eq!(a.unguarded[0].op.tables, tables.to_vec());
        }
        let each = "beforeEach(async () => {\n  await Promise.all(getTables().map((t) => knex(t).truncate()));\n});\n";
        let u = flagged(each, "knex truncate()", "no guard");
        assert_eq!(u.op.tables, vec!["each table in getTables()"]);
        // The guarded twin.
        clean(&loop_src.replace(
            "beforeEach(async () => {\n",
            &format!("beforeEach(async () => {{\n{GUARD_LINES}"),
        ));
    }

    #[test]
    fn exports_and_inherited_guards() {
        let setup = "export function assertTestDatabase() {\n  if (!process.env.DATABASE_URL.includes('localhost')) throw new Error('refusing');\n}\n\nbeforeAll(() => {\n  assertTestDatabase();\n});\n";
        let e = run_with(Lang::TypeScript, setup, &Context::default()).exports;
        assert_eq!(e.guard_helpers, vec!["assertTestDatabase"]);
        assert!(e.autouse_guard);
        assert!(!e.module_guard);
        let e = run_with(
            Lang::JavaScript,
            "if (process.env.NODE_ENV !== 'test') throw new Error('x');\n",
            &Context::default(),
        )
        .exports;
        assert!(e.module_guard);
        // A guard hook inside a describe is not file-wide.
        let e = run_with(
            Lang::JavaScript,
            "describe('x', () => { beforeAll(() => { assert(process.env.NODE_ENV === 'test'); }); });\n",
            &Context::default(),
        )
        .exports;
        assert!(!e.autouse_guard);

        let test_file = "beforeEach(async () => {\n  await prisma.user.deleteMany();\n});\n";
        flagged(test_file, "Prisma", "no guard");
        for inherited in [
            Exports {
                module_guard: true,
                ..Exports::default()
            },
            Exports {
                autouse_guard: true,
                ..Exports::default()
            },
        ] {
            clean_with(
                test_file,
                &Context {
                    inherited,
                    ..Context::default()
                },
            );
        }
        let ctx = Context {
            inherited: Exports {
                guard_helpers: vec!["assertTestDatabase".into()],
                ..Exports::default()
            },
            ..Context::default()
        };
        clean_with(
            "import { assertTestDatabase } from './setup';\nbeforeEach(async () => {\n  assertTestDatabase();\n  await prisma.user.deleteMany();\n});\n",
            &ctx,
        );
    }

    #[test]
    fn helpers_are_judged_where_they_are_called() {
        let helper = "async function resetDb() {\n  await knex('users').truncate();\n}\n\n";
        clean(&format!(
            "{helper}describe('x', () => {{\n  beforeAll(() => {{\n{GUARD_LINES}  }});\n  beforeEach(resetDb);\n  afterEach(async () => {{\n    await resetDb();\n  }});\n}});\n"
        ));
        flagged(
            &format!("{helper}beforeEach(async () => {{\n  await resetDb();\n}});\n"),
            "knex truncate()",
            "reached unguarded from line 6",
        );
        let u = flagged(helper, "knex truncate()", "no guard");
        assert_eq!(u.op.scope.as_deref(), Some("resetDb"));
        assert!(u.help.contains("first lines of `resetDb`"), "{}", u.help);
    }

    #[test]
    fn global_setup_exports_are_judged_as_functions() {
        let u = flagged(
            "module.exports = async () => {\n  await pool.query('TRUNCATE users');\n};\n",
            "TRUNCATE",
            "no guard",
        );
        assert_eq!(u.op.scope.as_deref(), Some("module.exports"));
        // A file-level guard runs at import, before the exported function is ever called.
        clean(
            "module.exports = async () => {\n  await pool.query('TRUNCATE users');\n};\nif (process.env.NODE_ENV !== 'test') throw new Error('refusing');\n",
        );
        flagged(
            "export default async function () {\n  await prisma.user.deleteMany();\n}\n",
            "Prisma",
            "no guard",
        );
        // Near miss: a regex's exec runs no SQL.
        clean(
            "const SQL = 'DELETE FROM users';\nit('parses', () => {\n  /DELETE FROM (\\w+)/.exec(SQL);\n  tableRe.exec(SQL);\n});\n",
        );
    }

    #[test]
    fn rolled_back_transactions_are_safe() {
        clean(
            "it('wipes', async () => {\n  const trx = await knex.transaction();\n  await trx('users').del();\n  await trx.rollback();\n});\n",
        );
        clean(
            "it('wipes', async () => {\n  await knex.transaction(async (trx) => {\n    await trx('users').del();\n    await trx.rollback();\n  });\n});\n",
        );
        flagged(
            "it('wipes', async () => {\n  const trx = await knex.transaction();\n  await trx('users').del();\n  await trx.commit();\n});\n",
            "knex del()",
            "no guard",
        );
    }

    #[test]
    fn library_forms_are_recognised() {
        let cases: &[(&str, &str, &[&str])] = &[
            (
                "await sequelize.sync({ force: true })",
                "Sequelize sync({ force: true })",
                &[],
            ),
            (
                "await User.sync({ force: true })",
                "Sequelize sync({ force: true })",
                &["User"],
            ),
            (
                "await db.User.destroy({ truncate: true })",
                "Sequelize destroy({ truncate: true })",
                &["User"],
            ),
            (
                "await User.destroy({ where: {} })",
                "Sequelize destroy({ where: {} })",
                &["User"],
            ),
            (
                "await prisma.user.deleteMany()",
                "Prisma deleteMany()",
                &["user"],
            ),
            (
                "await prisma.user.deleteMany({})",
                "Prisma deleteMany()",
                &["user"],
            ),
            (
                "await prisma.user.deleteMany({ where: {} })",
                "Prisma deleteMany()",
                &["user"],
            ),
            (
                "await prisma.$executeRaw`TRUNCATE TABLE orders CASCADE`",
                "TRUNCATE",
                &["orders"],
            ),
            (
                "await prisma.$executeRawUnsafe('DELETE FROM orders WHERE 1=1')",
                "DELETE FROM with an always-true WHERE",
                &["orders"],
            ),
            (
                "await dataSource.synchronize(true)",
                "TypeORM synchronize(true)",
                &[],
            ),
            (
                "await dataSource.dropDatabase()",
                "TypeORM dropDatabase()",
                &[],
            ),
            ("await userRepository.clear()", "TypeORM clear()", &[]),
            (
                "await knex('users').truncate()",
                "knex truncate()",
                &["users"],
            ),
            (
                "await knex('users').del()",
                "knex del() without where",
                &["users"],
            ),
            (
                "await knex.from('users').delete()",
                "knex delete() without where",
                &["users"],
            ),
            (
                "await knex.schema.dropTableIfExists('users')",
                "knex schema.dropTableIfExists()",
                &["users"],
            ),
            ("await knex.raw('TRUNCATE users')", "TRUNCATE", &["users"]),
            (
                "await pool.query('DROP SCHEMA public CASCADE')",
                "DROP SCHEMA",
                &["public"],
            ),
            (
                "await client.query({ text: 'x' }) || await client.query('TRUNCATE a, b')",
                "TRUNCATE",
                &["a", "b"],
            ),
            ("await sql`TRUNCATE users`", "TRUNCATE", &["users"]),
            ("await db.dropDatabase()", "MongoDB dropDatabase()", &[]),
            (
                "await db.collection('users').deleteMany({})",
                "MongoDB deleteMany({})",
                &["users"],
            ),
            (
                "await User.deleteMany({})",
                "MongoDB deleteMany({})",
                &["User"],
            ),
            (
                "await db.collection('users').drop()",
                "MongoDB drop()",
                &["users"],
            ),
            ("await redis.flushall()", "Redis FLUSHALL", &[]),
            ("await client.flushAll()", "Redis FLUSHALL", &[]),
            ("await client.flushDb()", "Redis FLUSHDB", &[]),
            (
                "await client.sendCommand(['FLUSHDB'])",
                "Redis FLUSHDB",
                &[],
            ),
        ];
        for (call, op, tables) in cases {
            let src = format!(
                "const knex = require('knex')(cfg);\nit('x', async () => {{\n  {call};\n}});\n"
            );
            for lang in LANGS {
                let a = run_with(lang, &src, &Context::default());
                assert_eq!(a.unguarded.len(), 1, "{lang:?} {call}: {:#?}", a.unguarded);
                assert_eq!(a.unguarded[0].op.operation, *op, "{lang:?} {call}");
                assert_eq!(a.unguarded[0].op.tables, *tables, "{lang:?} {call}");
            }
        }
    }

    #[test]
    fn narrowing_forms_are_not_flagged() {
        let cases = [
            "await prisma.user.deleteMany({ where: { id } })",
            "await User.destroy({ where: { id: 1 } })",
            "await user.destroy()",
            "await knex('users').where({ id }).del()",
            "await knex('users').whereIn('id', ids).delete()",
            "await pool.query('DELETE FROM users WHERE id = $1', [id])",
            "await pool.query('SELECT 1')",
            "await redis.del('k')",
            "cache.clear()",
            "map.clear()",
            "await db.collection('users').deleteMany({ owner: 1 })",
            "await sequelize.sync()",
            "await sequelize.sync({ alter: true })",
            "await dataSource.synchronize()",
            "await request(app).delete('/users/1')",
            "server.destroy()",
            "_.truncate(text, { length: 10 })",
            "await cacheManager.clear()",
        ];
        for call in cases {
            clean(&format!(
                "const knex = require('knex')(cfg);\nit('x', async () => {{\n  {call};\n}});\n"
            ));
        }
    }

    #[test]
    fn typescript_wrappers_are_seen_through() {
        let src = "const url = process.env.DATABASE_URL!;\nbeforeEach(async (): Promise<void> => {\n  if (!(url as string).includes('localhost')) throw new Error('refusing');\n  await (prisma as PrismaClient).user.deleteMany();\n});\n";
        for lang in [Lang::TypeScript, Lang::Tsx] {
            assert!(
                run_with(lang, src, &Context::default())
                    .unguarded
                    .is_empty(),
                "{lang:?}"
            );
        }
        let unguarded = "beforeEach(async (): Promise<void> => {\n  await (prisma as PrismaClient).user.deleteMany();\n});\n";
        for lang in [Lang::TypeScript, Lang::Tsx] {
            assert_eq!(
                run_with(lang, unguarded, &Context::default())
                    .unguarded
                    .len(),
                1,
                "{lang:?}"
            );
        }
    }

    #[test]
    fn a_syntax_error_hiding_a_destructive_keyword_is_reported() {
        let err = analyze(
            Lang::JavaScript,
            "beforeEach(async () => {\n  await pool.query('TRUNCATE users'\n",
            &Context::default(),
        );
        assert!(err.is_err(), "{err:?}");
        assert!(analyze(Lang::JavaScript, "const x = (;\n", &Context::default()).is_ok());
    }

    #[test]
    fn deep_nesting_does_not_overflow() {
        let deep = format!("const x = {}1{};\n", "(".repeat(5000), ")".repeat(5000));
        assert!(analyze(Lang::JavaScript, &deep, &Context::default()).is_ok());
        let deep_op = format!(
            "const x = {}pool.query('TRUNCATE t'){};\n",
            "[".repeat(3000),
            "]".repeat(3000)
        );
        assert!(analyze(Lang::TypeScript, &deep_op, &Context::default()).is_err());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        #[test]
        fn never_panics_and_spans_are_in_bounds(
            parts in proptest::collection::vec(
                prop_oneof![
                    Just("describe('x', () => {\n"), Just("beforeEach(async () => {\n"), Just("});\n"),
                    Just("await pool.query('TRUNCATE t');\n"), Just("if (process.env.NODE_ENV !== 'test') throw new Error('x');\n"),
                    Just("for (const t of T) {\n"), Just("}\n"), Just("`${t}`"), Just("("), Just(")"), Just("é"),
                    Just("await prisma.user.deleteMany();\n"), Just("function f() {\n"), Just("const T = ['a'];\n"),
                    Just("await knex(t).del();\n"), Just("as const"), Just("!"), Just("beforeAll(f);\n"),
                    Just("it('a', async () => {\n"), Just("test.skip('b', () => {\n"), Just("f();\n"),
                    Just("const res = await get(T);\n"), Just("process.env.NODE_ENV = 'test';\n"),
                ],
                0..30,
            ),
            lang in prop_oneof![Just(Lang::JavaScript), Just(Lang::TypeScript), Just(Lang::Tsx)],
        ) {
            let src: String = parts.concat();
            let whole = Context { keep_whole: true, ..Context::default() };
            let got = analyze(lang, &src, &Context::default());
            prop_assert_eq!(&got, &analyze(lang, &src, &whole), "slicing changed:\n{}", src);
            if let Ok(a) = got {
                for u in a.unguarded {
                    prop_assert!(u.op.span.end <= src.len());
                    prop_assert!(src.is_char_boundary(u.op.span.start));
                    prop_assert!(src.is_char_boundary(u.op.span.end));
                }
            }
        }

        #[test]
        fn never_panics_on_arbitrary_text(src in "\\PC{0,300}") {
            for lang in LANGS {
                let _ = analyze(lang, &src, &Context::default());
            }
        }
    }
}
