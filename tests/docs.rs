//! `docs/rules/<id>.md` is generated from `rules/<id>.yaml`. This test regenerates every page in
//! memory and fails when a committed page is stale; `UPDATE_DOCS=1 cargo test --test docs`
//! rewrites them.

use premortem::cli::explain_text;
use premortem::meta;

#[test]
fn rule_docs_are_up_to_date() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/rules");
    let update = std::env::var_os("UPDATE_DOCS").is_some();
    let mut stale = Vec::new();
    for m in meta::all() {
        let want = explain_text(&m.id).unwrap();
        let path = dir.join(format!("{}.md", m.id));
        let have = std::fs::read_to_string(&path).unwrap_or_default();
        if have != want {
            if update {
                std::fs::create_dir_all(&dir).unwrap();
                std::fs::write(&path, &want).unwrap();
            } else {
                stale.push(m.id.clone());
            }
        }
    }
    assert!(
        stale.is_empty(),
        "stale docs for {stale:?}: run `UPDATE_DOCS=1 cargo test --test docs`"
    );
}
