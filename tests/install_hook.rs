//! `premortem install-hook`, `premortem hook` and `--staged`, through real git commits.

mod support;

use support::*;

const VALUES: &str = "charts/app/values.yaml";

fn commit(dir: &std::path::Path, message: &str) -> std::process::Output {
    git_output(dir, &["commit", "-q", "-m", message])
}

fn head(dir: &std::path::Path) -> String {
    git(dir, &["rev-parse", "HEAD"]).trim().to_string()
}

/// PATH without any premortem on it, so the hook must find the binary it was installed with.
fn path_without_premortem() -> String {
    "/usr/local/bin:/usr/bin:/bin".to_string()
}

#[test]
fn installed_hook_blocks_a_bad_commit_and_lets_a_good_one_through() {
    let repo = repo(&[("README.md", "demo\n")]);
    let dir = repo.path();
    let out = premortem(dir).arg("install-hook").output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let hook = dir.join(".git/hooks/pre-commit");
    let script = std::fs::read_to_string(&hook).unwrap();
    assert!(script.contains("exec \"$premortem\" hook"), "{script}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&hook).unwrap().permissions().mode();
        assert_eq!(mode & 0o111, 0o111, "the hook is executable: {mode:o}");
    }

    // A bad staged file blocks the commit, with premortem's message and no password.
    write(dir, VALUES, BAD_VALUES);
    git(dir, &["add", VALUES]);
    let before = head(dir);
    let mut c = hermetic(&mut std::process::Command::new("git"))
        .arg("-C")
        .arg(dir)
        .args(["commit", "-q", "-m", "add values"])
        .env("PATH", path_without_premortem())
        .output()
        .unwrap();
    let all = text(&c);
    assert!(!c.status.success(), "the commit went through:\n{all}");
    assert!(all.contains("error[literal-dsn]"), "{all}");
    assert!(all.contains("charts/app/values.yaml:2:"), "{all}");
    assert!(!all.contains(PASSWORD), "password leaked:\n{all}");
    assert_eq!(head(dir), before, "no commit was made");

    // Fixed and staged: the commit goes through.
    write(dir, VALUES, GOOD_VALUES);
    git(dir, &["add", VALUES]);
    c = hermetic(&mut std::process::Command::new("git"))
        .arg("-C")
        .arg(dir)
        .args(["commit", "-q", "-m", "add values"])
        .env("PATH", path_without_premortem())
        .output()
        .unwrap();
    assert!(c.status.success(), "{}", text(&c));
    assert_ne!(head(dir), before);
}

#[test]
fn install_hook_refuses_to_overwrite_without_force() {
    let repo = repo(&[]);
    let dir = repo.path();
    let hook = dir.join(".git/hooks/pre-commit");
    std::fs::create_dir_all(hook.parent().unwrap()).unwrap();
    std::fs::write(&hook, "#!/bin/sh\necho team hook\n").unwrap();

    let out = premortem(dir).arg("install-hook").output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("already exists"), "{}", text(&out));
    assert!(text(&out).contains("--force"), "{}", text(&out));
    assert_eq!(
        std::fs::read_to_string(&hook).unwrap(),
        "#!/bin/sh\necho team hook\n",
        "the existing hook is untouched"
    );

    let out = premortem(dir)
        .args(["install-hook", "--force"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        std::fs::read_to_string(&hook)
            .unwrap()
            .contains("premortem")
    );

    // Outside a repository there is nothing to install into.
    let plain = tempfile::tempdir().unwrap();
    let out = premortem(plain.path())
        .env("GIT_CEILING_DIRECTORIES", plain.path().parent().unwrap())
        .arg("install-hook")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("not inside a git repository"),
        "{}",
        text(&out)
    );
}

#[test]
fn staged_reads_the_index_so_an_unstaged_fix_hides_nothing() {
    let repo = repo(&[("README.md", "demo\n")]);
    let dir = repo.path();
    write(dir, VALUES, BAD_VALUES);
    git(dir, &["add", VALUES]);
    // Fixed in the working tree only.
    write(dir, VALUES, GOOD_VALUES);

    let staged = premortem(dir)
        .args(["check", "--staged", "--no-color"])
        .output()
        .unwrap();
    let all = text(&staged);
    assert_eq!(staged.status.code(), Some(1), "{all}");
    assert!(all.contains("error[literal-dsn]"), "{all}");
    assert!(!all.contains(PASSWORD), "{all}");

    // The same file named explicitly, as pre-commit passes it, and the hook without names.
    for args in [
        &["check", "--staged", VALUES][..],
        &["hook", VALUES],
        &["hook"],
    ] {
        let out = premortem(dir).args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{args:?}: {}", text(&out));
    }

    // The working tree itself is clean.
    let worktree = premortem(dir).args(["check"]).output().unwrap();
    assert_eq!(worktree.status.code(), Some(0), "{}", text(&worktree));

    // The reverse: a staged fix with a bad working tree passes the staged check.
    write(dir, VALUES, GOOD_VALUES);
    git(dir, &["add", VALUES]);
    write(dir, VALUES, BAD_VALUES);
    let out = premortem(dir).args(["check", "--staged"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
}

#[test]
fn hook_without_names_checks_only_the_staged_changes() {
    // An old finding already committed is not the new commit's business.
    let repo = repo(&[("legacy/values.yaml", BAD_VALUES)]);
    let dir = repo.path();
    write(dir, VALUES, GOOD_VALUES);
    git(dir, &["add", VALUES]);
    let out = premortem(dir).arg("hook").output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        text(&out).contains("no findings in 1 file"),
        "{}",
        text(&out)
    );
    // Nothing staged at all: nothing to check.
    assert!(commit(dir, "good").status.success());
    let out = premortem(dir).arg("hook").output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
}

#[test]
fn hook_in_a_push_range_checks_the_pushed_commit_and_its_changed_lines() {
    let repo = repo(&[("legacy/values.yaml", BAD_VALUES)]);
    let dir = repo.path();
    let from = head(dir);
    write(dir, "docs/notes.md", "notes\n");
    git(dir, &["add", "-A"]);
    assert!(commit(dir, "docs").status.success());
    let clean = head(dir);
    write(dir, VALUES, BAD_VALUES);
    git(dir, &["add", "-A"]);
    assert!(commit(dir, "bad values").status.success());
    let bad = head(dir);
    // The working tree differs from the pushed commit: the commit is what is checked.
    write(dir, VALUES, GOOD_VALUES);

    // (to, exit code, what the output must say)
    let cases = [
        (clean.as_str(), 0, "no findings"),
        (bad.as_str(), 1, "charts/app/values.yaml:2:"),
    ];
    for (to, code, want) in cases {
        let out = premortem(dir)
            .args(["hook", "--no-color"])
            .env("PRE_COMMIT_FROM_REF", &from)
            .env("PRE_COMMIT_TO_REF", to)
            .output()
            .unwrap();
        let all = text(&out);
        assert_eq!(out.status.code(), Some(code), "to {to}: {all}");
        assert!(all.contains(want), "to {to}: {all}");
        assert!(!all.contains("legacy/values.yaml"), "old finding: {all}");
        assert!(!all.contains(PASSWORD), "{all}");
    }
}
