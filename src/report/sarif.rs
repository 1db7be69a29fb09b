//! The `sarif` output format: SARIF 2.1.0 as GitHub code scanning ingests it.
//!
//! Choices worth knowing:
//! - `message.text` is the finding's message, then one line per related location with an
//!   embedded link (`owned only by a bot: [CODEOWNERS:7](1)`, the only way GitHub shows related
//!   locations), then the finding's help (`help: ...`), which is written for the flagged file.
//!   Rule-level guidance is in `tool.driver.rules[].help`. Only link text is escaped.
//! - Regions use 1-based lines and columns counted in Unicode code points (`columnKind`);
//!   `endColumn` is exclusive, the column just past the finding, as in `Location`.
//! - `partialFingerprints` carries our own line-independent key `premortem/v1`; GitHub computes
//!   `primaryLocationLineHash` itself from the line content.
//! - A result whose rule has no metadata (an engine diagnostic) has a `ruleId` and no `ruleIndex`.

use std::collections::BTreeMap;
use std::io::{self, Write};

use serde::Serialize;
use serde_json::{Value, json};

use super::Report;
use crate::finding::{Finding, Location, Severity};
use crate::meta::{Example, ExampleKind, RuleMeta};

/// Where the tool lives; SARIF `informationUri`.
pub const INFORMATION_URI: &str = "https://github.com/premortem-dev/premortem";
/// The key of our fingerprint in `partialFingerprints`.
pub const FINGERPRINT_KEY: &str = "premortem/v1";
const SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";
const SRCROOT: &str = "%SRCROOT%";
/// Code fence languages by example file extension.
#[rustfmt::skip]
const FENCE_LANGS: &[(&str, &str)] = &[
    ("yaml", "yaml"), ("yml", "yaml"), ("sql", "sql"), ("py", "python"), ("js", "javascript"),
    ("ts", "typescript"), ("rb", "ruby"), ("go", "go"), ("java", "java"), ("json", "json"),
    ("toml", "toml"), ("properties", "ini"), ("ini", "ini"), ("conf", "ini"),
];

#[derive(Serialize)]
struct Log<'a> {
    #[serde(rename = "$schema")]
    schema: &'static str,
    version: &'static str,
    runs: [Run<'a>; 1],
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Run<'a> {
    tool: Tool<'a>,
    /// `%SRCROOT%` known only by description: the checkout's absolute path is not ours to print.
    original_uri_base_ids: Value,
    column_kind: &'static str,
    results: Vec<SarifResult<'a>>,
}

#[derive(Serialize)]
struct Tool<'a> {
    driver: Driver<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Driver<'a> {
    name: &'static str,
    version: &'a str,
    semantic_version: &'a str,
    information_uri: &'static str,
    rules: Vec<Rule<'a>>,
}

#[derive(Serialize)]
struct Text {
    text: String,
}

fn text(text: impl Into<String>) -> Text {
    Text { text: text.into() }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Rule<'a> {
    id: &'a str,
    name: String,
    short_description: Text,
    full_description: Text,
    help: Help,
    help_uri: String,
    default_configuration: Configuration,
    /// `tags`, `precision` and `problem.severity`, which GitHub reads.
    properties: Value,
}

#[derive(Serialize)]
struct Help {
    text: String,
    markdown: String,
}

#[derive(Serialize)]
struct Configuration {
    level: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SarifResult<'a> {
    rule_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    rule_index: Option<usize>,
    level: &'static str,
    message: Text,
    locations: [SarifLocation; 1],
    #[serde(skip_serializing_if = "Vec::is_empty")]
    related_locations: Vec<SarifLocation>,
    partial_fingerprints: BTreeMap<&'static str, &'a str>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SarifLocation {
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<usize>,
    physical_location: PhysicalLocation,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<Text>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PhysicalLocation {
    artifact_location: ArtifactLocation,
    region: Region,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ArtifactLocation {
    uri: String,
    uri_base_id: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Region {
    start_line: usize,
    start_column: usize,
    end_line: usize,
    end_column: usize,
}

/// Writes the report as one pretty-printed SARIF 2.1.0 log followed by a newline.
pub fn render(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    let log = Log {
        schema: SCHEMA,
        version: "2.1.0",
        runs: [Run {
            tool: Tool {
                driver: Driver {
                    name: "premortem",
                    version: report.tool_version,
                    semantic_version: report.tool_version,
                    information_uri: INFORMATION_URI,
                    rules: report.rules.iter().map(rule).collect(),
                },
            },
            original_uri_base_ids: json!({
                SRCROOT: {"description": {"text": "The root of the repository that was checked."}}
            }),
            column_kind: "unicodeCodePoints",
            results: report
                .findings
                .iter()
                .map(|f| result(f, report.rules))
                .collect(),
        }],
    };
    serde_json::to_writer_pretty(&mut *out, &log)?;
    out.write_all(b"\n")
}

fn rule(meta: &RuleMeta) -> Rule<'_> {
    let (plain, markdown) = rule_help(meta);
    let problem = match meta.severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "recommendation",
    };
    Rule {
        id: &meta.id,
        name: pascal_case(&meta.id),
        short_description: text(&meta.summary),
        full_description: text(&meta.rationale),
        help: Help {
            text: plain,
            markdown,
        },
        help_uri: meta.help_uri(),
        default_configuration: Configuration {
            level: level(meta.severity),
        },
        properties: json!({"tags": [meta.category], "precision": "high", "problem.severity": problem}),
    }
}

/// The rule's help as plain text and as Markdown: rationale, fix, one bad and one good example.
fn rule_help(meta: &RuleMeta) -> (String, String) {
    let (why, fix) = (meta.rationale.trim(), meta.fix.trim());
    let mut plain = format!("{why}\n\nHow to fix: {fix}");
    let mut markdown = format!("{why}\n\n**How to fix**\n\n{fix}");
    for (kind, label) in [(ExampleKind::Bad, "Bad"), (ExampleKind::Good, "Good")] {
        if let Some(ex) = meta.examples.iter().find(|e| e.kind == kind) {
            let (path, note) = (&ex.path, &ex.note);
            let indented: Vec<String> = ex.content.lines().map(|l| format!("    {l}")).collect();
            let indented = indented.join("\n");
            plain.push_str(&format!("\n\n{label} ({path}): {note}\n{indented}"));
            let block = fenced(ex);
            markdown.push_str(&format!("\n\n**{label}** (`{path}`): {note}\n\n{block}"));
        }
    }
    (plain, markdown)
}

/// A fenced code block longer than any backtick run in the example, tagged with its language.
fn fenced(ex: &Example) -> String {
    let longest = ex.content.split(|c| c != '`').map(str::len).max();
    let fence = "`".repeat(longest.unwrap_or(0).max(2) + 1);
    let ext = ex.path.rsplit_once('.').map_or("", |(_, ext)| ext);
    let lang = (FENCE_LANGS.iter().find(|(e, _)| *e == ext)).map_or("", |(_, lang)| lang);
    let content = ex.content.trim_end_matches('\n');
    format!("{fence}{lang}\n{content}\n{fence}")
}

fn result<'a>(f: &'a Finding, rules: &[RuleMeta]) -> SarifResult<'a> {
    let mut message = f.message.clone();
    for (i, r) in f.related.iter().enumerate() {
        let link = escape_link_text(&format!("{}:{}", r.location.path, r.location.line));
        let sep = if i == 0 { "\n\n" } else { "\n" };
        message.push_str(&format!("{sep}{}: [{link}]({})", r.message, i + 1));
    }
    if let Some(help) = &f.help {
        message.push_str(&format!("\n\nhelp: {}", help.trim_end()));
    }
    SarifResult {
        rule_id: &f.rule,
        rule_index: rules.iter().position(|m| m.id == f.rule),
        level: level(f.severity),
        message: text(message),
        locations: [location(&f.location, None, None)],
        related_locations: (f.related.iter().enumerate())
            .map(|(i, r)| location(&r.location, Some(i + 1), Some(r.message.clone())))
            .collect(),
        partial_fingerprints: BTreeMap::from([(FINGERPRINT_KEY, f.fingerprint.as_str())]),
    }
}

fn location(loc: &Location, id: Option<usize>, message: Option<String>) -> SarifLocation {
    // SARIF wants 1-based positions and an end not before the start; clamp rather than emit a
    // log GitHub rejects.
    let start_line = loc.line.max(1);
    let start_column = loc.column.max(1);
    let end_line = loc.end_line.max(start_line);
    let end_column = if end_line == start_line {
        loc.end_column.max(start_column)
    } else {
        loc.end_column.max(1)
    };
    SarifLocation {
        id,
        physical_location: PhysicalLocation {
            artifact_location: ArtifactLocation {
                uri: uri(&loc.path),
                uri_base_id: SRCROOT,
            },
            #[rustfmt::skip]
            region: Region { start_line, start_column, end_line, end_column },
        },
        message: message.map(text),
    }
}

fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "note",
    }
}

/// A repo-relative path as a relative URI reference: unreserved characters and `/` stay, every
/// other byte is percent-encoded (so `:` cannot read as a scheme, nor `#`/`?` end the path).
fn uri(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.trim_start_matches('/').bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'/') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Escapes the characters that would end an embedded link's text early.
fn escape_link_text(text: &str) -> String {
    (text.replace('\\', "\\\\"))
        .replace('[', "\\[")
        .replace(']', "\\]")
}

/// `literal-dsn` as `LiteralDsn`.
fn pascal_case(id: &str) -> String {
    let mut out = String::with_capacity(id.len());
    for word in id.split(|c: char| !c.is_alphanumeric()) {
        let mut chars = word.chars();
        out.extend(chars.next().map(|c| c.to_ascii_uppercase()));
        out.extend(chars);
    }
    out
}

#[cfg(test)]
mod tests;
