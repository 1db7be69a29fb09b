//! Java test sources (placeholder until the Java analysis lands).

use super::{Context, FileAnalysis};

/// Analyse one Java file.
pub fn analyze(_source: &str, _ctx: &Context) -> Result<FileAnalysis, String> {
    Ok(FileAnalysis::default())
}
