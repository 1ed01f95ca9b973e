//! Qiniu `imageView2/<mode>/w/<W>/h/<H>`: the six thumbnail modes.
//!
//! | mode | w / h mean | fit | crop |
//! |---|---|---|---|
//! | 0 | long / short side at most | inside | no |
//! | 1 | width / height at least | cover | centre, to w x h |
//! | 2 | width / height at most | inside | no |
//! | 3 | width / height at least | cover | no |
//! | 4 | long / short side at least | cover | no |
//! | 5 | long / short side at least | cover | centre, to long x short |
//!
//! Rules of the document: the result is never larger than the source ("新图的宽/高/长边/短边，
//! 不会比原图大，即本接口总是缩小图片"); a side left out is unbounded where w/h are maxima
//! (modes 0, 2) and equal to the given one where they are minima (modes 1, 3, 4, 5: a
//! square). "Long" and "short" follow the source: on a portrait source `w` bounds the height.
//!
//! When the covering scale would enlarge, the scale is 1 and a cropping mode crops what it
//! can: mode 1 with 200x1000 on 640x427 keeps a centred 200x427. Results are limited to 9999
//! px per side and 24,999,999 px in total (Qiniu's imageView2 output limits).

use super::resize::{scale_side, ResizePlan};
use super::{Applied, Operation, Planned, StepContext, StepPlan};
use crate::codec::Raster;
use crate::error::PipelineError;
use crate::parse::lex::Params;
use std::fmt;

/// The action's name in the canonical form (an extension).
pub(crate) const ACTION: &str = "view";

/// Largest side of an imageView2 result.
pub const MAX_OUTPUT_SIDE: u32 = 9_999;

/// Largest area of an imageView2 result.
pub const MAX_OUTPUT_PIXELS: u64 = 24_999_999;

/// The arguments of an imageView2 step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ImageView {
    /// The mode, 0-5.
    pub mode: u8,
    /// `w`: width, or the long side in modes 0, 4, 5.
    pub width: Option<u32>,
    /// `h`: height, or the short side in modes 0, 4, 5.
    pub height: Option<u32>,
}

/// Plans the thumbnail for an input of `input` size.
pub fn plan(view: &ImageView, input: (u32, u32)) -> Result<ResizePlan, PipelineError> {
    let (src_w, src_h) = input;
    let (bound_w, bound_h) = bounds(view, input);
    if bound_w.is_none() && bound_h.is_none() {
        return Ok(ResizePlan::Keep);
    }
    let Some((numerator, denominator)) = scale_factor(view, input, (bound_w, bound_h)) else {
        return Ok(ResizePlan::Keep);
    };
    let (scaled_w, scaled_h) = if numerator >= denominator {
        (src_w, src_h)
    } else {
        (
            scale_side(src_w, numerator, denominator),
            scale_side(src_h, numerator, denominator),
        )
    };
    let crops = matches!(view.mode, 1 | 5);
    let (out_w, out_h) = if crops {
        (
            bound_w.map_or(scaled_w, |bound| bound.min(scaled_w)),
            bound_h.map_or(scaled_h, |bound| bound.min(scaled_h)),
        )
    } else {
        (scaled_w, scaled_h)
    };
    if u64::from(out_w.max(out_h)) > u64::from(MAX_OUTPUT_SIDE)
        || u64::from(out_w) * u64::from(out_h) > MAX_OUTPUT_PIXELS
    {
        return Err(PipelineError::image_too_large(format!(
            "imageView2: the result would be {out_w}x{out_h}, over the limits of \
             {MAX_OUTPUT_SIDE} px per side and {MAX_OUTPUT_PIXELS} px in total"
        )));
    }
    Ok(if (out_w, out_h) == input {
        ResizePlan::Keep
    } else if crops && (out_w, out_h) != (scaled_w, scaled_h) {
        ResizePlan::Fill {
            width: out_w,
            height: out_h,
        }
    } else {
        ResizePlan::Scale {
            width: out_w,
            height: out_h,
        }
    })
}

/// Whether the mode's `w`/`h` are minima (cover) rather than maxima (fit inside).
fn is_minimum(view: &ImageView) -> bool {
    matches!(view.mode, 1 | 3 | 4 | 5)
}

/// The bounds on the result's width and height: modes 0, 4, 5 speak of long and short sides,
/// turned into width and height by the source's orientation; a side left out is the given
/// one where the bounds are minima (a square).
fn bounds(view: &ImageView, (src_w, src_h): (u32, u32)) -> (Option<u32>, Option<u32>) {
    let portrait = src_h > src_w;
    let (bound_w, bound_h) = match view.mode {
        0 | 4 | 5 if portrait => (view.height, view.width),
        _ => (view.width, view.height),
    };
    if !is_minimum(view) {
        return (bound_w, bound_h);
    }
    match (bound_w, bound_h) {
        (Some(w), None) => (Some(w), Some(w)),
        (None, Some(h)) => (Some(h), Some(h)),
        other => other,
    }
}

/// The scale factor as a fraction numerator / denominator (a bound over the source side it
/// applies to): the larger of the two for minima, the smaller for maxima.
fn scale_factor(
    view: &ImageView,
    (src_w, src_h): (u32, u32),
    (bound_w, bound_h): (Option<u32>, Option<u32>),
) -> Option<(u32, u32)> {
    let ratio = |bound: Option<u32>, side: u32| bound.map(|bound| (bound, side));
    let candidates = [ratio(bound_w, src_w), ratio(bound_h, src_h)];
    let is_less = |a: (u32, u32), b: (u32, u32)| {
        u64::from(a.0) * u64::from(b.1) < u64::from(b.0) * u64::from(a.1)
    };
    let minimum = is_minimum(view);
    candidates.into_iter().flatten().reduce(|a, b| {
        let pick_b = if minimum {
            is_less(a, b)
        } else {
            is_less(b, a)
        };
        if pick_b {
            b
        } else {
            a
        }
    })
}

impl ImageView {
    /// Reads the canonical form's arguments (`m_`, `w_`, `h_`).
    pub(crate) fn from_canonical(arguments: &[&str]) -> Result<ImageView, PipelineError> {
        let mut args = Params::key_first(ACTION, arguments)?;
        let mode: u8 = args.take_parsed("m")?.unwrap_or(0);
        if mode > 5 {
            return Err(PipelineError::invalid_argument(format!(
                "view: m_{mode} is not a mode 0-5"
            )));
        }
        let view = ImageView {
            mode,
            width: args.take_parsed("w")?,
            height: args.take_parsed("h")?,
        };
        args.finish()?;
        Ok(view)
    }
}

impl Operation for ImageView {
    fn action(&self) -> &'static str {
        ACTION
    }

    fn plan(&self, input: (u32, u32), _context: &StepContext<'_>) -> Planned {
        plan(self, input).map(StepPlan::Resize)
    }

    fn apply(&self, raster: Raster, plan: &StepPlan, context: &StepContext<'_>) -> Applied {
        super::apply_resample(ACTION, raster, plan, context.deadline)
    }
}

/// Canonical rendering (an extension): `view,m_<mode>[,w_<w>][,h_<h>]`.
impl fmt::Display for ImageView {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "view,m_{}", self.mode)?;
        if let Some(width) = self.width {
            write!(f, ",w_{width}")?;
        }
        if let Some(height) = self.height {
            write!(f, ",h_{height}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn size(mode: u8, width: Option<u32>, height: Option<u32>, input: (u32, u32)) -> (u32, u32) {
        let view = ImageView {
            mode,
            width,
            height,
        };
        plan(&view, input)
            .unwrap_or_else(|error| panic!("{view}: {error}"))
            .output_size(input)
    }

    const LANDSCAPE: (u32, u32) = (640, 427);
    const PORTRAIT: (u32, u32) = (427, 640);

    #[test]
    fn every_mode_with_one_and_two_sides_on_landscape_and_portrait_sources() {
        let (w, h) = (Some(200), Some(100));
        let table = [
            // mode 0: long <= w, short <= h.
            (0, w, h, LANDSCAPE, (150, 100)),
            (0, w, h, PORTRAIT, (100, 150)),
            (0, w, None, LANDSCAPE, (200, 133)),
            (0, w, None, PORTRAIT, (133, 200)),
            (0, None, h, LANDSCAPE, (150, 100)),
            (0, None, h, PORTRAIT, (100, 150)),
            // mode 1: cover w x h, crop the centre; one side = a square.
            (1, Some(200), Some(200), LANDSCAPE, (200, 200)),
            (1, w, h, LANDSCAPE, (200, 100)),
            (1, w, h, PORTRAIT, (200, 100)),
            (1, w, None, LANDSCAPE, (200, 200)),
            (1, None, h, PORTRAIT, (100, 100)),
            // mode 2: width <= w, height <= h (the document's 200x133 and 300x200).
            (2, Some(200), None, LANDSCAPE, (200, 133)),
            (2, None, Some(200), LANDSCAPE, (300, 200)),
            (2, w, h, LANDSCAPE, (150, 100)),
            (2, w, h, PORTRAIT, (67, 100)),
            (2, Some(200), None, PORTRAIT, (200, 300)),
            (2, None, Some(200), PORTRAIT, (133, 200)),
            // mode 3: width >= w, height >= h, no crop; one side = a square.
            (3, w, h, LANDSCAPE, (200, 133)),
            (3, w, h, PORTRAIT, (200, 300)),
            (3, w, None, LANDSCAPE, (300, 200)),
            (3, None, h, PORTRAIT, (100, 150)),
            // mode 4: long >= w, short >= h, no crop.
            (4, w, h, LANDSCAPE, (200, 133)),
            (4, w, h, PORTRAIT, (133, 200)),
            (4, Some(300), Some(100), LANDSCAPE, (300, 200)),
            (4, w, None, PORTRAIT, (200, 300)),
            (4, None, h, LANDSCAPE, (150, 100)),
            // mode 5: mode 4, then crop to long x short.
            (5, w, h, LANDSCAPE, (200, 100)),
            (5, w, h, PORTRAIT, (100, 200)),
            (5, w, None, LANDSCAPE, (200, 200)),
            (5, None, h, PORTRAIT, (100, 100)),
        ];
        for (mode, width, height, input, expected) in table {
            assert_eq!(
                size(mode, width, height, input),
                expected,
                "mode {mode} w {width:?} h {height:?} on {input:?}"
            );
        }
    }

    #[test]
    fn never_enlarges() {
        for mode in 0..=5 {
            assert_eq!(
                size(mode, Some(1000), Some(1000), LANDSCAPE),
                LANDSCAPE,
                "mode {mode}"
            );
            assert_eq!(size(mode, Some(2000), None, PORTRAIT), PORTRAIT, "{mode}");
        }
        // A cropping mode whose box is larger on one side crops only the other.
        assert_eq!(size(1, Some(200), Some(1000), LANDSCAPE), (200, 427));
        assert_eq!(size(5, Some(1000), Some(200), PORTRAIT), (200, 640));
    }

    #[test]
    fn results_over_9999_or_25_megapixels_are_refused() {
        let view = ImageView {
            mode: 2,
            width: Some(12_000),
            height: None,
        };
        assert!(plan(&view, (20_000, 1_000)).is_err());
        let view = ImageView {
            mode: 2,
            width: Some(9_000),
            height: None,
        };
        assert!(plan(&view, (9_500, 9_000)).is_err());
        assert!(plan(&view, (9_000, 100)).is_ok());
    }
}
