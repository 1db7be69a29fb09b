//! What the language analysers share: a depth-capped tree walk, and the text heuristics for what
//! reads a database target, what counts as a test/staging/local marker, how the truth of a check
//! relates to a safe target, and which throwaway targets (in-memory stores, containers) make a
//! file safe by construction.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::LazyLock;

use regex::Regex;
use tree_sitter::{Node, Parser, Tree};

/// How deep the analysers follow the syntax tree. Real code nests a few dozen levels; anything
/// deeper is generated or hostile, and is reported rather than walked.
pub(crate) const MAX_TREE_DEPTH: usize = 400;

/// Sources up to this many bytes are parsed on the caller's thread, whatever its stack.
const INLINE_PARSE_BYTES: usize = 4096;
/// Stack reserved per source byte for a larger parse.
const PARSE_STACK_PER_BYTE: usize = 256;
/// The largest stack reserved (address space, touched only as deep as the parse goes).
const MAX_PARSE_STACK: usize = 1 << 30;

thread_local! {
    /// The stack size of this thread when it is known to be large (the engine's workers).
    static THREAD_STACK: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// Field ids already looked up, per thread: (grammar, field name's address and length, id).
/// Direct-mapped by the name's address; a collision only costs a fresh lookup.
type FieldSlot = Option<(tree_sitter::Language, usize, usize, Option<u16>)>;
const FIELD_SLOTS: usize = 256;

thread_local! {
    static FIELD_IDS: RefCell<Vec<FieldSlot>> = RefCell::new(vec![None; FIELD_SLOTS]);
}

/// The child of `n` in the field `name`. Like `child_by_field_name`, without its search of the
/// grammar's field names by string on every call (a few percent of a whole scan): the id is
/// looked up once per grammar and field.
pub(crate) fn field<'t>(n: Node<'t>, name: &'static str) -> Option<Node<'t>> {
    let lang = n.language();
    let (addr, len) = (name.as_ptr() as usize, name.len());
    let slot = ((addr >> 3) ^ (addr >> 11) ^ len) % FIELD_SLOTS;
    let id = FIELD_IDS.with_borrow_mut(|slots| match &slots[slot] {
        Some((l, a, n_len, id)) if *a == addr && *n_len == len && *l == *lang => *id,
        _ => {
            let id = lang.field_id_for_name(name).map(|id| id.get());
            slots[slot] = Some(((*lang).clone(), addr, len, id));
            id
        }
    });
    n.child_by_field_id(id?)
}

/// Records that the calling thread was started with a stack of `bytes`, so parses that fit in
/// it need no thread of their own.
pub fn note_thread_stack(bytes: usize) {
    THREAD_STACK.set(bytes);
}

/// Parses `source` with a parser whose language is set. tree-sitter frees a merged parse stack
/// recursively, one frame per nesting level (`{a: {a: ...` in JavaScript nests ambiguously), so
/// a deeply nested file would overflow a worker thread's stack and abort the process. A parse
/// of more than a few KiB runs on its own thread with a stack in proportion to the source: the
/// nesting can never be deeper than the source is long.
pub(crate) fn parse_tree(parser: &mut Parser, source: &str) -> Option<Tree> {
    let stack = source
        .len()
        .saturating_mul(PARSE_STACK_PER_BYTE)
        .saturating_add(1 << 20)
        .min(MAX_PARSE_STACK);
    if source.len() <= INLINE_PARSE_BYTES || stack <= THREAD_STACK.get() {
        return parser.parse(source, None);
    }
    let on_thread = std::thread::scope(|scope| {
        let thread = std::thread::Builder::new()
            .name("premortem-parse".into())
            .stack_size(stack)
            .spawn_scoped(scope, || parser.parse(source, None));
        thread.ok().map(|t| t.join().ok().flatten())
    });
    // No thread to be had (a memory limit): parse here, as before.
    on_thread.unwrap_or_else(|| parser.parse(source, None))
}

/// Parses `sliced` (the source with its droppable tests blanked, see [`super::slice`]) when
/// there is one and it parses without error, and the whole `source` otherwise: the two trees
/// agree on every offset, so the analysis reads `source` either way. The blanked stretches are
/// left out of the parse altogether, so the lexer does not walk their spaces.
pub(crate) fn parse_sliced(
    parser: &mut Parser,
    source: &str,
    sliced: Option<String>,
) -> Option<Tree> {
    if let Some(text) = sliced {
        let ranges = kept_ranges(&text);
        let tree = if parser.set_included_ranges(&ranges).is_ok() {
            let tree = parse_tree(parser, &text);
            let _ = parser.set_included_ranges(&[]);
            tree
        } else {
            parse_tree(parser, &text)
        };
        if let Some(tree) = tree.filter(|t| !t.root_node().has_error()) {
            return Some(tree);
        }
    }
    parse_tree(parser, source)
}

/// Runs of blank lines at least this long are left out of a sliced parse.
const MIN_SKIPPED_BLANK: usize = 64;

/// The ranges of `text` outside its long runs of blank lines (spaces and line breaks only).
fn kept_ranges(text: &str) -> Vec<tree_sitter::Range> {
    let b = text.as_bytes();
    let mut ranges = Vec::new();
    let (mut row, mut kept_from, mut kept_row) = (0usize, 0usize, 0usize);
    // The start of the current run of blank lines, and its row.
    let mut blank_from: Option<(usize, usize)> = None;
    let mut line = 0;
    while line < b.len() {
        let end = memchr::memchr(b'\n', &b[line..]).map_or(b.len(), |i| line + i + 1);
        let blank = b[line..end]
            .iter()
            .all(|c| matches!(c, b' ' | b'\n' | b'\r'));
        if blank {
            blank_from.get_or_insert((line, row));
        } else if let Some((from, from_row)) = blank_from.take()
            && line - from >= MIN_SKIPPED_BLANK
        {
            if from > kept_from {
                ranges.push(range(kept_from, kept_row, from, from_row));
            }
            kept_from = line;
            kept_row = row;
        }
        line = end;
        row += 1;
    }
    // The end point of the text: its last row, and the column after its last line break.
    let last_break = memchr::memrchr(b'\n', b).map_or(0, |i| i + 1);
    let end_row = row - usize::from(last_break < b.len());
    let end_point = tree_sitter::Point::new(end_row, b.len() - last_break);
    // A long blank tail (the tests after the last code that stays) is left out too; the text's
    // last byte stays in, so the tree still ends where the text does.
    if let Some((from, from_row)) = blank_from
        && b.len() - from >= MIN_SKIPPED_BLANK
    {
        if from > kept_from {
            ranges.push(range(kept_from, kept_row, from, from_row));
        }
        let last = b.len() - 1;
        let line_start = memchr::memrchr(b'\n', &b[..last]).map_or(0, |i| i + 1);
        let last_row = from_row + memchr::memchr_iter(b'\n', &b[from..last]).count();
        ranges.push(tree_sitter::Range {
            start_byte: last,
            end_byte: b.len(),
            start_point: tree_sitter::Point::new(last_row, last - line_start),
            end_point,
        });
        return ranges;
    }
    ranges.push(tree_sitter::Range {
        start_byte: kept_from,
        end_byte: b.len(),
        start_point: tree_sitter::Point::new(kept_row, 0),
        end_point,
    });
    ranges
}

fn range(start: usize, start_row: usize, end: usize, end_row: usize) -> tree_sitter::Range {
    tree_sitter::Range {
        start_byte: start,
        end_byte: end,
        start_point: tree_sitter::Point::new(start_row, 0),
        end_point: tree_sitter::Point::new(end_row, 0),
    }
}

/// Visit every node under `root` in source order together with its ancestors (outermost first),
/// without recursion. `visit` returns whether to descend into the node. Nodes deeper than
/// `max_depth` are not visited; the first node whose children were cut off is returned.
pub(crate) fn walk<'t>(
    root: Node<'t>,
    max_depth: usize,
    mut visit: impl FnMut(Node<'t>, &[Node<'t>]) -> bool,
) -> Option<Node<'t>> {
    let mut cursor = root.walk();
    let mut path: Vec<Node<'t>> = Vec::new();
    let mut cut = None;
    loop {
        let node = cursor.node();
        let mut descend = visit(node, &path);
        if descend && path.len() >= max_depth && node.child_count() > 0 {
            cut.get_or_insert(node);
            descend = false;
        }
        if descend && cursor.goto_first_child() {
            path.push(node);
            continue;
        }
        loop {
            if cursor.goto_next_sibling() {
                break;
            }
            if !cursor.goto_parent() {
                return cut;
            }
            path.pop();
        }
    }
}

/// A block's guards: (statement start byte, guard node).
pub(crate) type Guards<'t> = Rc<[(usize, Node<'t>)]>;

/// The guard statements of each block, found once per block, so judging many operations in one
/// large file or `describe` stays linear.
#[derive(Default)]
pub(crate) struct BlockGuards<'t> {
    cache: RefCell<HashMap<usize, Guards<'t>>>,
}

impl<'t> BlockGuards<'t> {
    /// The guards among `block`'s statements as (statement start byte, guard node); `find`
    /// returns the guard a statement runs, if any.
    pub fn get(&self, block: Node<'t>, find: impl Fn(Node<'t>) -> Option<Node<'t>>) -> Guards<'t> {
        if let Some(v) = self.cache.borrow().get(&block.id()) {
            return Rc::clone(v);
        }
        let v: Guards<'t> = named_children(block)
            .into_iter()
            .filter_map(|st| find(st).map(|g| (st.start_byte(), g)))
            .collect();
        self.cache.borrow_mut().insert(block.id(), Rc::clone(&v));
        v
    }
}

/// The guard statements of each scope (a function, or the module's top-level statements), in
/// source order, found once per scope: explaining why each of many operations in one scope is
/// unguarded then costs a binary search, not a walk of the scope.
#[derive(Default)]
pub(crate) struct ScopeGuards<'t> {
    cache: RefCell<HashMap<Option<usize>, Rc<[Node<'t>]>>>,
}

impl<'t> ScopeGuards<'t> {
    /// The guard statements of `scope` (`None` for the module), computed by `find` on first use.
    /// `find` must list them in source order, none inside another.
    pub fn get(
        &self,
        scope: Option<Node<'t>>,
        find: impl FnOnce() -> Vec<Node<'t>>,
    ) -> Rc<[Node<'t>]> {
        let key = scope.map(|s| s.id());
        if let Some(v) = self.cache.borrow().get(&key) {
            return Rc::clone(v);
        }
        let v: Rc<[Node<'t>]> = find().into();
        self.cache.borrow_mut().insert(key, Rc::clone(&v));
        v
    }
}

/// The last guard that starts before `at`, and the first that starts at or after `end`, among
/// guards in source order (see [`ScopeGuards`]).
pub(crate) fn guards_around<'t>(
    guards: &[Node<'t>],
    before: impl Fn(Node<'t>) -> bool,
    end: usize,
) -> (Option<Node<'t>>, Option<Node<'t>>) {
    let k = guards.partition_point(|g| before(*g));
    let a = guards.partition_point(|g| g.start_byte() < end);
    (
        k.checked_sub(1).and_then(|i| guards.get(i)).copied(),
        guards.get(a).copied(),
    )
}

/// The transactions begun among one block's statements: which variable holds one, the first
/// statement that begins it and the last that rolls it back.
pub(crate) struct BlockTransactions {
    /// Each statement's position in the block, by node id.
    index: HashMap<usize, usize>,
    /// Per variable: the first statement beginning it, the last rolling it back.
    vars: Vec<(usize, Option<usize>)>,
}

impl BlockTransactions {
    /// Whether `statement` of the block runs inside a transaction begun before it and rolled
    /// back after it.
    pub fn rolled_back_around(&self, statement: Node<'_>) -> bool {
        self.index.get(&statement.id()).is_some_and(|&pos| {
            self.vars
                .iter()
                .any(|&(begun, last)| begun < pos && last.is_some_and(|r| r > pos))
        })
    }
}

/// [`BlockTransactions`] found once per block, so judging many operations in one block stays
/// linear.
#[derive(Default)]
pub(crate) struct Transactions {
    cache: RefCell<HashMap<usize, Rc<BlockTransactions>>>,
}

impl Transactions {
    /// The transactions of `block`: `var` names the variable a statement begins a transaction
    /// in, `text` gives a statement's source (searched for `var.rollback(`).
    pub fn get<'t>(
        &self,
        block: Node<'t>,
        text: impl Fn(Node<'t>) -> &'t str,
        var: impl Fn(Node<'t>) -> Option<String>,
    ) -> Rc<BlockTransactions> {
        if let Some(tx) = self.cache.borrow().get(&block.id()) {
            return Rc::clone(tx);
        }
        let statements = named_children(block);
        let index = statements
            .iter()
            .enumerate()
            .map(|(i, st)| (st.id(), i))
            .collect();
        let mut first: Vec<(String, usize)> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for (i, st) in statements.iter().enumerate() {
            if let Some(v) = var(*st)
                && seen.insert(v.clone())
            {
                first.push((v, i));
            }
        }
        let vars = first
            .into_iter()
            .map(|(v, begun)| {
                let rollback = format!("{v}.rollback(");
                let last = statements
                    .iter()
                    .rposition(|st| text(*st).contains(&rollback));
                (begun, last)
            })
            .collect();
        let tx = Rc::new(BlockTransactions { index, vars });
        self.cache.borrow_mut().insert(block.id(), Rc::clone(&tx));
        tx
    }
}

/// The named children of a node.
pub(crate) fn named_children<'t>(n: Node<'t>) -> Vec<Node<'t>> {
    let mut c = n.walk();
    n.named_children(&mut c).collect()
}

/// The syntax error, if any, that could hide a destructive operation: an error region, or a
/// subtree too deep to walk, whose text holds a destructive keyword.
pub(crate) fn hidden_destruction(
    source: &str,
    root: Node<'_>,
    cut: Option<Node<'_>>,
) -> Option<String> {
    if let Some(n) = cut
        && super::sql_text::has_destructive_keyword(
            source.as_bytes().get(n.byte_range()).unwrap_or_default(),
        )
    {
        return Some(format!(
            "nesting deeper than {MAX_TREE_DEPTH} levels on line {} hides a destructive keyword",
            n.start_position().row + 1
        ));
    }
    if !root.has_error() {
        return None;
    }
    let mut found = None;
    walk(root, MAX_TREE_DEPTH, |n, _| {
        if found.is_some() || !n.has_error() {
            return false;
        }
        if n.is_error()
            && super::sql_text::has_destructive_keyword(
                source.as_bytes().get(n.byte_range()).unwrap_or_default(),
            )
        {
            found = Some(format!(
                "syntax error on line {} around a destructive keyword",
                n.start_position().row + 1
            ));
            return false;
        }
        true
    });
    found
}

/// When is the target known to be safe, given the truth value of a condition?
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Polarity {
    /// The condition holding implies a test/staging/local target.
    pub safe_when_true: bool,
    /// The condition failing implies a test/staging/local target.
    pub safe_when_false: bool,
}

impl Polarity {
    pub const SAFE_WHEN_TRUE: Polarity = Polarity {
        safe_when_true: true,
        safe_when_false: false,
    };
    pub const SAFE_WHEN_FALSE: Polarity = Polarity {
        safe_when_true: false,
        safe_when_false: true,
    };

    /// The polarity of the negated condition.
    pub fn not(self) -> Polarity {
        Polarity {
            safe_when_true: self.safe_when_false,
            safe_when_false: self.safe_when_true,
        }
    }

    /// `a and b`. A side that is no target check is neutral: an opt-out flag beside a real check
    /// (`env != "test" and not FORCE`) is a deliberate escape hatch, not a missing guard.
    pub fn and(a: Option<Polarity>, b: Option<Polarity>) -> Option<Polarity> {
        let sides: Vec<Polarity> = [a, b].into_iter().flatten().collect();
        if sides.is_empty() {
            return None;
        }
        Some(Polarity {
            safe_when_true: sides.iter().any(|p| p.safe_when_true),
            safe_when_false: sides.iter().all(|p| p.safe_when_false),
        })
    }

    /// `a or b`, with the same neutral treatment of sides that check nothing.
    pub fn or(a: Option<Polarity>, b: Option<Polarity>) -> Option<Polarity> {
        Polarity::and(a.map(Polarity::not), b.map(Polarity::not)).map(Polarity::not)
    }
}

/// What a string literal compared against a target says about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Marker {
    /// test, staging, local, CI, dev: a target that may be reset.
    Safe,
    /// prod, production, prd, live: a target that must not be.
    Prod,
}

impl Marker {
    /// Polarity of `target == marker` (or `marker in target`, `target.endswith(marker)`).
    pub fn matches(self) -> Polarity {
        match self {
            Marker::Safe => Polarity::SAFE_WHEN_TRUE,
            Marker::Prod => Polarity::SAFE_WHEN_FALSE,
        }
    }
}

/// Classify a literal (a host, a database name, an environment name, a regex source).
pub(crate) fn marker(lit: &str) -> Option<Marker> {
    let l = lit.to_ascii_lowercase();
    const SAFE_PARTS: &[&str] = &[
        "test",
        "staging",
        "stage",
        "local",
        "127.0.0.1",
        "::1",
        "sandbox",
        "e2e",
    ];
    const SAFE_WORDS: &[&str] = &["ci", "qa", "dev", "development", "stg", "uat"];
    if SAFE_PARTS.iter().any(|p| l.contains(p))
        || l.split(|c: char| !c.is_ascii_alphanumeric())
            .any(|w| SAFE_WORDS.contains(&w))
    {
        return Some(Marker::Safe);
    }
    if l.contains("prod")
        || l.split(|c: char| !c.is_ascii_alphanumeric())
            .any(|w| w == "prd" || w == "live")
    {
        return Some(Marker::Prod);
    }
    None
}

/// Classify several alternatives (a tuple of suffixes, a list literal): one production entry makes
/// it a denylist.
pub(crate) fn markers<'a>(lits: impl IntoIterator<Item = &'a str>) -> Option<Marker> {
    let mut found = None;
    for l in lits {
        match marker(l) {
            Some(Marker::Prod) => return Some(Marker::Prod),
            Some(Marker::Safe) => found = Some(Marker::Safe),
            None => {}
        }
    }
    found
}

/// A collection a target is tested for membership in, judged by its name: `ALLOWED_HOSTS` is an
/// allowlist, `PROD_HOSTS` a denylist; anything else is taken as an allowlist.
pub(crate) fn collection_marker(name: &str) -> Marker {
    let l = name.to_ascii_lowercase();
    if ["deny", "block", "forbid", "prod", "banned", "unsafe"]
        .iter()
        .any(|k| l.contains(k))
    {
        Marker::Prod
    } else {
        Marker::Safe
    }
}

/// Does this expression text read the database target or the environment name?
pub(crate) fn reads_target(text: &str) -> bool {
    let l = text.to_ascii_lowercase();
    // A test's own name is not its target.
    if l.contains("request.node") || l.contains("__name__") || l.contains("expect.getstate") {
        return false;
    }
    const PARTS: &[&str] = &[
        "host", "db", "database", "dsn", "url", "uri", "name", "env", "settings", "conn", "engine",
        "server", "addr", "target",
    ];
    PARTS.iter().any(|p| l.contains(p))
}

/// An environment-name variable (`NODE_ENV`, `APP_ENV`, `ENV`, `STAGE`): setting it in code
/// decides nothing about which database the code reaches.
pub(crate) fn is_env_name_var(var: &str) -> bool {
    let u = var.to_ascii_uppercase();
    u == "ENV"
        || u.ends_with("_ENV")
        || u == "ENVIRONMENT"
        || u.ends_with("_ENVIRONMENT")
        || u == "STAGE"
        || u.ends_with("_STAGE")
}

/// A boolean helper whose name says it checks for a test target: `is_test_db()`,
/// `isTestDatabase()`, `in_staging()`.
pub(crate) fn looks_like_test_predicate(name: &str) -> bool {
    let l: String = name
        .chars()
        .filter(|c| *c != '_')
        .collect::<String>()
        .to_ascii_lowercase();
    [
        "istest",
        "isstaging",
        "islocal",
        "issafe",
        "intest",
        "testing",
        "isci",
    ]
    .iter()
    .any(|p| l.starts_with(p))
}

/// The kind of store a destructive operation hits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Store {
    Sql,
    Redis,
    Mongo,
}

impl Store {
    /// The environment variable the suggested guard reads: the file's own connection variable
    /// for this store when it names one (`POSTGRES_DSN`, `TEST_DATABASE_URL`), else a common
    /// default.
    pub fn url_var_in(self, source: &str) -> String {
        static VARS: LazyLock<Option<Regex>> =
            LazyLock::new(|| Regex::new(r"\b[A-Z][A-Z0-9_]{0,60}(?:URL|DSN|URI)\b").ok());
        let wanted: &[&str] = match self {
            Store::Sql => &["DATABASE", "DB", "POSTGRES", "PG", "MYSQL", "SQL", "DSN"],
            Store::Redis => &["REDIS"],
            Store::Mongo => &["MONGO"],
        };
        let found = VARS.as_ref().and_then(|re| {
            re.find_iter(source)
                .map(|m| m.as_str())
                .find(|v| wanted.iter().any(|w| v.contains(w)))
        });
        found.unwrap_or(self.url_var()).to_string()
    }

    /// [`Store::url_var_in`] once per store and file: a file of many operations does not
    /// search its whole text once per operation.
    pub fn url_var_cached(self, source: &str, cache: &RefCell<HashMap<Store, String>>) -> String {
        cache
            .borrow_mut()
            .entry(self)
            .or_insert_with(|| self.url_var_in(source))
            .clone()
    }

    /// The default environment variable the suggested guard reads.
    pub fn url_var(self) -> &'static str {
        match self {
            Store::Sql => "DATABASE_URL",
            Store::Redis => "REDIS_URL",
            Store::Mongo => "MONGODB_URI",
        }
    }
}

/// Which stores a file targets through a throwaway instance it creates itself.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Throwaway {
    pub sql: bool,
    pub redis: bool,
    pub mongo: bool,
}

impl Throwaway {
    /// Is a store of this kind a throwaway instance in this file?
    pub fn covers(self, store: Store) -> bool {
        match store {
            Store::Sql => self.sql,
            Store::Redis => self.redis,
            Store::Mongo => self.mongo,
        }
    }
}

/// In-memory databases, SQLite files, mocks and containers started by the test itself cannot be
/// a shared environment, so resetting them needs no guard.
pub(crate) fn throwaway_targets(source: &str) -> Throwaway {
    let l = source.to_ascii_lowercase();
    let has = |ps: &[&str]| ps.iter().any(|p| l.contains(p));
    let containers = has(&["testcontainers"]);
    Throwaway {
        sql: containers
            || has(&[
                "sqlite:",
                ":memory:",
                "pg-mem",
                "postgresqlcontainer",
                "postgrescontainer",
                "mysqlcontainer",
            ]),
        redis: containers
            || has(&[
                "fakeredis",
                "ioredis-mock",
                "redis-mock",
                "redis-memory-server",
                "redismemoryserver",
            ]),
        mongo: containers || has(&["mongomock", "mongodb-memory-server", "mongomemoryserver"]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cached_field_ids_match_the_lookup_by_name_across_grammars() {
        // JavaScript, TypeScript and Python number their fields differently; one thread reads
        // all three in turn, so a cache keyed by field name alone would answer wrongly.
        let sources: [(tree_sitter::Language, &str); 3] = [
            (
                tree_sitter_javascript::LANGUAGE.into(),
                "function f(a, b) { return a.b(c); }\nconst x = y ? z : w;",
            ),
            (
                tree_sitter_typescript::LANGUAGE_TYPESCRIPT.into(),
                "function f(a: number): void { if (a) { g(a); } }\nlet x: T = y.z;",
            ),
            (
                tree_sitter_python::LANGUAGE.into(),
                "def f(a, b=1):\n    if a:\n        return g(a).h\nx = [i for i in y]",
            ),
        ];
        const NAMES: [&str; 12] = [
            "name",
            "body",
            "parameters",
            "function",
            "arguments",
            "condition",
            "consequence",
            "left",
            "right",
            "object",
            "property",
            "no_such_field",
        ];
        let mut checked = 0;
        for _ in 0..2 {
            for (lang, src) in &sources {
                let mut parser = Parser::new();
                parser.set_language(lang).unwrap();
                let tree = parser.parse(src, None).unwrap();
                walk(tree.root_node(), MAX_TREE_DEPTH, |n, _| {
                    for name in NAMES {
                        assert_eq!(field(n, name), n.child_by_field_name(name), "{name}");
                        checked += usize::from(field(n, name).is_some());
                    }
                    true
                });
            }
        }
        assert!(checked > 20, "only {checked} fields found");
    }

    #[test]
    fn long_blank_runs_are_left_out_of_a_sliced_parse() {
        let blank = format!("{}\n", " ".repeat(40));
        let text = format!("a = 1\n{}b = 2\n{}\nc", blank.repeat(3), blank);
        let r = kept_ranges(&text);
        type Span = (usize, usize, (usize, usize), (usize, usize));
        let spans: Vec<Span> = r
            .iter()
            .map(|r| {
                let p = |p: tree_sitter::Point| (p.row, p.column);
                (r.start_byte, r.end_byte, p(r.start_point), p(r.end_point))
            })
            .collect();
        let b = text.find('b').unwrap();
        // The three blank lines (123 bytes) go; the single one (41) stays.
        assert_eq!(
            spans,
            [(0, 6, (0, 0), (1, 0)), (b, text.len(), (4, 0), (7, 1))]
        );
        // Whatever is left out is blank.
        let left_out = text[6..b].bytes().all(|c| c == b' ' || c == b'\n');
        assert!(left_out);
        // No run long enough: one range over all of it.
        assert_eq!(kept_ranges("x\n\ny").len(), 1);
        // A long blank tail goes too, all but its last byte, so the tree ends where the text
        // does: the same tree as a parse of the whole text.
        let text = format!("def f():\n    return 1\n{}", blank.repeat(3));
        let spans: Vec<(usize, usize)> = kept_ranges(&text)
            .iter()
            .map(|r| (r.start_byte, r.end_byte))
            .collect();
        assert_eq!(spans, [(0, 22), (text.len() - 1, text.len())]);
        let mut parser = Parser::new();
        parser
            .set_language(&tree_sitter_python::LANGUAGE.into())
            .unwrap();
        let whole = parse_tree(&mut parser, &text).unwrap();
        let sliced = parse_sliced(&mut parser, &text, Some(text.clone())).unwrap();
        let (w, s) = (whole.root_node(), sliced.root_node());
        assert_eq!(s.to_sexp(), w.to_sexp());
        assert_eq!(
            (s.byte_range(), s.end_position()),
            (w.byte_range(), w.end_position())
        );
    }

    #[test]
    fn deep_nesting_is_analysed_on_a_small_stack() {
        // `{a: {a: ...` makes tree-sitter's JavaScript parser merge stack versions at every
        // level, and free them recursively; the other shapes nest every grammar.
        use crate::lang::{Lang, analyze};
        let langs = [
            Lang::Python,
            Lang::JavaScript,
            Lang::TypeScript,
            Lang::Tsx,
            Lang::Ruby,
            Lang::Go,
            Lang::Java,
        ];
        for seed in ["{a: ", "(", "[", "- "] {
            let source = seed.repeat(20_000) + "TRUNCATE users";
            for lang in langs {
                let source = source.clone();
                // A worker thread's stack, smaller than the 2 MiB default.
                let outcome = std::thread::Builder::new()
                    .stack_size(512 << 10)
                    .spawn(move || analyze(lang, &source, &Default::default()).map(|_| ()))
                    .expect("a thread")
                    .join();
                assert!(outcome.is_ok(), "{lang:?} on {seed:?} x 20000 panicked");
            }
        }
    }

    #[test]
    fn markers_classify_targets() {
        let cases = [
            ("localhost", Some(Marker::Safe)),
            ("127.0.0.1", Some(Marker::Safe)),
            ("myapp_test", Some(Marker::Safe)),
            (".staging.internal", Some(Marker::Safe)),
            ("ci", Some(Marker::Safe)),
            ("app.settings.test", Some(Marker::Safe)),
            ("prod-pg-cluster.internal", Some(Marker::Prod)),
            ("production", Some(Marker::Prod)),
            ("prd", Some(Marker::Prod)),
            ("storefront", None),
            ("cinema", None),
            ("postgres", None),
        ];
        for (lit, want) in cases {
            assert_eq!(marker(lit), want, "{lit}");
        }
        assert_eq!(markers(["localhost", "prod.db"]), Some(Marker::Prod));
        assert_eq!(markers(["localhost", "x"]), Some(Marker::Safe));
        assert_eq!(markers(["x"]), None);
    }

    #[test]
    fn polarity_combines_like_logic() {
        let t = Some(Polarity::SAFE_WHEN_TRUE);
        let f = Some(Polarity::SAFE_WHEN_FALSE);
        assert_eq!(Polarity::and(t, None), t);
        assert_eq!(Polarity::and(f, f), f);
        assert_eq!(Polarity::and(f, None), f);
        assert_eq!(
            Polarity::and(f, t),
            Some(Polarity {
                safe_when_true: true,
                safe_when_false: false
            })
        );
        assert_eq!(Polarity::or(t, t), t);
        assert_eq!(Polarity::or(f, None), f);
        assert_eq!(Polarity::or(None, None), None);
        assert_eq!(Polarity::SAFE_WHEN_TRUE.not(), Polarity::SAFE_WHEN_FALSE);
    }

    #[test]
    fn target_reads_and_env_names() {
        assert!(reads_target("db_host"));
        assert!(reads_target("os.environ['APP_ENV']"));
        assert!(reads_target("settings.DATABASES['default']['NAME']"));
        assert!(!reads_target("request.node.name"));
        assert!(!reads_target("user.age"));
        assert!(is_env_name_var("NODE_ENV"));
        assert!(is_env_name_var("ENV"));
        assert!(!is_env_name_var("DATABASE_URL"));
        assert!(looks_like_test_predicate("is_test_database"));
        assert!(looks_like_test_predicate("isTestDb"));
        assert!(!looks_like_test_predicate("is_ready"));
    }

    #[test]
    fn throwaway_targets_by_store() {
        let t = throwaway_targets("engine = create_engine('sqlite:///:memory:')");
        assert!(t.sql && !t.redis && !t.mongo);
        let t = throwaway_targets("import fakeredis");
        assert!(t.redis && !t.sql);
        let t = throwaway_targets("new MongoMemoryServer()");
        assert!(t.mongo && !t.sql);
        assert_eq!(
            throwaway_targets("create_engine(os.environ['DATABASE_URL'])"),
            Throwaway::default()
        );
        assert_eq!(
            Store::Sql.url_var_in("connect(os.environ['POSTGRES_DSN'])"),
            "POSTGRES_DSN"
        );
        assert_eq!(Store::Sql.url_var_in("REDIS_URL = 1"), "DATABASE_URL");
        assert_eq!(
            Store::Redis.url_var_in("process.env.REDIS_URL"),
            "REDIS_URL"
        );
        assert_eq!(Store::Mongo.url_var_in(""), "MONGODB_URI");
    }
}
