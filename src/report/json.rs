//! The `json` output format: stable, documented, versioned.
//!
//! ```json
//! {
//!   "version": 1,
//!   "findings": [
//!     {
//!       "rule": "literal-dsn",
//!       "severity": "error",
//!       "path": "charts/storefront/values.yaml",
//!       "line": 12, "column": 8, "end_line": 12, "end_column": 81,
//!       "message": "...",
//!       "help": "..." | null,
//!       "fingerprint": "...",
//!       "related": [{"path": "CODEOWNERS", "line": 7, "column": 1, "message": "..."}]
//!     }
//!   ],
//!   "files_scanned": 1204,
//!   "files_skipped": [{"path": "a.bin", "reason": "binary"}],
//!   "elapsed_ms": 40
//! }
//! ```
//!
//! Paths are repo-relative with `/`; lines and columns are 1-based, columns count Unicode scalar
//! values and `end_column` is exclusive (the column just past the finding). `related` and
//! `files_skipped` are additions to the documented version-1 schema; both are always present
//! (possibly empty) so consumers need not test for them. Output is pretty-printed with a two-space
//! indent and ends with a newline.

use std::io::{self, Write};

use serde::Serialize;

use super::Report;
use crate::finding::Finding;

/// The schema version; bumped only for changes that break consumers.
pub const SCHEMA_VERSION: u32 = 1;

#[derive(Serialize)]
struct JsonReport<'a> {
    version: u32,
    findings: Vec<JsonFinding<'a>>,
    files_scanned: usize,
    files_skipped: Vec<JsonSkipped<'a>>,
    elapsed_ms: u64,
}

#[derive(Serialize)]
struct JsonFinding<'a> {
    rule: &'a str,
    severity: &'static str,
    path: &'a str,
    line: usize,
    column: usize,
    end_line: usize,
    end_column: usize,
    message: &'a str,
    help: Option<&'a str>,
    fingerprint: &'a str,
    related: Vec<JsonRelated<'a>>,
}

#[derive(Serialize)]
struct JsonRelated<'a> {
    path: &'a str,
    line: usize,
    column: usize,
    message: &'a str,
}

#[derive(Serialize)]
struct JsonSkipped<'a> {
    path: &'a str,
    reason: &'a str,
}

/// Writes the report as one pretty-printed JSON document followed by a newline.
pub fn render(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    let doc = JsonReport {
        version: SCHEMA_VERSION,
        findings: report.findings.iter().map(finding).collect(),
        files_scanned: report.files_scanned,
        files_skipped: report
            .skipped
            .iter()
            .map(|s| JsonSkipped {
                path: &s.path,
                reason: &s.reason,
            })
            .collect(),
        elapsed_ms: report.elapsed_ms,
    };
    serde_json::to_writer_pretty(&mut *out, &doc)?;
    out.write_all(b"\n")
}

fn finding(f: &Finding) -> JsonFinding<'_> {
    let loc = &f.location;
    JsonFinding {
        rule: &f.rule,
        severity: f.severity.as_str(),
        path: &loc.path,
        line: loc.line,
        column: loc.column,
        end_line: loc.end_line,
        end_column: loc.end_column,
        message: &f.message,
        help: f.help.as_deref(),
        fingerprint: &f.fingerprint,
        related: f
            .related
            .iter()
            .map(|r| JsonRelated {
                path: &r.location.path,
                line: r.location.line,
                column: r.location.column,
                message: &r.message,
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::human::fixtures::{
        dsn_error, owner_warning, parse_info, skipped, with_report,
    };
    use serde_json::{Value, json};

    fn render_to_string(findings: &[Finding], skip: usize) -> String {
        with_report(findings, 1204, &skipped(skip), 40, |report| {
            let mut out = Vec::new();
            render(report, &mut out).expect("writing to a Vec cannot fail");
            String::from_utf8(out).expect("serde_json writes UTF-8")
        })
    }

    fn parse(text: &str) -> Value {
        serde_json::from_str(text).expect("the output is valid JSON")
    }

    #[test]
    fn finding_fields_match_the_documented_schema() {
        let doc = parse(&render_to_string(&[owner_warning()], 0));
        let f = &doc["findings"][0];
        let want = json!({
            "rule": "unprotected-config-path", "severity": "warning",
            "path": "deploy/qa env/values.yaml",
            "line": 3, "column": 1, "end_line": 3, "end_column": 5,
            "message": "connection target in a file no human owns",
            "help": "add a CODEOWNERS rule for this path with a human team",
            "fingerprint": owner_warning().fingerprint,
            "related": [{"path": "CODEOWNERS", "line": 7, "column": 1,
                         "message": "last matching rule, owned only by a bot"}],
        });
        assert_eq!(f, &want);
    }

    #[test]
    fn keys_come_in_schema_order() {
        let text = render_to_string(&[dsn_error()], 1);
        let order = [
            "\"version\"",
            "\"findings\"",
            "\"rule\"",
            "\"severity\"",
            "\"path\"",
            "\"line\"",
            "\"column\"",
            "\"end_line\"",
            "\"end_column\"",
            "\"message\"",
            "\"help\"",
            "\"fingerprint\"",
            "\"related\"",
            "\"files_scanned\"",
            "\"files_skipped\"",
            "\"elapsed_ms\"",
        ];
        let positions: Vec<usize> = order.iter().filter_map(|k| text.find(k)).collect();
        assert_eq!(positions.len(), order.len(), "a key is missing: {text}");
        assert!(positions.windows(2).all(|w| w[0] < w[1]), "{text}");
    }

    #[test]
    fn top_level_and_null_help() {
        // (findings, skipped, expected findings, expected skipped, help of the first finding)
        let cases: &[(Vec<Finding>, usize, usize, usize, Value)] = &[
            (vec![], 0, 0, 0, Value::Null),
            (vec![parse_info()], 0, 1, 0, Value::Null),
            (
                vec![dsn_error(), parse_info()],
                3,
                2,
                3,
                json!(dsn_error().help),
            ),
        ];
        for (findings, skip, n_findings, n_skipped, help) in cases {
            let doc = parse(&render_to_string(findings, *skip));
            assert_eq!(doc["version"], json!(1));
            assert_eq!(doc["files_scanned"], json!(1204));
            assert_eq!(doc["elapsed_ms"], json!(40));
            assert_eq!(doc["findings"].as_array().map(Vec::len), Some(*n_findings));
            assert_eq!(
                doc["files_skipped"].as_array().map(Vec::len),
                Some(*n_skipped)
            );
            if *n_findings > 0 {
                // `help` is present and null when absent, never missing.
                assert_eq!(doc["findings"][0].get("help"), Some(help));
            }
        }
        let doc = parse(&render_to_string(&[], 1));
        assert_eq!(
            doc["files_skipped"][0],
            json!({"path": "assets/f00.bin", "reason": "binary"})
        );
    }

    #[test]
    fn pretty_two_space_indent_and_trailing_newline() {
        let text = render_to_string(&[parse_info()], 0);
        assert!(
            text.starts_with("{\n  \"version\": 1,\n  \"findings\": [\n    {\n"),
            "{text}"
        );
        assert!(text.ends_with("}\n") && !text.ends_with("\n\n"), "{text}");
    }

    #[test]
    fn output_is_deterministic_and_escapes_text() {
        let mut f = dsn_error();
        f.message = "quote \" backslash \\ newline \n tab \t nul \u{0}".into();
        let once = render_to_string(std::slice::from_ref(&f), 2);
        assert_eq!(once, render_to_string(std::slice::from_ref(&f), 2));
        assert_eq!(parse(&once)["findings"][0]["message"], json!(f.message));
    }

    #[test]
    fn full_document() {
        insta::assert_snapshot!(render_to_string(&[dsn_error(), owner_warning()], 1));
    }
}
