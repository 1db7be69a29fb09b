//! Go test code: destructive setup (`db.Exec("TRUNCATE ...")`, gorm `DropTable`, Redis `FlushAll`,
//! Mongo `Drop`, testfixtures with its safety check off) and the guards that run before it
//! (checks in the same function, in a guard helper, or in `TestMain` before `m.Run()`).

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
/// How deep expression evaluation and caller chains go.
const MAX_DEPTH: usize = 24;

/// Analyses one Go file for destructive test setup that no guard protects.
pub fn analyze(source: &str, ctx: &Context) -> Result<FileAnalysis, String> {
    let mut parser = Parser::new();
    parser
        .set_language(&tree_sitter_go::LANGUAGE.into())
        .map_err(|e| format!("cannot load the Go grammar: {e}"))?;
    let sliced = if ctx.keep_whole {
        None
    } else {
        super::slice::go::slice(source, may_destroy, &super::slice::keeps(ctx))
    };
    let tree = super::shared::parse_sliced(&mut parser, source, sliced)
        .ok_or_else(|| "the Go parser returned no tree".to_string())?;
    let file = GoFile::new(source, tree.root_node(), ctx);
    Ok(file.run())
}

/// The prefilter, as the slicer runs it on one test's text.
fn may_destroy(source: &str) -> bool {
    super::sql_text::has_destructive_keyword(source.as_bytes())
}

/// What a condition means when it is true.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pol {
    /// True only against a test target (`env == "test"`, `strings.Contains(dsn, "localhost")`).
    Safe,
    /// True against a production target (`env == "production"`, `host != "localhost"`).
    Unsafe,
    /// Checks the target, direction unclear (`checkDB() != nil`).
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

/// For a transaction variable in a function: begun there, rolled back by a deferred call, the
/// line of its first commit.
type TxFacts = (bool, bool, Option<usize>);

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

struct GoFile<'t, 's> {
    src: &'s str,
    root: Node<'t>,
    ctx: &'s Context,
    /// Top-level functions and methods by name.
    funcs: HashMap<String, Node<'t>>,
    /// Names bound once to a single expression (consts, vars, `:=`), for SQL held in a variable.
    bindings: HashMap<String, Node<'t>>,
    guard_helpers: HashSet<String>,
    /// Functions returning a check of the target (`func isTestDB(dsn string) bool`).
    predicates: HashMap<String, Pol>,
    /// Functions returning an error when the target is wrong (`func checkTestDB() error`).
    checkers: HashSet<String>,
    guard_cache: RefCell<HashMap<(usize, bool), Option<GuardHit>>>,
    /// Verdicts over all callers of a helper, by helper node id.
    callers_cache: RefCell<HashMap<usize, Verdict>>,
    /// [`GoFile::transaction_in`] by function node id and variable.
    tx_cache: RefCell<HashMap<(usize, String), TxFacts>>,
    /// [`GoFile::list_guards`] by statement list node id.
    list_guard_cache: RefCell<HashMap<usize, ListGuards>>,
    file_guard: OnceCell<Verdict>,
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
                "tests",
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
        "stage",
        "target",
    ]
    .iter()
    .any(|w| lower.contains(w))
}

/// An environment variable name such as `APP_ENV` or `DATABASE_URL`.
fn env_var_name(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
        && target_word(s)
}

fn string_content<'s>(n: Node, src: &'s str) -> Option<&'s str> {
    match n.kind() {
        "interpreted_string_literal" | "raw_string_literal" => {
            let t = text(n, src);
            // Both delimiters are one ASCII byte, so these cuts are on char boundaries.
            t.get(1..t.len().saturating_sub(1))
        }
        _ => None,
    }
}

/// Replaces `fmt` verbs with the placeholder: `"TRUNCATE %s"` reads as `TRUNCATE premortem_expr`.
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
    "Exec",
    "ExecContext",
    "MustExec",
    "MustExecContext",
    "Query",
    "QueryContext",
    "QueryRow",
    "QueryRowContext",
    "Raw",
    "NamedExec",
    "NamedExecContext",
    "Do",
    "Prepare",
    "PrepareContext",
    "Preparex",
];

const STOP_NAMES: &[&str] = &[
    "Fatal", "Fatalf", "Fatalln", "FailNow", "Skip", "Skipf", "SkipNow", "Panic", "Panicf",
    "Panicln", "Exit", "Goexit", "Fail",
];

fn is_statement(kind: &str) -> bool {
    kind.ends_with("_statement") || (kind.ends_with("_declaration") && kind != "method_declaration")
}

impl<'t, 's> GoFile<'t, 's> {
    fn new(src: &'s str, root: Node<'t>, ctx: &'s Context) -> Self {
        let mut file = GoFile {
            src,
            root,
            ctx,
            funcs: HashMap::new(),
            bindings: HashMap::new(),
            guard_helpers: HashSet::new(),
            predicates: HashMap::new(),
            checkers: HashSet::new(),
            guard_cache: RefCell::new(HashMap::new()),
            callers_cache: RefCell::new(HashMap::new()),
            tx_cache: RefCell::new(HashMap::new()),
            list_guard_cache: RefCell::new(HashMap::new()),
            file_guard: OnceCell::new(),
        };
        file.index();
        file
    }

    fn t(&self, n: Node) -> &'s str {
        text(n, self.src)
    }

    fn index(&mut self) {
        let mut funcs = HashMap::new();
        let mut bindings: HashMap<String, Node<'t>> = HashMap::new();
        let src = self.src;
        walk(self.root, |n| {
            match n.kind() {
                "function_declaration" | "method_declaration" => {
                    if let Some(name) = field(n, "name") {
                        funcs.entry(text(name, src).to_string()).or_insert(n);
                    }
                }
                "const_spec" | "var_spec" => {
                    let names: Vec<_> = n.children_by_field_name("name", &mut n.walk()).collect();
                    if let (1, Some(value)) = (names.len(), field(n, "value")) {
                        let values = named_kids(value);
                        if values.len() == 1 {
                            bindings
                                .entry(text(names[0], src).to_string())
                                .or_insert(values[0]);
                        }
                    }
                }
                "short_var_declaration" | "assignment_statement" => {
                    if let (Some(l), Some(r)) = (field(n, "left"), field(n, "right")) {
                        let (ls, rs) = (named_kids(l), named_kids(r));
                        if ls.len() == 1 && rs.len() == 1 {
                            bindings
                                .entry(text(ls[0], src).to_string())
                                .or_insert(rs[0]);
                        }
                    }
                }
                _ => {}
            }
            true
        });
        self.funcs = funcs;
        self.bindings = bindings;
        self.classify_helpers();
    }

    /// Finds guard helpers, predicates and checkers; repeats so a helper that calls a helper counts.
    fn classify_helpers(&mut self) {
        let funcs: Vec<(String, Node<'t>)> =
            self.funcs.iter().map(|(k, v)| (k.clone(), *v)).collect();
        for _ in 0..3 {
            let mut changed = false;
            for (name, f) in &funcs {
                if matches!(name.as_str(), "TestMain" | "init") {
                    continue;
                }
                let Some(body) = field(*f, "body") else {
                    continue;
                };
                let stmts = self.body_statements(body);
                let result = field(*f, "result").map(|r| self.t(r)).unwrap_or("");
                let entry_point = ["Test", "Benchmark", "Fuzz", "Example"]
                    .iter()
                    .any(|p| name.starts_with(p));
                if !entry_point
                    && !self.guard_helpers.contains(name)
                    && stmts.iter().any(|s| self.direct_guard(*s, false).is_some())
                {
                    self.guard_helpers.insert(name.clone());
                    self.guard_cache.borrow_mut().clear();
                    changed = true;
                }
                if result == "bool" && !self.predicates.contains_key(name) {
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
                if result == "error" && !self.checkers.contains(name) && self.is_checker(&stmts) {
                    self.checkers.insert(name.clone());
                    self.guard_cache.borrow_mut().clear();
                    changed = true;
                }
            }
            if !changed {
                break;
            }
        }
    }

    /// `if <check> { return fmt.Errorf(...) }` at the top of a function returning `error`.
    fn is_checker(&self, stmts: &[Node<'t>]) -> bool {
        stmts.iter().any(|s| {
            s.kind() == "if_statement"
                && field(*s, "condition")
                    .is_some_and(|c| matches!(self.cond_pol(c, 0), Some(Pol::Unsafe | Pol::Check)))
                && field(*s, "consequence").is_some_and(|b| {
                    self.body_statements(b).iter().any(|r| {
                        r.kind() == "return_statement"
                            && r.named_child(0).is_some_and(|e| self.t(e) != "nil")
                    })
                })
        })
    }

    fn body_statements(&self, block: Node<'t>) -> Vec<Node<'t>> {
        named_kids(block)
            .into_iter()
            .flat_map(|c| {
                if c.kind() == "statement_list" {
                    named_kids(c)
                } else {
                    vec![c]
                }
            })
            .collect()
    }

    /// The callee's last name segment: `Exec` for `db.Exec`, `panic` for `panic`.
    fn callee_name(&self, call: Node<'t>) -> Option<&'s str> {
        let f = field(call, "function")?;
        match f.kind() {
            "identifier" => Some(self.t(f)),
            "selector_expression" => field(f, "field").map(|x| self.t(x)),
            _ => None,
        }
    }

    fn callee_operand(&self, call: Node<'t>) -> Option<Node<'t>> {
        let f = field(call, "function")?;
        (f.kind() == "selector_expression")
            .then(|| field(f, "operand"))
            .flatten()
    }

    fn args(&self, call: Node<'t>) -> Vec<Node<'t>> {
        field(call, "arguments").map(named_kids).unwrap_or_default()
    }

    fn is_guard_name(&self, name: &str) -> bool {
        let listed = |names: &[String]| {
            names
                .iter()
                .any(|g| g.rsplit(['.', ':']).next() == Some(name))
        };
        self.guard_helpers.contains(name)
            || listed(&self.ctx.extra_guards)
            || listed(&self.ctx.inherited.guard_helpers)
            || listed(&self.ctx.inherited.guard_fixtures)
    }

    // ---- guards --------------------------------------------------------------------------

    fn stop_stmt(&self, s: Node<'t>, local_ok: bool) -> bool {
        match s.kind() {
            "return_statement" => local_ok,
            "expression_statement" => s.named_child(0).is_some_and(|c| {
                c.kind() == "call_expression"
                    && self
                        .callee_name(c)
                        .is_some_and(|n| n == "panic" || STOP_NAMES.contains(&n))
            }),
            _ => false,
        }
    }

    fn block_stops(&self, b: Option<Node<'t>>, local_ok: bool) -> bool {
        b.is_some_and(|b| {
            b.kind() == "block"
                && self
                    .body_statements(b)
                    .iter()
                    .any(|s| self.stop_stmt(*s, local_ok))
        })
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
                let mut pol = field(s, "condition").and_then(|c| self.cond_pol(c, 0));
                // `if err := checkDB(); err != nil` or `err := checkDB()` just before the `if`.
                let checked_before = field(s, "initializer")
                    .or_else(|| s.prev_named_sibling())
                    .is_some_and(|i| self.calls_checker(i));
                if pol.is_none() && checked_before {
                    pol = Some(Pol::Check);
                }
                let fires_then = matches!(pol, Some(Pol::Unsafe | Pol::Check))
                    && self.block_stops(field(s, "consequence"), local_ok);
                let fires_else = matches!(pol, Some(Pol::Safe | Pol::Check))
                    && self.block_stops(field(s, "alternative"), local_ok);
                (fires_then || fires_else).then(|| line(s))
            }
            "expression_statement" => {
                let call = s.named_child(0).filter(|c| c.kind() == "call_expression")?;
                let name = self.callee_name(call)?;
                if self.is_guard_name(name) || self.assertion_guards(call, name) {
                    return Some(line(s));
                }
                None
            }
            _ => None,
        }
    }

    fn calls_checker(&self, n: Node<'t>) -> bool {
        let mut found = false;
        walk(n, |c| {
            if c.kind() == "call_expression"
                && self
                    .callee_name(c)
                    .is_some_and(|name| self.checkers.contains(name))
            {
                found = true;
            }
            !found
        });
        found
    }

    /// testify `require.*` assertions stop the test (`assert.*` ones do not).
    fn assertion_guards(&self, call: Node<'t>, name: &str) -> bool {
        let Some(pkg) = self.callee_operand(call) else {
            return false;
        };
        if self.t(pkg) != "require" {
            return false;
        }
        let args = self.args(call);
        let rest: Vec<Node<'t>> = args.into_iter().skip(1).collect();
        match name {
            "True" => rest
                .first()
                .and_then(|c| self.cond_pol(*c, 0))
                .is_some_and(|p| p != Pol::Unsafe),
            "False" => rest
                .first()
                .and_then(|c| self.cond_pol(*c, 0))
                .is_some_and(|p| p != Pol::Safe),
            "NoError" | "Nil" => rest.first().is_some_and(|c| self.calls_checker(*c)),
            "Contains" | "Equal" | "Regexp" | "EqualValues" => {
                self.compare_pol(&rest) == Some(Pol::Safe)
            }
            "NotContains" | "NotEqual" | "NotRegexp" => {
                self.compare_pol(&rest) == Some(Pol::Unsafe)
            }
            _ => false,
        }
    }

    /// One side reads the target, another is a marker literal: the marker's polarity.
    fn compare_pol(&self, sides: &[Node<'t>]) -> Option<Pol> {
        let marker = sides
            .iter()
            .find_map(|s| string_content(*s, self.src).and_then(marker_pol))?;
        sides
            .iter()
            .any(|s| string_content(*s, self.src).is_none() && self.reads_target(*s))
            .then_some(marker)
    }

    fn reads_target(&self, n: Node<'t>) -> bool {
        let mut found = false;
        walk(n, |c| {
            match c.kind() {
                "identifier" | "field_identifier" => found |= target_word(self.t(c)),
                "interpreted_string_literal" | "raw_string_literal" => {
                    found |= string_content(c, self.src).is_some_and(env_var_name)
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
            "parenthesized_expression" | "expression_list" if n.named_child_count() == 1 => {
                n.named_child(0).and_then(|c| self.cond_pol(c, d))
            }
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
                    "==" | "!=" => {
                        // What it means for the two sides to be equal.
                        let is_nil = |x: Node| self.t(x) == "nil";
                        let equal = if is_nil(r) && self.calls_checker(l)
                            || is_nil(l) && self.calls_checker(r)
                        {
                            Some(Pol::Safe)
                        } else {
                            self.compare_pol(&[l, r])
                        };
                        if op == "==" {
                            equal
                        } else {
                            equal.map(Pol::flip)
                        }
                    }
                    _ => None,
                }
            }
            "call_expression" => {
                let name = self.callee_name(n)?;
                if let Some(p) = self.predicates.get(name) {
                    return Some(*p);
                }
                if self.checkers.contains(name) {
                    return Some(Pol::Check);
                }
                let mut sides = self.args(n);
                if let Some(op) = self.callee_operand(n) {
                    sides.push(op);
                }
                if let Some(p) = self.compare_pol(&sides) {
                    return Some(if name.starts_with("Not") { p.flip() } else { p });
                }
                let allowlist = name == "Contains"
                    && sides.iter().any(|s| {
                        let t = self.t(*s).to_ascii_lowercase();
                        ["allow", "safe", "permit", "known"]
                            .iter()
                            .any(|w| t.contains(w))
                    })
                    && sides.iter().any(|s| self.reads_target(*s));
                allowlist.then_some(Pol::Safe)
            }
            "identifier" => {
                let bound = *self.bindings.get(self.t(n))?;
                (bound.id() != n.id())
                    .then(|| self.cond_pol(bound, d))
                    .flatten()
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
            "interpreted_string_literal" | "raw_string_literal" => {
                string_content(n, self.src).map(str::to_string)
            }
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
            "call_expression" if self.callee_name(n) == Some("Sprintf") => {
                let format = self.args(n).into_iter().next()?;
                self.sql_text(format, d).map(|f| fill_format(&f))
            }
            "identifier" => {
                let bound = *self.bindings.get(self.t(n))?;
                (bound.id() != n.id())
                    .then(|| self.sql_text(bound, d))
                    .flatten()
            }
            _ => None,
        }
    }

    fn string_args(&self, call: Node<'t>) -> Vec<String> {
        self.args(call)
            .into_iter()
            .filter_map(|a| string_content(a, self.src).map(str::to_string))
            .collect()
    }

    /// Names of the models in `&User{}` style arguments and the tables in string arguments.
    fn model_args(&self, call: Node<'t>) -> Vec<String> {
        let mut out = Vec::new();
        for a in self.args(call) {
            if let Some(s) = string_content(a, self.src) {
                out.push(s.to_string());
                continue;
            }
            let mut name = None;
            walk(a, |c| {
                if name.is_none() && c.kind() == "composite_literal" {
                    name = field(c, "type").map(|t| self.t(t).to_string());
                }
                name.is_none()
            });
            out.extend(name);
        }
        out
    }

    fn receiver_chain_text(&self, call: Node<'t>) -> &'s str {
        self.callee_operand(call).map(|o| self.t(o)).unwrap_or("")
    }

    /// The destructive operation a call performs, if any: (operation, tables).
    fn destructive_call(
        &self,
        call: Node<'t>,
        fixtures_off: bool,
    ) -> Option<(String, Vec<String>)> {
        let name = self.callee_name(call)?;
        if EXEC_NAMES.contains(&name) {
            for arg in self.args(call) {
                if let Some(d) = self.sql_text(arg, 0).as_deref().and_then(destructive_sql) {
                    let mut tables: Vec<String> =
                        d.tables.into_iter().filter(|t| t != PLACEHOLDER).collect();
                    if tables.is_empty() {
                        tables = self.loop_tables(call, arg);
                    }
                    return Some((d.operation, tables));
                }
            }
            return None;
        }
        match name {
            "FlushAll" | "FlushAllAsync" => Some(("Redis FLUSHALL".into(), vec![])),
            "FlushDB" | "FlushDBAsync" => Some(("Redis FLUSHDB".into(), vec![])),
            "DropTable" => Some(("gorm DropTable".into(), self.model_args(call))),
            "Delete" => {
                let chain = self.receiver_chain_text(call);
                let global = chain.contains("AllowGlobalUpdate: true");
                let tautology = self.tautological_where(call);
                (global || tautology).then(|| {
                    (
                        "gorm Delete without conditions".to_string(),
                        self.model_args(call),
                    )
                })
            }
            "Drop" => {
                let recv = self.callee_operand(call)?;
                let (what, names) = match recv.kind() {
                    "call_expression" => {
                        let kind = match self.callee_name(recv)? {
                            "Database" => "database",
                            "Collection" => "collection",
                            _ => return None,
                        };
                        (kind, self.string_args(recv))
                    }
                    "identifier" | "selector_expression" => {
                        let t = self.t(recv).to_ascii_lowercase();
                        if t.contains("coll") {
                            ("collection", vec![])
                        } else if t.contains("db") || t.contains("database") {
                            ("database", vec![])
                        } else {
                            return None;
                        }
                    }
                    _ => return None,
                };
                Some((format!("MongoDB drop {what}"), names))
            }
            "DeleteMany" => {
                let filter = self.args(call).into_iter().nth(1)?;
                let empty = filter.kind() == "composite_literal"
                    && field(filter, "body").is_some_and(|b| b.named_child_count() == 0);
                empty.then(|| ("MongoDB deleteMany({})".to_string(), vec![]))
            }
            "Load" if fixtures_off => {
                let recv = self.callee_operand(call)?;
                let bound = self.bindings.get(self.t(recv))?;
                self.t(*bound).starts_with("testfixtures.New").then(|| {
                    (
                        "testfixtures Load (empties every fixture table)".to_string(),
                        vec![],
                    )
                })
            }
            _ => None,
        }
    }

    /// `for _, t := range tables { db.Exec("TRUNCATE " + t) }` over a literal list: its names.
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
                "for_statement" => {
                    let range = named_kids(p)
                        .into_iter()
                        .find(|c| c.kind() == "range_clause");
                    if let Some(range) = range
                        && field(range, "left").is_some_and(|l| {
                            named_kids(l).iter().any(|v| names.contains(self.t(*v)))
                        })
                        && let Some(list) = field(range, "right")
                    {
                        return self.string_list(list, 0);
                    }
                }
                "function_declaration" | "method_declaration" => break,
                _ => {}
            }
            cur = p;
        }
        Vec::new()
    }

    /// The strings of a literal list (`[]string{"a", "b"}`), through one name binding.
    fn string_list(&self, n: Node<'t>, depth: usize) -> Vec<String> {
        match n.kind() {
            "identifier" if depth < 2 => self
                .bindings
                .get(self.t(n))
                .map(|b| self.string_list(*b, depth + 1))
                .unwrap_or_default(),
            "composite_literal" => {
                let mut out = Vec::new();
                walk(n, |c| {
                    if let Some(s) = string_content(c, self.src) {
                        out.push(s.to_string());
                        return false;
                    }
                    true
                });
                out
            }
            _ => Vec::new(),
        }
    }

    /// gorm `db.Where("1 = 1").Delete(&User{})`: the WHERE matches every row.
    fn tautological_where(&self, call: Node<'t>) -> bool {
        let mut recv = self.callee_operand(call);
        for _ in 0..MAX_DEPTH {
            let Some(r) = recv.filter(|r| r.kind() == "call_expression") else {
                return false;
            };
            if self.callee_name(r) == Some("Where") {
                let Some(cond) = self.args(r).first().and_then(|a| self.sql_text(*a, 0)) else {
                    return false;
                };
                return destructive_sql(&format!("DELETE FROM t WHERE {cond}")).is_some();
            }
            recv = self.callee_operand(r);
        }
        false
    }

    fn enclosing_func(&self, n: Node<'t>) -> Option<Node<'t>> {
        let mut cur = n;
        for _ in 0..MAX_CLIMB {
            cur = cur.parent()?;
            if matches!(cur.kind(), "function_declaration" | "method_declaration") {
                return Some(cur);
            }
        }
        None
    }

    fn func_name(&self, f: Node<'t>) -> Option<&'s str> {
        field(f, "name").map(|n| self.t(n))
    }

    // ---- verdicts ---------------------------------------------------------------------------

    /// The guard state `TestMain` (or `init`) gives the whole file: guarded, or a hint for why not.
    fn file_guard(&self) -> Verdict {
        self.file_guard
            .get_or_init(|| self.compute_file_guard())
            .clone()
    }

    fn compute_file_guard(&self) -> Verdict {
        if self.ctx.inherited.module_guard || self.ctx.inherited.autouse_guard {
            return Verdict::Guarded;
        }
        let mut hint = None;
        if let Some(init) = self.funcs.get("init").and_then(|f| field(*f, "body")) {
            for s in self.body_statements(init) {
                match self.stmt_guard(s, false) {
                    Some(GuardHit::Direct(_)) => return Verdict::Guarded,
                    Some(GuardHit::Nested(l)) => {
                        hint.get_or_insert(format!(
                            "the guard on line {l} sits in a branch that can be skipped"
                        ));
                    }
                    None => {}
                }
            }
        }
        if let Some(main) = self.funcs.get("TestMain").and_then(|f| field(*f, "body")) {
            let mut after_run = false;
            for s in self.body_statements(main) {
                let runs = self.calls_m_run(s);
                // Returning from TestMain before m.Run() runs no test at all.
                match (self.stmt_guard(s, true), after_run || runs) {
                    (Some(GuardHit::Direct(_)), false) => return Verdict::Guarded,
                    (Some(GuardHit::Direct(l) | GuardHit::Nested(l)), true) => {
                        hint.get_or_insert(format!("the guard on line {l} runs after it"));
                    }
                    (Some(GuardHit::Nested(l)), false) => {
                        hint.get_or_insert(format!(
                            "the guard on line {l} sits in a branch that can be skipped"
                        ));
                    }
                    (None, _) => {}
                }
                after_run |= runs;
            }
        }
        Verdict::Open(hint)
    }

    fn calls_m_run(&self, s: Node<'t>) -> bool {
        let mut found = false;
        walk(s, |c| {
            if c.kind() == "call_expression"
                && self.callee_name(c) == Some("Run")
                && self.args(c).is_empty()
            {
                found = true;
            }
            !found
        });
        found
    }

    /// Is `pos` guarded: by statements before it in its function, by an enclosing check, by
    /// `TestMain`, or at every place its function is called from?
    fn verdict(&self, pos: Node<'t>, depth: usize) -> Verdict {
        let mut skippable = None;
        let mut after = None;
        let mut child = pos;
        let mut func = None;
        for _ in 0..MAX_CLIMB {
            let Some(parent) = child.parent() else { break };
            match parent.kind() {
                "statement_list" => {
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
                "function_declaration" | "method_declaration" => {
                    func = Some(parent);
                    break;
                }
                _ => {}
            }
            child = parent;
        }
        let own_hint = skippable
            .map(|l| format!("the guard on line {l} sits in a branch that can be skipped"))
            .or_else(|| after.map(|l| format!("the guard on line {l} runs after it")));
        let name = func.and_then(|f| self.func_name(f)).unwrap_or("");
        // TestMain guards what runs after it; init() runs before it.
        if name == "TestMain" || name == "init" && func.is_some() {
            let inherited = self.ctx.inherited.module_guard || self.ctx.inherited.autouse_guard;
            return if inherited {
                Verdict::Guarded
            } else {
                Verdict::Open(own_hint)
            };
        }
        let file_hint = match self.file_guard() {
            Verdict::Guarded => return Verdict::Guarded,
            Verdict::Open(h) => h,
        };
        let hint = own_hint.or(file_hint);
        let Some(func) = func else {
            return Verdict::Open(hint);
        };
        let is_root = ["Test", "Benchmark", "Fuzz", "Example"]
            .iter()
            .any(|p| name.starts_with(p))
            || name == "init";
        if is_root || depth >= MAX_DEPTH / 4 {
            return Verdict::Open(hint);
        }
        let uses = self.uses_of(name, func);
        if uses.is_empty() {
            return Verdict::Open(hint);
        }
        match self.callers_verdict(func, uses, depth) {
            Verdict::Guarded => Verdict::Guarded,
            Verdict::Open(h) => Verdict::Open(hint.or(h)),
        }
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

    /// Places that call or pass the function `name`, outside its own body.
    fn uses_of(&self, name: &str, func: Node<'t>) -> Vec<Node<'t>> {
        let mut uses = Vec::new();
        walk(self.root, |n| {
            if n.id() == func.id() {
                return false;
            }
            if matches!(n.kind(), "identifier" | "field_identifier") && self.t(n) == name {
                uses.push(n);
            }
            true
        });
        uses
    }

    /// `tx` from `db.Begin()` with `defer tx.Rollback()` and no `tx.Commit()`: nothing persists.
    fn rolled_back(&self, call: Node<'t>) -> Result<bool, usize> {
        let Some(recv) = self
            .callee_operand(call)
            .filter(|r| r.kind() == "identifier")
        else {
            return Ok(false);
        };
        let tx = self.t(recv);
        let Some(func) = self.enclosing_func(call) else {
            return Ok(false);
        };
        let begun = self
            .bindings
            .get(tx)
            .and_then(|b| {
                (b.kind() == "call_expression")
                    .then(|| self.callee_name(*b))
                    .flatten()
            })
            .is_some_and(|n| n.starts_with("Begin") || n == "MustBegin");
        let (begun_here, rollback, commit) = self.transaction_in(func, tx);
        if !(begun || begun_here) || !rollback {
            return Ok(false);
        }
        match commit {
            Some(l) => Err(l),
            None => Ok(true),
        }
    }

    /// The statements of a statement list that run a guard, in order, as (node id, start byte,
    /// hit): found once per list, so judging many operations in one function stays linear.
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

    /// Within `func`, for the transaction variable `tx`: whether it is begun there, whether a
    /// deferred `Rollback` runs, and the line of its first `Commit`. Read once per function and
    /// variable, so a function of many operations on one transaction stays linear.
    fn transaction_in(&self, func: Node<'t>, tx: &str) -> TxFacts {
        let key = (func.id(), tx.to_string());
        if let Some(v) = self.tx_cache.borrow().get(&key) {
            return *v;
        }
        let mut begun_here = false;
        let mut rollback = false;
        let mut commit = None;
        walk(func, |n| {
            if n.kind() == "short_var_declaration" || n.kind() == "assignment_statement" {
                let left = field(n, "left").map(|l| self.t(l)).unwrap_or("");
                let right = field(n, "right").map(|r| self.t(r)).unwrap_or("");
                if left.split(',').next().map(str::trim) == Some(tx) && right.contains(".Begin") {
                    begun_here = true;
                }
            }
            if n.kind() == "call_expression"
                && self.callee_operand(n).is_some_and(|o| self.t(o) == tx)
            {
                match self.callee_name(n) {
                    Some("Rollback") => rollback |= self.deferred(n, func),
                    Some("Commit") => {
                        commit.get_or_insert(line(n));
                    }
                    _ => {}
                }
            }
            true
        });
        let v = (begun_here, rollback, commit);
        self.tx_cache.borrow_mut().insert(key, v);
        v
    }

    /// Runs when the function returns: under `defer` or `t.Cleanup`.
    fn deferred(&self, n: Node<'t>, func: Node<'t>) -> bool {
        let mut cur = n;
        for _ in 0..MAX_CLIMB {
            let Some(p) = cur.parent() else { return false };
            if p.id() == func.id() {
                return false;
            }
            if p.kind() == "defer_statement"
                || p.kind() == "call_expression" && self.callee_name(p) == Some("Cleanup")
            {
                return true;
            }
            cur = p;
        }
        false
    }

    /// The tests connect to a database created for them: a Testcontainers container whose
    /// address the file reads, or an in-memory SQLite database.
    fn throwaway_database(&self) -> bool {
        let src = self.src;
        let container = src.contains("testcontainers")
            && [
                ".ConnectionString(",
                ".MappedPort(",
                ".Endpoint(",
                ".PortEndpoint(",
            ]
            .iter()
            .any(|m| src.contains(m));
        let memory = src.contains("\":memory:\"") || src.contains("mode=memory");
        container || memory
    }

    fn run(&self) -> FileAnalysis {
        if self.throwaway_database() {
            return FileAnalysis {
                unguarded: Vec::new(),
                exports: self.exports(),
            };
        }
        let fixtures_off = self.fixtures_check_off();
        let mut ops = Vec::new();
        walk(self.root, |n| {
            if n.kind() == "call_expression"
                && let Some((operation, tables)) = self.destructive_call(n, fixtures_off.is_some())
            {
                ops.push((n, operation, tables));
            }
            true
        });
        let mut unguarded = Vec::new();
        for (call, operation, tables) in ops {
            let committed = match self.rolled_back(call) {
                Ok(true) => continue,
                Ok(false) => None,
                Err(l) => Some(l),
            };
            let Verdict::Open(hint) = self.verdict(call, 0) else {
                continue;
            };
            let off = (operation.starts_with("testfixtures"))
                .then_some(fixtures_off)
                .flatten()
                .map(|l| format!("testfixtures' test-database check is turned off on line {l}"));
            let reason = off
                .or(hint)
                .or_else(|| committed.map(|l| format!("the transaction is committed on line {l}")))
                .unwrap_or_else(|| "no guard runs before it".to_string());
            let scope = self
                .enclosing_func(call)
                .and_then(|f| self.func_name(f))
                .map(str::to_string);
            unguarded.push(UnguardedOp {
                op: DestructiveOp {
                    span: call.byte_range(),
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

    fn fixtures_check_off(&self) -> Option<usize> {
        let mut at = None;
        walk(self.root, |n| {
            if at.is_none()
                && n.kind() == "call_expression"
                && self.callee_name(n) == Some("DangerousSkipTestDatabaseCheck")
            {
                at = Some(line(n));
            }
            at.is_none()
        });
        at
    }

    fn help(&self) -> String {
        let check = "if !strings.HasSuffix(host, \".test.internal\") && host != \"localhost\" { \
                     log.Fatalf(\"refusing to reset %s: not a test database\", host) }";
        if self.funcs.contains_key("TestMain") {
            format!("check the database host in `TestMain` before `m.Run()`: `{check}`")
        } else {
            format!(
                "add a `TestMain` that checks the database host before `m.Run()`: \
                 `func TestMain(m *testing.M) {{ {check}; os.Exit(m.Run()) }}`"
            )
        }
    }

    fn exports(&self) -> Exports {
        let mut guard_helpers: Vec<String> = self.guard_helpers.iter().cloned().collect();
        guard_helpers.sort();
        let direct_in = |name: &str, before_run: bool| {
            self.funcs
                .get(name)
                .and_then(|f| field(*f, "body"))
                .is_some_and(|b| {
                    self.body_statements(b)
                        .into_iter()
                        .take_while(|s| !(before_run && self.calls_m_run(*s)))
                        .any(|s| {
                            matches!(self.stmt_guard(s, before_run), Some(GuardHit::Direct(_)))
                        })
                })
        };
        Exports {
            module_guard: direct_in("init", false),
            guard_fixtures: Vec::new(),
            autouse_guard: direct_in("TestMain", true),
            guard_helpers,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Analyses `src`, and checks that slicing it changes nothing.
    fn analyse(src: &str, ctx: &Context) -> FileAnalysis {
        crate::lang::analyze_checked(crate::lang::Lang::Go, src, ctx)
    }

    /// (line, operation, reason) of every unguarded operation.
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
    fn many_operations_in_one_function_are_judged_against_its_guards() {
        let op = "\tdb.Exec(\"TRUNCATE orders\")\n";
        let src = format!(
            "package store\nfunc resetDB(t *testing.T, db *sql.DB) {{\n{}\tif !strings.Contains(dsn, \"localhost\") {{\n\t\tt.Fatal(\"not local\")\n\t}}\n{}}}\n",
            op.repeat(1_500),
            op.repeat(1_500)
        );
        let got = findings(&src);
        assert_eq!(got.len(), 1_500);
        assert!(
            got.iter()
                .enumerate()
                .all(|(i, (line, op, reason))| *line == i + 3
                    && op == "TRUNCATE"
                    && reason == "the guard on line 1503 runs after it")
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
            "unguarded helper truncates",
            r#"package store
func resetDB(t *testing.T, db *sql.DB) {
	db.Exec("TRUNCATE TABLE categories, cms_blocks CASCADE")
}
func TestOrders(t *testing.T) { resetDB(t, db) }
"#,
            &[(3, "TRUNCATE", "no guard runs before it")],
        ),
        (
            "guarded in the same function",
            r#"package store
func resetDB(t *testing.T, db *sql.DB) {
	if !strings.Contains(dsn, "localhost") {
		t.Fatalf("refusing to reset %s", dsn)
	}
	db.Exec("TRUNCATE TABLE categories")
}
"#,
            &[],
        ),
        (
            "guarded in TestMain before m.Run",
            r#"package store
func TestMain(m *testing.M) {
	if os.Getenv("APP_ENV") != "test" {
		os.Exit(1)
	}
	os.Exit(m.Run())
}
func resetDB(t *testing.T, db *sql.DB) { db.ExecContext(ctx, "DELETE FROM coupons") }
"#,
            &[],
        ),
        (
            "guarded by a helper in the same file",
            r#"package store
func requireTestDB(t *testing.T, host string) {
	if !strings.HasSuffix(host, ".test.internal") && host != "localhost" {
		t.Fatalf("not a test database: %s", host)
	}
}
func TestReset(t *testing.T) {
	requireTestDB(t, cfg.Host)
	pool.Exec(ctx, "TRUNCATE orders")
}
"#,
            &[],
        ),
        (
            "guard after the operation",
            r#"package store
func resetDB(t *testing.T, db *sql.DB) {
	db.Exec("TRUNCATE orders")
	if !strings.Contains(dsn, "localhost") {
		t.Fatal("not local")
	}
}
"#,
            &[(3, "TRUNCATE", "the guard on line 4 runs after it")],
        ),
        (
            "guard in a skippable branch",
            r#"package store
func resetDB(t *testing.T, db *sql.DB) {
	if os.Getenv("CI") != "" {
		if !strings.Contains(dsn, "localhost") {
			t.Fatal("not local")
		}
	}
	db.Exec("TRUNCATE orders")
}
"#,
            &[(
                8,
                "TRUNCATE",
                "the guard on line 4 sits in a branch that can be skipped",
            )],
        ),
        (
            "rolled-back transaction is safe",
            r#"package store
func TestReset(t *testing.T) {
	tx, _ := db.Begin()
	defer tx.Rollback()
	tx.Exec("DELETE FROM orders")
}
"#,
            &[],
        ),
        (
            "testfixtures keeps its own test-database check",
            r#"package store
func TestMain(m *testing.M) {
	fixtures, _ = testfixtures.New(testfixtures.Database(db), testfixtures.Directory("testdata"))
	os.Exit(m.Run())
}
func prepare(t *testing.T) { fixtures.Load() }
"#,
            &[],
        ),
        (
            "testfixtures check turned off",
            r#"package store
var fixtures = testfixtures.New(testfixtures.Database(db), testfixtures.DangerousSkipTestDatabaseCheck())
func prepare(t *testing.T) {
	fixtures.Load()
}
"#,
            &[(4, "testfixtures", "turned off on line 2")],
        ),
        (
            "committed transaction is not rolled back",
            r#"package store
func TestReset(t *testing.T) {
	tx, _ := db.Begin()
	defer tx.Rollback()
	tx.Exec("DELETE FROM orders")
	tx.Commit()
}
"#,
            &[(5, "DELETE FROM", "committed on line 6")],
        ),
        (
            "destructive string never executed",
            r#"package store
const resetSQL = "TRUNCATE orders"
func TestDoc(t *testing.T) { t.Log(resetSQL); fmt.Println("DROP TABLE x") }
"#,
            &[],
        ),
        (
            "SQL held in a constant and executed",
            r#"package store
const resetSQL = "TRUNCATE orders"
func TestReset(t *testing.T) { db.Exec(resetSQL) }
"#,
            &[(3, "TRUNCATE", "no guard")],
        ),
        (
            "narrowing WHERE is not destructive",
            r#"package store
func TestReset(t *testing.T) { db.Exec("DELETE FROM orders WHERE id = $1", id) }
"#,
            &[],
        ),
        (
            "tautological WHERE is destructive",
            r#"package store
func TestReset(t *testing.T) { db.Exec("DELETE FROM categories WHERE id > 0") }
"#,
            &[(2, "DELETE FROM", "no guard")],
        ),
        (
            "a guard that only reports an error does not stop",
            r#"package store
func resetDB(t *testing.T, db *sql.DB) {
	if !strings.Contains(dsn, "localhost") {
		t.Errorf("not local: %s", dsn)
	}
	db.Exec("TRUNCATE orders")
}
"#,
            &[(6, "TRUNCATE", "no guard")],
        ),
        (
            "testify assert does not stop, require does",
            r#"package store
func TestA(t *testing.T) {
	assert.Contains(t, dsn, "localhost")
	db.Exec("TRUNCATE a")
}
func TestB(t *testing.T) {
	require.Contains(t, dsn, "localhost")
	db.Exec("TRUNCATE b")
}
"#,
            &[(4, "TRUNCATE", "no guard")],
        ),
        (
            "positive environment branch guards, production branch does not",
            r#"package store
func TestA(t *testing.T) {
	if os.Getenv("APP_ENV") == "test" {
		db.Exec("TRUNCATE a")
	}
	if os.Getenv("APP_ENV") == "production" {
		db.Exec("TRUNCATE b")
	}
}
"#,
            &[(7, "TRUNCATE", "no guard")],
        ),
        (
            "t.Skip on a negative check guards, on a missing DSN does not",
            r#"package store
func TestA(t *testing.T) {
	if env := os.Getenv("APP_ENV"); env != "test" {
		t.Skip("not a test environment")
	}
	db.Exec("TRUNCATE a")
}
func TestB(t *testing.T) {
	if os.Getenv("DATABASE_URL") == "" {
		t.Skip("no database")
	}
	db.Exec("TRUNCATE b")
}
"#,
            &[(12, "TRUNCATE", "no guard")],
        ),
        (
            "guard in TestMain after m.Run",
            r#"package store
func TestMain(m *testing.M) {
	code := m.Run()
	if !strings.Contains(dsn, "localhost") {
		log.Fatal("not local")
	}
	os.Exit(code)
}
func resetDB(db *sql.DB) { db.Exec(fmt.Sprintf("TRUNCATE %s CASCADE", table)) }
"#,
            &[(9, "TRUNCATE", "the guard on line 4 runs after it")],
        ),
        (
            "helper called from a guarded and an unguarded test",
            r#"package store
func resetDB(db *sql.DB) { db.Exec("TRUNCATE orders") }
func TestA(t *testing.T) {
	if !strings.Contains(dsn, "localhost") { t.Fatal("no") }
	resetDB(db)
}
func TestB(t *testing.T) { resetDB(db) }
"#,
            &[(2, "TRUNCATE", "no guard")],
        ),
        (
            "helper called only after guards",
            r#"package store
func resetDB(db *sql.DB) { db.Exec("TRUNCATE orders") }
func TestA(t *testing.T) {
	if !strings.Contains(dsn, "localhost") { t.Fatal("no") }
	resetDB(db)
}
"#,
            &[],
        ),
        (
            "error-returning checker and bool predicate helpers",
            r#"package store
func checkTestDB(host string) error {
	if host != "localhost" {
		return fmt.Errorf("refusing %s", host)
	}
	return nil
}
func isTestDB(dsn string) bool { return strings.Contains(dsn, "_test") }
func TestA(t *testing.T) {
	if err := checkTestDB(cfg.Host); err != nil { t.Fatal(err) }
	rdb.FlushAll(ctx)
}
func TestB(t *testing.T) {
	if !isTestDB(dsn) { t.FailNow() }
	client.Database("shop").Drop(ctx)
}
func TestC(t *testing.T) {
	err := checkTestDB(cfg.Host)
	if err != nil { log.Fatal(err) }
	db.Migrator().DropTable(&User{}, "orders")
}
"#,
            &[],
        ),
        (
            "library forms without guards",
            r#"package store
func TestA(t *testing.T) {
	rdb.FlushDB(ctx)
	client.Database("shop").Drop(ctx)
	coll.DeleteMany(ctx, bson.M{})
	coll.DeleteMany(ctx, bson.M{"tenant": id})
	db.Migrator().DropTable(&User{})
	db.Session(&gorm.Session{AllowGlobalUpdate: true}).Delete(&User{})
	db.Where("1 = 1").Delete(&Order{})
	db.Where("id = ?", id).Delete(&Order{})
	conn.Do("FLUSHALL")
}
"#,
            &[
                (3, "Redis FLUSHDB", "no guard"),
                (4, "MongoDB drop database", "no guard"),
                (5, "MongoDB deleteMany", "no guard"),
                (7, "gorm DropTable", "no guard"),
                (8, "gorm Delete", "no guard"),
                (9, "gorm Delete", "no guard"),
                (11, "FLUSHALL", "no guard"),
            ],
        ),
        (
            "a Testcontainers database is created for the test",
            r#"package store
import "github.com/testcontainers/testcontainers-go/modules/postgres"
func TestA(t *testing.T) {
	pg, _ := postgres.Run(ctx, "postgres:16")
	dsn, _ := pg.ConnectionString(ctx)
	db, _ := sql.Open("pgx", dsn)
	db.Exec("TRUNCATE orders")
}
"#,
            &[],
        ),
        (
            "a helper that only returns early does not stop its caller",
            r#"package store
func onlyLocal(dsn string) {
	if !strings.Contains(dsn, "localhost") {
		return
	}
}
func TestA(t *testing.T) {
	onlyLocal(dsn)
	db.Exec("TRUNCATE a")
}
func TestB(t *testing.T) {
	if !strings.Contains(dsn, "localhost") {
		return
	}
	db.Exec("TRUNCATE b")
}
"#,
            &[(9, "TRUNCATE", "no guard")],
        ),
        (
            "init guard covers the file",
            r#"package store
func init() {
	if os.Getenv("APP_ENV") != "test" { panic("not test") }
}
func TestA(t *testing.T) { db.Exec("DROP SCHEMA public CASCADE") }
"#,
            &[],
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
        let src = "package s\nfunc resetDB(db *sql.DB) {\n\tdb.Exec(\"TRUNCATE TABLE categories, cms_blocks\")\n}\n";
        let a = analyse(src, &Context::default());
        let u = &a.unguarded[0];
        assert_eq!(u.op.tables, vec!["categories", "cms_blocks"]);
        assert_eq!(u.op.scope.as_deref(), Some("resetDB"));
        assert_eq!(
            &src[u.op.span.clone()],
            "db.Exec(\"TRUNCATE TABLE categories, cms_blocks\")"
        );
        assert!(
            u.help.contains("TestMain") && u.help.contains("log.Fatalf"),
            "{}",
            u.help
        );
        let dynamic =
            "package s\nfunc r() { for _, t := range tables { db.Exec(\"TRUNCATE \" + t) } }\n";
        let a = analyse(dynamic, &Context::default());
        assert_eq!(a.unguarded.len(), 1);
        assert!(a.unguarded[0].op.tables.is_empty());
    }

    #[test]
    fn context_guards_and_exports() {
        let src = "package s\nfunc TestA(t *testing.T) {\n\ttestutil.MustBeTestDB(t)\n\tdb.Exec(\"TRUNCATE a\")\n}\n";
        assert_eq!(findings(src).len(), 1);
        let listed = Context {
            extra_guards: vec!["testutil.MustBeTestDB".into()],
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

        let main = r#"package s
func TestMain(m *testing.M) {
	if !strings.Contains(os.Getenv("DATABASE_URL"), "localhost") { log.Fatal("no") }
	os.Exit(m.Run())
}
func requireLocal(t *testing.T) {
	if !strings.Contains(dsn, "localhost") { t.Fatal("no") }
}
"#;
        let exports = analyse(main, &Context::default()).exports;
        assert!(exports.autouse_guard);
        assert!(!exports.module_guard);
        assert_eq!(exports.guard_helpers, vec!["requireLocal".to_string()]);
        let after = main
            .replace(
                "if !strings.Contains(os.Getenv",
                "x := 1\n\tif !strings.Contains(os.Getenv",
            )
            .replace("\tos.Exit(m.Run())\n", "")
            .replace("x := 1", "os.Exit(m.Run())");
        assert!(!analyse(&after, &Context::default()).exports.autouse_guard);
    }

    #[test]
    fn broken_source_still_analysed() {
        let src = "package s\nfunc TestA(t *testing.T) {\n\tdb.Exec(\"TRUNCATE a\")\n\tif {{{ \n";
        analyse(src, &Context::default());
        let deep = format!(
            "package s\nfunc f() {{ x := {}1{} }}\n",
            "(".repeat(5000),
            ")".repeat(5000)
        );
        analyse(&deep, &Context::default());
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]
        #[test]
        fn never_panics_and_spans_are_in_bounds(
            body in proptest::collection::vec(proptest::sample::select(vec![
                "db.Exec(\"TRUNCATE a\")", "if !strings.Contains(dsn, \"localhost\") { t.Fatal(\"x\") }",
                "{", "}", "é", "resetDB(db)", "func resetDB(db *sql.DB) {", "tx, _ := db.Begin()",
                "defer tx.Rollback()", "\n", "\"", "m.Run()", "func TestMain(m *testing.M) {",
            ]), 0..24)
        ) {
            let src = format!("package s\n{}", body.concat());
            let a = analyse(&src, &Context::default());
            for u in a.unguarded {
                proptest::prop_assert!(u.op.span.end <= src.len());
                proptest::prop_assert!(src.is_char_boundary(u.op.span.start));
                proptest::prop_assert!(src.is_char_boundary(u.op.span.end));
            }
        }
    }
}
