//! The `unserialized-chain-trigger` rule.
//!
//! **What it finds.** A PL/pgSQL trigger function, run by an `INSERT` trigger, that reads a
//! predecessor row — the latest row (`ORDER BY ... DESC LIMIT 1`), `max()`/`count()`, a
//! `last_value` lookup, or a chain-head row of another table that it then updates — and assigns
//! a `NEW.` column derived from it through a hash (`digest`, `sha256`, `md5`, `hmac`, `encode`,
//! or a function whose name says hash/digest/checksum) or `+ 1`, without serializing that read.
//!
//! **Why.** Under concurrent inserts into one chain, every transaction reads the same latest
//! committed row and chains off it: the hash chain forks (audit verification reports tampering
//! that never happened) or the "gapless" counter repeats.
//!
//! **What serializes the read.** Before the read, on every path through the body:
//! `pg_advisory_xact_lock(...)` (or `pg_advisory_lock` released later by `pg_advisory_unlock`),
//! `LOCK TABLE ... IN SHARE ROW EXCLUSIVE | EXCLUSIVE | ACCESS EXCLUSIVE MODE` (or no mode),
//! a row lock on another table (`SELECT ... FOR UPDATE`, `UPDATE`, or an upsert of, say, the
//! parent `orgs` row), or a call to a function from the migrations that takes an advisory
//! transaction lock. The read itself may be the lock when it is `SELECT ... FOR UPDATE` of a
//! chain-head row in another table. A lock after the read does not count, and neither does
//! `FOR UPDATE` on the predecessor row of the chain itself: it locks the current last row and
//! two inserts still read the same one. A unique index (or constraint) on the trigger's table
//! over the chain key and the column holding the predecessor's value or value + 1
//! (`(org_id, prev_hash)`, `(account_id, seq)`) makes a fork fail loudly instead, and clears
//! the finding; when the key is compared with `IS NOT DISTINCT FROM` (it may be null) the
//! index needs `NULLS NOT DISTINCT`.
//!
//! **Migration replay.** Files are replayed in application order (see
//! [`crate::syntax::sql::migrations`]). The latest `CREATE [OR REPLACE] FUNCTION` of each
//! zero-argument function wins, `DROP FUNCTION` removes it (and with `CASCADE` its triggers),
//! `DROP TRIGGER`/`DROP TABLE` remove triggers, and only functions some remaining `INSERT`
//! trigger executes are judged, at the file holding their effective definition. A later fix
//! migration thus clears an earlier file, and a later regression reports at the new file.
//!
//! **Fix.** `help:` gives the line to add before the read:
//! `PERFORM pg_advisory_xact_lock(<namespace>, hashtext(<key>::text));`. The namespace is a
//! constant derived from the function name (FNV-1a, 31 bits), so different chains do not wait
//! on each other. A key compared with `IS NOT DISTINCT FROM` is nullable and is locked as
//! `hashtext(COALESCE(NEW.key::text, 'NULL'))`, because `hashtext(NULL)` is NULL and the lock
//! function would then take no lock at all; several keys become
//! `hashtext(concat_ws('|', NEW.a, NEW.b))`; a chain without a key takes one 64-bit lock.
//!
//! Only the trigger's own table (that of a `CREATE TRIGGER ... ON` running the function) holds
//! a predecessor: the newest row of another table is a lookup. An aggregate counts only when its
//! `WHERE` is equality on the chain key (or absent); over a range it is a rank or a rate. When a
//! lock exists but does not count (after the read, on some paths only, a try-lock, a shared lock,
//! a weak `LOCK TABLE` mode) the message says so.
//!
//! A separate warning fires when the predecessor is ordered by a timestamp alone: rows with
//! equal timestamps tie, so even a serialized chain has no defined order.
//!
//! Not read: dynamic SQL (`EXECUTE 'SELECT ...'`), functions in other languages, the order in
//! `sqitch.plan`, and `REPEATABLE READ` callers (whose snapshot predates any lock).

mod body;

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;

use crate::classify::{FileKind, classify};
use crate::finding::{Diagnostic, Severity};
use crate::rules::{Cx, FileOut, Repo, Rule};
use crate::source::SourceFile;
use crate::syntax::sql::migrations::{
    down_sections, is_migration_path, migration_set, migration_sort_key,
};
use crate::syntax::sql::{IndexDef, Item, LexError, TokenKind, items, lex};
use body::{ChainRead, LockIssue, ReadKind, canonical, same_table};

/// The rule as the engine runs it: each migration is parsed once in the per-file pass (the
/// parse is the fact), and the repo pass replays every migration set and judges it.
///
/// Pre-commit passes only the changed files, so in a partial run the other migrations of each
/// affected set are read from the repository: a fix in a later migration still clears an
/// earlier file. Findings (and `parse-error` diagnostics) are reported only in scanned files;
/// an effective definition in a file nobody touched is reported by the full run.
pub struct UnserializedChainTrigger;

impl Rule for UnserializedChainTrigger {
    fn id(&self) -> &'static str {
        "unserialized-chain-trigger"
    }

    fn wants(&self, kind: FileKind, path: &str) -> bool {
        kind == FileKind::Sql && is_migration_path(path)
    }

    fn check_file(&self, file: &SourceFile, _cx: &Cx, out: &mut FileOut) {
        out.fact(&file.path, parse_migration(&file.path, &file.text));
    }

    fn check_repo(&self, repo: &Repo, cx: &Cx, out: &mut Vec<Diagnostic>) {
        let mut files: Vec<ParsedMigration> = repo
            .facts::<ParsedMigration>()
            .map(|(_, m)| m.clone())
            .collect();
        if files.is_empty() {
            return;
        }
        if repo.partial {
            let more = unscanned_migrations(repo, cx, &files);
            files.extend(more);
        }
        for v in judge_repo(files) {
            if repo.scanned.binary_search(&v.path).is_err() {
                continue;
            }
            let rule = match v.kind {
                VerdictKind::ParseError => "parse-error",
                _ => self.id(),
            };
            let mut d = Diagnostic::new(rule, &v.path, v.span, v.message).help(v.help);
            // Errors take the configured severity; the tie warning stays a warning.
            if v.kind == VerdictKind::TimestampOnlyOrder {
                d = d.severity(Severity::Warning);
            }
            out.push(d);
        }
    }
}

/// The migrations of the sets `have` belongs to that were not scanned, read from the repository.
fn unscanned_migrations(repo: &Repo, cx: &Cx, have: &[ParsedMigration]) -> Vec<ParsedMigration> {
    let known: BTreeSet<&str> = have.iter().map(|m| m.path.as_str()).collect();
    let sets: BTreeSet<String> = have.iter().map(|m| migration_set(&m.path)).collect();
    let mut out = Vec::new();
    for set in &sets {
        // A set rooted at a `migrations`-like directory spans its subdirectories (Prisma,
        // Diesel); any other set is one directory, so a root-level file never walks the repo.
        let deep = !set.is_empty() && migration_set(&format!("{set}/d/x.sql")) == *set;
        let dir = repo.root.join(set);
        let walker = ignore::WalkBuilder::new(&dir)
            .hidden(false)
            .require_git(false)
            .follow_links(false)
            .max_depth(if deep { None } else { Some(1) })
            .filter_entry(|e| e.file_name() != ".git")
            .build();
        for entry in walker.flatten() {
            if !entry.file_type().is_some_and(|t| t.is_file()) {
                continue;
            }
            let Ok(rel) = entry.path().strip_prefix(repo.root) else {
                continue;
            };
            let rel: Vec<String> = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            let rel = rel.join("/");
            if known.contains(rel.as_str())
                || classify(&rel) != Some(FileKind::Sql)
                || !is_migration_path(&rel)
                || migration_set(&rel) != *set
                || cx.config.exclude.is_match(&rel)
            {
                continue;
            }
            if let Some(text) = (repo.read)(&rel) {
                out.push(parse_migration(&rel, &text));
            }
        }
    }
    out
}

/// What a verdict is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum VerdictKind {
    /// An unserialized predecessor read (the rule's main finding).
    Unserialized,
    /// The predecessor is ordered by a timestamp alone.
    TimestampOnlyOrder,
    /// The file could not be lexed completely (report as `parse-error`).
    ParseError,
}

/// Text to insert into the file to apply the fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Insertion {
    /// Byte offset in the file.
    pub at: usize,
    /// The text to insert there.
    pub text: String,
}

/// One finding or diagnostic of the rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainVerdict {
    /// What the verdict is about.
    pub kind: VerdictKind,
    /// The migration file.
    pub path: String,
    /// Byte span in that file.
    pub span: Range<usize>,
    /// Default severity.
    pub severity: Severity,
    /// One-sentence explanation.
    pub message: String,
    /// How to fix it, in SQL.
    pub help: String,
    /// The trigger function judged (empty for parse errors).
    pub function: String,
    /// Chain key columns (`org_id`), empty for a table-wide chain.
    pub chain_key: Vec<String>,
    /// The lock line inserted before the read, when one applies.
    pub fix: Option<Insertion>,
}

/// A migration file's items, ready for replay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedMigration {
    /// Path as the engine reports it.
    pub path: String,
    /// Items outside "down" sections, in file order.
    pub items: Vec<Item>,
    /// Lexing errors worth reporting (see [`parse_migration`]).
    pub errors: Vec<LexError>,
}

/// Parses one migration. Items in dbmate/goose "down" sections are dropped. Lexing errors are
/// kept when the file defines functions, triggers or `DO` blocks, or when a dollar quote is
/// unterminated: other `*.sql` files may be in another dialect and are not this rule's to judge.
pub fn parse_migration(path: &str, text: &str) -> ParsedMigration {
    let (mut all, errors) = items(text);
    let downs = down_sections(text);
    all.retain(|i| !downs.iter().any(|d| d.contains(&i.span().start)));
    let relevant = all.iter().any(|i| {
        matches!(
            i,
            Item::CreateFunction { .. } | Item::CreateTrigger { .. } | Item::DoBlock { .. }
        )
    });
    let errors = errors
        .into_iter()
        .filter(|e| relevant || e.message.contains("dollar"))
        .collect();
    ParsedMigration {
        path: path.to_string(),
        items: all,
        errors,
    }
}

/// Groups migrations into sets, orders each set, and judges each set on its own.
pub fn judge_repo(mut files: Vec<ParsedMigration>) -> Vec<ChainVerdict> {
    files.sort_by_cached_key(|f| migration_sort_key(&f.path));
    let mut sets: BTreeMap<String, Vec<ParsedMigration>> = BTreeMap::new();
    for f in files {
        sets.entry(migration_set(&f.path)).or_default().push(f);
    }
    let mut out: Vec<ChainVerdict> = sets.values().flat_map(|s| judge(s)).collect();
    sort(&mut out);
    out
}

/// Replays `files` (already in application order) and judges the effective trigger functions.
pub fn judge(files: &[ParsedMigration]) -> Vec<ChainVerdict> {
    let mut out: Vec<ChainVerdict> = files
        .iter()
        .flat_map(|f| f.errors.iter().map(|e| parse_error(&f.path, e)))
        .collect();
    let state = Replay::run(files);
    for (name, &(fi, item)) in &state.functions {
        let Item::CreateFunction {
            returns,
            language,
            body: Some(body),
            ..
        } = item
        else {
            continue;
        };
        let plpgsql = language.as_deref().is_none_or(|l| l == "plpgsql");
        if returns.rsplit('.').next() != Some("trigger") || !plpgsql {
            continue;
        }
        let tables = state.insert_tables(name);
        if tables.is_empty() {
            continue;
        }
        for read in body::analyse(&body.text, &tables, &state.lock_helpers) {
            let verdicts = verdicts(name, &read, &tables, &state.indexes);
            for (kind, span, message, help, fix) in verdicts {
                out.push(ChainVerdict {
                    kind,
                    path: files[fi].path.clone(),
                    span: body.span_to_file(&span),
                    severity: if kind == VerdictKind::Unserialized {
                        Severity::Error
                    } else {
                        Severity::Warning
                    },
                    message,
                    help,
                    function: name.clone(),
                    chain_key: read.keys.iter().map(|k| k.column.clone()).collect(),
                    fix: fix.map(|(at, text)| Insertion {
                        at: body.to_file(at),
                        text,
                    }),
                });
            }
        }
    }
    sort(&mut out);
    out
}

fn sort(v: &mut [ChainVerdict]) {
    v.sort_by(|a, b| {
        (&a.path, a.span.start, a.kind, &a.message).cmp(&(
            &b.path,
            b.span.start,
            b.kind,
            &b.message,
        ))
    });
}

fn parse_error(path: &str, e: &LexError) -> ChainVerdict {
    ChainVerdict {
        kind: VerdictKind::ParseError,
        path: path.to_string(),
        span: e.span.clone(),
        severity: Severity::Error,
        message: format!(
            "{}: the migration cannot be read past this point, so its triggers cannot be checked",
            e.message
        ),
        help: "close it; PostgreSQL rejects this migration as written".to_string(),
        function: String::new(),
        chain_key: Vec::new(),
        fix: None,
    }
}

/// The schema state after replaying migrations in order.
#[derive(Default)]
struct Replay<'a> {
    /// Zero-argument functions by canonical name: (file index, definition).
    functions: BTreeMap<String, (usize, &'a Item)>,
    /// Functions whose body takes `pg_advisory_xact_lock`.
    lock_helpers: BTreeSet<String>,
    /// (table, trigger name) -> (function, fires on INSERT).
    triggers: BTreeMap<(String, String), (String, bool)>,
    /// Indexes and constraints by name.
    indexes: BTreeMap<String, &'a IndexDef>,
}

impl<'a> Replay<'a> {
    fn run(files: &'a [ParsedMigration]) -> Replay<'a> {
        let mut s = Replay::default();
        for (fi, f) in files.iter().enumerate() {
            for item in &f.items {
                s.apply(fi, item);
            }
        }
        s
    }

    fn apply(&mut self, fi: usize, item: &'a Item) {
        let last = |n: &str| n.rsplit('.').next().unwrap_or(n).to_string();
        match item {
            Item::CreateFunction {
                name, args, body, ..
            } => {
                let key = canonical(name);
                if body.as_ref().is_some_and(|b| takes_xact_lock(&b.text)) {
                    self.lock_helpers.insert(key.clone());
                } else {
                    self.lock_helpers.remove(&key);
                }
                if args.trim().is_empty() {
                    self.functions.insert(key, (fi, item));
                }
            }
            Item::DropFunction {
                functions, cascade, ..
            } => {
                for d in functions {
                    let key = canonical(&d.name);
                    self.lock_helpers.remove(&key);
                    if d.args.as_deref().is_none_or(|a| a.trim().is_empty()) {
                        self.functions.remove(&key);
                        if *cascade {
                            self.triggers.retain(|_, (f, _)| !same_table(f, &key));
                        }
                    }
                }
            }
            Item::CreateTrigger {
                name,
                table,
                events,
                function,
                ..
            } => {
                let insert = events.iter().any(|e| e == "insert");
                self.triggers.insert(
                    (canonical(table), name.clone()),
                    (canonical(function), insert),
                );
            }
            Item::DropTrigger { name, table, .. } => {
                self.triggers
                    .retain(|(t, n), _| !(n == name && same_table(t, table)));
            }
            Item::CreateIndex { index, .. } => {
                self.indexes.insert(last(&index.name), index);
            }
            Item::DropIndex { names, .. } => {
                for n in names {
                    self.indexes.remove(&last(n));
                }
            }
            Item::DropConstraint { name, .. } => {
                self.indexes.remove(&last(name));
            }
            Item::DropTable { names, .. } => {
                for n in names {
                    self.triggers.retain(|(t, _), _| !same_table(t, n));
                    self.indexes.retain(|_, ix| !same_table(&ix.table, n));
                }
            }
            Item::SetConfig { .. } | Item::DoBlock { .. } => {}
        }
    }

    /// Tables whose remaining INSERT triggers execute `function`.
    fn insert_tables(&self, function: &str) -> Vec<String> {
        let mut tables: Vec<String> = self
            .triggers
            .iter()
            .filter(|(_, (f, insert))| *insert && same_table(f, function))
            .map(|((t, _), _)| t.clone())
            .collect();
        tables.dedup();
        tables
    }
}

fn takes_xact_lock(body: &str) -> bool {
    let l = lex(body);
    l.tokens.windows(2).any(|w| {
        w[0].is_word(body, "pg_advisory_xact_lock")
            && w[1].kind == TokenKind::Punct
            && w[1].text(body) == "("
    })
}

/// How a unique index protects a chain read.
enum IndexCover {
    None,
    Safe,
    /// The index exists but NULL keys still fork: (index name, key column).
    NullGap(String, String),
}

fn index_cover(
    read: &ChainRead,
    tables: &[String],
    indexes: &BTreeMap<String, &IndexDef>,
) -> IndexCover {
    if read.links.is_empty() {
        return IndexCover::None;
    }
    let mut gap = None;
    let covered = tables.iter().all(|t| {
        indexes.values().any(|ix| {
            if !ix.unique || ix.partial || !same_table(&ix.table, t) || ix.columns.is_empty() {
                return false;
            }
            let key_of = |c: &str| {
                read.keys
                    .iter()
                    .find(|k| c == k.column || c.starts_with(&format!("coalesce({},", k.column)))
            };
            let fits = ix
                .columns
                .iter()
                .all(|c| read.links.contains(c) || key_of(c).is_some());
            let pins = ix.columns.iter().any(|c| read.links.contains(c));
            if !fits || !pins {
                return false;
            }
            let null_gap = ix.columns.iter().find(|c| {
                key_of(c).is_some_and(|k| k.nullable && *c == &k.column) && !ix.nulls_not_distinct
            });
            if let Some(c) = null_gap {
                gap = Some((ix.name.clone(), c.clone()));
                return false;
            }
            true
        })
    });
    match (covered, gap) {
        (true, _) => IndexCover::Safe,
        (false, Some((ix, col))) => IndexCover::NullGap(ix, col),
        (false, None) => IndexCover::None,
    }
}

type Draft = (
    VerdictKind,
    Range<usize>,
    String,
    String,
    Option<(usize, String)>,
);

fn verdicts(
    function: &str,
    read: &ChainRead,
    tables: &[String],
    indexes: &BTreeMap<String, &IndexDef>,
) -> Vec<Draft> {
    let mut out = Vec::new();
    let cover = index_cover(read, tables, indexes);
    if !read.serialized && !matches!(cover, IndexCover::Safe) {
        let lock = lock_line(function, read);
        let keys: Vec<&str> = read.keys.iter().map(|k| k.column.as_str()).collect();
        let (chain, same) = match keys.as_slice() {
            [] => ("its table-wide chain".to_string(), String::new()),
            [k] => (format!("the `{k}` chain"), format!(" for the same {k}")),
            ks => (
                format!("the ({}) chain", ks.join(", ")),
                format!(" for the same ({})", ks.join(", ")),
            ),
        };
        let what = match read.kind {
            ReadKind::LatestRow => format!("reads the latest row of {chain}"),
            ReadKind::Aggregate => format!("derives the next value of {chain} from max()/count()"),
            ReadKind::LastValue => format!("reads the last value of {chain}"),
            ReadKind::HeadRow => format!(
                "reads the head of {chain} from `{}`",
                read.table.as_deref().unwrap_or("?")
            ),
        };
        let consequence = match read.kind {
            ReadKind::Aggregate | ReadKind::LastValue => "compute the same next value",
            ReadKind::LatestRow | ReadKind::HeadRow => {
                "read the same predecessor and fork the chain"
            }
        };
        let (lock_phrase, lock_note, lock_help) = lock_wording(read, &lock);
        let mut message = format!(
            "trigger function `{function}` {what}{lock_phrase}: concurrent inserts{same} {consequence}"
        );
        message.push_str(&lock_note);
        if read.for_update && read.kind != ReadKind::HeadRow {
            message.push_str(
                " (FOR UPDATE locks only the current last row, which both inserts still read)",
            );
        }
        if read.unreleased_session_lock {
            message.push_str(
                " (the pg_advisory_lock before it is never released; use pg_advisory_xact_lock)",
            );
        }
        if let IndexCover::NullGap(ix, col) = &cover {
            message.push_str(&format!(
                " (unique index `{ix}` does not stop forks of rows whose {col} is NULL without NULLS NOT DISTINCT)"
            ));
        }
        let mut help = match (&lock_help, read.kind) {
            (Some(h), _) => h.clone(),
            (None, ReadKind::HeadRow) => {
                format!("end this SELECT with `FOR UPDATE`, or add `{lock}` before it")
            }
            (None, _) => {
                format!("add `{lock}` before this read so inserts into one chain take turns")
            }
        };
        if let Some(link) = read.links.first() {
            let mut cols: Vec<&str> = keys.clone();
            cols.push(link);
            // A key compared with IS NOT DISTINCT FROM may be NULL, and NULLs are distinct
            // in a plain unique index.
            let nnd = if read.keys.iter().any(|k| k.nullable) {
                " NULLS NOT DISTINCT"
            } else {
                ""
            };
            help.push_str(&format!(
                " (or a unique index on ({}){nnd} so a fork fails loudly)",
                cols.join(", ")
            ));
        }
        let fix_text = match &read.indent {
            Some(ind) => format!("{lock}\n{ind}"),
            None => format!("{lock} "),
        };
        out.push((
            VerdictKind::Unserialized,
            read.span.clone(),
            message,
            help,
            Some((read.insert_at, fix_text)),
        ));
    }
    if let Some((span, order)) = &read.timestamp_only_order {
        out.push((
            VerdictKind::TimestampOnlyOrder,
            span.clone(),
            format!(
                "trigger function `{function}` picks the predecessor by `{order}` alone: rows with equal timestamps (every row of one transaction shares now()) tie, so the chain order is undefined"
            ),
            format!("add a unique tiebreaker: `ORDER BY {order}, id DESC`"),
            None,
        ));
    }
    out
}

/// How the message and help speak of the read's lock: (phrase after the read, note, help).
fn lock_wording(read: &ChainRead, lock: &str) -> (String, String, Option<String>) {
    let head = read.kind == ReadKind::HeadRow;
    let none = if head {
        " without FOR UPDATE or a lock"
    } else {
        " without a lock"
    };
    let unserialized = " that its lock does not serialize";
    let replace = |what: &str| {
        format!(
            "replace {what} with `{lock}` before this read so inserts into one chain take turns"
        )
    };
    match &read.lock_issue {
        None => (none.to_string(), String::new(), None),
        Some(LockIssue::After) => (
            " before taking its lock".to_string(),
            " (a lock taken after the read comes too late)".to_string(),
            Some(format!(
                "move the lock before this read, e.g. `{lock}`, so inserts into one chain take turns"
            )),
        ),
        Some(LockIssue::SomePaths) => (
            unserialized.to_string(),
            " (the lock before it is taken on only some paths)".to_string(),
            Some(format!(
                "take the lock unconditionally before this read: `{lock}`"
            )),
        ),
        Some(LockIssue::Try) => (
            unserialized.to_string(),
            " (pg_try_advisory_*lock does not wait: a second insert goes on without the lock)"
                .to_string(),
            Some(replace("the try-lock")),
        ),
        Some(LockIssue::Shared) => (
            unserialized.to_string(),
            " (a shared advisory lock does not exclude other shared holders)".to_string(),
            Some(replace("the shared lock")),
        ),
        Some(LockIssue::Weak(mode)) => {
            let mode = if mode.is_empty() {
                "this".to_string()
            } else {
                mode.to_ascii_uppercase()
            };
            (
                unserialized.to_string(),
                format!(
                    " (LOCK TABLE in {mode} MODE does not conflict with itself, so concurrent inserts both hold it)"
                ),
                Some(format!(
                    "lock the table IN SHARE ROW EXCLUSIVE MODE, or better, replace the LOCK TABLE with `{lock}` before this read"
                )),
            )
        }
    }
}

/// The advisory lock statement for a chain (see the module docs).
fn lock_line(function: &str, read: &ChainRead) -> String {
    let ns = namespace(function);
    match read.keys.as_slice() {
        [] => format!("PERFORM pg_advisory_xact_lock({ns});"),
        [k] if k.nullable => format!(
            "PERFORM pg_advisory_xact_lock({ns}, hashtext(COALESCE(NEW.{}::text, 'NULL')));",
            k.column
        ),
        [k] => format!(
            "PERFORM pg_advisory_xact_lock({ns}, hashtext(NEW.{}::text));",
            k.column
        ),
        ks => {
            let args: Vec<String> = ks.iter().map(|k| format!("NEW.{}", k.column)).collect();
            format!(
                "PERFORM pg_advisory_xact_lock({ns}, hashtext(concat_ws('|', {})));",
                args.join(", ")
            )
        }
    }
}

/// A stable 31-bit lock namespace for a function (FNV-1a).
fn namespace(function: &str) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for b in function.bytes() {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    h & 0x7fff_ffff
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The trigger of incident 002, as first shipped: predecessor read with no lock.
    const INCIDENT: &str = r#"CREATE OR REPLACE FUNCTION audit_log_compute_checksum() RETURNS trigger AS $$
DECLARE
  prev TEXT;
BEGIN
  SELECT checksum INTO prev
  FROM audit_logs
  WHERE org_id IS NOT DISTINCT FROM NEW.org_id
    AND id <> NEW.id
  ORDER BY timestamp DESC, id DESC
  LIMIT 1;

  NEW.prev_checksum := prev;
  NEW.checksum := encode(
    digest(convert_to(COALESCE(prev, '') || NEW.id::text || NEW.action || NEW.timestamp::text, 'UTF8'), 'sha256'),
    'hex');
  RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER audit_log_checksum BEFORE INSERT ON audit_logs
  FOR EACH ROW EXECUTE FUNCTION audit_log_compute_checksum();
"#;

    const INCIDENT_LOCK: &str =
        "PERFORM pg_advisory_xact_lock(4242, hashtext(COALESCE(NEW.org_id::text, 'NULL')));";

    fn incident_fixed() -> String {
        INCIDENT.replace(
            "BEGIN\n  SELECT checksum",
            &format!("BEGIN\n  {INCIDENT_LOCK}\n  SELECT checksum"),
        )
    }

    fn judge_files(files: &[(&str, &str)]) -> Vec<ChainVerdict> {
        let parsed: Vec<ParsedMigration> =
            files.iter().map(|(p, t)| parse_migration(p, t)).collect();
        judge(&parsed)
    }

    fn of_kind(v: &[ChainVerdict], kind: VerdictKind) -> Vec<ChainVerdict> {
        v.iter().filter(|x| x.kind == kind).cloned().collect()
    }

    /// Unserialized findings of one migration; asserts there is at least one.
    fn lint_errors(sql: &str) -> Vec<ChainVerdict> {
        let v = of_kind(&judge_files(&[("m.sql", sql)]), VerdictKind::Unserialized);
        assert!(!v.is_empty(), "expected a finding in:\n{sql}");
        v
    }

    fn lint_ok(sql: &str) {
        let v = of_kind(&judge_files(&[("m.sql", sql)]), VerdictKind::Unserialized);
        assert!(v.is_empty(), "unexpected finding {v:#?} in:\n{sql}");
    }

    /// A trigger function with `body` between BEGIN and RETURN NEW, run BEFORE INSERT on `t`.
    fn trigger(decls: &str, body: &str) -> String {
        format!(
            "CREATE OR REPLACE FUNCTION chain_fn() RETURNS trigger LANGUAGE plpgsql AS $fn$\nDECLARE {decls}\nBEGIN\n{body}\n  RETURN NEW;\nEND\n$fn$;\nCREATE TRIGGER chain_trg BEFORE INSERT ON t FOR EACH ROW EXECUTE FUNCTION chain_fn();\n"
        )
    }

    const READ: &str = "  SELECT hash INTO prev FROM t WHERE account_id = NEW.account_id ORDER BY id DESC LIMIT 1;";
    const DERIVE: &str = "  NEW.prev_hash := prev;\n  NEW.hash := encode(sha256(convert_to(coalesce(prev, '') || NEW.payload, 'UTF8')), 'hex');";
    const LOCK: &str = "  PERFORM pg_advisory_xact_lock(1, hashtext(NEW.account_id::text));";

    #[test]
    fn incident_002_trigger_is_reported_at_the_predecessor_read() {
        let v = lint_errors(INCIDENT);
        assert_eq!(v.len(), 1);
        let f = &v[0];
        let read = &INCIDENT[f.span.clone()];
        assert!(read.starts_with("SELECT checksum INTO prev"), "{read}");
        assert!(read.ends_with("LIMIT 1"), "{read}");
        assert_eq!(f.severity, Severity::Error);
        assert_eq!(f.function, "audit_log_compute_checksum");
        assert_eq!(f.chain_key, vec!["org_id"]);
        assert_eq!(
            f.message,
            "trigger function `audit_log_compute_checksum` reads the latest row of the `org_id` chain without a lock: concurrent inserts for the same org_id read the same predecessor and fork the chain"
        );
        let want = format!(
            "PERFORM pg_advisory_xact_lock({}, hashtext(COALESCE(NEW.org_id::text, 'NULL')));",
            namespace("audit_log_compute_checksum")
        );
        assert!(f.help.contains(&want), "{}", f.help);
        assert!(
            f.help.contains("unique index on (org_id, prev_checksum)"),
            "{}",
            f.help
        );
        // The ORDER BY has an id tiebreaker: no timestamp warning.
        let all = judge_files(&[("m.sql", INCIDENT)]);
        assert!(of_kind(&all, VerdictKind::TimestampOnlyOrder).is_empty());
    }

    #[test]
    fn incident_002_fix_with_advisory_lock_is_clean() {
        lint_ok(&incident_fixed());
    }

    #[test]
    fn applying_the_fix_clears_the_finding() {
        let v = lint_errors(INCIDENT);
        let fix = v[0].fix.clone().unwrap();
        let mut fixed = INCIDENT.to_string();
        fixed.insert_str(fix.at, &fix.text);
        assert!(
            fixed.contains("BEGIN\n  PERFORM pg_advisory_xact_lock("),
            "{fixed}"
        );
        assert!(
            fixed.contains("'NULL')));\n  SELECT checksum INTO prev"),
            "{fixed}"
        );
        lint_ok(&fixed);
    }

    #[test]
    fn serialization_forms() {
        let bad = [
            ("no lock", format!("{READ}\n{DERIVE}")),
            ("lock after the read", format!("{READ}\n{LOCK}\n{DERIVE}")),
            (
                "FOR UPDATE on the predecessor row",
                format!(
                    "{}\n{DERIVE}",
                    READ.replace("LIMIT 1;", "LIMIT 1 FOR UPDATE;")
                ),
            ),
            (
                "lock in one branch only",
                format!("  IF NEW.kind = 'x' THEN\n{LOCK}\n  END IF;\n{READ}\n{DERIVE}"),
            ),
            (
                "lock in a loop that may not run",
                format!("  FOR i IN 1..NEW.n LOOP\n{LOCK}\n  END LOOP;\n{READ}\n{DERIVE}"),
            ),
            (
                "lock in a block whose handler swallows errors",
                format!(
                    "  BEGIN\n{LOCK}\n  EXCEPTION WHEN others THEN NULL;\n  END;\n{READ}\n{DERIVE}"
                ),
            ),
            (
                "shared advisory lock",
                format!("  PERFORM pg_advisory_xact_lock_shared(1);\n{READ}\n{DERIVE}"),
            ),
            (
                "try lock whose result is ignored",
                format!("  PERFORM pg_try_advisory_xact_lock(1);\n{READ}\n{DERIVE}"),
            ),
            (
                "weak table lock",
                format!("  LOCK TABLE t IN ROW EXCLUSIVE MODE;\n{READ}\n{DERIVE}"),
            ),
            (
                "session lock never released",
                format!("  PERFORM pg_advisory_lock(1);\n{READ}\n{DERIVE}"),
            ),
            (
                "session lock released before the read",
                format!(
                    "  PERFORM pg_advisory_lock(1);\n  PERFORM pg_advisory_unlock(1);\n{READ}\n{DERIVE}"
                ),
            ),
            (
                "lock inside the read statement itself",
                format!(
                    "  SELECT pg_advisory_xact_lock(1), hash INTO dummy, prev FROM t WHERE account_id = NEW.account_id ORDER BY id DESC LIMIT 1;\n{DERIVE}"
                ),
            ),
        ];
        for (what, body) in bad {
            let v = lint_errors(&trigger("prev text; dummy text;", &body));
            assert_eq!(v.len(), 1, "{what}");
            assert_eq!(v[0].chain_key, vec!["account_id"], "{what}");
        }
        let v = lint_errors(&trigger(
            "prev text;",
            &format!(
                "{}\n{DERIVE}",
                READ.replace("LIMIT 1;", "LIMIT 1 FOR UPDATE;")
            ),
        ));
        assert!(
            v[0].message.contains("FOR UPDATE locks only"),
            "{}",
            v[0].message
        );
        let v = lint_errors(&trigger(
            "prev text;",
            &format!("  PERFORM pg_advisory_lock(1);\n{READ}\n{DERIVE}"),
        ));
        assert!(v[0].message.contains("never released"), "{}", v[0].message);

        let good = [
            ("advisory lock before", format!("{LOCK}\n{READ}\n{DERIVE}")),
            (
                "lock in every branch",
                format!(
                    "  IF NEW.kind = 'x' THEN\n{LOCK}\n  ELSE\n{LOCK}\n  END IF;\n{READ}\n{DERIVE}"
                ),
            ),
            (
                "the unlocked branch returns early",
                format!(
                    "  IF NEW.account_id IS NULL THEN\n    RETURN NEW;\n  ELSE\n{LOCK}\n  END IF;\n{READ}\n{DERIVE}"
                ),
            ),
            (
                "lock in a nested block",
                format!("  BEGIN\n{LOCK}\n  END;\n{READ}\n{DERIVE}"),
            ),
            (
                "strong table lock",
                format!("  LOCK TABLE t IN SHARE ROW EXCLUSIVE MODE;\n{READ}\n{DERIVE}"),
            ),
            ("default table lock", format!("  LOCK t;\n{READ}\n{DERIVE}")),
            (
                "exclusive table lock",
                format!("  LOCK TABLE ONLY t IN EXCLUSIVE MODE NOWAIT;\n{READ}\n{DERIVE}"),
            ),
            (
                "session lock paired with unlock",
                format!(
                    "  PERFORM pg_advisory_lock(1);\n{READ}\n{DERIVE}\n  PERFORM pg_advisory_unlock(1);"
                ),
            ),
            (
                "parent row locked first",
                format!(
                    "  PERFORM 1 FROM accounts WHERE id = NEW.account_id FOR UPDATE;\n{READ}\n{DERIVE}"
                ),
            ),
            (
                "parent row updated first",
                format!(
                    "  UPDATE accounts SET entries = entries + 1 WHERE id = NEW.account_id;\n{READ}\n{DERIVE}"
                ),
            ),
            (
                "lock in the read's own IF branch",
                format!("  IF NEW.chained THEN\n{LOCK}\n{READ}\n{DERIVE}\n  END IF;"),
            ),
        ];
        for (what, body) in good {
            let sql = trigger("prev text;", &body);
            let v = of_kind(&judge_files(&[("m.sql", &sql)]), VerdictKind::Unserialized);
            assert!(v.is_empty(), "{what}: {v:#?}");
        }
    }

    #[test]
    fn chain_head_row_in_another_table() {
        let head = |for_update: &str| {
            trigger(
                "h text; s bigint;",
                &format!(
                    "  SELECT last_hash, last_seq INTO h, s FROM chain_heads WHERE chain_id = NEW.chain_id{for_update};\n  NEW.seq := s + 1;\n  NEW.hash := encode(digest(coalesce(h, '') || NEW.payload, 'sha256'), 'hex');\n  UPDATE chain_heads SET last_hash = NEW.hash, last_seq = NEW.seq WHERE chain_id = NEW.chain_id;"
                ),
            )
        };
        lint_ok(&head(" FOR UPDATE"));
        lint_ok(&head(" FOR NO KEY UPDATE"));
        let v = lint_errors(&head(""));
        assert!(
            v[0].message
                .contains("from `chain_heads` without FOR UPDATE"),
            "{}",
            v[0].message
        );
        assert!(
            v[0].help.starts_with("end this SELECT with `FOR UPDATE`"),
            "{}",
            v[0].help
        );
        // Reading another table without updating it is a lookup, not a chain head.
        lint_ok(&trigger(
            "r numeric;",
            "  SELECT rate INTO r FROM fx WHERE ccy = NEW.ccy;\n  NEW.hash := md5(NEW.amount::text || r::text);",
        ));
    }

    #[test]
    fn text_in_comments_and_strings_is_not_code() {
        lint_ok(&trigger(
            "prev text;",
            "  -- SELECT hash INTO prev FROM t ORDER BY id DESC LIMIT 1;\n  /* SELECT max(seq) INTO prev FROM t; */\n  RAISE NOTICE 'SELECT hash INTO prev FROM t ORDER BY id DESC LIMIT 1';\n  NEW.hash := md5(NEW.payload || coalesce(prev, ''));",
        ));
    }

    #[test]
    fn non_chain_triggers_are_not_findings() {
        lint_ok(&trigger("", "  NEW.updated_at := now();"));
        lint_ok(&trigger(
            "",
            "  NEW.content_hash := encode(digest(NEW.payload::text, 'sha256'), 'hex');",
        ));
        // A predecessor read used only for validation derives nothing.
        lint_ok(&trigger(
            "s text;",
            "  SELECT status INTO s FROM t WHERE account_id = NEW.account_id ORDER BY id DESC LIMIT 1;\n  IF s = 'closed' THEN RAISE EXCEPTION 'closed'; END IF;",
        ));
        // Comparisons in conditions are not assignments.
        lint_ok(&trigger(
            "v bigint;",
            "  SELECT max(seq) INTO v FROM t WHERE account_id = NEW.account_id;\n  IF NEW.seq = v + 1 THEN RAISE NOTICE 'in order'; END IF;",
        ));
        lint_errors(&trigger(
            "prev text;",
            &format!("{READ}\n  IF prev = NEW.expected THEN NULL; END IF;\n{DERIVE}"),
        ));
        // A copy of the previous value without hash or increment is not a chain.
        lint_ok(&trigger(
            "p numeric;",
            "  SELECT price INTO p FROM t WHERE item = NEW.item ORDER BY at DESC, id DESC LIMIT 1;\n  NEW.previous_price := p;",
        ));
    }

    #[test]
    fn gapless_counters() {
        let counter = "CREATE FUNCTION next_invoice_no() RETURNS trigger AS $$\nBEGIN\n  SELECT COALESCE(MAX(number), 0) + 1 INTO NEW.number FROM invoices WHERE company_id = NEW.company_id;\n  RETURN NEW;\nEND $$ LANGUAGE plpgsql;\nCREATE TRIGGER inv BEFORE INSERT ON invoices FOR EACH ROW EXECUTE PROCEDURE next_invoice_no();\n";
        let v = lint_errors(counter);
        assert_eq!(v[0].chain_key, vec!["company_id"]);
        assert_eq!(
            v[0].message,
            "trigger function `next_invoice_no` derives the next value of the `company_id` chain from max()/count() without a lock: concurrent inserts for the same company_id compute the same next value"
        );
        assert!(
            v[0].help.contains("hashtext(NEW.company_id::text)"),
            "{}",
            v[0].help
        );
        // A unique (company_id, number) makes duplicates fail loudly.
        lint_ok(&format!(
            "{counter}CREATE UNIQUE INDEX invoices_no ON invoices (company_id, number);"
        ));
        lint_ok(&format!(
            "{counter}ALTER TABLE invoices ADD CONSTRAINT invoices_no UNIQUE (company_id, number);"
        ));
        // ... unless it is partial, not unique, dropped, or on other columns.
        for near_miss in [
            "CREATE UNIQUE INDEX ix ON invoices (company_id, number) WHERE number > 100;",
            "CREATE INDEX ix ON invoices (company_id, number);",
            "CREATE UNIQUE INDEX ix ON invoices (company_id, number); DROP INDEX ix;",
            "ALTER TABLE invoices ADD CONSTRAINT c UNIQUE (company_id, number); ALTER TABLE invoices DROP CONSTRAINT c;",
            "CREATE UNIQUE INDEX ix ON invoices (company_id, created_at);",
            "CREATE UNIQUE INDEX ix ON other (company_id, number);",
        ] {
            lint_errors(&format!("{counter}{near_miss}"));
        }
        // Assignment form with a scalar subquery, and a last_value lookup.
        lint_errors(&trigger(
            "",
            "  NEW.seq := COALESCE((SELECT max(seq) FROM t WHERE account_id = NEW.account_id), 0) + 1;",
        ));
        lint_errors(&trigger(
            "v bigint;",
            "  SELECT last_value INTO v FROM invoice_no_seq;\n  NEW.no := v + 1;",
        ));
        // A sequence is safe: nextval never hands out the same value twice.
        lint_ok(&trigger("", "  NEW.no := nextval('invoice_no_seq');"));
    }

    #[test]
    fn latest_row_of_another_table_is_a_lookup_not_a_chain() {
        // Signing with the newest key, peppering with the newest setting, converting at the
        // newest rate: the trigger table is `t`, the read is of another table.
        for (decls, body) in [
            (
                "k record;",
                "  SELECT * INTO k FROM signing_keys WHERE active ORDER BY created_at DESC, id DESC LIMIT 1;\n  NEW.signature := encode(hmac(NEW.payload::text, k.secret, 'sha256'), 'hex');",
            ),
            (
                "p text;",
                "  SELECT pepper INTO p FROM tenant_settings WHERE tenant_id = NEW.tenant_id ORDER BY updated_at DESC, id DESC LIMIT 1;\n  NEW.email_hash := encode(digest(p || lower(NEW.email), 'sha256'), 'hex');",
            ),
            (
                "r numeric;",
                "  SELECT rate INTO r FROM fx_rates WHERE currency = NEW.currency ORDER BY as_of DESC, id DESC LIMIT 1;\n  NEW.idem := md5(NEW.currency || r::text);",
            ),
            (
                "n int;",
                "  SELECT max(version) INTO n FROM other_versions WHERE doc = NEW.doc;\n  NEW.version := n + 1;",
            ),
        ] {
            lint_ok(&trigger(decls, body));
        }
        // Near miss: the same reads of the trigger's own table (schema-qualified) are chains.
        lint_errors(&trigger(
            "k record;",
            "  SELECT * INTO k FROM public.t WHERE active ORDER BY created_at DESC, id DESC LIMIT 1;\n  NEW.signature := encode(hmac(NEW.payload::text, k.hash, 'sha256'), 'hex');",
        ));
        lint_errors(
            &trigger(
                "p text;",
                "  SELECT hash INTO p FROM t ORDER BY id DESC LIMIT 1;\n  NEW.hash := md5(p);",
            )
            .replace("ON t FOR", "ON public.t FOR"),
        );
        // A chain-head row of another table that the trigger updates is still a read.
        lint_errors(&trigger(
            "h text;",
            "  SELECT head INTO h FROM chain_heads WHERE account_id = NEW.account_id;\n  NEW.hash := md5(coalesce(h, '') || NEW.payload);\n  UPDATE chain_heads SET head = NEW.hash WHERE account_id = NEW.account_id;",
        ));
    }

    #[test]
    fn range_filtered_aggregates_are_ranks_not_counters() {
        for body in [
            "  NEW.rank_at_insert := (SELECT count(*) FROM t s WHERE s.score > NEW.score) + 1;",
            "  SELECT count(*) + 1 INTO NEW.attempt FROM t WHERE user_id = NEW.user_id AND created_at > now() - interval '15 minutes';",
            "  NEW.n := (SELECT max(n) FROM t WHERE a = NEW.a OR b = NEW.b) + 1;",
            "  NEW.n := (SELECT count(*) FROM t WHERE active) + 1;",
        ] {
            lint_ok(&trigger("", body));
        }
        // Near miss: equality on the chain key (and a constant), or no filter, is a counter.
        for body in [
            "  NEW.n := (SELECT count(*) FROM t WHERE user_id = NEW.user_id) + 1;",
            "  NEW.n := (SELECT max(n) FROM t WHERE user_id = NEW.user_id AND kind = 'x') + 1;",
            "  NEW.n := (SELECT max(n) FROM t WHERE org IS NOT DISTINCT FROM NEW.org) + 1;",
            "  NEW.n := (SELECT max(n) FROM t) + 1;",
        ] {
            lint_errors(&trigger("", body));
        }
    }

    #[test]
    fn messages_say_why_an_existing_lock_does_not_count() {
        let msg = |body: &str| {
            let v = lint_errors(&trigger("prev text;", body));
            (v[0].message.clone(), v[0].help.clone())
        };
        let lock = "PERFORM pg_advisory_xact_lock(1, hashtext(NEW.account_id::text));";
        let cases = [
            (
                format!("{READ}\n  {lock}\n{DERIVE}"),
                "before taking its lock",
                "move the lock before this read",
            ),
            (
                format!("  IF NEW.k THEN\n    {lock}\n  END IF;\n{READ}\n{DERIVE}"),
                "only some paths",
                "unconditionally",
            ),
            (
                format!("  PERFORM pg_try_advisory_xact_lock(1);\n{READ}\n{DERIVE}"),
                "does not wait",
                "replace the try-lock",
            ),
            (
                format!("  PERFORM pg_advisory_xact_lock_shared(1);\n{READ}\n{DERIVE}"),
                "shared advisory lock",
                "replace the shared lock",
            ),
            (
                format!("  LOCK TABLE t IN ROW EXCLUSIVE MODE;\n{READ}\n{DERIVE}"),
                "ROW EXCLUSIVE MODE does not conflict",
                "SHARE ROW EXCLUSIVE",
            ),
        ];
        for (body, note, help) in cases {
            let (m, h) = msg(&body);
            assert!(m.contains(note) && !m.contains("without a lock"), "{m}");
            assert!(h.contains(help), "{h}");
        }
        // Near miss: no lock at all says so, once.
        let (m, h) = msg(&format!("{READ}\n{DERIVE}"));
        assert!(m.contains("without a lock:"), "{m}");
        assert!(h.starts_with("add `PERFORM"), "{h}");
        // A head row read says FOR UPDATE and lock in one phrase.
        let v = lint_errors(&trigger(
            "h text;",
            "  SELECT head INTO h FROM heads WHERE account_id = NEW.account_id;\n  NEW.hash := md5(coalesce(h, '') || NEW.payload);\n  UPDATE heads SET head = NEW.hash WHERE account_id = NEW.account_id;",
        ));
        assert!(
            v[0].message.contains("without FOR UPDATE or a lock:"),
            "{}",
            v[0].message
        );
        assert!(!v[0].message.contains("without FOR UPDATE without"));
    }

    #[test]
    fn unique_index_help_asks_for_nulls_not_distinct_on_nullable_keys() {
        let v = lint_errors(INCIDENT);
        assert!(
            v[0].help
                .contains("(org_id, prev_checksum) NULLS NOT DISTINCT so a fork"),
            "{}",
            v[0].help
        );
        // Near miss: a key compared with `=` is never NULL in the chain, so no clause.
        let v = lint_errors(&trigger("prev text;", &format!("{READ}\n{DERIVE}")));
        assert!(
            v[0].help.contains("(account_id, prev_hash) so a fork"),
            "{}",
            v[0].help
        );
        assert!(!v[0].help.contains("NULLS NOT DISTINCT"));
    }

    #[test]
    fn unique_index_on_prev_hash_and_nullable_keys() {
        let with_index = |ix: &str| format!("{INCIDENT}{ix}");
        lint_ok(&with_index(
            "CREATE UNIQUE INDEX audit_chain ON audit_logs (org_id, prev_checksum) NULLS NOT DISTINCT;",
        ));
        lint_ok(&with_index(
            "CREATE UNIQUE INDEX audit_chain ON audit_logs (COALESCE(org_id, '00000000-0000-0000-0000-000000000000'), prev_checksum);",
        ));
        lint_ok(&with_index(
            "CREATE UNIQUE INDEX audit_prev ON audit_logs (prev_checksum);",
        ));
        // org_id is compared with IS NOT DISTINCT FROM: NULL org_ids still fork.
        let v = lint_errors(&with_index(
            "CREATE UNIQUE INDEX audit_chain ON audit_logs (org_id, prev_checksum);",
        ));
        assert!(
            v[0].message.contains("NULLS NOT DISTINCT"),
            "{}",
            v[0].message
        );
        // A unique hash column does not stop forks: forked rows hash differently.
        lint_errors(&with_index(
            "CREATE UNIQUE INDEX audit_sum ON audit_logs (org_id, checksum);",
        ));
    }

    #[test]
    fn timestamp_only_order_is_a_warning_even_when_locked() {
        let sql = trigger(
            "prev text;",
            &format!(
                "{LOCK}\n  SELECT hash INTO prev FROM t WHERE account_id = NEW.account_id ORDER BY created_at DESC LIMIT 1;\n{DERIVE}"
            ),
        );
        let v = judge_files(&[("m.sql", &sql)]);
        assert!(of_kind(&v, VerdictKind::Unserialized).is_empty());
        let w = of_kind(&v, VerdictKind::TimestampOnlyOrder);
        assert_eq!(w.len(), 1);
        assert_eq!(w[0].severity, Severity::Warning);
        assert_eq!(&sql[w[0].span.clone()], "created_at DESC");
        assert!(
            w[0].help.contains("ORDER BY created_at DESC, id DESC"),
            "{}",
            w[0].help
        );
        let tie = sql.replace("created_at DESC LIMIT", "created_at DESC, id DESC LIMIT");
        assert!(
            of_kind(
                &judge_files(&[("m.sql", &tie)]),
                VerdictKind::TimestampOnlyOrder
            )
            .is_empty()
        );
    }

    #[test]
    fn nested_dollar_tags_and_do_blocks() {
        let sql = trigger(
            "prev text;",
            &format!(
                "  RAISE NOTICE $$ SELECT x FROM t ORDER BY id DESC LIMIT 1; $$;\n  EXECUTE $q$SELECT 1$q$;\n{READ}\n{DERIVE}"
            ),
        );
        let v = lint_errors(&sql);
        assert!(sql[v[0].span.clone()].starts_with("SELECT hash INTO prev"));
        // A DO block is not a trigger function, whatever it does.
        lint_ok(&format!(
            "DO $$\nDECLARE prev text;\nBEGIN\n{READ}\n  INSERT INTO t(hash) VALUES (md5(prev));\nEND $$;"
        ));
    }

    #[test]
    fn replay_keeps_only_the_effective_definition() {
        let bad = trigger("prev text;", &format!("{READ}\n{DERIVE}"));
        let good = trigger("prev text;", &format!("{LOCK}\n{READ}\n{DERIVE}"));
        // A later fix clears the earlier file.
        assert!(judge_files(&[("1.sql", &bad), ("2.sql", &good)]).is_empty());
        // A later regression re-opens the finding at the new file.
        let v = judge_files(&[("1.sql", &good), ("2.sql", &bad)]);
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].path, "2.sql");
        // Dropped function, dropped trigger, cascade, dropped table: nothing left to judge.
        for drop in [
            "DROP TRIGGER chain_trg ON t;",
            "DROP FUNCTION IF EXISTS chain_fn() CASCADE;",
            "DROP FUNCTION chain_fn;",
            "DROP TABLE t;",
        ] {
            assert!(
                judge_files(&[("1.sql", &bad), ("2.sql", drop)]).is_empty(),
                "{drop}"
            );
        }
        // Dropping an overload with arguments leaves the trigger function alone.
        assert_eq!(
            judge_files(&[("1.sql", &bad), ("2.sql", "DROP FUNCTION chain_fn(int);")]).len(),
            1
        );
        // A function no trigger uses, or used only by an UPDATE trigger, is not judged.
        let unused = bad.replace(
            "CREATE TRIGGER chain_trg BEFORE INSERT",
            "CREATE TRIGGER chain_trg BEFORE UPDATE",
        );
        assert!(judge_files(&[("1.sql", &unused)]).is_empty());
        // Schema-qualified and unqualified names are the same function.
        let qualified = bad.replace(
            "EXECUTE FUNCTION chain_fn()",
            "EXECUTE FUNCTION public.chain_fn()",
        );
        assert_eq!(judge_files(&[("1.sql", &qualified)]).len(), 1);
    }

    #[test]
    fn trigger_created_inside_a_do_block_counts() {
        let body = trigger("prev text;", &format!("{READ}\n{DERIVE}"));
        let function_only = &body[..body.find("CREATE TRIGGER").unwrap()];
        let guarded = format!(
            "{function_only}DO $$\nBEGIN\n  IF NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgname = 'chain_trg') THEN\n    CREATE TRIGGER chain_trg BEFORE INSERT ON t FOR EACH ROW EXECUTE FUNCTION chain_fn();\n  END IF;\nEND $$;\n"
        );
        assert_eq!(lint_errors(&guarded).len(), 1);
        // Without any trigger the function is not judged.
        lint_ok(function_only);
    }

    #[test]
    fn a_sealing_design_is_not_flagged() {
        let content = "CREATE FUNCTION audit_content_hash() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n  NEW.content_hash := encode(digest(NEW.payload::text, 'sha256'), 'hex');\n  RETURN NEW;\nEND $$;\nCREATE TRIGGER audit_content BEFORE INSERT ON audit_logs FOR EACH ROW EXECUTE FUNCTION audit_content_hash();\n";
        let seal = "CREATE FUNCTION seal_audit_chain(p_org uuid) RETURNS void LANGUAGE plpgsql AS $$\nDECLARE prev text; r record;\nBEGIN\n  PERFORM pg_advisory_xact_lock(7, hashtext(p_org::text));\n  SELECT chain_hash INTO prev FROM audit_logs WHERE org_id = p_org AND chain_hash IS NOT NULL ORDER BY seq DESC LIMIT 1;\n  FOR r IN SELECT id, content_hash FROM audit_logs WHERE org_id = p_org AND chain_hash IS NULL ORDER BY seq LOOP\n    prev := encode(digest(coalesce(prev, '') || r.content_hash, 'sha256'), 'hex');\n    UPDATE audit_logs SET chain_hash = prev WHERE id = r.id;\n  END LOOP;\nEND $$;\n";
        assert!(
            judge_files(&[
                ("1.sql", INCIDENT),
                ("2.sql", "DROP TRIGGER audit_log_checksum ON audit_logs;"),
                ("3.sql", content),
                ("4.sql", seal)
            ])
            .is_empty()
        );
    }

    #[test]
    fn lock_taken_in_a_helper_function_counts() {
        let helper = "CREATE FUNCTION lock_chain(acct bigint) RETURNS void LANGUAGE sql AS $$ SELECT pg_advisory_xact_lock(1, acct::int) $$;\n";
        let sql = trigger(
            "prev text;",
            &format!("  PERFORM lock_chain(NEW.account_id);\n{READ}\n{DERIVE}"),
        );
        assert!(judge_files(&[("1.sql", helper), ("2.sql", &sql)]).is_empty());
        // Without the helper's definition the call proves nothing.
        assert_eq!(judge_files(&[("2.sql", &sql)]).len(), 1);
    }

    #[test]
    fn ordering_of_flyway_and_golang_migrate_sets() {
        let bad = trigger("prev text;", &format!("{READ}\n{DERIVE}"));
        let good = trigger("prev text;", &format!("{LOCK}\n{READ}\n{DERIVE}"));
        let run = |files: &[(&str, &str)]| {
            let parsed = files
                .iter()
                .filter(|(p, _)| is_migration_path(p))
                .map(|(p, t)| parse_migration(p, t))
                .collect();
            judge_repo(parsed)
        };
        // Flyway: V10 is applied after V9 and fixes it; repeatables go last.
        let v = run(&[
            ("db/migration/V10__fix.sql", good.as_str()),
            ("db/migration/V9__chain.sql", bad.as_str()),
        ]);
        assert!(v.is_empty(), "{v:#?}");
        let v = run(&[
            ("db/migration/R__chain.sql", bad.as_str()),
            ("db/migration/V10__fix.sql", good.as_str()),
        ]);
        assert_eq!(v[0].path, "db/migration/R__chain.sql");
        // golang-migrate: the .down.sql file is never applied forward.
        let v = run(&[
            ("migrations/000002_fix.down.sql", bad.as_str()),
            ("migrations/000002_fix.up.sql", good.as_str()),
            ("migrations/000001_chain.up.sql", bad.as_str()),
        ]);
        assert!(v.is_empty(), "{v:#?}");
        // Separate sets do not override each other.
        let v = run(&[
            ("apps/a/migrations/1_chain.sql", bad.as_str()),
            ("apps/b/migrations/2_fix.sql", good.as_str()),
        ]);
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].path, "apps/a/migrations/1_chain.sql");
    }

    #[test]
    fn dbmate_down_sections_are_not_replayed() {
        let good = trigger("prev text;", &format!("{LOCK}\n{READ}\n{DERIVE}"));
        let bad = trigger("prev text;", &format!("{READ}\n{DERIVE}"));
        let file = format!("-- migrate:up\n{good}\n-- migrate:down\n{bad}\n");
        assert!(judge_files(&[("db/migrations/2_fix.sql", &file)]).is_empty());
    }

    #[test]
    fn unterminated_dollar_quote_is_a_parse_diagnostic() {
        let sql = "CREATE FUNCTION f() RETURNS trigger AS $fn$\nBEGIN\n  RETURN NEW;\nEND;\n";
        let v = judge_files(&[("m.sql", sql)]);
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].kind, VerdictKind::ParseError);
        assert_eq!(&sql[v[0].span.start..v[0].span.start + 4], "$fn$");
        assert!(
            v[0].message
                .contains("unterminated dollar-quoted string $fn$")
        );
        // Other dialects' quoting is not this rule's business...
        assert!(judge_files(&[("dump.sql", "INSERT INTO t VALUES ('it\\'s');")]).is_empty());
        // ...but inside a trigger function it is.
        let v = judge_files(&[(
            "m.sql",
            "CREATE FUNCTION f() RETURNS trigger AS $$ BEGIN RAISE 'x; END $$ LANGUAGE plpgsql;",
        )]);
        assert_eq!(v[0].kind, VerdictKind::ParseError);
    }

    #[test]
    fn single_quoted_bodies_and_multiple_keys() {
        let sql = "CREATE FUNCTION f() RETURNS trigger AS '\nDECLARE p text;\nBEGIN\n  SELECT h INTO p FROM ledger WHERE tenant = NEW.tenant AND stream = NEW.stream ORDER BY seq DESC LIMIT 1;\n  NEW.h := md5(coalesce(p, '''') || NEW.body);\n  RETURN NEW;\nEND' LANGUAGE plpgsql;\nCREATE TRIGGER t BEFORE INSERT ON ledger FOR EACH ROW EXECUTE FUNCTION f();";
        let v = lint_errors(sql);
        assert!(sql[v[0].span.clone()].starts_with("SELECT h INTO p"));
        assert!(sql[v[0].span.clone()].ends_with("LIMIT 1"));
        assert_eq!(v[0].chain_key, vec!["tenant", "stream"]);
        assert!(
            v[0].help
                .contains("hashtext(concat_ws('|', NEW.tenant, NEW.stream))"),
            "{}",
            v[0].help
        );
        // Other languages are not read.
        lint_ok(&sql.replace("LANGUAGE plpgsql", "LANGUAGE plpython3u"));
    }

    #[test]
    fn global_chain_without_key() {
        let v = lint_errors(&trigger(
            "prev text;",
            "  SELECT hash INTO prev FROM t ORDER BY id DESC LIMIT 1;\n  NEW.hash := md5(coalesce(prev, '') || NEW.payload);",
        ));
        assert!(v[0].chain_key.is_empty());
        assert!(v[0].help.contains(&format!(
            "PERFORM pg_advisory_xact_lock({});",
            namespace("chain_fn")
        )));
        assert!(v[0].message.contains("table-wide chain"));
    }

    #[test]
    fn hostile_inputs_stay_linear() {
        let n = 20_000;
        let reads = "SELECT max(x) INTO v FROM t WHERE k = NEW.k; ".repeat(n);
        let inputs = [
            trigger("v int;", &reads),
            format!(
                "CREATE UNIQUE INDEX i ON t ({}x{});",
                "(".repeat(n),
                ")".repeat(n)
            ),
            format!("ALTER TABLE t {}", "ADD UNIQUE (".repeat(n)),
            format!("SELECT 1 {}", "\\".repeat(n)),
            "BEGIN IF x THEN ".repeat(n),
            format!(
                "CREATE FUNCTION f() RETURNS trigger AS $$ {} $$;",
                "$a$ ".repeat(n)
            ),
        ];
        for sql in inputs {
            let v = judge_files(&[("m.sql", &sql)]);
            assert!(v.iter().all(|x| x.span.end <= sql.len()));
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        #[test]
        fn judge_never_panics_and_spans_are_in_bounds(cut in 0usize..INCIDENT.len(), junk in "\\PC{0,16}") {
            let mut text = INCIDENT[..cut].to_string();
            text.push_str(&junk);
            text.push_str(&INCIDENT[cut..]);
            let files = [parse_migration("m.sql", &text)];
            for v in judge(&files) {
                prop_assert!(v.span.start <= v.span.end && v.span.end <= text.len());
                prop_assert!(text.is_char_boundary(v.span.start) && text.is_char_boundary(v.span.end));
                if let Some(fix) = &v.fix {
                    prop_assert!(fix.at <= text.len() && text.is_char_boundary(fix.at));
                }
            }
        }
    }
}
