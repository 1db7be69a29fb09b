//! What a user sees: the human output of `premortem check` on the bundled examples, snapshotted
//! (the elapsed time is normalised). A review of a change to a rule shows the exact output change.

use assert_cmd::Command;
use std::path::Path;

fn human(example: &str) -> String {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples")
        .join(example);
    let out = Command::cargo_bin("premortem")
        .unwrap()
        .env_remove("NO_COLOR")
        .args(["check", "--no-color"])
        .arg(&dir)
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let re = regex::Regex::new(r"\(\d+\.\d+ s\)").unwrap();
    format!(
        "exit code: {:?}\n{}",
        out.status.code(),
        re.replace_all(&text, "(TIME s)")
    )
}

#[test]
fn storefront_human_output() {
    insta::assert_snapshot!(human("storefront"));
}

#[test]
fn audit_chain_human_output() {
    insta::assert_snapshot!(human("audit-chain"));
}

#[test]
fn pg_deploy_human_output() {
    insta::assert_snapshot!(human("pg-deploy"));
}

/// The README's quick start quotes the first finding of the storefront example; keep it true.
#[test]
fn readme_quotes_the_real_storefront_output() {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let out = human("storefront");
    let first: Vec<&str> = out.lines().skip(1).take(2).collect();
    for line in first {
        assert!(readme.contains(line), "README does not quote `{line}`");
    }
}
