//! premortem: a static linter for the configuration and code patterns behind production incidents.

pub mod baseline;
pub mod classify;
pub mod cli;
pub mod config;
pub mod diff;
pub mod engine;
pub mod env;
pub mod finding;
pub mod git;
pub mod hook;
pub mod lang;
pub mod meta;
pub mod report;
pub mod rules;
pub mod source;
pub mod suppress;
pub mod syntax;
pub mod targets;
