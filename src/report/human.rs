//! The `human` output format: rustc/ruff-style diagnostics, a skipped-files notice and a summary.
//!
//! Summary wording: `3 errors, 1 warning, 2 info in 1,204 files, 2 skipped (0.04 s)`. Info
//! findings are counted under their severity's own name (`info`, the word `--fail-on` takes), which
//! has no plural; zero counts are left out, and a run without findings says `no findings`.

use std::borrow::Cow;
use std::io::{self, Write};

use annotate_snippets::{
    AnnotationKind, Group, Level, Origin, Renderer, Snippet, normalize_untrusted_str,
};

use super::{Report, Skipped};
use crate::finding::{Finding, Severity};

/// How many skipped paths the notice lists before it says `and N more`.
const MAX_SKIPPED_LISTED: usize = 10;

/// Writes every finding, the skipped-files notice and the summary line; `color` adds ANSI styles.
pub fn render(report: &Report, out: &mut dyn Write, color: bool) -> io::Result<()> {
    let renderer = if color {
        Renderer::styled()
    } else {
        Renderer::plain()
    };
    for finding in report.findings {
        writeln!(out, "{}\n", renderer.render(&finding_groups(finding)))?;
    }
    if let Some(notice) = skipped_notice(report.skipped) {
        let groups = [Group::with_title(Level::NOTE.primary_title(notice))];
        writeln!(out, "{}\n", renderer.render(&groups))?;
    }
    writeln!(out, "{}", summary(report))
}

/// The annotate-snippets groups of one finding: header, source or origin, notes, help.
fn finding_groups(finding: &Finding) -> Vec<Group<'_>> {
    let loc = &finding.location;
    let title = level(finding.severity)
        .primary_title(finding.message.as_str())
        .id(finding.rule.as_str());
    let mut group = match &finding.snippet {
        Some(snippet) if !snippet.text.is_empty() => {
            let span = clamp_span(&snippet.text, snippet.span.clone());
            title.element(
                Snippet::source(snippet.text.as_str())
                    .line_start(snippet.first_line.max(1))
                    .path(display_path(&loc.path))
                    .fold(false)
                    .annotation(AnnotationKind::Primary.span(span)),
            )
        }
        _ => title.element(
            Origin::path(display_path(&loc.path))
                .line(loc.line.max(1))
                .char_column(loc.column.max(1)),
        ),
    };
    for related in &finding.related {
        let path = display_path(&related.location.path);
        let text = format!("{path}:{}: {}", related.location.line, related.message);
        group = group.element(Level::NOTE.message(untrusted(text)));
    }
    if let Some(help) = &finding.help {
        group = group.element(Level::HELP.message(untrusted(help.trim_end().to_string())));
    }
    vec![group]
}

/// Message elements are not normalized by the renderer; control characters in them (an escape
/// sequence in a file name or a masked line) must not reach the terminal.
fn untrusted(text: String) -> Cow<'static, str> {
    Cow::Owned(normalize_untrusted_str(&text))
}

/// A path as shown: control characters escaped (`\n`), since a file name is chosen by whoever
/// wrote the change, and a line break in it would start an unindented line in a CI log that the
/// runner could read as a workflow command.
fn display_path(path: &str) -> Cow<'_, str> {
    if !path.chars().any(char::is_control) {
        return Cow::Borrowed(path);
    }
    let escape = |c: char| -> String {
        if c.is_control() {
            c.escape_default().collect()
        } else {
            c.to_string()
        }
    };
    Cow::Owned(path.chars().map(escape).collect())
}

fn level(severity: Severity) -> Level<'static> {
    match severity {
        Severity::Error => Level::ERROR,
        Severity::Warning => Level::WARNING,
        Severity::Info => Level::INFO,
    }
}

/// Clamps a span into `text` and onto char boundaries, so a bad span degrades instead of panicking.
fn clamp_span(text: &str, span: std::ops::Range<usize>) -> std::ops::Range<usize> {
    let floor = |mut i: usize| {
        i = i.min(text.len());
        while !text.is_char_boundary(i) {
            i -= 1;
        }
        i
    };
    let start = floor(span.start);
    let end = floor(span.end).max(start);
    start..end
}

/// `skipped 2 files: a.bin (binary), big.sql (larger than 2 MiB)`, or `None` when nothing was skipped.
fn skipped_notice(skipped: &[Skipped]) -> Option<String> {
    if skipped.is_empty() {
        return None;
    }
    let listed: Vec<String> = skipped
        .iter()
        .take(MAX_SKIPPED_LISTED)
        .map(|s| format!("{} ({})", display_path(&s.path), s.reason))
        .collect();
    let mut notice = format!(
        "skipped {}: {}",
        plural(skipped.len(), "file"),
        listed.join(", ")
    );
    if skipped.len() > MAX_SKIPPED_LISTED {
        notice.push_str(&format!(
            " and {} more",
            thousands(skipped.len() - MAX_SKIPPED_LISTED)
        ));
    }
    Some(notice)
}

/// The last line of a run: `3 errors, 1 warning in 1,204 files (0.04 s)`.
pub fn summary(report: &Report) -> String {
    let count = |s: Severity| report.findings.iter().filter(|f| f.severity == s).count();
    let (errors, warnings, infos) = (
        count(Severity::Error),
        count(Severity::Warning),
        count(Severity::Info),
    );
    let mut parts = Vec::new();
    if errors > 0 {
        parts.push(plural(errors, "error"));
    }
    if warnings > 0 {
        parts.push(plural(warnings, "warning"));
    }
    if infos > 0 {
        parts.push(format!("{} info", thousands(infos)));
    }
    let counts = if parts.is_empty() {
        "no findings".to_string()
    } else {
        parts.join(", ")
    };
    let mut line = format!("{counts} in {}", plural(report.files_scanned, "file"));
    if !report.skipped.is_empty() {
        line.push_str(&format!(", {} skipped", thousands(report.skipped.len())));
    }
    let hundredths = report.elapsed_ms.saturating_add(5) / 10;
    line.push_str(&format!(
        " ({}.{:02} s)",
        hundredths / 100,
        hundredths % 100
    ));
    line
}

/// `1 error`, `2 errors`, `1,204 files`: a count with thousands separators and an English plural.
pub fn plural(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{} {noun}s", thousands(n))
    }
}

/// `1204` as `1,204`.
fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Findings and rule metadata shared by the reporters' tests (`src/report/fixtures.rs`).
#[cfg(test)]
#[path = "fixtures.rs"]
pub(crate) mod fixtures;

#[cfg(test)]
mod tests {
    use super::fixtures::{dsn_error, owner_warning, parse_info, skipped, with_report};
    use super::*;
    use proptest::prelude::*;

    fn render_to_string(
        findings: &[Finding],
        files: usize,
        skip: &[Skipped],
        ms: u64,
        color: bool,
    ) -> String {
        with_report(findings, files, skip, ms, |report| {
            let mut out = Vec::new();
            render(report, &mut out, color).expect("writing to a Vec cannot fail");
            String::from_utf8(out).expect("the renderer writes UTF-8")
        })
    }

    fn plain(findings: &[Finding], files: usize, skip: &[Skipped], ms: u64) -> String {
        render_to_string(findings, files, skip, ms, false)
    }

    #[test]
    fn single_error_with_help() {
        let mut f = dsn_error();
        f.help = Some("move the DSN into a Secret and reference it with `secretKeyRef`".into());
        insta::assert_snapshot!(plain(&[f], 1, &[], 40));
    }

    #[test]
    fn multi_line_help() {
        insta::assert_snapshot!(plain(&[dsn_error()], 3, &[], 40));
    }

    #[test]
    fn related_location() {
        insta::assert_snapshot!(plain(&[owner_warning()], 2, &[], 7));
    }

    #[test]
    fn warning_and_info() {
        insta::assert_snapshot!(plain(&[owner_warning(), parse_info()], 1204, &[], 1234));
    }

    #[test]
    fn empty_report() {
        insta::assert_snapshot!(plain(&[], 12, &[], 0));
    }

    #[test]
    fn skipped_files() {
        let skip = [("a.bin", "binary"), ("big.sql", "larger than 2 MiB")].map(|(p, r)| Skipped {
            path: p.into(),
            reason: r.into(),
        });
        insta::assert_snapshot!(plain(&[dsn_error()], 12, &skip, 10));
    }

    #[test]
    fn skipped_notice_lists_ten_then_counts_the_rest() {
        let cases: &[(usize, Option<&str>)] = &[
            (0, None),
            (1, Some("skipped 1 file: assets/f00.bin (binary)")),
            (10, Some("(binary), assets/f09.bin (binary)")),
            (12, Some("assets/f09.bin (binary) and 2 more")),
        ];
        for (n, want) in cases {
            let got = skipped_notice(&skipped(*n));
            assert_eq!(got.is_some(), want.is_some(), "{n}: {got:?}");
            let got = got.unwrap_or_default();
            assert!(got.ends_with(want.unwrap_or_default()), "{n}: {got}");
            assert!(!got.contains("f10"), "{n}: lists an 11th path");
        }
    }

    #[test]
    fn summary_counts_plurals_and_separators() {
        // (errors, warnings, info, files, skipped, elapsed ms, expected)
        let cases: &[(usize, usize, usize, usize, usize, u64, &str)] = &[
            (0, 0, 0, 12, 0, 0, "no findings in 12 files (0.00 s)"),
            (0, 0, 0, 1, 0, 4, "no findings in 1 file (0.00 s)"),
            (0, 0, 0, 0, 0, 5, "no findings in 0 files (0.01 s)"),
            (
                1,
                0,
                0,
                12,
                2,
                10,
                "1 error in 12 files, 2 skipped (0.01 s)",
            ),
            (
                3,
                1,
                0,
                1204,
                0,
                40,
                "3 errors, 1 warning in 1,204 files (0.04 s)",
            ),
            (
                0,
                2,
                1,
                1_000_000,
                1,
                61_999,
                "2 warnings, 1 info in 1,000,000 files, 1 skipped (62.00 s)",
            ),
            (0, 0, 2, 999, 0, 1234, "2 info in 999 files (1.23 s)"),
        ];
        for &(e, w, i, files, n_skipped, ms, want) in cases {
            let mut findings = vec![dsn_error(); e];
            findings.extend(vec![owner_warning(); w]);
            findings.extend(vec![parse_info(); i]);
            let got = with_report(&findings, files, &skipped(n_skipped), ms, summary);
            assert_eq!(got, want);
        }
    }

    #[test]
    fn color_only_when_asked() {
        assert!(!plain(&[dsn_error()], 1, &[], 0).contains('\u{1b}'));
        assert!(render_to_string(&[dsn_error()], 1, &[], 0, true).contains('\u{1b}'));
    }

    #[test]
    fn control_characters_never_reach_the_terminal() {
        let mut f = owner_warning();
        f.message = "bad\u{1b}[31m message".into();
        f.help = Some("help \u{1b}]0;title\u{7}".into());
        f.related[0].message = "note \u{1b}[2J".into();
        f.location.path = "evil\n::error::forged\u{1b}[2J".into();
        if let Some(s) = f.snippet.as_mut() {
            s.text = "host: \u{1b}[1mqa".into();
        }
        let out = plain(&[f], 1, &[], 0);
        assert!(
            !out.contains('\u{1b}') && out.contains(r"evil\n::error::forged\u{1b}[2J"),
            "{out}"
        );
        assert!(out.lines().all(|l| !l.starts_with("::")), "{out}");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        #[test]
        fn any_snippet_and_span_renders(text in "\\PC{0,40}(\n\\PC{0,20}){0,2}", a in 0usize..80, b in 0usize..80) {
            let mut f = dsn_error();
            f.snippet = Some(crate::finding::Snippet { first_line: 1, text, span: a..b });
            prop_assert!(plain(&[f], 1, &[], 0).starts_with("error[literal-dsn]"));
        }
    }
}
