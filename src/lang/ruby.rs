//! Ruby test sources (placeholder until the Ruby analysis lands).

use super::{Context, FileAnalysis};

/// Analyse one Ruby file.
pub fn analyze(_source: &str, _ctx: &Context) -> Result<FileAnalysis, String> {
    Ok(FileAnalysis::default())
}
