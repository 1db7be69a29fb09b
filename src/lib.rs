//! premortem: a static linter for the configuration and code patterns behind production incidents.

pub mod lang;
pub mod rules;
pub mod syntax;
