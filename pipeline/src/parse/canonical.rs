//! Reading the canonical form (see [`crate::ast`]) back into a [`Pipeline`]:
//! `parse(render(ast)) == ast`.
//!
//! This module only splits the text into actions; each action's arguments go to the reader
//! that lives with what it describes: a step's to its operation ([`Step::from_canonical`]), an
//! output setting's to the setting ([`crate::ast::OutputSettings`]), the `frame` to
//! [`crate::video::FrameGrab`]. Errors name the action, with the 0-based position of the
//! action after `image/` as the step.

use super::lex::split_action;
use crate::ast::{Pipeline, Step};
use crate::error::PipelineError;
use crate::video::{self, FrameGrab};

/// Reads the canonical form written by `Display for Pipeline`.
pub fn parse_canonical(text: &str) -> Result<Pipeline, PipelineError> {
    if text == "image" {
        return Ok(Pipeline::default());
    }
    let Some(body) = text.strip_prefix("image/") else {
        return Err(not_image(text));
    };
    let mut pipeline = Pipeline::default();
    let mut actions = 0;
    for (index, action) in body.split('/').enumerate() {
        read_action(action, &mut pipeline).map_err(|error| error.at_step(index))?;
        actions += 1;
    }
    pipeline.check_document_alone(actions)?;
    Ok(pipeline)
}

/// The error for a text that is no `image/` pipeline. The canonical form is OSS-shaped, and
/// its reader has always answered such a text as the OSS parser does; it still does.
fn not_image(text: &str) -> PipelineError {
    let module = text.split('/').next().unwrap_or_default();
    if matches!(module, "video" | "imm") {
        return PipelineError::not_implemented(format!(
            "the {module} module is not implemented; only image/ is"
        ));
    }
    PipelineError::invalid_argument(format!(
        "the process must start with image/ or style/, found '{text}'"
    ))
}

/// Reads one `name,arguments` action into `pipeline`.
fn read_action(text: &str, pipeline: &mut Pipeline) -> Result<(), PipelineError> {
    let (name, arguments) = split_action(text);
    if name == video::ACTION {
        if pipeline.frame.is_some() {
            return Err(PipelineError::invalid_argument("frame: given twice"));
        }
        pipeline.frame = Some(FrameGrab::from_canonical(&arguments)?);
        return Ok(());
    }
    if let Some(read) = pipeline.output.read_canonical(name, &arguments) {
        return read;
    }
    match Step::from_canonical(name, &arguments) {
        Some(step) => {
            pipeline.steps.push(step?);
            Ok(())
        }
        None if name.is_empty() => Err(PipelineError::invalid_argument(
            "empty action (check for '//' or a trailing '/')",
        )),
        None => Err(PipelineError::invalid_argument(format!(
            "unknown action '{name}'"
        ))),
    }
}
