//! The command line: `check`, `rules`, `explain`. Parses arguments, runs the engine, writes the
//! reports and returns the exit code (0 clean, 1 findings at or above `--fail-on`, 2 errors).

use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

use crate::baseline::Baseline;
use crate::diff;
use crate::engine::{self, Options, Outcome};
use crate::finding::Severity;
use crate::git::{self, Git, Snapshot, Target};
use crate::hook::{self, Stage};
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
    /// Run as a git hook: check the staged content of the given files (all staged changes when
    /// none are given); in a pre-push run (PRE_COMMIT_FROM_REF and PRE_COMMIT_TO_REF set), check
    /// the pushed commit and report findings on lines changed since FROM_REF.
    Hook(CheckArgs),
    /// Write a git pre-commit hook that runs `premortem hook` on every commit.
    InstallHook {
        /// Replace an existing pre-commit hook.
        #[arg(long)]
        force: bool,
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

#[derive(Debug, Clone, clap::Args)]
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
    /// Check what is staged in the git index, not the working tree.
    #[arg(long)]
    pub staged: bool,
    /// Report only findings on lines added or changed since REV (from its merge base with HEAD,
    /// uncommitted changes included).
    #[arg(long, value_name = "REV")]
    pub diff: Option<String>,
    /// Report only findings this baseline file does not accept.
    #[arg(long, value_name = "FILE", conflicts_with = "write_baseline")]
    pub baseline: Option<PathBuf>,
    /// Write the current findings to FILE as the accepted baseline, then exit 0.
    #[arg(long, value_name = "FILE")]
    pub write_baseline: Option<PathBuf>,
}

/// Runs the command line and returns the process exit code.
pub fn run(cli: Cli) -> i32 {
    match cli.command {
        Command::Rules => print_rules(),
        Command::Explain { rule } => explain(&rule),
        Command::Check(args) => check(&args, &Plan::default()),
        Command::Hook(args) => hook_run(&args),
        Command::InstallHook { force } => install_hook(force),
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
            // The files an example needs beside it (a CODEOWNERS, an earlier migration).
            for (path, content) in &e.extra_files {
                s.push_str(&format!(
                    "with `{path}`:

```
{content}```

"
                ));
            }
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

fn check(args: &CheckArgs, plan: &Plan) -> i32 {
    let baseline = match &args.baseline {
        Some(path) => match Baseline::load(path) {
            Ok(b) => Some(b),
            Err(e) => return fail(e),
        },
        None => None,
    };
    let git_modes = args.staged || args.diff.is_some() || plan.push.is_some();
    let git = if git_modes {
        match Git::discover(&git_dir(&args.paths)) {
            Ok(g) => Some(g),
            Err(e) => return fail(e),
        }
    } else {
        None
    };
    let snapshot = match git.as_ref().map(|g| snapshot(g, args, plan)).transpose() {
        Ok(s) => s.flatten().map(std::sync::Arc::new),
        Err(e) => return fail(e),
    };
    let opts = Options {
        paths: args.paths.clone(),
        config: args.config.clone(),
        threads: args.threads,
        snapshot,
    };
    let mut outcome = match engine::run(&opts) {
        Ok(o) => o,
        Err(e) => return fail(e),
    };
    let since = args
        .diff
        .as_deref()
        .or(plan.push.as_ref().map(|(from, _)| from.as_str()));
    if let (Some(git), Some(rev)) = (&git, since) {
        let target = match (&plan.push, args.staged) {
            (Some((_, to)), _) => Target::Commit(to.clone()),
            (None, true) => Target::Index,
            (None, false) => Target::WorkTree,
        };
        let changes = match diff::changes(git, rev, &target) {
            Ok(c) => c,
            Err(e) => return fail(e),
        };
        let prefix = git::prefix_of(git.toplevel(), &outcome.root).unwrap_or_default();
        outcome.findings = changes.filter(std::mem::take(&mut outcome.findings), &prefix);
    }
    // premortem's own baseline holds masked findings, which are not the repository's.
    for own in args.baseline.iter().chain(&args.write_baseline) {
        let cwd = std::env::current_dir().unwrap_or_default();
        let root = outcome
            .root
            .canonicalize()
            .unwrap_or_else(|_| outcome.root.clone());
        if let Some(rel) = git::prefix_of(&root, &cwd.join(own)) {
            outcome.findings.retain(|f| f.location.path != rel);
        }
    }
    if let Some(b) = &baseline {
        let (new, accepted) = b.filter(std::mem::take(&mut outcome.findings));
        outcome.findings = new;
        if accepted > 0 && args.format == Format::Human {
            eprintln!(
                "premortem: {} accepted by the baseline not shown",
                report::human::plural(accepted, "finding")
            );
        }
    }
    if let Err(e) = write_reports(args, &outcome) {
        return fail(e);
    }
    if let Some(path) = &args.write_baseline {
        return match write_baseline(path, args, &outcome) {
            Ok(n) => {
                eprintln!(
                    "premortem: wrote {} to the baseline `{}`",
                    report::human::plural(n, "finding"),
                    path.display()
                );
                0
            }
            Err(e) => fail(e),
        };
    }
    let threshold = match args.fail_on {
        FailOn::Error => Severity::Error,
        FailOn::Warning => Severity::Warning,
        FailOn::Info => Severity::Info,
    };
    i32::from(outcome.findings.iter().any(|f| f.severity >= threshold))
}

/// How a run differs from a plain `check` when it runs as a hook.
#[derive(Debug, Default)]
struct Plan {
    /// Scan only the files staged for commit (a hook given no file names).
    staged_changes_only: bool,
    /// A pre-push range: (from, to).
    push: Option<(String, String)>,
}

fn hook_run(args: &CheckArgs) -> i32 {
    let mut args = args.clone();
    let plan = match hook::stage_from_env(|name| std::env::var(name).ok()) {
        Stage::Commit => {
            args.staged = true;
            Plan {
                staged_changes_only: args.paths.is_empty(),
                push: None,
            }
        }
        Stage::Push { from, to } => Plan {
            staged_changes_only: false,
            push: Some((from, to)),
        },
    };
    check(&args, &plan)
}

fn install_hook(force: bool) -> i32 {
    let run = || -> Result<PathBuf, engine::Error> {
        let cwd = std::env::current_dir()
            .map_err(|e| engine::Error(format!("cannot read the current directory: {e}")))?;
        let exe = std::env::current_exe()
            .map_err(|e| engine::Error(format!("cannot find this program's path: {e}")))?;
        hook::install(&cwd, &exe, force)
    };
    match run() {
        Ok(path) => {
            eprintln!(
                "premortem: installed the pre-commit hook at `{}`",
                path.display()
            );
            0
        }
        Err(e) => fail(e),
    }
}

/// The directory whose repository git modes use: the first path's, else the current one.
fn git_dir(paths: &[PathBuf]) -> PathBuf {
    let cwd = std::env::current_dir().unwrap_or_default();
    match paths.first() {
        Some(p) if p.is_dir() => cwd.join(p),
        Some(p) => cwd.join(p).parent().map(PathBuf::from).unwrap_or(cwd),
        None => cwd,
    }
}

/// The git snapshot to read files from, if the run reads history instead of the working tree.
fn snapshot(git: &Git, args: &CheckArgs, plan: &Plan) -> Result<Option<Snapshot>, engine::Error> {
    if let Some((_, to)) = &plan.push {
        return Snapshot::commit(git, to).map(Some);
    }
    if !args.staged {
        return Ok(None);
    }
    let index = Snapshot::index(git)?;
    if plan.staged_changes_only {
        return Ok(Some(index.restrict(git.staged_paths()?)));
    }
    Ok(Some(index))
}

/// Writes the baseline; a run limited to some paths keeps the entries of every other path.
fn write_baseline(path: &std::path::Path, args: &CheckArgs, o: &Outcome) -> Result<usize, String> {
    let fresh = Baseline::of(&o.findings);
    let merged = if args.paths.is_empty() || !path.exists() {
        fresh
    } else {
        let cwd = std::env::current_dir().unwrap_or_default();
        let root = o.root.canonicalize().unwrap_or_else(|_| o.root.clone());
        let scopes: Vec<String> = (args.paths.iter())
            .filter_map(|p| {
                let abs = cwd.join(p);
                let abs = abs.canonicalize().unwrap_or(abs);
                git::prefix_of(&root, &abs)
            })
            .collect();
        Baseline::load(path)?.merged(fresh, |entry| {
            scopes.iter().any(|s| {
                s.is_empty()
                    || entry == s
                    || entry
                        .strip_prefix(s.as_str())
                        .is_some_and(|r| r.starts_with('/'))
            })
        })
    };
    merged.write(path)?;
    Ok(merged.findings.len())
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
