//! Ruby test code (RSpec, minitest, Rails): destructive setup (`connection.execute("TRUNCATE
//! ...")`, `connection.truncate`, unscoped `Model.delete_all`, DatabaseCleaner truncation, Redis
//! flushes, Mongoid purges, Sequel deletes) and the guards that run before it (checks in the same
//! hook or method, guard helpers, earlier hooks, load-time checks), with what Rails and
//! DatabaseCleaner already guarantee.

use std::cell::{OnceCell, RefCell};
use std::collections::{HashMap, HashSet};
use std::rc::Rc;
use std::sync::LazyLock;

use regex::Regex;

use tree_sitter::{Node, Parser};

use super::sql_text::destructive_sql;
use super::{Context, DestructiveOp, Exports, FileAnalysis, UnguardedOp};

/// Stands in for an interpolation in SQL text, so that `"TRUNCATE #{t}"` still reads as SQL.
const PLACEHOLDER: &str = "premortem_expr";
/// How far up the tree the analysis climbs from one node; deeper nesting is treated as the top.
const MAX_CLIMB: usize = 400;
/// How deep expression evaluation goes.
const MAX_DEPTH: usize = 24;
/// How many helper-call levels the analysis follows to find a guarded caller.
const MAX_CALLERS: usize = 6;

/// Analyses one Ruby file for destructive test setup that no guard protects.
pub fn analyze(source: &str, ctx: &Context) -> Result<FileAnalysis, String> {
    let mut parser = Parser::new();
    parser
        .set_language(&tree_sitter_ruby::LANGUAGE.into())
        .map_err(|e| format!("cannot load the Ruby grammar: {e}"))?;
    let sliced = if ctx.keep_whole {
        None
    } else {
        super::slice::ruby::slice(source, &super::slice::keeps(ctx))
    };
    let tree = super::shared::parse_sliced(&mut parser, source, sliced)
        .ok_or_else(|| "the Ruby parser returned no tree".to_string())?;
    let file = RubyFile::new(source, tree.root_node(), ctx);
    Ok(file.run())
}

/// What a condition means when it is true.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pol {
    /// True only against a test target (`Rails.env.test?`, `host.include?("localhost")`).
    Safe,
    /// True against a production target (`Rails.env.production?`).
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

/// When a hook or block runs, in RSpec/minitest order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Phase {
    Suite,
    All,
    Each,
    Example,
    AfterEach,
    AfterAll,
    AfterSuite,
}

/// The unit of code a position runs in.
#[derive(Debug, Clone, Copy)]
enum Unit<'t> {
    /// Runs when the file loads: top level, a class body, a `describe` body.
    Load,
    /// A hook or example block, or a minitest `setup`/`test_*` method, in the group `group`.
    Hook {
        phase: Phase,
        node: Node<'t>,
        group: Node<'t>,
    },
    /// A method that runs when something calls it.
    Def(Node<'t>),
}

/// A hook or setup whose body is a guard.
#[derive(Debug, Clone, Copy)]
struct GuardHook<'t> {
    phase: Phase,
    node: Node<'t>,
    group: Node<'t>,
    hit: GuardHit,
}

/// The kind of operation, for framework guarantees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Family {
    /// ActiveRecord on the Rails test database.
    ActiveRecord,
    /// DatabaseCleaner, which refuses remote URLs and production by itself.
    Cleaner,
    Other,
}

struct Op<'t> {
    node: Node<'t>,
    operation: String,
    tables: Vec<String>,
    family: Family,
}

struct RubyFile<'t, 's> {
    src: &'s str,
    root: Node<'t>,
    ctx: &'s Context,
    /// `def` methods by name (the first wins).
    defs: HashMap<String, Node<'t>>,
    /// Local variables and constants bound to a single expression.
    bindings: HashMap<String, Node<'t>>,
    /// Heredoc openers paired with their bodies, by opener id.
    heredocs: HashMap<usize, Node<'t>>,
    guard_helpers: HashSet<String>,
    /// Methods whose value is a check of the target (`def test_database?`).
    predicates: HashMap<String, Pol>,
    guard_hooks: Vec<GuardHook<'t>>,
    guard_cache: RefCell<HashMap<(usize, bool), Option<GuardHit>>>,
    /// Verdicts over all callers of a helper, by helper node id.
    callers_cache: RefCell<HashMap<usize, Verdict>>,
    /// [`RubyFile::list_guards`] by block node id.
    list_guard_cache: RefCell<HashMap<usize, ListGuards>>,
    help: OnceCell<String>,
    load_guard: OnceCell<Option<GuardHit>>,
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
                "memory",
                "sqlite",
                "sqlite3",
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
        "connection",
        "config",
        "server",
        "target",
    ]
    .iter()
    .any(|w| lower.contains(w))
}

/// An environment variable name such as `RAILS_ENV` or `DATABASE_URL`.
fn env_var_name(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
        && target_word(s)
}

/// The forms in which Ruby code can spell a destructive `delete`: SQL `DELETE FROM`,
/// `delete_all`, `delete_many`, and Sequel's `DB[:items].delete`. A request spec's
/// `delete "/orders/1"`, `hash.delete(:key)` and `record.delete` are not among them.
static DELETE_FORMS: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(r#"(?i)delete["'\s+]*from|delete_all|delete_many|\]\s*\.\s*delete\b"#).ok()
});

/// The Ruby prefilter: the shared keywords, with `delete` counted only in a form the analysis
/// can report (controller and request specs say `delete :destroy` everywhere).
pub(super) fn may_destroy(source: &str) -> bool {
    super::sql_text::has_destructive_keyword_narrowing_delete(source, DELETE_FORMS.as_ref())
}

const EXEC_NAMES: &[&str] = &[
    "execute",
    "exec_query",
    "exec_update",
    "exec_delete",
    "exec",
    "exec_params",
    "query",
    "run",
    "execute_batch",
    "call",
];

const STOP_NAMES: &[&str] = &[
    "raise", "fail", "abort", "exit", "exit!", "skip", "flunk", "throw",
];

const GROUP_NAMES: &[&str] = &[
    "describe",
    "context",
    "feature",
    "shared_context",
    "shared_examples",
    "shared_examples_for",
    "configure",
    "experiment",
];

const EXAMPLE_NAMES: &[&str] = &[
    "it", "specify", "example", "scenario", "its", "fit", "let", "let!", "subject", "test",
];

fn is_statement(kind: &str) -> bool {
    matches!(
        kind,
        "if" | "unless"
            | "if_modifier"
            | "unless_modifier"
            | "call"
            | "identifier"
            | "binary"
            | "assignment"
            | "return"
            | "next"
    )
}

fn is_container(kind: &str) -> bool {
    matches!(
        kind,
        "program"
            | "body_statement"
            | "block_body"
            | "then"
            | "else"
            | "begin"
            | "ensure"
            | "do"
            | "parenthesized_statements"
    )
}

impl<'t, 's> RubyFile<'t, 's> {
    fn new(src: &'s str, root: Node<'t>, ctx: &'s Context) -> Self {
        let mut file = RubyFile {
            src,
            root,
            ctx,
            defs: HashMap::new(),
            bindings: HashMap::new(),
            heredocs: HashMap::new(),
            guard_helpers: HashSet::new(),
            predicates: HashMap::new(),
            guard_hooks: Vec::new(),
            guard_cache: RefCell::new(HashMap::new()),
            callers_cache: RefCell::new(HashMap::new()),
            list_guard_cache: RefCell::new(HashMap::new()),
            help: OnceCell::new(),
            load_guard: OnceCell::new(),
        };
        file.index();
        file
    }

    fn t(&self, n: Node) -> &'s str {
        text(n, self.src)
    }

    fn index(&mut self) {
        let mut defs = HashMap::new();
        let mut bindings = HashMap::new();
        let mut openers = Vec::new();
        let mut bodies = Vec::new();
        let src = self.src;
        walk(self.root, |n| {
            match n.kind() {
                "method" | "singleton_method" => {
                    if let Some(name) = field(n, "name") {
                        defs.entry(text(name, src).to_string()).or_insert(n);
                    }
                }
                "assignment" => {
                    if let (Some(l), Some(r)) = (field(n, "left"), field(n, "right"))
                        && matches!(l.kind(), "identifier" | "constant")
                    {
                        bindings.entry(text(l, src).to_string()).or_insert(r);
                    }
                }
                "heredoc_beginning" => openers.push(n),
                "heredoc_body" => bodies.push(n),
                _ => {}
            }
            true
        });
        self.defs = defs;
        self.bindings = bindings;
        self.heredocs = openers
            .into_iter()
            .zip(bodies)
            .map(|(o, b)| (o.id(), b))
            .collect();
        self.classify_helpers();
        self.guard_hooks = self.collect_guard_hooks();
    }

    /// Finds guard helpers and predicates; repeats so a helper that calls a helper counts.
    fn classify_helpers(&mut self) {
        let defs: Vec<(String, Node<'t>)> =
            self.defs.iter().map(|(k, v)| (k.clone(), *v)).collect();
        for _ in 0..3 {
            let mut changed = false;
            for (name, d) in &defs {
                let stmts = field(*d, "body").map(named_kids).unwrap_or_default();
                if !self.guard_helpers.contains(name)
                    && !matches!(name.as_str(), "setup" | "before_setup")
                    && !name.starts_with("test_")
                    && stmts.iter().any(|s| self.direct_guard(*s, false).is_some())
                {
                    self.guard_helpers.insert(name.clone());
                    self.guard_cache.borrow_mut().clear();
                    changed = true;
                }
                if !self.predicates.contains_key(name) {
                    let value = stmts.last().map(|s| {
                        if s.kind() == "return" {
                            s.named_child(0)
                                .and_then(|a| a.named_child(0))
                                .unwrap_or(*s)
                        } else {
                            *s
                        }
                    });
                    if let Some(pol) = value.and_then(|v| self.cond_pol(v, 0)) {
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

    fn method_name(&self, call: Node<'t>) -> &'s str {
        match call.kind() {
            "call" => field(call, "method").map(|m| self.t(m)).unwrap_or(""),
            "identifier" => self.t(call),
            _ => "",
        }
    }

    fn receiver(&self, call: Node<'t>) -> Option<Node<'t>> {
        (call.kind() == "call")
            .then(|| field(call, "receiver"))
            .flatten()
    }

    fn receiver_text(&self, call: Node<'t>) -> &'s str {
        self.receiver(call).map(|r| self.t(r)).unwrap_or("")
    }

    fn args(&self, call: Node<'t>) -> Vec<Node<'t>> {
        (call.kind() == "call")
            .then(|| field(call, "arguments"))
            .flatten()
            .map(named_kids)
            .unwrap_or_default()
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
    }

    /// Literal text of a string, symbol or regex (interpolations become the placeholder).
    fn literal(&self, n: Node<'t>) -> Option<String> {
        match n.kind() {
            "string" | "regex" | "bare_string" | "heredoc_body" => {
                let mut out = String::new();
                for part in named_kids(n) {
                    match part.kind() {
                        "string_content" | "heredoc_content" | "escape_sequence" => {
                            out.push_str(self.t(part))
                        }
                        "interpolation" => out.push_str(PLACEHOLDER),
                        _ => {}
                    }
                }
                Some(out)
            }
            "heredoc_beginning" => self.heredocs.get(&n.id()).and_then(|b| self.literal(*b)),
            "simple_symbol" => Some(self.t(n).trim_start_matches(':').to_string()),
            "delimited_symbol" => {
                let t = self.t(n);
                Some(
                    t.trim_start_matches(":\"")
                        .trim_end_matches('"')
                        .to_string(),
                )
            }
            _ => None,
        }
    }

    // ---- guards --------------------------------------------------------------------------

    fn stop_stmt(&self, s: Node<'t>, local_ok: bool) -> bool {
        match s.kind() {
            "return" | "next" | "break" => local_ok,
            "call" | "identifier" => {
                self.receiver(s).is_none_or(|r| self.t(r) == "Kernel")
                    && STOP_NAMES.contains(&self.method_name(s))
            }
            // Only the branch's own statements, so nesting depth never drives recursion.
            "then" | "else" | "parenthesized_statements" => named_kids(s).into_iter().any(|c| {
                !matches!(c.kind(), "then" | "else" | "parenthesized_statements")
                    && self.stop_stmt(c, local_ok)
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
        let cond = |n: Node<'t>| field(n, "condition").and_then(|c| self.cond_pol(c, 0));
        let stops = |n: Option<Node<'t>>| n.is_some_and(|b| self.stop_stmt(b, local_ok));
        let fires_on = |pol: Option<Pol>, when_true: bool| {
            matches!(
                (pol, when_true),
                (Some(Pol::Unsafe | Pol::Check), true) | (Some(Pol::Safe | Pol::Check), false)
            )
        };
        let guard = match s.kind() {
            "if_modifier" => fires_on(cond(s), true) && stops(field(s, "body")),
            "unless_modifier" => fires_on(cond(s), false) && stops(field(s, "body")),
            "if" | "unless" => {
                let pol = cond(s);
                let when_true = s.kind() == "if";
                fires_on(pol, when_true) && stops(field(s, "consequence"))
                    || fires_on(pol, !when_true) && stops(field(s, "alternative"))
            }
            "binary" => {
                // `Rails.env.test? || abort(...)`, `Rails.env.production? && abort(...)`.
                let op = self.operator(s);
                let left = field(s, "left").and_then(|l| self.cond_pol(l, 0));
                let right_stops = stops(field(s, "right"));
                right_stops
                    && match op {
                        "||" | "or" => fires_on(left, false),
                        "&&" | "and" => fires_on(left, true),
                        _ => false,
                    }
            }
            "call" | "identifier" => {
                let name = self.method_name(s);
                self.is_guard_name(name) || self.assertion_guards(s, name)
            }
            _ => false,
        };
        guard.then(|| line(s))
    }

    fn operator(&self, n: Node<'t>) -> &'s str {
        field(n, "operator")
            .or_else(|| n.child(0).filter(|c| !c.is_named()))
            .map(|o| self.t(o))
            .unwrap_or("")
    }

    /// minitest `assert`/`refute`/`assert_match`/`assert_equal`, RSpec `expect(...).to ...`.
    fn assertion_guards(&self, call: Node<'t>, name: &str) -> bool {
        let args = self.args(call);
        match name {
            "assert" => args
                .first()
                .and_then(|a| self.cond_pol(*a, 0))
                .is_some_and(|p| p != Pol::Unsafe),
            "refute" => args
                .first()
                .and_then(|a| self.cond_pol(*a, 0))
                .is_some_and(|p| p != Pol::Safe),
            "assert_match" | "assert_equal" | "assert_includes" => {
                self.compare_pol(&args) == Some(Pol::Safe)
            }
            "refute_match" | "refute_equal" | "refute_includes" => {
                self.compare_pol(&args) == Some(Pol::Unsafe)
            }
            "to" | "not_to" | "to_not" => {
                let Some(subject) = self
                    .receiver(call)
                    .filter(|r| self.method_name(*r) == "expect")
                    .and_then(|r| self.args(r).into_iter().next())
                else {
                    return false;
                };
                let Some(matcher) = args.first() else {
                    return false;
                };
                let positive = name == "to";
                let matcher_name = self.method_name(*matcher);
                if matches!(matcher_name, "be_truthy" | "be" | "eq")
                    && self.t(*matcher).contains("true")
                    || matcher_name == "be_truthy"
                {
                    let p = self.cond_pol(subject, 0);
                    return if positive {
                        matches!(p, Some(Pol::Safe | Pol::Check))
                    } else {
                        matches!(p, Some(Pol::Unsafe | Pol::Check))
                    };
                }
                let pol = self.compare_pol(&[subject, *matcher]);
                if positive {
                    pol == Some(Pol::Safe)
                } else {
                    pol == Some(Pol::Unsafe)
                }
            }
            _ => false,
        }
    }

    /// The polarity of the marker literals inside an expression that does not itself read the
    /// target (`"localhost"`, `/staging|localhost/`, `%w[localhost 127.0.0.1]`, `eq("test")`).
    fn marker_in(&self, n: Node<'t>) -> Option<Pol> {
        if self.reads_target(n) {
            return None;
        }
        let mut pols = Vec::new();
        walk(n, |c| {
            if let Some(s) = self.literal(c) {
                pols.push(marker_pol(&s));
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
                "identifier" | "constant" | "global_variable" | "instance_variable" => {
                    found |= target_word(self.t(c))
                }
                "string" => {
                    found |= self.literal(c).is_some_and(|s| env_var_name(&s));
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
            "parenthesized_statements" if n.named_child_count() == 1 => {
                n.named_child(0).and_then(|c| self.cond_pol(c, d))
            }
            "unary" => {
                let inner = field(n, "operand").and_then(|c| self.cond_pol(c, d));
                matches!(self.operator(n), "!" | "not")
                    .then_some(inner)
                    .flatten()
                    .map(Pol::flip)
            }
            "binary" => {
                let (l, r) = (field(n, "left")?, field(n, "right")?);
                match self.operator(n) {
                    "&&" | "||" | "and" | "or" => {
                        match (self.cond_pol(l, d), self.cond_pol(r, d)) {
                            (Some(a), Some(b)) if a == b => Some(a),
                            (Some(_), Some(_)) => Some(Pol::Check),
                            (a, b) => a.or(b),
                        }
                    }
                    "==" | "===" | "=~" | "eql?" => self.compare_pol(&[l, r]),
                    "!=" | "!~" => self.compare_pol(&[l, r]).map(Pol::flip),
                    _ => None,
                }
            }
            "call" => {
                let name = self.method_name(n);
                if let Some(p) = self.predicates.get(name) {
                    return Some(*p);
                }
                let recv = self.receiver(n);
                // `Rails.env.test?`, `Rails.env.production?`: the method names the environment.
                if let Some(r) = recv
                    && let Some(word) = name.strip_suffix('?')
                    && self.reads_target(r)
                    && let Some(p) = marker_pol(word)
                {
                    return Some(p);
                }
                let mut sides = self.args(n);
                sides.extend(recv);
                if let Some(p) = self.compare_pol(&sides) {
                    return Some(p);
                }
                let allowlist = matches!(name, "include?" | "member?" | "cover?")
                    && recv.is_some_and(|r| {
                        let t = self.t(r).to_ascii_lowercase();
                        ["allow", "safe", "permit", "known", "whitelist"]
                            .iter()
                            .any(|w| t.contains(w))
                    })
                    && self.args(n).iter().any(|a| self.reads_target(*a));
                allowlist.then_some(Pol::Safe)
            }
            "identifier" => {
                if let Some(p) = self.predicates.get(self.t(n)) {
                    return Some(*p);
                }
                let bound = *self.bindings.get(self.t(n))?;
                self.cond_pol(bound, d)
            }
            _ => None,
        }
    }

    // ---- structure: groups, hooks, units ------------------------------------------------------

    /// For a `do ... end` or `{ ... }` block: the call it belongs to.
    fn block_call(&self, block: Node<'t>) -> Option<Node<'t>> {
        let p = block.parent()?;
        (p.kind() == "call" && same(field(p, "block"), block)).then_some(p)
    }

    fn is_group_call(&self, call: Node<'t>) -> bool {
        GROUP_NAMES.contains(&self.method_name(call))
    }

    /// The phase of a hook call (`before(:all)`, `config.after(:suite)`, `setup`).
    fn hook_phase(&self, call: Node<'t>) -> Option<Phase> {
        let name = self.method_name(call);
        let scope = self
            .args(call)
            .into_iter()
            .find_map(|a| (a.kind() == "simple_symbol").then(|| self.t(a)))
            .unwrap_or(":each");
        let before = match name {
            "before" | "prepend_before" | "append_before" | "around" | "setup" => true,
            "after" | "prepend_after" | "append_after" | "teardown" => false,
            _ => return None,
        };
        Some(match (before, scope) {
            (true, ":suite") => Phase::Suite,
            (true, ":all" | ":context") => Phase::All,
            (true, _) => Phase::Each,
            (false, ":suite") => Phase::AfterSuite,
            (false, ":all" | ":context") => Phase::AfterAll,
            (false, _) => Phase::AfterEach,
        })
    }

    /// The innermost group (`describe`/`context`/`configure` block, test class, file) around `n`.
    fn group_of(&self, n: Node<'t>) -> Node<'t> {
        let mut cur = n;
        for _ in 0..MAX_CLIMB {
            let Some(p) = cur.parent() else { break };
            if matches!(p.kind(), "class" | "module") {
                return p;
            }
            if matches!(p.kind(), "do_block" | "block")
                && self.block_call(p).is_some_and(|c| self.is_group_call(c))
            {
                return p;
            }
            cur = p;
        }
        self.root
    }

    /// Is `inner` the group `outer` or nested in it? `RSpec.configure` blocks hold every group.
    fn within(&self, inner: Node<'t>, outer: Node<'t>) -> bool {
        if outer.id() == self.root.id()
            || self
                .block_call(outer)
                .is_some_and(|c| self.method_name(c) == "configure")
        {
            return true;
        }
        outer.start_byte() <= inner.start_byte() && inner.end_byte() <= outer.end_byte()
    }

    /// The hook, example or method a unit boundary node opens, if it is one.
    fn unit_of(&self, n: Node<'t>) -> Option<Unit<'t>> {
        match n.kind() {
            "method" | "singleton_method" => {
                let name = field(n, "name").map(|x| self.t(x)).unwrap_or("");
                let phase = match name {
                    "setup" | "before_setup" => Some(Phase::Each),
                    "teardown" | "after_teardown" => Some(Phase::AfterEach),
                    _ if name.starts_with("test_") => Some(Phase::Example),
                    _ => None,
                };
                Some(match phase {
                    Some(phase) => Unit::Hook {
                        phase,
                        node: n,
                        group: self.group_of(n),
                    },
                    None => Unit::Def(n),
                })
            }
            "do_block" | "block" => {
                let call = self.block_call(n)?;
                if self.is_group_call(call) {
                    return Some(Unit::Load);
                }
                let phase = self.hook_phase(call).or_else(|| {
                    EXAMPLE_NAMES
                        .contains(&self.method_name(call))
                        .then_some(Phase::Example)
                })?;
                Some(Unit::Hook {
                    phase,
                    node: call,
                    group: self.group_of(call),
                })
            }
            "class" | "module" | "program" => Some(Unit::Load),
            _ => None,
        }
    }

    /// Hooks and setup methods whose bodies hold a guard.
    fn collect_guard_hooks(&self) -> Vec<GuardHook<'t>> {
        let mut hooks = Vec::new();
        walk(self.root, |n| {
            if let Some(Unit::Hook { phase, node, group }) = self.unit_of(n)
                && matches!(phase, Phase::Suite | Phase::All | Phase::Each)
                && let Some(hit) = self.body_guard(n)
            {
                hooks.push(GuardHook {
                    phase,
                    node,
                    group,
                    hit,
                });
            }
            // `include_context "test database"` pulls in a guarding shared context.
            if n.kind() == "call"
                && self.method_name(n) == "include_context"
                && let Some(name) = self.args(n).first().and_then(|a| self.literal(*a))
                && self.ctx.inherited.guard_fixtures.contains(&name)
            {
                hooks.push(GuardHook {
                    phase: Phase::Each,
                    node: n,
                    group: self.group_of(n),
                    hit: GuardHit::Direct(line(n)),
                });
            }
            true
        });
        hooks
    }

    /// The guard at the top level of a block or method body, or one nested in a branch.
    fn body_guard(&self, unit: Node<'t>) -> Option<GuardHit> {
        let body = field(unit, "body")?;
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

    /// Statements that run when the file loads: top level, class bodies, group bodies.
    fn load_time_guard(&self) -> Option<GuardHit> {
        let mut nested = None;
        let mut stack = vec![self.root];
        while let Some(container) = stack.pop() {
            for s in named_kids(container) {
                match s.kind() {
                    "class" | "module" => stack.extend(field(s, "body")),
                    "call" if self.is_group_call(s) => {
                        stack.extend(field(s, "block").and_then(|b| field(b, "body")));
                    }
                    _ => match self.stmt_guard(s, false) {
                        Some(GuardHit::Direct(l)) => return Some(GuardHit::Direct(l)),
                        Some(GuardHit::Nested(l)) if !self.is_unit_call(s) => {
                            nested.get_or_insert(GuardHit::Nested(l));
                        }
                        _ => {}
                    },
                }
            }
        }
        nested
    }

    /// A call that only defines a hook or example (its block runs later), or a method definition.
    fn is_unit_call(&self, s: Node<'t>) -> bool {
        s.kind() == "method"
            || s.kind() == "singleton_method"
            || (s.kind() == "call" && field(s, "block").is_some_and(|b| self.unit_of(b).is_some()))
    }

    // ---- destructive operations ---------------------------------------------------------------

    /// The SQL text an expression evaluates to, with unknown parts as the placeholder.
    fn sql_text(&self, n: Node<'t>, depth: usize) -> Option<String> {
        if depth > MAX_DEPTH {
            return None;
        }
        let d = depth + 1;
        if let Some(s) = self.literal(n) {
            return Some(s);
        }
        match n.kind() {
            "binary" if self.operator(n) == "+" => {
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
            "identifier" | "constant" => {
                let bound = *self.bindings.get(self.t(n))?;
                self.sql_text(bound, d)
            }
            _ => None,
        }
    }

    fn judge_sql(&self, sql: &str) -> Option<(String, Vec<String>)> {
        let d = destructive_sql(sql)?;
        let tables = d.tables.into_iter().filter(|t| t != PLACEHOLDER).collect();
        Some((d.operation, tables))
    }

    fn symbol_args(&self, call: Node<'t>) -> Vec<String> {
        self.args(call)
            .into_iter()
            .filter_map(|a| self.literal(a))
            .collect()
    }

    /// A model class, `Model.all` or `Model.unscoped`: every row.
    fn whole_model(&self, n: Node<'t>, depth: usize) -> Option<String> {
        match n.kind() {
            "constant" | "scope_resolution" => Some(self.t(n).to_string()),
            "call"
                if depth < MAX_DEPTH
                    && matches!(self.method_name(n), "all" | "unscoped")
                    && self.args(n).is_empty() =>
            {
                self.receiver(n)
                    .and_then(|r| self.whole_model(r, depth + 1))
            }
            "identifier" => self.iterated_models(n),
            _ => None,
        }
    }

    /// `[User, Order].each { |m| m.delete_all }` or `ApplicationRecord.descendants.each`: a
    /// block parameter that walks model classes.
    fn iterated_models(&self, ident: Node<'t>) -> Option<String> {
        let name = self.t(ident);
        let mut cur = ident;
        for _ in 0..MAX_CLIMB {
            cur = cur.parent()?;
            if !matches!(cur.kind(), "do_block" | "block") {
                continue;
            }
            let params = field(cur, "parameters").map(|p| self.t(p)).unwrap_or("");
            if !params
                .split(|c: char| !c.is_alphanumeric() && c != '_')
                .any(|p| p == name)
            {
                continue;
            }
            let call = self.block_call(cur)?;
            let source = self.receiver(call)?;
            let models = match source.kind() {
                "array" => {
                    let kids = named_kids(source);
                    (!kids.is_empty() && kids.iter().all(|k| k.kind() == "constant")).then(|| {
                        kids.iter()
                            .map(|k| self.t(*k))
                            .collect::<Vec<_>>()
                            .join(", ")
                    })
                }
                _ => {
                    let t = self.t(source);
                    (t.contains("descendants") || t.contains("models")).then(String::new)
                }
            };
            return models;
        }
        None
    }

    /// The destructive operation a call performs, if any.
    fn destructive_call(&self, call: Node<'t>) -> Option<(String, Vec<String>, Family)> {
        let name = self.method_name(call);
        let recv = self.receiver_text(call);
        let ar = if recv.contains("connection") || recv.contains("ActiveRecord") {
            Family::ActiveRecord
        } else {
            Family::Other
        };
        if EXEC_NAMES.contains(&name) {
            let arg = self.args(call).into_iter().next()?;
            let (op, mut tables) = self.judge_sql(&self.sql_text(arg, 0)?)?;
            if tables.is_empty() {
                tables = self.loop_tables(call, arg);
            }
            return Some((op, tables, ar));
        }
        match name {
            "truncate" | "truncate_tables" if recv.contains("connection") => Some((
                "ActiveRecord truncate".into(),
                self.symbol_args(call),
                Family::ActiveRecord,
            )),
            "truncate" | "delete" if self.args(call).is_empty() => {
                // Sequel: DB[:items].truncate / DB[:items].delete
                let r = self.receiver(call)?;
                if r.kind() != "element_reference" {
                    return None;
                }
                let table = named_kids(r)
                    .into_iter()
                    .skip(1)
                    .find_map(|k| self.literal(k));
                let op = if name == "truncate" {
                    "Sequel truncate"
                } else {
                    "Sequel delete without where"
                };
                Some((op.into(), table.into_iter().collect(), Family::Other))
            }
            "drop_table" | "drop_database" | "purge" | "purge_current" | "drop_current"
                if recv.contains("connection") || recv.contains("DatabaseTasks") =>
            {
                Some((
                    format!("ActiveRecord {name}"),
                    self.symbol_args(call),
                    Family::ActiveRecord,
                ))
            }
            "delete_all" | "destroy_all" if self.args(call).is_empty() => {
                let model = self.receiver(call).and_then(|r| self.whole_model(r, 0))?;
                let tables = model
                    .split(", ")
                    .filter(|m| !m.is_empty())
                    .map(str::to_string)
                    .collect();
                Some((format!("ActiveRecord {name}"), tables, Family::ActiveRecord))
            }
            "each" | "each_value" => {
                // `models.each(&:delete_all)`
                let arg = self.args(call).into_iter().next()?;
                let t = self.t(arg);
                if arg.kind() != "block_argument" || !matches!(t, "&:delete_all" | "&:destroy_all")
                {
                    return None;
                }
                let source = self.receiver(call)?;
                let models = match source.kind() {
                    "array" => named_kids(source)
                        .into_iter()
                        .filter(|k| k.kind() == "constant")
                        .map(|k| self.t(k).to_string())
                        .collect(),
                    _ if self.t(source).contains("descendants")
                        || self.t(source).contains("models") =>
                    {
                        vec![]
                    }
                    _ => return None,
                };
                Some((
                    format!("ActiveRecord {}", t.trim_start_matches("&:")),
                    models,
                    Family::ActiveRecord,
                ))
            }
            "clean_with" if recv.starts_with("DatabaseCleaner") => {
                let strategy = self.args(call).into_iter().next().map(|a| self.t(a))?;
                let op = match strategy {
                    ":truncation" => "DatabaseCleaner truncation",
                    ":deletion" => "DatabaseCleaner deletion",
                    _ => return None,
                };
                Some((op.into(), self.only_tables(call), Family::Cleaner))
            }
            "flushall" | "flushdb" => Some((
                format!("Redis {}", name.to_ascii_uppercase()),
                vec![],
                Family::Other,
            )),
            "purge!" | "truncate!" if recv == "Mongoid" => {
                Some((format!("Mongoid {name}"), vec![], Family::Other))
            }
            "drop" if self.args(call).is_empty() => {
                if recv.ends_with("database") {
                    Some(("MongoDB drop database".into(), vec![], Family::Other))
                } else if recv.ends_with("collection") {
                    let model = recv.strip_suffix(".collection").unwrap_or("");
                    let tables = (!model.is_empty()).then(|| model.to_string());
                    Some((
                        "MongoDB drop collection".into(),
                        tables.into_iter().collect(),
                        Family::Other,
                    ))
                } else {
                    None
                }
            }
            "delete_many" => {
                let empty = match self.args(call).first() {
                    None => true,
                    Some(a) => matches!(self.t(*a), "{}" | "Hash.new"),
                };
                empty.then(|| ("MongoDB delete_many({})".into(), vec![], Family::Other))
            }
            _ => None,
        }
    }

    /// `%w[a b].each { |t| conn.execute("TRUNCATE #{t}") }` over a literal list: its names.
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
            if matches!(p.kind(), "method" | "singleton_method" | "program") {
                break;
            }
            if matches!(p.kind(), "do_block" | "block") {
                let params = field(p, "parameters").map(|x| self.t(x)).unwrap_or("");
                let binds = params
                    .split(|c: char| !c.is_alphanumeric() && c != '_')
                    .any(|v| names.contains(v));
                if binds && let Some(list) = self.block_call(p).and_then(|c| self.receiver(c)) {
                    return self.string_list(list, 0);
                }
            }
            cur = p;
        }
        Vec::new()
    }

    /// The strings of a literal list (`%w[a b]`, `["a", :b]`), through one name binding.
    fn string_list(&self, n: Node<'t>, depth: usize) -> Vec<String> {
        match n.kind() {
            "identifier" | "constant" if depth < 2 => self
                .bindings
                .get(self.t(n))
                .map(|b| self.string_list(*b, depth + 1))
                .unwrap_or_default(),
            "string_array" | "symbol_array" | "array" => named_kids(n)
                .into_iter()
                .filter_map(|k| self.literal(k))
                .collect(),
            "call" if depth < 2 && self.method_name(n) == "freeze" => self
                .receiver(n)
                .map(|r| self.string_list(r, depth + 1))
                .unwrap_or_default(),
            _ => Vec::new(),
        }
    }

    /// `only: %w[a b]` in a DatabaseCleaner strategy: the tables it touches.
    fn only_tables(&self, n: Node<'t>) -> Vec<String> {
        let mut out = Vec::new();
        walk(n, |c| {
            if c.kind() == "pair"
                && field(c, "key").is_some_and(|k| self.t(k).trim_matches(':') == "only")
                && let Some(v) = field(c, "value")
            {
                walk(v, |x| {
                    if let Some(s) = self.literal(x) {
                        out.push(s);
                        return false;
                    }
                    true
                });
            }
            true
        });
        out
    }

    /// `DatabaseCleaner.strategy = :truncation` (or `DatabaseCleaner[:x].strategy = [...]`).
    fn destructive_assignment(&self, a: Node<'t>) -> Option<(String, Vec<String>, Family)> {
        let left = field(a, "left")?;
        let right = field(a, "right")?;
        if self.method_name(left) != "strategy"
            || !self.receiver_text(left).starts_with("DatabaseCleaner")
        {
            return None;
        }
        let r = self.t(right);
        let op = if r.contains(":truncation") || r.contains("Truncation") {
            "DatabaseCleaner truncation"
        } else if r.contains(":deletion") || r.contains("Deletion") {
            "DatabaseCleaner deletion"
        } else {
            return None;
        };
        Some((op.into(), self.only_tables(right), Family::Cleaner))
    }

    /// Where the code turns off DatabaseCleaner's refusal of remote URLs or production.
    fn cleaner_refusal_off(&self) -> Option<String> {
        let mut found = None;
        walk(self.root, |n| {
            if found.is_some() {
                return false;
            }
            if !matches!(n.kind(), "assignment" | "operator_assignment") {
                return true;
            }
            let (Some(l), Some(r)) = (field(n, "left"), field(n, "right")) else {
                return true;
            };
            let value = self.t(r);
            if matches!(value, "false" | "nil" | "'false'" | "\"false\"") {
                return true;
            }
            let lt = self.t(l);
            let what = if lt.starts_with("DatabaseCleaner")
                && lt.ends_with("allow_remote_database_url")
                || lt.contains("DATABASE_CLEANER_ALLOW_REMOTE_DATABASE_URL")
            {
                Some("remote-URL")
            } else if lt.starts_with("DatabaseCleaner") && lt.ends_with("allow_production")
                || lt.contains("DATABASE_CLEANER_ALLOW_PRODUCTION")
            {
                Some("production")
            } else {
                None
            };
            if let Some(what) = what {
                found = Some(format!(
                    "DatabaseCleaner's {what} refusal is turned off on line {}",
                    line(n)
                ));
            }
            true
        });
        found
    }

    fn maintains_test_schema(&self) -> bool {
        let mut found = false;
        walk(self.root, |n| {
            if n.kind() == "call" && self.method_name(n) == "maintain_test_schema!" {
                found = true;
            }
            !found
        });
        found
    }

    // ---- verdicts ---------------------------------------------------------------------------

    /// Is `pos` guarded: by statements before it in its hook or method, by an enclosing check, by
    /// a rolled-back transaction, by a load-time check, by an earlier hook, or by every caller?
    fn verdict(&self, pos: Node<'t>, depth: usize) -> Verdict {
        let mut skippable = None;
        let mut after = None;
        let mut child = pos;
        let mut unit = Unit::Load;
        for _ in 0..MAX_CLIMB {
            let Some(parent) = child.parent() else { break };
            let kind = parent.kind();
            if is_container(kind) {
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
            let cond = || field(parent, "condition").and_then(|c| self.cond_pol(c, 0));
            let guarded = match kind {
                "if" => {
                    same(field(parent, "consequence"), child) && cond() == Some(Pol::Safe)
                        || same(field(parent, "alternative"), child) && cond() == Some(Pol::Unsafe)
                }
                "unless" => {
                    same(field(parent, "consequence"), child) && cond() == Some(Pol::Unsafe)
                        || same(field(parent, "alternative"), child) && cond() == Some(Pol::Safe)
                }
                "if_modifier" => same(field(parent, "body"), child) && cond() == Some(Pol::Safe),
                "unless_modifier" => {
                    same(field(parent, "body"), child) && cond() == Some(Pol::Unsafe)
                }
                "binary" => {
                    same(field(parent, "right"), child)
                        && matches!(self.operator(parent), "&&" | "and")
                        && field(parent, "left").and_then(|l| self.cond_pol(l, 0))
                            == Some(Pol::Safe)
                }
                "do_block" | "block" => self.rolled_back(parent),
                _ => false,
            };
            if guarded {
                return Verdict::Guarded;
            }
            if let Some(u) = self.unit_of(parent) {
                unit = u;
                break;
            }
            child = parent;
        }
        let own = skippable
            .map(|l| format!("the guard on line {l} sits in a branch that can be skipped"))
            .or_else(|| after.map(|l| format!("the guard on line {l} runs after it")));
        if self.ctx.inherited.module_guard || self.ctx.inherited.autouse_guard {
            return Verdict::Guarded;
        }
        if matches!(unit, Unit::Load) {
            return Verdict::Open(own);
        }
        let load_hint = match self.load_guard.get_or_init(|| self.load_time_guard()) {
            Some(GuardHit::Direct(_)) => return Verdict::Guarded,
            Some(GuardHit::Nested(l)) => Some(format!(
                "the guard on line {l} sits in a branch that can be skipped"
            )),
            None => None,
        };
        let own = own.or(load_hint);
        let (phase, node, group) = match unit {
            Unit::Hook { phase, node, group } => (phase, node, group),
            Unit::Def(def) => {
                let name = field(def, "name").map(|n| self.t(n)).unwrap_or("");
                let uses = self.uses_of(name, def);
                if !uses.is_empty() {
                    if depth >= MAX_CALLERS {
                        return Verdict::Open(own);
                    }
                    return match self.callers_verdict(def, uses, depth) {
                        Verdict::Guarded => Verdict::Guarded,
                        Verdict::Open(h) => Verdict::Open(own.or(h)),
                    };
                }
                // Nobody here calls it: a support method that examples call.
                (Phase::Example, def, self.group_of(def))
            }
            Unit::Load => return Verdict::Open(own),
        };
        let mut hint = own;
        for g in &self.guard_hooks {
            if g.node.id() == node.id() {
                continue;
            }
            let (l, direct) = match g.hit {
                GuardHit::Direct(l) => (l, true),
                GuardHit::Nested(l) => (l, false),
            };
            match self.covers(g, phase, node, group) {
                Ok(()) if direct => return Verdict::Guarded,
                Ok(()) => {
                    hint.get_or_insert(format!(
                        "the guard on line {l} sits in a branch that can be skipped"
                    ));
                }
                Err(Some(why)) => {
                    hint.get_or_insert(why.replace("{l}", &l.to_string()));
                }
                Err(None) => {}
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

    /// Does guard hook `g` run before, and stop, code in a `phase` unit `node` of `group`?
    /// `Err(Some(reason))` when it runs but too late or cannot stop it; `Err(None)` when it is
    /// unrelated (another group).
    fn covers(
        &self,
        g: &GuardHook<'t>,
        phase: Phase,
        node: Node<'t>,
        group: Node<'t>,
    ) -> Result<(), Option<&'static str>> {
        use Phase::*;
        if !self.within(group, g.group) {
            return Err(None);
        }
        let nested = group.id() != g.group.id() && !self.within(g.group, group);
        let earlier = g.node.start_byte() < node.start_byte();
        match (g.phase, phase) {
            (Suite, Suite) if earlier => Ok(()),
            (Suite, AfterSuite) => Err(Some(
                "the guard on line {l} is in before(:suite), and RSpec still runs after(:suite) hooks when it fails",
            )),
            (Suite, Suite) => Err(Some("the guard on line {l} runs after it")),
            (Suite, _) => Ok(()),
            (All, All) if nested || earlier => Ok(()),
            (All, Each | Example | AfterEach) => Ok(()),
            (All, AfterAll) if nested => Ok(()),
            (All, AfterAll) => Err(Some(
                "the guard on line {l} is in before(:all), and RSpec still runs after(:all) hooks when it fails",
            )),
            (Each, Each) if nested || earlier => Ok(()),
            (Each, Example) => Ok(()),
            (Each, AfterEach) => Err(Some(
                "the guard on line {l} is in a before hook, and after hooks still run when it fails",
            )),
            _ => Err(Some("the guard on line {l} runs after it")),
        }
    }

    /// `ActiveRecord::Base.transaction do ... raise ActiveRecord::Rollback end`.
    fn rolled_back(&self, block: Node<'t>) -> bool {
        let Some(call) = self.block_call(block) else {
            return false;
        };
        if self.method_name(call) != "transaction" {
            return false;
        }
        field(block, "body").is_some_and(|b| {
            named_kids(b).into_iter().any(|s| {
                matches!(self.method_name(s), "raise" | "fail") && self.t(s).contains("Rollback")
            })
        })
    }

    /// Calls of the method `name` (and `setup :name` callbacks) outside its own body.
    fn uses_of(&self, name: &str, def: Node<'t>) -> Vec<Node<'t>> {
        let mut uses = Vec::new();
        let symbol = format!(":{name}");
        walk(self.root, |n| {
            if n.id() == def.id() {
                return false;
            }
            match n.kind() {
                "call" | "identifier" if self.method_name(n) == name => {
                    let is_method_slot = n
                        .parent()
                        .is_some_and(|p| p.kind() == "call" && same(field(p, "method"), n));
                    if !is_method_slot {
                        uses.push(n);
                    }
                }
                "simple_symbol" if self.t(n) == symbol => uses.push(n),
                _ => {}
            }
            true
        });
        uses
    }

    fn run(&self) -> FileAnalysis {
        let mut ops = Vec::new();
        walk(self.root, |n| {
            let found = match n.kind() {
                "call" => self.destructive_call(n),
                "assignment" => self.destructive_assignment(n),
                _ => None,
            };
            if let Some((operation, tables, family)) = found {
                ops.push(Op {
                    node: n,
                    operation,
                    tables,
                    family,
                });
            }
            true
        });
        // Each is a whole-tree walk, needed only for its family of operation, and only when the
        // file spells the setting at all.
        let refusal_off = if ops.iter().any(|o| o.family == Family::Cleaner)
            && (self.src.contains("allow_remote_database_url")
                || self.src.contains("allow_production")
                || self.src.contains("DATABASE_CLEANER_ALLOW_"))
        {
            self.cleaner_refusal_off()
        } else {
            None
        };
        let schema_kept = ops.iter().any(|o| o.family == Family::ActiveRecord)
            && self.src.contains("maintain_test_schema!")
            && self.maintains_test_schema();
        let mut unguarded = Vec::new();
        for op in ops {
            let cleaner_safe = op.family == Family::Cleaner && refusal_off.is_none();
            let rails_safe = op.family == Family::ActiveRecord && schema_kept;
            if cleaner_safe || rails_safe {
                continue;
            }
            let Verdict::Open(hint) = self.verdict(op.node, 0) else {
                continue;
            };
            let reason = (op.family == Family::Cleaner)
                .then(|| refusal_off.clone())
                .flatten()
                .or(hint)
                .unwrap_or_else(|| "no guard runs before it".to_string());
            unguarded.push(UnguardedOp {
                op: DestructiveOp {
                    span: op.node.byte_range(),
                    operation: op.operation,
                    tables: op.tables,
                    scope: self.scope_name(op.node),
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

    /// `before(:suite)`, `setup`, `it`, `reset_db`: the hook or method holding `n`.
    fn scope_name(&self, n: Node<'t>) -> Option<String> {
        let mut cur = n;
        for _ in 0..MAX_CLIMB {
            cur = cur.parent()?;
            match self.unit_of(cur) {
                Some(Unit::Def(d)) => return field(d, "name").map(|x| self.t(x).to_string()),
                Some(Unit::Hook { node, .. }) => {
                    if matches!(node.kind(), "method" | "singleton_method") {
                        return field(node, "name").map(|x| self.t(x).to_string());
                    }
                    let name = self.method_name(node);
                    let arg = self
                        .args(node)
                        .into_iter()
                        .find(|a| a.kind() == "simple_symbol")
                        .map(|a| self.t(a));
                    return Some(match arg {
                        Some(a) => format!("{name}({a})"),
                        None => name.to_string(),
                    });
                }
                Some(Unit::Load) => return None,
                None => {}
            }
        }
        None
    }

    /// The statements of a block that run a guard, in order, as (node id, start byte, hit):
    /// found once per block, so judging many operations in one block stays linear.
    fn list_guards(&self, list: Node<'t>) -> ListGuards {
        if let Some(v) = self.list_guard_cache.borrow().get(&list.id()) {
            return Rc::clone(v);
        }
        let v: ListGuards = named_kids(list)
            .into_iter()
            .filter(|sib| !self.is_unit_call(*sib))
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
        let guard = "abort(\"refusing to clean #{ActiveRecord::Base.connection_db_config.host}\") unless Rails.env.test?";
        let minitest =
            self.src.contains("Minitest") || self.src.contains("ActiveSupport::TestCase");
        if minitest && !self.src.contains("RSpec") {
            format!("make this the first line of `setup`, before anything is deleted: `{guard}`")
        } else {
            format!(
                "make this the first line of `config.before(:suite)`, before the cleaner runs: `{guard}`"
            )
        }
    }

    fn exports(&self) -> Exports {
        let mut guard_helpers: Vec<String> = self.guard_helpers.iter().cloned().collect();
        guard_helpers.sort();
        let module_guard = matches!(self.load_time_guard(), Some(GuardHit::Direct(_)));
        let autouse_guard = self.guard_hooks.iter().any(|g| {
            matches!(g.hit, GuardHit::Direct(_))
                && (g.group.id() == self.root.id()
                    || self
                        .block_call(g.group)
                        .is_some_and(|c| self.method_name(c) == "configure"))
        });
        // Shared contexts whose hooks guard, for `include_context` elsewhere.
        let mut guard_fixtures: Vec<String> = self
            .guard_hooks
            .iter()
            .filter(|g| matches!(g.hit, GuardHit::Direct(_)))
            .filter_map(|g| {
                let call = self.block_call(g.group)?;
                (self.method_name(call) == "shared_context")
                    .then(|| self.args(call).first().and_then(|a| self.literal(*a)))
                    .flatten()
            })
            .collect();
        guard_fixtures.sort();
        guard_fixtures.dedup();
        Exports {
            module_guard,
            guard_fixtures,
            autouse_guard,
            guard_helpers,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Analyses `src`, and checks that slicing it changes nothing.
    fn analyse(src: &str, ctx: &Context) -> FileAnalysis {
        crate::lang::analyze_checked(crate::lang::Lang::Ruby, src, ctx)
    }

    /// (line, operation, reason) of every unguarded operation.
    fn findings_with(src: &str, ctx: &Context) -> Vec<(usize, String, String)> {
        let analysis = analyse(src, ctx);
        assert!(
            analysis.unguarded.is_empty() || may_destroy(src),
            "the prefilter would skip a file with a finding:\n{src}"
        );
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
    fn prefilter_narrows_delete_to_the_forms_the_analysis_reports() {
        for hit in [
            "before { Order.delete_all }",
            "DB[:orders].delete",
            "conn.execute(<<~SQL)\n  DELETE\n  FROM orders\nSQL",
            "client[:orders].delete_many",
        ] {
            assert!(may_destroy(hit), "{hit}");
        }
        for miss in [
            "delete :destroy, params: { id: order.id }",
            "delete \"/orders/#{order.id}\"",
            "params.delete(:token)",
            "order.delete",
        ] {
            assert!(!may_destroy(miss), "{miss}");
        }
    }

    #[test]
    fn many_operations_in_one_hook_are_judged_against_its_guards() {
        let op = "    ActiveRecord::Base.connection.execute(\"DELETE FROM orders\")\n";
        let src = format!(
            "describe Order do\n  before do\n{}    raise \"not test\" unless Rails.env.test?\n{}  end\nend\n",
            op.repeat(1_500),
            op.repeat(1_500)
        );
        let got = findings(&src);
        assert_eq!(got.len(), 1_500);
        assert!(
            got.iter()
                .enumerate()
                .all(|(i, (line, op, reason))| *line == i + 3
                    && op == "DELETE FROM without WHERE"
                    && reason == "the guard on line 1503 runs after it"),
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
            "unguarded hook truncates",
            r#"RSpec.configure do |config|
  config.before(:each) do
    ActiveRecord::Base.connection.execute("TRUNCATE categories, cms_blocks CASCADE")
  end
end
"#,
            &[(3, "TRUNCATE", "no guard runs before it")],
        ),
        (
            "guarded in the same hook",
            r#"RSpec.configure do |config|
  config.before(:each) do
    raise "refusing to truncate outside test" unless ENV["RAILS_ENV"] == "test"
    ActiveRecord::Base.connection.execute("TRUNCATE categories")
  end
end
"#,
            &[],
        ),
        (
            "guarded in before(:suite) it depends on",
            r#"RSpec.configure do |config|
  config.before(:suite) do
    abort("refusing to clean #{ActiveRecord::Base.connection_db_config.host}") unless Rails.env.test?
  end
  config.before(:each) do
    User.delete_all
    Redis.new.flushall
  end
end
"#,
            &[],
        ),
        (
            "guarded in minitest setup and before(:all)",
            r#"class OrdersTest < ActiveSupport::TestCase
  setup do
    assert_equal "test", Rails.env
  end
  test "empties orders" do
    Order.delete_all
  end
end
describe Order do
  before(:all) { skip "not a test database" unless ActiveRecord::Base.connection.current_database.end_with?("_test") }
  before { Order.destroy_all }
end
"#,
            &[],
        ),
        (
            "guarded by a helper in the same file",
            r#"def ensure_test_database!
  raise "not a test database" unless ActiveRecord::Base.connection_db_config.host.match?(/staging|localhost/)
end

RSpec.describe Order do
  before do
    ensure_test_database!
    ActiveRecord::Base.connection.truncate(:orders)
  end
end
"#,
            &[],
        ),
        (
            "guard after the operation",
            r#"describe Order do
  before do
    ActiveRecord::Base.connection.execute("DELETE FROM orders")
    raise "not test" unless Rails.env.test?
  end
end
describe Coupon do
  before { Mongoid.purge! }
  before { raise "not test" unless Rails.env.test? }
end
"#,
            &[
                (3, "DELETE FROM", "the guard on line 4 runs after it"),
                (8, "Mongoid purge!", "the guard on line 9 runs after it"),
            ],
        ),
        (
            "guard in a skippable branch",
            r#"describe Order do
  before do
    if ENV["CI"]
      raise "not test" unless Rails.env.test?
    end
    Order.delete_all
  end
end
"#,
            &[(
                6,
                "delete_all",
                "the guard on line 4 sits in a branch that can be skipped",
            )],
        ),
        (
            "DatabaseCleaner refuses remote URLs and production by itself",
            r#"RSpec.configure do |config|
  config.before(:suite) do
    DatabaseCleaner.strategy = :transaction
    DatabaseCleaner.clean_with(:truncation)
    DatabaseCleaner[:active_record].strategy = [:deletion, { only: %w[orders] }]
  end
end
"#,
            &[],
        ),
        (
            "Rails test schema and rolled-back transactions",
            r#"require "spec_helper"
ActiveRecord::Migration.maintain_test_schema!
RSpec.configure do |config|
  config.before(:each) { User.delete_all }
end
describe Order do
  it "rolls back" do
    Redis.current.flushdb
  end
end
"#,
            &[(8, "Redis FLUSHDB", "no guard")],
        ),
        (
            "a transaction that rolls back is safe",
            r#"describe Order do
  it "rolls back" do
    ActiveRecord::Base.transaction do
      Order.delete_all
      raise ActiveRecord::Rollback
    end
  end
end
"#,
            &[],
        ),
        (
            "DatabaseCleaner refusal turned off",
            r#"DatabaseCleaner.allow_remote_database_url = true
RSpec.configure do |config|
  config.before(:suite) do
    DatabaseCleaner.clean_with(:truncation)
  end
end
"#,
            &[(
                4,
                "DatabaseCleaner truncation",
                "DatabaseCleaner's remote-URL refusal is turned off on line 1",
            )],
        ),
        (
            "DatabaseCleaner production refusal turned off through ENV",
            r#"ENV["DATABASE_CLEANER_ALLOW_PRODUCTION"] = "true"
RSpec.configure do |config|
  config.before(:suite) { DatabaseCleaner.strategy = :deletion }
end
"#,
            &[(
                3,
                "DatabaseCleaner deletion",
                "production refusal is turned off on line 1",
            )],
        ),
        (
            "destructive string never executed, narrowed deletes",
            r#"RESET_SQL = "TRUNCATE users"
describe User do
  before do
    puts "DROP TABLE users"
    User.where(active: false).delete_all
    user.posts.delete_all
    ActiveRecord::Base.connection.execute("DELETE FROM users WHERE id = #{id}")
  end
end
"#,
            &[],
        ),
        (
            "SQL in a constant, a heredoc and an interpolation",
            r#"RESET_SQL = "TRUNCATE users"
describe User do
  before do
    ActiveRecord::Base.connection.execute(RESET_SQL)
    ActiveRecord::Base.connection.execute(<<~SQL)
      DELETE FROM coupons WHERE created_at < NOW()
    SQL
    tables.each { |t| ActiveRecord::Base.connection.execute("TRUNCATE #{t} CASCADE") }
  end
end
"#,
            &[
                (4, "TRUNCATE", "no guard"),
                (5, "DELETE FROM", "no guard"),
                (8, "TRUNCATE", "no guard"),
            ],
        ),
        (
            "Rails' default production abort at load time guards the file",
            r#"ENV["RAILS_ENV"] ||= "test"
abort("The Rails environment is running in production mode!") if Rails.env.production?
RSpec.configure do |config|
  config.before(:each) { User.delete_all }
end
"#,
            &[],
        ),
        (
            "a guard that only logs, or checks something else, does not stop",
            r#"describe User do
  before do
    Rails.logger.warn("not test") unless Rails.env.test?
    raise "no CI" unless ENV["CI"]
    User.delete_all
  end
end
"#,
            &[(5, "delete_all", "no guard")],
        ),
        (
            "positive environment branch guards, production branch does not",
            r#"describe User do
  before do
    User.delete_all if Rails.env.test?
    Order.delete_all if Rails.env.production?
    if ENV["RAILS_ENV"] == "test"
      Coupon.delete_all
    end
  end
end
"#,
            &[(4, "delete_all", "no guard")],
        ),
        (
            "before hooks do not stop after hooks",
            r#"describe User do
  before(:all) { raise "no" unless Rails.env.test? }
  before { expect(ENV["DATABASE_URL"]).to include("localhost") }
  after { User.delete_all }
  after(:all) { Order.delete_all }
end
class OrdersTest < Minitest::Test
  def setup
    assert ActiveRecord::Base.connection_db_config.database.end_with?("_test")
  end
  def teardown
    Order.delete_all
  end
end
"#,
            &[
                (5, "delete_all", "RSpec still runs after(:all)"),
                (12, "delete_all", "after hooks still run"),
            ],
        ),
        (
            "a guard hook in another group does not cover this one",
            r#"describe User do
  before { raise "no" unless Rails.env.test? }
end
describe Order do
  before { Order.delete_all }
end
"#,
            &[(5, "delete_all", "no guard")],
        ),
        (
            "helper called from guarded and unguarded hooks",
            r#"def wipe
  [User, Order].each(&:delete_all)
end
describe User do
  before { raise "no" unless Rails.env.test?; wipe }
end
describe Order do
  before { wipe }
end
"#,
            &[(2, "delete_all", "no guard")],
        ),
        (
            "returning early guards only the method it returns from",
            r#"def wipe_all
  return unless ENV["RACK_ENV"] == "test"
  Order.delete_all
end
def only_in_test
  return unless Rails.env.test?
end
describe User do
  before { only_in_test; User.delete_all }
  before(:all) { next unless Rails.env.test? }
  it { Coupon.delete_all }
end
"#,
            &[
                (9, "delete_all", "no guard"),
                (11, "delete_all", "no guard"),
            ],
        ),
        (
            "library forms without guards",
            r#"describe User do
  before do
    Mongoid.default_client.database.drop
    User.collection.drop
    DB[:items].truncate
    DB[:items].delete
    DB[:items].where(id: 1).delete
    ActiveRecord::Base.descendants.each { |m| m.delete_all }
    redis.call(:flushall)
  end
end
"#,
            &[
                (3, "MongoDB drop database", "no guard"),
                (4, "MongoDB drop collection", "no guard"),
                (5, "Sequel truncate", "no guard"),
                (6, "Sequel delete", "no guard"),
                (8, "delete_all", "no guard"),
                (9, "FLUSHALL", "no guard"),
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
        let src = "RSpec.configure do |config|\n  config.before(:suite) do\n    ActiveRecord::Base.connection.truncate(:orders)\n  end\nend\n";
        let a = analyse(src, &Context::default());
        let u = &a.unguarded[0];
        assert_eq!(u.op.operation, "ActiveRecord truncate");
        assert_eq!(u.op.tables, vec!["orders"]);
        assert_eq!(u.op.scope.as_deref(), Some("before(:suite)"));
        assert_eq!(
            &src[u.op.span.clone()],
            "ActiveRecord::Base.connection.truncate(:orders)"
        );
        assert!(
            u.help.contains("before(:suite)") && u.help.contains("Rails.env.test?"),
            "{}",
            u.help
        );
        let looped = "TABLES = %w[categories cms_blocks].freeze\ndescribe X do\n  before { TABLES.each { |t| ActiveRecord::Base.connection.execute(\"TRUNCATE TABLE #{t} CASCADE\") } }\nend\n";
        let a = analyse(looped, &Context::default());
        assert_eq!(a.unguarded[0].op.tables, vec!["categories", "cms_blocks"]);
        let minitest = "class T < Minitest::Test\n  def setup\n    User.delete_all\n  end\nend\n";
        let a = analyse(minitest, &Context::default());
        assert_eq!(a.unguarded[0].op.tables, vec!["User"]);
        assert_eq!(a.unguarded[0].op.scope.as_deref(), Some("setup"));
        assert!(a.unguarded[0].help.contains("`setup`"));
    }

    #[test]
    fn context_guards_and_exports() {
        let src = "describe User do\n  before do\n    DbSafety.assert_test_database!\n    User.delete_all\n  end\nend\n";
        assert_eq!(findings(src).len(), 1);
        let listed = Context {
            extra_guards: vec!["assert_test_database!".into()],
            ..Context::default()
        };
        assert!(findings_with(src, &listed).is_empty());
        let inherited = Context {
            inherited: Exports {
                autouse_guard: true,
                ..Exports::default()
            },
            ..Context::default()
        };
        assert!(findings_with(src, &inherited).is_empty());
        let shared = "describe User do\n  include_context \"test database\"\n  before { User.delete_all }\nend\n";
        assert_eq!(findings(shared).len(), 1);
        let with_fixture = Context {
            inherited: Exports {
                guard_fixtures: vec!["test database".into()],
                ..Exports::default()
            },
            ..Context::default()
        };
        assert!(findings_with(shared, &with_fixture).is_empty());

        let helper = r#"abort("production!") if Rails.env.production?
def ensure_test_db!
  raise "no" unless ENV["DATABASE_URL"].to_s.include?("localhost")
end
RSpec.configure do |config|
  config.before(:suite) { ensure_test_db! }
end
RSpec.shared_context "test database" do
  before { raise "no" unless Rails.env.test? }
end
"#;
        let exports = analyse(helper, &Context::default()).exports;
        assert!(exports.module_guard);
        assert!(exports.autouse_guard);
        assert_eq!(exports.guard_helpers, vec!["ensure_test_db!".to_string()]);
        assert_eq!(exports.guard_fixtures, vec!["test database".to_string()]);
        let plain = analyse("describe User do\n  it { }\nend\n", &Context::default()).exports;
        assert_eq!(plain, Exports::default());
    }

    #[test]
    fn broken_source_still_analysed() {
        let src = "describe User do\n  before { User.delete_all\n  def (((\n";
        analyse(src, &Context::default());
        let deep = format!("x = {}1{}\n", "[".repeat(5000), "]".repeat(5000));
        analyse(&deep, &Context::default());
        let chain = format!("before {{ User{}.delete_all }}\n", ".all".repeat(5000));
        analyse(&chain, &Context::default());
        let parens = format!(
            "before {{ if x then {}raise 'no'{} end; User.delete_all }}\n",
            "(".repeat(3000),
            ")".repeat(3000)
        );
        analyse(&parens, &Context::default());
        let hooks = "describe X do\n  before { raise 'no' unless Rails.env.test? }\n  before { User.delete_all }\nend\n"
            .repeat(300);
        assert!(analyse(&hooks, &Context::default()).unguarded.is_empty());
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]
        #[test]
        fn never_panics_and_spans_are_in_bounds(
            body in proptest::collection::vec(proptest::sample::select(vec![
                "User.delete_all\n", "raise 'no' unless Rails.env.test?\n", "before do\n", "end\n",
                "describe X do\n", "é", "def wipe\n", "wipe\n", "<<~SQL\nTRUNCATE a\nSQL\n",
                "conn.execute(\"TRUNCATE #{t}\")\n", "\"", "{", "}", "DatabaseCleaner.clean_with(:truncation)\n",
                "DatabaseCleaner.allow_production = true\n", "if x\n",
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
