//! The rules. One file per rule, holding only rule logic; this module is the interface they
//! implement and the list they are registered in.

use std::any::Any;
use std::ops::Range;
use std::path::Path;

use crate::classify::FileKind;
use crate::config::{Config, RuleConfig};
use crate::finding::Diagnostic;
use crate::meta::{OptionValue, RuleMeta};
use crate::source::SourceFile;

pub mod cross_environment_target;
pub mod custom;
pub mod disabled_integrity_safeguard;
pub mod literal_dsn;
pub mod unguarded_destructive_fixture;
pub mod unprotected_config_path;
pub mod unserialized_chain_trigger;

/// Every built-in rule. Adding a rule is one file and one line here.
pub fn all() -> Vec<Box<dyn Rule>> {
    vec![
        Box::new(literal_dsn::LiteralDsn),
        Box::new(cross_environment_target::CrossEnvironmentTarget),
        Box::new(unprotected_config_path::UnprotectedConfigPath::default()),
        Box::new(unserialized_chain_trigger::UnserializedChainTrigger),
        Box::new(disabled_integrity_safeguard::DisabledIntegritySafeguard),
        Box::new(unguarded_destructive_fixture::UnguardedDestructiveFixture::default()),
    ]
}

/// A rule. Per-file work runs in parallel on every file the rule wants; repo work runs once,
/// after every file, over the facts the per-file work recorded.
pub trait Rule: Send + Sync {
    /// The rule's kebab-case id; `rules/<id>.yaml` holds its metadata.
    fn id(&self) -> &'static str;

    /// Whether the rule reads files of this kind at this path. Decided before the file is read.
    fn wants(&self, kind: FileKind, path: &str) -> bool;

    /// Whether the rule wants this path whatever its kind (path globs from the rule's options):
    /// such a file is read even when no kind is known, and is listed in `Repo::scanned`.
    fn wants_path(&self, _cx: &Cx, _path: &str) -> bool {
        false
    }

    /// Whether [`Rule::wants_path`] can be true for any path at all (with this configuration).
    fn wants_any_path(&self, _cx: &Cx) -> bool {
        false
    }

    /// Checks one file.
    fn check_file(&self, _file: &SourceFile, _cx: &Cx, _out: &mut FileOut) {}

    /// Checks the whole repository once, from facts.
    fn check_repo(&self, _repo: &Repo, _cx: &Cx, _out: &mut Vec<Diagnostic>) {}
}

/// What a rule sees of the configuration.
pub struct Cx<'a> {
    pub config: &'a Config,
    pub meta: &'a RuleMeta,
    pub rule: RuleConfig,
}

impl Cx<'_> {
    fn option(&self, name: &str) -> Option<&OptionValue> {
        self.rule.options.get(name).or_else(|| {
            self.meta
                .options
                .iter()
                .find(|(n, _, _)| n == name)
                .map(|(_, v, _)| v)
        })
    }

    /// A list option (config value, else the default from the rule's metadata).
    pub fn list(&self, name: &str) -> Vec<String> {
        match self.option(name) {
            Some(OptionValue::List(v)) => v.clone(),
            Some(OptionValue::Str(s)) => vec![s.clone()],
            _ => Vec::new(),
        }
    }

    /// A boolean option.
    pub fn flag(&self, name: &str) -> bool {
        matches!(self.option(name), Some(OptionValue::Bool(true)))
    }

    /// A string option.
    pub fn string(&self, name: &str) -> Option<String> {
        match self.option(name) {
            Some(OptionValue::Str(s)) => Some(s.clone()),
            _ => None,
        }
    }
}

/// What checking one file produces.
#[derive(Default)]
pub struct FileOut {
    pub diags: Vec<Diagnostic>,
    pub facts: Vec<Fact>,
    /// Byte ranges of secrets in the file: masked wherever the file's text is shown.
    pub secrets: Vec<Range<usize>>,
}

impl FileOut {
    /// Records a fact for the repo-level pass.
    pub fn fact<T: Any + Send + Sync>(&mut self, path: &str, value: T) {
        self.facts.push(Fact {
            path: path.to_string(),
            value: Box::new(value),
        });
    }
}

/// Something a per-file pass learned that a repo-level pass needs, typed by the rule that made it.
pub struct Fact {
    pub path: String,
    pub value: Box<dyn Any + Send + Sync>,
}

/// The whole repository, as repo-level rules see it.
pub struct Repo<'a> {
    pub root: &'a Path,
    /// Every fact, in path order.
    pub facts: &'a [Fact],
    /// Every scanned path, sorted.
    pub scanned: &'a [String],
    /// True when only some paths were given (pre-commit): repo context must be read from `root`.
    pub partial: bool,
    /// Reads a repo-relative file (from the working tree, or the index with `--staged`).
    pub read: &'a (dyn Fn(&str) -> Option<String> + Sync),
}

impl Repo<'_> {
    /// Facts of type `T`, with their paths, in path order.
    pub fn facts<T: Any>(&self) -> impl Iterator<Item = (&str, &T)> {
        self.facts
            .iter()
            .filter_map(|f| f.value.downcast_ref::<T>().map(|v| (f.path.as_str(), v)))
    }
}
