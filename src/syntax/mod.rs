//! Parsers and lexers with byte spans. They know nothing about rules.

pub mod codeowners;
pub mod dsn;
pub mod kv;
pub mod sql;
pub mod yaml;
