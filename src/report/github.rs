//! The `github` output format: GitHub Actions workflow commands that become PR annotations.
//!
//! One command per finding (`::error`, `::warning`, `::notice` for info):
//! `::error file=PATH,line=L,col=C,endLine=EL,endColumn=EC,title=premortem RULE::MESSAGE`.
//! The message is followed, one per line, by `note: PATH:LINE: ...` for each related location
//! and `help: ...`. `col`/`endColumn` are left out for a multi-line finding (GitHub supports
//! columns only on a single line); `endColumn` is exclusive, as in `Location`. Skipped files
//! become one `::notice` without a file, and the run ends with the human summary line as plain
//! log text, so a run with no findings still says what it checked.
//!
//! Everything from the repository (paths, messages) is escaped as GitHub's runner requires, so
//! no file name or message can end a command early or start a forged one on a new line.

use std::io::{self, Write};

use super::Report;
use crate::finding::{Finding, Severity};

/// Writes one workflow command per finding, a skipped-files notice and the summary line.
pub fn render(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    for finding in report.findings {
        writeln!(out, "{}", command(finding))?;
    }
    if !report.skipped.is_empty() {
        let listed: Vec<String> = (report.skipped.iter())
            .map(|s| format!("{} ({})", s.path, s.reason))
            .collect();
        let text = format!(
            "skipped {}: {}",
            super::human::plural(report.skipped.len(), "file"),
            listed.join(", ")
        );
        writeln!(out, "::notice title=premortem::{}", escape_data(&text))?;
    }
    // Plain log text: escaped too, so it can never read as a command.
    writeln!(out, "{}", escape_data(&super::human::summary(report)))
}

/// The workflow command for one finding.
fn command(f: &Finding) -> String {
    let kind = match f.severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "notice",
    };
    let loc = &f.location;
    let line = loc.line.max(1);
    let end_line = loc.end_line.max(line);
    let mut props = vec![("file", loc.path.clone()), ("line", line.to_string())];
    if end_line == line {
        let col = loc.column.max(1);
        props.push(("col", col.to_string()));
        props.push(("endLine", end_line.to_string()));
        props.push(("endColumn", loc.end_column.max(col).to_string()));
    } else {
        props.push(("endLine", end_line.to_string()));
    }
    props.push(("title", format!("premortem {}", f.rule)));
    let props: Vec<String> = (props.iter())
        .map(|(k, v)| format!("{k}={}", escape_property(v)))
        .collect();
    let mut message = f.message.clone();
    for r in &f.related {
        let at = &r.location;
        message.push_str(&format!("\nnote: {}:{}: {}", at.path, at.line, r.message));
    }
    if let Some(help) = &f.help {
        message.push_str(&format!("\nhelp: {}", help.trim_end()));
    }
    format!("::{kind} {}::{}", props.join(","), escape_data(&message))
}

/// Escapes a command's message: `%`, `\r` and `\n`.
pub fn escape_data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a command property value: as data, plus `:` and `,`, which end a property.
pub fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::Skipped;
    use crate::report::human::fixtures::{dsn_error, owner_warning, parse_info, with_report};

    fn render_to_string(findings: &[Finding], skipped: &[Skipped]) -> String {
        with_report(findings, 3, skipped, 40, |report| {
            let mut out = Vec::new();
            render(report, &mut out).expect("writing to a Vec cannot fail");
            String::from_utf8(out).expect("the renderer writes UTF-8")
        })
    }

    #[test]
    fn escaping_follows_the_runner() {
        // (input, data escape, property escape)
        let cases = [
            ("plain text", "plain text", "plain text"),
            ("100% a:b,c", "100%25 a:b,c", "100%25 a%3Ab%2Cc"),
            ("l1\r\nl2\n", "l1%0D%0Al2%0A", "l1%0D%0Al2%0A"),
            ("%0A literal", "%250A literal", "%250A literal"),
            ("::error::x", "::error::x", "%3A%3Aerror%3A%3Ax"),
        ];
        for (input, data, property) in cases {
            assert_eq!(escape_data(input), data, "{input:?}");
            assert_eq!(escape_property(input), property, "{input:?}");
        }
    }

    #[test]
    fn one_command_per_finding_by_severity() {
        let cases = [
            (
                dsn_error(),
                "::error file=charts/storefront/values.yaml,line=12,col=8,endLine=12,endColumn=81,title=premortem literal-dsn::literal PostgreSQL connection string with a password%0Ahelp: read the DSN from a Secret instead:%0Aenv:%0A  - name: DATABASE_URL%0A    valueFrom:%0A      secretKeyRef: {name: storefront-db, key: url}",
            ),
            (
                owner_warning(),
                "::warning file=deploy/qa env/values.yaml,line=3,col=1,endLine=3,endColumn=5,title=premortem unprotected-config-path::connection target in a file no human owns%0Anote: CODEOWNERS:7: last matching rule, owned only by a bot%0Ahelp: add a CODEOWNERS rule for this path with a human team",
            ),
            (
                parse_info(),
                "::notice file=migrations/0001_init.sql,line=40,col=1,endLine=40,endColumn=1,title=premortem parse-error::unterminated dollar quote: could not check this file",
            ),
        ];
        for (finding, want) in cases {
            let got = command(&finding);
            assert_eq!(got, want);
            assert!(!got.contains('\n') && !got.contains('\r'), "{got}");
        }
    }

    #[test]
    fn hostile_paths_and_messages_stay_in_one_command() {
        let mut f = owner_warning();
        f.location.path = "a,b:c%\n::error::forged".into();
        f.message = "line one\r\n::warning::forged".into();
        let got = command(&f);
        assert!(
            got.starts_with("::warning file=a%2Cb%3Ac%25%0A%3A%3Aerror%3A%3Aforged,line=3,"),
            "{got}"
        );
        assert!(
            got.contains("::line one%0D%0A::warning::forged%0A"),
            "{got}"
        );
        assert_eq!(got.lines().count(), 1);
    }

    #[test]
    fn multi_line_findings_omit_columns() {
        let mut f = dsn_error();
        (f.location.end_line, f.location.end_column) = (14, 3);
        assert!(
            command(&f).starts_with(
                "::error file=charts/storefront/values.yaml,line=12,endLine=14,title="
            )
        );
        (f.location.line, f.location.column, f.location.end_line) = (0, 0, 0);
        assert!(command(&f).contains(",line=1,col=1,endLine=1,endColumn=3,"));
    }

    #[test]
    fn skipped_notice_and_summary_end_the_output() {
        let skipped = [Skipped {
            path: "x\n::error::y.bin".into(),
            reason: "binary".into(),
        }];
        let out = render_to_string(&[parse_info()], &skipped);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 3, "{out}");
        assert!(lines[0].starts_with("::notice file=migrations/0001_init.sql,"));
        assert_eq!(
            lines[1],
            "::notice title=premortem::skipped 1 file: x%0A::error::y.bin (binary)"
        );
        assert_eq!(lines[2], "1 info in 3 files, 1 skipped (0.04 s)");
        assert_eq!(
            render_to_string(&[], &[]),
            "no findings in 3 files (0.04 s)\n"
        );
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]
        #[test]
        fn escaping_round_trips_and_never_breaks_a_command(text in "[a-z%:,\r\n ]{0,40}") {
            let property = escape_property(&text);
            proptest::prop_assert!(!property.contains([':', ',', '\r', '\n']));
            // The runner's unescape, in reverse order of escaping.
            let unescaped = (property.replace("%2C", ",").replace("%3A", ":"))
                .replace("%0A", "\n").replace("%0D", "\r").replace("%25", "%");
            proptest::prop_assert_eq!(unescaped, text);
        }
    }
}
