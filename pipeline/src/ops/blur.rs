//! `blur` (Qiniu `imageMogr2/blur/<r>x<sigma>`, OSS `blur,r_<r>,s_<s>`): Gaussian blur.
//!
//! A separable Gaussian: a `2r+1` tap kernel of standard deviation sigma, normalised to sum 1,
//! run along the rows and then the columns; pixels beyond the edge repeat the edge pixel. With
//! an alpha channel, colour is weighted by alpha so transparent pixels lend no colour.
//!
//! Sigma is kept in thousandths so the AST stays `Eq` and a decimal sigma (`3x1.5`) renders
//! back exactly.

use super::{Applied, Operation, Planned, StepContext, StepPlan};
use crate::codec::Raster;
use crate::error::PipelineError;
use crate::parse::lex::{integer_in, thousandths, Params};
use crate::resources::Deadline;
use std::fmt;

/// The action's name in the canonical form (both vendors').
pub(crate) const ACTION: &str = "blur";

/// Radius range (both vendors: 1-50).
pub const RADIUS_RANGE: std::ops::RangeInclusive<u32> = 1..=50;

/// The arguments of a blur step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Blur {
    /// Kernel radius in pixels, 1-50.
    pub radius: u32,
    /// Standard deviation in thousandths of a pixel (> 0).
    pub sigma_milli: u32,
}

impl Blur {
    /// The kernel weights, `2r+1` of them, summing to 1.
    fn kernel(&self) -> Vec<f32> {
        let sigma = f64::from(self.sigma_milli) / 1000.0;
        let radius = self.radius as i64;
        let weights: Vec<f64> = (-radius..=radius)
            .map(|offset| (-((offset * offset) as f64) / (2.0 * sigma * sigma)).exp())
            .collect();
        let total: f64 = weights.iter().sum();
        weights
            .iter()
            .map(|weight| (weight / total) as f32)
            .collect()
    }

    /// Reads the canonical form's arguments (`r_`, `s_`).
    pub(crate) fn from_canonical(arguments: &[&str]) -> Result<Blur, PipelineError> {
        let mut args = Params::key_first(ACTION, arguments)?;
        let radius = args
            .take("r")
            .ok_or_else(|| PipelineError::missing_argument("blur: r is required"))?;
        let radius = integer_in(ACTION, radius, radius, RADIUS_RANGE)?;
        let sigma = args
            .take("s")
            .ok_or_else(|| PipelineError::missing_argument("blur: s is required"))?;
        let sigma_milli = thousandths(ACTION, "sigma", sigma)?;
        args.finish()?;
        Ok(Blur {
            radius,
            sigma_milli,
        })
    }
}

/// Blurs `raster`; the size does not change. Both passes look at `deadline` every few rows.
pub fn apply(raster: &Raster, blur: &Blur, deadline: Deadline) -> Result<Raster, PipelineError> {
    let kernel = blur.kernel();
    let geometry = Geometry {
        width: raster.width() as usize,
        height: raster.height() as usize,
        channels: raster.layout().bytes_per_pixel(),
        radius: blur.radius as isize,
    };
    let has_alpha = raster.layout().has_alpha();
    let mut buffer = premultiplied(raster.data(), geometry.channels, has_alpha);
    let mut scratch = vec![0f32; buffer.len()];
    geometry.rows(&kernel, &buffer, &mut scratch, deadline)?;
    geometry.columns(&kernel, &scratch, &mut buffer, deadline)?;
    let data = unpremultiplied(&buffer, geometry.channels, has_alpha);
    Raster::new(raster.width(), raster.height(), raster.layout(), data)
}

/// The shape of the buffers a blur runs over, and the kernel's radius.
#[derive(Clone, Copy)]
struct Geometry {
    width: usize,
    height: usize,
    channels: usize,
    radius: isize,
}

impl Geometry {
    /// Convolves each row of `input` into `output`; pixels beyond the edge repeat it.
    fn rows(
        &self,
        kernel: &[f32],
        input: &[f32],
        output: &mut [f32],
        deadline: Deadline,
    ) -> Result<(), PipelineError> {
        let (width, channels) = (self.width, self.channels);
        for y in 0..self.height {
            deadline.check_row(y, ACTION)?;
            let row = y * width;
            for x in 0..width {
                for channel in 0..channels {
                    let mut sum = 0f32;
                    for (tap, weight) in kernel.iter().enumerate() {
                        let sx =
                            (x as isize + tap as isize - self.radius).clamp(0, width as isize - 1);
                        sum += input[(row + sx as usize) * channels + channel] * weight;
                    }
                    output[(row + x) * channels + channel] = sum;
                }
            }
        }
        Ok(())
    }

    /// Convolves each column of `input` into `output`; pixels beyond the edge repeat it.
    fn columns(
        &self,
        kernel: &[f32],
        input: &[f32],
        output: &mut [f32],
        deadline: Deadline,
    ) -> Result<(), PipelineError> {
        let (width, height, channels) = (self.width, self.height, self.channels);
        for y in 0..height {
            deadline.check_row(y, ACTION)?;
            for x in 0..width {
                for channel in 0..channels {
                    let mut sum = 0f32;
                    for (tap, weight) in kernel.iter().enumerate() {
                        let sy =
                            (y as isize + tap as isize - self.radius).clamp(0, height as isize - 1);
                        sum += input[(sy as usize * width + x) * channels + channel] * weight;
                    }
                    output[(y * width + x) * channels + channel] = sum;
                }
            }
        }
        Ok(())
    }
}

/// The pixels in f32, colour premultiplied by alpha (so transparent pixels lend no colour).
fn premultiplied(data: &[u8], channels: usize, has_alpha: bool) -> Vec<f32> {
    let mut buffer: Vec<f32> = Vec::with_capacity(data.len());
    for pixel in data.chunks_exact(channels) {
        let alpha = if has_alpha {
            f32::from(pixel[3]) / 255.0
        } else {
            1.0
        };
        for (index, &value) in pixel.iter().enumerate() {
            let value = f32::from(value);
            buffer.push(if has_alpha && index < 3 {
                value * alpha
            } else {
                value
            });
        }
    }
    buffer
}

/// Back to 8 bits, colour divided by alpha again.
fn unpremultiplied(buffer: &[f32], channels: usize, has_alpha: bool) -> Vec<u8> {
    let mut data = Vec::with_capacity(buffer.len());
    for pixel in buffer.chunks_exact(channels) {
        let alpha = if has_alpha { pixel[3] / 255.0 } else { 1.0 };
        for (index, &value) in pixel.iter().enumerate() {
            let value = if has_alpha && index < 3 {
                if alpha > 0.0 {
                    value / alpha
                } else {
                    0.0
                }
            } else {
                value
            };
            data.push(value.round().clamp(0.0, 255.0) as u8);
        }
    }
    data
}

impl Operation for Blur {
    fn action(&self) -> &'static str {
        ACTION
    }

    fn plan(&self, _input: (u32, u32), _context: &StepContext<'_>) -> Planned {
        Ok(StepPlan::InPlace)
    }

    fn apply(&self, raster: Raster, _plan: &StepPlan, context: &StepContext<'_>) -> Applied {
        apply(&raster, self, context.deadline)
    }

    /// Two f32 copies of the raster (the premultiplied input and the pass between).
    fn scratch_bytes(&self, input: (u32, u32)) -> u64 {
        super::pixels(input) * 4 * 4 * 2
    }
}

/// Canonical rendering: `blur,r_<r>,s_<sigma>` (OSS syntax; sigma may be decimal).
impl fmt::Display for Blur {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{ACTION},r_{},s_{}",
            self.radius,
            self.sigma_milli / 1000
        )?;
        let fraction = self.sigma_milli % 1000;
        if fraction != 0 {
            let digits = format!("{fraction:03}");
            write!(f, ".{}", digits.trim_end_matches('0'))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::PixelLayout;
    use crate::codec::Rgb;

    #[test]
    fn a_passed_deadline_stops_a_blur_in_its_first_band() {
        let big = Raster::filled(300, 300, PixelLayout::Rgb8, Rgb::WHITE);
        let heavy = Blur {
            radius: 50,
            sigma_milli: 20_000,
        };
        let passed = Deadline(Some(std::time::Instant::now()));
        let error = apply(&big, &heavy, passed).unwrap_err();
        assert_eq!(error.code, crate::error::ErrorCode::DeadlineExceeded);
        assert!(error.message.contains("during blur (at row 0)"), "{error}");
    }

    #[test]
    fn a_decimal_sigma_renders_and_reads_back() {
        let blur = Blur {
            radius: 3,
            sigma_milli: 1500,
        };
        assert_eq!(blur.to_string(), "blur,r_3,s_1.5");
        assert_eq!(Blur::from_canonical(&["r_3", "s_1.5"]), Ok(blur));
        assert!(Blur::from_canonical(&["r_3", "s_0"]).is_err());
    }

    #[test]
    fn a_flat_image_stays_flat_and_an_edge_softens() {
        let flat = Raster::filled(
            20,
            10,
            PixelLayout::Rgb8,
            Rgb {
                r: 10,
                g: 20,
                b: 30,
            },
        );
        let blur = Blur {
            radius: 3,
            sigma_milli: 5000,
        };
        assert_eq!(apply(&flat, &blur, Deadline::default()).unwrap(), flat);
        let mut edge = Raster::filled(20, 1, PixelLayout::Rgb8, Rgb::WHITE);
        for x in 10..20 {
            edge.data_mut()[x * 3..x * 3 + 3].copy_from_slice(&[0, 0, 0]);
        }
        let blurred = apply(&edge, &blur, Deadline::default()).unwrap();
        let at = |x| blurred.pixel(x, 0).unwrap()[0];
        assert!(at(9) < 255 && at(9) > 128, "{}", at(9));
        assert!(at(10) > 0 && at(10) < 128, "{}", at(10));
        assert_eq!(at(0), 255);
    }
}
