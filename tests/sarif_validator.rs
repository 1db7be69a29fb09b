//! Validates our SARIF with Microsoft's SARIF Multitool, GitHub rules included, when it is present.
//!
//! The tool is found through `SARIF_MULTITOOL` (a path to the native `Sarif.Multitool` or the
//! `sarif` dotnet tool), then `node_modules/@microsoft/sarif-multitool-*/` in the crate root
//! (`npm install @microsoft/sarif-multitool`), then `sarif` on `PATH`. The npm package's
//! `sarif-multitool` wrapper runs its arguments through a shell, which splits `Gh;Sarif`, so it
//! is not used. Without a tool the test passes with a notice, except under `CI`.

use std::path::{Path, PathBuf};
use std::process::Command;

use premortem::finding::{Finding, Location, Related, Severity, Snippet};
use premortem::meta::{Example, ExampleKind, RuleMeta};
use premortem::report::{Report, Skipped, sarif};

fn multitool() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("SARIF_MULTITOOL") {
        // An explicit setting that points nowhere is a broken setup, not an absent tool.
        let path = PathBuf::from(path);
        assert!(
            path.is_file(),
            "SARIF_MULTITOOL={} is not a file",
            path.display()
        );
        return Some(path);
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("node_modules");
    let local = [
        "@microsoft/sarif-multitool-linux/Sarif.Multitool",
        "@microsoft/sarif-multitool-darwin/Sarif.Multitool",
    ];
    let on_path = std::env::var_os("PATH")
        .map(|p| {
            std::env::split_paths(&p)
                .map(|dir| dir.join("sarif"))
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    local
        .iter()
        .map(|rel| root.join(rel))
        .chain(on_path)
        .find(|p| p.is_file())
}

fn location(
    path: &str,
    line: usize,
    column: usize,
    end_line: usize,
    end_column: usize,
) -> Location {
    Location {
        path: path.into(),
        line,
        column,
        end_line,
        end_column,
        span: 0..0,
    }
}

fn finding(rule: &str, severity: Severity, loc: Location, message: &str) -> Finding {
    Finding {
        rule: rule.into(),
        severity,
        location: loc,
        message: message.into(),
        help: None,
        related: Vec::new(),
        snippet: None,
        fingerprint: format!("{rule}-{message}").replace(' ', "-"),
    }
}

fn meta(id: &str, severity: Severity, category: &str) -> RuleMeta {
    let example = |kind, content: &str| Example {
        kind,
        path: "charts/app/values.yaml".into(),
        content: content.into(),
        note: "example".into(),
        extra_files: vec![],
    };
    RuleMeta {
        id: id.into(),
        severity,
        category: category.into(),
        summary: format!("Summary of {id}."),
        incident: "Incident 001.".into(),
        rationale: "Why this matters.".into(),
        fix: "How to fix it.".into(),
        examples: vec![
            example(
                ExampleKind::Bad,
                "url: postgresql://app:****@db.prod.internal/app\n",
            ),
            example(
                ExampleKind::Good,
                "url:\n  secretKeyRef: {name: db, key: url}\n",
            ),
        ],
        options: vec![],
    }
}

/// Every shape the reporter has to handle: help, related locations, odd paths, a zero-width
/// region, a missing position and a rule without metadata.
fn findings() -> Vec<Finding> {
    let mut dsn = finding(
        "literal-dsn",
        Severity::Error,
        location("charts/app/values.yaml", 12, 8, 12, 52),
        "literal PostgreSQL connection string with a password",
    );
    dsn.help = Some("use a secretKeyRef:\nenv:\n  - name: DATABASE_URL".into());
    dsn.snippet = Some(Snippet {
        first_line: 12,
        text: "  url: x".into(),
        span: 7..8,
    });
    let mut owners = finding(
        "unprotected-config-path",
        Severity::Warning,
        location("deploy/qa env/värden [1].yaml", 3, 1, 4, 1),
        "connection target in a file no human owns",
    );
    owners.related.push(Related {
        location: location(".github/CODEOWNERS", 7, 1, 7, 20),
        message: "last matching rule, owned only by a bot".into(),
    });
    vec![
        dsn,
        owners,
        finding(
            "literal-dsn",
            Severity::Warning,
            location("a#b?.env", 2, 5, 2, 5),
            "empty",
        ),
        finding(
            "parse-error",
            Severity::Info,
            location("db/0001.sql", 0, 0, 0, 0),
            "unreadable",
        ),
    ]
}

#[test]
fn sarif_passes_the_multitool_with_github_rules() {
    let Some(tool) = multitool() else {
        assert!(
            std::env::var_os("CI").is_none(),
            "SARIF multitool not found under CI"
        );
        println!("skipped: SARIF multitool not found (set SARIF_MULTITOOL)");
        return;
    };
    let rules = [
        meta("literal-dsn", Severity::Error, "secrets"),
        meta("unprotected-config-path", Severity::Warning, "ownership"),
    ];
    let findings = findings();
    let skipped = [Skipped {
        path: "a.bin".into(),
        reason: "binary".into(),
    }];
    let dir = tempfile::tempdir().expect("a temporary directory");
    for (name, findings) in [("empty.sarif", &[][..]), ("findings.sarif", &findings[..])] {
        let report = Report {
            findings,
            files_scanned: 4,
            skipped: &skipped,
            elapsed_ms: 12,
            rules: &rules,
            tool_version: env!("CARGO_PKG_VERSION"),
        };
        let mut log = Vec::new();
        sarif::render(&report, &mut log).expect("rendering to memory");
        let (input, output) = (
            dir.path().join(name),
            dir.path().join(format!("{name}.out")),
        );
        std::fs::write(&input, &log).expect("writing the log");
        let run = Command::new(&tool)
            .args([
                "validate",
                "--rule-kind",
                "Gh;Sarif",
                "--level",
                "Error;Warning",
            ])
            .arg(&input)
            .arg("-o")
            .arg(&output)
            // The tool is a .NET single-file app; it needs no ICU for validation.
            .env("DOTNET_SYSTEM_GLOBALIZATION_INVARIANT", "1")
            .output()
            .expect("running the SARIF multitool");
        let text = std::fs::read_to_string(&output).unwrap_or_else(|_| {
            panic!(
                "no validator output; stderr: {}",
                String::from_utf8_lossy(&run.stderr)
            )
        });
        let out: serde_json::Value = serde_json::from_str(&text).expect("validator output is JSON");
        let problems: Vec<String> = out["runs"][0]["results"]
            .as_array()
            .into_iter()
            .flatten()
            // An absent level means `warning` in SARIF.
            .filter(|r| matches!(r["level"].as_str(), None | Some("error" | "warning")))
            .map(|r| {
                format!(
                    "{} {} {}",
                    r["level"], r["ruleId"], r["message"]["arguments"]
                )
            })
            .collect();
        assert!(problems.is_empty(), "{name}: {problems:#?}");
    }
}
