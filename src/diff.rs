//! `--diff REV`: the lines added or changed since the merge base of `REV` and HEAD, and which
//! findings they account for.
//!
//! A finding is kept when its own lines, or one of its related locations, overlap a changed line,
//! and when a related location is in a CODEOWNERS file that changed at all (an edit that un-owns
//! a config file reports that file even though the file itself did not change). Files are
//! compared without rename detection: a moved file's path-derived meaning (its environment, its
//! owners) may have changed, so all its lines count as new.

use std::collections::BTreeMap;

use crate::engine::Error;
use crate::finding::{Finding, Location};
use crate::git::{Git, Target};

/// What changed in one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lines {
    /// A new untracked file: every line is new.
    Whole,
    /// 1-based inclusive ranges of lines on the new side.
    Ranges(Vec<(usize, usize)>),
}

/// The changes since a merge base, by toplevel-relative path.
#[derive(Debug, Clone, Default)]
pub struct Changes {
    /// The merge base the changes are measured from.
    pub base: String,
    files: BTreeMap<String, Lines>,
}

/// Computes the changes of `target` since the merge base of `rev` and HEAD (or the target
/// commit). Exit-2 errors explain a missing revision or a clone too shallow to have a base.
pub fn changes(git: &Git, rev: &str, target: &Target) -> Result<Changes, Error> {
    let rev_commit = git.commit(rev)?;
    let head = match target {
        Target::Commit(c) => c.clone(),
        _ => "HEAD".to_string(),
    };
    let head_commit = git.commit(&head).map_err(|_| {
        Error(format!(
            "`--diff` needs a commit to compare with, and `{head}` is none (no commit yet?)"
        ))
    })?;
    let base = git.merge_base(&rev_commit, &head_commit)?;
    let diff = git.diff(&base, target)?;
    let mut files = parse_unified(&diff);
    if *target == Target::WorkTree {
        for path in git.untracked()? {
            files.insert(path, Lines::Whole);
        }
    }
    Ok(Changes { base, files })
}

impl Changes {
    /// Changes built from parts (for tests and callers that diff by other means).
    pub fn new(base: String, files: BTreeMap<String, Lines>) -> Changes {
        Changes { base, files }
    }

    /// True when the file changed at all.
    pub fn changed(&self, path: &str) -> bool {
        self.files.contains_key(path)
    }

    /// True when any line from `first` to `last` (1-based, inclusive) changed.
    pub fn touches(&self, path: &str, first: usize, last: usize) -> bool {
        let last = last.max(first);
        match self.files.get(path) {
            None => false,
            Some(Lines::Whole) => true,
            Some(Lines::Ranges(r)) => r.iter().any(|&(a, b)| a <= last && first <= b),
        }
    }

    /// Keeps the findings the changes account for. Finding paths are relative to the engine
    /// root, which is `prefix` inside the repository (`""` at the top).
    pub fn filter(&self, findings: Vec<Finding>, prefix: &str) -> Vec<Finding> {
        findings
            .into_iter()
            .filter(|f| self.accounts_for(f, prefix))
            .collect()
    }

    fn accounts_for(&self, f: &Finding, prefix: &str) -> bool {
        let full = |p: &str| {
            if prefix.is_empty() {
                p.to_string()
            } else {
                format!("{prefix}/{p}")
            }
        };
        let on_changed_line =
            |l: &Location| self.touches(&full(&l.path), l.line, l.end_line.max(l.line));
        on_changed_line(&f.location)
            || f.related.iter().any(|r| {
                on_changed_line(&r.location)
                    || (is_codeowners(&r.location.path) && self.changed(&full(&r.location.path)))
            })
    }
}

fn is_codeowners(path: &str) -> bool {
    path.rsplit('/').next() == Some("CODEOWNERS")
}

/// Parses `git diff -U0` output into the changed lines of each file (toplevel-relative paths).
/// Deleted files and binary or mode-only changes have no new lines and are left out.
pub fn parse_unified(diff: &[u8]) -> BTreeMap<String, Lines> {
    let mut files: BTreeMap<String, Lines> = BTreeMap::new();
    let mut current: Option<String> = None;
    for line in diff.split(|b| *b == b'\n') {
        if line.starts_with(b"diff --git ") {
            current = None;
        } else if let Some(name) = line.strip_prefix(b"+++ ") {
            current = new_side_path(name);
            if let Some(p) = &current {
                files.entry(p.clone()).or_insert(Lines::Ranges(Vec::new()));
            }
        } else if line.starts_with(b"@@ ")
            && let Some(path) = &current
            && let Some((start, count)) = hunk_new_side(line)
            && count > 0
            && let Some(Lines::Ranges(r)) = files.get_mut(path)
        {
            r.push((start, start.saturating_add(count - 1)));
        }
    }
    files
}

/// The path on a `+++ ` line: `b/<path>` (a trailing tab follows names with spaces), a C-quoted
/// `"b/<path>"`, or `/dev/null` for a deletion.
fn new_side_path(name: &[u8]) -> Option<String> {
    let bytes = if name.first() == Some(&b'"') {
        unquote(name)?
    } else {
        let name = name.strip_suffix(b"\t").unwrap_or(name);
        name.strip_suffix(b"\r").unwrap_or(name).to_vec()
    };
    let path = bytes.strip_prefix(b"b/")?;
    Some(String::from_utf8_lossy(path).into_owned())
}

/// Undoes git's C-style quoting: `"a\tb\303\251"` -> the raw bytes.
fn unquote(quoted: &[u8]) -> Option<Vec<u8>> {
    let inner = quoted.strip_prefix(b"\"")?;
    let mut out = Vec::with_capacity(inner.len());
    let mut i = 0;
    while i < inner.len() {
        let b = inner[i];
        i += 1;
        match b {
            b'"' => return Some(out),
            b'\\' => {
                let e = *inner.get(i)?;
                i += 1;
                let byte = match e {
                    b'a' => 7,
                    b'b' => 8,
                    b't' => b'\t',
                    b'n' => b'\n',
                    b'v' => 11,
                    b'f' => 12,
                    b'r' => b'\r',
                    b'0'..=b'7' => {
                        let digits = inner.get(i - 1..i + 2)?;
                        if !digits.iter().all(|d| (b'0'..=b'7').contains(d)) {
                            return None;
                        }
                        i += 2;
                        digits
                            .iter()
                            .fold(0u32, |acc, d| acc * 8 + u32::from(d - b'0'))
                            .try_into()
                            .ok()?
                    }
                    other => other,
                };
                out.push(byte);
            }
            _ => out.push(b),
        }
    }
    None
}

/// `(start, count)` of the new side of `@@ -a[,b] +c[,d] @@`; count defaults to 1.
fn hunk_new_side(line: &[u8]) -> Option<(usize, usize)> {
    let text = std::str::from_utf8(line.get(3..)?).ok()?;
    let plus = text.split(' ').find(|p| p.starts_with('+'))?;
    let mut nums = plus[1..].splitn(2, ',');
    let start: usize = nums.next()?.parse().ok()?;
    let count: usize = match nums.next() {
        Some(c) => c.parse().ok()?,
        None => 1,
    };
    Some((start, count))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::{Related, Severity};

    const DIFF: &str = "diff --git a/charts/values.yaml b/charts/values.yaml
index 1111111..2222222 100644
--- a/charts/values.yaml
+++ b/charts/values.yaml
@@ -3,0 +4,2 @@ db:
+  url: x
+  user: y
@@ -10 +12 @@ other:
-  a: 1
+  a: 2
@@ -20,2 +21,0 @@
-gone
-gone
diff --git a/old.yaml b/old.yaml
deleted file mode 100644
--- a/old.yaml
+++ /dev/null
@@ -1 +0,0 @@
-x: 1
diff --git a/sp ace.yaml b/sp ace.yaml
new file mode 100644
--- /dev/null
+++ b/sp ace.yaml\t
@@ -0,0 +1,3 @@
+a
+b
+c
diff --git \"a/t\\tab\\303\\251.yaml\" \"b/t\\tab\\303\\251.yaml\"
--- \"a/t\\tab\\303\\251.yaml\"
+++ \"b/t\\tab\\303\\251.yaml\"
@@ -1 +1 @@
-a
+b
diff --git a/logo.png b/logo.png
Binary files a/logo.png and b/logo.png differ
";

    #[test]
    fn unified_diff_yields_new_side_lines() {
        let files = parse_unified(DIFF.as_bytes());
        let want: BTreeMap<String, Lines> = [
            ("charts/values.yaml", Lines::Ranges(vec![(4, 5), (12, 12)])),
            ("sp ace.yaml", Lines::Ranges(vec![(1, 3)])),
            ("t\tabé.yaml", Lines::Ranges(vec![(1, 1)])),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        assert_eq!(files, want);
    }

    #[test]
    fn hunk_headers_and_quoted_names() {
        // (header, new side)
        let hunks = [
            ("@@ -3,0 +4,2 @@ db:", Some((4, 2))),
            ("@@ -10 +12 @@", Some((12, 1))),
            ("@@ -20,2 +21,0 @@", Some((21, 0))),
            ("@@ -1 +x @@", None),
            ("@@", None),
        ];
        for (h, want) in hunks {
            assert_eq!(hunk_new_side(h.as_bytes()), want, "{h}");
        }
        // (quoted, unquoted)
        let names = [
            (&b"\"b/a\\\"b\""[..], Some(&b"b/a\"b"[..])),
            (b"\"b/\\303\\251\"", Some("b/é".as_bytes())),
            (b"\"b/unterminated", None),
            (b"\"b/bad\\9\"", Some(&b"b/bad9"[..])),
            (b"\"b/short\\30\"", None),
        ];
        for (q, want) in names {
            assert_eq!(
                unquote(q).as_deref(),
                want,
                "{}",
                String::from_utf8_lossy(q)
            );
        }
    }

    fn finding(path: &str, line: usize, end_line: usize) -> Finding {
        Finding {
            rule: "unprotected-config-path".into(),
            severity: Severity::Warning,
            location: Location {
                path: path.into(),
                line,
                column: 1,
                end_line,
                end_column: 2,
                span: 0..1,
            },
            message: "m".into(),
            help: None,
            related: Vec::new(),
            snippet: None,
            fingerprint: "f".into(),
        }
    }

    fn with_related(mut f: Finding, path: &str, line: usize) -> Finding {
        f.related.push(Related {
            location: Location {
                path: path.into(),
                line,
                column: 1,
                end_line: line,
                end_column: 2,
                span: 0..1,
            },
            message: "deciding rule".into(),
        });
        f
    }

    #[test]
    fn findings_on_changed_lines_or_caused_by_codeowners_are_kept() {
        let changes = Changes::new(
            "base".into(),
            [
                ("app/values.yaml", Lines::Ranges(vec![(4, 5)])),
                ("app/new.env", Lines::Whole),
                (".github/CODEOWNERS", Lines::Ranges(vec![(9, 9)])),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
        );
        // (finding, prefix, kept)
        let cases = [
            (finding("app/values.yaml", 4, 4), "", true),
            (finding("app/values.yaml", 2, 4), "", true),
            (finding("app/values.yaml", 6, 6), "", false),
            (finding("app/values.yaml", 3, 3), "", false),
            (finding("values.yaml", 5, 5), "app", true),
            (finding("values.yaml", 5, 5), "", false),
            (finding("app/new.env", 40, 40), "", true),
            (finding("app/other.yaml", 1, 1), "", false),
            // Un-owned by a CODEOWNERS edit: the deciding line itself may be unchanged.
            (
                with_related(finding("db/values.yaml", 1, 1), ".github/CODEOWNERS", 3),
                "",
                true,
            ),
            // A related location in an unchanged file explains nothing.
            (
                with_related(finding("db/values.yaml", 1, 1), "docs/CODEOWNERS", 3),
                "",
                false,
            ),
            // A related location on a changed line of any file counts.
            (
                with_related(finding("db/values.yaml", 1, 1), "app/values.yaml", 5),
                "",
                true,
            ),
        ];
        for (f, prefix, kept) in cases {
            let what = format!("{}:{} in `{prefix}`", f.location.path, f.location.line);
            assert_eq!(
                changes.filter(vec![f], prefix).len(),
                usize::from(kept),
                "{what}"
            );
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]
        #[test]
        fn parsing_any_diff_never_panics(text in "(diff --git |\\+\\+\\+ |@@ |[-+ ]|\"|\\\\|[0-9,]|[a-z/]|\t|\n){0,80}") {
            let files = parse_unified(text.as_bytes());
            for lines in files.values() {
                if let Lines::Ranges(r) = lines {
                    proptest::prop_assert!(r.iter().all(|(a, b)| a <= b));
                }
            }
        }
    }
}
