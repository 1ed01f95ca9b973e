//! Animations (GIF, and animated WebP and AVIF/HEIC sequence sources), frame by frame: decode
//! one frame (composited onto the full canvas, as it is shown), hand it to the pipeline's
//! steps, quantise and write it, and drop it before the next.
//! Memory stays at one canvas and one result whatever the frame count; the count itself is
//! bounded by [`Limits::max_gif_frames`]. The result is a GIF ([`transcode`]) or an animated
//! WebP ([`transcode_to_webp`]).

use super::encode::webp_failure_in_words;
use super::{PixelLayout, Raster};
use crate::error::PipelineError;
use crate::limits::Limits;
use image::codecs::gif::{GifDecoder, GifEncoder, Repeat};
use image::codecs::webp::WebPDecoder;
use image::{AnimationDecoder, ImageDecoder, RgbaImage};
use std::io::Cursor;

/// Colour quantisation speed per frame (1 = best and slowest, 30 = fastest). 10 is the `gif`
/// crate's recommended balance; a bounded speed keeps a 200-frame animation affordable.
pub const QUANTIZATION_SPEED: i32 = 10;

/// An animation written by [`transcode`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Animation {
    /// The encoded GIF.
    pub bytes: Vec<u8>,
    /// Width of the frames written.
    pub width: u32,
    /// Height of the frames written.
    pub height: u32,
    /// Number of frames written.
    pub frames: usize,
}

/// Decodes every frame of the GIF `source`, passes each (as RGBA8, full canvas) through
/// `process` with its index, and writes the results as a looping animation with the source's
/// frame delays. Every result must have the same size.
pub fn transcode(
    source: &[u8],
    limits: &Limits,
    process: impl FnMut(usize, Raster) -> Result<Raster, PipelineError>,
) -> Result<Animation, PipelineError> {
    let mut bytes = Vec::new();
    let (width, height, frames) = {
        let mut encoder = GifEncoder::new_with_speed(&mut bytes, QUANTIZATION_SPEED);
        encoder
            .set_repeat(Repeat::Infinite)
            .map_err(|error| encode_failed(&error))?;
        each_frame(source, limits, process, |rgba, delay| {
            encoder
                .encode_frame(image::Frame::from_parts(rgba, 0, 0, delay))
                .map_err(|error| encode_failed(&error))
        })?
    };
    Ok(Animation {
        bytes,
        width,
        height,
        frames,
    })
}

/// [`transcode`], writing an animated WebP instead (OSS: "将一张gif图片保存后成动态webp格式"),
/// lossy at `quality` (1-100), looping, with the source's frame delays. libwebp's animation
/// encoder takes every frame before it writes, so the processed frames are held until the end
/// (at most [`Limits::max_gif_frames`] of them). A GIF of one frame becomes a still WebP.
pub fn transcode_to_webp(
    source: &[u8],
    limits: &Limits,
    quality: u8,
    process: impl FnMut(usize, Raster) -> Result<Raster, PipelineError>,
) -> Result<Animation, PipelineError> {
    // (RGBA pixels, start time in ms)
    let mut frames: Vec<(Vec<u8>, i32)> = Vec::new();
    let mut start_ms: u64 = 0;
    let (width, height, count) = each_frame(source, limits, process, |rgba, delay| {
        let (numerator, denominator) = delay.numer_denom_ms();
        frames.push((rgba.into_raw(), i32::try_from(start_ms).unwrap_or(i32::MAX)));
        start_ms += u64::from(numerator) / u64::from(denominator.max(1));
        Ok(())
    })?;
    let webp_failed = |what: String| {
        PipelineError::encode_failed(format!(
            "encode: could not write a {width}x{height} animated webp: {what}"
        ))
    };
    let mut config = webp::WebPConfig::new().map_err(|()| webp_failed("no config".into()))?;
    config.lossless = 0;
    config.alpha_compression = 1;
    config.quality = f32::from(quality.clamp(1, 100));
    let bytes = match frames.as_slice() {
        [(still, _)] => webp::Encoder::from_rgba(still, width, height)
            .encode_advanced(&config)
            .map(|memory| memory.to_vec())
            .map_err(|error| webp_failed(webp_failure_in_words(&error).into()))?,
        _ => {
            let mut encoder = webp::AnimEncoder::new(width, height, &config);
            encoder.set_loop_count(0);
            for (pixels, start) in &frames {
                encoder.add_frame(webp::AnimFrame::from_rgba(pixels, width, height, *start));
            }
            encoder
                .try_encode()
                .map(|memory| memory.to_vec())
                .map_err(|error| webp_failed(webp_failure_in_words(&error).into()))?
        }
    };
    Ok(Animation {
        bytes,
        width,
        height,
        frames: count,
    })
}

/// Whether a source of `format` goes frame by frame to GIF and WebP results: a GIF, a WebP
/// whose header says it is animated ([`is_animated_webp`]), an AVIF/HEIC sequence.
pub fn is_animation(format: super::ImageFormat, source: &[u8]) -> bool {
    match format {
        super::ImageFormat::Gif => true,
        super::ImageFormat::Webp => is_animated_webp(source),
        format if format.is_heif() => super::heif::is_sequence(source),
        _ => false,
    }
}

/// Whether `source` is a WebP whose extended header (`VP8X`) says it is animated; such a
/// source goes frame by frame like a GIF instead of being read as its first frame.
pub fn is_animated_webp(source: &[u8]) -> bool {
    const ANIMATION_FLAG: u8 = 0x02;
    source.get(0..4) == Some(b"RIFF")
        && source.get(8..12) == Some(b"WEBP")
        && source.get(12..16) == Some(b"VP8X")
        && source
            .get(20)
            .is_some_and(|flags| flags & ANIMATION_FLAG != 0)
}

/// The number of frames of the GIF or animated WebP `source`, counted by walking its blocks
/// (GIF image descriptors, WebP `ANMF` chunks) without decoding a pixel, and no further than
/// `at_most + 1`: what a frame limit needs before the first frame costs anything. A structure
/// that breaks off is counted as far as it goes; the decoder later says what is wrong. An
/// AVIF/HEIC sequence counts as `at_most` (libheif holds it to the limit when it reads the
/// container, and says no count before).
pub fn frame_count(source: &[u8], at_most: usize) -> usize {
    if super::decode::heif_format(source).is_some() {
        return at_most;
    }
    if source.starts_with(b"RIFF") {
        webp_frame_count(source, at_most)
    } else {
        gif_frame_count(source, at_most)
    }
}

/// A copy of a sound GIF with what the `image` crate's decoder needs and the file lacks put
/// in, or `None` when nothing is missing (or it is no GIF):
/// - a global colour table, when it has none: the format allows a file without any, the
///   decoder then supplying its own; the usual default goes in (black, white, then greys: what
///   browsers and libnsgif use). Frames with a local table keep using it.
/// - a logical screen that holds every frame, when a frame reaches past it: browsers and
///   libvips grow the canvas, where the decoder would crop the frame.
pub(crate) fn repaired(source: &[u8]) -> Option<Vec<u8>> {
    const SCREEN_END: usize = 13;
    if !(source.starts_with(b"GIF87a") || source.starts_with(b"GIF89a"))
        || source.len() < SCREEN_END
    {
        return None;
    }
    let packed = source[10];
    let needs_table = packed & 0x80 == 0;
    let screen = frames_outgrow_the_screen(source);
    if !needs_table && screen.is_none() {
        return None;
    }
    let mut patched = Vec::with_capacity(source.len() + 3 * 256);
    patched.extend_from_slice(&source[..6]);
    match screen {
        Some((width, height)) => {
            patched.extend_from_slice(&width.to_le_bytes());
            patched.extend_from_slice(&height.to_le_bytes());
        }
        None => patched.extend_from_slice(&source[6..10]),
    }
    if !needs_table {
        patched.extend_from_slice(&source[10..]);
        return Some(patched);
    }
    // A global table of 256 entries (size field 7); colour resolution and sort flag kept.
    patched.push((packed & 0x78) | 0x80 | 0x07);
    patched.extend_from_slice(&source[11..SCREEN_END]);
    patched.extend((0..=255u8).flat_map(|index| {
        let grey = match index {
            0 => 0,
            1 => 255,
            other => other - 1,
        };
        [grey; 3]
    }));
    patched.extend_from_slice(&source[SCREEN_END..]);
    Some(patched)
}

/// GIF: the header, the global colour table, then extension blocks (`0x21`) and images
/// (`0x2C`, each with its own colour table and data sub-blocks) up to the trailer (`0x3B`).
fn gif_frame_count(source: &[u8], at_most: usize) -> usize {
    ImageDescriptors::new(source)
        .take(at_most.saturating_add(1))
        .count()
}

/// The size of a GIF's logical screen, and the smallest one that holds every frame (left +
/// width, top + height of each image descriptor), when that is larger.
fn frames_outgrow_the_screen(source: &[u8]) -> Option<(u16, u16)> {
    let side = |at: usize| Some(u16::from_le_bytes([*source.get(at)?, *source.get(at + 1)?]));
    let screen = (side(6)?, side(8)?);
    let most = ImageDescriptors::new(source).fold(screen, |(width, height), descriptor| {
        let field = |at: usize| u16::from_le_bytes([descriptor[at], descriptor[at + 1]]);
        let right = field(0).saturating_add(field(4));
        let bottom = field(2).saturating_add(field(6));
        (width.max(right), height.max(bottom))
    });
    (most != screen).then_some(most)
}

/// The image descriptors of a GIF (the 9 bytes after each `0x2C`: left, top, width, height,
/// packed flags), walked over extension blocks and image data without decoding any.
struct ImageDescriptors<'a> {
    source: &'a [u8],
    position: usize,
}

impl<'a> ImageDescriptors<'a> {
    const HEADER: usize = 6 + 7;

    fn new(source: &'a [u8]) -> Self {
        let position = match source.get(10) {
            Some(&packed) => Self::HEADER + colour_table_len(packed),
            None => source.len(),
        };
        ImageDescriptors { source, position }
    }
}

impl<'a> Iterator for ImageDescriptors<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        loop {
            match self.source.get(self.position) {
                Some(0x21) => self.position = skip_sub_blocks(self.source, self.position + 2),
                Some(0x2C) => {
                    let descriptor = self.source.get(self.position + 1..self.position + 10)?;
                    // The descriptor, the local colour table, the LZW code size, the data.
                    let data = self.position + 10 + colour_table_len(descriptor[8]) + 1;
                    self.position = skip_sub_blocks(self.source, data);
                    return Some(descriptor);
                }
                _ => return None,
            }
        }
    }
}

/// The bytes of the colour table that `packed` flags (of the screen or of an image) announce.
fn colour_table_len(packed: u8) -> usize {
    if packed & 0x80 == 0 {
        0
    } else {
        3 << ((packed & 0x07) + 1)
    }
}

/// The position after a chain of GIF data sub-blocks (a length byte, that many bytes, ...,
/// a zero length) starting at `position`; past the end when the chain is cut.
fn skip_sub_blocks(source: &[u8], mut position: usize) -> usize {
    while let Some(&length) = source.get(position) {
        position += 1;
        if length == 0 {
            return position;
        }
        position += usize::from(length);
    }
    source.len() + 1
}

/// WebP: the RIFF chunks after the 12-byte header, each a four-character code, a
/// little-endian length and the data padded to an even length; one `ANMF` per frame.
fn webp_frame_count(source: &[u8], at_most: usize) -> usize {
    let mut position = 12;
    let mut frames = 0;
    while frames <= at_most {
        let (Some(code), Some(length)) = (
            source.get(position..position + 4),
            source.get(position + 4..position + 8),
        ) else {
            break;
        };
        let length = u32::from_le_bytes([length[0], length[1], length[2], length[3]]);
        if code == b"ANMF" {
            frames += 1;
        }
        let padded = usize::try_from(length)
            .unwrap_or(usize::MAX)
            .saturating_add(1)
            & !1;
        position = position.saturating_add(8).saturating_add(padded);
    }
    frames
}

/// The decode-process loop of [`transcode`] and [`transcode_to_webp`]: each frame of the GIF,
/// animated WebP or AVIF/HEIC sequence `source` (composited onto the full canvas) through
/// `process`, then to `write` with its delay. Every decoder hands out one frame at a time.
/// Returns the frames' (width, height) and count.
fn each_frame(
    source: &[u8],
    limits: &Limits,
    mut process: impl FnMut(usize, Raster) -> Result<Raster, PipelineError>,
    mut write: impl FnMut(RgbaImage, image::Delay) -> Result<(), PipelineError>,
) -> Result<(u32, u32, usize), PipelineError> {
    let completed = repaired(source);
    let source = completed.as_deref().unwrap_or(source);
    let mut frames = FrameSource::open(source, limits)?;
    let (kind, most) = (frames.kind(), limits.max_gif_frames as usize);
    let mut size = None;
    let mut count = 0;
    while let Some((index, raster, delay)) = frames.next()? {
        if index >= most {
            return Err(PipelineError::image_too_large(format!(
                "the {kind} animation has more than {most} frames"
            )));
        }
        let result = process(index, raster)?;
        let dimensions = result.dimensions();
        if *size.get_or_insert(dimensions) != dimensions {
            return Err(PipelineError::internal(format!(
                "{kind} frame {index} came out {dimensions:?}, unlike the frames before it"
            )));
        }
        write(into_rgba(result)?, delay)?;
        count = index + 1;
    }
    let (width, height) = size
        .ok_or_else(|| PipelineError::decode_failed(format!("the {kind} source has no frame")))?;
    Ok((width, height, count))
}

/// Where an animation's frames come from: the `image` crate's GIF and WebP decoders, or
/// libheif's sequence track.
enum FrameSource<'a> {
    Image(Numbered<'a>, &'static str),
    Heif(super::heif::Frames<'a>, usize),
}

impl<'a> FrameSource<'a> {
    /// The frames of `source`, its frame count checked against the limit first.
    fn open(source: &'a [u8], limits: &Limits) -> Result<FrameSource<'a>, PipelineError> {
        if super::heif::is_sequence(source) {
            return Ok(FrameSource::Heif(super::heif::frames(source, limits)?, 0));
        }
        let kind = if is_animated_webp(source) {
            "WebP"
        } else {
            "GIF"
        };
        let most = limits.max_gif_frames as usize;
        if frame_count(source, most) > most {
            return Err(PipelineError::image_too_large(format!(
                "the {kind} animation has more than {most} frames (the limit), counted before \
                 decoding any"
            )));
        }
        let frames = open_frames(source, kind, limits).map_err(|error| corrupt(kind, &error))?;
        Ok(FrameSource::Image(frames.enumerate(), kind))
    }

    fn kind(&self) -> &'static str {
        match self {
            FrameSource::Image(_, kind) => kind,
            FrameSource::Heif(..) => "AVIF/HEIC",
        }
    }

    /// The next frame: its index, its canvas, how long it shows.
    fn next(&mut self) -> Result<Option<(usize, Raster, image::Delay)>, PipelineError> {
        match self {
            FrameSource::Image(frames, kind) => {
                let Some((index, frame)) = next_frame(frames, kind)? else {
                    return Ok(None);
                };
                let frame = frame.map_err(|error| corrupt(kind, &error))?;
                let delay = frame.delay();
                Ok(Some((index, canvas_of(frame, kind)?, delay)))
            }
            FrameSource::Heif(frames, next) => {
                let Some((raster, shown_ms)) = frames.next_frame()? else {
                    return Ok(None);
                };
                let index = *next;
                *next += 1;
                Ok(Some((
                    index,
                    raster,
                    image::Delay::from_numer_denom_ms(shown_ms, 1),
                )))
            }
        }
    }
}

fn corrupt(kind: &str, error: &image::ImageError) -> PipelineError {
    PipelineError::decode_failed(format!(
        "the {kind} animation is corrupt or truncated: {error}"
    ))
}

/// The frames of a GIF or an animated WebP, under the decoder limits of `limits`.
fn open_frames<'a>(
    source: &'a [u8],
    kind: &str,
    limits: &Limits,
) -> Result<image::Frames<'a>, image::ImageError> {
    let mut decoder_limits = image::Limits::default();
    decoder_limits.max_image_width = Some(limits.max_side);
    decoder_limits.max_image_height = Some(limits.max_side);
    decoder_limits.max_alloc = Some(limits.decoder_alloc_budget());
    Ok(if kind == "WebP" {
        let mut decoder = WebPDecoder::new(Cursor::new(source))?;
        decoder.set_limits(decoder_limits)?;
        decoder.into_frames()
    } else {
        let mut decoder = GifDecoder::new(Cursor::new(source))?;
        decoder.set_limits(decoder_limits)?;
        decoder.into_frames()
    })
}

type Numbered<'a> = std::iter::Enumerate<image::Frames<'a>>;

/// The next decoded frame and its index; a panic in the decoder is `DecodeFailed`.
fn next_frame(
    frames: &mut Numbered<'_>,
    kind: &str,
) -> Result<Option<(usize, image::ImageResult<image::Frame>)>, PipelineError> {
    super::guard::guarded(|| frames.next()).map_err(|_| {
        PipelineError::decode_failed(format!(
            "the {kind} animation could not be decoded (the decoder failed)"
        ))
    })
}

/// A frame composited onto its canvas, as a raster; a canvas of no pixels is `DecodeFailed`.
fn canvas_of(frame: image::Frame, kind: &str) -> Result<Raster, PipelineError> {
    let canvas = frame.into_buffer();
    let (width, height) = canvas.dimensions();
    if width == 0 || height == 0 {
        return Err(PipelineError::decode_failed(format!(
            "the {kind} animation is {width}x{height}: it has no pixels"
        )));
    }
    Raster::new(width, height, PixelLayout::Rgba8, canvas.into_raw())
}

fn encode_failed(error: &image::ImageError) -> PipelineError {
    PipelineError::encode_failed(format!("encode: gif: {error}"))
}

fn into_rgba(raster: Raster) -> Result<RgbaImage, PipelineError> {
    let (width, height) = raster.dimensions();
    let data = match raster.layout() {
        PixelLayout::Rgba8 => raster.into_data(),
        PixelLayout::Rgb8 => raster
            .data()
            .chunks_exact(3)
            .flat_map(|pixel| [pixel[0], pixel[1], pixel[2], 255])
            .collect(),
    };
    RgbaImage::from_raw(width, height, data)
        .ok_or_else(|| PipelineError::internal("a GIF frame has the wrong buffer length"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::resize;
    use crate::resources::Deadline;

    fn fixture(name: &str) -> Vec<u8> {
        let path = format!("{}/../fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read(&path).unwrap_or_else(|error| panic!("{path}: {error}"))
    }

    fn frame_count_of(bytes: &[u8]) -> usize {
        GifDecoder::new(Cursor::new(bytes))
            .unwrap()
            .into_frames()
            .count()
    }

    #[test]
    fn every_frame_is_processed_and_written() {
        let source = fixture("anim-100x80.gif");
        let frames = frame_count_of(&source);
        assert!(frames > 1, "the fixture is animated");
        let plan = resize::ResizePlan::Scale {
            width: 50,
            height: 40,
        };
        let mut seen = Vec::new();
        let animation = transcode(&source, &Limits::default(), |index, raster| {
            seen.push(index);
            resize::apply(raster, &plan, Deadline::default())
        })
        .unwrap();
        assert_eq!(seen, (0..frames).collect::<Vec<_>>());
        assert_eq!(
            (animation.width, animation.height, animation.frames),
            (50, 40, frames)
        );
        assert_eq!(frame_count_of(&animation.bytes), frames);
    }

    #[test]
    fn an_animation_becomes_an_animated_webp_with_every_frame() {
        let source = fixture("anim-100x80.gif");
        let frames = frame_count_of(&source);
        let animation = transcode_to_webp(&source, &Limits::default(), 80, |_, raster| {
            resize::apply(
                raster,
                &resize::ResizePlan::Scale {
                    width: 50,
                    height: 40,
                },
                Deadline::default(),
            )
        })
        .unwrap();
        assert_eq!(
            (animation.width, animation.height, animation.frames),
            (50, 40, frames)
        );
        assert!(animation.bytes.starts_with(b"RIFF"));
        // One ANMF chunk per frame.
        let chunks = animation
            .bytes
            .windows(4)
            .filter(|window| *window == b"ANMF")
            .count();
        assert_eq!(chunks, frames);
    }

    #[test]
    fn frames_are_counted_from_the_blocks_alone() {
        let gif = fixture("anim-100x80.gif");
        assert_eq!(frame_count(&gif, 1000), frame_count_of(&gif));
        assert_eq!(frame_count(&gif, 1), 2, "counting stops past the limit");
        let webp = transcode_to_webp(&gif, &Limits::default(), 80, |_, raster| Ok(raster))
            .unwrap()
            .bytes;
        assert_eq!(frame_count(&webp, 1000), frame_count_of(&gif));
        assert_eq!(frame_count(b"GIF89a", 10), 0);
        assert!(frame_count(&gif[..gif.len() / 2], 1000) > 0);
    }

    /// A GIF of `frames` 1x1 frames on a `side` x `side` screen, written by hand.
    fn tiny_frames(frames: usize, side: u16) -> Vec<u8> {
        let mut gif = b"GIF89a".to_vec();
        gif.extend(side.to_le_bytes());
        gif.extend(side.to_le_bytes());
        gif.extend([0x80, 0, 0, 0, 0, 0, 255, 255, 255]);
        for _ in 0..frames {
            gif.extend([
                0x2C, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0x02, 0x02, 0x44, 0x01, 0x00,
            ]);
        }
        gif.push(0x3B);
        gif
    }

    #[test]
    fn a_frame_bomb_is_refused_before_its_first_frame() {
        let bomb = tiny_frames(10_000, 4000);
        assert_eq!(frame_count(&bomb, 200), 201);
        let mut processed = 0;
        let error = transcode(&bomb, &Limits::default(), |_, raster| {
            processed += 1;
            Ok(raster)
        })
        .unwrap_err();
        assert_eq!(error.code, crate::error::ErrorCode::ImageTooLarge);
        assert_eq!(processed, 0, "{error}");
        let few = tiny_frames(3, 2);
        assert_eq!(frame_count(&few, 200), 3);
        assert_eq!(
            transcode(&few, &Limits::default(), |_, r| Ok(r))
                .unwrap()
                .frames,
            3
        );
    }

    #[test]
    fn too_many_frames_is_image_too_large() {
        let limits = Limits {
            max_gif_frames: 1,
            ..Limits::default()
        };
        let error =
            transcode(&fixture("anim-100x80.gif"), &limits, |_, raster| Ok(raster)).unwrap_err();
        assert_eq!(error.code, crate::error::ErrorCode::ImageTooLarge);
    }
}
