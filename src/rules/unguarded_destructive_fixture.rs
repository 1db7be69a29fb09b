//! The `unguarded-destructive-fixture` rule: test setup that truncates, deletes or drops with no
//! environment guard running before it (incident 001's `reset_db()` fixture).
//!
//! Per file, test sources (see [`crate::classify`]) only go through the keyword prefilter and
//! are recorded; SQL reset scripts are judged on the spot. The repo pass then analyses the files
//! with a destructive keyword, after the files they inherit guards from (a `conftest.py` chain,
//! `spec_helper.rb`, a Go `TestMain`, Jest setup files, a Java base class): see `inherit`. The
//! language analyses live in [`crate::lang`].

mod inherit;
mod setup_config;
mod sql_script;

use std::sync::OnceLock;

use globset::{Glob, GlobSet, GlobSetBuilder};

use crate::classify::{FileKind, is_test_sql};
use crate::finding::Diagnostic;
use crate::lang::{FileAnalysis, sql_text::has_destructive_keyword};
use crate::rules::{Cx, FileOut, Repo, Rule};
use crate::source::SourceFile;

const ID: &str = "unguarded-destructive-fixture";

/// How many target tables a message names before it counts the rest.
const MAX_TABLES: usize = 5;

/// See the module documentation.
#[derive(Default)]
pub struct UnguardedDestructiveFixture {
    /// The `test_paths` globs, built once per run.
    test_paths: OnceLock<(GlobSet, Vec<String>)>,
}

impl UnguardedDestructiveFixture {
    fn test_paths(&self, cx: &Cx) -> &(GlobSet, Vec<String>) {
        self.test_paths.get_or_init(|| {
            let mut b = GlobSetBuilder::new();
            let mut errors = Vec::new();
            for g in cx.list("test_paths") {
                match Glob::new(&g) {
                    Ok(g) => {
                        b.add(g);
                    }
                    Err(e) => errors.push(format!("`{g}`: {e}")),
                }
            }
            (b.build().unwrap_or_else(|_| GlobSet::empty()), errors)
        })
    }
}

impl Rule for UnguardedDestructiveFixture {
    fn id(&self) -> &'static str {
        ID
    }

    fn wants(&self, kind: FileKind, path: &str) -> bool {
        match kind {
            // Every SQL file: `test_paths` from the config may claim it.
            FileKind::TestSource(_) | FileKind::TestConfig | FileKind::Sql => true,
            FileKind::Json => path.rsplit('/').next() == Some("package.json"),
            _ => false,
        }
    }

    fn check_file(&self, file: &SourceFile, cx: &Cx, out: &mut FileOut) {
        match file.kind {
            FileKind::TestSource(lang) => {
                out.fact(&file.path, inherit::Seen::new(lang, &file.path, &file.text));
            }
            FileKind::TestConfig | FileKind::Json => {
                if let Some(c) = setup_config::read(&file.path, &file.text) {
                    out.fact(&file.path, c);
                }
            }
            FileKind::Sql
                if (is_test_sql(&file.path) || self.test_paths(cx).0.is_match(&file.path))
                    && has_destructive_keyword(file.text.as_bytes()) =>
            {
                for op in sql_script::unguarded(&file.text) {
                    let name = file.path.rsplit('/').next().unwrap_or(&file.path);
                    out.diags.push(
                        Diagnostic::new(
                            ID,
                            &file.path,
                            op.span,
                            message(Some(name), &op.operation, &op.tables, &op.reason),
                        )
                        .help(sql_script::HELP),
                    );
                }
            }
            _ => {}
        }
    }

    fn check_repo(&self, repo: &Repo, cx: &Cx, out: &mut Vec<Diagnostic>) {
        let (globs, errors) = self.test_paths(cx);
        for e in errors {
            out.push(Diagnostic::new(
                ID,
                ".premortem.yaml",
                0..0,
                format!("invalid glob in `test_paths`: {e}; those files are not checked"),
            ));
        }
        // A qualified name (`shop.testing.assert_test_database`) also counts by its last part,
        // which is how a call usually names it.
        let mut guards = cx.list("guards");
        let short: Vec<String> = guards
            .iter()
            .filter_map(|g| g.rsplit(['.', ':', '#']).next())
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect();
        for s in short {
            if !guards.contains(&s) {
                guards.push(s);
            }
        }
        inherit::run(repo, &cx.config.exclude, globs, guards, out);
    }
}

/// The findings of one analysed file: one per unguarded operation, or a note that it could not
/// be analysed.
fn diagnostics(path: &str, text: &str, result: &Result<FileAnalysis, String>) -> Vec<Diagnostic> {
    match result {
        Ok(a) => a
            .unguarded
            .iter()
            .map(|u| {
                Diagnostic::new(
                    ID,
                    path,
                    u.op.span.clone(),
                    message(
                        u.op.scope.as_deref(),
                        &u.op.operation,
                        &u.op.tables,
                        &u.reason,
                    ),
                )
                .help(u.help.clone())
            })
            .collect(),
        Err(reason) => {
            let at = line_start(text, reason);
            vec![Diagnostic::new(
                "parse-error",
                path,
                at..at,
                format!("cannot analyse this test file: {reason}; `{ID}` could not decide"),
            )
            .help("fix the syntax error, or exclude the file in `.premortem.yaml` if it is not code")]
        }
    }
}

/// The start of the line a reason names (`... on line 12 ...`), else the file start.
fn line_start(text: &str, reason: &str) -> usize {
    let line: Option<usize> = reason.split("line ").nth(1).and_then(|r| {
        r.split(|c: char| !c.is_ascii_digit())
            .next()
            .and_then(|n| n.parse().ok())
    });
    match line {
        Some(n) if n > 1 => text
            .match_indices('\n')
            .nth(n - 2)
            .map_or(0, |(i, _)| i + 1),
        _ => 0,
    }
}

/// "`reset_db` runs TRUNCATE on categories, cms_blocks and 21 more tables with no environment
/// guard before it".
fn message(scope: Option<&str>, operation: &str, tables: &[String], reason: &str) -> String {
    let who = match scope {
        Some(s) => format!("`{s}` runs"),
        None => "this test code runs".to_string(),
    };
    let on = match tables.len() {
        0 => String::new(),
        1 => format!(" on {}", tables[0]),
        n if n <= MAX_TABLES => format!(" on {} and {}", tables[..n - 1].join(", "), tables[n - 1]),
        n => format!(
            " on {} and {} more tables",
            tables[..MAX_TABLES].join(", "),
            n - MAX_TABLES
        ),
    };
    if reason.starts_with("no guard") {
        format!("{who} {operation}{on} with no environment guard before it")
    } else {
        format!("{who} {operation}{on}, but {reason}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_operation_and_cap_the_tables() {
        let t = |n: usize| -> Vec<String> { (0..n).map(|i| format!("t{i}")).collect() };
        let cases = [
            (
                Some("reset_db"),
                t(0),
                "no guard runs before it",
                "`reset_db` runs TRUNCATE with no environment guard before it",
            ),
            (
                Some("reset_db"),
                t(1),
                "no guard runs before it",
                "`reset_db` runs TRUNCATE on t0 with no environment guard before it",
            ),
            (
                None,
                t(3),
                "the guard on line 9 runs after it",
                "this test code runs TRUNCATE on t0, t1 and t2, but the guard on line 9 runs after it",
            ),
            (
                Some("reset_db"),
                t(23),
                "no guard runs before it",
                "`reset_db` runs TRUNCATE on t0, t1, t2, t3, t4 and 18 more tables with no environment guard before it",
            ),
        ];
        for (scope, tables, reason, want) in cases {
            assert_eq!(message(scope, "TRUNCATE", &tables, reason), want);
        }
    }

    /// Parsing is the expensive part: a test file with no destructive keyword is parsed only
    /// when a file that has one inherits from it, and no file is parsed twice.
    #[test]
    fn files_without_a_destructive_keyword_are_never_parsed() {
        let dir = tempfile::tempdir().unwrap();
        let files = [
            (".git/HEAD", ""),
            // Inherited by a destructive file: parsed for its exports.
            (
                "tests/conftest.py",
                "import os\nassert 'localhost' in os.environ['DATABASE_URL']\n",
            ),
            (
                "tests/test_reset.py",
                "def test_a(db_conn):\n    db_conn.execute('TRUNCATE t')\n",
            ),
            (
                "tests/test_plain.py",
                "def test_b():\n    assert 1 + 1 == 2\n",
            ),
            // No destructive file below it: never parsed.
            ("other/conftest.py", "import pytest\n"),
            ("other/test_plain.py", "def test_c():\n    pass\n"),
            (
                "web/test/a.test.js",
                "it('adds', () => expect(1 + 1).toBe(2));\n",
            ),
            (
                "store/main_test.go",
                "package store\nfunc TestMain(m *testing.M) { m.Run() }\n",
            ),
        ];
        for (rel, content) in files {
            let p = dir.path().join(rel);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, content).unwrap();
        }
        let out = crate::engine::run(&crate::engine::Options {
            paths: vec![dir.path().to_path_buf()],
            ..Default::default()
        })
        .unwrap();
        assert!(out.findings.is_empty(), "{:?}", out.findings);
        let mut parsed = inherit::analysed_under(dir.path());
        parsed.sort();
        assert_eq!(parsed, ["tests/conftest.py", "tests/test_reset.py"]);
    }

    #[test]
    fn parse_errors_point_at_their_line() {
        let text = "a\nb\nc\n";
        assert_eq!(line_start(text, "syntax error on line 3 around x"), 4);
        assert_eq!(line_start(text, "syntax error on line 1"), 0);
        assert_eq!(line_start(text, "no line here"), 0);
        assert_eq!(line_start(text, "line 99"), 0);
    }
}
