//! The `human` output format.
