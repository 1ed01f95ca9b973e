//! `watermark`: lay an image over the result. Qiniu `watermark/1` (one image) and
//! `watermark/3` (several image groups, applied in order) map onto one [`ImageMark`] step per
//! image; the OSS `watermark,image_...` action can map onto the same engine.
//!
//! # Where the watermark image comes from
//!
//! The pipeline is pure and cannot fetch anything: a mark names its image by a *reference*,
//! and the caller provides the bytes through an [`AssetLookup`] (the worker reads them from
//! its buckets before running the pipeline). A Qiniu `image/<encodedImageURL>` is URL-safe
//! base64 of the reference, which Ferrotype reads as `bucket:key`, or a bare `key` in the
//! source's bucket. Web URLs are not fetched (a worker makes no outbound requests): such a
//! reference is simply not found, `WatermarkError`.
//!
//! # Placement (Qiniu document)
//!
//! * `gravity` anchors the mark (default `SouthEast`); `dx`/`dy` (default 10) are margins
//!   from the anchored edge, so they move the mark inwards: right from a west edge, left from
//!   an east edge; from the centre column or row they move right / down.
//! * `dissolve` 1-100 is the mark's opacity in percent (default 100).
//! * `ws` (0-1, exclusive of 0) scales the mark, keeping its ratio, so that its short side is
//!   `ws` times the short side of the image it is laid on.
//! * "原图尺寸小于水印图片尺寸时，直接返回原图，不加水印": a mark larger than the image in either
//!   direction is skipped.

use super::gravity::Gravity;
use super::resize::{self, ResizePlan};
use super::rotate::to_rgba;
use crate::codec::{decode, PixelLayout, Raster};
use crate::error::{ErrorCode, PipelineError};
use crate::limits::Limits;
use base64::Engine as _;
use std::collections::HashMap;
use std::fmt;
use std::hash::BuildHasher;

/// Provides the bytes of the images marks refer to. Where they are stored is the caller's
/// business, as with [`crate::parse::StyleLookup`].
pub trait AssetLookup {
    /// The bytes of the image named `reference`, or `None` when there is no such image.
    fn asset(&self, reference: &str) -> Option<Vec<u8>>;
}

/// No assets at all: every mark's image is missing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NoAssets;

impl AssetLookup for NoAssets {
    fn asset(&self, _reference: &str) -> Option<Vec<u8>> {
        None
    }
}

/// Assets held in memory, reference to bytes.
impl<S: BuildHasher> AssetLookup for HashMap<String, Vec<u8>, S> {
    fn asset(&self, reference: &str) -> Option<Vec<u8>> {
        self.get(reference).cloned()
    }
}

/// Default margin in pixels.
pub const DEFAULT_MARGIN: u32 = 10;

/// One image watermark.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ImageMark {
    /// What [`AssetLookup`] is asked for.
    pub reference: String,
    /// Opacity in percent, 1-100.
    pub dissolve: u8,
    /// The anchor.
    pub gravity: Gravity,
    /// Horizontal margin in pixels.
    pub dx: u32,
    /// Vertical margin in pixels.
    pub dy: u32,
    /// Scale of the mark's short side relative to the image's, in thousandths (1-1000).
    pub ws_milli: Option<u32>,
}

impl ImageMark {
    /// A mark with the Qiniu defaults.
    pub fn new(reference: String) -> ImageMark {
        ImageMark {
            reference,
            dissolve: 100,
            gravity: Gravity::SouthEast,
            dx: DEFAULT_MARGIN,
            dy: DEFAULT_MARGIN,
            ws_milli: None,
        }
    }

    /// Reads the canonical form (`watermark,ref_<b64>,dissolve_,g_,dx_,dy_,ws_`).
    pub(crate) fn from_canonical(
        mut args: super::CanonicalArgs<'_>,
    ) -> Result<ImageMark, PipelineError> {
        let encoded = args
            .take("ref")
            .ok_or_else(|| PipelineError::missing_argument("watermark: ref is required"))?;
        let reference = crate::parse::decode_base64_text("watermark", "ref", encoded)?;
        let mut mark = ImageMark::new(reference);
        if let Some(dissolve) = args.take_parsed::<u8>("dissolve")? {
            mark.dissolve = dissolve.clamp(1, 100);
        }
        if let Some(name) = args.take("g") {
            mark.gravity = Gravity::from_oss_name(name).ok_or_else(|| {
                PipelineError::invalid_argument(format!("watermark: g_{name} is not a gravity"))
            })?;
        }
        mark.dx = args.take_parsed("dx")?.unwrap_or(DEFAULT_MARGIN);
        mark.dy = args.take_parsed("dy")?.unwrap_or(DEFAULT_MARGIN);
        mark.ws_milli = args.take_parsed("ws")?;
        args.finish()?;
        Ok(mark)
    }
}

/// Canonical rendering (an extension): `watermark,ref_<urlsafe b64>,dissolve_N,g_se,dx_N,dy_N`
/// and `ws_<thousandths>` when set.
impl fmt::Display for ImageMark {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let encoded = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&self.reference);
        write!(
            f,
            "watermark,ref_{encoded},dissolve_{},g_{},dx_{},dy_{}",
            self.dissolve, self.gravity, self.dx, self.dy
        )?;
        if let Some(ws) = self.ws_milli {
            write!(f, ",ws_{ws}")?;
        }
        Ok(())
    }
}

/// Lays `mark` over `raster`.
pub fn apply(
    raster: Raster,
    mark: &ImageMark,
    assets: &dyn AssetLookup,
    limits: &Limits,
) -> Result<Raster, PipelineError> {
    let bytes = assets.asset(&mark.reference).ok_or_else(|| {
        PipelineError::new(
            ErrorCode::WatermarkError,
            format!("watermark: no image '{}'", mark.reference),
        )
    })?;
    let overlay = decode::decode(&bytes, limits)
        .map_err(|error| {
            PipelineError::new(
                ErrorCode::WatermarkError,
                format!("watermark: image '{}': {error}", mark.reference),
            )
        })?
        .raster;
    let overlay = match mark.ws_milli {
        None => overlay,
        Some(ws) => {
            let (base_w, base_h) = raster.dimensions();
            let target_short =
                (u64::from(base_w.min(base_h)) * u64::from(ws.min(1000)) / 1000).max(1) as u32;
            let (w, h) = overlay.dimensions();
            let short = w.min(h);
            let size = (
                resize::scale_side(w, target_short, short),
                resize::scale_side(h, target_short, short),
            );
            limits.check_output_dimensions("watermark", size.0, size.1)?;
            resize::apply(
                overlay,
                &ResizePlan::Scale {
                    width: size.0,
                    height: size.1,
                },
            )?
        }
    };
    let (base_w, base_h) = raster.dimensions();
    let (mark_w, mark_h) = overlay.dimensions();
    if mark_w > base_w || mark_h > base_h {
        return Ok(raster);
    }
    let (x, y) = placement(mark, (base_w, base_h), (mark_w, mark_h));
    Ok(blend(raster, &to_rgba(&overlay)?, x, y, mark.dissolve))
}

/// The top-left corner of the mark, clamped inside the image.
fn placement(mark: &ImageMark, base: (u32, u32), size: (u32, u32)) -> (u32, u32) {
    let (x, y) = mark.gravity.origin(base, size);
    let x = if mark.gravity.is_right() {
        x - i64::from(mark.dx)
    } else {
        x + i64::from(mark.dx)
    };
    let y = if mark.gravity.is_bottom() {
        y - i64::from(mark.dy)
    } else {
        y + i64::from(mark.dy)
    };
    let clamp = |value: i64, room: u32| value.clamp(0, i64::from(room)) as u32;
    (
        clamp(x, base.0.saturating_sub(size.0)),
        clamp(y, base.1.saturating_sub(size.1)),
    )
}

/// Source-over compositing of an RGBA `overlay` at (x, y), its alpha scaled by `dissolve`%.
fn blend(mut base: Raster, overlay: &Raster, x: u32, y: u32, dissolve: u8) -> Raster {
    let channels = base.layout().bytes_per_pixel();
    let has_alpha = base.layout() == PixelLayout::Rgba8;
    let stride = base.stride();
    let (mark_w, mark_h) = overlay.dimensions();
    let data = base.data_mut();
    for row in 0..mark_h as usize {
        for column in 0..mark_w as usize {
            let Some(pixel) = overlay.pixel(column as u32, row as u32) else {
                continue;
            };
            let alpha = f32::from(pixel[3]) / 255.0 * f32::from(dissolve) / 100.0;
            if alpha <= 0.0 {
                continue;
            }
            let start = (y as usize + row) * stride + (x as usize + column) * channels;
            let Some(target) = data.get_mut(start..start + channels) else {
                continue;
            };
            let base_alpha = if has_alpha {
                f32::from(target[3]) / 255.0
            } else {
                1.0
            };
            let out_alpha = alpha + base_alpha * (1.0 - alpha);
            for channel in 0..3 {
                let over = f32::from(pixel[channel]) * alpha;
                let under = f32::from(target[channel]) * base_alpha * (1.0 - alpha);
                let value = if out_alpha > 0.0 {
                    (over + under) / out_alpha
                } else {
                    0.0
                };
                target[channel] = value.round().clamp(0.0, 255.0) as u8;
            }
            if has_alpha {
                target[3] = (out_alpha * 255.0).round().clamp(0.0, 255.0) as u8;
            }
        }
    }
    base
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ast::Rgb;

    fn png(raster: &Raster) -> Vec<u8> {
        crate::codec::encode::encode(
            raster,
            crate::ops::format::ImageFormat::Png,
            &crate::codec::encode::EncodeOptions {
                quality: 90,
                progressive: false,
            },
        )
        .unwrap()
    }

    #[test]
    fn a_mark_sits_at_its_gravity_with_margins_and_dissolve() {
        let base = Raster::filled(100, 80, PixelLayout::Rgb8, Rgb::WHITE);
        let red = Raster::filled(10, 10, PixelLayout::Rgb8, Rgb { r: 255, g: 0, b: 0 });
        let assets: HashMap<String, Vec<u8>> = [("logo.png".to_string(), png(&red))].into();
        let mark = ImageMark::new("logo.png".to_string());
        let marked = apply(base.clone(), &mark, &assets, &Limits::default()).unwrap();
        // SouthEast with 10 px margins: the mark covers x 80..90, y 60..70.
        assert_eq!(marked.pixel(85, 65), Some(&[255, 0, 0][..]));
        assert_eq!(marked.pixel(95, 65), Some(&[255, 255, 255][..]));
        assert_eq!(marked.pixel(85, 75), Some(&[255, 255, 255][..]));
        let half = ImageMark {
            dissolve: 50,
            gravity: Gravity::NorthWest,
            ..mark.clone()
        };
        let marked = apply(base.clone(), &half, &assets, &Limits::default()).unwrap();
        assert_eq!(marked.pixel(15, 15), Some(&[255, 128, 128][..]));
        // ws: the short side becomes half of 80.
        let scaled = ImageMark {
            ws_milli: Some(500),
            gravity: Gravity::Center,
            dx: 0,
            dy: 0,
            ..mark.clone()
        };
        let marked = apply(base.clone(), &scaled, &assets, &Limits::default()).unwrap();
        assert_eq!(marked.pixel(31, 21), Some(&[255, 0, 0][..]));
        assert_eq!(marked.pixel(29, 19), Some(&[255, 255, 255][..]));
        // Missing image: WatermarkError; a mark larger than the image: skipped.
        let missing = ImageMark::new("nope".to_string());
        let error = apply(base.clone(), &missing, &assets, &Limits::default()).unwrap_err();
        assert_eq!(error.code, ErrorCode::WatermarkError);
        let small = Raster::filled(5, 5, PixelLayout::Rgb8, Rgb::WHITE);
        assert_eq!(
            apply(small.clone(), &mark, &assets, &Limits::default()).unwrap(),
            small
        );
    }
}
