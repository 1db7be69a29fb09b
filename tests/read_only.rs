//! A scan never writes to the tree it scans: every file's bytes, permissions and modification
//! time, and every directory's listing and modification time, are the same afterwards.

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;
use std::time::SystemTime;

#[derive(Debug, PartialEq, Eq)]
struct Entry {
    mode: u32,
    modified: SystemTime,
    len: u64,
    bytes: Option<Vec<u8>>,
    link: Option<std::path::PathBuf>,
}

/// Every entry under `root`, symlinks not followed.
fn snapshot(root: &Path) -> BTreeMap<String, Entry> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let mut names: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        names.sort();
        for p in names {
            let m = std::fs::symlink_metadata(&p).unwrap();
            let rel = p.strip_prefix(root).unwrap().display().to_string();
            let ft = m.file_type();
            if ft.is_dir() {
                stack.push(p.clone());
            }
            out.insert(
                rel,
                Entry {
                    mode: m.permissions().mode(),
                    modified: m.modified().unwrap(),
                    len: m.len(),
                    bytes: ft.is_file().then(|| std::fs::read(&p).unwrap()),
                    link: ft.is_symlink().then(|| std::fs::read_link(&p).unwrap()),
                },
            );
        }
    }
    let m = std::fs::metadata(root).unwrap();
    out.insert(
        ".".into(),
        Entry {
            mode: m.permissions().mode(),
            modified: m.modified().unwrap(),
            len: 0,
            bytes: None,
            link: None,
        },
    );
    out
}

fn write(root: &Path, rel: &str, content: &str) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, content).unwrap();
}

#[test]
fn a_scan_changes_nothing_in_the_tree() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir(root.join(".git")).unwrap();
    write(root, ".gitignore", "build/\n");
    write(root, ".github/CODEOWNERS", "* @acme/platform\n");
    write(
        root,
        ".premortem.yaml",
        "rules:\n  literal-dsn:\n    severity: warning\n",
    );
    write(
        root,
        "charts/app/values-staging.yaml",
        "db:\n  url: postgresql://app:Secret-1@pg.prod.internal:5432/app\n",
    );
    write(
        root,
        "config/.env.production",
        "# premortem: ignore[literal-dsn] unused here\nA=1\n",
    );
    write(
        root,
        "db/migrations/001_init.sql",
        "CREATE TABLE t (id int);\n",
    );
    write(
        root,
        "tests/conftest.py",
        "def reset(db):\n    db.execute('TRUNCATE t')\n",
    );
    write(root, "build/values.yaml", "ignored: true\n");
    write(root, "broken/values.yaml", "a: b\n  c: [\n");
    std::os::unix::fs::symlink("../charts", root.join("config/link")).unwrap();
    // Timestamps in the past, so a rewrite of the same bytes would still show.
    let old = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000_000);
    for rel in ["charts/app/values-staging.yaml", "config/.env.production"] {
        std::fs::File::options()
            .write(true)
            .open(root.join(rel))
            .unwrap()
            .set_modified(old)
            .unwrap();
    }
    let before = snapshot(root);
    let sarif = tempfile::NamedTempFile::new().unwrap();
    for format in ["human", "json", "sarif", "github"] {
        let out = Command::new(env!("CARGO_BIN_EXE_premortem"))
            .args(["check", "--format", format, "--sarif-file"])
            .arg(sarif.path())
            .current_dir(root)
            .env_remove("CI")
            .env_remove("GITHUB_ACTIONS")
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(1),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        // Pre-commit style too: explicit files, including an ignored one.
        let out = Command::new(env!("CARGO_BIN_EXE_premortem"))
            .args(["check", "--format", format])
            .args(["charts/app/values-staging.yaml", "build/values.yaml"])
            .current_dir(root)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1));
    }
    let after = snapshot(root);
    assert_eq!(before.len(), after.len(), "entries were added or removed");
    for (path, b) in &before {
        assert_eq!(Some(b), after.get(path), "{path} changed");
    }
}
