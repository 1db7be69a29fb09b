//! The same tree gives the same report, byte for byte, whatever the thread count and schedule:
//! ten scans with 1, 2 and 8 threads must agree on JSON (but for `elapsed_ms`) and on SARIF.

use std::path::Path;
use std::process::Command;

fn write(root: &Path, rel: &str, content: &str) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, content).unwrap();
}

/// A tree with findings of every kind spread over many files and directories, so a parallel
/// walk meets them in a different order on every run.
fn tree() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir(root.join(".git")).unwrap();
    write(
        root,
        ".github/CODEOWNERS",
        "* @acme/platform\n/svc/s1*/ @acme/one\n/deploy/ deploy-bot[bot]\n",
    );
    for i in 0..60 {
        let svc = format!("svc/s{i}");
        let host = format!("pg-{i}.prod.internal");
        // Two findings with the same flagged text in one file: fingerprints must stay distinct
        // and stable.
        write(
            root,
            &format!("{svc}/values-staging.yaml"),
            &format!(
                "a:\n  url: postgresql://app:Secret-{i}@{host}:5432/db\nb:\n  url: postgresql://app:Secret-{i}@{host}:5432/db\n"
            ),
        );
        write(
            root,
            &format!("{svc}/.env.production"),
            &format!(
                "DB_HOST={host}\nDB_USER=app\nDB_PASSWORD=Pw-{i}-x\n# premortem: ignore[literal-dsn] test fixture for {i}\nURL=postgres://u:p@{host}/x\n"
            ),
        );
        write(
            root,
            &format!("{svc}/config/application-dev.properties"),
            &format!("spring.datasource.url=jdbc:postgresql://{host}:5432/app?password=p{i}\n"),
        );
        write(
            root,
            &format!("{svc}/db/migrations/{:03}_chain.sql", i % 7 + 1),
            "CREATE TABLE ledger (id bigserial, org_id int, hash text, prev_hash text);\n\
             CREATE OR REPLACE FUNCTION ledger_chain() RETURNS trigger AS $$\nDECLARE prev text;\nBEGIN\n\
             \x20 SELECT hash INTO prev FROM ledger WHERE org_id = NEW.org_id ORDER BY id DESC LIMIT 1;\n\
             \x20 NEW.prev_hash := prev;\n  NEW.hash := md5(coalesce(prev, '') || NEW.id::text);\n  RETURN NEW;\nEND;\n$$ LANGUAGE plpgsql;\n\
             CREATE TRIGGER ledger_chain BEFORE INSERT ON ledger FOR EACH ROW EXECUTE FUNCTION ledger_chain();\n",
        );
        write(
            root,
            &format!("{svc}/tests/conftest.py"),
            "import pytest\n\n@pytest.fixture(autouse=True)\ndef reset_db(db):\n    db.execute(\"TRUNCATE orders CASCADE\")\n    yield\n",
        );
        write(
            root,
            &format!("{svc}/postgres/postgresql.conf"),
            "fsync = off\nfull_page_writes = off\n",
        );
        write(root, &format!("{svc}/broken/values.yaml"), "a: b\n  c: [\n");
        write(root, &format!("{svc}/bin/values.yaml"), "\u{0}\u{1}binary");
        write(root, &format!("{svc}/src/main.py"), "print('not read')\n");
    }
    write(
        root,
        "deploy/values-production.yaml",
        "db:\n  host: pg-main.staging.internal\n  user: app\n  password: Zx81-pass\n",
    );
    dir
}

fn run(root: &Path, threads: usize, format: &str) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_premortem"))
        .args([
            "check",
            "--format",
            format,
            "--threads",
            &threads.to_string(),
        ])
        .arg(root)
        .env_remove("CI")
        .env_remove("GITHUB_ACTIONS")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    String::from_utf8(out.stdout).unwrap()
}

/// The JSON report without its one timing field.
fn without_elapsed(json: &str) -> String {
    let lines: Vec<&str> = json
        .lines()
        .filter(|l| !l.trim_start().starts_with("\"elapsed_ms\""))
        .collect();
    assert_eq!(
        lines.len() + 1,
        json.lines().count(),
        "exactly one elapsed_ms line"
    );
    lines.join("\n")
}

#[test]
fn reports_are_byte_identical_across_thread_counts() {
    let dir = tree();
    let threads = [1, 2, 8, 8, 1, 2, 8, 2, 1, 8];
    let json0 = without_elapsed(&run(dir.path(), threads[0], "json"));
    let sarif0 = run(dir.path(), threads[0], "sarif");
    let v: serde_json::Value = serde_json::from_str(&run(dir.path(), 1, "json")).unwrap();
    let findings = v["findings"].as_array().unwrap();
    assert!(findings.len() >= 180, "the tree has findings to order");
    assert!(v["files_skipped"].as_array().unwrap().len() >= 60);
    for &n in &threads[1..] {
        assert_eq!(
            without_elapsed(&run(dir.path(), n, "json")),
            json0,
            "JSON differs with {n} threads"
        );
        assert_eq!(
            run(dir.path(), n, "sarif"),
            sarif0,
            "SARIF differs with {n} threads"
        );
    }
}
