//! AVIF and HEIC, read and written through libheif (`libheif-rs`, the library built from the
//! crate's bundled 1.23 source; the codecs are the distribution's: dav1d and aom for AV1,
//! libde265 and x265 for HEVC).
//!
//! Reading: the container is parsed first (no pixel decoded) for the primary image's size,
//! which is checked against the [`Limits`] and set as libheif's own security limit before
//! anything is decoded. libheif applies the container's rotation, mirror and crop (`irot`,
//! `imir`, `clap`), so a HEIF source's orientation is always 1 afterwards (its EXIF
//! orientation, which describes the same turn, is not applied twice). Sources of more than 8
//! bits are narrowed by libheif; colours described by an ICC profile, or by `nclx` primaries
//! other than sRGB's (Display P3, BT.2020), are converted to sRGB ([`super::colour`]).
//! An image sequence (animated AVIF) is read as its primary still image.
//!
//! Writing: 8-bit RGB or RGBA, at the resolved quality; quality 100 is lossless (4:4:4, RGB
//! kept exactly). AV1 is encoded by aom at speed [`AOM_SPEED`]; HEVC by x265 at preset
//! [`X265_PRESET`]. One libheif call each: the deadline is looked at before it.

use super::{PixelLayout, Raster};
use crate::codec::ImageFormat;
use crate::error::PipelineError;
use crate::limits::Limits;
use crate::metadata::{Carried, ColourPolicy};
use libheif_rs::{
    Channel, ColorSpace, CompressionFormat, DecodingOptions, EncoderParameterValue, EncoderQuality,
    HeifContext, HeifError, Image, ImageHandle, LibHeif, RgbChroma, SecurityLimits,
};
use std::sync::OnceLock;

/// aom's speed (0 slowest and smallest to 9 fastest). libvips' `heifsave` uses 5 (its
/// default effort 4); `bench/run` case 1a compares the two.
pub const AOM_SPEED: i32 = 6;

/// x265's preset. libheif's default (`slow`) took 4.0 s of CPU for a 2.8 MP picture here,
/// `medium` 1.9 s for a file 3% larger; the faster presets saved almost nothing more.
pub const X265_PRESET: &str = "medium";

/// The library, initialised once for the process (libheif registers its codecs on the first
/// initialisation and counts the others).
fn library() -> &'static LibHeif {
    static LIBRARY: OnceLock<LibHeif> = OnceLock::new();
    LIBRARY.get_or_init(LibHeif::new)
}

/// What the container says of the primary image, before any pixel is decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// Width after the container's transformations.
    pub width: u32,
    /// Height after the container's transformations.
    pub height: u32,
    /// Whether the image has an alpha plane.
    pub has_alpha: bool,
    /// Bits per luma sample (8, 10, 12).
    pub bits: u8,
}

/// Reads the primary image's size from the container.
pub fn header(source: &[u8], format: ImageFormat) -> Result<Header, PipelineError> {
    let context = open(source, format, None)?;
    let handle = primary(&context, format)?;
    Ok(Header {
        width: handle.width(),
        height: handle.height(),
        has_alpha: handle.has_alpha_channel(),
        bits: handle.luma_bits_per_pixel(),
    })
}

/// Decodes the primary image after checking its size against `limits`: its pixels, and the
/// ICC profile they stay in under `colour` (see [`super::colour::kept_profile`]).
pub fn decode(
    source: &[u8],
    format: ImageFormat,
    limits: &Limits,
    colour: ColourPolicy,
) -> Result<super::colour::Tagged, PipelineError> {
    let context = open(source, format, Some(limits))?;
    let handle = primary(&context, format)?;
    let (width, height) = (handle.width(), handle.height());
    super::decode::has_pixels(format, width, height)?;
    limits.check_source_dimensions(width, height)?;
    let layout = if handle.has_alpha_channel() {
        PixelLayout::Rgba8
    } else {
        PixelLayout::Rgb8
    };
    let chroma = match layout {
        PixelLayout::Rgb8 => RgbChroma::Rgb,
        PixelLayout::Rgba8 => RgbChroma::Rgba,
    };
    let options = eight_bit_decoding();
    let image =
        super::guard::guarded(|| library().decode(&handle, ColorSpace::Rgb(chroma), options))
            .map_err(|_| corrupt(format, "the decoder failed"))?
            .map_err(|error| container_error(format, &error))?;
    let raster = packed_raster(&image, layout)
        .ok_or_else(|| corrupt(format, "the decoder gave no RGB pixels of the image's size"))?;
    Ok(to_srgb(raster, &handle, colour))
}

/// Whether `source` is an AVIF or HEIC image sequence (an animation) with a visual track,
/// which GIF and WebP results take frame by frame ([`Frames`]); other results take its
/// primary still image.
pub fn is_sequence(source: &[u8]) -> bool {
    // The image-sequence brands (AVIF, HEVC, any HEIF) are looked for first, so that a still
    // image's container is not parsed for this.
    const SEQUENCE_BRANDS: [&[u8; 4]; 3] = [b"avis", b"hevs", b"msf1"];
    if !super::decode::has_ftyp_brand(source, &SEQUENCE_BRANDS) {
        return false;
    }
    let Some(format) = super::decode::heif_format(source) else {
        return false;
    };
    open(source, format, None)
        .is_ok_and(|context| context.has_sequence() && context.track(0).is_some())
}

/// The frames of an AVIF or HEIC sequence's first visual track, decoded one at a time.
pub struct Frames<'a> {
    // Declared before the context it reads from, so dropped first.
    track: libheif_rs::Track,
    timescale: u32,
    format: ImageFormat,
    _context: HeifContext<'a>,
}

/// Opens the sequence of `source` under `limits`; more frames than
/// [`Limits::max_gif_frames`] are refused by libheif when it reads the container, before
/// any frame is decoded.
pub fn frames<'a>(source: &'a [u8], limits: &Limits) -> Result<Frames<'a>, PipelineError> {
    let format = super::decode::heif_format(source).unwrap_or(ImageFormat::Avif);
    let context = open(source, format, Some(limits))?;
    let track = context
        .track(0)
        .ok_or_else(|| corrupt(format, "the sequence has no visual track"))?;
    Ok(Frames {
        timescale: track.timescale().max(1),
        track,
        format,
        _context: context,
    })
}

impl Frames<'_> {
    /// The next frame as RGBA8 and how long it shows, in milliseconds; `None` after the last.
    /// Frames are taken as sRGB.
    pub fn next_frame(&mut self) -> Result<Option<(Raster, u32)>, PipelineError> {
        let format = self.format;
        let colours = ColorSpace::Rgb(RgbChroma::Rgba);
        let decoded =
            super::guard::guarded(|| (self.track).decode_next_image(colours, eight_bit_decoding()))
                .map_err(|_| corrupt(format, "the decoder failed"))?;
        let image = match decoded {
            Ok(image) => image,
            Err(error) if matches!(error.code, libheif_rs::HeifErrorCode::EndOfSequence) => {
                return Ok(None)
            }
            Err(error) => return Err(container_error(format, &error)),
        };
        let raster = packed_raster(&image, PixelLayout::Rgba8)
            .ok_or_else(|| corrupt(format, "a frame decoded to no RGBA pixels"))?;
        let shown = u64::from(image.duration()) * 1000 / u64::from(self.timescale);
        Ok(Some((raster, u32::try_from(shown).unwrap_or(u32::MAX))))
    }
}

/// Decoding options that narrow more than 8 bits a sample to 8.
fn eight_bit_decoding() -> Option<DecodingOptions> {
    let mut options = DecodingOptions::new();
    if let Some(options) = options.as_mut() {
        options.set_convert_hdr_to_8bit(true);
    }
    options
}

/// The container parsed, with libheif's own limits set from ours when decoding follows.
fn open<'a>(
    source: &'a [u8],
    format: ImageFormat,
    limits: Option<&Limits>,
) -> Result<HeifContext<'a>, PipelineError> {
    let mut context = HeifContext::new().map_err(|error| corrupt(format, &error.message))?;
    if let Some(limits) = limits {
        let mut security = SecurityLimits::new();
        security.set_max_image_size_pixels(limits.max_pixels);
        // What one decode may hold in all (its coded planes and the RGB it converts them to):
        // the decoders' budget.
        security.set_max_total_memory(limits.decoder_alloc_budget());
        security.set_max_sequence_frames(limits.max_gif_frames);
        context
            .set_security_limits(&security)
            .map_err(|error| corrupt(format, &error.message))?;
    }
    context
        .read_bytes(source)
        .map_err(|error| container_error(format, &error))?;
    Ok(context)
}

fn primary(context: &HeifContext<'_>, format: ImageFormat) -> Result<ImageHandle, PipelineError> {
    context
        .primary_image_handle()
        .map_err(|error| container_error(format, &error))
}

/// A container libheif will not read: over a limit, cut short, or corrupt.
fn container_error(format: ImageFormat, error: &HeifError) -> PipelineError {
    let message = &error.message;
    if message.contains("limit") || message.contains("exceeds") {
        return PipelineError::image_too_large(format!(
            "the {} source is over a limit: {message}",
            name(format)
        ));
    }
    corrupt(format, message)
}

fn corrupt(format: ImageFormat, reason: &str) -> PipelineError {
    PipelineError::decode_failed(format!(
        "the {} source is corrupt or truncated: {}",
        name(format),
        reason.trim_end_matches('.')
    ))
}

fn name(format: ImageFormat) -> String {
    format.extension().to_uppercase()
}

/// The interleaved plane copied without its row padding.
fn packed_raster(image: &Image, layout: PixelLayout) -> Option<Raster> {
    let planes = image.planes();
    let plane = planes.interleaved?;
    let row = usize::try_from(plane.width).ok()? * layout.bytes_per_pixel();
    let rows = usize::try_from(plane.height).ok()?;
    let mut data = Vec::with_capacity(row * rows);
    for y in 0..rows {
        data.extend_from_slice(plane.data.get(y * plane.stride..)?.get(..row)?);
    }
    Raster::new(plane.width, plane.height, layout, data).ok()
}

/// The pixels in sRGB: through the ICC profile when there is one, else through the `nclx`
/// primaries when they are not sRGB's; or as decoded, beside the ICC profile that `colour`
/// keeps.
fn to_srgb(raster: Raster, handle: &ImageHandle, colour: ColourPolicy) -> super::colour::Tagged {
    // libheif hands the nclx box out as a "raw" profile too: only an ICC one parses.
    let raw = handle.color_profile_raw();
    let icc = (raw.as_ref()).and_then(|raw| super::colour::Profile::parse(&raw.data));
    let raw_icc = raw.as_ref().map(|raw| raw.data.as_slice());
    if let Some(kept) = super::colour::kept_profile(raw_icc, icc.as_ref(), colour) {
        return (raster, Some(kept));
    }
    let profile = icc.or_else(|| {
        let nclx = handle.color_profile_nclx()?;
        super::colour::Profile::from_cicp(
            nclx.color_primaries() as u8,
            nclx.transfer_characteristics() as u8,
        )
    });
    let raster = match profile {
        Some(profile) => super::colour::raster_to_srgb(raster, &profile, false),
        None => raster,
    };
    (raster, None)
}

/// Encodes `raster` as AVIF or HEIC at `quality` (1-100; 100 is lossless), with the EXIF
/// block and ICC profile of `carried`.
pub fn encode(
    raster: &Raster,
    format: ImageFormat,
    quality: u8,
    carried: &Carried,
) -> Result<Vec<u8>, PipelineError> {
    let failed = |error: HeifError| {
        PipelineError::encode_failed(format!(
            "encode: could not write {}x{} {}: {}",
            raster.width(),
            raster.height(),
            format.extension(),
            error.message
        ))
    };
    let compression = match format {
        ImageFormat::Heic => CompressionFormat::Hevc,
        _ => CompressionFormat::Av1,
    };
    let mut image = heif_image(raster).map_err(failed)?;
    tag_colours(&mut image, quality, carried).map_err(failed)?;
    let mut encoder = configured_encoder(compression, quality).map_err(failed)?;
    let mut context = HeifContext::new().map_err(failed)?;
    let handle = super::guard::guarded(|| context.encode_image(&image, &mut encoder, None))
        .map_err(|_| {
            PipelineError::encode_failed(format!("encode: the {} encoder failed", format))
        })?
        .map_err(failed)?;
    if let Some(exif) = &carried.exif {
        context.add_exif_metadata(&handle, exif).map_err(failed)?;
    }
    context.write_to_bytes().map_err(failed)
}

/// The colours the image is written as: the ICC profile it is in, when one is carried;
/// else, for lossless, sRGB stored as RGB (the identity matrix); else libheif's default.
fn tag_colours(image: &mut Image, quality: u8, carried: &Carried) -> Result<(), HeifError> {
    if let Some(icc) = &carried.icc {
        let profile =
            libheif_rs::ColorProfileRaw::new(libheif_rs::color_profile_types::PROF, icc.to_vec());
        return image.set_color_profile_raw(&profile);
    }
    if quality >= 100 {
        if let Some(nclx) = identity_matrix_nclx() {
            image.set_color_profile_nclx(&nclx)?;
        }
    }
    Ok(())
}

/// libheif's AV1 or HEVC encoder at `quality` (100: lossless, every chroma sample) and the
/// speed this project chose for each.
fn configured_encoder(
    compression: CompressionFormat,
    quality: u8,
) -> Result<libheif_rs::Encoder<'static>, HeifError> {
    let mut encoder = library().encoder_for_format(compression)?;
    if quality >= 100 {
        encoder.set_quality(EncoderQuality::LossLess)?;
    } else {
        encoder.set_quality(EncoderQuality::Lossy(quality))?;
    }
    let (name, value) = match compression {
        CompressionFormat::Av1 => ("speed", EncoderParameterValue::Int(AOM_SPEED)),
        _ => ("preset", EncoderParameterValue::String(X265_PRESET.into())),
    };
    encoder.set_parameter_value(name, value)?;
    if quality >= 100 {
        // Lossless needs every chroma sample (libheif then keeps RGB as it is).
        encoder.set_parameter_value("chroma", EncoderParameterValue::String("444".into()))?;
    }
    Ok(encoder)
}

/// An `nclx` profile of sRGB colours stored as RGB (matrix coefficients 0, the identity),
/// which lossless AVIF needs to keep RGB exactly. libheif-rs can set a profile's primaries but
/// not its matrix, so the profile is read from a 308-byte AVIF whose `colr` box carries it
/// (`fixtures/make.py`; its pixels are never decoded) rather than built.
fn identity_matrix_nclx() -> Option<libheif_rs::ColorProfileNCLX> {
    const CARRIER: &[u8] = include_bytes!("../../../fixtures/nclx-identity-carrier.avif");
    let context = HeifContext::read_from_bytes(CARRIER).ok()?;
    let handle = context.primary_image_handle().ok()?;
    handle.color_profile_nclx()
}

/// The raster as a libheif image with one interleaved 8-bit plane.
fn heif_image(raster: &Raster) -> Result<Image, HeifError> {
    let (width, height) = raster.dimensions();
    let chroma = match raster.layout() {
        PixelLayout::Rgb8 => RgbChroma::Rgb,
        PixelLayout::Rgba8 => RgbChroma::Rgba,
    };
    let mut image = Image::new(width, height, ColorSpace::Rgb(chroma))?;
    image.create_plane(Channel::Interleaved, width, height, 8)?;
    let row = raster.stride();
    if let Some(plane) = image.planes_mut().interleaved {
        for (y, source_row) in raster.data().chunks_exact(row).enumerate() {
            let start = y * plane.stride;
            if let Some(target) = plane.data.get_mut(start..start + row) {
                target.copy_from_slice(source_row);
            }
        }
    }
    Ok(image)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::decode::{decode as decode_any, probe};
    use crate::error::ErrorCode;

    fn fixture(name: &str) -> Vec<u8> {
        let path = format!("{}/../fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read(&path).unwrap_or_else(|error| panic!("{path}: {error}"))
    }

    /// The mean absolute difference of two rasters of one geometry and layout.
    fn mean_difference(a: &Raster, b: &Raster) -> f64 {
        assert_eq!((a.dimensions(), a.layout()), (b.dimensions(), b.layout()));
        let total: u64 = (a.data().iter().zip(b.data()))
            .map(|(x, y)| u64::from(x.abs_diff(*y)))
            .sum();
        total as f64 / a.data().len() as f64
    }

    fn gopher() -> Raster {
        decode_any(&fixture("gopher-640x427.jpg"), &Limits::default())
            .unwrap()
            .raster
    }

    #[test]
    fn avif_and_heic_of_another_writer_decode_to_the_picture() {
        for (name, format) in [
            ("gopher-640x427.avif", ImageFormat::Avif),
            ("gopher-640x427.heic", ImageFormat::Heic),
        ] {
            let source = fixture(name);
            let info = probe(&source).unwrap();
            assert_eq!((info.format, info.width, info.height), (format, 640, 427));
            let decoded = decode_any(&source, &Limits::default()).unwrap();
            assert_eq!(decoded.format, format);
            assert_eq!(decoded.raster.layout(), PixelLayout::Rgb8);
            let difference = mean_difference(&decoded.raster, &gopher());
            assert!(difference < 8.0, "{name}: {difference}");
        }
    }

    #[test]
    fn an_avif_alpha_plane_is_kept() {
        let decoded = decode_any(&fixture("alpha-300x200.avif"), &Limits::default()).unwrap();
        let raster = decoded.raster;
        assert_eq!(raster.layout(), PixelLayout::Rgba8);
        assert_eq!(raster.pixel(5, 5).unwrap()[3], 0);
        let disc = raster.pixel(120, 100).unwrap();
        assert!(disc[3] > 250 && disc[2] > 150 && disc[0] < 80, "{disc:?}");
    }

    #[test]
    fn nclx_primaries_other_than_srgb_are_converted() {
        let flat = |name: &str| {
            let decoded = decode_any(&fixture(name), &Limits::default()).unwrap();
            decoded.raster.pixel(10, 10).unwrap().to_vec()
        };
        let srgb = flat("flat-srgb-64x48.avif");
        for (channel, expected) in srgb.iter().zip([200u8, 60, 60]) {
            assert!(channel.abs_diff(expected) <= 1, "{srgb:?}");
        }
        // The same numbers in Display P3 are a more saturated red than in sRGB.
        let p3 = flat("flat-p3-64x48.avif");
        assert!(p3[0] > 210 && p3[1] < 55, "{p3:?}");
    }

    #[test]
    fn cicp_profiles_of_srgb_and_hdr_are_not_converted() {
        use super::super::colour::Profile;
        assert!(Profile::from_cicp(1, 13).is_none());
        assert!(Profile::from_cicp(2, 2).is_none());
        assert!(
            Profile::from_cicp(12, 16).is_none(),
            "PQ is not tone-mapped"
        );
        assert!(Profile::from_cicp(12, 13).is_some_and(|p3| !p3.is_srgb()));
        assert!(Profile::from_cicp(9, 1).is_some_and(|bt2020| !bt2020.is_srgb()));
    }

    #[test]
    fn encoded_avif_and_heic_decode_back_to_the_picture() {
        let picture = gopher();
        for format in [ImageFormat::Avif, ImageFormat::Heic] {
            let bytes = encode(&picture, format, 60, &Carried::default()).unwrap();
            assert_eq!(crate::codec::decode::sniff(&bytes).unwrap(), format);
            let back = decode_any(&bytes, &Limits::default()).unwrap().raster;
            let difference = mean_difference(&back, &picture);
            assert!(difference < 6.0, "{format}: {difference}");
            let smaller = encode(&picture, format, 20, &Carried::default()).unwrap();
            assert!(smaller.len() < bytes.len(), "{format}: quality is honoured");
        }
    }

    #[test]
    fn quality_100_is_lossless_and_alpha_is_written() {
        let alpha = decode_any(&fixture("alpha-300x200.png"), &Limits::default())
            .unwrap()
            .raster;
        let bytes = encode(&alpha, ImageFormat::Avif, 100, &Carried::default()).unwrap();
        let back = decode_any(&bytes, &Limits::default()).unwrap().raster;
        assert_eq!(back.layout(), PixelLayout::Rgba8);
        let opaque = gopher();
        for format in [ImageFormat::Avif, ImageFormat::Heic] {
            let bytes = encode(&opaque, format, 100, &Carried::default()).unwrap();
            let back = decode_any(&bytes, &Limits::default()).unwrap().raster;
            assert_eq!(mean_difference(&back, &opaque), 0.0, "{format}");
        }
    }

    #[test]
    fn limits_apply_before_decoding_and_broken_files_are_named() {
        let tight = Limits {
            max_pixels: 100_000,
            ..Limits::default()
        };
        let error = decode_any(&fixture("gopher-640x427.avif"), &tight).unwrap_err();
        assert_eq!(error.code, ErrorCode::ImageTooLarge, "{}", error.message);

        let whole = fixture("gopher-640x427.heic");
        let error = decode_any(&whole[..whole.len() / 2], &Limits::default()).unwrap_err();
        assert_eq!(error.code, ErrorCode::DecodeFailed);
        assert!(error
            .message
            .starts_with("the HEIC source is corrupt or truncated: "));
    }
}
