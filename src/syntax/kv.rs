//! Line-oriented `key = value` formats: `.env`, Java `.properties`, INI, TOML and Terraform
//! `.tfvars`. One small scanner for all of them: what the rules need is each key, its value and
//! their exact spans, grouped by section or block, not a full grammar of each format.

use std::ops::Range;

/// Which dialect a file is written in; it decides comment markers and separators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    DotEnv,
    Properties,
    Ini,
    Toml,
    Tfvars,
}

/// One `key = value` pair.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pair {
    /// Section or block path joined with `.`, then the key.
    pub path: String,
    pub key: String,
    pub key_span: Range<usize>,
    /// The value, unquoted.
    pub value: String,
    /// Span of the unquoted value in the source.
    pub value_span: Range<usize>,
    /// Pairs of one section or block share a group.
    pub group: usize,
}

/// Most block names in a path; deeper `.tfvars` blocks still nest but stop adding to it.
const MAX_BLOCKS: usize = 32;
/// Longest block name kept in a path.
const MAX_NAME: usize = 256;

fn cut(s: &str, max: usize) -> &str {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// Scans a file of `key = value` lines. Never fails: lines it does not understand are skipped.
/// Linear in the text, however deep its blocks nest.
pub fn scan(text: &str, dialect: Dialect) -> Vec<Pair> {
    let mut pairs = Vec::new();
    let mut blocks: Vec<String> = Vec::new();
    // `blocks` joined with `.`, rebuilt only when a block opens or closes.
    let mut prefix = String::new();
    let mut group = 0usize;
    let mut next_group = 1usize;
    let mut group_stack: Vec<usize> = Vec::new();
    let mut offset = 0usize;
    for raw_line in text.split_inclusive('\n') {
        let line_start = offset;
        offset += raw_line.len();
        let line = raw_line.trim_end_matches(['\n', '\r']);
        let indent = line.len() - line.trim_start().len();
        let body = line.trim();
        let body_start = line_start + indent;
        if body.is_empty() || is_comment(body, dialect) {
            continue;
        }
        if matches!(dialect, Dialect::Ini | Dialect::Toml) && body.starts_with('[') {
            let name = body.trim_matches(|c| c == '[' || c == ']').trim();
            blocks = vec![cut(name, MAX_NAME).to_string()];
            prefix = blocks[0].clone();
            group = next_group;
            next_group += 1;
            continue;
        }
        if dialect == Dialect::Tfvars && body.starts_with('}') {
            blocks.pop();
            if blocks.len() < MAX_BLOCKS {
                prefix = blocks.join(".");
            }
            group = group_stack.pop().unwrap_or(0);
            continue;
        }
        let Some((sep, sep_len)) = separator(body, dialect) else {
            continue;
        };
        let mut key = body[..sep].trim();
        let mut key_start = body_start;
        if dialect == Dialect::DotEnv
            && let Some(rest) = key.strip_prefix("export ")
        {
            key_start += key.len() - rest.len();
            key = rest.trim_start();
        }
        let key = key.trim_matches('"');
        if key.is_empty() || key.contains(char::is_whitespace) && dialect != Dialect::Ini {
            continue;
        }
        let key_offset = body[..sep].find(key).unwrap_or(0);
        let key_span = body_start + key_offset..body_start + key_offset + key.len();
        let _ = key_start;
        let after = &body[sep + sep_len..];
        let value_lead = after.len() - after.trim_start().len();
        let value_raw = after.trim_start();
        let value_base = body_start + sep + sep_len + value_lead;
        if dialect == Dialect::Tfvars && value_raw.starts_with('{') && !value_raw.contains('}') {
            blocks.push(cut(key, MAX_NAME).to_string());
            if blocks.len() <= MAX_BLOCKS {
                prefix = blocks.join(".");
            }
            group_stack.push(group);
            group = next_group;
            next_group += 1;
            continue;
        }
        let (value, span) = unquote(value_raw, value_base, dialect);
        let path = if blocks.is_empty() {
            key.to_string()
        } else {
            format!("{prefix}.{key}")
        };
        pairs.push(Pair {
            path,
            key: key.to_string(),
            key_span,
            value,
            value_span: span,
            group,
        });
    }
    pairs
}

fn is_comment(body: &str, dialect: Dialect) -> bool {
    match dialect {
        Dialect::DotEnv | Dialect::Toml => body.starts_with('#'),
        Dialect::Properties => body.starts_with('#') || body.starts_with('!'),
        Dialect::Ini => body.starts_with('#') || body.starts_with(';'),
        Dialect::Tfvars => {
            body.starts_with('#') || body.starts_with("//") || body.starts_with("/*")
        }
    }
}

/// Byte index and length of the key/value separator.
fn separator(body: &str, dialect: Dialect) -> Option<(usize, usize)> {
    match dialect {
        Dialect::Properties | Dialect::Ini => {
            let i = body.find(['=', ':'])?;
            Some((i, 1))
        }
        _ => body.find('=').map(|i| (i, 1)),
    }
}

/// Strips quotes (and a trailing comment after a closing quote, or after ` #` for unquoted
/// values in formats that allow it) and returns the value with its source span.
fn unquote(raw: &str, base: usize, dialect: Dialect) -> (String, Range<usize>) {
    let first = raw.chars().next();
    if let Some(q @ ('"' | '\'')) = first
        && let Some(end) = raw[1..].find(q)
    {
        let inner = &raw[1..1 + end];
        return (inner.to_string(), base + 1..base + 1 + inner.len());
    }
    let mut value = raw;
    if dialect != Dialect::Properties
        && let Some(i) = value.find(" #")
    {
        value = &value[..i];
    }
    let value = value.trim_end().trim_end_matches(',');
    (value.to_string(), base..base + value.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(text: &str, d: Dialect) -> Vec<(String, String, String)> {
        scan(text, d)
            .into_iter()
            .map(|p| {
                let src = text[p.value_span.clone()].to_string();
                (p.path, p.value, src)
            })
            .collect()
    }

    #[test]
    fn dotenv_with_export_quotes_and_comments() {
        let got = pairs(
            "# c\nexport DATABASE_URL=\"postgres://u:p@h/db\"\nA=1 # note\nB='x y'\n",
            Dialect::DotEnv,
        );
        assert_eq!(got[0].0, "DATABASE_URL");
        assert_eq!(got[0].1, "postgres://u:p@h/db");
        assert_eq!(got[0].2, "postgres://u:p@h/db");
        assert_eq!(got[1].1, "1");
        assert_eq!(got[2].1, "x y");
    }

    #[test]
    fn ini_and_toml_sections_prefix_the_path_and_split_groups() {
        let text = "[database]\nhost = db.prod.internal\npassword = 's3'\n[cache]\nhost = c\n";
        let all = scan(text, Dialect::Toml);
        assert_eq!(all[0].path, "database.host");
        assert_eq!(all[0].group, all[1].group);
        assert_ne!(all[1].group, all[2].group);
    }

    #[test]
    fn properties_accept_colon_and_equals() {
        let got = pairs(
            "spring.datasource.url=jdbc:postgresql://db/x\nuser: app\n! comment\n",
            Dialect::Properties,
        );
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].1, "jdbc:postgresql://db/x");
        assert_eq!(got[1].1, "app");
    }

    #[test]
    fn tfvars_blocks_nest() {
        let text =
            "db = {\n  host     = \"db.prod.internal\"\n  password = \"pw\"\n}\nregion = \"eu\"\n";
        let all = scan(text, Dialect::Tfvars);
        assert_eq!(all[0].path, "db.host");
        assert_eq!(all[0].group, all[1].group);
        assert_eq!(all[2].path, "region");
        assert_ne!(all[2].group, all[0].group);
    }

    #[test]
    fn crlf_lines_keep_exact_spans() {
        let text = "A=one\r\nB=two\r\n";
        let got = pairs(text, Dialect::DotEnv);
        assert_eq!(got[1].2, "two");
    }
}
