//! The `unserialized-chain-trigger` rule.
