//! Every bad/good example in `rules/*.yaml` runs through the engine: bad examples must produce
//! the rule's finding, good ones none. Documentation cannot drift from behaviour.

use premortem::engine::{self, Options};
use premortem::meta::{self, ExampleKind};

fn write(root: &std::path::Path, rel: &str, content: &str) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, content).unwrap();
}

#[test]
fn every_rule_file_parses() {
    for m in meta::all() {
        assert_ne!(m.id, "broken-metadata", "{}", m.summary);
        assert!(
            !m.summary.is_empty() && !m.rationale.is_empty() && !m.fix.is_empty(),
            "{}",
            m.id
        );
    }
}

#[test]
fn examples_behave_as_documented() {
    let mut checked = 0;
    for m in meta::all() {
        for (i, ex) in m.examples.iter().enumerate() {
            let dir = tempfile::tempdir().unwrap();
            std::fs::create_dir(dir.path().join(".git")).unwrap();
            write(dir.path(), &ex.path, &ex.content);
            for (p, c) in &ex.extra_files {
                write(dir.path(), p, c);
            }
            let out = engine::run(&Options {
                paths: vec![dir.path().to_path_buf()],
                ..Options::default()
            })
            .unwrap();
            let hits: Vec<_> = out.findings.iter().filter(|f| f.rule == m.id).collect();
            match ex.kind {
                ExampleKind::Bad => assert!(
                    !hits.is_empty(),
                    "{} bad example {i} ({}) produced no finding",
                    m.id,
                    ex.note
                ),
                ExampleKind::Good => assert!(
                    hits.is_empty(),
                    "{} good example {i} ({}) produced {:?}",
                    m.id,
                    ex.note,
                    hits
                ),
            }
            checked += 1;
        }
    }
    assert!(checked >= 12, "only {checked} examples ran");
}

#[test]
fn every_rule_with_logic_has_bad_and_good_examples() {
    for m in meta::all().iter().filter(|m| m.category != "diagnostics") {
        assert!(
            m.examples.iter().any(|e| e.kind == ExampleKind::Bad),
            "{} has no bad example",
            m.id
        );
        assert!(
            m.examples.iter().any(|e| e.kind == ExampleKind::Good),
            "{} has no good example",
            m.id
        );
    }
}
