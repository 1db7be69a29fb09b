#!/usr/bin/env python3
"""The premortem GitHub Action's steps (see action.yml): `key`, `install` and `run`.

Python 3 standard library only, so it runs on any runner's python3 with nothing installed.

- `key` writes the cache key of the premortem build to $GITHUB_OUTPUT: the runner's OS, arch
  and image, and the version (for the action's own checkout, a hash of its sources).
- `install` builds premortem into $RUNNER_TEMP/premortem with cargo.
- `run` runs one `premortem check` that prints PR annotations (`--format github`) and writes
  SARIF, then writes the `findings` and `sarif-file` outputs and a Markdown summary table to
  $GITHUB_STEP_SUMMARY. On pull request events it reports only findings on lines the pull
  request changes (`--diff <base sha>`), unless `diff-base` says otherwise. The step's exit code
  is premortem's: 0 clean, 1 findings at or above `fail-on`, 2 an error.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

MAX_ROWS = 50
LEVELS = {"error": "error", "warning": "warning", "note": "info", "none": "info"}
VERSION_RE = re.compile(r"^[0-9]+\.[0-9]+\.[0-9]+(?:-[0-9A-Za-z.-]+)?$")


def env(name: str, default: str = "") -> str:
    return os.environ.get(name, default).strip()


def action_path() -> Path:
    path = env("GITHUB_ACTION_PATH")
    return Path(path) if path else Path(__file__).resolve().parent.parent


def install_root() -> Path:
    return Path(env("RUNNER_TEMP") or "/tmp") / "premortem"


def crate_version(root: Path) -> str:
    text = (root / "Cargo.toml").read_text(encoding="utf-8")
    match = re.search(r'^version\s*=\s*"([^"]+)"', text, re.MULTILINE)
    return match.group(1) if match else "0.0.0"


def builds_own_checkout(version: str, root: Path) -> bool:
    return version in ("", crate_version(root))


def write_output(name: str, value: str) -> None:
    path = env("GITHUB_OUTPUT")
    if not path:
        print(f"{name}={value}")
        return
    with open(path, "a", encoding="utf-8") as out:
        out.write(f"{name}={value}\n")


def key() -> int:
    root = action_path()
    version = env("INPUT_VERSION")
    if builds_own_checkout(version, root):
        digest = hashlib.sha256()
        files = [root / "Cargo.toml", root / "Cargo.lock"]
        for folder in ("src", "rules"):
            files += sorted(p for p in (root / folder).rglob("*") if p.is_file())
        for path in files:
            if path.is_file():
                digest.update(path.relative_to(root).as_posix().encode() + b"\0")
                digest.update(path.read_bytes() + b"\0")
        ident = f"{crate_version(root)}-{digest.hexdigest()[:16]}"
    else:
        ident = version
    parts = [env("RUNNER_OS", sys.platform), env("RUNNER_ARCH"), env("ImageOS"), ident]
    write_output("key", "premortem-" + "-".join(p for p in parts if p))
    return 0


def install() -> int:
    root = action_path()
    version = env("INPUT_VERSION")
    cmd = ["cargo", "install", "--locked", "--root", str(install_root())]
    if builds_own_checkout(version, root):
        cmd += ["--path", str(root)]
    elif VERSION_RE.match(version):
        repo = env("GITHUB_ACTION_REPOSITORY") or "premortem-dev/premortem"
        cmd += ["--git", f"https://github.com/{repo}", "--tag", f"v{version}", "premortem"]
    else:
        print(f"::error title=premortem::version `{version}` is not a version number like 0.1.0")
        return 2
    print("+ " + shlex.join(cmd), flush=True)
    return subprocess.run(cmd, check=False).returncode


def binary() -> str:
    built = install_root() / "bin" / ("premortem.exe" if os.name == "nt" else "premortem")
    if built.is_file():
        return str(built)
    return shutil.which("premortem") or "premortem"


def pull_request_base() -> tuple[str, str]:
    """The pull request's base commit and branch from the event payload, or empty strings."""
    base_ref = env("GITHUB_BASE_REF")
    path = env("GITHUB_EVENT_PATH")
    if not env("GITHUB_EVENT_NAME").startswith("pull_request") or not path:
        return "", base_ref
    try:
        with open(path, encoding="utf-8") as f:
            event = json.load(f)
    except (OSError, ValueError):
        return "", base_ref
    base = (event.get("pull_request") or {}).get("base") or {}
    sha = base.get("sha") or ""
    ref = base.get("ref") or base_ref
    if not sha and ref:
        sha = f"origin/{ref}"
    return sha, ref


def diff_base() -> tuple[str, str]:
    """(revision for --diff, how to describe it); an empty revision checks everything."""
    wanted = env("INPUT_DIFF_BASE", "auto")
    if wanted.lower() in ("", "none"):
        return "", ""
    if wanted.lower() != "auto":
        return wanted, f"`{wanted}`"
    sha, ref = pull_request_base()
    if not sha:
        return "", ""
    short = sha[:12] if re.fullmatch(r"[0-9a-f]{40}", sha) else sha
    return sha, (f"`{ref}` (`{short}`)" if ref else f"`{short}`")


def cell(text: str) -> str:
    """One Markdown table cell: a single line, pipes escaped."""
    line = " ".join(text.split())
    return line.replace("\\", "\\\\").replace("|", "\\|")


def sarif_rows(path: Path) -> list[tuple[str, str, str, str]]:
    """(severity, rule, location, message) of every result in a SARIF log."""
    with open(path, encoding="utf-8") as f:
        log = json.load(f)
    rows = []
    for run in log.get("runs", []):
        for result in run.get("results", []):
            level = LEVELS.get(result.get("level", "warning"), "warning")
            message = (result.get("message", {}).get("text") or "").split("\n", 1)[0]
            where = ""
            for loc in result.get("locations", [])[:1]:
                phys = loc.get("physicalLocation", {})
                uri = phys.get("artifactLocation", {}).get("uri", "")
                line = phys.get("region", {}).get("startLine")
                where = f"{uri}:{line}" if line else uri
            rows.append((level, result.get("ruleId", ""), where, message))
    return rows


def summary(rows: list[tuple[str, str, str, str]], since: str, code: int) -> str:
    scope = f" on lines changed since {since}" if since else ""
    out = ["### premortem", ""]
    if code == 2:
        out.append("premortem could not run; the step's log says why.")
        return "\n".join(out) + "\n"
    if not rows:
        out.append(f"No findings{scope}.")
        return "\n".join(out) + "\n"
    counts = {}
    for severity, *_ in rows:
        counts[severity] = counts.get(severity, 0) + 1
    parts = []
    for severity in ("error", "warning", "info"):
        n = counts.get(severity, 0)
        if n:
            parts.append(f"{n} {severity}" + ("s" if n != 1 and severity != "info" else ""))
    total = len(rows)
    out.append(f"**{total} finding{'s' if total != 1 else ''}**{scope}: {', '.join(parts)}.")
    out += ["", "| Severity | Rule | Location | Message |", "| --- | --- | --- | --- |"]
    for severity, rule, where, message in rows[:MAX_ROWS]:
        out.append(f"| {severity} | `{cell(rule)}` | `{cell(where)}` | {cell(message)} |")
    if total > MAX_ROWS:
        out += ["", f"{total - MAX_ROWS} more in the annotations and the SARIF log."]
    return "\n".join(out) + "\n"


def run() -> int:
    workspace = env("GITHUB_WORKSPACE") or os.getcwd()
    os.chdir(workspace)
    fail_on = env("INPUT_FAIL_ON", "warning") or "warning"
    sarif = env("INPUT_SARIF_FILE", "premortem.sarif") or "premortem.sarif"
    paths = shlex.split(env("INPUT_PATHS", ".")) or ["."]
    rev, since = diff_base()
    extra = shlex.split(env("INPUT_ARGS"))

    def unless_in_args(option: str, value: str) -> list[str]:
        # An option the user passes in `args` wins over the input's value.
        given = any(a == option or a.startswith(option + "=") for a in extra)
        return [] if given else [option, value]

    cmd = [binary(), "check", *unless_in_args("--format", "github")]
    cmd += unless_in_args("--sarif-file", sarif) + unless_in_args("--fail-on", fail_on)
    if rev:
        cmd += unless_in_args("--diff", rev)
    cmd += [*extra, "--", *paths]
    print("premortem: " + shlex.join(cmd[1:]), file=sys.stderr, flush=True)
    code = subprocess.run(cmd, check=False).returncode
    rows = []
    if code in (0, 1) and Path(sarif).is_file():
        rows = sarif_rows(Path(sarif))
        write_output("findings", str(len(rows)))
        write_output("sarif-file", sarif)
    step_summary = env("GITHUB_STEP_SUMMARY")
    if step_summary:
        with open(step_summary, "a", encoding="utf-8") as out:
            out.write(summary(rows, since, code))
    return code


def main(argv: list[str]) -> int:
    steps = {"key": key, "install": install, "run": run}
    if len(argv) != 2 or argv[1] not in steps:
        print(f"usage: {argv[0]} {{key|install|run}}", file=sys.stderr)
        return 2
    return steps[argv[1]]()


if __name__ == "__main__":
    sys.exit(main(sys.argv))
