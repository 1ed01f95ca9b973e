//! Qiniu `imageView2/<mode>/w/<W>/h/<H>/format/<f>/interlace/<0|1>/q/<q>[!]/ignore-error/<0|1>`:
//! an `auto-orient` step (imageView2 turns images upright by default: "imageView2缺省根据此字段的
//! 值进行自动旋转修正") then a [`crate::ops::image_view`] step. `q` follows the rules of
//! `imageMogr2/quality`; `colors` and `dither` are `NotImplemented`.

use super::values::quality;
use super::{next_value, push_auto_orient};
use crate::ast::{Pipeline, Step};
use crate::error::PipelineError;
use crate::ops::format::parse_argument;
use crate::ops::image_view::ImageView;
use crate::parse::lex::{integer_in, zero_or_one};

const VIEW: &str = "imageView2";

/// Reads the parameters after `imageView2/`.
pub(super) fn parse(parameters: &str, pipeline: &mut Pipeline) -> Result<(), PipelineError> {
    let parameters = parameters.strip_suffix('/').unwrap_or(parameters);
    let mut segments = parameters.split('/');
    let mode = match segments.next() {
        Some("") | None => {
            return Err(PipelineError::missing_argument(
                "imageView2: the mode is required (imageView2/<0-5>/w/<W>/h/<H>)",
            ))
        }
        Some(mode) => integer_in(VIEW, mode, mode, 0..=5)?,
    };
    let mut view = ImageView {
        mode: u8::try_from(mode).unwrap_or(0),
        width: None,
        height: None,
    };
    while let Some(name) = segments.next() {
        let action = format!("{VIEW}/{name}");
        let value = next_value(&action, &mut segments)?;
        read_parameter(name, &value, &mut view, pipeline)?;
    }
    push_auto_orient(pipeline);
    if view.width.is_some() || view.height.is_some() {
        pipeline.steps.push(Step::View(view));
    }
    Ok(())
}

/// One `name/value` parameter.
fn read_parameter(
    name: &str,
    value: &str,
    view: &mut ImageView,
    pipeline: &mut Pipeline,
) -> Result<(), PipelineError> {
    let action = format!("{VIEW}/{name}");
    let output = &mut pipeline.output;
    match name {
        "w" => view.width = Some(integer_in(&action, value, value, 1..=u32::MAX)?),
        "h" => view.height = Some(integer_in(&action, value, value, 1..=u32::MAX)?),
        "format" => {
            output.format = Some(parse_argument(&action, value)?);
            output.gif_requires_gif_source = false;
        }
        "interlace" => output.interlace = Some(zero_or_one(&action, value)?),
        "q" => output.quality = Some(quality(&action, value)?),
        "ignore-error" => output.ignore_error = zero_or_one(&action, value)?,
        "colors" | "dither" => {
            return Err(PipelineError::not_implemented(format!(
                "{action}: not implemented yet"
            )))
        }
        unknown => {
            return Err(PipelineError::invalid_argument(format!(
                "{VIEW}: unknown parameter '{unknown}'"
            )))
        }
    }
    Ok(())
}
