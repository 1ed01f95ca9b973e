//! Decoding with limits: sniff the format from the content, read the header, check the
//! dimensions, and only then decode the pixels.
//!
//! The order matters. A small file can claim a 100,000 x 100,000 canvas; reading the header
//! first and refusing before the decoder allocates is what keeps such a file from exhausting
//! a worker's memory. The `image` crate's own limits (side and allocation budget) are set as
//! well, as a second line of defence.
//!
//! Errors: bytes that are no image we recognise, and recognised images that turn out corrupt
//! or truncated, are `DecodeFailed`; a format we recognise but do not decode (AVIF, HEIC, ICO,
//! PSD...) is `UnsupportedFormat`; anything over a limit is `ImageTooLarge`.
//!
//! An animated GIF or WebP decodes to its first frame here (what a still result is made
//! from); when the result is a GIF or WebP too, the executor goes through [`super::gif`]
//! instead, frame by frame.

use super::{PixelLayout, Raster};
use crate::codec::ImageFormat;
use crate::codec::Rgb;
use crate::error::{ErrorCode, PipelineError};
use crate::limits::Limits;
use image::{DynamicImage, ImageDecoder, ImageReader};
use std::io::Cursor;

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
}

/// The start-of-frame marker of a JPEG ([`super::jpeg::frame_marker`]), here too for the
/// callers that look at a result after decoding it.
pub use super::jpeg::frame_marker as jpeg_frame_marker;

/// Sniffs the format from the first bytes. Never looks at a name or key.
pub fn sniff(source: &[u8]) -> Result<ImageFormat, PipelineError> {
    if source.is_empty() {
        return Err(PipelineError::decode_failed("the source is empty"));
    }
    if let Some(name) = recognised_but_unsupported(source) {
        return Err(unsupported(name));
    }
    let format = image::guess_format(source).map_err(|_| {
        PipelineError::decode_failed(
            "the source is not an image (no JPEG, PNG, GIF, WebP, BMP or TIFF signature)",
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

fn unsupported(name: &str) -> PipelineError {
    PipelineError::new(
        ErrorCode::UnsupportedFormat,
        format!(
            "the source is {name}, which is not supported (supported: JPEG, PNG, GIF, WebP, BMP, \
             TIFF)"
        ),
    )
}

/// Formats the `image` crate does not sniff but users upload: name them rather than calling
/// them garbage.
fn recognised_but_unsupported(source: &[u8]) -> Option<&'static str> {
    let brand = source.get(4..12)?;
    if brand.starts_with(b"ftyp") {
        let heif_brands: [&[u8; 4]; 6] = [b"heic", b"heix", b"hevc", b"hevx", b"mif1", b"msf1"];
        if heif_brands.iter().any(|b| brand.get(4..) == Some(&b[..])) {
            return Some("HEIC");
        }
    }
    if source.starts_with(b"8BPS") {
        return Some("PSD");
    }
    None
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
    let mut decoder = open_decoder(source, format)?;
    let (width, height) = decoder.dimensions();
    Ok(SourceInfo {
        format,
        width,
        height,
        orientation: read_orientation(&mut decoder),
    })
}

/// `DecodeFailed` for an image of no pixels (`0xN`, `Nx0`).
fn has_pixels(format: ImageFormat, width: u32, height: u32) -> Result<(), PipelineError> {
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

/// [`decode`], allowed to return a smaller picture than the source when the caller only needs
/// `needed` pixels (the size the first geometric step resamples to): JPEGs are then decoded
/// at 1/2, 1/4 or 1/8 scale in the DCT domain ([`super::jpeg`]), never below `needed`.
/// Other formats, and `None`, decode at full size.
pub fn decode_to_fit(
    source: &[u8],
    limits: &Limits,
    needed: Option<(u32, u32)>,
) -> Result<Decoded, PipelineError> {
    limits.check_source_len(source.len())?;
    let format = sniff(source)?;
    if format == ImageFormat::Jpeg {
        if let Some(decoded) = decode_jpeg_with_turbo(source, limits, needed)? {
            return Ok(decoded);
        }
    }
    let mut decoder = open_decoder(source, format)?;
    let (width, height) = decoder.dimensions();
    has_pixels(format, width, height)?;
    limits.check_source_dimensions(width, height)?;
    let orientation = read_orientation(&mut decoder);
    limit_decoder(&mut decoder, format, limits)?;

    if format == ImageFormat::Jpeg && !super::jpeg::has_end_of_image(source) {
        return Err(truncated_jpeg());
    }
    let source_quality = match format {
        ImageFormat::Jpeg => super::jpeg::estimate_quality(source),
        _ => None,
    };
    // A JPEG here is one libjpeg-turbo refused (see `decode_jpeg_with_turbo`): it is decoded
    // at full size by the general decoder.
    // The decoders are third-party code fed untrusted bytes; should one of them panic, that is
    // a corrupt image to the caller, not a dead worker.
    let image = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        DynamicImage::from_decoder(decoder)
    }))
    .map_err(|_| {
        PipelineError::decode_failed(format!(
            "the {} source could not be decoded (the decoder failed)",
            format.extension().to_uppercase()
        ))
    })?
    .map_err(|error| image_error(format, error))?;
    let raster = into_raster(image)?;
    Ok(Decoded {
        raster,
        format,
        source_quality,
        orientation,
    })
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
    needed: Option<(u32, u32)>,
) -> Result<Option<Decoded>, PipelineError> {
    let Some((width, height)) = super::jpeg::header_dimensions(source) else {
        return Ok(None);
    };
    // Within these, the RGB output (3 bytes a pixel) is inside the decoder budget.
    has_pixels(ImageFormat::Jpeg, width, height)?;
    limits.check_source_dimensions(width, height)?;
    if !super::jpeg::has_end_of_image(source) {
        return Err(truncated_jpeg());
    }
    let orientation = jpeg_orientation(source);
    let factor = needed.map_or(1, |needed| {
        let rotated = super::jpeg::orientation_swaps_axes(Some(u16::from(orientation)));
        super::jpeg::shrink_factor((width, height), needed, rotated)
    });
    Ok(
        super::jpeg::decode_scaled(source, factor).map(|raster| Decoded {
            raster,
            format: ImageFormat::Jpeg,
            source_quality: super::jpeg::estimate_quality(source),
            orientation,
        }),
    )
}

fn truncated_jpeg() -> PipelineError {
    PipelineError::decode_failed(
        "the JPG source is truncated (no end-of-image marker after the image data)",
    )
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
    decoder
        .orientation()
        .map_or(1, |orientation| orientation.to_exif())
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
    };
    // Header parsing is third-party code too: a panic in it is a corrupt header.
    std::panic::catch_unwind(|| {
        ImageReader::with_format(Cursor::new(source), image_format).into_decoder()
    })
    .map_err(|_| {
        PipelineError::decode_failed(format!(
            "the {} source has an unreadable header",
            format.extension().to_uppercase()
        ))
    })?
    .map_err(|error| image_error(format, error))
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

    /// libjpeg-turbo will not turn CMYK into RGB, so a CMYK JPEG takes the general decoder,
    /// at full size even when a smaller picture was asked for; the JPEG fast path shrinks.
    #[test]
    fn a_jpeg_libjpeg_turbo_refuses_is_decoded_by_the_general_decoder() {
        let (width, height) = (64u16, 48u16);
        let cmyk: Vec<u8> = (0..usize::from(width) * usize::from(height))
            .flat_map(|i| [(i % 256) as u8, 40, 200, 10])
            .collect();
        let mut encoded = Vec::new();
        jpeg_encoder::Encoder::new(&mut encoded, 90)
            .encode(&cmyk, width, height, jpeg_encoder::ColorType::Cmyk)
            .expect("CMYK JPEG");
        let decoded = decode_to_fit(&encoded, &Limits::default(), Some((16, 12))).expect("decodes");
        assert_eq!(decoded.raster.dimensions(), (64, 48));
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
        // A GIF whose logical screen is 0x0 (with a 1x1 frame), and a text file that
        // starts like a GIF: both once reached resize as "InternalError: the image is 0x0".
        let mut screenless = b"GIF89a".to_vec();
        screenless.extend([0, 0, 0, 0, 0x80, 0, 0, 0, 0, 0, 255, 255, 255]);
        screenless.extend([0x2C, 0, 0, 0, 0, 1, 0, 1, 0, 0, 2, 2, 0x44, 1, 0, 0x3B]);
        let text = b"GIF89a\0\0\0\0\0\0\0 hello, a text file named .gif".to_vec();
        let cases = [screenless, text];
        for bytes in cases {
            let limits = Limits::default();
            let resources = crate::Resources::new(&limits);
            let error = crate::exec::run_one(&resize, &bytes, &resources).unwrap_err();
            assert_eq!(error.code, ErrorCode::DecodeFailed, "{error}");
        }
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
    fn recognised_formats_we_do_not_decode_are_unsupported() {
        let mut heic = vec![0, 0, 0, 24];
        heic.extend_from_slice(b"ftypheic");
        heic.extend_from_slice(&[0; 16]);
        let error = decode(&heic, &Limits::default()).unwrap_err();
        assert_eq!(error.code, ErrorCode::UnsupportedFormat);
        assert!(error.message.contains("HEIC"));

        // An ICO header: image recognises it, we do not decode it.
        let ico = [0u8, 0, 1, 0, 1, 0, 16, 16, 0, 0, 1, 0, 32, 0, 0, 0, 0, 0];
        assert_eq!(sniff(&ico).unwrap_err().code, ErrorCode::UnsupportedFormat);
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
