//! The `unprotected-config-path` rule.
