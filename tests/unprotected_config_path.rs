//! `unprotected-config-path` and `codeowners-syntax` through the engine, on throwaway repositories.

use premortem::engine::{self, Options};
use premortem::finding::{Finding, Severity};
use std::path::PathBuf;

const VALUES: &str = "postgres:\n  dsn: postgresql://app:REDACTED@pg-main.db.internal:5432/app\n";
const HOST: &str = "database:\n  host: pg-main.db.internal\n";

/// A throwaway repository with the given files.
fn repo(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join(".git")).unwrap();
    for (rel, content) in files {
        let p = dir.path().join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, content).unwrap();
    }
    dir
}

fn run(paths: Vec<PathBuf>) -> Vec<Finding> {
    engine::run(&Options {
        paths,
        ..Options::default()
    })
    .unwrap()
    .findings
}

/// Findings of this rule and of `codeowners-syntax`, for the whole repository.
fn owners(files: &[(&str, &str)]) -> Vec<Finding> {
    let dir = repo(files);
    only_ours(run(vec![dir.path().to_path_buf()]))
}

fn only_ours(findings: Vec<Finding>) -> Vec<Finding> {
    findings
        .into_iter()
        .filter(|f| f.rule == "unprotected-config-path" || f.rule == "codeowners-syntax")
        .collect()
}

/// (rule, path, line) of every finding.
fn places(findings: &[Finding]) -> Vec<(&str, &str, usize)> {
    findings
        .iter()
        .map(|f| (f.rule.as_str(), f.location.path.as_str(), f.location.line))
        .collect()
}

fn help(f: &Finding) -> &str {
    f.help.as_deref().unwrap_or("")
}

#[test]
fn incident_001_bot_owned_staging_values_is_reported_with_the_deciding_line() {
    let fs = owners(&[
        (
            ".github/CODEOWNERS",
            "* @acme/storefront-backend\n/charts/ @platform-eng-bot\n/charts/app/values-production.yaml @acme/platform-eng\n",
        ),
        ("charts/app/values-staging.yaml", VALUES),
        ("charts/app/values-production.yaml", VALUES),
    ]);
    assert_eq!(
        places(&fs),
        [(
            "unprotected-config-path",
            "charts/app/values-staging.yaml",
            2
        )]
    );
    let f = &fs[0];
    assert_eq!(f.severity, Severity::Warning);
    assert!(f.message.contains(".github/CODEOWNERS:2"), "{}", f.message);
    assert!(
        f.message.contains("`@platform-eng-bot` alone"),
        "{}",
        f.message
    );
    assert!(f.message.contains("pg-main.db.internal"), "{}", f.message);
    assert_eq!(f.related.len(), 1);
    assert_eq!(f.related[0].location.path, ".github/CODEOWNERS");
    assert_eq!(f.related[0].location.line, 2);
    assert!(
        help(f).ends_with("\n  /charts/app/values-staging.yaml @acme/storefront-backend"),
        "{}",
        help(f)
    );
    assert!(help(f).contains("at the end of .github/CODEOWNERS"));
}

#[test]
fn the_help_line_appended_fixes_the_finding() {
    let codeowners = "* @acme/all\n/charts/ @acme/platform\n/charts/app/ @deploy-bot\n";
    let fs = owners(&[
        (".github/CODEOWNERS", codeowners),
        ("charts/app/values-staging.yaml", VALUES),
    ]);
    assert_eq!(fs.len(), 1);
    let line = help(&fs[0]).rsplit('\n').next().unwrap().trim();
    assert_eq!(line, "/charts/app/values-staging.yaml @acme/platform");
    let fixed = owners(&[
        (".github/CODEOWNERS", &format!("{codeowners}{line}\n")),
        ("charts/app/values-staging.yaml", VALUES),
    ]);
    assert!(fixed.is_empty(), "{fixed:?}");
}

#[test]
fn a_second_codeowners_not_in_force_is_info_and_the_first_decides() {
    let fs = owners(&[
        (".github/CODEOWNERS", "* @acme/platform\n"),
        ("CODEOWNERS", "* @deploy-bot\n"),
        ("charts/app/values.yaml", VALUES),
    ]);
    assert_eq!(places(&fs), [("codeowners-syntax", "CODEOWNERS", 1)]);
    assert_eq!(fs[0].severity, Severity::Info);
    assert!(
        fs[0].message.contains("uses `.github/CODEOWNERS`"),
        "{}",
        fs[0].message
    );
}

#[test]
fn a_line_without_owners_after_a_team_rule_unowns() {
    let fs = owners(&[
        (
            ".github/CODEOWNERS",
            "/config/ @acme/backend\n/config/db/\n",
        ),
        ("config/db/database.yml", HOST),
        ("config/app/database.yml", HOST),
    ]);
    assert_eq!(
        places(&fs),
        [("unprotected-config-path", "config/db/database.yml", 2)]
    );
    assert!(
        fs[0]
            .message
            .starts_with("explicitly un-owned at .github/CODEOWNERS:2"),
        "{}",
        fs[0].message
    );
    assert_eq!(fs[0].related[0].location.line, 2);
    assert!(help(&fs[0]).ends_with("/config/db/database.yml @acme/backend"));
}

#[test]
fn bots_alone_or_beside_a_team_can_approve() {
    for (owners_text, bot) in [
        ("@renovate[bot]", "@renovate[bot]"),
        ("@acme/platform @deploy-bot", "@deploy-bot"),
        ("@deploybot ops@acme.example.com", "@deploybot"),
    ] {
        let fs = owners(&[
            (".github/CODEOWNERS", &format!("/deploy/ {owners_text}\n")),
            ("deploy/.env.production", "DB_HOST=pg-main.db.internal\n"),
        ]);
        assert_eq!(fs.len(), 1, "{owners_text}: {fs:?}");
        assert!(
            fs[0].message.contains(&format!("`{bot}`")),
            "{}",
            fs[0].message
        );
    }
}

#[test]
fn configured_bots_count_as_bots() {
    let files = [
        (".github/CODEOWNERS", "/deploy/ @release-manager\n"),
        ("deploy/.env.production", "DB_HOST=pg-main.db.internal\n"),
    ];
    assert!(owners(&files).is_empty());
    let mut with_config = files.to_vec();
    with_config.push((
        ".premortem.yaml",
        "rules:\n  unprotected-config-path:\n    bots: [release-manager]\n",
    ));
    assert_eq!(owners(&with_config).len(), 1);
}

#[test]
fn an_email_owner_is_a_human() {
    let fs = owners(&[
        (".github/CODEOWNERS", "*.yaml dba@acme.example.com\n"),
        ("charts/app/values.yaml", VALUES),
    ]);
    assert!(fs.is_empty(), "{fs:?}");
}

#[test]
fn double_star_and_trailing_slash_patterns() {
    let files = |co: &'static str| {
        vec![
            (".github/CODEOWNERS", co),
            ("a/config/values.yaml", VALUES),
            ("b/c/config/values.yaml", VALUES),
            ("config/values.yaml", VALUES),
        ]
    };
    // `**/config` and `config/` match at any depth, the root included.
    assert!(owners(&files("**/config @acme/ops\n")).is_empty());
    assert!(owners(&files("config/ @acme/ops\n")).is_empty());
    // `/config/` is anchored to the root.
    let fs = owners(&files("/config/ @acme/ops\n"));
    assert_eq!(
        places(&fs),
        [
            ("unprotected-config-path", "a/config/values.yaml", 2),
            ("unprotected-config-path", "b/c/config/values.yaml", 2)
        ]
    );
    assert!(
        fs[0].message.starts_with("no code owner"),
        "{}",
        fs[0].message
    );
    assert!(fs[0].related.is_empty());
    // `a/**/values.yaml` spans zero or more directories.
    let fs = owners(&files(
        "a/**/values.yaml @acme/ops\n/b/ @acme/ops\n/config/ @acme/ops\n",
    ));
    assert!(fs.is_empty(), "{fs:?}");
}

#[test]
fn dir_star_does_not_cover_nested_files_on_github() {
    let fs = owners(&[
        (".github/CODEOWNERS", "charts/* @acme/platform\n"),
        ("charts/values.yaml", VALUES),
        ("charts/app/values.yaml", VALUES),
    ]);
    assert_eq!(
        places(&fs),
        [("unprotected-config-path", "charts/app/values.yaml", 2)]
    );
    assert!(fs[0].message.starts_with("no code owner"));
}

#[test]
fn gitlab_escaped_hash_pattern_owns_the_file() {
    let files = |co: &'static str| {
        vec![
            (".gitlab-ci.yml", "stages: [test]\n"),
            ("CODEOWNERS", co),
            ("config/#db.env", "DB_HOST=pg-main.db.internal\n"),
        ]
    };
    assert!(owners(&files("/config/\\#db.env @acme/dba\n")).is_empty());
    // Unescaped, the line is a comment and owns nothing.
    let fs = owners(&files("#db.env @acme/dba\n"));
    assert_eq!(
        places(&fs),
        [("unprotected-config-path", "config/#db.env", 1)]
    );
}

#[test]
fn gitlab_optional_section_is_not_protection_but_a_required_one_is() {
    let files = |co: &'static str| vec![(".gitlab/CODEOWNERS", co), ("config/database.yml", HOST)];
    let fs = owners(&files(
        "[Docs]\n*.md @acme/docs\n^[Config]\n/config/ @acme/platform\n",
    ));
    assert_eq!(
        places(&fs),
        [("unprotected-config-path", "config/database.yml", 2)]
    );
    assert!(fs[0].message.contains("optional"), "{}", fs[0].message);
    assert!(
        fs[0].message.contains(".gitlab/CODEOWNERS:4"),
        "{}",
        fs[0].message
    );
    assert!(
        help(&fs[0]).contains("[Protected config]\n  /config/database.yml @your-org/your-team"),
        "{}",
        help(&fs[0])
    );
    assert!(owners(&files("[Config]\n/config/ @acme/platform\n")).is_empty());
    // Default owners of a required section count.
    assert!(owners(&files("[Config] @acme/platform\n/config/\n")).is_empty());
    // An optional section beside a required one with a human: protected.
    assert!(
        owners(&files(
            "^[Docs]\n/config/ @acme/docs\n[Config]\n/config/ @acme/platform\n"
        ))
        .is_empty()
    );
}

#[test]
fn gitlab_approval_counts_above_the_bots_need_a_human() {
    let files = |co: &'static str| {
        vec![
            (".gitlab-ci.yml", "stages: [test]\n"),
            ("CODEOWNERS", co),
            ("config/database.yml", HOST),
        ]
    };
    assert_eq!(
        owners(&files("[Config]\n/config/ @acme/platform @deploy-bot\n")).len(),
        1
    );
    assert!(owners(&files("[Config][2]\n/config/ @acme/platform @deploy-bot\n")).is_empty());
}

#[test]
fn platform_option_overrides_detection() {
    let files = |config: &'static str| {
        vec![
            (".github/CODEOWNERS", "* @acme/all\n"),
            ("CODEOWNERS", "* @deploy-bot\n"),
            (".premortem.yaml", config),
            ("config/database.yml", HOST),
        ]
    };
    // Detected as GitHub: `.github/CODEOWNERS` is in force.
    let fs = owners(&files("{}\n"));
    assert_eq!(places(&fs), [("codeowners-syntax", "CODEOWNERS", 1)]);
    // On GitLab the root file is in force; `.github/` is not a GitLab location at all.
    let fs = owners(&files(
        "rules:\n  unprotected-config-path:\n    platform: gitlab\n",
    ));
    assert_eq!(
        places(&fs),
        [("unprotected-config-path", "config/database.yml", 2)]
    );
    assert!(fs[0].message.contains("CODEOWNERS:1"), "{}", fs[0].message);
    // An unknown value is reported, and the platform is detected instead.
    let fs = owners(&files(
        "rules:\n  unprotected-config-path:\n    platform: bitbucket\n",
    ));
    assert_eq!(
        places(&fs),
        [
            ("unprotected-config-path", ".premortem.yaml", 1),
            ("codeowners-syntax", "CODEOWNERS", 1)
        ]
    );
}

#[test]
fn crlf_codeowners() {
    let fs = owners(&[
        (
            ".github/CODEOWNERS",
            "* @acme/all\r\n/config/ @deploy-bot\r\n/config/shared/\r\n",
        ),
        ("config/database.yml", HOST),
        ("config/shared/database.yml", HOST),
    ]);
    assert_eq!(
        places(&fs),
        [
            ("unprotected-config-path", "config/database.yml", 2),
            ("unprotected-config-path", "config/shared/database.yml", 2)
        ]
    );
    assert!(
        fs[0]
            .message
            .contains(".github/CODEOWNERS:2 (`/config/ @deploy-bot`)"),
        "{}",
        fs[0].message
    );
    assert!(
        fs[1]
            .message
            .contains("explicitly un-owned at .github/CODEOWNERS:3"),
        "{}",
        fs[1].message
    );
}

#[test]
fn a_huge_codeowners_over_hundreds_of_config_files_finishes() {
    let mut co = String::from("* @acme/all\n");
    for i in 0..10_000 {
        co.push_str(&format!("/services/svc{i}/ @acme/team{}\n", i % 50));
    }
    co.push_str("/services/svc7/ @deploy-bot\n");
    let mut files: Vec<(String, String)> = vec![(".github/CODEOWNERS".into(), co)];
    for i in 0..300 {
        files.push((format!("services/svc{i}/values.yaml"), VALUES.into()));
    }
    let refs: Vec<(&str, &str)> = files
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    let fs = owners(&refs);
    assert_eq!(
        places(&fs),
        [("unprotected-config-path", "services/svc7/values.yaml", 2)]
    );
    assert!(
        fs[0].message.contains(".github/CODEOWNERS:10002"),
        "{}",
        fs[0].message
    );
}

#[test]
fn no_codeowners_is_one_finding_listing_the_others() {
    let fs = owners(&[
        ("charts/app/values-staging.yaml", VALUES),
        ("config/database.yml", HOST),
        ("infra/prod.tfvars", "db_host = \"pg-main.db.internal\"\n"),
    ]);
    assert_eq!(
        places(&fs),
        [(
            "unprotected-config-path",
            "charts/app/values-staging.yaml",
            2
        )]
    );
    let f = &fs[0];
    assert!(f.message.starts_with("no CODEOWNERS file"), "{}", f.message);
    assert!(f.message.contains("2 other such files"), "{}", f.message);
    let related: Vec<&str> = f.related.iter().map(|r| r.location.path.as_str()).collect();
    assert_eq!(related, ["config/database.yml", "infra/prod.tfvars"]);
    assert!(help(f).contains("create .github/CODEOWNERS"), "{}", help(f));
}

#[test]
fn no_codeowners_caps_the_related_list() {
    let files: Vec<(String, &str)> = (0..25)
        .map(|i| (format!("svc{i:02}/values.yaml"), VALUES))
        .collect();
    let refs: Vec<(&str, &str)> = files.iter().map(|(a, b)| (a.as_str(), *b)).collect();
    let fs = owners(&refs);
    assert_eq!(fs.len(), 1);
    assert_eq!(fs[0].related.len(), 20);
    assert!(
        fs[0]
            .message
            .contains("24 other such files (20 listed, and 4 more)"),
        "{}",
        fs[0].message
    );
}

#[test]
fn pre_commit_run_on_one_file_reads_codeowners_from_the_root() {
    let dir = repo(&[
        (
            ".github/CODEOWNERS",
            "* @acme/all\n!/docs/ @acme/docs\n/charts/ @platform-eng-bot\n",
        ),
        ("charts/app/values-staging.yaml", VALUES),
        ("charts/app/values-qa.yaml", VALUES),
    ]);
    let fs = only_ours(run(vec![dir.path().join("charts/app/values-staging.yaml")]));
    // Only the file passed is judged, and the CODEOWNERS syntax error is not this commit's.
    assert_eq!(
        places(&fs),
        [(
            "unprotected-config-path",
            "charts/app/values-staging.yaml",
            2
        )]
    );
    assert!(
        fs[0].message.contains(".github/CODEOWNERS:3"),
        "{}",
        fs[0].message
    );
    // Passing CODEOWNERS itself reports its syntax.
    let fs = only_ours(run(vec![dir.path().join(".github/CODEOWNERS")]));
    assert_eq!(
        places(&fs),
        [("codeowners-syntax", ".github/CODEOWNERS", 2)]
    );
}

#[test]
fn example_env_files_and_secret_references_are_not_findings() {
    let fs = owners(&[
        (".github/CODEOWNERS", "/docs/ @acme/docs\n"),
        (".env.example", "DB_HOST=pg-main.db.internal\n"),
        (
            "config/.env.sample",
            "DATABASE_URL=postgres://app:x@pg-main.db.internal/app\n",
        ),
        (
            "charts/app/values.yaml",
            "postgres:\n  existingSecret: app-db\n  existingSecretKey: dsn\n",
        ),
        (
            "docker-compose.yml",
            "services:\n  api:\n    environment:\n      DATABASE_URL: postgres://app:app@db:5432/app\n",
        ),
    ]);
    assert!(fs.is_empty(), "{fs:?}");
    // The near miss: the same host in a real env file.
    let fs = owners(&[
        (".github/CODEOWNERS", "/docs/ @acme/docs\n"),
        (".env.production", "DB_HOST=pg-main.db.internal\n"),
    ]);
    assert_eq!(
        places(&fs),
        [("unprotected-config-path", ".env.production", 1)]
    );
}

#[test]
fn codeowners_syntax_errors_are_reported_at_their_line() {
    let fs = owners(&[(
        ".github/CODEOWNERS",
        "# owners\n* @acme/all\n/charts/[ab]/ @acme/platform\n/deploy/ platform-team\n",
    )]);
    assert_eq!(
        places(&fs),
        [
            ("codeowners-syntax", ".github/CODEOWNERS", 3),
            ("codeowners-syntax", ".github/CODEOWNERS", 4)
        ]
    );
    assert!(
        fs[0].message.contains("character ranges"),
        "{}",
        fs[0].message
    );
    assert!(
        fs[1].message.contains("`platform-team`"),
        "{}",
        fs[1].message
    );
    assert_eq!(fs[1].location.column, 10);
}

#[test]
fn gitlab_syntax_on_github_suggests_the_platform_option() {
    let fs = owners(&[(".github/CODEOWNERS", "[Config]\n/config/ @acme/platform\n")]);
    assert_eq!(
        places(&fs),
        [("codeowners-syntax", ".github/CODEOWNERS", 1)]
    );
    assert!(
        fs[0].message.contains("platform: gitlab"),
        "{}",
        fs[0].message
    );
}

#[test]
fn sensitive_paths_need_an_owner_whatever_they_hold() {
    let files = |co: &'static str| {
        vec![
            (".github/CODEOWNERS", co),
            (
                ".premortem.yaml",
                "rules:\n  unprotected-config-path:\n    sensitive_paths: [\"deploy/**\"]\n",
            ),
            ("deploy/prod/main.hcl", "replicas = 3\n"),
            ("deploy/prod/settings.yaml", "replicas: 3\n"),
            ("src/main.hcl", "replicas = 3\n"),
        ]
    };
    let fs = owners(&files("* @acme/all\n/deploy/ @deploy-bot\n"));
    assert_eq!(
        places(&fs),
        [
            ("unprotected-config-path", "deploy/prod/main.hcl", 1),
            ("unprotected-config-path", "deploy/prod/settings.yaml", 1)
        ]
    );
    assert!(
        fs[0].message.contains("matches `sensitive_paths`"),
        "{}",
        fs[0].message
    );
    assert!(owners(&files("* @acme/all\n")).is_empty());
}

#[test]
fn sensitive_paths_reach_into_vendored_directories() {
    // The walk skips `vendor/`, `node_modules/`, ... only when no path glob could ask for a file
    // there; a `sensitive_paths` glob can.
    let fs = owners(&[
        (".github/CODEOWNERS", "/src/ @acme/all\n"),
        (
            ".premortem.yaml",
            "rules:\n  unprotected-config-path:\n    sensitive_paths: [\"**/secrets.yaml\"]\n",
        ),
        ("services/api/vendor/chart/secrets.yaml", "token: x\n"),
        ("node_modules/pkg/secrets.yaml", "token: x\n"),
        ("src/app.py", "print(1)\n"),
    ]);
    assert_eq!(
        places(&fs),
        [
            (
                "unprotected-config-path",
                "node_modules/pkg/secrets.yaml",
                1
            ),
            (
                "unprotected-config-path",
                "services/api/vendor/chart/secrets.yaml",
                1
            )
        ]
    );
}

#[test]
fn an_inline_suppression_silences_the_finding() {
    let fs = owners(&[
        (".github/CODEOWNERS", "/charts/ @platform-eng-bot\n"),
        (
            "charts/app/values.yaml",
            "postgres:\n  # premortem: ignore[unprotected-config-path] the bot runs policy checks first\n  host: pg-main.db.internal\n",
        ),
    ]);
    assert!(fs.is_empty(), "{fs:?}");
}

#[test]
fn codeowners_syntax_can_be_turned_off_on_its_own() {
    let fs = owners(&[
        (".github/CODEOWNERS", "/deploy/ platform-team\n"),
        (".premortem.yaml", "rules:\n  codeowners-syntax: off\n"),
        ("deploy/.env.production", "DB_HOST=pg-main.db.internal\n"),
    ]);
    // The skipped line owns nothing, so the file is still reported.
    assert_eq!(
        places(&fs),
        [("unprotected-config-path", "deploy/.env.production", 1)]
    );
}

#[test]
fn a_codeowners_github_cannot_load_is_reported_and_owns_nothing() {
    // Over 3 MiB: larger than the engine's file limit too, so it is not among the checked files.
    let big = "* @acme/all\n".repeat(300_000);
    let fs = owners(&[(".github/CODEOWNERS", &big), ("config/database.yml", HOST)]);
    assert_eq!(
        places(&fs),
        [
            ("codeowners-syntax", ".github/CODEOWNERS", 1),
            ("unprotected-config-path", "config/database.yml", 2)
        ]
    );
    assert!(
        fs[1].message.starts_with("no code owner"),
        "{}",
        fs[1].message
    );
}
