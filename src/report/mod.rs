//! Reporters: one file per output format. They render `Report`s and know nothing about rules.

use crate::finding::Finding;
use crate::meta::RuleMeta;

pub mod github;
pub mod human;
pub mod json;
pub mod sarif;

/// A file the walk did not scan, and why (binary, too large, not UTF-8, unreadable).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    pub path: String,
    pub reason: String,
}

/// The result of a run, as every reporter sees it. Findings are sorted (path, line, column, rule).
#[derive(Debug, Clone)]
pub struct Report<'a> {
    pub findings: &'a [Finding],
    pub files_scanned: usize,
    pub skipped: &'a [Skipped],
    pub elapsed_ms: u64,
    /// Metadata of every rule that ran, sorted by id (SARIF `tool.driver.rules`).
    pub rules: &'a [RuleMeta],
    pub tool_version: &'a str,
}
