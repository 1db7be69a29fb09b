//! Byte-level helpers shared by the connection-string parsers.
//!
//! Every position these helpers return sits on an ASCII byte or at the end of the text, so it is
//! always a char boundary of the text it came from.

use std::ops::Range;

/// Longest template token looked for; a longer `{{ ... }}` is not a host or a password.
const MAX_TEMPLATE: usize = 512;

/// Largest char boundary of `s` at or below `i`.
pub(super) fn floor_boundary(s: &str, i: usize) -> usize {
    let mut i = i.min(s.len());
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// End (exclusive) of the template or placeholder token starting at `i`, if one does:
/// `{{ ... }}`, `${...}`, `$(...)`, `#{...}`, `%(name)s` or `<name>`. Tokens stay on one line and
/// before `limit`.
#[inline]
pub(super) fn template_end(b: &[u8], i: usize, limit: usize) -> Option<usize> {
    // Called on every byte of a value: reject the common case inline.
    if matches!(b.get(i), Some(b'{' | b'$' | b'#' | b'%' | b'<')) {
        token_end(b, i, limit)
    } else {
        None
    }
}

fn token_end(b: &[u8], i: usize, limit: usize) -> Option<usize> {
    let limit = limit.min(b.len()).min(i.saturating_add(MAX_TEMPLATE));
    let rest = b.get(i..limit)?;
    let len = match rest {
        [b'{', b'{', ..] => find_pair(rest, 2, *b"}}").map(|k| k + 2),
        [b'$' | b'#', b'{', ..] => close_nested(rest, 1, b'{', b'}').map(|k| k + 1),
        [b'$', b'(', ..] => close_nested(rest, 1, b'(', b')').map(|k| k + 1),
        [b'%', b'(', ..] => {
            let close = rest.iter().position(|&c| c == b')')?;
            rest.get(close + 1)
                .filter(|c| c.is_ascii_alphabetic())
                .map(|_| close + 2)
        }
        [b'<', first, ..] if first.is_ascii_alphabetic() || *first == b'_' => {
            let close = rest.iter().position(|&c| c == b'>')?;
            rest[1..close]
                .iter()
                .all(|&c| {
                    c.is_ascii_alphanumeric() || matches!(c, b' ' | b'_' | b'.' | b'-' | b':')
                })
                .then_some(close + 1)
        }
        _ => None,
    }?;
    (!rest[..len].contains(&b'\n')).then_some(i + len)
}

/// Index of the first `pat` in `rest` at or after `from`.
fn find_pair(rest: &[u8], from: usize, pat: [u8; 2]) -> Option<usize> {
    rest.get(from..)?
        .windows(2)
        .position(|w| w == pat)
        .map(|k| k + from)
}

/// Index of the bracket closing the one at `open_at`, counting nested pairs.
fn close_nested(rest: &[u8], open_at: usize, open: u8, close: u8) -> Option<usize> {
    let mut depth = 0usize;
    for (k, &c) in rest.iter().enumerate().skip(open_at) {
        if c == open {
            depth += 1;
        } else if c == close {
            depth = depth.saturating_sub(1);
            if depth == 0 {
                return Some(k);
            }
        } else if c == b'\n' {
            return None;
        }
    }
    None
}

/// A copy of `raw` with every template token blanked to `_`, so that separators inside
/// `{{ ... }}` or `${A:-b}` are not mistaken for the string's own `:`, `@`, `/` or `,`.
pub(super) fn shadow(raw: &str) -> Vec<u8> {
    let b = raw.as_bytes();
    let mut out = b.to_vec();
    let mut i = 0;
    while i < b.len() {
        match template_end(b, i, b.len()) {
            Some(end) => {
                out[i..end].fill(b'_');
                i = end;
            }
            None => i += 1,
        }
    }
    out
}

/// Blanks the inside of every balanced `open ... close` group in `sh` (the brackets stay).
pub(super) fn blank_groups(sh: &mut [u8], open: u8, close: u8) {
    let mut i = 0;
    while i < sh.len() {
        if sh[i] == open
            && let Some(k) = sh[i + 1..].iter().position(|&c| c == close || c == open)
            && sh[i + 1 + k] == close
        {
            sh[i + 1..i + 1 + k].fill(b'_');
            i += k + 2;
            continue;
        }
        i += 1;
    }
}

/// Ranges of `range` in `sh` separated by `sep`.
pub(super) fn split_ranges(
    sh: &[u8],
    range: Range<usize>,
    sep: u8,
) -> impl Iterator<Item = Range<usize>> + '_ {
    let mut start = range.start;
    let end = range.end.min(sh.len());
    let mut done = start > end;
    std::iter::from_fn(move || {
        if done {
            return None;
        }
        let next = sh[start..end].iter().position(|&c| c == sep);
        match next {
            Some(k) => {
                let r = start..start + k;
                start += k + 1;
                Some(r)
            }
            None => {
                done = true;
                Some(start..end)
            }
        }
    })
}

/// Percent-decodes `s`; malformed escapes stay as written, invalid UTF-8 becomes U+FFFD.
pub(super) fn percent_decode(s: &str) -> String {
    if !s.contains('%') {
        return s.to_owned();
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && let (Some(hi), Some(lo)) = (
                b.get(i + 1).and_then(|&c| hex(c)),
                b.get(i + 2).and_then(|&c| hex(c)),
            )
        {
            out.push(hi << 4 | lo);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// True when `start` lies inside an unclosed `{{` (a Helm or Jinja expression that builds the
/// string at render time rather than writing it).
pub(super) fn inside_template(text: &str, start: usize) -> bool {
    let from = floor_boundary(text, start.saturating_sub(4096));
    let Some(before) = text.as_bytes().get(from..start) else {
        return false;
    };
    let open = memchr::memmem::rfind(before, b"{{");
    let close = memchr::memmem::rfind(before, b"}}");
    match (open, close) {
        (Some(o), Some(c)) => o > c,
        (Some(_), None) => true,
        _ => false,
    }
}

/// Whether positions lie inside an unclosed `{{`, asked for increasing positions so that the
/// whole text is read once.
pub(super) struct TemplateState {
    pos: usize,
    open: bool,
}

impl TemplateState {
    pub(super) fn new() -> Self {
        TemplateState {
            pos: 0,
            open: false,
        }
    }

    /// True when `start` lies inside an unclosed `{{`.
    pub(super) fn inside(&mut self, text: &str, start: usize) -> bool {
        if start < self.pos {
            return inside_template(text, start);
        }
        // One byte of overlap catches a `{{` or `}}` split across the previous position.
        let from = self.pos.saturating_sub(1);
        let Some(seg) = text.as_bytes().get(from..start) else {
            return false;
        };
        let open = memchr::memmem::rfind(seg, b"{{");
        let close = memchr::memmem::rfind(seg, b"}}");
        match (open, close) {
            (Some(o), Some(c)) => self.open = o > c,
            (Some(_), None) => self.open = true,
            (None, Some(_)) => self.open = false,
            (None, None) => {}
        }
        self.pos = start;
        self.open
    }
}

/// `text` with each span replaced by `with`; spans may overlap and come in any order, and are
/// widened to char boundaries.
pub(super) fn replace_spans(text: &str, mut spans: Vec<Range<usize>>, with: &str) -> String {
    spans.retain(|r| r.start < r.end && r.end <= text.len());
    spans.sort_by_key(|r| (r.start, r.end));
    let mut merged: Vec<Range<usize>> = Vec::with_capacity(spans.len());
    for r in spans {
        let r = floor_boundary(text, r.start)..ceil_boundary(text, r.end);
        match merged.last_mut() {
            Some(last) if r.start < last.end => last.end = last.end.max(r.end),
            _ => merged.push(r),
        }
    }
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for r in merged {
        out.push_str(&text[at..r.start]);
        out.push_str(with);
        at = r.end;
    }
    out.push_str(&text[at..]);
    out
}

/// Smallest char boundary of `s` at or above `i`.
fn ceil_boundary(s: &str, i: usize) -> usize {
    let mut i = i.min(s.len());
    while i < s.len() && !s.is_char_boundary(i) {
        i += 1;
    }
    i
}

/// True when the quote at `j` ends the string that encloses a value rather than sitting inside
/// it (`Xy'9z` is a password; in `'...pw' + x` the quote closes): it is followed by the end of
/// the text, whitespace, or what follows a string in config and code (`;`, `,`, `)`, `]`, `}`,
/// `>`).
pub(super) fn closes_string(b: &[u8], j: usize) -> bool {
    match b.get(j + 1) {
        None => true,
        Some(&c) => c.is_ascii_whitespace() || b";,)]}>".contains(&c),
    }
}

/// True when the backtick, `<` or `>` at `j` ends a URI in prose or markup: it is followed by
/// the end, whitespace, or sentence punctuation (`` `postgres://h/db`. ``, `<postgres://h/db>,`).
pub(super) fn ends_markup(b: &[u8], j: usize) -> bool {
    match b.get(j + 1) {
        None => true,
        Some(&c) => c.is_ascii_whitespace() || b".,;:!?)]}>\"'".contains(&c),
    }
}

/// True when the quote at `j` opens a string: it follows the start of the text, whitespace, or
/// what precedes a string value (`=`, `:`, `(`, `[`, `{`, `,`).
pub(super) fn opens_string(b: &[u8], j: usize) -> bool {
    match j.checked_sub(1).map(|k| b[k]) {
        None => true,
        Some(c) => c.is_ascii_whitespace() || b"=:([{,".contains(&c),
    }
}

/// True when the `;` or `&` at `j` separates parameters: what follows is another `key=` or the
/// end of the string. Otherwise it is part of a value (`Password=pa;ss`).
pub(super) fn param_follows(b: &[u8], j: usize, limit: usize) -> bool {
    let mut k = skip_blanks(b, j + 1, limit);
    match b.get(k).filter(|_| k < limit) {
        None => return true,
        Some(c) if c.is_ascii_whitespace() || b"\"'`".contains(c) => return true,
        Some(c) if !c.is_ascii_alphabetic() => return false,
        Some(_) => {}
    }
    let key_start = k;
    while k < limit
        && k - key_start <= 40
        && (b[k].is_ascii_alphanumeric() || matches!(b[k], b'_' | b'.' | b'-' | b' '))
    {
        k += 1;
    }
    b.get(k) == Some(&b'=') && k < limit
}

/// Horizontal whitespace: a key=value string never continues onto the next line.
pub(super) fn is_blank(c: u8) -> bool {
    c == b' ' || c == b'\t'
}

/// Position of the first byte at or after `i` that is not a space or tab.
pub(super) fn skip_blanks(b: &[u8], mut i: usize, limit: usize) -> usize {
    while i < limit && is_blank(b[i]) {
        i += 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_tokens() {
        let cases: &[(&str, Option<usize>)] = &[
            ("{{ .Values.db.host }}:5432", Some(21)),
            ("${DB_HOST:-localhost}:1", Some(21)),
            ("${A:-${B}}x", Some(10)),
            ("$(DB_PASS)@", Some(10)),
            ("#{pass}@", Some(7)),
            ("%(password)s@", Some(12)),
            ("<password>@", Some(10)),
            ("<your host>", Some(11)),
            // near misses
            ("{{ unclosed", None),
            ("${unclosed", None),
            ("<9q>", None),
            ("<a/b>", None),
            ("%(x)", None),
            ("{{ a\n }}", None),
            ("plain", None),
        ];
        for (input, want) in cases {
            assert_eq!(
                template_end(input.as_bytes(), 0, input.len()),
                *want,
                "{input}"
            );
        }
    }

    #[test]
    fn percent_decoding() {
        assert_eq!(percent_decode("p%40ss%3Aw"), "p@ss:w");
        assert_eq!(percent_decode("%2Fvar%2flib"), "/var/lib");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz%4"), "%zz%4");
        assert_eq!(percent_decode("%C3%A9"), "é");
        assert_eq!(percent_decode("%FF"), "\u{FFFD}");
    }

    #[test]
    fn spans_are_replaced_once_each() {
        assert_eq!(
            replace_spans("a:bc@d", std::iter::once(2..4).collect(), "****"),
            "a:****@d"
        );
        assert_eq!(replace_spans("abcdef", vec![1..3, 2..5], "*"), "a*f");
        assert_eq!(
            replace_spans("ab", std::iter::once(1..9).collect(), "*"),
            "ab"
        );
        assert_eq!(
            replace_spans("é=xy", std::iter::once(1..2).collect(), "*"),
            "*=xy"
        );
        assert_eq!(replace_spans("x=1 y=2", vec![6..7, 2..3], "*"), "x=* y=*");
    }

    #[test]
    fn template_context() {
        assert!(inside_template("{{ printf \"postgres://x\" }}", 10));
        assert!(!inside_template("{{ if .x }}postgres://x", 11));
        assert!(!inside_template("url: postgres://x", 5));
    }

    #[test]
    fn groups_are_blanked() {
        let mut sh = b"(host=a,port=1),(b@c)".to_vec();
        blank_groups(&mut sh, b'(', b')');
        assert_eq!(sh, b"(_____________),(___)".to_vec());
        let mut open = b"(a,b".to_vec();
        blank_groups(&mut open, b'(', b')');
        assert_eq!(open, b"(a,b".to_vec());
    }
}
