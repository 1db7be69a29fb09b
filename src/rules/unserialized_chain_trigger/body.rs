//! Reads one PL/pgSQL trigger body: where it reads a predecessor row, what it derives from it,
//! and whether a lock serializes that read on every path.

use std::collections::BTreeSet;
use std::ops::Range;

use crate::syntax::sql::plpgsql::{self, Stmt};
use crate::syntax::sql::{Token, TokenKind, ident_name};

/// Functions whose call counts as a hash in a derivation (substring match on the name too).
const HASH_FNS: &[&str] = &[
    "digest", "hmac", "md5", "sha224", "sha256", "sha384", "sha512", "encode", "crc32",
];
/// Queries read per statement, and per body; more is hostile input, not a migration.
const MAX_SELECTS: usize = 64;
const MAX_READS: usize = 1024;
const HASH_WORDS: &[&str] = &["hash", "digest", "sha", "hmac", "checksum", "md5"];

/// How the predecessor is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadKind {
    /// `ORDER BY ... DESC LIMIT 1`.
    LatestRow,
    /// `max(...)` / `count(...)`.
    Aggregate,
    /// `last_value` lookup.
    LastValue,
    /// A keyed row of another table that the trigger then updates.
    HeadRow,
}

/// A chain key: the predecessor query compares `column` with `NEW.<new_column>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Key {
    /// The NEW column compared (`org_id`).
    pub column: String,
    /// True when compared with `IS NOT DISTINCT FROM` (the key may be null).
    pub nullable: bool,
}

/// A lock the body takes that does not serialize the read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LockIssue {
    /// A serializing lock, taken only after the read.
    After,
    /// A serializing lock before the read, but not on every path to it.
    SomePaths,
    /// `pg_try_advisory_*lock`: does not wait, so both inserts go on.
    Try,
    /// `pg_advisory_*lock_shared`: shared holders do not exclude each other.
    Shared,
    /// `LOCK TABLE` in a mode that does not conflict with itself (the mode, lowercased).
    Weak(String),
}

/// A predecessor read from which a NEW column is derived: a chain or counter append.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainRead {
    /// The read query, relative to the body text.
    pub span: Range<usize>,
    /// Where a lock statement would go (the start of the read statement).
    pub insert_at: usize,
    /// The read statement's indentation when it starts its line.
    pub indent: Option<String>,
    /// How the predecessor is read.
    pub kind: ReadKind,
    /// The table read, as written.
    pub table: Option<String>,
    /// Chain keys from the query's `WHERE`.
    pub keys: Vec<Key>,
    /// NEW columns holding the predecessor's value or value + 1 (what a unique index can pin).
    pub links: Vec<String>,
    /// True when every path to the read is serialized.
    pub serialized: bool,
    /// True when the read itself is `FOR UPDATE` (meaningful only when not serialized).
    pub for_update: bool,
    /// True when a session `pg_advisory_lock` precedes the read but is never released.
    pub unreleased_session_lock: bool,
    /// The `ORDER BY` items and their span when every item is a timestamp.
    pub timestamp_only_order: Option<(Range<usize>, String)>,
    /// A lock that exists but does not serialize the read (meaningful only when not serialized).
    pub lock_issue: Option<LockIssue>,
}

/// What a statement does by way of locking.
#[derive(Debug, Clone, PartialEq, Eq)]
enum LockAttempt {
    /// A lock that serializes what follows it.
    Serializing,
    /// A lock that does not.
    Ineffective(LockIssue),
}

/// Analyses a trigger body. `tables` are the tables whose triggers run it; `lock_helpers`
/// are functions known to take a transaction advisory lock.
pub fn analyse(text: &str, tables: &[String], lock_helpers: &BTreeSet<String>) -> Vec<ChainRead> {
    let body = plpgsql::parse(text);
    let cx = Cx {
        text,
        toks: &body.lexed.tokens,
        tables,
        lock_helpers,
    };
    let mut rec = Vec::new();
    cx.walk(&body.stmts, Some(Flow::default()), &mut rec);
    let facts: Vec<Facts> = rec.iter().map(|r| cx.facts(r)).collect();
    let mut out = Vec::new();
    let mut candidates = 0;
    for si in 0..rec.len() {
        for q in cx.selects(rec[si].range.clone()) {
            if candidates >= MAX_READS {
                return out;
            }
            candidates += 1;
            if let Some(read) = cx.chain_read(&rec, &facts, si, &q) {
                out.push(read);
            }
        }
    }
    out
}

/// A statement as reached by the lock dataflow.
struct Rec {
    range: Range<usize>,
    flow: Flow,
    /// A condition or loop header: evaluated, never assigns.
    cond: bool,
}

/// What a statement writes, computed once per statement.
struct Facts {
    /// The table an `UPDATE` or upsert writes.
    writes: Option<String>,
    /// True when it calls `pg_advisory_unlock[_all]`.
    unlocks: bool,
    assigns: Vec<Assign>,
}

/// `lhs := rhs`, or `SELECT rhs INTO lhs`.
struct Assign {
    lhs: Vec<String>,
    rhs: Range<usize>,
    refs: Vec<String>,
    hash: bool,
    increment: bool,
}

/// Lock state on entry to a statement; `None` elsewhere means unreachable.
#[derive(Debug, Clone, Copy, Default)]
struct Flow {
    xact: bool,
    session: bool,
}

fn meet(outs: impl IntoIterator<Item = Option<Flow>>) -> Option<Flow> {
    outs.into_iter().flatten().reduce(|a, b| Flow {
        xact: a.xact && b.xact,
        session: a.session && b.session,
    })
}

/// One `SELECT` and its clauses (token indices).
#[derive(Debug, Clone, Default)]
struct Query {
    select: usize,
    end: usize,
    list: Range<usize>,
    into: Vec<String>,
    from: Option<String>,
    where_: Option<Range<usize>>,
    order_by: Option<Range<usize>>,
    limit_one: bool,
    for_update: bool,
}

struct Cx<'a> {
    text: &'a str,
    toks: &'a [Token],
    tables: &'a [String],
    lock_helpers: &'a BTreeSet<String>,
}

impl Cx<'_> {
    fn is(&self, k: usize, kw: &str) -> bool {
        self.toks.get(k).is_some_and(|t| t.is_word(self.text, kw))
    }

    fn punct(&self, k: usize, p: &str) -> bool {
        self.toks.get(k).is_some_and(|t| t.is_punct(self.text, p))
    }

    fn word(&self, k: usize) -> Option<String> {
        let t = self.toks.get(k)?;
        (t.kind == TokenKind::Word).then(|| t.text(self.text).to_ascii_lowercase())
    }

    /// A dotted name at `k`: (lowercased name, index after it).
    fn name(&self, k: usize, end: usize) -> Option<(String, usize)> {
        let ident = |j: usize| {
            j < end
                && self
                    .toks
                    .get(j)
                    .is_some_and(|t| matches!(t.kind, TokenKind::Word | TokenKind::QuotedIdent))
        };
        if !ident(k) {
            return None;
        }
        let mut s = ident_name(self.text, &self.toks[k]);
        let mut j = k + 1;
        while self.punct(j, ".") && ident(j + 1) {
            s.push('.');
            s.push_str(&ident_name(self.text, &self.toks[j + 1]));
            j += 2;
        }
        Some((s, j))
    }

    fn is_trigger_table(&self, name: &str) -> bool {
        self.tables.iter().any(|t| same_table(t, name))
    }

    // ---- lock dataflow -------------------------------------------------------------------

    fn walk(&self, stmts: &[Stmt], mut st: Option<Flow>, rec: &mut Vec<Rec>) -> Option<Flow> {
        for s in stmts {
            st = match s {
                Stmt::Simple(r) | Stmt::Cond(r) => {
                    // Unreachable statements are recorded as serialized: they never run.
                    let flow = st.unwrap_or(Flow {
                        xact: true,
                        session: true,
                    });
                    let cond = matches!(s, Stmt::Cond(_));
                    rec.push(Rec {
                        range: r.clone(),
                        flow,
                        cond,
                    });
                    st.and_then(|f| self.effects(r.clone(), f))
                }
                Stmt::Branch {
                    branches,
                    exhaustive,
                } => {
                    let mut outs: Vec<Option<Flow>> =
                        branches.iter().map(|b| self.walk(b, st, rec)).collect();
                    if !exhaustive {
                        outs.push(st);
                    }
                    meet(outs)
                }
                Stmt::Loop(body) => {
                    self.walk(body, st, rec);
                    st
                }
                Stmt::Block {
                    decls,
                    body,
                    handlers,
                } => {
                    let after = self.walk(body, self.walk(decls, st, rec), rec);
                    // A handler runs after the block's work (and its locks) rolled back.
                    let mut outs = vec![after];
                    outs.extend(handlers.iter().map(|h| self.walk(h, st, rec)));
                    meet(outs)
                }
            };
        }
        st
    }

    /// The lock state after a statement, or `None` when it always leaves the function.
    fn effects(&self, r: Range<usize>, mut f: Flow) -> Option<Flow> {
        let first = self.word(r.start).unwrap_or_default();
        if first == "return" && !(self.is(r.start + 1, "next") || self.is(r.start + 1, "query")) {
            return None;
        }
        if first == "raise" {
            let level = self.word(r.start + 1).unwrap_or_default();
            if !matches!(
                level.as_str(),
                "debug" | "log" | "info" | "notice" | "warning"
            ) {
                return None;
            }
        }
        for k in r.clone() {
            if !self.punct(k + 1, "(") {
                continue;
            }
            let Some(w) = self.word(k) else { continue };
            match w.as_str() {
                "pg_advisory_xact_lock" => f.xact = true,
                "pg_advisory_lock" => f.session = true,
                "pg_advisory_unlock" | "pg_advisory_unlock_all" => f.session = false,
                _ if self.lock_helpers.contains(&canonical(&w)) => f.xact = true,
                _ => {}
            }
        }
        if first == "lock" && self.strong_table_lock(r.clone()) {
            f.xact = true;
        }
        // A row lock or row update on another table serializes what follows.
        if let Some(t) = self.writes_table(r.clone())
            && !self.is_trigger_table(&t)
        {
            f.xact = true;
        }
        for q in self.selects(r) {
            let latest = q.order_by.is_some() && q.limit_one;
            if q.for_update
                && !latest
                && q.from.as_deref().is_some_and(|t| !self.is_trigger_table(t))
            {
                f.xact = true;
            }
        }
        Some(f)
    }

    /// The locks a statement takes, as far as they concern serialization.
    fn lock_attempts(&self, r: Range<usize>) -> Vec<LockAttempt> {
        let mut out = Vec::new();
        for k in r.clone() {
            if !self.punct(k + 1, "(") {
                continue;
            }
            let Some(w) = self.word(k) else { continue };
            let attempt = match w.as_str() {
                "pg_advisory_xact_lock" | "pg_advisory_lock" => LockAttempt::Serializing,
                "pg_try_advisory_xact_lock"
                | "pg_try_advisory_lock"
                | "pg_try_advisory_xact_lock_shared"
                | "pg_try_advisory_lock_shared" => LockAttempt::Ineffective(LockIssue::Try),
                "pg_advisory_xact_lock_shared" | "pg_advisory_lock_shared" => {
                    LockAttempt::Ineffective(LockIssue::Shared)
                }
                _ if self.lock_helpers.contains(&canonical(&w)) => LockAttempt::Serializing,
                _ => continue,
            };
            out.push(attempt);
        }
        if self.is(r.start, "lock") {
            if self.strong_table_lock(r.clone()) {
                out.push(LockAttempt::Serializing);
            } else {
                let mode = r
                    .clone()
                    .skip_while(|&k| !self.is(k, "in"))
                    .skip(1)
                    .take_while(|&k| !self.is(k, "mode"))
                    .filter_map(|k| self.word(k))
                    .collect::<Vec<_>>()
                    .join(" ");
                out.push(LockAttempt::Ineffective(LockIssue::Weak(mode)));
            }
        }
        out
    }

    /// Why the locks around an unserialized read at statement `si` do not count, if any.
    fn lock_issue(&self, rec: &[Rec], si: usize) -> Option<LockIssue> {
        let mut before_serializing = false;
        let mut issue = None;
        for r in &rec[..si] {
            for a in self.lock_attempts(r.range.clone()) {
                match a {
                    LockAttempt::Serializing => before_serializing = true,
                    LockAttempt::Ineffective(i) => {
                        issue.get_or_insert(i);
                    }
                }
            }
        }
        if let Some(i) = issue {
            return Some(i);
        }
        if before_serializing {
            return Some(LockIssue::SomePaths);
        }
        rec[si + 1..]
            .iter()
            .any(|r| {
                self.lock_attempts(r.range.clone())
                    .contains(&LockAttempt::Serializing)
            })
            .then_some(LockIssue::After)
    }

    fn strong_table_lock(&self, r: Range<usize>) -> bool {
        let Some(inn) = r.clone().find(|&k| self.is(k, "in")) else {
            // `LOCK TABLE t` defaults to ACCESS EXCLUSIVE.
            return true;
        };
        let mode: Vec<String> = (inn + 1..r.end)
            .take_while(|&k| !self.is(k, "mode"))
            .filter_map(|k| self.word(k))
            .collect();
        matches!(
            mode.join(" ").as_str(),
            "share row exclusive" | "exclusive" | "access exclusive"
        )
    }

    /// The table an `UPDATE` or an upsert (`INSERT ... ON CONFLICT ... DO UPDATE`) writes.
    fn writes_table(&self, r: Range<usize>) -> Option<String> {
        if self.is(r.start, "update") {
            let k = if self.is(r.start + 1, "only") {
                r.start + 2
            } else {
                r.start + 1
            };
            return self.name(k, r.end).map(|(n, _)| n);
        }
        if self.is(r.start, "insert") && self.is(r.start + 1, "into") {
            let upsert = r
                .clone()
                .any(|k| self.is(k, "do") && self.is(k + 1, "update"));
            if upsert {
                return self.name(r.start + 2, r.end).map(|(n, _)| n);
            }
        }
        None
    }

    // ---- queries ------------------------------------------------------------------------

    /// Every `SELECT` in the statement, with its clauses at its own nesting level.
    fn selects(&self, r: Range<usize>) -> Vec<Query> {
        // PL/pgSQL's PERFORM is a SELECT whose result is discarded.
        (r.clone())
            .filter(|&k| self.is(k, "select") || (k == r.start && self.is(k, "perform")))
            .take(MAX_SELECTS)
            .map(|k| self.query(k, r.end))
            .collect()
    }

    fn query(&self, select: usize, stmt_end: usize) -> Query {
        let mut q = Query {
            select,
            ..Query::default()
        };
        let mut depth = 0usize;
        let mut end = stmt_end;
        // Clause starts at this query's level: (keyword index, keyword).
        let mut clauses: Vec<(usize, &'static str)> = Vec::new();
        for k in select + 1..stmt_end {
            if self.punct(k, "(") {
                depth += 1;
                continue;
            }
            if self.punct(k, ")") {
                if depth == 0 {
                    end = k;
                    break;
                }
                depth -= 1;
                continue;
            }
            if depth > 0 {
                continue;
            }
            let Some(w) = self.word(k) else { continue };
            let kw = match w.as_str() {
                "into" => "into",
                // `IS [NOT] DISTINCT FROM` is an operator, not the FROM clause.
                "from" if self.is(k.wrapping_sub(1), "distinct") => continue,
                "from" => "from",
                "where" => "where",
                "group" | "having" | "window" | "offset" => "other",
                "order" if self.is(k + 1, "by") => "order",
                "limit" => "limit",
                "fetch" => "fetch",
                "for" => "for",
                "union" | "intersect" | "except" => {
                    end = k;
                    break;
                }
                _ => continue,
            };
            clauses.push((k, kw));
        }
        q.end = end;
        let clause_end = |i: usize| clauses.get(i + 1).map_or(end, |c| c.0);
        let first_clause = clauses.first().map_or(end, |c| c.0);
        q.list = select + 1..first_clause;
        for (i, &(k, kw)) in clauses.iter().enumerate() {
            let stop = clause_end(i);
            match kw {
                "into" => {
                    let mut j = if self.is(k + 1, "strict") {
                        k + 2
                    } else {
                        k + 1
                    };
                    while let Some((n, next)) = self.name(j, end) {
                        q.into.push(n);
                        j = next;
                        if !self.punct(j, ",") {
                            break;
                        }
                        j += 1;
                    }
                    // `SELECT INTO target expr FROM ...`: the list follows the targets.
                    if k == select + 1 {
                        q.list = j..stop;
                    }
                }
                "from" => {
                    let j = if self.is(k + 1, "only") { k + 2 } else { k + 1 };
                    q.from = self.name(j, stop).map(|(n, _)| n);
                }
                "where" => q.where_ = Some(k + 1..stop),
                "order" => q.order_by = Some(k + 2..stop),
                "limit" => {
                    q.limit_one = self
                        .toks
                        .get(k + 1)
                        .is_some_and(|t| t.kind == TokenKind::Number && t.text(self.text) == "1");
                }
                "fetch" => {
                    let mut j = k + 1;
                    if self.is(j, "first") || self.is(j, "next") {
                        j += 1;
                    }
                    let one = self
                        .toks
                        .get(j)
                        .is_some_and(|t| t.kind == TokenKind::Number && t.text(self.text) == "1");
                    q.limit_one = one || self.is(j, "row") || self.is(j, "rows");
                }
                "for" => {
                    q.for_update |= self.is(k + 1, "update")
                        || (self.is(k + 1, "no")
                            && self.is(k + 2, "key")
                            && self.is(k + 3, "update"));
                }
                _ => {}
            }
        }
        q
    }

    fn has_desc(&self, r: &Range<usize>) -> bool {
        r.clone().any(|k| self.is(k, "desc"))
    }

    fn has_call(&self, r: Range<usize>, pred: impl Fn(&str) -> bool) -> bool {
        r.into_iter().any(|k| {
            self.punct(k + 1, "(")
                && self
                    .word(k)
                    .is_some_and(|w| pred(w.rsplit('.').next().unwrap_or(&w)))
        })
    }

    fn has_hash(&self, r: Range<usize>) -> bool {
        self.has_call(r, |w| {
            HASH_FNS.contains(&w) || HASH_WORDS.iter().any(|h| w.contains(h))
        })
    }

    fn has_increment(&self, r: Range<usize>) -> bool {
        let one = |k: usize| {
            self.toks
                .get(k)
                .is_some_and(|t| t.kind == TokenKind::Number && t.text(self.text) == "1")
        };
        r.clone()
            .any(|k| (self.punct(k, "+") && one(k + 1)) || (one(k) && self.punct(k + 1, "+")))
    }

    /// Names referenced in `r` (function names excluded).
    fn refs(&self, r: Range<usize>) -> Vec<String> {
        let mut out = Vec::new();
        let mut k = r.start;
        while k < r.end {
            if k > r.start && self.punct(k - 1, ".") {
                k += 1;
                continue;
            }
            match self.name(k, r.end) {
                Some((n, next)) => {
                    if !self.punct(next, "(") {
                        out.push(n);
                    }
                    k = next;
                }
                None => k += 1,
            }
        }
        out
    }

    /// Assignments made by a statement.
    fn assignments(&self, r: Range<usize>) -> Vec<Assign> {
        let mut raw = Vec::new();
        if let Some((lhs, mut j)) = self.name(r.start, r.end) {
            if self.punct(j, "[") {
                while j < r.end && !self.punct(j, "]") {
                    j += 1;
                }
                j += 1;
            }
            if self.punct(j, ":=") || self.punct(j, "=") {
                raw.push((vec![lhs], j + 1..r.end));
            }
        }
        if raw.is_empty() {
            for q in self.selects(r) {
                if !q.into.is_empty() {
                    raw.push((q.into.clone(), q.list.clone()));
                }
            }
        }
        raw.into_iter()
            .map(|(lhs, rhs)| Assign {
                lhs,
                refs: self.refs(rhs.clone()),
                hash: self.has_hash(rhs.clone()),
                increment: self.has_increment(rhs.clone()),
                rhs,
            })
            .collect()
    }

    fn facts(&self, rec: &Rec) -> Facts {
        let r = rec.range.clone();
        let unlocks = r.clone().any(|k| {
            self.punct(k + 1, "(")
                && self
                    .word(k)
                    .is_some_and(|w| w == "pg_advisory_unlock" || w == "pg_advisory_unlock_all")
        });
        Facts {
            writes: self.writes_table(r.clone()),
            unlocks,
            assigns: if rec.cond {
                Vec::new()
            } else {
                self.assignments(r)
            },
        }
    }

    // ---- the decision -------------------------------------------------------------------

    fn read_kind(&self, facts: &[Facts], si: usize, q: &Query) -> Option<ReadKind> {
        let from = q.from.as_deref()?;
        // The latest row or an aggregate of another table is a lookup (the newest signing
        // key, a rate), not a predecessor: only the trigger's own rows form its chain.
        let own = self.is_trigger_table(from);
        if own && q.order_by.as_ref().is_some_and(|o| self.has_desc(o)) && q.limit_one {
            return Some(ReadKind::LatestRow);
        }
        // A count or max over a range (`score > NEW.score`, a time window) is a rank or a
        // rate, not the next value of a chain: a unique index on it would reject valid rows.
        if own
            && self.has_call(q.list.clone(), |w| w == "max" || w == "count")
            && q.where_.clone().is_none_or(|w| self.key_equalities_only(w))
        {
            return Some(ReadKind::Aggregate);
        }
        if q.list.clone().any(|k| self.is(k, "last_value")) {
            return Some(ReadKind::LastValue);
        }
        let updated_later = facts[si + 1..]
            .iter()
            .any(|f| f.writes.as_deref().is_some_and(|t| same_table(t, from)));
        (!self.is_trigger_table(from) && updated_later).then_some(ReadKind::HeadRow)
    }

    fn chain_read(&self, rec: &[Rec], facts: &[Facts], si: usize, q: &Query) -> Option<ChainRead> {
        if rec[si].cond {
            return None;
        }
        let kind = self.read_kind(facts, si, q)?;
        // The read's outputs and whether its own value already hashes or increments.
        let (outputs, derived, copy) = if q.into.is_empty() {
            let a = facts[si].assigns.first()?;
            if !(a.rhs.start <= q.select && q.select < a.rhs.end) {
                return None;
            }
            (a.lhs.clone(), a.hash || a.increment, !a.hash)
        } else {
            let hash = self.has_hash(q.list.clone());
            (
                q.into.clone(),
                hash || self.has_increment(q.list.clone()),
                !hash,
            )
        };
        let mut taint = Taint::default();
        for o in &outputs {
            taint.assign(o, derived, copy);
        }
        for f in &facts[si + 1..] {
            if taint.vars.is_empty() {
                break;
            }
            for a in &f.assigns {
                let hit: Vec<bool> = taint
                    .vars
                    .iter()
                    .filter(|(t, _)| a.refs.iter().any(|n| flows_from(n, t)))
                    .map(|(_, d)| *d)
                    .collect();
                if hit.is_empty() {
                    // Overwritten with an unrelated value.
                    taint.vars.retain(|(t, _)| !a.lhs.contains(t));
                    continue;
                }
                let d = hit.contains(&true) || a.hash || a.increment;
                for l in &a.lhs {
                    taint.assign(l, d, !a.hash);
                }
            }
        }
        if !taint.appends {
            return None;
        }
        let flow = rec[si].flow;
        let unlock_after = facts[si + 1..].iter().any(|f| f.unlocks);
        let head_locked = kind == ReadKind::HeadRow && q.for_update;
        let serialized = flow.xact || (flow.session && unlock_after) || head_locked;
        let first = &self.toks[rec[si].range.start];
        let last = &self.toks[q.end.max(q.select + 1) - 1];
        Some(ChainRead {
            span: self.toks[q.select].span.start..last.span.end,
            insert_at: first.span.start,
            indent: self.indent(first.span.start),
            kind,
            table: q.from.clone(),
            keys: self.keys(q.where_.clone()),
            links: taint.links,
            serialized,
            for_update: q.for_update,
            unreleased_session_lock: flow.session && !unlock_after,
            lock_issue: if serialized || (flow.session && !unlock_after) {
                None
            } else {
                self.lock_issue(rec, si)
            },
            timestamp_only_order: if kind == ReadKind::LatestRow {
                self.timestamp_only(q.order_by.clone().unwrap_or_default())
            } else {
                None
            },
        })
    }

    fn indent(&self, at: usize) -> Option<String> {
        let before = self.text.get(..at)?;
        let line_start = before.rfind('\n').map_or(0, |k| k + 1);
        let ws = &before[line_start..];
        ws.chars()
            .all(|c| c == ' ' || c == '\t')
            .then(|| ws.to_string())
    }

    /// True when `w` is a conjunction of equalities (`col = NEW.x`, `col = 'lit'`,
    /// `col IS NOT DISTINCT FROM NEW.x`) and nothing else.
    fn key_equalities_only(&self, w: Range<usize>) -> bool {
        let mut start = w.start;
        let mut conjuncts = Vec::new();
        for k in w.clone() {
            if self.is(k, "and") {
                conjuncts.push(start..k);
                start = k + 1;
            }
        }
        conjuncts.push(start..w.end);
        conjuncts.into_iter().all(|c| {
            let Some((_, j)) = self.name(c.start, c.end) else {
                return false;
            };
            let rhs = if self.punct(j, "=") {
                j + 1
            } else if self.is(j, "is")
                && self.is(j + 1, "not")
                && self.is(j + 2, "distinct")
                && self.is(j + 3, "from")
            {
                j + 4
            } else {
                return false;
            };
            if let Some((_, next)) = self.name(rhs, c.end) {
                return next == c.end;
            }
            rhs + 1 == c.end
                && self.toks.get(rhs).is_some_and(|t| {
                    matches!(
                        t.kind,
                        TokenKind::String | TokenKind::Number | TokenKind::Param
                    )
                })
        })
    }

    /// Chain keys: `col = NEW.x`, `NEW.x = col`, `col IS NOT DISTINCT FROM NEW.x` (and reverse).
    fn keys(&self, w: Option<Range<usize>>) -> Vec<Key> {
        let Some(w) = w else { return Vec::new() };
        let mut out: Vec<Key> = Vec::new();
        for k in w.clone() {
            let (nullable, rhs_at) = if self.punct(k, "=") {
                (false, k + 1)
            } else if self.is(k, "is")
                && self.is(k + 1, "not")
                && self.is(k + 2, "distinct")
                && self.is(k + 3, "from")
            {
                (true, k + 4)
            } else {
                continue;
            };
            let left = self.name_ending_at(k, w.start);
            let right = self.name(rhs_at, w.end).map(|(n, _)| n);
            let (Some(l), Some(r)) = (left, right) else {
                continue;
            };
            let new_col = match (l.strip_prefix("new."), r.strip_prefix("new.")) {
                (None, Some(c)) | (Some(c), None) => c.to_string(),
                _ => continue,
            };
            if !out.iter().any(|key| key.column == new_col) {
                out.push(Key {
                    column: new_col,
                    nullable,
                });
            }
        }
        out
    }

    /// The dotted name whose last token is just before `k`.
    fn name_ending_at(&self, k: usize, floor: usize) -> Option<String> {
        let mut start = k.checked_sub(1)?;
        if start < floor {
            return None;
        }
        while start >= floor + 2 && self.punct(start - 1, ".") {
            start -= 2;
        }
        let (n, next) = self.name(start, k)?;
        (next == k).then_some(n)
    }

    /// When every `ORDER BY` item is a timestamp: the clause span and its text.
    fn timestamp_only(&self, r: Range<usize>) -> Option<(Range<usize>, String)> {
        if r.is_empty() || r.end > self.toks.len() {
            return None;
        }
        let mut depth = 0usize;
        let mut item_start = r.start;
        let mut all = true;
        for k in r.clone() {
            if self.punct(k, "(") {
                depth += 1;
            } else if self.punct(k, ")") {
                depth = depth.saturating_sub(1);
            } else if depth == 0 && self.punct(k, ",") {
                all &= self.timestamp_item(item_start);
                item_start = k + 1;
            }
        }
        all &= self.timestamp_item(item_start);
        let span = self.toks[r.start].span.start..self.toks[r.end - 1].span.end;
        let text = self.text.get(span.clone()).unwrap_or("").to_string();
        all.then_some((span, text))
    }

    fn timestamp_item(&self, k: usize) -> bool {
        let Some((n, _)) = self.name(k, self.toks.len()) else {
            return false;
        };
        let last = n.rsplit('.').next().unwrap_or(&n);
        matches!(
            last,
            "timestamp"
                | "ts"
                | "time"
                | "created"
                | "inserted"
                | "date"
                | "datetime"
                | "now"
                | "clock_timestamp"
                | "statement_timestamp"
                | "transaction_timestamp"
        ) || ["_at", "_ts", "_time", "_timestamp", "_date", "_on"]
            .iter()
            .any(|s| last.ends_with(s))
    }
}

/// Names holding values read from the predecessor, and what reached NEW.
#[derive(Default)]
struct Taint {
    /// (name, derived through a hash or increment).
    vars: Vec<(String, bool)>,
    /// NEW columns holding the predecessor's value or value + 1.
    links: Vec<String>,
    /// True once a derived value reached a NEW column.
    appends: bool,
}

impl Taint {
    fn assign(&mut self, target: &str, derived: bool, copy: bool) {
        self.vars.retain(|(t, _)| t != target);
        self.vars.push((target.to_string(), derived));
        if let Some(col) = target.strip_prefix("new.") {
            self.appends |= derived;
            if copy && !self.links.iter().any(|l| l == col) {
                self.links.push(col.to_string());
            }
        }
    }
}

/// True when a reference `n` reads the tainted name `t` (itself or a field of it).
fn flows_from(n: &str, t: &str) -> bool {
    n == t || n.strip_prefix(t).is_some_and(|rest| rest.starts_with('.'))
}

/// A name with the default `public.` schema removed.
pub fn canonical(name: &str) -> String {
    name.strip_prefix("public.").unwrap_or(name).to_string()
}

/// Same table, comparing only the table part when either name has no schema.
pub fn same_table(a: &str, b: &str) -> bool {
    let (a, b) = (canonical(a), canonical(b));
    if a == b {
        return true;
    }
    let last = |s: &str| s.rsplit('.').next().unwrap_or("").to_string();
    (!a.contains('.') || !b.contains('.')) && last(&a) == last(&b)
}
