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

/// The compiled-in metadata files, one per rule id (built-in rules and engine diagnostics).
const SOURCES: &[&str] = &[
    include_str!("../rules/codeowners-syntax.yaml"),
    include_str!("../rules/cross-environment-target.yaml"),
    include_str!("../rules/disabled-integrity-safeguard.yaml"),
    include_str!("../rules/invalid-suppression.yaml"),
    include_str!("../rules/literal-dsn.yaml"),
    include_str!("../rules/parse-error.yaml"),
    include_str!("../rules/unprotected-config-path.yaml"),
    include_str!("../rules/unserialized-chain-trigger.yaml"),
    include_str!("../rules/unused-suppression.yaml"),
];

/// Every rule's metadata, sorted by id. Parsed once.
pub fn all() -> &'static [RuleMeta] {
    static ALL: std::sync::OnceLock<Vec<RuleMeta>> = std::sync::OnceLock::new();
    ALL.get_or_init(|| {
        let mut v: Vec<RuleMeta> = SOURCES
            .iter()
            .map(|s| parse(s).unwrap_or_else(|e| broken(&e)))
            .collect();
        v.sort_by(|a, b| a.id.cmp(&b.id));
        v
    })
}

/// Metadata of one rule.
pub fn get(id: &str) -> Option<&'static RuleMeta> {
    all().iter().find(|m| m.id == id)
}

// Compiled-in metadata is checked by the test suite (`every_rule_file_parses`); a broken file
// is a build defect, reported as such rather than as a user error.
fn broken(e: &str) -> RuleMeta {
    RuleMeta {
        id: "broken-metadata".into(),
        severity: Severity::Error,
        category: "internal".into(),
        summary: format!("a compiled-in rule file is invalid: {e}"),
        incident: String::new(),
        rationale: String::new(),
        fix: String::new(),
        examples: vec![],
        options: vec![],
    }
}

/// Parses one `rules/<id>.yaml`.
pub fn parse(text: &str) -> Result<RuleMeta, String> {
    use crate::syntax::yaml::{self, Node};
    let stream = yaml::parse(text);
    if let Some(e) = stream.error {
        return Err(e.message);
    }
    let root = stream.docs.first().ok_or("empty rule file")?;
    let s = |k: &str| -> Result<String, String> {
        root.get(k)
            .and_then(Node::as_str)
            .map(|v| v.trim_end().to_string())
            .ok_or_else(|| format!("missing `{k}`"))
    };
    let id = s("id")?;
    let severity = Severity::parse(&s("severity")?).ok_or(format!("{id}: bad severity"))?;
    let mut examples = Vec::new();
    if let Some(Node::Seq { items, .. }) = root.get("examples") {
        for item in items {
            let f = |k: &str| item.get(k).and_then(Node::as_str).unwrap_or("").to_string();
            let kind = match f("kind").as_str() {
                "bad" => ExampleKind::Bad,
                "good" => ExampleKind::Good,
                other => return Err(format!("{id}: example kind `{other}`")),
            };
            let mut extra_files = Vec::new();
            if let Some(Node::Seq { items, .. }) = item.get("files") {
                for file in items {
                    let g = |k: &str| file.get(k).and_then(Node::as_str).unwrap_or("").to_string();
                    extra_files.push((g("path"), g("content")));
                }
            }
            examples.push(Example {
                kind,
                path: f("path"),
                content: f("content"),
                note: f("note").trim_end().to_string(),
                extra_files,
            });
        }
    }
    let mut options = Vec::new();
    if let Some(Node::Seq { items, .. }) = root.get("options") {
        for item in items {
            let name = item
                .get("name")
                .and_then(Node::as_str)
                .ok_or(format!("{id}: option without name"))?;
            let doc = item
                .get("doc")
                .and_then(Node::as_str)
                .unwrap_or("")
                .trim_end()
                .to_string();
            let value = match item.get("default") {
                Some(Node::Seq { items, .. }) => OptionValue::List(
                    items
                        .iter()
                        .filter_map(|i| i.as_str().map(str::to_string))
                        .collect(),
                ),
                Some(n) => match n.as_str() {
                    Some("true") => OptionValue::Bool(true),
                    Some("false") => OptionValue::Bool(false),
                    Some(v) => v
                        .parse()
                        .map(OptionValue::Int)
                        .unwrap_or(OptionValue::Str(v.to_string())),
                    None => return Err(format!("{id}: option {name} default")),
                },
                None => return Err(format!("{id}: option {name} has no default")),
            };
            options.push((name.to_string(), value, doc));
        }
    }
    Ok(RuleMeta {
        severity,
        category: s("category")?,
        summary: s("summary")?,
        incident: s("incident").unwrap_or_default(),
        rationale: s("rationale")?,
        fix: s("fix")?,
        examples,
        options,
        id,
    })
}
