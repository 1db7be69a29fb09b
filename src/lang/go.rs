//! Go test sources (placeholder until the Go analysis lands).

use super::{Context, FileAnalysis};

/// Analyse one Go file.
pub fn analyze(_source: &str, _ctx: &Context) -> Result<FileAnalysis, String> {
    Ok(FileAnalysis::default())
}
