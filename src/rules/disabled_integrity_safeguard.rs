//! The `disabled-integrity-safeguard` rule.
