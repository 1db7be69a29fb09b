//! Deployment environments: inferred from a config file's path, and from a connection target's
//! host name or the `environments:` host patterns in config.

use globset::{GlobBuilder, GlobSet, GlobSetBuilder};

/// A deployment environment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Env {
    Production,
    Staging,
    Qa,
    Dev,
    Test,
    Ci,
    Local,
}

impl Env {
    /// The name used in messages and config keys.
    pub fn as_str(self) -> &'static str {
        match self {
            Env::Production => "production",
            Env::Staging => "staging",
            Env::Qa => "qa",
            Env::Dev => "dev",
            Env::Test => "test",
            Env::Ci => "ci",
            Env::Local => "local",
        }
    }

    /// Parses a config key (`production`, `prod`, `staging`, ...).
    pub fn parse(name: &str) -> Option<Env> {
        token_env(&name.to_ascii_lowercase())
    }

    /// A throwaway environment where trading safety for speed is legitimate.
    pub fn is_throwaway(self) -> bool {
        matches!(self, Env::Dev | Env::Test | Env::Ci | Env::Local)
    }
}

/// The environment one name token stands for.
fn token_env(token: &str) -> Option<Env> {
    Some(match token {
        "prod" | "production" | "prd" | "prods" => Env::Production,
        "staging" | "stage" | "stg" | "preprod" | "pre-prod" | "preproduction" => Env::Staging,
        "qa" | "uat" => Env::Qa,
        "dev" | "development" | "develop" | "sandbox" => Env::Dev,
        "test" | "tests" | "testing" | "e2e" | "spec" | "integration-test" => Env::Test,
        "ci" | "github-actions" => Env::Ci,
        "local" | "localdev" => Env::Local,
        _ => return None,
    })
}

/// Name tokens: runs of ASCII letters or of ASCII digits, so separators and letter/digit
/// boundaries split (`db-prod1` → db, prod, 1). Slices of the name, no allocation: this runs
/// on every path the walk finds.
fn tokens(s: &str) -> impl Iterator<Item = &str> {
    let b = s.as_bytes();
    let mut i = 0;
    std::iter::from_fn(move || {
        while i < b.len() && !b[i].is_ascii_alphanumeric() {
            i += 1;
        }
        if i == b.len() {
            return None;
        }
        let start = i;
        let digit = b[i].is_ascii_digit();
        while i < b.len() && b[i].is_ascii_alphanumeric() && b[i].is_ascii_digit() == digit {
            i += 1;
        }
        Some(&s[start..i])
    })
}

/// The environment the first telling token of a name stands for, case-insensitively, with
/// `pre-prod`/`pre_production` read as one token.
fn env_in(s: &str) -> Option<Env> {
    let mut toks = tokens(s).peekable();
    while let Some(t) = toks.next() {
        if t.eq_ignore_ascii_case("pre")
            && toks.peek().is_some_and(|n| {
                ["prod", "production", "prd"]
                    .iter()
                    .any(|p| n.eq_ignore_ascii_case(p))
            })
        {
            return token_env("preprod");
        }
        // No environment word is longer than this; a token is ASCII alphanumeric.
        const LONGEST: usize = 16;
        if t.len() <= LONGEST {
            let mut buf = [0u8; LONGEST];
            let lower = &mut buf[..t.len()];
            lower.copy_from_slice(t.as_bytes());
            lower.make_ascii_lowercase();
            if let Some(env) = std::str::from_utf8(lower).ok().and_then(token_env) {
                return Some(env);
            }
        }
    }
    None
}

/// CI pipeline definitions drive every environment, so they do not belong to one.
pub fn is_ci_pipeline(path: &str) -> bool {
    let file = path.rsplit('/').next().unwrap_or(path);
    path.starts_with(".github/workflows/")
        || path.starts_with(".github/actions/")
        || path.starts_with(".circleci/")
        || path.starts_with(".buildkite/")
        || path.starts_with(".gitlab/ci/")
        || matches!(
            file,
            ".gitlab-ci.yml"
                | ".travis.yml"
                | ".drone.yml"
                | "bitbucket-pipelines.yml"
                | "azure-pipelines.yml"
                | "Jenkinsfile"
        )
}

/// The environment a config file belongs to, from its repo-relative path: the file name first
/// (`values-staging.yaml`, `.env.production`, `application-dev.yml`, `docker-compose.test.yml`),
/// then its directories from the nearest up (`environments/qa/values.yaml`).
pub fn env_of_path(path: &str) -> Option<Env> {
    if is_ci_pipeline(path) {
        return None;
    }
    let mut parts = path.rsplit('/');
    let file = parts.next().unwrap_or("");
    env_in(file).or_else(|| parts.find_map(env_in))
}

/// Host patterns per environment from config (`environments: {production: ["*.prod.internal"]}`).
#[derive(Debug, Clone, Default)]
pub struct HostPatterns {
    sets: Vec<(Env, GlobSet)>,
}

impl HostPatterns {
    /// Compiles the patterns; a bad glob is an error naming it.
    pub fn new(entries: &[(Env, Vec<String>)]) -> Result<Self, String> {
        let mut sets = Vec::new();
        for (env, globs) in entries {
            let mut b = GlobSetBuilder::new();
            for g in globs {
                let glob = GlobBuilder::new(&g.to_ascii_lowercase())
                    .literal_separator(false)
                    .build()
                    .map_err(|e| format!("bad host pattern `{g}`: {e}"))?;
                b.add(glob);
            }
            sets.push((*env, b.build().map_err(|e| e.to_string())?));
        }
        Ok(HostPatterns { sets })
    }

    /// True when no patterns are configured.
    pub fn is_empty(&self) -> bool {
        self.sets.is_empty()
    }

    /// The environment of a host: configured patterns win; otherwise the host's name tokens
    /// (`prod-pg-cluster.internal` is production, `db.staging.internal` is staging).
    pub fn env_of_host(&self, host: &str) -> Option<Env> {
        let host = host.to_ascii_lowercase();
        // `cluster.local` is Kubernetes' cluster domain, not a "local" environment.
        let host = host
            .strip_suffix(".cluster.local")
            .map(str::to_string)
            .unwrap_or(host);
        for (env, set) in &self.sets {
            if set.is_match(&host) {
                return Some(*env);
            }
        }
        env_in(&host)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_and_directories_name_environments() {
        let cases = [
            ("charts/storefront/values-staging.yaml", Some(Env::Staging)),
            (
                "charts/storefront/values-production.yaml",
                Some(Env::Production),
            ),
            ("environments/qa/values.yaml", Some(Env::Qa)),
            (".env.production", Some(Env::Production)),
            ("config/application-dev.yml", Some(Env::Dev)),
            ("docker-compose.test.yml", Some(Env::Test)),
            ("deploy/prod/app.yaml", Some(Env::Production)),
            ("charts/storefront/values.yaml", None),
            ("products/values.yaml", None),
            ("values-pre-prod.yaml", Some(Env::Staging)),
            ("deploy/PRE_PRODUCTION/values.yaml", Some(Env::Staging)),
            ("deploy/pre/values-qa.yaml", Some(Env::Qa)),
            ("Deploy/Prod2/values.yaml", Some(Env::Production)),
            ("deploy/productionreadiness/values.yaml", None),
            (
                "deploy/averyveryverylongdirectoryname/values-uat.yaml",
                Some(Env::Qa),
            ),
            (".gitlab-ci.yml", None),
            (".github/workflows/ci.yml", None),
        ];
        for (path, want) in cases {
            assert_eq!(env_of_path(path), want, "{path}");
        }
    }

    #[test]
    fn host_tokens_and_configured_patterns() {
        let none = HostPatterns::default();
        assert_eq!(
            none.env_of_host("prod-pg-cluster.internal"),
            Some(Env::Production)
        );
        assert_eq!(none.env_of_host("pg.staging.internal"), Some(Env::Staging));
        assert_eq!(none.env_of_host("products-db.internal"), None);
        assert_eq!(
            none.env_of_host("db-prod1.acme.internal"),
            Some(Env::Production)
        );
        assert_eq!(
            none.env_of_host("storefront-pre-prod.acme.internal"),
            Some(Env::Staging)
        );
        assert_eq!(none.env_of_host("pg-rw.databases.svc.cluster.local"), None);
        let p =
            HostPatterns::new(&[(Env::Production, vec!["*.corp-east.internal".into()])]).unwrap();
        assert_eq!(
            p.env_of_host("PG1.corp-east.internal"),
            Some(Env::Production)
        );
    }
}
