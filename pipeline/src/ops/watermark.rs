//! `watermark`: lay an image, a text, or both over the result. One engine for both vendors:
//! OSS `watermark,...` (document 2.6), Qiniu `watermark/1` (image), `watermark/2` (text) and
//! `watermark/3` (several image and text groups, one [`Watermark`] step each, in order).
//!
//! # Where images and fonts come from
//!
//! The pipeline is pure and cannot fetch anything: a mark names its image by a *reference*,
//! and the caller provides the bytes through an [`AssetLookup`] (the worker reads them from
//! its buckets before running the pipeline); fonts come through a
//! [`super::text::FontLookup`]. A Qiniu `image/<encodedImageURL>` is URL-safe base64 of the
//! reference, which Ferrotype reads as `bucket:key`, or a bare `key` in the source's bucket;
//! an OSS `image_<encodedObject>` is an object of the source's bucket ("水印图只能使用当前存储空间内
//! 的图片"). Web URLs are not fetched (a worker makes no outbound requests): such a reference is
//! simply not found, `WatermarkError`.
//!
//! # What is drawn ([`MarkContent`])
//!
//! * An image, optionally preprocessed first (OSS: the object may carry its own
//!   `?x-oss-process=image/resize,.../crop,.../rotate,...`; `resize,P_<1-100>` scales the mark
//!   relative to the *main* image: we fit it inside `P`% of the main image's width and height,
//!   keeping its ratio, so the document's "P_10 on a 100x100 image gives a 10x10 mark" holds);
//!   Qiniu `ws` (0-1) makes the mark's short side `ws` times the image's short side.
//! * A text ([`super::text`]).
//! * Both side by side (OSS 文图混合): `order` 0 puts the image first (default), 1 the text;
//!   `align` 0/1/2 aligns them at the top (default), middle or bottom; `interval` (0-1000 px)
//!   separates them.
//!
//! # Placement
//!
//! * `g` / `gravity` anchors the mark (default south-east in both languages).
//! * `x` / `dx` and `y` / `dy` (default 10) are margins from the anchored edge, so they move the
//!   mark inwards: right from a west edge, left from an east edge. OSS: "x 只有当水印位置是左上，
//!   左中，左下，右上，右中，右下才有意义", likewise `y` for the top and bottom rows, so the OSS
//!   parser sets them to 0 where they mean nothing; Qiniu moves a centred mark right / down.
//! * `voffset` (OSS, -1000..1000) moves a mark of the middle row (west, center, east) from the
//!   centre line; positive moves down, as offsets do in image coordinates.
//! * `t` / `dissolve` is the mark's opacity in percent (OSS 0-100, Qiniu 1-100; default 100).
//! * `fill_1` (OSS) tiles the mark over the whole image instead of placing it once: tiles in
//!   rows from the top-left corner, each followed by a gap of half the mark's width and one
//!   mark height (the vendor does not document the spacing; this keeps the tiles legible).
//! * A mark larger than the image: Qiniu "原图尺寸小于水印图片尺寸时，直接返回原图，不加水印"
//!   ([`Watermark::skip_when_larger`]); OSS documents nothing and we clip the mark at the
//!   image's edges.
//! * Several marks in one OSS pipeline are several `watermark` actions; "一张图片上，最多支持3张
//!   不同的水印图做水印" is checked by the OSS parser. The document's other notes ("同一张水印图
//!   ... 必需放在不同位置", "各个水印位置，不能完全重叠") are advice: its own nine-mark example
//!   places `Koala.jpg` twice at `g_se,x_100,y_100`, so identical positions are accepted.

use super::gravity::{self, Gravity};
use super::resize::{self, ResizePlan};
use super::rotate::{to_rgba, DEGREE_RANGE};
use super::text::{self, FontFamily, TextMark};
use super::{Applied, Operation, Planned, StepContext, StepPlan};
use crate::ast::{Pipeline, Step};
use crate::codec::{decode, PixelLayout, Raster, Rgb};
use crate::error::{ErrorCode, PipelineError};
use crate::parse::lex::{
    decode_base64_or_bad_request, encode_base64, integer_in, split_action, Params,
};
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

/// The action's name in the canonical form (OSS's).
pub(crate) const ACTION: &str = "watermark";

/// Default margin in pixels (both vendors).
pub const DEFAULT_MARGIN: u32 = 10;

/// The most distinct watermark images one OSS pipeline may use.
pub const MAX_DISTINCT_IMAGES: usize = 3;

/// One watermark step: what is drawn and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Watermark {
    /// The image, the text, or both.
    pub content: MarkContent,
    /// Opacity in percent, 0-100.
    pub opacity: u8,
    /// The anchor.
    pub gravity: Gravity,
    /// Horizontal margin in pixels.
    pub dx: u32,
    /// Vertical margin in pixels.
    pub dy: u32,
    /// Vertical offset from the centre line for the middle row (OSS `voffset`), down positive.
    pub voffset: i32,
    /// Tile the mark over the whole image (OSS `fill_1`).
    pub fill: bool,
    /// Leave the image unchanged when the mark is larger than it (Qiniu's rule).
    pub skip_when_larger: bool,
}

/// What a watermark draws.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MarkContent {
    /// An image.
    Image(MarkImage),
    /// A text.
    Text(TextMark),
    /// An image and a text side by side (OSS 文图混合).
    Mixed(MixedMark),
}

/// A mark image and how it is prepared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MarkImage {
    /// What [`AssetLookup`] is asked for.
    pub reference: String,
    /// Steps run on the mark image before it is laid (OSS `?x-oss-process=`).
    pub preprocess: Vec<MarkStep>,
    /// Qiniu `ws`: the mark's short side relative to the image's, in thousandths (1-1000).
    pub ws_milli: Option<u32>,
}

/// One preprocessing step of a mark image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MarkStep {
    /// An ordinary step (resize, crop, rotate).
    Step(Step),
    /// OSS `resize,P_<pct>`: fit the mark inside this percentage of the main image.
    MainPercent(u32),
}

/// Vertical alignment of the image and the text of a mixed mark.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Align {
    /// Tops aligned (`align_0`, the default).
    #[default]
    Top,
    /// Centres aligned (`align_1`).
    Middle,
    /// Bottoms aligned (`align_2`).
    Bottom,
}

impl Align {
    /// The OSS number.
    pub fn number(self) -> u32 {
        match self {
            Align::Top => 0,
            Align::Middle => 1,
            Align::Bottom => 2,
        }
    }

    /// Reads the OSS number.
    pub fn from_number(number: u32) -> Option<Align> {
        match number {
            0 => Some(Align::Top),
            1 => Some(Align::Middle),
            2 => Some(Align::Bottom),
            _ => None,
        }
    }
}

/// An image and a text laid side by side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MixedMark {
    /// The image part.
    pub image: MarkImage,
    /// The text part.
    pub text: TextMark,
    /// The text comes first (OSS `order_1`); otherwise the image does.
    pub text_first: bool,
    /// How the two line up vertically.
    pub align: Align,
    /// Pixels between them, 0-1000.
    pub interval: u32,
}

impl MarkImage {
    /// An image used as it is.
    pub fn new(reference: String) -> MarkImage {
        MarkImage {
            reference,
            preprocess: Vec::new(),
            ws_milli: None,
        }
    }
}

impl Watermark {
    /// A mark with the common defaults: opaque, south-east, 10 px margins.
    pub fn new(content: MarkContent) -> Watermark {
        Watermark {
            content,
            opacity: 100,
            gravity: Gravity::SouthEast,
            dx: DEFAULT_MARGIN,
            dy: DEFAULT_MARGIN,
            voffset: 0,
            fill: false,
            skip_when_larger: false,
        }
    }

    /// The image this mark reads, if any.
    pub fn image(&self) -> Option<&MarkImage> {
        match &self.content {
            MarkContent::Image(image) => Some(image),
            MarkContent::Mixed(mixed) => Some(&mixed.image),
            MarkContent::Text(_) => None,
        }
    }

    /// The text this mark draws, if any.
    pub fn text(&self) -> Option<&TextMark> {
        match &self.content {
            MarkContent::Text(text) => Some(text),
            MarkContent::Mixed(mixed) => Some(&mixed.text),
            MarkContent::Image(_) => None,
        }
    }
}

/// How the image and the text of a mixed mark are laid out (`order_`, `align_`, `interval_`);
/// read for every mark, used by mixed ones only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct MixedLayout {
    /// The text comes first.
    pub(crate) text_first: bool,
    /// How the two line up vertically.
    pub(crate) align: Align,
    /// Pixels between them.
    pub(crate) interval: u32,
}

impl MarkContent {
    /// A mark's content from its parts: an image, a text, or both side by side laid out by
    /// `layout`; `MissingArgument` with neither.
    pub(crate) fn from_parts(
        image: Option<MarkImage>,
        text: Option<TextMark>,
        layout: MixedLayout,
    ) -> Result<MarkContent, PipelineError> {
        match (image, text) {
            (Some(image), Some(text)) => Ok(MarkContent::Mixed(MixedMark {
                image,
                text,
                text_first: layout.text_first,
                align: layout.align,
                interval: layout.interval,
            })),
            (Some(image), None) => Ok(MarkContent::Image(image)),
            (None, Some(text)) => Ok(MarkContent::Text(text)),
            (None, None) => Err(PipelineError::missing_argument(
                "watermark: image (a watermark picture) or text is required",
            )),
        }
    }
}

/// A mark image must name something.
pub(crate) fn check_reference(reference: &str) -> Result<(), PipelineError> {
    if reference.is_empty() {
        return Err(PipelineError::invalid_argument(
            "watermark: image decodes to an empty object name",
        ));
    }
    Ok(())
}

/// The preprocessing steps of a mark image, from the pipeline that one of its actions
/// (`action`) parses to: only resize, crop and rotate are allowed.
pub(crate) fn mark_steps(action: &str, pipeline: Pipeline) -> Result<Vec<MarkStep>, PipelineError> {
    let allowed = pipeline.output.is_default()
        && pipeline
            .steps
            .iter()
            .all(|step| matches!(step, Step::Resize(_) | Step::Crop(_) | Step::Rotate(_)));
    if !allowed {
        return Err(PipelineError::invalid_argument(format!(
            "watermark: the image's own process may only resize, crop and rotate, found \
             '{action}'"
        )));
    }
    Ok(pipeline.steps.into_iter().map(MarkStep::Step).collect())
}

/// An error in a mark image's own process, said to be there.
pub(crate) fn own_process_error(mut error: PipelineError) -> PipelineError {
    error.step = None;
    error.message = format!("watermark: the image's own process: {}", error.message);
    error
}

/// `resize,P_<1-100>` among a mark image's actions: `P` alone in its resize.
pub(crate) fn main_percent(action: &str, arguments: &[&str]) -> Result<u32, PipelineError> {
    let [argument] = arguments else {
        return Err(PipelineError::invalid_argument(format!(
            "watermark: the image's resize with P takes no other parameter, found '{action}'"
        )));
    };
    let value = argument.trim_start_matches("P_");
    integer_in(ACTION, &format!("image resize P_{value}"), value, 1..=100)
}

impl Watermark {
    /// Reads the canonical form's arguments (written by the `Display` below): OSS's
    /// parameters with margins over 4096 (Qiniu's), and the extensions `pre_`, `ws_` and
    /// `skip_1`. Nothing is normalised: the dialect's parser did that.
    pub(crate) fn from_canonical(arguments: &[&str]) -> Result<Watermark, PipelineError> {
        let mut params = Params::key_first(ACTION, arguments)?;
        let opacity = params.take_integer("t", 0..=100)?.unwrap_or(100);
        let gravity = params
            .take_named("g", Gravity::from_name, gravity::NAMES)?
            .unwrap_or(Gravity::SouthEast);
        let dx = params.take_integer("x", 0..=u32::MAX)?;
        let dy = params.take_integer("y", 0..=u32::MAX)?;
        let voffset = params.take_signed("voffset", 1000)?.unwrap_or(0);
        let fill = params.take_flag("fill")?;
        let image = match params.take("image") {
            None => None,
            Some(encoded) => Some(read_image(&mut params, encoded)?),
        };
        let text = read_text(&mut params)?;
        let layout = read_layout(&mut params)?;
        let skip_when_larger = params.take_flag("skip")?;
        params.finish()?;
        Ok(Watermark {
            content: MarkContent::from_parts(image, text, layout)?,
            opacity: u8::try_from(opacity).unwrap_or(100),
            gravity,
            dx: dx.unwrap_or(DEFAULT_MARGIN),
            dy: dy.unwrap_or(DEFAULT_MARGIN),
            voffset,
            fill,
            skip_when_larger,
        })
    }
}

/// The canonical `image_<b64 reference>`, then `pre_<b64 actions>` and `ws_<thousandths>`.
fn read_image(params: &mut Params<'_>, encoded: &str) -> Result<MarkImage, PipelineError> {
    let reference = decode_base64_or_bad_request(ACTION, "image", encoded)?;
    let preprocess = match params.take("pre") {
        None => Vec::new(),
        Some(encoded) => read_preprocess(&decode_base64_or_bad_request(ACTION, "pre", encoded)?)?,
    };
    check_reference(&reference)?;
    Ok(MarkImage {
        reference,
        preprocess,
        ws_milli: params.take_integer("ws", 1..=1000)?,
    })
}

/// The mark image's own actions, as [`render_preprocess`] writes them.
fn read_preprocess(actions: &str) -> Result<Vec<MarkStep>, PipelineError> {
    let mut steps = Vec::new();
    for action in actions.split('/') {
        let (name, arguments) = split_action(action);
        if name == resize::ACTION && arguments.iter().any(|argument| argument.starts_with("P_")) {
            steps.push(MarkStep::MainPercent(main_percent(action, &arguments)?));
            continue;
        }
        let pipeline =
            crate::parse::parse_canonical(&format!("image/{action}")).map_err(own_process_error)?;
        steps.extend(mark_steps(action, pipeline)?);
    }
    Ok(steps)
}

/// The canonical `text_` and the parameters of its look; `None` without `text_` (the look
/// parameters are then checked and dropped). OSS spells them alike, and its parser reads
/// them with this too.
pub(crate) fn read_text(params: &mut Params<'_>) -> Result<Option<TextMark>, PipelineError> {
    let text = match params.take("text") {
        None => None,
        Some(encoded) => {
            let text = decode_base64_or_bad_request(ACTION, "text", encoded)?;
            TextMark::check_text(ACTION, &text)?;
            Some(text)
        }
    };
    let font = match params.take("type") {
        None => FontFamily::default(),
        Some(encoded) => {
            let name = decode_base64_or_bad_request(ACTION, "type", encoded)?;
            FontFamily::from_name(&name).ok_or_else(|| {
                PipelineError::invalid_argument(format!(
                    "watermark: type '{name}' is not one of {}",
                    text::FONT_NAMES
                ))
            })?
        }
    };
    let color = params
        .take_colour("color")?
        .unwrap_or(Rgb { r: 0, g: 0, b: 0 });
    let size = params.take_integer("size", 1..=text::MAX_SIZE)?;
    let shadow = params.take_integer("shadow", 1..=100)?;
    let rotate = params.take_integer("rotate", DEGREE_RANGE)?.unwrap_or(0) % 360;
    Ok(text.map(|text| TextMark {
        text,
        font,
        color,
        size: size.unwrap_or(text::DEFAULT_SIZE),
        shadow: shadow.map(|value| u8::try_from(value).unwrap_or(100)),
        rotate,
    }))
}

/// The canonical `order_`, `align_`, `interval_` (spelled as OSS spells them; its parser
/// reads them with this too).
pub(crate) fn read_layout(params: &mut Params<'_>) -> Result<MixedLayout, PipelineError> {
    Ok(MixedLayout {
        text_first: params.take_flag("order")?,
        align: params
            .take_integer("align", 0..=2)?
            .and_then(Align::from_number)
            .unwrap_or_default(),
        interval: params.take_integer("interval", 0..=1000)?.unwrap_or(0),
    })
}

/// Renders the preprocessing steps as an OSS action list (`resize,P_30/rotate,90`).
pub(crate) fn render_preprocess(steps: &[MarkStep]) -> String {
    steps
        .iter()
        .map(|step| match step {
            MarkStep::Step(step) => step.to_string(),
            MarkStep::MainPercent(percent) => format!("resize,P_{percent}"),
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// Canonical rendering (OSS syntax plus extensions): the content's parameters (`image_`,
/// `pre_`, `ws_`; `text_`, `type_`, `color_`, `size_`, `shadow_`, `rotate_`; `order_`, `align_`,
/// `interval_`), then the placement (`t_`, `g_`, `x_`, `y_`, `voffset_`, `fill_1`, `skip_1`).
impl fmt::Display for Watermark {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(ACTION)?;
        if let Some(image) = self.image() {
            write!(f, ",image_{}", encode_base64(&image.reference))?;
            if !image.preprocess.is_empty() {
                write!(
                    f,
                    ",pre_{}",
                    encode_base64(&render_preprocess(&image.preprocess))
                )?;
            }
            if let Some(ws) = image.ws_milli {
                write!(f, ",ws_{ws}")?;
            }
        }
        if let Some(text) = self.text() {
            write!(
                f,
                ",text_{},type_{},color_{},size_{}",
                encode_base64(&text.text),
                encode_base64(text.font.name()),
                text.color,
                text.size
            )?;
            if let Some(shadow) = text.shadow {
                write!(f, ",shadow_{shadow}")?;
            }
            if text.rotate != 0 {
                write!(f, ",rotate_{}", text.rotate)?;
            }
        }
        if let MarkContent::Mixed(mixed) = &self.content {
            write!(
                f,
                ",order_{},align_{},interval_{}",
                u8::from(mixed.text_first),
                mixed.align.number(),
                mixed.interval
            )?;
        }
        write!(
            f,
            ",t_{},g_{},x_{},y_{}",
            self.opacity, self.gravity, self.dx, self.dy
        )?;
        if self.voffset != 0 {
            write!(f, ",voffset_{}", self.voffset)?;
        }
        if self.fill {
            f.write_str(",fill_1")?;
        }
        if self.skip_when_larger {
            f.write_str(",skip_1")?;
        }
        Ok(())
    }
}

impl Operation for Watermark {
    fn action(&self) -> &'static str {
        ACTION
    }

    fn plan(&self, _input: (u32, u32), _context: &StepContext<'_>) -> Planned {
        Ok(StepPlan::InPlace)
    }

    fn apply(&self, raster: Raster, _plan: &StepPlan, context: &StepContext<'_>) -> Applied {
        apply(raster, self, context)
    }
}

/// Lays `mark` over `raster`.
pub fn apply(
    raster: Raster,
    mark: &Watermark,
    context: &StepContext<'_>,
) -> Result<Raster, PipelineError> {
    let base = raster.dimensions();
    let picture = match &mark.content {
        MarkContent::Image(image) => image_picture(image, base, context)?,
        MarkContent::Text(text) => text::render(text, context.fonts, context.limits)?,
        MarkContent::Mixed(mixed) => mixed_picture(mixed, base, context)?,
    };
    let size = picture.dimensions();
    if mark.fill {
        return Ok(tile(raster, &picture, mark.opacity));
    }
    if mark.skip_when_larger && (size.0 > base.0 || size.1 > base.1) {
        return Ok(raster);
    }
    let (x, y) = placement(mark, base, size);
    Ok(blend(raster, &picture, x, y, mark.opacity))
}

/// The mark image, decoded, preprocessed and scaled, as RGBA.
fn image_picture(
    image: &MarkImage,
    base: (u32, u32),
    context: &StepContext<'_>,
) -> Result<Raster, PipelineError> {
    let limits = context.limits;
    let mark_error = |message: String| {
        PipelineError::new(
            ErrorCode::WatermarkError,
            format!("watermark: image '{}': {message}", image.reference),
        )
    };
    let bytes = context.assets.asset(&image.reference).ok_or_else(|| {
        PipelineError::new(
            ErrorCode::WatermarkError,
            format!("watermark: no image '{}'", image.reference),
        )
    })?;
    let mut overlay = decode::decode(&bytes, limits)
        .map_err(|error| mark_error(error.to_string()))?
        .raster;
    for step in &image.preprocess {
        overlay = match step {
            MarkStep::Step(step) => {
                let plan = super::plan_step(step, overlay.dimensions(), context)
                    .map_err(|error| mark_error(error.message))?;
                super::apply_step(overlay, step, &plan, context)
                    .map_err(|error| mark_error(error.message))?
            }
            MarkStep::MainPercent(percent) => {
                let (w, h) = overlay.dimensions();
                let box_w = resize::scale_side(base.0, *percent, 100);
                let box_h = resize::scale_side(base.1, *percent, 100);
                // Fit inside the box: the tighter side decides.
                let size = if u64::from(box_w) * u64::from(h) <= u64::from(box_h) * u64::from(w) {
                    (box_w, resize::scale_side(h, box_w, w))
                } else {
                    (resize::scale_side(w, box_h, h), box_h)
                };
                scale_to(overlay, size, context)?
            }
        };
    }
    if let Some(ws) = image.ws_milli {
        let target_short =
            (u64::from(base.0.min(base.1)) * u64::from(ws.min(1000)) / 1000).max(1) as u32;
        let (w, h) = overlay.dimensions();
        let short = w.min(h);
        let size = (
            resize::scale_side(w, target_short, short),
            resize::scale_side(h, target_short, short),
        );
        overlay = scale_to(overlay, size, context)?;
    }
    to_rgba(&overlay)
}

fn scale_to(
    raster: Raster,
    size: (u32, u32),
    context: &StepContext<'_>,
) -> Result<Raster, PipelineError> {
    if raster.dimensions() == size {
        return Ok(raster);
    }
    (context.limits).check_output_dimensions("watermark", size.0, size.1)?;
    let plan = ResizePlan::Scale {
        width: size.0,
        height: size.1,
    };
    resize::apply(raster, &plan, context.deadline)
}

/// The image and the text of a mixed mark on one transparent canvas.
fn mixed_picture(
    mixed: &MixedMark,
    base: (u32, u32),
    context: &StepContext<'_>,
) -> Result<Raster, PipelineError> {
    let image = image_picture(&mixed.image, base, context)?;
    let words = text::render(&mixed.text, context.fonts, context.limits)?;
    let (first, second) = if mixed.text_first {
        (&words, &image)
    } else {
        (&image, &words)
    };
    let width = first
        .width()
        .saturating_add(mixed.interval)
        .saturating_add(second.width());
    let height = first.height().max(second.height());
    super::check_canvas("watermark", width, height, context.limits)?;
    let mut canvas = Raster::new(
        width,
        height,
        PixelLayout::Rgba8,
        vec![0; width as usize * height as usize * 4],
    )?;
    let top = |part: &Raster| match mixed.align {
        Align::Top => 0,
        Align::Middle => (height - part.height()) / 2,
        Align::Bottom => height - part.height(),
    };
    canvas.paste(first, 0, top(first))?;
    canvas.paste(second, first.width() + mixed.interval, top(second))?;
    Ok(canvas)
}

/// The top-left corner of the mark, kept inside the image where it fits.
fn placement(mark: &Watermark, base: (u32, u32), size: (u32, u32)) -> (i64, i64) {
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
    } + i64::from(mark.voffset);
    let clamp = |value: i64, room: u32| value.clamp(0, i64::from(room));
    (
        clamp(x, base.0.saturating_sub(size.0)),
        clamp(y, base.1.saturating_sub(size.1)),
    )
}

/// The mark repeated over the whole image (OSS `fill_1`).
fn tile(mut raster: Raster, picture: &Raster, opacity: u8) -> Raster {
    let (width, height) = raster.dimensions();
    let (mark_w, mark_h) = picture.dimensions();
    let step_x = i64::from(mark_w + mark_w / 2).max(1);
    let step_y = i64::from(mark_h.saturating_mul(2)).max(1);
    let mut y = 0i64;
    while y < i64::from(height) {
        let mut x = 0i64;
        while x < i64::from(width) {
            raster = blend(raster, picture, x, y, opacity);
            x += step_x;
        }
        y += step_y;
    }
    raster
}

/// Source-over compositing of an RGBA `overlay` at (x, y), its alpha scaled by `opacity`%;
/// whatever falls outside the image is cut off.
fn blend(mut base: Raster, overlay: &Raster, x: i64, y: i64, opacity: u8) -> Raster {
    let channels = base.layout().bytes_per_pixel();
    let has_alpha = base.layout() == PixelLayout::Rgba8;
    let stride = base.stride();
    let (base_w, base_h) = base.dimensions();
    let (mark_w, mark_h) = overlay.dimensions();
    let data = base.data_mut();
    for row in 0..mark_h {
        let target_y = y + i64::from(row);
        if target_y < 0 || target_y >= i64::from(base_h) {
            continue;
        }
        for column in 0..mark_w {
            let target_x = x + i64::from(column);
            if target_x < 0 || target_x >= i64::from(base_w) {
                continue;
            }
            let Some(pixel) = overlay.pixel(column, row) else {
                continue;
            };
            let alpha = f32::from(pixel[3]) / 255.0 * f32::from(opacity) / 100.0;
            if alpha <= 0.0 {
                continue;
            }
            let start = target_y as usize * stride + target_x as usize * channels;
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
    use crate::codec::Rgb;
    use crate::limits::Limits;
    use crate::ops::text::tests::fonts;

    fn png(raster: &Raster) -> Vec<u8> {
        crate::codec::encode::encode(
            raster,
            crate::codec::ImageFormat::Png,
            &crate::codec::encode::EncodeOptions {
                quality: 90,
                progressive: false,
                deadline: crate::resources::Deadline::default(),
                carried: &crate::metadata::Carried::default(),
            },
        )
        .unwrap()
    }

    fn image_mark(reference: &str) -> Watermark {
        Watermark {
            skip_when_larger: true,
            ..Watermark::new(MarkContent::Image(MarkImage::new(reference.to_string())))
        }
    }

    fn run(base: &Raster, mark: &Watermark, assets: &dyn AssetLookup) -> Raster {
        try_run(base, mark, assets).unwrap()
    }

    fn try_run(
        base: &Raster,
        mark: &Watermark,
        assets: &dyn AssetLookup,
    ) -> Result<Raster, PipelineError> {
        let limits = Limits::default();
        let fonts = fonts();
        let context = StepContext {
            assets,
            fonts: &fonts,
            ..StepContext::new(&limits)
        };
        apply(base.clone(), mark, &context)
    }

    /// The bounding box of the pixels that differ between two images of the same size.
    pub(crate) fn changed_box(before: &Raster, after: &Raster) -> Option<(u32, u32, u32, u32)> {
        let mut found: Option<(u32, u32, u32, u32)> = None;
        for y in 0..before.height() {
            for x in 0..before.width() {
                if before.pixel(x, y) != after.pixel(x, y) {
                    found = Some(match found {
                        None => (x, y, x, y),
                        Some((x0, y0, x1, y1)) => (x0.min(x), y0.min(y), x1.max(x), y1.max(y)),
                    });
                }
            }
        }
        found
    }

    #[test]
    fn a_mark_sits_at_its_gravity_with_margins_and_dissolve() {
        let base = Raster::filled(100, 80, PixelLayout::Rgb8, Rgb::WHITE);
        let red = Raster::filled(10, 10, PixelLayout::Rgb8, Rgb { r: 255, g: 0, b: 0 });
        let assets: HashMap<String, Vec<u8>> = [("logo.png".to_string(), png(&red))].into();
        let mark = image_mark("logo.png");
        let marked = run(&base, &mark, &assets);
        // SouthEast with 10 px margins: the mark covers x 80..90, y 60..70.
        assert_eq!(changed_box(&base, &marked), Some((80, 60, 89, 69)));
        assert_eq!(marked.pixel(85, 65), Some(&[255, 0, 0][..]));
        let half = Watermark {
            opacity: 50,
            gravity: Gravity::NorthWest,
            ..mark.clone()
        };
        let marked = run(&base, &half, &assets);
        assert_eq!(marked.pixel(15, 15), Some(&[255, 128, 128][..]));
        // ws: the short side becomes half of 80.
        let mut scaled = Watermark {
            gravity: Gravity::Center,
            dx: 0,
            dy: 0,
            ..mark.clone()
        };
        if let MarkContent::Image(image) = &mut scaled.content {
            image.ws_milli = Some(500);
        }
        let marked = run(&base, &scaled, &assets);
        assert_eq!(changed_box(&base, &marked), Some((30, 20, 69, 59)));
        // voffset moves a middle-row mark down from the centre line.
        let lowered = Watermark {
            gravity: Gravity::East,
            dy: 0,
            voffset: 20,
            ..mark.clone()
        };
        let marked = run(&base, &lowered, &assets);
        assert_eq!(changed_box(&base, &marked), Some((80, 55, 89, 64)));
        // Missing image: WatermarkError; a mark larger than the image: skipped (Qiniu) or
        // clipped (OSS).
        let missing = image_mark("nope");
        let error = try_run(&base, &missing, &assets).unwrap_err();
        assert_eq!(error.code, ErrorCode::WatermarkError);
        let small = Raster::filled(5, 5, PixelLayout::Rgb8, Rgb::WHITE);
        assert_eq!(run(&small, &mark, &assets), small);
        let clipped = Watermark {
            skip_when_larger: false,
            ..mark.clone()
        };
        assert_eq!(
            run(&small, &clipped, &assets),
            Raster::filled(5, 5, PixelLayout::Rgb8, Rgb { r: 255, g: 0, b: 0 })
        );
    }

    #[test]
    fn preprocessing_scales_the_mark_relative_to_the_main_image() {
        let red = Raster::filled(40, 20, PixelLayout::Rgb8, Rgb { r: 255, g: 0, b: 0 });
        let assets: HashMap<String, Vec<u8>> = [("panda.png".to_string(), png(&red))].into();
        // P_10: 10 % of a 200x100 image is a 20x10 box; the 40x20 mark fits it exactly.
        let mut mark = image_mark("panda.png");
        if let MarkContent::Image(image) = &mut mark.content {
            image.preprocess = vec![MarkStep::MainPercent(10)];
        }
        let base = Raster::filled(200, 100, PixelLayout::Rgb8, Rgb::WHITE);
        let marked = run(&base, &mark, &assets);
        assert_eq!(changed_box(&base, &marked), Some((170, 80, 189, 89)));
        // The same mark on an image twice the size is twice the size.
        let base = Raster::filled(400, 200, PixelLayout::Rgb8, Rgb::WHITE);
        let marked = run(&base, &mark, &assets);
        assert_eq!(changed_box(&base, &marked), Some((350, 170, 389, 189)));
    }

    #[test]
    fn text_marks_draw_in_the_south_east_corner_only() {
        let base = Raster::filled(300, 200, PixelLayout::Rgb8, Rgb::WHITE);
        let mut text = TextMark::new("Hello".to_string());
        text.size = 30;
        let mark = Watermark::new(MarkContent::Text(text.clone()));
        let marked = run(&base, &mark, &NoAssets);
        let (x0, y0, x1, y1) = changed_box(&base, &marked).unwrap();
        assert!(x0 > 150 && y0 > 140, "{x0},{y0}");
        assert!(x1 <= 289 && y1 <= 189, "{x1},{y1}");
        // Black letters: some pixel is (nearly) black.
        assert!(marked.data().chunks_exact(3).any(|p| p[0] < 30));
        // Fully transparent: nothing changes.
        let invisible = Watermark {
            opacity: 0,
            ..mark.clone()
        };
        assert_eq!(run(&base, &invisible, &NoAssets), base);
        // Tiled: marks all over the image, the top-left corner included.
        let tiled = Watermark {
            fill: true,
            ..mark.clone()
        };
        let marked = run(&base, &tiled, &NoAssets);
        let (x0, y0, x1, y1) = changed_box(&base, &marked).unwrap();
        assert!(
            x0 < 20 && y0 < 20 && x1 > 250 && y1 > 100,
            "{x0},{y0},{x1},{y1}"
        );
    }

    fn fixture(name: &str) -> Vec<u8> {
        let path = format!("{}/../fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read(&path).unwrap_or_else(|error| panic!("{path}: {error}"))
    }

    /// The document's examples on the gopher, run whole: a resize to 300 wide, then the
    /// panda (here a fixture) at P_30 and a text, both south-east.
    #[test]
    fn oss_examples_change_the_south_east_corner_only() {
        let assets: HashMap<String, Vec<u8>> =
            [("panda.png".to_string(), fixture("alpha-300x200.png"))].into();
        let limits = Limits::default();
        let fonts = fonts();
        let run = |process: &str| {
            let pipeline = crate::parse::oss::parse_process(process, &crate::parse::NoStyles)
                .unwrap()
                .pipeline;
            let resources = crate::Resources::new(&limits)
                .with_assets(&assets)
                .with_fonts(&fonts);
            let rendered =
                crate::exec::run_one(&pipeline, &fixture("gopher-640x427.jpg"), &resources)
                    .unwrap_or_else(|error| panic!("{process}: {error}"));
            decode::decode(&rendered.bytes, &limits).unwrap().raster
        };
        let plain = run("image/resize,w_300/format,png");
        assert_eq!(plain.dimensions(), (300, 200));
        let table = [
            // P_30 of 300x200 is a 90x60 box; the 300x200 panda becomes 90x60 (its
            // transparent corners may leave a few edge pixels unchanged).
            (
                "image/resize,w_300/watermark,image_cGFuZGEucG5nP3gtb3NzLXByb2Nlc3M9aW1hZ2UvcmVzaXplLFBfMzA,t_90,g_se,x_10,y_10/format,png",
                (200, 130, 289, 189),
            ),
            (
                "image/resize,w_300,h_300/watermark,type_d3F5LXplbmhlaQ,size_30,text_SGVsbG8g5Zu-54mH5pyN5YqhIQ,color_FFFFFF,shadow_50,t_100,g_se,x_10,y_10/format,png",
                // "Hello 图片服务!" at 30 px is about 160 px wide and 35 high.
                (100, 150, 289, 189),
            ),
        ];
        for (process, (min_x, min_y, max_x, max_y)) in table {
            let marked = run(process);
            let (x0, y0, x1, y1) = changed_box(&plain, &marked).unwrap();
            assert!(
                x0 >= min_x && y0 >= min_y && x1 <= max_x && y1 <= max_y,
                "{process}: changed ({x0}, {y0})-({x1}, {y1})"
            );
        }
    }

    #[test]
    fn mixed_marks_put_image_and_text_side_by_side() {
        let red = Raster::filled(20, 60, PixelLayout::Rgb8, Rgb { r: 255, g: 0, b: 0 });
        let assets: HashMap<String, Vec<u8>> = [("panda.png".to_string(), png(&red))].into();
        let base = Raster::filled(300, 200, PixelLayout::Rgb8, Rgb::WHITE);
        let mut text = TextMark::new("Hi".to_string());
        text.color = Rgb { r: 0, g: 0, b: 255 };
        let mixed = |text_first: bool, align: Align| {
            Watermark::new(MarkContent::Mixed(MixedMark {
                image: MarkImage::new("panda.png".to_string()),
                text: text.clone(),
                text_first,
                align,
                interval: 10,
            }))
        };
        // Image first, bottoms aligned: the red bar is the left part, its bottom 10 px above
        // the image's bottom edge.
        let marked = run(&base, &mixed(false, Align::Bottom), &assets);
        let (x0, y0, x1, y1) = changed_box(&base, &marked).unwrap();
        assert_eq!((y0, y1), (130, 189));
        assert_eq!(marked.pixel(x0, 150), Some(&[255, 0, 0][..]));
        assert_eq!(marked.pixel(x1, 150), Some(&[255, 255, 255][..]));
        // Text first: the red bar is the right part.
        let marked = run(&base, &mixed(true, Align::Top), &assets);
        let (_, _, x1, _) = changed_box(&base, &marked).unwrap();
        assert_eq!(x1, 289);
        assert_eq!(marked.pixel(289, 150), Some(&[255, 0, 0][..]));
    }
}
