//! Cross-file context: which files a test file inherits guards from, and the analysis of every
//! file that needs it, in dependency order, each parsed once.
//!
//! - Python: every `conftest.py` in the file's directory and its ancestors.
//! - Ruby: the nearest `spec/` (or minitest `test/`) directory's `spec_helper.rb`, then
//!   `rails_helper.rb`/`test_helper.rb`, then `support/**/*.rb`, then every other file there.
//! - Go: the other `_test.go` files of the same directory holding `TestMain` or `init`.
//! - JavaScript/TypeScript: the setup files of the nearest Jest/Vitest config (`globalSetup`,
//!   then `setupFiles`, then `setupFilesAfterEnv`, each inheriting from those before it).
//! - Java: the base class a test class `extends`, when it is a file of the same directory (or the
//!   only test file of that name): its `@BeforeAll`/`@BeforeEach` guard runs first.
//!
//! Only files with a destructive keyword, and the files they inherit from, are parsed. When
//! only some paths were given (pre-commit), inherited files are found and read on disk.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::LazyLock;

use globset::GlobSet;
use rayon::prelude::*;
use regex::Regex;

use super::setup_config::{self, SetupConfig, SetupRole};
use crate::finding::Diagnostic;
use crate::lang::{self, Context, Exports, FileAnalysis, Lang};
use crate::rules::Repo;
use crate::source::LineIndex;

/// What the per-file pass learned about one test source.
pub(crate) struct Seen {
    lang: Lang,
    destructive: bool,
    /// Kept for the files the repo pass will (or may) analyse.
    text: Option<String>,
    /// May export guards by its name or content (`conftest.py`, `spec_helper.rb`, `TestMain`).
    exporter: bool,
}

impl Seen {
    /// Runs the keyword prefilter over one test file.
    pub(crate) fn new(lang: Lang, path: &str, text: &str) -> Seen {
        // testfixtures' `Load()` names no destructive word; only its turned-off check matters.
        let destructive = lang::may_destroy(lang, text)
            || lang == Lang::Go && text.contains("DangerousSkipTestDatabaseCheck");
        let exporter = match lang {
            Lang::Python => file_name(path) == "conftest.py",
            Lang::Ruby => ruby_stage(path).is_some_and(|(_, stage)| stage < 3),
            Lang::Go => go_exporter(text),
            // Setup files and base classes are found from the files that name them.
            _ => false,
        };
        Seen {
            lang,
            destructive,
            exporter,
            text: (destructive || exporter).then(|| text.to_string()),
        }
    }
}

/// How a parent's exports reach the file that inherits them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Link {
    Plain,
    /// A Jest/Vitest `globalSetup`: its exported function runs before every test.
    GlobalSetup,
    /// A Java base class: its `@BeforeAll`/`@BeforeEach` guards run before the subclass's setup.
    JavaBase,
}

struct Node<'a> {
    lang: Lang,
    text: Cow<'a, str>,
    parents: Vec<(String, Link)>,
    /// Report this file's own findings (it was asked for; not just read for context).
    report: bool,
}

/// One analysed file: its result and the exports it passes on (its own and inherited ones).
struct Done {
    result: Result<FileAnalysis, String>,
    effective: Exports,
}

/// The files premortem knows of: scanned ones, and in a partial run the rest of the tree on disk.
struct Files<'a> {
    repo: &'a Repo<'a>,
    exclude: &'a GlobSet,
    seen: BTreeMap<&'a str, &'a Seen>,
    configs: BTreeMap<String, Vec<&'a SetupConfig>>,
    disk_configs: HashMap<String, Vec<SetupConfig>>,
    /// Caches, so that many test files in one directory cost one lookup.
    setup_by_dir: HashMap<String, Vec<(SetupRole, String)>>,
    listed: HashMap<(String, bool), Vec<String>>,
    go_exporters: HashMap<String, bool>,
    /// Scanned Java files by file name, for base classes in other packages.
    java_by_name: HashMap<&'a str, Vec<&'a str>>,
}

/// Paths are repo-relative with `/`; a file at the root has the directory `""`.
fn dir_of(path: &str) -> &str {
    path.rsplit_once('/').map_or("", |(d, _)| d)
}

fn file_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

fn join(dir: &str, name: &str) -> String {
    if dir.is_empty() {
        name.to_string()
    } else {
        format!("{dir}/{name}")
    }
}

/// `a/b` -> `["", "a", "a/b"]`.
fn ancestors_root_first(dir: &str) -> Vec<&str> {
    let mut out = vec![""];
    for (i, c) in dir.char_indices() {
        if c == '/' {
            out.push(&dir[..i]);
        }
    }
    if !dir.is_empty() {
        out.push(dir);
    }
    out
}

fn go_exporter(text: &str) -> bool {
    text.contains("TestMain(") || text.contains("func init(")
}

/// The nearest `spec/` or `test/` directory of a Ruby file and the file's load stage there:
/// 0 `spec_helper.rb`, 1 `rails_helper.rb`/`test_helper.rb`, 2 `support/**`, 3 anything else.
fn ruby_stage(path: &str) -> Option<(&str, u8)> {
    let mut sd = None;
    for (i, _) in path.match_indices('/') {
        let dir = &path[..i];
        if matches!(file_name(dir), "spec" | "test") {
            sd = Some(dir);
        }
    }
    let sd = sd?;
    let rest = path.get(sd.len() + 1..)?;
    let stage = match rest {
        "spec_helper.rb" => 0,
        "rails_helper.rb" | "test_helper.rb" => 1,
        r if r.starts_with("support/") => 2,
        _ => 3,
    };
    Some((sd, stage))
}

static EXTENDS: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"\bextends\s+([A-Za-z_][\w.]*)").ok());

/// Names of config files that may name setup files, looked for on disk in a partial run.
const CONFIG_NAMES: &[&str] = &[
    "jest.config.js",
    "jest.config.ts",
    "jest.config.mjs",
    "jest.config.cjs",
    "jest.config.json",
    "vitest.config.ts",
    "vitest.config.js",
    "vitest.config.mts",
    "vitest.config.mjs",
    "vite.config.ts",
    "vite.config.js",
    "vite.config.mts",
    "vite.config.mjs",
    "package.json",
];

/// How many files a partial run lists under one `support/` directory.
const MAX_LISTED: usize = 2000;
/// How deep it lists.
const MAX_LIST_DEPTH: usize = 8;

impl<'a> Files<'a> {
    fn new(repo: &'a Repo<'a>, exclude: &'a GlobSet) -> Self {
        let seen: BTreeMap<&str, &Seen> = repo.facts::<Seen>().collect();
        let mut java_by_name: HashMap<&str, Vec<&str>> = HashMap::new();
        for (p, s) in &seen {
            if s.lang == Lang::Java {
                java_by_name.entry(file_name(p)).or_default().push(p);
            }
        }
        let mut configs: BTreeMap<String, Vec<&SetupConfig>> = BTreeMap::new();
        for (_, c) in repo.facts::<SetupConfig>() {
            configs.entry(c.dir.clone()).or_default().push(c);
        }
        Files {
            repo,
            exclude,
            seen,
            configs,
            disk_configs: HashMap::new(),
            setup_by_dir: HashMap::new(),
            listed: HashMap::new(),
            go_exporters: HashMap::new(),
            java_by_name,
        }
    }

    fn on_disk(&self, rel: &str) -> bool {
        !self.exclude.is_match(rel) && self.repo.root.join(rel).is_file()
    }

    /// A file that exists for context: scanned, or (partial run) on disk.
    fn exists(&self, rel: &str) -> bool {
        self.seen.contains_key(rel) || (self.repo.partial && self.on_disk(rel))
    }

    fn text(&self, rel: &str) -> Option<Cow<'a, str>> {
        if let Some(t) = self.seen.get(rel).and_then(|s| s.text.as_deref()) {
            return Some(Cow::Borrowed(t));
        }
        (self.repo.read)(rel).map(Cow::Owned)
    }

    /// Files directly in `dir` (recursively when `deep`): scanned ones, and in a partial run
    /// those on disk.
    fn list(&mut self, dir: &str, deep: bool) -> Vec<String> {
        let key = (dir.to_string(), deep);
        if let Some(v) = self.listed.get(&key) {
            return v.clone();
        }
        let v = self.list_uncached(dir, deep);
        self.listed.insert(key, v.clone());
        v
    }

    fn list_uncached(&self, dir: &str, deep: bool) -> Vec<String> {
        let prefix = if dir.is_empty() {
            String::new()
        } else {
            format!("{dir}/")
        };
        let mut out: Vec<String> = self
            .seen
            .range(prefix.as_str()..)
            .map(|(p, _)| *p)
            .take_while(|p| p.starts_with(&prefix))
            .filter(|p| deep || !p[prefix.len()..].contains('/'))
            .map(str::to_string)
            .collect();
        if self.repo.partial {
            let mut stack = vec![(dir.to_string(), 0usize)];
            while let Some((d, depth)) = stack.pop() {
                let Ok(entries) = std::fs::read_dir(self.repo.root.join(&d)) else {
                    continue;
                };
                for e in entries.flatten() {
                    if out.len() >= MAX_LISTED {
                        break;
                    }
                    let Ok(ft) = e.file_type() else { continue };
                    let name = e.file_name().to_string_lossy().into_owned();
                    let rel = join(&d, &name);
                    if self.exclude.is_match(&rel) {
                        continue;
                    }
                    if ft.is_file() {
                        out.push(rel);
                    } else if ft.is_dir() && deep && depth < MAX_LIST_DEPTH {
                        stack.push((rel, depth + 1));
                    }
                }
            }
            out.sort();
            out.dedup();
        }
        out
    }

    /// The setup configs in `dir`: scanned ones, and in a partial run those on disk.
    fn configs_in(&mut self, dir: &str) -> Vec<SetupConfig> {
        let mut out: Vec<SetupConfig> = self
            .configs
            .get(dir)
            .map(|v| v.iter().map(|c| (*c).clone()).collect())
            .unwrap_or_default();
        if self.repo.partial {
            if !self.disk_configs.contains_key(dir) {
                let found = CONFIG_NAMES
                    .iter()
                    .map(|n| join(dir, n))
                    .filter(|p| !self.seen.contains_key(p.as_str()) && self.on_disk(p))
                    .filter_map(|p| setup_config::read(&p, &(self.repo.read)(&p)?))
                    .collect();
                self.disk_configs.insert(dir.to_string(), found);
            }
            out.extend(self.disk_configs[dir].iter().cloned());
        }
        out
    }

    /// The resolved setup files of the configs in `dir`, in run order.
    fn setup_files_in(&mut self, dir: &str) -> Vec<(SetupRole, String)> {
        if let Some(v) = self.setup_by_dir.get(dir) {
            return v.clone();
        }
        let mut files: Vec<(SetupRole, String)> = Vec::new();
        for c in self.configs_in(dir) {
            for f in self.setup_files(&c) {
                if !files.iter().any(|(_, p)| *p == f.1) {
                    files.push(f);
                }
            }
        }
        files.sort_by_key(|(role, _)| *role);
        self.setup_by_dir.insert(dir.to_string(), files.clone());
        files
    }

    fn is_go_exporter(&mut self, path: &str) -> bool {
        if let Some(s) = self.seen.get(path) {
            return s.exporter;
        }
        if let Some(b) = self.go_exporters.get(path) {
            return *b;
        }
        let b = (self.repo.read)(path).is_some_and(|t| go_exporter(&t));
        self.go_exporters.insert(path.to_string(), b);
        b
    }

    /// The resolved setup files of a config, in run order.
    fn setup_files(&self, config: &SetupConfig) -> Vec<(SetupRole, String)> {
        let exists = |p: &str| self.seen.contains_key(p) || self.on_disk(p);
        let mut out: Vec<(SetupRole, String)> = Vec::new();
        for (role, spec) in &config.entries {
            if let Some(p) = setup_config::resolve(&config.dir, spec, &exists)
                && !out.iter().any(|(_, q)| *q == p)
            {
                out.push((*role, p));
            }
        }
        out
    }

    /// The files `path` inherits guards from.
    fn parents(&mut self, path: &str, lang: Lang, text: &str) -> Vec<(String, Link)> {
        let plain = |v: Vec<String>| v.into_iter().map(|p| (p, Link::Plain)).collect();
        match lang {
            Lang::Python => plain(
                ancestors_root_first(dir_of(path))
                    .into_iter()
                    .map(|d| join(d, "conftest.py"))
                    .filter(|c| c != path && self.exists(c))
                    .collect(),
            ),
            Lang::Ruby => {
                let Some((sd, stage)) = ruby_stage(path) else {
                    return Vec::new();
                };
                let mut helpers: Vec<(String, u8)> = [
                    ("spec_helper.rb", 0),
                    ("rails_helper.rb", 1),
                    ("test_helper.rb", 1),
                ]
                .into_iter()
                .map(|(n, s)| (join(sd, n), s))
                .filter(|(p, _)| self.exists(p))
                .collect();
                if stage == 3 {
                    let support = join(sd, "support");
                    helpers.extend(
                        self.list(&support, true)
                            .into_iter()
                            .filter(|p| p.ends_with(".rb"))
                            .map(|p| (p, 2)),
                    );
                }
                plain(
                    helpers
                        .into_iter()
                        .filter(|(p, s)| *s < stage && p != path)
                        .map(|(p, _)| p)
                        .collect(),
                )
            }
            Lang::Go => {
                if go_exporter(text) {
                    return Vec::new();
                }
                let siblings = self.list(dir_of(path), false);
                plain(
                    siblings
                        .into_iter()
                        .filter(|p| p.ends_with("_test.go") && p != path)
                        .filter(|p| self.is_go_exporter(p))
                        .collect(),
                )
            }
            Lang::JavaScript | Lang::TypeScript | Lang::Tsx => {
                for dir in ancestors_root_first(dir_of(path)).into_iter().rev() {
                    let files = self.setup_files_in(dir);
                    if files.is_empty() {
                        continue;
                    }
                    // A setup file inherits from the ones that run before it.
                    let upto = files.iter().position(|(_, p)| p == path);
                    return files[..upto.unwrap_or(files.len())]
                        .iter()
                        .map(|(role, p)| {
                            let link = match role {
                                SetupRole::Global => Link::GlobalSetup,
                                _ => Link::Plain,
                            };
                            (p.clone(), link)
                        })
                        .collect();
                }
                Vec::new()
            }
            Lang::Java => {
                let Some(re) = EXTENDS.as_ref() else {
                    return Vec::new();
                };
                let mut out = Vec::new();
                for cap in re.captures_iter(text).take(4) {
                    let Some(name) = cap.get(1).and_then(|m| m.as_str().rsplit('.').next()) else {
                        continue;
                    };
                    let file = format!("{name}.java");
                    let local = join(dir_of(path), &file);
                    let found = if self.exists(&local) {
                        Some(local)
                    } else {
                        match self.java_by_name.get(file.as_str()).map(Vec::as_slice) {
                            Some([only]) => Some(only.to_string()),
                            _ => None,
                        }
                    };
                    if let Some(p) = found.filter(|p| p != path && !out.iter().any(|(q, _)| q == p))
                    {
                        out.push((p, Link::JavaBase));
                    }
                }
                out
            }
        }
    }

    /// Setup files named by scanned configs that were not scanned themselves (outside test
    /// directories): they run before every test, so their own operations are checked too.
    fn unscanned_setup_files(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .configs
            .values()
            .flatten()
            .flat_map(|c| self.setup_files(c))
            .map(|(_, p)| p)
            .filter(|p| !self.seen.contains_key(p.as_str()))
            .collect();
        out.sort();
        out.dedup();
        out
    }
}

/// A line (not a comment) calling `maintain_test_schema!`.
fn keeps_test_schema(text: &str) -> bool {
    text.lines().any(|l| {
        let l = l.trim_start();
        !l.starts_with('#') && l.contains("maintain_test_schema!")
    })
}

/// Merges what `parent` passes on into `into`.
fn merge(into: &mut Exports, parent: &Exports, link: Link) {
    into.module_guard |= parent.module_guard;
    into.autouse_guard |= parent.autouse_guard;
    match link {
        Link::Plain => {}
        // The exported function of a global setup runs before everything; a named guard
        // function there is taken to be it.
        Link::GlobalSetup => {
            into.module_guard |= !parent.guard_helpers.is_empty();
        }
        Link::JavaBase => {
            into.autouse_guard |= !parent.guard_fixtures.is_empty();
        }
    }
    for (mine, theirs) in [
        (&mut into.guard_fixtures, &parent.guard_fixtures),
        (&mut into.guard_helpers, &parent.guard_helpers),
    ] {
        for n in theirs {
            if !mine.contains(n) {
                mine.push(n.clone());
            }
        }
    }
}

/// Paths analysed so far by the repo pass (unit tests check that files without a destructive
/// keyword are never parsed).
#[cfg(test)]
pub(super) static ANALYSED: std::sync::Mutex<Vec<std::path::PathBuf>> =
    std::sync::Mutex::new(Vec::new());

/// Files matched only by the `test_paths` option (whole-repo runs): not scanned by the walk, so
/// found here.
fn extra_test_files(repo: &Repo, globs: &GlobSet, files: &Files) -> Vec<String> {
    if globs.is_empty() || repo.partial {
        return Vec::new();
    }
    let mut out = Vec::new();
    let walker = ignore::WalkBuilder::new(repo.root)
        .hidden(false)
        .require_git(false)
        .follow_links(false)
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
        if globs.is_match(&rel)
            && lang::lang_for_path(&rel).is_some()
            && !files.seen.contains_key(rel.as_str())
            && !files.exclude.is_match(&rel)
        {
            out.push(rel);
        }
    }
    out.sort();
    out
}

/// The repo pass: builds every needed node, analyses them level by level and reports.
pub(super) fn run(
    repo: &Repo,
    exclude: &GlobSet,
    test_paths: &GlobSet,
    extra_guards: Vec<String>,
    out: &mut Vec<Diagnostic>,
) {
    let mut files = Files::new(repo, exclude);
    let mut nodes: BTreeMap<String, Node> = BTreeMap::new();
    let mut queue: Vec<String> = Vec::new();
    for (path, seen) in &files.seen {
        if seen.destructive
            && let Some(text) = seen.text.as_deref()
        {
            nodes.insert(
                path.to_string(),
                Node {
                    lang: seen.lang,
                    text: Cow::Borrowed(text),
                    parents: Vec::new(),
                    report: true,
                },
            );
            queue.push(path.to_string());
        }
    }
    // Read for their own findings too: setup files outside test directories, `test_paths` files.
    let mut lazy: Vec<String> = Vec::new();
    if !repo.partial {
        lazy.extend(files.unscanned_setup_files());
    }
    lazy.extend(extra_test_files(repo, test_paths, &files));
    for path in lazy {
        if nodes.contains_key(&path) {
            continue;
        }
        let (Some(lang), Some(text)) = (lang::lang_for_path(&path), files.text(&path)) else {
            continue;
        };
        if lang::may_destroy(lang, &text) {
            nodes.insert(
                path.clone(),
                Node {
                    lang,
                    text,
                    parents: Vec::new(),
                    report: true,
                },
            );
            queue.push(path);
        }
    }
    // Follow the inheritance links, reading each parent once.
    let mut visited: HashSet<String> = HashSet::new();
    while let Some(path) = queue.pop() {
        if !visited.insert(path.clone()) {
            continue;
        }
        let Some(node) = nodes.get(&path) else {
            continue;
        };
        let (lang, text) = (node.lang, node.text.clone());
        let parents = files.parents(&path, lang, &text);
        for (p, _) in &parents {
            if nodes.contains_key(p) {
                continue;
            }
            let (Some(plang), Some(ptext)) = (lang::lang_for_path(p), files.text(p)) else {
                continue;
            };
            nodes.insert(
                p.clone(),
                Node {
                    lang: plang,
                    text: ptext,
                    parents: Vec::new(),
                    report: false,
                },
            );
            queue.push(p.clone());
        }
        if let Some(node) = nodes.get_mut(&path) {
            node.parents = parents;
        }
    }
    let levels = levels(&nodes);
    // A file others inherit from is analysed whole: a guard anywhere in it may protect them.
    let inherited_from: HashSet<&str> = nodes
        .values()
        .flat_map(|n| n.parents.iter().map(|(p, _)| p.as_str()))
        .collect();
    let mut done: HashMap<&str, Done> = HashMap::new();
    for batch in levels {
        let results: Vec<(&str, Done)> = batch
            .par_iter()
            .map(|path| {
                let node = &nodes[*path];
                let mut ctx = Context {
                    extra_guards: extra_guards.clone(),
                    inherited: Exports::default(),
                    keep_whole: inherited_from.contains(*path),
                };
                for (p, link) in &node.parents {
                    if let Some(d) = done.get(p.as_str()) {
                        merge(&mut ctx.inherited, &d.effective, *link);
                    }
                }
                #[cfg(test)]
                ANALYSED
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(repo.root.join(path));
                let result = lang::analyze(node.lang, &node.text, &ctx);
                let mut effective = ctx.inherited;
                if let Ok(a) = &result {
                    merge(&mut effective, &a.exports, Link::Plain);
                }
                // Rails' test-schema check runs the suite on the test database, for every spec
                // loaded after this helper (the Ruby analysis grants it within a file).
                effective.module_guard |= node.lang == Lang::Ruby && keeps_test_schema(&node.text);
                (*path, Done { result, effective })
            })
            .collect();
        done.extend(results);
    }
    for (path, node) in &nodes {
        if !node.report {
            continue;
        }
        let Some(d) = done.get(path.as_str()) else {
            continue;
        };
        let mut diags = super::diagnostics(path, &node.text, &d.result);
        if !files.seen.contains_key(path.as_str()) {
            // Not scanned, so the engine never saw its inline suppressions: honour them here.
            drop_suppressed(&node.text, &mut diags);
        }
        out.extend(diags);
    }
}

/// Orders nodes so every file comes after the files it inherits from; a cycle (two configs
/// listing the same setup files in opposite orders) is cut.
fn levels<'n>(nodes: &'n BTreeMap<String, Node>) -> Vec<Vec<&'n str>> {
    let mut level: HashMap<&str, usize> = HashMap::new();
    let mut left: Vec<&str> = nodes.keys().map(String::as_str).collect();
    while !left.is_empty() {
        let mut next = Vec::new();
        let mut placed = false;
        for path in left {
            let parents = &nodes[path].parents;
            let known: Option<Vec<usize>> = parents
                .iter()
                .filter(|(p, _)| nodes.contains_key(p))
                .map(|(p, _)| level.get(p.as_str()).copied())
                .collect();
            match known {
                Some(ls) => {
                    level.insert(path, ls.iter().max().map_or(0, |m| m + 1));
                    placed = true;
                }
                None => next.push(path),
            }
        }
        if !placed && let Some(cut) = next.first().copied() {
            // Every file left waits on another: place the first without its unplaced parents.
            let l = nodes[cut]
                .parents
                .iter()
                .filter_map(|(p, _)| level.get(p.as_str()))
                .max()
                .map_or(0, |m| m + 1);
            level.insert(cut, l);
            next.remove(0);
        }
        left = next;
    }
    let mut out: Vec<Vec<&str>> = Vec::new();
    for (path, l) in level {
        if out.len() <= l {
            out.resize_with(l + 1, Vec::new);
        }
        out[l].push(path);
    }
    for batch in &mut out {
        batch.sort_unstable();
    }
    out
}

fn drop_suppressed(text: &str, diags: &mut Vec<Diagnostic>) {
    let sups = crate::suppress::scan(text);
    if sups.is_empty() {
        return;
    }
    let index = LineIndex::new(text);
    diags.retain(|d| {
        let (line, _) = index.position(text, d.span.start.min(text.len()));
        !sups.iter().any(|s| s.covers(&d.rule, line))
    });
}

/// For tests: the repo root a path is analysed under.
#[cfg(test)]
pub(super) fn analysed_under(root: &std::path::Path) -> Vec<String> {
    let root = root.canonicalize().unwrap_or(root.to_path_buf());
    ANALYSED
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .filter_map(|p| p.strip_prefix(&root).ok())
        .map(|p| p.to_string_lossy().replace('\\', "/"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_helpers() {
        assert_eq!(ancestors_root_first("a/b"), ["", "a", "a/b"]);
        assert_eq!(ancestors_root_first(""), [""]);
        assert_eq!(ruby_stage("spec/spec_helper.rb"), Some(("spec", 0)));
        assert_eq!(ruby_stage("spec/rails_helper.rb"), Some(("spec", 1)));
        assert_eq!(ruby_stage("test/test_helper.rb"), Some(("test", 1)));
        assert_eq!(
            ruby_stage("engines/a/spec/support/db.rb"),
            Some(("engines/a/spec", 2))
        );
        assert_eq!(ruby_stage("spec/models/user_spec.rb"), Some(("spec", 3)));
        assert_eq!(ruby_stage("user_spec.rb"), None);
        assert_eq!(dir_of("a/b.py"), "a");
        assert_eq!(dir_of("b.py"), "");
    }

    #[test]
    fn levels_put_parents_first_and_cut_cycles() {
        let node = |parents: &[&str]| Node {
            lang: Lang::JavaScript,
            text: Cow::Borrowed(""),
            parents: parents
                .iter()
                .map(|p| (p.to_string(), Link::Plain))
                .collect(),
            report: true,
        };
        let mut nodes = BTreeMap::new();
        nodes.insert("c".to_string(), node(&["b", "missing"]));
        nodes.insert("b".to_string(), node(&["a"]));
        nodes.insert("a".to_string(), node(&[]));
        // Two setup files each listed before the other by different configs.
        nodes.insert("x".to_string(), node(&["y"]));
        nodes.insert("y".to_string(), node(&["x"]));
        nodes.insert("z".to_string(), node(&["y"]));
        let got = levels(&nodes);
        let level_of = |p: &str| got.iter().position(|l| l.contains(&p)).unwrap();
        assert!(level_of("a") < level_of("b") && level_of("b") < level_of("c"));
        assert!(level_of("z") > level_of("y"));
        assert_eq!(got.iter().map(Vec::len).sum::<usize>(), nodes.len());
    }

    #[test]
    fn merging_follows_the_link() {
        let helpers = Exports {
            guard_helpers: vec!["check".into()],
            ..Exports::default()
        };
        let fixtures = Exports {
            guard_fixtures: vec!["checkDb".into()],
            ..Exports::default()
        };
        let cases = [
            (&helpers, Link::Plain, false, false),
            (&helpers, Link::GlobalSetup, true, false),
            (&fixtures, Link::Plain, false, false),
            (&fixtures, Link::JavaBase, false, true),
        ];
        for (parent, link, module, autouse) in cases {
            let mut e = Exports::default();
            merge(&mut e, parent, link);
            assert_eq!(
                (e.module_guard, e.autouse_guard),
                (module, autouse),
                "{link:?}"
            );
        }
    }
}
