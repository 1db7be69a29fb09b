//! Slicing a test file before it is parsed: the test functions that cannot matter to the
//! analysis are blanked out, so tree-sitter parses a fraction of a large test module.
//!
//! Parsing is most of the cost of `unguarded-destructive-fixture`, and a test module that holds
//! one destructive fixture usually holds dozens of ordinary tests beside it. An ordinary test
//! (a `test_*` function, an `it` block) is dropped only when all of these hold:
//!
//! - it is a test the runner calls by itself, never a fixture, hook, helper or setup method;
//! - its own text has no destructive keyword (the language's prefilter, on the test alone);
//! - nothing else in the file names it, so no call, fixture request or string refers to it;
//! - it names nothing that can carry a destructive operation into it. Those names are found by a
//!   closure that starts at every line with a destructive keyword: the names that line binds and
//!   the functions it sits in, then every name bound by a line that mentions one of those, and so
//!   on. A test calling `wipe()` or running `RESET_SQL` is kept;
//! - it binds no name that the code left standing mentions, where the analysis may look a name
//!   up wherever the file assigns it (where it reads only a name's first binding, the language's
//!   slicer keeps a test holding that binding);
//! - it holds nothing the language's analysis collects from the whole file wherever it stands
//!   (imports, environment variables forced to a test value, a framework set up by hand): each
//!   language keeps such tests out of the candidates.
//!
//! Dropping such a test cannot remove a finding (it holds no operation and reaches none) nor a
//! guard (nothing runs it before an operation: it is called by the runner only). A file that
//! other files inherit guards from (a `conftest.py`, a base class) is never sliced.
//!
//! Blanking replaces every byte of a dropped test but its line breaks with a space, so every
//! offset, line and column of what is left is unchanged and the analysis reads the original
//! text. The analysers parse the whole file again if the sliced text does not parse cleanly.

use std::hash::{BuildHasherDefault, Hasher};
use std::ops::Range;

pub(crate) mod go;
pub(crate) mod java;
pub(crate) mod javascript;
pub(crate) mod python;
pub(crate) mod ruby;

/// One logical line (a statement's first line with its continuation lines) of a file.
#[derive(Debug, Clone, Default)]
pub(crate) struct Line<'a> {
    /// Byte range in the file.
    pub range: Range<usize>,
    /// Names the line binds (assignment targets, a declared function's name, imports).
    pub bound: Vec<&'a str>,
    /// Names of the functions and classes the line sits in, innermost first.
    pub scope: Vec<&'a str>,
    /// The candidate block that contains it.
    pub block: Option<usize>,
}

/// A test the runner calls by itself: a candidate for dropping.
#[derive(Debug, Clone)]
pub(crate) struct Block<'a> {
    /// Byte range of whole lines, decorators or annotations included.
    pub range: Range<usize>,
    /// Its name, for a test that has one (`test_orders`); `it` blocks have none.
    pub name: Option<&'a str>,
    /// Text written at `fill_at` so that what remains still parses (`pass` in a Python class
    /// body that would otherwise be empty).
    pub fill: &'static str,
    pub fill_at: usize,
}

/// Names a test must not have for the slicer to drop it: guards from the config and from the
/// files this one inherits from.
pub(crate) fn keeps(ctx: &super::Context) -> Vec<String> {
    let i = &ctx.inherited;
    (ctx.extra_guards.iter())
        .chain(&i.guard_fixtures)
        .chain(&i.guard_helpers)
        .cloned()
        .collect()
}

/// A test on one line's text.
pub(crate) type LineTest = fn(&str) -> bool;

/// What the slicer needs of a language.
pub(crate) struct Lang {
    /// The language's prefilter, run on a candidate's own text.
    pub may_destroy: fn(&str) -> bool,
    /// Reserved words, never names a line can bind or refer to.
    pub reserved: &'static [&'static str],
    /// Set when the analysis may read a name through any of its assignments in the file: then a
    /// test is kept when one of its lines for which the second function is true binds a name
    /// that a remaining line for which the first is true mentions. A language whose analysis
    /// reads only a name's first binding checks that itself, more narrowly.
    pub binding_readers: Option<(LineTest, LineTest)>,
}

/// A byte that continues an identifier. Bytes of non-ASCII characters count, as they do in the
/// slicers' scanners: `wipé` is one name, never `wip`.
fn ident_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c == b'$' || c >= 0x80
}

/// A byte that opens an identifier.
fn ident_start(c: u8) -> bool {
    c.is_ascii_alphabetic() || c == b'_' || c == b'$' || c >= 0x80
}

/// Where the run of identifier bytes from `i` ends.
fn ident_end(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && ident_byte(b[i]) {
        i += 1;
    }
    i
}

/// Identifier-shaped words of `text`, strings and comments included (a string can name a
/// fixture, a comment can hide nothing but costs nothing to count).
pub(crate) fn words(text: &str) -> impl Iterator<Item = &str> {
    let b = text.as_bytes();
    let mut i = 0;
    std::iter::from_fn(move || {
        while i < b.len() {
            let c = b[i];
            if ident_start(c) {
                let start = i;
                i = ident_end(b, i);
                return Some(&text[start..i]);
            }
            if c.is_ascii_digit() {
                i = ident_end(b, i);
                continue;
            }
            i += 1;
        }
        None
    })
}

/// The identifier-shaped words of `text` that can be identifiers: like [`words`], but outside
/// string, character and rune literals and comments (`backtick`: Go, whose raw strings are
/// quoted with it; otherwise Java, with its `"""` text blocks). For text its language's slicer
/// has lexed, so every literal and comment closes.
pub(crate) fn code_words(text: &str, backtick: bool) -> impl Iterator<Item = &str> {
    let b = text.as_bytes();
    let mut i = 0;
    let after = |from: usize, pat: &[u8]| {
        memchr::memmem::find(&b[from.min(b.len())..], pat).map_or(b.len(), |n| from + n + pat.len())
    };
    std::iter::from_fn(move || {
        while i < b.len() {
            let c = b[i];
            if ident_start(c) {
                let start = i;
                i = ident_end(b, i);
                return Some(&text[start..i]);
            }
            i = match c {
                b'0'..=b'9' => {
                    let mut j = i;
                    while j < b.len() && (b[j].is_ascii_alphanumeric() || b[j] == b'_') {
                        j += 1;
                    }
                    j
                }
                b'/' if b.get(i + 1) == Some(&b'/') => after(i, b"\n"),
                b'/' if b.get(i + 1) == Some(&b'*') => after(i + 2, b"*/"),
                b'`' if backtick => after(i + 1, b"`"),
                b'"' if !backtick && b[i..].starts_with(b"\"\"\"") => {
                    let mut j = i + 3;
                    while j < b.len() && !b[j..].starts_with(b"\"\"\"") {
                        j += if b[j] == b'\\' { 2 } else { 1 };
                    }
                    j + 3
                }
                b'"' | b'\'' => {
                    let mut j = i + 1;
                    while j < b.len() && b[j] != c && b[j] != b'\n' {
                        j += if b[j] == b'\\' { 2 } else { 1 };
                    }
                    j + 1
                }
                _ => i + 1,
            };
        }
        None
    })
}

/// Marks as no candidate each block that may hold the first binding of a name written in code
/// outside it (`binds`: (block, name), grouped by block): the analyses resolve a name to its
/// first binding in the file, whatever the function, so dropping that binding could change
/// what the name means elsewhere. Code starts at `code_start`: names in the package clause and
/// imports are never read through a binding.
pub(crate) fn first_bindings_stay(
    source: &str,
    code_start: usize,
    binds: &[(usize, &str)],
    blocks: &[Block<'_>],
    valid: &mut [bool],
    backtick: bool,
) {
    if binds.is_empty() {
        return;
    }
    let mut total: std::collections::HashMap<&str, u32, BuildHasherDefault<Fnv>> =
        Default::default();
    for w in code_words(&source[code_start..], backtick) {
        *total.entry(w).or_default() += 1;
    }
    for group in binds.chunk_by(|x, y| x.0 == y.0) {
        let c = group[0].0;
        if !valid[c] {
            continue;
        }
        let mut inside = vec![0u32; group.len()];
        for w in code_words(&source[blocks[c].range.clone()], backtick) {
            if let Some(k) = group.iter().position(|(_, n)| *n == w) {
                inside[k] += 1;
            }
        }
        valid[c] = group
            .iter()
            .zip(&inside)
            .all(|((_, n), k)| total.get(n).copied().unwrap_or(0) <= *k);
    }
}

/// The byte ranges of `b`'s lines, line breaks excluded.
pub(crate) fn line_ranges(b: &[u8]) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let mut at = 0;
    while at < b.len() {
        let end = memchr::memchr(b'\n', &b[at..]).map_or(b.len(), |i| at + i);
        out.push(at..end);
        at = end + 1;
    }
    out
}

/// Blanks `b` as a dropped test is blanked: every byte but line breaks becomes a space.
pub(crate) fn blank_bytes(b: &mut [u8]) {
    for c in b {
        if *c != b'\n' {
            *c = b' ';
        }
    }
}

/// How often each word ([`words`]) occurs in a text.
pub(crate) struct WordCounts<'a>(std::collections::HashMap<&'a str, u32, BuildHasherDefault<Fnv>>);

impl<'a> WordCounts<'a> {
    pub(crate) fn of(text: &'a str) -> Self {
        let mut counts = std::collections::HashMap::default();
        for w in words(text) {
            *counts.entry(w).or_default() += 1;
        }
        WordCounts(counts)
    }

    /// Whether there are `names` and each occurs in the counted text only on `line` (one of its
    /// lines): nothing else in it names them, strings and comments included.
    pub(crate) fn only_on(&self, line: &str, names: &[&str]) -> bool {
        let own = WordCounts::of(line);
        let count = |c: &WordCounts, n: &str| c.0.get(n).copied().unwrap_or(0);
        !names.is_empty() && names.iter().all(|n| count(self, n) == count(&own, n))
    }
}

/// `text` with the byte ranges `lines` (whole lines) blanked.
pub(crate) fn blank_lines(text: String, lines: Vec<Range<usize>>) -> Option<String> {
    let mut b = text.into_bytes();
    for r in lines {
        blank_bytes(&mut b[r]);
    }
    // Only ASCII spaces were written, over whole lines.
    String::from_utf8(b).ok()
}

/// Where an empty group may be blanked: it must be a statement of its own, so that nothing
/// around it reads it or runs on into it.
pub(crate) struct Statement {
    /// The code line before the head (trimmed; empty at the start of the file) ends a statement.
    pub ends: fn(&[u8]) -> bool,
    /// The code line after the tail (trimmed; empty at the end of the file) starts a new one.
    pub starts: fn(&[u8]) -> bool,
}

/// Blanks the groups (`describe ... {`/`do` to its close) that slicing left holding nothing: a
/// line matching `head`, then only blank lines, then a line matching `tail`. The group must be a
/// statement of its own (`at`), where the language's lexer says one may stand (`may_stand_at`,
/// given the head line's start: code, not a string; in groups only), and the nearest less
/// indented code line must be a group head, if any: never a function's value or part of an
/// expression. An empty group holds no hook, test or statement, so nothing the analysis reads.
/// Innermost first, so a group holding only empty groups empties in turn.
pub(crate) fn blank_empty_groups(
    b: &mut [u8],
    head: &regex::Regex,
    tail: &regex::Regex,
    at: &Statement,
    may_stand_at: &dyn Fn(usize) -> bool,
) {
    let is_blank = |l: &[u8]| l.iter().all(|c| matches!(c, b' ' | b'\t' | b'\r'));
    let matches =
        |re: &regex::Regex, l: &[u8]| std::str::from_utf8(l).is_ok_and(|l| re.is_match(l));
    let indent = |l: &[u8]| l.iter().take_while(|c| matches!(c, b' ' | b'\t')).count();
    for _ in 0..8 {
        let lines = line_ranges(b);
        let code: Vec<usize> = (0..lines.len())
            .filter(|&i| !is_blank(&b[lines[i].clone()]))
            .collect();
        let mut changed = false;
        let mut k = 0;
        while k < code.len() {
            let i = code[k];
            let line = &b[lines[i].clone()];
            let Some(&j) = code.get(k + 1) else { break };
            let inside_group_or_top = {
                let own = indent(line);
                own == 0
                    || code[..k]
                        .iter()
                        .rev()
                        .map(|&p| &b[lines[p].clone()])
                        .find(|l| indent(l) < own)
                        .is_some_and(|l| matches(head, l))
            };
            let prev = k
                .checked_sub(1)
                .map_or(&[][..], |p| b[lines[code[p]].clone()].trim_ascii());
            let next = code
                .get(k + 2)
                .map_or(&[][..], |&n| b[lines[n].clone()].trim_ascii());
            if matches(head, line)
                && may_stand_at(lines[i].start)
                && matches(tail, &b[lines[j].clone()])
                && inside_group_or_top
                && (at.ends)(prev)
                && (at.starts)(next)
            {
                blank_bytes(&mut b[lines[i].start..lines[j].end]);
                changed = true;
                k += 2;
                continue;
            }
            k += 1;
        }
        if !changed {
            break;
        }
    }
}

/// [`plan`] over the candidates still `valid`, the lines' block indices renumbered to match.
pub(crate) fn plan_valid(
    source: &str,
    lines: &mut [Line<'_>],
    blocks: Vec<Block<'_>>,
    valid: &[bool],
    lang: &Lang,
    named: &[String],
) -> Option<String> {
    let mut index = vec![None; blocks.len()];
    let mut kept = Vec::new();
    for (k, block) in blocks.into_iter().enumerate() {
        if valid[k] {
            index[k] = Some(kept.len());
            kept.push(block);
        }
    }
    for l in lines.iter_mut() {
        l.block = l.block.and_then(|c| index[c]);
    }
    plan(source, lines, &kept, lang, named)
}

/// The non-blank lines left after slicing (`sliced`, or all of `source` when nothing was cut),
/// trailing spaces trimmed: what the slicers' tests compare.
#[cfg(test)]
pub(crate) fn remaining_lines(source: &str, sliced: Option<String>) -> Vec<String> {
    sliced
        .unwrap_or_else(|| source.to_string())
        .lines()
        .map(str::trim_end)
        .filter(|l| !l.trim().is_empty())
        .map(str::to_string)
        .collect()
}

/// FNV-1a, for the short identifier sets of one file (the default hasher costs more than the
/// whole slicing does).
#[derive(Default)]
pub(crate) struct Fnv(u64);

impl Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        let mut h = if self.0 == 0 {
            0xcbf2_9ce4_8422_2325
        } else {
            self.0
        };
        for b in bytes {
            h = (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3);
        }
        self.0 = h;
    }
}

/// Whether `name` occurs in `text` as a whole word, outside `skip`.
fn named_outside(text: &str, name: &str, skip: &Range<usize>) -> bool {
    let b = text.as_bytes();
    let ident = |i: usize| b.get(i).is_some_and(|c| ident_byte(*c));
    memchr::memmem::find_iter(b, name.as_bytes()).any(|at| {
        let end = at + name.len();
        let inside = skip.start <= at && end <= skip.end;
        // Another declaration of the same name (a redefined test) refers to nothing.
        let declaration = text[..at].ends_with("def ");
        let whole_word = (at == 0 || !ident(at - 1)) && !ident(end);
        !inside && !declaration && whole_word
    })
}

/// The file with the droppable tests blanked, or `None` when nothing can be dropped.
pub(crate) fn plan(
    source: &str,
    lines: &[Line<'_>],
    blocks: &[Block<'_>],
    lang: &Lang,
    named: &[String],
) -> Option<String> {
    if blocks.is_empty() {
        return None;
    }
    // Which lines and blocks hold a prefilter keyword: one automaton pass over the file.
    let mut hot = vec![false; lines.len()];
    let mut block_hot = vec![false; blocks.len()];
    for at in crate::lang::sql_text::destructive_keyword_offsets(source.as_bytes())? {
        let i = lines.partition_point(|l| l.range.end <= at);
        if let Some(l) = lines.get(i).filter(|l| l.range.start <= at) {
            hot[i] = true;
            if let Some(b) = l.block {
                block_hot[b] = true;
            }
        }
    }
    let mut keep: Vec<bool> = blocks
        .iter()
        .enumerate()
        .map(|(i, b)| {
            (block_hot[i] && (lang.may_destroy)(&source[b.range.clone()]))
                || b.name.is_some_and(|n| {
                    named
                        .iter()
                        .any(|g| g == n || g.strip_suffix(n).is_some_and(|q| q.ends_with('.')))
                        || named_outside(source, n, &b.range)
                })
        })
        .collect();
    if keep.iter().all(|k| *k) {
        return None;
    }
    // The names that can carry a destructive operation, closed over the lines that stay. Every
    // word gets a number once, so the closure below tests sets by index, not by hashing.
    let mut ids: std::collections::HashMap<&str, u32, BuildHasherDefault<Fnv>> = Default::default();
    let mut word_ids: Vec<u32> = Vec::new();
    let mut line_start: Vec<usize> = Vec::with_capacity(lines.len() + 1);
    for l in lines {
        line_start.push(word_ids.len());
        for w in words(&source[l.range.clone()]) {
            let next = ids.len() as u32;
            word_ids.push(*ids.entry(w).or_insert(next));
        }
    }
    line_start.push(word_ids.len());
    let line_words = |i: usize| &word_ids[line_start[i]..line_start[i + 1]];
    let id_of = |w: &str| ids.get(w).copied();
    let reserved = |w: &&str| !lang.reserved.contains(w);
    let mut carriers = vec![false; ids.len()];
    let carry = |carriers: &mut Vec<bool>, w: &str| {
        if let Some(id) = id_of(w) {
            carriers[id as usize] = true;
        }
    };
    // Every word of the lines that stay: a name a dropped test binds must not be among them,
    // since the analysis may look a name up wherever it is assigned.
    let mut kept_words = vec![false; ids.len()];
    let mut seen = vec![false; lines.len()];
    let mut seeded = vec![false; lines.len()];
    // Whether a candidate's line may bind a name to a target: asked once per line.
    let mut leaks: Vec<Option<bool>> = vec![None; lines.len()];
    loop {
        let mut grew = false;
        for (i, l) in lines.iter().enumerate() {
            if l.block.is_some_and(|b| !keep[b]) {
                continue;
            }
            if !seen[i] {
                seen[i] = true;
                grew = true;
                if lang
                    .binding_readers
                    .is_some_and(|(reads, _)| reads(&source[l.range.clone()]))
                {
                    for &w in line_words(i) {
                        kept_words[w as usize] = true;
                    }
                }
            }
            if !seeded[i] && (hot[i] || line_words(i).iter().any(|&w| carriers[w as usize])) {
                seeded[i] = true;
                grew = true;
                for w in l.bound.iter().chain(&l.scope).copied().filter(reserved) {
                    carry(&mut carriers, w);
                }
            }
        }
        for (i, l) in lines.iter().enumerate() {
            let Some(b) = l.block else { continue };
            if keep[b] {
                continue;
            }
            let carries = line_words(i).iter().any(|&w| carriers[w as usize]);
            let mut binds_kept = || {
                let Some((_, leak)) = lang.binding_readers else {
                    return false;
                };
                (l.bound.iter().copied())
                    .filter(reserved)
                    .any(|w| id_of(w).is_some_and(|id| kept_words[id as usize]))
                    && *leaks[i].get_or_insert_with(|| leak(&source[l.range.clone()]))
            };
            if carries || binds_kept() {
                keep[b] = true;
                grew = true;
            }
        }
        if !grew {
            break;
        }
    }
    if keep.iter().all(|k| *k) {
        return None;
    }
    let mut out = source.as_bytes().to_vec();
    for (b, block) in blocks.iter().enumerate() {
        if keep[b] {
            continue;
        }
        for c in &mut out[block.range.clone()] {
            if *c != b'\n' {
                *c = b' ';
            }
        }
        let fill = block.fill.as_bytes();
        if block.fill_at + fill.len() <= block.range.end {
            out[block.fill_at..block.fill_at + fill.len()].copy_from_slice(fill);
        }
    }
    // Only ASCII was written, over whole characters.
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_identifiers() {
        let w: Vec<&str> = words("a.b_c = f(\"x y\", 2x, $el, é, wipé) # z9").collect();
        assert_eq!(w, ["a", "b_c", "f", "x", "y", "$el", "é", "wipé", "z9"]);
    }
}
