//! The operations, one module per operation: its arguments, their canonical text (written by
//! `Display`, read by the module's `from_canonical`), how it plans its geometry for a given
//! input size, how it changes the pixels, and its tests.
//!
//! Planning is separate from applying so that limits are checked on the planned size before
//! any buffer is allocated, and so that a pipeline can be validated against a source's header
//! dimensions without decoding it ([`crate::exec::plan`]). Every step's arguments implement
//! [`Operation`]; [`crate::ast::Step::operation`] hands them out, and [`plan_step`] and
//! [`apply_step`] go through it, so the executor knows no operation by name.
//!
//! Every operation is written once for both dialects: the parsers in [`crate::parse`] map
//! their syntax onto the same argument types. No vendor syntax lives here; the canonical form
//! ([`crate::ast`]) does, each action with its operation.
//!
//! * [`resize`]: OSS `resize`, Qiniu `thumbnail` (the OSS-expressible geometries).
//! * [`scale`]: Qiniu's other thumbnail geometries (`!Npx`, `!xNp`, `WxH<`, `Area@`).
//! * [`image_view`]: Qiniu `imageView2` modes 0-5.
//! * [`info`]: Qiniu `imageInfo` and `exif`, OSS `info`, `average-hue` and `codes`, whose
//!   result is a JSON document; [`codes`] finds and reads the QR codes and barcodes, and
//!   [`faces`] answers OSS `imm/detectface` with a [`faces::FaceDetection`] (the MTCNN
//!   cascade of [`faces::mtcnn`]).
//! * [`watermark`]: image, text and mixed watermarks (OSS `watermark`, Qiniu `watermark/1`, `/2`,
//!   `/3`), images via [`watermark::AssetLookup`], fonts via [`text::FontLookup`]; [`text`]
//!   renders the text marks.
//! * [`crop`] with [`gravity`]: Qiniu `crop`, and OSS `crop` ([`crop::OssCrop`]) on the same
//!   engine.
//! * [`index_crop`], [`circle`], [`rounded_corners`]: OSS `indexcrop`, `circle`,
//!   `rounded-corners`.
//! * [`rotate`], [`auto_orient`], [`blur`].
//! * [`bright`], [`contrast`], [`sharpen`]: OSS tone and detail adjustments (Qiniu `sharpen`).
//! * [`format`](mod@format), [`quality`], [`size_limit`]: output settings, applied by the
//!   encoder.

pub mod auto_orient;
pub mod blur;
pub mod bright;
pub mod circle;
pub mod codes;
pub mod contrast;
pub mod crop;
pub mod faces;
pub mod format;
pub mod gravity;
pub mod image_view;
pub mod index_crop;
pub mod info;
pub mod quality;
pub mod resize;
pub mod rotate;
pub mod rounded_corners;
pub mod scale;
pub mod sharpen;
pub mod size_limit;
#[cfg(test)]
pub(crate) mod test_support;
pub mod text;
pub mod watermark;

use crate::ast::Step;
use crate::codec::Raster;
use crate::error::PipelineError;
use crate::limits::Limits;
use crate::resources::Deadline;
use std::fmt;

/// What every step of a pipeline is: an operation with a canonical action name, a plan for an
/// input size, and the change it makes to the pixels. The `Display` is its canonical text.
pub trait Operation: fmt::Display {
    /// The action's name as the canonical form writes it; error messages start with it.
    fn action(&self) -> &'static str;

    /// The operation made concrete for an input of `input` size, checked against the limits
    /// before anything is allocated.
    fn plan(&self, input: (u32, u32), context: &StepContext<'_>) -> Planned;

    /// Carries out `plan`, made by [`Operation::plan`] for this raster's size.
    fn apply(&self, raster: Raster, plan: &StepPlan, context: &StepContext<'_>) -> Applied;

    /// The memory the step needs for an input of `input` size beyond its input and output
    /// rasters (its working buffers), for [`crate::cost`]'s estimate. Most steps need none.
    fn scratch_bytes(&self, _input: (u32, u32)) -> u64 {
        0
    }
}

/// The number of pixels of a `(width, height)`.
pub(crate) fn pixels(size: (u32, u32)) -> u64 {
    u64::from(size.0) * u64::from(size.1)
}

/// What planning a step gives: its plan, or why it cannot be done on this input.
pub type Planned = Result<StepPlan, PipelineError>;

/// What applying a step gives: the changed raster.
pub type Applied = Result<Raster, PipelineError>;

/// What a step may need to know besides its input size.
#[derive(Clone, Copy)]
pub struct StepContext<'a> {
    /// The limits of the run.
    pub limits: &'a Limits,
    /// The source's EXIF orientation (1-8; 1 when absent), for `auto-orient`.
    pub orientation: u8,
    /// Where watermark images come from.
    pub assets: &'a dyn watermark::AssetLookup,
    /// Where the fonts of text watermarks come from.
    pub fonts: &'a dyn text::FontLookup,
    /// When the run must end; long steps look at it between bands of rows.
    pub deadline: Deadline,
    /// What finds the faces face gravity keeps ([`faces::focus`]).
    pub faces: &'a dyn faces::FaceDetection,
}

impl<'a> StepContext<'a> {
    /// A context for a source without EXIF orientation, and no watermark images or fonts.
    pub fn new(limits: &'a Limits) -> Self {
        StepContext {
            limits,
            orientation: 1,
            assets: &watermark::NoAssets,
            fonts: &text::NoFonts,
            deadline: Deadline::default(),
            faces: &faces::NO_FACES,
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

/// A step made concrete for one input size: the shape of what it does, which is all the
/// executor needs to know (the result's size, and whether a JPEG may be shrunk on load for it).
/// The operation itself knows the rest ([`Operation::apply`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepPlan {
    /// Resampling to a new size (resize, scale, view).
    Resize(resize::ResizePlan),
    /// The region of the input that is kept (crops; the square around a `circle`'s disc).
    Crop(Region),
    /// A rotation into a new canvas.
    Rotate(rotate::RotatePlan),
    /// An orientation fix.
    Orient(auto_orient::Transform),
    /// A change of the pixels in place, the size kept (blur, watermark, rounded corners,
    /// bright, contrast, sharpen).
    InPlace,
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
            StepPlan::Crop(_) | StepPlan::Rotate(_) | StepPlan::Orient(_) | StepPlan::InPlace => {
                None
            }
        }
    }

    /// The size of the step's result for an input of `input` size.
    pub fn output_size(&self, input: (u32, u32)) -> (u32, u32) {
        match self {
            StepPlan::Resize(plan) => plan.output_size(input),
            StepPlan::Crop(region) => (region.width, region.height),
            StepPlan::Rotate(plan) => (plan.width, plan.height),
            StepPlan::Orient(transform) => transform.output_size(input),
            StepPlan::InPlace => input,
        }
    }
}

/// The error for a plan handed to an operation that did not make it: a bug, never input.
pub(crate) fn unexpected_plan(action: &str, plan: &StepPlan) -> PipelineError {
    PipelineError::internal(format!("{action}: cannot carry out the plan {plan:?}"))
}

/// Carries out a resampling plan: what resize, scale and view share once planned.
pub(crate) fn apply_resample(
    action: &str,
    raster: Raster,
    plan: &StepPlan,
    deadline: Deadline,
) -> Applied {
    match plan {
        StepPlan::Resize(plan) => resize::apply(raster, plan, deadline),
        other => Err(unexpected_plan(action, other)),
    }
}

/// Carries out a region plan by copying the region out: what the crops share once planned.
pub(crate) fn apply_region(action: &str, raster: &Raster, plan: &StepPlan) -> Applied {
    match plan {
        StepPlan::Crop(region) => region.extract(raster),
        other => Err(unexpected_plan(action, other)),
    }
}

/// Plans `step` for an input of `input` size, checking the result against the limits.
pub fn plan_step(
    step: &Step,
    input: (u32, u32),
    context: &StepContext<'_>,
) -> Result<StepPlan, PipelineError> {
    step.operation().plan(input, context)
}

/// Carries out a plan made by [`plan_step`] for this raster's size.
pub fn apply_step(
    raster: Raster,
    step: &Step,
    plan: &StepPlan,
    context: &StepContext<'_>,
) -> Result<Raster, PipelineError> {
    step.operation().apply(raster, plan, context)
}

/// Maps every colour channel of `raster` (never alpha) through `table`, indexed by the
/// channel's value: the per-pixel tone curves of `bright` and `contrast`.
pub(crate) fn map_colour_channels(mut raster: Raster, table: &[u8; 256]) -> Raster {
    let channels = raster.layout().bytes_per_pixel();
    for pixel in raster.data_mut().chunks_exact_mut(channels) {
        for value in pixel.iter_mut().take(3) {
            *value = table[usize::from(*value)];
        }
    }
    raster
}
