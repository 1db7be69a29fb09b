//! A file as the rules see it: its text, kind and environment, with each parse done at most once
//! and shared by every rule that reads the file.

use std::ops::Range;
use std::sync::OnceLock;

use crate::classify::FileKind;
use crate::env::{Env, env_of_path};
use crate::syntax::kv::{self, Dialect};
use crate::syntax::yaml::{self, Node, Stream, YamlError};

/// A key and its scalar value, from any config format, with exact spans.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Key path for messages: `postgresql.auth.password`, `services.api.environment.DB_URL`.
    pub path: String,
    /// The last key (for a sequence item, the key of the sequence).
    pub key: String,
    pub key_span: Option<Range<usize>>,
    pub value: String,
    pub value_span: Range<usize>,
    /// Entries of one mapping, section or block share a group (split host/user/password fields).
    pub group: usize,
    /// True when the source text at `value_span` is exactly `value`.
    pub exact: bool,
    /// True for a YAML alias (`*name`): its value is reported where the anchor defines it.
    pub alias: bool,
}

/// One file to check.
#[derive(Debug)]
pub struct SourceFile {
    /// Repo-relative, `/`-separated.
    pub path: String,
    /// The text, without a byte-order mark.
    pub text: String,
    pub kind: FileKind,
    /// The environment the path names, if any.
    pub env: Option<Env>,
    yaml: OnceLock<Stream>,
    yaml_error: OnceLock<Option<YamlError>>,
    entries: OnceLock<Vec<Entry>>,
    targets: OnceLock<crate::targets::Targets>,
}

impl SourceFile {
    /// Wraps a file's text (a leading BOM is dropped).
    pub fn new(path: &str, text: String, kind: FileKind) -> Self {
        let text = match text.strip_prefix('\u{feff}') {
            Some(rest) => rest.to_string(),
            None => text,
        };
        SourceFile {
            env: env_of_path(path),
            path: path.to_string(),
            text,
            kind,
            yaml: OnceLock::new(),
            yaml_error: OnceLock::new(),
            entries: OnceLock::new(),
            targets: OnceLock::new(),
        }
    }

    /// The YAML documents (for YAML and JSON kinds), parsed once.
    pub fn yaml(&self) -> &Stream {
        self.yaml.get_or_init(|| {
            if self.kind.is_yaml() {
                yaml::parse(&self.text)
            } else {
                Stream::default()
            }
        })
    }

    /// Why the file is not valid YAML (for YAML and JSON kinds). Taken from the tree when a
    /// rule built it; otherwise the file is only validated, which costs no tree.
    pub fn yaml_error(&self) -> Option<&YamlError> {
        if let Some(stream) = self.yaml.get() {
            return stream.error.as_ref();
        }
        self.yaml_error
            .get_or_init(|| {
                if self.kind.is_yaml() {
                    yaml::validate(&self.text)
                } else {
                    None
                }
            })
            .as_ref()
    }

    /// The connection targets of a config file, found once. A file without any connection
    /// keyword has none, and is not parsed to learn that.
    pub fn targets(&self) -> &crate::targets::Targets {
        self.targets.get_or_init(|| {
            if crate::targets::may_hold_target(&self.text) {
                crate::targets::find(self)
            } else {
                crate::targets::Targets::default()
            }
        })
    }

    /// Byte ranges of the literal passwords in a config file, for masking wherever its text is
    /// shown: computed in full even when `targets()` took the keyword shortcut.
    pub fn secrets(&self) -> Vec<Range<usize>> {
        if !self.kind.is_config() {
            return Vec::new();
        }
        if crate::targets::may_hold_target(&self.text) {
            self.targets().secrets.clone()
        } else {
            crate::targets::find(self).secrets
        }
    }

    /// Every scalar config value with its key, whatever the format, computed once.
    pub fn entries(&self) -> &[Entry] {
        self.entries.get_or_init(|| build_entries(self))
    }
}

fn build_entries(file: &SourceFile) -> Vec<Entry> {
    let dialect = match file.kind {
        FileKind::DotEnv { .. } => Some(Dialect::DotEnv),
        FileKind::Properties => Some(Dialect::Properties),
        FileKind::Ini => Some(Dialect::Ini),
        FileKind::Toml => Some(Dialect::Toml),
        FileKind::Tfvars => Some(Dialect::Tfvars),
        _ => None,
    };
    if let Some(d) = dialect {
        return kv::scan(&file.text, d)
            .into_iter()
            .map(|p| Entry {
                exact: file.text.get(p.value_span.clone()) == Some(p.value.as_str()),
                path: p.path,
                key: p.key,
                key_span: Some(p.key_span),
                value: p.value,
                value_span: p.value_span,
                group: p.group,
                alias: false,
            })
            .collect();
    }
    if !file.kind.is_yaml() {
        return Vec::new();
    }
    let mut out = Vec::new();
    let mut next_group = 0usize;
    for doc in &file.yaml().docs {
        flatten(&file.text, doc, &mut out, &mut next_group);
    }
    // Once for the whole stream: sorting after every document made a stream of many small
    // documents quadratic. Documents follow each other in the text, so the order is the same.
    out.sort_by_key(|e| e.value_span.start);
    name_value_pairs(&mut out);
    out
}

fn env_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.' || c == '-')
}

/// Rewrites the list shapes that carry a variable name beside its value, so rules see
/// `DB_HOST: value` whatever the shape: Kubernetes and ECS `{name: DB_HOST, value: ...}` items,
/// and `KEY=value` items (compose `environment:` lists, kustomize `literals:`).
fn name_value_pairs(entries: &mut [Entry]) {
    // Items of one list share a group, so DB_HOST, DB_USER and DB_PASSWORD items are read
    // together as split fields.
    let mut next_group = entries.iter().map(|e| e.group).max().unwrap_or(0) + 1;
    let mut list_groups: std::collections::HashMap<String, usize> =
        std::collections::HashMap::new();
    let mut list_group = |path: &str| -> usize {
        let parent = path.rfind('[').map_or(path, |i| &path[..i]).to_string();
        *list_groups.entry(parent).or_insert_with(|| {
            next_group += 1;
            next_group
        })
    };
    let mut names: std::collections::HashMap<usize, String> = std::collections::HashMap::new();
    for e in entries.iter() {
        if e.key == "name" && env_name(&e.value) {
            names.insert(e.group, e.value.clone());
        }
    }
    for e in entries.iter_mut() {
        if e.key == "value" {
            if let Some(name) = names.get(&e.group) {
                let item = e.path.strip_suffix(".value").unwrap_or(&e.path).to_string();
                e.group = list_group(&item);
                e.path = format!("{item}.{name}");
                e.key = name.clone();
            }
            continue;
        }
        // A sequence item `KEY=value` (its path ends in `[n]`).
        if !e.path.ends_with(']') {
            continue;
        }
        let Some((k, v)) = e.value.split_once('=') else {
            continue;
        };
        if !env_name(k) || k.len() < 2 || v.is_empty() {
            continue;
        }
        let offset = k.len() + 1;
        if e.exact {
            e.value_span = e.value_span.start + offset..e.value_span.end;
        }
        e.group = list_group(&e.path);
        e.path = format!("{}.{k}", e.path);
        e.key = k.to_string();
        e.value = v.to_string();
    }
}

/// Longest key name kept in an entry's key and path; longer names are cut (on a char boundary).
const MAX_KEY: usize = 256;
/// Longest key path built; deeper paths stop growing. Keeps hostile nesting from costing
/// depth x length per entry.
const MAX_PATH: usize = 1024;
/// Longest scalar an alias is expanded to in an entry (a connection string is cut at 4 KiB).
const MAX_ALIAS_VALUE: usize = 4096;
/// Most bytes of alias expansions per file: a scalar aliased 100,000 times is not copied
/// 100,000 times.
const MAX_ALIAS_TOTAL: usize = 1024 * 1024;

fn cut(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// Walks a YAML tree without recursion (documents can be deep) and emits its scalar values, in
/// walk order: the caller sorts them by position.
fn flatten(text: &str, root: &Node, out: &mut Vec<Entry>, next_group: &mut usize) {
    // (node, key path, last key, key span, group)
    type Frame<'n> = (&'n Node, String, String, Option<Range<usize>>, usize);
    let mut stack: Vec<Frame> = vec![(root, String::new(), String::new(), None, *next_group)];
    *next_group += 1;
    let mut alias_budget = MAX_ALIAS_TOTAL;
    while let Some((node, path, key, key_span, group)) = stack.pop() {
        match node {
            Node::Scalar { value, span, .. } => out.push(Entry {
                exact: text.get(span.clone()) == Some(value.as_str()),
                path,
                key,
                key_span,
                value: value.clone(),
                value_span: span.clone(),
                group,
                alias: false,
            }),
            Node::Alias {
                target: Some(t),
                span,
            } => {
                if let Some(v) = t.as_str()
                    && v.len() <= MAX_ALIAS_VALUE
                    && v.len() <= alias_budget
                {
                    alias_budget -= v.len();
                    out.push(Entry {
                        path,
                        key,
                        key_span,
                        value: v.to_string(),
                        value_span: span.clone(),
                        group,
                        exact: false,
                        alias: true,
                    });
                }
            }
            Node::Alias { .. } => {}
            Node::Seq { items, .. } => {
                let g = *next_group;
                *next_group += 1;
                for (i, item) in items.iter().enumerate().rev() {
                    let child = if path.len() >= MAX_PATH {
                        path.clone()
                    } else {
                        format!("{path}[{i}]")
                    };
                    stack.push((item, child, key.clone(), key_span.clone(), g));
                }
            }
            Node::Map { entries, .. } => {
                let g = *next_group;
                *next_group += 1;
                for (k, v) in entries.iter().rev() {
                    let name = cut(k.as_str().unwrap_or("?"), MAX_KEY);
                    let child = if path.is_empty() {
                        name.to_string()
                    } else if path.len() >= MAX_PATH {
                        path.clone()
                    } else {
                        format!("{path}.{name}")
                    };
                    stack.push((v, child, name.to_string(), Some(k.span()), g));
                }
            }
        }
    }
}

/// Byte offsets where lines start, for turning spans into 1-based lines and columns.
#[derive(Debug, Clone)]
pub struct LineIndex {
    starts: Vec<usize>,
    /// The whole text is ASCII, so columns are byte offsets (the common case, and O(1)).
    ascii: bool,
}

impl LineIndex {
    /// Indexes `text`.
    pub fn new(text: &str) -> Self {
        let mut starts = vec![0];
        starts.extend(memchr::memchr_iter(b'\n', text.as_bytes()).map(|i| i + 1));
        LineIndex {
            starts,
            ascii: text.is_ascii(),
        }
    }

    /// 1-based line and column (in chars) of a byte offset.
    pub fn position(&self, text: &str, offset: usize) -> (usize, usize) {
        let offset = offset.min(text.len());
        let line = self.starts.partition_point(|&s| s <= offset).max(1);
        let start = self.starts[line - 1];
        let col = if self.ascii {
            offset - start
        } else {
            text.get(start..offset)
                .map_or(offset - start, |s| s.chars().count())
        };
        (line, col + 1)
    }

    /// Byte range of a 1-based line, without its line ending.
    pub fn line_range(&self, text: &str, line: usize) -> Range<usize> {
        let start = self
            .starts
            .get(line.saturating_sub(1))
            .copied()
            .unwrap_or(text.len());
        let mut end = self.starts.get(line).copied().unwrap_or(text.len());
        let bytes = text.as_bytes();
        while end > start && matches!(bytes.get(end - 1), Some(b'\n' | b'\r')) {
            end -= 1;
        }
        start..end
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_entries_have_paths_groups_and_exact_spans() {
        let text =
            "db:\n  host: pg.prod.internal\n  user: app\n  password: \"s3cr3t\"\nlist:\n  - a\n";
        let f = SourceFile::new("values.yaml", text.to_string(), FileKind::HelmValues);
        let e = f.entries();
        assert_eq!(e[0].path, "db.host");
        assert!(e[0].exact);
        assert_eq!(e[0].group, e[2].group);
        assert_eq!(e[2].value, "s3cr3t");
        assert!(!e[2].exact);
        assert_eq!(e[3].path, "list[0]");
        assert_eq!(e[3].key, "list");
    }

    #[test]
    fn entries_of_many_documents_come_in_file_order() {
        let text: String = (0..20_000)
            .map(|i| format!("---\nb{i}: {i}\na{i}: [x, {{k: v}}]\n"))
            .collect();
        let f = SourceFile::new("values.yaml", text.clone(), FileKind::HelmValues);
        let e = f.entries();
        assert_eq!(e.len(), 60_000);
        assert!(
            e.windows(2)
                .all(|w| w[0].value_span.start < w[1].value_span.start)
        );
        assert_eq!(
            (e[59_999].path.as_str(), e[59_999].value.as_str()),
            ("a19999[1].k", "v")
        );
        assert!(
            e.iter()
                .all(|x| x.exact && text[x.value_span.clone()] == x.value)
        );
    }

    #[test]
    fn line_index_positions() {
        let text = "ab\r\ncdé f\n";
        let idx = LineIndex::new(text);
        assert_eq!(idx.position(text, 0), (1, 1));
        assert_eq!(idx.position(text, 4), (2, 1));
        assert_eq!(idx.position(text, text.find('f').unwrap()), (2, 5));
        assert_eq!(&text[idx.line_range(text, 1)], "ab");
    }

    #[test]
    fn bom_is_dropped() {
        let f = SourceFile::new(
            ".env",
            "\u{feff}A=1\n".into(),
            FileKind::DotEnv { example: false },
        );
        assert_eq!(f.entries()[0].key, "A");
    }
}
