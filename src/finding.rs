//! Diagnostics as data: what every rule produces and every reporter renders.

use std::fmt;
use std::ops::Range;

/// How serious a finding is. Ordered: `Info < Warning < Error`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    Info,
    Warning,
    Error,
}

impl Severity {
    /// The lower-case name used in config, JSON and the human output.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }

    /// Parses `error`, `warning` or `info`.
    pub fn parse(s: &str) -> Option<Severity> {
        match s {
            "error" => Some(Severity::Error),
            "warning" => Some(Severity::Warning),
            "info" => Some(Severity::Info),
            _ => None,
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A place in a file: repo-relative path with `/`, 1-based lines and columns (columns count
/// Unicode scalar values), and the byte range it came from.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Location {
    pub path: String,
    pub line: usize,
    pub column: usize,
    pub end_line: usize,
    pub end_column: usize,
    pub span: Range<usize>,
}

/// A second location that explains a finding (the CODEOWNERS line that decided it, say).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Related {
    pub location: Location,
    pub message: String,
}

/// The source lines a finding points at, already masked, for reporters that show code.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Snippet {
    /// 1-based number of the first line in `text`.
    pub first_line: usize,
    /// The lines, masked, joined with `\n`, without a trailing newline.
    pub text: String,
    /// Byte range of the finding within `text` (after masking).
    pub span: Range<usize>,
}

/// One finding, fully resolved: every text in it is already masked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub rule: String,
    pub severity: Severity,
    pub location: Location,
    pub message: String,
    pub help: Option<String>,
    pub related: Vec<Related>,
    pub snippet: Option<Snippet>,
    /// Stable identity that survives the finding's lines moving (see `fingerprint`).
    pub fingerprint: String,
}

/// What a rule reports before the engine resolves lines, masks text and fingerprints it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub rule: String,
    /// Overrides the rule's configured severity (literal-dsn downgrades to warning when only the
    /// target is literal). `None` uses the configured severity.
    pub severity: Option<Severity>,
    /// Repo-relative path of the file the finding is in.
    pub path: String,
    pub span: Range<usize>,
    pub message: String,
    pub help: Option<String>,
    /// Related locations as (path, byte span, message).
    pub related: Vec<(String, Range<usize>, String)>,
    /// Text that identifies the finding for fingerprints, independent of its line (defaults to
    /// the flagged source text).
    pub identity: Option<String>,
}

impl Diagnostic {
    /// A diagnostic for `rule` at `span` in `path`.
    pub fn new(
        rule: impl Into<String>,
        path: &str,
        span: Range<usize>,
        message: impl Into<String>,
    ) -> Self {
        Diagnostic {
            rule: rule.into(),
            severity: None,
            path: path.to_string(),
            span,
            message: message.into(),
            help: None,
            related: Vec::new(),
            identity: None,
        }
    }

    /// Sets the help text.
    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// Overrides the severity.
    pub fn severity(mut self, severity: Severity) -> Self {
        self.severity = Some(severity);
        self
    }

    /// Adds a related location.
    pub fn related(mut self, path: &str, span: Range<usize>, message: impl Into<String>) -> Self {
        self.related.push((path.to_string(), span, message.into()));
        self
    }

    /// Sets the fingerprint identity.
    pub fn identity(mut self, identity: impl Into<String>) -> Self {
        self.identity = Some(identity.into());
        self
    }
}

/// A 64-bit FNV-1a hash, written out so fingerprints never change with a dependency upgrade.
pub fn stable_hash(parts: &[&str]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for b in part.as_bytes().iter().chain(std::iter::once(&0xffu8)) {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    h
}
