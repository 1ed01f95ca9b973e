//! Encoding a [`Raster`] in an output format.
//!
//! | format | encoder | notes |
//! |---|---|---|
//! | JPEG | libjpeg-turbo ([`super::jpeg`]) | quality 1-100, 4:2:0 chroma below 90 and 4:4:4 from 90, standard Huffman tables, progressive when interlaced; transparency flattened onto white |
//! | PNG | `png` | fast deflate (fdeflate) with adaptive filters: results are written once and read often, but a worker's CPU is the bottleneck; fed in bands of rows with the deadline looked at between them |
//! | WebP | libwebp (`webp` crate) | lossy at the resolved quality (as the vendors write it), alpha kept |
//! | AVIF, HEIC | libheif ([`super::heif`]: aom, x265) | lossy at the resolved quality, lossless at 100, alpha kept |
//! | BMP, TIFF | `image` | |
//! | GIF | `image` | one frame, quantised to 256 colours (NeuQuant, speed 10); animations go through [`super::gif`] |

use super::{PixelLayout, Raster};
use crate::codec::ImageFormat;
use crate::codec::Rgb;
use crate::error::PipelineError;
use crate::metadata::Carried;
use crate::resources::Deadline;
use image::{ExtendedColorType, ImageEncoder};
use std::io::{Cursor, Write};

/// How to encode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EncodeOptions<'a> {
    /// JPEG, WebP, AVIF and HEIC quality, 1-100 (the other formats are lossless and ignore
    /// it).
    pub quality: u8,
    /// Progressive JPEG (ignored by other formats).
    pub progressive: bool,
    /// Looked at before the encoder starts, and between bands of rows where the encoder is
    /// ours to drive (PNG).
    pub deadline: Deadline,
    /// The EXIF tags and colour profile written with the pixels, in the formats that carry
    /// them (JPEG, PNG, WebP, AVIF, HEIC: see [`crate::metadata`]); the others write none.
    pub carried: &'a Carried,
}

/// Encodes `raster` as `format`.
pub fn encode(
    raster: &Raster,
    format: ImageFormat,
    options: &EncodeOptions<'_>,
) -> Result<Vec<u8>, PipelineError> {
    (options.deadline).check(|| format!("before encoding {}", format.extension()))?;
    let carried = options.carried;
    match format {
        ImageFormat::Jpeg => {
            encode_jpeg(raster, options).map(|jpeg| super::embed::into_jpeg(jpeg, carried))
        }
        ImageFormat::Png => encode_png(raster, options, PNG_BAND_PIXELS),
        ImageFormat::Webp => encode_webp(raster, options.quality)
            .map(|webp| super::embed::into_webp(webp, raster.dimensions(), carried)),
        ImageFormat::Avif | ImageFormat::Heic => {
            super::heif::encode(raster, format, options.quality, carried)
        }
        // `ops::format::resolve` never gives PSD (`ImageFormat::default_output`).
        ImageFormat::Psd => Err(PipelineError::internal(
            "encode: PSD is a source format only",
        )),
        ImageFormat::Bmp => {
            let mut bytes = Vec::new();
            let encoder = image::codecs::bmp::BmpEncoder::new(&mut bytes);
            write_with(encoder, raster, format)?;
            Ok(bytes)
        }
        ImageFormat::Tiff => {
            let mut bytes = Cursor::new(Vec::new());
            let encoder = image::codecs::tiff::TiffEncoder::new(&mut bytes);
            write_with(encoder, raster, format)?;
            Ok(bytes.into_inner())
        }
        ImageFormat::Gif => {
            let mut bytes = Vec::new();
            let encoder = image::codecs::gif::GifEncoder::new_with_speed(
                &mut bytes,
                super::gif::QUANTIZATION_SPEED,
            );
            write_with(encoder, raster, format)?;
            Ok(bytes)
        }
    }
}

fn write_with(
    encoder: impl ImageEncoder,
    raster: &Raster,
    format: ImageFormat,
) -> Result<(), PipelineError> {
    let color = match raster.layout() {
        PixelLayout::Rgb8 => ExtendedColorType::Rgb8,
        PixelLayout::Rgba8 => ExtendedColorType::Rgba8,
    };
    // `Raster` guarantees the buffer length the encoders assert on.
    encoder
        .write_image(raster.data(), raster.width(), raster.height(), color)
        .map_err(|error| {
            PipelineError::encode_failed(format!(
                "encode: could not write {}x{} {}: {error}",
                raster.width(),
                raster.height(),
                format.extension()
            ))
        })
}

/// Rows of a PNG filtered and deflated between two looks at the deadline: about 4 MP of the
/// widest output, a few tens of milliseconds.
const PNG_BAND_PIXELS: usize = 4 << 20;

/// PNG through the `png` crate, fed in bands of rows so that a passed deadline stops it: fast
/// deflate (fdeflate) with adaptive filters, as results are written once and read often, but
/// a worker's CPU is the bottleneck.
fn encode_png(
    raster: &Raster,
    options: &EncodeOptions<'_>,
    band_pixels: usize,
) -> Result<Vec<u8>, PipelineError> {
    let mut bytes = Vec::new();
    write_png(&mut bytes, raster, options, band_pixels).map_err(|error| match error {
        PngStop::Deadline(error) => error,
        PngStop::Encoder(error) => PipelineError::encode_failed(format!(
            "encode: could not write {}x{} png: {error}",
            raster.width(),
            raster.height()
        )),
    })?;
    Ok(bytes)
}

/// Why a PNG stopped being written.
enum PngStop {
    Deadline(PipelineError),
    Encoder(String),
}

impl From<png::EncodingError> for PngStop {
    fn from(error: png::EncodingError) -> Self {
        PngStop::Encoder(error.to_string())
    }
}

impl From<std::io::Error> for PngStop {
    fn from(error: std::io::Error) -> Self {
        PngStop::Encoder(error.to_string())
    }
}

fn write_png(
    out: &mut Vec<u8>,
    raster: &Raster,
    options: &EncodeOptions<'_>,
    band_pixels: usize,
) -> Result<(), PngStop> {
    let mut info = png::Info::with_size(raster.width(), raster.height());
    info.color_type = match raster.layout() {
        PixelLayout::Rgb8 => png::ColorType::Rgb,
        PixelLayout::Rgba8 => png::ColorType::Rgba,
    };
    info.bit_depth = png::BitDepth::Eight;
    info.icc_profile = (options.carried.icc.as_deref()).map(std::borrow::Cow::Borrowed);
    info.exif_metadata = (options.carried.exif.as_deref()).map(std::borrow::Cow::Borrowed);
    let deadline = options.deadline;
    let mut encoder = png::Encoder::with_info(out, info)?;
    encoder.set_compression(png::Compression::Fast);
    encoder.set_filter(png::Filter::Adaptive);
    let mut writer = encoder.write_header()?;
    let mut stream = writer.stream_writer_with_size(1 << 20)?;
    let row_bytes = (raster.data().len() / raster.height().max(1) as usize).max(1);
    let band_rows = (band_pixels / raster.width().max(1) as usize).max(1);
    for (index, band) in raster.data().chunks(band_rows * row_bytes).enumerate() {
        (deadline)
            .check(|| format!("while encoding png (at row {})", index * band_rows))
            .map_err(PngStop::Deadline)?;
        stream.write_all(band)?;
    }
    stream.finish()?;
    Ok(writer.finish()?)
}

fn encode_jpeg(raster: &Raster, options: &EncodeOptions<'_>) -> Result<Vec<u8>, PipelineError> {
    let too_large = || {
        PipelineError::encode_failed(format!(
            "encode: a JPEG cannot be {}x{} (65535 px per side at most)",
            raster.width(),
            raster.height()
        ))
    };
    if raster.width() > u32::from(u16::MAX) || raster.height() > u32::from(u16::MAX) {
        return Err(too_large());
    }
    let flattened;
    let opaque = if raster.layout().has_alpha() {
        flattened = raster.flatten(Rgb::WHITE);
        &flattened
    } else {
        raster
    };

    super::jpeg::encode(opaque, options.quality, options.progressive)
}

/// Lossy WebP through libwebp, at `quality` (1-100), with the alpha channel when there is one.
fn encode_webp(raster: &Raster, quality: u8) -> Result<Vec<u8>, PipelineError> {
    let encoder = match raster.layout() {
        PixelLayout::Rgb8 => {
            webp::Encoder::from_rgb(raster.data(), raster.width(), raster.height())
        }
        PixelLayout::Rgba8 => {
            webp::Encoder::from_rgba(raster.data(), raster.width(), raster.height())
        }
    };
    // WebP sides stop at 16,383 px; libwebp says so with an error, which becomes ours.
    encoder
        .encode_simple(false, f32::from(quality.clamp(1, 100)))
        .map(|memory| memory.to_vec())
        .map_err(|error| {
            PipelineError::encode_failed(format!(
                "encode: could not write {}x{} webp: {}",
                raster.width(),
                raster.height(),
                webp_failure_in_words(&error)
            ))
        })
}

/// What libwebp's error code (`VP8_ENC_ERROR_...`, seen through its `Debug` form: the `webp`
/// crate does not name the type) means, in words.
pub(crate) fn webp_failure_in_words(error: &impl std::fmt::Debug) -> &'static str {
    let code = format!("{error:?}");
    let table = [
        (
            "BAD_DIMENSION",
            "WebP pictures are at most 16,383 px per side",
        ),
        ("FILE_TOO_BIG", "the result would be over WebP's 4 GiB"),
        (
            "PARTITION",
            "the picture's data overflowed the format's partitions",
        ),
        ("OUT_OF_MEMORY", "out of memory"),
        ("INVALID_CONFIGURATION", "the encoder settings were refused"),
        ("USER_ABORT", "the encoder was stopped"),
    ];
    (table.iter())
        .find(|(part, _)| code.contains(part))
        .map_or("the encoder failed", |(_, words)| words)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::decode::{decode, sniff};
    use crate::limits::Limits;

    fn gradient(layout: PixelLayout) -> Raster {
        let (width, height) = (64u32, 48u32);
        let mut data = Vec::new();
        for y in 0..height {
            for x in 0..width {
                data.extend_from_slice(&[(x * 4) as u8, (y * 5) as u8, ((x + y) * 2) as u8]);
                if layout.has_alpha() {
                    data.push(if x < 8 { 0 } else { 255 });
                }
            }
        }
        Raster::new(width, height, layout, data).unwrap()
    }

    const NOTHING: Carried = Carried {
        exif: None,
        icc: None,
    };

    const OPTIONS: EncodeOptions<'static> = EncodeOptions {
        quality: 85,
        progressive: false,
        deadline: Deadline(None),
        carried: &NOTHING,
    };

    #[test]
    fn every_format_round_trips_through_its_decoder() {
        for layout in [PixelLayout::Rgb8, PixelLayout::Rgba8] {
            let raster = gradient(layout);
            for format in ImageFormat::ALL {
                let bytes = encode(&raster, format, &OPTIONS)
                    .unwrap_or_else(|error| panic!("{format} {layout:?}: {error}"));
                assert_eq!(sniff(&bytes), Ok(format), "{format} {layout:?}");
                let decoded = decode(&bytes, &Limits::default()).unwrap();
                assert_eq!(decoded.raster.dimensions(), (64, 48), "{format} {layout:?}");
                let keeps_alpha = layout.has_alpha() && format != ImageFormat::Jpeg;
                assert_eq!(
                    decoded.raster.layout().has_alpha(),
                    keeps_alpha,
                    "{format} {layout:?}"
                );
            }
        }
    }

    #[test]
    fn lossless_formats_keep_every_pixel() {
        let raster = gradient(PixelLayout::Rgba8);
        // WebP left this list when it became lossy (libwebp, issue 3): see the next test.
        for format in [ImageFormat::Png, ImageFormat::Bmp, ImageFormat::Tiff] {
            let bytes = encode(&raster, format, &OPTIONS).unwrap();
            let decoded = decode(&bytes, &Limits::default()).unwrap();
            assert_eq!(decoded.raster, raster, "{format}");
        }
    }

    #[test]
    fn webp_is_lossy_at_the_quality_asked_and_keeps_alpha_exactly() {
        let raster = gradient(PixelLayout::Rgba8);
        let size_at = |quality: u8| {
            let options = EncodeOptions { quality, ..OPTIONS };
            encode(&raster, ImageFormat::Webp, &options).unwrap()
        };
        assert!(size_at(20).len() < size_at(95).len());
        let decoded = decode(&size_at(95), &Limits::default()).unwrap().raster;
        assert_eq!(decoded.layout(), PixelLayout::Rgba8);
        for (original, written) in raster.data().chunks(4).zip(decoded.data().chunks(4)) {
            // Alpha is coded losslessly; colour stays close at quality 95.
            assert_eq!(original[3], written[3]);
            if original[3] == 255 {
                for channel in 0..3 {
                    let error = (i32::from(original[channel]) - i32::from(written[channel])).abs();
                    assert!(error <= 24, "{original:?} -> {written:?}");
                }
            }
        }
    }

    #[test]
    fn jpeg_flattens_transparency_onto_white() {
        let bytes = encode(&gradient(PixelLayout::Rgba8), ImageFormat::Jpeg, &OPTIONS).unwrap();
        let decoded = decode(&bytes, &Limits::default()).unwrap();
        let pixel = decoded.raster.pixel(2, 20).unwrap();
        assert!(pixel.iter().all(|&channel| channel > 245), "{pixel:?}");
    }

    #[test]
    fn progressive_jpeg_has_a_sof2_marker_and_baseline_has_sof0() {
        use crate::codec::decode::jpeg_frame_marker;
        let raster = gradient(PixelLayout::Rgb8);
        let baseline = encode(&raster, ImageFormat::Jpeg, &OPTIONS).unwrap();
        assert_eq!(jpeg_frame_marker(&baseline), Some(0xC0));
        let progressive = EncodeOptions {
            progressive: true,
            ..OPTIONS
        };
        let progressive = encode(&raster, ImageFormat::Jpeg, &progressive).unwrap();
        assert_eq!(jpeg_frame_marker(&progressive), Some(0xC2));
    }

    #[test]
    fn a_png_written_in_bands_keeps_every_pixel() {
        let raster = gradient(PixelLayout::Rgba8);
        // One row per band: every seam between bands is crossed.
        let bytes = encode_png(&raster, &OPTIONS, 1).unwrap();
        assert_eq!(decode(&bytes, &Limits::default()).unwrap().raster, raster);
    }

    #[test]
    fn a_passed_deadline_stops_an_encoder_before_it_starts_and_a_png_between_bands() {
        let raster = gradient(PixelLayout::Rgb8);
        let passed = Deadline(Some(std::time::Instant::now()));
        for format in ImageFormat::ALL {
            let options = EncodeOptions {
                deadline: passed,
                ..OPTIONS
            };
            let error = encode(&raster, format, &options).unwrap_err();
            assert_eq!(
                error.code,
                crate::error::ErrorCode::DeadlineExceeded,
                "{format}"
            );
        }
        let options = EncodeOptions {
            deadline: passed,
            ..OPTIONS
        };
        let error = encode_png(&raster, &options, 1).unwrap_err();
        assert!(
            error.message.contains("while encoding png"),
            "{}",
            error.message
        );
    }

    #[test]
    fn a_webp_too_wide_is_refused_in_words() {
        let wide = Raster::filled(20_000, 2, PixelLayout::Rgb8, Rgb::WHITE);
        let error = encode(&wide, ImageFormat::Webp, &OPTIONS).unwrap_err();
        assert!(
            error.message.contains("16,383 px per side"),
            "{}",
            error.message
        );
        assert!(!error.message.contains("VP8_"), "{}", error.message);
    }
}
