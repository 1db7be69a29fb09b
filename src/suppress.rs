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

/// Finds every suppression directive in `text`. Cheap when there is none (one memchr search),
/// and linear in the text however many directives a line holds.
pub fn scan(text: &str) -> Vec<Suppression> {
    let mut out = Vec::new();
    let bytes = text.as_bytes();
    let finder = memchr::memmem::Finder::new(MARKER);
    // `pos` is always at a line start; `line` is its 1-based number.
    let mut pos = 0;
    let mut line = 1;
    while let Some(i) = finder.find(&bytes[pos..]) {
        let first = pos + i;
        let line_start = memchr::memrchr(b'\n', &bytes[pos..first]).map_or(pos, |p| pos + p + 1);
        line += memchr::memchr_iter(b'\n', &bytes[pos..line_start]).count();
        let line_end = memchr::memchr(b'\n', &bytes[first..]).map_or(text.len(), |p| first + p);
        let text_line = &text[line_start..line_end];
        // Every directive of the line is read at once; the line's comment leader and its trimmed
        // end are found once, not once per directive.
        let leader_at = COMMENT_LEADERS
            .iter()
            .filter_map(|l| text_line.find(l))
            .min();
        let code_before = leader_at.is_some_and(|l| !text_line[..l].trim().is_empty());
        let trimmed_end = line_start + text_line.trim_end().len();
        let markers: Vec<usize> = finder
            .find_iter(text_line.as_bytes())
            .map(|m| line_start + m)
            .collect();
        for (k, &at) in markers.iter().enumerate() {
            if leader_at.is_none_or(|l| line_start + l >= at) {
                continue;
            }
            // A directive ends where the next one on the line starts.
            let end = markers.get(k + 1).copied().unwrap_or(line_end);
            let rest = text[at + MARKER.len()..end].trim_start();
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
            out.push(Suppression {
                line,
                covers_to: if code_before { line } else { line + 1 },
                rules,
                reason,
                span: at..trimmed_end.max(at),
            });
        }
        if line_end == text.len() {
            break;
        }
        pos = line_end + 1;
        line += 1;
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
