//! The PostgreSQL rules through the engine, on small repositories: `unserialized-chain-trigger`
//! (migration discovery, ordering, replay, partial runs) and `disabled-integrity-safeguard`
//! (every place a setting can live, and where it is allowed).

use std::path::{Path, PathBuf};

use premortem::engine::{self, Options};
use premortem::finding::{Finding, Severity};

const CHAIN: &str = "unserialized-chain-trigger";
const SAFEGUARD: &str = "disabled-integrity-safeguard";

fn manifest(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// A throwaway repository with the given files.
fn repo(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join(".git")).unwrap();
    for (rel, content) in files {
        write(dir.path(), rel, content);
    }
    dir
}

fn write(root: &Path, rel: &str, content: &str) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, content).unwrap();
}

/// Copies a directory tree (the bundled examples) into `to`.
fn copy_tree(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let dest = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            std::fs::create_dir_all(&dest).unwrap();
            copy_tree(&entry.path(), &dest);
        } else {
            std::fs::copy(entry.path(), dest).unwrap();
        }
    }
}

fn check_paths(paths: Vec<PathBuf>) -> Vec<Finding> {
    engine::run(&Options {
        paths,
        ..Options::default()
    })
    .unwrap()
    .findings
}

fn check(root: &Path) -> Vec<Finding> {
    check_paths(vec![root.to_path_buf()])
}

fn of_rule<'a>(findings: &'a [Finding], rule: &str) -> Vec<&'a Finding> {
    findings.iter().filter(|f| f.rule == rule).collect()
}

/// (path, line) of every finding of `rule`.
fn places(findings: &[Finding], rule: &str) -> Vec<(String, usize)> {
    of_rule(findings, rule)
        .iter()
        .map(|f| (f.location.path.clone(), f.location.line))
        .collect()
}

/// The text a finding points at.
fn flagged(root: &Path, f: &Finding) -> String {
    let text = std::fs::read_to_string(root.join(&f.location.path)).unwrap();
    text[f.location.span.clone()].to_string()
}

const TABLE: &str = "CREATE TABLE ledger (id bigserial PRIMARY KEY, account_id bigint NOT NULL, payload text, hash text);\n";

/// The ledger's hash-chain trigger function, with or without the per-account lock.
fn chain_fn(locked: bool) -> String {
    let lock = if locked {
        "  PERFORM pg_advisory_xact_lock(42, hashtext(NEW.account_id::text));\n"
    } else {
        ""
    };
    format!(
        "CREATE OR REPLACE FUNCTION ledger_chain() RETURNS trigger LANGUAGE plpgsql AS $fn$\nDECLARE prev text;\nBEGIN\n{lock}  SELECT hash INTO prev FROM ledger WHERE account_id = NEW.account_id ORDER BY id DESC LIMIT 1;\n  NEW.hash := encode(sha256(convert_to(coalesce(prev, '') || NEW.payload, 'UTF8')), 'hex');\n  RETURN NEW;\nEND\n$fn$;\n"
    )
}

const TRIGGER: &str = "CREATE TRIGGER ledger_chain BEFORE INSERT ON ledger FOR EACH ROW EXECUTE FUNCTION ledger_chain();\n";

/// A migration that creates the chain (function and trigger).
fn chain_migration(locked: bool) -> String {
    format!("{TABLE}{}{TRIGGER}", chain_fn(locked))
}

// ---- unserialized-chain-trigger: the bundled example -------------------------------------------

#[test]
fn audit_chain_example_flags_the_effective_definition_at_the_predecessor_read() {
    let root = manifest("examples/audit-chain");
    let findings = check(&root);
    assert_eq!(
        places(&findings, CHAIN),
        vec![(
            "apps/api/migrations/2026-05-25-c-audit-log-checksum-canonical-fix.sql".to_string(),
            38
        )],
        "{findings:#?}"
    );
    assert_eq!(findings.len(), 1, "{findings:#?}");
    let f = &findings[0];
    assert_eq!(f.severity, Severity::Error);
    let read = flagged(&root, f);
    assert!(read.starts_with("SELECT checksum INTO prev"), "{read}");
    assert!(read.ends_with("LIMIT 1"), "{read}");
    assert!(
        f.message
            .contains("trigger function `audit_log_compute_checksum`"),
        "{}",
        f.message
    );
    let help = f.help.as_deref().unwrap_or("");
    assert!(
        help.contains("PERFORM pg_advisory_xact_lock(")
            && help.contains("hashtext(COALESCE(NEW.org_id::text, 'NULL'))"),
        "{help}"
    );
}

#[test]
fn audit_chain_example_is_clean_once_the_fix_migration_is_copied_in() {
    let dir = tempfile::tempdir().unwrap();
    copy_tree(&manifest("examples/audit-chain"), dir.path());
    // As shipped, the copy behaves like the example.
    assert_eq!(places(&check(dir.path()), CHAIN).len(), 1);
    let fix = "2026-05-30-audit-log-chain-advisory-lock.sql";
    std::fs::copy(
        dir.path().join("fix").join(fix),
        dir.path().join("apps/api/migrations").join(fix),
    )
    .unwrap();
    let findings = check(dir.path());
    assert!(findings.is_empty(), "{findings:#?}");
}

// ---- unserialized-chain-trigger: ordering ------------------------------------------------------

#[test]
fn flyway_versions_order_numerically_and_repeatables_run_last() {
    let base = [
        ("db/migration/V1__ledger.sql", chain_migration(false)),
        ("db/migration/V2__rehash.sql", chain_fn(false)),
        // Sorted as text, V10 would come before V2 and V2's unlocked body would win.
        ("db/migration/V10__lock_chain.sql", chain_fn(true)),
    ];
    let files: Vec<(&str, &str)> = base.iter().map(|(p, t)| (*p, t.as_str())).collect();
    let dir = repo(&files);
    let findings = check(dir.path());
    assert!(of_rule(&findings, CHAIN).is_empty(), "{findings:#?}");

    // A regression in a later version re-opens the finding at that file.
    write(
        dir.path(),
        "db/migration/V11__regress.sql",
        &chain_fn(false),
    );
    assert_eq!(
        places(&check(dir.path()), CHAIN),
        vec![("db/migration/V11__regress.sql".to_string(), 4)]
    );
    std::fs::remove_file(dir.path().join("db/migration/V11__regress.sql")).unwrap();

    // A repeatable migration is applied after every versioned one, whatever its name.
    write(
        dir.path(),
        "db/migration/R__ledger_chain.sql",
        &chain_fn(false),
    );
    assert_eq!(
        places(&check(dir.path()), CHAIN),
        vec![("db/migration/R__ledger_chain.sql".to_string(), 4)]
    );
}

#[test]
fn golang_migrate_applies_up_files_and_ignores_down_files() {
    let dir = repo(&[
        ("migrations/000001_ledger.up.sql", &chain_migration(false)),
        ("migrations/000001_ledger.down.sql", "DROP TABLE ledger;\n"),
        ("migrations/000002_lock_chain.up.sql", &chain_fn(true)),
        // The rollback restores the unlocked body; it is never applied forward.
        ("migrations/000002_lock_chain.down.sql", &chain_fn(false)),
    ]);
    let findings = check(dir.path());
    assert!(of_rule(&findings, CHAIN).is_empty(), "{findings:#?}");

    // A down file alone is never judged, even when its body is the bad one.
    write(
        dir.path(),
        "migrations/000003_drop.down.sql",
        &chain_migration(false),
    );
    assert!(of_rule(&check(dir.path()), CHAIN).is_empty());

    // Without the fix, the finding is at the up file.
    std::fs::remove_file(dir.path().join("migrations/000002_lock_chain.up.sql")).unwrap();
    assert_eq!(
        places(&check(dir.path()), CHAIN),
        vec![("migrations/000001_ledger.up.sql".to_string(), 5)]
    );
}

#[test]
fn a_function_dropped_later_is_not_judged() {
    let dir = repo(&[
        ("db/migrations/001_ledger.sql", &chain_migration(false)),
        (
            "db/migrations/002_drop_chain.sql",
            "DROP FUNCTION IF EXISTS ledger_chain() CASCADE;\n",
        ),
    ]);
    let findings = check(dir.path());
    assert!(of_rule(&findings, CHAIN).is_empty(), "{findings:#?}");
    // Near miss: dropping the trigger of another table leaves the chain in place.
    write(
        dir.path(),
        "db/migrations/002_drop_chain.sql",
        "DROP TRIGGER ledger_chain ON other_table;\n",
    );
    assert_eq!(places(&check(dir.path()), CHAIN).len(), 1);
}

#[test]
fn separate_migration_sets_do_not_fix_each_other() {
    let dir = repo(&[
        (
            "apps/billing/migrations/001_ledger.sql",
            &chain_migration(false),
        ),
        ("apps/api/migrations/009_lock_chain.sql", &chain_fn(true)),
    ]);
    assert_eq!(
        places(&check(dir.path()), CHAIN),
        vec![("apps/billing/migrations/001_ledger.sql".to_string(), 5)]
    );
}

// ---- unserialized-chain-trigger: partial runs (pre-commit) ---------------------------------------

#[test]
fn partial_run_on_an_earlier_migration_sees_the_later_fix_on_disk() {
    let dir = repo(&[
        ("db/migrations/001_ledger.sql", &chain_migration(false)),
        ("db/migrations/002_lock_chain.sql", &chain_fn(true)),
        ("db/postgresql.conf", "fsync = on\n"),
    ]);
    let earlier = dir.path().join("db/migrations/001_ledger.sql");
    let findings = check_paths(vec![earlier.clone()]);
    assert!(findings.is_empty(), "{findings:#?}");

    // Without the fix, the same partial run reports the earlier file.
    std::fs::remove_file(dir.path().join("db/migrations/002_lock_chain.sql")).unwrap();
    assert_eq!(
        places(&check_paths(vec![earlier]), CHAIN),
        vec![("db/migrations/001_ledger.sql".to_string(), 5)]
    );
}

#[test]
fn partial_run_reports_a_regression_in_the_changed_file_only() {
    let dir = repo(&[
        ("db/migrations/001_ledger.sql", &chain_migration(false)),
        ("db/migrations/002_lock_chain.sql", &chain_fn(true)),
        ("db/migrations/003_regress.sql", &chain_fn(false)),
        (
            "db/migrations/004_unrelated.sql",
            "CREATE INDEX i ON ledger (payload);\n",
        ),
    ]);
    // The regression is the changed file: reported there.
    let findings = check_paths(vec![dir.path().join("db/migrations/003_regress.sql")]);
    assert_eq!(
        places(&findings, CHAIN),
        vec![("db/migrations/003_regress.sql".to_string(), 4)]
    );
    // A commit touching only another migration does not report a file it did not change.
    let findings = check_paths(vec![dir.path().join("db/migrations/004_unrelated.sql")]);
    assert!(findings.is_empty(), "{findings:#?}");
    // A commit touching no migration reads none.
    write(dir.path(), "README.md", "ledger\n");
    assert!(check_paths(vec![dir.path().join("README.md")]).is_empty());
}

#[test]
fn partial_run_reads_nested_migration_directories_of_the_set() {
    // Prisma keeps one directory per migration below `migrations/`.
    let dir = repo(&[
        (
            "prisma/migrations/20240101000000_init/migration.sql",
            &chain_migration(false),
        ),
        (
            "prisma/migrations/20240201000000_lock_chain/migration.sql",
            &chain_fn(true),
        ),
        // A file outside any `migrations` directory is a set of its own directory only.
        ("schema.sql", &chain_migration(false)),
        ("sql/lock_chain.sql", &chain_fn(true)),
    ]);
    let first = dir
        .path()
        .join("prisma/migrations/20240101000000_init/migration.sql");
    assert!(check_paths(vec![first]).is_empty());
    assert_eq!(
        places(&check_paths(vec![dir.path().join("schema.sql")]), CHAIN),
        vec![("schema.sql".to_string(), 5)]
    );
}

#[test]
fn partial_run_honours_excludes_when_reading_other_migrations() {
    let dir = repo(&[
        (".premortem.yaml", "exclude: [\"db/migrations/002_*\"]\n"),
        ("db/migrations/001_ledger.sql", &chain_migration(false)),
        ("db/migrations/002_lock_chain.sql", &chain_fn(true)),
    ]);
    // The full run never sees the excluded fix, and neither does a partial one.
    assert_eq!(places(&check(dir.path()), CHAIN).len(), 1);
    let earlier = dir.path().join("db/migrations/001_ledger.sql");
    assert_eq!(places(&check_paths(vec![earlier]), CHAIN).len(), 1);
}

// ---- unserialized-chain-trigger: unreadable input ----------------------------------------------

#[test]
fn unterminated_dollar_quote_is_a_parse_error_and_other_files_are_still_checked() {
    let broken = "CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $body$\nBEGIN\n  NEW.updated_at := now();\n  RETURN NEW;\nEND;\n";
    let dir = repo(&[
        ("db/migrations/001_ledger.sql", &chain_migration(false)),
        ("db/migrations/002_touch.sql", broken),
        ("db/postgresql.conf", "fsync = off\n"),
    ]);
    let findings = check(dir.path());
    let parse: Vec<_> = of_rule(&findings, "parse-error");
    assert_eq!(parse.len(), 1, "{findings:#?}");
    assert_eq!(parse[0].location.path, "db/migrations/002_touch.sql");
    assert_eq!(parse[0].location.line, 1);
    assert!(parse[0].message.contains("$body$"), "{}", parse[0].message);
    assert_eq!(
        places(&findings, CHAIN),
        vec![("db/migrations/001_ledger.sql".to_string(), 5)]
    );
    assert_eq!(places(&findings, SAFEGUARD).len(), 1);
}

#[test]
fn a_finding_can_be_suppressed_inline_with_a_reason() {
    let sql = chain_migration(false).replace(
        "  SELECT hash INTO prev",
        "  -- premortem: ignore[unserialized-chain-trigger] single-writer import table\n  SELECT hash INTO prev",
    );
    let dir = repo(&[("db/migrations/001_ledger.sql", &sql)]);
    let findings = check(dir.path());
    assert!(findings.is_empty(), "{findings:#?}");
}

// ---- disabled-integrity-safeguard ----------------------------------------------------------------

#[test]
fn pg_deploy_example_reports_each_setting_at_its_exact_span() {
    let root = manifest("examples/pg-deploy");
    let findings = check(&root);
    let got: Vec<(String, usize, usize, String)> = findings
        .iter()
        .map(|f| {
            assert_eq!(f.rule, SAFEGUARD, "{f:#?}");
            (
                f.location.path.clone(),
                f.location.line,
                f.location.column,
                flagged(&root, f),
            )
        })
        .collect();
    let want = [
        (
            "charts/postgres/values.yaml",
            13,
            5,
            "zero_damaged_pages = on",
        ),
        ("db/postgresql.conf", 10, 1, "fsync = off"),
        ("docker-compose.yml", 5, 26, "fsync=off"),
        ("k8s/cnpg-cluster.yaml", 15, 22, "false"),
        ("k8s/cnpg-cluster.yaml", 20, 25, "\"off\""),
    ];
    let want: Vec<(String, usize, usize, String)> = want
        .iter()
        .map(|(p, l, c, t)| (p.to_string(), *l, *c, t.to_string()))
        .collect();
    assert_eq!(got, want);
    assert!(
        findings
            .iter()
            .all(|f| f.location.path != "docker-compose.test.yml")
    );
}

#[test]
fn throwaway_environments_and_ci_pipelines_may_disable_fsync() {
    let compose = "services:\n  db:\n    image: postgres:16\n    command: postgres -c fsync=off\n";
    let workflow = "jobs:\n  test:\n    steps:\n      - run: docker run -d postgres:16 postgres -c fsync=off\n";
    let dir = repo(&[
        ("docker-compose.test.yml", compose),
        ("deploy/dev/docker-compose.yml", compose),
        (
            "charts/pg/values-ci.yaml",
            "primary:\n  extendedConfiguration: |\n    fsync = off\n",
        ),
        (".github/workflows/build.yml", workflow),
        (".gitlab-ci.yml", workflow),
        (".circleci/config.yml", workflow),
        ("db/test/postgresql.conf", "fsync = off\n"),
        // Near misses: the same flag where the database is real.
        ("docker-compose.yml", compose),
        ("deploy/build.yml", workflow),
    ]);
    let mut got = places(&check(dir.path()), SAFEGUARD);
    got.sort();
    assert_eq!(
        got,
        vec![
            ("deploy/build.yml".to_string(), 4),
            ("docker-compose.yml".to_string(), 4),
        ]
    );
}

#[test]
fn commented_out_settings_are_not_findings() {
    let dir = repo(&[
        (
            "db/postgresql.conf",
            "#fsync = off\n  # full_page_writes = off\nwork_mem = 64MB # fsync = off\n",
        ),
        (
            "k8s/cluster.yaml",
            "apiVersion: postgresql.cnpg.io/v1\nkind: Cluster\nspec:\n  postgresql:\n    parameters:\n      # full_page_writes: \"off\"\n      work_mem: 64MB\n  # bootstrap: {initdb: {dataChecksums: false}}\n",
        ),
        (
            "docker-compose.yml",
            "services:\n  db:\n    image: postgres:16\n    # command: postgres -c fsync=off\n",
        ),
        (
            "db/migrations/001_settings.sql",
            "-- ALTER SYSTEM SET fsync = off;\n/* ALTER SYSTEM SET zero_damaged_pages = on; */\nSELECT 'ALTER SYSTEM SET fsync = off';\n",
        ),
        (
            "charts/pg/values.yaml",
            "primary:\n  extendedConfiguration: |\n    # zero_damaged_pages = on\n    work_mem = 64MB\n",
        ),
    ]);
    let findings = check(dir.path());
    assert!(findings.is_empty(), "{findings:#?}");
}

#[test]
fn alter_system_in_a_migration_is_reported_and_not_a_chain_problem() {
    let sql = "ALTER SYSTEM SET full_page_writes = off;\nSELECT pg_reload_conf();\n";
    let dir = repo(&[("db/migrations/003_tuning.sql", sql)]);
    let findings = check(dir.path());
    assert_eq!(
        places(&findings, SAFEGUARD),
        vec![("db/migrations/003_tuning.sql".to_string(), 1)]
    );
    assert_eq!(flagged(dir.path(), &findings[0]), "full_page_writes = off");
    assert!(
        findings[0]
            .help
            .as_deref()
            .unwrap_or("")
            .contains("ALTER SYSTEM RESET full_page_writes"),
        "{findings:#?}"
    );
    assert!(of_rule(&findings, CHAIN).is_empty());
}

#[test]
fn fsync_in_yaml_counts_only_in_a_document_about_postgres() {
    let manifests = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: search-indexer\ndata:\n  fsync: \"false\"\n---\napiVersion: apps/v1\nkind: StatefulSet\nmetadata:\n  name: postgres\nspec:\n  template:\n    spec:\n      containers:\n        - name: postgres\n          image: postgres:16\n          args: [\"-c\", \"fsync=off\"]\n";
    let dir = repo(&[("k8s/stack.yaml", manifests)]);
    let findings = check(dir.path());
    assert_eq!(
        places(&findings, SAFEGUARD),
        vec![("k8s/stack.yaml".to_string(), 18)],
        "{findings:#?}"
    );
    assert_eq!(flagged(dir.path(), &findings[0]), "fsync=off");
}

// ---- both rules are documented -----------------------------------------------------------------

#[test]
fn both_rules_are_listed_and_explained() {
    let rules = assert_cmd::Command::cargo_bin("premortem")
        .unwrap()
        .arg("rules")
        .output()
        .unwrap();
    let listing = String::from_utf8(rules.stdout).unwrap();
    for id in [CHAIN, SAFEGUARD] {
        assert!(listing.contains(id), "{listing}");
        let doc = premortem::cli::explain_text(id).unwrap();
        assert!(doc.contains("## Bad") && doc.contains("## Good"), "{doc}");
    }
    assert!(
        premortem::cli::explain_text(CHAIN)
            .unwrap()
            .contains("pg_advisory_xact_lock")
    );
}
