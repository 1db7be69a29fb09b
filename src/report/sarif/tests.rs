//! Tests of the SARIF reporter: structure, GitHub's required properties, encoding, clamping.

use super::*;
use crate::finding::Finding;
use crate::report::human::fixtures::{dsn_error, owner_warning, parse_info, with_report};

fn render_bytes(findings: &[Finding]) -> Vec<u8> {
    with_report(findings, 3, &[], 40, |report| {
        let mut out = Vec::new();
        render(report, &mut out).expect("writing to a Vec cannot fail");
        out
    })
}

fn render_value(findings: &[Finding]) -> Value {
    serde_json::from_slice(&render_bytes(findings)).expect("the output is valid JSON")
}

#[test]
fn log_run_and_driver() {
    let v = render_value(&[]);
    assert_eq!(v["$schema"], SCHEMA);
    assert_eq!(v["version"], "2.1.0");
    assert_eq!(v["runs"].as_array().map(Vec::len), Some(1));
    let run = &v["runs"][0];
    assert_eq!(run["columnKind"], "unicodeCodePoints");
    assert!(run["originalUriBaseIds"]["%SRCROOT%"]["description"]["text"].is_string());
    assert_eq!(run["results"], json!([]));
    let driver = &run["tool"]["driver"];
    assert_eq!(driver["name"], "premortem");
    assert_eq!(driver["version"], "0.1.0");
    assert_eq!(driver["semanticVersion"], "0.1.0");
    assert_eq!(driver["informationUri"], INFORMATION_URI);
    assert_eq!(driver["rules"][0]["id"], "literal-dsn");
}

#[test]
fn rule_metadata_for_github() {
    let v = render_value(&[]);
    let rule = &v["runs"][0]["tool"]["driver"]["rules"][1];
    assert_eq!(rule["id"], "unprotected-config-path");
    assert_eq!(rule["name"], "UnprotectedConfigPath");
    assert_eq!(
        rule["shortDescription"]["text"],
        "unprotected-config-path summary"
    );
    assert_eq!(
        rule["fullDescription"]["text"],
        "unprotected-config-path rationale"
    );
    assert_eq!(
        rule["helpUri"],
        format!("{}/unprotected-config-path.md", crate::meta::DOCS_URL)
    );
    assert_eq!(rule["defaultConfiguration"]["level"], "warning");
    let props = json!({"tags": ["ownership"], "precision": "high", "problem.severity": "warning"});
    assert_eq!(rule["properties"], props);
    let markdown = rule["help"]["markdown"].as_str().unwrap_or_default();
    for part in [
        "rationale",
        "**How to fix**",
        "```yaml\nurl: bad\n```",
        "```yaml\nurl: good\n```",
    ] {
        assert!(markdown.contains(part), "{part} missing from {markdown}");
    }
    let text = rule["help"]["text"].as_str().unwrap_or_default();
    assert!(
        text.contains("How to fix: unprotected-config-path fix") && text.contains("    url: good")
    );
}

#[test]
fn result_with_related_location() {
    let f = owner_warning();
    let v = render_value(std::slice::from_ref(&f));
    let location = |uri: &str, (l, c, el, ec): (usize, usize, usize, usize)| {
        json!({"artifactLocation": {"uri": uri, "uriBaseId": "%SRCROOT%"},
               "region": {"startLine": l, "startColumn": c, "endLine": el, "endColumn": ec}})
    };
    let want = json!({
        "ruleId": "unprotected-config-path", "ruleIndex": 1, "level": "warning",
        "message": {"text": "connection target in a file no human owns\n\n\
            last matching rule, owned only by a bot: [CODEOWNERS:7](1)\n\n\
            help: add a CODEOWNERS rule for this path with a human team"},
        "locations": [{"physicalLocation": location("deploy/qa%20env/values.yaml", (3, 1, 3, 5))}],
        "relatedLocations": [{"id": 1, "physicalLocation": location("CODEOWNERS", (7, 1, 7, 12)),
                              "message": {"text": "last matching rule, owned only by a bot"}}],
        "partialFingerprints": {"premortem/v1": f.fingerprint},
    });
    assert_eq!(v["runs"][0]["results"][0], want);
}

#[test]
fn levels_and_rule_index() {
    let v = render_value(&[dsn_error(), owner_warning(), parse_info()]);
    let cases = [
        ("error", json!(0)),
        ("warning", json!(1)),
        ("note", Value::Null),
    ];
    for (i, (level, index)) in cases.iter().enumerate() {
        let r = &v["runs"][0]["results"][i];
        assert_eq!(
            (&r["level"], &r["ruleIndex"]),
            (&json!(level), index),
            "{r}"
        );
        // A rule without metadata keeps its id and no index rather than a dangling one.
        assert_eq!(r.get("ruleIndex").is_some(), !index.is_null());
        assert!(r.get("relatedLocations").is_some() == (i == 1));
    }
}

#[test]
fn uris_are_percent_encoded() {
    for (path, want) in [
        ("charts/a/values.yaml", "charts/a/values.yaml"),
        ("qa env/v.yaml", "qa%20env/v.yaml"),
        ("c:/x#1?.yaml", "c%3A/x%231%3F.yaml"),
        ("100%/ü.sql", "100%25/%C3%BC.sql"),
        ("/abs/x", "abs/x"),
    ] {
        assert_eq!(uri(path), want);
    }
}

#[test]
fn names_fences_and_link_text() {
    assert_eq!(pascal_case("literal-dsn"), "LiteralDsn");
    assert_eq!(
        pascal_case("unserialized-chain-trigger"),
        "UnserializedChainTrigger"
    );
    assert_eq!(pascal_case("x"), "X");
    assert_eq!(escape_link_text(r"a[1]\b"), r"a\[1\]\\b");
    let ex = |path: &str, content: &str| Example {
        kind: ExampleKind::Bad,
        path: path.into(),
        content: content.into(),
        note: String::new(),
        extra_files: vec![],
    };
    assert_eq!(
        fenced(&ex("m.sql", "SELECT 1;\n")),
        "```sql\nSELECT 1;\n```"
    );
    assert_eq!(fenced(&ex("CODEOWNERS", "* @a\n")), "```\n* @a\n```");
    assert_eq!(fenced(&ex("a.md", "````\n")), "`````\n````\n`````");
}

#[test]
fn regions_are_clamped_to_valid_sarif() {
    // (line, column, end_line, end_column) -> region
    for (given, want) in [
        ((3, 2, 3, 9), (3, 2, 3, 9)),
        ((3, 2, 3, 2), (3, 2, 3, 2)),
        ((0, 0, 0, 0), (1, 1, 1, 1)),
        ((5, 9, 4, 1), (5, 9, 5, 9)),
        ((5, 9, 6, 0), (5, 9, 6, 1)),
    ] {
        let (line, column, end_line, end_column) = given;
        let loc = Location {
            path: "a".into(),
            line,
            column,
            end_line,
            end_column,
            span: 0..0,
        };
        let region = serde_json::to_value(location(&loc, None, None).physical_location.region);
        let (l, c, el, ec) = want;
        let want = json!({"startLine": l, "startColumn": c, "endLine": el, "endColumn": ec});
        assert_eq!(region.ok(), Some(want), "{given:?}");
    }
}

#[test]
fn output_is_deterministic() {
    let findings = [dsn_error(), owner_warning(), parse_info()];
    let once = render_bytes(&findings);
    assert_eq!(once, render_bytes(&findings));
    assert!(once.starts_with(b"{\n  \"$schema\": ") && once.ends_with(b"}\n"));
}
