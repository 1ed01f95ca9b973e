//! What a run will cost before it is paid: the peak memory of rendering a batch of pipelines
//! from one source, worked out from the header and the plans alone ([`estimate`]). A worker
//! admits renders against its memory budget with it and fails at once a render over the whole
//! budget, so that a 700-byte file claiming 150 million pixels cannot take gigabytes by
//! surprise.
//!
//! The estimate is an upper bound of the engine's own buffers, never a measurement: the
//! encoded source, the decoded picture (at the JPEG shrink-on-load scale where it applies), and
//! at each stage the buffers alive at once (a step's input, its output and its working buffers,
//! [`crate::ops::Operation::scratch_bytes`]; the encoder's copy and its output). Rasters are
//! counted at 4 bytes a pixel (RGBA), general decoders at 16-bit RGBA beside the 8-bit copy.

use crate::ast::Pipeline;
use crate::codec::decode::{self, SourceInfo};
use crate::codec::{gif, jpeg, ImageFormat};
use crate::exec::{self, Plan};
use crate::limits::Limits;
use crate::ops::{pixels, StepPlan};

/// Bytes of one pixel of a raster the steps work on.
const RASTER: u64 = 4;
/// Bytes of one pixel while a general (non-JPEG) decoder runs: its output, up to 16-bit RGBA,
/// beside the 8-bit raster made from it.
const GENERAL_DECODE: u64 = 8 + RASTER;
/// A video frame is extracted outside the engine; its size is unknown until then, so it is
/// assumed as large as a result may be.
const VIDEO_FRAME: (u32, u32) = (4096, 4096);

/// The estimated peak memory of a batch, and of each of its pipelines alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchCost {
    /// Each pipeline's peak, in the order given, as if it ran alone.
    pub each: Vec<u64>,
    /// The batch's peak: the largest pipeline's, plus the decoded picture kept for the
    /// pipelines after it when several share the decode.
    pub total: u64,
}

/// Estimates the peak memory of running `pipelines` over `source` with [`crate::run`].
pub fn estimate(pipelines: &[&Pipeline], source: &[u8], limits: &Limits) -> BatchCost {
    let info = decode::probe(source).ok();
    let animated = info.is_some_and(|info| is_animated(&info, source));
    let view = SourceView {
        bytes: source,
        info,
        animated,
        limits,
    };
    let each: Vec<u64> = pipelines
        .iter()
        .map(|pipeline| view.cost(pipeline))
        .collect();
    let shared = match (info, pipelines.len()) {
        (Some(info), 2..) => pixels((info.width, info.height)) * RASTER,
        _ => 0,
    };
    let total = each.iter().copied().max().unwrap_or(0) + shared;
    BatchCost { each, total }
}

fn is_animated(info: &SourceInfo, source: &[u8]) -> bool {
    gif::is_animation(info.format, source)
}

/// The source as the estimate sees it.
struct SourceView<'s> {
    bytes: &'s [u8],
    info: Option<SourceInfo>,
    animated: bool,
    limits: &'s Limits,
}

impl SourceView<'_> {
    /// One pipeline's peak. A pipeline that will fail before decoding (no image, a plan over
    /// the limits) costs its source bytes.
    fn cost(&self, pipeline: &Pipeline) -> u64 {
        let held = self.bytes.len() as u64;
        let info = match (pipeline.frame, self.info) {
            (Some(_), _) => SourceInfo {
                format: ImageFormat::Png,
                width: VIDEO_FRAME.0,
                height: VIDEO_FRAME.1,
                orientation: 1,
            },
            (None, Some(info)) => info,
            (None, None) => return held,
        };
        let full = (info.width, info.height);
        if pipeline.output.document.is_some() {
            // `average-hue` reads every pixel; the other documents read the header.
            return held + pixels(full) * GENERAL_DECODE;
        }
        let Ok(plan) = exec::plan(pipeline, &info, self.limits) else {
            return held;
        };
        let animation = self.animated
            && pipeline.frame.is_none()
            && matches!(plan.format, ImageFormat::Gif | ImageFormat::Webp);
        held + if animation {
            self.animation_peak(pipeline, &plan, full)
        } else {
            still_peak(pipeline, &plan, &info)
        }
    }

    /// Frame by frame: the decoder's canvas and the frame handed out, the steps on it, and
    /// the result (a WebP holds every processed frame until it writes).
    fn animation_peak(&self, pipeline: &Pipeline, plan: &Plan, canvas: (u32, u32)) -> u64 {
        let most = self.limits.max_gif_frames as usize;
        let frames = gif::frame_count(self.bytes, most).min(most) as u64;
        let output = pixels((plan.width, plan.height)) * RASTER;
        let kept = if plan.format == ImageFormat::Webp {
            frames * output
        } else {
            2 * output
        };
        2 * pixels(canvas) * RASTER + steps_peak(pipeline, plan, canvas, None) + kept
    }
}

/// Decode, the steps, the encode: the largest of the three.
fn still_peak(pipeline: &Pipeline, plan: &Plan, info: &SourceInfo) -> u64 {
    let full = (info.width, info.height);
    let shrink = jpeg_shrink(plan, info);
    let decoded = shrink.map_or(full, |(_, size)| size);
    let decode = match (info.format, shrink) {
        (ImageFormat::Jpeg, _) => pixels(decoded) * RASTER,
        _ => pixels(full) * GENERAL_DECODE,
    };
    let steps = steps_peak(pipeline, plan, full, shrink);
    // The raster, the encoder's own copy of it, and the encoded bytes.
    let encode = 3 * pixels((plan.width, plan.height)) * RASTER;
    decode.max(steps).max(encode)
}

/// Where a JPEG decodes smaller: the index of the step it shrinks for, and the decoded size.
fn jpeg_shrink(plan: &Plan, info: &SourceInfo) -> Option<(usize, (u32, u32))> {
    if info.format != ImageFormat::Jpeg {
        return None;
    }
    let (index, needed) = plan.shrink_on_load()?;
    let rotated = jpeg::orientation_swaps_axes(Some(u16::from(info.orientation)));
    let factor = jpeg::shrink_factor((info.width, info.height), needed, rotated).max(1);
    let scaled = |side: u32| side.div_ceil(factor);
    Some((index, (scaled(info.width), scaled(info.height))))
}

/// The largest stage of the steps, starting from `start` (the planned input), where the steps
/// up to `shrink`'s index see the shrunk picture instead.
fn steps_peak(
    pipeline: &Pipeline,
    plan: &Plan,
    start: (u32, u32),
    shrink: Option<(usize, (u32, u32))>,
) -> u64 {
    let mut planned_input = start;
    let mut shrunk_input = shrink.map(|(_, size)| size);
    let mut peak = 0;
    for (index, (step, planned)) in pipeline.steps.iter().zip(&plan.steps).enumerate() {
        let input = match (shrink, shrunk_input) {
            (Some((at, _)), Some(size)) if index <= at => size,
            _ => planned_input,
        };
        let output = planned.output_size(input);
        let stage = (pixels(input) + pixels(output)) * RASTER
            + plan_scratch(planned, input, output)
            + step.operation().scratch_bytes(input);
        peak = peak.max(stage);
        planned_input = planned.output_size(planned_input);
        shrunk_input = shrunk_input.map(|size| planned.output_size(size));
    }
    peak
}

/// The working buffers of resampling: the premultiplied copy of the input and the pass
/// between the horizontal and the vertical filter; a padded result's scaled content.
fn plan_scratch(planned: &StepPlan, input: (u32, u32), output: (u32, u32)) -> u64 {
    match planned {
        StepPlan::Resize(_) => {
            (pixels(input) + u64::from(output.0) * u64::from(input.1) + pixels(output)) * RASTER
        }
        StepPlan::Crop(_) | StepPlan::Rotate(_) | StepPlan::Orient(_) | StepPlan::InPlace => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::parse_canonical;

    const MIB: u64 = 1024 * 1024;

    /// A real JPEG (8x8) whose frame header is rewritten to claim `width` x `height`: a few
    /// hundred bytes that a decoder would expand to the whole claimed picture.
    fn jpeg_claiming(width: u16, height: u16) -> Vec<u8> {
        let raster = crate::codec::Raster::filled(
            8,
            8,
            crate::codec::PixelLayout::Rgb8,
            crate::codec::Rgb::WHITE,
        );
        let mut jpeg = jpeg::encode(&raster, 80, false).unwrap();
        let sof = jpeg
            .windows(2)
            .position(|pair| pair == [0xFF, 0xC0])
            .unwrap();
        jpeg[sof + 5..sof + 7].copy_from_slice(&height.to_be_bytes());
        jpeg[sof + 7..sof + 9].copy_from_slice(&width.to_be_bytes());
        jpeg
    }

    fn cost(pipeline: &str, source: &[u8]) -> u64 {
        let pipeline = parse_canonical(pipeline).unwrap();
        estimate(&[&pipeline], source, &Limits::default()).total
    }

    #[test]
    fn a_small_file_claiming_a_huge_picture_is_costed_by_its_claim() {
        let bomb = jpeg_claiming(29_999, 4_999);
        let sharpen = cost("image/sharpen,100", &bomb);
        // Input, output, two f32 copies and the blurred mask: 44 bytes a pixel.
        assert!(sharpen > 6_000 * MIB && sharpen < 7_000 * MIB, "{sharpen}");
        // A thumbnail decodes at 1/8 scale and stays small.
        let thumbnail = cost("image/resize,w_100", &bomb);
        assert!(thumbnail < 200 * MIB, "{thumbnail}");
        assert!(cost("image/blur,r_10,s_5", &bomb) > 5_000 * MIB);
    }

    #[test]
    fn what_fails_before_decoding_costs_its_bytes() {
        let text = b"not an image at all";
        assert_eq!(cost("image/resize,w_100", text), text.len() as u64);
        let over = jpeg_claiming(30_000, 30_000);
        assert_eq!(cost("image/resize,w_100", &over), over.len() as u64);
    }

    #[test]
    fn a_batch_adds_the_shared_decode_to_its_largest_pipeline() {
        let source = jpeg_claiming(4_000, 3_000);
        let small = parse_canonical("image/resize,w_100").unwrap();
        let large = parse_canonical("image/rotate,45").unwrap();
        let batch = estimate(&[&small, &large], &source, &Limits::default());
        assert!(batch.each[0] < batch.each[1]);
        assert_eq!(batch.total, batch.each[1] + 4_000 * 3_000 * RASTER);
    }
}
