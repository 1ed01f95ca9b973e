//! `resize` (OSS) and `thumbnail` (Qiniu): arguments, geometry planning, pixels.
//!
//! Both vendors' resize requests become one [`Resize`]. [`plan`] turns it and the source size
//! into a [`ResizePlan`] (pure arithmetic, checked against the output limits before anything
//! is allocated), and [`apply`] carries the plan out with `fast_image_resize`.
//!
//! # Rules (OSS document 2.3, and where it is silent, the decisions written here)
//!
//! * **Which parameters count.** `w`/`h` win over `l`/`s` (current OSS docs: with w or h set,
//!   "l 或 s 的取值不生效"), and any of `w`/`h`/`l`/`s` wins over `p` ("同时指定按宽高缩放和
//!   等比缩放参数，则只执行指定宽高缩放"). The parsers drop the losing parameters
//!   ([`Resize::normalized`]) so that the canonical form is the same for equal requests.
//! * **`l` and `s`** name the long and the short side of the *source*: on a landscape (or
//!   square) source `l` is the width and `s` the height, on a portrait source the reverse.
//!   After that mapping they behave exactly like `w` and `h`.
//! * **One side only.** In `lfit`/`mfit` the other side follows the aspect ratio. In
//!   `fixed`/`fill`/`pad` the other side equals the given one ("在固定宽高的模式下，会默认宽高一样的
//!   情况下进行缩略"): `m_fixed,w_100` is 100x100.
//! * **Modes with both sides.** `lfit`: the largest proportional size inside w x h. `mfit`:
//!   the smallest proportional size covering w x h. `fill`: `mfit`, then a centred crop to
//!   exactly w x h. `pad`: `lfit`, then centred on a w x h canvas of `color` (default white).
//!   `fixed`: exactly w x h, ignoring the aspect ratio.
//! * **`p`** scales both sides by p percent.
//! * **Never enlarge unless `limit_0`.** With the default `limit_1`, a resize whose scaling
//!   would enlarge the image keeps the source size unchanged (the step does nothing; later
//!   steps and the output format still apply: OSS "返回按照原图分辨率转换的图片"). "Would enlarge"
//!   is judged on the scale factor, so no pixel is ever upsampled: `lfit`/`pad` enlarge when
//!   both w > width and h > height; `mfit`/`fill` when w > width or h > height; `fixed` when
//!   either side grows; a single side when it grows; `p` when above 100. A `pad` whose canvas
//!   is larger than the source but whose content shrinks is therefore carried out.
//! * **Rounding.** Computed sides are rounded to the nearest pixel, halves away from zero
//!   ("如果等比为小数，则四舍五入"), and are at least 1 px.
//! * **Output limits.** The result (for `pad`, the canvas) must fit
//!   [`Limits::max_output_side`] and [`Limits::max_output_pixels`]; otherwise the step fails
//!   with `ImageTooLarge` before allocating.
//!
//! Qiniu's `thumbnail/<W>x`, `x<H>` and `<W>x<H>` are `lfit` with enlarging allowed (its
//! documentation enlarges 640x427 to 700x467 with `700x`). For `<W>x<H>` Qiniu adds "若宽高超过
//! 10000时只能缩不能放": when W or H is over 10000 the request may only shrink.

use super::faces::focus;
use super::{Applied, Operation, Planned, StepContext, StepPlan};
use crate::codec::{PixelLayout, Raster, Rgb};
use crate::error::PipelineError;
use crate::limits::Limits;
use crate::parse::lex::Params;
use crate::resources::Deadline;
use fast_image_resize as fir;
use std::fmt;
use std::ops::RangeInclusive;

/// OSS's range for `w`, `h`, `l` and `s`.
pub const OSS_SIDE_RANGE: RangeInclusive<u32> = 1..=4096;

/// The range of `p` (OSS) and `!<N>p` (Qiniu), in percent.
pub const PERCENT_RANGE: RangeInclusive<u32> = 1..=1000;

/// The action's name in the canonical form.
pub(crate) const ACTION: &str = "resize";

/// The `m_` names, for error messages.
pub(crate) const MODE_NAMES: &str = "lfit, mfit, fill, pad, fixed";

/// The resampling filter. Lanczos3 keeps fine detail when shrinking, which is most of what a
/// thumbnail service does; `fast_image_resize` makes it cheap with SIMD.
const FILTER: fir::FilterType = fir::FilterType::Lanczos3;

/// How a requested width x height box is applied (OSS `m_`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ResizeMode {
    /// Largest proportional size inside the box (the default).
    #[default]
    Lfit,
    /// Smallest proportional size covering the box.
    Mfit,
    /// Cover the box, then crop the centre to exactly the box.
    Fill,
    /// Fit inside the box, then centre on a canvas of the box's size.
    Pad,
    /// Exactly the box, ignoring the aspect ratio.
    Fixed,
}

impl ResizeMode {
    /// The OSS name (`lfit`, `mfit`, `fill`, `pad`, `fixed`).
    pub fn name(self) -> &'static str {
        match self {
            ResizeMode::Lfit => "lfit",
            ResizeMode::Mfit => "mfit",
            ResizeMode::Fill => "fill",
            ResizeMode::Pad => "pad",
            ResizeMode::Fixed => "fixed",
        }
    }

    /// Reads an OSS mode name.
    pub fn from_name(name: &str) -> Option<ResizeMode> {
        match name {
            "lfit" => Some(ResizeMode::Lfit),
            "mfit" => Some(ResizeMode::Mfit),
            "fill" => Some(ResizeMode::Fill),
            "pad" => Some(ResizeMode::Pad),
            "fixed" => Some(ResizeMode::Fixed),
            _ => None,
        }
    }
}

/// The arguments of a resize step. See the module documentation for what each combination
/// means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resize {
    /// How the box is applied.
    pub mode: ResizeMode,
    /// Target width (`w`).
    pub width: Option<u32>,
    /// Target height (`h`).
    pub height: Option<u32>,
    /// Target length of the source's long side (`l`).
    pub long_side: Option<u32>,
    /// Target length of the source's short side (`s`).
    pub short_side: Option<u32>,
    /// Scale in percent (`p`).
    pub percent: Option<u32>,
    /// Whether the result may be larger than the source (OSS `limit_0`; Qiniu's default).
    pub allow_enlarge: bool,
    /// Canvas colour for `pad`.
    pub color: Rgb,
    /// `fill` crops around the faces instead of the centre (`g_face`, Ferrotype's extension:
    /// [`crate::ops::faces::focus`]).
    pub keep_faces: bool,
}

impl Default for Resize {
    fn default() -> Self {
        Resize {
            mode: ResizeMode::Lfit,
            width: None,
            height: None,
            long_side: None,
            short_side: None,
            percent: None,
            allow_enlarge: false,
            color: Rgb::WHITE,
            keep_faces: false,
        }
    }
}

impl Resize {
    /// Whether any of w, h, l, s, p is set: a resize without one has nothing to do and is a
    /// `MissingArgument` in OSS.
    pub fn has_target(&self) -> bool {
        self.has_box() || self.percent.is_some()
    }

    fn has_box(&self) -> bool {
        self.width.is_some()
            || self.height.is_some()
            || self.long_side.is_some()
            || self.short_side.is_some()
    }

    /// The request as a step: `MissingArgument` without a target, otherwise
    /// [`Resize::normalized`].
    pub(crate) fn with_target(self) -> Result<Resize, PipelineError> {
        if !self.has_target() {
            return Err(PipelineError::missing_argument(
                "resize: one of w, h, l, s or p is required",
            ));
        }
        if self.keep_faces && self.mode != ResizeMode::Fill {
            return Err(PipelineError::invalid_argument(format!(
                "resize: g_face applies to m_fill only, not m_{}",
                self.mode.name()
            )));
        }
        Ok(self.normalized())
    }

    /// The same request with the parameters that have no effect removed, so that equal
    /// requests compare and render equal: `l`/`s` when `w` or `h` is set, `p` when a side is
    /// set, the mode when only `p` is set, the colour outside `pad`.
    pub fn normalized(mut self) -> Resize {
        if self.width.is_some() || self.height.is_some() {
            self.long_side = None;
            self.short_side = None;
        }
        if self.has_box() {
            self.percent = None;
        } else if self.percent.is_some() {
            self.mode = ResizeMode::Lfit;
        }
        if self.mode != ResizeMode::Pad {
            self.color = Rgb::WHITE;
        }
        if self.mode != ResizeMode::Fill {
            self.keep_faces = false;
        }
        self
    }
}

impl Resize {
    /// Reads the canonical form's arguments: OSS's `resize` parameters, with sides above
    /// 4096 (Qiniu's thumbnails).
    pub(crate) fn from_canonical(arguments: &[&str]) -> Result<Resize, PipelineError> {
        let mut params = Params::key_first(ACTION, arguments)?;
        let side = 1..=u32::MAX;
        let resize = Resize {
            mode: params
                .take_named("m", ResizeMode::from_name, MODE_NAMES)?
                .unwrap_or_default(),
            width: params.take_integer("w", side.clone())?,
            height: params.take_integer("h", side.clone())?,
            long_side: params.take_integer("l", side.clone())?,
            short_side: params.take_integer("s", side)?,
            percent: params.take_integer("p", PERCENT_RANGE)?,
            allow_enlarge: params.take_zero_or_one("limit")? == Some(false),
            color: params.take_colour("color")?.unwrap_or(Rgb::WHITE),
            keep_faces: take_face_gravity(&mut params)?,
        };
        params.finish()?;
        resize.with_target()
    }
}

impl Operation for Resize {
    fn action(&self) -> &'static str {
        ACTION
    }

    fn plan(&self, input: (u32, u32), context: &StepContext<'_>) -> Planned {
        plan(self, input, context.limits).map(StepPlan::Resize)
    }

    fn apply(&self, raster: Raster, plan: &StepPlan, context: &StepContext<'_>) -> Applied {
        match plan {
            StepPlan::Resize(ResizePlan::Fill { width, height }) if self.keep_faces => {
                let faces = focus::faces_centre(&raster, context.faces, &context.deadline)?;
                let framing = faces.map_or(Framing::Centre, |(x, y)| Framing::Around(x, y));
                resample(&raster, (*width, *height), framing, context.deadline)
            }
            _ => super::apply_resample(ACTION, raster, plan, context.deadline),
        }
    }
}

/// `g_face` (the only gravity a resize takes, Ferrotype's extension) or nothing.
pub(crate) fn take_face_gravity(params: &mut Params<'_>) -> Result<bool, PipelineError> {
    match params.take("g") {
        None => Ok(false),
        Some("face") => Ok(true),
        Some(other) => Err(PipelineError::invalid_argument(format!(
            "resize: g_{other} is not read: a resize takes only g_face (m_fill around the faces)"
        ))),
    }
}

/// Canonical rendering: `resize` then `m_`, `w_`, `h_`, `l_`, `s_`, `p_`, `limit_0`, `color_`,
/// each only when not at its default.
impl fmt::Display for Resize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(ACTION)?;
        if self.mode != ResizeMode::Lfit {
            write!(f, ",m_{}", self.mode.name())?;
        }
        let sides = [
            ("w", self.width),
            ("h", self.height),
            ("l", self.long_side),
            ("s", self.short_side),
            ("p", self.percent),
        ];
        for (key, value) in sides {
            if let Some(value) = value {
                write!(f, ",{key}_{value}")?;
            }
        }
        if self.allow_enlarge {
            f.write_str(",limit_0")?;
        }
        if self.mode == ResizeMode::Pad && self.color != Rgb::WHITE {
            write!(f, ",color_{}", self.color)?;
        }
        if self.keep_faces {
            f.write_str(",g_face")?;
        }
        Ok(())
    }
}

/// What a resize will do to an image of a given size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResizePlan {
    /// Nothing: the source size is kept (enlarging not allowed, or already the right size).
    Keep,
    /// Resample the whole image to exactly `width` x `height`.
    Scale {
        /// Result width.
        width: u32,
        /// Result height.
        height: u32,
    },
    /// Resample the centred region with the box's aspect ratio to exactly `width` x `height`
    /// (the same pixels as scaling to cover the box and cropping the centre, in one pass).
    Fill {
        /// Result width.
        width: u32,
        /// Result height.
        height: u32,
    },
    /// Resample to `width` x `height`, then centre on a canvas of `color`.
    Pad {
        /// Width of the scaled image.
        width: u32,
        /// Height of the scaled image.
        height: u32,
        /// Result width.
        canvas_width: u32,
        /// Result height.
        canvas_height: u32,
        /// Canvas colour.
        color: Rgb,
    },
}

impl ResizePlan {
    /// The size the source is resampled to (before any padding), which is the least the
    /// source must have for the result to be as sharp as from the full picture. `None` for
    /// [`ResizePlan::Keep`]. The plans are in absolute pixels, so [`apply`] gives the same
    /// result from any source at least this large with the same aspect ratio.
    pub fn resampled_size(&self) -> Option<(u32, u32)> {
        match *self {
            ResizePlan::Keep => None,
            ResizePlan::Scale { width, height }
            | ResizePlan::Fill { width, height }
            | ResizePlan::Pad { width, height, .. } => Some((width, height)),
        }
    }

    /// The size of the result for a source of `source` size.
    pub fn output_size(&self, source: (u32, u32)) -> (u32, u32) {
        match *self {
            ResizePlan::Keep => source,
            ResizePlan::Scale { width, height } | ResizePlan::Fill { width, height } => {
                (width, height)
            }
            ResizePlan::Pad {
                canvas_width,
                canvas_height,
                ..
            } => (canvas_width, canvas_height),
        }
    }
}

/// The size a request targets once `l`/`s` are mapped onto the source's orientation.
enum Target {
    Percent(u32),
    Box {
        width: Option<u32>,
        height: Option<u32>,
    },
}

fn target(resize: &Resize, (source_width, source_height): (u32, u32)) -> Option<Target> {
    if resize.width.is_some() || resize.height.is_some() {
        return Some(Target::Box {
            width: resize.width,
            height: resize.height,
        });
    }
    if resize.long_side.is_some() || resize.short_side.is_some() {
        let landscape = source_width >= source_height;
        let (width, height) = if landscape {
            (resize.long_side, resize.short_side)
        } else {
            (resize.short_side, resize.long_side)
        };
        return Some(Target::Box { width, height });
    }
    resize.percent.map(Target::Percent)
}

/// `side * numerator / denominator`, rounded to nearest (halves up), at least 1, saturating.
pub(crate) fn scale_side(side: u32, numerator: u32, denominator: u32) -> u32 {
    let denominator = u128::from(denominator.max(1));
    let scaled = (2 * u128::from(side) * u128::from(numerator) + denominator) / (2 * denominator);
    u32::try_from(scaled).unwrap_or(u32::MAX).max(1)
}

/// Whether `width / source_width <= height / source_height`, i.e. the width is the tighter
/// constraint; exact integer arithmetic, no floating-point ties.
fn width_is_tighter(source: (u32, u32), width: u32, height: u32) -> bool {
    u64::from(width) * u64::from(source.1) <= u64::from(height) * u64::from(source.0)
}

fn scale_to_width(source: (u32, u32), width: u32) -> (u32, u32) {
    (width, scale_side(source.1, width, source.0))
}

fn scale_to_height(source: (u32, u32), height: u32) -> (u32, u32) {
    (scale_side(source.0, height, source.1), height)
}

/// The largest proportional size inside `width` x `height`.
pub(crate) fn fit_inside(source: (u32, u32), width: u32, height: u32) -> (u32, u32) {
    if width_is_tighter(source, width, height) {
        scale_to_width(source, width)
    } else {
        scale_to_height(source, height)
    }
}

/// The smallest proportional size covering `width` x `height`.
fn cover(source: (u32, u32), width: u32, height: u32) -> (u32, u32) {
    if width_is_tighter(source, width, height) {
        scale_to_height(source, height)
    } else {
        scale_to_width(source, width)
    }
}

/// Works out what `resize` does to an image of `source` size, and checks the result against
/// the output limits. Allocates nothing.
pub fn plan(
    resize: &Resize,
    source: (u32, u32),
    limits: &Limits,
) -> Result<ResizePlan, PipelineError> {
    let (source_width, source_height) = source;
    if source_width == 0 || source_height == 0 {
        return Err(PipelineError::internal(format!(
            "resize: the image is {source_width}x{source_height}"
        )));
    }
    let target = target(resize, source).ok_or_else(|| {
        PipelineError::missing_argument("resize: one of w, h, l, s or p is required")
    })?;
    let (planned, enlarges) = plan_target(resize, source, target)?;
    if enlarges && !resize.allow_enlarge {
        return Ok(ResizePlan::Keep);
    }
    let (output_width, output_height) = planned.output_size(source);
    limits.check_output_dimensions("resize", output_width, output_height)?;
    let unchanged = match planned {
        ResizePlan::Keep => true,
        ResizePlan::Scale { width, height } | ResizePlan::Fill { width, height } => {
            (width, height) == source
        }
        ResizePlan::Pad {
            width,
            height,
            canvas_width,
            canvas_height,
            ..
        } => (width, height) == source && (canvas_width, canvas_height) == source,
    };
    Ok(if unchanged { ResizePlan::Keep } else { planned })
}

/// What reaching `target` from `source` takes, and whether it enlarges.
fn plan_target(
    resize: &Resize,
    source: (u32, u32),
    target: Target,
) -> Result<(ResizePlan, bool), PipelineError> {
    let (source_width, source_height) = source;
    Ok(match target {
        Target::Percent(percent) => (
            ResizePlan::Scale {
                width: scale_side(source_width, percent, 100),
                height: scale_side(source_height, percent, 100),
            },
            percent > 100,
        ),
        Target::Box { width, height } => match (resize.mode, width, height) {
            (_, None, None) => {
                // `target` only builds a box from at least one given side.
                return Err(PipelineError::internal("resize: no target side"));
            }
            (ResizeMode::Lfit | ResizeMode::Mfit, Some(width), None) => (
                scale_plan(scale_to_width(source, width)),
                width > source_width,
            ),
            (ResizeMode::Lfit | ResizeMode::Mfit, None, Some(height)) => (
                scale_plan(scale_to_height(source, height)),
                height > source_height,
            ),
            (mode, width, height) => {
                // Fixed-size modes with one side: the box is a square of that side.
                let width = width.or(height).unwrap_or(1);
                let height = height.unwrap_or(width);
                plan_box(mode, source, width, height, resize.color)
            }
        },
    })
}

fn scale_plan((width, height): (u32, u32)) -> ResizePlan {
    ResizePlan::Scale { width, height }
}

/// Plans a mode with a full `width` x `height` box; also says whether it would enlarge.
fn plan_box(
    mode: ResizeMode,
    source: (u32, u32),
    width: u32,
    height: u32,
    color: Rgb,
) -> (ResizePlan, bool) {
    let grows_width = width > source.0;
    let grows_height = height > source.1;
    match mode {
        ResizeMode::Lfit => (
            scale_plan(fit_inside(source, width, height)),
            grows_width && grows_height,
        ),
        ResizeMode::Mfit => (
            scale_plan(cover(source, width, height)),
            grows_width || grows_height,
        ),
        ResizeMode::Fixed => (scale_plan((width, height)), grows_width || grows_height),
        ResizeMode::Fill => (
            ResizePlan::Fill { width, height },
            grows_width || grows_height,
        ),
        ResizeMode::Pad => {
            let (content_width, content_height) = fit_inside(source, width, height);
            (
                ResizePlan::Pad {
                    width: content_width,
                    height: content_height,
                    canvas_width: width,
                    canvas_height: height,
                    color,
                },
                grows_width && grows_height,
            )
        }
    }
}

/// Carries out a plan made by [`plan`] for this raster's size, looking at `deadline` between
/// bands of the resampling.
pub fn apply(
    raster: Raster,
    plan: &ResizePlan,
    deadline: Deadline,
) -> Result<Raster, PipelineError> {
    match *plan {
        ResizePlan::Keep => Ok(raster),
        ResizePlan::Scale { width, height } => {
            resample(&raster, (width, height), Framing::Whole, deadline)
        }
        ResizePlan::Fill { width, height } => {
            resample(&raster, (width, height), Framing::Centre, deadline)
        }
        ResizePlan::Pad {
            width,
            height,
            canvas_width,
            canvas_height,
            color,
        } => {
            let content = resample(&raster, (width, height), Framing::Whole, deadline)?;
            let mut canvas = Raster::filled(canvas_width, canvas_height, raster.layout(), color);
            let left = canvas_width.saturating_sub(width) / 2;
            let top = canvas_height.saturating_sub(height) / 2;
            canvas.paste(&content, left, top)?;
            Ok(canvas)
        }
    }
}

/// The most pixels one band of a resample reads from the source or writes to the target
/// between two looks at the deadline: a few milliseconds of SIMD convolution, so a passed
/// deadline stops the biggest resize well within 100 ms.
const BAND_PIXELS: u64 = 4 << 20;

/// The fewest target rows in a band. Each band's horizontal pass also reads the rows its
/// filter reaches past its edges (three source rows per target row of Lanczos3's support on
/// each side), so bands this tall or taller keep that overlap under a tenth of the work.
const MIN_BAND_ROWS: u32 = 64;

/// What part of the source a resample reads.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Framing {
    /// All of it.
    Whole,
    /// The centred region with the target's aspect ratio (fill).
    Centre,
    /// The region with the target's aspect ratio centred as near this point as it can be
    /// (fill around the faces).
    Around(f64, f64),
}

/// Resamples `raster` to `size` with a convolution filter, from the part `framing` says. Alpha is premultiplied
/// before and divided after filtering, so transparent pixels do not bleed their colour into
/// the edges.
///
/// The target is made in horizontal bands, each resampled from the source region that maps
/// onto it; `fast_image_resize` reads the source beyond a crop's edges where the filter
/// reaches, so the bands join as one resample would have made them: the same bytes when
/// shrinking, at most two levels of rounding apart when enlarging (each band's filter weights
/// are scaled to integers by their own largest weight).
fn resample(
    raster: &Raster,
    size: (u32, u32),
    framing: Framing,
    deadline: Deadline,
) -> Result<Raster, PipelineError> {
    let bands = Bands {
        pixels: BAND_PIXELS,
        deadline,
    };
    resample_in_bands(raster, size, framing, bands)
}

/// How a resample is cut: the pixels a band may cost, and the deadline looked at before each.
#[derive(Clone, Copy)]
struct Bands {
    pixels: u64,
    deadline: Deadline,
}

fn resample_in_bands(
    raster: &Raster,
    size: (u32, u32),
    framing: Framing,
    bands: Bands,
) -> Result<Raster, PipelineError> {
    let pixel_type = match raster.layout() {
        PixelLayout::Rgb8 => fir::PixelType::U8x3,
        PixelLayout::Rgba8 => fir::PixelType::U8x4,
    };
    let (source_width, source_height) = raster.dimensions();
    let premultiplied = match raster.layout().has_alpha() {
        true => Some(premultiply(raster, pixel_type)?),
        false => None,
    };
    let data = premultiplied.as_deref().unwrap_or(raster.data());
    let source = fir::images::ImageRef::new(source_width, source_height, data, pixel_type)
        .map_err(resize_failed)?;
    let region = source_region(raster.dimensions(), size, framing);
    let mut target = vec![0; size.0 as usize * size.1 as usize * raster.layout().bytes_per_pixel()];
    let band = Banding::new(&region, source_width, size, bands.pixels);
    let row_bytes = target.len() / size.1.max(1) as usize;
    let mut resizer = fir::Resizer::new();
    for (index, rows) in target
        .chunks_mut(band.rows as usize * row_bytes)
        .enumerate()
    {
        let first_row = index as u32 * band.rows;
        (bands.deadline).check(|| format!("during {ACTION} (at row {first_row})"))?;
        let band_rows = (rows.len() / row_bytes) as u32;
        let mut band_image = fir::images::Image::from_slice_u8(size.0, band_rows, rows, pixel_type)
            .map_err(resize_failed)?;
        let (top, height) = band.source_rows(&region, first_row, band_rows);
        let options = fir::ResizeOptions::new()
            .resize_alg(fir::ResizeAlg::Convolution(FILTER))
            .use_alpha(false)
            .crop(region.left, top, region.width, height);
        resizer
            .resize(&source, &mut band_image, &options)
            .map_err(resize_failed)?;
    }
    let mut resized = fir::images::Image::from_vec_u8(size.0, size.1, target, pixel_type)
        .map_err(resize_failed)?;
    if premultiplied.is_some() {
        fir::MulDiv::default()
            .divide_alpha_inplace(&mut resized)
            .map_err(resize_failed)?;
    }
    Raster::new(size.0, size.1, raster.layout(), resized.into_vec())
}

/// The region of a `source`-sized raster resampled to `size`: all of it, or with
/// `crop_to_aspect` the centred part with the target's aspect ratio.
fn source_region(source: (u32, u32), size: (u32, u32), framing: Framing) -> fir::CropBox {
    let whole = fir::CropBox {
        left: 0.0,
        top: 0.0,
        width: f64::from(source.0),
        height: f64::from(source.1),
    };
    let centred = || {
        fir::CropBox::fit_src_into_dst_size(source.0, source.1, size.0, size.1, Some((0.5, 0.5)))
    };
    match framing {
        Framing::Whole => whole,
        Framing::Centre => centred(),
        Framing::Around(x, y) => {
            let region = centred();
            let free_x = (whole.width - region.width).max(0.0);
            let free_y = (whole.height - region.height).max(0.0);
            fir::CropBox {
                left: (x - region.width / 2.0).clamp(0.0, free_x),
                top: (y - region.height / 2.0).clamp(0.0, free_y),
                ..region
            }
        }
    }
}

/// How a resample is cut into bands of target rows.
struct Banding {
    /// Target rows per band (the last band may be shorter).
    rows: u32,
    /// Source rows (of the region resampled) that one target row spans.
    source_rows_per_row: f64,
}

impl Banding {
    fn new(
        region: &fir::CropBox,
        source_width: u32,
        (width, height): (u32, u32),
        band_pixels: u64,
    ) -> Banding {
        let source_rows_per_row = region.height / f64::from(height.max(1));
        // Pixels one target row costs: the source rows it spans (at least one), and itself.
        let read = (source_rows_per_row.max(1.0) * f64::from(source_width)) as u64;
        let per_row = read.max(u64::from(width)).max(1);
        let rows = u32::try_from(band_pixels / per_row).unwrap_or(u32::MAX);
        Banding {
            rows: rows.max(MIN_BAND_ROWS).min(height.max(1)),
            source_rows_per_row,
        }
    }
}

impl Banding {
    /// The top and the height of the source region that target rows `first_row` and the
    /// `rows` after it are resampled from, never past the region's bottom (rounding would
    /// otherwise put the last band a hair beyond it, which `fast_image_resize` refuses).
    fn source_rows(&self, region: &fir::CropBox, first_row: u32, rows: u32) -> (f64, f64) {
        let end = region.top + region.height;
        let top = region.top + f64::from(first_row) * self.source_rows_per_row;
        let bottom = (region.top + f64::from(first_row + rows) * self.source_rows_per_row).min(end);
        let mut height = bottom - top;
        while top + height > end {
            height = height.next_down();
        }
        (top, height)
    }
}

/// A copy of an RGBA raster with its colours multiplied by their alpha, as the filter must
/// see them.
fn premultiply(raster: &Raster, pixel_type: fir::PixelType) -> Result<Vec<u8>, PipelineError> {
    let (width, height) = raster.dimensions();
    let source = fir::images::ImageRef::new(width, height, raster.data(), pixel_type)
        .map_err(resize_failed)?;
    let mut premultiplied = fir::images::Image::new(width, height, pixel_type);
    fir::MulDiv::default()
        .multiply_alpha(&source, &mut premultiplied)
        .map_err(resize_failed)?;
    Ok(premultiplied.into_vec())
}

fn resize_failed(error: impl fmt::Display) -> PipelineError {
    PipelineError::internal(format!("resize: {error}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ast::Step;
    use crate::codec::decode;
    use crate::error::ErrorCode;
    use crate::parse::{oss, qiniu, NoStyles};

    const GOPHER: (u32, u32) = (640, 427);

    fn oss_resize(spec: &str) -> Resize {
        let command = oss::parse_process(&format!("image/{spec}"), &NoStyles)
            .unwrap_or_else(|error| panic!("{spec}: {error}"));
        match command.pipeline.steps.as_slice() {
            [Step::Resize(resize)] => resize.clone(),
            other => panic!("{spec}: expected one resize, got {other:?}"),
        }
    }

    fn qiniu_resize(geometry: &str) -> Resize {
        let commands = qiniu::parse_fops(&format!("imageMogr2/thumbnail/{geometry}"))
            .unwrap_or_else(|error| panic!("{geometry}: {error}"));
        match commands.as_slice() {
            [command] => match command.pipeline.steps.as_slice() {
                [Step::Resize(resize)] => resize.clone(),
                other => panic!("{geometry}: expected one resize, got {other:?}"),
            },
            other => panic!("{geometry}: expected one command, got {other:?}"),
        }
    }

    fn planned_size(resize: &Resize, source: (u32, u32)) -> (u32, u32) {
        plan(resize, source, &Limits::default())
            .unwrap_or_else(|error| panic!("{resize}: {error}"))
            .output_size(source)
    }

    #[test]
    fn oss_document_examples_on_the_640x427_gopher() {
        let table = [
            // 单边缩略: h_100 -> width follows.
            ("resize,h_100", (150, 100)),
            ("resize,w_100", (100, 67)),
            // 按长边短边.
            ("resize,l_100", (100, 67)),
            ("resize,s_100", (150, 100)),
            // 强制宽高.
            ("resize,m_fixed,h_100,w_100", (100, 100)),
            // 等比缩放，限定在矩形框内 / 框外.
            ("resize,m_lfit,h_100,w_100", (100, 67)),
            ("resize,m_mfit,h_100,w_100", (150, 100)),
            // 固定宽高，自动裁剪 / 缩略填充.
            ("resize,m_fill,h_100,w_100", (100, 100)),
            ("resize,m_pad,h_100,w_100", (100, 100)),
            ("resize,m_pad,h_100,w_100,color_FF0000", (100, 100)),
            // 按比例: 213.5 rounds half up.
            ("resize,p_50", (320, 214)),
            // Shrinking needs no limit_0.
            ("resize,w_500", (500, 334)),
            // limit_1 (default): an enlarging request keeps the original size.
            ("resize,w_800", (640, 427)),
            ("resize,w_800,limit_0", (800, 534)),
            ("resize,p_200", (640, 427)),
            ("resize,p_200,limit_0", (1280, 854)),
            // One side in a fixed-size mode means a square.
            ("resize,m_fixed,w_100", (100, 100)),
            ("resize,m_fill,h_50", (50, 50)),
            ("resize,m_pad,l_80", (80, 80)),
            // l and s follow the source's orientation.
            ("resize,l_320,s_100", (150, 100)),
            ("resize,m_fixed,l_200,s_100", (200, 100)),
            // w/h win over l/s, and any side wins over p.
            ("resize,w_100,l_300", (100, 67)),
            ("resize,h_100,p_10", (150, 100)),
            // Modes that would enlarge keep the source under limit_1...
            ("resize,m_fixed,w_100,h_500", (640, 427)),
            ("resize,m_fill,w_700,h_100", (640, 427)),
            ("resize,m_mfit,w_700,h_100", (640, 427)),
            // ...but lfit/pad only enlarge when both sides grow.
            ("resize,m_lfit,w_700,h_100", (150, 100)),
            ("resize,m_pad,w_700,h_100", (700, 100)),
            ("resize,m_lfit,w_1000,h_1000", (640, 427)),
            ("resize,m_lfit,w_1000,h_1000,limit_0", (1000, 667)),
        ];
        for (spec, expected) in table {
            assert_eq!(planned_size(&oss_resize(spec), GOPHER), expected, "{spec}");
        }
    }

    #[test]
    fn portrait_sources_swap_long_and_short() {
        let portrait = (427, 640);
        let table = [
            ("resize,l_100", (67, 100)),
            ("resize,s_100", (100, 150)),
            ("resize,m_fixed,l_200,s_100", (100, 200)),
        ];
        for (spec, expected) in table {
            assert_eq!(
                planned_size(&oss_resize(spec), portrait),
                expected,
                "{spec}"
            );
        }
    }

    #[test]
    fn qiniu_document_examples_on_the_640x427_gopher() {
        let table = [
            // 生成700x467放大图: Qiniu enlarges.
            ("700x", (700, 467)),
            ("x467", (700, 467)),
            // 限定长边，生成不超过300x300的缩略图.
            ("300x300", (300, 200)),
            // 原图小于指定长宽矩形，按长边自动拉伸 (700x600 fits 700x467).
            ("700x600", (700, 467)),
            // 等比缩小75%.
            ("!75p", (480, 320)),
            // 限定短边，生成不小于200x200的缩略图.
            ("!200x200r", (300, 200)),
            // 强制生成200x300的缩略图.
            ("200x300!", (200, 300)),
            // 原图大于指定长宽矩形，按长边自动缩小为200x133缩略图.
            ("200x300>", (200, 133)),
            ("700x600>", (640, 427)),
            // Above 10000, <W>x<H> may only shrink.
            ("20000x10001", (640, 427)),
        ];
        for (geometry, expected) in table {
            assert_eq!(
                planned_size(&qiniu_resize(geometry), GOPHER),
                expected,
                "{geometry}"
            );
        }
    }

    #[test]
    fn results_over_the_output_limits_are_image_too_large() {
        let table = [
            // 6400x4270 = 27 MP > 4096 * 4096.
            ("resize,p_1000,limit_0", GOPHER),
            // Covering a 4096 box with a 30000x10 strip makes a 12 million px wide image.
            ("resize,m_mfit,w_4096,h_4096,limit_0", (30_000, 10)),
            ("resize,m_mfit,w_100,h_8,limit_0", (30_000, 10)),
        ];
        for (spec, source) in table {
            let error = plan(&oss_resize(spec), source, &Limits::default()).unwrap_err();
            assert_eq!(error.code, ErrorCode::ImageTooLarge, "{spec}");
            assert!(
                error.message.starts_with("resize: the result would be"),
                "{error}"
            );
        }
        // Within the limits at the edge: a 16384 x 1024 strip is allowed.
        let strip = oss_resize("resize,w_4096,limit_0");
        assert_eq!(planned_size(&strip, (1024, 256)), (4096, 1024));
    }

    #[test]
    fn a_resize_without_target_is_a_missing_argument() {
        let error = plan(&Resize::default(), GOPHER, &Limits::default()).unwrap_err();
        assert_eq!(error.code, ErrorCode::MissingArgument);
    }

    #[test]
    fn rounding_is_to_nearest_and_never_below_one_pixel() {
        assert_eq!(scale_side(427, 100, 640), 67); // 66.7
        assert_eq!(scale_side(427, 50, 100), 214); // 213.5
        assert_eq!(scale_side(640, 100, 427), 150); // 149.9
        assert_eq!(scale_side(10, 1, 1000), 1); // 0.01
        assert_eq!(planned_size(&oss_resize("resize,w_1"), (3000, 10)), (1, 1));
    }

    #[test]
    fn canonical_rendering_lists_only_what_differs_from_the_defaults() {
        let table = [
            ("resize,h_100,w_100", "resize,w_100,h_100"),
            ("resize,m_lfit,w_100", "resize,w_100"),
            (
                "resize,m_pad,w_100,h_100,color_ff0000",
                "resize,m_pad,w_100,h_100,color_FF0000",
            ),
            ("resize,m_fill,w_100,color_FF0000", "resize,m_fill,w_100"),
            ("resize,m_pad,w_100,color_FFFFFF", "resize,m_pad,w_100"),
            ("resize,p_50,limit_1", "resize,p_50"),
            ("resize,m_fixed,p_50,limit_0", "resize,p_50,limit_0"),
            ("resize,w_100,s_5,p_20", "resize,w_100"),
        ];
        for (spec, canonical) in table {
            assert_eq!(oss_resize(spec).to_string(), canonical, "{spec}");
        }
    }

    fn gopher() -> Raster {
        let bytes = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../fixtures/gopher-640x427.jpg"
        ))
        .unwrap();
        decode::decode(&bytes, &Limits::default()).unwrap().raster
    }

    fn run(raster: Raster, spec: &str) -> Raster {
        let resize = oss_resize(spec);
        let planned = plan(&resize, raster.dimensions(), &Limits::default()).unwrap();
        apply(raster, &planned, Deadline::default()).unwrap()
    }

    #[test]
    fn pad_fills_the_border_with_the_requested_colour() {
        for (spec, colour) in [
            ("resize,m_pad,h_100,w_100", [255, 255, 255]),
            ("resize,m_pad,h_100,w_100,color_FF0000", [255, 0, 0]),
        ] {
            let padded = run(gopher(), spec);
            assert_eq!(padded.dimensions(), (100, 100));
            // The 100x67 content sits at rows 16..83; rows above and below are the border.
            for (x, y) in [(0, 0), (50, 5), (99, 15), (50, 84), (99, 99)] {
                assert_eq!(
                    padded.pixel(x, y),
                    Some(&colour[..]),
                    "{spec} at ({x}, {y})"
                );
            }
            assert_ne!(padded.pixel(50, 50), Some(&colour[..]), "{spec}: content");
        }
    }

    #[test]
    fn apply_produces_the_planned_size_in_every_mode() {
        for spec in [
            "resize,m_lfit,w_100,h_100",
            "resize,m_mfit,w_100,h_100",
            "resize,m_fill,w_100,h_100",
            "resize,m_fixed,w_33,h_200",
            "resize,p_50",
            "resize,w_900,limit_0",
        ] {
            let resize = oss_resize(spec);
            let expected = planned_size(&resize, GOPHER);
            assert_eq!(run(gopher(), spec).dimensions(), expected, "{spec}");
        }
    }

    #[test]
    fn extreme_aspect_ratios_still_produce_the_planned_size() {
        let source = Raster::filled(97, 3, PixelLayout::Rgba8, Rgb { r: 9, g: 8, b: 7 });
        for spec in [
            "resize,m_fill,w_4096,h_1,limit_0",
            "resize,m_fill,w_1,h_4096,limit_0",
            "resize,m_pad,w_4096,h_1,limit_0",
            "resize,m_pad,w_1,h_4096,limit_0",
            "resize,m_fixed,w_1,h_1",
            "resize,m_mfit,w_1,h_1",
            "resize,w_1",
        ] {
            let resize = oss_resize(spec);
            let expected = planned_size(&resize, source.dimensions());
            assert_eq!(run(source.clone(), spec).dimensions(), expected, "{spec}");
        }
    }

    #[test]
    fn fill_keeps_the_centre_of_the_image() {
        // A 3:1 image: left third red, middle green, right third blue. Filling a square
        // keeps only the green middle.
        let mut data = Vec::new();
        for _ in 0..100 {
            for x in 0..300 {
                data.extend_from_slice(match x / 100 {
                    0 => &[255, 0, 0],
                    1 => &[0, 255, 0],
                    _ => &[0, 0, 255],
                });
            }
        }
        let raster = Raster::new(300, 100, PixelLayout::Rgb8, data).unwrap();
        let filled = run(raster, "resize,m_fill,w_50,h_50");
        assert_eq!(filled.dimensions(), (50, 50));
        for x in [2, 25, 47] {
            let pixel = filled.pixel(x, 25).unwrap();
            assert!(
                pixel[1] > 240 && pixel[0] < 15 && pixel[2] < 15,
                "{x}: {pixel:?}"
            );
        }
    }

    #[test]
    fn transparent_pixels_do_not_bleed_colour_into_opaque_ones() {
        // Opaque white on the left, fully transparent *black* on the right: without alpha
        // premultiplication the edge would turn grey.
        let mut data = Vec::new();
        for _ in 0..20 {
            for x in 0..40 {
                data.extend_from_slice(if x < 20 {
                    &[255, 255, 255, 255]
                } else {
                    &[0, 0, 0, 0]
                });
            }
        }
        let raster = Raster::new(40, 20, PixelLayout::Rgba8, data).unwrap();
        let small = run(raster, "resize,w_20");
        assert_eq!(small.layout(), PixelLayout::Rgba8);
        for x in 0..20 {
            let pixel = small.pixel(x, 5).unwrap();
            if pixel[3] > 0 {
                assert!(pixel[0] > 250, "x={x}: {pixel:?}");
            }
        }
    }

    /// A raster whose every pixel differs from its neighbours, so that any seam shows.
    fn noise(width: u32, height: u32, layout: PixelLayout) -> Raster {
        let mut state = 0x2545_f491_u32;
        let len = width as usize * height as usize * layout.bytes_per_pixel();
        let data = (0..len)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                (state >> 24) as u8
            })
            .collect();
        Raster::new(width, height, layout, data).unwrap()
    }

    /// `fast_image_resize` in one call over the whole image, as resizing was done before bands.
    fn in_one_call(raster: &Raster, size: (u32, u32), crop_to_aspect: bool) -> Vec<u8> {
        let pixel_type = match raster.layout() {
            PixelLayout::Rgb8 => fir::PixelType::U8x3,
            PixelLayout::Rgba8 => fir::PixelType::U8x4,
        };
        let (width, height) = raster.dimensions();
        let source = fir::images::ImageRef::new(width, height, raster.data(), pixel_type).unwrap();
        let mut target = fir::images::Image::new(size.0, size.1, pixel_type);
        let mut options = fir::ResizeOptions::new()
            .resize_alg(fir::ResizeAlg::Convolution(FILTER))
            .use_alpha(raster.layout().has_alpha());
        if crop_to_aspect {
            options = options.fit_into_destination(Some((0.5, 0.5)));
        }
        fir::Resizer::new()
            .resize(&source, &mut target, &options)
            .unwrap();
        target.into_vec()
    }

    /// The largest difference between two resamples of one raster, in levels of colour
    /// weighed by alpha (a colour under alpha 3 of 255 counts for 3/255 of its value: that is
    /// what shows, and what the filter works on).
    fn worst_difference(a: &[u8], b: &[u8], layout: PixelLayout) -> u32 {
        let channels = layout.bytes_per_pixel();
        (a.chunks(channels).zip(b.chunks(channels)))
            .flat_map(|(p, q)| {
                let weight = |pixel: &[u8], channel: usize| match layout {
                    PixelLayout::Rgb8 => u32::from(pixel[channel]) * 255,
                    PixelLayout::Rgba8 if channel == 3 => u32::from(pixel[3]) * 255,
                    PixelLayout::Rgba8 => u32::from(pixel[channel]) * u32::from(pixel[3]),
                };
                (0..channels).map(move |c| weight(p, c).abs_diff(weight(q, c)).div_ceil(255))
            })
            .max()
            .unwrap_or(0)
    }

    #[test]
    fn bands_join_as_one_resample() {
        // Down, up, across the aspect ratio (fill), with and without alpha: the tiniest
        // budget gives bands of the fewest rows, so each case has several seams. Shrinking
        // gives the very same bytes. Enlarging may round a level or two differently here and there:
        // a band's filter weights are scaled to integers by their own largest weight.
        let cases = [
            ((613, 1001), (211, 377), false, 0),
            ((613, 1001), (200, 200), true, 0),
            ((1200, 300), (150, 150), true, 0),
            ((90, 70), (307, 259), false, 2),
            ((50, 400), (100, 500), true, 2),
        ];
        for layout in [PixelLayout::Rgb8, PixelLayout::Rgba8] {
            for (source, size, fill, tolerance) in cases {
                let raster = noise(source.0, source.1, layout);
                let bands = Bands {
                    pixels: 1,
                    deadline: Deadline::default(),
                };
                let framing = if fill {
                    Framing::Centre
                } else {
                    Framing::Whole
                };
                let banded = resample_in_bands(&raster, size, framing, bands).unwrap();
                assert_eq!(banded.dimensions(), size);
                let whole = in_one_call(&raster, size, fill);
                let worst = worst_difference(banded.data(), &whole, layout);
                assert!(
                    worst <= tolerance,
                    "{layout:?} {source:?} -> {size:?} fill {fill}: {worst} levels apart"
                );
            }
        }
    }

    #[test]
    fn a_passed_deadline_stops_a_resize_before_its_first_band() {
        let raster = noise(400, 300, PixelLayout::Rgb8);
        let plan = ResizePlan::Scale {
            width: 200,
            height: 150,
        };
        let passed = Deadline(Some(std::time::Instant::now()));
        let error = apply(raster, &plan, passed).unwrap_err();
        assert_eq!(error.code, ErrorCode::DeadlineExceeded);
        assert!(error.message.contains("during resize"), "{}", error.message);
    }

    #[test]
    fn bands_are_sized_by_the_pixels_they_cost() {
        let whole = |width: u32, height: u32| fir::CropBox {
            left: 0.0,
            top: 0.0,
            width: f64::from(width),
            height: f64::from(height),
        };
        // 15000x10000 to 300x200: a target row spans 50 source rows of 15,000 px.
        let down = Banding::new(&whole(15_000, 10_000), 15_000, (300, 200), BAND_PIXELS);
        assert_eq!(down.rows, MIN_BAND_ROWS);
        // A small resize is one band.
        let small = Banding::new(&whole(640, 427), 640, (100, 67), BAND_PIXELS);
        assert_eq!(small.rows, 67);
        // An enlargement is cut by the target rows it writes.
        let up = Banding::new(&whole(1000, 1000), 1000, (20_000, 20_000), BAND_PIXELS);
        assert_eq!(up.rows, (BAND_PIXELS / 20_000) as u32);
    }
}
