//! `sharpen` (OSS `sharpen,<value>`, Qiniu `imageMogr2/sharpen/1`): an unsharp mask.
//!
//! OSS: "\[value\] 设置锐化效果的强度, \[50,399\]; 取值越大，图片越清晰，但过大的值可能会导致图片失真。
//! 为达到较优效果，推荐取值为100". Qiniu's `sharpen/<0|1>` only switches sharpening on
//! ("当设置值为1时打开锐化效果"); the Qiniu parser maps `1` to OSS's recommended 100 and `0` to
//! no step.
//!
//! Neither vendor publishes its filter, so Ferrotype defines it: each colour channel gains
//! `value / 100` times its difference from a Gaussian blur of radius 2 and sigma 1
//! ([`super::blur`]): `out = in + value / 100 * (in - blurred)`, clamped to 0-255. Flat areas do
//! not change; an edge gets darker on its dark side and lighter on its light side, more so as
//! the value grows (50 adds half the difference, 399 almost four times). Alpha is kept.

use super::blur::{self, Blur};
use super::{Applied, Operation, Planned, StepContext, StepPlan};
use crate::codec::Raster;
use crate::error::PipelineError;
use crate::parse::lex::{integer_in, single_value};
use crate::resources::Deadline;
use std::fmt;

/// The action's name in the canonical form (OSS's).
pub(crate) const ACTION: &str = "sharpen";

/// OSS's range ("\[50,399\]").
pub const SHARPEN_RANGE: std::ops::RangeInclusive<u32> = 50..=399;

/// The strength Qiniu's `sharpen/1` stands for: OSS's recommended value.
pub const RECOMMENDED: u32 = 100;

/// The blur the mask subtracts: radius 2, sigma 1 px (detail at the scale of a pixel or two).
const MASK_BLUR: Blur = Blur {
    radius: 2,
    sigma_milli: 1000,
};

/// The arguments of a sharpen step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Sharpen {
    /// The strength, 50-399, in hundredths of the difference added back.
    pub value: u32,
}

impl Sharpen {
    /// Reads the canonical form's value: `sharpen,<value>` (50-399).
    pub(crate) fn from_canonical(arguments: &[&str]) -> Result<Sharpen, PipelineError> {
        let value = single_value(ACTION, arguments)?;
        integer_in(ACTION, value, value, SHARPEN_RANGE).map(|value| Sharpen { value })
    }
}

/// Sharpens `raster`; the size does not change.
pub fn apply(
    raster: Raster,
    sharpen: &Sharpen,
    deadline: Deadline,
) -> Result<Raster, PipelineError> {
    let blurred = blur::apply(&raster, &MASK_BLUR, deadline)?;
    let amount = f64::from(sharpen.value) / 100.0;
    let channels = raster.layout().bytes_per_pixel();
    let has_alpha = raster.layout().has_alpha();
    let mut result = raster;
    for (index, (value, soft)) in result.data_mut().iter_mut().zip(blurred.data()).enumerate() {
        if has_alpha && index % channels == 3 {
            continue;
        }
        let original = f64::from(*value);
        let sharpened = original + amount * (original - f64::from(*soft));
        *value = sharpened.round().clamp(0.0, 255.0) as u8;
    }
    Ok(result)
}

impl Operation for Sharpen {
    fn action(&self) -> &'static str {
        ACTION
    }

    fn plan(&self, _input: (u32, u32), _context: &StepContext<'_>) -> Planned {
        Ok(StepPlan::InPlace)
    }

    fn apply(&self, raster: Raster, _plan: &StepPlan, context: &StepContext<'_>) -> Applied {
        apply(raster, self, context.deadline)
    }

    /// The mask's blur, and the blurred raster it subtracts.
    fn scratch_bytes(&self, input: (u32, u32)) -> u64 {
        MASK_BLUR.scratch_bytes(input) + super::pixels(input) * 4
    }
}

/// Canonical rendering: `sharpen,<value>` (OSS syntax).
impl fmt::Display for Sharpen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{ACTION},{}", self.value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::PixelLayout;
    use crate::codec::Rgb;

    /// A 20x3 image: grey 100 on the left half, grey 150 on the right.
    fn edge(layout: PixelLayout) -> Raster {
        let mut raster = Raster::filled(
            20,
            3,
            layout,
            Rgb {
                r: 100,
                g: 100,
                b: 100,
            },
        );
        let size = layout.bytes_per_pixel();
        for y in 0..3 {
            for x in 10..20 {
                let start = (y * 20 + x) * size;
                raster.data_mut()[start..start + 3].copy_from_slice(&[150, 150, 150]);
            }
        }
        raster
    }

    #[test]
    fn flat_areas_stay_and_edges_overshoot_more_as_the_value_grows() {
        let flat = Raster::filled(
            8,
            8,
            PixelLayout::Rgb8,
            Rgb {
                r: 90,
                g: 40,
                b: 200,
            },
        );
        assert_eq!(
            apply(flat.clone(), &Sharpen { value: 399 }, Deadline::default()).unwrap(),
            flat
        );

        let mut previous_gap = 50;
        for value in [50, 100, 200, 399] {
            let sharpened = apply(
                edge(PixelLayout::Rgb8),
                &Sharpen { value },
                Deadline::default(),
            )
            .unwrap();
            let at = |x| sharpened.pixel(x, 1).unwrap()[0];
            // Far from the edge nothing changes.
            assert_eq!((at(0), at(19)), (100, 150), "sharpen,{value}");
            // Next to it, the dark side darkens and the light side lightens.
            assert!(
                at(9) < 100 && at(10) > 150,
                "sharpen,{value}: {} {}",
                at(9),
                at(10)
            );
            let gap = i32::from(at(10)) - i32::from(at(9));
            assert!(
                gap > previous_gap,
                "sharpen,{value}: {gap} after {previous_gap}"
            );
            previous_gap = gap;
        }
    }

    #[test]
    fn alpha_is_kept() {
        let mut raster = edge(PixelLayout::Rgba8);
        raster.data_mut()[3] = 7;
        let sharpened = apply(raster, &Sharpen { value: 100 }, Deadline::default()).unwrap();
        assert_eq!(sharpened.pixel(0, 0).map(|pixel| pixel[3]), Some(7));
        assert_eq!(sharpened.pixel(9, 1).map(|pixel| pixel[3]), Some(255));
    }

    #[test]
    fn the_canonical_form_reads_back() {
        let step = Sharpen { value: 100 };
        assert_eq!(step.to_string(), "sharpen,100");
        assert_eq!(Sharpen::from_canonical(&["100"]), Ok(step));
    }
}
