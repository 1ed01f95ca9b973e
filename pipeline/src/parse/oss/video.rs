//! OSS `video/snapshot,t_<ms>,f_<jpg|png>[,w_<W>][,h_<H>][,m_fast][,ar_auto]` (document
//! section 3): the pipeline starts from a frame of a video source (see [`crate::video`] for the
//! vendor rules). The frame is described in [`Pipeline::frame`]; its size becomes a `resize`
//! step and `f` the output format.

use crate::ast::{Pipeline, Step};
use crate::codec::ImageFormat;
use crate::error::PipelineError;
use crate::ops::resize::{Resize, ResizeMode};
use crate::parse::lex::{split_action, Params};
use crate::video::{FrameGrab, PastEnd};

/// Parses what follows `video/`: `snapshot` is the module's one action.
pub(super) fn parse(body: &str) -> Result<Pipeline, PipelineError> {
    let (name, arguments) = split_action(body);
    if name != "snapshot" {
        return Err(PipelineError::not_implemented(format!(
            "video/{name}: only video/snapshot is implemented"
        )));
    }
    let mut params = Params::key_first("snapshot", &arguments)?;
    let any_value = 0..=u32::MAX;
    let offset_ms = params.take_integer("t", any_value.clone())?;
    let width = params.take_integer("w", any_value.clone())?;
    let height = params.take_integer("h", any_value)?;
    let keyframe = params.take_marker("m", "fast")?;
    let format = read_format(&mut params)?;
    let autorotate = read_autorotate(&mut params)?;
    params.finish()?;
    let offset_ms = offset_ms.ok_or_else(|| {
        PipelineError::missing_argument("snapshot: t (the time in ms) is required")
    })?;
    let mut pipeline = Pipeline {
        frame: Some(FrameGrab {
            offset_ms,
            keyframe,
            autorotate,
            past_end: PastEnd::Refuse,
        }),
        ..Pipeline::default()
    };
    // "如果指定为0则自动计算": 0 is as good as absent.
    let given = |side: Option<u32>| side.filter(|side| *side > 0);
    pipeline
        .steps
        .extend(frame_resize(given(width), given(height)).map(Step::Resize));
    pipeline.output.format = Some(format);
    Ok(pipeline)
}

/// `f_jpg` or `f_png`, required.
fn read_format(params: &mut Params<'_>) -> Result<ImageFormat, PipelineError> {
    match params.take("f") {
        Some("jpg") => Ok(ImageFormat::Jpeg),
        Some("png") => Ok(ImageFormat::Png),
        Some(other) => Err(PipelineError::invalid_argument(format!(
            "snapshot: f_{other} is not one of jpg, png"
        ))),
        None => Err(PipelineError::missing_argument(
            "snapshot: f (jpg or png) is required",
        )),
    }
}

/// `ar_auto`: turn the frame upright; the other documented values are not implemented.
fn read_autorotate(params: &mut Params<'_>) -> Result<bool, PipelineError> {
    match params.take("ar") {
        None => Ok(false),
        Some("auto") => Ok(true),
        Some(other @ ("w" | "h")) => Err(PipelineError::not_implemented(format!(
            "snapshot: ar_{other} is not implemented (only ar_auto)"
        ))),
        Some(other) => Err(PipelineError::invalid_argument(format!(
            "snapshot: ar_{other} is not valid (only ar_auto)"
        ))),
    }
}

/// The frame's size as a resize: one side keeps the aspect ratio; both: exactly w x h. The
/// range ends at the video's size, so the resize never enlarges (its default `limit_1`).
fn frame_resize(width: Option<u32>, height: Option<u32>) -> Option<Resize> {
    match (width, height) {
        (None, None) => None,
        (Some(_), Some(_)) => Some(Resize {
            mode: ResizeMode::Fixed,
            width,
            height,
            ..Resize::default()
        }),
        _ => Some(Resize {
            width,
            height,
            ..Resize::default()
        }),
    }
}
