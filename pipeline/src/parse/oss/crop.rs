//! The OSS actions that cut: `crop,w_,h_,x_,y_,g_` (document 2.4.2), `indexcrop,x_|y_,i_`
//! (2.4.3), `circle,r_` (2.4.1) and `rounded-corners,r_` (2.4.4). The rules are in the
//! operations' modules ([`crate::ops::crop`], [`crate::ops::index_crop`],
//! [`crate::ops::circle`], [`crate::ops::rounded_corners`]).

use crate::ast::{Pipeline, Step};
use crate::error::PipelineError;
use crate::ops::circle::Circle;
use crate::ops::crop::OssCrop;
use crate::ops::gravity::{self, Gravity};
use crate::ops::index_crop::{Axis, IndexCrop};
use crate::ops::rounded_corners::{RoundedCorners, RADIUS_RANGE};
use crate::parse::lex::Params;
use std::ops::RangeInclusive;

/// `crop`: every parameter is optional.
pub(super) fn read_crop(arguments: &[&str], pipeline: &mut Pipeline) -> Result<(), PipelineError> {
    let mut params = Params::key_first("crop", arguments)?;
    let any = 0..=u32::MAX;
    // w_0 / h_0 (the bottom of "[0-图片宽度]") are the whole side, like leaving them out.
    let side = |value: Option<u32>| value.filter(|side| *side > 0);
    let crop = OssCrop {
        width: side(params.take_integer("w", any.clone())?),
        height: side(params.take_integer("h", any.clone())?),
        x: params.take_integer("x", any.clone())?.unwrap_or(0),
        y: params.take_integer("y", any)?.unwrap_or(0),
        // The origin's names are the canonical ones.
        gravity: params
            .take_named("g", Gravity::from_crop_name, gravity::CROP_NAMES)?
            .unwrap_or(Gravity::NorthWest),
    };
    params.finish()?;
    pipeline.steps.push(Step::OssCrop(crop));
    Ok(())
}

/// `indexcrop`: with both `x` and `y`, `y` takes effect (current vendor page); `i` defaults
/// to 0.
pub(super) fn read_index_crop(
    arguments: &[&str],
    pipeline: &mut Pipeline,
) -> Result<(), PipelineError> {
    let mut params = Params::key_first("indexcrop", arguments)?;
    let x = params.take_integer("x", 1..=u32::MAX)?;
    let y = params.take_integer("y", 1..=u32::MAX)?;
    let index = params.take_integer("i", 0..=u32::MAX)?.unwrap_or(0);
    params.finish()?;
    let (axis, length) = match (x, y) {
        (_, Some(length)) => (Axis::Y, length),
        (Some(length), None) => (Axis::X, length),
        (None, None) => {
            return Err(PipelineError::missing_argument(
                "indexcrop: one of x or y (the strip length) is required",
            ))
        }
    };
    pipeline.steps.push(Step::IndexCrop(IndexCrop {
        axis,
        length,
        index,
    }));
    Ok(())
}

/// `circle,r_<radius>`: no upper bound (a larger radius is the inscribed circle).
pub(super) fn read_circle(
    arguments: &[&str],
    pipeline: &mut Pipeline,
) -> Result<(), PipelineError> {
    let radius = read_radius("circle", arguments, 1..=u32::MAX)?;
    pipeline.steps.push(Step::Circle(Circle { radius }));
    Ok(())
}

/// `rounded-corners,r_<1-4096>`.
pub(super) fn read_rounded_corners(
    arguments: &[&str],
    pipeline: &mut Pipeline,
) -> Result<(), PipelineError> {
    let radius = read_radius("rounded-corners", arguments, RADIUS_RANGE)?;
    pipeline
        .steps
        .push(Step::RoundedCorners(RoundedCorners { radius }));
    Ok(())
}

/// The one required `r_` of `circle` and `rounded-corners`.
fn read_radius(
    action: &str,
    arguments: &[&str],
    range: RangeInclusive<u32>,
) -> Result<u32, PipelineError> {
    let mut params = Params::key_first(action, arguments)?;
    let radius = params
        .take_integer("r", range)?
        .ok_or_else(|| PipelineError::missing_argument(format!("{action}: r is required")))?;
    params.finish()?;
    Ok(radius)
}
