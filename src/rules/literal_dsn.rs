//! The `literal-dsn` rule.
