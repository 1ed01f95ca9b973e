//! Running pipelines over a source image: [`run`] (several pipelines, one decode) and
//! [`run_one`].
//!
//! The order of work is chosen so that a request that cannot succeed fails before it costs
//! anything: read the header, plan every step on the header's dimensions (each plan checks the
//! output limits), and only then decode the pixels, apply the steps, and encode.
//!
//! A pipeline that starts from a video frame ([`Pipeline::frame`]) has the frame extracted
//! through [`Resources::frames`] and then runs like any other on that frame.

use crate::ast::{Pipeline, Step};
use crate::codec::colour;
use crate::codec::decode::{self, Decoded, SourceInfo};
use crate::codec::encode::{self, EncodeOptions};
use crate::codec::gif;
use crate::codec::ImageFormat;
use crate::error::{ErrorCode, PipelineError};
use crate::limits::Limits;
use crate::metadata::{self, Carried, ColourPolicy};
use crate::ops::format::{self, OutputFormat};
use crate::ops::quality::{self, QualityContext};
use crate::ops::size_limit::Limited;
use crate::ops::{self, StepPlan};
use crate::resources::{Deadline, Resources};
use crate::video::FrameGrab;

/// The encoded result of a pipeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// The encoded image.
    pub bytes: Vec<u8>,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// The image format `bytes` are in (its `mime()` is the `Content-Type`); for a JSON
    /// document, the source's format.
    pub format: OutputFormat,
    /// What `bytes` hold: an image, or a JSON document about the source (`imageInfo`).
    pub content: Content,
}

/// What a [`Rendered`] holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Content {
    /// An image in [`Rendered::format`].
    #[default]
    Image,
    /// A JSON document (`width`/`height`/`format` then describe the source).
    Json,
}

impl Rendered {
    /// The `Content-Type` of `bytes`.
    pub fn mime(&self) -> &'static str {
        match self.content {
            Content::Image => self.format.mime(),
            Content::Json => "application/json",
        }
    }

    /// The file extension of `bytes` (`jpg`, `png`, ..., `json`).
    pub fn extension(&self) -> &'static str {
        match self.content {
            Content::Image => self.format.extension(),
            Content::Json => "json",
        }
    }

    /// The source itself, unchanged (Qiniu `ignore-error`, a size limit the source meets).
    fn source(source: &[u8], info: &SourceInfo) -> Rendered {
        Rendered {
            bytes: source.to_vec(),
            width: info.width,
            height: info.height,
            format: info.format,
            content: Content::Image,
        }
    }
}

/// What a pipeline will do to a source, worked out from the header alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// One plan per step, in order.
    pub steps: Vec<StepPlan>,
    /// Width of the result.
    pub width: u32,
    /// Height of the result.
    pub height: u32,
    /// Format of the result.
    pub format: OutputFormat,
}

impl Plan {
    /// Where a JPEG decoder may shrink the source in the DCT domain: the index of the step
    /// that resamples first and the smallest decoded size (in the source's stored orientation)
    /// it can start from. Orientation fixes before it (`imageView2` puts `auto-orient` first)
    /// only re-index pixels, so they are looked through, swapping the sides back where they
    /// turn the picture a quarter. `None` when the first other step needs every source pixel.
    pub fn shrink_on_load(&self) -> Option<(usize, (u32, u32))> {
        let mut swapped = false;
        for (index, step) in self.steps.iter().enumerate() {
            if let StepPlan::Orient(transform) = step {
                swapped ^= transform.swaps_sides();
                continue;
            }
            let (width, height) = step.shrink_on_load_size()?;
            let size = if swapped {
                (height, width)
            } else {
                (width, height)
            };
            return Some((index, size));
        }
        None
    }
}

/// Plans `pipeline` for a source described by `info` (see [`crate::probe`]): checks the
/// source dimensions and every step's output against `limits` without decoding a pixel.
pub fn plan(
    pipeline: &Pipeline,
    info: &SourceInfo,
    limits: &Limits,
) -> Result<Plan, PipelineError> {
    limits.check_source_dimensions(info.width, info.height)?;
    let mut size = (info.width, info.height);
    let mut steps = Vec::with_capacity(pipeline.steps.len());
    let context = ops::StepContext {
        limits,
        orientation: info.orientation,
        assets: &ops::watermark::NoAssets,
        fonts: &ops::text::NoFonts,
        deadline: Deadline::default(),
        faces: &ops::faces::NO_FACES,
    };
    for (index, step) in pipeline.steps.iter().enumerate() {
        let planned = ops::plan_step(step, size, &context).map_err(|error| error.at_step(index))?;
        size = planned.output_size(size);
        steps.push(planned);
    }
    Ok(Plan {
        steps,
        width: size.0,
        height: size.1,
        format: format::resolve(&pipeline.output, info.format),
    })
}

/// Runs every pipeline of `batch` on the encoded `source` and gives each result back beside
/// the tag it came with (a job's item, an index, `()`), in the order of `batch`.
///
/// The still-image pipelines share one decode of the source, at the largest size any of them
/// needs: a JPEG shrinks on load only as far as every one of them allows. One pipeline's
/// failure is its own. `resources` holds the limits, the deadline (for the whole batch) and
/// the lookups for watermark images, fonts and video frames.
pub fn run<'p, T>(
    batch: impl IntoIterator<Item = (T, &'p Pipeline)>,
    source: &[u8],
    resources: &Resources<'_>,
) -> Vec<(T, Result<Rendered, PipelineError>)> {
    let batch: Vec<(T, &Pipeline)> = batch.into_iter().collect();
    let stills = batch
        .iter()
        .map(|(_, pipeline)| *pipeline)
        .filter(|pipeline| pipeline.frame.is_none());
    let mut still = StillSource::open(source, stills, resources);
    batch
        .into_iter()
        .map(|(tag, pipeline)| {
            let result = match pipeline.frame {
                Some(grab) => run_on_frame(pipeline, &grab, source, resources),
                None => still.render(pipeline, resources),
            };
            (tag, result)
        })
        .collect()
}

/// [`run`] for a single pipeline.
pub fn run_one(
    pipeline: &Pipeline,
    source: &[u8],
    resources: &Resources<'_>,
) -> Result<Rendered, PipelineError> {
    match pipeline.frame {
        Some(grab) => run_on_frame(pipeline, &grab, source, resources),
        None => StillSource::open(source, [pipeline], resources).render(pipeline, resources),
    }
}

/// A pipeline that starts from a video: its frame is extracted, then the rest of the pipeline
/// runs on it like on any image.
fn run_on_frame(
    pipeline: &Pipeline,
    grab: &FrameGrab,
    video: &[u8],
    resources: &Resources<'_>,
) -> Result<Rendered, PipelineError> {
    let limits = resources.limits;
    if video.len() > limits.max_source_bytes {
        return Err(PipelineError::image_too_large(format!(
            "video: the source is {} bytes, over the limit of {}",
            video.len(),
            limits.max_source_bytes
        )));
    }
    let frame = resources.frames.frame(video, grab)?;
    let on_frame = Pipeline {
        frame: None,
        ..pipeline.clone()
    };
    StillSource::open(&frame, [&on_frame], resources).render(&on_frame, resources)
}

/// A still (or animated) image source, probed once and decoded at most once for every
/// pipeline that renders from it.
struct StillSource<'s> {
    bytes: &'s [u8],
    /// The header, or why the source is no image we take.
    info: Result<SourceInfo, PipelineError>,
    /// A GIF, animated WebP or AVIF/HEIC sequence, which GIF and WebP outputs take frame by
    /// frame.
    animated: bool,
    /// The one decode, made when a pipeline first needs pixels.
    decoded: Option<Result<Decoded, PipelineError>>,
    /// The smallest decoded size every pixel user allows (`None`: the full picture).
    needed: Option<(u32, u32)>,
    /// Pipelines still to render from `decoded`; the last one takes it, the others copy it.
    users_left: usize,
}

impl<'s> StillSource<'s> {
    /// Probes `bytes` and works out, from the plans of `pipelines`, how small it may be decoded.
    fn open<'p>(
        bytes: &'s [u8],
        pipelines: impl IntoIterator<Item = &'p Pipeline>,
        resources: &Resources<'_>,
    ) -> StillSource<'s> {
        let limits = resources.limits;
        let info = limits
            .check_source_len(bytes.len())
            .and_then(|()| decode::probe(bytes));
        let animated = (info.as_ref()).is_ok_and(|info| gif::is_animation(info.format, bytes));
        let mut source = StillSource {
            bytes,
            info,
            animated,
            decoded: None,
            needed: Some((0, 0)),
            users_left: 0,
        };
        if let Ok(info) = &source.info {
            let info = *info;
            for pipeline in pipelines {
                source.count_user(pipeline, &info, limits);
            }
        }
        source
    }

    /// Notes how many pixels `pipeline` needs, if it renders from the decoded picture at all.
    fn count_user(&mut self, pipeline: &Pipeline, info: &SourceInfo, limits: &Limits) {
        // Documents (imageInfo, exif) describe the source and need no pixels.
        if pipeline.output.document.is_some() {
            return;
        }
        let Ok(plan) = plan(pipeline, info, limits) else {
            return;
        };
        if self.is_animation(&plan) {
            return;
        }
        self.users_left += 1;
        let wants = plan.shrink_on_load().map(|(_, size)| size);
        self.needed = self
            .needed
            .zip(wants)
            .map(|(most, wants)| (most.0.max(wants.0), most.1.max(wants.1)));
    }

    /// An animated source written as GIF or WebP keeps its animation.
    fn is_animation(&self, plan: &Plan) -> bool {
        self.animated && matches!(plan.format, ImageFormat::Gif | ImageFormat::Webp)
    }

    /// Renders `pipeline` from this source; Qiniu `ignore-error/1` turns a failure into the
    /// source unchanged (but a passed deadline is the caller's business, not the image's).
    fn render(
        &mut self,
        pipeline: &Pipeline,
        resources: &Resources<'_>,
    ) -> Result<Rendered, PipelineError> {
        let info = self.info.clone()?;
        match self.render_planned(pipeline, &info, resources) {
            Err(error)
                if pipeline.output.ignore_error && error.code != ErrorCode::DeadlineExceeded =>
            {
                Ok(Rendered::source(self.bytes, &info))
            }
            other => other,
        }
    }

    fn render_planned(
        &mut self,
        pipeline: &Pipeline,
        info: &SourceInfo,
        resources: &Resources<'_>,
    ) -> Result<Rendered, PipelineError> {
        resources.check_deadline(|| "decoding".to_string())?;
        if pipeline.output.document.is_some() {
            return describe(pipeline, self.bytes, info, resources);
        }
        let plan = plan(pipeline, info, resources.limits)?;
        if self.is_animation(&plan) {
            return run_animation(pipeline, plan.format, self.bytes, resources);
        }
        let picture = self.take_picture(resources.limits, resources.metadata.colour_profile)?;
        let source = Source {
            bytes: self.bytes,
            info,
        };
        render(pipeline, &plan, &source, picture, resources)
    }

    /// The decoded picture for one more user: decoded on first use (converted to sRGB or
    /// left in its profile as `colour` says); the last user takes it.
    fn take_picture(
        &mut self,
        limits: &Limits,
        colour: ColourPolicy,
    ) -> Result<Decoded, PipelineError> {
        let decoded = match self.decoded.take() {
            Some(decoded) => decoded,
            None => decode::decode_as(self.bytes, limits, self.needed, colour),
        };
        self.users_left = self.users_left.saturating_sub(1);
        if self.users_left > 0 {
            self.decoded = Some(decoded.clone());
        }
        decoded
    }
}

/// The encoded source and its header, as a render sees them.
struct Source<'s> {
    bytes: &'s [u8],
    info: &'s SourceInfo,
}

/// The JSON document a pipeline asks for about the source (`imageInfo`, `exif`).
fn describe(
    pipeline: &Pipeline,
    source: &[u8],
    info: &SourceInfo,
    resources: &Resources<'_>,
) -> Result<Rendered, PipelineError> {
    let limits = resources.limits;
    let document = pipeline
        .output
        .document
        .ok_or_else(|| PipelineError::internal("no document was asked for"))?;
    limits.check_source_dimensions(info.width, info.height)?;
    Ok(Rendered {
        bytes: ops::info::render(document, source, info, resources)?,
        width: info.width,
        height: info.height,
        format: info.format,
        content: Content::Json,
    })
}

/// Applies a pipeline's steps to the decoded source and encodes the result. `plan` is the
/// pipeline's plan on the source's header.
fn render(
    pipeline: &Pipeline,
    plan: &Plan,
    source: &Source<'_>,
    decoded: Decoded,
    resources: &Resources<'_>,
) -> Result<Rendered, PipelineError> {
    let source_size = (source.info.width, source.info.height);
    // After a shrink-on-load, the step that resamples keeps the plan made on the header: it
    // is in absolute pixels, made for the source as it is, not for its shrunk picture.
    let shrunk_on_load = decoded.raster.dimensions() != source_size;
    let kept_plan = plan
        .shrink_on_load()
        .filter(|_| shrunk_on_load)
        .and_then(|(index, _)| Some((index, *plan.steps.get(index)?)));
    let mut raster = decoded.raster;
    let context = step_context(resources, decoded.orientation);
    let format = format::resolve(&pipeline.output, decoded.format);
    for (index, step) in pipeline.steps.iter().enumerate() {
        resources.check_deadline(|| format!("step {index} ({})", step.action_name()))?;
        // Planned again on the decoded size, which is what the pixels really are.
        let planned = match kept_plan {
            Some((kept, plan)) if kept == index => Ok(plan),
            _ => ops::plan_step(step, raster.dimensions(), &context),
        };
        raster = planned
            .and_then(|planned| ops::apply_step(raster, step, &planned, &context))
            .map_err(|error| error.at_step(index))?;
    }
    resources.check_deadline(|| "encoding".to_string())?;
    let carries = !pipeline.output.strip && format.carries_metadata();
    let (raster, icc) = match decoded.icc {
        Some(icc) if !carries => (colour::kept_to_srgb(raster, &icc), None),
        icc => (raster, icc),
    };
    let exif = carries
        .then(|| metadata::exif_to_carry(source.bytes, resources.metadata.exif))
        .flatten();
    let quality = QualityContext {
        source_quality: decoded.source_quality,
        source_pixels: u64::from(source_size.0) * u64::from(source_size.1),
        output_pixels: u64::from(raster.width()) * u64::from(raster.height()),
    };
    let encoding = Encoding {
        format,
        quality,
        deadline: Deadline(resources.deadline),
        carried: Carried { exif, icc },
    };
    encode_result(pipeline, &raster, &encoding, source)
}

/// What the processed picture is encoded as, with what metadata, and by when.
struct Encoding {
    format: OutputFormat,
    quality: QualityContext,
    deadline: Deadline,
    carried: Carried,
}

/// Encodes the processed picture as `format`, within the pipeline's size limit if it has one.
fn encode_result(
    pipeline: &Pipeline,
    raster: &crate::codec::Raster,
    encoding: &Encoding,
    source: &Source<'_>,
) -> Result<Rendered, PipelineError> {
    let (output, format) = (&pipeline.output, encoding.format);
    let options = EncodeOptions {
        quality: quality::resolve(output.quality, &encoding.quality),
        progressive: output.interlace == Some(true),
        deadline: encoding.deadline,
        carried: &encoding.carried,
    };
    let mut bytes = encode::encode(raster, format, &options)?;
    if let Some(size_limit) = output.size_limit {
        let limited = size_limit.enforce(
            bytes,
            options.quality,
            format == ImageFormat::Jpeg,
            source.bytes.len(),
            |quality| encode::encode(raster, format, &EncodeOptions { quality, ..options }),
        )?;
        bytes = match limited {
            Limited::Encoded(bytes) => bytes,
            Limited::Source => return Ok(Rendered::source(source.bytes, source.info)),
        };
    }
    let (width, height) = raster.dimensions();
    Ok(Rendered {
        bytes,
        width,
        height,
        format,
        content: Content::Image,
    })
}

/// The context the steps of one run see: the run's limits and lookups, and the source's
/// EXIF orientation.
fn step_context<'r>(resources: &Resources<'r>, orientation: u8) -> ops::StepContext<'r> {
    ops::StepContext {
        limits: resources.limits,
        orientation,
        assets: resources.assets,
        fonts: resources.fonts,
        deadline: Deadline(resources.deadline),
        faces: resources.faces,
    }
}

/// GIF, animated WebP or an AVIF/HEIC sequence to GIF or to animated WebP (OSS
/// "将一张gif图片保存后成动态webp格式"): every frame through the steps, one at a time
/// ([`gif::transcode`], [`gif::transcode_to_webp`]); a still GIF is an animation of one frame. The WebP's quality follows the `quality` setting (a GIF has no
/// source quality, so relative and absolute are the same).
///
/// OSS's one-level rule ("gif、webp 动图由于资源消耗原因目前只支持一级处理。如不能在缩略操作后直接
/// 进行图片裁剪"): unless the pipeline allows several steps on an animation (Qiniu, see
/// [`crate::ast::OutputSettings::multi_step_animation`]), an animated source (two frames or
/// more) with more than one step is `BadRequest`, found when the second frame arrives. Any one
/// action is applied frame by frame; output settings (`format`, `quality`, `interlace`) are
/// not steps and do not count. A still GIF, or an animation written to another format (its
/// first frame), takes any number of steps.
fn run_animation(
    pipeline: &Pipeline,
    format: ImageFormat,
    source: &[u8],
    resources: &Resources<'_>,
) -> Result<Rendered, PipelineError> {
    // Animations carry no EXIF orientation we honour.
    let context = step_context(resources, 1);
    let one_level_only = !pipeline.output.multi_step_animation && pipeline.steps.len() > 1;
    let process = |frame: usize, mut raster: crate::codec::Raster| {
        if frame == 1 && one_level_only {
            return Err(one_level_refusal(pipeline));
        }
        for (index, step) in pipeline.steps.iter().enumerate() {
            resources.check_deadline(|| {
                format!("step {index} ({}) of frame {frame}", step.action_name())
            })?;
            raster = ops::plan_step(step, raster.dimensions(), &context)
                .and_then(|planned| ops::apply_step(raster, step, &planned, &context))
                .map_err(|error| error.at_step(index))?;
        }
        Ok(raster)
    };
    let limits = resources.limits;
    let animation = match format {
        ImageFormat::Webp => {
            let context = QualityContext {
                source_quality: None,
                source_pixels: 0,
                output_pixels: 0,
            };
            let quality = quality::resolve(pipeline.output.quality, &context);
            gif::transcode_to_webp(source, limits, quality, process)?
        }
        _ => gif::transcode(source, limits, process)?,
    };
    Ok(Rendered {
        bytes: animation.bytes,
        width: animation.width,
        height: animation.height,
        format,
        content: Content::Image,
    })
}

/// OSS processes animations one level deep: a second action on an animated source is refused.
fn one_level_refusal(pipeline: &Pipeline) -> PipelineError {
    let actions: Vec<&str> = pipeline.steps.iter().map(Step::action_name).collect();
    PipelineError::new(
        ErrorCode::BadRequest,
        format!(
            "an animation (GIF or WebP) takes one processing action (OSS processes \
             animations one level deep), this pipeline has {}: {}",
            actions.len(),
            actions.join(", ")
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::decode::decode;
    use crate::codec::ImageFormat;
    use crate::parse::{oss, qiniu, NoStyles};
    use std::time::{Duration, Instant};

    fn fixture(name: &str) -> Vec<u8> {
        let path = format!("{}/../fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read(&path).unwrap_or_else(|error| panic!("{path}: {error}"))
    }

    fn oss_pipeline(text: &str) -> Pipeline {
        oss::parse_process(text, &NoStyles)
            .unwrap_or_else(|error| panic!("{text}: {error}"))
            .pipeline
    }

    fn run(pipeline: &Pipeline, source: &[u8], limits: &Limits) -> Result<Rendered, PipelineError> {
        run_one(pipeline, source, &Resources::new(limits))
    }

    fn run_oss(text: &str, source: &str) -> Rendered {
        run(&oss_pipeline(text), &fixture(source), &Limits::default())
            .unwrap_or_else(|error| panic!("{text} on {source}: {error}"))
    }

    #[test]
    fn an_avif_sequence_goes_frame_by_frame_to_gif_and_webp_and_is_held_to_the_frame_limit() {
        let source = fixture("anim-64x48.avif");
        assert!(gif::is_animation(ImageFormat::Avif, &source));
        for format in ["gif", "webp"] {
            // Qiniu's format/gif converts any source (OSS's only GIF sources).
            let text = format!("imageMogr2/thumbnail/32x/format/{format}");
            let pipeline = qiniu::parse_command(&text).unwrap().pipeline;
            let result = run(&pipeline, &source, &Limits::default()).unwrap();
            assert_eq!((result.width, result.height), (32, 24), "{format}");
            // Three frames: red, green, blue.
            let mut colours = Vec::new();
            let each = |index: usize, raster: crate::codec::Raster| {
                let pixel = raster.pixel(16, 12).unwrap();
                colours.push((index, [pixel[0], pixel[1], pixel[2]]));
                Ok(raster)
            };
            let frames = match format {
                "gif" => gif::transcode(&result.bytes, &Limits::default(), each).unwrap(),
                _ => gif::transcode_to_webp(&result.bytes, &Limits::default(), 90, each).unwrap(),
            };
            assert_eq!(frames.frames, 3, "{format}");
            let dominant: Vec<usize> = (colours.iter())
                .map(|(_, rgb)| (0..3).max_by_key(|&channel| rgb[channel]).unwrap())
                .collect();
            assert_eq!(dominant, [0, 1, 2], "{format}: {colours:?}");
        }
        // Written as AVIF (its own format), the result is the primary still image.
        let still = run_oss("image/resize,w_32", "anim-64x48.avif");
        assert_eq!(still.format, ImageFormat::Avif);
        let two = Limits {
            max_gif_frames: 2,
            ..Limits::default()
        };
        let error = run(&oss_pipeline("image/format,gif"), &source, &two).unwrap_err();
        assert_eq!(error.code, ErrorCode::ImageTooLarge, "{error}");
    }

    #[test]
    fn results_are_in_the_requested_or_the_source_format() {
        let table = [
            (
                "image/resize,w_100",
                "gopher-640x427.jpg",
                ImageFormat::Jpeg,
                (100, 67),
            ),
            (
                "image/resize,w_100/format,png",
                "gopher-640x427.jpg",
                ImageFormat::Png,
                (100, 67),
            ),
            (
                "image/format,webp",
                "small-400x300.png",
                ImageFormat::Webp,
                (400, 300),
            ),
            ("image/format,bmp", "tiny.webp", ImageFormat::Bmp, (32, 24)),
            ("image/format,tiff", "tiny.bmp", ImageFormat::Tiff, (32, 24)),
            ("image/format,jpg", "tiny.tiff", ImageFormat::Jpeg, (32, 24)),
            // A GIF source stays a GIF by default.
            (
                "image/resize,w_50",
                "anim-100x80.gif",
                ImageFormat::Gif,
                (50, 40),
            ),
            // OSS: format,gif converts only GIF sources; others keep their format.
            (
                "image/format,gif",
                "small-400x300.png",
                ImageFormat::Png,
                (400, 300),
            ),
            (
                "image/format,gif",
                "anim-100x80.gif",
                ImageFormat::Gif,
                (100, 80),
            ),
        ];
        for (text, source, format, size) in table {
            let rendered = run_oss(text, source);
            assert_eq!(rendered.format, format, "{text} on {source}");
            assert_eq!(
                (rendered.width, rendered.height),
                size,
                "{text} on {source}"
            );
            let decoded = decode(&rendered.bytes, &Limits::default()).unwrap();
            assert_eq!(decoded.format, format, "{text} on {source}");
            assert_eq!(decoded.raster.dimensions(), size, "{text} on {source}");
        }
    }

    #[test]
    fn qiniu_converts_any_source_to_gif() {
        let commands = qiniu::parse_fops("imageMogr2/format/gif").unwrap();
        let rendered = run(
            &commands[0].pipeline,
            &fixture("small-400x300.png"),
            &Limits::default(),
        )
        .unwrap();
        assert_eq!(rendered.format, ImageFormat::Gif);
    }

    #[test]
    fn png_transparency_becomes_white_in_jpeg_and_stays_in_png() {
        let jpeg = run_oss("image/format,jpg", "alpha-300x200.png");
        let decoded = decode(&jpeg.bytes, &Limits::default()).unwrap();
        // (5, 5) is fully transparent in the fixture; (120, 100) is inside the opaque disc.
        let corner = decoded.raster.pixel(5, 5).unwrap();
        assert!(corner.iter().all(|&channel| channel >= 250), "{corner:?}");
        let disc = decoded.raster.pixel(120, 100).unwrap();
        assert!(disc[2] > 150 && disc[0] < 80, "{disc:?}");

        let png = run_oss("image/resize,w_150", "alpha-300x200.png");
        let decoded = decode(&png.bytes, &Limits::default()).unwrap();
        assert_eq!(decoded.raster.pixel(2, 2), Some(&[0, 0, 0, 0][..]));
    }

    #[test]
    fn lower_quality_makes_smaller_jpegs() {
        let sizes: Vec<usize> = ["Q_20", "Q_50", "Q_80", "Q_95"]
            .iter()
            .map(|quality| {
                // Relative to the source's estimated quality of 85, an absolute Q above it is
                // capped, so use a PNG source whose quality is unknown.
                run_oss(
                    &format!("image/format,jpg/quality,{quality}"),
                    "small-400x300.png",
                )
                .bytes
                .len()
            })
            .collect();
        assert!(sizes.windows(2).all(|pair| pair[0] < pair[1]), "{sizes:?}");

        // OSS Q never exceeds the source quality: Q_95 on an 85 source encodes at 85.
        let capped = run_oss("image/quality,Q_95", "gopher-640x427.jpg");
        let at_85 = run_oss("image/quality,Q_85", "gopher-640x427.jpg");
        assert_eq!(capped.bytes, at_85.bytes);
        // Relative q_50 of an 85 source is 43 (42.5 rounded).
        let relative = run_oss("image/quality,q_50", "gopher-640x427.jpg");
        let absolute = run_oss("image/quality,Q_43", "gopher-640x427.jpg");
        assert_eq!(relative.bytes, absolute.bytes);
    }

    #[test]
    fn interlace_writes_a_progressive_jpeg() {
        let is_progressive =
            |bytes: &[u8]| crate::codec::decode::jpeg_frame_marker(bytes) == Some(0xC2);
        let baseline = run_oss("image/resize,w_200", "gopher-640x427.jpg");
        assert!(!is_progressive(&baseline.bytes));
        let progressive = run_oss("image/resize,w_200/interlace,1", "gopher-640x427.jpg");
        assert!(is_progressive(&progressive.bytes));
        let from_png = run_oss("image/interlace,1/format,jpg", "small-400x300.png");
        assert!(is_progressive(&from_png.bytes));
        // Qiniu spelling.
        let commands = qiniu::parse_fops("imageMogr2/thumbnail/300x300/interlace/1").unwrap();
        let rendered = run(
            &commands[0].pipeline,
            &fixture("gopher-640x427.jpg"),
            &Limits::default(),
        )
        .unwrap();
        assert!(is_progressive(&rendered.bytes));
        assert_eq!((rendered.width, rendered.height), (300, 200));
    }

    #[test]
    fn failures_carry_the_right_code_and_step() {
        let limits = Limits::default();
        let table = [
            (
                "image/resize,w_100",
                "truncated.jpg",
                ErrorCode::DecodeFailed,
                None,
            ),
            (
                "image/resize,w_100",
                "garbage.jpg",
                ErrorCode::DecodeFailed,
                None,
            ),
            (
                "image/format,png/resize,p_1000,limit_0",
                "gopher-640x427.jpg",
                ErrorCode::ImageTooLarge,
                Some(0),
            ),
            (
                "image/resize,w_100/resize,p_1000,limit_0/resize,p_1000,limit_0",
                "gopher-640x427.jpg",
                ErrorCode::ImageTooLarge,
                Some(2),
            ),
        ];
        for (text, source, code, step) in table {
            let error = run(&oss_pipeline(text), &fixture(source), &limits).unwrap_err();
            assert_eq!(
                (error.code, error.step),
                (code, step),
                "{text} on {source}: {error}"
            );
        }
    }

    #[test]
    fn plan_predicts_the_result_from_the_header() {
        let source = fixture("gopher-640x427.jpg");
        let info = crate::probe(&source).unwrap();
        let pipeline = oss_pipeline("image/resize,m_fill,w_300,h_100/resize,p_50/format,webp");
        let planned = plan(&pipeline, &info, &Limits::default()).unwrap();
        assert_eq!(
            (planned.width, planned.height, planned.format),
            (150, 50, ImageFormat::Webp)
        );
        let rendered = run(&pipeline, &source, &Limits::default()).unwrap();
        assert_eq!((rendered.width, rendered.height), (150, 50));
    }

    #[test]
    fn a_passed_deadline_stops_the_run() {
        let past = Instant::now()
            .checked_sub(Duration::from_millis(1))
            .unwrap_or_else(Instant::now);
        let limits = Limits::default();
        let error = run_one(
            &oss_pipeline("image/resize,w_100"),
            &fixture("gopher-640x427.jpg"),
            &Resources::new(&limits).with_deadline(Some(past)),
        )
        .unwrap_err();
        assert_eq!(error.code, ErrorCode::DeadlineExceeded);
        let future = Instant::now() + Duration::from_secs(60);
        assert!(run_one(
            &Pipeline::default(),
            &fixture("tiny.bmp"),
            &Resources::new(&limits).with_deadline(Some(future))
        )
        .is_ok());
    }

    #[test]
    fn run_many_decodes_once_and_keeps_each_result_and_failure_apart() {
        let source = fixture("gopher-640x427.jpg");
        let pipelines = [
            oss_pipeline("image/resize,w_100"),
            oss_pipeline("image/resize,w_100/resize,p_1000,limit_0/resize,p_1000,limit_0"),
            oss_pipeline("image/resize,m_fill,w_300,h_300/format,png"),
            oss_pipeline("image/quality,Q_50"),
        ];
        let limits = Limits::default();
        let results = super::run(
            pipelines.iter().enumerate(),
            &source,
            &Resources::new(&limits),
        );
        // Each result comes back beside its own input.
        assert!(results
            .iter()
            .enumerate()
            .all(|(index, (tag, _))| *tag == index));
        let sizes: Vec<_> = results
            .iter()
            .map(|(_, result)| {
                result
                    .as_ref()
                    .map(|rendered| (rendered.width, rendered.height, rendered.format))
                    .map_err(|error| (error.code, error.step))
            })
            .collect();
        assert_eq!(
            sizes,
            [
                Ok((100, 67, ImageFormat::Jpeg)),
                Err((ErrorCode::ImageTooLarge, Some(2))),
                Ok((300, 300, ImageFormat::Png)),
                Ok((640, 427, ImageFormat::Jpeg)),
            ]
        );
        // Alone, a pipeline gets the same geometry (its own, smaller, shrink-on-load).
        let alone = run(&pipelines[0], &source, &Limits::default()).unwrap();
        assert_eq!((alone.width, alone.height), (100, 67));
        // A source that is no image fails every pipeline the same way.
        let failures = super::run(
            pipelines.iter().map(|p| ((), p)),
            b"nope",
            &Resources::new(&limits),
        );
        assert!(failures
            .iter()
            .all(|(_, result)| result.as_ref().err().map(|error| error.code)
                == Some(ErrorCode::DecodeFailed)));
    }

    #[test]
    fn shrink_on_load_looks_through_a_leading_orientation_fix() {
        // imageView2 puts auto-orient first; the resize after it still lets the decoder
        // shrink, with the sides swapped back to the stored picture's for a quarter turn.
        let upright = fixture("gopher-640x427.jpg");
        let turned = crate::ops::test_support::with_exif_orientation(&upright, 6);
        let limits = Limits::default();
        let table = [
            (&upright, "imageView2/2/w/100", Some((1, (100, 67)))),
            (&turned, "imageView2/2/w/100", Some((1, (150, 100)))),
            (
                &turned,
                "imageMogr2/auto-orient/thumbnail/x50",
                Some((1, (50, 33))),
            ),
            (&upright, "imageMogr2/thumbnail/100x", Some((0, (100, 67)))),
            (&upright, "imageMogr2/crop/300x/thumbnail/100x", None),
        ];
        for (source, text, expected) in table {
            let pipeline = crate::parse::qiniu::parse_fops(text).unwrap()[0]
                .pipeline
                .clone();
            let info = decode::probe(source).unwrap();
            let plan = plan(&pipeline, &info, &limits).unwrap();
            assert_eq!(plan.shrink_on_load(), expected, "{text}");
        }
        // And the result is the upright picture at the asked size.
        let pipeline = crate::parse::qiniu::parse_fops("imageView2/2/w/100/format/png").unwrap()[0]
            .pipeline
            .clone();
        let rendered = run(&pipeline, &turned, &limits).unwrap();
        assert_eq!((rendered.width, rendered.height), (100, 150));
    }

    #[test]
    fn an_animated_webp_source_is_processed_frame_by_frame() {
        let gif_source = fixture("anim-100x80.gif");
        let frames = image::codecs::gif::GifDecoder::new(std::io::Cursor::new(&gif_source))
            .map(|decoder| image::AnimationDecoder::into_frames(decoder).count())
            .unwrap();
        let webp_source =
            gif::transcode_to_webp(&gif_source, &Limits::default(), 90, |_, frame| Ok(frame))
                .unwrap()
                .bytes;
        assert!(gif::is_animated_webp(&webp_source));
        assert!(!gif::is_animated_webp(&fixture("tiny.webp")));

        let limits = Limits::default();
        let resized = run(&oss_pipeline("image/resize,w_50"), &webp_source, &limits).unwrap();
        assert_eq!(
            (resized.width, resized.height, resized.format),
            (50, 40, ImageFormat::Webp)
        );
        assert!(gif::is_animated_webp(&resized.bytes));
        // OSS writes GIF for GIF sources only; Qiniu converts anything, animations included.
        let kept = run(
            &oss_pipeline("image/resize,w_50/format,gif"),
            &webp_source,
            &limits,
        )
        .unwrap();
        assert_eq!(kept.format, ImageFormat::Webp);
        let qiniu = qiniu::parse_fops("imageMogr2/thumbnail/50x/format/gif").unwrap();
        let as_gif = run(&qiniu[0].pipeline, &webp_source, &limits).unwrap();
        let written = image::codecs::gif::GifDecoder::new(std::io::Cursor::new(&as_gif.bytes))
            .map(|decoder| image::AnimationDecoder::into_frames(decoder).count())
            .unwrap();
        assert_eq!((as_gif.format, written), (ImageFormat::Gif, frames));
        // OSS's one-level rule holds for WebP animations too; a still picture takes any.
        let error = run(
            &oss_pipeline("image/resize,w_50/rotate,90"),
            &webp_source,
            &limits,
        )
        .unwrap_err();
        assert_eq!(error.code, ErrorCode::BadRequest);
        let still = run(
            &oss_pipeline("image/resize,w_50/rotate,90/format,png"),
            &webp_source,
            &limits,
        )
        .unwrap();
        assert_eq!((still.width, still.height), (40, 50));
        // Past the frame limit: ImageTooLarge, as for a GIF.
        let few = Limits {
            max_gif_frames: 1,
            ..Limits::default()
        };
        let error = run(&oss_pipeline("image/resize,w_50"), &webp_source, &few).unwrap_err();
        assert_eq!(error.code, ErrorCode::ImageTooLarge);
    }

    #[test]
    fn shrink_on_load_keeps_the_picture() {
        // The same resize from a 1/4-scale decode and from the full picture: close to equal.
        let source = fixture("gopher-640x427.jpg");
        let fast = run_oss("image/resize,w_100/format,png", "gopher-640x427.jpg");
        let full = decode(&source, &Limits::default()).unwrap().raster;
        let slow = crate::ops::resize::apply(
            full,
            &crate::ops::resize::ResizePlan::Scale {
                width: 100,
                height: 67,
            },
            Deadline::default(),
        )
        .unwrap();
        let fast = decode(&fast.bytes, &Limits::default()).unwrap().raster;
        let squared_error: f64 = fast
            .data()
            .iter()
            .zip(slow.data())
            .map(|(a, b)| (f64::from(*a) - f64::from(*b)).powi(2))
            .sum();
        let mse = squared_error / fast.data().len() as f64;
        let psnr = 10.0 * (255.0f64 * 255.0 / mse).log10();
        assert!(psnr > 30.0, "PSNR {psnr:.1} dB");
    }

    /// Frames from a stand-in for ffmpeg: every frame is the PNG fixture.
    struct StillFrames;

    impl crate::FrameLookup for StillFrames {
        fn frame(&self, video: &[u8], grab: &FrameGrab) -> Result<Vec<u8>, PipelineError> {
            assert_eq!((video, grab.offset_ms), (&b"a video"[..], 1500));
            Ok(fixture("small-400x300.png"))
        }
    }

    #[test]
    fn a_video_pipeline_runs_on_the_frame_its_lookup_gives_and_stills_run_beside_it() {
        let video = oss_pipeline("video/snapshot,t_1500,f_png,w_100");
        let limits = Limits::default();
        let frames = StillFrames;
        let resources = Resources::new(&limits).with_frames(&frames);
        let rendered = run_one(&video, b"a video", &resources).unwrap();
        assert_eq!(
            (rendered.width, rendered.height, rendered.format),
            (100, 75, ImageFormat::Png)
        );
        // In one batch, the still pipeline decodes the source and the video one its frame.
        let still = oss_pipeline("image/resize,w_10");
        let results = super::run(
            [("video", &video), ("still", &still)],
            b"a video",
            &resources,
        );
        assert_eq!(results[0].0, "video");
        assert!(results[0].1.is_ok());
        assert_eq!(results[1].0, "still");
        assert_eq!(
            results[1].1.as_ref().map_err(|error| error.code),
            Err(ErrorCode::DecodeFailed)
        );
        // Without a frame lookup, a video pipeline is refused, not decoded as an image.
        let error = run_one(&video, b"a video", &Resources::new(&limits)).unwrap_err();
        assert_eq!(error.code, ErrorCode::NotImplemented);
    }
}
