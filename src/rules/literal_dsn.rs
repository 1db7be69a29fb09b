//! The `literal-dsn` rule: a connection string (or host + user + password fields) written
//! literally in config. A literal target resolves silently in the wrong environment; a secret
//! reference fails loudly (incident 001).

use crate::classify::FileKind;
use crate::finding::{Diagnostic, Severity};
use crate::rules::{Cx, FileOut, Rule};
use crate::source::SourceFile;
use crate::syntax::dsn::{Credential, HostClass};
use crate::targets::{Form, Target};

pub struct LiteralDsn;

impl Rule for LiteralDsn {
    fn id(&self) -> &'static str {
        "literal-dsn"
    }

    fn wants(&self, kind: FileKind, _path: &str) -> bool {
        kind.is_config()
    }

    fn check_file(&self, file: &SourceFile, cx: &Cx, out: &mut FileOut) {
        let targets = file.targets();
        out.secrets.extend(targets.secrets.iter().cloned());
        let allowed = cx.list("allow_hosts");
        for t in &targets.items {
            if t.form == Form::Host
                || allowed
                    .iter()
                    .any(|h| h.eq_ignore_ascii_case(crate::targets::host_only(&t.host)))
            {
                continue;
            }
            let literal_pw = t.credential == Credential::Literal;
            let severity = match t.host_class {
                HostClass::Remote if literal_pw => Severity::Error,
                // Example files show the shape of a target; only a real password is a finding there.
                HostClass::Remote if matches!(file.kind, FileKind::DotEnv { example: true }) => {
                    continue;
                }
                HostClass::Remote => Severity::Warning,
                // An in-cluster service name with a real password still leaks the password,
                // except in local compose stacks and throwaway environments.
                HostClass::SingleLabel
                    if literal_pw
                        && file.kind != FileKind::Compose
                        && !file.env.is_some_and(|e| e.is_throwaway()) =>
                {
                    Severity::Error
                }
                _ => continue,
            };
            let what = match t.form {
                Form::Split => format!(
                    "host `{}`, a user and a literal password are written in config",
                    t.host
                ),
                _ if literal_pw => format!(
                    "literal {} connection string with a password for `{}`: `{}`",
                    t.scheme, t.host, t.masked
                ),
                _ => format!(
                    "literal {} connection target `{}`: `{}`",
                    t.scheme, t.host, t.masked
                ),
            };
            let d = Diagnostic::new(self.id(), &file.path, t.span.clone(), what)
                .severity(severity)
                .help(help(file.kind, t))
                .identity(format!("{}|{}|{}", t.key_path, t.scheme, t.host));
            out.diags.push(d);
        }
    }
}

/// How to replace the literal with a reference, in the file's own language.
pub fn help(kind: FileKind, t: &Target) -> String {
    let key = if t.key_path.is_empty() {
        "DATABASE_URL"
    } else {
        t.key_path.rsplit('.').next().unwrap_or("url")
    };
    match kind {
        FileKind::HelmValues | FileKind::Yaml | FileKind::HelmTemplate => format!(
            "keep the connection string in a Kubernetes Secret and reference it, so a copied file fails loudly instead of reaching this host:\n\
             \x20 existingSecret: app-db            # for charts that support it\n\
             \x20 # or in the container spec:\n\
             \x20 env:\n\
             \x20   - name: DATABASE_URL\n\
             \x20     valueFrom:\n\
             \x20       secretKeyRef:\n\
             \x20         name: app-db\n\
             \x20         key: {key}"
        ),
        FileKind::Compose => "read it from the environment instead of writing it here: `DATABASE_URL: ${DATABASE_URL}` (set in an untracked .env file or by the deploy tool)".into(),
        FileKind::DotEnv { .. } => "keep real values out of the repository: commit a `.env.example` with placeholders (`DATABASE_URL=postgresql://app:${DB_PASSWORD}@db.internal:5432/app`) and load the real value from your secret manager at deploy time".into(),
        FileKind::Properties => "reference the environment instead: `spring.datasource.url=${DATABASE_URL}` (and `spring.datasource.password=${DB_PASSWORD}`)".into(),
        FileKind::Json => "remove it from the committed file and supply it at run time: an environment variable (`ConnectionStrings__Default`), user secrets in development, or a secret store reference".into(),
        FileKind::Tfvars => "read it from a secret store instead: `data \"aws_secretsmanager_secret_version\" \"db\" { secret_id = \"app/db\" }`, and mark the variable `sensitive = true`".into(),
        _ => "replace the literal with a reference to the environment or a secret store (`${DATABASE_URL}`)".into(),
    }
}
