//! What a host name points at, and whether a password is written out or only referred to.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::{Credential, HostClass};

/// Names that always mean this machine (or the machine running the containers).
const LOOPBACK_NAMES: &[&str] = &[
    "localhost",
    "localhost.localdomain",
    "ip6-localhost",
    "ip6-loopback",
    "host.docker.internal",
    "host.containers.internal",
    "gateway.docker.internal",
    "docker.for.mac.localhost",
    ".",
    "(local)",
];

/// RFC 2606 second-level documentation domains.
const RESERVED_DOMAINS: &[&str] = &["example.com", "example.net", "example.org"];

/// RFC 2606 / RFC 6761 reserved top-level names.
const RESERVED_TLDS: &[&str] = &["example", "test", "invalid", "localhost"];

/// Words that stand in for a password in docs, templates and redacted copies.
const PLACEHOLDER_WORDS: &[&str] = &[
    "redacted",
    "changeme",
    "change_me",
    "change-me",
    "changeit",
    "password",
    "passwd",
    "placeholder",
    "replaceme",
    "replace_me",
    "replace-me",
    "todo",
    "tbd",
    "fixme",
    "masked",
    "hidden",
    "removed",
    "secret_here",
    "password_here",
];

/// Prefixes of encrypted or indirect values: SOPS, Jasypt, vals, Bank-Vaults, AWS, Azure,
/// 1Password, GCP, Spring Cloud Config, Ansible Vault, CloudFormation dynamic references.
const REFERENCE_PREFIXES: &[&str] = &[
    "enc[",
    "enc(",
    "ref+",
    "vault:",
    "arn:aws:secretsmanager:",
    "arn:aws:ssm:",
    "{{resolve:secretsmanager:",
    "{{resolve:ssm",
    "@microsoft.keyvault(",
    "op://",
    "sm://",
    "akv://",
    "{cipher}",
    "$ansible_vault;",
    "!vault",
];

/// Kubernetes and operator words that mark a value as a pointer to a secret.
const REFERENCE_WORDS: &[&str] = &[
    "secretkeyref",
    "secretref",
    "existingsecret",
    "externalsecret",
    "valuefrom",
];

/// What kind of target a host name is. Accepts the name as decoded from the string, with or
/// without IPv6 brackets.
pub fn classify_host(host: &str) -> HostClass {
    let h = host.trim();
    let h = h
        .strip_prefix('[')
        .and_then(|x| x.strip_suffix(']'))
        .unwrap_or(h);
    if h.is_empty() {
        return HostClass::UnixSocket;
    }
    if has_template(h) {
        return HostClass::Placeholder;
    }
    let lower = h.to_lowercase();
    if lower.starts_with('/') || lower.starts_with('@') || lower.starts_with("%2f") {
        return HostClass::UnixSocket;
    }
    let name = if lower.len() > 1 {
        lower.strip_suffix('.').unwrap_or(&lower)
    } else {
        &lower
    };
    if LOOPBACK_NAMES.contains(&name) || name.starts_with("(localdb)") {
        return HostClass::Loopback;
    }
    let without_zone = name.split('%').next().unwrap_or(name);
    if let Ok(ip) = without_zone.parse::<IpAddr>() {
        return classify_ip(ip);
    }
    let valid = !name.is_empty()
        && !name.starts_with('.')
        && !name.contains("..")
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '.' | '-' | '_'));
    if !valid || name.split('.').any(is_placeholder_label) {
        return HostClass::Placeholder;
    }
    // Kubernetes in-cluster service names (`pg-rw.db.svc.cluster.local`, `redis.cache.svc`) are
    // the long form of a single-label service name: they only resolve inside the cluster.
    if name.ends_with(".svc.cluster.local")
        || name.ends_with(".svc")
        || name.ends_with(".cluster.local")
    {
        return HostClass::SingleLabel;
    }
    if RESERVED_DOMAINS
        .iter()
        .any(|d| name == *d || name.strip_suffix(d).is_some_and(|p| p.ends_with('.')))
    {
        return HostClass::Reserved;
    }
    let tld = name.rsplit('.').next().unwrap_or(name);
    if name.contains('.') && RESERVED_TLDS.contains(&tld) {
        return HostClass::Reserved;
    }
    if !name.contains('.') {
        return HostClass::SingleLabel;
    }
    HostClass::Remote
}

fn classify_ip(ip: IpAddr) -> HostClass {
    match ip {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return classify_v4(v4);
            }
            if v6.is_loopback() || v6.is_unspecified() {
                HostClass::Loopback
            } else if is_documentation_v6(v6) {
                HostClass::Reserved
            } else {
                HostClass::Remote
            }
        }
    }
}

fn classify_v4(v4: Ipv4Addr) -> HostClass {
    let [a, b, c, _] = v4.octets();
    if v4.is_loopback() || v4.is_unspecified() {
        HostClass::Loopback
    } else if matches!((a, b, c), (192, 0, 2) | (198, 51, 100) | (203, 0, 113)) {
        HostClass::Reserved
    } else {
        HostClass::Remote
    }
}

/// `2001:db8::/32`, the IPv6 documentation prefix.
fn is_documentation_v6(v6: Ipv6Addr) -> bool {
    let s = v6.segments();
    s[0] == 0x2001 && s[1] == 0x0db8
}

/// A label no real host has: `your-db-host`, `xxxxxxxx`.
fn is_placeholder_label(label: &str) -> bool {
    label.starts_with("your") || (label.len() >= 3 && label.bytes().all(|c| c == b'x'))
}

/// Template syntax anywhere in the value: `${X}`, `$(X)`, `{{ x }}`, `#{x}`, `%(x)s`.
fn has_template(s: &str) -> bool {
    let b = s.as_bytes();
    (0..b.len()).any(|i| {
        matches!(b.get(i..i + 2), Some(b"${" | b"$(" | b"{{" | b"#{" | b"%("))
            && super::scan::template_end(b, i, b.len()).is_some()
    }) || whole_token(s)
}

/// Placeholder forms that only count as the whole value: `<password>`, `{password}`, `{0}`,
/// `$DB_PASSWORD`, `%DB_PASSWORD%`, `__DB_PASSWORD__`, `@db.password@`, `%s`.
fn whole_token(s: &str) -> bool {
    let ident = |t: &str, extra: &[u8]| {
        !t.is_empty()
            && t.bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'_' || extra.contains(&c))
    };
    let wrapped = |open: &str, close: &str| {
        s.len() > open.len() + close.len()
            && s.starts_with(open)
            && s.ends_with(close)
            && ident(&s[open.len()..s.len() - close.len()], b".- ")
    };
    let upper_var = s.strip_prefix('$').is_some_and(|t| {
        !t.is_empty()
            && t.bytes()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == b'_')
    });
    upper_var
        || wrapped("<", ">")
        || wrapped("%", "%")
        || wrapped("__", "__")
        || wrapped("@", "@")
        || s == "{}"
        || wrapped("{", "}")
        || matches!(s, "%s" | "%v" | "%q" | "?")
}

/// How a password value is written.
pub fn classify_credential(value: &str) -> Credential {
    let v = value.trim();
    if v.is_empty() {
        return Credential::Placeholder;
    }
    if is_reference(v) {
        return Credential::Reference;
    }
    if is_placeholder(v) {
        return Credential::Placeholder;
    }
    Credential::Literal
}

fn is_reference(v: &str) -> bool {
    let lower = v.to_ascii_lowercase();
    REFERENCE_PREFIXES.iter().any(|p| lower.starts_with(p))
        || REFERENCE_WORDS.iter().any(|w| lower.contains(w))
}

fn is_placeholder(v: &str) -> bool {
    if has_template(v) {
        return true;
    }
    let bare = v
        .trim_matches(|c: char| "[]<>*_-\"'(){} ".contains(c))
        .to_lowercase();
    if bare.is_empty() || PLACEHOLDER_WORDS.contains(&bare.as_str()) || bare.starts_with("your") {
        return true;
    }
    let mut chars = bare.chars();
    let first = chars.next();
    bare.chars().count() >= 3 && first.is_some_and(|f| "x.#?…".contains(f) && chars.all(|c| c == f))
}

/// True when a config value is a reference or placeholder rather than a literal: `${VAR}`,
/// `$(VAR)`, `{{ .Values.x }}`, `<password>`, `REDACTED`, `changeme`, `ENC[...]`,
/// `ref+vault://...`, `vault:...`, `arn:aws:secretsmanager:...`, `secretKeyRef`-like strings.
pub fn is_placeholder_or_reference(value: &str) -> bool {
    matches!(
        classify_credential(value),
        Credential::Placeholder | Credential::Reference
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use HostClass::*;

    #[test]
    fn hosts() {
        let cases: &[(&str, HostClass)] = &[
            ("prod-pg-cluster.internal", Remote),
            ("DB.Prod.Internal", Remote),
            ("10.1.2.3", Remote),
            ("2600:1f18::5", Remote),
            ("cluster0.abcde.mongodb.net", Remote),
            ("postgres.default.svc.cluster.local", SingleLabel),
            ("münchen.de", Remote),
            ("localhost", Loopback),
            ("LOCALHOST.", Loopback),
            ("127.0.0.1", Loopback),
            ("127.8.9.10", Loopback),
            ("0.0.0.0", Loopback),
            ("::1", Loopback),
            ("[::1]", Loopback),
            ("::ffff:127.0.0.1", Loopback),
            ("host.docker.internal", Loopback),
            ("(local)", Loopback),
            (".", Loopback),
            ("(localdb)\\mssqllocaldb", Loopback),
            ("", UnixSocket),
            ("/var/run/postgresql", UnixSocket),
            ("%2Fvar%2Flib%2Fpostgresql", UnixSocket),
            ("@abstract", UnixSocket),
            ("db", SingleLabel),
            ("postgres", SingleLabel),
            ("host1", SingleLabel),
            ("example.com", Reserved),
            ("mongodb0.example.com", Reserved),
            ("db.example.org", Reserved),
            ("db.example", Reserved),
            ("db.test", Reserved),
            ("db.invalid", Reserved),
            ("app.localhost", Reserved),
            ("2001:db8::1234", Reserved),
            ("[2001:db8::1]", Reserved),
            ("192.0.2.10", Reserved),
            ("198.51.100.7", Reserved),
            ("203.0.113.1", Reserved),
            ("<host>", Placeholder),
            ("${DB_HOST}", Placeholder),
            ("${DB_HOST:-localhost}", Placeholder),
            ("{{ .Values.db.host }}", Placeholder),
            ("$(DB_HOST)", Placeholder),
            ("%s", Placeholder),
            ("your-db-host.com", Placeholder),
            ("mydb.xxxxxxxx.us-east-1.rds.amazonaws.com", Placeholder),
            ("*.prod.internal", Placeholder),
            ("][netloc][", Placeholder),
            // near misses
            ("notexample.com", Remote),
            ("example.com.evil.io", Remote),
            ("testing.internal", Remote),
            ("localhost.prod.internal", Remote),
            ("192.0.3.1", Remote),
            ("2001:db9::1", Remote),
            ("xx.prod.internal", Remote),
        ];
        for (host, want) in cases {
            assert_eq!(classify_host(host), *want, "{host}");
        }
    }

    #[test]
    fn credentials() {
        use Credential::*;
        let cases: &[(&str, Credential)] = &[
            ("s3cr3t", Literal),
            ("secret", Literal),
            ("p@ss:w;rd", Literal),
            ("$ecretP4ss", Literal),
            ("Xk<9q>Lm", Literal),
            ("pass{word}x", Literal),
            ("password1", Literal),
            ("xx", Literal),
            ("", Placeholder),
            ("  ", Placeholder),
            ("${DB_PASSWORD}", Placeholder),
            ("pre${X}post", Placeholder),
            ("$(DB_PASSWORD)", Placeholder),
            ("{{ .Values.db.password }}", Placeholder),
            ("<password>", Placeholder),
            ("<your password>", Placeholder),
            ("REDACTED", Placeholder),
            ("[REDACTED]", Placeholder),
            ("**redacted**", Placeholder),
            ("changeme", Placeholder),
            ("ChangeIt", Placeholder),
            ("password", Placeholder),
            ("xxx", Placeholder),
            ("XXXXXXXX", Placeholder),
            ("****", Placeholder),
            ("...", Placeholder),
            ("%(password)s", Placeholder),
            ("%s", Placeholder),
            ("{}", Placeholder),
            ("{0}", Placeholder),
            ("{db_password}", Placeholder),
            ("$DB_PASSWORD", Placeholder),
            ("%DB_PASSWORD%", Placeholder),
            ("__DB_PASSWORD__", Placeholder),
            ("@db.password@", Placeholder),
            ("#{dbPassword}", Placeholder),
            ("yourStrong(!)Password", Placeholder),
            ("ENC[AES256_GCM,data:abc=,iv:x,tag:y,type:str]", Reference),
            ("ENC(G6N718UuyPE5bHyWKyuLQSm02auQPUtm)", Reference),
            ("ref+vault://secret/db#password", Reference),
            ("vault:secret/data/db#password", Reference),
            ("arn:aws:secretsmanager:us-east-1:123:secret:db", Reference),
            (
                "{{resolve:secretsmanager:db:SecretString:password}}",
                Reference,
            ),
            (
                "@Microsoft.KeyVault(SecretUri=https://v.vault.azure.net/secrets/db)",
                Reference,
            ),
            ("op://prod/db/password", Reference),
            ("{cipher}AQA3kf", Reference),
            ("secretKeyRef: {name: db}", Reference),
        ];
        for (value, want) in cases {
            assert_eq!(classify_credential(value), *want, "{value:?}");
        }
    }

    #[test]
    fn placeholder_or_reference() {
        assert!(is_placeholder_or_reference("${DB_HOST}"));
        assert!(is_placeholder_or_reference("ENC[abc]"));
        assert!(is_placeholder_or_reference("REDACTED"));
        assert!(!is_placeholder_or_reference("s3cr3t"));
        assert!(!is_placeholder_or_reference("db.prod.internal"));
    }
}
