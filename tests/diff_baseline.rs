//! `--diff REV` and baselines through the real binary, in real git repositories.

mod support;

use std::path::Path;

use support::*;

/// Another literal DSN, so two findings in one repository differ.
const BAD_CACHE: &str = "cache:\n  url: redis://:Sup3r-s3cret-pw@cache.prod.internal:6379/0\n";

/// The sorted `path:line` of every finding of a JSON run, and its exit code.
fn findings(dir: &Path, args: &[&str]) -> (Vec<String>, Option<i32>) {
    let out = premortem(dir)
        .arg("check")
        .args(["--format", "json"])
        .args(args)
        .output()
        .unwrap();
    let all = text(&out);
    assert!(!all.contains(PASSWORD), "password leaked:\n{all}");
    assert!(
        out.status.code() != Some(2),
        "premortem failed on {args:?}: {all}"
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON output");
    let mut found: Vec<String> = json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| format!("{}:{}", f["path"].as_str().unwrap(), f["line"]))
        .collect();
    found.sort();
    (found, out.status.code())
}

#[test]
fn diff_reports_only_lines_changed_since_the_merge_base() {
    let repo = repo(&[
        ("legacy/values.yaml", BAD_VALUES),
        (
            "charts/other/values.yaml",
            "db:\n  existingSecret: app-db\n",
        ),
    ]);
    let dir = repo.path();
    git(dir, &["checkout", "-q", "-b", "feature"]);
    // An unrelated edit moves the old finding's line; it must stay unreported.
    write(
        dir,
        "legacy/values.yaml",
        &format!("# owned by the platform team\n{BAD_VALUES}replicas: 2\n"),
    );
    write(dir, "charts/new/values.yaml", BAD_VALUES);
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "-m", "feature"]);
    // main moves on after the branch point: the merge base, not main's tip, is the base.
    git(dir, &["checkout", "-q", "main"]);
    write(dir, "charts/main-only/values.yaml", BAD_CACHE);
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "-m", "main moves on"]);
    git(dir, &["checkout", "-q", "feature"]);
    // Uncommitted work counts too: a modified tracked file and an untracked one.
    write(
        dir,
        "charts/other/values.yaml",
        &format!("db:\n  existingSecret: app-db\n{BAD_CACHE}"),
    );
    write(dir, "charts/untracked/values.yaml", BAD_CACHE);

    let (all, code) = findings(dir, &[]);
    assert_eq!(code, Some(1));
    assert_eq!(all.len(), 4, "{all:?}");

    let (changed, code) = findings(dir, &["--diff", "main"]);
    assert_eq!(code, Some(1));
    assert_eq!(
        changed,
        [
            "charts/new/values.yaml:2",
            "charts/other/values.yaml:4",
            "charts/untracked/values.yaml:2",
        ]
    );

    // Staged: only what is in the index counts, unstaged and untracked work does not.
    let (staged, _) = findings(dir, &["--diff", "main", "--staged"]);
    assert_eq!(staged, ["charts/new/values.yaml:2"]);

    // Against the branch itself nothing is committed-new; only the uncommitted work remains.
    let (since_head, _) = findings(dir, &["--diff", "HEAD"]);
    assert_eq!(
        since_head,
        [
            "charts/other/values.yaml:4",
            "charts/untracked/values.yaml:2",
        ]
    );
}

#[test]
fn diff_paths_follow_a_project_root_inside_the_repository() {
    // `proj/.premortem.yaml` makes `proj` the root, as the bundled examples do.
    let repo = repo(&[
        ("proj/.premortem.yaml", "exclude: []\n"),
        ("proj/.github/CODEOWNERS", OWNERS.1),
    ]);
    let dir = repo.path();
    write(dir, "proj/charts/values.yaml", BAD_VALUES);
    write(dir, "charts/values.yaml", BAD_VALUES);
    let (found, code) = findings(dir, &["--diff", "HEAD", "proj"]);
    assert_eq!(code, Some(1));
    assert_eq!(found, ["charts/values.yaml:2"]);
}

#[test]
fn diff_explains_a_missing_revision() {
    let src = repo(&[("README.md", "one\n")]);
    for n in ["two", "three"] {
        write(src.path(), "README.md", n);
        git(src.path(), &["commit", "-q", "-am", n]);
    }
    let clones = tempfile::tempdir().unwrap();
    let url = format!("file://{}", src.path().display());
    git(
        clones.path(),
        &["clone", "-q", "--depth", "1", &url, "shallow"],
    );
    let shallow = clones.path().join("shallow");

    // (dir, revision, what the message must say)
    let cases = [
        (shallow.as_path(), "HEAD~2", "fetch-depth: 0"),
        (shallow.as_path(), "HEAD~2", "shallow"),
        (
            src.path(),
            "no-such-branch",
            "unknown revision `no-such-branch`",
        ),
    ];
    for (dir, rev, want) in cases {
        let out = premortem(dir)
            .args(["check", "--diff", rev])
            .output()
            .unwrap();
        let all = text(&out);
        assert_eq!(out.status.code(), Some(2), "{rev}: {all}");
        assert!(all.contains(want), "{rev}: {all}");
        assert_eq!(all.lines().count(), 1, "one line: {all}");
    }

    // Outside a git repository `--diff` cannot work, and says so.
    let plain = tempfile::tempdir().unwrap();
    let out = premortem(plain.path())
        .env("GIT_CEILING_DIRECTORIES", plain.path().parent().unwrap())
        .args(["check", "--diff", "main"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("not inside a git repository"));
}

#[test]
fn diff_keeps_ownership_findings_a_codeowners_edit_causes() {
    let rules = premortem(&crate_dir()).arg("rules").output().unwrap();
    if !String::from_utf8_lossy(&rules.stdout).contains("unprotected-config-path") {
        println!("skipped: the unprotected-config-path rule is not built in yet");
        return;
    }
    let values = "postgresql:\n  host: pg-main.prod.internal\n  existingSecret: db\n";
    let repo = repo(&[
        (
            ".github/CODEOWNERS",
            "* @deploy-bot\n/charts/db/ @acme/dba\n",
        ),
        ("charts/db/values.yaml", values),
    ]);
    let dir = repo.path();
    let (before, _) = findings(dir, &["--diff", "HEAD"]);
    assert!(before.is_empty(), "{before:?}");
    // Dropping the DBA line leaves the file to the bot line above it, which did not change.
    write(dir, ".github/CODEOWNERS", "* @deploy-bot\n");
    let (after, code) = findings(dir, &["--diff", "HEAD"]);
    assert_eq!(code, Some(1), "{after:?}");
    assert_eq!(after, ["charts/db/values.yaml:2"]);
}

#[test]
fn baselines_accept_old_findings_and_fail_on_new_ones() {
    let repo = repo(&[
        ("charts/a/values.yaml", BAD_VALUES),
        ("charts/b/values.yaml", BAD_CACHE),
    ]);
    let dir = repo.path();
    let base = ".premortem-baseline.json";

    let out = premortem(dir)
        .args(["check", "--no-color", "--write-baseline", base])
        .output()
        .unwrap();
    let all = text(&out);
    assert_eq!(out.status.code(), Some(0), "{all}");
    assert!(all.contains("wrote 2 findings to the baseline"), "{all}");
    let written = std::fs::read_to_string(dir.join(base)).unwrap();
    assert!(
        !written.contains(PASSWORD),
        "the baseline stores a secret:\n{written}"
    );
    let json: serde_json::Value = serde_json::from_str(&written).unwrap();
    assert_eq!(json["version"], 1);
    let entries = json["findings"].as_array().unwrap();
    assert_eq!(entries.len(), 2);
    for e in entries {
        for key in ["rule", "path", "fingerprint", "message"] {
            assert!(e[key].is_string(), "{key} in {e}");
        }
    }
    git(dir, &["add", base]);
    git(dir, &["commit", "-q", "-m", "adopt premortem"]);

    // Accepted: nothing to report, and a plain check writes nothing in the repository.
    let (found, code) = findings(dir, &["--baseline", base]);
    assert_eq!((found.len(), code), (0, Some(0)));
    assert_eq!(git(dir, &["status", "--porcelain"]), "");

    // Lines move and unrelated lines change: still accepted.
    write(
        dir,
        "charts/a/values.yaml",
        &format!("# database settings\n\nreplicas: 3\n{BAD_VALUES}"),
    );
    let (found, code) = findings(dir, &["--baseline", base]);
    assert_eq!((found.len(), code), (0, Some(0)), "{found:?}");

    // A new finding fails, and only it is reported.
    write(dir, "charts/c/values.yaml", BAD_VALUES);
    let (found, code) = findings(dir, &["--baseline", base]);
    assert_eq!(code, Some(1));
    assert_eq!(found, ["charts/c/values.yaml:2"]);

    // A second identical DSN in an accepted file is new too.
    write(
        dir,
        "charts/b/values.yaml",
        &format!("{BAD_CACHE}other:\n  url: redis://:Sup3r-s3cret-pw@cache.prod.internal:6379/0\n"),
    );
    let (found, _) = findings(dir, &["--baseline", base]);
    assert_eq!(found, ["charts/b/values.yaml:4", "charts/c/values.yaml:2"]);
    write(dir, "charts/b/values.yaml", BAD_CACHE);

    // Fixed findings leave the baseline on the next write.
    write(dir, "charts/a/values.yaml", GOOD_VALUES);
    let out = premortem(dir)
        .args(["check", "--write-baseline", base])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let paths = |dir: &Path| -> Vec<String> {
        let json: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join(base)).unwrap()).unwrap();
        json["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["path"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(paths(dir), ["charts/b/values.yaml", "charts/c/values.yaml"]);

    // A write limited to some paths keeps the entries of every other path.
    write(dir, "charts/c/values.yaml", GOOD_VALUES);
    let out = premortem(dir)
        .args(["check", "--write-baseline", base, "charts/c"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(paths(dir), ["charts/b/values.yaml"]);
}

#[test]
fn baseline_errors_are_one_line_exit_2() {
    let repo = repo(&[("charts/a/values.yaml", BAD_VALUES)]);
    let dir = repo.path();
    write(dir, "broken.json", "{\"version\": 1}");
    // (args, what the message must say)
    let cases = [
        (
            &["--baseline", "missing.json"][..],
            "cannot read baseline `missing.json`",
        ),
        (
            &["--baseline", "broken.json"],
            "is not a premortem baseline",
        ),
        (
            &["--baseline", "broken.json", "--write-baseline", "x.json"],
            "cannot be used with",
        ),
    ];
    for (args, want) in cases {
        let out = premortem(dir).arg("check").args(args).output().unwrap();
        let all = text(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {all}");
        assert!(all.contains(want), "{args:?}: {all}");
    }
}

#[test]
fn a_baseline_is_never_checked_as_config() {
    let repo = repo(&[("charts/a/values.yaml", BAD_VALUES)]);
    let dir = repo.path();
    std::fs::create_dir_all(dir.join("ci")).unwrap();
    for path in [".premortem-baseline.json", "ci/accepted-findings.json"] {
        let out = premortem(dir)
            .args(["check", "--write-baseline", path])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
        let (found, code) = findings(dir, &["--baseline", path]);
        assert_eq!((found, code), (vec![], Some(0)), "{path}");
    }
    // The default name is skipped even without the flag: only the repository's finding remains.
    std::fs::remove_file(dir.join("ci/accepted-findings.json")).unwrap();
    let (found, _) = findings(dir, &[]);
    assert_eq!(found, ["charts/a/values.yaml:2"]);
}
