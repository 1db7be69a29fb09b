//! Java test code (JUnit 4/5, Spring): destructive setup (JDBC and `JdbcTemplate` SQL,
//! `JdbcTestUtils`, inline `@Sql` statements, Flyway `clean()` with its protection off, Redis and
//! Mongo flushes, Spring Data `deleteAll()`) and the guards that run before it (checks in the same
//! method, guard helpers, `@BeforeAll`/`@BeforeEach`/static initialisers, rolled-back
//! `@Transactional` tests).

use std::cell::{OnceCell, RefCell};
use std::collections::{HashMap, HashSet};
use std::rc::Rc;

use tree_sitter::{Node, Parser};

use super::sql_text::destructive_sql;
use super::{Context, DestructiveOp, Exports, FileAnalysis, UnguardedOp};

/// Stands in for an expression spliced into SQL text, so that `"TRUNCATE " + t` still reads as SQL.
const PLACEHOLDER: &str = "premortem_expr";
/// How far up the tree the analysis climbs from one node; deeper nesting is treated as the top.
const MAX_CLIMB: usize = 400;
/// How deep expression evaluation goes.
const MAX_DEPTH: usize = 24;
/// How many helper-call levels the analysis follows to find a guarded caller.
const MAX_CALLERS: usize = 6;

/// Analyses one Java file for destructive test setup that no guard protects.
pub fn analyze(source: &str, ctx: &Context) -> Result<FileAnalysis, String> {
    let mut parser = Parser::new();
    parser
        .set_language(&tree_sitter_java::LANGUAGE.into())
        .map_err(|e| format!("cannot load the Java grammar: {e}"))?;
    let sliced = if ctx.keep_whole {
        None
    } else {
        super::slice::java::slice(source, may_destroy, &super::slice::keeps(ctx))
    };
    let tree = super::shared::parse_sliced(&mut parser, source, sliced)
        .ok_or_else(|| "the Java parser returned no tree".to_string())?;
    let file = JavaFile::new(source, tree.root_node(), ctx);
    Ok(file.run())
}

/// The prefilter, as the slicer runs it on one test's text.
fn may_destroy(source: &str) -> bool {
    super::sql_text::has_destructive_keyword(source.as_bytes())
}

/// What a condition means when it is true.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pol {
    /// True only against a test target (`url.contains("localhost")`).
    Safe,
    /// True against a production target (`!url.contains("localhost")`).
    Unsafe,
    /// Checks the target, direction unclear.
    Check,
}

impl Pol {
    fn flip(self) -> Pol {
        match self {
            Pol::Safe => Pol::Unsafe,
            Pol::Unsafe => Pol::Safe,
            Pol::Check => Pol::Check,
        }
    }
}

/// The statements of a block that run a guard, in order: (node id, start byte, hit).
type ListGuards = Rc<[(usize, usize, GuardHit)]>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum GuardHit {
    /// The statement itself stops the run when the target is wrong.
    Direct(usize),
    /// A guard sits inside the statement, under a branch or loop that may not run.
    Nested(usize),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Verdict {
    Guarded,
    Open(Option<String>),
}

/// When JUnit runs a method, from its annotations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    StaticInit,
    BeforeAll,
    Constructor,
    /// An `@Sql` script that runs before each test method (before `@BeforeEach`).
    SqlBefore,
    BeforeEach,
    Test,
    AfterEach,
    AfterAll,
    /// Anything else: runs when something calls it.
    Helper,
}

struct JavaFile<'t, 's> {
    src: &'s str,
    root: Node<'t>,
    ctx: &'s Context,
    /// Methods by name (overloads share an entry: the first wins).
    methods: HashMap<String, Node<'t>>,
    /// Variables and fields bound once to a single expression, for SQL held in a variable.
    bindings: HashMap<String, Node<'t>>,
    guard_helpers: HashSet<String>,
    /// Methods returning a check of the target (`boolean isTestDatabase(String url)`).
    predicates: HashMap<String, Pol>,
    guard_cache: RefCell<HashMap<(usize, bool), Option<GuardHit>>>,
    /// Verdicts over all callers of a helper, by helper node id.
    callers_cache: RefCell<HashMap<usize, Verdict>>,
    /// [`JavaFile::list_guards`] by block node id.
    list_guard_cache: RefCell<HashMap<usize, ListGuards>>,
    help: OnceCell<String>,
}

fn text<'s>(n: Node, src: &'s str) -> &'s str {
    src.get(n.byte_range()).unwrap_or("")
}

fn line(n: Node) -> usize {
    n.start_position().row + 1
}

fn named_kids<'t>(n: Node<'t>) -> Vec<Node<'t>> {
    let mut cursor = n.walk();
    n.named_children(&mut cursor).collect()
}

/// Preorder walk without recursion; `visit` returns whether to descend into the node.
fn walk<'t>(root: Node<'t>, mut visit: impl FnMut(Node<'t>) -> bool) {
    let mut cursor = root.walk();
    let mut descend = visit(root);
    loop {
        if descend && cursor.goto_first_child() {
            descend = visit(cursor.node());
            continue;
        }
        loop {
            if cursor.node().id() == root.id() {
                return;
            }
            if cursor.goto_next_sibling() {
                descend = visit(cursor.node());
                break;
            }
            if !cursor.goto_parent() {
                return;
            }
        }
    }
}

fn field<'t>(n: Node<'t>, name: &'static str) -> Option<Node<'t>> {
    super::shared::field(n, name)
}

fn same(a: Option<Node>, b: Node) -> bool {
    a.is_some_and(|a| a.id() == b.id())
}

/// Words that mark a test, staging or local target, and words that mark production.
fn marker_pol(literal: &str) -> Option<Pol> {
    let lower = literal.to_ascii_lowercase();
    let mut safe = lower.contains("127.0.0.1") || lower.contains("::1");
    let mut unsafe_ = false;
    for tok in lower.split(|c: char| !c.is_ascii_alphanumeric()) {
        if tok.is_empty() {
            continue;
        }
        if ["test", "staging", "localhost", "sandbox"]
            .iter()
            .any(|m| tok.starts_with(m))
            || [
                "ci",
                "qa",
                "dev",
                "development",
                "local",
                "stage",
                "stg",
                "mem",
                "memory",
                "h2",
                "hsqldb",
                "sqlite",
                "tc",
            ]
            .contains(&tok)
        {
            safe = true;
        }
        if ["prod", "production", "prd", "live"].contains(&tok) {
            unsafe_ = true;
        }
    }
    match (safe, unsafe_) {
        (true, false) => Some(Pol::Safe),
        (false, true) => Some(Pol::Unsafe),
        _ => None,
    }
}

/// A name that reads the database target or the environment.
fn target_word(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    [
        "host",
        "db",
        "database",
        "dsn",
        "url",
        "uri",
        "name",
        "env",
        "profile",
        "conn",
        "datasource",
        "server",
        "catalog",
        "jdbc",
        "target",
    ]
    .iter()
    .any(|w| lower.contains(w))
}

/// An environment variable or property name such as `APP_ENV` or `spring.datasource.url`.
fn setting_name(s: &str) -> bool {
    let env = !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_');
    let property = s.contains('.') && !s.contains(' ') && !s.contains(':');
    (env || property) && target_word(s)
}

/// Replaces `String.format` verbs with the placeholder.
fn fill_format(format: &str) -> String {
    let mut out = String::new();
    let mut chars = format.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        if chars.peek() == Some(&'%') {
            chars.next();
            out.push('%');
            continue;
        }
        while chars
            .peek()
            .is_some_and(|c| !c.is_ascii_alphabetic() && !c.is_whitespace())
        {
            chars.next();
        }
        chars.next();
        out.push_str(PLACEHOLDER);
    }
    out
}

const EXEC_NAMES: &[&str] = &[
    "execute",
    "executeUpdate",
    "executeLargeUpdate",
    "executeQuery",
    "addBatch",
    "update",
    "batchUpdate",
    "prepareStatement",
    "prepareCall",
    "createNativeQuery",
    "createQuery",
    "createSQLQuery",
    "sql",
];

/// Assertion methods that stop the test when their condition is false.
const ASSERT_TRUE: &[&str] = &[
    "assertTrue",
    "assumeTrue",
    "isTrue",
    "state",
    "checkState",
    "checkArgument",
];
/// Assertion methods that stop the test when their condition is true.
const ASSERT_FALSE: &[&str] = &["assertFalse", "assumeFalse"];
/// AssertJ methods asserting that the subject matches a marker.
const ASSERTJ_MATCH: &[&str] = &[
    "contains",
    "startsWith",
    "endsWith",
    "matches",
    "containsPattern",
    "isEqualTo",
    "isEqualToIgnoringCase",
    "containsIgnoringCase",
    "isIn",
    "containsAnyOf",
];
/// AssertJ methods asserting that the subject does not match a marker.
const ASSERTJ_MISMATCH: &[&str] = &[
    "doesNotContain",
    "doesNotStartWith",
    "doesNotEndWith",
    "doesNotMatch",
    "isNotEqualTo",
    "isNotIn",
];

fn is_statement(kind: &str) -> bool {
    kind.ends_with("_statement") || kind == "local_variable_declaration"
}

impl<'t, 's> JavaFile<'t, 's> {
    fn new(src: &'s str, root: Node<'t>, ctx: &'s Context) -> Self {
        let mut file = JavaFile {
            src,
            root,
            ctx,
            methods: HashMap::new(),
            bindings: HashMap::new(),
            guard_helpers: HashSet::new(),
            predicates: HashMap::new(),
            guard_cache: RefCell::new(HashMap::new()),
            callers_cache: RefCell::new(HashMap::new()),
            list_guard_cache: RefCell::new(HashMap::new()),
            help: OnceCell::new(),
        };
        file.index();
        file
    }

    fn t(&self, n: Node) -> &'s str {
        text(n, self.src)
    }

    fn index(&mut self) {
        let mut methods = HashMap::new();
        let mut bindings = HashMap::new();
        let src = self.src;
        walk(self.root, |n| {
            match n.kind() {
                "method_declaration" => {
                    if let Some(name) = field(n, "name") {
                        methods.entry(text(name, src).to_string()).or_insert(n);
                    }
                }
                "variable_declarator" => {
                    if let (Some(name), Some(value)) = (field(n, "name"), field(n, "value")) {
                        bindings.entry(text(name, src).to_string()).or_insert(value);
                    }
                }
                _ => {}
            }
            true
        });
        self.methods = methods;
        self.bindings = bindings;
        self.classify_helpers();
    }

    /// Finds guard helpers and predicates; repeats so a helper that calls a helper counts.
    fn classify_helpers(&mut self) {
        let methods: Vec<(String, Node<'t>)> =
            self.methods.iter().map(|(k, v)| (k.clone(), *v)).collect();
        for _ in 0..3 {
            let mut changed = false;
            for (name, m) in &methods {
                let Some(body) = field(*m, "body") else {
                    continue;
                };
                let stmts = named_kids(body);
                // Lifecycle methods and tests are not called as helpers; hooks are exported as
                // guard fixtures instead.
                if self.role(*m) == Role::Helper
                    && !self.guard_helpers.contains(name)
                    && stmts.iter().any(|s| self.direct_guard(*s, false).is_some())
                {
                    self.guard_helpers.insert(name.clone());
                    self.guard_cache.borrow_mut().clear();
                    changed = true;
                }
                let returns_bool = field(*m, "type").is_some_and(|t| self.t(t) == "boolean");
                if returns_bool && !self.predicates.contains_key(name) {
                    let pol = stmts.iter().find_map(|s| {
                        (s.kind() == "return_statement")
                            .then(|| s.named_child(0))
                            .flatten()
                            .and_then(|e| self.cond_pol(e, 0))
                    });
                    if let Some(pol) = pol {
                        self.predicates.insert(name.clone(), pol);
                        self.guard_cache.borrow_mut().clear();
                        changed = true;
                    }
                }
            }
            if !changed {
                break;
            }
        }
    }

    fn name_of(&self, call: Node<'t>) -> &'s str {
        field(call, "name").map(|n| self.t(n)).unwrap_or("")
    }

    fn args(&self, call: Node<'t>) -> Vec<Node<'t>> {
        field(call, "arguments").map(named_kids).unwrap_or_default()
    }

    fn is_guard_name(&self, name: &str) -> bool {
        let listed = |names: &[String]| {
            names
                .iter()
                .any(|g| g.rsplit(['.', ':', '#']).next() == Some(name))
        };
        self.guard_helpers.contains(name)
            || listed(&self.ctx.extra_guards)
            || listed(&self.ctx.inherited.guard_helpers)
            || listed(&self.ctx.inherited.guard_fixtures)
    }

    fn string_content(&self, n: Node<'t>) -> Option<&'s str> {
        if n.kind() != "string_literal" {
            return None;
        }
        let t = self.t(n);
        // The delimiters are ASCII quotes, so these cuts are on char boundaries.
        let inner = t
            .strip_prefix("\"\"\"")
            .and_then(|x| x.strip_suffix("\"\"\""))
            .or_else(|| t.strip_prefix('"').and_then(|x| x.strip_suffix('"')))?;
        Some(inner)
    }

    // ---- annotations and roles ----------------------------------------------------------------

    /// Annotations on a declaration: (simple name, node).
    fn annotations(&self, decl: Node<'t>) -> Vec<(&'s str, Node<'t>)> {
        let Some(mods) = named_kids(decl)
            .into_iter()
            .find(|c| c.kind() == "modifiers")
        else {
            return Vec::new();
        };
        named_kids(mods)
            .into_iter()
            .filter(|a| matches!(a.kind(), "marker_annotation" | "annotation"))
            .filter_map(|a| {
                let name = self.t(field(a, "name")?);
                Some((name.rsplit('.').next().unwrap_or(name), a))
            })
            .collect()
    }

    fn has_annotation(&self, decl: Node<'t>, names: &[&str]) -> Option<Node<'t>> {
        self.annotations(decl)
            .into_iter()
            .find(|(n, _)| names.contains(n))
            .map(|(_, a)| a)
    }

    fn role(&self, decl: Node<'t>) -> Role {
        match decl.kind() {
            "static_initializer" => return Role::StaticInit,
            "constructor_declaration" => return Role::Constructor,
            _ => {}
        }
        for (name, _) in self.annotations(decl) {
            match name {
                "BeforeAll" | "BeforeClass" => return Role::BeforeAll,
                "BeforeEach" | "Before" => return Role::BeforeEach,
                "Test" | "ParameterizedTest" | "RepeatedTest" | "TestFactory" | "TestTemplate" => {
                    return Role::Test;
                }
                "AfterEach" | "After" => return Role::AfterEach,
                "AfterAll" | "AfterClass" => return Role::AfterAll,
                _ => {}
            }
        }
        Role::Helper
    }

    /// Enclosing classes of a node, innermost first.
    fn classes(&self, n: Node<'t>) -> Vec<Node<'t>> {
        let mut out = Vec::new();
        let mut cur = n;
        for _ in 0..MAX_CLIMB {
            let Some(p) = cur.parent() else { break };
            if matches!(
                p.kind(),
                "class_declaration" | "enum_declaration" | "record_declaration"
            ) {
                out.push(p);
            }
            cur = p;
        }
        out
    }

    /// The method, constructor or initialiser a node sits in.
    fn enclosing_decl(&self, n: Node<'t>) -> Option<Node<'t>> {
        let mut cur = n;
        for _ in 0..MAX_CLIMB {
            cur = cur.parent()?;
            match cur.kind() {
                "method_declaration" | "constructor_declaration" | "static_initializer" => {
                    return Some(cur);
                }
                "class_body" => return None,
                _ => {}
            }
        }
        None
    }

    fn decl_body(&self, decl: Node<'t>) -> Option<Node<'t>> {
        field(decl, "body").or_else(|| {
            named_kids(decl)
                .into_iter()
                .find(|c| matches!(c.kind(), "block" | "constructor_body"))
        })
    }

    // ---- guards --------------------------------------------------------------------------

    fn stop_stmt(&self, s: Node<'t>, local_ok: bool) -> bool {
        match s.kind() {
            // Only the block's own statements: a nested block is another branch of code.
            "block" => named_kids(s)
                .into_iter()
                .any(|c| c.kind() != "block" && self.stop_stmt(c, local_ok)),
            "throw_statement" => true,
            "return_statement" => local_ok,
            "expression_statement" => s.named_child(0).is_some_and(|c| {
                c.kind() == "method_invocation"
                    && matches!(self.name_of(c), "fail" | "exit" | "abort" | "halt")
            }),
            _ => false,
        }
    }

    /// The guard a statement is or holds. `local_ok`: a `return` counts as a stop (the
    /// statement sits in the function it guards), rather than only stops that end the test.
    fn stmt_guard(&self, s: Node<'t>, local_ok: bool) -> Option<GuardHit> {
        if let Some(hit) = self.guard_cache.borrow().get(&(s.id(), local_ok)) {
            return *hit;
        }
        let hit = self
            .direct_guard(s, local_ok)
            .map(GuardHit::Direct)
            .or_else(|| {
                let mut found = None;
                walk(s, |n| {
                    if found.is_some() {
                        return false;
                    }
                    if n.id() != s.id() && is_statement(n.kind()) {
                        found = self.direct_guard(n, local_ok);
                    }
                    found.is_none()
                });
                found.map(GuardHit::Nested)
            });
        self.guard_cache
            .borrow_mut()
            .insert((s.id(), local_ok), hit);
        hit
    }

    /// The statement stops the run when the target is not a test one: returns its line.
    fn direct_guard(&self, s: Node<'t>, local_ok: bool) -> Option<usize> {
        match s.kind() {
            "if_statement" => {
                let pol = field(s, "condition").and_then(|c| self.cond_pol(c, 0));
                let fires_then = matches!(pol, Some(Pol::Unsafe | Pol::Check))
                    && field(s, "consequence").is_some_and(|c| self.stop_stmt(c, local_ok));
                let fires_else = matches!(pol, Some(Pol::Safe | Pol::Check))
                    && field(s, "alternative").is_some_and(|c| self.stop_stmt(c, local_ok));
                (fires_then || fires_else).then(|| line(s))
            }
            "assert_statement" => s
                .named_child(0)
                .and_then(|c| self.cond_pol(c, 0))
                .filter(|p| *p != Pol::Unsafe)
                .map(|_| line(s)),
            "expression_statement" => {
                let call = s
                    .named_child(0)
                    .filter(|c| c.kind() == "method_invocation")?;
                let name = self.name_of(call);
                (self.is_guard_name(name) || self.assertion_guards(call, name)).then(|| line(s))
            }
            _ => None,
        }
    }

    /// JUnit, AssertJ, Hamcrest, Spring `Assert` and Guava checks that stop on a wrong target.
    fn assertion_guards(&self, call: Node<'t>, name: &str) -> bool {
        let args = self.args(call);
        let any_pol = |want: &[Pol]| {
            args.iter()
                .filter_map(|a| self.cond_pol(*a, 0))
                .any(|p| want.contains(&p))
        };
        if ASSERT_TRUE.contains(&name) {
            return any_pol(&[Pol::Safe, Pol::Check]);
        }
        if ASSERT_FALSE.contains(&name) {
            return any_pol(&[Pol::Unsafe, Pol::Check]);
        }
        match name {
            "assertEquals" => return self.compare_pol(&args) == Some(Pol::Safe),
            "assertNotEquals" => return self.compare_pol(&args) == Some(Pol::Unsafe),
            "assertThat" | "assumeThat" if args.len() >= 2 => {
                // Hamcrest: assertThat(url, containsString("localhost")).
                let matcher = args[args.len() - 1];
                let subject = args[args.len() - 2];
                let negated = self.t(matcher).starts_with("not(");
                let marker = self.marker_in(matcher);
                let pol = marker.filter(|_| self.reads_target(subject));
                return match (pol, negated) {
                    (Some(p), false) => p == Pol::Safe,
                    (Some(p), true) => p == Pol::Unsafe,
                    (None, _) => false,
                };
            }
            _ => {}
        }
        // AssertJ: assertThat(url).contains("localhost"), possibly after more chained calls.
        let Some(subject) = self.assertj_subject(call) else {
            return false;
        };
        if matches!(name, "isTrue" | "isFalse") {
            let p = self.cond_pol(subject, 0);
            return if name == "isTrue" {
                matches!(p, Some(Pol::Safe | Pol::Check))
            } else {
                matches!(p, Some(Pol::Unsafe | Pol::Check))
            };
        }
        if !self.reads_target(subject) {
            return false;
        }
        let marker = args.iter().find_map(|a| self.marker_in(*a));
        if ASSERTJ_MATCH.contains(&name) {
            marker == Some(Pol::Safe)
        } else if ASSERTJ_MISMATCH.contains(&name) {
            marker == Some(Pol::Unsafe)
        } else {
            false
        }
    }

    /// The argument of the `assertThat(x)` / `assumeThat(x)` at the start of an AssertJ chain.
    fn assertj_subject(&self, call: Node<'t>) -> Option<Node<'t>> {
        let mut cur = field(call, "object");
        for _ in 0..MAX_DEPTH {
            let c = cur.filter(|c| c.kind() == "method_invocation")?;
            if matches!(self.name_of(c), "assertThat" | "assumeThat") {
                let args = self.args(c);
                return (args.len() == 1).then(|| args[0]);
            }
            cur = field(c, "object");
        }
        None
    }

    /// The polarity of the marker literals inside an expression that does not itself read the
    /// target (`"localhost"`, `Set.of("localhost", "127.0.0.1")`, `containsString("test")`).
    fn marker_in(&self, n: Node<'t>) -> Option<Pol> {
        if self.reads_target(n) {
            return None;
        }
        let mut pols = Vec::new();
        walk(n, |c| {
            if let Some(s) = self.string_content(c) {
                pols.push(marker_pol(s));
                return false;
            }
            true
        });
        let first = *pols.first()?;
        pols.iter().all(|p| *p == first).then_some(first).flatten()
    }

    /// One side reads the target and another holds markers: the markers' polarity.
    fn compare_pol(&self, sides: &[Node<'t>]) -> Option<Pol> {
        let marker = sides.iter().find_map(|s| self.marker_in(*s))?;
        sides
            .iter()
            .any(|s| self.reads_target(*s))
            .then_some(marker)
    }

    fn reads_target(&self, n: Node<'t>) -> bool {
        let mut found = false;
        walk(n, |c| {
            match c.kind() {
                "identifier" | "field_identifier" => found |= target_word(self.t(c)),
                "string_literal" => {
                    found |= self.string_content(c).is_some_and(setting_name);
                    return false;
                }
                _ => {}
            }
            !found
        });
        found
    }

    /// What the condition means when true, when it checks the target at all.
    fn cond_pol(&self, n: Node<'t>, depth: usize) -> Option<Pol> {
        if depth > MAX_DEPTH {
            return None;
        }
        let d = depth + 1;
        match n.kind() {
            "parenthesized_expression" => n.named_child(0).and_then(|c| self.cond_pol(c, d)),
            "unary_expression" => {
                let op = field(n, "operator").map(|o| self.t(o));
                let inner = field(n, "operand").and_then(|c| self.cond_pol(c, d));
                if op == Some("!") {
                    inner.map(Pol::flip)
                } else {
                    None
                }
            }
            "binary_expression" => {
                let op = field(n, "operator").map(|o| self.t(o)).unwrap_or("");
                let (l, r) = (field(n, "left")?, field(n, "right")?);
                match op {
                    "&&" | "||" => match (self.cond_pol(l, d), self.cond_pol(r, d)) {
                        (Some(a), Some(b)) if a == b => Some(a),
                        (Some(_), Some(_)) => Some(Pol::Check),
                        (a, b) => a.or(b),
                    },
                    "==" => self.compare_pol(&[l, r]),
                    "!=" => self.compare_pol(&[l, r]).map(Pol::flip),
                    _ => None,
                }
            }
            "method_invocation" => {
                let name = self.name_of(n);
                if let Some(p) = self.predicates.get(name) {
                    return Some(*p);
                }
                let mut sides = self.args(n);
                if let Some(obj) = field(n, "object") {
                    sides.push(obj);
                }
                if let Some(p) = self.compare_pol(&sides) {
                    let negated = name.starts_with("not") || name.starts_with("doesNot");
                    return Some(if negated { p.flip() } else { p });
                }
                let allowlist = name == "contains"
                    && field(n, "object").is_some_and(|o| {
                        let t = self.t(o).to_ascii_lowercase();
                        ["allow", "safe", "permit", "known", "whitelist"]
                            .iter()
                            .any(|w| t.contains(w))
                    })
                    && self.args(n).iter().any(|a| self.reads_target(*a));
                allowlist.then_some(Pol::Safe)
            }
            "identifier" => {
                let bound = *self.bindings.get(self.t(n))?;
                self.cond_pol(bound, d)
            }
            _ => None,
        }
    }

    // ---- destructive operations ---------------------------------------------------------------

    /// The SQL text an expression evaluates to, with unknown parts as the placeholder.
    fn sql_text(&self, n: Node<'t>, depth: usize) -> Option<String> {
        if depth > MAX_DEPTH {
            return None;
        }
        let d = depth + 1;
        match n.kind() {
            "string_literal" => self.string_content(n).map(str::to_string),
            "parenthesized_expression" => n.named_child(0).and_then(|c| self.sql_text(c, d)),
            "binary_expression" if field(n, "operator").is_some_and(|o| self.t(o) == "+") => {
                let l = field(n, "left").and_then(|c| self.sql_text(c, d));
                let r = field(n, "right").and_then(|c| self.sql_text(c, d));
                if l.is_none() && r.is_none() {
                    return None;
                }
                Some(format!(
                    "{}{}",
                    l.as_deref().unwrap_or(PLACEHOLDER),
                    r.as_deref().unwrap_or(PLACEHOLDER)
                ))
            }
            "method_invocation" => match self.name_of(n) {
                "format" => {
                    let format = self.args(n).into_iter().next()?;
                    self.sql_text(format, d).map(|f| fill_format(&f))
                }
                "formatted" => {
                    let format = field(n, "object")?;
                    self.sql_text(format, d).map(|f| fill_format(&f))
                }
                _ => None,
            },
            "identifier" => {
                let bound = *self.bindings.get(self.t(n))?;
                self.sql_text(bound, d)
            }
            "field_access" => {
                let name = field(n, "field")?;
                let bound = *self.bindings.get(self.t(name))?;
                self.sql_text(bound, d)
            }
            _ => None,
        }
    }

    /// Runs `sql` through the recogniser, dropping placeholder table names.
    fn judge_sql(&self, sql: &str) -> Option<(String, Vec<String>)> {
        let d = destructive_sql(sql)?;
        let tables = d.tables.into_iter().filter(|t| t != PLACEHOLDER).collect();
        Some((d.operation, tables))
    }

    /// The destructive operation a call performs, if any: (operation, tables).
    fn destructive_call(
        &self,
        call: Node<'t>,
        flyway_unlocked: bool,
    ) -> Option<(String, Vec<String>)> {
        let name = self.name_of(call);
        let args = self.args(call);
        let object = field(call, "object").map(|o| self.t(o)).unwrap_or("");
        if EXEC_NAMES.contains(&name) {
            return args.iter().find_map(|a| {
                let (op, mut tables) = self.sql_text(*a, 0).and_then(|s| self.judge_sql(&s))?;
                if tables.is_empty() {
                    tables = self.loop_tables(call, *a);
                }
                Some((op, tables))
            });
        }
        let strings = |from: usize| -> Vec<String> {
            args.iter()
                .skip(from)
                .filter_map(|a| self.sql_text(*a, 0))
                .collect()
        };
        match name {
            "deleteFromTables" | "dropTables" => {
                let tables = strings(1);
                let verb = if name == "dropTables" {
                    "DROP TABLE"
                } else {
                    "DELETE FROM"
                };
                let first = tables.first().map(String::as_str).unwrap_or(PLACEHOLDER);
                let (op, _) = self.judge_sql(&format!("{verb} {first}"))?;
                Some((op, tables))
            }
            "deleteFromTableWhere" => {
                let parts = strings(1);
                let (table, cond) = (parts.first()?, parts.get(1)?);
                self.judge_sql(&format!("DELETE FROM {table} WHERE {cond}"))
            }
            "clean" if args.is_empty() && flyway_unlocked => {
                let lower = object.to_ascii_lowercase();
                lower
                    .contains("flyway")
                    .then(|| ("Flyway clean".to_string(), vec![]))
            }
            _ if name.eq_ignore_ascii_case("flushall") => Some(("Redis FLUSHALL".into(), vec![])),
            _ if name.eq_ignore_ascii_case("flushdb") => Some(("Redis FLUSHDB".into(), vec![])),
            "dropCollection" => {
                let target = args.first().map(|a| {
                    let t = self.t(*a);
                    self.string_content(*a)
                        .unwrap_or_else(|| t.strip_suffix(".class").unwrap_or(t))
                        .to_string()
                });
                Some((
                    "MongoDB dropCollection".into(),
                    target.into_iter().collect(),
                ))
            }
            "dropDatabase" => Some(("MongoDB dropDatabase".into(), vec![])),
            "drop" if args.is_empty() => {
                let obj = field(call, "object")?;
                let kind = if obj.kind() == "method_invocation" {
                    match self.name_of(obj) {
                        "getDatabase" | "getDb" => "database",
                        "getCollection" => "collection",
                        _ => return None,
                    }
                } else {
                    let lower = object.to_ascii_lowercase();
                    if lower.contains("collection") {
                        "collection"
                    } else if lower.contains("database") || lower.ends_with("db") {
                        "database"
                    } else {
                        return None;
                    }
                };
                let names = if obj.kind() == "method_invocation" {
                    self.args(obj)
                        .iter()
                        .filter_map(|a| self.string_content(*a).map(str::to_string))
                        .collect()
                } else {
                    vec![]
                };
                Some((format!("MongoDB drop {kind}"), names))
            }
            "deleteMany" => {
                let filter = self.t(*args.first()?);
                let empty = matches!(
                    filter,
                    "new Document()" | "new BasicDBObject()" | "Filters.empty()" | "empty()"
                );
                empty.then(|| ("MongoDB deleteMany({})".into(), vec![]))
            }
            "deleteAll" | "deleteAllInBatch" if args.is_empty() => {
                let lower = object.to_ascii_lowercase();
                (lower.ends_with("repository") || lower.ends_with("repo"))
                    .then(|| ("Spring Data deleteAll".into(), vec![]))
            }
            _ => None,
        }
    }

    /// `for (String t : TABLES) jdbc.execute("TRUNCATE " + t)` over a literal list: its names.
    fn loop_tables(&self, call: Node<'t>, arg: Node<'t>) -> Vec<String> {
        let mut names = HashSet::new();
        walk(arg, |n| {
            if n.kind() == "identifier" {
                names.insert(self.t(n));
            }
            true
        });
        let mut cur = call;
        for _ in 0..MAX_CLIMB {
            let Some(p) = cur.parent() else { break };
            match p.kind() {
                "enhanced_for_statement" => {
                    if field(p, "name").is_some_and(|v| names.contains(self.t(v)))
                        && let Some(list) = field(p, "value")
                    {
                        return self.string_list(list, 0);
                    }
                }
                "method_declaration" | "constructor_declaration" | "class_body" => break,
                _ => {}
            }
            cur = p;
        }
        Vec::new()
    }

    /// The strings of a literal list (`{"a", "b"}`, `List.of("a", "b")`), through one binding.
    fn string_list(&self, n: Node<'t>, depth: usize) -> Vec<String> {
        let bound = match n.kind() {
            "identifier" => self.bindings.get(self.t(n)),
            "field_access" => field(n, "field").and_then(|f| self.bindings.get(self.t(f))),
            _ => None,
        };
        if let Some(b) = bound {
            return if depth < 2 {
                self.string_list(*b, depth + 1)
            } else {
                Vec::new()
            };
        }
        let literal_list = match n.kind() {
            "array_initializer" | "array_creation_expression" => true,
            "method_invocation" => matches!(self.name_of(n), "of" | "asList"),
            _ => false,
        };
        if !literal_list {
            return Vec::new();
        }
        let mut out = Vec::new();
        walk(n, |c| {
            if let Some(s) = self.string_content(c) {
                out.push(s.to_string());
                return false;
            }
            true
        });
        out
    }

    /// `@Sql(statements = "TRUNCATE ...")`: inline destructive SQL. Script files are judged
    /// as SQL files, not here.
    fn destructive_sql_annotation(&self, a: Node<'t>) -> Option<(String, Vec<String>)> {
        if a.kind() != "annotation" {
            return None;
        }
        let name = field(a, "name").map(|n| self.t(n)).unwrap_or("");
        if name.rsplit('.').next() != Some("Sql") {
            return None;
        }
        let pairs = field(a, "arguments").map(named_kids).unwrap_or_default();
        let statements = pairs.into_iter().find(|p| {
            p.kind() == "element_value_pair"
                && field(*p, "key").is_some_and(|k| self.t(k) == "statements")
        })?;
        let value = field(statements, "value")?;
        let values = if value.kind() == "element_value_array_initializer" {
            named_kids(value)
        } else {
            vec![value]
        };
        values
            .into_iter()
            .find_map(|v| self.sql_text(v, 0).and_then(|s| self.judge_sql(&s)))
    }

    fn sql_runs_after(&self, a: Node<'t>) -> bool {
        self.t(a).contains("AFTER_TEST_METHOD")
    }

    // ---- verdicts ---------------------------------------------------------------------------

    /// Is `pos` guarded: by statements before it in its method, by an enclosing check, by a
    /// transaction that rolls back, by class-level setup, or at every place it is called from?
    fn verdict(&self, pos: Node<'t>, depth: usize) -> Verdict {
        let mut skippable = None;
        let mut after = None;
        let mut child = pos;
        for _ in 0..MAX_CLIMB {
            let Some(parent) = child.parent() else { break };
            match parent.kind() {
                "block" | "constructor_body" => {
                    for &(id, start, hit) in self.list_guards(parent).iter() {
                        if id == child.id() {
                            continue;
                        }
                        let before = start < child.start_byte();
                        match (Some(hit), before) {
                            (Some(GuardHit::Direct(_)), true) => return Verdict::Guarded,
                            (Some(GuardHit::Nested(l)), true) => {
                                skippable.get_or_insert(l);
                            }
                            (Some(GuardHit::Direct(l) | GuardHit::Nested(l)), false) => {
                                after.get_or_insert(l);
                            }
                            (None, _) => {}
                        }
                    }
                }
                "if_statement" => {
                    let pol = field(parent, "condition").and_then(|c| self.cond_pol(c, 0));
                    if same(field(parent, "consequence"), child) && pol == Some(Pol::Safe)
                        || same(field(parent, "alternative"), child) && pol == Some(Pol::Unsafe)
                    {
                        return Verdict::Guarded;
                    }
                }
                "method_declaration"
                | "constructor_declaration"
                | "static_initializer"
                | "class_body" => break,
                _ => {}
            }
            child = parent;
        }
        let own = skippable
            .map(|l| format!("the guard on line {l} sits in a branch that can be skipped"))
            .or_else(|| after.map(|l| format!("the guard on line {l} runs after it")));
        if self.ctx.inherited.module_guard || self.ctx.inherited.autouse_guard {
            return Verdict::Guarded;
        }
        let decl = self.enclosing_decl(pos);
        let role = match decl {
            Some(d) => self.role(d),
            None => return Verdict::Open(own),
        };
        self.decl_verdict(pos, decl, role, own, depth)
    }

    /// The part of the verdict that depends on when JUnit runs the declaration holding `pos`.
    fn decl_verdict(
        &self,
        pos: Node<'t>,
        decl: Option<Node<'t>>,
        role: Role,
        own: Option<String>,
        depth: usize,
    ) -> Verdict {
        let classes = self.classes(pos);
        match self.rolls_back(decl, &classes, role) {
            Ok(true) => return Verdict::Guarded,
            Ok(false) => {}
            Err(h) => return Verdict::Open(own.or(Some(h))),
        }
        // A helper runs when its callers do; one nobody in this file calls (a base-class
        // utility) runs inside some test, so it is judged like one.
        if role == Role::Helper
            && let Some(decl) = decl
        {
            let name = field(decl, "name").map(|n| self.t(n)).unwrap_or("");
            let uses = self.uses_of(name, decl);
            if !uses.is_empty() {
                if depth >= MAX_CALLERS {
                    return Verdict::Open(own);
                }
                return match self.callers_verdict(decl, uses, depth) {
                    Verdict::Guarded => Verdict::Guarded,
                    Verdict::Open(h) => Verdict::Open(own.or(h)),
                };
            }
        }
        let role = if role == Role::Helper {
            Role::Test
        } else {
            role
        };
        let mut hint = own;
        for (level, class) in classes.iter().enumerate() {
            match self.class_guard(*class, decl, role, level > 0) {
                Verdict::Guarded => return Verdict::Guarded,
                Verdict::Open(h) => hint = hint.or(h),
            }
        }
        Verdict::Open(hint)
    }

    /// Guarded when every use of a helper is; cached per helper, and a helper reached again
    /// while its own callers are being judged counts as unguarded (recursion).
    fn callers_verdict(&self, helper: Node<'t>, uses: Vec<Node<'t>>, depth: usize) -> Verdict {
        if let Some(v) = self.callers_cache.borrow().get(&helper.id()) {
            return v.clone();
        }
        self.callers_cache
            .borrow_mut()
            .insert(helper.id(), Verdict::Open(None));
        let mut verdict = Verdict::Guarded;
        for u in uses {
            if let Verdict::Open(h) = self.verdict(u, depth + 1) {
                verdict = Verdict::Open(h);
                break;
            }
        }
        self.callers_cache
            .borrow_mut()
            .insert(helper.id(), verdict.clone());
        verdict
    }

    /// Spring rolls back a `@Transactional` test (with its `@BeforeEach`/`@AfterEach`) unless
    /// `@Commit` or `@Rollback(false)` says otherwise.
    fn rolls_back(
        &self,
        decl: Option<Node<'t>>,
        classes: &[Node<'t>],
        role: Role,
    ) -> Result<bool, String> {
        if !matches!(
            role,
            Role::Test | Role::BeforeEach | Role::AfterEach | Role::SqlBefore
        ) {
            return Ok(false);
        }
        const TX: &[&str] = &[
            "Transactional",
            "DataJpaTest",
            "JdbcTest",
            "DataJdbcTest",
            "JooqTest",
        ];
        let holders: Vec<Node<'t>> = decl.into_iter().chain(classes.iter().copied()).collect();
        let transactional = holders
            .iter()
            .any(|h| self.has_annotation(*h, TX).is_some());
        if !transactional {
            return Ok(false);
        }
        for h in &holders {
            if let Some(a) = self.has_annotation(*h, &["Commit"]) {
                return Err(format!("`@Commit` on line {} keeps its changes", line(a)));
            }
            if let Some(a) = self.has_annotation(*h, &["Rollback"])
                && self.t(a).contains("false")
            {
                return Err(format!(
                    "`@Rollback(false)` on line {} keeps its changes",
                    line(a)
                ));
            }
        }
        Ok(true)
    }

    /// Guards a class's static initialiser, constructor and `@BeforeAll`/`@BeforeEach` methods
    /// give a declaration with `role` in that class (`nested`: in a class nested inside it).
    fn class_guard(
        &self,
        class: Node<'t>,
        decl: Option<Node<'t>>,
        role: Role,
        nested: bool,
    ) -> Verdict {
        let Some(body) = field(class, "body") else {
            return Verdict::Open(None);
        };
        let mut hint = None;
        for member in named_kids(body) {
            if decl.is_some_and(|d| d.id() == member.id()) {
                continue;
            }
            let guard_role = match member.kind() {
                "method_declaration" | "constructor_declaration" | "static_initializer" => {
                    self.role(member)
                }
                _ => continue,
            };
            if !matches!(
                guard_role,
                Role::StaticInit | Role::BeforeAll | Role::Constructor | Role::BeforeEach
            ) {
                continue;
            }
            let Some(guard) = self.body_guard(member) else {
                continue;
            };
            let (l, direct) = match guard {
                GuardHit::Direct(l) => (l, true),
                GuardHit::Nested(l) => (l, false),
            };
            let covers = self.covers(guard_role, role, nested);
            match covers {
                Ok(()) if direct => return Verdict::Guarded,
                Ok(()) => {
                    hint.get_or_insert(format!(
                        "the guard on line {l} sits in a branch that can be skipped"
                    ));
                }
                Err(why) => {
                    hint.get_or_insert(why.replace("{l}", &l.to_string()));
                }
            }
        }
        Verdict::Open(hint)
    }

    /// Does a guard in a `guard`-role member run before, and stop, a `role` member?
    fn covers(&self, guard: Role, role: Role, nested: bool) -> Result<(), &'static str> {
        use Role::*;
        if nested {
            // An outer class's class-level setup runs before everything in a nested class, and a
            // failure there skips the nested class entirely; its per-test setup runs before the
            // nested tests and their `@BeforeEach`, but Spring's `@Sql` runs even earlier.
            return match (guard, role) {
                (StaticInit | BeforeAll, _) => Ok(()),
                (Constructor, SqlBefore | BeforeEach | Test | AfterEach) => Ok(()),
                (BeforeEach, BeforeEach | Test) => Ok(()),
                (BeforeEach, AfterEach) => Err(
                    "the guard on line {l} is in @BeforeEach, and JUnit still runs @AfterEach when it fails",
                ),
                _ => Err("the guard on line {l} runs after it"),
            };
        }
        match (guard, role) {
            (StaticInit, _) => Ok(()),
            (BeforeAll, BeforeAll) => Err(
                "the guard on line {l} is in another @BeforeAll method, which JUnit may run after it",
            ),
            (BeforeAll, AfterAll) => Err(
                "the guard on line {l} is in @BeforeAll, and JUnit still runs @AfterAll when it fails",
            ),
            (BeforeAll, _) => Ok(()),
            (Constructor, SqlBefore | BeforeEach | Test | AfterEach) => Ok(()),
            (BeforeEach, Test) => Ok(()),
            (BeforeEach, BeforeEach) => Err(
                "the guard on line {l} is in another @BeforeEach method, which JUnit may run after it",
            ),
            (BeforeEach, AfterEach) => Err(
                "the guard on line {l} is in @BeforeEach, and JUnit still runs @AfterEach when it fails",
            ),
            _ => Err("the guard on line {l} runs after it"),
        }
    }

    /// The guard at the top level of a member's body, or one nested in a branch.
    fn body_guard(&self, member: Node<'t>) -> Option<GuardHit> {
        let body = self.decl_body(member)?;
        let mut nested = None;
        for s in named_kids(body) {
            match self.stmt_guard(s, false) {
                Some(GuardHit::Direct(l)) => return Some(GuardHit::Direct(l)),
                Some(GuardHit::Nested(l)) => {
                    nested.get_or_insert(GuardHit::Nested(l));
                }
                None => {}
            }
        }
        nested
    }

    /// Calls of the method `name` (and `this::name` references) outside its own body.
    fn uses_of(&self, name: &str, decl: Node<'t>) -> Vec<Node<'t>> {
        let mut uses = Vec::new();
        walk(self.root, |n| {
            if n.id() == decl.id() {
                return false;
            }
            if n.kind() == "method_invocation" && self.name_of(n) == name {
                uses.push(n);
            }
            if n.kind() == "method_reference" && self.t(n).ends_with(&format!("::{name}")) {
                uses.push(n);
            }
            true
        });
        uses
    }

    /// The tests connect to a database created for them: a Testcontainers container wired in
    /// with `@ServiceConnection`/`@DynamicPropertySource`/`getJdbcUrl()`, Spring's replacement
    /// test database, or an in-memory one.
    fn throwaway_database(&self) -> bool {
        let src = self.src;
        let container = src.contains("@Container")
            && [
                "@ServiceConnection",
                "@DynamicPropertySource",
                ".getJdbcUrl()",
            ]
            .iter()
            .any(|m| src.contains(m));
        let replaced = src.contains("@AutoConfigureTestDatabase") && !src.contains("Replace.NONE");
        let memory = [
            "jdbc:h2:mem:",
            "jdbc:hsqldb:mem:",
            "jdbc:derby:memory:",
            "EmbeddedDatabaseBuilder",
        ]
        .iter()
        .any(|m| src.contains(m));
        container || replaced || memory
    }

    fn run(&self) -> FileAnalysis {
        if self.throwaway_database() {
            return FileAnalysis {
                unguarded: Vec::new(),
                exports: self.exports(),
            };
        }
        let flyway_unlocked = self.flyway_unlocked();
        let mut ops: Vec<(Node<'t>, String, Vec<String>, Option<Node<'t>>)> = Vec::new();
        walk(self.root, |n| {
            match n.kind() {
                "method_invocation" => {
                    if let Some((op, tables)) = self.destructive_call(n, flyway_unlocked.is_some())
                    {
                        ops.push((n, op, tables, None));
                    }
                }
                "annotation" => {
                    if let Some((op, tables)) = self.destructive_sql_annotation(n) {
                        ops.push((n, op, tables, Some(n)));
                    }
                }
                _ => {}
            }
            true
        });
        let mut unguarded = Vec::new();
        for (node, operation, tables, annotation) in ops {
            let (verdict, scope_decl) = match annotation {
                Some(a) => self.sql_annotation_verdict(a),
                None => (self.verdict(node, 0), self.enclosing_decl(node)),
            };
            let Verdict::Open(hint) = verdict else {
                continue;
            };
            let off = (operation == "Flyway clean")
                .then_some(flyway_unlocked)
                .flatten()
                .map(|l| format!("Flyway's clean protection is turned off on line {l}"));
            let reason = off
                .or(hint)
                .unwrap_or_else(|| "no guard runs before it".to_string());
            let scope = scope_decl
                .and_then(|d| field(d, "name"))
                .map(|n| self.t(n).to_string())
                .or_else(|| {
                    scope_decl
                        .filter(|d| d.kind() == "static_initializer")
                        .map(|_| "static initializer".to_string())
                });
            unguarded.push(UnguardedOp {
                op: DestructiveOp {
                    span: node.byte_range(),
                    operation,
                    tables,
                    scope,
                },
                reason,
                help: self.help(),
            });
        }
        FileAnalysis {
            unguarded,
            exports: self.exports(),
        }
    }

    /// An `@Sql` annotation runs its statements before each test it applies to.
    fn sql_annotation_verdict(&self, a: Node<'t>) -> (Verdict, Option<Node<'t>>) {
        if self.ctx.inherited.module_guard || self.ctx.inherited.autouse_guard {
            return (Verdict::Guarded, None);
        }
        // modifiers -> method or class declaration
        let holder = a.parent().and_then(|m| m.parent());
        let method = holder.filter(|h| h.kind() == "method_declaration");
        let role = if self.sql_runs_after(a) {
            Role::AfterEach
        } else {
            Role::SqlBefore
        };
        let verdict = self.decl_verdict(a, method, role, None, MAX_CALLERS);
        (verdict, holder)
    }

    /// `cleanDisabled(false)` (or the equivalent property) lets `flyway.clean()` run.
    fn flyway_unlocked(&self) -> Option<usize> {
        let mut at = None;
        walk(self.root, |n| {
            if at.is_some() {
                return false;
            }
            let unlocks = match n.kind() {
                "method_invocation" => {
                    self.name_of(n) == "cleanDisabled"
                        && self.args(n).first().is_some_and(|a| self.t(*a) == "false")
                }
                "string_literal" => {
                    let s = self.t(n).replace(' ', "");
                    s.contains("clean-disabled=false") || s.contains("cleanDisabled=false")
                }
                _ => false,
            };
            if unlocks {
                at = Some(line(n));
            }
            true
        });
        at
    }

    /// The statements of a block that run a guard, in order, as (node id, start byte, hit):
    /// found once per block, so judging many operations in one block stays linear.
    fn list_guards(&self, list: Node<'t>) -> ListGuards {
        if let Some(v) = self.list_guard_cache.borrow().get(&list.id()) {
            return Rc::clone(v);
        }
        let v: ListGuards = named_kids(list)
            .into_iter()
            .filter_map(|sib| {
                self.stmt_guard(sib, true)
                    .map(|hit| (sib.id(), sib.start_byte(), hit))
            })
            .collect();
        self.list_guard_cache
            .borrow_mut()
            .insert(list.id(), Rc::clone(&v));
        v
    }

    /// The fix for every finding of the file, worded once per file.
    fn help(&self) -> String {
        self.help.get_or_init(|| self.compose_help()).clone()
    }

    fn compose_help(&self) -> String {
        let junit4 = self.src.contains("org.junit.Test") || self.src.contains("@BeforeClass");
        let spring =
            self.src.contains("org.springframework") || self.src.contains("@SpringBootTest");
        let check = "try (Connection c = dataSource.getConnection()) { \
                     String url = c.getMetaData().getURL(); \
                     if (!url.contains(\"localhost\") && !url.contains(\"test\")) \
                     throw new IllegalStateException(\"refusing to reset \" + url); }";
        let header = match (junit4, spring) {
            (true, _) => {
                "@BeforeClass public static void requireTestDatabase() throws SQLException"
            }
            (false, true) => {
                "@BeforeAll static void requireTestDatabase(@Autowired DataSource dataSource) throws SQLException"
            }
            (false, false) => "@BeforeAll static void requireTestDatabase() throws SQLException",
        };
        format!("check the database before any setup runs: `{header} {{ {check} }}`")
    }

    fn exports(&self) -> Exports {
        let mut guard_helpers: Vec<String> = self.guard_helpers.iter().cloned().collect();
        guard_helpers.sort();
        let mut guard_fixtures: Vec<String> = self
            .methods
            .iter()
            .filter(|(_, m)| matches!(self.role(**m), Role::BeforeAll | Role::BeforeEach))
            .filter(|(_, m)| matches!(self.body_guard(**m), Some(GuardHit::Direct(_))))
            .map(|(n, _)| n.clone())
            .collect();
        guard_fixtures.sort();
        Exports {
            module_guard: false,
            guard_fixtures,
            autouse_guard: false,
            guard_helpers,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (line, operation, reason) of every unguarded operation.
    /// Analyses `src`, and checks that slicing it changes nothing.
    fn analyse(src: &str, ctx: &Context) -> FileAnalysis {
        crate::lang::analyze_checked(crate::lang::Lang::Java, src, ctx)
    }

    fn findings_with(src: &str, ctx: &Context) -> Vec<(usize, String, String)> {
        let analysis = analyse(src, ctx);
        analysis
            .unguarded
            .into_iter()
            .map(|u| {
                let line = src[..u.op.span.start].matches('\n').count() + 1;
                (line, u.op.operation, u.reason)
            })
            .collect()
    }

    fn findings(src: &str) -> Vec<(usize, String, String)> {
        findings_with(src, &Context::default())
    }

    #[test]
    fn many_operations_in_one_method_are_judged_against_its_guards() {
        let op = "        jdbcTemplate.update(\"DELETE FROM orders\");\n";
        let src = format!(
            "class OrdersTest {{\n    @BeforeEach\n    void reset() {{\n{}        assertTrue(System.getenv(\"APP_ENV\").equals(\"test\"));\n{}    }}\n}}\n",
            op.repeat(1_500),
            op.repeat(1_500)
        );
        let got = findings(&src);
        assert_eq!(got.len(), 1_500);
        assert!(
            got.iter()
                .enumerate()
                .all(|(i, (line, op, reason))| *line == i + 4
                    && op == "DELETE FROM without WHERE"
                    && reason == "the guard on line 1504 runs after it"),
            "{:?} {:?}",
            got[0],
            got[1_499]
        );
    }

    /// Each case: name, source, and the expected findings as (line, operation part, reason part).
    type Case = (
        &'static str,
        &'static str,
        &'static [(usize, &'static str, &'static str)],
    );

    const CASES: &[Case] = &[
        (
            "unguarded @BeforeEach truncates",
            r#"class OrdersTest {
    @BeforeEach
    void reset() {
        jdbcTemplate.execute("TRUNCATE TABLE categories, cms_blocks CASCADE");
    }
}
"#,
            &[(4, "TRUNCATE", "no guard runs before it")],
        ),
        (
            "guarded in the same method",
            r#"class OrdersTest {
    @BeforeEach
    void reset() throws SQLException {
        String url = dataSource.getConnection().getMetaData().getURL();
        if (!url.contains("localhost")) throw new IllegalStateException("refusing " + url);
        statement.execute("TRUNCATE orders");
    }
}
"#,
            &[],
        ),
        (
            "guarded in @BeforeAll before @BeforeEach",
            r#"class OrdersTest {
    @BeforeAll
    static void requireTestDatabase(@Autowired DataSource ds) throws SQLException {
        assertThat(ds.getConnection().getMetaData().getURL()).contains("localhost");
    }
    @BeforeEach
    void reset() { stmt.executeUpdate("DELETE FROM orders"); }
}
"#,
            &[],
        ),
        (
            "guarded by a helper in the same file",
            r#"class OrdersTest {
    private static void requireTestDatabase(String url) {
        if (!url.contains("test")) {
            throw new IllegalStateException("not a test database: " + url);
        }
    }
    @BeforeEach
    void reset() {
        requireTestDatabase(jdbcUrl);
        JdbcTestUtils.deleteFromTables(jdbcTemplate, "orders", "payments");
    }
}
"#,
            &[],
        ),
        (
            "guard after the operation",
            r#"class OrdersTest {
    @BeforeEach
    void reset() {
        jdbcTemplate.update("DELETE FROM orders");
        assertTrue(System.getenv("APP_ENV").equals("test"));
    }
}
"#,
            &[(4, "DELETE FROM", "the guard on line 5 runs after it")],
        ),
        (
            "guard in a skippable branch",
            r#"class OrdersTest {
    @BeforeEach
    void reset() {
        if (System.getenv("CI") != null) {
            if (!jdbcUrl.contains("localhost")) throw new IllegalStateException("no");
        }
        jdbcTemplate.execute("TRUNCATE orders");
    }
}
"#,
            &[(
                7,
                "TRUNCATE",
                "the guard on line 5 sits in a branch that can be skipped",
            )],
        ),
        (
            "rolled-back @Transactional test and Flyway's own clean protection",
            r#"@SpringBootTest
@Transactional
class OrdersTest {
    @BeforeEach
    void reset() { jdbcTemplate.execute("DELETE FROM orders"); }
    @Test
    void wipes() { flyway.clean(); }
    @Test
    @Sql("/reset.sql")
    void scripted() {}
}
"#,
            &[],
        ),
        (
            "databases created for the test: Testcontainers and Spring's replacement",
            r#"@Testcontainers
class OrdersIT {
    @Container
    @ServiceConnection
    static PostgreSQLContainer<?> postgres = new PostgreSQLContainer<>("postgres:16");
    @BeforeEach
    void reset() { jdbcTemplate.execute("TRUNCATE orders"); }
}
"#,
            &[],
        ),
        (
            "a container the connection does not come from",
            r#"@Testcontainers
class OrdersIT {
    @Container
    static PostgreSQLContainer<?> postgres = new PostgreSQLContainer<>("postgres:16");
    @AutoConfigureTestDatabase(replace = AutoConfigureTestDatabase.Replace.NONE)
    @BeforeEach
    void reset() { jdbcTemplate.execute("TRUNCATE orders"); }
}
"#,
            &[(7, "TRUNCATE", "no guard")],
        ),
        (
            "Flyway clean protection turned off",
            r#"class MigrationTest {
    Flyway flyway = Flyway.configure().dataSource(url, user, pw).cleanDisabled(false).load();
    @BeforeEach
    void reset() { flyway.clean(); }
}
"#,
            &[(4, "Flyway clean", "turned off on line 2")],
        ),
        (
            "@Rollback(false) keeps the changes",
            r#"@Transactional
class OrdersTest {
    @Test
    @Rollback(false)
    void wipes() { jdbcTemplate.execute("TRUNCATE orders"); }
}
"#,
            &[(5, "TRUNCATE", "`@Rollback(false)` on line 4")],
        ),
        (
            "destructive string never executed",
            r#"class OrdersTest {
    private static final String RESET = "TRUNCATE orders";
    @Test
    void documents() { log.info("DROP TABLE x"); assertEquals(RESET, sql); }
}
"#,
            &[],
        ),
        (
            "SQL held in a constant, a format and a text block",
            r#"class OrdersTest {
    private static final String RESET = "TRUNCATE orders";
    @BeforeEach
    void reset() {
        jdbcTemplate.execute(RESET);
        jdbcTemplate.execute(String.format("TRUNCATE TABLE %s CASCADE", table));
        jdbcTemplate.execute("""
            DROP SCHEMA public CASCADE""");
        jdbcTemplate.update("DELETE FROM orders WHERE id = ?", id);
    }
}
"#,
            &[
                (5, "TRUNCATE", "no guard"),
                (6, "TRUNCATE", "no guard"),
                (7, "DROP SCHEMA", "no guard"),
            ],
        ),
        (
            "inline @Sql statements are flagged, scripts are not",
            r#"class OrdersTest {
    @Test
    @Sql(statements = "TRUNCATE orders")
    void a() {}
    @Test
    @Sql(scripts = "/cleanup.sql")
    void b() {}
}
"#,
            &[(3, "TRUNCATE", "no guard")],
        ),
        (
            "@BeforeEach guard does not cover @AfterEach or another @BeforeEach",
            r#"class OrdersTest {
    @BeforeEach
    void guard() { assumeTrue("test".equals(System.getenv("APP_ENV"))); }
    @BeforeEach
    void reset() { jdbcTemplate.execute("TRUNCATE a"); }
    @Test
    void t() { jdbcTemplate.execute("TRUNCATE b"); }
    @AfterEach
    void cleanup() { jdbcTemplate.execute("TRUNCATE c"); }
}
"#,
            &[
                (5, "TRUNCATE", "another @BeforeEach method"),
                (9, "TRUNCATE", "JUnit still runs @AfterEach"),
            ],
        ),
        (
            "a guard that only logs does not stop",
            r#"class OrdersTest {
    @BeforeEach
    void reset() {
        if (!jdbcUrl.contains("localhost")) { log.warn("not local: {}", jdbcUrl); }
        jdbcTemplate.execute("TRUNCATE orders");
    }
}
"#,
            &[(5, "TRUNCATE", "no guard")],
        ),
        (
            "static initializer and JUnit 4 @BeforeClass guards",
            r#"class A {
    static {
        if (!"test".equals(System.getProperty("spring.profiles.active"))) throw new IllegalStateException();
    }
    @Before
    public void reset() { jdbcTemplate.execute("TRUNCATE a"); }
}
class B {
    @BeforeClass
    public static void guard() { Assume.assumeTrue(DB_URL.startsWith("jdbc:h2:mem")); }
    @After
    public void reset() { jdbcTemplate.execute("TRUNCATE b"); }
}
"#,
            &[],
        ),
        (
            "returning early from @BeforeAll does not stop the tests",
            r#"class OrdersTest {
    @BeforeAll
    static void guard() { if (!jdbcUrl.contains("localhost")) return; }
    @BeforeEach
    void reset() {
        if (!jdbcUrl.contains("localhost")) return;
        jdbcTemplate.execute("TRUNCATE a");
    }
    @Test
    void t() { jdbcTemplate.execute("TRUNCATE b"); }
}
"#,
            &[(10, "TRUNCATE", "no guard")],
        ),
        (
            "outer @BeforeAll covers a @Nested class",
            r#"class Outer {
    @BeforeAll
    static void guard() { Assertions.assertTrue(jdbcUrl.contains("localhost")); }
    @Nested
    class Inner {
        @BeforeAll
        static void reset() { jdbcTemplate.execute("TRUNCATE a"); }
    }
}
"#,
            &[],
        ),
        (
            "helper called from guarded and unguarded places",
            r#"class OrdersTest {
    private void wipe() { jdbcTemplate.execute("TRUNCATE orders"); }
    @Test
    void a() {
        if (!isTestDatabase(jdbcUrl)) fail("not a test database");
        wipe();
    }
    @Test
    void b() { wipe(); }
    private boolean isTestDatabase(String url) { return url.contains("_test"); }
}
"#,
            &[(2, "TRUNCATE", "no guard")],
        ),
        (
            "library forms without guards",
            r#"class OrdersTest {
    @BeforeEach
    void reset() {
        jedis.flushAll();
        mongoTemplate.dropCollection(Order.class);
        mongoClient.getDatabase("shop").drop();
        collection.deleteMany(new Document());
        collection.deleteMany(eq("tenant", id));
        orderRepository.deleteAll();
        orderRepository.deleteAll(List.of(order));
        JdbcTestUtils.dropTables(jdbcTemplate, "orders");
        entityManager.createQuery("DELETE FROM Order").executeUpdate();
    }
}
"#,
            &[
                (4, "Redis FLUSHALL", "no guard"),
                (5, "MongoDB dropCollection", "no guard"),
                (6, "MongoDB drop database", "no guard"),
                (7, "MongoDB deleteMany", "no guard"),
                (9, "Spring Data deleteAll", "no guard"),
                (11, "DROP TABLE", "no guard"),
                (12, "DELETE FROM", "no guard"),
            ],
        ),
    ];

    #[test]
    fn fixtures() {
        for (name, src, want) in CASES {
            let got = findings(src);
            assert_eq!(got.len(), want.len(), "{name}: {got:?}");
            for ((line, op, reason), (wline, wop, wreason)) in got.iter().zip(want.iter()) {
                assert_eq!(line, wline, "{name}: {got:?}");
                assert!(op.contains(wop), "{name}: operation {op:?}");
                assert!(reason.contains(wreason), "{name}: reason {reason:?}");
            }
        }
    }

    #[test]
    fn reports_tables_scope_and_help() {
        let src = "class T {\n  @BeforeEach\n  void reset() { JdbcTestUtils.deleteFromTables(jdbc, \"orders\", \"payments\"); }\n}\n";
        let a = analyse(src, &Context::default());
        let u = &a.unguarded[0];
        assert!(u.op.operation.contains("DELETE FROM"), "{}", u.op.operation);
        assert_eq!(u.op.tables, vec!["orders", "payments"]);
        assert_eq!(u.op.scope.as_deref(), Some("reset"));
        assert_eq!(
            &src[u.op.span.clone()],
            "JdbcTestUtils.deleteFromTables(jdbc, \"orders\", \"payments\")"
        );
        assert!(
            u.help.contains("@BeforeAll") && u.help.contains("IllegalStateException"),
            "{}",
            u.help
        );
        let looped = "class T {\n  static final List<String> TABLES = List.of(\"categories\", \"cms_blocks\");\n  @BeforeEach\n  void reset() { for (String t : TABLES) { jdbc.execute(\"TRUNCATE TABLE \" + t + \" CASCADE\"); } }\n}\n";
        let a = analyse(looped, &Context::default());
        assert_eq!(a.unguarded[0].op.tables, vec!["categories", "cms_blocks"]);
        let junit4 = "import org.junit.Test;\nclass T { @Before public void r() { stmt.execute(\"TRUNCATE a\"); } }\n";
        let a = analyse(junit4, &Context::default());
        assert!(a.unguarded[0].help.contains("@BeforeClass"));
    }

    #[test]
    fn context_guards_and_exports() {
        let src = "class T {\n  @BeforeEach\n  void reset() {\n    DbGuards.requireTestDatabase(ds);\n    stmt.execute(\"TRUNCATE a\");\n  }\n}\n";
        assert_eq!(findings(src).len(), 1);
        let listed = Context {
            extra_guards: vec!["DbGuards.requireTestDatabase".into()],
            ..Context::default()
        };
        assert!(findings_with(src, &listed).is_empty());

        let guards = r#"class Base {
    @BeforeAll
    static void requireLocal() { if (!jdbcUrl.contains("localhost")) throw new IllegalStateException(); }
    static void check(String host) { assertThat(host).isIn("localhost", "127.0.0.1"); }
}
"#;
        let exports = analyse(guards, &Context::default()).exports;
        assert_eq!(exports.guard_fixtures, vec!["requireLocal".to_string()]);
        assert_eq!(exports.guard_helpers, vec!["check".to_string()]);
    }

    #[test]
    fn broken_source_still_analysed() {
        let src = "class T { @BeforeEach void r() { stmt.execute(\"TRUNCATE a\"); if ((( }\n";
        analyse(src, &Context::default());
        let deep = format!(
            "class T {{ void f() {{ int x = {}1{}; }} }}\n",
            "(".repeat(5000),
            ")".repeat(5000)
        );
        analyse(&deep, &Context::default());
        let blocks = format!(
            "class T {{ @BeforeEach void f() {{ if (!url.contains(\"test\")) {}throw new X();{} {}stmt.execute(\"TRUNCATE a\");{} }} }}\n",
            "{".repeat(3000),
            "}".repeat(3000),
            "{".repeat(3000),
            "}".repeat(3000)
        );
        analyse(&blocks, &Context::default());
        // Helpers calling helpers in a wide chain stay cheap: each helper is judged once.
        let mut chain = String::from("class T {\n");
        for i in 0..200 {
            chain.push_str(&format!(
                "  void h{i}() {{ h{}(); h{}(); }}\n",
                i + 1,
                i + 1
            ));
        }
        chain.push_str(
            "  void h200() { stmt.execute(\"TRUNCATE a\"); }\n  @Test void t() { h0(); }\n}\n",
        );
        assert_eq!(analyse(&chain, &Context::default()).unguarded.len(), 1);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]
        #[test]
        fn never_panics_and_spans_are_in_bounds(
            body in proptest::collection::vec(proptest::sample::select(vec![
                "stmt.execute(\"TRUNCATE a\");", "if (!url.contains(\"localhost\")) throw new X();",
                "{", "}", "é", "wipe();", "void wipe() {", "@BeforeAll", "@BeforeEach", "@Transactional",
                "\n", "\"", "@Sql(statements = \"DELETE FROM a\")", "class T {", "static {",
            ]), 0..24)
        ) {
            let src = body.concat();
            let a = analyse(&src, &Context::default());
            for u in a.unguarded {
                proptest::prop_assert!(u.op.span.end <= src.len());
                proptest::prop_assert!(src.is_char_boundary(u.op.span.start));
                proptest::prop_assert!(src.is_char_boundary(u.op.span.end));
            }
        }
    }
}
