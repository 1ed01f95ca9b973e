//! `indexcrop` (OSS `indexcrop,x_<len>|y_<len>,i_<index>`, document 2.4.3): slice the image
//! into strips of a given length and keep one.
//!
//! Vendor rules:
//! * `x_<len>` cuts along the x axis into strips `len` wide (full height); `y_<len>` cuts
//!   along the y axis into strips `len` high (full width). "x 参数与 y 参数只能任选其一"; the
//!   current vendor page adds that when both are given, `y` takes effect, which the parser
//!   follows. Neither is `MissingArgument`.
//! * `i` picks a strip, 0 being the first; it defaults to 0 (current vendor page).
//! * "如果指定的索引大于切割后范围，将返回原图": an index past the last strip keeps the image
//!   unchanged (`indexcrop,x_100,i_100`).
//!
//! The last strip is what is left, so it may be shorter than `len`; a length at least the
//! image's side makes one strip, the whole image.

use super::{Applied, Operation, Planned, Region, StepContext, StepPlan};
use crate::codec::Raster;
use crate::error::PipelineError;
use crate::parse::lex::Params;
use std::fmt;

/// The action's name in the canonical form (OSS's).
pub(crate) const ACTION: &str = "indexcrop";

/// The axis the image is cut along.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Axis {
    /// Strips side by side, `len` wide (`x_`).
    X,
    /// Strips one above the other, `len` high (`y_`).
    Y,
}

impl Axis {
    /// The parameter name (`x` or `y`).
    pub fn key(self) -> &'static str {
        match self {
            Axis::X => "x",
            Axis::Y => "y",
        }
    }
}

/// The arguments of an indexcrop step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IndexCrop {
    /// Which way the strips run.
    pub axis: Axis,
    /// The length of each strip along `axis` (at least 1).
    pub length: u32,
    /// The strip kept, 0 being the first.
    pub index: u32,
}

/// Plans the slice on an input of `input` size: the strip kept, or the whole image when the
/// index is past the last strip.
pub fn plan(crop: &IndexCrop, input: (u32, u32)) -> Region {
    let whole = Region {
        x: 0,
        y: 0,
        width: input.0,
        height: input.1,
    };
    let side = match crop.axis {
        Axis::X => input.0,
        Axis::Y => input.1,
    };
    let length = u64::from(crop.length.max(1));
    let start = u64::from(crop.index) * length;
    if start >= u64::from(side) {
        return whole;
    }
    let end = (start + length).min(u64::from(side));
    // Both are within the side, which is a u32.
    let start = u32::try_from(start).unwrap_or(0);
    let extent = u32::try_from(end).unwrap_or(side) - start;
    match crop.axis {
        Axis::X => Region {
            x: start,
            width: extent,
            ..whole
        },
        Axis::Y => Region {
            y: start,
            height: extent,
            ..whole
        },
    }
}

impl IndexCrop {
    /// Reads the canonical form's arguments (`x_` or `y_`, then `i_`).
    pub(crate) fn from_canonical(arguments: &[&str]) -> Result<IndexCrop, PipelineError> {
        let mut args = Params::key_first(ACTION, arguments)?;
        let x: Option<u32> = args.take_parsed("x")?;
        let y: Option<u32> = args.take_parsed("y")?;
        let index = args.take_parsed("i")?.unwrap_or(0);
        args.finish()?;
        let (axis, length) = match (x, y) {
            (Some(length), None) => (Axis::X, length),
            (None, Some(length)) => (Axis::Y, length),
            _ => {
                return Err(PipelineError::invalid_argument(
                    "indexcrop: the canonical form has exactly one of x or y",
                ))
            }
        };
        if length == 0 {
            return Err(PipelineError::invalid_argument(
                "indexcrop: the length must be at least 1",
            ));
        }
        Ok(IndexCrop {
            axis,
            length,
            index,
        })
    }
}

impl Operation for IndexCrop {
    fn action(&self) -> &'static str {
        ACTION
    }

    fn plan(&self, input: (u32, u32), _context: &StepContext<'_>) -> Planned {
        Ok(StepPlan::Crop(plan(self, input)))
    }

    fn apply(&self, raster: Raster, plan: &StepPlan, _context: &StepContext<'_>) -> Applied {
        super::apply_region(ACTION, &raster, plan)
    }
}

/// Canonical rendering: `indexcrop,x_<len>,i_<index>` or `indexcrop,y_...` (OSS syntax), `i_`
/// only when not 0.
impl fmt::Display for IndexCrop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{ACTION},{}_{}", self.axis.key(), self.length)?;
        if self.index != 0 {
            write!(f, ",i_{}", self.index)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_on_the_640x427_gopher() {
        let table = [
            // Document: x cut by 100, the first strip.
            (Axis::X, 100, 0, (0, 0, 100, 427)),
            // Document: the hundredth strip does not exist: the original.
            (Axis::X, 100, 100, (0, 0, 640, 427)),
            (Axis::X, 100, 5, (500, 0, 100, 427)),
            // The last strip is the remainder.
            (Axis::X, 100, 6, (600, 0, 40, 427)),
            (Axis::X, 100, 7, (0, 0, 640, 427)),
            (Axis::Y, 100, 0, (0, 0, 640, 100)),
            (Axis::Y, 100, 4, (0, 400, 640, 27)),
            (Axis::Y, 100, 5, (0, 0, 640, 427)),
            // A length past the side: one strip, the whole image.
            (Axis::X, 1000, 0, (0, 0, 640, 427)),
            (Axis::Y, u32::MAX, u32::MAX, (0, 0, 640, 427)),
        ];
        for (axis, length, index, (x, y, width, height)) in table {
            let crop = IndexCrop {
                axis,
                length,
                index,
            };
            assert_eq!(
                plan(&crop, (640, 427)),
                Region {
                    x,
                    y,
                    width,
                    height
                },
                "{crop}"
            );
        }
    }

    #[test]
    fn strips_end_to_end_keep_the_source_pixels() {
        use crate::ops::test_support::run_oss;
        let (_, source) = run_oss("image/format,png", "small-400x300.png");
        let table = [
            ("indexcrop,x_100,i_2", (100, 300), (200, 0)),
            ("indexcrop,x_150,i_2", (100, 300), (300, 0)),
            ("indexcrop,y_100,i_1", (400, 100), (0, 100)),
            // Document: an index past the last strip returns the original.
            ("indexcrop,x_100,i_100", (400, 300), (0, 0)),
            // Both axes: y takes effect.
            ("indexcrop,x_10,y_200,i_1", (400, 100), (0, 200)),
        ];
        for (spec, size, origin) in table {
            let (_, decoded) = run_oss(&format!("image/{spec}"), "small-400x300.png");
            assert_eq!(decoded.raster.dimensions(), size, "{spec}");
            assert_eq!(
                decoded.raster.pixel(0, 0),
                source.raster.pixel(origin.0, origin.1),
                "{spec}"
            );
            assert_eq!(
                decoded.raster.pixel(size.0 - 1, size.1 - 1),
                source
                    .raster
                    .pixel(origin.0 + size.0 - 1, origin.1 + size.1 - 1),
                "{spec}"
            );
        }
    }
}
