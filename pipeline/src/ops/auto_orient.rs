//! `auto-orient` (Qiniu `imageMogr2/auto-orient`, OSS `auto-orient,1`): turn the image upright
//! according to its EXIF `Orientation` tag.
//!
//! The decoder reads the tag (JPEG APP1, PNG eXIf, WebP EXIF, TIFF) into
//! [`crate::codec::decode::SourceInfo::orientation`]; pixels are never rotated on decode, so
//! without this step the result keeps the stored orientation (Qiniu's behaviour). The step
//! undoes the orientation of the *source*, wherever it appears in the pipeline (Qiniu advises
//! putting it first). The encoders write no EXIF, so the result cannot be rotated twice.

use super::{unexpected_plan, Applied, Operation, Planned, StepContext, StepPlan};
use crate::codec::Raster;
use crate::error::PipelineError;
use std::fmt;

/// The action's name in the canonical form (both vendors').
pub(crate) const ACTION: &str = "auto-orient";

/// The arguments of an auto-orient step: none, the source's EXIF orientation says it all
/// ([`crate::ast::Step::AutoOrient`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct AutoOrient;

impl AutoOrient {
    /// Reads the canonical form's value: `auto-orient,1` (OSS's spelling of "on").
    pub(crate) fn from_canonical(arguments: &[&str]) -> Result<AutoOrient, PipelineError> {
        match arguments {
            ["1"] => Ok(AutoOrient),
            _ => Err(PipelineError::invalid_argument(
                "auto-orient: the canonical form is auto-orient,1",
            )),
        }
    }
}

/// Canonical rendering: `auto-orient,1`.
impl fmt::Display for AutoOrient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{ACTION},1")
    }
}

impl Operation for AutoOrient {
    fn action(&self) -> &'static str {
        ACTION
    }

    fn plan(&self, _input: (u32, u32), context: &StepContext<'_>) -> Planned {
        Ok(StepPlan::Orient(Transform::from_exif(context.orientation)))
    }

    fn apply(&self, raster: Raster, plan: &StepPlan, _context: &StepContext<'_>) -> Applied {
        match plan {
            StepPlan::Orient(orient) => Ok(transform(&raster, *orient)),
            other => Err(unexpected_plan(ACTION, other)),
        }
    }
}

/// One of the eight EXIF orientations as the pixel transform that makes the image upright.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transform {
    /// Orientation 1 (or absent): nothing.
    Identity,
    /// Orientation 2: mirror left-right.
    FlipHorizontal,
    /// Orientation 3: half turn.
    Rotate180,
    /// Orientation 4: mirror top-bottom.
    FlipVertical,
    /// Orientation 5: mirror along the main diagonal.
    Transpose,
    /// Orientation 6: quarter turn clockwise.
    Rotate90,
    /// Orientation 7: mirror along the anti-diagonal.
    Transverse,
    /// Orientation 8: quarter turn counter-clockwise.
    Rotate270,
}

impl Transform {
    /// The transform that corrects EXIF orientation `tag`; unknown values do nothing.
    pub fn from_exif(tag: u8) -> Transform {
        match tag {
            2 => Transform::FlipHorizontal,
            3 => Transform::Rotate180,
            4 => Transform::FlipVertical,
            5 => Transform::Transpose,
            6 => Transform::Rotate90,
            7 => Transform::Transverse,
            8 => Transform::Rotate270,
            _ => Transform::Identity,
        }
    }

    /// Whether width and height trade places.
    pub fn swaps_sides(self) -> bool {
        matches!(
            self,
            Transform::Transpose
                | Transform::Rotate90
                | Transform::Transverse
                | Transform::Rotate270
        )
    }

    /// The size of the result for an input of `input` size.
    pub fn output_size(self, input: (u32, u32)) -> (u32, u32) {
        if self.swaps_sides() {
            (input.1, input.0)
        } else {
            input
        }
    }
}

/// Applies `transform` to `raster` (a pure re-indexing of pixels).
pub fn transform(raster: &Raster, transform: Transform) -> Raster {
    if transform == Transform::Identity {
        return raster.clone();
    }
    let (width, height) = (raster.width() as usize, raster.height() as usize);
    let (out_w, out_h) = if transform.swaps_sides() {
        (height, width)
    } else {
        (width, height)
    };
    let size = raster.layout().bytes_per_pixel();
    let data = raster.data();
    let mut out = Vec::with_capacity(data.len());
    for y in 0..out_h {
        for x in 0..out_w {
            let (sx, sy) = match transform {
                Transform::Identity => (x, y),
                Transform::FlipHorizontal => (width - 1 - x, y),
                Transform::Rotate180 => (width - 1 - x, height - 1 - y),
                Transform::FlipVertical => (x, height - 1 - y),
                Transform::Transpose => (y, x),
                Transform::Rotate90 => (y, height - 1 - x),
                Transform::Transverse => (width - 1 - y, height - 1 - x),
                Transform::Rotate270 => (width - 1 - y, x),
            };
            let start = (sy * width + sx) * size;
            out.extend_from_slice(&data[start..start + size]);
        }
    }
    // The buffer has exactly out_w * out_h pixels of the same layout.
    Raster::new(out_w as u32, out_h as u32, raster.layout(), out).unwrap_or_else(|_| raster.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::PixelLayout;

    /// A 3x2 image whose pixels are numbered 0..6 row by row (one grey byte repeated).
    fn numbered() -> Raster {
        let data = (0u8..6).flat_map(|value| [value; 3]).collect();
        Raster::new(3, 2, PixelLayout::Rgb8, data).unwrap()
    }

    fn values(raster: &Raster) -> Vec<u8> {
        raster
            .data()
            .chunks_exact(3)
            .map(|pixel| pixel[0])
            .collect()
    }

    #[test]
    fn each_orientation_puts_the_pixels_upright() {
        // Source rows: [0 1 2] [3 4 5].
        let table = [
            (1, (3, 2), vec![0, 1, 2, 3, 4, 5]),
            (2, (3, 2), vec![2, 1, 0, 5, 4, 3]),
            (3, (3, 2), vec![5, 4, 3, 2, 1, 0]),
            (4, (3, 2), vec![3, 4, 5, 0, 1, 2]),
            (5, (2, 3), vec![0, 3, 1, 4, 2, 5]),
            (6, (2, 3), vec![3, 0, 4, 1, 5, 2]),
            (7, (2, 3), vec![5, 2, 4, 1, 3, 0]),
            (8, (2, 3), vec![2, 5, 1, 4, 0, 3]),
        ];
        for (tag, size, expected) in table {
            let turned = transform(&numbered(), Transform::from_exif(tag));
            assert_eq!(turned.dimensions(), size, "orientation {tag}");
            assert_eq!(values(&turned), expected, "orientation {tag}");
            assert_eq!(Transform::from_exif(tag).output_size((3, 2)), size);
        }
    }

    /// The gopher fixture with an EXIF APP1 segment saying orientation 6 (turn 90 degrees
    /// clockwise to view), as a phone writes a portrait photo.
    fn gopher_taken_sideways() -> Vec<u8> {
        use crate::ops::test_support::{fixture, with_exif_orientation};
        with_exif_orientation(&fixture("gopher-640x427.jpg"), 6)
    }

    #[test]
    fn oss_auto_orient_turns_the_source_before_the_other_steps() {
        use crate::ops::test_support::run_oss_bytes;
        let source = gopher_taken_sideways();
        // The vendor's examples: resize,w_100 with auto-orient 0 keeps the stored
        // orientation; with 1 the image is made upright first, then scaled to width 100.
        let table = [
            ("image/resize,w_100/auto-orient,0", (100, 67)),
            ("image/resize,w_100/auto-orient,1", (100, 150)),
            ("image/auto-orient,1/resize,w_100", (100, 150)),
            ("image/auto-orient,1", (427, 640)),
            ("image/auto-orient,0", (640, 427)),
        ];
        for (text, size) in table {
            let (_, decoded) = run_oss_bytes(text, &source);
            assert_eq!(decoded.raster.dimensions(), size, "{text}");
        }
        // Without EXIF orientation auto-orient changes nothing.
        let plain = crate::ops::test_support::fixture("gopher-640x427.jpg");
        let (_, decoded) = run_oss_bytes("image/auto-orient,1", &plain);
        assert_eq!(decoded.raster.dimensions(), (640, 427));
    }
}
