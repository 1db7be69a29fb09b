//! Rule metadata: one `rules/<id>.yaml` per rule, compiled into the binary. `premortem explain`,
//! SARIF `tool.driver.rules` and `docs/rules/*.md` are all generated from it.

use crate::finding::Severity;

/// Where the rule docs live; SARIF `helpUri` points here.
pub const DOCS_URL: &str = "https://github.com/premortem-dev/premortem/blob/main/docs/rules";

/// Whether an example must produce the rule's finding or must not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExampleKind {
    Bad,
    Good,
}

/// A small file that shows the rule at work; the test suite runs every one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Example {
    pub kind: ExampleKind,
    /// Repo-relative path the content is checked at (its name decides its kind and environment).
    pub path: String,
    pub content: String,
    /// One line on what the example shows.
    pub note: String,
    /// Other files that must exist beside it (a CODEOWNERS, an earlier migration).
    pub extra_files: Vec<(String, String)>,
}

/// A rule option's default value; its type is the type a config value must have.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OptionValue {
    Bool(bool),
    Int(i64),
    Str(String),
    List(Vec<String>),
}

/// Everything premortem knows about a rule besides its logic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleMeta {
    pub id: String,
    pub severity: Severity,
    pub category: String,
    pub summary: String,
    /// The incident the rule comes from, in one or two sentences.
    pub incident: String,
    pub rationale: String,
    pub fix: String,
    pub examples: Vec<Example>,
    pub options: Vec<(String, OptionValue, String)>,
}

impl RuleMeta {
    /// The rule's documentation page.
    pub fn help_uri(&self) -> String {
        format!("{DOCS_URL}/{}.md", self.id)
    }
}
