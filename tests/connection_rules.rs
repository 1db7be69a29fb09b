//! `literal-dsn` and `cross-environment-target` across every format and scheme they read, with
//! the near misses that must stay quiet.

use premortem::engine::{self, Options};
use premortem::finding::{Finding, Severity};

fn check(files: &[(&str, &str)]) -> Vec<Finding> {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join(".git")).unwrap();
    for (rel, content) in files {
        let p = dir.path().join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, content).unwrap();
    }
    engine::run(&Options {
        paths: vec![dir.path().to_path_buf()],
        ..Options::default()
    })
    .unwrap()
    .findings
}

fn rules_of(findings: &[Finding], rule: &str) -> Vec<(Severity, String)> {
    findings
        .iter()
        .filter(|f| f.rule == rule)
        .map(|f| (f.severity, f.message.clone()))
        .collect()
}

const PW: &str = "Zx81-real-pass";

#[test]
fn every_scheme_is_found_in_a_values_file() {
    let schemes = [
        "postgres://app:Zx81-real-pass@pg.db.internal:5432/app",
        "postgresql://app:Zx81-real-pass@pg.db.internal/app",
        "mysql://app:Zx81-real-pass@mysql.db.internal:3306/app",
        "mariadb://app:Zx81-real-pass@maria.db.internal/app",
        "mongodb://app:Zx81-real-pass@mongo1.db.internal:27017,mongo2.db.internal:27017/app",
        "mongodb+srv://app:Zx81-real-pass@cluster0.db.internal/app",
        "redis://:Zx81-real-pass@cache.db.internal:6379/0",
        "rediss://default:Zx81-real-pass@cache.db.internal:6380",
        "amqp://app:Zx81-real-pass@mq.db.internal:5672/vhost",
        "amqps://app:Zx81-real-pass@mq.db.internal:5671",
        "mssql://app:Zx81-real-pass@sql.db.internal:1433/app",
        "sqlserver://app:Zx81-real-pass@sql.db.internal:1433",
        "clickhouse://app:Zx81-real-pass@ch.db.internal:9000/app",
        "cockroachdb://app:Zx81-real-pass@crdb.db.internal:26257/app",
        "jdbc:postgresql://pg.db.internal:5432/app?user=app&password=Zx81-real-pass",
        "jdbc:mysql://mysql.db.internal:3306/app?user=app&password=Zx81-real-pass",
        "postgresql+psycopg2://app:Zx81-real-pass@pg.db.internal/app",
        "mysql+pymysql://app:Zx81-real-pass@mysql.db.internal/app",
        "host=pg.db.internal port=5432 dbname=app user=app password=Zx81-real-pass",
    ];
    for dsn in schemes {
        let f = check(&[(
            "charts/app/values.yaml",
            &format!("db:\n  url: \"{dsn}\"\n"),
        )]);
        let hits = rules_of(&f, "literal-dsn");
        assert_eq!(hits.len(), 1, "{dsn}: {f:?}");
        assert_eq!(hits[0].0, Severity::Error, "{dsn}");
        assert!(
            hits[0].1.contains(".db.internal"),
            "names the host: {}",
            hits[0].1
        );
        assert!(!format!("{f:?}").contains(PW), "{dsn} leaked");
    }
}

#[test]
fn every_config_format_is_read() {
    let dsn = "postgresql://app:Zx81-real-pass@pg.db.internal:5432/app";
    let cases: Vec<(&str, String)> = vec![
        ("charts/app/values.yaml", format!("a:\n  b:\n    - c: {dsn}\n")),
        ("charts/app/values.yaml", format!("conf: |\n  [db]\n  url = {dsn}\n")),
        ("charts/app/values.yaml", format!("db: {{url: \"{dsn}\", pool: 5}}\n")),
        ("k8s/app.yaml", format!("kind: ConfigMap\n---\nkind: Secret\nstringData:\n  DATABASE_URL: {dsn}\n")),
        ("charts/app/values.yaml", format!("base: &db {dsn}\napp:\n  url: *db\n")),
        ("docker-compose.yml", format!("services:\n  api:\n    environment:\n      - DATABASE_URL={dsn}\n")),
        (".env", format!("DATABASE_URL={dsn}\n")),
        ("src/main/resources/application.properties", format!("spring.datasource.url={dsn}\n")),
        ("config/application-prod.yml", format!("spring:\n  datasource:\n    url: {dsn}\n")),
        ("config/app.json", format!("{{\"db\": {{\"url\": \"{dsn}\"}}}}\n")),
        ("config/app.toml", format!("[database]\nurl = \"{dsn}\"\n")),
        ("config/app.ini", format!("[database]\nurl = {dsn}\n")),
        ("infra/app.tfvars", format!("db = {{\n  url = \"{dsn}\"\n}}\n")),
        ("appsettings.json", "{\"ConnectionStrings\": {\"Default\": \"Server=sql.db.internal;Database=app;User Id=app;Password=Zx81-real-pass;\"}}\n".to_string()),
        ("charts/app/templates/secret.yaml", format!("stringData:\n  url: {dsn}\n  name: {{{{ .Release.Name }}}}\n")),
    ];
    for (path, content) in &cases {
        let f = check(&[(path, content)]);
        let hits = rules_of(&f, "literal-dsn");
        assert_eq!(hits.len(), 1, "{path}:\n{content}\n{f:#?}");
        assert!(!format!("{f:?}").contains(PW), "{path} leaked");
        let snippet = &f
            .iter()
            .find(|x| x.rule == "literal-dsn")
            .unwrap()
            .snippet
            .as_ref()
            .unwrap()
            .text;
        assert!(
            snippet.contains("****"),
            "{path}: snippet not masked: {snippet}"
        );
    }
}

#[test]
fn split_fields_with_a_literal_password() {
    let f = check(&[(
        "charts/app/values.yaml",
        "externalDatabase:\n  host: pg-main.db.internal\n  user: app\n  password: Zx81-real-pass\n",
    )]);
    let hits = rules_of(&f, "literal-dsn");
    assert_eq!(hits.len(), 1, "{f:?}");
    assert_eq!(hits[0].0, Severity::Error);
    let f = check(&[(
        ".env.production",
        "DB_HOST=pg-main.db.internal\nDB_USER=app\nDB_PASSWORD=Zx81-real-pass\n",
    )]);
    assert_eq!(rules_of(&f, "literal-dsn").len(), 1, "{f:?}");
}

#[test]
fn a_literal_target_without_a_password_is_a_warning() {
    let f = check(&[(
        "charts/app/values.yaml",
        "db:\n  url: postgresql://app@pg-main.db.internal:5432/app\n",
    )]);
    assert_eq!(
        rules_of(&f, "literal-dsn"),
        vec![(Severity::Warning, rules_of(&f, "literal-dsn")[0].1.clone())]
    );
    let f = check(&[(
        "charts/app/values.yaml",
        "db:\n  url: postgresql://storefront_app:REDACTED@prod-pg-cluster.internal:5432/storefront\n",
    )]);
    assert_eq!(rules_of(&f, "literal-dsn")[0].0, Severity::Warning, "{f:?}");
}

#[test]
fn near_misses_stay_quiet() {
    let quiet: &[(&str, &str)] = &[
        (
            "charts/app/values.yaml",
            "# example: postgresql://user:<password>@db.internal:5432/app\ndb:\n  existingSecret: app-db\n",
        ),
        (
            "charts/app/values.yaml",
            "db:\n  url: postgresql://app:app@localhost:5432/app\n  cache: redis://127.0.0.1:6379\n  v6: postgresql://app:x@[::1]/app\n",
        ),
        (
            "docker-compose.yml",
            "services:\n  api:\n    environment:\n      DATABASE_URL: postgres://app:devpass@db:5432/app\n",
        ),
        (
            "charts/app/values.yaml",
            "db:\n  url: ${DATABASE_URL}\n  url2: $(DATABASE_URL)\n",
        ),
        (
            "charts/app/values.yaml",
            "db:\n  url: \"{{ .Values.db.url }}\"\n",
        ),
        (
            "charts/app/values.yaml",
            "postgresql:\n  auth:\n    existingSecret: pg-auth\n  host: pg-main.db.internal\n",
        ),
        (
            "k8s/deploy.yaml",
            "env:\n  - name: DATABASE_URL\n    valueFrom:\n      secretKeyRef:\n        name: app-db\n        key: url\n",
        ),
        (
            "charts/app/values.yaml",
            "db:\n  url: postgresql://app:${DB_PASSWORD}@{{ .Values.host }}/app\n",
        ),
        (
            "charts/app/values.yaml",
            "db:\n  url: ENC[AES256_GCM,data:abc,iv:def,tag:ghi,type:str]\n  pw: ref+vault://secret/db#password\n  arn: arn:aws:secretsmanager:eu-west-1:123:secret:db\n",
        ),
        (
            "charts/app/values.yaml",
            "db:\n  url: postgresql://app:Zx81-real-pass@db.example.com/app\n  t: mysql://a:b@mysql.test/x\n",
        ),
        (
            "docs/setup.md",
            "Connect with postgresql://app:Zx81-real-pass@pg-main.db.internal/app\n",
        ),
        (
            "charts/app/values.yaml",
            "ingress:\n  host: shop.acme-prod.com\n",
        ),
        (
            ".env.example",
            "DATABASE_URL=postgresql://app:<password>@db.internal:5432/app\n",
        ),
        (
            "charts/app/values.yaml",
            "redis:\n  url: redis://default:<password>@<host>:6379/0\n",
        ),
    ];
    for (path, content) in quiet {
        let f = check(&[(path, content)]);
        let noisy: Vec<_> = f
            .iter()
            .filter(|x| x.rule == "literal-dsn" || x.rule == "cross-environment-target")
            .collect();
        assert!(noisy.is_empty(), "{path}:\n{content}\n{noisy:#?}");
    }
}

#[test]
fn cross_environment_targets() {
    let dsn = "postgresql://storefront_app:REDACTED@prod-pg-cluster.internal:5432/storefront";
    let bad: Vec<(&str, String, &str)> = vec![
        (
            "charts/storefront/values-staging.yaml",
            format!("postgres:\n  dsn: {dsn}\n"),
            "staging",
        ),
        (
            "environments/qa/values.yaml",
            "database:\n  host: pg.prod.internal\n".into(),
            "qa",
        ),
        (
            ".env.production",
            "DATABASE_URL=postgresql://app@pg.staging.internal/app\n".into(),
            "production",
        ),
        (
            "config/application-dev.yml",
            "spring:\n  datasource:\n    url: jdbc:postgresql://prod-db.internal:5432/app\n".into(),
            "dev",
        ),
    ];
    for (path, content, env) in &bad {
        let f = check(&[(path, content)]);
        let hits = rules_of(&f, "cross-environment-target");
        assert_eq!(hits.len(), 1, "{path}: {f:#?}");
        assert!(
            hits[0].1.starts_with(&format!("{env} config points at")),
            "{}",
            hits[0].1
        );
    }
    let good: Vec<(&str, String)> = vec![
        (
            "charts/storefront/values-staging.yaml",
            "postgres:\n  host: staging-pg.staging.internal\n".into(),
        ),
        (
            "charts/storefront/values-production.yaml",
            format!("postgres:\n  dsn: {dsn}\n"),
        ),
        (
            "charts/storefront/values.yaml",
            format!("postgres:\n  dsn: {dsn}\n"),
        ),
        (
            "charts/storefront/values-staging.yaml",
            "postgres:\n  host: products-db.internal\n".into(),
        ),
    ];
    for (path, content) in &good {
        let f = check(&[(path, content)]);
        assert!(
            rules_of(&f, "cross-environment-target").is_empty(),
            "{path}: {f:#?}"
        );
    }
}

#[test]
fn configured_environment_patterns_decide_hosts() {
    let config = "environments:\n  production: [\"*.corp-east.internal\"]\n";
    let f = check(&[
        (".premortem.yaml", config),
        (
            "values-staging.yaml",
            "db:\n  host: pg1.corp-east.internal\n",
        ),
    ]);
    assert_eq!(rules_of(&f, "cross-environment-target").len(), 1, "{f:#?}");
}
