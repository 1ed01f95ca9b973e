//! `crop` (Qiniu `imageMogr2/crop`, and the model for OSS `crop`): cut a region out.
//!
//! A [`Crop`] names the region's size (a side left out is the whole side) and where it sits:
//! the box is placed at its [`Gravity`] anchor in the image, moved by `dx` to the right and
//! `dy` down (negative values move left and up), and then clipped to the image. Clipping is
//! what gives Qiniu's documented results: on a 640x427 image `!300x300a30-100` (box at
//! x=30, y=-100) keeps 300x200 and `!300x300-30a100` keeps 270x300.
//!
//! A region that misses the image entirely is `InvalidArgument`.

use super::gravity::Gravity;
use super::{CanonicalArgs, Region};
use crate::codec::Raster;
use crate::error::PipelineError;
use std::fmt;

/// The arguments of a crop step.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Crop {
    /// Width of the region; `None` is the image's width.
    pub width: Option<u32>,
    /// Height of the region; `None` is the image's height.
    pub height: Option<u32>,
    /// Where the region is anchored before the offsets apply.
    pub gravity: Gravity,
    /// Pixels to the right of the anchored position (negative: to the left).
    pub dx: i64,
    /// Pixels below the anchored position (negative: above).
    pub dy: i64,
}

/// Plans the crop on an input of `input` size: the region of the input that is kept.
pub fn plan(crop: &Crop, input: (u32, u32)) -> Result<Region, PipelineError> {
    let size = (
        crop.width.unwrap_or(input.0),
        crop.height.unwrap_or(input.1),
    );
    let (x, y) = crop.gravity.origin(input, size);
    let (left, top) = (x.saturating_add(crop.dx), y.saturating_add(crop.dy));
    let right = left
        .saturating_add(i64::from(size.0))
        .min(i64::from(input.0));
    let bottom = top
        .saturating_add(i64::from(size.1))
        .min(i64::from(input.1));
    let (left, top) = (left.max(0), top.max(0));
    if right <= left || bottom <= top {
        return Err(PipelineError::invalid_argument(format!(
            "crop: the region {}x{} at ({}, {}) lies outside the {}x{} image",
            size.0,
            size.1,
            x.saturating_add(crop.dx),
            y.saturating_add(crop.dy),
            input.0,
            input.1
        )));
    }
    // All four values are now within 0..=u32::MAX because they are within the input.
    let to_u32 = |value: i64| u32::try_from(value).unwrap_or(u32::MAX);
    Ok(Region {
        x: to_u32(left),
        y: to_u32(top),
        width: to_u32(right - left),
        height: to_u32(bottom - top),
    })
}

/// Copies the planned region out of `raster`.
pub fn apply(raster: &Raster, region: &Region) -> Result<Raster, PipelineError> {
    region.extract(raster)
}

impl Crop {
    /// Reads the canonical form's arguments (`w_`, `h_`, `g_`, `dx_`, `dy_`).
    pub(crate) fn from_canonical(mut args: CanonicalArgs<'_>) -> Result<Crop, PipelineError> {
        let crop = Crop {
            width: args.take_parsed("w")?,
            height: args.take_parsed("h")?,
            gravity: match args.take("g") {
                None => Gravity::NorthWest,
                Some(name) => Gravity::from_oss_name(name).ok_or_else(|| {
                    PipelineError::invalid_argument(format!("crop: g_{name} is not a gravity"))
                })?,
            },
            dx: args.take_parsed("dx")?.unwrap_or(0),
            dy: args.take_parsed("dy")?.unwrap_or(0),
        };
        args.finish()?;
        Ok(crop)
    }
}

/// Canonical rendering: `crop` then `w_`, `h_`, `g_`, `dx_`, `dy_`, each only when not at its
/// default.
impl fmt::Display for Crop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("crop")?;
        if let Some(width) = self.width {
            write!(f, ",w_{width}")?;
        }
        if let Some(height) = self.height {
            write!(f, ",h_{height}")?;
        }
        if self.gravity != Gravity::NorthWest {
            write!(f, ",g_{}", self.gravity)?;
        }
        if self.dx != 0 {
            write!(f, ",dx_{}", self.dx)?;
        }
        if self.dy != 0 {
            write!(f, ",dy_{}", self.dy)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;

    #[test]
    fn clipping_to_the_image() {
        let crop = Crop {
            width: Some(300),
            height: Some(300),
            dx: 500,
            ..Crop::default()
        };
        let region = plan(&crop, (640, 427)).unwrap();
        assert_eq!(
            (region.x, region.y, region.width, region.height),
            (500, 0, 140, 300)
        );
        let outside = Crop {
            dx: 640,
            ..Crop::default()
        };
        assert_eq!(
            plan(&outside, (640, 427)).unwrap_err().code,
            ErrorCode::InvalidArgument
        );
    }
}
