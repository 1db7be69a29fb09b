//! The pre-commit framework, for real: `pre-commit try-repo` builds the `premortem` hook from a
//! throwaway commit of this working tree with cargo (`language: rust`), and the README's
//! `.pre-commit-config.yaml` blocks a real commit, lets a good one through and checks a
//! pre-push range.
//!
//! pre-commit is found on PATH or as `python3 -m pre_commit`; without it the test is skipped
//! with a notice, and fails under `CI`. To keep the suite fast, the hook's build shares one
//! cargo target directory (`<target>/pre-commit-hook`) between runs and overrides the release
//! profile's optimisation (`CARGO_PROFILE_RELEASE_*`): the build is the one pre-commit runs,
//! `cargo install --bins --root <env> --path .`, only unoptimised.

mod support;

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Instant;

use support::*;

/// The `.pre-commit-config.yaml` the README shows. The test points `repo` and `rev` at a
/// throwaway commit of this working tree.
const CONFIG: &str = "\
default_install_hook_types: [pre-commit, pre-push]
repos:
  - repo: https://github.com/premortem-dev/premortem
    rev: v0.1.0
    hooks:
      - id: premortem
";

const BAD_FILE: &str = "charts/prod/values.yaml";
const GOOD_FILE: &str = "charts/app/values.yaml";

/// How to run pre-commit here, if at all.
fn pre_commit() -> Option<Vec<OsString>> {
    let candidates: [&[&str]; 2] = [&["pre-commit"], &["python3", "-m", "pre_commit"]];
    for argv in candidates {
        let ok = Command::new(argv[0])
            .args(&argv[1..])
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success());
        if ok {
            return Some(argv.iter().map(OsString::from).collect());
        }
    }
    skip("pre-commit not found (python3 -m pip install pre-commit)");
    None
}

/// Where the hook's cargo builds go: kept between runs so a rerun only rebuilds this crate.
fn hook_target_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| crate_dir().join("target"));
    target.join("pre-commit-hook")
}

/// Commits the working tree as it is (tracked and untracked files, not ignored ones) into a
/// new repository at `dest`, so uncommitted changes are what the hook is built from.
fn commit_working_tree(dest: &Path) -> String {
    let listed = git_output(
        &crate_dir(),
        &[
            "ls-files",
            "-z",
            "--cached",
            "--others",
            "--exclude-standard",
        ],
    );
    assert!(
        listed.status.success(),
        "the crate must be a git checkout: {}",
        text(&listed)
    );
    git(dest, &["init", "-q", "-b", "main"]);
    for rel in listed.stdout.split(|b| *b == 0).filter(|s| !s.is_empty()) {
        let rel = String::from_utf8_lossy(rel).into_owned();
        let from = crate_dir().join(&rel);
        if !from.is_file() {
            continue; // deleted in the working tree
        }
        let to = dest.join(&rel);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(&from, &to).unwrap();
    }
    git(dest, &["add", "-A"]);
    git(dest, &["commit", "-q", "-m", "working tree"]);
    git(dest, &["rev-parse", "HEAD"]).trim().to_string()
}

struct Env {
    pre_commit: Vec<OsString>,
    home: tempfile::TempDir,
}

impl Env {
    fn command(&self, program: &[OsString], dir: &Path) -> Command {
        let mut cmd = Command::new(&program[0]);
        cmd.args(&program[1..]);
        hermetic(&mut cmd)
            .current_dir(dir)
            .env("PRE_COMMIT_HOME", self.home.path())
            .env("PRE_COMMIT_COLOR", "never")
            .env("CARGO_TARGET_DIR", hook_target_dir())
            .env("CARGO_TERM_COLOR", "never")
            .env("CARGO_PROFILE_RELEASE_OPT_LEVEL", "0")
            .env("CARGO_PROFILE_RELEASE_LTO", "false")
            .env("CARGO_PROFILE_RELEASE_CODEGEN_UNITS", "256")
            .env("CARGO_PROFILE_RELEASE_DEBUG", "false");
        cmd
    }

    fn pre_commit(&self, dir: &Path, args: &[&str]) -> Output {
        let started = Instant::now();
        let out = self
            .command(&self.pre_commit, dir)
            .args(args)
            .output()
            .expect("pre-commit runs");
        println!(
            "pre-commit {} took {:.1} s",
            args.join(" "),
            started.elapsed().as_secs_f64()
        );
        out
    }

    fn git_commit(&self, dir: &Path, message: &str) -> Output {
        let started = Instant::now();
        let out = self
            .command(&[OsString::from("git")], dir)
            .args(["commit", "-q", "-m", message])
            .output()
            .expect("git runs");
        println!(
            "git commit (with the hook) took {:.1} s",
            started.elapsed().as_secs_f64()
        );
        out
    }
}

fn assert_blocked(out: &Output, what: &str) {
    let all = text(out);
    assert!(!out.status.success(), "{what} passed:\n{all}");
    assert!(all.contains("error[literal-dsn]"), "{what}:\n{all}");
    assert!(all.contains(&format!("{BAD_FILE}:2:")), "{what}:\n{all}");
    assert!(
        !all.contains(PASSWORD),
        "{what} leaked the password:\n{all}"
    );
}

#[test]
fn pre_commit_runs_the_hook_built_from_this_repository() {
    let Some(pre_commit) = pre_commit() else {
        return;
    };
    let started = Instant::now();
    let src = tempfile::tempdir().unwrap();
    let rev = commit_working_tree(src.path());
    let env = Env {
        pre_commit,
        home: tempfile::tempdir().unwrap(),
    };
    let src_path = src.path().to_str().unwrap();

    // A project with a good file committed and a bad one staged.
    let project = repo(&[(GOOD_FILE, GOOD_VALUES), ("README.md", "demo\n")]);
    let dir = project.path();
    write(dir, BAD_FILE, BAD_VALUES);
    git(dir, &["add", BAD_FILE]);

    // try-repo builds the `language: rust` hook with cargo and runs it on every file.
    let out = env.pre_commit(
        dir,
        &[
            "try-repo",
            src_path,
            "premortem",
            "--all-files",
            "--color=never",
        ],
    );
    assert_blocked(&out, "try-repo --all-files");
    assert!(
        text(&out).contains("- hook id: premortem"),
        "{}",
        text(&out)
    );

    // The system variant runs the premortem on PATH: this test's build.
    let system = format!(
        "{}:{}",
        bin().parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = env
        .command(&env.pre_commit, dir)
        .env("PATH", &system)
        .args(["try-repo", src_path, "premortem-system", "--color=never"])
        .output()
        .unwrap();
    assert_blocked(&out, "try-repo premortem-system (staged files)");

    // The README's configuration, pointed at the same commit, installed as git hooks.
    let config = CONFIG
        .replace("https://github.com/premortem-dev/premortem", src_path)
        .replace("v0.1.0", &rev);
    write(dir, ".pre-commit-config.yaml", &config);
    git(dir, &["add", ".pre-commit-config.yaml"]);
    let out = env.pre_commit(dir, &["install"]);
    assert!(out.status.success(), "{}", text(&out));
    let before = git(dir, &["rev-parse", "HEAD"]);

    // A real commit: blocked while the bad file is staged, even when the working tree is fixed.
    write(dir, BAD_FILE, GOOD_VALUES);
    let out = env.git_commit(dir, "add prod values");
    assert_blocked(&out, "git commit of the bad file");
    assert_eq!(
        git(dir, &["rev-parse", "HEAD"]),
        before,
        "no commit was made"
    );

    // Staged fixed: the commit goes through.
    git(dir, &["add", BAD_FILE]);
    let out = env.git_commit(dir, "add prod values");
    assert!(out.status.success(), "{}", text(&out));
    let good = git(dir, &["rev-parse", "HEAD"]).trim().to_string();

    // Pre-push: an old finding is not reported, one on the pushed lines is.
    write(dir, BAD_FILE, BAD_VALUES);
    git(dir, &["add", BAD_FILE]);
    git(
        dir,
        &[
            "commit",
            "-q",
            "--no-verify",
            "-m",
            "legacy, before premortem",
        ],
    );
    let legacy = git(dir, &["rev-parse", "HEAD"]).trim().to_string();
    write(dir, "docs/notes.md", "notes\n");
    git(dir, &["add", "docs/notes.md"]);
    git(dir, &["commit", "-q", "--no-verify", "-m", "notes"]);
    let head = git(dir, &["rev-parse", "HEAD"]).trim().to_string();
    // (from, to, blocked)
    let cases = [(&legacy, &head, false), (&good, &head, true)];
    for (from, to, blocked) in cases {
        let out = env.pre_commit(
            dir,
            &[
                "run",
                "--hook-stage",
                "pre-push",
                "--from-ref",
                from,
                "--to-ref",
                to,
                "--color=never",
            ],
        );
        if blocked {
            assert_blocked(&out, "pre-push range with the finding");
        } else {
            assert!(out.status.success(), "{}", text(&out));
        }
    }
    println!(
        "pre-commit end to end took {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

#[test]
fn the_readme_shows_the_tested_pre_commit_config() {
    let readme = std::fs::read_to_string(crate_dir().join("README.md")).unwrap();
    assert!(
        readme.contains(&format!("```yaml\n{CONFIG}```\n")),
        "README.md must show the tested .pre-commit-config.yaml verbatim"
    );
    let hooks = std::fs::read_to_string(crate_dir().join(".pre-commit-hooks.yaml")).unwrap();
    for want in [
        "- id: premortem\n",
        "- id: premortem-system\n",
        "language: rust",
        "language: system",
        "entry: premortem hook",
    ] {
        assert!(hooks.contains(want), "{want}");
    }
}
