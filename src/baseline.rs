//! Baselines: adopt premortem on an existing repository and fail only on new findings.
//!
//! A baseline is a JSON file of the findings a team accepted: rule, path, fingerprint and the
//! masked message, for humans reading a review. Fingerprints come from the engine (rule, path and
//! the masked flagged text, never the line), so an entry survives its lines moving and unrelated
//! edits, and a fixed finding drops out on the next write. No secret is ever stored: messages
//! are masked again on the way in, and there is no source text in the file.

use std::collections::BTreeSet;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::finding::Finding;
use crate::syntax::dsn::mask_secrets;

/// The format version written in every baseline.
pub const VERSION: u32 = 1;

/// One accepted finding.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Entry {
    pub rule: String,
    /// Relative to the repository root, with `/`.
    pub path: String,
    pub fingerprint: String,
    /// The finding's message, masked; for humans only, never matched.
    #[serde(default)]
    pub message: String,
}

/// A baseline file's contents.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Baseline {
    pub version: u32,
    pub findings: Vec<Entry>,
}

impl Baseline {
    /// A baseline of these findings, sorted by path, rule and fingerprint.
    pub fn of(findings: &[Finding]) -> Baseline {
        let entries: Vec<Entry> = findings
            .iter()
            .map(|f| Entry {
                rule: f.rule.clone(),
                path: f.location.path.clone(),
                fingerprint: f.fingerprint.clone(),
                message: mask_secrets(&f.message).into_owned(),
            })
            .collect();
        Baseline {
            version: VERSION,
            findings: sorted(entries),
        }
    }

    /// Parses a baseline; the error names the file and what is wrong.
    pub fn parse(shown: &str, text: &str) -> Result<Baseline, String> {
        let b: Baseline = serde_json::from_str(text)
            .map_err(|e| format!("baseline `{shown}` is not a premortem baseline: {e}"))?;
        if b.version != VERSION {
            return Err(format!(
                "baseline `{shown}` has version {}; this premortem reads version {VERSION}",
                b.version
            ));
        }
        Ok(b)
    }

    /// Reads a baseline file.
    pub fn load(path: &Path) -> Result<Baseline, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read baseline `{}`: {e}", path.display()))?;
        Baseline::parse(&path.display().to_string(), &text)
    }

    /// The file's text: pretty JSON, one entry per finding, ending in a newline.
    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).unwrap_or_default();
        s.push('\n');
        s
    }

    /// Writes the baseline to `path`.
    pub fn write(&self, path: &Path) -> Result<(), String> {
        std::fs::write(path, self.to_json())
            .map_err(|e| format!("cannot write baseline `{}`: {e}", path.display()))
    }

    /// This baseline with the entries for paths `in_scope` replaced by `fresh`: a baseline
    /// written from a partial run keeps what it did not look at.
    pub fn merged(&self, fresh: Baseline, in_scope: impl Fn(&str) -> bool) -> Baseline {
        let entries = (self.findings.iter())
            .filter(|e| !in_scope(&e.path))
            .cloned()
            .chain(fresh.findings)
            .collect();
        Baseline {
            version: VERSION,
            findings: sorted(entries),
        }
    }

    /// Splits findings into new ones (returned) and ones the baseline accepts (counted).
    pub fn filter(&self, findings: Vec<Finding>) -> (Vec<Finding>, usize) {
        let known: BTreeSet<(&str, &str, &str)> = (self.findings.iter())
            .map(|e| (e.rule.as_str(), e.path.as_str(), e.fingerprint.as_str()))
            .collect();
        let before = findings.len();
        let new: Vec<Finding> = findings
            .into_iter()
            .filter(|f| {
                !known.contains(&(
                    f.rule.as_str(),
                    f.location.path.as_str(),
                    f.fingerprint.as_str(),
                ))
            })
            .collect();
        let accepted = before - new.len();
        (new, accepted)
    }
}

/// Sorted by path, rule and fingerprint, one entry per key.
fn sorted(mut entries: Vec<Entry>) -> Vec<Entry> {
    let key = |e: &Entry| (e.path.clone(), e.rule.clone(), e.fingerprint.clone());
    entries.sort_by_key(key);
    entries.dedup_by(|a, b| key(a) == key(b));
    entries
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::{Location, Severity};

    fn finding(rule: &str, path: &str, fp: &str, message: &str) -> Finding {
        Finding {
            rule: rule.into(),
            severity: Severity::Error,
            location: Location {
                path: path.into(),
                line: 3,
                column: 1,
                end_line: 3,
                end_column: 9,
                span: 0..8,
            },
            message: message.into(),
            help: None,
            related: Vec::new(),
            snippet: None,
            fingerprint: fp.into(),
        }
    }

    #[test]
    fn accepted_findings_are_filtered_and_new_ones_kept() {
        let base = Baseline::of(&[
            finding("literal-dsn", "a/values.yaml", "f1", "m"),
            finding("literal-dsn", "b/values.yaml", "f2", "m"),
        ]);
        // (finding, accepted by the baseline)
        let cases = [
            (
                finding("literal-dsn", "a/values.yaml", "f1", "other text"),
                true,
            ),
            (finding("literal-dsn", "a/values.yaml", "f3", "m"), false),
            (
                finding("cross-environment-target", "a/values.yaml", "f1", "m"),
                false,
            ),
            (finding("literal-dsn", "c/values.yaml", "f1", "m"), false),
        ];
        for (f, accepted) in cases {
            let what = format!("{} {} {}", f.rule, f.location.path, f.fingerprint);
            let (new, n) = base.filter(vec![f]);
            assert_eq!(
                (new.is_empty(), n),
                (accepted, usize::from(accepted)),
                "{what}"
            );
        }
    }

    #[test]
    fn written_baselines_round_trip_sorted_and_masked() {
        let b = Baseline::of(&[
            finding("literal-dsn", "z.env", "f9", "x"),
            finding(
                "literal-dsn",
                "a.yaml",
                "f1",
                "postgresql://app:Hunter2-pw@db.prod/x",
            ),
            finding("literal-dsn", "a.yaml", "f1", "duplicate"),
        ]);
        let text = b.to_json();
        assert!(!text.contains("Hunter2-pw"), "{text}");
        assert!(text.contains("postgresql://app:****@db.prod/x"), "{text}");
        let back = Baseline::parse("b.json", &text).unwrap();
        assert_eq!(back, b);
        let paths: Vec<&str> = back.findings.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(paths, ["a.yaml", "z.env"]);
        assert!(text.ends_with("}\n"));
    }

    #[test]
    fn bad_baselines_are_explained() {
        // (text, expected part of the error)
        let cases = [
            ("", "is not a premortem baseline"),
            ("[]", "is not a premortem baseline"),
            (r#"{"version": 2, "findings": []}"#, "has version 2"),
            (
                r#"{"version": 1, "findings": [], "extra": 1}"#,
                "unknown field",
            ),
            (
                r#"{"version": 1, "findings": [{"rule": "r"}]}"#,
                "missing field",
            ),
        ];
        for (text, want) in cases {
            let err = Baseline::parse("b.json", text).unwrap_err();
            assert!(
                err.contains(want) && err.contains("b.json"),
                "{text}: {err}"
            );
        }
        assert!(Baseline::parse("b.json", r#"{"version": 1, "findings": []}"#).is_ok());
    }

    #[test]
    fn partial_writes_keep_entries_outside_their_scope() {
        let old = Baseline::of(&[
            finding("literal-dsn", "a/x.yaml", "gone", "m"),
            finding("literal-dsn", "b/y.yaml", "kept", "m"),
        ]);
        let fresh = Baseline::of(&[finding("literal-dsn", "a/x.yaml", "new", "m")]);
        let merged = old.merged(fresh, |p| p.starts_with("a/"));
        let fps: Vec<&str> = merged
            .findings
            .iter()
            .map(|e| e.fingerprint.as_str())
            .collect();
        assert_eq!(fps, ["new", "kept"]);
    }
}
