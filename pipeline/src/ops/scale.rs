//! The Qiniu thumbnail geometries that are not an OSS `resize`: one side by percent
//! (`!<N>px`, `!x<N>p`), enlarge-only (`<W>x<H><`) and a pixel budget (`<Area>@`).
//!
//! | geometry | [`Scale`] | result on 640x427 |
//! |---|---|---|
//! | `!75px` | `WidthPercent(75)`: width x 75%, height kept | 480x427 |
//! | `!x75p` | `HeightPercent(75)`: height x 75%, width kept | 640x320 |
//! | `700x600<` | `EnlargeToFit`: fit inside the box, only if that enlarges | 700x467 |
//! | `350000@` | `MaxArea(350000)`: the largest proportional size with at most N px | 724x483 |
//!
//! Rules from the document: "若宽高超过10000时只能缩不能放" makes `<` with a side over 10000 a
//! no-op (it can only enlarge), and "若像素数超过25000000时只能缩不能放" keeps the source when
//! `@` would enlarge past 25 MP. `@` rounds both sides down so the budget is never exceeded.
//! Sides are rounded to the nearest pixel otherwise, and are at least 1.

use super::resize::{fit_inside, scale_side, ResizePlan, PERCENT_RANGE};
use super::{Applied, Operation, Planned, StepContext, StepPlan};
use crate::codec::Raster;
use crate::error::PipelineError;
use crate::limits::Limits;
use crate::parse::lex::Params;
use std::fmt;

/// The action's name in the canonical form.
pub(crate) const ACTION: &str = "scale";

/// Above this a side of `<W>x<H><` cannot enlarge.
const ENLARGE_MAX_SIDE: u32 = 10_000;

/// Above this an `<Area>@` may only shrink.
const ENLARGE_MAX_AREA: u64 = 25_000_000;

/// A Qiniu-only thumbnail geometry (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scale {
    /// `!<N>px`: the width scaled by N percent, the height kept.
    WidthPercent(u32),
    /// `!x<N>p`: the height scaled by N percent, the width kept.
    HeightPercent(u32),
    /// `<W>x<H><`: fit inside W x H (a side of 0 is free), but only when that enlarges.
    EnlargeToFit {
        /// Box width; 0 = not given.
        width: u32,
        /// Box height; 0 = not given.
        height: u32,
    },
    /// `<Area>@`: at most this many pixels, proportional.
    MaxArea(u64),
}

/// Plans the scale for an input of `input` size.
pub fn plan(
    scale: &Scale,
    input: (u32, u32),
    limits: &Limits,
) -> Result<ResizePlan, PipelineError> {
    let (width, height) = input;
    let target = match *scale {
        Scale::WidthPercent(percent) => (scale_side(width, percent, 100), height),
        Scale::HeightPercent(percent) => (width, scale_side(height, percent, 100)),
        Scale::EnlargeToFit {
            width: box_w,
            height: box_h,
        } => {
            if box_w > ENLARGE_MAX_SIDE || box_h > ENLARGE_MAX_SIDE {
                input
            } else {
                let fitted = match (box_w, box_h) {
                    (0, 0) => input,
                    (w, 0) => (w, scale_side(height, w, width)),
                    (0, h) => (scale_side(width, h, height), h),
                    (w, h) => fit_inside(input, w, h),
                };
                let enlarges = u64::from(fitted.0) * u64::from(fitted.1)
                    > u64::from(width) * u64::from(height);
                if enlarges {
                    fitted
                } else {
                    input
                }
            }
        }
        Scale::MaxArea(area) => {
            let pixels = u64::from(width) * u64::from(height);
            if area > pixels && area > ENLARGE_MAX_AREA {
                input
            } else {
                max_area_size(input, area)
            }
        }
    };
    if target == input {
        return Ok(ResizePlan::Keep);
    }
    limits.check_output_dimensions("thumbnail", target.0, target.1)?;
    Ok(ResizePlan::Scale {
        width: target.0,
        height: target.1,
    })
}

/// The largest proportional size with `width * height <= area` (at least 1x1).
fn max_area_size(input: (u32, u32), area: u64) -> (u32, u32) {
    let (width, height) = (f64::from(input.0), f64::from(input.1));
    let factor = (area as f64 / (width * height)).sqrt();
    let mut w = (width * factor).floor().max(1.0) as u64;
    let mut h = (height * factor).floor().max(1.0) as u64;
    // Floating-point error may leave one pixel too many.
    while w * h > area && w > 1 && h > 1 {
        if w * input.1 as u64 >= h * input.0 as u64 {
            w -= 1;
        } else {
            h -= 1;
        }
    }
    let clamp = |value: u64| u32::try_from(value).unwrap_or(u32::MAX);
    (clamp(w), clamp(h))
}

impl Scale {
    /// Reads the canonical form (`scale,wp_N`, `scale,hp_N`, `scale,ew_W,eh_H`, `scale,area_N`).
    pub(crate) fn from_canonical(arguments: &[&str]) -> Result<Scale, PipelineError> {
        let mut args = Params::key_first(ACTION, arguments)?;
        let percent = |value: Option<u32>| -> Result<Option<u32>, PipelineError> {
            match value {
                Some(value) if !PERCENT_RANGE.contains(&value) => {
                    Err(PipelineError::invalid_argument(format!(
                        "scale: {value} is out of range 1-1000"
                    )))
                }
                other => Ok(other),
            }
        };
        let scale = if let Some(value) = percent(args.take_parsed("wp")?)? {
            Scale::WidthPercent(value)
        } else if let Some(value) = percent(args.take_parsed("hp")?)? {
            Scale::HeightPercent(value)
        } else if let Some(area) = args.take_parsed("area")? {
            Scale::MaxArea(area)
        } else {
            let width = args.take_parsed("ew")?;
            let height = args.take_parsed("eh")?;
            if width.is_none() && height.is_none() {
                return Err(PipelineError::missing_argument(
                    "scale: one of wp, hp, area, ew, eh is required",
                ));
            }
            Scale::EnlargeToFit {
                width: width.unwrap_or(0),
                height: height.unwrap_or(0),
            }
        };
        args.finish()?;
        Ok(scale)
    }
}

impl Operation for Scale {
    fn action(&self) -> &'static str {
        ACTION
    }

    fn plan(&self, input: (u32, u32), context: &StepContext<'_>) -> Planned {
        plan(self, input, context.limits).map(StepPlan::Resize)
    }

    fn apply(&self, raster: Raster, plan: &StepPlan, context: &StepContext<'_>) -> Applied {
        super::apply_resample(ACTION, raster, plan, context.deadline)
    }
}

/// Canonical rendering (an extension: OSS has no such resize).
impl fmt::Display for Scale {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Scale::WidthPercent(percent) => write!(f, "scale,wp_{percent}"),
            Scale::HeightPercent(percent) => write!(f, "scale,hp_{percent}"),
            Scale::MaxArea(area) => write!(f, "scale,area_{area}"),
            Scale::EnlargeToFit { width, height } => {
                f.write_str(ACTION)?;
                if width > 0 {
                    write!(f, ",ew_{width}")?;
                }
                if height > 0 {
                    write!(f, ",eh_{height}")?;
                }
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn size(scale: Scale, input: (u32, u32)) -> (u32, u32) {
        plan(&scale, input, &Limits::default())
            .unwrap()
            .output_size(input)
    }

    #[test]
    fn each_geometry_on_the_gopher() {
        let gopher = (640, 427);
        assert_eq!(size(Scale::WidthPercent(75), gopher), (480, 427));
        assert_eq!(size(Scale::HeightPercent(75), gopher), (640, 320));
        let enlarge = |width, height| Scale::EnlargeToFit { width, height };
        assert_eq!(size(enlarge(700, 600), gopher), (700, 467));
        assert_eq!(size(enlarge(300, 300), gopher), gopher);
        assert_eq!(size(enlarge(700, 0), gopher), (700, 467));
        assert_eq!(size(enlarge(20_000, 20_000), gopher), gopher);
        let (w, h) = size(Scale::MaxArea(350_000), gopher);
        assert!(u64::from(w) * u64::from(h) <= 350_000, "{w}x{h}");
        assert_eq!((w, h), (724, 483));
        assert_eq!(size(Scale::MaxArea(100_000), gopher), (387, 258));
        // Over 25 MP an @ may only shrink.
        assert_eq!(size(Scale::MaxArea(30_000_000), gopher), gopher);
        assert_eq!(size(Scale::MaxArea(1), gopher), (1, 1));
    }
}
