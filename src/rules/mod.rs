//! The rules. One file per rule, holding only rule logic.

pub mod cross_environment_target;
pub mod disabled_integrity_safeguard;
pub mod literal_dsn;
pub mod unguarded_destructive_fixture;
pub mod unprotected_config_path;
pub mod unserialized_chain_trigger;
