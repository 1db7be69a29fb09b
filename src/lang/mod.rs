//! Test-source analysis: destructive operations, guards and scopes, one file per language.
