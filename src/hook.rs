//! Git hooks: what `premortem hook` checks in each hook stage, and `premortem install-hook`,
//! which writes a plain `pre-commit` hook for teams without the pre-commit framework.

use std::path::{Path, PathBuf};

use crate::engine::Error;
use crate::git::Git;

/// What a hook run checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stage {
    /// Commit time: the staged content of the given files (all staged changes when none given).
    Commit,
    /// Push time (pre-commit's `PRE_COMMIT_FROM_REF`/`PRE_COMMIT_TO_REF`): the pushed commit's
    /// content, reporting findings on lines changed since `from`.
    Push { from: String, to: String },
}

/// The stage from pre-commit's environment: a push range when both refs are set and non-empty.
pub fn stage_from_env(get: impl Fn(&str) -> Option<String>) -> Stage {
    let var = |name: &str| get(name).filter(|v| !v.trim().is_empty());
    match (var("PRE_COMMIT_FROM_REF"), var("PRE_COMMIT_TO_REF")) {
        (Some(from), Some(to)) => Stage::Push { from, to },
        _ => Stage::Commit,
    }
}

/// The marker line every hook premortem writes carries.
pub const MARKER: &str = "# premortem pre-commit hook";

/// The text of the `pre-commit` hook: run `premortem hook` with the binary that installed it,
/// or the one on `PATH` when that one has moved.
pub fn script(exe: &Path) -> String {
    let quoted = shell_quote(&exe.to_string_lossy());
    format!(
        "#!/bin/sh\n\
         {MARKER} (written by `premortem install-hook`).\n\
         # Checks what is staged for this commit; skip it once with `git commit --no-verify`.\n\
         premortem={quoted}\n\
         [ -x \"$premortem\" ] || premortem=premortem\n\
         exec \"$premortem\" hook\n"
    )
}

/// Single-quotes a string for `sh`.
fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// Where git looks for the `pre-commit` hook of the repository holding `dir` (honours
/// `core.hooksPath` and linked worktrees).
pub fn hook_path(dir: &Path) -> Result<PathBuf, Error> {
    let git = Git::discover(dir)?;
    let out = git.output(&["rev-parse", "--git-path", "hooks/pre-commit"])?;
    let text = String::from_utf8_lossy(&out);
    let path = PathBuf::from(text.trim_end_matches(['\n', '\r']));
    Ok(if path.is_absolute() {
        path
    } else {
        git.toplevel().join(path)
    })
}

/// Writes the hook for the repository holding `dir`; an existing hook is replaced only with
/// `force`. Returns the hook's path.
pub fn install(dir: &Path, exe: &Path, force: bool) -> Result<PathBuf, Error> {
    let path = hook_path(dir)?;
    if path.exists() && !force {
        return Err(Error(format!(
            "`{}` already exists; add `premortem hook` to it, or rerun with --force to replace it",
            path.display()
        )));
    }
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .map_err(|e| Error(format!("cannot create `{}`: {e}", parent.display())))?;
    }
    std::fs::write(&path, script(exe))
        .map_err(|e| Error(format!("cannot write `{}`: {e}", path.display())))?;
    make_executable(&path)?;
    Ok(path)
}

#[cfg(unix)]
fn make_executable(path: &Path) -> Result<(), Error> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
        .map_err(|e| Error(format!("cannot make `{}` executable: {e}", path.display())))
}

#[cfg(not(unix))]
fn make_executable(_path: &Path) -> Result<(), Error> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn push_ranges_come_from_both_refs() {
        // (from, to, stage)
        let cases = [
            (
                Some("abc"),
                Some("def"),
                Stage::Push {
                    from: "abc".into(),
                    to: "def".into(),
                },
            ),
            (Some("abc"), None, Stage::Commit),
            (None, Some("def"), Stage::Commit),
            (Some(" "), Some("def"), Stage::Commit),
            (None, None, Stage::Commit),
        ];
        for (from, to, want) in cases {
            let got = stage_from_env(|name| match name {
                "PRE_COMMIT_FROM_REF" => from.map(str::to_string),
                "PRE_COMMIT_TO_REF" => to.map(str::to_string),
                _ => None,
            });
            assert_eq!(got, want, "{from:?} {to:?}");
        }
    }

    #[test]
    fn the_script_quotes_the_binary_path() {
        let s = script(Path::new("/opt/it's here/premortem"));
        assert!(s.starts_with("#!/bin/sh\n"));
        assert!(s.contains(MARKER));
        assert!(
            s.contains(r"premortem='/opt/it'\''s here/premortem'"),
            "{s}"
        );
        assert!(s.ends_with("exec \"$premortem\" hook\n"));
    }
}
