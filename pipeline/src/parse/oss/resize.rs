//! OSS `resize,m_<mode>,w_,h_,l_,s_,p_,limit_<0|1>,color_<RRGGBB>` (document 2.3), onto
//! [`crate::ops::resize::Resize`], whose module has the rules.

use crate::ast::{Pipeline, Step};
use crate::codec::Rgb;
use crate::error::PipelineError;
use crate::ops::resize::{
    take_face_gravity, Resize, ResizeMode, MODE_NAMES, OSS_SIDE_RANGE, PERCENT_RANGE,
};
use crate::parse::lex::Params;

/// Reads one `resize` action.
pub(super) fn read(arguments: &[&str], pipeline: &mut Pipeline) -> Result<(), PipelineError> {
    let mut params = Params::key_first("resize", arguments)?;
    let resize = Resize {
        mode: params
            .take_named("m", ResizeMode::from_name, MODE_NAMES)?
            .unwrap_or_default(),
        width: params.take_integer("w", OSS_SIDE_RANGE)?,
        height: params.take_integer("h", OSS_SIDE_RANGE)?,
        long_side: params.take_integer("l", OSS_SIDE_RANGE)?,
        short_side: params.take_integer("s", OSS_SIDE_RANGE)?,
        percent: params.take_integer("p", PERCENT_RANGE)?,
        // "limit_1" (the default) never enlarges.
        allow_enlarge: params.take_zero_or_one("limit")? == Some(false),
        color: params.take_colour("color")?.unwrap_or(Rgb::WHITE),
        keep_faces: take_face_gravity(&mut params)?,
    };
    params.finish()?;
    pipeline.steps.push(Step::Resize(resize.with_target()?));
    Ok(())
}
