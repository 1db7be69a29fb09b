//! The `cross-environment-target` rule: a config file that belongs to one environment points at
//! another environment's database. The exact shape of incident 001: `values-staging.yaml`
//! carrying the production DSN.

use crate::classify::FileKind;
use crate::env::Env;
use crate::finding::Diagnostic;
use crate::rules::{Cx, FileOut, Rule};
use crate::source::SourceFile;
use crate::syntax::dsn::HostClass;
use crate::targets::Form;

pub struct CrossEnvironmentTarget;

impl Rule for CrossEnvironmentTarget {
    fn id(&self) -> &'static str {
        "cross-environment-target"
    }

    fn wants(&self, kind: FileKind, path: &str) -> bool {
        kind.is_config() && crate::env::env_of_path(path).is_some()
    }

    fn check_file(&self, file: &SourceFile, cx: &Cx, out: &mut FileOut) {
        let Some(file_env) = file.env else { return };
        let targets = file.targets();
        out.secrets.extend(targets.secrets.iter().cloned());
        for t in &targets.items {
            if t.host_class != HostClass::Remote {
                continue;
            }
            let Some(target_env) = cx
                .config
                .environments
                .env_of_host(crate::targets::host_only(&t.host))
            else {
                continue;
            };
            let crosses = (file_env != Env::Production && target_env == Env::Production)
                || (file_env == Env::Production && target_env != Env::Production);
            if !crosses {
                continue;
            }
            let what = match t.form {
                Form::Dsn => format!("{} connection string", t.scheme),
                Form::Split => "database host".into(),
                Form::Host => format!("`{}` host", t.key_path),
            };
            let message = format!(
                "{} config points at a {} database: {what} targets `{}` ({})",
                file_env.as_str(),
                target_env.as_str(),
                t.host,
                if t.key_path.is_empty() {
                    t.masked.clone()
                } else {
                    format!("at `{}`", t.key_path)
                },
            );
            let help = format!(
                "a {f} file must point at {f} only: replace the {t} target with the {f} one, ideally through a secret reference that only resolves in {f} (e.g. `existingSecret: app-{f}-db`), so a copied value fails instead of connecting",
                f = file_env.as_str(),
                t = target_env.as_str(),
            );
            out.diags.push(
                Diagnostic::new(self.id(), &file.path, t.span.clone(), message)
                    .help(help)
                    .identity(format!("{}|{}", t.key_path, t.host)),
            );
        }
    }
}
