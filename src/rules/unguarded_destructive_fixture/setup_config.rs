//! Jest and Vitest configs: which setup files run before the tests under them.
//!
//! Read cheaply, without evaluating the config: the values of `globalSetup`, `setupFiles` and
//! `setupFilesAfterEnv` when they are string literals or arrays of string literals (a plain
//! object literal, as most configs are). A value computed at run time is not followed.

use std::sync::LazyLock;

use regex::Regex;

/// When a setup file runs, in the order Jest and Vitest run them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum SetupRole {
    /// `globalSetup`: a module whose exported function runs once before every test file.
    Global,
    /// `setupFiles`: loaded before each test file, before the framework.
    Setup,
    /// `setupFilesAfterEnv`: loaded before each test file, after the framework (hooks allowed).
    AfterEnv,
}

/// The setup files one config names, as written, in run order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct SetupConfig {
    /// The config's directory (repo-relative, `""` at the root): paths resolve against it.
    pub dir: String,
    pub entries: Vec<(SetupRole, String)>,
}

static KEY: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(
        r#"\b(globalSetup|setupFilesAfterEnv|setupFiles)["']?\s*:\s*(\[[^\]]*\]|"[^"\n]*"|'[^'\n]*'|`[^`\n]*`)"#,
    )
    .ok()
});

static STRING: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r#""([^"\n]*)"|'([^'\n]*)'|`([^`\n]*)`"#).ok());

/// Reads the setup files named in a config file (`jest.config.*`, `vitest.config.*`,
/// `vite.config.*`, or the `jest` key of a `package.json`).
pub(super) fn read(path: &str, text: &str) -> Option<SetupConfig> {
    let (dir, file) = path.rsplit_once('/').unwrap_or(("", path));
    let owned;
    let text = if file == "package.json" {
        let value: serde_json::Value = serde_json::from_str(text).ok()?;
        owned = value.get("jest")?.to_string();
        owned.as_str()
    } else {
        text
    };
    let (key, string) = (KEY.as_ref()?, STRING.as_ref()?);
    let mut entries = Vec::new();
    for cap in key.captures_iter(text) {
        let (Some(name), Some(value)) = (cap.get(1), cap.get(2)) else {
            continue;
        };
        if commented_out(text, name.start()) {
            continue;
        }
        let role = match name.as_str() {
            "globalSetup" => SetupRole::Global,
            "setupFiles" => SetupRole::Setup,
            _ => SetupRole::AfterEnv,
        };
        for s in string.captures_iter(value.as_str()) {
            if let Some(m) = s.get(1).or(s.get(2)).or(s.get(3))
                && !m.as_str().is_empty()
                && !m.as_str().contains("${")
            {
                entries.push((role, m.as_str().to_string()));
            }
        }
    }
    // Run order: the global setup, then setup files, then those loaded after the framework.
    entries.sort_by_key(|(role, _)| *role);
    (!entries.is_empty()).then(|| SetupConfig {
        dir: dir.to_string(),
        entries,
    })
}

/// A key on a line that a `//` comment (or a block comment's `*` line) has already started.
fn commented_out(text: &str, at: usize) -> bool {
    let line_start = text
        .get(..at)
        .and_then(|t| t.rfind('\n'))
        .map_or(0, |i| i + 1);
    let before = text.get(line_start..at).unwrap_or("").trim_start();
    before.starts_with("//") || before.starts_with('*') || before.starts_with("/*")
}

/// Resolves a setup entry to a repo-relative file: `<rootDir>/x`, `./x` and `x` against the
/// config's directory, trying the usual extensions. Package names resolve to nothing.
pub(super) fn resolve(dir: &str, spec: &str, exists: &dyn Fn(&str) -> bool) -> Option<String> {
    let spec = spec.trim();
    let rel = spec
        .strip_prefix("<rootDir>/")
        .or_else(|| spec.strip_prefix("<rootDir>"))
        .unwrap_or(spec);
    if rel.starts_with('/') || rel.starts_with('@') || rel.contains(':') {
        return None;
    }
    let joined = if dir.is_empty() {
        rel.to_string()
    } else {
        format!("{dir}/{rel}")
    };
    let base = normalize(&joined)?;
    const SUFFIXES: &[&str] = &[
        "",
        ".js",
        ".ts",
        ".mjs",
        ".cjs",
        ".mts",
        ".cts",
        ".jsx",
        ".tsx",
        "/index.js",
        "/index.ts",
    ];
    SUFFIXES
        .iter()
        .map(|s| format!("{base}{s}"))
        .find(|p| crate::lang::lang_for_path(p).is_some() && exists(p))
}

/// `a/./b/../c` -> `a/c`; `None` when the path climbs above the root.
fn normalize(path: &str) -> Option<String> {
    let mut parts: Vec<&str> = Vec::new();
    for c in path.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            c => parts.push(c),
        }
    }
    (!parts.is_empty()).then(|| parts.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(path: &str, text: &str) -> Vec<(SetupRole, String)> {
        read(path, text).map(|c| c.entries).unwrap_or_default()
    }

    #[test]
    fn setup_entries_are_read_from_plain_configs() {
        use SetupRole::*;
        type Want = &'static [(SetupRole, &'static str)];
        let cases: &[(&str, &str, Want)] = &[
            (
                "jest.config.js",
                "module.exports = {\n  setupFilesAfterEnv: ['<rootDir>/test/after.ts'],\n  setupFiles: [\"./jest.setup.js\", 'dotenv/config'],\n  globalSetup: './global.ts',\n};\n",
                &[
                    (Global, "./global.ts"),
                    (Setup, "./jest.setup.js"),
                    (Setup, "dotenv/config"),
                    (AfterEnv, "<rootDir>/test/after.ts"),
                ],
            ),
            (
                "web/vitest.config.ts",
                "export default defineConfig({ test: { setupFiles: './vitest.setup.ts' } })",
                &[(Setup, "./vitest.setup.ts")],
            ),
            (
                "package.json",
                r#"{"name": "x", "jest": {"setupFiles": ["./setup.js"]}}"#,
                &[(Setup, "./setup.js")],
            ),
            (
                "jest.config.json",
                r#"{"globalSetup": "./g.js"}"#,
                &[(Global, "./g.js")],
            ),
            // Near misses: commented out, computed, no jest key, template strings.
            (
                "jest.config.js",
                "module.exports = {\n  // setupFiles: ['./old.js'],\n};\n",
                &[],
            ),
            (
                "jest.config.js",
                "module.exports = { setupFiles: files };",
                &[],
            ),
            ("package.json", r#"{"scripts": {"setupFiles": "x"}}"#, &[]),
            (
                "jest.config.js",
                "module.exports = { setupFiles: [`${__dirname}/s.js`] };",
                &[],
            ),
        ];
        for (path, text, want) in cases {
            let want: Vec<(SetupRole, String)> =
                want.iter().map(|(r, s)| (*r, s.to_string())).collect();
            assert_eq!(entries(path, text), want, "{text}");
        }
        assert_eq!(
            read("web/vitest.config.ts", "setupFiles: 'a.ts'")
                .unwrap()
                .dir,
            "web"
        );
    }

    #[test]
    fn entries_resolve_against_the_config_dir() {
        let files = ["web/jest.setup.js", "web/test/after.ts", "global/index.ts"];
        let exists = |p: &str| files.contains(&p);
        let cases = [
            ("web", "./jest.setup.js", Some("web/jest.setup.js")),
            ("web", "<rootDir>/test/after", Some("web/test/after.ts")),
            ("web", "jest.setup", Some("web/jest.setup.js")),
            ("", "./global", Some("global/index.ts")),
            ("web", "../web/./jest.setup.js", Some("web/jest.setup.js")),
            ("web", "jest-extended/all", None),
            ("web", "@testing-library/jest-dom", None),
            ("", "../outside.js", None),
            ("web", "/abs/setup.js", None),
        ];
        for (dir, spec, want) in cases {
            assert_eq!(resolve(dir, spec, &exists).as_deref(), want, "{dir} {spec}");
        }
    }
}
