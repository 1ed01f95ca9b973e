//! `circle` (OSS `circle,r_<radius>`, document 2.4.1): keep only a disc from the image's
//! centre.
//!
//! Vendor rules:
//! * `r` is the disc's radius; it is required (`MissingArgument` without it). The document
//!   gives no upper bound: "半径 r 不能超过原图的最小边的一半。如果超过，则圆的大小仍然是原圆的
//!   最大内切圆", so a larger radius gives the image's largest inscribed circle.
//! * The result is the smallest square holding the circle ("保存圆是能包含圆的最小正方形"):
//!   `circle,r_100` is 200x200.
//! * Outside the disc the result is transparent for formats with alpha (png, webp, bmp) and
//!   white for jpg (the encoder flattens transparency onto white).
//!
//! Decisions where the document is silent: the disc is centred on the image's centre (the
//! inscribed circle is, and a smaller disc shares its centre); the square's top-left corner
//! is rounded down when the free space is odd; the inscribed circle of an odd shorter side
//! has that side as its diameter (a 640x427 image gives a 427x427 result), so the square side
//! is `min(2r, shorter side)`.

use super::{unexpected_plan, Applied, Operation, Planned, Region, StepContext, StepPlan};
use crate::codec::Raster;
use crate::error::PipelineError;
use crate::parse::lex::Params;
use std::fmt;

/// The action's name in the canonical form (OSS's).
pub(crate) const ACTION: &str = "circle";

/// The arguments of a circle step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Circle {
    /// The requested radius in pixels, before clamping to the inscribed circle.
    pub radius: u32,
}

/// Plans the circle on an input of `input` size: the square around the disc, whose inscribed
/// circle the result keeps.
pub fn plan(circle: &Circle, input: (u32, u32)) -> Region {
    let diameter = circle
        .radius
        .saturating_mul(2)
        .min(input.0.min(input.1))
        .max(1);
    Region {
        x: (input.0 - diameter) / 2,
        y: (input.1 - diameter) / 2,
        width: diameter,
        height: diameter,
    }
}

/// Cuts the planned square out of `raster` and makes everything outside its inscribed circle
/// transparent.
pub fn apply(raster: &Raster, square: &Region) -> Result<Raster, PipelineError> {
    let cut = square.extract(raster)?;
    let radius = f64::from(square.width) / 2.0;
    super::rounded_corners::mask_rounded_rectangle(&cut, radius)
}

impl Circle {
    /// Reads the canonical form's argument (`r_`).
    pub(crate) fn from_canonical(arguments: &[&str]) -> Result<Circle, PipelineError> {
        let mut args = Params::key_first(ACTION, arguments)?;
        let radius = args
            .take_parsed("r")?
            .ok_or_else(|| PipelineError::missing_argument("circle: r (the radius) is required"))?;
        args.finish()?;
        Ok(Circle { radius })
    }
}

impl Operation for Circle {
    fn action(&self) -> &'static str {
        ACTION
    }

    fn plan(&self, input: (u32, u32), _context: &StepContext<'_>) -> Planned {
        Ok(StepPlan::Crop(plan(self, input)))
    }

    fn apply(&self, raster: Raster, plan: &StepPlan, _context: &StepContext<'_>) -> Applied {
        match plan {
            StepPlan::Crop(square) => apply(&raster, square),
            other => Err(unexpected_plan(ACTION, other)),
        }
    }
}

/// Canonical rendering: `circle,r_<radius>` (OSS syntax).
impl fmt::Display for Circle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{ACTION},r_{}", self.radius)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::PixelLayout;
    use crate::codec::Rgb;

    #[test]
    fn the_result_is_the_square_around_the_disc() {
        let table = [
            // Document: r_100 keeps a 200x200 square.
            (100, (640, 427), (220, 113, 200, 200)),
            // Larger than the inscribed circle: the inscribed circle.
            (1000, (640, 427), (106, 0, 427, 427)),
            (213, (640, 427), (107, 0, 426, 426)),
            (50, (100, 100), (0, 0, 100, 100)),
            (u32::MAX, (300, 200), (50, 0, 200, 200)),
            (1, (1, 1), (0, 0, 1, 1)),
            (1, (5, 9), (1, 3, 2, 2)),
        ];
        for (radius, input, (x, y, width, height)) in table {
            assert_eq!(
                plan(&Circle { radius }, input),
                Region {
                    x,
                    y,
                    width,
                    height
                },
                "r_{radius} on {input:?}"
            );
        }
    }

    #[test]
    fn outside_the_disc_is_transparent() {
        // Left half red, right half blue: the cut keeps the centre of the image.
        let mut raster = Raster::filled(300, 200, PixelLayout::Rgb8, Rgb { r: 255, g: 0, b: 0 });
        let stride = raster.stride();
        for row in raster.data_mut().chunks_exact_mut(stride) {
            for pixel in row.chunks_exact_mut(3).skip(150) {
                pixel.copy_from_slice(&[0, 0, 255]);
            }
        }
        let square = plan(&Circle { radius: 50 }, raster.dimensions());
        let disc = apply(&raster, &square).unwrap();
        assert_eq!(disc.dimensions(), (100, 100));
        assert_eq!(disc.layout(), PixelLayout::Rgba8);
        for (x, y) in [(0, 0), (99, 0), (0, 99), (99, 99), (10, 10)] {
            assert_eq!(disc.pixel(x, y).unwrap()[3], 0, "({x}, {y})");
        }
        assert_eq!(disc.pixel(25, 50), Some(&[255, 0, 0, 255][..]));
        assert_eq!(disc.pixel(75, 50), Some(&[0, 0, 255, 255][..]));
        // The disc touches the middle of each side (nearly fully covered there).
        for (x, y) in [(50, 0), (0, 50), (99, 50), (50, 99)] {
            assert!(disc.pixel(x, y).unwrap()[3] > 250, "({x}, {y})");
        }
    }

    #[test]
    fn document_examples_end_to_end_white_for_jpg_transparent_for_png_webp_bmp() {
        use crate::codec::ImageFormat;
        use crate::ops::test_support::run_oss;
        // Document: r_100 on a jpg: 200x200, white outside the disc.
        let (rendered, decoded) = run_oss("image/circle,r_100", "gopher-640x427.jpg");
        assert_eq!(rendered.format, ImageFormat::Jpeg);
        assert_eq!(decoded.raster.dimensions(), (200, 200));
        let corner = decoded.raster.pixel(2, 2).unwrap();
        assert!(corner.iter().all(|&channel| channel >= 245), "{corner:?}");

        // Document: r_100 saved as png: the smallest square holding the disc, transparent
        // outside.
        let (_, decoded) = run_oss("image/circle,r_100/format,png", "gopher-640x427.jpg");
        assert_eq!(decoded.raster.dimensions(), (200, 200));
        assert_eq!(decoded.raster.pixel(0, 0).unwrap()[3], 0);
        assert_eq!(decoded.raster.pixel(100, 100).unwrap()[3], 255);

        // A radius over the inscribed circle gives the inscribed circle.
        let (_, decoded) = run_oss("image/circle,r_1000/format,png", "gopher-640x427.jpg");
        assert_eq!(decoded.raster.dimensions(), (427, 427));

        // Lossless sources keep their pixels inside the disc: the centre of the result is the
        // centre of the source.
        let (_, source) = run_oss("image/format,png", "small-400x300.png");
        for format in ["png", "webp", "bmp"] {
            let (_, decoded) = run_oss(
                &format!("image/circle,r_50/format,{format}"),
                "small-400x300.png",
            );
            assert_eq!(decoded.raster.dimensions(), (100, 100), "{format}");
            assert_eq!(decoded.raster.pixel(0, 0).unwrap()[3], 0, "{format}");
            let centre = decoded.raster.pixel(50, 50).unwrap();
            assert_eq!(centre[3], 255, "{format}");
            if format != "webp" {
                assert_eq!(
                    &centre[..3],
                    source.raster.pixel(200, 150).unwrap(),
                    "{format}"
                );
            }
        }
    }
}
