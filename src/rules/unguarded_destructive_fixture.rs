//! The `unguarded-destructive-fixture` rule.
