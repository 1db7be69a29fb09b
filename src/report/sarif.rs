//! The `sarif` output format.
