//! Helpers shared by the tests that drive premortem through git, pre-commit and the Action.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A literal production password: it must never appear in any output or file premortem writes.
pub const PASSWORD: &str = "Sup3r-s3cret-pw";

/// A Helm values file with a literal DSN and its password: a `literal-dsn` error on line 2.
pub const BAD_VALUES: &str =
    "db:\n  url: postgresql://app:Sup3r-s3cret-pw@pg-main.prod.internal:5432/app\n";

/// The same values done right: the DSN comes from a Secret.
pub const GOOD_VALUES: &str = "db:\n  existingSecret: app-db\n";

/// The crate's own directory.
pub fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The premortem binary cargo built for these tests.
pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_premortem"))
}

/// True when the suite runs in CI, where a missing outside tool is a failure, not a skip.
pub fn in_ci() -> bool {
    std::env::var_os("CI").is_some_and(|v| !v.is_empty())
}

/// Skips a test with a printed reason, or fails it under CI.
pub fn skip(reason: &str) {
    assert!(!in_ci(), "{reason} (required when CI is set)");
    println!("skipped: {reason}");
}

/// Applies an environment in which git ignores the user's and the system's configuration and
/// any repository the tests themselves run inside.
pub fn hermetic(cmd: &mut Command) -> &mut Command {
    for var in [
        "GIT_DIR",
        "GIT_WORK_TREE",
        "GIT_INDEX_FILE",
        "GIT_OBJECT_DIRECTORY",
        "GIT_ALTERNATE_OBJECT_DIRECTORIES",
        "GIT_CEILING_DIRECTORIES",
        "PRE_COMMIT_FROM_REF",
        "PRE_COMMIT_TO_REF",
        "NO_COLOR",
        "GITHUB_ACTIONS",
    ] {
        cmd.env_remove(var);
    }
    cmd.env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_AUTHOR_NAME", "Test Author")
        .env("GIT_AUTHOR_EMAIL", "author@example.com")
        .env("GIT_COMMITTER_NAME", "Test Author")
        .env("GIT_COMMITTER_EMAIL", "author@example.com")
        .env("GIT_TERMINAL_PROMPT", "0")
}

/// Runs git in `dir` and returns its output, whatever the exit code.
pub fn git_output(dir: &Path, args: &[&str]) -> Output {
    hermetic(&mut Command::new("git"))
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .expect("git runs")
}

/// Runs git in `dir`, asserts it succeeded, and returns its standard output.
pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = git_output(dir, args);
    assert!(
        out.status.success(),
        "git {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Writes a file, creating its directories.
pub fn write(dir: &Path, rel: &str, content: &str) {
    let path = dir.join(rel);
    std::fs::create_dir_all(path.parent().expect("a parent")).expect("mkdir");
    std::fs::write(path, content).expect("write");
}

/// Gives every file to a human team, so ownership findings appear only where a test asks.
pub const OWNERS: (&str, &str) = (".github/CODEOWNERS", "* @acme/platform\n");

/// A fresh git repository on branch `main` with these files committed, plus `OWNERS` unless
/// the files include a CODEOWNERS of their own.
pub fn repo(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("a temporary directory");
    git(dir.path(), &["init", "-q", "-b", "main"]);
    let own = files.iter().any(|(rel, _)| rel.ends_with("CODEOWNERS"));
    for (rel, content) in files.iter().chain((!own).then_some(&OWNERS)) {
        write(dir.path(), rel, content);
    }
    git(dir.path(), &["add", "-A"]);
    git(dir.path(), &["commit", "-q", "-m", "initial"]);
    dir
}

/// premortem with a hermetic environment, run in `dir`.
pub fn premortem(dir: &Path) -> Command {
    let mut cmd = Command::new(bin());
    hermetic(&mut cmd).env_remove("CI").current_dir(dir);
    cmd
}

/// Standard output and error of a run, together.
pub fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Microsoft's SARIF multitool: `SARIF_MULTITOOL`, a local npm install, or `sarif` on PATH.
pub fn multitool() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("SARIF_MULTITOOL") {
        let path = PathBuf::from(path);
        assert!(
            path.is_file(),
            "SARIF_MULTITOOL={} is not a file",
            path.display()
        );
        return Some(path);
    }
    let local = crate_dir().join("node_modules/@microsoft/sarif-multitool-linux/Sarif.Multitool");
    let on_path = std::env::var_os("PATH")
        .map(|p| {
            std::env::split_paths(&p)
                .map(|dir| dir.join("sarif"))
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    std::iter::once(local).chain(on_path).find(|p| p.is_file())
}

/// Validates a SARIF log with GitHub's and SARIF's rules; returns every error and warning.
pub fn sarif_problems(tool: &Path, log: &Path) -> Vec<String> {
    let out_path = log.with_extension("validation.sarif");
    let run = Command::new(tool)
        .args([
            "validate",
            "--rule-kind",
            "Gh;Sarif",
            "--level",
            "Error;Warning",
        ])
        .arg(log)
        .arg("-o")
        .arg(&out_path)
        .env("DOTNET_SYSTEM_GLOBALIZATION_INVARIANT", "1")
        .output()
        .expect("running the SARIF multitool");
    let text = std::fs::read_to_string(&out_path).unwrap_or_else(|_| {
        panic!(
            "no validator output; stderr: {}",
            String::from_utf8_lossy(&run.stderr)
        )
    });
    let out: serde_json::Value = serde_json::from_str(&text).expect("validator output is JSON");
    out["runs"][0]["results"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|r| matches!(r["level"].as_str(), None | Some("error" | "warning")))
        .map(|r| format!("{} {} {}", r["level"], r["ruleId"], r["message"]))
        .collect()
}
