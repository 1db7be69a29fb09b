//! Git plumbing for the modes that look at history instead of the working tree: `--staged` reads
//! blobs from the index, a pre-push range reads them from a commit, and `--diff` asks for the
//! lines changed since a merge base.
//!
//! premortem runs the `git` binary that hooks and CI already have, with flags that pin down every
//! output it parses (no colour, no external diff, no relative paths, fixed prefixes), so a user's
//! git config cannot change what is read.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read as _, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::Mutex;

use crate::engine::Error;

/// A git repository, addressed by its top-level directory.
#[derive(Debug, Clone)]
pub struct Git {
    toplevel: PathBuf,
}

/// Which side of a diff is compared with the base.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// The working tree, untracked files included.
    WorkTree,
    /// The index (what is staged).
    Index,
    /// A commit.
    Commit(String),
}

impl Git {
    /// The repository that holds `dir`, or an error saying it is not in one.
    pub fn discover(dir: &Path) -> Result<Git, Error> {
        let out = Command::new("git")
            .arg("-C")
            .arg(dir)
            .args(["rev-parse", "--show-toplevel"])
            .stdin(Stdio::null())
            .output()
            .map_err(|e| Error(format!("cannot run git: {e}")))?;
        if !out.status.success() {
            return Err(Error(format!(
                "`{}` is not inside a git repository",
                dir.display()
            )));
        }
        let text = String::from_utf8_lossy(&out.stdout);
        let top = PathBuf::from(text.trim_end_matches(['\n', '\r']));
        Ok(Git {
            toplevel: top.canonicalize().unwrap_or(top),
        })
    }

    /// The repository's top-level directory (canonical).
    pub fn toplevel(&self) -> &Path {
        &self.toplevel
    }

    fn command(&self) -> Command {
        let mut c = Command::new("git");
        c.arg("-C")
            .arg(&self.toplevel)
            .args(["-c", "core.quotePath=false"])
            .stdin(Stdio::null());
        c
    }

    /// Runs git with `args` and returns its standard output, or its first error line.
    pub fn output(&self, args: &[&str]) -> Result<Vec<u8>, Error> {
        let out = self
            .command()
            .args(args)
            .output()
            .map_err(|e| Error(format!("cannot run git: {e}")))?;
        if out.status.success() {
            return Ok(out.stdout);
        }
        let err = String::from_utf8_lossy(&out.stderr);
        let line = err.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
        Err(Error(format!(
            "`git {}` failed: {}",
            args.join(" "),
            line.trim()
        )))
    }

    /// True when the clone has truncated history (`actions/checkout` by default).
    pub fn is_shallow(&self) -> bool {
        self.output(&["rev-parse", "--is-shallow-repository"])
            .is_ok_and(|o| o.starts_with(b"true"))
    }

    /// The commit `rev` names. A missing revision is explained, with the fix for shallow clones.
    pub fn commit(&self, rev: &str) -> Result<String, Error> {
        let spec = format!("{rev}^{{commit}}");
        match self.output(&[
            "rev-parse",
            "--verify",
            "--quiet",
            "--end-of-options",
            &spec,
        ]) {
            Ok(out) => Ok(String::from_utf8_lossy(&out).trim().to_string()),
            Err(_) => Err(Error(if self.is_shallow() {
                format!(
                    "revision `{rev}` is not in this shallow clone; fetch more history \
                     (`git fetch --unshallow`, or `fetch-depth: 0` on actions/checkout)"
                )
            } else {
                format!(
                    "unknown revision `{rev}`; fetch it first (e.g. `git fetch origin`) or name \
                     a branch, tag or commit that exists here"
                )
            })),
        }
    }

    /// The merge base of two commits, explained when history is too short to have one.
    pub fn merge_base(&self, a: &str, b: &str) -> Result<String, Error> {
        match self.output(&["merge-base", "--end-of-options", a, b]) {
            Ok(out) => Ok(String::from_utf8_lossy(&out).trim().to_string()),
            Err(_) if self.is_shallow() => Err(Error(format!(
                "no common ancestor of `{a}` and `{b}` in this shallow clone; fetch more history \
                 (`git fetch --unshallow`, or `fetch-depth: 0` on actions/checkout)"
            ))),
            Err(_) => Err(Error(format!("`{a}` and `{b}` have no common ancestor"))),
        }
    }

    /// Regular files in the index at stage 0, toplevel-relative, with their blob ids.
    pub fn index_blobs(&self) -> Result<BTreeMap<String, String>, Error> {
        let out = self.output(&["ls-files", "--stage", "-z", "--full-name"])?;
        // `<mode> <oid> <stage>\t<path>`
        Ok(parse_entries(&out, |meta| {
            let mut it = meta.split(' ');
            let (mode, oid, stage) = (it.next()?, it.next()?, it.next()?);
            (is_regular(mode) && stage == "0").then(|| oid.to_string())
        }))
    }

    /// Regular files in a commit's tree, toplevel-relative, with their blob ids.
    pub fn commit_blobs(&self, commit: &str) -> Result<BTreeMap<String, String>, Error> {
        let out = self.output(&[
            "ls-tree",
            "-r",
            "-z",
            "--full-tree",
            "--end-of-options",
            commit,
        ])?;
        // `<mode> <type> <oid>\t<path>`
        Ok(parse_entries(&out, |meta| {
            let mut it = meta.split(' ');
            let (mode, kind, oid) = (it.next()?, it.next()?, it.next()?);
            (is_regular(mode) && kind == "blob").then(|| oid.to_string())
        }))
    }

    /// Files added, copied or modified in the index since HEAD (all staged files before the
    /// first commit): what a pre-commit hook checks when it is given no file names.
    pub fn staged_paths(&self) -> Result<Vec<String>, Error> {
        let out = self.output(&[
            "diff",
            "--cached",
            "--name-only",
            "-z",
            "--no-renames",
            "--no-relative",
            "--diff-filter=ACMRT",
        ])?;
        Ok(split_z(&out))
    }

    /// Untracked files that are not ignored.
    pub fn untracked(&self) -> Result<Vec<String>, Error> {
        let out = self.output(&[
            "ls-files",
            "-z",
            "--others",
            "--exclude-standard",
            "--full-name",
        ])?;
        Ok(split_z(&out))
    }

    /// The zero-context diff of `base` against `target`, as git prints it.
    pub fn diff(&self, base: &str, target: &Target) -> Result<Vec<u8>, Error> {
        let mut args = vec![
            "diff",
            "-U0",
            "--no-color",
            "--no-ext-diff",
            "--no-textconv",
            "--no-renames",
            "--no-relative",
            "--src-prefix=a/",
            "--dst-prefix=b/",
        ];
        if *target == Target::Index {
            args.push("--cached");
        }
        args.push("--end-of-options");
        args.push(base);
        if let Target::Commit(c) = target {
            args.push(c);
        }
        args.push("--");
        self.output(&args)
    }
}

fn is_regular(mode: &str) -> bool {
    mode == "100644" || mode == "100755"
}

fn split_z(out: &[u8]) -> Vec<String> {
    out.split(|b| *b == 0)
        .filter(|s| !s.is_empty())
        .map(|s| String::from_utf8_lossy(s).into_owned())
        .collect()
}

/// Parses NUL-separated `<meta>\t<path>` records, keeping those `keep` gives an object id for.
fn parse_entries(out: &[u8], keep: impl Fn(&str) -> Option<String>) -> BTreeMap<String, String> {
    let mut map = BTreeMap::new();
    for rec in out.split(|b| *b == 0) {
        let Some(tab) = rec.iter().position(|b| *b == b'\t') else {
            continue;
        };
        let meta = String::from_utf8_lossy(&rec[..tab]);
        // Paths that are not UTF-8 cannot be named in a finding; the engine skips them anyway.
        let Ok(path) = std::str::from_utf8(&rec[tab + 1..]) else {
            continue;
        };
        if let Some(oid) = keep(&meta) {
            map.insert(path.to_string(), oid);
        }
    }
    map
}

/// File contents taken from git objects (the index or a commit) instead of the working tree.
pub struct Snapshot {
    git: Git,
    /// Toplevel-relative path to blob id: every file of the index or commit.
    blobs: BTreeMap<String, String>,
    /// When set, only these toplevel-relative paths are scanned (the rest is context).
    only: Option<BTreeSet<String>>,
    /// `the index` or `commit 1a2b3c4`, for messages.
    what: String,
    reader: Mutex<Option<CatFile>>,
}

impl std::fmt::Debug for Snapshot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Snapshot")
            .field("toplevel", &self.git.toplevel)
            .field("what", &self.what)
            .field("files", &self.blobs.len())
            .finish()
    }
}

impl Snapshot {
    /// What is staged in the index.
    pub fn index(git: &Git) -> Result<Snapshot, Error> {
        Ok(Snapshot::new(git, git.index_blobs()?, "the index".into()))
    }

    /// The tree of a commit.
    pub fn commit(git: &Git, rev: &str) -> Result<Snapshot, Error> {
        let commit = git.commit(rev)?;
        let blobs = git.commit_blobs(&commit)?;
        let short = commit.get(..12).unwrap_or(&commit).to_string();
        Ok(Snapshot::new(git, blobs, format!("commit {short}")))
    }

    fn new(git: &Git, blobs: BTreeMap<String, String>, what: String) -> Snapshot {
        Snapshot {
            git: git.clone(),
            blobs,
            only: None,
            what,
            reader: Mutex::new(None),
        }
    }

    /// Scans only these toplevel-relative paths; every other file stays readable as context.
    pub fn restrict(mut self, paths: impl IntoIterator<Item = String>) -> Snapshot {
        self.only = Some(paths.into_iter().collect());
        self
    }

    /// True when only some files are scanned.
    pub fn is_restricted(&self) -> bool {
        self.only.is_some()
    }

    /// What the snapshot is of, for messages.
    pub fn describe(&self) -> &str {
        &self.what
    }

    /// The path of `root` inside the repository, `""` at the top; `None` when outside it.
    pub fn prefix(&self, root: &Path) -> Option<String> {
        prefix_of(&self.git.toplevel, root)
    }

    /// The files to scan under `root`, relative to it, sorted.
    pub fn files(&self, root: &Path) -> Vec<String> {
        let Some(prefix) = self.prefix(root) else {
            return Vec::new();
        };
        self.blobs
            .keys()
            .filter(|p| self.only.as_ref().is_none_or(|only| only.contains(*p)))
            .filter_map(|p| strip_dir(p, &prefix).map(str::to_string))
            .collect()
    }

    /// Reads a file relative to `root`: its bytes (`None` when over `limit` bytes, which are
    /// never kept in memory), or why it cannot be read.
    pub fn read(&self, root: &Path, rel: &str, limit: u64) -> Result<Option<Vec<u8>>, String> {
        let prefix = self.prefix(root).unwrap_or_default();
        let full = if prefix.is_empty() {
            rel.to_string()
        } else {
            format!("{prefix}/{rel}")
        };
        let Some(oid) = self.blobs.get(&full) else {
            return Err(format!("unreadable: not in {}", self.what));
        };
        let mut guard = self.reader.lock().unwrap_or_else(|e| e.into_inner());
        if guard.is_none() {
            *guard = Some(CatFile::start(&self.git).map_err(|e| format!("unreadable: {e}"))?);
        }
        let Some(reader) = guard.as_mut() else {
            return Err("unreadable: git cat-file did not start".into());
        };
        match reader.read(oid, limit) {
            Ok(bytes) => Ok(bytes),
            Err(e) => {
                // A broken pipe leaves the process in an unknown state: start afresh next time.
                *guard = None;
                Err(format!("unreadable: {e}"))
            }
        }
    }
}

/// `dir`-relative form of `path` (`dir` empty: the path itself).
fn strip_dir<'a>(path: &'a str, dir: &str) -> Option<&'a str> {
    if dir.is_empty() {
        return Some(path);
    }
    path.strip_prefix(dir)?.strip_prefix('/')
}

/// `root` relative to `top` with `/` separators; `None` when `root` is not inside `top`.
pub fn prefix_of(top: &Path, root: &Path) -> Option<String> {
    let root = root.canonicalize().unwrap_or_else(|_| root.to_path_buf());
    let rel = root.strip_prefix(top).ok()?;
    let parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    Some(parts.join("/"))
}

/// A long-lived `git cat-file --batch`: one process serves every blob of a run.
struct CatFile {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl CatFile {
    fn start(git: &Git) -> Result<CatFile, String> {
        let mut child = git
            .command()
            .args(["cat-file", "--batch"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot run git cat-file: {e}"))?;
        let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            let _ = child.kill();
            let _ = child.wait();
            return Err("cannot talk to git cat-file".into());
        };
        Ok(CatFile {
            child,
            stdin,
            stdout: BufReader::new(stdout),
        })
    }

    fn read(&mut self, oid: &str, limit: u64) -> Result<Option<Vec<u8>>, String> {
        writeln!(self.stdin, "{oid}").map_err(|e| e.to_string())?;
        self.stdin.flush().map_err(|e| e.to_string())?;
        let mut header = String::new();
        self.stdout
            .read_line(&mut header)
            .map_err(|e| e.to_string())?;
        // `<oid> blob <size>` or `<oid> missing`
        let mut parts = header.split_whitespace();
        let (_, kind, size) = (parts.next(), parts.next(), parts.next());
        let size: u64 = match (kind, size.and_then(|s| s.parse().ok())) {
            (Some("blob"), Some(n)) => n,
            _ => return Err(format!("blob {oid} is missing")),
        };
        let mut body = Vec::new();
        if size > limit {
            std::io::copy(&mut (&mut self.stdout).take(size), &mut std::io::sink())
                .map_err(|e| e.to_string())?;
        } else {
            (&mut self.stdout)
                .take(size)
                .read_to_end(&mut body)
                .map_err(|e| e.to_string())?;
        }
        let mut newline = [0u8; 1];
        self.stdout
            .read_exact(&mut newline)
            .map_err(|e| e.to_string())?;
        if (body.len() as u64) < size && size <= limit {
            return Err(format!("blob {oid} ended early"));
        }
        Ok((size <= limit).then_some(body))
    }
}

impl Drop for CatFile {
    fn drop(&mut self) {
        // Closing stdin ends the batch; wait so no zombie is left behind.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_and_tree_records_keep_regular_files_only() {
        let ls_files = b"100644 aaaa 0\tcharts/values.yaml\x00100755 bbbb 0\tbin/run.sh\x00\
120000 cccc 0\tlink\x00160000 dddd 0\tvendor/sub\x00100644 eeee 2\tconflict.yaml\x00";
        let got = parse_entries(ls_files, |meta| {
            let mut it = meta.split(' ');
            let (mode, oid, stage) = (it.next()?, it.next()?, it.next()?);
            (is_regular(mode) && stage == "0").then(|| oid.to_string())
        });
        let want: Vec<(&str, &str)> = vec![("bin/run.sh", "bbbb"), ("charts/values.yaml", "aaaa")];
        let got: Vec<(&str, &str)> = got.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        assert_eq!(got, want);
        // Garbage and truncated records are skipped, not fatal.
        assert!(
            parse_entries(b"no tab here\0\0\t\0", |_| Some("x".into()))
                .keys()
                .all(|k| k.is_empty())
        );
    }

    #[test]
    fn paths_strip_to_the_engine_root() {
        // (path, dir, want)
        let cases = [
            ("a/b.yaml", "", Some("a/b.yaml")),
            (
                "examples/shop/values.yaml",
                "examples/shop",
                Some("values.yaml"),
            ),
            ("examples/shopfront/values.yaml", "examples/shop", None),
            ("other/values.yaml", "examples/shop", None),
        ];
        for (path, dir, want) in cases {
            assert_eq!(strip_dir(path, dir), want, "{path} in {dir}");
        }
    }
}
