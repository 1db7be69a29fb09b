//! The pipeline: walk → classify → per-file rules (parallel) → repo rules → suppress → resolve.
//! Output order is fixed (path, line, column, rule) whatever the thread schedule.

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Instant;

use rayon::prelude::*;

use crate::classify::{FileKind, classify};
use crate::config::{self, Config};
use crate::finding::{Diagnostic, Finding, Location, Related, Severity, Snippet, stable_hash};
use crate::meta::{self, RuleMeta};
use crate::report::Skipped;
use crate::rules::{self, Cx, Fact, FileOut, Repo, Rule};
use crate::source::{LineIndex, SourceFile};
use crate::suppress::{self, Suppression};
use crate::syntax::dsn::mask_secrets;

/// What to check and how.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Files and directories to check; empty means the current directory.
    pub paths: Vec<PathBuf>,
    /// An explicit config file (else `<root>/.premortem.yaml` when present).
    pub config: Option<PathBuf>,
    /// Worker threads (default: one per core).
    pub threads: Option<usize>,
    /// Read files from git objects (the index with `--staged`, a commit for a pre-push range)
    /// instead of the working tree.
    pub snapshot: Option<std::sync::Arc<crate::git::Snapshot>>,
}

/// The result of a run.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub root: PathBuf,
    pub findings: Vec<Finding>,
    pub files_scanned: usize,
    pub skipped: Vec<Skipped>,
    pub elapsed_ms: u64,
    /// Metadata of every rule that could report, sorted by id.
    pub rules: Vec<RuleMeta>,
}

/// A usage, config or I/O error: exit 2 with this one-line message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error(pub String);

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Finds the repository root for a path: the nearest ancestor holding `.git` or a
/// `.premortem.yaml` (a project inside a larger checkout, like the bundled examples), else the
/// directory itself.
pub fn find_root(start: &Path) -> PathBuf {
    let dir = if start.is_dir() {
        start.to_path_buf()
    } else {
        start.parent().map(Path::to_path_buf).unwrap_or_default()
    };
    let dir = dir.canonicalize().unwrap_or(dir);
    dir.ancestors()
        .find(|a| a.join(".git").exists() || a.join(".premortem.yaml").is_file())
        .map(Path::to_path_buf)
        .unwrap_or(dir)
}

/// Repo-relative path with `/` separators.
fn relative(root: &Path, path: &Path) -> Option<String> {
    let rel = path.strip_prefix(root).ok()?;
    // Fast path: on Unix a UTF-8 path already uses `/`; no per-component allocation.
    if cfg!(unix)
        && let Some(s) = rel.to_str()
    {
        return Some(s.to_string());
    }
    let s: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    Some(s.join("/"))
}

/// Loads the config for `root` (or the explicit file).
pub fn load_config(root: &Path, explicit: Option<&Path>) -> Result<Config, Error> {
    let path = match explicit {
        Some(p) => p.to_path_buf(),
        None => {
            let p = root.join(".premortem.yaml");
            if !p.exists() {
                return Ok(Config::default());
            }
            p
        }
    };
    let text = std::fs::read_to_string(&path)
        .map_err(|e| Error(format!("cannot read config `{}`: {e}", path.display())))?;
    let shown = relative(root, &path).unwrap_or_else(|| path.display().to_string());
    config::parse(&shown, &text, meta::all()).map_err(|e| Error(format!("config error: {e}")))
}

/// A file given by name: repo-relative path, absolute path, kind (`None`: custom rules only).
type Candidate = (String, PathBuf, Option<FileKind>);

struct FileResult {
    path: String,
    text: Option<String>,
    out: FileOut,
    suppressions: Vec<Suppression>,
}

/// What one file came to: checked, or skipped with a reason.
type Outcome1 = Result<FileResult, Skipped>;

fn outcome_path(r: &Outcome1) -> &str {
    match r {
        Ok(f) => &f.path,
        Err(s) => &s.path,
    }
}

/// Everything the per-file pass needs, shared by every worker thread.
struct Pass<'a> {
    rules: &'a [Box<dyn Rule>],
    /// Each rule's context, built once per run instead of once per file.
    cxs: Vec<Cx<'a>>,
    config: &'a Config,
}

impl Pass<'_> {
    /// True when no file under a [`crate::classify::SKIP_DIRS`] directory can be wanted: such
    /// files have no kind, so only a path glob could ask for one.
    fn prunes_skipped_dirs(&self) -> bool {
        self.config.custom_rules.iter().all(|c| c.paths.is_empty())
            && !self
                .rules
                .iter()
                .zip(&self.cxs)
                .any(|(r, cx)| r.wants_any_path(cx))
    }

    /// Reads and checks one regular file.
    fn file(&self, rel: String, abs: &Path, kind: Option<FileKind>) -> Outcome1 {
        match read_file(abs, self.config.max_file_size) {
            Read::Text(text) => Ok(check_one(&rel, kind, text, self)),
            Read::Skip(reason) => Err(Skipped { path: rel, reason }),
        }
    }
}

/// Runs a check.
pub fn run(opts: &Options) -> Result<Outcome, Error> {
    let started = Instant::now();
    let cwd = std::env::current_dir()
        .map_err(|e| Error(format!("cannot read the current directory: {e}")))?;
    let paths: Vec<PathBuf> = if opts.paths.is_empty() {
        vec![cwd.clone()]
    } else {
        opts.paths
            .iter()
            .map(|p| {
                if p.is_absolute() {
                    p.clone()
                } else {
                    cwd.join(p)
                }
            })
            .collect()
    };
    for p in &paths {
        if let Err(e) = std::fs::symlink_metadata(p) {
            return Err(Error(format!("cannot read `{}`: {e}", p.display())));
        }
    }
    let root = find_root(&paths[0]);
    let config = load_config(&root, opts.config.as_deref())?;
    let rules: Vec<Box<dyn Rule>> = rules::all()
        .into_iter()
        .filter(|r| !config.rule(r.id()).off)
        .collect();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(opts.threads.unwrap_or(0))
        .stack_size(WORKER_STACK)
        .start_handler(|_| crate::lang::note_thread_stack(WORKER_STACK))
        .build()
        .map_err(|e| Error(format!("cannot start worker threads: {e}")))?;
    pool.install(|| run_in(&root, &paths, &config, &rules, opts, started))
}

/// Each worker's stack: address space, touched only as deep as a parse goes. Test files up to
/// about 120 KiB parse on the worker itself instead of a thread of their own.
const WORKER_STACK: usize = 32 << 20;

fn wanted(pass: &Pass, rel: &str) -> Option<Option<FileKind>> {
    let (rules, config) = (pass.rules, pass.config);
    if config.exclude.is_match(rel) {
        return None;
    }
    let kind = classify(rel);
    let by_rule = kind.is_some_and(|k| rules.iter().any(|r| r.wants(k, rel)));
    let by_custom = config.custom_rules.iter().any(|c| {
        if c.paths.is_empty() {
            kind.is_some()
        } else {
            c.paths.is_match(rel)
        }
    });
    let by_path = || {
        rules
            .iter()
            .zip(&pass.cxs)
            .any(|(r, cx)| r.wants_path(cx, rel))
    };
    (by_rule || by_custom || by_path()).then_some(kind)
}

/// Why a path a rule wants is not read, when it is not a regular file.
fn special_reason(t: std::fs::FileType) -> String {
    if t.is_symlink() {
        "symbolic link, not followed".into()
    } else {
        "not a regular file".into()
    }
}

/// A walk error worth a skip notice: a directory that could not be listed.
fn walk_error(root: &Path, err: &ignore::Error) -> Option<Skipped> {
    let mut path = None;
    let mut e = err;
    loop {
        match e {
            ignore::Error::WithPath { path: p, err } => {
                path = Some(p);
                e = err;
            }
            ignore::Error::WithDepth { err, .. } => e = err,
            ignore::Error::Io(io) => {
                return Some(Skipped {
                    path: relative(root, path?)?,
                    reason: io_reason(io),
                });
            }
            _ => return None,
        }
    }
}

/// Walks the given paths and checks every file some rule wants. Files are read and checked on
/// the walker's own threads as the walk finds them (no second pass over a path list), then
/// put in path order.
fn scan(
    root: &Path,
    paths: &[PathBuf],
    pass: &Pass,
    threads: usize,
) -> Result<(Vec<Outcome1>, bool), Error> {
    let root_c = root.canonicalize().unwrap_or_else(|_| root.to_path_buf());
    let done: Mutex<Vec<Outcome1>> = Mutex::new(Vec::new());
    let push = |r: Outcome1| done.lock().unwrap_or_else(|e| e.into_inner()).push(r);
    let mut named: Vec<Candidate> = Vec::new();
    let mut partial = false;
    for p in paths {
        let link = std::fs::symlink_metadata(p).map(|m| m.file_type());
        if let Ok(t) = link
            && !t.is_dir()
        {
            // A file given by name (pre-commit): checked even when ignored. A symlink is judged
            // as itself, never followed.
            partial = true;
            let abs = match (p.parent(), p.file_name()) {
                (Some(dir), Some(name)) => dir
                    .canonicalize()
                    .unwrap_or_else(|_| dir.to_path_buf())
                    .join(name),
                _ => p.clone(),
            };
            let rel = relative(&root_c, &abs).ok_or_else(|| {
                Error(format!(
                    "`{}` is outside the repository at `{}`",
                    p.display(),
                    root.display()
                ))
            })?;
            if let Some(kind) = wanted(pass, &rel) {
                if t.is_file() {
                    named.push((rel, abs, kind));
                } else {
                    push(Err(Skipped {
                        path: rel,
                        reason: special_reason(t),
                    }));
                }
            }
            continue;
        }
        let abs = p.canonicalize().unwrap_or_else(|_| p.clone());
        if abs != root {
            partial = true;
        }
        // Nothing under a vendored or generated directory is classified; unless a path glob
        // (a custom rule's `paths`, `sensitive_paths`) could still ask for one of its files, the
        // walk does not go in at all.
        let prune = pass.prunes_skipped_dirs();
        let walker = ignore::WalkBuilder::new(&abs)
            .hidden(false)
            .require_git(false)
            .follow_links(false)
            .threads(threads)
            .filter_entry(move |e| {
                e.file_name() != ".git"
                    && !(prune
                        && e.depth() > 0
                        && e.file_type().is_some_and(|t| t.is_dir())
                        && e.file_name()
                            .to_str()
                            .is_some_and(|n| crate::classify::SKIP_DIRS.contains(&n)))
            })
            .build_parallel();
        walker.run(|| {
            let root_c = &root_c;
            let push = &push;
            Box::new(move |entry| {
                let entry = match entry {
                    Ok(entry) => entry,
                    Err(err) => {
                        if let Some(s) = walk_error(root_c, &err) {
                            push(Err(s));
                        }
                        return ignore::WalkState::Continue;
                    }
                };
                let Some(t) = entry.file_type() else {
                    return ignore::WalkState::Continue;
                };
                if t.is_dir() {
                    return ignore::WalkState::Continue;
                }
                if let Some(rel) = relative(root_c, entry.path())
                    && let Some(kind) = wanted(pass, &rel)
                {
                    push(if t.is_file() {
                        pass.file(rel, entry.path(), kind)
                    } else {
                        Err(Skipped {
                            path: rel,
                            reason: special_reason(t),
                        })
                    });
                }
                ignore::WalkState::Continue
            })
        });
    }
    let mut done = done.into_inner().unwrap_or_else(|e| e.into_inner());
    done.par_extend(
        named
            .into_par_iter()
            .map(|(rel, abs, kind)| pass.file(rel, &abs, kind)),
    );
    done.sort_by(|a, b| outcome_path(a).cmp(outcome_path(b)));
    done.dedup_by(|a, b| outcome_path(a) == outcome_path(b));
    Ok((done, partial))
}

enum Read {
    Text(String),
    Skip(String),
}

/// `O_NONBLOCK`: opening a FIFO that replaced a file after the walk must not wait for a writer.
/// It changes nothing for regular files.
#[cfg(all(
    target_os = "linux",
    any(
        target_arch = "x86",
        target_arch = "x86_64",
        target_arch = "arm",
        target_arch = "aarch64",
        target_arch = "riscv64",
        target_arch = "powerpc64",
        target_arch = "s390x",
        target_arch = "loongarch64"
    )
))]
const O_NONBLOCK: i32 = 0o4000;
#[cfg(any(
    target_os = "macos",
    target_os = "ios",
    target_os = "freebsd",
    target_os = "openbsd",
    target_os = "netbsd",
    target_os = "dragonfly"
))]
const O_NONBLOCK: i32 = 0x4;
#[cfg(not(any(
    all(
        target_os = "linux",
        any(
            target_arch = "x86",
            target_arch = "x86_64",
            target_arch = "arm",
            target_arch = "aarch64",
            target_arch = "riscv64",
            target_arch = "powerpc64",
            target_arch = "s390x",
            target_arch = "loongarch64"
        )
    ),
    target_os = "macos",
    target_os = "ios",
    target_os = "freebsd",
    target_os = "openbsd",
    target_os = "netbsd",
    target_os = "dragonfly"
)))]
const O_NONBLOCK: i32 = 0;

fn open_for_reading(path: &Path) -> std::io::Result<std::fs::File> {
    let mut o = std::fs::OpenOptions::new();
    o.read(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::custom_flags(&mut o, O_NONBLOCK);
    o.open(path)
}

fn io_reason(e: &std::io::Error) -> String {
    if e.kind() == std::io::ErrorKind::NotFound {
        "vanished during the scan".into()
    } else {
        format!("unreadable: {e}")
    }
}

/// Reads a file as text: one open, one `fstat`, one read. The type and size come from the open
/// handle, so a file swapped for a FIFO or grown past the limit after the walk is still caught.
fn read_file(path: &Path, limit: u64) -> Read {
    use std::io::Read as _;
    let file = match open_for_reading(path) {
        Ok(f) => f,
        Err(e) => return Read::Skip(io_reason(&e)),
    };
    let meta = match file.metadata() {
        Ok(m) => m,
        Err(e) => return Read::Skip(io_reason(&e)),
    };
    if !meta.is_file() {
        return Read::Skip("not a regular file".into());
    }
    if meta.len() > limit {
        return Read::Skip(format!("larger than {}", human_size(limit)));
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize + 1);
    if let Err(e) = (&file).take(limit + 1).read_to_end(&mut bytes) {
        return Read::Skip(io_reason(&e));
    }
    if bytes.len() as u64 > limit {
        return Read::Skip(format!("larger than {}", human_size(limit)));
    }
    // Text never holds a NUL; one memchr over the whole file is cheap next to reading it.
    if memchr::memchr(0, &bytes).is_some() {
        return Read::Skip("binary".into());
    }
    match String::from_utf8(bytes) {
        Ok(t) => Read::Text(t),
        Err(_) => Read::Skip("not UTF-8 text".into()),
    }
}

fn human_size(n: u64) -> String {
    if n.is_multiple_of(1024 * 1024) {
        format!("{} MiB", n / (1024 * 1024))
    } else if n.is_multiple_of(1024) {
        format!("{} KiB", n / 1024)
    } else {
        format!("{n} bytes")
    }
}

fn check_one(rel: &str, kind: Option<FileKind>, text: String, pass: &Pass) -> FileResult {
    let mut out = FileOut::default();
    let text = match kind {
        Some(kind) => {
            let f = SourceFile::new(rel, text, kind);
            for (rule, cx) in pass.rules.iter().zip(&pass.cxs) {
                if rule.wants(kind, rel) {
                    rule.check_file(&f, cx, &mut out);
                }
            }
            if f.kind.is_yaml()
                && let Some(e) = f.yaml_error()
            {
                out.diags.push(Diagnostic::new(
                    "parse-error",
                    rel,
                    e.offset..e.offset,
                    format!(
                        "cannot parse this file as YAML: {}; its rules could not decide",
                        e.message
                    ),
                ));
            }
            custom_rules(rel, &f.text, pass.config, &mut out);
            // Rules may have skipped a file with no connection keyword; when anything is shown
            // from it, its passwords must still be masked.
            if !out.diags.is_empty() && f.kind.is_config() {
                out.secrets.extend(f.secrets());
                out.secrets.sort_by_key(|r| (r.start, r.end));
                out.secrets.dedup();
            }
            f.text
        }
        None => {
            let text = match text.strip_prefix('\u{feff}') {
                Some(rest) => rest.to_string(),
                None => text,
            };
            custom_rules(rel, &text, pass.config, &mut out);
            text
        }
    };
    let suppressions = suppress::scan(&text);
    let keep = !out.diags.is_empty() || !suppressions.is_empty();
    FileResult {
        path: rel.to_string(),
        text: keep.then_some(text),
        out,
        suppressions,
    }
}

fn custom_rules(rel: &str, text: &str, config: &Config, out: &mut FileOut) {
    for custom in &config.custom_rules {
        if !custom.paths.is_empty() && !custom.paths.is_match(rel) {
            continue;
        }
        for m in custom.regex.find_iter(text) {
            let mut d = Diagnostic::new(custom.id.clone(), rel, m.range(), custom.message.clone())
                .severity(custom.severity);
            d.help = custom.help.clone();
            out.diags.push(d);
        }
    }
}

fn cx_for<'a>(id: &str, config: &'a Config) -> Cx<'a> {
    static EMPTY: std::sync::OnceLock<RuleMeta> = std::sync::OnceLock::new();
    let meta = meta::get(id).unwrap_or_else(|| {
        EMPTY.get_or_init(|| RuleMeta {
            id: String::new(),
            severity: Severity::Warning,
            category: String::new(),
            summary: String::new(),
            incident: String::new(),
            rationale: String::new(),
            fix: String::new(),
            examples: vec![],
            options: vec![],
        })
    });
    Cx {
        config,
        meta,
        rule: config.rule(id),
    }
}

fn run_in(
    root: &Path,
    paths: &[PathBuf],
    config: &Config,
    rules: &[Box<dyn Rule>],
    opts: &Options,
    started: Instant,
) -> Result<Outcome, Error> {
    let threads = opts.threads.unwrap_or(0);
    let pass = Pass {
        rules,
        cxs: rules.iter().map(|r| cx_for(r.id(), config)).collect(),
        config,
    };
    let snapshot = opts.snapshot.as_deref();
    let (results, partial) = match snapshot {
        Some(s) => scan_snapshot(s, root, paths, &pass)?,
        None => scan(root, paths, &pass, threads)?,
    };
    let explicit: Vec<PathBuf> = paths.iter().filter(|p| p.is_file()).cloned().collect();
    let mut skipped = Vec::new();
    let mut scanned_results = Vec::new();
    for r in results {
        match r {
            Ok(f) => scanned_results.push(f),
            Err(s) => {
                if s.reason.starts_with("unreadable")
                    && explicit.iter().any(|p| p.ends_with(&s.path))
                {
                    return Err(Error(format!("cannot read `{}`: {}", s.path, s.reason)));
                }
                skipped.push(s)
            }
        }
    }
    let scanned: Vec<String> = scanned_results.iter().map(|f| f.path.clone()).collect();
    let mut facts: Vec<Fact> = Vec::new();
    let mut diags: Vec<Diagnostic> = Vec::new();
    let mut texts: BTreeMap<String, String> = BTreeMap::new();
    let mut secrets: BTreeMap<String, Vec<Range<usize>>> = BTreeMap::new();
    let mut suppressions: BTreeMap<String, Vec<Suppression>> = BTreeMap::new();
    for f in scanned_results {
        facts.extend(f.out.facts);
        diags.extend(f.out.diags);
        if !f.out.secrets.is_empty() {
            secrets.insert(f.path.clone(), f.out.secrets);
        }
        if !f.suppressions.is_empty() {
            suppressions.insert(f.path.clone(), f.suppressions);
        }
        if let Some(t) = f.text {
            texts.insert(f.path, t);
        }
    }
    let root_c = root.to_path_buf();
    let reader = move |rel: &str| -> Option<String> {
        match read_source(snapshot, &root_c, rel, &root_c.join(rel), 3 * 1024 * 1024) {
            Read::Text(t) => Some(t.strip_prefix('\u{feff}').map(str::to_string).unwrap_or(t)),
            Read::Skip(_) => None,
        }
    };
    let repo = Repo {
        root,
        facts: &facts,
        scanned: &scanned,
        partial,
        read: &reader,
    };
    // The rules' repo passes are independent: they run side by side (the fixture rule's
    // analysis is most of the work), and their findings are joined in rule order.
    let per_rule: Vec<Vec<Diagnostic>> = rules
        .par_iter()
        .map(|rule| {
            let cx = cx_for(rule.id(), config);
            let mut out = Vec::new();
            rule.check_repo(&repo, &cx, &mut out);
            out
        })
        .collect();
    diags.extend(per_rule.into_iter().flatten());
    let findings = resolve(diags, config, &mut texts, &secrets, &suppressions, &reader);
    let mut metas: Vec<RuleMeta> = meta::all().to_vec();
    for c in &config.custom_rules {
        metas.push(RuleMeta {
            id: c.id.clone(),
            severity: c.severity,
            category: "custom".into(),
            summary: c.message.clone(),
            incident: String::new(),
            rationale: c.message.clone(),
            fix: c.help.clone().unwrap_or_default(),
            examples: vec![],
            options: vec![],
        });
    }
    metas.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(Outcome {
        root: root.to_path_buf(),
        files_scanned: scanned.len(),
        findings,
        skipped,
        elapsed_ms: started.elapsed().as_millis() as u64,
        rules: metas,
    })
}

/// Checks the files of a git snapshot instead of walking the working tree: every snapshot file
/// under one of `paths` (a file or a directory), filtered like the walk, read from git objects.
fn scan_snapshot(
    snapshot: &crate::git::Snapshot,
    root: &Path,
    paths: &[PathBuf],
    pass: &Pass,
) -> Result<(Vec<Result<FileResult, Skipped>>, bool), Error> {
    let root_c = root.canonicalize().unwrap_or(root.to_path_buf());
    let mut scopes = Vec::new();
    let mut partial = snapshot.is_restricted();
    for p in paths {
        let abs = p.canonicalize().unwrap_or_else(|_| p.clone());
        let rel = relative(&root_c, &abs).ok_or_else(|| {
            Error(format!(
                "`{}` is outside the repository at `{}`",
                p.display(),
                root.display()
            ))
        })?;
        partial |= !rel.is_empty();
        scopes.push(rel);
    }
    let in_scope = |rel: &str| {
        scopes.iter().any(|s| {
            s.is_empty()
                || rel == s
                || rel
                    .strip_prefix(s.as_str())
                    .is_some_and(|r| r.starts_with('/'))
        })
    };
    let files: Vec<(String, Option<FileKind>)> = snapshot
        .files(&root_c)
        .into_iter()
        .filter(|rel| in_scope(rel))
        .filter_map(|rel| Some((rel.clone(), wanted(pass, &rel)?)))
        .collect();
    let limit = pass.config.max_file_size;
    let results = files
        .par_iter()
        .map(
            |(rel, kind)| match read_source(Some(snapshot), root, rel, root, limit) {
                Read::Text(text) => Ok(check_one(rel, *kind, text, pass)),
                Read::Skip(reason) => Err(Skipped {
                    path: rel.clone(),
                    reason,
                }),
            },
        )
        .collect();
    Ok((results, partial))
}

/// Reads a file from the snapshot when there is one, else from the working tree.
fn read_source(
    snapshot: Option<&crate::git::Snapshot>,
    root: &Path,
    rel: &str,
    abs: &Path,
    limit: u64,
) -> Read {
    let Some(snapshot) = snapshot else {
        return read_file(abs, limit);
    };
    match snapshot.read(root, rel, limit) {
        Err(reason) => Read::Skip(reason),
        Ok(None) => Read::Skip(format!("larger than {}", human_size(limit))),
        Ok(Some(bytes)) => {
            if memchr::memchr(0, &bytes[..bytes.len().min(8192)]).is_some() {
                return Read::Skip("binary".into());
            }
            match String::from_utf8(bytes) {
                Ok(t) => Read::Text(t),
                Err(_) => Read::Skip("not UTF-8 text".into()),
            }
        }
    }
}

/// Replaces every secret range with `****` and maps a span of the original into the result.
fn mask_ranges(
    text: &str,
    base: usize,
    secrets: &[Range<usize>],
    span: Range<usize>,
) -> (String, Range<usize>) {
    let end = base + text.len();
    let mut cuts: Vec<Range<usize>> = secrets
        .iter()
        .filter(|s| s.start < end && s.end > base && s.start < s.end)
        .map(|s| s.start.max(base) - base..s.end.min(end) - base)
        .filter(|r| text.is_char_boundary(r.start) && text.is_char_boundary(r.end))
        .collect();
    cuts.sort_by_key(|r| r.start);
    let mut out = String::with_capacity(text.len());
    let mut pos = 0;
    let rel_span = span.start.saturating_sub(base).min(text.len())
        ..span.end.saturating_sub(base).min(text.len());
    let (mut new_start, mut new_end) = (rel_span.start, rel_span.end);
    let mut shift: isize = 0;
    for c in cuts {
        if c.start < pos {
            continue;
        }
        out.push_str(&text[pos..c.start]);
        out.push_str("****");
        let delta = 4 - (c.end - c.start) as isize;
        if rel_span.start >= c.end {
            new_start = (rel_span.start as isize + shift + delta) as usize;
        } else if rel_span.start > c.start {
            new_start = (c.start as isize + shift) as usize;
        }
        if rel_span.end >= c.end {
            new_end = (rel_span.end as isize + shift + delta) as usize;
        } else if rel_span.end > c.start {
            new_end = (c.start as isize + shift + 4) as usize;
        }
        shift += delta;
        pos = c.end;
    }
    out.push_str(&text[pos..]);
    let masked = mask_secrets(&out).into_owned();
    let new_end = new_end.min(masked.len()).max(new_start.min(masked.len()));
    (masked.clone(), new_start.min(masked.len())..new_end)
}

/// The part of the finding's lines to show: whole lines, except that a very long line (minified
/// JSON, say) is cut to a window around the span, so each finding costs the same on any line.
fn snippet_window(text: &str, lines: Range<usize>, span: &Range<usize>) -> (usize, usize) {
    const MAX: usize = 400;
    const MARGIN: usize = 120;
    if lines.len() <= MAX || span.len() > 4 * MAX {
        return (lines.start, lines.end);
    }
    let mut from = span.start.saturating_sub(MARGIN).max(lines.start);
    let mut to = (span.end + MARGIN).min(lines.end);
    while from > lines.start && !text.is_char_boundary(from) {
        from -= 1;
    }
    while to < lines.end && !text.is_char_boundary(to) {
        to += 1;
    }
    (from, to)
}

fn location(path: &str, text: &str, index: &LineIndex, span: &Range<usize>) -> Location {
    let start = span.start.min(text.len());
    let end = span.end.clamp(start, text.len());
    let (line, column) = index.position(text, start);
    let (end_line, end_column) = index.position(text, end);
    Location {
        path: path.to_string(),
        line,
        column,
        end_line,
        end_column: if end == start {
            end_column + 1
        } else {
            end_column
        },
        span: start..end,
    }
}

fn resolve(
    diags: Vec<Diagnostic>,
    config: &Config,
    texts: &mut BTreeMap<String, String>,
    secrets: &BTreeMap<String, Vec<Range<usize>>>,
    suppressions: &BTreeMap<String, Vec<Suppression>>,
    reader: &dyn Fn(&str) -> Option<String>,
) -> Vec<Finding> {
    let mut findings = Vec::new();
    let mut used: BTreeMap<(String, usize), bool> = BTreeMap::new();
    let mut indexes: BTreeMap<String, LineIndex> = BTreeMap::new();
    let mut to_resolve = diags;
    // Suppression diagnostics are made after matching, then resolved like any other.
    let mut meta_diags = Vec::new();
    for pass in 0..2 {
        for d in std::mem::take(&mut to_resolve) {
            if config.ignored(&d.rule, &d.path) {
                continue;
            }
            if !texts.contains_key(&d.path) {
                let t = reader(&d.path).unwrap_or_default();
                texts.insert(d.path.clone(), t);
            }
            let text = &texts[&d.path];
            let index = indexes
                .entry(d.path.clone())
                .or_insert_with(|| LineIndex::new(text));
            let loc = location(&d.path, text, index, &d.span);
            if pass == 0
                && let Some(sups) = suppressions.get(&d.path)
                && let Some((i, _)) = sups
                    .iter()
                    .enumerate()
                    .find(|(_, s)| s.covers(&d.rule, loc.line))
            {
                used.insert((d.path.clone(), i), true);
                continue;
            }
            let severity = d
                .severity
                .or(config.rule(&d.rule).severity)
                .or_else(|| meta::get(&d.rule).map(|m| m.severity))
                .unwrap_or(Severity::Warning);
            let no_secrets = Vec::new();
            let file_secrets = secrets.get(&d.path).unwrap_or(&no_secrets);
            let first = index.line_range(text, loc.line);
            let last = index.line_range(text, loc.end_line.max(loc.line));
            let (from, to) = snippet_window(text, first.start..last.end, &loc.span);
            let lines = text.get(from..to).unwrap_or("");
            let (snippet_text, snippet_span) =
                mask_ranges(lines, from, file_secrets, loc.span.clone());
            let flagged = snippet_text
                .get(snippet_span.clone())
                .unwrap_or("")
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ");
            let identity = d.identity.clone().unwrap_or(flagged);
            let related = d
                .related
                .iter()
                .map(|(p, span, msg)| {
                    if !texts.contains_key(p) {
                        let t = reader(p).unwrap_or_default();
                        texts.insert(p.clone(), t);
                    }
                    let t = &texts[p];
                    let idx = LineIndex::new(t);
                    Related {
                        location: location(p, t, &idx, span),
                        message: mask_secrets(msg).into_owned(),
                    }
                })
                .collect();
            findings.push(Finding {
                fingerprint: identity,
                rule: d.rule.clone(),
                severity,
                location: loc.clone(),
                message: mask_secrets(&d.message).into_owned(),
                help: d.help.as_deref().map(|h| mask_secrets(h).into_owned()),
                related,
                snippet: Some(Snippet {
                    first_line: loc.line,
                    text: snippet_text,
                    span: snippet_span,
                }),
            });
        }
        if pass == 0 {
            for (path, sups) in suppressions {
                for (i, s) in sups.iter().enumerate() {
                    let unknown: Vec<&String> = s
                        .rules
                        .iter()
                        .filter(|r| {
                            meta::get(r).is_none()
                                && !config.custom_rules.iter().any(|c| &c.id == *r)
                        })
                        .collect();
                    if s.rules.is_empty() || !unknown.is_empty() {
                        let what = if s.rules.is_empty() {
                            "this suppression names no rule".to_string()
                        } else {
                            format!(
                                "unknown rule `{}` in this suppression (see `premortem rules`)",
                                unknown[0]
                            )
                        };
                        meta_diags.push(Diagnostic::new(
                            "invalid-suppression",
                            path,
                            s.span.clone(),
                            what,
                        ));
                    } else if s.reason.is_empty() {
                        meta_diags.push(
                            Diagnostic::new("invalid-suppression", path, s.span.clone(), "this suppression gives no reason")
                                .help("write why the finding is acceptable after the rule id: `premortem: ignore[rule-id] reason`"),
                        );
                    }
                    if !used.contains_key(&(path.clone(), i))
                        && !s.rules.is_empty()
                        && unknown.is_empty()
                    {
                        meta_diags.push(
                            Diagnostic::new(
                                "unused-suppression",
                                path,
                                s.span.clone(),
                                format!(
                                    "this suppression of `{}` matches no finding",
                                    s.rules.join(", ")
                                ),
                            )
                            .help("delete the comment: the finding it was for is gone"),
                        );
                    }
                }
            }
            to_resolve = std::mem::take(&mut meta_diags);
        }
    }
    findings.sort_by(|a, b| {
        (
            &a.location.path,
            a.location.line,
            a.location.column,
            &a.rule,
            &a.message,
        )
            .cmp(&(
                &b.location.path,
                b.location.line,
                b.location.column,
                &b.rule,
                &b.message,
            ))
    });
    // Fingerprints: rule, path and the flagged text, plus an occurrence count so two identical
    // findings in one file stay distinct. Line numbers are left out so they survive moves.
    let mut seen: BTreeMap<(String, String, String), usize> = BTreeMap::new();
    for f in &mut findings {
        let key = (
            f.rule.clone(),
            f.location.path.clone(),
            f.fingerprint.clone(),
        );
        let n = seen.entry(key).or_insert(0);
        let hash = stable_hash(&[&f.rule, &f.location.path, &f.fingerprint, &n.to_string()]);
        *n += 1;
        f.fingerprint = format!("{hash:016x}");
    }
    findings
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masking_moves_the_span_with_the_text() {
        let text = "url: postgres://app:s3cr3t@db.prod.internal/x";
        let pw = text.find("s3cr3t").unwrap();
        let span = text.find("postgres").unwrap()..text.len();
        let (masked, s) = mask_ranges(text, 0, std::slice::from_ref(&(pw..pw + 6)), span);
        assert_eq!(masked, "url: postgres://app:****@db.prod.internal/x");
        assert_eq!(&masked[s], "postgres://app:****@db.prod.internal/x");
    }
}
