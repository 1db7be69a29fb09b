//! Findings and rule metadata shared by the reporters' tests.

use crate::finding::{Finding, Location, Related, Severity, Snippet};
use crate::meta::{Example, ExampleKind, RuleMeta};

/// A finding on `needle` within `line_text`, which sits at line `line` of `path`.
pub fn finding(
    rule: &str,
    sev: Severity,
    path: &str,
    line: usize,
    line_text: &str,
    needle: &str,
) -> Finding {
    let start = line_text.find(needle).unwrap_or(0);
    let end = start + needle.len();
    let column = line_text[..start].chars().count() + 1;
    Finding {
        rule: rule.to_string(),
        severity: sev,
        location: Location {
            path: path.to_string(),
            line,
            column,
            end_line: line,
            end_column: column + needle.chars().count(),
            span: 100 + start..100 + end,
        },
        message: format!("{rule} message"),
        help: None,
        related: Vec::new(),
        snippet: Some(Snippet {
            first_line: line,
            text: line_text.to_string(),
            span: start..end,
        }),
        fingerprint: format!(
            "{:016x}",
            crate::finding::stable_hash(&[rule, path, needle])
        ),
    }
}

/// A literal DSN error with a multi-line YAML help.
pub fn dsn_error() -> Finding {
    let text = "  url: postgresql://storefront_app:****@prod-pg-cluster.internal:5432/storefront";
    let mut f = finding(
        "literal-dsn",
        Severity::Error,
        "charts/storefront/values.yaml",
        12,
        text,
        "postgresql://storefront_app:****@prod-pg-cluster.internal:5432/storefront",
    );
    f.message = "literal PostgreSQL connection string with a password".to_string();
    f.help = Some("read the DSN from a Secret instead:\nenv:\n  - name: DATABASE_URL\n    valueFrom:\n      secretKeyRef: {name: storefront-db, key: url}".to_string());
    f
}

/// A CODEOWNERS warning with a related location, on a path that needs escaping in URIs.
pub fn owner_warning() -> Finding {
    let mut f = finding(
        "unprotected-config-path",
        Severity::Warning,
        "deploy/qa env/values.yaml",
        3,
        "host: qa-pg.internal",
        "host",
    );
    f.message = "connection target in a file no human owns".to_string();
    f.help = Some("add a CODEOWNERS rule for this path with a human team".to_string());
    let mut loc = f.location.clone();
    (loc.path, loc.line, loc.column, loc.end_line, loc.end_column) =
        ("CODEOWNERS".into(), 7, 1, 7, 12);
    f.related.push(Related {
        location: loc,
        message: "last matching rule, owned only by a bot".into(),
    });
    f
}

/// An info diagnostic with no snippet and no help, for a rule absent from the metadata.
pub fn parse_info() -> Finding {
    let mut f = finding(
        "parse-error",
        Severity::Info,
        "migrations/0001_init.sql",
        40,
        "",
        "",
    );
    f.message = "unterminated dollar quote: could not check this file".to_string();
    f.snippet = None;
    f
}

/// Metadata for the rules above (not `parse-error`), sorted by id.
pub fn rules() -> Vec<RuleMeta> {
    let meta = |id: &str, severity, category: &str| RuleMeta {
        id: id.to_string(),
        severity,
        category: category.to_string(),
        summary: format!("{id} summary"),
        incident: "incident 001".to_string(),
        rationale: format!("{id} rationale"),
        fix: format!("{id} fix"),
        examples: vec![
            Example {
                kind: ExampleKind::Bad,
                path: "values.yaml".into(),
                content: "url: bad\n".into(),
                note: "bad".into(),
                extra_files: vec![],
            },
            Example {
                kind: ExampleKind::Good,
                path: "values.yaml".into(),
                content: "url: good\n".into(),
                note: "good".into(),
                extra_files: vec![],
            },
        ],
        options: vec![],
    };
    vec![
        meta("literal-dsn", Severity::Error, "secrets"),
        meta("unprotected-config-path", Severity::Warning, "ownership"),
    ]
}

/// Runs `f` on a report of `findings` with the fixture rules; the report borrows locals.
pub fn with_report<R>(
    findings: &[Finding],
    files_scanned: usize,
    skipped: &[crate::report::Skipped],
    elapsed_ms: u64,
    f: impl FnOnce(&crate::report::Report) -> R,
) -> R {
    let rules = rules();
    f(&crate::report::Report {
        findings,
        files_scanned,
        skipped,
        elapsed_ms,
        rules: &rules,
        tool_version: "0.1.0",
    })
}

/// `n` skipped binaries, `assets/f00.bin` onwards.
pub fn skipped(n: usize) -> Vec<crate::report::Skipped> {
    (0..n)
        .map(|i| crate::report::Skipped {
            path: format!("assets/f{i:02}.bin"),
            reason: "binary".into(),
        })
        .collect()
}
