//! Python.
use super::{Context, FileAnalysis};
/// Analyse one Python file.
pub fn analyze(_source: &str, _ctx: &Context) -> Result<FileAnalysis, String> {
    Ok(FileAnalysis::default())
}
