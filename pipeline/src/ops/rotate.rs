//! `rotate` (Qiniu `imageMogr2/rotate/<deg>`, OSS `rotate,<deg>`): turn the image clockwise.
//!
//! Multiples of 90 degrees are exact pixel transposes. Any other angle rotates about the
//! centre into a canvas grown to the rotated image's bounding box (rounded to the nearest
//! pixel), sampling bilinearly; the uncovered corners are transparent. Formats without alpha
//! fill them with white when encoding (both vendors' rule for transparency), so a JPEG gets
//! white corners and a PNG or WebP transparent ones.

use super::{unexpected_plan, Applied, Operation, Planned, StepContext, StepPlan};
use crate::codec::{PixelLayout, Raster};
use crate::error::PipelineError;
use crate::limits::Limits;
use crate::parse::lex::integer_in;
use crate::resources::Deadline;
use std::fmt;

/// The action's name in the canonical form (both vendors').
pub(crate) const ACTION: &str = "rotate";

/// The range both vendors accept (OSS allows 0, Qiniu starts at 1; 0 and 360 do nothing).
pub const DEGREE_RANGE: std::ops::RangeInclusive<u32> = 0..=360;

/// OSS's largest input side for a rotation.
pub const OSS_MAX_SOURCE_SIDE: u32 = 4096;

/// The canonical-form marker of a rotation without the OSS size rule (Qiniu).
const ANY_SIZE: &str = "any-size";

/// The arguments of a rotate step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Rotate {
    /// Clockwise angle in degrees, 0-360.
    pub degrees: u32,
    /// Whether the OSS rule applies: an input side over [`OSS_MAX_SOURCE_SIDE`] is
    /// `ImageTooLarge`.
    pub limit_source_side: bool,
}

/// What a rotation will do to an input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RotatePlan {
    /// Clockwise degrees, reduced to 0-359.
    pub degrees: u32,
    /// Width of the result.
    pub width: u32,
    /// Height of the result.
    pub height: u32,
}

/// Works out the size of the rotated image and checks it against the source limits.
pub fn plan(
    rotate: &Rotate,
    input: (u32, u32),
    limits: &Limits,
) -> Result<RotatePlan, PipelineError> {
    if rotate.limit_source_side && (input.0 > OSS_MAX_SOURCE_SIDE || input.1 > OSS_MAX_SOURCE_SIDE)
    {
        return Err(PipelineError::image_too_large(format!(
            "rotate: the image is {}x{}; rotation takes images of at most {OSS_MAX_SOURCE_SIDE} px \
             per side",
            input.0, input.1
        )));
    }
    let degrees = rotate.degrees % 360;
    let (width, height) = match degrees {
        0 | 180 => input,
        90 | 270 => (input.1, input.0),
        _ => {
            let radians = f64::from(degrees).to_radians();
            let (sin, cos) = (radians.sin().abs(), radians.cos().abs());
            let (w, h) = (f64::from(input.0), f64::from(input.1));
            let side = |value: f64| (value.round().max(1.0)).min(f64::from(u32::MAX)) as u32;
            (side(w * cos + h * sin), side(w * sin + h * cos))
        }
    };
    super::check_canvas("rotate", width, height, limits)?;
    Ok(RotatePlan {
        degrees,
        width,
        height,
    })
}

/// Rotates `raster` as planned.
/// Rotates `raster` as `plan` says; a rotation by any angle looks at `deadline` every few rows.
pub fn apply(
    raster: &Raster,
    plan: &RotatePlan,
    deadline: Deadline,
) -> Result<Raster, PipelineError> {
    match plan.degrees {
        0 => Ok(raster.clone()),
        90 => Ok(super::auto_orient::transform(
            raster,
            super::auto_orient::Transform::Rotate90,
        )),
        180 => Ok(super::auto_orient::transform(
            raster,
            super::auto_orient::Transform::Rotate180,
        )),
        270 => Ok(super::auto_orient::transform(
            raster,
            super::auto_orient::Transform::Rotate270,
        )),
        _ => rotate_any(raster, plan, deadline),
    }
}

fn rotate_any(
    raster: &Raster,
    plan: &RotatePlan,
    deadline: Deadline,
) -> Result<Raster, PipelineError> {
    let rgba = match raster.layout() {
        PixelLayout::Rgba8 => raster.clone(),
        PixelLayout::Rgb8 => to_rgba(raster)?,
    };
    let (src_w, src_h) = (rgba.width() as usize, rgba.height() as usize);
    let source = RgbaSource {
        data: rgba.data(),
        width: src_w,
        height: src_h,
    };
    let radians = f64::from(plan.degrees).to_radians();
    let (sin, cos) = radians.sin_cos();
    let (out_w, out_h) = (plan.width as usize, plan.height as usize);
    let (src_cx, src_cy) = (src_w as f64 / 2.0, src_h as f64 / 2.0);
    let (out_cx, out_cy) = (out_w as f64 / 2.0, out_h as f64 / 2.0);
    let mut out = vec![0u8; out_w * out_h * 4];
    for (y, row) in out.chunks_exact_mut(out_w * 4).enumerate() {
        deadline.check_row(y, ACTION)?;
        let ry = y as f64 + 0.5 - out_cy;
        for (x, pixel) in row.chunks_exact_mut(4).enumerate() {
            let rx = x as f64 + 0.5 - out_cx;
            // Inverse of a clockwise rotation (y grows downwards).
            let sx = rx * cos + ry * sin + src_cx - 0.5;
            let sy = -rx * sin + ry * cos + src_cy - 0.5;
            source.sample_bilinear(sx, sy, pixel);
        }
    }
    Raster::new(plan.width, plan.height, PixelLayout::Rgba8, out)
}

/// An RGBA buffer and its size, as the rotation samples it.
struct RgbaSource<'a> {
    data: &'a [u8],
    width: usize,
    height: usize,
}

impl RgbaSource<'_> {
    /// Premultiplied bilinear sample at (`x`, `y`) into `out`; outside the image is transparent.
    fn sample_bilinear(&self, x: f64, y: f64, out: &mut [u8]) {
        let RgbaSource {
            data,
            width,
            height,
        } = *self;
        if x < -1.0 || y < -1.0 || x > width as f64 || y > height as f64 {
            return;
        }
        let (x0, y0) = (x.floor(), y.floor());
        let (fx, fy) = (x - x0, y - y0);
        let mut accumulated = [0f64; 4];
        for (dy, wy) in [(0i64, 1.0 - fy), (1, fy)] {
            for (dx, wx) in [(0i64, 1.0 - fx), (1, fx)] {
                let (px, py) = (x0 as i64 + dx, y0 as i64 + dy);
                if px < 0 || py < 0 || px >= width as i64 || py >= height as i64 {
                    continue;
                }
                let start = (py as usize * width + px as usize) * 4;
                let Some(texel) = data.get(start..start + 4) else {
                    continue;
                };
                let weight = wx * wy;
                let alpha = f64::from(texel[3]) / 255.0;
                for channel in 0..3 {
                    accumulated[channel] += f64::from(texel[channel]) * alpha * weight;
                }
                accumulated[3] += alpha * weight;
            }
        }
        let alpha = accumulated[3];
        if alpha <= 0.0 {
            return;
        }
        for channel in 0..3 {
            out[channel] = (accumulated[channel] / alpha).round().clamp(0.0, 255.0) as u8;
        }
        out[3] = (alpha * 255.0).round().clamp(0.0, 255.0) as u8;
    }
}

/// The same pixels with an opaque alpha channel.
pub(crate) fn to_rgba(raster: &Raster) -> Result<Raster, PipelineError> {
    if raster.layout() == PixelLayout::Rgba8 {
        return Ok(raster.clone());
    }
    let mut data = Vec::with_capacity(raster.data().len() / 3 * 4);
    for pixel in raster.data().chunks_exact(3) {
        data.extend_from_slice(pixel);
        data.push(255);
    }
    Raster::new(raster.width(), raster.height(), PixelLayout::Rgba8, data)
}

impl Rotate {
    /// Reads the canonical form's value (`rotate,<deg>` or `rotate,<deg>,any-size`).
    pub(crate) fn from_canonical(args: &[&str]) -> Result<Rotate, PipelineError> {
        let (args, limit_source_side) = match args {
            [degrees, marker] if *marker == ANY_SIZE => (std::slice::from_ref(degrees), false),
            _ => (args, true),
        };
        let value = match args {
            [value] if !value.is_empty() => value,
            _ => {
                return Err(PipelineError::invalid_argument(
                    "rotate: takes exactly one value",
                ))
            }
        };
        let degrees = integer_in(ACTION, value, value, DEGREE_RANGE)?;
        Ok(Rotate {
            degrees,
            limit_source_side,
        })
    }
}

impl Operation for Rotate {
    fn action(&self) -> &'static str {
        ACTION
    }

    fn plan(&self, input: (u32, u32), context: &StepContext<'_>) -> Planned {
        plan(self, input, context.limits).map(StepPlan::Rotate)
    }

    fn apply(&self, raster: Raster, plan: &StepPlan, context: &StepContext<'_>) -> Applied {
        match plan {
            StepPlan::Rotate(plan) => apply(&raster, plan, context.deadline),
            other => Err(unexpected_plan(ACTION, other)),
        }
    }

    /// The RGBA copy of the input a rotation by any angle samples from.
    fn scratch_bytes(&self, input: (u32, u32)) -> u64 {
        super::pixels(input) * 4
    }
}

/// Canonical rendering: `rotate,<deg>` (OSS syntax and rules), `rotate,<deg>,any-size` without
/// the OSS size rule.
impl fmt::Display for Rotate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{ACTION},{}", self.degrees)?;
        if !self.limit_source_side {
            write!(f, ",{ANY_SIZE}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::Rgb;

    #[test]
    fn the_canvas_grows_to_the_bounding_box() {
        let limits = Limits::default();
        let size = |degrees| {
            let planned = plan(
                &Rotate {
                    degrees,
                    limit_source_side: true,
                },
                (640, 427),
                &limits,
            )
            .unwrap();
            (planned.width, planned.height)
        };
        assert_eq!(size(90), (427, 640));
        assert_eq!(size(180), (640, 427));
        assert_eq!(size(360), (640, 427));
        // 640*cos45 + 427*sin45 = 754.5, both sides.
        assert_eq!(size(45), (754, 754));
        assert_eq!(size(30), (768, 690));
    }

    #[test]
    fn corners_are_transparent_and_the_centre_is_kept() {
        let red = Raster::filled(100, 50, PixelLayout::Rgb8, Rgb { r: 255, g: 0, b: 0 });
        let planned = plan(
            &Rotate {
                degrees: 45,
                limit_source_side: false,
            },
            red.dimensions(),
            &Limits::default(),
        )
        .unwrap();
        let rotated = apply(&red, &planned, Deadline::default()).unwrap();
        assert_eq!(rotated.layout(), PixelLayout::Rgba8);
        assert_eq!(rotated.pixel(0, 0), Some(&[0, 0, 0, 0][..]));
        let (cx, cy) = (rotated.width() / 2, rotated.height() / 2);
        assert_eq!(rotated.pixel(cx, cy), Some(&[255, 0, 0, 255][..]));
    }

    #[test]
    fn a_quarter_turn_is_clockwise() {
        // Left column red, the rest white: after 90 degrees clockwise the top row is red.
        let mut raster = Raster::filled(3, 2, PixelLayout::Rgb8, Rgb::WHITE);
        for y in 0..2 {
            let start = y * raster.stride();
            raster.data_mut()[start..start + 3].copy_from_slice(&[255, 0, 0]);
        }
        let planned = plan(
            &Rotate {
                degrees: 90,
                limit_source_side: true,
            },
            (3, 2),
            &Limits::default(),
        )
        .unwrap();
        let turned = apply(&raster, &planned, Deadline::default()).unwrap();
        assert_eq!(turned.dimensions(), (2, 3));
        assert_eq!(turned.pixel(0, 0), Some(&[255, 0, 0][..]));
        assert_eq!(turned.pixel(1, 0), Some(&[255, 0, 0][..]));
        assert_eq!(turned.pixel(0, 2), Some(&[255, 255, 255][..]));
    }

    #[test]
    fn oss_rotation_takes_sides_up_to_4096() {
        let limits = Limits::default();
        let oss = |degrees| Rotate {
            degrees,
            limit_source_side: true,
        };
        let qiniu = Rotate {
            degrees: 90,
            limit_source_side: false,
        };
        assert!(plan(&oss(90), (4096, 4096), &limits).is_ok());
        assert!(plan(&oss(0), (100, 4096), &limits).is_ok());
        for input in [(4097, 10), (10, 4097), (5000, 5000)] {
            let error = plan(&oss(90), input, &limits).unwrap_err();
            assert_eq!(
                error.code,
                crate::error::ErrorCode::ImageTooLarge,
                "{input:?}"
            );
            assert!(error.message.starts_with("rotate: "), "{error}");
        }
        assert_eq!(
            plan(&qiniu, (5000, 300), &limits).map(|planned| (planned.width, planned.height)),
            Ok((300, 5000))
        );
    }

    #[test]
    fn canonical_forms_tell_the_two_rules_apart() {
        let table = [
            (
                Rotate {
                    degrees: 70,
                    limit_source_side: true,
                },
                "rotate,70",
            ),
            (
                Rotate {
                    degrees: 45,
                    limit_source_side: false,
                },
                "rotate,45,any-size",
            ),
        ];
        for (rotate, text) in table {
            assert_eq!(rotate.to_string(), text);
            let arguments: Vec<&str> = text.split(',').skip(1).collect();
            assert_eq!(Rotate::from_canonical(&arguments), Ok(rotate), "{text}");
        }
        assert!(Rotate::from_canonical(&["45", "other"]).is_err());
    }

    #[test]
    fn oss_rotations_end_to_end() {
        use crate::ops::test_support::run_oss;
        let (_, decoded) = run_oss("image/rotate,90", "gopher-640x427.jpg");
        assert_eq!(decoded.raster.dimensions(), (427, 640));
        let (_, decoded) = run_oss("image/rotate,360", "gopher-640x427.jpg");
        assert_eq!(decoded.raster.dimensions(), (640, 427));
        // Any angle grows the canvas: (400 + 300) * cos 45 = 495. A png keeps the uncovered
        // corners transparent, a jpg makes them white.
        let (_, decoded) = run_oss("image/rotate,45", "small-400x300.png");
        assert_eq!(decoded.raster.dimensions(), (495, 495));
        assert_eq!(decoded.raster.pixel(0, 0).unwrap()[3], 0);
        assert_eq!(decoded.raster.pixel(247, 247).unwrap()[3], 255);
        let (_, decoded) = run_oss("image/rotate,45/format,jpg", "small-400x300.png");
        let corner = decoded.raster.pixel(1, 1).unwrap();
        assert!(corner.iter().all(|&channel| channel >= 245), "{corner:?}");
    }
}
