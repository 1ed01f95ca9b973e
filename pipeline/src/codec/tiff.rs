//! TIFF beyond what the `image` crate's decoder reads: read here with the `tiff` crate's own
//! decoder (which the `image` crate wraps).
//!
//! - **Greys of 1, 2 and 4 bits** (scanned documents, fax-like pages): the `image` crate has
//!   no colour type for them. Read here, rows unpacked and the values stretched to 0-255
//!   (WhiteIsZero is already inverted by the `tiff` crate).
//! - **Associated (premultiplied) alpha** (`ExtraSamples` = 1): the `image` crate hands the
//!   samples over as straight alpha, which shows semi-transparent pixels too dark; the caller
//!   un-premultiplies them ([`unpremultiply`]).
//! - **BigTIFF** is the same decoder: [`super::decode::sniff`] calls it TIFF.
//! - **Refusals named in plain words** ([`unsupported_reason`]): palette and CIELab pictures,
//!   and compressions the decoder lacks (LZMA, ZSTD, JBIG, ...), by name rather than in the
//!   decoder's wording.

use super::{PixelLayout, Raster};
use crate::error::{ErrorCode, PipelineError};
use crate::limits::Limits;
use std::io::Cursor;
use tiff::decoder::{Decoder, DecodingResult};
use tiff::tags::Tag;
use tiff::ColorType;

const EXTRA_SAMPLES_ASSOCIATED_ALPHA: u16 = 1;

fn open(source: &[u8]) -> Option<Decoder<Cursor<&[u8]>>> {
    super::guard::guarded(|| Decoder::new(Cursor::new(source)).ok())
        .ok()
        .flatten()
}

/// The size of a grey TIFF of fewer than 8 bits a sample; `None` for any other TIFF.
pub fn low_bit_grey_size(source: &[u8]) -> Option<(u32, u32)> {
    let mut decoder = open(source)?;
    match decoder.colortype() {
        Ok(ColorType::Gray(1 | 2 | 4)) => decoder.dimensions().ok(),
        _ => None,
    }
}

/// The TIFF's orientation tag (1-8), 1 when absent or out of range.
pub fn orientation(source: &[u8]) -> u8 {
    let told = open(source).and_then(|mut decoder| {
        (decoder.find_tag(Tag::Orientation).ok().flatten()).and_then(|value| value.into_u16().ok())
    });
    told.and_then(|value| u8::try_from(value).ok())
        .filter(|value| (1..=8).contains(value))
        .unwrap_or(1)
}

/// A grey TIFF of fewer than 8 bits a sample, decoded to RGB; `Ok(None)` for any other TIFF.
pub fn decode_low_bit_grey(
    source: &[u8],
    limits: &Limits,
) -> Result<Option<Raster>, PipelineError> {
    let Some(mut decoder) = open(source) else {
        return Ok(None);
    };
    let bits = match decoder.colortype() {
        Ok(ColorType::Gray(bits @ (1 | 2 | 4))) => bits,
        _ => return Ok(None),
    };
    let (width, height) = decoder
        .dimensions()
        .map_err(|_| corrupt("its dimensions are unreadable"))?;
    super::decode::has_pixels(super::ImageFormat::Tiff, width, height)?;
    limits.check_source_dimensions(width, height)?;
    let packed = match super::guard::guarded(|| decoder.read_image()) {
        Ok(Ok(DecodingResult::U8(packed))) => packed,
        _ => return Err(corrupt("its image data does not decode")),
    };
    let grey = unpack_rows(&packed, (width, height), bits)
        .ok_or_else(|| corrupt("its image data is shorter than its size"))?;
    let rgb = grey.iter().flat_map(|&value| [value; 3]).collect();
    Raster::new(width, height, PixelLayout::Rgb8, rgb).map(Some)
}

/// Rows of `bits`-bit samples, each row starting on a byte, as one 8-bit sample each, the
/// largest value stretched to 255.
fn unpack_rows(packed: &[u8], (width, height): (u32, u32), bits: u8) -> Option<Vec<u8>> {
    let width = usize::try_from(width).ok()?;
    let height = usize::try_from(height).ok()?;
    let per_byte = usize::from(8 / bits);
    let row_bytes = width.div_ceil(per_byte);
    let top = (1u16 << bits) - 1;
    let mut grey = Vec::with_capacity(width * height);
    for row in packed.chunks(row_bytes).take(height) {
        if row.len() < row_bytes {
            return None;
        }
        for x in 0..width {
            let shift = 8 - usize::from(bits) * (x % per_byte + 1);
            let value = u16::from(row[x / per_byte] >> shift) & top;
            grey.push(u8::try_from(value * 255 / top).unwrap_or(u8::MAX));
        }
    }
    (grey.len() == width * height).then_some(grey)
}

/// Whether the TIFF's alpha is associated (its colours premultiplied by it).
pub fn has_associated_alpha(source: &[u8]) -> bool {
    let Some(mut decoder) = open(source) else {
        return false;
    };
    let extra = decoder
        .find_tag(Tag::ExtraSamples)
        .ok()
        .flatten()
        .and_then(|value| value.into_u16_vec().ok());
    extra.is_some_and(|samples| samples.first() == Some(&EXTRA_SAMPLES_ASSOCIATED_ALPHA))
}

/// Undoes premultiplied alpha: each colour divided by its alpha (rounded), fully transparent
/// pixels left as they are.
pub fn unpremultiply(raster: &mut Raster) {
    if raster.layout() != PixelLayout::Rgba8 {
        return;
    }
    for pixel in raster.data_mut().chunks_exact_mut(4) {
        let alpha = u16::from(pixel[3]);
        if alpha == 0 || alpha == 255 {
            continue;
        }
        for channel in &mut pixel[..3] {
            let straight = (u16::from(*channel) * 255 + alpha / 2) / alpha;
            *channel = u8::try_from(straight).unwrap_or(u8::MAX);
        }
    }
}

/// Why the `image` crate's decoder will not read this TIFF, in plain words: its photometric
/// interpretation or its compression, by name; `None` when neither is the reason.
pub fn unsupported_reason(source: &[u8]) -> Option<PipelineError> {
    let mut decoder = open(source)?;
    let tag = |decoder: &mut Decoder<Cursor<&[u8]>>, tag| {
        (decoder.find_tag(tag).ok().flatten()).and_then(|value| value.into_u16().ok())
    };
    let photometric = match tag(&mut decoder, Tag::PhotometricInterpretation) {
        Some(3) => Some("a palette (indexed-colour) TIFF"),
        Some(4) => Some("a transparency-mask TIFF"),
        Some(8..=10) => Some("a CIELab TIFF"),
        _ => None,
    };
    let compression = match tag(&mut decoder, Tag::Compression) {
        Some(34925) => Some("an LZMA-compressed TIFF"),
        Some(50000) => Some("a ZSTD-compressed TIFF"),
        Some(34661 | 34676) => Some("a JBIG-compressed TIFF"),
        Some(34712) => Some("a JPEG 2000-compressed TIFF"),
        Some(34887) => Some("a LERC-compressed TIFF"),
        Some(2) => Some("a CCITT-Huffman-compressed TIFF"),
        _ => None,
    };
    let name = photometric.or(compression)?;
    Some(PipelineError::new(
        ErrorCode::UnsupportedFormat,
        format!("the source is {name}, which is not supported"),
    ))
}

fn corrupt(reason: &str) -> PipelineError {
    PipelineError::decode_failed(format!("the TIFF source is corrupt: {reason}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn low_bit_rows_unpack_to_stretched_greys() {
        // 3 px a row, 2 bits: 0b00_01_10_xx, 0b11_00_00_xx.
        let packed = [0b0001_1000, 0b1100_0000];
        let grey = unpack_rows(&packed, (3, 2), 2).unwrap();
        assert_eq!(grey, [0, 85, 170, 255, 0, 0]);
        let packed = [0b1010_0000];
        assert_eq!(unpack_rows(&packed, (3, 1), 1).unwrap(), [255, 0, 255]);
        assert!(unpack_rows(&[0], (3, 2), 2).is_none(), "a row short");
    }

    #[test]
    fn premultiplied_colours_are_divided_by_their_alpha() {
        let mut raster = Raster::new(
            3,
            1,
            PixelLayout::Rgba8,
            vec![50, 100, 0, 128, 9, 9, 9, 0, 10, 20, 30, 255],
        )
        .unwrap();
        unpremultiply(&mut raster);
        assert_eq!(
            raster.data(),
            &[100, 199, 0, 128, 9, 9, 9, 0, 10, 20, 30, 255]
        );
    }
}

#[cfg(test)]
mod fixture_tests {
    use crate::codec::decode::{decode, probe};
    use crate::codec::{ImageFormat, PixelLayout, Raster};
    use crate::error::ErrorCode;
    use crate::limits::Limits;

    fn fixture(name: &str) -> Vec<u8> {
        let path = format!("{}/../fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read(&path).unwrap_or_else(|error| panic!("{path}: {error}"))
    }

    fn mean(raster: &Raster, channel: usize) -> f64 {
        let step = raster.layout().bytes_per_pixel();
        let values: Vec<f64> = (raster.data().chunks_exact(step))
            .map(|pixel| f64::from(pixel[channel]))
            .collect();
        values.iter().sum::<f64>() / values.len() as f64
    }

    #[test]
    fn imagemagick_tiffs_the_image_crate_cannot_read_alone_decode() {
        let gopher = decode(&fixture("gopher-640x427.jpg"), &Limits::default())
            .unwrap()
            .raster;
        // The greys' means are ImageMagick's own (`-format %[fx:mean*255]`) for these files:
        // at 2 and 4 bits they are quantised away from the photo's.
        for (name, grey, tolerance) in [
            ("tiff-grey4-79x53.tif", Some(141.177), 0.5),
            ("tiff-grey2-79x53.tif", Some(108.793), 0.5),
            ("tiff-big-79x53.tif", None, 4.0),
            ("tiff-webp-79x53.tif", None, 6.0),
        ] {
            let source = fixture(name);
            let info = probe(&source).unwrap();
            assert_eq!(
                (info.format, info.width, info.height),
                (ImageFormat::Tiff, 79, 53)
            );
            let raster = decode(&source, &Limits::default()).unwrap().raster;
            assert_eq!(raster.layout(), PixelLayout::Rgb8, "{name}");
            if let Some(expected) = grey {
                let got = mean(&raster, 0);
                assert!(
                    (got - expected).abs() < tolerance,
                    "{name}: {got} against {expected}"
                );
                assert_eq!(
                    mean(&raster, 0),
                    mean(&raster, 2),
                    "{name}: grey stays grey"
                );
            } else {
                for channel in 0..3 {
                    let (got, want) = (mean(&raster, channel), mean(&gopher, channel));
                    assert!(
                        (got - want).abs() < tolerance,
                        "{name}: {got} against {want}"
                    );
                }
            }
        }
    }

    #[test]
    fn associated_alpha_is_unpremultiplied() {
        let raster = decode(&fixture("tiff-assoc-75x50.tif"), &Limits::default())
            .unwrap()
            .raster;
        assert_eq!(raster.layout(), PixelLayout::Rgba8);
        // The half-transparent red bar (220,40,40 at alpha 128 in the PNG it was made from).
        let bar = raster.pixel(62, 25).unwrap();
        assert!(bar[3] > 100 && bar[3] < 160, "{bar:?}");
        assert!(bar[0] > 200, "straight colour, not premultiplied: {bar:?}");
    }

    #[test]
    fn palette_lzma_and_cielab_tiffs_are_refused_by_name() {
        for (name, said) in [
            ("tiff-palette-79x53.tif", "a palette (indexed-colour) TIFF"),
            ("tiff-lzma-79x53.tif", "an LZMA-compressed TIFF"),
            ("tiff-lab-79x53.tif", "a CIELab TIFF"),
        ] {
            let error = decode(&fixture(name), &Limits::default()).unwrap_err();
            assert_eq!(error.code, ErrorCode::UnsupportedFormat, "{name}: {error}");
            assert_eq!(
                error.message,
                format!("the source is {said}, which is not supported"),
                "{name}"
            );
        }
    }
}
