//! A repository built to break a linter: invalid UTF-8, binaries under config names, a 50 MB file,
//! an alias bomb, 10,000-level nesting, an unterminated dollar quote, CRLF and BOM files, symlink
//! loops, a symlink out of the repository, an unreadable file, a FIFO and files that vanish while
//! the scan runs. premortem must report or skip each with a clear message, never panic, never
//! hang, and still report the real finding planted beside them.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

const DEADLINE: Duration = Duration::from_secs(60);
const PROD_PASSWORD: &str = "Pr0d-Hostile-91x";
const OUTSIDE_HOST: &str = "outside-target.prod.internal";

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

/// Runs the real binary with a deadline: a hang fails the test instead of stalling the suite.
fn premortem(dir: &Path, args: &[&str]) -> Run {
    let mut child = Command::new(env!("CARGO_BIN_EXE_premortem"))
        .args(args)
        .current_dir(dir)
        .env_remove("CI")
        .env_remove("GITHUB_ACTIONS")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts");
    // Drain both pipes on their own threads so a large report cannot block the child.
    let mut out = child.stdout.take().expect("stdout");
    let mut err = child.stderr.take().expect("stderr");
    let out_t = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = out.read_to_end(&mut s);
        s
    });
    let err_t = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = err.read_to_end(&mut s);
        s
    });
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break s;
        }
        if start.elapsed() > DEADLINE {
            let _ = child.kill();
            let _ = child.wait();
            panic!("premortem {args:?} hung for more than {DEADLINE:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Run {
        code: status.code(),
        stdout: String::from_utf8_lossy(&out_t.join().unwrap()).into_owned(),
        stderr: String::from_utf8_lossy(&err_t.join().unwrap()).into_owned(),
    }
}

fn write(root: &Path, rel: &str, content: &[u8]) -> PathBuf {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(&p, content).unwrap();
    p
}

fn is_root() -> bool {
    // Root reads files whatever their mode; the unreadable-file case then reads normally.
    let probe = tempfile::NamedTempFile::new().unwrap();
    let mut perm = std::fs::metadata(probe.path()).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perm, 0o000);
    std::fs::set_permissions(probe.path(), perm).unwrap();
    std::fs::read(probe.path()).is_ok()
}

fn mkfifo(path: &Path) {
    let ok = Command::new("mkfifo")
        .arg(path)
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "mkfifo is needed for this test");
}

fn alias_bomb() -> String {
    let mut y = String::from(
        "db:\n  host: bomb.internal\na: &a [\"lol\", \"lol\", \"lol\", \"lol\", \"lol\", \"lol\", \"lol\", \"lol\", \"lol\"]\n",
    );
    let mut prev = "a".to_string();
    for i in 0..30 {
        let name = format!("l{i}");
        let refs = vec![format!("*{prev}"); 9].join(", ");
        y.push_str(&format!("{name}: &{name} [{refs}]\n"));
        prev = name;
    }
    // A big scalar aliased many times must not be copied once per alias.
    y.push_str(&format!("big: &big \"{}\"\n", "x".repeat(256 * 1024)));
    y.push_str("many: [");
    y.push_str(&vec!["*big"; 200_000].join(","));
    y.push_str("]\n");
    y
}

/// Builds the hostile tree; returns it and the directory outside it that symlinks point to.
fn hostile_tree() -> (tempfile::TempDir, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir(root.join(".git")).unwrap();

    // The real finding every other file stands beside.
    write(
        root,
        "charts/app/values-staging.yaml",
        format!("db:\n  url: postgresql://app:{PROD_PASSWORD}@pg-main.prod.internal:5432/app\n")
            .as_bytes(),
    );
    // CRLF line endings and a byte-order mark: the finding keeps its exact line and column.
    write(
        root,
        "config/.env.production",
        b"\xef\xbb\xbfLOG=info\r\nPORT=80\r\nDATABASE_URL=postgres://app:crlf-Secret-7@pg-crlf.prod.internal/app\r\n",
    );
    write(
        root,
        "config/latin1.yaml",
        b"db:\n  host: caf\xe9.internal\n",
    );
    write(
        root,
        "charts/bin/values.yaml",
        b"\x7fELF\x02\x01\x01\x00\x00\x00postgres://a:b@c.prod.internal/x\x00\x00",
    );
    let huge = std::fs::File::create({
        let p = root.join("charts/huge/values-production.yaml");
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        p
    })
    .unwrap();
    huge.set_len(50 * 1024 * 1024).unwrap();
    write(root, "charts/bomb/values.yaml", alias_bomb().as_bytes());
    let deep = format!(
        "# database host settings\n{}{}\n",
        "[".repeat(10_000),
        "]".repeat(10_000)
    );
    write(root, "charts/deep/values.yaml", deep.as_bytes());
    let deep_map = format!(
        "{{\"db\": {}\"host\": 1{}}}\n",
        "{\"a\": ".repeat(10_000),
        "}".repeat(10_000)
    );
    write(root, "config/deep.json", deep_map.as_bytes());
    write(
        root,
        "db/migrations/001_chain.sql",
        b"CREATE TABLE t (id int);\nCREATE FUNCTION f() RETURNS trigger AS $body$\nBEGIN\n  SELECT 1;\n",
    );
    write(
        root,
        "db/migrations/002_quote.sql",
        b"INSERT INTO t VALUES ('unterminated);\n-- and a comment /* never closed\n",
    );
    // A long single line under the size limit.
    let mut long = b"HOSTS=".to_vec();
    long.extend(b"host=a ".repeat(200_000));
    long.push(b'\n');
    write(root, "config/long.env", &long);
    // Nul bytes after the first 8 KiB, odd Unicode and a non-UTF-8 file name.
    let mut late_nul = vec![b'#'; 9000];
    late_nul.extend_from_slice(b"\n\x00\x00DB_HOST=x\n");
    write(root, "config/late-nul.env", &late_nul);
    write(
        root,
        "config/unicode.yaml",
        "h\u{200b}ost: \u{202e}lanretni.dorp\u{202c}\n\u{1F600}: \"\u{0301}\u{FEFF}\"\n".as_bytes(),
    );
    {
        use std::os::unix::ffi::OsStrExt;
        let name = std::ffi::OsStr::from_bytes(b"values-\xff.yaml");
        std::fs::create_dir_all(root.join("charts/odd")).unwrap();
        std::fs::write(root.join("charts/odd").join(name), b"replicas: 1\n").unwrap();
    }

    // Symlinks: a loop, a self-loop, and links to files and directories outside the repository.
    std::os::unix::fs::symlink("..", root.join("charts/loop")).unwrap();
    std::os::unix::fs::symlink("self.yaml", root.join("config/self.yaml")).unwrap();
    let secret = format!("db:\n  url: postgresql://app:outside-Secret-1@{OUTSIDE_HOST}:5432/app\n");
    write(outside.path(), "values-production.yaml", secret.as_bytes());
    write(outside.path(), "dir/values-staging.yaml", secret.as_bytes());
    std::os::unix::fs::symlink(
        outside.path().join("values-production.yaml"),
        root.join("charts/ext/values-production.yaml").tap_parent(),
    )
    .unwrap();
    std::os::unix::fs::symlink(outside.path().join("dir"), root.join("charts/external")).unwrap();

    // Unreadable (for anyone but root) and not a regular file.
    let locked = write(
        root,
        "config/locked/.env.production",
        b"DATABASE_URL=postgres://app:locked-Secret-2@pg-locked.prod.internal/app\n",
    );
    let mut perm = std::fs::metadata(&locked).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perm, 0o000);
    std::fs::set_permissions(&locked, perm).unwrap();
    mkfifo(&root.join("charts/fifo/values.yaml").tap_parent());
    (dir, outside)
}

trait TapParent {
    fn tap_parent(self) -> Self;
}

impl TapParent for PathBuf {
    /// Creates the parent directory and hands the path back.
    fn tap_parent(self) -> Self {
        std::fs::create_dir_all(self.parent().unwrap()).unwrap();
        self
    }
}

fn json(run: &Run) -> Value {
    serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}):\n{}\nstderr:\n{}", run.stdout, run.stderr))
}

fn skipped_reason<'a>(report: &'a Value, path: &str) -> Option<&'a str> {
    report["files_skipped"]
        .as_array()?
        .iter()
        .find(|s| s["path"] == path)
        .and_then(|s| s["reason"].as_str())
}

fn findings_in<'a>(report: &'a Value, path: &str) -> Vec<&'a Value> {
    report["findings"]
        .as_array()
        .map(|a| a.iter().filter(|f| f["path"] == path).collect())
        .unwrap_or_default()
}

#[test]
fn hostile_tree_is_reported_or_skipped_without_panic_or_hang() {
    let (dir, _outside) = hostile_tree();
    let run = premortem(dir.path(), &["check", "--format", "json"]);
    assert!(!run.stderr.contains("panicked"), "panic:\n{}", run.stderr);
    assert_eq!(run.code, Some(1), "stderr:\n{}", run.stderr);
    let report = json(&run);

    // The real finding is still there, with its password masked.
    let staged = findings_in(&report, "charts/app/values-staging.yaml");
    assert!(
        staged
            .iter()
            .any(|f| f["rule"] == "cross-environment-target"),
        "{report:#}"
    );
    assert!(staged.iter().any(|f| f["rule"] == "literal-dsn"));
    assert!(!run.stdout.contains(PROD_PASSWORD));

    // CRLF + BOM: found on line 3, column 14 (the BOM is not a column).
    let crlf = findings_in(&report, "config/.env.production");
    let f = crlf
        .iter()
        .find(|f| f["rule"] == "literal-dsn")
        .unwrap_or_else(|| panic!("{report:#}"));
    assert_eq!(
        (f["line"].as_u64(), f["column"].as_u64()),
        (Some(3), Some(14))
    );

    // Skipped, each with its reason.
    let expect_skipped = [
        ("config/latin1.yaml", "UTF-8"),
        ("charts/bin/values.yaml", "binary"),
        ("charts/huge/values-production.yaml", "larger than 2 MiB"),
        ("config/late-nul.env", "binary"),
        ("charts/fifo/values.yaml", "not a regular file"),
        ("charts/ext/values-production.yaml", "symbolic link"),
    ];
    for (path, reason) in expect_skipped {
        let got = skipped_reason(&report, path)
            .unwrap_or_else(|| panic!("{path} is not listed as skipped:\n{report:#}"));
        assert!(got.contains(reason), "{path}: {got}");
    }

    // Deep nesting is reported as a parse problem, not a crash.
    for path in ["charts/deep/values.yaml", "config/deep.json"] {
        assert!(
            findings_in(&report, path)
                .iter()
                .any(|f| f["rule"] == "parse-error"
                    && ["nesting", "recursion"]
                        .iter()
                        .any(|w| f["message"].as_str().unwrap_or("").contains(w))),
            "{path}:\n{report:#}"
        );
    }

    // An unterminated dollar quote in a migration is reported where it opens.
    assert!(
        findings_in(&report, "db/migrations/001_chain.sql")
            .iter()
            .any(|f| f["rule"] == "parse-error" && f["line"] == 2),
        "{report:#}"
    );

    // Nothing outside the repository is read through a symlink.
    assert!(!run.stdout.contains(OUTSIDE_HOST), "{}", run.stdout);
    assert!(!run.stdout.contains("outside-Secret"), "{}", run.stdout);

    // The unreadable file: skipped with the OS error, or read normally when running as root.
    let locked = "config/locked/.env.production";
    if is_root() {
        assert!(
            findings_in(&report, locked)
                .iter()
                .any(|f| f["rule"] == "literal-dsn")
        );
    } else {
        let reason = skipped_reason(&report, locked).expect("unreadable file listed");
        assert!(reason.contains("unreadable"), "{reason}");
    }

    // The human notice names the skipped files too.
    let human = premortem(dir.path(), &["check", "--no-color"]);
    assert_eq!(human.code, Some(1), "{}", human.stderr);
    assert!(
        human.stdout.contains("charts/bin/values.yaml (binary)"),
        "{}",
        human.stdout
    );
}

#[test]
fn explicit_special_files_do_not_hang() {
    let (dir, _outside) = hostile_tree();
    // A FIFO, a symlink loop and a symlink out of the repository, passed by name as a pre-commit
    // hook would.
    for path in [
        "charts/fifo/values.yaml",
        "config/self.yaml",
        "charts/ext/values-production.yaml",
    ] {
        let run = premortem(dir.path(), &["check", "--format", "json", path]);
        assert!(!run.stderr.contains("panicked"), "{path}: {}", run.stderr);
        assert!(
            matches!(run.code, Some(0 | 2)),
            "{path}: {:?} {}",
            run.code,
            run.stderr
        );
        if run.code == Some(0) {
            let report = json(&run);
            assert!(
                skipped_reason(&report, path).is_some(),
                "{path}: {report:#}"
            );
        } else {
            assert!(run.stderr.starts_with("premortem: "), "{}", run.stderr);
        }
        assert!(!run.stdout.contains(OUTSIDE_HOST));
    }
}

#[test]
fn files_vanishing_during_the_scan_are_tolerated() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_path_buf();
    std::fs::create_dir(root.join(".git")).unwrap();
    write(
        &root,
        "charts/app/values-staging.yaml",
        format!("db:\n  url: postgresql://app:{PROD_PASSWORD}@pg-main.prod.internal:5432/app\n")
            .as_bytes(),
    );
    let churn: Vec<PathBuf> = (0..3000)
        .map(|i| {
            write(
                &root,
                &format!("svc/s{}/.env.x{i}", i % 50),
                b"DATABASE_URL=postgres://u:p@db.prod.internal/x\nA=1\n",
            )
        })
        .collect();
    // Delete (and replace some with FIFOs) while the scan runs; whatever the timing, the run
    // finishes with a report and the real finding.
    let deleter = std::thread::spawn(move || {
        for (i, p) in churn.iter().enumerate() {
            let _ = std::fs::remove_file(p);
            if i % 300 == 0 {
                let _ = Command::new("mkfifo").arg(p).status();
            }
        }
    });
    let run = premortem(&root, &["check", "--format", "json"]);
    deleter.join().unwrap();
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    let report = json(&run);
    assert!(
        !findings_in(&report, "charts/app/values-staging.yaml").is_empty(),
        "{report:#}"
    );
    for s in report["files_skipped"].as_array().unwrap() {
        let reason = s["reason"].as_str().unwrap();
        assert!(
            reason.contains("vanished") || reason.contains("not a regular file"),
            "{s}"
        );
    }
}
