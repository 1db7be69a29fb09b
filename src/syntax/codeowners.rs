//! CODEOWNERS parsing and matching with GitHub and GitLab semantics.
