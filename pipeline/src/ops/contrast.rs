//! `contrast` (OSS `contrast,<value>`): spread the tones apart or pull them together.
//!
//! OSS: "\[value\] 指定图片的对比度, [-100,100]; 取值<0 降低图片对比度, =0 维持原图对比度, >0
//! 提高图片对比度". The vendor does not publish its curve, so Ferrotype uses ImageMagick's
//! `-brightness-contrast 0x<value>` definition: with channels scaled to 0-1, a straight line
//! through mid-grey whose slope is `tan(pi * (value / 100 + 1) / 4)`:
//! `out = slope * (in - 0.5) + 0.5`, clamped. `contrast,0` has slope 1 (identity); `-100` has
//! slope 0 (every channel becomes mid-grey, 128); `100` has an infinite slope (a threshold at
//! mid-grey: channels below 128 become 0, the others 255); `50` has slope 2.414. Alpha is kept.

use super::bright::ADJUST_RANGE;
use super::{map_colour_channels, Applied, Operation, Planned, StepContext, StepPlan};
use crate::codec::Raster;
use crate::error::PipelineError;
use crate::parse::lex::{signed_integer_in, single_value};
use std::f64::consts::PI;
use std::fmt;

/// The action's name in the canonical form (OSS's).
pub(crate) const ACTION: &str = "contrast";

/// The arguments of a contrast step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Contrast {
    /// -100 (flat grey) to 100 (black and white); 0 leaves the image as it is.
    pub value: i32,
}

impl Contrast {
    /// Reads the canonical form's value: `contrast,<value>` (-100 to 100).
    pub(crate) fn from_canonical(arguments: &[&str]) -> Result<Contrast, PipelineError> {
        let value = single_value(ACTION, arguments)?;
        signed_integer_in(ACTION, value, ADJUST_RANGE).map(|value| Contrast { value })
    }

    /// The channel mapping, as a table from input to output value.
    fn table(self) -> [u8; 256] {
        let slope = (PI * (f64::from(self.value) / 100.0 + 1.0) / 4.0)
            .tan()
            .max(0.0);
        let mut table = [0u8; 256];
        for (input, output) in table.iter_mut().enumerate() {
            let level = input as f64 / 255.0;
            let mapped = slope * (level - 0.5) + 0.5;
            *output = (mapped * 255.0).round().clamp(0.0, 255.0) as u8;
        }
        table
    }
}

/// Applies the contrast change; the size does not change.
pub fn apply(raster: Raster, contrast: &Contrast) -> Raster {
    map_colour_channels(raster, &contrast.table())
}

impl Operation for Contrast {
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

/// Canonical rendering: `contrast,<value>` (OSS syntax).
impl fmt::Display for Contrast {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{ACTION},{}", self.value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::PixelLayout;
    use crate::codec::Rgb;

    fn level_after(value: i32, input: u8) -> u8 {
        let raster = Raster::filled(
            3,
            3,
            PixelLayout::Rgb8,
            Rgb {
                r: input,
                g: input,
                b: input,
            },
        );
        apply(raster, &Contrast { value }).pixel(1, 1).unwrap()[0]
    }

    #[test]
    fn tones_move_away_from_or_towards_mid_grey() {
        // (value, input level, output level)
        let table = [
            (0, 0, 0),
            (0, 64, 64),
            (0, 255, 255),
            // slope tan(3pi/8) = 2.414: 64 -> 0.251 -> 2.414 * -0.249 + 0.5 = -0.101 -> 0.
            (50, 64, 0),
            (50, 140, 158),
            (50, 115, 97),
            // slope tan(pi/8) = 0.414: 0 -> 0.293 -> 75; 255 -> 0.707 -> 180.
            (-50, 0, 75),
            (-50, 255, 180),
            (-100, 0, 128),
            (-100, 255, 128),
            (100, 127, 0),
            (100, 128, 255),
        ];
        for (value, input, output) in table {
            assert_eq!(
                level_after(value, input),
                output,
                "contrast,{value} on {input}"
            );
        }
    }

    #[test]
    fn more_contrast_spreads_a_light_and_a_dark_grey_further_apart() {
        let spread = |value| i32::from(level_after(value, 160)) - i32::from(level_after(value, 96));
        assert_eq!(spread(0), 64);
        assert!(spread(20) > spread(0) && spread(60) > spread(20));
        assert!(spread(-20) < spread(0) && spread(-60) < spread(-20));
    }

    #[test]
    fn the_canonical_form_reads_back() {
        let step = Contrast { value: 50 };
        assert_eq!(step.to_string(), "contrast,50");
        assert_eq!(Contrast::from_canonical(&["50"]), Ok(step));
    }
}
