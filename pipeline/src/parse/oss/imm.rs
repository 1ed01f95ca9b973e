//! The `imm/` module: IMM's actions behind OSS URLs, one per process (`imm/detectface`).
//!
//! `detectface` takes no parameters; the vendor's own example URL spells it `detecface`,
//! which is read the same. `tagimage` (labels from an image classifier) and `previewdoc`
//! (documents as web pages) are refused as `NotImplemented`: this engine has neither.

use crate::ast::Pipeline;
use crate::error::PipelineError;
use crate::ops::info::Document;

/// Reads the body after `imm/`.
pub(super) fn parse(body: &str) -> Result<Pipeline, PipelineError> {
    let (name, arguments) = crate::parse::lex::split_action(body);
    match name {
        "detectface" | "detecface" => {
            if !arguments.is_empty() {
                return Err(PipelineError::invalid_argument(format!(
                    "imm/detectface: takes no parameters, got '{}'",
                    arguments.join(",")
                )));
            }
            let mut pipeline = Pipeline::default();
            pipeline.output.document = Some(Document::ImmDetectFace);
            Ok(pipeline)
        }
        "tagimage" => Err(PipelineError::not_implemented(
            "imm/tagimage: image labelling is not implemented (no image classifier is installed)",
        )),
        "previewdoc" => Err(PipelineError::not_implemented(
            "imm/previewdoc: document preview is not implemented",
        )),
        _ => Err(PipelineError::invalid_argument(format!(
            "imm: unknown action '{name}' (detectface, previewdoc, tagimage)"
        ))),
    }
}
