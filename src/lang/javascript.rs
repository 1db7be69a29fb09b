//! JavaScript.
use super::{Context, FileAnalysis, Lang};
/// Analyse one JS file.
pub fn analyze(_lang: Lang, _source: &str, _ctx: &Context) -> Result<FileAnalysis, String> {
    Ok(FileAnalysis::default())
}
