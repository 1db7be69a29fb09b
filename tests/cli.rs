//! The command line through the real binary: exit codes, formats, masking, bad input.

use assert_cmd::Command;
use std::path::{Path, PathBuf};

fn premortem() -> Command {
    let mut c = Command::cargo_bin("premortem").unwrap();
    c.env_remove("NO_COLOR")
        .env_remove("CI")
        .env_remove("GITHUB_ACTIONS");
    c
}

fn storefront() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/storefront")
}

/// A throwaway repository with the given files.
fn repo(files: &[(&str, &[u8])]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join(".git")).unwrap();
    for (rel, content) in files {
        let p = dir.path().join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, content).unwrap();
    }
    dir
}

const PASSWORD: &str = "Vq3-pr0d-7Hx9";

#[test]
fn storefront_example_reports_the_incident_and_exits_1() {
    let out = premortem()
        .arg("check")
        .arg(storefront())
        .arg("--no-color")
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("error[cross-environment-target]"),
        "{stdout}"
    );
    assert!(
        stdout.contains("staging config points at a production database"),
        "{stdout}"
    );
    assert!(stdout.contains("error[literal-dsn]"), "{stdout}");
    assert!(
        stdout
            .contains("postgresql://storefront_app:****@prod-pg-cluster.internal:5432/storefront"),
        "{stdout}"
    );
    assert!(
        stdout.contains("charts/storefront/values-staging.yaml:4:"),
        "{stdout}"
    );
    // The bot-owned staging file, with the CODEOWNERS line that decided it and the line to add.
    assert!(
        stdout.contains("warning[unprotected-config-path]: only a bot approves changes"),
        "{stdout}"
    );
    assert!(
        stdout.contains(".github/CODEOWNERS:4: the line that decides who approves `charts/storefront/values-staging.yaml`"),
        "{stdout}"
    );
    assert!(
        stdout.contains("/charts/storefront/values-staging.yaml @acme/storefront-backend"),
        "{stdout}"
    );
    assert!(!stdout.contains(PASSWORD), "password leaked:\n{stdout}");
    assert!(
        !stdout.contains("values-production.yaml:"),
        "the production file is done right:\n{stdout}"
    );
}

#[test]
fn no_format_ever_prints_the_password() {
    let sarif = tempfile::NamedTempFile::new().unwrap();
    for format in ["human", "json", "sarif", "github"] {
        let out = premortem()
            .args(["check", "--format", format, "--sarif-file"])
            .arg(sarif.path())
            .arg(storefront())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1));
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(!all.contains(PASSWORD), "{format} leaked the password");
        assert!(all.contains("****"), "{format} shows no masked value");
        let written = std::fs::read_to_string(sarif.path()).unwrap();
        assert!(!written.contains(PASSWORD));
    }
}

#[test]
fn json_output_follows_the_documented_schema() {
    let out = premortem()
        .args(["check", "--format", "json"])
        .arg(storefront())
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["version"], 1);
    assert!(v["files_scanned"].as_u64().unwrap() >= 4);
    assert!(v["elapsed_ms"].is_u64());
    let f = &v["findings"][0];
    for key in [
        "rule",
        "severity",
        "path",
        "line",
        "column",
        "end_line",
        "end_column",
        "message",
        "help",
        "fingerprint",
    ] {
        assert!(f.get(key).is_some(), "missing {key}: {f}");
    }
    let paths: Vec<&str> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert!(
        paths.contains(&"charts/storefront/values-staging.yaml"),
        "{paths:?}"
    );
}

#[test]
fn github_format_writes_annotations() {
    let out = premortem()
        .args(["check", "--format", "github"])
        .arg(storefront())
        .output()
        .unwrap();
    let s = String::from_utf8(out.stdout).unwrap();
    assert!(
        s.lines()
            .any(|l| l.starts_with("::error file=charts/storefront/values-staging.yaml,line=4")),
        "{s}"
    );
}

#[test]
fn sarif_format_is_sarif_2_1_0_with_rules() {
    let out = premortem()
        .args(["check", "--format", "sarif"])
        .arg(storefront())
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["version"], "2.1.0");
    let rules = v["runs"][0]["tool"]["driver"]["rules"].as_array().unwrap();
    assert!(rules.iter().any(|r| r["id"] == "literal-dsn"));
    assert!(!v["runs"][0]["results"].as_array().unwrap().is_empty());
}

#[test]
fn clean_repo_exits_0() {
    let dir = repo(&[("charts/app/values.yaml", b"db:\n  existingSecret: app-db\n")]);
    premortem().arg("check").arg(dir.path()).assert().code(0);
}

#[test]
fn fail_on_error_ignores_warnings() {
    let dir = repo(&[(
        "charts/app/values.yaml",
        b"db:\n  url: postgresql://app@pg-main.db.internal/app\n",
    )]);
    let out = premortem().arg("check").arg(dir.path()).output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "a literal target is a warning: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    premortem()
        .args(["check", "--fail-on", "error"])
        .arg(dir.path())
        .assert()
        .code(0);
    premortem()
        .args(["check", "--fail-on", "info"])
        .arg(dir.path())
        .assert()
        .code(1);
}

#[test]
fn usage_and_config_errors_exit_2_with_one_line() {
    let cases: Vec<Vec<String>> = vec![
        vec!["explain".into(), "no-such-rule".into()],
        vec!["check".into(), "--format".into(), "xml".into()],
        vec!["check".into(), "/definitely/not/here".into()],
        vec!["check".into(), "--bogus-flag".into()],
    ];
    for args in cases {
        let out = premortem().args(&args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(!String::from_utf8_lossy(&out.stderr).contains("panicked"));
    }
    let dir = repo(&[
        (".premortem.yaml", b"rules:\n  literal-dns: off\n"),
        ("values.yaml", b"a: 1\n"),
    ]);
    let out = premortem().arg("check").arg(dir.path()).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains(".premortem.yaml:2") && err.contains("literal-dns"),
        "{err}"
    );
}

#[test]
fn rules_and_explain() {
    let out = premortem().arg("rules").output().unwrap();
    let s = String::from_utf8(out.stdout).unwrap();
    assert!(
        s.contains("literal-dsn") && s.contains("cross-environment-target"),
        "{s}"
    );
    let out = premortem()
        .args(["explain", "literal-dsn"])
        .output()
        .unwrap();
    let s = String::from_utf8(out.stdout).unwrap();
    assert!(
        s.contains("## Bad") && s.contains("## Good") && s.contains("values-production.yaml"),
        "{s}"
    );
    premortem()
        .arg("--version")
        .assert()
        .code(0)
        .stdout(predicates::str::contains(env!("CARGO_PKG_VERSION")));
}

#[test]
fn explicit_files_are_checked_even_when_gitignored() {
    let dir = repo(&[
        (".gitignore", b"secret-values.yaml\n"),
        (
            "secret-values.yaml",
            b"url: postgresql://app:Zx81-pass@pg-main.db.internal/app\n",
        ),
    ]);
    premortem().arg("check").arg(dir.path()).assert().code(0);
    premortem()
        .arg("check")
        .arg(dir.path().join("secret-values.yaml"))
        .assert()
        .code(1);
}

#[test]
fn inline_suppressions_need_a_reason_and_a_finding() {
    let dir = repo(&[
        // A human owns the file, so only the suppressions are in question.
        (".github/CODEOWNERS", b"* @acme/dba\n"),
        (
            "values.yaml",
            b"# premortem: ignore[literal-dsn] shared demo database, read-only\nurl: postgresql://app:Zx81-pass@pg-main.db.internal/app\nother: 1 # premortem: ignore[literal-dsn] nothing here\n",
        ),
    ]);
    let out = premortem()
        .args(["check", "--format", "json"])
        .arg(dir.path())
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let rules: Vec<&str> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap())
        .collect();
    assert_eq!(rules, vec!["unused-suppression"], "{v}");
}

#[test]
fn bad_input_never_panics_and_the_rest_is_scanned() {
    let deep = "a:\n".to_string() + &"[".repeat(10_000) + &"]".repeat(10_000);
    let big = "x: 1\n".repeat(10 * 1024 * 1024);
    let dir = repo(&[
        ("a/values.yaml", &[0xff, 0xfe, b'a', b':', b' ', 0xc3, 0x28]),
        ("b/values.yaml", b"\x00\x01\x02binary\x00"),
        ("c/values.yaml", b"a: b\n  c: [\n"),
        ("d/values.yaml", big.as_bytes()),
        ("e/values.yaml", b""),
        (
            "f/values.yaml",
            b"db:\r\n  url: postgresql://app:Zx81-pass@pg-main.db.internal/app\r\n",
        ),
        (
            "g/values.yaml",
            "\u{feff}db:\n  url: postgresql://app:Zx81-pass@pg-other.db.internal/app\n".as_bytes(),
        ),
        ("h/values.yaml", deep.as_bytes()),
        ("i/values.yaml", b"a: 1\n"),
        (
            "j/.env",
            b"DATABASE_URL=\"postgresql://app:Zx81-pass@pg-third.db.internal/app\n",
        ),
    ]);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(
            dir.path().join("i/values.yaml"),
            std::fs::Permissions::from_mode(0o000),
        )
        .unwrap();
    }
    let out = premortem()
        .args(["check", "--format", "json"])
        .arg(dir.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("panicked") && !stderr.contains("internal error"),
        "{stderr}"
    );
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let findings = v["findings"].as_array().unwrap();
    let at = |p: &str, rule: &str| findings.iter().any(|f| f["path"] == p && f["rule"] == rule);
    assert!(at("f/values.yaml", "literal-dsn"), "CRLF file: {v}");
    assert!(at("g/values.yaml", "literal-dsn"), "BOM file: {v}");
    assert!(at("c/values.yaml", "parse-error"), "malformed: {v}");
    assert!(at("h/values.yaml", "parse-error"), "deep nesting: {v}");
    let skipped: Vec<String> = v["files_skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| format!("{} {}", s["path"], s["reason"]))
        .collect();
    let joined = skipped.join("\n");
    assert!(
        joined.contains("a/values.yaml") && joined.contains("UTF-8"),
        "{joined}"
    );
    assert!(
        joined.contains("b/values.yaml") && joined.contains("binary"),
        "{joined}"
    );
    assert!(
        joined.contains("d/values.yaml") && joined.contains("larger than"),
        "{joined}"
    );
    let human = premortem().arg("check").arg(dir.path()).output().unwrap();
    let s = String::from_utf8_lossy(&human.stdout);
    assert!(s.contains("skipped"), "{s}");
}
