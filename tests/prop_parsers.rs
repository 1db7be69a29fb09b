//! Property tests for the YAML adapter, the `key = value` scanner, the suppression parser and the
//! connection-keyword prefilter: never a panic, every span in bounds and on char boundaries, and
//! the shortcuts agree with the full computation they stand in for.
//!
//! Each property counts the cases it ran and prints the count (`--nocapture` shows it).

use std::ops::Range;
use std::sync::atomic::{AtomicUsize, Ordering};

use premortem::classify::FileKind;
use premortem::source::SourceFile;
use premortem::suppress;
use premortem::syntax::kv::{self, Dialect};
use premortem::syntax::yaml::{self, Node};
use premortem::targets;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};

/// Runs `cases` cases of a property and checks that every one of them ran.
fn check<S: Strategy>(
    name: &str,
    cases: u32,
    strategy: S,
    property: impl Fn(S::Value) -> Result<(), TestCaseError>,
) {
    let ran = AtomicUsize::new(0);
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    runner
        .run(&strategy, |v| {
            ran.fetch_add(1, Ordering::Relaxed);
            property(v)
        })
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    let ran = ran.into_inner();
    eprintln!("property {name}: {ran} cases");
    assert!(ran >= cases as usize, "{name}: only {ran} cases ran");
}

fn in_bounds(text: &str, r: &Range<usize>) -> bool {
    r.start <= r.end
        && r.end <= text.len()
        && text.is_char_boundary(r.start)
        && text.is_char_boundary(r.end)
}

/// Text made of the pieces that steer a YAML scanner into its corners, plus arbitrary chars.
fn yamlish() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("\n".to_string()),
        Just("  ".to_string()),
        Just("- ".to_string()),
        Just(": ".to_string()),
        Just("? ".to_string()),
        Just("---\n".to_string()),
        Just("...\n".to_string()),
        Just("&a ".to_string()),
        Just("*a".to_string()),
        Just("!!str ".to_string()),
        Just("!tag ".to_string()),
        Just("[".to_string()),
        Just("]".to_string()),
        Just("{".to_string()),
        Just("}".to_string()),
        Just(", ".to_string()),
        Just("\"".to_string()),
        Just("'".to_string()),
        Just("\\".to_string()),
        Just("|\n".to_string()),
        Just(">-\n".to_string()),
        Just("# c\n".to_string()),
        Just("%YAML 1.2\n".to_string()),
        Just("\t".to_string()),
        Just("\r\n".to_string()),
        Just("\u{feff}".to_string()),
        Just("é".to_string()),
        Just("\u{1F600}".to_string()),
        Just("host".to_string()),
        Just("postgres://u:p@h.prod.internal/db".to_string()),
        "[a-z]{1,6}",
        any::<char>().prop_map(String::from),
    ];
    proptest::collection::vec(piece, 0..60).prop_map(|v| v.concat())
}

fn walk_spans(node: &Node, text: &str) -> Result<(), TestCaseError> {
    for n in node.descendants() {
        prop_assert!(in_bounds(text, &n.span()), "{:?} in {text:?}", n.span());
    }
    Ok(())
}

#[test]
fn yaml_parse_never_panics_keeps_spans_in_bounds_and_validate_agrees() {
    check("yaml-parse", 512, yamlish(), |text| {
        let stream = yaml::parse(&text);
        for d in &stream.docs {
            walk_spans(d, &text)?;
        }
        if let Some(e) = &stream.error {
            prop_assert!(e.offset <= text.len() && text.is_char_boundary(e.offset));
        }
        // The tree-less check reports exactly what the full parse reports.
        prop_assert_eq!(yaml::validate(&text), stream.error.clone());
        Ok(())
    });
}

#[test]
fn yaml_arbitrary_unicode_never_panics() {
    check("yaml-unicode", 256, any::<String>(), |text| {
        let stream = yaml::parse(&text);
        for d in &stream.docs {
            walk_spans(d, &text)?;
        }
        prop_assert_eq!(yaml::validate(&text), stream.error);
        Ok(())
    });
}

/// A block mapping of plain keys and values: each line stays at its level, opens a nested
/// mapping first, or closes one.
fn block_yaml() -> impl Strategy<Value = (String, Vec<(String, String)>)> {
    let line = (0u8..3, "[a-z][a-z0-9_]{0,8}", "[a-zA-Z][a-zA-Z0-9.-]{0,12}");
    proptest::collection::vec(line, 1..30).prop_map(|lines| {
        let mut text = String::new();
        let mut leaves = Vec::new();
        let mut depth = 0usize;
        for (i, (step, k, v)) in lines.into_iter().enumerate() {
            match step {
                1 if depth < 6 => {
                    text.push_str(&format!("{}m{i}:\n", "  ".repeat(depth)));
                    depth += 1;
                }
                2 => depth = depth.saturating_sub(1),
                _ => {}
            }
            let key = format!("{k}{i}");
            text.push_str(&format!("{}{key}: {v}\n", "  ".repeat(depth)));
            leaves.push((key, v));
        }
        (text, leaves)
    })
}

#[test]
fn yaml_plain_scalars_round_trip_through_their_spans() {
    check("yaml-round-trip", 256, block_yaml(), |(text, leaves)| {
        let stream = yaml::parse(&text);
        prop_assert!(stream.error.is_none(), "{:?}\n{text}", stream.error);
        let file = SourceFile::new("values.yaml", text.clone(), FileKind::HelmValues);
        let entries = file.entries();
        prop_assert_eq!(entries.len(), leaves.len());
        for (e, (k, v)) in entries.iter().zip(&leaves) {
            prop_assert_eq!(&e.key, k);
            prop_assert_eq!(&e.value, v);
            prop_assert!(e.exact);
            prop_assert_eq!(&text[e.value_span.clone()], v.as_str());
            prop_assert!(e.path.ends_with(k.as_str()));
        }
        Ok(())
    });
}

#[test]
fn yaml_entries_of_any_file_are_in_bounds() {
    check("yaml-entries", 256, yamlish(), |text| {
        let file = SourceFile::new("values.yaml", text, FileKind::HelmValues);
        for e in file.entries() {
            prop_assert!(in_bounds(&file.text, &e.value_span));
            if let Some(k) = &e.key_span {
                prop_assert!(in_bounds(&file.text, k));
            }
            if e.exact {
                prop_assert_eq!(&file.text[e.value_span.clone()], e.value.as_str());
            }
        }
        for t in &file.targets().items {
            prop_assert!(in_bounds(&file.text, &t.span));
        }
        for s in file.secrets() {
            prop_assert!(in_bounds(&file.text, &s));
        }
        Ok(())
    });
}

#[test]
fn yaml_nesting_at_any_depth_is_parsed_or_reported() {
    let depth = (1usize..1200, any::<bool>(), any::<bool>());
    check("yaml-depth", 64, depth, |(n, flow, map)| {
        let text = match (flow, map) {
            (true, false) => "[".repeat(n) + &"]".repeat(n),
            (true, true) => "{a: ".repeat(n) + "1" + &"}".repeat(n),
            (false, _) => (0..n)
                .map(|i| format!("{}k{i}:\n", " ".repeat(i)))
                .collect::<String>(),
        };
        let stream = yaml::parse(&text);
        if n > yaml::MAX_DEPTH {
            prop_assert!(stream.error.is_some(), "depth {n} accepted");
        }
        prop_assert_eq!(yaml::validate(&text), stream.error);
        Ok(())
    });
}

/// Line-oriented text for the `key = value` scanner.
fn kvish() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("\n".to_string()),
        Just("\r\n".to_string()),
        Just("=".to_string()),
        Just(":".to_string()),
        Just(" = ".to_string()),
        Just("export ".to_string()),
        Just("\"".to_string()),
        Just("'".to_string()),
        Just("[".to_string()),
        Just("]".to_string()),
        Just("{".to_string()),
        Just("}".to_string()),
        Just(" #".to_string()),
        Just("# c".to_string()),
        Just("! c".to_string()),
        Just("; c".to_string()),
        Just("// c".to_string()),
        Just(",".to_string()),
        Just("\t".to_string()),
        Just("é".to_string()),
        Just("\u{3000}".to_string()),
        "[A-Za-z_]{1,8}",
        any::<char>().prop_map(String::from),
    ];
    proptest::collection::vec(piece, 0..60).prop_map(|v| v.concat())
}

const DIALECTS: [Dialect; 5] = [
    Dialect::DotEnv,
    Dialect::Properties,
    Dialect::Ini,
    Dialect::Toml,
    Dialect::Tfvars,
];

#[test]
fn kv_scan_never_panics_and_spans_hold_what_they_say() {
    check("kv-scan", 512, kvish(), |text| {
        for d in DIALECTS {
            for p in kv::scan(&text, d) {
                prop_assert!(in_bounds(&text, &p.key_span), "{d:?} {text:?}");
                prop_assert!(in_bounds(&text, &p.value_span), "{d:?} {text:?}");
                prop_assert_eq!(&text[p.key_span.clone()], p.key.as_str());
                prop_assert_eq!(&text[p.value_span.clone()], p.value.as_str());
                prop_assert!(p.path.ends_with(p.key.as_str()));
            }
        }
        Ok(())
    });
}

#[test]
fn kv_dotenv_lines_come_back_as_written() {
    let line = (
        "[A-Z][A-Z0-9_]{0,10}",
        "[a-zA-Z0-9:/@._-]{0,20}",
        0usize..3,
        any::<bool>(),
    );
    check(
        "kv-dotenv",
        256,
        proptest::collection::vec(line, 1..20),
        |lines| {
            let mut text = String::new();
            for (i, (k, v, quote, crlf)) in lines.iter().enumerate() {
                let v = match quote {
                    0 => v.clone(),
                    1 => format!("\"{v}\""),
                    _ => format!("'{v}'"),
                };
                text.push_str(&format!("{k}{i}={v}{}", if *crlf { "\r\n" } else { "\n" }));
            }
            let pairs = kv::scan(&text, Dialect::DotEnv);
            prop_assert_eq!(pairs.len(), lines.len());
            for (i, (p, (k, v, _, _))) in pairs.iter().zip(&lines).enumerate() {
                prop_assert_eq!(&p.key, &format!("{k}{i}"));
                prop_assert_eq!(&p.value, v);
            }
            Ok(())
        },
    );
}

#[test]
fn kv_deep_tfvars_blocks_stay_linear() {
    check("kv-tfvars-depth", 32, 1usize..5000, |n| {
        let text = "a = {\n".repeat(n) + "host = \"x\"\n" + &"}\n".repeat(n);
        let pairs = kv::scan(&text, Dialect::Tfvars);
        prop_assert_eq!(pairs.len(), 1);
        prop_assert!(pairs[0].path.len() < 32 * 3 + 8, "{}", pairs[0].path.len());
        Ok(())
    });
}

/// Text with directives, near-misses and comment leaders in every position.
fn suppressionish() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("\n".to_string()),
        Just("\r\n".to_string()),
        Just("premortem:".to_string()),
        Just("premortem: ignore[".to_string()),
        Just("# premortem: ignore[literal-dsn] why".to_string()),
        Just("-- premortem: ignore[a, b]".to_string()),
        Just("]".to_string()),
        Just(",".to_string()),
        Just("#".to_string()),
        Just("//".to_string()),
        Just("--".to_string()),
        Just("/*".to_string()),
        Just("*/".to_string()),
        Just("<!--".to_string()),
        Just("-->".to_string()),
        Just(";".to_string()),
        Just("%".to_string()),
        Just(" ".to_string()),
        Just("é".to_string()),
        "[a-z-]{1,8}",
        any::<char>().prop_map(String::from),
    ];
    proptest::collection::vec(piece, 0..50).prop_map(|v| v.concat())
}

/// The suppression scanner as first written (one directive at a time, quadratic on long
/// lines): the linear one must agree with it wherever a line holds at most one directive.
fn reference_scan(text: &str) -> Vec<suppress::Suppression> {
    const LEADERS: &[&str] = &["#", "//", "--", "/*", ";", "<!--", "%"];
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(i) = text[from..].find("premortem:") {
        let at = from + i;
        from = at + "premortem:".len();
        let line_start = text[..at].rfind('\n').map_or(0, |p| p + 1);
        let line_end = text[at..].find('\n').map_or(text.len(), |p| at + p);
        let before = &text[line_start..at];
        let Some(leader_at) = LEADERS.iter().filter_map(|l| before.find(l)).min() else {
            continue;
        };
        let code_before = before[..leader_at].trim();
        let rest = text[at + "premortem:".len()..line_end].trim_start();
        let Some(rest) = rest.strip_prefix("ignore[") else {
            continue;
        };
        let Some(close) = rest.find(']') else {
            continue;
        };
        let line = text[..at].bytes().filter(|&b| b == b'\n').count() + 1;
        out.push(suppress::Suppression {
            line,
            covers_to: if code_before.is_empty() {
                line + 1
            } else {
                line
            },
            rules: rest[..close]
                .split(',')
                .map(|r| r.trim().to_string())
                .filter(|r| !r.is_empty())
                .collect(),
            reason: rest[close + 1..]
                .trim()
                .trim_end_matches("-->")
                .trim_end_matches("*/")
                .trim()
                .to_string(),
            span: at..text[..line_end].trim_end().len().max(at),
        });
    }
    out
}

#[test]
fn suppress_scan_never_panics_and_agrees_with_the_reference() {
    check("suppress-scan", 512, suppressionish(), |text| {
        let got = suppress::scan(&text);
        for s in &got {
            prop_assert!(in_bounds(&text, &s.span));
            prop_assert!(text[s.span.clone()].starts_with("premortem:"));
            let line = text[..s.span.start].matches('\n').count() + 1;
            prop_assert_eq!(s.line, line);
            prop_assert!(s.covers_to == s.line || s.covers_to == s.line + 1);
        }
        let one_per_line = text.lines().all(|l| l.matches("premortem:").count() <= 1);
        if one_per_line {
            prop_assert_eq!(got, reference_scan(&text));
        }
        Ok(())
    });
}

#[test]
fn suppress_scan_is_linear_on_one_long_line() {
    check("suppress-long-line", 16, 1usize..40_000, |n| {
        let text = "# ".to_string() + &"premortem: ignore[x".repeat(n);
        let started = std::time::Instant::now();
        prop_assert!(suppress::scan(&text).is_empty());
        prop_assert!(started.elapsed() < std::time::Duration::from_secs(5));
        Ok(())
    });
}

/// Config text built from connection-shaped fragments, for the prefilter property: short
/// structured lines (so a single trigger word often stands alone) or free-form soup.
fn configish() -> impl Strategy<Value = String> {
    let key = prop_oneof![
        Just("db"),
        Just("database"),
        Just("postgres"),
        Just("host"),
        Just("DB_HOST"),
        Just("DB_ENDPOINT"),
        Just("PG_END_POINT"),
        Just("endPoint"),
        Just("end_point"),
        Just("server"),
        Just("address"),
        Just("hostaddr"),
        Just("user"),
        Just("password"),
        Just("url"),
        Just("name"),
        Just("\"h\\u006fst\""),
    ];
    let value = prop_oneof![
        Just(""),
        Just("pg.prod.internal"),
        Just("db"),
        Just("app"),
        Just("S3cret-1"),
        Just("{end_point: pg.prod.internal}"),
        Just("{End-Point: pg.prod.internal}"),
        Just("postgresql://u:p@pg.prod.internal/db"),
        Just("\"postgresql:\\/\\/u:p@pg.prod.internal/db\""),
        Just("host=pg.prod.internal port=5432 user=u password=p"),
        Just("Data Source=pg.prod.internal;User Id=u;Password=p;"),
        Just("Data\n  Source = pg.prod.internal;User Id=u;Password=p;"),
        Just("\"\\x68ost=pg.prod.internal port=1 user=u\""),
    ];
    let sep = prop_oneof![Just(": "), Just("="), Just(" = ")];
    let line = (0usize..3, key, sep, value)
        .prop_map(|(indent, k, s, v)| format!("{}{k}{s}{v}\n", "  ".repeat(indent)));
    let structured = proptest::collection::vec(line, 1..6).prop_map(|v| v.concat());
    let piece = prop_oneof![
        Just("\n".to_string()),
        Just("  ".to_string()),
        Just(": ".to_string()),
        Just("=".to_string()),
        Just(";".to_string()),
        Just("\"".to_string()),
        Just("db".to_string()),
        Just("database".to_string()),
        Just("host".to_string()),
        Just("server".to_string()),
        Just("endPoint".to_string()),
        Just("data source".to_string()),
        Just("password".to_string()),
        Just("pg.prod.internal".to_string()),
        Just("postgresql://".to_string()),
        Just("port=5432 ".to_string()),
        Just("[database]\n".to_string()),
        "[a-z.]{1,8}",
    ];
    let soup = proptest::collection::vec(piece, 0..40).prop_map(|v| v.concat());
    // A database mapping with one host field spelled any way `key_is` accepts.
    let spelling = prop_oneof![
        Just("host"),
        Just("hostName"),
        Just("end_point"),
        Just("End-Point"),
        Just("end.point"),
        Just("endpoint"),
        Just("server"),
        Just("addr"),
        Just("host_addr"),
    ];
    let nested = (spelling, any::<bool>()).prop_map(|(k, flow)| {
        if flow {
            format!("db: {{\"{k}\": pg.prod.internal}}\n")
        } else {
            format!("database:\n  {k}: pg.prod.internal\n")
        }
    });
    prop_oneof![structured, soup, nested]
}

#[test]
fn prefilter_never_hides_a_target() {
    let kinds = prop_oneof![
        Just(("values-staging.yaml", FileKind::HelmValues)),
        Just(("config.json", FileKind::Json)),
        Just((".env.production", FileKind::DotEnv { example: false })),
        Just(("application.properties", FileKind::Properties)),
        Just(("app.toml", FileKind::Toml)),
        Just(("db.ini", FileKind::Ini)),
        Just(("prod.tfvars", FileKind::Tfvars)),
        Just(("templates/deploy.yaml", FileKind::HelmTemplate)),
    ];
    check(
        "prefilter",
        1024,
        (configish(), kinds),
        |(text, (path, kind))| {
            let file = SourceFile::new(path, text.clone(), kind);
            let full = targets::find(&file);
            if !targets::may_hold_target(&file.text) {
                prop_assert!(
                    full.items.is_empty(),
                    "prefilter said no, find said {:?}",
                    full.items
                );
            }
            prop_assert_eq!(file.targets().items.len(), full.items.len());
            prop_assert_eq!(file.secrets(), full.secrets);
            Ok(())
        },
    );
}
