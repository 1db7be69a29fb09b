//! CODEOWNERS patterns: translation of GitHub's and GitLab's pattern languages into one
//! component-wise form, and matching of that form against a repo-relative path.
//!
//! Both platforms are normalised to a [`Pattern`]: a list of per-component matchers, whether the
//! first one must sit at the repository root, and what may follow the last one. Matching works on
//! path components, so a `*` can never cross a `/`, and a whole-pattern regex is never needed.

/// One token of a component glob.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Tok {
    /// A literal character (escapes already removed).
    Char(char),
    /// `?`: any one character.
    Any,
    /// `*`: any run of characters, possibly empty.
    Star,
    /// `[...]` (GitLab only): one character in (or, negated, not in) the ranges.
    Class {
        negated: bool,
        ranges: Vec<(char, char)>,
    },
}

/// A matcher for path components.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Seg {
    /// Exactly this component.
    Lit(String),
    /// One component matching the glob.
    Glob(Vec<Tok>),
    /// `**` as a whole segment: zero or more components.
    AnyDirs,
}

/// What may follow the last segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tail {
    /// The path ends with the last segment.
    Exact,
    /// The path ends there or continues below it (a file, or a directory and all it holds).
    OrBelow,
    /// The path continues below it (the segments name a directory).
    BelowOnly,
}

/// A compiled CODEOWNERS pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Pattern {
    /// The first segment matches the first path component; otherwise any component.
    pub anchored: bool,
    pub segs: Vec<Seg>,
    pub tail: Tail,
}

/// Why GitHub rejects a pattern. GitHub skips such a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum GitHubPatternError {
    Negation,
    EscapedHash,
    Range,
    NeverMatches,
}

impl GitHubPatternError {
    /// The reason, as shown to the user.
    pub fn message(self) -> &'static str {
        match self {
            GitHubPatternError::Negation => {
                "`!` negation is not supported by GitHub CODEOWNERS; GitHub skips this line, so it does not un-own anything"
            }
            GitHubPatternError::EscapedHash => {
                "escaping a leading `#` with `\\` is not supported by GitHub CODEOWNERS; GitHub skips this line, so it owns nothing"
            }
            GitHubPatternError::Range => {
                "`[ ]` character ranges are not supported by GitHub CODEOWNERS; GitHub reports an error and skips this line"
            }
            GitHubPatternError::NeverMatches => {
                "this pattern never matches anything on GitHub (did you mean `*`?); GitHub reports an error and skips this line"
            }
        }
    }
}

/// A lexed pattern character stream: tokens and separators.
enum Lex {
    Sep,
    Tok(Tok),
}

/// Characters Ruby's `\s` (GitLab) and gitignore treat as whitespace.
pub(crate) fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n' | '\x0b' | '\x0c')
}

/// Compiles a GitHub pattern (gitignore rules minus the documented exceptions, plus GitHub's
/// `dir/*` rule: a trailing `/*` matches direct children only).
pub(crate) fn compile_github(raw: &str) -> Result<Pattern, GitHubPatternError> {
    if raw.starts_with('!') {
        return Err(GitHubPatternError::Negation);
    }
    if raw.starts_with("\\#") {
        return Err(GitHubPatternError::EscapedHash);
    }
    let mut lex = Vec::new();
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                // `\/` stays a separator: a file name cannot hold a slash.
                Some('/') => lex.push(Lex::Sep),
                Some(e) => lex.push(Lex::Tok(Tok::Char(e))),
                None => lex.push(Lex::Tok(Tok::Char('\\'))),
            },
            '/' => lex.push(Lex::Sep),
            '*' => lex.push(Lex::Tok(Tok::Star)),
            '?' => lex.push(Lex::Tok(Tok::Any)),
            '[' | ']' => return Err(GitHubPatternError::Range),
            _ => lex.push(Lex::Tok(Tok::Char(c))),
        }
    }
    let parts = split_segments(lex);
    let dir_only = parts.len() > 1 && parts.last().is_some_and(|p| p.is_empty());
    let body = if dir_only {
        &parts[..parts.len() - 1]
    } else {
        &parts[..]
    };
    // gitignore: a slash at the start or in the middle anchors the pattern to the root.
    let mut anchored = body.len() > 1;
    let mut segs: Vec<Seg> = body
        .iter()
        .filter(|p| !p.is_empty())
        .map(|p| to_seg(p, true))
        .collect();
    if segs.is_empty() {
        return Err(GitHubPatternError::NeverMatches);
    }
    dedup_any_dirs(&mut segs);
    let mut tail = if dir_only {
        Tail::BelowOnly
    } else {
        Tail::OrBelow
    };
    if segs.last() == Some(&Seg::AnyDirs) {
        // A trailing `/**` matches everything inside; a bare `**` matches everything.
        segs.pop();
        tail = Tail::BelowOnly;
        if segs.is_empty() {
            anchored = true;
        }
    } else if !dir_only
        && (anchored || segs.len() > 1)
        && segs.last() == Some(&Seg::Glob(vec![Tok::Star]))
    {
        // GitHub's documented exception: `docs/*` covers `docs/a.md`, not `docs/b/c.md`.
        tail = Tail::Exact;
    }
    if anchored && segs.first() == Some(&Seg::AnyDirs) {
        segs.remove(0);
        anchored = false;
    }
    Ok(Pattern {
        anchored,
        segs,
        tail,
    })
}

/// GitLab's pattern normalisation (`Gitlab::CodeOwners::File#normalize_pattern`): the result is
/// also the key under which a later duplicate line in the same section replaces an earlier one.
pub(crate) fn normalize_gitlab(raw: &str) -> String {
    if raw == "*" {
        return "/**/*".to_string();
    }
    let raw = match raw.strip_prefix("\\#") {
        Some(rest) => format!("#{rest}"),
        None => raw.to_string(),
    };
    // `\` followed by whitespace becomes one plain space.
    let mut out = String::with_capacity(raw.len() + 8);
    let mut chars = raw.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\' && chars.peek().is_some_and(|n| is_space(*n)) {
            while chars.peek().is_some_and(|n| is_space(*n)) {
                chars.next();
            }
            out.push(' ');
        } else {
            out.push(c);
        }
    }
    if !out.starts_with('/') {
        out.insert_str(0, "/**/");
    }
    if out.ends_with('/') {
        out.push_str("**/*");
    }
    out
}

/// Compiles a normalised GitLab pattern with Ruby's `File.fnmatch` rules under `FNM_PATHNAME |
/// FNM_DOTMATCH`: `*` and `?` never match `/`, `**/` at a segment start matches zero or more
/// directories, any other `**` is a plain `*`, `[...]` classes and `\` escapes work. `None` when
/// the pattern can never match (an unterminated or empty `[` class).
pub(crate) fn compile_gitlab(normalized: &str) -> Option<Pattern> {
    let chars: Vec<char> = normalized.chars().collect();
    let mut lex = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '\\' if i + 1 < chars.len() && chars[i + 1] != '/' => {
                lex.push(Lex::Tok(Tok::Char(chars[i + 1])));
                i += 2;
            }
            '/' => {
                lex.push(Lex::Sep);
                i += 1;
            }
            '*' => {
                lex.push(Lex::Tok(Tok::Star));
                i += 1;
            }
            '?' => {
                lex.push(Lex::Tok(Tok::Any));
                i += 1;
            }
            '[' => {
                let (tok, next) = ruby_bracket(&chars, i + 1)?;
                lex.push(Lex::Tok(tok));
                i = next;
            }
            c => {
                lex.push(Lex::Tok(Tok::Char(c)));
                i += 1;
            }
        }
    }
    let mut parts = split_segments(lex);
    // The pattern and the path both start with `/`; their empty first components always match.
    if parts.first().is_some_and(|p| p.is_empty()) {
        parts.remove(0);
    }
    let last = parts.len().saturating_sub(1);
    let mut segs = Vec::with_capacity(parts.len());
    let mut after_any_dirs = false;
    for (k, part) in parts.iter().enumerate() {
        // Ruby skips repeated slashes after `**/`.
        if after_any_dirs && part.is_empty() && k != last {
            continue;
        }
        let seg = if k != last && is_double_star(part) {
            Seg::AnyDirs
        } else {
            to_seg(part, false)
        };
        after_any_dirs = seg == Seg::AnyDirs;
        segs.push(seg);
    }
    dedup_any_dirs(&mut segs);
    let mut anchored = true;
    let mut tail = Tail::Exact;
    let n = segs.len();
    if n >= 2 && segs[n - 2] == Seg::AnyDirs && segs[n - 1] == Seg::Glob(vec![Tok::Star]) {
        // `dir/**/*`: one or more components below `dir`.
        segs.truncate(n - 2);
        tail = Tail::BelowOnly;
    }
    if segs.first() == Some(&Seg::AnyDirs) {
        segs.remove(0);
        anchored = false;
    }
    Some(Pattern {
        anchored,
        segs,
        tail,
    })
}

/// Parses a Ruby `fnmatch` bracket expression starting after `[`. Returns the class and the index
/// after `]`, or `None` when the class can never match (unterminated or empty), as Ruby does.
fn ruby_bracket(chars: &[char], mut i: usize) -> Option<(Tok, usize)> {
    let mut negated = false;
    if matches!(chars.get(i), Some('!' | '^')) {
        negated = true;
        i += 1;
    }
    let mut ranges = Vec::new();
    loop {
        let c = *chars.get(i)?;
        if c == ']' {
            i += 1;
            break;
        }
        let lo = if c == '\\' {
            i += 1;
            *chars.get(i)?
        } else {
            c
        };
        i += 1;
        if chars.get(i) == Some(&'-') && chars.get(i + 1).is_some_and(|n| *n != ']') {
            i += 1;
            let mut hi = *chars.get(i)?;
            if hi == '\\' {
                i += 1;
                hi = *chars.get(i)?;
            }
            i += 1;
            // Ruby simply never matches a reversed range.
            if lo <= hi {
                ranges.push((lo, hi));
            }
        } else {
            ranges.push((lo, lo));
        }
    }
    if ranges.is_empty() && !negated {
        return None;
    }
    Some((Tok::Class { negated, ranges }, i))
}

/// Splits a lexed stream at separators.
fn split_segments(lex: Vec<Lex>) -> Vec<Vec<Tok>> {
    let mut parts = vec![Vec::new()];
    for l in lex {
        match l {
            Lex::Sep => parts.push(Vec::new()),
            Lex::Tok(t) => {
                if let Some(p) = parts.last_mut() {
                    p.push(t);
                }
            }
        }
    }
    parts
}

fn is_double_star(part: &[Tok]) -> bool {
    part == [Tok::Star, Tok::Star]
}

/// Builds one segment. `double_star_dirs`: a whole-segment `**` means any directories (gitignore).
fn to_seg(part: &[Tok], double_star_dirs: bool) -> Seg {
    if double_star_dirs && is_double_star(part) {
        return Seg::AnyDirs;
    }
    if part.iter().all(|t| matches!(t, Tok::Char(_))) {
        return Seg::Lit(
            part.iter()
                .filter_map(|t| match t {
                    Tok::Char(c) => Some(*c),
                    _ => None,
                })
                .collect(),
        );
    }
    let mut toks: Vec<Tok> = Vec::with_capacity(part.len());
    for t in part {
        // Consecutive stars inside a component are one star.
        if *t == Tok::Star && toks.last() == Some(&Tok::Star) {
            continue;
        }
        toks.push(t.clone());
    }
    Seg::Glob(toks)
}

fn dedup_any_dirs(segs: &mut Vec<Seg>) {
    segs.dedup_by(|a, b| *a == Seg::AnyDirs && *b == Seg::AnyDirs);
}

impl Tok {
    fn matches(&self, c: char) -> bool {
        match self {
            Tok::Char(x) => *x == c,
            Tok::Any => c != '/',
            Tok::Star => true,
            Tok::Class { negated, ranges } => {
                c != '/' && ranges.iter().any(|(lo, hi)| *lo <= c && c <= *hi) != *negated
            }
        }
    }
}

/// Matches one path component against a glob (backtracking to the last `*` only, which is
/// complete for `*` and linear in practice).
pub(crate) fn glob_matches(toks: &[Tok], s: &str) -> bool {
    let (mut ti, mut si) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    loop {
        if let Some(t) = toks.get(ti) {
            if *t == Tok::Star {
                star = Some((ti + 1, si));
                ti += 1;
                continue;
            }
            if let Some(c) = s.get(si..).and_then(|r| r.chars().next())
                && t.matches(c)
            {
                ti += 1;
                si += c.len_utf8();
                continue;
            }
        } else if si >= s.len() {
            return true;
        }
        match star {
            Some((st, ss)) => match s.get(ss..).and_then(|r| r.chars().next()) {
                Some(c) => {
                    star = Some((st, ss + c.len_utf8()));
                    ti = st;
                    si = ss + c.len_utf8();
                }
                None => return false,
            },
            None => return false,
        }
    }
}

impl Seg {
    fn matches(&self, comp: &str) -> bool {
        match self {
            Seg::Lit(l) => l == comp,
            Seg::Glob(toks) => glob_matches(toks, comp),
            Seg::AnyDirs => true,
        }
    }
}

/// Reusable buffers for [`Pattern::matches`].
#[derive(Default)]
pub(crate) struct Scratch {
    cur: Vec<bool>,
    next: Vec<bool>,
}

impl Pattern {
    /// Whether the pattern matches a path given as its non-empty components.
    pub fn matches(&self, comps: &[&str], scratch: &mut Scratch) -> bool {
        let n = comps.len();
        if n == 0 {
            return false;
        }
        // cur[j]: the segments so far can end just before component j.
        let cur = &mut scratch.cur;
        let next = &mut scratch.next;
        cur.clear();
        cur.resize(n + 1, !self.anchored);
        cur[0] = true;
        if !self.anchored {
            cur[n] = false;
        }
        for seg in &self.segs {
            match seg {
                Seg::AnyDirs => {
                    let Some(first) = cur.iter().position(|b| *b) else {
                        return false;
                    };
                    cur.iter_mut().skip(first).for_each(|b| *b = true);
                }
                _ => {
                    next.clear();
                    next.resize(n + 1, false);
                    let mut any = false;
                    for j in 0..n {
                        if cur[j] && seg.matches(comps[j]) {
                            next[j + 1] = true;
                            any = true;
                        }
                    }
                    if !any {
                        return false;
                    }
                    std::mem::swap(cur, next);
                }
            }
        }
        match self.tail {
            Tail::Exact => cur[n],
            Tail::OrBelow => cur.iter().skip(1).any(|b| *b),
            Tail::BelowOnly => cur.iter().take(n).any(|b| *b),
        }
    }

    /// Literals a matching path must contain, for indexing: whole components, and the ends and
    /// starts of components matched by globs. Empty when the pattern has no literal part.
    pub fn index_keys(&self) -> Vec<IndexKey> {
        let mut keys = Vec::new();
        for seg in &self.segs {
            match seg {
                Seg::Lit(l) => keys.push(IndexKey::Component(l.clone())),
                Seg::Glob(toks) => {
                    let suffix: String = literal_run(toks.iter().rev()).chars().rev().collect();
                    let prefix = literal_run(toks.iter());
                    if !suffix.is_empty() {
                        keys.push(IndexKey::Suffix(suffix));
                    }
                    if !prefix.is_empty() {
                        keys.push(IndexKey::Prefix(prefix));
                    }
                }
                Seg::AnyDirs => {}
            }
        }
        keys
    }
}

fn literal_run<'a>(toks: impl Iterator<Item = &'a Tok>) -> String {
    toks.map_while(|t| match t {
        Tok::Char(c) => Some(*c),
        _ => None,
    })
    .collect()
}

/// A literal that every path matching a pattern contains.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum IndexKey {
    Component(String),
    Suffix(String),
    Prefix(String),
}

impl IndexKey {
    /// The literal's length in bytes.
    pub fn len(&self) -> usize {
        match self {
            IndexKey::Component(s) | IndexKey::Suffix(s) | IndexKey::Prefix(s) => s.len(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn comps(path: &str) -> Vec<&str> {
        path.split('/').filter(|c| !c.is_empty()).collect()
    }

    fn gh(pattern: &str, path: &str) -> bool {
        let p = compile_github(pattern).unwrap_or_else(|e| panic!("{pattern}: {e:?}"));
        p.matches(&comps(path), &mut Scratch::default())
    }

    fn gl(pattern: &str, path: &str) -> bool {
        compile_gitlab(&normalize_gitlab(pattern))
            .is_some_and(|p| p.matches(&comps(path), &mut Scratch::default()))
    }

    #[test]
    fn component_globs() {
        let star = |s: &str| {
            vec![
                Tok::Star,
                Tok::Char('.'),
                Tok::Char(s.chars().next().unwrap()),
            ]
        };
        for (toks, s, want) in [
            (star("j"), "a.j", true),
            (star("j"), ".j", true),
            (star("j"), "a.jx", false),
            (vec![Tok::Star], "", true),
            (vec![Tok::Any], "é", true),
            (vec![Tok::Any], "ab", false),
            (
                vec![Tok::Star, Tok::Char('a'), Tok::Star, Tok::Char('b')],
                "xxaxxbxb",
                true,
            ),
            (
                vec![Tok::Star, Tok::Char('a'), Tok::Star, Tok::Char('b')],
                "xxaxxbxc",
                false,
            ),
        ] {
            assert_eq!(glob_matches(&toks, s), want, "{toks:?} vs {s}");
        }
    }

    #[test]
    fn github_pattern_shapes() {
        for (pat, path, want) in [
            ("*", "a/b/c", true),
            ("/*", "README.md", true),
            ("/*", "src/main.rs", false),
            ("docs/*", "docs/a.md", true),
            ("docs/*", "docs/a/b.md", false),
            ("docs/*.md", "docs/a.md", true),
            ("a/**/b", "a/b", true),
            ("a/**/b", "a/x/y/b/c", true),
            ("a/**/b", "x/a/b", false),
            ("a/**", "a/x/y", true),
            ("a/**", "a", false),
            ("**", "x/y", true),
            ("/**", "x", true),
            ("**/x", "a/b/x", true),
            ("x/", "x", false),
            ("x/", "a/x/y", true),
            ("x", "a/x", true),
            ("x", "a/x/y", true),
            ("x", "a/xy", false),
            ("a?c", "abc", true),
            ("a?c", "a/c", false),
            ("foo\\ bar", "foo bar", true),
            ("\\*", "*", true),
            ("\\*", "x", false),
            ("Docs/", "docs/a", false),
        ] {
            assert_eq!(gh(pat, path), want, "github {pat} vs {path}");
        }
    }

    #[test]
    fn github_rejected_patterns() {
        for (pat, err) in [
            ("!a", GitHubPatternError::Negation),
            ("\\#a", GitHubPatternError::EscapedHash),
            ("a[0-9]", GitHubPatternError::Range),
            ("pages/[id].tsx", GitHubPatternError::Range),
            ("/", GitHubPatternError::NeverMatches),
            ("//", GitHubPatternError::NeverMatches),
        ] {
            assert_eq!(compile_github(pat), Err(err), "{pat}");
        }
        assert!(
            compile_github("a!b").is_ok(),
            "a `!` inside a name is a plain character"
        );
        assert!(compile_github("a#b").is_ok());
    }

    #[test]
    fn gitlab_normalisation() {
        for (raw, want) in [
            ("*", "/**/*"),
            ("*.rb", "/**/*.rb"),
            ("/docs/", "/docs/**/*"),
            ("docs/", "/**/docs/**/*"),
            ("\\#file", "/**/#file"),
            ("path\\ with\\ spaces/", "/**/path with spaces/**/*"),
            ("/a", "/a"),
        ] {
            assert_eq!(normalize_gitlab(raw), want, "{raw}");
        }
    }

    #[test]
    fn gitlab_fnmatch_shapes() {
        for (pat, path, want) in [
            ("*", "a/b/c", true),
            ("/docs/*", "docs/a.md", true),
            ("/docs/*", "docs/a/b.md", false),
            // GitLab does not anchor a pattern with a middle slash.
            ("docs/*", "src/docs/x.md", true),
            // A pattern without a trailing slash names a file, not a directory.
            ("docs", "docs/a.md", false),
            ("docs", "ee/docs", true),
            ("/config", "config/app.yml", false),
            // Ruby treats a `**` that is not followed by `/` as `*`.
            ("/doc-locale/**", "doc-locale/a.md", true),
            ("/doc-locale/**", "doc-locale/ja/a.md", false),
            ("/docs/**/*.md", "docs/a.md", true),
            ("/docs/**/*.md", "docs/a/b/c.md", true),
            ("/docs/**/*.md", "src/docs/a.md", false),
            ("file[0-9].txt", "file1.txt", true),
            ("file[0-9].txt", "fileX.txt", false),
            ("file[!0-9].txt", "fileX.txt", true),
            ("file[^0-9].txt", "file1.txt", false),
            ("file[!].txt", "fileX.txt", true),
            ("a[\\]]b", "a]b", true),
            ("[z-a]x", "ax", false),
            ("\\#file.rb", "#file.rb", true),
            ("\\#file.rb", "\\#file.rb", false),
            ("path\\ with\\ spaces/", "path with spaces/a", true),
            (".*", "x/.env", true),
            ("*", ".gitignore", true),
            ("a\\*b", "a*b", true),
            ("a\\*b", "axb", false),
            ("/a//b", "a/b", false),
        ] {
            assert_eq!(gl(pat, path), want, "gitlab {pat} vs {path}");
        }
        assert_eq!(compile_gitlab(&normalize_gitlab("file[0-9")), None);
        assert_eq!(compile_gitlab(&normalize_gitlab("file[]x")), None);
        assert_eq!(compile_gitlab(&normalize_gitlab("x[")), None);
    }

    #[test]
    fn index_keys_are_literals_every_match_contains() {
        let keys = |p: &str| {
            compile_github(p)
                .map(|p| p.index_keys())
                .unwrap_or_default()
        };
        let comp = |s: &str| IndexKey::Component(s.into());
        assert_eq!(keys("/src/module/"), vec![comp("src"), comp("module")]);
        assert_eq!(keys("*.js"), vec![IndexKey::Suffix(".js".into())]);
        assert_eq!(
            keys("a/test_*.py"),
            vec![
                comp("a"),
                IndexKey::Suffix(".py".into()),
                IndexKey::Prefix("test_".into())
            ]
        );
        assert_eq!(keys("*"), vec![]);
        assert_eq!(keys("**"), vec![]);
    }
}
