//! The operations, one module per operation: its arguments, how it plans its geometry for a
//! given input size, how it changes the pixels, and its tests.
//!
//! Planning is separate from applying so that limits are checked on the planned size before
//! any buffer is allocated, and so that a pipeline can be validated against a source's header
//! dimensions without decoding it ([`crate::exec::plan`]).
//!
//! Every operation is written once for both dialects: the parsers map their syntax onto the
//! same argument types, and each type renders (and [`parse_canonical_action`] reads) the
//! canonical form described in [`crate::ast`].
//!
//! * [`resize`]: OSS `resize`, Qiniu `thumbnail` (the OSS-expressible geometries).
//! * [`scale`]: Qiniu's other thumbnail geometries (`!Npx`, `!xNp`, `WxH<`, `Area@`).
//! * [`image_view`]: Qiniu `imageView2` modes 0-5.
//! * [`info`]: Qiniu `imageInfo` and `exif`, whose result is a JSON document.
//! * [`watermark`]: image watermarks (Qiniu `watermark/1` and `/3`), images via [`watermark::AssetLookup`].
//! * [`crop`] with [`gravity`]: Qiniu `crop` (and the model for OSS `crop`).
//! * [`rotate`], [`auto_orient`], [`blur`].
//! * [`format`](mod@format), [`quality`], [`size_limit`]: output settings, applied by the
//!   encoder.

pub mod auto_orient;
pub mod blur;
pub mod crop;
pub mod format;
pub mod gravity;
pub mod image_view;
pub mod info;
pub mod quality;
pub mod resize;
pub mod rotate;
pub mod scale;
pub mod size_limit;
pub mod watermark;

use crate::ast::Step;
use crate::codec::Raster;
use crate::error::PipelineError;
use crate::limits::Limits;
use std::str::FromStr;

/// What a step may need to know besides its input size.
#[derive(Clone, Copy)]
pub struct StepContext<'a> {
    /// The limits of the run.
    pub limits: &'a Limits,
    /// The source's EXIF orientation (1-8; 1 when absent), for `auto-orient`.
    pub orientation: u8,
    /// Where watermark images come from.
    pub assets: &'a dyn watermark::AssetLookup,
}

impl<'a> StepContext<'a> {
    /// A context for a source without EXIF orientation, and no watermark images.
    pub fn new(limits: &'a Limits) -> Self {
        StepContext {
            limits,
            orientation: 1,
            assets: &watermark::NoAssets,
        }
    }
}

/// A rectangle inside an image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Region {
    /// Left edge.
    pub x: u32,
    /// Top edge.
    pub y: u32,
    /// Width (at least 1).
    pub width: u32,
    /// Height (at least 1).
    pub height: u32,
}

impl Region {
    /// Copies this region out of `raster`; the region must lie inside it.
    pub fn extract(&self, raster: &Raster) -> Result<Raster, PipelineError> {
        let inside = u64::from(self.x) + u64::from(self.width) <= u64::from(raster.width())
            && u64::from(self.y) + u64::from(self.height) <= u64::from(raster.height());
        if !inside {
            return Err(PipelineError::internal(format!(
                "region {self:?} is outside the {}x{} image",
                raster.width(),
                raster.height()
            )));
        }
        let size = raster.layout().bytes_per_pixel();
        let stride = raster.stride();
        let row_len = self.width as usize * size;
        let mut data = Vec::with_capacity(row_len * self.height as usize);
        for row in self.y as usize..(self.y + self.height) as usize {
            let start = row * stride + self.x as usize * size;
            data.extend_from_slice(
                raster
                    .data()
                    .get(start..start + row_len)
                    .unwrap_or_default(),
            );
        }
        Raster::new(self.width, self.height, raster.layout(), data)
    }
}

/// Rejects a canvas a geometric step (rotate) would make over the source limits: such a step
/// is not a resize, so the output-size limits of `resize` do not apply, but a canvas larger
/// than any source we accept is refused before it is allocated.
pub(crate) fn check_canvas(
    action: &str,
    width: u32,
    height: u32,
    limits: &Limits,
) -> Result<(), PipelineError> {
    let pixels = u64::from(width) * u64::from(height);
    if width > limits.max_side || height > limits.max_side || pixels > limits.max_pixels {
        return Err(PipelineError::image_too_large(format!(
            "{action}: the result would be {width}x{height}, over the limits of {} px per side \
             and {} px in total",
            limits.max_side, limits.max_pixels
        )));
    }
    Ok(())
}

/// A step made concrete for one input size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepPlan {
    /// What a resize (or Qiniu scale) step will do.
    Resize(resize::ResizePlan),
    /// The region a crop keeps.
    Crop(Region),
    /// A rotation.
    Rotate(rotate::RotatePlan),
    /// An orientation fix.
    Orient(auto_orient::Transform),
    /// A blur.
    Blur(blur::Blur),
    /// A watermark (the size does not change; the mark is read when applied).
    Watermark,
}

impl StepPlan {
    /// When this plan is the first step: the smallest picture it can start from without
    /// losing quality, i.e. the size it resamples to, so that the decoder may shrink a JPEG in
    /// the DCT domain down to it. `None` when the step needs the source at full size.
    pub fn shrink_on_load_size(&self) -> Option<(u32, u32)> {
        match self {
            StepPlan::Resize(plan) => plan.resampled_size(),
            // Crops, rotations and orientation fixes work on source pixels; a blur or a
            // watermark at a smaller scale would not look the same.
            StepPlan::Crop(_)
            | StepPlan::Rotate(_)
            | StepPlan::Orient(_)
            | StepPlan::Blur(_)
            | StepPlan::Watermark => None,
        }
    }

    /// The size of the step's result for an input of `input` size.
    pub fn output_size(&self, input: (u32, u32)) -> (u32, u32) {
        match self {
            StepPlan::Resize(plan) => plan.output_size(input),
            StepPlan::Crop(region) => (region.width, region.height),
            StepPlan::Rotate(plan) => (plan.width, plan.height),
            StepPlan::Orient(transform) => transform.output_size(input),
            StepPlan::Blur(_) | StepPlan::Watermark => input,
        }
    }
}

/// Plans `step` for an input of `input` size, checking the result against the limits.
pub fn plan_step(
    step: &Step,
    input: (u32, u32),
    context: &StepContext<'_>,
) -> Result<StepPlan, PipelineError> {
    let limits = context.limits;
    match step {
        Step::Resize(resize) => resize::plan(resize, input, limits).map(StepPlan::Resize),
        Step::Scale(scale) => scale::plan(scale, input, limits).map(StepPlan::Resize),
        Step::View(view) => image_view::plan(view, input).map(StepPlan::Resize),
        Step::Crop(crop) => crop::plan(crop, input).map(StepPlan::Crop),
        Step::Rotate(rotate) => rotate::plan(rotate, input, limits).map(StepPlan::Rotate),
        Step::AutoOrient => Ok(StepPlan::Orient(auto_orient::Transform::from_exif(
            context.orientation,
        ))),
        Step::Blur(blur) => Ok(StepPlan::Blur(*blur)),
        Step::Watermark(_) => Ok(StepPlan::Watermark),
    }
}

/// Carries out a plan made by [`plan_step`] for this raster's size.
pub fn apply_step(
    raster: Raster,
    step: &Step,
    plan: &StepPlan,
    context: &StepContext<'_>,
) -> Result<Raster, PipelineError> {
    if let Step::Watermark(mark) = step {
        return watermark::apply(raster, mark, context.assets, context.limits);
    }
    match plan {
        StepPlan::Resize(plan) => resize::apply(raster, plan),
        StepPlan::Crop(region) => crop::apply(&raster, region),
        StepPlan::Rotate(plan) => rotate::apply(&raster, plan),
        StepPlan::Orient(transform) => Ok(auto_orient::transform(&raster, *transform)),
        StepPlan::Blur(blur) => blur::apply(&raster, blur),
        StepPlan::Watermark => Ok(raster),
    }
}

/// Reads a canonical-form action added after the OSS parser (see [`crate::ast`]) into
/// `pipeline`; `None` when `name` is not one of these actions.
pub(crate) fn parse_canonical_action(
    name: &str,
    arguments: &[&str],
    pipeline: &mut crate::ast::Pipeline,
) -> Option<Result<(), PipelineError>> {
    if name == "ignore-error" {
        let parsed = match arguments {
            ["1"] => {
                pipeline.output.ignore_error = true;
                Ok(())
            }
            _ => Err(PipelineError::invalid_argument(
                "ignore-error: the canonical form is ignore-error,1",
            )),
        };
        return Some(parsed);
    }
    if name == "document" {
        let parsed = match arguments {
            [value] => info::Document::from_name(value)
                .map(|document| pipeline.output.document = Some(document))
                .ok_or_else(|| {
                    PipelineError::invalid_argument(format!(
                        "document: '{value}' is not a document"
                    ))
                }),
            _ => Err(PipelineError::invalid_argument(
                "document: takes exactly one value",
            )),
        };
        return Some(parsed);
    }
    if name == "frame" {
        if pipeline.frame.is_some() {
            return Some(Err(PipelineError::invalid_argument("frame: given twice")));
        }
        let parsed = CanonicalArgs::new(name, arguments)
            .and_then(crate::video::FrameGrab::from_canonical)
            .map(|frame| pipeline.frame = Some(frame));
        return Some(parsed);
    }
    if name == "size-limit" {
        let parsed = CanonicalArgs::new(name, arguments)
            .and_then(size_limit::SizeLimit::from_canonical)
            .map(|limit| pipeline.output.size_limit = Some(limit));
        return Some(parsed);
    }
    let parsed = match name {
        "scale" => CanonicalArgs::new(name, arguments)
            .and_then(scale::Scale::from_canonical)
            .map(Step::Scale),
        "crop" => CanonicalArgs::new(name, arguments)
            .and_then(crop::Crop::from_canonical)
            .map(Step::Crop),
        "view" => CanonicalArgs::new(name, arguments)
            .and_then(image_view::ImageView::from_canonical)
            .map(Step::View),
        "watermark" => CanonicalArgs::new(name, arguments)
            .and_then(watermark::ImageMark::from_canonical)
            .map(Step::Watermark),
        "rotate" => rotate::Rotate::from_canonical(arguments).map(Step::Rotate),
        "blur" => CanonicalArgs::new(name, arguments)
            .and_then(blur::Blur::from_canonical)
            .map(Step::Blur),
        "auto-orient" => match arguments {
            ["1"] => Ok(Step::AutoOrient),
            _ => Err(PipelineError::invalid_argument(
                "auto-orient: the canonical form is auto-orient,1",
            )),
        },
        _ => return None,
    };
    Some(parsed.map(|step| pipeline.steps.push(step)))
}

/// `k_v` arguments of a canonical action, taken one by one.
pub(crate) struct CanonicalArgs<'a> {
    action: &'a str,
    entries: Vec<(&'a str, &'a str)>,
}

impl<'a> CanonicalArgs<'a> {
    /// Splits `k_v` arguments, refusing duplicates and malformed ones.
    pub(crate) fn new(action: &'a str, arguments: &[&'a str]) -> Result<Self, PipelineError> {
        let entries = crate::parse::key_values(action, arguments)?;
        Ok(CanonicalArgs { action, entries })
    }

    /// The single positional value of an action like `rotate,90`.
    pub(crate) fn single(action: &str, arguments: &[&'a str]) -> Result<&'a str, PipelineError> {
        match arguments {
            [value] if !value.is_empty() => Ok(value),
            _ => Err(PipelineError::invalid_argument(format!(
                "{action}: takes exactly one value"
            ))),
        }
    }

    pub(crate) fn take(&mut self, key: &str) -> Option<&'a str> {
        let position = self.entries.iter().position(|(seen, _)| *seen == key)?;
        Some(self.entries.remove(position).1)
    }

    pub(crate) fn take_parsed<T: FromStr>(
        &mut self,
        key: &str,
    ) -> Result<Option<T>, PipelineError> {
        let action = self.action;
        match self.take(key) {
            None => Ok(None),
            Some(value) => value.parse().map(Some).map_err(|_| {
                PipelineError::invalid_argument(format!("{action}: {key}_{value} is not valid"))
            }),
        }
    }

    /// Fails on the first parameter nobody took.
    pub(crate) fn finish(self) -> Result<(), PipelineError> {
        match self.entries.first() {
            Some((key, value)) => Err(PipelineError::invalid_argument(format!(
                "{}: unknown parameter {key}_{value}",
                self.action
            ))),
            None => Ok(()),
        }
    }
}
