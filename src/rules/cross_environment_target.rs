//! The `cross-environment-target` rule.
