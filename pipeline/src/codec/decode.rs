//! Decoding with limits: sniff the format from the content, read the header, check the
//! dimensions, and only then decode the pixels.
//!
//! The order matters. A small file can claim a 100,000 x 100,000 canvas; reading the header
//! first and refusing before the decoder allocates is what keeps such a file from exhausting
//! a worker's memory. The `image` crate's own limits (side and allocation budget) are set as
//! well, as a second line of defence.
//!
//! Errors: bytes that are no image we recognise, and recognised images that turn out corrupt
//! or truncated, are `DecodeFailed`; a format we recognise but do not decode (ICO, PDF, SVG,
//! JPEG 2000, JPEG XL, TGA, palette or CIELab TIFF, 12-bit JPEG ...) is `UnsupportedFormat`,
//! named; anything over a limit is `ImageTooLarge`.
//!
//! An animated GIF or WebP decodes to its first frame here (what a still result is made
//! from); when the result is a GIF or WebP too, the executor goes through [`super::gif`]
//! instead, frame by frame.

use super::{PixelLayout, Raster};
use crate::codec::jpeg::Scaled;
use crate::codec::ImageFormat;
use crate::codec::Rgb;
use crate::error::{ErrorCode, PipelineError};
use crate::limits::Limits;
use crate::metadata::ColourPolicy;
use image::{DynamicImage, ImageDecoder, ImageReader};
use std::io::Cursor;
use std::sync::Arc;

/// What the header says about a source, without decoding pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SourceInfo {
    /// The format, sniffed from the content.
    pub format: ImageFormat,
    /// Width in pixels, from the header.
    pub width: u32,
    /// Height in pixels, from the header.
    pub height: u32,
    /// The EXIF orientation (1-8; 1 when there is none), for `auto-orient`. Pixels are never
    /// turned on decode.
    pub orientation: u8,
}

/// A decoded source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoded {
    /// The pixels, RGB8 when the source is opaque and RGBA8 when it has transparency.
    pub raster: Raster,
    /// The source's format: the default output format.
    pub format: ImageFormat,
    /// The JPEG quality the source was written with, estimated from its quantization table
    /// (`None` for other formats or when there is no standard-looking table). Feeds the
    /// relative and adaptive quality rules in [`crate::ops::quality`].
    pub source_quality: Option<u8>,
    /// The EXIF orientation (1-8; 1 when there is none).
    pub orientation: u8,
    /// The ICC profile the pixels are still in (`metadata.colour_profile = keep`, see
    /// [`crate::metadata`]); `None`: they are sRGB.
    pub icc: Option<Arc<[u8]>>,
}

/// The start-of-frame marker of a JPEG ([`super::jpeg::frame_marker`]), here too for the
/// callers that look at a result after decoding it.
pub use super::jpeg::frame_marker as jpeg_frame_marker;

/// Sniffs the format from the first bytes. Never looks at a name or key.
pub fn sniff(source: &[u8]) -> Result<ImageFormat, PipelineError> {
    if source.is_empty() {
        return Err(PipelineError::decode_failed("the source is empty"));
    }
    if let Some(format) = heif_format(source) {
        return Ok(format);
    }
    if source.starts_with(b"8BPS") {
        return Ok(ImageFormat::Psd);
    }
    // BigTIFF, which the `image` crate does not sniff and its TIFF decoder reads.
    if source.starts_with(b"II\x2B\x00") || source.starts_with(b"MM\x00\x2B") {
        return Ok(ImageFormat::Tiff);
    }
    if let Some(name) = recognised_but_unsupported(source) {
        return Err(unsupported(name));
    }
    let format = image::guess_format(source).map_err(|_| {
        PipelineError::decode_failed(
            "the source is not an image (no JPEG, PNG, GIF, WebP, BMP, TIFF, AVIF or HEIC \
             signature)",
        )
    })?;
    match format {
        image::ImageFormat::Jpeg => Ok(ImageFormat::Jpeg),
        image::ImageFormat::Png => Ok(ImageFormat::Png),
        image::ImageFormat::Gif => Ok(ImageFormat::Gif),
        image::ImageFormat::WebP => Ok(ImageFormat::Webp),
        image::ImageFormat::Bmp => Ok(ImageFormat::Bmp),
        image::ImageFormat::Tiff => Ok(ImageFormat::Tiff),
        other => Err(unsupported(&format!("{other:?}").to_uppercase())),
    }
}

/// AVIF or HEIC, from the brands of an ISO media file's `ftyp` box: AVIF when a brand says
/// AV1 (`avif`, `avis`), HEIC when one says HEVC or names only the generic HEIF brands
/// (`mif1`, `msf1`), which libheif then reads whatever their codec.
pub(crate) fn heif_format(source: &[u8]) -> Option<ImageFormat> {
    let has = |names: &[&[u8; 4]]| has_ftyp_brand(source, names);
    if has(&[b"avif", b"avis"]) {
        Some(ImageFormat::Avif)
    } else if has(&[
        b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1",
    ]) {
        Some(ImageFormat::Heic)
    } else {
        None
    }
}

/// Whether the ISO-BMFF `ftyp` box that starts `source` names one of `names` as its major or
/// a compatible brand.
pub(crate) fn has_ftyp_brand(source: &[u8], names: &[&[u8; 4]]) -> bool {
    if source.get(4..8) != Some(b"ftyp") {
        return false;
    }
    let Some(size) = (source.get(..4)).and_then(|size| size.try_into().ok()) else {
        return false;
    };
    let end = usize::try_from(u32::from_be_bytes(size)).unwrap_or(usize::MAX);
    let end = end.min(source.len()).min(4096);
    let major = source.get(8..12).unwrap_or_default();
    let compatible = source.get(16..end).unwrap_or_default().chunks_exact(4);
    std::iter::once(major)
        .chain(compatible)
        .any(|brand| names.iter().any(|name| brand == &name[..]))
}

fn unsupported(name: &str) -> PipelineError {
    PipelineError::new(
        ErrorCode::UnsupportedFormat,
        format!(
            "the source is {name}, which is not supported (supported: JPEG, PNG, GIF, WebP, BMP, \
             TIFF, AVIF, HEIC, PSD)"
        ),
    )
}

/// Formats (and kinds of a format) that are not decoded here but that users upload: named
/// rather than called garbage. The `image` crate sniffs others (AVIF, ICO, PNM, OpenEXR ...),
/// which `sniff` names from its answer.
fn recognised_but_unsupported(source: &[u8]) -> Option<&'static str> {
    const SIGNATURES: [(&[u8], &str); 5] = [
        (b"%PDF-", "PDF"),
        (b"\x00\x00\x00\x0CjP  \r\n\x87\n", "JPEG 2000"),
        (b"\xFF\x4F\xFF\x51", "JPEG 2000 (a codestream)"),
        (b"\x00\x00\x00\x0CJXL \r\n\x87\n", "JPEG XL"),
        (b"\xFF\x0A", "JPEG XL"),
    ];
    if let Some((_, name)) = SIGNATURES
        .iter()
        .find(|(magic, _)| source.starts_with(magic))
    {
        return Some(name);
    }
    if source.starts_with(&[0xFF, 0xD8])
        && super::jpeg::sample_precision(source).is_some_and(|bits| bits != 8)
    {
        return Some("a JPEG of 12 or 16 bits per sample");
    }
    if looks_like_svg(source) {
        return Some("SVG");
    }
    looks_like_tga(source).then_some("TGA")
}

/// An SVG document: XML (after a byte-order mark and white space) whose first kilobyte opens
/// an `<svg` element.
fn looks_like_svg(source: &[u8]) -> bool {
    let head = &source[..source.len().min(1024)];
    let text = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    let start = text
        .iter()
        .position(|byte| !byte.is_ascii_whitespace())
        .unwrap_or(text.len());
    let text = &text[start..];
    (text.starts_with(b"<?xml") || text.starts_with(b"<svg") || text.starts_with(b"<!DOCTYPE svg"))
        && memchr::memmem::find(text, b"<svg").is_some()
}

/// A Truevision TGA: its version 2 footer, or a version 1 header (which has no signature)
/// whose every field holds one of the values the format defines.
fn looks_like_tga(source: &[u8]) -> bool {
    if source.ends_with(b"TRUEVISION-XFILE.\0") {
        return true;
    }
    let Some(header) = source.get(..18) else {
        return false;
    };
    let colour_map = header[1];
    let image_type = header[2];
    let width = u16::from_le_bytes([header[12], header[13]]);
    let height = u16::from_le_bytes([header[14], header[15]]);
    let depth = header[16];
    colour_map <= 1
        && matches!(image_type, 1 | 2 | 3 | 9 | 10 | 11)
        && width > 0
        && height > 0
        && matches!(depth, 8 | 15 | 16 | 24 | 32)
        && header[17] & 0xC0 == 0
}

/// Reads format and dimensions from the header only. A header that claims no pixels (a width
/// or height of 0) is `DecodeFailed`: there is nothing to process.
pub fn probe(source: &[u8]) -> Result<SourceInfo, PipelineError> {
    let info = probe_header(source)?;
    has_pixels(info.format, info.width, info.height)?;
    Ok(info)
}

fn probe_header(source: &[u8]) -> Result<SourceInfo, PipelineError> {
    let format = sniff(source)?;
    if format == ImageFormat::Jpeg {
        if let Some((width, height)) = super::jpeg::header_dimensions(source) {
            return Ok(SourceInfo {
                format,
                width,
                height,
                orientation: jpeg_orientation(source),
            });
        }
    }
    if let Some((width, height)) = own_kind_tiff(source, format) {
        return Ok(SourceInfo {
            format,
            width,
            height,
            orientation: super::tiff::orientation(source),
        });
    }
    if format == ImageFormat::Psd {
        let header = super::psd::header(source)?;
        return Ok(SourceInfo {
            format,
            width: header.width,
            height: header.height,
            orientation: 1,
        });
    }
    if format.is_heif() {
        let header = super::heif::header(source, format)?;
        return Ok(SourceInfo {
            format,
            width: header.width,
            height: header.height,
            orientation: 1,
        });
    }
    let completed = completed(source, format);
    let mut decoder = open_decoder(completed.as_deref().unwrap_or(source), format)?;
    let (width, height) = decoder.dimensions();
    Ok(SourceInfo {
        format,
        width,
        height,
        orientation: read_orientation(&mut decoder),
    })
}

/// `DecodeFailed` for an image of no pixels (`0xN`, `Nx0`).
pub(super) fn has_pixels(
    format: ImageFormat,
    width: u32,
    height: u32,
) -> Result<(), PipelineError> {
    if width == 0 || height == 0 {
        return Err(PipelineError::decode_failed(format!(
            "the {} source is {width}x{height}: it has no pixels",
            format.extension().to_uppercase()
        )));
    }
    Ok(())
}

/// Decodes `source` after checking its byte length and header dimensions against `limits`.
pub fn decode(source: &[u8], limits: &Limits) -> Result<Decoded, PipelineError> {
    decode_to_fit(source, limits, None)
}

/// [`decode_as`] to sRGB.
pub fn decode_to_fit(
    source: &[u8],
    limits: &Limits,
    needed: Option<(u32, u32)>,
) -> Result<Decoded, PipelineError> {
    decode_as(source, limits, needed, ColourPolicy::Srgb)
}

/// [`decode`], allowed to return a smaller picture than the source when the caller only needs
/// `needed` pixels (the size the first geometric step resamples to): JPEGs are then decoded
/// at 1/2, 1/4 or 1/8 scale in the DCT domain ([`super::jpeg`]), never below `needed`.
/// Other formats, and `None`, decode at full size. The pixels are converted to sRGB, or stay
/// in the source's RGB profile as `colour` says ([`super::colour::kept_profile`]).
pub fn decode_as(
    source: &[u8],
    limits: &Limits,
    needed: Option<(u32, u32)>,
    colour: ColourPolicy,
) -> Result<Decoded, PipelineError> {
    limits.check_source_len(source.len())?;
    let format = sniff(source)?;
    let wish = Wish { needed, colour };
    if let Some(decoded) = decode_with_own_reader(source, format, limits, wish)? {
        return Ok(decoded);
    }
    let completed = completed(source, format);
    let source = completed.as_deref().unwrap_or(source);
    let mut decoder = open_decoder(source, format)?;
    let (width, height) = decoder.dimensions();
    has_pixels(format, width, height)?;
    limits.check_source_dimensions(width, height)?;
    let orientation = read_orientation(&mut decoder);
    let icc = decoder.icc_profile().ok().flatten();
    let profile = icc.as_deref().and_then(super::colour::Profile::parse);
    let kept = super::colour::kept_profile(icc.as_deref(), profile.as_ref(), colour);
    let profile = profile.filter(|_| kept.is_none());
    limit_decoder(&mut decoder, format, limits)?;

    if format == ImageFormat::Jpeg {
        check_jpeg_scans(source, (width, height))?;
    }
    let source_quality = match format {
        ImageFormat::Jpeg => super::jpeg::estimate_quality(source),
        _ => None,
    };
    let image = decode_pixels(decoder, format, (width, height))?;
    let image = match &profile {
        Some(profile) => super::colour::image_to_srgb(image, profile),
        None => image,
    };
    let mut raster = into_raster(image)?;
    if format == ImageFormat::Tiff && super::tiff::has_associated_alpha(source) {
        super::tiff::unpremultiply(&mut raster);
    }
    Ok(Decoded {
        raster,
        format,
        source_quality,
        orientation,
        icc: kept,
    })
}

/// What a caller asks of a decode besides the source: how small it may be, and what becomes
/// of its colour profile.
#[derive(Debug, Clone, Copy)]
struct Wish {
    needed: Option<(u32, u32)>,
    colour: ColourPolicy,
}

/// The size of a TIFF of 1-, 2- or 4-bit greys or of palette indices (read by
/// `super::tiff`, not the `image` crate); `None` for any other source.
fn own_kind_tiff(source: &[u8], format: ImageFormat) -> Option<(u32, u32)> {
    (format == ImageFormat::Tiff)
        .then(|| super::tiff::own_kind_size(source))
        .flatten()
}

/// The formats whose decoders are not the `image` crate's: JPEG through libjpeg-turbo (`None`
/// when it refuses one, which then goes to the general decoder), PSD, AVIF and HEIC.
fn decode_with_own_reader(
    source: &[u8],
    format: ImageFormat,
    limits: &Limits,
    wish: Wish,
) -> Result<Option<Decoded>, PipelineError> {
    let colour = wish.colour;
    let (raster, icc) = match format {
        ImageFormat::Jpeg => return decode_jpeg_with_turbo(source, limits, wish),
        // Our own parser, but on untrusted bytes: a bug in it is a corrupt file, not a crash.
        ImageFormat::Psd => super::guard::guarded(|| super::psd::decode(source, limits, colour))
            .map_err(|_| {
            PipelineError::decode_failed("the PSD source could not be decoded")
        })??,
        ImageFormat::Avif | ImageFormat::Heic => {
            super::heif::decode(source, format, limits, colour)?
        }
        ImageFormat::Tiff => return decode_tiff_kinds(source, limits),
        _ => return Ok(None),
    };
    Ok(Some(Decoded {
        raster,
        format,
        source_quality: None,
        orientation: 1,
        icc,
    }))
}

/// The TIFFs `super::tiff` reads (low-bit greys, palettes) or refuses by name (before the
/// general decoder fails in its own words); `None` for the others.
fn decode_tiff_kinds(source: &[u8], limits: &Limits) -> Result<Option<Decoded>, PipelineError> {
    if let Some(refusal) = super::tiff::unsupported_reason(source) {
        return Err(refusal);
    }
    Ok(
        super::tiff::decode_own_kind(source, limits)?.map(|raster| Decoded {
            raster,
            format: ImageFormat::Tiff,
            source_quality: None,
            orientation: super::tiff::orientation(source),
            icc: None,
        }),
    )
}

/// The general decoder's pixels. A JPEG here is one libjpeg-turbo refused (see
/// `decode_jpeg_with_turbo`): it is decoded at full size.
fn decode_pixels(
    decoder: impl ImageDecoder,
    format: ImageFormat,
    (width, height): (u32, u32),
) -> Result<DynamicImage, PipelineError> {
    // The decoders are third-party code fed untrusted bytes; should one of them panic, that is
    // a corrupt image to the caller, not a dead worker.
    super::guard::guarded(|| DynamicImage::from_decoder(decoder))
        .map_err(|_| {
            PipelineError::decode_failed(format!(
                "the {} source could not be decoded (the decoder failed)",
                format.extension().to_uppercase()
            ))
        })?
        .map_err(|error| match error {
            // The header's size was within the budget (`limit_decoder`): a decoder that asks
            // for more read sizes from elsewhere in the file (a TIFF's strip table, say) that
            // its picture cannot need.
            image::ImageError::Limits(_) => PipelineError::decode_failed(format!(
                "the {} source is corrupt: decoding its {width}x{height} picture asked for \
                 more memory than such a picture needs",
                format.extension().to_uppercase()
            )),
            other => image_error(format, other),
        })
}

/// A PNG's closing chunk: IEND, empty, with its CRC.
const PNG_END: [u8; 12] = [0, 0, 0, 0, b'I', b'E', b'N', b'D', 0xAE, 0x42, 0x60, 0x82];

/// A copy of a sound source with what its decoder wants and the file lacks put in: a PNG's
/// missing end chunk, a GIF's missing colour table or too small a screen; `None` when nothing
/// is missing.
fn completed(source: &[u8], format: ImageFormat) -> Option<Vec<u8>> {
    match format {
        ImageFormat::Png if png_lacks_its_end(source) => Some([source, &PNG_END[..]].concat()),
        ImageFormat::Gif => super::gif::repaired(source),
        _ => None,
    }
}

/// Whether a PNG has no IEND chunk at all. A file cut just before it holds every pixel, and
/// libvips and browsers show it: it is decoded with the chunk put back. One cut inside its
/// image data still fails, as truncated.
fn png_lacks_its_end(source: &[u8]) -> bool {
    !source.ends_with(&PNG_END) && memchr::memmem::rfind(source, b"IEND").is_none()
}

/// Sets the `image` crate's own limits (a second line of defence after the header check), and
/// refuses a source whose pixels would exceed the decoder's allocation budget.
fn limit_decoder(
    decoder: &mut impl ImageDecoder,
    format: ImageFormat,
    limits: &Limits,
) -> Result<(), PipelineError> {
    let mut decoder_limits = image::Limits::default();
    decoder_limits.max_image_width = Some(limits.max_side);
    decoder_limits.max_image_height = Some(limits.max_side);
    decoder_limits.max_alloc = Some(limits.decoder_alloc_budget());
    decoder
        .set_limits(decoder_limits)
        .map_err(|error| image_error(format, error))?;
    if decoder.total_bytes() > limits.decoder_alloc_budget() {
        return Err(PipelineError::image_too_large(format!(
            "the source needs {} bytes to decode, over the budget of {} bytes",
            decoder.total_bytes(),
            limits.decoder_alloc_budget()
        )));
    }
    Ok(())
}

/// The JPEG fast path: libjpeg-turbo reads the header and decodes, at 1/2, 1/4 or 1/8 scale
/// when `needed` allows. The `image` crate's JPEG decoder is not built at all here: it copies
/// the whole file just to read the header (twice per job, with the plan's probe: some 3 ms and
/// 2,000 page faults for a 4 MB photo). `Ok(None)` when libjpeg-turbo will not read or decode
/// this JPEG (CMYK, 12-bit, recoverable corruption): the caller's general decoder takes it.
fn decode_jpeg_with_turbo(
    source: &[u8],
    limits: &Limits,
    Wish { needed, colour }: Wish,
) -> Result<Option<Decoded>, PipelineError> {
    let Some((width, height)) = super::jpeg::header_dimensions(source) else {
        return Ok(None);
    };
    // Within these, the RGB output (3 bytes a pixel) is inside the decoder budget.
    has_pixels(ImageFormat::Jpeg, width, height)?;
    limits.check_source_dimensions(width, height)?;
    check_jpeg_scans(source, (width, height))?;
    let orientation = jpeg_orientation(source);
    let factor = needed.map_or(1, |needed| {
        let rotated = super::jpeg::orientation_swaps_axes(Some(u16::from(orientation)));
        super::jpeg::shrink_factor((width, height), needed, rotated)
    });
    let Some(scaled) = super::jpeg::decode_scaled(source, factor) else {
        return Ok(None);
    };
    let icc = super::colour::jpeg_icc_profile(source);
    let profile = icc.as_deref().and_then(super::colour::Profile::parse);
    let mut kept = None;
    let raster = match scaled {
        Scaled::Rgb { raster, grey } => {
            kept = (!grey)
                .then(|| super::colour::kept_profile(icc.as_deref(), profile.as_ref(), colour))
                .flatten();
            match profile.as_ref().filter(|_| kept.is_none()) {
                Some(profile) => super::colour::raster_to_srgb(raster, profile, grey),
                None => raster,
            }
        }
        Scaled::Cmyk {
            width,
            height,
            pixels,
        } => {
            let inverted = super::jpeg::has_adobe_segment(source);
            super::colour::cmyk_to_srgb(pixels, (width, height), profile.as_ref(), inverted)?
        }
    };
    Ok(Some(Decoded {
        raster,
        format: ImageFormat::Jpeg,
        source_quality: super::jpeg::estimate_quality(source),
        orientation,
        icc: kept,
    }))
}

/// Refuses a JPEG whose scan data is cut short: without its end-of-image marker (the `image`
/// crate's decoder would pad it with grey), or too short for the frame its header claims
/// (libjpeg-turbo would decode the whole claimed size from a few bytes).
fn check_jpeg_scans(source: &[u8], (width, height): (u32, u32)) -> Result<(), PipelineError> {
    if !super::jpeg::has_end_of_image(source) {
        return Err(PipelineError::decode_failed(
            "the JPG source is truncated (no end-of-image marker after the image data)",
        ));
    }
    if let Some((held, fewest)) = super::jpeg::scan_data_short_of_frame(source) {
        return Err(PipelineError::decode_failed(format!(
            "the JPG source is truncated or forged: its header claims {width}x{height}, which \
             takes at least {fewest} bytes of image data, and it holds {held}"
        )));
    }
    Ok(())
}

/// A JPEG's EXIF orientation tag (1-8), 1 when absent or unreadable.
fn jpeg_orientation(source: &[u8]) -> u8 {
    super::jpeg::exif_orientation(source)
        .and_then(|orientation| u8::try_from(orientation).ok())
        .unwrap_or(1)
}

/// The EXIF orientation tag (1-8), 1 when absent or unreadable (a bad EXIF block must not fail
/// an image that decodes).
fn read_orientation(decoder: &mut impl ImageDecoder) -> u8 {
    let told = decoder
        .orientation()
        .map_or(1, |orientation| orientation.to_exif());
    if told != 1 {
        return told;
    }
    // Some writers start a WebP's (or a PNG's) EXIF block with JPEG's "Exif\0\0" header,
    // which the decoder does not look past.
    (decoder.exif_metadata().ok().flatten())
        .and_then(|exif| {
            exif.strip_prefix(b"Exif\0\0")
                .and_then(super::jpeg::tiff_orientation)
        })
        .and_then(|orientation| u8::try_from(orientation).ok())
        .unwrap_or(1)
}

/// Builds the format's decoder, which reads the header. Only the default allocation budget of
/// the `image` crate applies here; the caller checks the dimensions before decoding.
fn open_decoder(
    source: &[u8],
    format: ImageFormat,
) -> Result<impl ImageDecoder + '_, PipelineError> {
    let image_format = match format {
        ImageFormat::Jpeg => image::ImageFormat::Jpeg,
        ImageFormat::Png => image::ImageFormat::Png,
        ImageFormat::Gif => image::ImageFormat::Gif,
        ImageFormat::Webp => image::ImageFormat::WebP,
        ImageFormat::Bmp => image::ImageFormat::Bmp,
        ImageFormat::Tiff => image::ImageFormat::Tiff,
        // Read by libheif (`super::heif`) and by `super::psd`, never here.
        ImageFormat::Avif | ImageFormat::Heic | ImageFormat::Psd => {
            return Err(PipelineError::internal(format!(
                "the {format} decoder is not the image crate's"
            )))
        }
    };
    // Header parsing is third-party code too: a panic in it is a corrupt header.
    super::guard::guarded(|| {
        ImageReader::with_format(Cursor::new(source), image_format).into_decoder()
    })
    .map_err(|_| {
        PipelineError::decode_failed(format!(
            "the {} source has an unreadable header",
            format.extension().to_uppercase()
        ))
    })?
    .map_err(|error| match format {
        ImageFormat::Tiff => {
            super::tiff::unsupported_reason(source).unwrap_or_else(|| image_error(format, error))
        }
        _ => image_error(format, error),
    })
}

/// Maps the `image` crate's errors onto our codes.
fn image_error(format: ImageFormat, error: image::ImageError) -> PipelineError {
    let name = format.extension().to_uppercase();
    match error {
        image::ImageError::Limits(limit) => {
            PipelineError::image_too_large(format!("the {name} source is over a limit: {limit}"))
        }
        image::ImageError::Unsupported(detail) => PipelineError::new(
            ErrorCode::UnsupportedFormat,
            format!("the {name} source uses a feature that is not supported: {detail}"),
        ),
        image::ImageError::IoError(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
            PipelineError::decode_failed(format!("the {name} source is truncated"))
        }
        other => PipelineError::decode_failed(format!(
            "the {name} source is corrupt or truncated: {other}"
        )),
    }
}

/// Converts to the engine's 8-bit layouts: RGBA8 only when some pixel is not opaque, so that
/// opaque images (the vast majority) are resized and encoded with three channels.
fn into_raster(image: DynamicImage) -> Result<Raster, PipelineError> {
    let (width, height) = (image.width(), image.height());
    if image.color().has_alpha() {
        let rgba = Raster::new(
            width,
            height,
            PixelLayout::Rgba8,
            image.into_rgba8().into_raw(),
        )?;
        if rgba.has_transparency() {
            return Ok(rgba);
        }
        // Fully opaque: blending onto any colour leaves the pixels unchanged.
        return Ok(rgba.flatten(Rgb::WHITE));
    }
    Raster::new(
        width,
        height,
        PixelLayout::Rgb8,
        image.into_rgb8().into_raw(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> Vec<u8> {
        let path = format!("{}/../fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read(&path).unwrap_or_else(|error| panic!("{path}: {error}"))
    }

    #[test]
    fn every_fixture_decodes_with_its_format_size_and_layout() {
        let table = [
            (
                "gopher-640x427.jpg",
                ImageFormat::Jpeg,
                (640, 427),
                PixelLayout::Rgb8,
            ),
            (
                "alpha-300x200.png",
                ImageFormat::Png,
                (300, 200),
                PixelLayout::Rgba8,
            ),
            (
                "small-400x300.png",
                ImageFormat::Png,
                (400, 300),
                PixelLayout::Rgb8,
            ),
            (
                "anim-100x80.gif",
                ImageFormat::Gif,
                (100, 80),
                PixelLayout::Rgb8,
            ),
            ("tiny.webp", ImageFormat::Webp, (32, 24), PixelLayout::Rgb8),
            ("tiny.bmp", ImageFormat::Bmp, (32, 24), PixelLayout::Rgb8),
            ("tiny.tiff", ImageFormat::Tiff, (32, 24), PixelLayout::Rgb8),
        ];
        for (name, format, size, layout) in table {
            let bytes = fixture(name);
            let decoded = decode(&bytes, &Limits::default())
                .unwrap_or_else(|error| panic!("{name}: {error}"));
            assert_eq!(decoded.format, format, "{name}");
            assert_eq!(decoded.raster.dimensions(), size, "{name}");
            assert_eq!(decoded.raster.layout(), layout, "{name}");
            let info = probe(&bytes).unwrap();
            assert_eq!(
                (info.format, info.width, info.height),
                (format, size.0, size.1)
            );
        }
    }

    #[test]
    fn the_format_comes_from_the_content_not_the_name() {
        // A PNG named .jpg is still a PNG.
        let png = fixture("small-400x300.png");
        assert_eq!(sniff(&png), Ok(ImageFormat::Png));
        assert_eq!(sniff(&fixture("gopher-640x427.jpg")), Ok(ImageFormat::Jpeg));
    }

    /// `source` with its frame header rewritten to claim `width` x `height`.
    fn claiming(source: &[u8], (width, height): (u16, u16)) -> Vec<u8> {
        let mut forged = source.to_vec();
        let at = (forged.windows(2))
            .position(|pair| pair == [0xFF, 0xC0] || pair == [0xFF, 0xC2])
            .unwrap();
        forged[at + 5..at + 7].copy_from_slice(&height.to_be_bytes());
        forged[at + 7..at + 9].copy_from_slice(&width.to_be_bytes());
        forged
    }

    #[test]
    fn a_jpeg_too_short_for_the_frame_it_claims_is_refused_before_decoding() {
        // The gopher's 93 kB of image data under a header that claims 29999x4999 (150 MP).
        let forged = claiming(&fixture("gopher-640x427.jpg"), (29_999, 4_999));
        let error = decode(&forged, &Limits::default()).unwrap_err();
        assert_eq!(error.code, ErrorCode::DecodeFailed, "{error}");
        assert!(error.message.contains("truncated or forged"), "{error}");
        assert!(error.message.contains("29999x4999"), "{error}");
    }

    #[test]
    fn stray_bytes_between_jpeg_segments_are_skipped_as_libjpeg_does() {
        let gopher = fixture("gopher-640x427.jpg");
        // After SOI and the first segment (APP0 or whatever comes first), four junk bytes.
        let first_length = usize::from(u16::from_be_bytes([gopher[4], gopher[5]]));
        let cut = 4 + first_length;
        let mut junk = gopher[..cut].to_vec();
        junk.extend_from_slice(b"junk");
        junk.extend_from_slice(&gopher[cut..]);
        // libjpeg-turbo's header reader warns, so the general decoder takes the file.
        let decoded = decode(&junk, &Limits::default()).unwrap();
        assert_eq!(decoded.raster.dimensions(), (640, 427));
    }

    #[test]
    fn a_jpeg_with_a_short_adobe_segment_decodes() {
        // An APP14 holding only "Adobe" (5 bytes; the full segment has 12): libjpeg skips it.
        let gopher = fixture("gopher-640x427.jpg");
        let mut short = gopher[..2].to_vec();
        short.extend_from_slice(b"\xFF\xEE\x00\x07Adobe");
        short.extend_from_slice(&gopher[2..]);
        let decoded = decode(&short, &Limits::default()).unwrap();
        assert_eq!(decoded.raster.dimensions(), (640, 427));
        let plain = decode(&gopher, &Limits::default()).unwrap();
        assert_eq!(decoded.raster, plain.raster);
    }

    #[test]
    fn a_png_missing_only_its_end_chunk_decodes_and_one_cut_in_its_data_does_not() {
        let whole = fixture("alpha-300x200.png");
        assert!(whole.ends_with(&PNG_END));
        let unended = &whole[..whole.len() - PNG_END.len()];
        let decoded = decode(unended, &Limits::default()).unwrap().raster;
        assert_eq!(decoded, decode(&whole, &Limits::default()).unwrap().raster);
        let cut = &whole[..whole.len() / 2];
        let error = decode(cut, &Limits::default()).unwrap_err();
        assert_eq!(error.code, ErrorCode::DecodeFailed, "{error}");
    }

    #[test]
    fn a_gif_without_any_colour_table_takes_the_default_one() {
        // One 1x1 frame of colour index 1 (LZW: clear, 1, end), no global or local table.
        let mut gif = b"GIF89a\x01\x00\x01\x00\x00\x00\x00".to_vec();
        gif.extend_from_slice(b"\x2C\x00\x00\x00\x00\x01\x00\x01\x00\x00");
        gif.extend_from_slice(b"\x02\x02\x4C\x01\x00\x3B");
        let decoded = decode(&gif, &Limits::default()).unwrap().raster;
        assert_eq!(probe(&gif).unwrap().width, 1);
        assert_eq!(decoded.dimensions(), (1, 1));
        assert_eq!(&decoded.pixel(0, 0).unwrap()[..3], &[255, 255, 255]);
        // A GIF with its own table is left as it is.
        assert_eq!(
            super::super::gif::repaired(&fixture("anim-100x80.gif")),
            None
        );
    }

    /// `simple` (a RIFF WebP of one VP8L chunk) in the extended format, with an EXIF chunk
    /// that says `orientation`.
    fn webp_with_orientation(
        simple: &[u8],
        (width, height): (u32, u32),
        orientation: u16,
        exif_prefix: &[u8],
    ) -> Vec<u8> {
        let chunk = |kind: &[u8], data: &[u8]| {
            let mut bytes = kind.to_vec();
            bytes.extend_from_slice(&(data.len() as u32).to_le_bytes());
            bytes.extend_from_slice(data);
            if data.len() % 2 == 1 {
                bytes.push(0);
            }
            bytes
        };
        let mut vp8x = vec![0x08, 0, 0, 0];
        vp8x.extend_from_slice(&(width - 1).to_le_bytes()[..3]);
        vp8x.extend_from_slice(&(height - 1).to_le_bytes()[..3]);
        let mut exif = exif_prefix.to_vec();
        exif.extend_from_slice(
            b"II\x2A\x00\x08\x00\x00\x00\x01\x00\x12\x01\x03\x00\x01\x00\x00\x00",
        );
        exif.extend_from_slice(&orientation.to_le_bytes());
        exif.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
        let mut body = b"WEBP".to_vec();
        body.extend(chunk(b"VP8X", &vp8x));
        body.extend_from_slice(&simple[12..]);
        body.extend(chunk(b"EXIF", &exif));
        let mut riff = b"RIFF".to_vec();
        riff.extend_from_slice(&(body.len() as u32).to_le_bytes());
        riff.extend(body);
        riff
    }

    #[test]
    fn a_webp_says_its_exif_orientation() {
        let simple = fixture("tiny.webp");
        let size = decode(&simple, &Limits::default())
            .unwrap()
            .raster
            .dimensions();
        // Some writers start the chunk with JPEG's "Exif\0\0", as in an APP1 segment.
        let prefixed = webp_with_orientation(&simple, size, 8, b"Exif\0\0");
        assert_eq!(probe(&prefixed).unwrap().orientation, 8);
        let turned = webp_with_orientation(&simple, size, 6, b"");
        assert_eq!(probe(&turned).unwrap().orientation, 6);
        let decoded = decode(&turned, &Limits::default()).unwrap();
        assert_eq!(decoded.orientation, 6);
        assert_eq!(decoded.raster.dimensions(), size);
        // And auto-orient turns it, through the whole run.
        let limits = Limits::default();
        let (width, height) = size;
        for (process, expected) in [
            ("image/auto-orient,1/format,png", (height, width)),
            ("image/auto-orient,0/format,png", (width, height)),
        ] {
            let pipeline = crate::parse::oss::parse_process(process, &crate::parse::NoStyles)
                .unwrap()
                .pipeline;
            let rendered =
                crate::exec::run_one(&pipeline, &turned, &crate::Resources::new(&limits)).unwrap();
            assert_eq!((rendered.width, rendered.height), expected, "{process}");
        }
    }

    #[test]
    fn a_gif_frame_past_its_screen_grows_the_canvas() {
        // A 1x1 screen with a global table of black and white, and a 1x1 white frame at
        // (2, 1): the canvas grows to 3x2, the frame in its corner.
        let mut gif = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xFF\xFF\xFF".to_vec();
        gif.extend_from_slice(b"\x2C\x02\x00\x01\x00\x01\x00\x01\x00\x00");
        gif.extend_from_slice(b"\x02\x02\x4C\x01\x00\x3B");
        let decoded = decode(&gif, &Limits::default()).unwrap().raster;
        assert_eq!(decoded.dimensions(), (3, 2));
        assert_eq!(&decoded.pixel(2, 1).unwrap()[..3], &[255, 255, 255]);
        let info = probe(&gif).unwrap();
        assert_eq!((info.width, info.height), (3, 2));
    }

    #[test]
    fn a_gif_of_no_pixels_is_a_decode_failure_however_it_is_read() {
        let gif = b"GIF89a\x00\x00\x05\x00\x80\x00\x00\x00\x00\x00\xFF\xFF\xFF\x3B";
        assert_eq!(
            decode(gif, &Limits::default()).unwrap_err().code,
            ErrorCode::DecodeFailed
        );
        let limits = Limits::default();
        let pipeline = crate::parse::qiniu::parse_command("imageMogr2/thumbnail/10x/format/gif")
            .unwrap()
            .pipeline;
        let error =
            crate::exec::run_one(&pipeline, gif, &crate::Resources::new(&limits)).unwrap_err();
        assert_eq!(error.code, ErrorCode::DecodeFailed, "{error}");
    }

    #[test]
    fn a_tiff_whose_strip_table_asks_for_gigabytes_is_corrupt_not_too_large() {
        // 1x1 grey, LZW, one strip that claims 2 GiB of compressed bytes.
        let entries: [(u16, u16, u32); 9] = [
            (256, 3, 1),           // ImageWidth
            (257, 3, 1),           // ImageLength
            (258, 3, 8),           // BitsPerSample
            (259, 3, 5),           // Compression: LZW
            (262, 3, 1),           // Photometric: black is zero
            (273, 4, 8),           // StripOffsets
            (277, 3, 1),           // SamplesPerPixel
            (278, 3, 1),           // RowsPerStrip
            (279, 4, 0x7FFF_FFFF), // StripByteCounts
        ];
        let mut tiff = b"II\x2A\x00".to_vec();
        let directory = 8u32 + 4;
        tiff.extend_from_slice(&directory.to_le_bytes());
        tiff.extend_from_slice(&[0x80, 0, 0, 0]);
        tiff.extend_from_slice(&(entries.len() as u16).to_le_bytes());
        for (tag, kind, value) in entries {
            tiff.extend_from_slice(&tag.to_le_bytes());
            tiff.extend_from_slice(&kind.to_le_bytes());
            tiff.extend_from_slice(&1u32.to_le_bytes());
            tiff.extend_from_slice(&value.to_le_bytes());
        }
        tiff.extend_from_slice(&[0; 4]);
        let error = decode(&tiff, &Limits::default()).unwrap_err();
        assert_eq!(error.code, ErrorCode::DecodeFailed, "{error}");
        assert!(error.message.contains("is corrupt"), "{error}");
    }

    #[test]
    fn the_smallest_real_jpegs_are_not_judged_short() {
        // A flat picture at quality 1 is as small as a JPEG gets: each block is a DC
        // difference of 0 and an end of block, baseline and progressive alike.
        for (layout, progressive) in [
            (PixelLayout::Rgb8, false),
            (PixelLayout::Rgb8, true),
            (PixelLayout::Rgba8, true),
        ] {
            let flat = Raster::filled(
                2000,
                1500,
                layout,
                crate::codec::Rgb {
                    r: 90,
                    g: 90,
                    b: 90,
                },
            );
            let options = crate::codec::encode::EncodeOptions {
                quality: 1,
                progressive,
                deadline: crate::resources::Deadline::default(),
                carried: &crate::metadata::Carried::default(),
            };
            let jpeg = crate::codec::encode::encode(&flat, ImageFormat::Jpeg, &options).unwrap();
            assert_eq!(super::super::jpeg::scan_data_short_of_frame(&jpeg), None);
            let decoded = decode(&jpeg, &Limits::default()).unwrap();
            assert_eq!(decoded.raster.dimensions(), (2000, 1500));
        }
    }

    #[test]
    fn truncated_garbage_and_empty_sources_are_decode_failures() {
        for name in ["truncated.jpg", "garbage.jpg"] {
            let error = decode(&fixture(name), &Limits::default()).unwrap_err();
            assert_eq!(error.code, ErrorCode::DecodeFailed, "{name}: {error}");
        }
        assert_eq!(
            decode(&[], &Limits::default()).unwrap_err().code,
            ErrorCode::DecodeFailed
        );
        // Every prefix of a real JPEG and PNG fails cleanly (or decodes), never panics.
        for name in [
            "gopher-640x427.jpg",
            "alpha-300x200.png",
            "anim-100x80.gif",
            "tiny.webp",
        ] {
            let bytes = fixture(name);
            for cut in (0..bytes.len()).step_by((bytes.len() / 97).max(1)) {
                if let Err(error) = decode(&bytes[..cut], &Limits::default()) {
                    assert!(
                        matches!(
                            error.code,
                            ErrorCode::DecodeFailed | ErrorCode::UnsupportedFormat
                        ),
                        "{name}[..{cut}]: {error:?}"
                    );
                }
            }
        }
    }

    /// libjpeg-turbo decodes a CMYK JPEG to its four channels, shrunk in the DCT domain like
    /// any other JPEG, and the colour management turns them into RGB.
    #[test]
    fn a_cmyk_jpeg_is_shrunk_on_load_like_any_other() {
        let (width, height) = (64u16, 48u16);
        let cmyk: Vec<u8> = (0..usize::from(width) * usize::from(height))
            .flat_map(|i| [(i % 256) as u8, 40, 200, 10])
            .collect();
        let mut encoded = Vec::new();
        jpeg_encoder::Encoder::new(&mut encoded, 90)
            .encode(&cmyk, width, height, jpeg_encoder::ColorType::Cmyk)
            .expect("CMYK JPEG");
        let decoded = decode_to_fit(&encoded, &Limits::default(), Some((16, 12))).expect("decodes");
        // libjpeg-turbo decodes CMYK too (to its four channels, then colour-managed).
        assert_eq!(decoded.raster.dimensions(), (16, 12));
        assert_eq!(decoded.format, ImageFormat::Jpeg);

        let gopher = decode_to_fit(
            &fixture("gopher-640x427.jpg"),
            &Limits::default(),
            Some((160, 100)),
        )
        .expect("decodes");
        assert_eq!(
            gopher.raster.dimensions(),
            (160, 107),
            "shrunk 1/4 in the DCT domain"
        );
    }

    /// CRC-32 (ISO-HDLC), as PNG chunks need it; bitwise, fine for a test.
    fn crc32(bytes: &[u8]) -> u32 {
        let mut crc = 0xFFFF_FFFFu32;
        for &byte in bytes {
            crc ^= u32::from(byte);
            for _ in 0..8 {
                crc = if crc & 1 == 1 {
                    (crc >> 1) ^ 0xEDB8_8320
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }

    fn png_chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
        let mut chunk = (data.len() as u32).to_be_bytes().to_vec();
        chunk.extend_from_slice(kind);
        chunk.extend_from_slice(data);
        let mut crc_input = kind.to_vec();
        crc_input.extend_from_slice(data);
        chunk.extend_from_slice(&crc32(&crc_input).to_be_bytes());
        chunk
    }

    /// A PNG whose header claims `width` x `height` but that carries almost no pixel data.
    fn png_claiming(width: u32, height: u32) -> Vec<u8> {
        let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
        let mut header = width.to_be_bytes().to_vec();
        header.extend_from_slice(&height.to_be_bytes());
        header.extend_from_slice(&[8, 2, 0, 0, 0]); // 8-bit RGB, no interlace
        png.extend(png_chunk(b"IHDR", &header));
        png.extend(png_chunk(b"IDAT", &[0x78, 0x9C, 0x03, 0x00]));
        png.extend(png_chunk(b"IEND", &[]));
        png
    }

    #[test]
    fn an_image_of_no_pixels_is_decode_failed_before_any_step() {
        let resize = crate::parse::parse_canonical("image/resize,w_100").unwrap();
        let limits = Limits::default();
        let resources = crate::Resources::new(&limits);
        // A text file that starts like a GIF once reached resize as "InternalError: the
        // image is 0x0".
        let text = b"GIF89a\0\0\0\0\0\0\0 hello, a text file named .gif".to_vec();
        let error = crate::exec::run_one(&resize, &text, &resources).unwrap_err();
        assert_eq!(error.code, ErrorCode::DecodeFailed, "{error}");
        // A GIF whose logical screen is 0x0 with a 1x1 frame did too; its canvas now grows
        // to hold the frame, as a browser shows it.
        let mut screenless = b"GIF89a".to_vec();
        screenless.extend([0, 0, 0, 0, 0x80, 0, 0, 0, 0, 0, 255, 255, 255]);
        screenless.extend([0x2C, 0, 0, 0, 0, 1, 0, 1, 0, 0, 2, 2, 0x44, 1, 0, 0x3B]);
        let rendered = crate::exec::run_one(&resize, &screenless, &resources).unwrap();
        assert_eq!((rendered.width, rendered.height), (1, 1));
    }

    #[test]
    fn header_dimensions_over_the_limits_are_refused_before_decoding() {
        let wide = png_claiming(40_000, 10);
        assert_eq!(
            probe(&wide).map(|info| (info.width, info.height)),
            Ok((40_000, 10))
        );
        let error = decode(&wide, &Limits::default()).unwrap_err();
        assert_eq!(error.code, ErrorCode::ImageTooLarge);
        assert!(error.message.contains("40000x10"), "{error}");

        // 20000 x 20000 = 400 MP: each side is allowed, the area is not.
        let error = decode(&png_claiming(20_000, 20_000), &Limits::default()).unwrap_err();
        assert_eq!(error.code, ErrorCode::ImageTooLarge);

        let tight = Limits {
            max_source_bytes: 10,
            ..Limits::default()
        };
        let error = decode(&fixture("tiny.bmp"), &tight).unwrap_err();
        assert_eq!(error.code, ErrorCode::ImageTooLarge);
    }

    #[test]
    fn a_heif_container_with_nothing_in_it_is_a_named_decode_failure() {
        let mut heic = vec![0, 0, 0, 24];
        heic.extend_from_slice(b"ftypheic");
        heic.extend_from_slice(&[0; 16]);
        assert_eq!(sniff(&heic).unwrap(), ImageFormat::Heic);
        let error = decode(&heic, &Limits::default()).unwrap_err();
        assert_eq!(error.code, ErrorCode::DecodeFailed);
        assert!(
            error.message.starts_with("the HEIC source is corrupt"),
            "{}",
            error.message
        );
    }

    #[test]
    fn heif_brands_name_avif_and_heic() {
        let ftyp = |major: &[u8; 4], compatible: &[&[u8; 4]]| {
            let size = 16 + 4 * compatible.len();
            let mut file = u32::try_from(size).unwrap().to_be_bytes().to_vec();
            file.extend_from_slice(b"ftyp");
            file.extend_from_slice(major);
            file.extend_from_slice(&[0; 4]);
            compatible
                .iter()
                .for_each(|brand| file.extend_from_slice(&brand[..]));
            file.extend_from_slice(&[0; 8]);
            file
        };
        type Brands<'a> = (&'a [u8; 4], &'a [&'a [u8; 4]]);
        let table: [(Brands, Option<ImageFormat>); 6] = [
            ((b"avif", &[b"mif1", b"miaf"]), Some(ImageFormat::Avif)),
            ((b"avis", &[b"msf1"]), Some(ImageFormat::Avif)),
            ((b"mif1", &[b"avif", b"miaf"]), Some(ImageFormat::Avif)),
            ((b"heic", &[b"mif1"]), Some(ImageFormat::Heic)),
            ((b"mif1", &[b"heic"]), Some(ImageFormat::Heic)),
            ((b"isom", &[b"mp42"]), None),
        ];
        for ((major, compatible), expected) in table {
            let file = ftyp(major, compatible);
            assert_eq!(
                heif_format(&file),
                expected,
                "{:?}",
                std::str::from_utf8(major)
            );
        }
    }

    #[test]
    fn recognised_formats_we_do_not_decode_are_unsupported() {
        // An ICO header: image recognises it, we do not decode it.
        let ico = [0u8, 0, 1, 0, 1, 0, 16, 16, 0, 0, 1, 0, 32, 0, 0, 0, 0, 0];
        assert_eq!(sniff(&ico).unwrap_err().code, ErrorCode::UnsupportedFormat);
    }

    #[test]
    fn every_format_we_know_but_do_not_decode_is_named() {
        let mut twelve_bit = fixture("gopher-640x427.jpg");
        let frame = (twelve_bit.windows(2))
            .position(|pair| pair == [0xFF, 0xC0] || pair == [0xFF, 0xC2])
            .unwrap();
        twelve_bit[frame + 4] = 12;
        let mut tga = vec![0u8, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 0, 4, 0, 24, 0];
        tga.extend_from_slice(&[128; 48]);
        let svg =
            b"\xEF\xBB\xBF\n <?xml version=\"1.0\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\"/>";
        let table: [(&[u8], &str); 9] = [
            (b"%PDF-1.7\n%\xE2\xE3\xCF\xD3\n1 0 obj", "PDF"),
            (svg, "SVG"),
            (b"<svg width=\"10\" height=\"10\"></svg>", "SVG"),
            (
                b"\x00\x00\x00\x0CjP  \r\n\x87\n\x00\x00\x00\x14ftypjp2 ",
                "JPEG 2000",
            ),
            (b"\xFF\x4F\xFF\x51\x00\x2F\x00\x00", "JPEG 2000"),
            (b"\xFF\x0A\xFA\x7F\x01\x90\x08", "JPEG XL"),
            (
                b"\x00\x00\x00\x0CJXL \r\n\x87\n\x00\x00\x00\x14ftypjxl ",
                "JPEG XL",
            ),
            (&tga, "TGA"),
            (&twelve_bit, "12 or 16 bits"),
        ];
        for (source, name) in table {
            let error = decode(source, &Limits::default()).unwrap_err();
            assert_eq!(error.code, ErrorCode::UnsupportedFormat, "{name}: {error}");
            assert!(error.message.contains(name), "{name}: {error}");
        }
        // Text is still not an image, and not taken for one of them.
        let prose = decode(b"Dear reader, this is plain text.", &Limits::default()).unwrap_err();
        assert_eq!(prose.code, ErrorCode::DecodeFailed, "{prose}");
    }
}

#[cfg(test)]
mod mutation_tests {
    use super::*;

    #[test]
    fn mutated_fixtures_never_panic() {
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for name in [
            "gopher-640x427.jpg",
            "alpha-300x200.png",
            "anim-100x80.gif",
            "tiny.webp",
            "tiny.bmp",
            "tiny.tiff",
        ] {
            let original =
                std::fs::read(format!("{}/../fixtures/{name}", env!("CARGO_MANIFEST_DIR")))
                    .unwrap();
            for round in 0..300 {
                let mut bytes = original.clone();
                let flips = 1 + (next() % 8) as usize;
                for _ in 0..flips {
                    // Bias towards the header, where the interesting fields are.
                    let limit = if round % 2 == 0 {
                        bytes.len().min(200)
                    } else {
                        bytes.len()
                    };
                    let at = (next() as usize) % limit;
                    bytes[at] = next() as u8;
                }
                let _ = decode(&bytes, &Limits::default());
            }
        }
    }
}
