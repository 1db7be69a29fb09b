//! `.premortem.yaml`: rule severities and options, excludes, per-path ignores, environment host
//! patterns and custom pattern rules. Every unknown key or wrong type is an error that names the
//! file, the line and the key.

use std::collections::BTreeMap;
use std::ops::Range;

use globset::{Glob, GlobSet, GlobSetBuilder};
use regex::Regex;

use crate::env::{Env, HostPatterns};
use crate::finding::Severity;
use crate::meta::{OptionValue, RuleMeta};
use crate::source::LineIndex;
use crate::syntax::yaml::{self, Node};

/// The default file-size limit: larger files are skipped with a notice.
pub const DEFAULT_MAX_FILE_SIZE: u64 = 2 * 1024 * 1024;

/// A rule's settings after config and defaults are merged.
#[derive(Debug, Clone, Default)]
pub struct RuleConfig {
    pub severity: Option<Severity>,
    pub off: bool,
    pub options: BTreeMap<String, OptionValue>,
}

/// `ignore:` entry: these rules (all when empty) do not report in these paths.
#[derive(Debug, Clone)]
pub struct PathIgnore {
    pub paths: GlobSet,
    pub rules: Vec<String>,
}

/// A pattern rule declared in config.
#[derive(Debug, Clone)]
pub struct CustomRule {
    pub id: String,
    pub message: String,
    pub help: Option<String>,
    pub severity: Severity,
    pub paths: GlobSet,
    pub regex: Regex,
}

/// The whole configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub exclude: GlobSet,
    pub max_file_size: u64,
    pub environments: HostPatterns,
    pub rules: BTreeMap<String, RuleConfig>,
    pub ignores: Vec<PathIgnore>,
    pub custom_rules: Vec<CustomRule>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            exclude: GlobSet::empty(),
            max_file_size: DEFAULT_MAX_FILE_SIZE,
            environments: HostPatterns::default(),
            rules: BTreeMap::new(),
            ignores: Vec::new(),
            custom_rules: Vec::new(),
        }
    }
}

impl Config {
    /// The settings of one rule (defaults when the config does not mention it).
    pub fn rule(&self, id: &str) -> RuleConfig {
        self.rules.get(id).cloned().unwrap_or_default()
    }

    /// True when config turns `rule` off for `path`.
    pub fn ignored(&self, rule: &str, path: &str) -> bool {
        self.ignores.iter().any(|i| {
            i.paths.is_match(path) && (i.rules.is_empty() || i.rules.iter().any(|r| r == rule))
        })
    }
}

/// A config error: `file:line: message`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError(pub String);

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

struct Reader<'a> {
    file: &'a str,
    text: &'a str,
    lines: LineIndex,
}

impl Reader<'_> {
    fn err(&self, span: &Range<usize>, msg: impl std::fmt::Display) -> ConfigError {
        let (line, _) = self.lines.position(self.text, span.start);
        ConfigError(format!("{}:{line}: {msg}", self.file))
    }

    fn map<'n>(&self, node: &'n Node, what: &str) -> Result<&'n [(Node, Node)], ConfigError> {
        match node {
            Node::Map { entries, .. } => Ok(entries),
            _ => Err(self.err(&node.span(), format!("`{what}` must be a mapping"))),
        }
    }

    fn string(&self, node: &Node, what: &str) -> Result<String, ConfigError> {
        match node {
            Node::Scalar { value, .. } => Ok(value.clone()),
            _ => Err(self.err(&node.span(), format!("`{what}` must be a string"))),
        }
    }

    fn list(&self, node: &Node, what: &str) -> Result<Vec<String>, ConfigError> {
        match node {
            Node::Seq { items, .. } => items.iter().map(|i| self.string(i, what)).collect(),
            Node::Scalar { value, .. } => Ok(vec![value.clone()]),
            _ => Err(self.err(&node.span(), format!("`{what}` must be a list of strings"))),
        }
    }

    fn bool(&self, node: &Node, what: &str) -> Result<bool, ConfigError> {
        match node.as_str() {
            Some("true") => Ok(true),
            Some("false") => Ok(false),
            _ => Err(self.err(&node.span(), format!("`{what}` must be true or false"))),
        }
    }

    fn globs(&self, node: &Node, what: &str) -> Result<GlobSet, ConfigError> {
        let mut b = GlobSetBuilder::new();
        for g in self.list(node, what)? {
            let glob = Glob::new(&g)
                .map_err(|e| self.err(&node.span(), format!("`{what}`: bad glob `{g}`: {e}")))?;
            b.add(glob);
        }
        b.build().map_err(|e| self.err(&node.span(), e))
    }

    fn severity(&self, node: &Node, what: &str) -> Result<Severity, ConfigError> {
        node.as_str().and_then(Severity::parse).ok_or_else(|| {
            self.err(
                &node.span(),
                format!("`{what}` must be error, warning or info"),
            )
        })
    }
}

fn parse_size(s: &str) -> Option<u64> {
    let s = s.trim();
    let (num, mult) = if let Some(n) = s.strip_suffix("MiB").or_else(|| s.strip_suffix("MB")) {
        (n, 1024 * 1024)
    } else if let Some(n) = s.strip_suffix("KiB").or_else(|| s.strip_suffix("KB")) {
        (n, 1024)
    } else {
        (s, 1)
    };
    num.trim().parse::<u64>().ok().map(|n| n * mult)
}

/// Parses and validates a config file. `known` is the metadata of every rule, for rule ids and
/// option names and types.
pub fn parse(file: &str, text: &str, known: &[RuleMeta]) -> Result<Config, ConfigError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let r = Reader {
        file,
        text,
        lines: LineIndex::new(text),
    };
    let stream = yaml::parse(text);
    if let Some(e) = &stream.error {
        return Err(r.err(
            &(e.offset..e.offset),
            format!("invalid YAML: {}", e.message),
        ));
    }
    let mut config = Config::default();
    let Some(root) = stream.docs.first() else {
        return Ok(config);
    };
    if matches!(root, Node::Scalar { value, .. } if value.is_empty() || value == "~" || value == "null")
    {
        return Ok(config);
    }
    for (k, v) in r.map(root, "the config file")? {
        let key = r.string(k, "key")?;
        match key.as_str() {
            "exclude" => config.exclude = r.globs(v, "exclude")?,
            "max_file_size" => {
                config.max_file_size = v.as_str().and_then(parse_size).ok_or_else(|| {
                    r.err(
                        &v.span(),
                        "`max_file_size` must be a size such as 2097152 or \"2 MiB\"",
                    )
                })?
            }
            "environments" => {
                let mut entries = Vec::new();
                for (ek, ev) in r.map(v, "environments")? {
                    let name = r.string(ek, "environments")?;
                    let env = Env::parse(&name).ok_or_else(|| {
                        r.err(&ek.span(), format!("unknown environment `{name}` (use production, staging, qa, dev, test, ci or local)"))
                    })?;
                    entries.push((env, r.list(ev, &format!("environments.{name}"))?));
                }
                config.environments =
                    HostPatterns::new(&entries).map_err(|e| r.err(&v.span(), e))?;
            }
            "rules" => {
                for (rk, rv) in r.map(v, "rules")? {
                    let id = r.string(rk, "rules")?;
                    let meta = known.iter().find(|m| m.id == id).ok_or_else(|| {
                        r.err(
                            &rk.span(),
                            format!("unknown rule `{id}` (see `premortem rules`)"),
                        )
                    })?;
                    config.rules.insert(id.clone(), rule_config(&r, rv, meta)?);
                }
            }
            "ignore" => {
                let Node::Seq { items, .. } = v else {
                    return Err(r.err(
                        &v.span(),
                        "`ignore` must be a list of {paths, rules} entries",
                    ));
                };
                for item in items {
                    let mut paths = None;
                    let mut rules = Vec::new();
                    for (ik, iv) in r.map(item, "ignore")? {
                        match r.string(ik, "ignore")?.as_str() {
                            "paths" => paths = Some(r.globs(iv, "ignore.paths")?),
                            "rules" => {
                                rules = r.list(iv, "ignore.rules")?;
                                for id in &rules {
                                    if !known.iter().any(|m| &m.id == id) {
                                        return Err(r.err(
                                            &iv.span(),
                                            format!("unknown rule `{id}` in `ignore.rules`"),
                                        ));
                                    }
                                }
                            }
                            other => {
                                return Err(r.err(
                                    &ik.span(),
                                    format!("unknown key `ignore.{other}` (expected paths, rules)"),
                                ));
                            }
                        }
                    }
                    let paths =
                        paths.ok_or_else(|| r.err(&item.span(), "`ignore` entry needs `paths`"))?;
                    config.ignores.push(PathIgnore { paths, rules });
                }
            }
            "custom_rules" => {
                let Node::Seq { items, .. } = v else {
                    return Err(r.err(&v.span(), "`custom_rules` must be a list"));
                };
                for item in items {
                    config.custom_rules.push(custom_rule(&r, item, known)?);
                }
            }
            other => {
                return Err(r.err(
                    &k.span(),
                    format!("unknown key `{other}` (expected exclude, max_file_size, environments, rules, ignore, custom_rules)"),
                ));
            }
        }
    }
    Ok(config)
}

fn rule_config(r: &Reader, node: &Node, meta: &RuleMeta) -> Result<RuleConfig, ConfigError> {
    let mut rc = RuleConfig::default();
    // `rules: {literal-dsn: off}` and `rules: {literal-dsn: warning}` are accepted shorthands.
    if let Some(s) = node.as_str() {
        match s {
            "off" | "false" => rc.off = true,
            _ => rc.severity = Some(r.severity(node, &format!("rules.{}", meta.id))?),
        }
        return Ok(rc);
    }
    for (k, v) in r.map(node, &format!("rules.{}", meta.id))? {
        let key = r.string(k, "key")?;
        let what = format!("rules.{}.{key}", meta.id);
        match key.as_str() {
            "severity" => rc.severity = Some(r.severity(v, &what)?),
            "off" => rc.off = r.bool(v, &what)?,
            "enabled" => rc.off = !r.bool(v, &what)?,
            _ => {
                let Some((_, default, _)) = meta.options.iter().find(|(n, _, _)| *n == key) else {
                    let names: Vec<&str> =
                        meta.options.iter().map(|(n, _, _)| n.as_str()).collect();
                    let expected = if names.is_empty() {
                        "severity, off".to_string()
                    } else {
                        format!("severity, off, {}", names.join(", "))
                    };
                    return Err(r.err(
                        &k.span(),
                        format!("unknown key `{what}` (expected {expected})"),
                    ));
                };
                let value = match default {
                    OptionValue::Bool(_) => OptionValue::Bool(r.bool(v, &what)?),
                    OptionValue::Int(_) => {
                        OptionValue::Int(v.as_str().and_then(|s| s.parse().ok()).ok_or_else(
                            || r.err(&v.span(), format!("`{what}` must be an integer")),
                        )?)
                    }
                    OptionValue::Str(_) => OptionValue::Str(r.string(v, &what)?),
                    OptionValue::List(_) => OptionValue::List(r.list(v, &what)?),
                };
                rc.options.insert(key, value);
            }
        }
    }
    Ok(rc)
}

fn custom_rule(r: &Reader, node: &Node, known: &[RuleMeta]) -> Result<CustomRule, ConfigError> {
    let (mut id, mut message, mut help, mut severity, mut paths, mut regex) =
        (None, None, None, Severity::Warning, None, None);
    for (k, v) in r.map(node, "custom_rules")? {
        let key = r.string(k, "key")?;
        let what = format!("custom_rules.{key}");
        match key.as_str() {
            "id" => id = Some(r.string(v, &what)?),
            "message" => message = Some(r.string(v, &what)?),
            "help" => help = Some(r.string(v, &what)?),
            "severity" => severity = r.severity(v, &what)?,
            "paths" => paths = Some(r.globs(v, &what)?),
            "regex" => {
                let src = r.string(v, &what)?;
                regex =
                    Some(Regex::new(&src).map_err(|e| r.err(&v.span(), format!("`{what}`: {e}")))?);
            }
            other => {
                return Err(r.err(&k.span(), format!("unknown key `custom_rules.{other}` (expected id, message, help, severity, paths, regex)")));
            }
        }
    }
    let missing = |name: &str| r.err(&node.span(), format!("custom rule needs `{name}`"));
    let id = id.ok_or_else(|| missing("id"))?;
    if known.iter().any(|m| m.id == id) {
        return Err(r.err(
            &node.span(),
            format!("custom rule id `{id}` is already a built-in rule"),
        ));
    }
    if id.is_empty()
        || !id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    {
        return Err(r.err(
            &node.span(),
            format!("custom rule id `{id}` must be kebab-case"),
        ));
    }
    Ok(CustomRule {
        message: message.ok_or_else(|| missing("message"))?,
        help,
        severity,
        paths: paths.unwrap_or_else(GlobSet::empty),
        regex: regex.ok_or_else(|| missing("regex"))?,
        id,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn known() -> Vec<RuleMeta> {
        vec![RuleMeta {
            id: "literal-dsn".into(),
            severity: Severity::Error,
            category: "secrets".into(),
            summary: String::new(),
            incident: String::new(),
            rationale: String::new(),
            fix: String::new(),
            examples: vec![],
            options: vec![(
                "allow_hosts".into(),
                OptionValue::List(vec![]),
                String::new(),
            )],
        }]
    }

    #[test]
    fn full_config_parses() {
        let text = "exclude: [\"vendor/**\"]\nmax_file_size: 1 MiB\nenvironments:\n  production: [\"*.prod.internal\"]\nrules:\n  literal-dsn:\n    severity: warning\n    allow_hosts: [db.shared.internal]\nignore:\n  - paths: [\"demo/**\"]\n    rules: [literal-dsn]\ncustom_rules:\n  - id: no-prod-hosts\n    message: prod host\n    regex: '\\.prod\\.internal'\n    paths: [\"**/*.yaml\"]\n";
        let c = parse(".premortem.yaml", text, &known()).unwrap();
        assert_eq!(c.max_file_size, 1024 * 1024);
        assert!(c.exclude.is_match("vendor/a/b.yaml"));
        assert_eq!(c.rule("literal-dsn").severity, Some(Severity::Warning));
        assert!(c.ignored("literal-dsn", "demo/x.yaml"));
        assert!(!c.ignored("literal-dsn", "prod/x.yaml"));
        assert_eq!(c.custom_rules[0].id, "no-prod-hosts");
        assert_eq!(
            c.environments.env_of_host("pg.prod.internal"),
            Some(Env::Production)
        );
    }

    #[test]
    fn errors_name_file_line_and_key() {
        let cases = [
            (
                "exclude: []\nbogus: 1\n",
                ".premortem.yaml:2: unknown key `bogus`",
            ),
            (
                "rules:\n  no-such-rule: off\n",
                ".premortem.yaml:2: unknown rule `no-such-rule`",
            ),
            (
                "rules:\n  literal-dsn:\n    severity: loud\n",
                ".premortem.yaml:3: `rules.literal-dsn.severity` must be",
            ),
            (
                "rules:\n  literal-dsn:\n    nope: 1\n",
                ".premortem.yaml:3: unknown key `rules.literal-dsn.nope`",
            ),
            (
                "rules:\n  literal-dsn:\n    allow_hosts: {a: 1}\n",
                ".premortem.yaml:3: `rules.literal-dsn.allow_hosts` must be a list",
            ),
            ("max_file_size: big\n", ".premortem.yaml:1: `max_file_size`"),
            ("a: [\n", ".premortem.yaml:"),
            (
                "environments:\n  mars: [x]\n",
                ".premortem.yaml:2: unknown environment `mars`",
            ),
        ];
        for (text, want) in cases {
            let err = parse(".premortem.yaml", text, &known()).unwrap_err().0;
            assert!(err.starts_with(want), "{text:?}: {err}");
        }
    }

    #[test]
    fn empty_config_is_defaults() {
        let c = parse(".premortem.yaml", "", &known()).unwrap();
        assert_eq!(c.max_file_size, DEFAULT_MAX_FILE_SIZE);
        let c = parse(".premortem.yaml", "# nothing\n", &known()).unwrap();
        assert!(c.rules.is_empty());
    }
}
