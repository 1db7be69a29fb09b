//! Path → `FileKind`: which files premortem reads, and as what. Decided from the path alone so
//! the walk never opens a file no rule wants.

use crate::lang::Lang;

/// What a file is, for the rules that read it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FileKind {
    /// Helm chart values: `values*.yaml`, `values/*.yaml`.
    HelmValues,
    /// Helm templates (`templates/*.yaml`, `*.tpl`): Go templates, not YAML. Scanned as text.
    HelmTemplate,
    /// docker-compose files.
    Compose,
    /// Any other YAML: Kubernetes manifests, `application*.yml`, CI files, operator resources.
    Yaml,
    /// `.env`, `.env.*`, `*.env`. `example` for `.env.example`, `.sample`, `.template`, `.dist`.
    DotEnv {
        example: bool,
    },
    Properties,
    Ini,
    Toml,
    Tfvars,
    Json,
    /// `postgresql.conf`, `postgresql.auto.conf`, `conf.d/*.conf` of a Postgres setup.
    PgConf,
    Sql,
    Codeowners,
    /// Test code in a language premortem analyses.
    TestSource(Lang),
    /// A Jest, Vitest or Vite config (`jest.config.*`, `vitest.config.*`, `vite.config.*`): it
    /// names the setup files that run before every test under it.
    TestConfig,
}

impl FileKind {
    /// Config files that may hold a connection target.
    pub fn is_config(self) -> bool {
        matches!(
            self,
            FileKind::HelmValues
                | FileKind::HelmTemplate
                | FileKind::Compose
                | FileKind::Yaml
                | FileKind::DotEnv { .. }
                | FileKind::Properties
                | FileKind::Ini
                | FileKind::Toml
                | FileKind::Tfvars
                | FileKind::Json
        )
    }

    /// Files whose content is YAML (or JSON, which the YAML parser reads too).
    pub fn is_yaml(self) -> bool {
        matches!(
            self,
            FileKind::HelmValues | FileKind::Compose | FileKind::Yaml | FileKind::Json
        )
    }
}

const SKIP_NAMES: &[&str] = &[
    "package-lock.json",
    "npm-shrinkwrap.json",
    "yarn.lock",
    "pnpm-lock.yaml",
    "composer.lock",
    "Cargo.lock",
    "Gemfile.lock",
    "poetry.lock",
    "tsconfig.json",
    ".premortem.yaml",
    ".premortem-baseline.json",
    ".pre-commit-config.yaml",
    ".pre-commit-hooks.yaml",
];

/// Directories whose files are never classified (vendored, generated or tool state).
pub const SKIP_DIRS: &[&str] = &[
    "node_modules",
    ".git",
    "vendor",
    "third_party",
    "__pycache__",
];

/// True for paths under test-code conventions (`tests/`, `spec/`, `__tests__/`, `src/test/`, ...).
pub fn is_test_path(path: &str) -> bool {
    let file = path.rsplit('/').next().unwrap_or(path);
    let dirs = path.split('/').rev().skip(1);
    let mut in_test_dir = false;
    for d in dirs {
        if matches!(
            d,
            "tests" | "test" | "spec" | "__tests__" | "e2e" | "integration_tests"
        ) {
            in_test_dir = true;
        }
    }
    in_test_dir
        || path.contains("src/test/")
        || file == "conftest.py"
        || (file.starts_with("test_") && file.ends_with(".py"))
        || file.ends_with("_test.py")
        || file.ends_with("_test.go")
        || file.ends_with("_spec.rb")
        || file.ends_with("_test.rb")
        || [".test.", ".spec."].iter().any(|m| file.contains(m))
}

/// Jest, Vitest and Vite config files, which may name test setup files.
pub fn is_test_config(file: &str) -> bool {
    let lower = file.to_ascii_lowercase();
    [
        "jest.config.",
        "vitest.config.",
        "vite.config.",
        "vitest.workspace.",
    ]
    .iter()
    .any(|p| lower.starts_with(p))
        && [".js", ".mjs", ".cjs", ".ts", ".mts", ".cts", ".json"]
            .iter()
            .any(|e| lower.ends_with(e))
}

/// Conventional names of JavaScript/TypeScript test setup files (`jest.setup.ts`,
/// `setupTests.js`, `vitest.setup.ts`, `global-setup.ts`): test code wherever they live.
fn is_js_setup_name(file: &str) -> bool {
    let lower = file.to_ascii_lowercase();
    let Some((base, ext)) = lower.rsplit_once('.') else {
        return false;
    };
    matches!(
        ext,
        "js" | "mjs" | "cjs" | "jsx" | "ts" | "mts" | "cts" | "tsx"
    ) && base.contains("setup")
        && ["jest", "test", "global"].iter().any(|w| base.contains(w))
}

/// SQL scripts a test suite runs: under a test path (`tests/**/*.sql`, `src/test/resources/`)
/// or named for resetting (`reset*.sql`, `truncate*.sql`), but not migrations kept there, which
/// the migration rules read.
pub fn is_test_sql(path: &str) -> bool {
    let file = path.rsplit('/').next().unwrap_or(path).to_ascii_lowercase();
    if !file.ends_with(".sql") {
        return false;
    }
    let in_migrations = path.split('/').rev().skip(1).any(|d| {
        matches!(
            d.to_ascii_lowercase().as_str(),
            "migrations" | "migration" | "migrate"
        )
    });
    !in_migrations
        && (is_test_path(path) || file.starts_with("reset") || file.starts_with("truncate"))
}

/// Classifies a repo-relative path; `None` means no rule reads it.
pub fn classify(path: &str) -> Option<FileKind> {
    let file = path.rsplit('/').next().unwrap_or(path);
    if SKIP_NAMES.contains(&file) || path.split('/').any(|d| SKIP_DIRS.contains(&d)) {
        return None;
    }
    let lower = file.to_ascii_lowercase();
    let dir = path.rsplit_once('/').map_or("", |(d, _)| d);
    let parent = dir.rsplit('/').next().unwrap_or("");
    if file == "CODEOWNERS" {
        return Some(FileKind::Codeowners);
    }
    if lower == ".env"
        || lower.starts_with(".env.")
        || lower.ends_with(".env")
        || lower == "env.example"
    {
        let example = [
            ".example",
            ".sample",
            ".template",
            ".dist",
            ".tmpl",
            ".defaults",
        ]
        .iter()
        .any(|s| lower.ends_with(s))
            || ["sample.env", "example.env", "template.env", "env.example"]
                .contains(&lower.as_str());
        return Some(FileKind::DotEnv { example });
    }
    let ext = lower.rsplit_once('.').map_or("", |(_, e)| e);
    if is_test_config(file) {
        return Some(FileKind::TestConfig);
    }
    if is_test_path(path) || is_js_setup_name(file) {
        let lang = match ext {
            "py" => Some(Lang::Python),
            "js" | "mjs" | "cjs" | "jsx" => Some(Lang::JavaScript),
            "ts" | "mts" | "cts" => Some(Lang::TypeScript),
            "tsx" => Some(Lang::Tsx),
            "rb" => Some(Lang::Ruby),
            "go" => Some(Lang::Go),
            "java" => Some(Lang::Java),
            _ => None,
        };
        if let Some(lang) = lang {
            return Some(FileKind::TestSource(lang));
        }
    }
    if dir.split('/').any(|d| d == "spec") && ext == "rb" {
        return Some(FileKind::TestSource(Lang::Ruby));
    }
    match ext {
        "yaml" | "yml" => {
            if dir.split('/').any(|d| d == "templates") {
                Some(FileKind::HelmTemplate)
            } else if lower.starts_with("values") || parent == "values" {
                Some(FileKind::HelmValues)
            } else if lower.starts_with("docker-compose")
                || lower.starts_with("compose.")
                || lower.starts_with("compose-")
            {
                Some(FileKind::Compose)
            } else {
                Some(FileKind::Yaml)
            }
        }
        "tpl" if dir.split('/').any(|d| d == "templates") => Some(FileKind::HelmTemplate),
        "properties" => Some(FileKind::Properties),
        "ini" | "cfg" | "cnf" => Some(FileKind::Ini),
        "toml" => Some(FileKind::Toml),
        "tfvars" => Some(FileKind::Tfvars),
        "json" if lower.ends_with(".tfvars.json") => Some(FileKind::Json),
        "json" => Some(FileKind::Json),
        "conf"
            if lower.starts_with("postgresql")
                || parent == "conf.d"
                || path.contains("postgres") =>
        {
            Some(FileKind::PgConf)
        }
        "sql" => Some(FileKind::Sql),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_by_path() {
        let cases = [
            ("charts/app/values-staging.yaml", Some(FileKind::HelmValues)),
            ("charts/app/values/prod.yaml", Some(FileKind::HelmValues)),
            (
                "charts/app/templates/deployment.yaml",
                Some(FileKind::HelmTemplate),
            ),
            ("docker-compose.test.yml", Some(FileKind::Compose)),
            ("k8s/secret.yaml", Some(FileKind::Yaml)),
            (".env.production", Some(FileKind::DotEnv { example: false })),
            (".env.example", Some(FileKind::DotEnv { example: true })),
            (
                "src/main/resources/application.properties",
                Some(FileKind::Properties),
            ),
            ("infra/prod.tfvars", Some(FileKind::Tfvars)),
            ("appsettings.Production.json", Some(FileKind::Json)),
            ("db/postgresql.conf", Some(FileKind::PgConf)),
            ("db/migrations/001_init.sql", Some(FileKind::Sql)),
            (".github/CODEOWNERS", Some(FileKind::Codeowners)),
            (
                "tests/conftest.py",
                Some(FileKind::TestSource(Lang::Python)),
            ),
            (
                "web/src/__tests__/db.test.ts",
                Some(FileKind::TestSource(Lang::TypeScript)),
            ),
            (
                "spec/support/database_cleaner.rb",
                Some(FileKind::TestSource(Lang::Ruby)),
            ),
            (
                "pkg/store/store_test.go",
                Some(FileKind::TestSource(Lang::Go)),
            ),
            (
                "app/src/test/java/AppTest.java",
                Some(FileKind::TestSource(Lang::Java)),
            ),
            ("jest.config.js", Some(FileKind::TestConfig)),
            ("web/vitest.config.mts", Some(FileKind::TestConfig)),
            ("web/vite.config.ts", Some(FileKind::TestConfig)),
            ("jest.config.json", Some(FileKind::TestConfig)),
            (
                "jest.setup.ts",
                Some(FileKind::TestSource(Lang::TypeScript)),
            ),
            (
                "src/setupTests.js",
                Some(FileKind::TestSource(Lang::JavaScript)),
            ),
            (
                "config/global-setup.mjs",
                Some(FileKind::TestSource(Lang::JavaScript)),
            ),
            ("src/setup.ts", None),
            ("scripts/setup_test_env.py", None),
            ("tests/reset.sql", Some(FileKind::Sql)),
            ("src/app.py", None),
            ("README.md", None),
            ("node_modules/x/values.yaml", None),
            ("package-lock.json", None),
        ];
        for (p, want) in cases {
            assert_eq!(classify(p), want, "{p}");
        }
    }

    #[test]
    fn test_sql_scripts() {
        let cases = [
            ("tests/fixtures/reset.sql", true),
            ("src/test/resources/cleanup.sql", true),
            ("db/reset_dev.sql", true),
            ("scripts/truncate_all.SQL", true),
            ("spec/support/seed.sql", true),
            ("db/migrations/001_init.sql", false),
            ("tests/db/migrations/002_drop.sql", false),
            ("db/seed.sql", false),
            ("tests/reset.sql.bak", false),
        ];
        for (p, want) in cases {
            assert_eq!(is_test_sql(p), want, "{p}");
        }
    }
}
