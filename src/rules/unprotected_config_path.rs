//! The `unprotected-config-path` rule, and the `codeowners-syntax` diagnostics it reports: a
//! config file that holds a connection target (or a path a team lists in `sensitive_paths`) that
//! no human code owner has to approve. Incident 001: a bot owned `values-staging.yaml` in
//! CODEOWNERS, approved the production DSN in it, and the change merged with no human review.
//!
//! Per-file work records a fact for each such file; the repo pass reads the CODEOWNERS in force
//! through `Repo::read` (so a pre-commit run on one file still sees it), parses it and builds
//! the matcher once, and decides every recorded path.

use std::collections::BTreeMap;
use std::ops::Range;
use std::sync::OnceLock;

use globset::{Glob, GlobSet, GlobSetBuilder};

use crate::classify::FileKind;
use crate::finding::{Diagnostic, Severity};
use crate::rules::{Cx, FileOut, Repo, Rule};
use crate::source::SourceFile;
use crate::syntax::codeowners::{
    self, CodeOwners, Decision, Matcher, Platform, candidate_paths, effective_owners, is_bot,
};
use crate::targets::{Form, Target};

const ID: &str = "unprotected-config-path";
const SYNTAX_ID: &str = "codeowners-syntax";
/// Other files listed on the single "no CODEOWNERS" finding.
const MAX_RELATED: usize = 20;
/// A file name no file-specific pattern names: deciding it shows which lines cover a directory.
const PROBE: &str = "\u{1}";
const PLACEHOLDER: &str = "@your-org/your-team";
/// GitHub does not load a CODEOWNERS file of this size or more.
const GITHUB_MAX_BYTES: usize = 3 * 1024 * 1024;

/// The rule. Holds `sensitive_paths`, compiled once per run.
#[derive(Default)]
pub struct UnprotectedConfigPath {
    sensitive: OnceLock<(GlobSet, Vec<String>)>,
}

/// A file that needs a human code owner: where findings point and what it holds.
struct Holder {
    span: Range<usize>,
    /// Completes "this file, which ...": `holds a postgresql connection string to `db:5432``.
    what: String,
}

/// Why a file is not protected. Indices point into `CodeOwners::rules`.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Verdict {
    NoMatch,
    Unowned(Decision),
    Bots(Decision, Vec<String>),
    OptionalOnly(Decision),
}

impl UnprotectedConfigPath {
    fn sensitive(&self, cx: &Cx) -> &(GlobSet, Vec<String>) {
        self.sensitive.get_or_init(|| {
            let mut b = GlobSetBuilder::new();
            let mut bad = Vec::new();
            for g in cx.list("sensitive_paths") {
                match Glob::new(&g) {
                    Ok(glob) => {
                        b.add(glob);
                    }
                    Err(e) => bad.push(format!("`{g}`: {e}")),
                }
            }
            (b.build().unwrap_or_else(|_| GlobSet::empty()), bad)
        })
    }
}

impl Rule for UnprotectedConfigPath {
    fn id(&self) -> &'static str {
        ID
    }

    fn wants(&self, kind: FileKind, _path: &str) -> bool {
        kind == FileKind::Codeowners
            || (kind.is_config() && kind != FileKind::DotEnv { example: true })
    }

    fn wants_path(&self, cx: &Cx, path: &str) -> bool {
        self.sensitive(cx).0.is_match(path)
    }

    fn wants_any_path(&self, cx: &Cx) -> bool {
        !self.sensitive(cx).0.is_empty()
    }

    fn check_file(&self, file: &SourceFile, _cx: &Cx, out: &mut FileOut) {
        if file.kind == FileKind::Codeowners {
            return;
        }
        let targets = file.targets();
        if let Some(t) = targets.items.iter().find(|t| t.is_real()) {
            out.secrets.extend(targets.secrets.iter().cloned());
            out.fact(
                &file.path,
                Holder {
                    span: t.span.clone(),
                    what: describe(t),
                },
            );
        }
    }

    fn check_repo(&self, repo: &Repo, cx: &Cx, out: &mut Vec<Diagnostic>) {
        let (globs, bad) = self.sensitive(cx);
        for b in bad {
            out.push(Diagnostic::new(
                ID,
                ".premortem.yaml",
                0..0,
                format!("a `sensitive_paths` glob does not compile, so it protects nothing: {b}"),
            ));
        }
        let mut holders: BTreeMap<&str, (Range<usize>, String)> = repo
            .facts::<Holder>()
            .map(|(p, h)| (p, (h.span.clone(), h.what.clone())))
            .collect();
        for p in repo.scanned.iter().filter(|p| globs.is_match(p.as_str())) {
            holders
                .entry(p)
                .or_insert((0..0, "matches `sensitive_paths`".into()));
        }
        let (platform, auto) = platform(repo, cx, out);
        let present: Vec<(&str, Option<String>)> = candidate_paths(platform)
            .iter()
            .filter_map(|&p| match (repo.read)(p) {
                Some(t) => Some((p, Some(t))),
                None => repo.root.join(p).is_file().then_some((p, None)),
            })
            .collect();
        let Some(((co_path, text), ignored)) = present.split_first() else {
            no_codeowners(platform, &holders, out);
            return;
        };
        // Findings on CODEOWNERS itself only when it is checked: a pre-commit run on a values
        // file must not fail on an unrelated CODEOWNERS line.
        let syntax_on = !cx.config.rule(SYNTAX_ID).off;
        let checked =
            |p: &str| syntax_on && repo.scanned.binary_search_by(|s| s.as_str().cmp(p)).is_ok();
        for (p, _) in ignored.iter().filter(|(p, _)| checked(p)) {
            out.push(
                Diagnostic::new(
                    SYNTAX_ID,
                    p,
                    0..0,
                    format!(
                        "this CODEOWNERS file is ignored: {} uses `{co_path}`, the first of {}",
                        name(platform),
                        candidate_paths(platform).join(", ")
                    ),
                )
                .severity(Severity::Info)
                .help(format!(
                    "move its lines into `{co_path}` and delete this file, so no one edits a file that has no effect"
                ))
                .identity("ignored"),
            );
        }
        // A CODEOWNERS the platform cannot load voids every owner: always said, even when the
        // file is not among those checked (the engine skips files over its own size limit).
        let text = match text {
            Some(t) => t.as_str(),
            None => {
                if syntax_on {
                    out.push(Diagnostic::new(
                        SYNTAX_ID,
                        co_path,
                        0..0,
                        format!("cannot read this CODEOWNERS file (over 3 MiB, binary or not UTF-8); {} does not load it, so no code owners apply", name(platform)),
                    ));
                }
                ""
            }
        };
        let co = codeowners::parse(text, platform);
        let void = platform == Platform::GitHub && text.len() >= GITHUB_MAX_BYTES;
        if checked(co_path) || (void && syntax_on) {
            for issue in &co.issues {
                let mut message = issue.message.clone();
                if auto && platform == Platform::GitHub && message.contains("GitLab") {
                    message.push_str(&format!(" (if this repository is on GitLab, set `platform: gitlab` under `rules.{ID}` in .premortem.yaml)"));
                }
                out.push(Diagnostic::new(
                    SYNTAX_ID,
                    co_path,
                    issue.span.clone(),
                    message,
                ));
            }
        }
        if holders.is_empty() {
            return;
        }
        let matcher = Matcher::new(&co);
        let bots = cx.list("bots");
        for (path, (span, what)) in &holders {
            let decisions = matcher.decide(path);
            let Some(verdict) = verdict(&co, &decisions, &bots) else {
                continue;
            };
            let limit = decisions.iter().map(|d| d.rule).max();
            let owners = suggest_owners(&co, &matcher, path, limit, &bots);
            let (message, rule) = message(&verdict, &co, text, co_path, what);
            let mut d = Diagnostic::new(ID, path, span.clone(), message)
                .help(help(&co, co_path, path, &owners))
                .identity(format!("{}|{what}", verdict_key(&verdict)));
            if let Some(r) = rule.and_then(|d| co.rules.get(d.rule)) {
                d = d.related(
                    co_path,
                    r.line_span.clone(),
                    format!("the line that decides who approves `{path}`"),
                );
            }
            out.push(d);
        }
    }
}

/// What a target is, completing "this file, which ...".
fn describe(t: &Target) -> String {
    match t.form {
        Form::Dsn => format!("holds a {} connection string to `{}`", t.scheme, t.host),
        Form::Split => format!("holds credentials for the database host `{}`", t.host),
        Form::Host => format!("names the database host `{}` (`{}`)", t.host, t.key_path),
    }
}

fn name(platform: Platform) -> &'static str {
    match platform {
        Platform::GitHub => "GitHub",
        Platform::GitLab => "GitLab",
    }
}

/// The platform from the rule's `platform` option, else from the repository's layout. The bool
/// is true when it was detected.
fn platform(repo: &Repo, cx: &Cx, out: &mut Vec<Diagnostic>) -> (Platform, bool) {
    match cx.string("platform").map(|s| s.to_ascii_lowercase()).as_deref() {
        Some("github") => return (Platform::GitHub, false),
        Some("gitlab") => return (Platform::GitLab, false),
        None | Some("auto") => {}
        Some(other) => out.push(Diagnostic::new(
            ID,
            ".premortem.yaml",
            0..0,
            format!("unknown `platform: {other}` for {ID} (use auto, github or gitlab); detecting the platform instead"),
        )),
    }
    let gitlab = repo.root.join(".gitlab-ci.yml").is_file() || repo.root.join(".gitlab").is_dir();
    let github = repo.root.join(".github").is_dir();
    let p = if gitlab && !github {
        Platform::GitLab
    } else {
        Platform::GitHub
    };
    (p, true)
}

/// Whether the decisions make a human approve a change; `None` when they do. On GitLab every
/// required section that matches needs its own approval, so one human-only section protects.
fn verdict(co: &CodeOwners, decisions: &[Decision], bots: &[String]) -> Option<Verdict> {
    let mut problem = None;
    let mut optional = None;
    for d in decisions {
        if d.section.is_some_and(|g| co.section_optional(g)) {
            optional.get_or_insert(*d);
            continue;
        }
        let owners = effective_owners(co, d);
        let found: Vec<String> = owners
            .iter()
            .filter(|o| is_bot(&o.name, bots))
            .map(|o| o.name.clone())
            .collect();
        // Each approval comes from a different owner: more approvals than bots needs a human.
        let approvals = d.section.map_or(1, |g| co.section_approvals(g)) as usize;
        if owners.is_empty() {
            problem.get_or_insert(Verdict::Unowned(*d));
        } else if owners.len() > found.len() && approvals > found.len() {
            return None;
        } else {
            problem.get_or_insert(Verdict::Bots(*d, found));
        }
    }
    Some(problem.unwrap_or_else(|| optional.map_or(Verdict::NoMatch, Verdict::OptionalOnly)))
}

fn verdict_key(v: &Verdict) -> &'static str {
    match v {
        Verdict::NoMatch => "no-owner",
        Verdict::Unowned(_) => "unowned",
        Verdict::Bots(..) => "bot",
        Verdict::OptionalOnly(_) => "optional",
    }
}

/// The finding's message, and the decision to point at.
fn message(
    v: &Verdict,
    co: &CodeOwners,
    text: &str,
    co_path: &str,
    what: &str,
) -> (String, Option<Decision>) {
    let at = |d: &Decision| format!("{co_path}:{}", co.rules.get(d.rule).map_or(0, |r| r.line));
    match v {
        Verdict::NoMatch => (
            format!(
                "no code owner: no line of {co_path} matches this file, which {what}, so a change to it needs no human approval"
            ),
            None,
        ),
        Verdict::Unowned(d) => (
            format!(
                "explicitly un-owned at {}: the last matching line `{}` lists no owners, so a change to this file, which {what}, needs no human approval",
                at(d),
                co.rules.get(d.rule).map_or("", |r| r.pattern.as_str()),
            ),
            Some(*d),
        ),
        Verdict::Bots(d, found) => {
            let line = co
                .rules
                .get(d.rule)
                .and_then(|r| text.get(r.line_span.clone()))
                .unwrap_or("");
            let line = shorten(&line.split_whitespace().collect::<Vec<_>>().join(" "));
            let bots: Vec<String> = found.iter().map(|b| format!("`{b}`")).collect();
            let bots = bots.join(", ");
            let msg = if effective_owners(co, d).len() > found.len() {
                format!(
                    "a bot can approve changes to this file alone, which {what}: {} (`{line}`) lists {bots} beside human owners, and one approval from any owner on the line is enough",
                    at(d)
                )
            } else {
                format!(
                    "only a bot approves changes to this file, which {what}: {} (`{line}`) gives it to {bots} alone",
                    at(d)
                )
            };
            (msg, Some(*d))
        }
        Verdict::OptionalOnly(d) => {
            let section = d
                .section
                .and_then(|g| co.sections.get(g))
                .map_or("", |s| s.name.as_str());
            (
                format!(
                    "only an optional section owns this file, which {what}: {} is under `^[{section}]`, and optional approval protects nothing",
                    at(d)
                ),
                Some(*d),
            )
        }
    }
}

/// A CODEOWNERS line cut to a readable length on a char boundary.
fn shorten(line: &str) -> String {
    match line.char_indices().nth(100) {
        Some((i, _)) => format!("{}…", &line[..i]),
        None => line.to_string(),
    }
}

/// The owners to suggest: the human owners of the nearest line (at or before the deciding one)
/// that covers the closest ancestor directory, else of the default `*` line, else a placeholder.
fn suggest_owners(
    co: &CodeOwners,
    matcher: &Matcher,
    path: &str,
    limit: Option<usize>,
    bots: &[String],
) -> String {
    let humans = |d: &Decision| -> Vec<&str> {
        if d.section.is_some_and(|g| co.section_optional(g)) {
            return Vec::new();
        }
        effective_owners(co, d)
            .iter()
            .filter(|o| !is_bot(&o.name, bots))
            .map(|o| o.name.as_str())
            .collect()
    };
    let mut dir = path;
    loop {
        let parent = dir.rsplit_once('/').map_or("", |(p, _)| p);
        let probe = if parent.is_empty() {
            PROBE.to_string()
        } else {
            format!("{parent}/{PROBE}")
        };
        for d in matcher.decide(&probe) {
            if limit.is_none_or(|l| d.rule <= l) {
                let h = humans(&d);
                if !h.is_empty() {
                    return h.join(" ");
                }
            }
        }
        if parent.is_empty() {
            break;
        }
        dir = parent;
    }
    let group = |h: usize| co.sections.get(h).map_or(h, |s| s.group);
    co.rules
        .iter()
        .enumerate()
        .rev()
        .filter(|(_, r)| r.pattern == "*")
        .map(|(i, r)| {
            humans(&Decision {
                section: r.section.map(group),
                rule: i,
            })
        })
        .find(|h| !h.is_empty())
        .map_or_else(|| PLACEHOLDER.to_string(), |h| h.join(" "))
}

/// `path` as an anchored CODEOWNERS pattern that matches exactly that file.
fn pattern_for(path: &str, platform: Platform) -> String {
    let mut s = String::with_capacity(path.len() + 1);
    s.push('/');
    for c in path.chars() {
        match c {
            // GitHub has no `[ ]` and no way to escape them; `?` matches the one character.
            '[' | ']' if platform == Platform::GitHub => s.push('?'),
            ' ' | '\t' | '*' | '?' | '\\' | '[' | ']' => {
                s.push('\\');
                s.push(c);
            }
            _ => s.push(c),
        }
    }
    s
}

/// The exact line to add, and where.
fn help(co: &CodeOwners, co_path: &str, path: &str, owners: &str) -> String {
    let line = format!("{} {owners}", pattern_for(path, co.platform));
    let note = if owners == PLACEHOLDER {
        format!(" (replace `{PLACEHOLDER}` with the team that must review it)")
    } else {
        String::new()
    };
    let last_optional = co.platform == Platform::GitLab
        && co
            .sections
            .last()
            .is_some_and(|s| co.section_optional(s.group));
    if last_optional {
        format!(
            "add these lines at the end of {co_path}{note}; the file ends in an optional section, so the line needs a required section of its own:\n  [Protected config]\n  {line}"
        )
    } else {
        format!(
            "add this line at the end of {co_path}{note}; the last matching line wins, so it must come after every line that matches this file:\n  {line}"
        )
    }
}

/// One finding for a repository without any CODEOWNERS: at the first file, listing the others.
fn no_codeowners(
    platform: Platform,
    holders: &BTreeMap<&str, (Range<usize>, String)>,
    out: &mut Vec<Diagnostic>,
) {
    let mut files = holders.iter();
    let Some((first, (span, what))) = files.next() else {
        return;
    };
    let others = holders.len() - 1;
    let mut message = format!(
        "no CODEOWNERS file, so no human has to approve a change to this file, which {what}"
    );
    if others > 0 {
        message.push_str(&format!(
            ", or to {others} other such file{}",
            if others == 1 { "" } else { "s" }
        ));
        if others > MAX_RELATED {
            message.push_str(&format!(
                " ({MAX_RELATED} listed, and {} more)",
                others - MAX_RELATED
            ));
        }
    }
    let file = match platform {
        Platform::GitHub => ".github/CODEOWNERS",
        Platform::GitLab => ".gitlab/CODEOWNERS",
    };
    let mut d = Diagnostic::new(ID, first, span.clone(), message)
        .help(format!(
            "create {file} with a line for each file or directory that holds connection targets, owned by the team that must review it, and require code owner review on the default branch; for this file:\n  {} {PLACEHOLDER}",
            pattern_for(first, platform)
        ))
        .identity("no-codeowners");
    for (p, (s, w)) in files.take(MAX_RELATED) {
        d = d.related(p, s.clone(), format!("also {w}"));
    }
    out.push(d);
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn judge(text: &str, platform: Platform, path: &str) -> Option<Verdict> {
        let co = codeowners::parse(text, platform);
        let m = Matcher::new(&co);
        verdict(&co, &m.decide(path), &["@release-manager".to_string()])
    }

    #[test]
    fn verdicts() {
        use Platform::{GitHub, GitLab};
        let p = "charts/app/values-staging.yaml";
        let cases: &[(&str, Platform, Option<&str>)] = &[
            // bad
            ("/docs/ @a/docs\n", GitHub, Some("no-owner")),
            ("* @a/team\n/charts/ @platform-bot\n", GitHub, Some("bot")),
            (
                "* @a/team\n/charts/ @a/platform @renovate[bot]\n",
                GitHub,
                Some("bot"),
            ),
            ("* @a/team\n/charts/app/\n", GitHub, Some("unowned")),
            (
                "* @a/team\n/charts/ @release-manager\n",
                GitHub,
                Some("bot"),
            ),
            (
                "[Docs]\n*.md @a/docs\n^[Config]\n/charts/ @a/platform\n",
                GitLab,
                Some("optional"),
            ),
            (
                "[Config][1]\n/charts/ @deploy-bot @a/platform\n",
                GitLab,
                Some("bot"),
            ),
            // good
            ("* @a/team\n/charts/ @a/platform\n", GitHub, None),
            (
                "/charts/ @platform-bot\n/charts/**/values-*.yaml ops@corp.com\n",
                GitHub,
                None,
            ),
            ("[Config]\n/charts/ @a/platform\n", GitLab, None),
            (
                "[Config][2]\n/charts/ @deploy-bot @a/platform\n",
                GitLab,
                None,
            ),
            (
                "^[Docs]\n/charts/ @a/docs\n[Config]\n/charts/ @a/platform\n",
                GitLab,
                None,
            ),
            // near misses
            (
                "/charts/ @a/platform\n/charts/app/* @deploy-bot\n",
                GitHub,
                Some("bot"),
            ),
            (
                "/charts/ @a/platform\n/charts/*/ci/* @deploy-bot\n",
                GitHub,
                None,
            ),
            (
                "/charts/ @a/platform\n/charts/* @deploy-bot\n",
                GitHub,
                None,
            ),
            (
                "[Config][2]\n/charts/ @deploy-bot @release-manager\n",
                GitLab,
                Some("bot"),
            ),
        ];
        for (text, platform, want) in cases {
            let got = judge(text, *platform, p);
            assert_eq!(got.as_ref().map(verdict_key), *want, "{text:?}");
        }
    }

    #[test]
    fn suggested_owners_come_from_the_nearest_human_line() {
        let bots: Vec<String> = vec![];
        let cases = [
            (
                "* @a/all\n/charts/ @a/platform\n/charts/app/ @deploy-bot\n",
                "@a/platform",
            ),
            ("* @a/all @ci-bot\n/charts/ @deploy-bot\n", "@a/all"),
            ("/charts/ @a/platform @deploy-bot\n", "@a/platform"),
            (
                "/charts/ @deploy-bot\n/charts/app/ @a/app\n/charts/app/values-staging.yaml @deploy-bot\n",
                "@a/app",
            ),
            // A line after the deciding one is not "nearest", even when it covers the directory.
            (
                "/charts/ @deploy-bot\n/charts/app/values-staging.yaml @deploy-bot\n/charts/app/? @a/late\n",
                PLACEHOLDER,
            ),
            ("/docs/ @a/docs\n", PLACEHOLDER),
        ];
        for (text, want) in cases {
            let co = codeowners::parse(text, Platform::GitHub);
            let m = Matcher::new(&co);
            let path = "charts/app/values-staging.yaml";
            let limit = m.decide(path).iter().map(|d| d.rule).max();
            assert_eq!(
                suggest_owners(&co, &m, path, limit, &bots),
                want,
                "{text:?}"
            );
        }
    }

    #[test]
    fn help_names_the_place_and_the_line() {
        let co = codeowners::parse("^[Docs]\n*.md @a/docs\n", Platform::GitLab);
        let h = help(&co, "CODEOWNERS", "a b/v.yaml", "@a/t");
        assert!(
            h.contains("[Protected config]\n  /a\\ b/v.yaml @a/t"),
            "{h}"
        );
        let co = codeowners::parse("* @a/all\n", Platform::GitHub);
        let h = help(&co, ".github/CODEOWNERS", "v[1].yaml", PLACEHOLDER);
        assert!(h.contains("at the end of .github/CODEOWNERS"), "{h}");
        assert!(h.ends_with("\n  /v?1?.yaml @your-org/your-team"), "{h}");
        assert!(h.contains("replace `@your-org/your-team`"), "{h}");
    }

    fn arb_path() -> impl Strategy<Value = String> {
        let comp = prop::string::string_regex("[a-z0-9 ._*?\\[\\]\\\\#!-]{1,8}").unwrap();
        prop::collection::vec(comp, 1..4).prop_map(|v| v.join("/"))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// The suggested line, appended, owns exactly the file it was made for.
        #[test]
        fn suggested_pattern_matches_its_path(path in arb_path(), gitlab in any::<bool>()) {
            let comps: Vec<&str> = path.split('/').collect();
            prop_assume!(comps.iter().all(|c| !c.trim().is_empty() && *c != "." && *c != ".."));
            let platform = if gitlab { Platform::GitLab } else { Platform::GitHub };
            let line = format!("{} @a/team\n", pattern_for(&path, platform));
            let co = codeowners::parse(&line, platform);
            prop_assert!(co.issues.is_empty(), "{line:?}: {:?}", co.issues);
            let m = Matcher::new(&co);
            prop_assert_eq!(m.decide(&path).len(), 1, "{:?}", line);
            prop_assert!(m.decide(&format!("{path}x")).is_empty(), "{:?}", line);
        }
    }
}
