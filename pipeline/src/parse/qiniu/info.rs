//! Qiniu `imageInfo` (also spelled `imageinfo`) and `exif`: the result is a JSON document about
//! the source ([`crate::ops::info`]); the command may have no other processing step.

use crate::ast::Pipeline;
use crate::error::PipelineError;
use crate::ops::info::Document;

/// Reads the `name` command, which takes no parameters.
pub(super) fn parse(
    name: &str,
    parameters: &str,
    pipeline: &mut Pipeline,
) -> Result<(), PipelineError> {
    if !parameters.is_empty() {
        return Err(PipelineError::invalid_argument(format!(
            "{name}: takes no parameters"
        )));
    }
    pipeline.output.document = Some(if name == "exif" {
        Document::QiniuExif
    } else {
        Document::QiniuImageInfo
    });
    Ok(())
}
