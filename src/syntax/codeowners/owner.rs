//! Owner syntax per platform, and bot detection.

use std::ops::Range;

/// Why GitHub rejects an owner token.
pub(crate) fn github_owner_error(tok: &str) -> Option<String> {
    if let Some(role) = tok.strip_prefix("@@") {
        return Some(format!(
            "`{tok}` is a GitLab role owner; GitHub has no `@@{role}` owners, reports an invalid owner and skips this line"
        ));
    }
    if let Some(body) = tok.strip_prefix('@') {
        let ok = match body.split_once('/') {
            Some((_, team)) if team.contains('/') => {
                return Some(format!(
                    "`{tok}` is a nested group path; GitHub team owners are `@org/team-name`, so GitHub reports an invalid owner and skips this line"
                ));
            }
            Some((org, team)) => is_github_login(org) && is_github_team(team),
            None => is_github_login(body.strip_suffix("[bot]").unwrap_or(body)),
        };
        return (!ok).then(|| {
            format!("`{tok}` is not a valid GitHub user or team name; GitHub reports an invalid owner and skips this line")
        });
    }
    if is_email(tok) {
        return None;
    }
    Some(format!(
        "`{tok}` is not an owner: GitHub expects `@username`, `@org/team-name` or an email address, reports an invalid owner and skips this line"
    ))
}

/// GitHub logins: letters, digits and hyphens (underscores for managed users), not starting
/// with a hyphen.
fn is_github_login(s: &str) -> bool {
    s.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

fn is_github_team(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// `local@domain.tld`: one `@`, no whitespace, a dotted domain ending in a letter or digit.
fn is_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !local.starts_with('@')
        && !domain.contains('@')
        && !domain.contains('/')
        && domain.contains('.')
        && domain.chars().next().is_some_and(|c| c.is_alphanumeric())
        && domain.chars().last().is_some_and(|c| c.is_alphanumeric())
        && !s.chars().any(char::is_whitespace)
}

/// GitLab roles: `@@developer`, `@@maintainer`, `@@owner`, optionally plural, any case.
fn is_gitlab_role(tok: &str) -> bool {
    let Some(role) = tok.strip_prefix("@@") else {
        return false;
    };
    let role = role.to_ascii_lowercase();
    let role = role.strip_suffix('s').unwrap_or(&role);
    matches!(role, "developer" | "maintainer" | "owner")
}

/// A GitLab namespace path segment: starts with a letter, digit, `_` or `.`, does not end in `.`.
fn is_gitlab_segment(s: &str) -> bool {
    s.chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.'))
        && !s.ends_with('.')
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

fn is_gitlab_name(body: &str) -> bool {
    body.split('/').all(is_gitlab_segment)
}

/// The owner references GitLab reads from one whitespace-separated token, as byte ranges into the
/// token. GitLab scans owner text for references rather than validating whole tokens, so `@user,`
/// still yields `@user`; a token yielding none is a malformed owner.
pub(crate) fn gitlab_owner_refs(tok: &str) -> Vec<Range<usize>> {
    let whole = is_gitlab_role(tok)
        || is_email(tok)
        || tok
            .strip_prefix('@')
            .is_some_and(|b| !b.starts_with('@') && is_gitlab_name(b));
    if whole {
        return std::iter::once(0..tok.len()).collect();
    }
    let mut refs = Vec::new();
    let bytes = tok.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let prev_ok = i == 0
            || !(bytes[i - 1].is_ascii_alphanumeric() || matches!(bytes[i - 1], b'_' | b'@'));
        if bytes[i] == b'@' && prev_ok && bytes.get(i + 1) != Some(&b'@') {
            let start = i + 1;
            let mut end = start;
            while end < bytes.len()
                && (bytes[end].is_ascii_alphanumeric()
                    || matches!(bytes[end], b'_' | b'.' | b'-' | b'/'))
            {
                end += 1;
            }
            while end > start && matches!(bytes[end - 1], b'.' | b'/') {
                end -= 1;
            }
            // Stop at the first segment GitLab would not accept.
            let mut good = start;
            for seg in tok[start..end].split('/') {
                if !is_gitlab_segment(seg) {
                    break;
                }
                good = if good == start {
                    start + seg.len()
                } else {
                    good + 1 + seg.len()
                };
            }
            if good > start {
                refs.push(i..good);
                i = good;
                continue;
            }
        }
        i += 1;
    }
    if refs.is_empty() {
        let t = tok.trim_start_matches(['(', '<', '"', '\'']);
        let lead = tok.len() - t.len();
        let t = t.trim_end_matches([',', ';', ')', '>', '"', '\'', '.']);
        if is_email(t) {
            refs.push(lead..lead + t.len());
        }
    }
    refs
}

/// Whether an owner is a bot account: `*[bot]`, a user name ending in `bot` (which covers
/// `*-bot`), or a name listed in `extra` (case-insensitive, with or without `@`). Teams, roles and
/// emails are never bots unless listed in `extra`.
pub fn is_bot(owner: &str, extra: &[String]) -> bool {
    let bare = owner.trim_start_matches('@');
    if extra
        .iter()
        .any(|e| e.trim_start_matches('@').to_lowercase() == bare.to_lowercase())
    {
        return true;
    }
    let is_role = owner.starts_with("@@");
    let is_email = !owner.starts_with('@') && owner.contains('@');
    if is_role || is_email || bare.contains('/') {
        return false;
    }
    let lower = bare.to_ascii_lowercase();
    lower.ends_with("[bot]") || lower.ends_with("bot")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn github_owner_syntax() {
        for (tok, ok) in [
            ("@octocat", true),
            ("@octo-org/octocats", true),
            ("@org/team.name_x", true),
            ("@user_emu", true),
            ("@dependabot[bot]", true),
            ("docs@example.com", true),
            ("@@maintainer", false),
            ("@group/sub/sub", false),
            ("octocat", false),
            ("@", false),
            ("@-x", false),
            ("@org/", false),
            ("a@b", false),
            ("@a#b", false),
            ("#comment", false),
        ] {
            assert_eq!(github_owner_error(tok).is_none(), ok, "{tok}");
        }
        assert!(github_owner_error("@@developer").is_some_and(|m| m.contains("GitLab role")));
        assert!(github_owner_error("@a/b/c").is_some_and(|m| m.contains("nested group")));
    }

    #[test]
    fn gitlab_owner_references() {
        fn refs(t: &str) -> Vec<&str> {
            gitlab_owner_refs(t).into_iter().map(|r| &t[r]).collect()
        }
        for (tok, want) in [
            ("@user", vec!["@user"]),
            ("@group/sub/sub", vec!["@group/sub/sub"]),
            ("@@developer", vec!["@@developer"]),
            ("@@Maintainers", vec!["@@Maintainers"]),
            ("@@owner", vec!["@@owner"]),
            ("janedoe@gitlab.com", vec!["janedoe@gitlab.com"]),
            ("@user,", vec!["@user"]),
            ("(@a)", vec!["@a"]),
            ("<j@x.org>,", vec!["j@x.org"]),
            ("@@admin", vec![]),
            ("user", vec![]),
            ("#", vec![]),
            ("@", vec![]),
            ("@.", vec![]),
        ] {
            assert_eq!(refs(tok), want, "{tok}");
        }
    }

    #[test]
    fn bots() {
        let extra = vec!["@Release-Manager".to_string(), "ci@corp.com".to_string()];
        for (owner, want) in [
            ("@dependabot[bot]", true),
            ("@renovate-bot", true),
            ("@deploybot", true),
            ("@DeployBot", true),
            ("@release-manager", true),
            ("release-manager", true),
            ("ci@corp.com", true),
            ("@octocat", false),
            ("@bottle", false),
            ("@org/bot", false),
            ("@org/deploy-bot", false),
            ("bot@corp.com", false),
            ("@@maintainer", false),
        ] {
            assert_eq!(is_bot(owner, &extra), want, "{owner}");
        }
    }
}
