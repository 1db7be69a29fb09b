//! The `disabled-integrity-safeguard` rule.
//!
//! **What it finds.** PostgreSQL settings that make corruption silent or likely:
//! `fsync = off`, `full_page_writes = off`, `zero_damaged_pages = on`,
//! `ignore_checksum_failure = on`, and data checksums disabled at initdb
//! (`--no-data-checksums`, CloudNativePG `dataChecksums: false`).
//!
//! **Where.** `postgresql.conf`-style text ([`scan_conf`]: `postgresql.conf`, `conf.d/*.conf`,
//! and a Helm block scalar such as `primary.configuration`/`extendedConfiguration`); YAML
//! documents given as scalars with key paths ([`scan_yaml`]: Helm values, CloudNativePG
//! `Cluster` `spec.postgresql.parameters` and `bootstrap.initdb`, Zalando `postgresql`
//! manifests, Patroni `parameters`, container env such as `POSTGRESQL_FSYNC` or
//! `POSTGRES_INITDB_ARGS`, and `postgres -c name=value` / `--name=value` / `-F` flags in
//! docker-compose `command:` or Kubernetes `args:`, as one string or list items); and SQL
//! `ALTER SYSTEM|DATABASE|ROLE ... SET` ([`scan_sql`]).
//!
//! **Values** are read as PostgreSQL reads booleans: `on/off/true/false/yes/no/1/0`, any
//! unique prefix (`of`, `t`, `n`), any case, quoted or not. Commented-out settings are not
//! findings. `fsync` in YAML is only read in a document that mentions PostgreSQL (the name is
//! common elsewhere); the other names are PostgreSQL's own.
//!
//! **Not here.** Files whose environment is test, dev or CI may trade durability for speed:
//! the caller decides that from the path and passes `throwaway_env`, which silences the file.

use std::collections::HashMap;
use std::ops::Range;
use std::sync::LazyLock;

use aho_corasick::AhoCorasick;

use crate::classify::FileKind;
use crate::finding::{Diagnostic, Severity};
use crate::rules::{Cx, FileOut, Rule};
use crate::source::SourceFile;
use crate::syntax::sql::{Item, SetScope, items};
use crate::syntax::yaml::Node;

/// The rule as the engine runs it: `postgresql.conf` files, YAML (Helm values, manifests,
/// compose files) and SQL, except in throwaway environments (dev, test, CI, local; CI
/// pipeline definitions count as CI whatever their name).
pub struct DisabledIntegritySafeguard;

impl Rule for DisabledIntegritySafeguard {
    fn id(&self) -> &'static str {
        "disabled-integrity-safeguard"
    }

    fn wants(&self, kind: FileKind, _path: &str) -> bool {
        matches!(
            kind,
            FileKind::PgConf
                | FileKind::Sql
                | FileKind::HelmValues
                | FileKind::Yaml
                | FileKind::Compose
        )
    }

    fn check_file(&self, file: &SourceFile, _cx: &Cx, out: &mut FileOut) {
        let throwaway = file.env.is_some_and(|e| e.is_throwaway()) || is_ci_config(&file.path);
        if throwaway || !may_mention_a_guard(&file.text) {
            return;
        }
        let settings = match file.kind {
            FileKind::PgConf => scan_conf(&file.text, 0, false),
            FileKind::Sql => scan_sql_migration(&file.text),
            // One document at a time: `fsync` counts only in a document about PostgreSQL.
            _ => file
                .yaml()
                .docs
                .iter()
                .flat_map(|doc| scan_yaml(&file.text, &yaml_scalars(doc), false))
                .collect(),
        };
        for s in settings {
            out.diags
                .push(Diagnostic::new(self.id(), &file.path, s.span, s.message).help(s.help));
        }
    }
}

/// CI pipeline definitions: their databases are throwaway whatever the file is called.
fn is_ci_config(path: &str) -> bool {
    let file = path.rsplit('/').next().unwrap_or(path);
    let dirs: Vec<&str> = path.split('/').collect();
    let dirs = &dirs[..dirs.len().saturating_sub(1)];
    dirs.windows(2)
        .any(|w| w[0] == ".github" && (w[1] == "workflows" || w[1] == "actions"))
        || dirs
            .iter()
            .any(|d| matches!(*d, ".circleci" | ".buildkite" | ".woodpecker"))
        || dirs.windows(2).any(|w| w == [".gitlab", "ci"])
        || matches!(
            file,
            ".gitlab-ci.yml"
                | ".gitlab-ci.yaml"
                | ".travis.yml"
                | ".drone.yml"
                | "bitbucket-pipelines.yml"
                | "azure-pipelines.yml"
                | "azure-pipelines.yaml"
        )
}

/// A cheap prefilter: every finding needs one of these words, so most files are never scanned
/// (and SQL files are never lexed a second time).
fn may_mention_a_guard(text: &str) -> bool {
    static WORDS: LazyLock<Option<AhoCorasick>> = LazyLock::new(|| {
        AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .build([
                "fsync",
                "full_page",
                "fullpage",
                "full-page",
                "zero_damaged",
                "zerodamaged",
                "zero-damaged",
                "checksum",
            ])
            .ok()
    });
    // `postgres -F` turns fsync off without naming it.
    text.contains("-F") || WORDS.as_ref().is_none_or(|w| w.is_match(text))
}

/// Most bytes of key paths and alias expansions kept for one document. Every scalar carries its
/// own path and an alias carries a copy of its anchor's value, so a hostile document (thousands
/// of aliases of a huge scalar, or a wide list under long, deep keys) could otherwise ask for
/// far more memory than the file holds; real documents stay orders of magnitude below. Scalars
/// past the budget are not scanned.
const MAX_COPIED_BYTES: usize = 64 << 20;

fn path_bytes(path: &[PathSeg]) -> usize {
    path.iter()
        .map(|p| match p {
            PathSeg::Key(k) => k.len() + std::mem::size_of::<PathSeg>(),
            PathSeg::Index(_) => std::mem::size_of::<PathSeg>(),
        })
        .sum()
}

/// The scalars of one YAML document, in document order, with their key paths.
fn yaml_scalars(doc: &Node) -> Vec<YamlScalar> {
    let mut out = Vec::new();
    let mut budget = MAX_COPIED_BYTES;
    // Iterative: documents may be deep.
    let mut stack: Vec<(&Node, Vec<PathSeg>)> = vec![(doc, Vec::new())];
    while let Some((node, path)) = stack.pop() {
        let copied = match node {
            Node::Scalar { .. } => path_bytes(&path),
            Node::Alias {
                target: Some(t), ..
            } => path_bytes(&path) + t.as_str().map_or(0, str::len),
            _ => 0,
        };
        let Some(left) = budget.checked_sub(copied) else {
            break;
        };
        budget = left;
        match node {
            Node::Scalar { value, span, .. } => out.push(YamlScalar {
                path,
                value: value.clone(),
                span: span.clone(),
            }),
            Node::Alias {
                target: Some(t),
                span,
            } => {
                if let Some(v) = t.as_str() {
                    out.push(YamlScalar {
                        path,
                        value: v.to_string(),
                        span: span.clone(),
                    });
                }
            }
            Node::Alias { target: None, .. } => {}
            Node::Seq { items, .. } => {
                for (i, item) in items.iter().enumerate().rev() {
                    let mut p = path.clone();
                    p.push(PathSeg::Index(i));
                    stack.push((item, p));
                }
            }
            Node::Map { entries, .. } => {
                for (k, v) in entries.iter().rev() {
                    let mut p = path.clone();
                    p.push(PathSeg::Key(k.as_str().unwrap_or("").to_string()));
                    stack.push((v, p));
                }
            }
        }
    }
    out
}

/// One unsafe setting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setting {
    /// Byte span of the setting (name and value, or the flag) in the file.
    pub span: Range<usize>,
    /// The canonical parameter name (`fsync`, ..., `data_checksums`).
    pub name: String,
    /// The value as written.
    pub value: String,
    /// Default severity.
    pub severity: Severity,
    /// The risk, in one sentence.
    pub message: String,
    /// The fix, in the file's own language.
    pub help: String,
}

/// A setting that guards integrity, and the value that disables it.
struct Guard {
    name: &'static str,
    unsafe_value: bool,
    safe: &'static str,
    risk: &'static str,
}

const GUARDS: &[Guard] = &[
    Guard {
        name: "fsync",
        unsafe_value: false,
        safe: "on",
        risk: "a crash or power loss can corrupt the database silently, and PostgreSQL cannot recover it",
    },
    Guard {
        name: "full_page_writes",
        unsafe_value: false,
        safe: "on",
        risk: "a crash during a page write can leave torn pages that WAL replay cannot repair, corrupting data silently",
    },
    Guard {
        name: "zero_damaged_pages",
        unsafe_value: true,
        safe: "off",
        risk: "damaged pages are silently replaced with zeros, destroying their rows instead of reporting the corruption",
    },
    Guard {
        name: "ignore_checksum_failure",
        unsafe_value: true,
        safe: "off",
        risk: "pages that fail checksum verification are read anyway, so corrupted data spreads silently",
    },
];

const CHECKSUMS_RISK: &str = "data checksums disabled at initdb: PostgreSQL cannot detect corrupted pages, so storage corruption stays silent";
const CHECKSUMS_AFTER: &str =
    "an existing cluster needs `pg_checksums --enable` while it is stopped";

/// Parses a PostgreSQL boolean: on/off/true/false/yes/no/1/0 or a unique prefix, any case.
pub fn pg_bool(value: &str) -> Option<bool> {
    let v = value.trim();
    let v = v
        .strip_prefix(['\'', '"'])
        .and_then(|x| x.strip_suffix(['\'', '"']))
        .unwrap_or(v)
        .trim()
        .to_ascii_lowercase();
    let prefix_of = |word: &str, min: usize| v.len() >= min && word.starts_with(v.as_str());
    if prefix_of("true", 1) || prefix_of("yes", 1) || v == "on" || v == "1" {
        Some(true)
    } else if prefix_of("false", 1) || prefix_of("no", 1) || prefix_of("off", 2) || v == "0" {
        Some(false)
    } else {
        None
    }
}

fn guard(name: &str) -> Option<&'static Guard> {
    GUARDS.iter().find(|g| g.name.eq_ignore_ascii_case(name))
}

/// The guard `name = value` disables, if any.
fn disabled(name: &str, value: &str) -> Option<&'static Guard> {
    let g = guard(name)?;
    (pg_bool(value)? == g.unsafe_value).then_some(g)
}

fn finding(span: Range<usize>, g: &Guard, value: &str, help: String) -> Setting {
    Setting {
        span,
        name: g.name.to_string(),
        value: value.to_string(),
        severity: Severity::Error,
        message: format!("{} = {}: {}", g.name, value.trim(), g.risk),
        help,
    }
}

fn checksums(span: Range<usize>, value: &str, help: String) -> Setting {
    Setting {
        span,
        name: "data_checksums".to_string(),
        value: value.to_string(),
        severity: Severity::Error,
        message: CHECKSUMS_RISK.to_string(),
        help,
    }
}

/// Scans `postgresql.conf` syntax. `base` is added to spans, so a YAML block scalar can be
/// scanned in place: pass the raw file slice holding it (indentation included) and its offset.
pub fn scan_conf(text: &str, base: usize, throwaway_env: bool) -> Vec<Setting> {
    let mut out = Vec::new();
    if throwaway_env {
        return out;
    }
    // PostgreSQL applies the last value of a parameter: an earlier `fsync = off` overridden
    // by `fsync = on` further down is no finding. Keyed by name, so a file of many distinct
    // names stays linear.
    let mut last: HashMap<String, Option<Setting>> = HashMap::new();
    let mut line_start = 0;
    for line in text.split_inclusive('\n') {
        if let Some((name, value, span)) = conf_line(line) {
            let key = name.to_ascii_lowercase();
            let found = disabled(name, value).map(|g| {
                let help = format!(
                    "set `{} = {}` or delete the line ({} is the default)",
                    g.name, g.safe, g.safe
                );
                let span = base + line_start + span.start..base + line_start + span.end;
                finding(span, g, value, help)
            });
            // A value PostgreSQL cannot read overrides nothing (the server refuses it).
            if found.is_none() && guard(&key).is_some() && pg_bool(value).is_none() {
                line_start += line.len();
                continue;
            }
            last.insert(key, found);
        }
        line_start += line.len();
    }
    out.extend(last.into_values().flatten());
    out.sort_by_key(|f| f.span.start);
    out
}

/// `name [=] value [# comment]` -> (name, value, span of both within the line).
fn conf_line(line: &str) -> Option<(&str, &str, Range<usize>)> {
    let start = line.len() - line.trim_start().len();
    let rest = &line[start..];
    let name_len = rest
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '.'))
        .unwrap_or(rest.len());
    if name_len == 0 || !rest.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') {
        return None;
    }
    let name = &rest[..name_len];
    let after = &rest[name_len..];
    let mut v = after.trim_start_matches([' ', '\t']);
    if let Some(x) = v.strip_prefix('=') {
        v = x.trim_start_matches([' ', '\t']);
    }
    let v_start = start + name_len + (after.len() - v.len());
    let v_len = if v.starts_with('\'') {
        // A quoted value runs to the closing quote; `''` and `\'` escape one.
        let b = v.as_bytes();
        let mut i = 1;
        while i < b.len() {
            match b[i] {
                b'\\' => i += 2,
                b'\'' if b.get(i + 1) == Some(&b'\'') => i += 2,
                b'\'' => {
                    i += 1;
                    break;
                }
                _ => i += 1,
            }
        }
        i.min(v.len())
    } else {
        v.find(|c: char| c.is_whitespace() || c == '#')
            .unwrap_or(v.len())
    };
    if v_len == 0 {
        return None;
    }
    let value = line.get(v_start..v_start + v_len)?;
    Some((name, value, start..v_start + v_len))
}

/// Scans SQL text for `ALTER SYSTEM|DATABASE|ROLE ... SET` of an integrity guard.
pub fn scan_sql_text(text: &str, throwaway_env: bool) -> Vec<Setting> {
    scan_sql(&items(text).0, throwaway_env)
}

/// Scans a SQL file, leaving out the "down" sections of dbmate and goose migrations: they
/// run only on rollback.
pub fn scan_sql_migration(text: &str) -> Vec<Setting> {
    let downs = crate::syntax::sql::migrations::down_sections(text);
    scan_sql_text(text, false)
        .into_iter()
        .filter(|s| !downs.iter().any(|d| d.contains(&s.span.start)))
        .collect()
}

/// Scans already parsed SQL items for `ALTER SYSTEM|DATABASE|ROLE ... SET` of a guard.
pub fn scan_sql(items: &[Item], throwaway_env: bool) -> Vec<Setting> {
    if throwaway_env {
        return Vec::new();
    }
    items
        .iter()
        .filter_map(|i| match i {
            Item::SetConfig {
                scope,
                name,
                value,
                name_span,
                value_span,
                ..
            } => {
                let g = disabled(name, value)?;
                let help = match scope {
                    SetScope::System => format!(
                        "remove this statement and run `ALTER SYSTEM RESET {};` ({} is the default)",
                        g.name, g.safe
                    ),
                    SetScope::Database => format!(
                        "remove this statement and reset it with `ALTER DATABASE <name> RESET {};`",
                        g.name
                    ),
                    SetScope::Role => format!(
                        "remove this statement and reset it with `ALTER ROLE <name> RESET {};`",
                        g.name
                    ),
                };
                Some(finding(name_span.start..value_span.end, g, value, help))
            }
            _ => None,
        })
        .collect()
}

/// One step of a YAML key path.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PathSeg {
    /// A mapping key.
    Key(String),
    /// A sequence index.
    Index(usize),
}

/// A YAML scalar value with its key path and the span of the scalar in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YamlScalar {
    /// Keys and indexes from the document root to this scalar.
    pub path: Vec<PathSeg>,
    /// The decoded value (quotes removed, escapes and block folding applied).
    pub value: String,
    /// The scalar's bytes in the file, as written (quotes or block indicator included).
    pub span: Range<usize>,
}

impl YamlScalar {
    /// The nearest mapping key above the scalar, and whether the scalar is a sequence item.
    fn key(&self) -> (Option<&str>, bool) {
        let item = matches!(self.path.last(), Some(PathSeg::Index(_)));
        let key = self.path.iter().rev().find_map(|s| match s {
            PathSeg::Key(k) => Some(k.as_str()),
            PathSeg::Index(_) => None,
        });
        (key, item)
    }

    fn parent(&self) -> &[PathSeg] {
        &self.path[..self.path.len().saturating_sub(1)]
    }
}

/// Scans the scalars of one YAML file (all its documents); `text` is the whole file.
pub fn scan_yaml(text: &str, scalars: &[YamlScalar], throwaway_env: bool) -> Vec<Setting> {
    let mut out = Vec::new();
    if throwaway_env {
        return out;
    }
    let postgres = scalars.iter().any(mentions_postgres);
    let allowed = |g: &Guard| postgres || g.name != "fsync";
    // The first `name` scalar under each parent, for `value` scalars to find their sibling
    // without a search of the whole document each.
    let mut names: HashMap<&[PathSeg], &YamlScalar> = HashMap::new();
    for x in scalars {
        if matches!(x.path.last(), Some(PathSeg::Key(k)) if k == "name") {
            names.entry(x.parent()).or_insert(x);
        }
    }
    for s in scalars {
        let (key, item) = s.key();
        let key = key.map(normalise_key).unwrap_or_default();
        // A parameters map or an environment variable: `fsync: "off"`, `POSTGRESQL_FSYNC: off`.
        if !item {
            if let Some(g) = disabled(&key, &s.value).filter(|g| allowed(g)) {
                let help = format!(
                    "set `{}: \"{}\"` or remove the key ({} is the default)",
                    g.name, g.safe, g.safe
                );
                out.push(finding(s.span.clone(), g, &s.value, help));
            }
            if (key == "datachecksums" || key == "data_checksums")
                && pg_bool(&s.value) == Some(false)
            {
                let help = format!("set `dataChecksums: true` for new clusters; {CHECKSUMS_AFTER}");
                out.push(checksums(s.span.clone(), &s.value, help));
            }
        }
        // `- POSTGRESQL_FSYNC=off` in a compose environment list.
        if matches!(key.as_str(), "environment" | "env")
            && let Some((k, v)) = s.value.split_once('=')
            && !k.contains(char::is_whitespace)
            && let Some(g) = disabled(&normalise_key(k), v).filter(|g| allowed(g))
        {
            let help = format!("remove `{}` or set it to {}", s.value.trim(), g.safe);
            out.push(finding(s.span.clone(), g, v, help));
        }
        // Kubernetes `env:` items: `- name: POSTGRESQL_FSYNC` / `value: "off"`.
        if !item
            && key == "value"
            && let Some(name) = names.get(s.parent())
            && let Some(g) = disabled(&normalise_key(&name.value), &s.value).filter(|g| allowed(g))
        {
            let help = format!(
                "remove the `{}` variable or set it to {}",
                name.value.trim(),
                g.safe
            );
            out.push(finding(s.span.clone(), g, &s.value, help));
        }
        // A postgresql.conf block scalar, or any value under a conf-file key (a one-line
        // `|-` block or a quoted `"fsync = off"` too).
        let raw_key = s.key().0.unwrap_or("");
        let conf_key = !item && is_conf_key(raw_key);
        if (s.value.contains('\n') || conf_key)
            && let Some((raw, base)) = conf_text(text, s)
        {
            // postgresql.conf syntax among other settings is PostgreSQL's: fsync counts too,
            // except under a key as generic as `configuration` in a document about nothing
            // PostgreSQL.
            let generic = !s.value.contains('\n') && raw_key.eq_ignore_ascii_case("configuration");
            out.extend(
                scan_conf(raw, base, false)
                    .into_iter()
                    .filter(|f| !generic || postgres || f.name != "fsync"),
            );
        }
    }
    out.extend(scan_flags(text, scalars, postgres));
    out.sort_by(|a, b| {
        (a.span.start, a.span.end, &a.name).cmp(&(b.span.start, b.span.end, &b.name))
    });
    out.dedup_by(|a, b| a.span == b.span && a.name == b.name);
    out
}

/// Keys whose value is `postgresql.conf` text (Bitnami `extendedConfiguration`, a ConfigMap's
/// `postgresql.conf` or `extra.conf`, `postgresqlExtendedConf`...).
fn is_conf_key(key: &str) -> bool {
    let k = key.trim().to_ascii_lowercase();
    k.ends_with(".conf")
        || k.contains("extendedconf")
        || k.ends_with("configuration")
        || k == "postgresqlconf"
        || k == "postgresql_conf"
}

/// The conf text of a scalar and where it starts in the file: inside the quotes of a quoted
/// scalar, the raw text (block header included, which `scan_conf` ignores) otherwise.
fn conf_text<'a>(text: &'a str, s: &YamlScalar) -> Option<(&'a str, usize)> {
    let raw = text.get(s.span.clone())?;
    for q in ['"', '\''] {
        if raw.len() >= 2 && raw.starts_with(q) && raw.ends_with(q) {
            return Some((raw.get(1..raw.len() - 1)?, s.span.start + 1));
        }
    }
    Some((raw, s.span.start))
}

fn mentions_postgres(s: &YamlScalar) -> bool {
    const WORDS: &[&str] = &[
        "postgres",
        "patroni",
        "cnpg",
        "spilo",
        "timescale",
        "postgis",
    ];
    let hit = |x: &str| {
        let l = x.to_ascii_lowercase();
        WORDS.iter().any(|w| l.contains(w))
    };
    hit(&s.value)
        || s.path.iter().any(|p| match p {
            PathSeg::Key(k) => hit(k) || k.to_ascii_lowercase().starts_with("pg"),
            PathSeg::Index(_) => false,
        })
}

/// `POSTGRESQL_FSYNC`, `PG_FSYNC`, `fullPageWrites`... -> the parameter spelling.
fn normalise_key(k: &str) -> String {
    let k = k.trim();
    let mut snake = String::new();
    for (i, c) in k.char_indices() {
        let after_upper_or_sep = k[..i].ends_with(|p: char| p.is_ascii_uppercase() || p == '_');
        if c.is_ascii_uppercase() && i > 0 && !after_upper_or_sep {
            snake.push('_');
        }
        snake.push(c.to_ascii_lowercase());
    }
    let snake = snake.replace('-', "_");
    for p in ["postgresql_", "postgres_", "pg_"] {
        if let Some(rest) = snake.strip_prefix(p)
            && (guard(rest).is_some() || rest == "data_checksums")
        {
            return rest.to_string();
        }
    }
    if snake == "data_checksums" || k.eq_ignore_ascii_case("datachecksums") {
        return "datachecksums".to_string();
    }
    snake
}

const NO_CHECKSUMS: &str = "--no-data-checksums";

/// Where `--no-data-checksums` sits in a word: the whole word, or after `NAME=`.
fn no_checksums_flag(word: &str) -> Option<usize> {
    let at = word.len().checked_sub(NO_CHECKSUMS.len())?;
    let ok = word.ends_with(NO_CHECKSUMS) && (at == 0 || word[..at].ends_with('='));
    ok.then_some(at)
}

/// A whitespace-separated word of a command, with its span in the file.
struct Word {
    text: String,
    span: Range<usize>,
}

/// Splits a scalar into words, locating each in the file when the raw text allows it.
fn words(text: &str, s: &YamlScalar) -> Vec<Word> {
    let raw = text.get(s.span.clone()).unwrap_or("");
    let mut cursor = Some(0);
    s.value
        .split_whitespace()
        .map(|w| {
            let w = w.trim_matches(['\'', '"']);
            // Once a word cannot be found (escapes, folding) later ones are not searched for.
            let found = cursor
                .filter(|_| !w.is_empty())
                .and_then(|c| raw.get(c..)?.find(w).map(|k| c + k));
            cursor = found.map(|start| start + w.len());
            let span = match found {
                Some(start) => s.span.start + start..s.span.start + start + w.len(),
                None => s.span.clone(),
            };
            Word {
                text: w.to_string(),
                span,
            }
        })
        .collect()
}

/// `postgres -c fsync=off`, `--fsync=off`, `-F`, and initdb `--no-data-checksums`, in a
/// command string or spread over consecutive list items (`["-c", "fsync=off"]`).
///
/// `--fsync=` is also a flag of other tools (fio), so fsync flags count only in a PostgreSQL
/// command or a document (`postgres`) that mentions PostgreSQL.
fn scan_flags(text: &str, scalars: &[YamlScalar], postgres: bool) -> Vec<Setting> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < scalars.len() {
        // A run of items of one list is one command line.
        let mut j = i + 1;
        if matches!(scalars[i].path.last(), Some(PathSeg::Index(_))) {
            while j < scalars.len()
                && matches!(scalars[j].path.last(), Some(PathSeg::Index(_)))
                && scalars[j].parent() == scalars[i].parent()
            {
                j += 1;
            }
        }
        let ws: Vec<Word> = scalars[i..j].iter().flat_map(|s| words(text, s)).collect();
        let is_postgres = ws.iter().any(|w| {
            let base = w.text.rsplit('/').next().unwrap_or("");
            base == "postgres" || base == "postmaster"
        });
        for (k, w) in ws.iter().enumerate() {
            let assignment = if w.text == "-c" {
                ws.get(k + 1).map(|n| (n.text.as_str(), n.span.clone()))
            } else if let Some(rest) = w.text.strip_prefix("-c") {
                Some((rest, w.span.clone()))
            } else {
                w.text.strip_prefix("--").map(|rest| (rest, w.span.clone()))
            };
            if let Some((a, span)) = assignment
                && let Some((name, value)) = a.split_once('=')
                && let Some(g) = disabled(&name.replace('-', "_"), value)
                && (g.name != "fsync" || postgres || is_postgres)
            {
                let flag = if w.text == "-c" {
                    format!("-c {a}")
                } else {
                    w.text.clone()
                };
                let help = format!(
                    "remove `{flag}` from the command ({}={} is the default)",
                    g.name, g.safe
                );
                out.push(finding(span, g, value, help));
            } else if w.text == "-F" && is_postgres {
                let g = &GUARDS[0];
                let help = "remove `-F` from the command: it turns fsync off".to_string();
                out.push(finding(w.span.clone(), g, "off", help));
            } else if let Some(at) = no_checksums_flag(&w.text) {
                let help = format!(
                    "remove `{NO_CHECKSUMS}` (or pass `--data-checksums`); {CHECKSUMS_AFTER}"
                );
                // `ARGS=--no-data-checksums`: point at the flag when the word was located.
                let exact = w.span.len() == w.text.len();
                let span = if exact {
                    w.span.start + at..w.span.start + at + NO_CHECKSUMS.len()
                } else {
                    w.span.clone()
                };
                out.push(checksums(span, NO_CHECKSUMS, help));
            }
        }
        i = j;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// YAML scalars with key paths and byte spans, from the engine's YAML tree.
    fn scalars(src: &str) -> Vec<YamlScalar> {
        crate::syntax::yaml::parse(src)
            .docs
            .iter()
            .flat_map(yaml_scalars)
            .collect()
    }

    /// (setting name, exact text at the span) of every finding in a YAML file.
    fn yaml(src: &str) -> Vec<(String, String)> {
        scan_yaml(src, &scalars(src), false)
            .into_iter()
            .map(|f| (f.name, src[f.span].to_string()))
            .collect()
    }

    fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
        v.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn postgres_booleans() {
        let cases = [
            ("off", Some(false)),
            ("OF", Some(false)),
            ("o", None),
            ("on", Some(true)),
            ("'off'", Some(false)),
            ("\"false\"", Some(false)),
            ("f", Some(false)),
            ("tru", Some(true)),
            ("Y", Some(true)),
            ("n", Some(false)),
            ("1", Some(true)),
            ("0", Some(false)),
            ("10", None),
            ("", None),
            ("offline", None),
        ];
        for (v, want) in cases {
            assert_eq!(pg_bool(v), want, "{v:?}");
        }
    }

    #[test]
    fn postgresql_conf() {
        let src = "fsync = off\n#fsync = off\n  # full_page_writes = off\nfull_page_writes=0   # speed\nzero_damaged_pages 't'\r\nignore_checksum_failure = Yes\nFSYNC = 'OF'\nfsync_extra = off\nzero_damaged_pages = o\nmax_connections = 100\n";
        let got: Vec<(String, &str)> = scan_conf(src, 0, false)
            .into_iter()
            .map(|f| (f.name, &src[f.span]))
            .collect();
        assert_eq!(
            got,
            vec![
                ("full_page_writes".to_string(), "full_page_writes=0"),
                ("zero_damaged_pages".to_string(), "zero_damaged_pages 't'"),
                (
                    "ignore_checksum_failure".to_string(),
                    "ignore_checksum_failure = Yes"
                ),
                ("fsync".to_string(), "FSYNC = 'OF'"),
            ]
        );
        let f = &scan_conf("fsync = off", 100, false)[0];
        assert_eq!(f.span, 100..111);
        assert_eq!(
            f.message,
            "fsync = off: a crash or power loss can corrupt the database silently, and PostgreSQL cannot recover it"
        );
        assert_eq!(
            f.help,
            "set `fsync = on` or delete the line (on is the default)"
        );
        assert!(scan_conf("fsync = off", 0, true).is_empty());
    }

    #[test]
    fn only_the_last_value_of_a_conf_setting_counts() {
        // Overridden by a safe value later in the file: no finding.
        assert!(scan_conf("fsync = off\nwork_mem = 4MB\nfsync = on\n", 0, false).is_empty());
        assert!(
            scan_conf(
                "full_page_writes = off\nFULL_PAGE_WRITES = true\n",
                0,
                false
            )
            .is_empty()
        );
        // Near misses: overridden the other way, or by a value PostgreSQL cannot read.
        let src = "fsync = on\nfsync = off\n";
        let got = scan_conf(src, 0, false);
        assert_eq!(got.len(), 1);
        assert_eq!(&src[got[0].span.clone()], "fsync = off");
        assert_eq!(scan_conf("fsync = off\nfsync = maybe\n", 0, false).len(), 1);
        assert_eq!(scan_conf("fsync = off\nfsync_x = on\n", 0, false).len(), 1);
    }

    #[test]
    fn env_items_find_their_name_among_many() {
        let mut src = String::from("env:\n");
        for i in 0..20_000 {
            src.push_str(&format!("  - name: VAR_{i}\n    value: \"off\"\n"));
        }
        src.push_str("  - value: \"off\"\n    name: POSTGRESQL_FSYNC\n");
        src.push_str(
            "  - name: POSTGRESQL_FULL_PAGE_WRITES\n    name: OTHER\n    value: \"off\"\n",
        );
        src.push_str("image: postgres\n");
        assert_eq!(
            yaml(&src),
            pairs(&[("fsync", "\"off\""), ("full_page_writes", "\"off\"")])
        );
    }

    #[test]
    fn aliases_of_a_huge_scalar_stay_within_the_copy_budget() {
        // Each alias would copy 1 MiB: the scan keeps what fits in the budget and finishes.
        let mut src = format!(
            "postgresql:\n  parameters:\n    fsync: \"off\"\nbig: &b \"{}\"\ncopies:\n",
            "x".repeat(1 << 20)
        );
        src.push_str(&"  - *b\n".repeat(100_000));
        let got = scalars(&src);
        assert!(got.len() < 100, "{} scalars kept", got.len());
        assert_eq!(yaml(&src), pairs(&[("fsync", "\"off\"")]));
    }

    #[test]
    fn the_last_value_counts_among_many_distinct_settings() {
        let mut src = String::from("zero_damaged_pages = on\nfull_page_writes = off\n");
        for i in 0..20_000 {
            src.push_str(&format!("custom.p{i} = {i}\n"));
        }
        src.push_str("full_page_writes = on\nfsync = off\nignore_checksum_failure = on\n");
        let got: Vec<(String, &str)> = scan_conf(&src, 0, false)
            .into_iter()
            .map(|f| (f.name, &src[f.span]))
            .collect();
        assert_eq!(
            got,
            vec![
                ("zero_damaged_pages".to_string(), "zero_damaged_pages = on"),
                ("fsync".to_string(), "fsync = off"),
                (
                    "ignore_checksum_failure".to_string(),
                    "ignore_checksum_failure = on"
                ),
            ]
        );
    }

    #[test]
    fn one_line_and_quoted_conf_values_under_conf_keys() {
        let cases = [
            (
                "primary:\n  extendedConfiguration: |-\n    zero_damaged_pages = on\n",
                "zero_damaged_pages = on",
            ),
            (
                "primary:\n  extendedConfiguration: |-\n    fsync = off\n",
                "fsync = off",
            ),
            ("data:\n  postgresql.conf: \"fsync = off\"\n", "fsync = off"),
            (
                "data:\n  extra.conf: |-\n    full_page_writes = off\n",
                "full_page_writes = off",
            ),
            (
                "postgresqlExtendedConf: 'ignore_checksum_failure = on'\n",
                "ignore_checksum_failure = on",
            ),
        ];
        for (src, want) in cases {
            let got = yaml(src);
            assert_eq!(got.len(), 1, "{src}: {got:?}");
            assert_eq!(got[0].1, want, "{src}");
        }
        // Near misses: a one-line value under another key is not conf text, a safe value is
        // no finding, and `configuration` alone is too generic for fsync outside PostgreSQL.
        for src in [
            "primary:\n  note: \"fsync = off\"\n",
            "primary:\n  extendedConfiguration: |-\n    fsync = on\n",
            "app:\n  configuration: \"fsync = off\"\n",
        ] {
            assert!(yaml(src).is_empty(), "{src}: {:?}", yaml(src));
        }
        assert_eq!(
            yaml("image: postgres:16\nconfiguration: \"fsync = off\"\n").len(),
            1
        );
    }

    #[test]
    fn kubernetes_env_name_value_items() {
        let src = "spec:\n  containers:\n    - name: postgresql\n      image: bitnami/postgresql:16\n      env:\n        - name: POSTGRESQL_FSYNC\n          value: \"off\"\n        - name: POSTGRESQL_FULL_PAGE_WRITES\n          value: \"off\"\n        - name: POSTGRES_INITDB_ARGS\n          value: \"--no-data-checksums\"\n";
        let got = yaml(src);
        let names: Vec<&str> = got.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            vec!["fsync", "full_page_writes", "data_checksums"],
            "{got:?}"
        );
        assert_eq!(got[0].1, "\"off\"");
        // Near misses: safe values, other variables, and FSYNC outside PostgreSQL.
        for src in [
            "image: postgres\nenv:\n  - name: POSTGRESQL_FSYNC\n    value: \"on\"\n",
            "image: postgres\nenv:\n  - name: APP_MODE\n    value: \"off\"\n",
            "image: redis\nenv:\n  - name: FSYNC\n    value: \"off\"\n",
        ] {
            assert!(yaml(src).is_empty(), "{src}: {:?}", yaml(src));
        }
    }

    #[test]
    fn fsync_flags_of_other_tools_are_not_postgres() {
        let fio = "kind: Job\nspec:\n  containers:\n    - name: fio\n      image: ljishen/fio\n      args: [\"--name=randwrite\", \"--fsync=0\", \"--direct=1\"]\n";
        assert!(yaml(fio).is_empty(), "{:?}", yaml(fio));
        // Near miss: the same flag for a PostgreSQL container, or `-c fsync=off` in one.
        let pg = fio.replace("ljishen/fio", "postgres:16");
        assert_eq!(yaml(&pg).len(), 1);
        let cmd = "services:\n  db:\n    image: ghcr.io/acme/db\n    command: [\"postgres\", \"-c\", \"fsync=off\"]\n";
        assert_eq!(yaml(cmd).len(), 1);
    }

    #[test]
    fn alter_system_in_sql() {
        let src = "ALTER SYSTEM SET fsync = off;\nALTER SYSTEM SET fsync TO on;\n-- ALTER SYSTEM SET full_page_writes = off\nALTER SYSTEM SET zero_damaged_pages = 'true';\nSELECT 'ALTER SYSTEM SET fsync = off';\nALTER DATABASE app SET ignore_checksum_failure = on;\nSET fsync = off;";
        let got = scan_sql_text(src, false);
        let texts: Vec<&str> = got.iter().map(|f| &src[f.span.clone()]).collect();
        assert_eq!(
            texts,
            vec![
                "fsync = off",
                "zero_damaged_pages = 'true'",
                "ignore_checksum_failure = on"
            ]
        );
        assert!(
            got[0].help.contains("`ALTER SYSTEM RESET fsync;`"),
            "{}",
            got[0].help
        );
        assert!(
            got[2].help.contains("ALTER DATABASE <name> RESET"),
            "{}",
            got[2].help
        );
        assert!(scan_sql_text(src, true).is_empty());
        // A dbmate or goose down section runs only on rollback.
        let down = "-- migrate:up\nSELECT 1;\n-- migrate:down transaction:false\nALTER SYSTEM SET fsync = off;\n";
        assert!(scan_sql_migration(down).is_empty());
        let goose = "-- +goose Down\nALTER SYSTEM SET fsync = off;\n-- +goose Up\nALTER SYSTEM SET full_page_writes = off;\n";
        let got = scan_sql_migration(goose);
        assert_eq!(got.len(), 1);
        assert!(goose[got[0].span.clone()].starts_with("full_page_writes"));
        // Near miss: the up section of the same file is scanned.
        let up = "-- migrate:up transaction:false\nALTER SYSTEM SET fsync = off;\n-- migrate:down\nSELECT 1;\n";
        assert_eq!(scan_sql_migration(up).len(), 1);
    }

    #[test]
    fn cloudnativepg_cluster() {
        let src = "apiVersion: postgresql.cnpg.io/v1\nkind: Cluster\nspec:\n  postgresql:\n    parameters:\n      fsync: \"off\"\n      full_page_writes: \"on\"\n      # zero_damaged_pages: \"on\"\n  bootstrap:\n    initdb:\n      dataChecksums: false\n      options:\n        - \"--no-data-checksums\"\n";
        assert_eq!(
            yaml(src),
            pairs(&[
                ("fsync", "\"off\""),
                ("data_checksums", "false"),
                ("data_checksums", "--no-data-checksums"),
            ])
        );
        let all = scan_yaml(src, &scalars(src), false);
        assert!(all[0].help.contains("`fsync: \"on\"`"), "{}", all[0].help);
        assert!(
            all[1].help.contains("dataChecksums: true"),
            "{}",
            all[1].help
        );
        assert!(
            all[1].help.contains("pg_checksums --enable"),
            "{}",
            all[1].help
        );
        assert!(scan_yaml(src, &scalars(src), true).is_empty());
    }

    #[test]
    fn zalando_and_helm_values() {
        let zalando = "apiVersion: \"acid.zalan.do/v1\"\nkind: postgresql\nspec:\n  postgresql:\n    version: \"15\"\n    parameters:\n      ignore_checksum_failure: \"true\"\n";
        assert_eq!(
            yaml(zalando),
            pairs(&[("ignore_checksum_failure", "\"true\"")])
        );
        let bitnami = "primary:\n  extendedConfiguration: |\n    max_connections = 200\n    fsync = off\n    # full_page_writes = off\n    zero_damaged_pages = on\n";
        assert_eq!(
            yaml(bitnami),
            pairs(&[
                ("fsync", "fsync = off"),
                ("zero_damaged_pages", "zero_damaged_pages = on")
            ])
        );
        let patroni = "postgresql:\n  parameters:\n    fullPageWrites: off\n";
        assert_eq!(yaml(patroni), pairs(&[("full_page_writes", "off")]));
    }

    #[test]
    fn compose_commands_and_environment() {
        let src = r#"services:
  db:
    image: postgres:16
    command: postgres -c fsync=off -c full_page_writes=off
  db2:
    image: postgres:16
    command: ["postgres", "-c", "fsync=off", "--full-page-writes=off"]
    environment:
      POSTGRES_INITDB_ARGS: "--encoding=UTF8 --no-data-checksums"
  db3:
    image: bitnami/postgresql
    environment:
      - POSTGRESQL_FSYNC=off
      - POSTGRES_INITDB_ARGS=--no-data-checksums
  db4:
    image: postgres
    command: postgres -F
"#;
        assert_eq!(
            yaml(src),
            pairs(&[
                ("fsync", "fsync=off"),
                ("full_page_writes", "full_page_writes=off"),
                ("fsync", "fsync=off"),
                ("full_page_writes", "--full-page-writes=off"),
                ("data_checksums", "--no-data-checksums"),
                ("fsync", "POSTGRESQL_FSYNC=off"),
                ("data_checksums", "--no-data-checksums"),
                ("fsync", "-F"),
            ])
        );
        let all = scan_yaml(src, &scalars(src), false);
        assert!(
            all[0]
                .help
                .starts_with("remove `-c fsync=off` from the command"),
            "{}",
            all[0].help
        );
    }

    #[test]
    fn kubernetes_args_split_over_items() {
        let src = "spec:\n  containers:\n    - name: pg\n      image: postgres:16\n      args:\n        - -c\n        - fsync=off\n        - -c\n        - log_min_messages=warning\n";
        assert_eq!(yaml(src), pairs(&[("fsync", "fsync=off")]));
    }

    #[test]
    fn near_misses_in_yaml() {
        let cases = [
            // Not a PostgreSQL document: `fsync` means something else here.
            "storage:\n  journal:\n    fsync: false\n",
            "postgresql:\n  parameters:\n    fsync: \"on\"\n    full_page_writes: true\n",
            "postgresql:\n  parameters:\n    # fsync: \"off\"\n    zero_damaged_pages: \"o\"\n",
            "services:\n  db:\n    image: postgres\n    command: postgres -c fsync=on\n",
            "jobs:\n  x:\n    image: postgres\n    command: [\"tar\", \"-F\", \"x\"]\n",
            "spec:\n  bootstrap:\n    initdb:\n      dataChecksums: true\n",
            "docs:\n  note: \"never pass --no-data-checksums-ish flags\"\n",
        ];
        for src in cases {
            assert!(yaml(src).is_empty(), "{src}: {:?}", yaml(src));
        }
    }

    #[test]
    fn yaml_scalars_keep_document_order_paths_and_spans() {
        let src = "a:\n  b: [x, \"y\"]\n  c: &v z\n  d: *v\n";
        let got: Vec<(Vec<PathSeg>, String, String)> = scalars(src)
            .into_iter()
            .map(|s| (s.path, s.value, src[s.span].to_string()))
            .collect();
        let key = |k: &str| PathSeg::Key(k.to_string());
        assert_eq!(
            got,
            vec![
                (
                    vec![key("a"), key("b"), PathSeg::Index(0)],
                    "x".into(),
                    "x".into()
                ),
                (
                    vec![key("a"), key("b"), PathSeg::Index(1)],
                    "y".into(),
                    "\"y\"".into()
                ),
                (vec![key("a"), key("c")], "z".into(), "&v z".into()),
                (vec![key("a"), key("d")], "z".into(), "*v".into()),
            ]
        );
    }

    #[test]
    fn ci_pipeline_definitions_are_throwaway() {
        let cases = [
            (".github/workflows/build.yml", true),
            ("services/api/.github/workflows/build.yml", true),
            (".github/actions/db/action.yml", true),
            (".gitlab-ci.yml", true),
            (".gitlab/ci/test.yml", true),
            (".circleci/config.yml", true),
            ("bitbucket-pipelines.yml", true),
            // Near misses: names that only look like CI.
            (".github/CODEOWNERS.yml", false),
            ("deploy/workflows/build.yml", false),
            ("docs/gitlab-ci.yml", false),
            ("k8s/postgres.yaml", false),
        ];
        for (path, want) in cases {
            assert_eq!(is_ci_config(path), want, "{path}");
        }
    }

    #[test]
    fn prefilter_keeps_every_spelling_the_scanners_read() {
        for text in [
            "fsync = off",
            "POSTGRESQL_FSYNC: off",
            "fullPageWrites: false",
            "FULL_PAGE_WRITES=off",
            "zero_damaged_pages = on",
            "ignore_checksum_failure: on",
            "dataChecksums: false",
            "POSTGRES_INITDB_ARGS: --no-data-checksums",
            "command: postgres -F",
        ] {
            assert!(may_mention_a_guard(text), "{text}");
        }
        assert!(!may_mention_a_guard(
            "max_connections = 100\nwork_mem = 4MB\n"
        ));
        assert!(!may_mention_a_guard("command: postgres -f x"));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        #[test]
        fn scanners_never_panic_and_spans_are_in_bounds(
            src in "((fsync|full_page_writes|zero_damaged_pages|#|'|=| |\n|off|on|-c|-F|--no-data-checksums|é|\r)){0,24}"
        ) {
            for f in scan_conf(&src, 0, false) {
                prop_assert!(f.span.end <= src.len() && src.is_char_boundary(f.span.start) && src.is_char_boundary(f.span.end));
            }
            let sc = vec![YamlScalar { path: vec![PathSeg::Key("command".into())], value: src.clone(), span: 0..src.len() }];
            for f in scan_yaml(&src, &sc, false) {
                prop_assert!(f.span.end <= src.len() && src.is_char_boundary(f.span.start) && src.is_char_boundary(f.span.end));
            }
            let _ = scan_sql_text(&src, false);
        }
    }
}
