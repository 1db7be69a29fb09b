//! Conformance tables from the GitHub and GitLab documentation, edge cases, a large-file run and
//! properties.

use super::*;
use proptest::prelude::*;

const GITHUB_EXAMPLE: &str = include_str!("../../../tests/data/codeowners/github-docs-example");
const GITLAB_EXAMPLE: &str = include_str!("../../../tests/data/codeowners/gitlab-docs-example");

/// GitHub: `None` when no line matches, otherwise the deciding line's owners.
fn gh_owners(co: &CodeOwners, m: &Matcher, path: &str) -> Option<Vec<String>> {
    let ds = m.decide(path);
    assert!(ds.len() <= 1, "GitHub decides at most once: {ds:?}");
    ds.first().map(|d| {
        assert_eq!(d.section, None);
        effective_owners(co, d)
            .iter()
            .map(|o| o.name.clone())
            .collect()
    })
}

fn names(owners: &[&str]) -> Vec<String> {
    owners.iter().map(|s| s.to_string()).collect()
}

/// GitLab: per deciding section, its name ("" before any header) and effective owners.
fn gl_owners(co: &CodeOwners, m: &Matcher, path: &str) -> Vec<(String, Vec<String>)> {
    m.decide(path)
        .iter()
        .map(|d| {
            let section = d
                .section
                .map_or(String::new(), |s| co.sections[s].name.clone());
            (
                section,
                effective_owners(co, d)
                    .iter()
                    .map(|o| o.name.clone())
                    .collect(),
            )
        })
        .collect()
}

fn messages(co: &CodeOwners) -> Vec<(usize, &str)> {
    co.issues
        .iter()
        .map(|i| (i.line, i.message.as_str()))
        .collect()
}

#[test]
fn github_single_pattern_vectors_b4() {
    // (pattern, path, matches); every row of the reference table B.4.
    for (pattern, path, want) in [
        ("*", "README.md", true),
        ("*", "a/b/c.txt", true),
        ("*.js", "index.js", true),
        ("*.js", "src/app/index.js", true),
        ("*.js", "src/app.jsx", false),
        ("/build/logs/", "build/logs/a.log", true),
        ("/build/logs/", "build/logs/2024/b.log", true),
        ("/build/logs/", "src/build/logs/a.log", false),
        ("docs/*", "docs/getting-started.md", true),
        ("docs/*", "docs/build-app/troubleshooting.md", false),
        ("docs/*", "src/docs/x.md", false),
        ("apps/", "apps/a.txt", true),
        ("apps/", "src/apps/a.txt", true),
        ("apps/", "x/y/apps/z/w.txt", true),
        ("/docs/", "docs/a.md", true),
        ("/docs/", "docs/a/b.md", true),
        ("/docs/", "src/docs/a.md", false),
        ("/scripts/", "scripts/deploy.sh", true),
        ("/scripts/", "scripts/ci/x.sh", true),
        ("/scripts/", "tools/scripts/x.sh", false),
        ("**/logs", "build/logs/a.log", true),
        ("**/logs", "scripts/logs/a.log", true),
        ("**/logs", "deeply/nested/logs/a.log", true),
        ("**/logs", "logs/a.log", true),
        // Exceptions: the line is skipped, so it matches nothing.
        ("!docs/", "docs/a.md", false),
        ("file[0-9].txt", "file1.txt", false),
        ("file[0-9].txt", "file[0-9].txt", false),
    ] {
        let co = parse(&format!("{pattern} @o\n"), Platform::GitHub);
        let m = Matcher::new(&co);
        let got = gh_owners(&co, &m, path);
        let want = want.then(|| names(&["@o"]));
        assert_eq!(got, want, "{pattern} vs {path}");
    }
}

/// gitignore-derived vectors consistent with GitHub's documented rules, as widely used
/// CODEOWNERS matchers pin them (`/*` and `foo/*` cover direct children only).
#[test]
fn github_gitignore_derived_vectors() {
    for (pattern, yes, no) in [
        (
            "foo",
            &["foo", "foo/bar", "bar/foo", "bar/foo/baz"][..],
            &["foo.txt", "bar/foo.txt", "bar/baz"][..],
        ),
        (
            "/foo",
            &["foo", "foo/bar", "foo/bar/baz"],
            &["fool.txt", "bar/foo", "bar/foo/baz"],
        ),
        (
            "foo/",
            &["foo/bar", "foo/bar/baz", "bar/foo/baz", "bar/foo/baz/qux"],
            &["foo", "bar/foo", "bar/baz"],
        ),
        (
            "/foo/",
            &["foo/bar", "foo/bar/baz"],
            &["foo", "bar/foo", "bar/foo/baz"],
        ),
        (
            "foo/bar",
            &["foo/bar", "foo/bar/baz"],
            &["foo/bart", "baz/foo/bar", "baz/foo/bar/qux"],
        ),
        (
            "foo/bar/",
            &["foo/bar/baz", "foo/bar/baz/qux"],
            &["foo/bar", "foo/bart", "baz/foo/bar/qux"],
        ),
        ("*", &["foo", "foo/bar", "bar/foo/baz", "xfoo"], &[]),
        (
            "f*",
            &["foo", "foo/bar", "bar/foo", "bar/foo/baz"],
            &["bar/baz", "xfoo"],
        ),
        ("/*", &["foo", "bar"], &["foo/bar", "foo/bar/baz"]),
        (
            "/f*",
            &["foo", "foo/bar", "foo/bar/baz"],
            &["bar/foo", "xfoo"],
        ),
        (
            "f*/",
            &["foo/bar", "bar/foo/baz"],
            &["foo", "bar/foo", "xfoo"],
        ),
        ("/*/", &["foo/bar", "bar/foo/baz"], &["foo"]),
        ("/f*/", &["foo/bar"], &["foo", "bar/foo", "bar/foo/baz"]),
        ("f\\*o", &["f*o"], &["foo"]),
        (
            "foo/*",
            &["foo/bar"],
            &["foo", "foo/bar/baz", "bar/foo", "bar/foo/baz"],
        ),
        (
            "foo/*.txt",
            &["foo/bar.txt"],
            &["foo", "foo/bar/baz.txt", "qux/foo/bar.txt"],
        ),
        (
            "foo/*/baz",
            &["foo/bar/baz", "foo/bar/baz/qux"],
            &["foo", "foo/bar", "foo/baz"],
        ),
        ("f?o", &["foo"], &["fo", "fooo"]),
        ("f\\?o", &["f?o"], &["foo"]),
        (
            "**/foo/bar",
            &["foo/bar", "qux/foo/bar", "qux/foo/bar/baz"],
            &["foo/baz/bar", "qux/foo/baz/bar"],
        ),
        (
            "**/*bar*",
            &["bar", "foo/bar", "foo/rebar", "foo/barrio", "foo/qux/bar"],
            &["foo/baz"],
        ),
        (
            "foo/bar/**",
            &["foo/bar/baz", "foo/bar/baz/qux"],
            &["foo/bar", "qux/foo/bar", "qux/foo/bar/baz"],
        ),
        (
            "foo/**/bar",
            &["foo/bar", "foo/bar/baz", "foo/qux/quux/bar/baz"],
            &["qux/foo/bar", "qux/foo/bar/baz"],
        ),
        ("foo/**/", &["foo/bar", "foo/bar/baz"], &["foo"]),
        (
            "foo/**/bar/b*",
            &["foo/bar/baz", "foo/qux/bar/baz"],
            &["foo/bar", "foo/bar/qux", "foo/qux/bar"],
        ),
    ] {
        let co = parse(&format!("{pattern} @o"), Platform::GitHub);
        assert!(co.issues.is_empty(), "{pattern}: {:?}", co.issues);
        let m = Matcher::new(&co);
        for path in yes {
            assert_eq!(m.decide(path).len(), 1, "{pattern} should match {path}");
        }
        for path in no {
            assert_eq!(m.decide(path), vec![], "{pattern} should not match {path}");
        }
    }
}

#[test]
fn github_whole_file_vectors_b5() {
    let co = parse(GITHUB_EXAMPLE, Platform::GitHub);
    assert_eq!(messages(&co), vec![], "the documented example is valid");
    assert_eq!(co.rules.len(), 12);
    let m = Matcher::new(&co);
    let global = ["@global-owner1", "@global-owner2"];
    for (path, line, owners) in [
        ("README.md", 1, &global[..]),
        ("src/index.js", 2, &["@js-owner"][..]),
        ("lib/util.go", 3, &["docs@example.com"][..]),
        ("notes.txt", 4, &["@octo-org/octocats"][..]),
        ("build/logs/app.log", 10, &["@octocat"][..]),
        ("docs/getting-started.md", 8, &["@doctocat"][..]),
        ("docs/build-app/troubleshooting.md", 8, &["@doctocat"][..]),
        ("docs/main.js", 8, &["@doctocat"][..]),
        ("src/docs/readme.md", 1, &global[..]),
        ("src/apps/main.c", 7, &["@octocat"][..]),
        ("apps/README.md", 11, &["@octocat"][..]),
        ("apps/github/x.rb", 12, &[][..]),
        ("scripts/deploy.sh", 9, &["@doctocat", "@octocat"][..]),
        ("scripts/logs/today.log", 10, &["@octocat"][..]),
        ("deeply/nested/logs/a.txt", 10, &["@octocat"][..]),
    ] {
        let ds = m.decide(path);
        assert_eq!(ds.len(), 1, "{path}");
        assert_eq!(co.rules[ds[0].rule].line, line, "{path}");
        assert_eq!(gh_owners(&co, &m, path), Some(names(owners)), "{path}");
    }
}

#[test]
fn github_documented_exceptions_b3() {
    let text = "* @a\n\\#foo @o\n!docs/ @o\nfile[0-9].txt @o\n";
    let co = parse(text, Platform::GitHub);
    let m = Matcher::new(&co);
    assert_eq!(co.rules.len(), 1, "only `*` is used");
    for path in ["#foo", "\\#foo", "docs/a.md", "file1.txt"] {
        assert_eq!(gh_owners(&co, &m, path), Some(names(&["@a"])), "{path}");
    }
    let lines: Vec<usize> = co.issues.iter().map(|i| i.line).collect();
    assert_eq!(lines, vec![2, 3, 4]);
    assert!(co.issues[0].message.contains("escaping a leading `#`"));
    assert!(
        co.issues[1]
            .message
            .contains("`!` negation is not supported")
    );
    assert!(co.issues[2].message.contains("`[ ]` character ranges"));
    assert_eq!(&text[co.issues[1].span.clone()], "!docs/");
}

#[test]
fn github_no_owner_line_after_team_rule_unowns() {
    let text = "/config/ @acme/platform\n/config/generated.yml\n";
    let co = parse(text, Platform::GitHub);
    assert!(co.issues.is_empty());
    let m = Matcher::new(&co);
    assert_eq!(
        gh_owners(&co, &m, "config/app.yml"),
        Some(names(&["@acme/platform"]))
    );
    assert_eq!(
        gh_owners(&co, &m, "config/generated.yml"),
        Some(vec![]),
        "matched but un-owned"
    );
    assert_eq!(gh_owners(&co, &m, "other/app.yml"), None, "no rule matches");
}

#[test]
fn github_bot_and_email_owners() {
    let text = "/deploy/ @deploybot\n/ci/ @acme/sre @renovate-bot\n*.go docs@example.com\n";
    let co = parse(text, Platform::GitHub);
    assert!(co.issues.is_empty());
    let m = Matcher::new(&co);
    let check = |path: &str| -> Vec<(String, bool)> {
        let d = m.decide(path);
        effective_owners(&co, &d[0])
            .iter()
            .map(|o| (o.name.clone(), is_bot(&o.name, &[])))
            .collect()
    };
    assert_eq!(
        check("deploy/values.yaml"),
        vec![("@deploybot".to_string(), true)]
    );
    assert_eq!(
        check("ci/db.env"),
        vec![
            ("@acme/sre".to_string(), false),
            ("@renovate-bot".to_string(), true)
        ]
    );
    assert_eq!(
        check("cmd/main.go"),
        vec![("docs@example.com".to_string(), false)]
    );
}

#[test]
fn github_star_and_slash_shapes() {
    let text = "/docs/* @direct\n/src/**/config/ @cfg\nlogs/** @logs\n";
    let co = parse(text, Platform::GitHub);
    let m = Matcher::new(&co);
    for (path, want) in [
        ("docs/a.md", Some("@direct")),
        ("docs/nested/a.md", None),
        ("src/config/db.yml", Some("@cfg")),
        ("src/a/b/config/db.yml", Some("@cfg")),
        ("src/config", None),
        ("lib/src/config/db.yml", None),
        ("logs/a/b.log", Some("@logs")),
        ("logs", None),
        ("x/logs/a", None),
    ] {
        assert_eq!(
            gh_owners(&co, &m, path),
            want.map(|w| names(&[w])),
            "{path}"
        );
    }
}

#[test]
fn github_invalid_owners_skip_the_line() {
    let text = "* @base\n*.yml @ok user\n*.env @@maintainer\n*.toml @group/sub/sub\n*.ini @ok # @ignored\n";
    let co = parse(text, Platform::GitHub);
    let m = Matcher::new(&co);
    assert_eq!(
        gh_owners(&co, &m, "a.yml"),
        Some(names(&["@base"])),
        "line 2 is skipped whole"
    );
    assert_eq!(gh_owners(&co, &m, "a.env"), Some(names(&["@base"])));
    assert_eq!(gh_owners(&co, &m, "a.toml"), Some(names(&["@base"])));
    assert_eq!(
        gh_owners(&co, &m, "a.ini"),
        Some(names(&["@ok"])),
        "an inline comment is not an owner"
    );
    let got: Vec<(usize, &str)> = co
        .issues
        .iter()
        .map(|i| (i.line, &text[i.span.clone()]))
        .collect();
    assert_eq!(
        got,
        vec![(2, "user"), (3, "@@maintainer"), (4, "@group/sub/sub")]
    );
}

#[test]
fn github_reports_gitlab_only_syntax() {
    let text = "[Docs] @a\n^[Opt]\n[Team API][2]\n*.md @b\n[ab].txt @c\n";
    let co = parse(text, Platform::GitHub);
    assert_eq!(
        co.rules.len(),
        1,
        "GitHub reads the lines below a header as plain rules"
    );
    let got: Vec<(usize, &str)> = co
        .issues
        .iter()
        .map(|i| (i.line, &text[i.span.clone()]))
        .collect();
    assert_eq!(
        got,
        vec![
            (1, "[Docs]"),
            (2, "^[Opt]"),
            (3, "[Team API][2]"),
            (5, "[ab].txt")
        ]
    );
    assert!(
        co.issues[..3]
            .iter()
            .all(|i| i.message.contains("GitLab section header"))
    );
    assert!(
        co.issues[3].message.contains("character ranges"),
        "a bracket glob is not a header"
    );
}

#[test]
fn github_slash_only_pattern_is_reported() {
    let co = parse("/ @o\n", Platform::GitHub);
    assert!(co.rules.is_empty());
    assert!(co.issues[0].message.contains("never matches"));
}

#[test]
fn crlf_bom_tabs_and_trailing_spaces() {
    let text = "\u{feff}*\t@a  \r\n# comment\r\n  /src/\t\t@b @c   \r\n\r\n*.md @d";
    let co = parse(text, Platform::GitHub);
    assert!(co.issues.is_empty(), "{:?}", co.issues);
    let got: Vec<(usize, &str, Vec<&str>)> = co
        .rules
        .iter()
        .map(|r| {
            (
                r.line,
                &text[r.pattern_span.clone()],
                r.owners.iter().map(|o| &text[o.span.clone()]).collect(),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            (1, "*", vec!["@a"]),
            (3, "/src/", vec!["@b", "@c"]),
            (5, "*.md", vec!["@d"])
        ]
    );
    assert_eq!(
        co.rules[0].pattern_span.start, 3,
        "spans index the original text, after the BOM"
    );
    assert_eq!(&text[co.rules[1].line_span.clone()], "  /src/\t\t@b @c   ");
    let m = Matcher::new(&co);
    assert_eq!(gh_owners(&co, &m, "src/x.rs"), Some(names(&["@b", "@c"])));
}

#[test]
fn github_file_over_limit_is_not_loaded() {
    let mut text = String::from("* @a\n");
    while text.len() < GITHUB_MAX_BYTES {
        text.push_str("/some/long/path/to/a/file.txt @owner\n");
    }
    let co = parse(&text, Platform::GitHub);
    assert!(co.rules.is_empty());
    assert!(co.issues[0].message.contains("3 MB"));
    assert!(
        !parse(&text, Platform::GitLab).rules.is_empty(),
        "the limit is GitHub's"
    );
}

#[test]
fn gitlab_documentation_table() {
    let co = parse(GITLAB_EXAMPLE, Platform::GitLab);
    assert_eq!(messages(&co), vec![], "the documented example is valid");
    let m = Matcher::new(&co);
    let s = |name: &str, owners: &[&str]| (name.to_string(), names(owners));
    for (path, want) in [
        (
            "app/models/user.rb",
            vec![s("", &["@ruby-owner"]), s("Backend", &["@backend-team"])],
        ),
        (
            "app/config/x.rb",
            vec![s("", &["@ruby-owner"]), s("Backend", &["@backend-team"])],
        ),
        (
            "#file_with_pound.rb",
            vec![s("", &["@owner-file-with-pound"])],
        ),
        // `docs` (no trailing slash) in [Documentation] names a file, so it does not apply here.
        (
            "docs/index.md",
            vec![s("", &["@root-docs"]), s("Style Guide", &["@style-team"])],
        ),
        (
            "docs/projects/index.md",
            vec![s("", &["@root-docs"]), s("Style Guide", &["@style-team"])],
        ),
        ("docs/projects/img.png", vec![s("", &["@all-docs"])]),
        ("docs/img.png", vec![s("", &["@root-docs"])]),
        ("lib/a/b.rb", vec![s("", &["@lib-owner"])]),
        ("src/lib/x.py", vec![s("", &["@lib-owner"])]),
        (
            "config/app.yml",
            vec![s("", &["@config-owner"]), s("Roles", &["@@maintainer"])],
        ),
        (
            "config/db/database-setup.md",
            vec![
                s("", &["@config-owner"]),
                s("Database", &["@docs-team"]),
                s("Style Guide", &["@style-team"]),
                s("Roles", &["@@maintainer"]),
            ],
        ),
        (
            "model/db/schema.rb",
            vec![s("", &["@ruby-owner"]), s("Database", &["@database-team"])],
        ),
        ("path with spaces/a.txt", vec![s("", &["@space-owner"])]),
        (
            "ee/docs",
            vec![
                s("", &["@default-codeowner"]),
                s("Documentation", &["@docs"]),
            ],
        ),
        (
            "db/a/b/index.md",
            vec![s("", &["@index-docs"]), s("Style Guide", &["@style-team"])],
        ),
        ("LICENSE", vec![s("", &["@legal", "janedoe@gitlab.com"])]),
        (
            "sub/LICENSE",
            vec![s("", &["@legal", "janedoe@gitlab.com"])],
        ),
        (
            "README",
            vec![s("", &["@group", "@group/with-nested/subgroup"])],
        ),
        (
            "README.md",
            vec![
                s("", &["@default-codeowner"]),
                s("Style Guide", &["@style-team"]),
            ],
        ),
    ] {
        assert_eq!(gl_owners(&co, &m, path), want, "{path}");
    }
    let section = |name: &str| {
        co.sections
            .iter()
            .position(|s| s.name == name)
            .unwrap_or(usize::MAX)
    };
    assert!(co.section_optional(section("Style Guide")));
    assert!(!co.section_optional(section("Backend")));
    assert_eq!(co.section_approvals(section("Backend")), 2);
    assert_eq!(co.section_approvals(section("Database")), 1);
}

#[test]
fn gitlab_sections_decide_independently() {
    let text = "[A]\n*.rb @a1\n/app/ @a2\n[B] @b\n*.rb\n";
    let co = parse(text, Platform::GitLab);
    let m = Matcher::new(&co);
    assert_eq!(
        gl_owners(&co, &m, "app/x.rb"),
        vec![
            ("A".to_string(), names(&["@a2"])),
            ("B".to_string(), names(&["@b"]))
        ]
    );
    assert_eq!(
        gl_owners(&co, &m, "lib/x.rb"),
        vec![
            ("A".to_string(), names(&["@a1"])),
            ("B".to_string(), names(&["@b"]))
        ]
    );
    assert_eq!(gl_owners(&co, &m, "lib/x.py"), vec![]);
}

#[test]
fn gitlab_same_named_sections_are_combined() {
    let text = "[Docs]\n*.md @a\n[Other]\n*.md @o\n[docs]\nREADME.md @b\n";
    let co = parse(text, Platform::GitLab);
    assert_eq!(co.sections[2].group, 0);
    let m = Matcher::new(&co);
    let ds = m.decide("README.md");
    assert_eq!(
        ds,
        vec![
            Decision {
                section: Some(0),
                rule: 2
            },
            Decision {
                section: Some(1),
                rule: 1
            }
        ]
    );
    assert_eq!(
        gl_owners(&co, &m, "x.md")[0],
        ("Docs".to_string(), names(&["@a"]))
    );
}

#[test]
fn gitlab_many_sections_group_by_name_and_decide_independently() {
    // Thousands of sections, every third one excluding Markdown, and a late header that
    // repeats an early name in another case.
    let mut text = String::new();
    for i in 0..3_000 {
        text.push_str(&format!("[S{i}]\n* @o{i}\n"));
        if i % 3 == 0 {
            text.push_str("!*.md\n");
        }
    }
    text.push_str("[s1]\n*.md @late\n");
    let co = parse(&text, Platform::GitLab);
    assert_eq!(co.sections.len(), 3_001);
    assert_eq!(co.sections[3_000].group, 1);
    assert!(
        co.sections[..3_000]
            .iter()
            .enumerate()
            .all(|(i, s)| s.group == i)
    );
    let m = Matcher::new(&co);
    assert_eq!(m.decide("a.txt").len(), 3_000);
    let md = gl_owners(&co, &m, "a.md");
    assert_eq!(md.len(), 2_000);
    assert!(md.iter().all(|(name, _)| {
        name.strip_prefix('S')
            .and_then(|n| n.parse::<usize>().ok())
            .is_some_and(|n| n % 3 != 0)
    }));
    assert_eq!(md[0], ("S1".to_string(), names(&["@late"])));
    assert_eq!(md[1], ("S2".to_string(), names(&["@o2"])));
}

#[test]
fn gitlab_repeated_pattern_keeps_first_position() {
    // GitLab stores entries in an ordered hash keyed by pattern: the repeat replaces the owners
    // but not the position, so `*.md` (between them) still wins for Markdown files.
    let text = "[S]\ndocs/ @a\n*.md @b\ndocs/ @c\n";
    let co = parse(text, Platform::GitLab);
    let m = Matcher::new(&co);
    assert_eq!(
        gl_owners(&co, &m, "docs/x.md"),
        vec![("S".to_string(), names(&["@b"]))]
    );
    assert_eq!(
        gl_owners(&co, &m, "docs/x.txt"),
        vec![("S".to_string(), names(&["@c"]))]
    );
}

#[test]
fn gitlab_exclusions_apply_per_section_in_any_order() {
    let text = "!*.lock\n* @all\n[Deps]\n*.lock @deps\n[Gen] @gen\n/gen/\n!/gen/keep.txt\n";
    let co = parse(text, Platform::GitLab);
    assert!(co.issues.is_empty(), "{:?}", co.issues);
    let m = Matcher::new(&co);
    assert_eq!(
        gl_owners(&co, &m, "yarn.lock"),
        vec![("Deps".to_string(), names(&["@deps"]))]
    );
    assert_eq!(
        gl_owners(&co, &m, "a.txt"),
        vec![("".to_string(), names(&["@all"]))]
    );
    assert_eq!(
        gl_owners(&co, &m, "gen/x.rs"),
        vec![
            ("".to_string(), names(&["@all"])),
            ("Gen".to_string(), names(&["@gen"]))
        ]
    );
    assert_eq!(
        gl_owners(&co, &m, "gen/keep.txt"),
        vec![("".to_string(), names(&["@all"]))]
    );
    let co = parse("* @a\n!*.lock @x\n", Platform::GitLab);
    assert!(co.issues[0].message.contains("exclusion"));
    assert_eq!(co.rules[1].owners, vec![]);
}

#[test]
fn gitlab_escaped_hash_roles_and_groups() {
    let text =
        "\\#notes.md @n\n/config/ @@maintainer @@developers @@Owner\n/deploy/ @group/sub/team\n";
    let co = parse(text, Platform::GitLab);
    assert!(co.issues.is_empty(), "{:?}", co.issues);
    let m = Matcher::new(&co);
    assert_eq!(
        gl_owners(&co, &m, "#notes.md"),
        vec![("".to_string(), names(&["@n"]))]
    );
    assert_eq!(gl_owners(&co, &m, "\\#notes.md"), vec![]);
    assert_eq!(
        gl_owners(&co, &m, "config/db.yml"),
        vec![(
            "".to_string(),
            names(&["@@maintainer", "@@developers", "@@Owner"])
        )]
    );
    assert_eq!(
        gl_owners(&co, &m, "deploy/x"),
        vec![("".to_string(), names(&["@group/sub/team"]))]
    );
    let co = parse("/config/ @@admin\n", Platform::GitLab);
    assert!(
        co.issues[0]
            .message
            .contains("`@@admin` is not a GitLab owner")
    );
}

#[test]
fn gitlab_inline_comment_words_are_owners() {
    let text = "*.rb @a # owned by @b\n";
    let co = parse(text, Platform::GitLab);
    assert_eq!(
        co.rules[0]
            .owners
            .iter()
            .map(|o| o.name.as_str())
            .collect::<Vec<_>>(),
        vec!["@a", "@b"]
    );
    assert_eq!(co.issues.len(), 1);
    assert!(co.issues[0].message.contains("no inline comments"));
    assert_eq!(&text[co.issues[0].span.clone()], "#");
}

#[test]
fn gitlab_missing_and_malformed_owners() {
    let text = "docs/\n[S] @d\nlib/\nsrc/ foo\n";
    let co = parse(text, Platform::GitLab);
    let m = Matcher::new(&co);
    assert_eq!(
        gl_owners(&co, &m, "docs/a"),
        vec![("".to_string(), vec![])],
        "decided but un-owned"
    );
    assert_eq!(
        gl_owners(&co, &m, "lib/a"),
        vec![("S".to_string(), names(&["@d"]))],
        "section defaults"
    );
    assert_eq!(
        gl_owners(&co, &m, "src/a"),
        vec![("S".to_string(), vec![])],
        "owner text present: no defaults"
    );
    let got: Vec<usize> = co.issues.iter().map(|i| i.line).collect();
    assert_eq!(got, vec![1, 4]);
    assert!(co.issues[0].message.contains("no owners"));
    assert!(co.issues[1].message.contains("`foo` is not a GitLab owner"));
}

#[test]
fn gitlab_header_forms() {
    let text = "^[Opt][2] @a\n[]\n[Broken\n[S] @a #note\n[abc]*.rb @x\n[N][3]\n";
    let co = parse(text, Platform::GitLab);
    let headers: Vec<(&str, bool, u32, usize)> = co
        .sections
        .iter()
        .map(|s| {
            (
                s.name.as_str(),
                s.optional,
                s.approvals,
                s.default_owners.len(),
            )
        })
        .collect();
    assert_eq!(
        headers,
        vec![
            ("Opt", true, 2, 1),
            ("", false, 1, 0),
            ("S", false, 1, 1),
            ("abc", false, 1, 0),
            ("N", false, 3, 0)
        ]
    );
    let got: Vec<(usize, &str)> = co
        .issues
        .iter()
        .map(|i| (i.line, &text[i.span.clone()]))
        .collect();
    assert_eq!(
        got,
        vec![
            (1, "^[Opt][2] @a"),
            (2, "[]"),
            (3, "[Broken"),
            (4, "#note"),
            (5, "*.rb @x")
        ]
    );
    assert!(co.rules.is_empty(), "every line is a header or ignored");
}

#[test]
fn gitlab_globs_differ_from_github() {
    let text = "docs/* @d\nfile[0-9].txt @f\n/i18n/** @i\n";
    let gl = parse(text, Platform::GitLab);
    let gh = parse(text, Platform::GitHub);
    let (glm, ghm) = (Matcher::new(&gl), Matcher::new(&gh));
    assert_eq!(
        gl_owners(&gl, &glm, "src/docs/x.md"),
        vec![("".to_string(), names(&["@d"]))]
    );
    assert_eq!(gh_owners(&gh, &ghm, "src/docs/x.md"), None);
    assert_eq!(
        gl_owners(&gl, &glm, "file7.txt"),
        vec![("".to_string(), names(&["@f"]))]
    );
    assert_eq!(gh_owners(&gh, &ghm, "file7.txt"), None);
    assert_eq!(
        gl_owners(&gl, &glm, "i18n/ja/x.po"),
        vec![],
        "GitLab's trailing `**` is one level"
    );
    assert_eq!(gh_owners(&gh, &ghm, "i18n/ja/x.po"), Some(names(&["@i"])));
    let bad = parse("file[0-9 @f\n", Platform::GitLab);
    assert!(bad.issues[0].message.contains("never closed"));
}

#[test]
fn candidate_locations() {
    assert_eq!(
        candidate_paths(Platform::GitHub),
        &[".github/CODEOWNERS", "CODEOWNERS", "docs/CODEOWNERS"]
    );
    assert_eq!(
        candidate_paths(Platform::GitLab),
        &["CODEOWNERS", "docs/CODEOWNERS", ".gitlab/CODEOWNERS"]
    );
}

/// Reference GitHub decision: scan every rule from the last, keep the first match.
fn naive_github(co: &CodeOwners, paths: &[&str]) -> Vec<Vec<Decision>> {
    let compiled: Vec<Option<Pattern>> = co
        .rules
        .iter()
        .map(|r| pattern::compile_github(&r.pattern).ok())
        .collect();
    let mut scratch = Scratch::default();
    paths
        .iter()
        .map(|path| {
            let comps: Vec<&str> = path.split('/').filter(|c| !c.is_empty()).collect();
            (0..compiled.len())
                .rev()
                .find(|i| {
                    compiled[*i]
                        .as_ref()
                        .is_some_and(|p| p.matches(&comps, &mut scratch))
                })
                .map(|i| Decision {
                    section: None,
                    rule: i,
                })
                .into_iter()
                .collect()
        })
        .collect()
}

/// Reference GitLab decision, shaped like `Gitlab::CodeOwners::File#entries_for_path`: per section
/// an insertion-ordered map from normalised pattern to its last line; scan it backwards; a
/// matching exclusion drops the section.
fn naive_gitlab(co: &CodeOwners, paths: &[&str]) -> Vec<Vec<Decision>> {
    type SectionEntries = (
        Option<usize>,
        Vec<(Option<Pattern>, usize)>,
        HashMap<String, usize>,
    );
    let mut sections: Vec<SectionEntries> = Vec::new();
    for (i, r) in co.rules.iter().enumerate() {
        let group = r.section.map(|h| co.sections[h].group);
        let norm = pattern::normalize_gitlab(r.pattern.strip_prefix('!').unwrap_or(&r.pattern));
        let pos = match sections.iter().position(|s| s.0 == group) {
            Some(p) => p,
            None => {
                sections.push((group, Vec::new(), HashMap::new()));
                sections.len() - 1
            }
        };
        let (_, entries, by_key) = &mut sections[pos];
        match by_key.get(&norm) {
            Some(&k) => entries[k].1 = i,
            None => {
                by_key.insert(norm.clone(), entries.len());
                entries.push((pattern::compile_gitlab(&norm), i));
            }
        }
    }
    let mut scratch = Scratch::default();
    paths
        .iter()
        .map(|path| {
            let comps: Vec<&str> = path.split('/').filter(|c| !c.is_empty()).collect();
            let mut out = Vec::new();
            for (group, entries, _) in &sections {
                let matching: Vec<usize> = entries
                    .iter()
                    .rev()
                    .filter(|(p, _)| p.as_ref().is_some_and(|p| p.matches(&comps, &mut scratch)))
                    .map(|(_, i)| *i)
                    .collect();
                if matching.iter().any(|i| co.rules[*i].exclusion) {
                    continue;
                }
                if let Some(first) = matching.first() {
                    out.push(Decision {
                        section: *group,
                        rule: *first,
                    });
                }
            }
            out.sort_by_key(|d| d.section);
            out
        })
        .collect()
}

/// A 10k-line file with the shapes big monorepo files have.
fn huge_file() -> String {
    let mut text = String::from("* @acme/default\n");
    for i in 0..10_000 {
        let line = match i % 5 {
            0 => format!("/services/svc{i}/ @acme/team{}\n", i % 50),
            1 => format!("*.ext{i} @user{i}\n"),
            2 => format!("/libs/lib{i}/config/*.yaml @acme/cfg\n"),
            3 => format!("docs/page{i}.md\n"),
            _ => format!("**/gen{i}/ @gen-bot\n"),
        };
        text.push_str(&line);
    }
    text
}

fn huge_paths() -> Vec<String> {
    (0..5_000)
        .map(|k| match k % 6 {
            0 => format!("services/svc{}/src/main.rs", (k * 7) % 10_000),
            1 => format!("x/y/file.ext{}", (k * 13) % 10_000),
            2 => format!("libs/lib{}/config/app.yaml", (k * 11) % 10_000),
            3 => format!("docs/page{}.md", (k * 3) % 10_000),
            4 => format!("a/gen{}/b/c.txt", k % 10_000),
            _ => format!("unrelated/dir{k}/README"),
        })
        .collect()
}

#[test]
fn huge_file_decides_quickly_and_correctly() {
    let text = huge_file();
    let co = parse(&text, Platform::GitHub);
    assert!(co.issues.is_empty());
    assert_eq!(co.rules.len(), 10_001);
    let t0 = std::time::Instant::now();
    let m = Matcher::new(&co);
    let t1 = std::time::Instant::now();
    let paths = huge_paths();
    let decided: Vec<Vec<Decision>> = paths.iter().map(|p| m.decide(p)).collect();
    eprintln!(
        "TIMING parse+build {:?} decide5k {:?}",
        t1 - t0,
        t1.elapsed()
    );
    for (path, rule) in [
        ("services/svc10/a/b.rs", 11),
        ("x/y/file.ext11", 12),
        ("libs/lib12/config/app.yaml", 13),
        ("libs/lib12/config/deep/app.yaml", 0),
        ("docs/page13.md", 14),
        ("a/gen14/b.txt", 15),
        ("README", 0),
    ] {
        assert_eq!(
            m.decide(path),
            vec![Decision {
                section: None,
                rule
            }],
            "{path}"
        );
    }
    assert!(effective_owners(&co, &m.decide("docs/page13.md")[0]).is_empty());
    let sample: Vec<&str> = paths.iter().step_by(97).map(String::as_str).collect();
    let want = naive_github(&co, &sample);
    for ((path, got), want) in sample.iter().zip(decided.iter().step_by(97)).zip(want) {
        assert_eq!(*got, want, "{path}");
    }
    // The same file read by GitLab rules (one unnamed section) decides the same on these paths,
    // except that GitLab's `docs/page*.md` is not anchored and `**/genN/` names a directory.
    let gl = parse(&text, Platform::GitLab);
    let glm = Matcher::new(&gl);
    for (path, want) in sample.iter().zip(naive_gitlab(&gl, &sample)) {
        assert_eq!(glm.decide(path), want, "{path}");
    }
}

fn arb_pattern() -> impl Strategy<Value = String> {
    let atom = prop::sample::select(vec![
        "a", "b", "ab", "*", "**", "?", "*.md", "a*", "[ab]", "[!a]", "x", ".", "\\*", "#",
    ]);
    (
        prop::bool::ANY,
        prop::bool::ANY,
        prop::option::of(Just("!")),
        prop::collection::vec(atom, 1..4),
    )
        .prop_map(|(lead, trail, bang, segs)| {
            let mut p = String::new();
            if let Some(b) = bang {
                p.push_str(b);
            }
            if lead {
                p.push('/');
            }
            p.push_str(&segs.join("/"));
            if trail {
                p.push('/');
            }
            p
        })
}

fn arb_file() -> impl Strategy<Value = String> {
    let line = prop_oneof![
        4 => (arb_pattern(), prop::option::of(prop::sample::select(vec!["@o", "@t/x", "a@b.co"])))
            .prop_map(|(p, o)| format!("{p} {}", o.unwrap_or(""))),
        1 => prop::sample::select(vec!["[S] @s", "^[Opt]", "[s][2]", "[T]"]).prop_map(String::from),
    ];
    prop::collection::vec(line, 0..12).prop_map(|l| l.join("\n"))
}

fn arb_path() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop::sample::select(vec!["a", "b", "ab", "x.md", ".a", "a*b", "#", "aa"]),
        1..5,
    )
    .prop_map(|c| c.join("/"))
}

fn assert_span(text: &str, span: &Range<usize>) {
    assert!(
        span.start <= span.end && span.end <= text.len(),
        "{span:?} out of bounds"
    );
    assert!(
        text.is_char_boundary(span.start) && text.is_char_boundary(span.end),
        "{span:?} splits a char"
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn parse_never_panics_and_spans_are_sound(
        text in "(\u{feff})?([a-z@/*?!#\\[\\]^\\\\. \t\r\né]{0,12}\n?){0,8}",
        gitlab in prop::bool::ANY,
        path in "[a-z/.é*]{0,12}",
    ) {
        let platform = if gitlab { Platform::GitLab } else { Platform::GitHub };
        let co = parse(&text, platform);
        for r in &co.rules {
            assert_span(&text, &r.pattern_span);
            assert_span(&text, &r.line_span);
            r.owners.iter().for_each(|o| assert_span(&text, &o.span));
        }
        for s in &co.sections {
            assert_span(&text, &s.span);
            s.default_owners.iter().for_each(|o| assert_span(&text, &o.span));
        }
        co.issues.iter().for_each(|i| assert_span(&text, &i.span));
        let m = Matcher::new(&co);
        for d in m.decide(&path) {
            prop_assert!(d.rule < co.rules.len());
            let _ = effective_owners(&co, &d);
        }
    }

    #[test]
    fn indexed_matcher_agrees_with_a_linear_scan(file in arb_file(), paths in prop::collection::vec(arb_path(), 1..6)) {
        let gh = parse(&file, Platform::GitHub);
        let gl = parse(&file, Platform::GitLab);
        let (ghm, glm) = (Matcher::new(&gh), Matcher::new(&gl));
        let paths: Vec<&str> = paths.iter().map(String::as_str).collect();
        for ((path, want_gh), want_gl) in paths.iter().zip(naive_github(&gh, &paths)).zip(naive_gitlab(&gl, &paths)) {
            prop_assert_eq!(ghm.decide(path), want_gh, "github {}", path);
            prop_assert_eq!(glm.decide(path), want_gl, "gitlab {}", path);
        }
    }
}
