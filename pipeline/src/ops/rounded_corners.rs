//! `rounded-corners` (OSS `rounded-corners,r_<radius>`, document 2.4.4): cut the image's
//! corners round.
//!
//! Vendor rules:
//! * `r` is the corner radius, 1-4096; it is required (`MissingArgument` without it).
//! * "生成的最大圆角的半径不能超过原图的最小边的一半": a radius larger than half the shorter
//!   side is clamped to it, so the largest request on a square gives its inscribed circle.
//! * Outside the corners the image becomes transparent: png, webp, bmp (and tiff) results keep
//!   the transparency, a jpg result gets white there (the encoder flattens transparency onto
//!   white, the rule for every format without alpha).
//!
//! The size does not change. Edges are antialiased: a pixel's alpha is how much of it lies
//! inside the rounded rectangle, estimated from its centre's distance to the corner arc, so
//! the curve does not look jagged. `mask_rounded_rectangle` is shared with `circle`, whose
//! disc is the rounded rectangle of a square with half its side as radius.

use super::{Applied, Operation, Planned, StepContext, StepPlan};
use crate::codec::{PixelLayout, Raster};
use crate::error::PipelineError;
use crate::parse::lex::Params;
use std::fmt;

/// The action's name in the canonical form (OSS's).
pub(crate) const ACTION: &str = "rounded-corners";
use std::ops::RangeInclusive;

/// OSS's range for `r`.
pub const RADIUS_RANGE: RangeInclusive<u32> = 1..=4096;

/// The arguments of a rounded-corners step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RoundedCorners {
    /// The requested corner radius in pixels, before clamping to half the shorter side.
    pub radius: u32,
}

impl RoundedCorners {
    /// The radius used on an image of `input` size: the requested one, at most half the
    /// shorter side (a half pixel for odd sides, so that a square's largest rounding is its
    /// inscribed circle).
    pub fn effective_radius(&self, input: (u32, u32)) -> f64 {
        let half_short_side = f64::from(input.0.min(input.1)) / 2.0;
        f64::from(self.radius).min(half_short_side)
    }

    /// Reads the canonical form's argument (`r_`).
    pub(crate) fn from_canonical(arguments: &[&str]) -> Result<RoundedCorners, PipelineError> {
        let mut args = Params::key_first(ACTION, arguments)?;
        let radius = args.take_parsed("r")?.ok_or_else(|| {
            PipelineError::missing_argument("rounded-corners: r (the radius) is required")
        })?;
        args.finish()?;
        Ok(RoundedCorners { radius })
    }
}

/// Rounds the corners of `raster`; the result has an alpha channel.
pub fn apply(raster: &Raster, corners: &RoundedCorners) -> Result<Raster, PipelineError> {
    let radius = corners.effective_radius(raster.dimensions());
    mask_rounded_rectangle(raster, radius)
}

/// Makes everything outside the rounded rectangle that fills `raster` with corners of
/// `radius` transparent (multiplying any alpha the image already has), antialiasing the arcs.
pub(crate) fn mask_rounded_rectangle(
    raster: &Raster,
    radius: f64,
) -> Result<Raster, PipelineError> {
    let mut masked = super::rotate::to_rgba(raster)?;
    let (width, height) = (f64::from(raster.width()), f64::from(raster.height()));
    let radius = radius.max(0.0).min(width.min(height) / 2.0);
    let row_len = masked.stride();
    if radius <= 0.0 || row_len == 0 {
        return Ok(masked);
    }
    // Only the pixels within `radius` of a corner can be cut; the others keep their alpha.
    let band = radius.ceil() as usize;
    let (columns, rows) = (raster.width() as usize, raster.height() as usize);
    for (y, row) in masked.data_mut().chunks_exact_mut(row_len).enumerate() {
        if y >= band && y + band < rows {
            continue;
        }
        let centre_y = y as f64 + 0.5;
        // The nearest point of the inner rectangle whose offset by `radius` is the shape.
        let nearest_y = centre_y.clamp(radius, height - radius);
        for (x, pixel) in row.chunks_exact_mut(4).enumerate() {
            if x >= band && x + band < columns {
                continue;
            }
            let centre_x = x as f64 + 0.5;
            let nearest_x = centre_x.clamp(radius, width - radius);
            let distance = (centre_x - nearest_x).hypot(centre_y - nearest_y);
            let coverage = (radius + 0.5 - distance).clamp(0.0, 1.0);
            if let Some(alpha) = pixel.get_mut(3) {
                *alpha = (f64::from(*alpha) * coverage).round() as u8;
            }
        }
    }
    debug_assert_eq!(masked.layout(), PixelLayout::Rgba8);
    Ok(masked)
}

impl Operation for RoundedCorners {
    fn action(&self) -> &'static str {
        ACTION
    }

    fn plan(&self, _input: (u32, u32), _context: &StepContext<'_>) -> Planned {
        Ok(StepPlan::InPlace)
    }

    fn apply(&self, raster: Raster, _plan: &StepPlan, _context: &StepContext<'_>) -> Applied {
        apply(&raster, self)
    }
}

/// Canonical rendering: `rounded-corners,r_<radius>` (OSS syntax).
impl fmt::Display for RoundedCorners {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{ACTION},r_{}", self.radius)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::Rgb;

    const RED: Rgb = Rgb { r: 255, g: 0, b: 0 };

    #[test]
    fn the_radius_is_clamped_to_half_the_shorter_side() {
        let table = [
            (30, (640, 427), 30.0),
            (4096, (640, 427), 213.5),
            (50, (100, 100), 50.0),
            (51, (100, 100), 50.0),
            (1, (1, 1), 0.5),
        ];
        for (radius, size, expected) in table {
            assert_eq!(
                RoundedCorners { radius }.effective_radius(size),
                expected,
                "r_{radius} on {size:?}"
            );
        }
    }

    #[test]
    fn corners_become_transparent_and_the_rest_is_kept() {
        let red = Raster::filled(100, 60, PixelLayout::Rgb8, RED);
        let rounded = apply(&red, &RoundedCorners { radius: 20 }).unwrap();
        assert_eq!(rounded.dimensions(), (100, 60));
        assert_eq!(rounded.layout(), PixelLayout::Rgba8);
        // The four corner pixels are outside the arcs.
        for (x, y) in [(0, 0), (99, 0), (0, 59), (99, 59)] {
            assert_eq!(rounded.pixel(x, y).unwrap()[3], 0, "({x}, {y})");
        }
        // Just inside each arc, along the diagonal, and the middle of every edge are opaque.
        for (x, y) in [
            (8, 8),
            (91, 8),
            (8, 51),
            (91, 51),
            (50, 0),
            (0, 30),
            (99, 30),
            (50, 59),
        ] {
            assert_eq!(
                rounded.pixel(x, y),
                Some(&[255, 0, 0, 255][..]),
                "({x}, {y})"
            );
        }
        // The arc is antialiased: some pixels of the corner are partly covered.
        let partial = (0..20).any(|y| {
            (0..20).any(|x| {
                let alpha = rounded.pixel(x, y).unwrap()[3];
                alpha > 0 && alpha < 255
            })
        });
        assert!(partial);
    }

    #[test]
    fn existing_transparency_is_kept() {
        let mut half = Raster::filled(10, 10, PixelLayout::Rgba8, RED);
        for pixel in half.data_mut().chunks_exact_mut(4) {
            pixel[3] = 128;
        }
        let rounded = apply(&half, &RoundedCorners { radius: 4 }).unwrap();
        assert_eq!(rounded.pixel(5, 5), Some(&[255, 0, 0, 128][..]));
        assert_eq!(rounded.pixel(0, 0).unwrap()[3], 0);
    }

    #[test]
    fn document_examples_end_to_end() {
        use crate::codec::ImageFormat;
        use crate::ops::test_support::run_oss;
        // Document: r_30 on a jpg keeps the size and turns the corners white.
        let (rendered, decoded) = run_oss("image/rounded-corners,r_30", "gopher-640x427.jpg");
        assert_eq!(rendered.format, ImageFormat::Jpeg);
        assert_eq!(decoded.raster.dimensions(), (640, 427));
        for (x, y) in [(1, 1), (638, 1), (1, 425), (638, 425)] {
            let corner = decoded.raster.pixel(x, y).unwrap();
            assert!(
                corner.iter().all(|&channel| channel >= 245),
                "({x}, {y}) {corner:?}"
            );
        }

        // Document: cut to 100x100, then corners of radius 10, as png (the document writes
        // `crop,w_100,h_100,rounded-corners,r_10`, a slip for two actions).
        let (rendered, decoded) = run_oss(
            "image/crop,w_100,h_100/rounded-corners,r_10/format,png",
            "gopher-640x427.jpg",
        );
        assert_eq!(rendered.format, ImageFormat::Png);
        assert_eq!(decoded.raster.dimensions(), (100, 100));
        assert_eq!(decoded.raster.pixel(0, 0).unwrap()[3], 0);
        assert_eq!(decoded.raster.pixel(99, 99).unwrap()[3], 0);
        assert_eq!(decoded.raster.pixel(50, 50).unwrap()[3], 255);

        // The largest radius is half the shorter side: the short sides become half discs.
        let (_, decoded) = run_oss("image/rounded-corners,r_4096", "small-400x300.png");
        assert_eq!(decoded.raster.dimensions(), (400, 300));
        assert_eq!(decoded.raster.pixel(0, 0).unwrap()[3], 0);
        assert_eq!(decoded.raster.pixel(40, 40).unwrap()[3], 0);
        for (x, y) in [(0, 150), (200, 0), (200, 150), (399, 150)] {
            assert_eq!(decoded.raster.pixel(x, y).unwrap()[3], 255, "({x}, {y})");
        }
    }
}
