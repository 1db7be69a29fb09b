//! Inline suppressions: `premortem: ignore[rule-id, other-rule] reason` in a comment, in the
//! comment syntax of the file (`#`, `//`, `--`, `/* */`, `;`, `<!-- -->`).
//!
//! A comment that shares its line with code covers that line; a comment alone on its line covers
//! that line and the next one (the line above a finding).

use std::ops::Range;

const MARKER: &str = "premortem:";
const COMMENT_LEADERS: &[&str] = &["#", "//", "--", "/*", ";", "<!--", "%"];

/// One `premortem: ignore[...]` directive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suppression {
    /// 1-based line the comment is on.
    pub line: usize,
    /// Last line it covers (`line` or `line + 1`).
    pub covers_to: usize,
    pub rules: Vec<String>,
    pub reason: String,
    /// Byte range of the directive in the file.
    pub span: Range<usize>,
}

/// Finds every suppression directive in `text`. Cheap when there is none (one memchr search).
pub fn scan(text: &str) -> Vec<Suppression> {
    let mut out = Vec::new();
    let finder = memchr::memmem::Finder::new(MARKER);
    let mut search_from = 0;
    while let Some(i) = finder.find(&text.as_bytes()[search_from..]) {
        let at = search_from + i;
        search_from = at + MARKER.len();
        let line_start = text[..at].rfind('\n').map_or(0, |p| p + 1);
        let line_end = text[at..].find('\n').map_or(text.len(), |p| at + p);
        let before = &text[line_start..at];
        let Some(leader_at) = COMMENT_LEADERS.iter().filter_map(|l| before.find(l)).min() else {
            continue;
        };
        let code_before = before[..leader_at].trim();
        let rest = text[at + MARKER.len()..line_end].trim_start();
        let Some(rest) = rest.strip_prefix("ignore[") else {
            continue;
        };
        let Some(close) = rest.find(']') else {
            continue;
        };
        let rules = rest[..close]
            .split(',')
            .map(|r| r.trim().to_string())
            .filter(|r| !r.is_empty())
            .collect();
        let reason = rest[close + 1..]
            .trim()
            .trim_end_matches("-->")
            .trim_end_matches("*/")
            .trim()
            .to_string();
        let line = text[..at].bytes().filter(|&b| b == b'\n').count() + 1;
        let directive_end = text[..line_end].trim_end().len().max(at);
        out.push(Suppression {
            line,
            covers_to: if code_before.is_empty() {
                line + 1
            } else {
                line
            },
            rules,
            reason,
            span: at..directive_end,
        });
    }
    out
}

impl Suppression {
    /// True when this directive covers a finding of `rule` starting on `line`.
    pub fn covers(&self, rule: &str, line: usize) -> bool {
        (self.line..=self.covers_to).contains(&line) && self.rules.iter().any(|r| r == rule)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comment_forms_and_coverage() {
        let text = "# premortem: ignore[literal-dsn] local demo cluster\nurl: x\nb: y  # premortem: ignore[a, b] why\n-- premortem: ignore[c]\n";
        let s = scan(text);
        assert_eq!(s.len(), 3);
        assert_eq!((s[0].line, s[0].covers_to), (1, 2));
        assert_eq!(s[0].reason, "local demo cluster");
        assert!(s[0].covers("literal-dsn", 2));
        assert!(!s[0].covers("literal-dsn", 3));
        assert_eq!(s[1].rules, vec!["a", "b"]);
        assert_eq!((s[1].line, s[1].covers_to), (3, 3));
        assert_eq!(s[2].reason, "");
    }

    #[test]
    fn not_in_a_comment_is_not_a_directive() {
        assert!(scan("note: \"premortem: ignore[x] y\"\n").is_empty());
        assert!(scan("premortem: ignore[x] y\n").is_empty());
    }

    #[test]
    fn html_and_c_comments_strip_their_closers() {
        let s = scan("<!-- premortem: ignore[x] docs only -->\n/* premortem: ignore[y] old */\n");
        assert_eq!(s[0].reason, "docs only");
        assert_eq!(s[1].reason, "old");
    }
}
