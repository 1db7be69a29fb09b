//! CODEOWNERS parsing and matching with GitHub and GitLab semantics.
//!
//! GitHub (docs: "About code owners"):
//! - The first of `.github/CODEOWNERS`, `CODEOWNERS`, `docs/CODEOWNERS` is in force; a file over
//!   3 MB is not loaded at all.
//! - Patterns follow gitignore: a leading or middle `/` anchors to the root, otherwise a pattern
//!   matches at any depth; a pattern matches a file or any parent directory of it; a trailing `/`
//!   matches directories only; `**` spans directories. GitHub's own rule: a trailing `/*` covers
//!   direct children only (`docs/*` owns `docs/a.md`, not `docs/b/c.md`; likewise `/*` owns only
//!   root files). Matching is case-sensitive.
//! - Not supported: `!` negation, `[ ]` ranges, `\#` escapes. GitHub's current docs say an invalid
//!   line is skipped and highlighted, so such a line is reported and is not used for matching.
//!   The same holds for a line with an owner that is not `@user`, `@org/team` or an email: the
//!   whole line is skipped, valid owners included. A line with no owners is valid and un-owns.
//! - Text after a whitespace-preceded `#` is a comment. `\ ` escapes a space in a pattern and
//!   `\*` a literal star, as in gitignore (GitHub does not document escapes beyond `\#`).
//! - A GitLab section header (`[Name]`, `^[Name]`, `[Name][n]`) is reported and skipped; the lines
//!   below it are plain rules to GitHub.
//!
//! GitLab (docs "Syntax of CODEOWNERS file" and `Gitlab::CodeOwners::File`):
//! - `CODEOWNERS` in the root, `docs/`, `.gitlab/`, in that order.
//! - Patterns are `File.fnmatch` globs with `FNM_PATHNAME | FNM_DOTMATCH` after normalisation:
//!   a pattern not starting with `/` is prefixed with `/**/` (so `docs/*` is *not* anchored), a
//!   trailing `/` becomes `/**/*`, and a pattern without a trailing `/` names a file, not a
//!   directory. `[ ]` classes and `\#` work. A `**` not followed by `/` is a plain `*`.
//! - `[Section]`, `^[Optional]`, `[Section][n]` and default owners after the header; same-named
//!   sections (case-insensitive) are one section; every section decides independently with the
//!   last matching line. A repeated pattern within a section replaces the earlier line's owners but
//!   keeps the earlier line's position, as GitLab's ordered hash does.
//! - `!pattern` excludes matching paths from its section, whatever the order.
//! - There are no inline comments: every token after the pattern is scanned for owners, and
//!   tokens without one are reported. Lines with problems are still used, as GitLab uses them.

mod owner;
mod pattern;
#[cfg(test)]
mod tests;

use std::collections::{HashMap, HashSet};
use std::ops::Range;

pub use owner::is_bot;
use pattern::{IndexKey, Pattern, Scratch};

/// GitHub does not load a CODEOWNERS file of this size or more.
const GITHUB_MAX_BYTES: usize = 3 * 1024 * 1024;

/// The hosting platform whose CODEOWNERS semantics apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Platform {
    GitHub,
    GitLab,
}

/// One owner as written: `@org/team`, `@user`, `a@b.com`, `@@maintainer`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner {
    pub name: String,
    pub span: Range<usize>,
}

/// One pattern line that the platform uses for matching.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// 1-based line number.
    pub line: usize,
    /// The pattern as written (with a GitLab exclusion's `!`).
    pub pattern: String,
    pub pattern_span: Range<usize>,
    /// Valid owners listed on the line (empty on GitHub means "un-owned").
    pub owners: Vec<Owner>,
    /// Index into `sections` of the header this line sits under (GitLab).
    pub section: Option<usize>,
    pub line_span: Range<usize>,
    /// A GitLab `!pattern` line: matching paths are excluded from the section.
    pub exclusion: bool,
    /// The line lists owner text, valid or not; GitLab falls back to section defaults only
    /// when it lists none.
    pub owner_text: bool,
}

/// One GitLab section header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    pub name: String,
    /// `^[Section]`: approval is optional, so the section protects nothing.
    pub optional: bool,
    /// Approvals required (`[Section][n]`); 1 when absent or 0.
    pub approvals: u32,
    pub default_owners: Vec<Owner>,
    /// 1-based line number of the header.
    pub line: usize,
    pub span: Range<usize>,
    /// Index of the first header with the same name (case-insensitive): GitLab merges them.
    pub group: usize,
}

/// A line the platform would reject or ignore, with the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxIssue {
    pub line: usize,
    pub span: Range<usize>,
    pub message: String,
}

/// A parsed CODEOWNERS file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeOwners {
    pub platform: Platform,
    pub rules: Vec<Rule>,
    pub sections: Vec<Section>,
    pub issues: Vec<SyntaxIssue>,
}

impl CodeOwners {
    /// Whether a section group (see [`Section::group`]) is optional: GitLab treats a section as
    /// optional only when every line in it sits under an optional header.
    pub fn section_optional(&self, group: usize) -> bool {
        let mut any = false;
        for r in &self.rules {
            if let Some(s) = r.section.and_then(|h| self.sections.get(h))
                && s.group == group
            {
                any = true;
                if !s.optional {
                    return false;
                }
            }
        }
        any || self
            .sections
            .iter()
            .filter(|s| s.group == group)
            .all(|s| s.optional)
    }

    /// Approvals a section group requires: the largest count among its headers.
    pub fn section_approvals(&self, group: usize) -> u32 {
        self.sections
            .iter()
            .filter(|s| s.group == group)
            .map(|s| s.approvals)
            .max()
            .unwrap_or(1)
    }
}

/// Candidate locations in precedence order for the platform (GitHub: .github/, root, docs/;
/// GitLab: root, docs/, .gitlab/).
pub fn candidate_paths(platform: Platform) -> &'static [&'static str] {
    match platform {
        Platform::GitHub => &[".github/CODEOWNERS", "CODEOWNERS", "docs/CODEOWNERS"],
        Platform::GitLab => &["CODEOWNERS", "docs/CODEOWNERS", ".gitlab/CODEOWNERS"],
    }
}

/// Parses a CODEOWNERS file; never panics. Handles a BOM, CRLF, tabs and trailing spaces.
pub fn parse(text: &str, platform: Platform) -> CodeOwners {
    let mut p = Parser {
        text,
        co: CodeOwners {
            platform,
            rules: Vec::new(),
            sections: Vec::new(),
            issues: Vec::new(),
        },
        header: None,
        section_groups: HashMap::new(),
    };
    let bom = if text.starts_with('\u{feff}') {
        '\u{feff}'.len_utf8()
    } else {
        0
    };
    if platform == Platform::GitHub && text.len() >= GITHUB_MAX_BYTES {
        let end = memchr::memchr(b'\n', &text.as_bytes()[bom..]).map_or(text.len(), |i| bom + i);
        p.issue(1, bom..end, "this CODEOWNERS file is 3 MB or more; GitHub does not load it, so no code owners apply");
        return p.co;
    }
    let bytes = text.as_bytes();
    let mut start = bom;
    let mut line = 0;
    loop {
        line += 1;
        let nl = memchr::memchr(b'\n', &bytes[start..]).map(|i| start + i);
        let end = nl.unwrap_or(text.len());
        let content_end = if end > start && bytes[end - 1] == b'\r' {
            end - 1
        } else {
            end
        };
        p.line(line, start..content_end);
        match nl {
            Some(i) => start = i + 1,
            None => break,
        }
    }
    p.co
}

struct Parser<'a> {
    text: &'a str,
    co: CodeOwners,
    /// The GitLab section header in force.
    header: Option<usize>,
    /// The group of each section name seen, lowercased: a file of many sections stays linear.
    section_groups: HashMap<String, usize>,
}

/// Bytes stripped around a line (Ruby's `strip`, which GitLab uses; GitHub trims likewise).
fn is_trim(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n' | 0x0b | 0x0c | 0)
}

fn is_space_byte(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n' | 0x0b | 0x0c)
}

/// Splits `range` into whitespace-separated tokens. In the first token (the pattern) a backslash
/// escapes the next character, so `path\ with\ spaces/` is one token.
fn tokens(text: &str, range: Range<usize>) -> Vec<Range<usize>> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = range.start;
    while i < range.end {
        while i < range.end && is_space_byte(b[i]) {
            i += 1;
        }
        if i >= range.end {
            break;
        }
        let start = i;
        let first = out.is_empty();
        while i < range.end && !is_space_byte(b[i]) {
            // Only ASCII bytes stop a token, so every boundary is a char boundary.
            i += if first && b[i] == b'\\' && i + 1 < range.end {
                2
            } else {
                1
            };
        }
        let end = i.min(range.end);
        out.push(start..end);
    }
    out
}

/// The length of a leading `[Name]`, `^[Name]` or `[Name][n]` that ends the line or is followed by
/// whitespace: the shape of a GitLab section header.
fn gitlab_header_len(body: &str) -> Option<usize> {
    let open = usize::from(body.starts_with('^'));
    if !body[open..].starts_with('[') {
        return None;
    }
    let mut end = open + body[open..].find(']')? + 1;
    if let Some(rest) = body[end..].strip_prefix('[')
        && let Some(c) = rest.find(']')
        && rest[..c].bytes().all(|b| b.is_ascii_digit())
    {
        end += c + 2;
    }
    (end == body.len() || body.as_bytes().get(end).is_some_and(|b| is_space_byte(*b)))
        .then_some(end)
}

impl Parser<'_> {
    fn issue(&mut self, line: usize, span: Range<usize>, message: impl Into<String>) {
        self.co.issues.push(SyntaxIssue {
            line,
            span,
            message: message.into(),
        });
    }

    fn line(&mut self, line: usize, span: Range<usize>) {
        let b = self.text.as_bytes();
        let (mut s, mut e) = (span.start, span.end);
        while s < e && is_trim(b[s]) {
            s += 1;
        }
        while e > s && is_trim(b[e - 1]) {
            e -= 1;
        }
        if s == e || b[s] == b'#' {
            return;
        }
        match self.co.platform {
            Platform::GitHub => self.github_line(line, span, s..e),
            Platform::GitLab => self.gitlab_line(line, span, s..e),
        }
    }

    fn github_line(&mut self, line: usize, line_span: Range<usize>, body: Range<usize>) {
        let text = self.text;
        if let Some(len) = gitlab_header_len(&text[body.clone()]) {
            self.issue(
                line,
                body.start..body.start + len,
                "this is a GitLab section header; GitHub CODEOWNERS has no sections, reports an error and skips this line",
            );
            return;
        }
        let toks = tokens(text, body);
        let Some(pat) = toks.first().cloned() else {
            return;
        };
        let mut ok = true;
        let raw = &text[pat.clone()];
        if let Err(e) = pattern::compile_github(raw) {
            self.issue(line, pat.clone(), e.message());
            ok = false;
        }
        let mut owners = Vec::new();
        for t in toks.iter().skip(1) {
            let name = &text[t.clone()];
            if name.starts_with('#') {
                break;
            }
            match owner::github_owner_error(name) {
                Some(msg) => {
                    self.issue(line, t.clone(), msg);
                    ok = false;
                }
                None => owners.push(Owner {
                    name: name.to_string(),
                    span: t.clone(),
                }),
            }
        }
        if ok {
            self.co.rules.push(Rule {
                line,
                pattern: text[pat.clone()].to_string(),
                pattern_span: pat,
                owner_text: !owners.is_empty(),
                owners,
                section: None,
                line_span,
                exclusion: false,
            });
        }
    }

    /// GitLab owners from tokens: every reference GitLab's extractor would find. Returns the
    /// owners and the first token holding none.
    fn gitlab_owners(&self, toks: &[Range<usize>]) -> (Vec<Owner>, Option<Range<usize>>) {
        let mut owners = Vec::new();
        let mut bad = None;
        for t in toks {
            let refs = owner::gitlab_owner_refs(&self.text[t.clone()]);
            if refs.is_empty() && bad.is_none() {
                bad = Some(t.clone());
            }
            for r in refs {
                let span = t.start + r.start..t.start + r.end;
                owners.push(Owner {
                    name: self.text[span.clone()].to_string(),
                    span,
                });
            }
        }
        (owners, bad)
    }

    fn gitlab_line(&mut self, line: usize, line_span: Range<usize>, body: Range<usize>) {
        let text = self.text;
        let t = &text[body.clone()];
        if (t.starts_with('[') || t.starts_with("^[")) && self.gitlab_header(line, body.clone()) {
            return;
        }
        let toks = tokens(text, body);
        let Some(pat) = toks.first().cloned() else {
            return;
        };
        let raw = &text[pat.clone()];
        let (exclusion, pat_body) = match raw.strip_prefix('!') {
            Some(rest) => (true, rest),
            None => (false, raw),
        };
        if pattern::compile_gitlab(&pattern::normalize_gitlab(pat_body)).is_none() {
            self.issue(
                line,
                pat.clone(),
                "this pattern has a `[` class that is never closed or is empty; GitLab's matcher never matches it",
            );
        }
        let owner_toks = &toks[1..];
        let mut owners = Vec::new();
        if exclusion {
            if let (Some(first), Some(last)) = (owner_toks.first(), owner_toks.last()) {
                self.issue(
                    line,
                    first.start..last.end,
                    "owners on a `!` exclusion line are ignored by GitLab",
                );
            }
        } else {
            let (found, bad) = self.gitlab_owners(owner_toks);
            owners = found;
            if let Some(b) = bad {
                let tok = &text[b.clone()];
                let msg = if tok.starts_with('#') {
                    "GitLab CODEOWNERS has no inline comments: `#` and the words after it are read as owners, and GitLab reports a malformed owner".to_string()
                } else {
                    format!(
                        "`{tok}` is not a GitLab owner (`@user`, `@group/subgroup`, `@@role` or an email); GitLab reports a malformed owner"
                    )
                };
                self.issue(line, b, msg);
            }
            let defaults_empty = self
                .header
                .and_then(|h| self.co.sections.get(h))
                .is_none_or(|s| s.default_owners.is_empty());
            if owner_toks.is_empty() && defaults_empty {
                self.issue(
                    line,
                    pat.clone(),
                    "this line has no owners and its section has no default owners; GitLab reports a missing owner and requires no approval for matching files",
                );
            }
        }
        self.co.rules.push(Rule {
            line,
            pattern: raw.to_string(),
            pattern_span: pat,
            owners,
            section: self.header,
            line_span,
            exclusion,
            owner_text: !owner_toks.is_empty(),
        });
    }

    /// Parses a GitLab section header the way GitLab's `SectionParser` does:
    /// `^(\^)?\[(.*?)\](?:\[(\d*?)\])?(\s+[@\w_.\-\/\s+]*)?`, unanchored at the end. Returns
    /// false when the line is a pattern after all.
    fn gitlab_header(&mut self, line: usize, body: Range<usize>) -> bool {
        let text = self.text;
        let t = &text[body.clone()];
        let base = body.start;
        let optional = t.starts_with('^');
        let open = usize::from(optional);
        let Some(close_rel) = t[open + 1..].find(']') else {
            if t.len() > open + 1 {
                self.issue(
                    line,
                    body,
                    "this section header has no closing `]`; GitLab reports an invalid section and does not start a section",
                );
                return true;
            }
            return false;
        };
        let name = &t[open + 1..open + 1 + close_rel];
        let mut k = open + 1 + close_rel + 1;
        let mut approvals: u32 = 0;
        if t[k..].starts_with('[')
            && let Some(c) = t[k + 1..].find(']')
        {
            let digits = &t[k + 1..k + 1 + c];
            if digits.bytes().all(|d| d.is_ascii_digit()) {
                approvals = digits.bytes().fold(0u32, |n, d| {
                    n.saturating_mul(10).saturating_add(u32::from(d - b'0'))
                });
                k += c + 2;
            }
        }
        let owners_start = k;
        if t.as_bytes().get(k).is_some_and(|b| is_space_byte(*b)) {
            while let Some(&b) = t.as_bytes().get(k) {
                if is_space_byte(b)
                    || b.is_ascii_alphanumeric()
                    || matches!(b, b'@' | b'_' | b'.' | b'-' | b'/' | b'+')
                {
                    k += 1;
                } else {
                    break;
                }
            }
        }
        let owner_toks = tokens(text, base + owners_start..base + k);
        let (default_owners, _) = self.gitlab_owners(&owner_toks);
        if !owner_toks.is_empty() && default_owners.is_empty() {
            self.issue(
                line,
                base + owners_start..base + k,
                "no valid default owner in this section header; GitLab reports an invalid section owner format",
            );
        }
        if k < t.len() {
            self.issue(
                line,
                base + k..body.end,
                "GitLab ignores the text after this section header",
            );
        }
        if name.is_empty() {
            self.issue(
                line,
                body.clone(),
                "this section header has no name; GitLab reports a missing section name",
            );
        }
        if optional && approvals > 0 {
            self.issue(
                line,
                body.clone(),
                "an optional `^[Section]` cannot require approvals; GitLab reports an invalid approval requirement",
            );
        }
        let index = self.co.sections.len();
        let group = *self
            .section_groups
            .entry(name.to_lowercase())
            .or_insert(index);
        self.co.sections.push(Section {
            name: name.to_string(),
            optional,
            approvals: approvals.max(1),
            default_owners,
            line,
            span: body,
            group,
        });
        self.header = Some(index);
        true
    }
}

/// The rule deciding a path in one section: an index into `CodeOwners::rules`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Decision {
    /// `None` for GitHub and for GitLab lines before any header; otherwise the section group
    /// (the index of the first header with that name).
    pub section: Option<usize>,
    pub rule: usize,
}

/// Effective owners of a decision: the rule's owners, or (GitLab) the section's default owners
/// when the rule lists none.
pub fn effective_owners<'a>(co: &'a CodeOwners, d: &Decision) -> &'a [Owner] {
    let Some(rule) = co.rules.get(d.rule) else {
        return &[];
    };
    if !rule.owners.is_empty() || rule.owner_text || co.platform == Platform::GitHub {
        return &rule.owners;
    }
    rule.section
        .and_then(|h| co.sections.get(h))
        .map_or(&[], |s| &s.default_owners)
}

/// One matchable line, in precedence order.
#[derive(Debug)]
struct Entry {
    pattern: Pattern,
    rule: usize,
    group: Option<usize>,
    exclusion: bool,
}

/// Decides paths against a parsed file. Patterns are compiled once; each path is checked only
/// against the lines whose literal part (a whole component, a suffix such as `.js`, or a prefix)
/// occurs in it, plus the few lines without any literal, so cost does not grow with
/// lines × paths.
#[derive(Debug)]
pub struct Matcher {
    /// Ascending precedence: a later entry beats an earlier one in the same section.
    entries: Vec<Entry>,
    components: HashMap<String, Vec<u32>>,
    suffixes: HashMap<String, Vec<u32>>,
    suffix_lens: Vec<usize>,
    prefixes: HashMap<String, Vec<u32>>,
    prefix_lens: Vec<usize>,
    /// Entries without a literal, highest precedence first.
    always: Vec<u32>,
    groups: usize,
    has_exclusions: bool,
}

impl Matcher {
    /// Compiles every rule of `co` once.
    pub fn new(co: &CodeOwners) -> Matcher {
        let group_of = |r: &Rule| r.section.map(|h| co.sections.get(h).map_or(h, |s| s.group));
        // (precedence, rule, group, exclusion, pattern)
        let mut chosen: Vec<(usize, usize, Option<usize>, bool, Pattern)> = Vec::new();
        match co.platform {
            Platform::GitHub => {
                for (i, r) in co.rules.iter().enumerate() {
                    if let Ok(p) = pattern::compile_github(&r.pattern) {
                        chosen.push((i, i, None, false, p));
                    }
                }
            }
            Platform::GitLab => {
                // A repeated normalised pattern in a section keeps the first line's position and
                // takes the last line's owners.
                let mut seen: HashMap<(Option<usize>, String), (usize, usize)> = HashMap::new();
                for (i, r) in co.rules.iter().enumerate() {
                    let body = r.pattern.strip_prefix('!').unwrap_or(&r.pattern);
                    let key = (group_of(r), pattern::normalize_gitlab(body));
                    seen.entry(key).and_modify(|e| e.1 = i).or_insert((i, i));
                }
                for ((group, norm), (first, last)) in seen {
                    if let (Some(p), Some(r)) = (pattern::compile_gitlab(&norm), co.rules.get(last))
                    {
                        chosen.push((first, last, group, r.exclusion, p));
                    }
                }
            }
        }
        chosen.sort_by_key(|c| c.0);
        let mut m = Matcher {
            entries: Vec::with_capacity(chosen.len()),
            components: HashMap::new(),
            suffixes: HashMap::new(),
            suffix_lens: Vec::new(),
            prefixes: HashMap::new(),
            prefix_lens: Vec::new(),
            always: Vec::new(),
            groups: 0,
            has_exclusions: false,
        };
        // Index each line under its rarest literal, so a component shared by thousands of lines
        // (`src`, `config`) does not make all of them candidates.
        let keys: Vec<Vec<IndexKey>> = chosen.iter().map(|c| c.4.index_keys()).collect();
        let mut freq: HashMap<&IndexKey, usize> = HashMap::new();
        for k in keys.iter().flatten() {
            *freq.entry(k).or_default() += 1;
        }
        let best: Vec<Option<IndexKey>> = keys
            .iter()
            .map(|ks| {
                ks.iter()
                    .min_by_key(|k| {
                        (
                            freq.get(k).copied().unwrap_or(0),
                            std::cmp::Reverse(k.len()),
                        )
                    })
                    .cloned()
            })
            .collect();
        let mut groups: Vec<Option<usize>> = Vec::new();
        for (id, ((_, rule, group, exclusion, pattern), key)) in
            chosen.into_iter().zip(best).enumerate()
        {
            let id = id as u32;
            match key {
                Some(IndexKey::Component(k)) => m.components.entry(k).or_default().push(id),
                Some(IndexKey::Suffix(k)) => {
                    m.suffix_lens.push(k.len());
                    m.suffixes.entry(k).or_default().push(id);
                }
                Some(IndexKey::Prefix(k)) => {
                    m.prefix_lens.push(k.len());
                    m.prefixes.entry(k).or_default().push(id);
                }
                None => m.always.push(id),
            }
            groups.push(group);
            m.has_exclusions |= exclusion;
            m.entries.push(Entry {
                pattern,
                rule,
                group,
                exclusion,
            });
        }
        for lens in [&mut m.suffix_lens, &mut m.prefix_lens] {
            lens.sort_unstable();
            lens.dedup();
        }
        m.always.reverse();
        groups.sort_unstable();
        groups.dedup();
        m.groups = groups.len();
        m
    }

    /// The deciding rule per section (GitHub: at most one entry, section None): the last matching
    /// rule index into `co.rules`. Sections come in order, `None` first; a GitLab section where a
    /// `!` exclusion matches yields nothing.
    pub fn decide(&self, path: &str) -> Vec<Decision> {
        let comps: Vec<&str> = path.split('/').filter(|c| !c.is_empty()).collect();
        if comps.is_empty() || self.entries.is_empty() {
            return Vec::new();
        }
        let mut cands: Vec<u32> = Vec::new();
        for c in &comps {
            if let Some(v) = self.components.get(*c) {
                cands.extend_from_slice(v);
            }
            for &len in &self.suffix_lens {
                let Some(at) = c.len().checked_sub(len) else {
                    break;
                };
                if let Some(v) = c.get(at..).and_then(|s| self.suffixes.get(s)) {
                    cands.extend_from_slice(v);
                }
            }
            for &len in &self.prefix_lens {
                if len > c.len() {
                    break;
                }
                if let Some(v) = c.get(..len).and_then(|s| self.prefixes.get(s)) {
                    cands.extend_from_slice(v);
                }
            }
        }
        cands.sort_unstable_by(|a, b| b.cmp(a));
        cands.dedup();

        // Sets, not lists: a file of many sections must not cost sections x candidates.
        let mut decided: Vec<(Option<usize>, usize)> = Vec::new();
        let mut decided_groups: HashSet<Option<usize>> = HashSet::new();
        let mut excluded: HashSet<Option<usize>> = HashSet::new();
        let mut scratch = Scratch::default();
        let (mut i, mut j) = (0, 0);
        loop {
            // Merge the two descending lists: highest precedence first.
            let id = match (cands.get(i), self.always.get(j)) {
                (Some(&a), Some(&b)) if a > b => {
                    i += 1;
                    a
                }
                (_, Some(&b)) => {
                    j += 1;
                    b
                }
                (Some(&a), None) => {
                    i += 1;
                    a
                }
                (None, None) => break,
            };
            let Some(e) = self.entries.get(id as usize) else {
                continue;
            };
            if excluded.contains(&e.group) {
                continue;
            }
            if e.exclusion {
                if e.pattern.matches(&comps, &mut scratch) {
                    // A decision already made in the group is dropped below.
                    excluded.insert(e.group);
                }
                continue;
            }
            if decided_groups.contains(&e.group) {
                continue;
            }
            if e.pattern.matches(&comps, &mut scratch) {
                decided_groups.insert(e.group);
                decided.push((e.group, e.rule));
                if !self.has_exclusions && decided.len() == self.groups {
                    break;
                }
            }
        }
        let mut out: Vec<Decision> = decided
            .into_iter()
            .filter(|d| !excluded.contains(&d.0))
            .map(|(section, rule)| Decision { section, rule })
            .collect();
        out.sort_by_key(|d| d.section);
        out
    }
}
