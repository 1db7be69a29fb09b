//! The command line: `check`, `rules`, `explain`. Parses arguments, runs the engine, writes the
//! reports and returns the exit code (0 clean, 1 findings at or above `--fail-on`, 2 errors).

use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

use crate::engine::{self, Options, Outcome};
use crate::finding::Severity;
use crate::meta::{self, ExampleKind, OptionValue};
use crate::report::{self, Report};

/// Catches the configuration and code patterns behind production incidents before they merge.
#[derive(Debug, Parser)]
#[command(name = "premortem", version, about, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check files and directories (default: the current directory).
    Check(CheckArgs),
    /// List the rules: id, default severity, summary.
    Rules,
    /// Show a rule's documentation: why it exists, bad and good examples, how to fix.
    Explain {
        /// The rule id, e.g. `literal-dsn`.
        rule: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Human,
    Json,
    Sarif,
    Github,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FailOn {
    Error,
    Warning,
    Info,
}

#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// Files and directories to check. Files are checked even when ignored by .gitignore.
    pub paths: Vec<PathBuf>,
    /// Output format on standard output.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// Also write SARIF 2.1.0 to this file (for GitHub code scanning).
    #[arg(long, value_name = "PATH")]
    pub sarif_file: Option<PathBuf>,
    /// Exit 1 when a finding at or above this severity remains.
    #[arg(long, value_enum, default_value_t = FailOn::Warning)]
    pub fail_on: FailOn,
    /// Config file (default: .premortem.yaml at the repository root).
    #[arg(long, value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// Never colour the output (colour is also off when NO_COLOR is set or stdout is no terminal).
    #[arg(long)]
    pub no_color: bool,
    /// Worker threads (default: one per core).
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
}

/// Runs the command line and returns the process exit code.
pub fn run(cli: Cli) -> i32 {
    match cli.command {
        Command::Rules => print_rules(),
        Command::Explain { rule } => explain(&rule),
        Command::Check(args) => check(&args),
    }
}

fn fail(msg: impl std::fmt::Display) -> i32 {
    eprintln!("premortem: {msg}");
    2
}

fn print_rules() -> i32 {
    let mut out = std::io::stdout().lock();
    let metas = meta::all();
    let width = metas.iter().map(|m| m.id.len()).max().unwrap_or(10);
    let _ = writeln!(out, "{:width$}  {:8}  summary", "id", "severity");
    for m in metas {
        let _ = writeln!(
            out,
            "{:width$}  {:8}  {}",
            m.id,
            m.severity.as_str(),
            m.summary
        );
    }
    0
}

/// Renders a rule's documentation as plain text (also used for `docs/rules/<id>.md`).
pub fn explain_text(id: &str) -> Option<String> {
    let m = meta::get(id)?;
    let mut s = String::new();
    s.push_str(&format!("# {}\n\n", m.id));
    s.push_str(&format!("{}\n\n", m.summary));
    s.push_str(&format!(
        "Default severity: {}. Category: {}.\n\n",
        m.severity, m.category
    ));
    if !m.incident.is_empty() {
        s.push_str(&format!("## The incident\n\n{}\n\n", m.incident));
    }
    s.push_str(&format!(
        "## Why\n\n{}\n\n## How to fix\n\n{}\n\n",
        m.rationale, m.fix
    ));
    if !m.options.is_empty() {
        s.push_str("## Options\n\n");
        for (name, default, doc) in &m.options {
            let d = match default {
                OptionValue::Bool(b) => b.to_string(),
                OptionValue::Int(i) => i.to_string(),
                OptionValue::Str(v) => format!("\"{v}\""),
                OptionValue::List(v) => format!("[{}]", v.join(", ")),
            };
            s.push_str(&format!("- `{name}` (default `{d}`): {doc}\n"));
        }
        s.push('\n');
    }
    for (kind, title) in [(ExampleKind::Bad, "Bad"), (ExampleKind::Good, "Good")] {
        let ex: Vec<_> = m.examples.iter().filter(|e| e.kind == kind).collect();
        if ex.is_empty() {
            continue;
        }
        s.push_str(&format!("## {title}\n\n"));
        for e in ex {
            s.push_str(&format!(
                "{} (`{}`):\n\n```\n{}```\n\n",
                e.note, e.path, e.content
            ));
        }
    }
    s.push_str(&format!("Suppress one finding with a comment on its line or the line above:\n`# premortem: ignore[{}] <reason>`\n", m.id));
    Some(s)
}

fn explain(id: &str) -> i32 {
    match explain_text(id) {
        Some(text) => {
            print!("{text}");
            0
        }
        None => fail(format!("unknown rule `{id}` (see `premortem rules`)")),
    }
}

fn color_wanted(args: &CheckArgs) -> bool {
    !args.no_color
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        && std::io::stdout().is_terminal()
}

fn check(args: &CheckArgs) -> i32 {
    let opts = Options {
        paths: args.paths.clone(),
        config: args.config.clone(),
        threads: args.threads,
    };
    let outcome = match engine::run(&opts) {
        Ok(o) => o,
        Err(e) => return fail(e),
    };
    if let Err(e) = write_reports(args, &outcome) {
        return fail(e);
    }
    let threshold = match args.fail_on {
        FailOn::Error => Severity::Error,
        FailOn::Warning => Severity::Warning,
        FailOn::Info => Severity::Info,
    };
    i32::from(outcome.findings.iter().any(|f| f.severity >= threshold))
}

fn write_reports(args: &CheckArgs, o: &Outcome) -> Result<(), String> {
    let version = env!("CARGO_PKG_VERSION");
    let report = Report {
        findings: &o.findings,
        files_scanned: o.files_scanned,
        skipped: &o.skipped,
        elapsed_ms: o.elapsed_ms,
        rules: &o.rules,
        tool_version: version,
    };
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let res = match args.format {
        Format::Human => report::human::render(&report, &mut out, color_wanted(args)),
        Format::Json => report::json::render(&report, &mut out),
        Format::Sarif => report::sarif::render(&report, &mut out),
        Format::Github => report::github::render(&report, &mut out),
    };
    // A closed pipe (`premortem check | head`) is not an error worth a message.
    if let Err(e) = res
        && e.kind() != std::io::ErrorKind::BrokenPipe
    {
        return Err(format!("cannot write the report: {e}"));
    }
    if let Some(path) = &args.sarif_file {
        let mut buf = Vec::new();
        report::sarif::render(&report, &mut buf).map_err(|e| e.to_string())?;
        std::fs::write(path, buf).map_err(|e| format!("cannot write `{}`: {e}", path.display()))?;
    }
    Ok(())
}
