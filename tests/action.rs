//! The GitHub Action: `action.yml` and the example workflow validated by check-jsonschema and
//! zizmor, and the action's script run as a runner runs it, with a pull request's event payload
//! and the runner's files, against a real git repository.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use support::*;

const WORKFLOW: &str = "examples/workflows/premortem.yml";

/// A tool on PATH that answers `--version`, or a skip (a failure under CI).
fn tool(name: &str) -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|p| {
        std::env::split_paths(&p)
            .map(|d| d.join(name))
            .find(|p| p.is_file())
    });
    if found.is_none() {
        skip(&format!(
            "`{name}` not found on PATH (python3 -m pip install {name})"
        ));
    }
    found
}

#[test]
fn action_and_workflow_pass_check_jsonschema() {
    let Some(check) = tool("check-jsonschema") else {
        return;
    };
    // (schema, file)
    let cases = [
        ("vendor.github-actions", "action.yml"),
        ("vendor.github-workflows", WORKFLOW),
    ];
    for (schema, file) in cases {
        let out = Command::new(&check)
            .args(["--builtin-schema", schema, file])
            .current_dir(crate_dir())
            .output()
            .unwrap();
        assert!(out.status.success(), "{file}: {}", text(&out));
    }
}

#[test]
fn action_and_workflow_have_no_zizmor_findings() {
    let Some(zizmor) = tool("zizmor") else {
        return;
    };
    // The auditor persona shows every finding, the low-confidence ones too.
    let out = Command::new(&zizmor)
        .args(["--offline", "--persona", "auditor", "--no-progress"])
        .args(["action.yml", WORKFLOW])
        .current_dir(crate_dir())
        .output()
        .unwrap();
    let all = text(&out);
    assert!(out.status.success(), "{all}");
    assert!(all.contains("No findings to report"), "{all}");
}

#[test]
fn the_workflow_pins_every_action_and_the_readme_shows_it_verbatim() {
    let workflow = std::fs::read_to_string(crate_dir().join(WORKFLOW)).unwrap();
    let uses: Vec<&str> = workflow
        .lines()
        .filter_map(|l| {
            let l = l.trim();
            l.strip_prefix("- ").unwrap_or(l).strip_prefix("uses: ")
        })
        .collect();
    assert_eq!(uses.len(), 3, "{uses:?}");
    for u in &uses {
        let (_, rest) = u.split_once('@').expect("a ref");
        let sha = rest.split_whitespace().next().unwrap();
        assert!(
            sha.len() == 40 && sha.bytes().all(|b| b.is_ascii_hexdigit()),
            "not pinned to a full commit: {u}"
        );
        assert!(
            rest.contains(" # v") || rest.contains(" # premortem "),
            "no version comment: {u}"
        );
    }
    for needle in [
        "fetch-depth: 0",
        "persist-credentials: false",
        "permissions: {}",
    ] {
        assert!(workflow.contains(needle), "{needle}");
    }
    let readme = std::fs::read_to_string(crate_dir().join("README.md")).unwrap();
    assert!(
        readme.contains(&format!("```yaml\n{workflow}```\n")),
        "README.md must show {WORKFLOW} verbatim in a yaml block"
    );
}

#[test]
fn the_action_passes_every_input_to_its_script() {
    let action = std::fs::read_to_string(crate_dir().join("action.yml")).unwrap();
    for (input, var) in [
        ("paths", "INPUT_PATHS"),
        ("args", "INPUT_ARGS"),
        ("fail-on", "INPUT_FAIL_ON"),
        ("sarif-file", "INPUT_SARIF_FILE"),
        ("diff-base", "INPUT_DIFF_BASE"),
        ("version", "INPUT_VERSION"),
    ] {
        assert!(action.contains(&format!("\n  {input}:\n")), "input {input}");
        assert!(
            action.contains(&format!("{var}: ${{{{ inputs.{input} }}}}")),
            "{input} -> {var}"
        );
    }
    for output in ["findings", "sarif-file"] {
        assert!(
            action.contains(&format!("value: ${{{{ steps.run.outputs.{output} }}}}")),
            "output {output}"
        );
    }
}

/// A runner's view of one workflow run: workspace, event payload and the files steps write.
struct Runner {
    dir: tempfile::TempDir,
    workspace: PathBuf,
}

impl Runner {
    fn new(workspace: &Path) -> Runner {
        Runner {
            dir: tempfile::tempdir().unwrap(),
            workspace: workspace.to_path_buf(),
        }
    }

    fn file(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.file(name)).unwrap_or_default()
    }

    /// Runs a step of scripts/action.py with the runner's environment and the action's inputs
    /// at their defaults from action.yml, overridden by `inputs`.
    fn step(
        &self,
        step: &str,
        event: &str,
        payload: &serde_json::Value,
        inputs: &[(&str, &str)],
    ) -> Output {
        std::fs::write(self.file("event.json"), payload.to_string()).unwrap();
        let path = format!(
            "{}:{}",
            bin().parent().unwrap().display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let mut cmd = Command::new("python3");
        hermetic(&mut cmd)
            .arg(crate_dir().join("scripts/action.py"))
            .arg(step)
            .current_dir(&self.workspace)
            .env("PATH", path)
            .env("CI", "true")
            .env("GITHUB_ACTIONS", "true")
            .env("GITHUB_EVENT_NAME", event)
            .env("GITHUB_EVENT_PATH", self.file("event.json"))
            .env("GITHUB_OUTPUT", self.file("output"))
            .env("GITHUB_STEP_SUMMARY", self.file("summary.md"))
            .env("GITHUB_WORKSPACE", &self.workspace)
            .env("GITHUB_ACTION_PATH", crate_dir())
            .env("GITHUB_ACTION_REPOSITORY", "premortem-dev/premortem")
            .env("GITHUB_REPOSITORY", "acme/storefront")
            .env("RUNNER_TEMP", self.file("runner-temp"))
            .env("RUNNER_OS", "Linux")
            .env("RUNNER_ARCH", "X64")
            .env("INPUT_PATHS", ".")
            .env("INPUT_ARGS", "")
            .env("INPUT_FAIL_ON", "warning")
            .env("INPUT_SARIF_FILE", "premortem.sarif")
            .env("INPUT_DIFF_BASE", "auto")
            .env("INPUT_VERSION", "");
        if event.starts_with("pull_request") {
            cmd.env("GITHUB_BASE_REF", "main")
                .env("GITHUB_HEAD_REF", "feature");
        } else {
            cmd.env("GITHUB_BASE_REF", "").env("GITHUB_HEAD_REF", "");
        }
        for (name, value) in inputs {
            cmd.env(name, value);
        }
        cmd.output().expect("python3 runs")
    }
}

/// A repository with an old finding on main and a pull request that adds a new one, checked out
/// as GitHub checks out a pull request: the merge commit of the head into the base.
fn pull_request_repo() -> (tempfile::TempDir, String) {
    let repo = repo(&[
        ("legacy/values.yaml", BAD_VALUES),
        ("charts/app/values.yaml", GOOD_VALUES),
    ]);
    let dir = repo.path();
    let base = git(dir, &["rev-parse", "HEAD"]).trim().to_string();
    git(dir, &["checkout", "-q", "-b", "feature"]);
    write(
        dir,
        "charts/app/values.yaml",
        &format!("{GOOD_VALUES}  replicas: 2\n"),
    );
    write(dir, "charts/new/values.yaml", BAD_VALUES);
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "-m", "feature"]);
    git(dir, &["checkout", "-q", "--detach", "main"]);
    git(
        dir,
        &[
            "merge",
            "-q",
            "--no-ff",
            "-m",
            "Merge feature into main",
            "feature",
        ],
    );
    (repo, base)
}

fn pull_request_event(base: &str) -> serde_json::Value {
    serde_json::json!({
        "action": "synchronize",
        "number": 7,
        "pull_request": {
            "number": 7,
            "base": {"ref": "main", "sha": base},
            "head": {"ref": "feature", "sha": "0000000000000000000000000000000000000000"}
        }
    })
}

/// A repository whose one finding is a warning: a literal target without a password.
fn repo_with_warning() -> tempfile::TempDir {
    repo(&[(
        "charts/w/values.yaml",
        "db:\n  url: postgresql://app@pg-main.prod.internal:5432/app\n",
    )])
}

fn python3() -> bool {
    let ok = Command::new("python3")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        skip("python3 not found");
    }
    ok
}

#[test]
fn action_script_annotates_only_what_a_pull_request_changes() {
    if !python3() {
        return;
    }
    let (repo, base) = pull_request_repo();
    let runner = Runner::new(repo.path());
    let out = runner.step("run", "pull_request", &pull_request_event(&base), &[]);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));

    let annotations: Vec<&str> = stdout.lines().filter(|l| l.starts_with("::")).collect();
    assert_eq!(annotations.len(), 1, "{stdout}");
    assert!(
        annotations[0]
            .starts_with("::error file=charts/new/values.yaml,line=2,col=8,endLine=2,endColumn="),
        "{stdout}"
    );
    assert!(
        annotations[0].contains("title=premortem literal-dsn::"),
        "{stdout}"
    );
    assert!(!stdout.contains("legacy/values.yaml"), "{stdout}");

    let outputs = runner.read("output");
    assert_eq!(outputs, "findings=1\nsarif-file=premortem.sarif\n");

    let summary = runner.read("summary.md");
    let short = &base[..12];
    for want in [
        "### premortem",
        &format!("**1 finding** on lines changed since `main` (`{short}`): 1 error."),
        "| Severity | Rule | Location | Message |",
        "| error | `literal-dsn` | `charts/new/values.yaml:2` | literal postgresql connection string",
    ] {
        assert!(summary.contains(want), "{want}\n---\n{summary}");
    }

    let sarif_path = repo.path().join("premortem.sarif");
    let sarif = std::fs::read_to_string(&sarif_path).unwrap();
    for (what, text) in [
        ("stdout", &stdout),
        ("summary", &summary),
        ("SARIF", &sarif),
    ] {
        assert!(!text.contains(PASSWORD), "password in the {what}");
    }
    let log: serde_json::Value = serde_json::from_str(&sarif).unwrap();
    assert_eq!(log["runs"][0]["results"].as_array().unwrap().len(), 1);
    match multitool() {
        Some(tool) => {
            let problems = sarif_problems(&tool, &sarif_path);
            assert!(problems.is_empty(), "{problems:#?}");
        }
        None => skip("SARIF multitool not found (set SARIF_MULTITOOL)"),
    }
}

#[test]
fn action_script_checks_everything_outside_pull_requests_and_on_request() {
    if !python3() {
        return;
    }
    let (repo, base) = pull_request_repo();
    let runner = Runner::new(repo.path());
    // (event, inputs, findings reported)
    type Inputs<'a> = &'a [(&'a str, &'a str)];
    let cases: [(&str, Inputs, usize); 4] = [
        ("push", &[], 2),
        ("pull_request", &[("INPUT_DIFF_BASE", "none")], 2),
        ("pull_request", &[("INPUT_DIFF_BASE", "HEAD")], 0),
        ("pull_request", &[("INPUT_PATHS", "legacy\ncharts/app")], 0),
    ];
    for (event, inputs, n) in cases {
        std::fs::write(runner.file("output"), "").unwrap();
        std::fs::write(runner.file("summary.md"), "").unwrap();
        let out = runner.step("run", event, &pull_request_event(&base), inputs);
        assert_eq!(
            out.status.code(),
            Some(i32::from(n > 0)),
            "{event} {inputs:?}: {}",
            text(&out)
        );
        assert!(
            runner
                .read("output")
                .starts_with(&format!("findings={n}\n")),
            "{event} {inputs:?}: {}",
            runner.read("output")
        );
        if n == 0 {
            assert!(runner.read("summary.md").contains("No findings"));
        }
    }

    // `fail-on` decides the exit code; an option in `args` wins over the input.
    let warned = repo_with_warning();
    let runner_w = Runner::new(warned.path());
    // (inputs, exit code)
    let cases: [(Inputs, i32); 3] = [
        (&[], 1),
        (&[("INPUT_FAIL_ON", "error")], 0),
        (
            &[
                ("INPUT_FAIL_ON", "error"),
                ("INPUT_ARGS", "--fail-on warning"),
            ],
            1,
        ),
    ];
    for (inputs, code) in cases {
        std::fs::write(runner_w.file("output"), "").unwrap();
        let out = runner_w.step("run", "push", &serde_json::json!({}), inputs);
        assert_eq!(out.status.code(), Some(code), "{inputs:?}: {}", text(&out));
        assert!(runner_w.read("output").starts_with("findings=1\n"));
    }

    // A usage error is exit 2 with a summary that says premortem could not run.
    std::fs::write(runner.file("summary.md"), "").unwrap();
    let out = runner.step(
        "run",
        "pull_request",
        &pull_request_event(&"f".repeat(40)),
        &[],
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("unknown revision"), "{}", text(&out));
    assert!(runner.read("summary.md").contains("could not run"));
}

#[test]
fn action_cache_key_follows_the_version_and_the_runner() {
    if !python3() {
        return;
    }
    let repo = repo(&[]);
    let runner = Runner::new(repo.path());
    let key = |inputs: &[(&str, &str)]| {
        std::fs::write(runner.file("output"), "").unwrap();
        let out = runner.step("key", "push", &serde_json::json!({}), inputs);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
        runner.read("output")
    };
    let own = key(&[]);
    let version = env!("CARGO_PKG_VERSION");
    assert!(
        own.starts_with(&format!("key=premortem-Linux-X64-{version}-")),
        "{own}"
    );
    assert_eq!(
        own,
        key(&[("INPUT_VERSION", version)]),
        "the checkout's own version"
    );
    assert_eq!(
        key(&[("INPUT_VERSION", "9.9.9")]),
        "key=premortem-Linux-X64-9.9.9\n"
    );
    assert_ne!(own, key(&[("RUNNER_OS", "macOS")]));
}
