//! `bright` (OSS `bright,<value>`): lighten or darken the image.
//!
//! OSS: "\[value\] 指定图片的亮度, [-100, 100]; 取值<0 降低图片亮度, =0 不调整, >0 提高图片亮度";
//! the English page calls the value "the percentage by which you want to adjust brightness".
//! The vendor does not publish its curve, so Ferrotype defines it as ImageMagick's
//! `-brightness-contrast <value>x0` does: every colour channel moves by `value` percent of the
//! full range, `out = in + value * 255 / 100`, clamped to 0-255. `bright,50` lifts mid-grey 128
//! to 255 and black to 128; `bright,-50` takes white to 128; `bright,0` changes nothing. Alpha
//! is kept as it is.

use super::{map_colour_channels, Applied, Operation, Planned, StepContext, StepPlan};
use crate::codec::Raster;
use crate::error::PipelineError;
use crate::parse::lex::{signed_integer_in, single_value};
use std::fmt;

/// The action's name in the canonical form (OSS's).
pub(crate) const ACTION: &str = "bright";

/// The value range of both `bright` and `contrast` (OSS: [-100, 100]).
pub const ADJUST_RANGE: std::ops::RangeInclusive<i32> = -100..=100;

/// The arguments of a brightness step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Bright {
    /// -100 (darkest) to 100 (lightest); 0 leaves the image as it is.
    pub value: i32,
}

impl Bright {
    /// Reads the canonical form's value: `bright,<value>` (in [`ADJUST_RANGE`]).
    pub(crate) fn from_canonical(arguments: &[&str]) -> Result<Bright, PipelineError> {
        let value = single_value(ACTION, arguments)?;
        signed_integer_in(ACTION, value, ADJUST_RANGE).map(|value| Bright { value })
    }

    /// The channel mapping, as a table from input to output value.
    fn table(self) -> [u8; 256] {
        let shift = f64::from(self.value) * 255.0 / 100.0;
        let mut table = [0u8; 256];
        for (input, output) in table.iter_mut().enumerate() {
            *output = (input as f64 + shift).round().clamp(0.0, 255.0) as u8;
        }
        table
    }
}

/// Applies the brightness change; the size does not change.
pub fn apply(raster: Raster, bright: &Bright) -> Raster {
    map_colour_channels(raster, &bright.table())
}

impl Operation for Bright {
    fn action(&self) -> &'static str {
        ACTION
    }

    fn plan(&self, _input: (u32, u32), _context: &StepContext<'_>) -> Planned {
        Ok(StepPlan::InPlace)
    }

    fn apply(&self, raster: Raster, _plan: &StepPlan, _context: &StepContext<'_>) -> Applied {
        Ok(apply(raster, self))
    }
}

/// Canonical rendering: `bright,<value>` (OSS syntax).
impl fmt::Display for Bright {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{ACTION},{}", self.value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::PixelLayout;
    use crate::codec::Rgb;

    fn grey(level: u8) -> Raster {
        Raster::filled(
            4,
            2,
            PixelLayout::Rgb8,
            Rgb {
                r: level,
                g: level,
                b: level,
            },
        )
    }

    #[test]
    fn the_value_moves_every_channel_by_a_percentage_of_the_range() {
        // (value, input level, output level)
        let table = [
            (0, 128, 128),
            (0, 0, 0),
            (50, 128, 255),
            (50, 0, 128),
            (10, 128, 154),
            (-10, 128, 103),
            (-50, 255, 128),
            (-50, 100, 0),
            (100, 0, 255),
            (-100, 255, 0),
        ];
        for (value, input, output) in table {
            let result = apply(grey(input), &Bright { value });
            assert_eq!(
                result.pixel(3, 1),
                Some(&[output, output, output][..]),
                "bright,{value} on {input}"
            );
        }
    }

    #[test]
    fn lighter_is_lighter_and_alpha_is_kept() {
        let mut raster = Raster::filled(
            2,
            1,
            PixelLayout::Rgba8,
            Rgb {
                r: 10,
                g: 128,
                b: 200,
            },
        );
        raster.data_mut()[3] = 0;
        let result = apply(raster, &Bright { value: 20 });
        assert_eq!(result.pixel(0, 0), Some(&[61, 179, 251, 0][..]));
        assert_eq!(result.pixel(1, 0), Some(&[61, 179, 251, 255][..]));
    }

    #[test]
    fn the_canonical_form_reads_back() {
        let step = Bright { value: -5 };
        assert_eq!(step.to_string(), "bright,-5");
        assert_eq!(Bright::from_canonical(&["-5"]), Ok(step));
    }
}
