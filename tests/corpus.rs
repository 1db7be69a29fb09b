//! Replays a corpus of hostile inputs through every parser and lexer premortem owns: the YAML
//! adapter, the `key = value` scanner in each dialect, the SQL lexer, statement splitter, item
//! parser and PL/pgSQL parser, the SQL-in-strings scanner, the `postgresql.conf` scanner, the
//! CODEOWNERS parser and matcher on both platforms, the connection-string parser, the
//! suppression parser, the test-source analysis of every language, and the whole-file path
//! (`SourceFile`'s tree, entries, targets and secrets) for every config kind, and every rule's
//! per-file check on config, SQL and `postgresql.conf` files.
//!
//! Inputs are the files under `tests/corpus/`, each also replayed with CRLF line ends and a
//! BOM, and cut in half; every one goes through every parser, not only the one it was written
//! for. Large inputs (256 KiB to 1 MiB) are generated here from small seeds, so the repository
//! stays small; each goes through the parser families it was written to stress. A run must not
//! panic, must return spans inside the text and on char boundaries, and the whole replay must
//! finish: a deadline turns a hang or a super-linear blow-up into a failure that names what was
//! running. Replays run on two threads.
//!
//! `cargo test --test corpus -- --nocapture` prints the counts. Environment switches for
//! working on a parser: `PREMORTEM_CORPUS_SLOW=<ms>` lists every run slower than that;
//! `PREMORTEM_CORPUS_TRACE=1` names each run as it starts and ends (for a run that aborts the
//! process, such as a stack overflow); `PREMORTEM_CORPUS_ONLY=<text>` and
//! `PREMORTEM_CORPUS_PARSER=<text>` keep the inputs and parsers whose name holds the text;
//! `PREMORTEM_CORPUS_ALL=1` sends generated inputs through every parser; and
//! `PREMORTEM_CORPUS_KB=<n>` sets the size of the generated inputs (1024 by default).

use std::ops::Range;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use premortem::classify::FileKind;
use premortem::config::{Config, RuleConfig};
use premortem::lang::{self, Lang};
use premortem::rules::disabled_integrity_safeguard::scan_conf;
use premortem::rules::{Cx, FileOut};
use premortem::source::SourceFile;
use premortem::suppress;
use premortem::syntax::codeowners::{self, Matcher, Platform};
use premortem::syntax::dsn;
use premortem::syntax::kv::{self, Dialect};
use premortem::syntax::sql::{self, migrations, plpgsql};
use premortem::syntax::yaml::{self, Node};

/// A hang guard, not a timing assertion: the replay takes seconds; only a hang or a
/// super-linear path on a large input comes near this.
const DEADLINE: Duration = Duration::from_secs(120);

/// One input: where it came from, and its text.
struct Input {
    name: String,
    /// The parser families it goes through besides `Text`; `None` for all of them.
    families: Option<Vec<Family>>,
    text: String,
}

/// A parser run on one input; it panics (with a message) when an invariant does not hold.
type Check = fn(&str);

/// Parsers of one kind of input. Committed files go through every parser; a large generated
/// input goes through the families it was written to stress, and through the suppression scan
/// that every file meets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Family {
    Yaml,
    Kv,
    Sql,
    Codeowners,
    Dsn,
    Py,
    /// JavaScript.
    Js,
    /// TypeScript and TSX.
    Ts,
    Rb,
    Go,
    Java,
    /// All the test-source languages.
    Code,
    /// The rules' per-file checks.
    Rules,
    /// Run on every input.
    Text,
}

impl Family {
    /// Whether an input meant for `families` goes through a parser of this family.
    fn in_list(self, families: &[Family]) -> bool {
        self == Text
            || families.contains(&self)
            || families.contains(&Code) && matches!(self, Py | Js | Ts | Rb | Go | Java)
    }
}
use Family::*;

fn in_bounds(text: &str, r: &Range<usize>) -> bool {
    r.start <= r.end
        && r.end <= text.len()
        && text.is_char_boundary(r.start)
        && text.is_char_boundary(r.end)
}

#[track_caller]
fn span_ok(text: &str, r: &Range<usize>, what: &str) {
    assert!(
        in_bounds(text, r),
        "{what} span {r:?} is not a char range of the text (len {})",
        text.len()
    );
}

// ---------------------------------------------------------------------------------------------
// The parsers.

fn yaml_parse(text: &str) {
    let stream = yaml::parse(text);
    for n in stream.docs.iter().flat_map(Node::descendants) {
        span_ok(text, &n.span(), "yaml node");
    }
    if let Some(e) = &stream.error {
        span_ok(text, &(e.offset..e.offset), "yaml error");
    }
    assert_eq!(
        yaml::validate(text),
        stream.error,
        "validate disagrees with parse"
    );
}

fn kv_scan(text: &str, dialect: Dialect) {
    for p in kv::scan(text, dialect) {
        span_ok(text, &p.key_span, "kv key");
        span_ok(text, &p.value_span, "kv value");
        assert_eq!(&text[p.key_span.clone()], p.key, "kv key text");
        assert_eq!(&text[p.value_span.clone()], p.value, "kv value text");
    }
}

/// The whole-file path: parse once, entries, targets and secrets, as the rules read them.
fn source_file(text: &str, path: &str, kind: FileKind) {
    let file = SourceFile::new(path, text.to_string(), kind);
    let text = file.text.as_str();
    if let Some(e) = file.yaml_error() {
        span_ok(text, &(e.offset..e.offset), "yaml error");
    }
    for e in file.entries() {
        span_ok(text, &e.value_span, "entry value");
        if let Some(k) = &e.key_span {
            span_ok(text, k, "entry key");
        }
        if e.exact {
            assert_eq!(&text[e.value_span.clone()], e.value, "exact entry value");
        }
    }
    for t in &file.targets().items {
        span_ok(text, &t.span, "target");
    }
    for s in file.secrets() {
        span_ok(text, &s, "secret");
    }
    // The tree, when the entries came from the key=value scanner.
    let _ = file.yaml();
}

fn sql_lex(text: &str) {
    let lexed = sql::lex(text);
    for t in &lexed.tokens {
        span_ok(text, &t.span, "sql token");
        span_ok(text, &t.content, "sql token content");
    }
    for e in &lexed.errors {
        span_ok(text, &e.span, "sql lex error");
    }
    for r in sql::statements(text, &lexed.tokens) {
        assert!(
            r.start <= r.end && r.end <= lexed.tokens.len(),
            "statement {r:?}"
        );
    }
}

fn sql_items(text: &str) {
    let (items, errors) = sql::items(text);
    for i in &items {
        span_ok(text, i.span(), "sql item");
        if let sql::Item::CreateFunction {
            body: Some(b),
            name_span,
            ..
        }
        | sql::Item::DoBlock {
            body: b,
            span: name_span,
            ..
        } = i
        {
            span_ok(text, name_span, "sql item name");
            span_ok(text, &b.span, "sql body");
            span_ok(text, &b.span_to_file(&(0..b.text.len())), "sql body mapped");
        }
    }
    for e in &errors {
        assert!(e.span.start <= e.span.end, "sql error {:?}", e.span);
    }
}

fn plpgsql_parse(text: &str) {
    let body = plpgsql::parse(text);
    let n = body.lexed.tokens.len();
    for r in plpgsql::simple_statements(&body.stmts) {
        assert!(
            r.start <= r.end && r.end <= n,
            "plpgsql statement {r:?} of {n} tokens"
        );
    }
    for r in migrations::down_sections(text) {
        span_ok(text, &r, "down section");
    }
}

fn sql_text(text: &str) {
    let _ = lang::sql_text::has_destructive_keyword(text.as_bytes());
    let _ = lang::sql_text::destructive_sql(text);
}

fn pg_conf(text: &str) {
    for s in scan_conf(text, 0, false) {
        span_ok(text, &s.span, "postgresql.conf setting");
    }
}

/// Paths to decide: fixed ones, and the first patterns of the file itself read as paths.
const PATHS: &[&str] = &[
    "README.md",
    "src/main.rs",
    "a/b/c/d/e/f/g/h/i/j/k/l/m/n/o/p/q/r/s/t/u/v/w/x/y/z.txt",
    ".github/workflows/ci.yml",
    "db/migrate/001_init.sql",
    "docs/[x].md",
    "é/ü/ø.txt",
    "**/x",
];

fn codeowners(text: &str, platform: Platform) {
    let co = codeowners::parse(text, platform);
    for r in &co.rules {
        span_ok(text, &r.pattern_span, "codeowners pattern");
        span_ok(text, &r.line_span, "codeowners line");
        for o in &r.owners {
            span_ok(text, &o.span, "codeowners owner");
        }
    }
    for s in &co.sections {
        span_ok(text, &s.span, "codeowners section");
        for o in &s.default_owners {
            span_ok(text, &o.span, "codeowners default owner");
        }
    }
    for i in &co.issues {
        span_ok(text, &i.span, "codeowners issue");
    }
    let matcher = Matcher::new(&co);
    let mut paths: Vec<String> = PATHS.iter().map(|p| p.to_string()).collect();
    paths.extend(co.rules.iter().take(4).map(|r| {
        r.pattern
            .trim_start_matches(['/', '!'])
            .chars()
            .take(4096)
            .collect()
    }));
    for p in &paths {
        for d in matcher.decide(p) {
            assert!(d.rule < co.rules.len(), "decision {d:?}");
            let _ = codeowners::effective_owners(&co, &d);
        }
    }
}

fn dsn_find(text: &str) {
    for d in dsn::find_dsns(text) {
        span_ok(text, &d.span, "dsn");
        for p in d.user.iter().chain(&d.password).chain(&d.secrets) {
            span_ok(text, &p.span, "dsn part");
        }
        for h in &d.hosts {
            span_ok(text, &h.span, "dsn host");
        }
        let _ = d.masked(text);
        let _ = d.display_host();
    }
    let _ = dsn::mask_secrets(text);
    let _ = dsn::classify_host(text);
    let _ = dsn::classify_credential(text);
    let _ = dsn::is_placeholder_or_reference(text);
}

fn suppressions(text: &str) {
    for s in suppress::scan(text) {
        span_ok(text, &s.span, "suppression");
        assert!(
            text[s.span.clone()].starts_with("premortem:"),
            "suppression span"
        );
        assert!(s.covers_to == s.line || s.covers_to == s.line + 1);
    }
}

/// Every built-in rule's per-file check, as the engine runs it, on the kinds that hold
/// connection strings, PostgreSQL settings and SQL.
fn rules(text: &str) {
    let config = Config::default();
    let kinds = [
        ("charts/db/values.yaml", FileKind::HelmValues),
        ("docker-compose.yml", FileKind::Compose),
        ("config/database.env", FileKind::DotEnv { example: false }),
        ("postgresql.conf", FileKind::PgConf),
        ("db/migrate/001_init.sql", FileKind::Sql),
    ];
    for (path, kind) in kinds {
        let file = SourceFile::new(path, text.to_string(), kind);
        for rule in premortem::rules::all() {
            let Some(meta) = premortem::meta::get(rule.id()) else {
                continue;
            };
            if !rule.wants(kind, path) {
                continue;
            }
            let cx = Cx {
                config: &config,
                meta,
                rule: RuleConfig::default(),
            };
            let mut out = FileOut::default();
            rule.check_file(&file, &cx, &mut out);
            for d in &out.diags {
                span_ok(&file.text, &d.span, rule.id());
            }
            for s in &out.secrets {
                span_ok(&file.text, s, "rule secret");
            }
        }
    }
}

/// Inputs up to this size are also analysed whole, unsliced, and the two results compared.
const SLICE_CHECK_BYTES: usize = 64 << 10;

fn analyze(text: &str, lang: Lang) {
    let sliced = lang::analyze(lang, text, &Default::default());
    if let Ok(a) = &sliced {
        for u in &a.unguarded {
            span_ok(text, &u.op.span, "destructive operation");
        }
    }
    if text.len() <= SLICE_CHECK_BYTES {
        let whole = lang::Context {
            keep_whole: true,
            ..Default::default()
        };
        assert_eq!(
            sliced,
            lang::analyze(lang, text, &whole),
            "slicing changed the {lang:?} analysis"
        );
    }
}

/// Every parser: its name, its family, whether large generated inputs of its family go through
/// it (a few whole-file kinds only repeat the path of another for them), and the run.
const PARSERS: &[(&str, Family, bool, Check)] = &[
    ("yaml", Yaml, true, yaml_parse),
    ("kv-dotenv", Kv, true, |t| kv_scan(t, Dialect::DotEnv)),
    ("kv-properties", Kv, true, |t| {
        kv_scan(t, Dialect::Properties)
    }),
    ("kv-ini", Kv, true, |t| kv_scan(t, Dialect::Ini)),
    ("kv-toml", Kv, true, |t| kv_scan(t, Dialect::Toml)),
    ("kv-tfvars", Kv, true, |t| kv_scan(t, Dialect::Tfvars)),
    ("file-helm-values", Yaml, true, |t| {
        source_file(t, "charts/db/values-prod.yaml", FileKind::HelmValues)
    }),
    ("file-json", Yaml, false, |t| {
        source_file(t, "config/database.json", FileKind::Json)
    }),
    ("file-helm-template", Dsn, true, |t| {
        source_file(t, "charts/db/templates/db.yaml", FileKind::HelmTemplate)
    }),
    ("file-dotenv", Kv, true, |t| {
        source_file(t, "database.env", FileKind::DotEnv { example: false })
    }),
    ("file-properties", Kv, false, |t| {
        source_file(t, "db.properties", FileKind::Properties)
    }),
    ("file-ini", Kv, false, |t| {
        source_file(t, "database.ini", FileKind::Ini)
    }),
    ("file-toml", Kv, false, |t| {
        source_file(t, "db.toml", FileKind::Toml)
    }),
    ("file-tfvars", Kv, false, |t| {
        source_file(t, "prod.tfvars", FileKind::Tfvars)
    }),
    ("pg-conf", Kv, true, pg_conf),
    ("sql-lex", Sql, true, sql_lex),
    ("sql-items", Sql, true, sql_items),
    ("plpgsql", Sql, true, plpgsql_parse),
    ("sql-text", Sql, true, sql_text),
    ("codeowners-github", Codeowners, true, |t| {
        codeowners(t, Platform::GitHub)
    }),
    ("codeowners-gitlab", Codeowners, true, |t| {
        codeowners(t, Platform::GitLab)
    }),
    ("dsn", Dsn, true, dsn_find),
    ("rules", Rules, true, rules),
    ("suppress", Text, true, suppressions),
    ("python", Py, true, |t| analyze(t, Lang::Python)),
    ("javascript", Js, true, |t| analyze(t, Lang::JavaScript)),
    ("typescript", Ts, true, |t| analyze(t, Lang::TypeScript)),
    ("tsx", Ts, true, |t| analyze(t, Lang::Tsx)),
    ("ruby", Rb, true, |t| analyze(t, Lang::Ruby)),
    ("go", Go, true, |t| analyze(t, Lang::Go)),
    ("java", Java, true, |t| analyze(t, Lang::Java)),
];

// ---------------------------------------------------------------------------------------------
// The inputs.

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus")
}

fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|e| e.expect("a directory entry").path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            files_under(&p, out);
        } else {
            out.push(p);
        }
    }
}

/// The committed files, each as written (invalid UTF-8 replaced, as a caller holding `&str`
/// would), with CRLF line ends and a BOM, and cut in half (which leaves quotes, comments and
/// blocks unterminated).
fn committed() -> Vec<Input> {
    let root = corpus_dir();
    let mut paths = Vec::new();
    files_under(&root, &mut paths);
    let mut out = Vec::new();
    for p in paths {
        let bytes = std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        let name = p
            .strip_prefix(&root)
            .unwrap_or(&p)
            .to_string_lossy()
            .replace('\\', "/");
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let crlf = format!(
            "\u{feff}{}",
            text.replace("\r\n", "\n").replace('\n', "\r\n")
        );
        let mut half = text.len() / 2;
        while !text.is_char_boundary(half) {
            half -= 1;
        }
        out.push(Input {
            name: format!("{name} (crlf+bom)"),
            families: None,
            text: crlf,
        });
        out.push(Input {
            name: format!("{name} (first half)"),
            families: None,
            text: text[..half].to_string(),
        });
        out.push(Input {
            name,
            families: None,
            text,
        });
    }
    out
}

/// `seed` repeated until the text is about `bytes` long.
fn repeat(seed: &str, bytes: usize) -> String {
    seed.repeat(bytes / seed.len().max(1) + 1)
}

/// `head`, then `seed` repeated to about `bytes`, then `tail`.
fn wrap(head: &str, seed: &str, bytes: usize, tail: &str) -> String {
    format!("{head}{}{tail}", repeat(seed, bytes))
}

/// Large inputs from small seeds, about 1 MiB each (`PREMORTEM_CORPUS_KB` changes that): what a
/// generated, corrupted or hostile file looks like at scale, each with the parser families it
/// stresses. tree-sitter's own error recovery is super-linear on some shapes (a deep parse stack
/// at a syntax error: `f(() => ` repeated, in Java), so code shapes that end in a syntax error
/// stay among the small committed files.
fn generated() -> Vec<Input> {
    let mb = std::env::var("PREMORTEM_CORPUS_KB")
        .ok()
        .and_then(|kb| kb.parse::<usize>().ok())
        .map_or(1 << 20, |kb| kb << 10);
    // Numbered lines until the text is about `bytes` long.
    let lines = |bytes: usize, f: &dyn Fn(usize) -> String| -> String {
        let mut out = String::new();
        let mut i = 0;
        while out.len() < bytes {
            out.push_str(&f(i));
            i += 1;
        }
        out
    };
    // Shapes dense in lines, keys or statements cost the whole-file paths and the test-source
    // analysis several seconds per MiB in a debug build; they are generated at a quarter size.
    let small = mb / 4;
    let v: Vec<(&str, &[Family], String)> = vec![
        // Line-shaped repetition: each parser's per-line cost, a few hundred thousand times.
        ("'- ' lines", &[Yaml], repeat("- \n", mb)),
        (
            "'- ' lines, small",
            &[Kv, Codeowners, Code],
            repeat("- \n", small),
        ),
        ("'a: ' lines", &[Yaml, Codeowners], repeat("a: \n", small)),
        ("'a: b' lines", &[Yaml, Kv], repeat("a: b\n", small)),
        ("'a=b' lines", &[Kv, Sql], repeat("a=b\n", small)),
        (
            "distinct keys",
            &[Kv],
            lines(small, &|i| format!("k{i} = v{i}\n")),
        ),
        (
            "'DB_HOST=' lines",
            &[Kv],
            repeat("DB_HOST=pg.prod.internal\n", small),
        ),
        (
            "'host:' mapping",
            &[Yaml, Rules],
            wrap("database:\n", "  host: pg.prod.internal\n", small, ""),
        ),
        (
            "name/value items",
            &[Yaml],
            repeat("- name: DB_HOST\n  value: pg.prod.internal\n", small),
        ),
        (
            "fsync env items",
            &[Yaml, Rules],
            repeat("- name: POSTGRESQL_FSYNC\n  value: \"off\"\n", small),
        ),
        (
            "'K=v' items",
            &[Yaml, Dsn],
            repeat("- DB_URL=postgres://u:p@h.prod.internal/db\n", small),
        ),
        (
            "blank lines",
            &[Yaml, Kv, Sql, Codeowners, Code],
            repeat("\n", small),
        ),
        ("CR only", &[Kv, Codeowners], repeat("a: b\r", small)),
        ("CRLF", &[Yaml, Kv], repeat("a=b\r\n", small)),
        (
            "NUL bytes",
            &[Yaml, Kv, Sql, Codeowners, Code],
            repeat("\0", small),
        ),
        ("non-ASCII", &[Yaml, Kv, Sql], repeat("é: ü\n", small)),
        ("BOMs", &[Yaml, Sql], repeat("\u{feff}", mb)),
        // Nesting.
        ("'[' x 1M", &[Yaml, Sql, Codeowners], repeat("[", mb)),
        ("'{a: ' x 65k", &[Yaml, Js], repeat("{a: ", small)),
        ("'- ' on one line", &[Yaml], repeat("- ", mb)),
        (
            "indented keys",
            &[Yaml, Kv],
            lines(small, &|i| format!("{}k{i}:\n", " ".repeat(i))),
        ),
        (
            "deep tfvars",
            &[Kv],
            wrap("", "a = {\n", small / 2, &"}\n".repeat(small / 4)),
        ),
        ("'}' lines", &[Kv, Ts], repeat("}\n", small)),
        (
            "'((' then '))'",
            &[Sql, Js],
            format!("{}{}", "(".repeat(small / 2), ")".repeat(small / 2)),
        ),
        // YAML specials.
        (
            "anchors",
            &[Yaml],
            lines(small, &|i| format!("k{i}: &a{i} v{i}\n")),
        ),
        (
            "aliases",
            &[Yaml, Rules],
            wrap(
                "a: &a postgres://u:p@h.prod.internal/db\nb:\n",
                "  - *a\n",
                mb,
                "",
            ),
        ),
        ("tags", &[Yaml], repeat("- !!str x\n", small)),
        ("documents", &[Yaml], repeat("---\na: 1\n", mb)),
        (
            "block scalar",
            &[Yaml, Kv, Rules],
            wrap("conf: |\n", "  fsync = off\n", small, ""),
        ),
        ("long key", &[Yaml, Kv], format!("{}: v\n", "k".repeat(mb))),
        // Unterminated constructs and giant single lines.
        (
            "open double quote",
            &[Yaml, Sql],
            wrap("a: \"", "x y ", mb, ""),
        ),
        (
            "open single quote",
            &[Kv, Sql],
            wrap("a = '", "x y ", mb, ""),
        ),
        (
            "open dollar quote",
            &[Sql],
            wrap("DO $$ BEGIN ", "x; ", mb, ""),
        ),
        (
            "open tagged dollar",
            &[Sql],
            wrap("CREATE FUNCTION f() RETURNS void AS $fn$ ", "$x$ ", mb, ""),
        ),
        ("'/*' x 500k", &[Sql], repeat("/*", mb)),
        ("'-' line", &[Sql], repeat("-", mb)),
        ("giant line", &[Kv, Codeowners], repeat("abc def ", mb)),
        ("quotes", &[Sql], repeat("\"'", mb)),
        ("backslashes", &[Sql, Codeowners], repeat("\\", mb)),
        (
            "open heredoc",
            &[Rb],
            wrap("x = <<~SQL\n", "TRUNCATE t;\n", mb, ""),
        ),
        (
            "open template",
            &[Js],
            wrap("const q = `", "${", small / 4, ""),
        ),
        // SQL.
        ("statements", &[Sql, Rules], repeat("DELETE FROM t;\n", mb)),
        (
            "functions",
            &[Sql],
            repeat(
                "CREATE FUNCTION f() RETURNS trigger AS $$ BEGIN IF x THEN DELETE FROM t; END IF; END $$ LANGUAGE plpgsql;\n",
                mb,
            ),
        ),
        ("'BEGIN' x 170k", &[Sql], repeat("BEGIN ", mb)),
        ("'IF x THEN' x 100k", &[Sql], repeat("IF x THEN ", mb)),
        ("'CASE' x 200k", &[Sql], repeat("CASE ", mb)),
        ("'LOOP' x 200k", &[Sql], repeat("LOOP ", mb)),
        ("'<<l>>' x 170k", &[Sql], repeat("<<l>> ", mb)),
        ("'#' directives", &[Sql], repeat("# x\n", mb)),
        (
            "COPY data",
            &[Sql],
            wrap("COPY t FROM stdin;\n", "1\t2\n", mb, ""),
        ),
        (
            "migrate markers",
            &[Sql],
            repeat("-- migrate:down\n-- migrate:up\n", mb),
        ),
        (
            "doubled quotes",
            &[Sql],
            wrap(
                "CREATE FUNCTION f() RETURNS void AS '",
                "''",
                mb,
                "' LANGUAGE plpgsql;",
            ),
        ),
        ("psql meta", &[Sql], repeat("\\set x 1\n", mb)),
        (
            "conf settings",
            &[Kv],
            lines(small, &|i| format!("p{i} = off\n")),
        ),
        // Code: many operations in one scope, and deep nesting.
        (
            "Python operations",
            &[Py],
            wrap(
                "def setup(conn):\n",
                "    conn.execute(\"TRUNCATE users\")\n",
                small,
                "",
            ),
        ),
        (
            "JavaScript operations",
            &[Js],
            wrap(
                "beforeEach(async () => {\n",
                "  await db.query('TRUNCATE users');\n",
                small,
                "});\n",
            ),
        ),
        (
            "Ruby operations",
            &[Rb],
            wrap(
                "before do\n",
                "  ActiveRecord::Base.connection.execute(\"TRUNCATE users\")\n",
                small,
                "end\n",
            ),
        ),
        (
            "Go operations",
            &[Go],
            wrap(
                "package x\nfunc TestMain(m *testing.M) {\n",
                "\tdb.Exec(\"TRUNCATE users\")\n",
                small,
                "}\n",
            ),
        ),
        (
            "Java operations",
            &[Java],
            wrap(
                "class T {\n  @BeforeEach void reset() {\n",
                "    jdbc.execute(\"TRUNCATE users\");\n",
                small,
                "  }\n}\n",
            ),
        ),
        (
            "nested defs",
            &[Py],
            lines(small, &|i| format!("{}def f{i}():\n", " ".repeat(i))),
        ),
        (
            "nested blocks",
            &[Java],
            format!(
                "{}TRUNCATE t{}",
                "function f() { if (x) { ".repeat(small / 48),
                "} }".repeat(small / 48)
            ),
        ),
        // CODEOWNERS.
        (
            "'**/' pattern",
            &[Codeowners],
            wrap("", "**/", mb, "x @o\n"),
        ),
        ("'*a' pattern", &[Codeowners], wrap("", "*a", mb, "b @o\n")),
        ("'[' pattern", &[Codeowners], wrap("", "[", mb, " @o\n")),
        ("'* @o' lines", &[Codeowners], repeat("* @o\n", small)),
        ("'**' lines", &[Codeowners], repeat("** @o\n", small)),
        (
            "distinct sections",
            &[Codeowners],
            lines(small, &|i| format!("[s{i}]\n* @o{i}\n")),
        ),
        ("same sections", &[Codeowners], repeat("[s]\n* @o\n", small)),
        (
            "exclusions",
            &[Codeowners],
            lines(small, &|i| format!("[s{i}]\n!*.md\n* @o\n")),
        ),
        ("many owners", &[Codeowners], wrap("* ", "@o ", mb, "\n")),
        ("'@' owner", &[Codeowners], wrap("* ", "@", mb, "\n")),
        // Connection strings.
        ("'@' in a URI", &[Dsn], wrap("postgres://", "@", mb, "h/db")),
        ("'://' x 350k", &[Dsn], repeat("://", mb)),
        (
            "percent escapes",
            &[Dsn],
            wrap("postgres://u:", "%41", mb, "@h.prod.internal/db"),
        ),
        (
            "bad percent",
            &[Dsn],
            wrap("postgres://u:p@", "%", mb, "/db"),
        ),
        (
            "many hosts",
            &[Dsn],
            wrap("postgres://u:p@", "h.prod.internal:5432,", mb, "/db"),
        ),
        ("'host=' x 150k", &[Dsn, Kv], repeat("host=h ", mb)),
        (
            "'host=' lines",
            &[Dsn],
            repeat("host=h.prod.internal port=5432 password=p\n", small),
        ),
        (
            "'Server=' run",
            &[Dsn],
            repeat("Server=h;Password=p;", small),
        ),
        ("data source", &[Dsn], repeat("Data Source=", mb)),
        ("'@tcp(' x 130k", &[Dsn], repeat("u:p@tcp(", small)),
        ("jdbc oracle", &[Dsn], repeat("jdbc:oracle:thin:u/p@", mb)),
        ("templates", &[Dsn], repeat("{{ .Values.host }}", small)),
        (
            "DSN lines",
            &[Yaml, Dsn, Rules],
            repeat(
                "url: postgresql://app:pw@pg-main.prod.internal:5432/app?sslmode=require\n",
                small,
            ),
        ),
        // Suppressions.
        (
            "huge rule list",
            &[],
            wrap("# premortem: ignore[", "rule-a, ", mb, "] why\n"),
        ),
        (
            "markers on a line",
            &[],
            wrap("# ", "premortem: ignore[x] ", mb, "\n"),
        ),
        (
            "open rule list",
            &[],
            wrap("# premortem: ignore[", "x", mb, "\n"),
        ),
        (
            "directive lines",
            &[Kv],
            repeat("x = 1 # premortem: ignore[literal-dsn] ok\n", small),
        ),
    ];
    v.into_iter()
        .map(|(name, families, text)| Input {
            name: format!("generated: {name}"),
            families: Some(families.to_vec()),
            text,
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// The replay.

/// What the replay found.
#[derive(Default)]
struct Tally {
    runs: usize,
    failures: Vec<String>,
    slow: Vec<(Duration, String)>,
}

/// Development switches, all off by default.
struct Knobs {
    /// Report runs slower than this.
    slow: Option<Duration>,
    /// Name each run as it starts, and its time when it ends.
    trace: bool,
    /// Only inputs whose name holds this text.
    only: String,
    /// Only parsers whose name holds this text.
    parser: String,
    /// Generated inputs go through every parser, not only their families'.
    all: bool,
}

impl Knobs {
    fn from_env() -> Knobs {
        let var = |k: &str| std::env::var(k).ok();
        Knobs {
            slow: var("PREMORTEM_CORPUS_SLOW")
                .and_then(|v| v.parse().ok())
                .map(Duration::from_millis),
            trace: var("PREMORTEM_CORPUS_TRACE").is_some(),
            only: var("PREMORTEM_CORPUS_ONLY").unwrap_or_default(),
            parser: var("PREMORTEM_CORPUS_PARSER").unwrap_or_default(),
            all: var("PREMORTEM_CORPUS_ALL").is_some(),
        }
    }
}

/// Every (input, parser) run the replay makes, in order.
fn jobs(inputs: &[Input], knobs: &Knobs) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    for (i, input) in inputs.iter().enumerate() {
        if !input.name.contains(&knobs.only) {
            continue;
        }
        for (p, (name, family, large, _)) in PARSERS.iter().enumerate() {
            let wanted = match &input.families {
                None => true,
                Some(_) if knobs.all => true,
                Some(fs) => *large && family.in_list(fs),
            };
            if wanted && name.contains(&knobs.parser) {
                out.push((i, p));
            }
        }
    }
    out
}

/// Runs `jobs` on `workers` threads; `now[w]` names what worker `w` is running.
fn replay(
    inputs: &[Input],
    jobs: &[(usize, usize)],
    workers: usize,
    now: &[Mutex<String>],
    knobs: &Knobs,
) -> Tally {
    let next = AtomicUsize::new(0);
    let tallies: Vec<Tally> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|w| {
                let next = &next;
                scope.spawn(move || {
                    let mut tally = Tally::default();
                    while let Some(&(i, p)) = jobs.get(next.fetch_add(1, Ordering::Relaxed)) {
                        let input = &inputs[i];
                        let (parser, _, _, check) = PARSERS[p];
                        let what =
                            format!("{parser} on {} ({} bytes)", input.name, input.text.len());
                        if knobs.trace {
                            eprintln!("run: {what}");
                        }
                        *now[w].lock().unwrap_or_else(|e| e.into_inner()) = what;
                        let started = Instant::now();
                        let result = catch_unwind(AssertUnwindSafe(|| check(&input.text)));
                        let took = started.elapsed();
                        if knobs.trace {
                            eprintln!("done: {took:>10.2?}  {parser} on {}", input.name);
                        }
                        tally.runs += 1;
                        if let Err(e) = result {
                            let msg = e
                                .downcast_ref::<String>()
                                .cloned()
                                .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                                .unwrap_or_default();
                            tally
                                .failures
                                .push(format!("{parser} on {}: {msg}", input.name));
                        }
                        if knobs.slow.is_some_and(|limit| took >= limit) {
                            tally
                                .slow
                                .push((took, format!("{parser} on {}", input.name)));
                        }
                    }
                    tally
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_default())
            .collect()
    });
    let mut tally = Tally::default();
    for t in tallies {
        tally.runs += t.runs;
        tally.failures.extend(t.failures);
        tally.slow.extend(t.slow);
    }
    tally
}

#[test]
fn corpus_replays_through_every_parser() {
    let knobs = Knobs::from_env();
    // Two workers at most: the replay shares the machine with the rest of the suite.
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get().min(2));
    let now: Arc<Vec<Mutex<String>>> = Arc::new(
        (0..workers)
            .map(|_| Mutex::new("building the inputs".to_string()))
            .collect(),
    );
    let worker_now = Arc::clone(&now);
    let (tx, rx) = mpsc::channel();
    let started = Instant::now();
    std::thread::spawn(move || {
        let mut inputs = committed();
        let files = inputs.len();
        inputs.extend(generated());
        let generated = inputs.len() - files;
        let jobs = jobs(&inputs, &knobs);
        let per_input = jobs
            .iter()
            .fold(vec![0usize; inputs.len()], |mut n, &(i, _)| {
                n[i] += 1;
                n
            });
        let generated_runs: usize = per_input[files..].iter().sum();
        // Panics are caught and reported per run; keep their default messages off stderr.
        let hook = std::panic::take_hook();
        std::panic::set_hook(Box::new(|_| {}));
        let tally = replay(&inputs, &jobs, workers, &worker_now, &knobs);
        std::panic::set_hook(hook);
        let bytes: usize = inputs[files..].iter().map(|i| i.text.len()).sum();
        let _ = tx.send((files, generated, generated_runs, bytes, tally));
    });
    let (files, generated, generated_runs, bytes, tally) = match rx.recv_timeout(DEADLINE) {
        Ok(done) => done,
        Err(_) => {
            let running: Vec<String> = now
                .iter()
                .map(|m| m.lock().unwrap_or_else(|e| e.into_inner()).clone())
                .collect();
            panic!(
                "the corpus replay did not finish within {DEADLINE:?}; it was running {}",
                running.join(" and ")
            )
        }
    };
    let mut slow = tally.slow;
    slow.sort_by_key(|s| std::cmp::Reverse(s.0));
    for (took, what) in &slow {
        eprintln!("slow: {took:>10.2?}  {what}");
    }
    eprintln!(
        "corpus: {files} committed inputs ({} files, each also with CRLF and a BOM, and cut in \
         half) through all {} parsers: {} runs; {generated} generated inputs ({:.1} MiB) \
         through their parsers: {generated_runs} runs; {} runs in all, on {workers} threads, \
         in {:.1?}",
        files / 3,
        PARSERS.len(),
        tally.runs - generated_runs,
        bytes as f64 / (1 << 20) as f64,
        tally.runs,
        started.elapsed()
    );
    assert!(
        tally.failures.is_empty(),
        "{} failing runs:\n{}",
        tally.failures.len(),
        tally.failures.join("\n")
    );
    assert!(tally.runs > 0, "no run was made");
}
