//! TIFF beyond what the `image` crate's decoder reads: read here with the `tiff` crate's own
//! decoder (which the `image` crate wraps).
//!
//! - **Greys of 1, 2 and 4 bits** (scanned documents, fax-like pages): the `image` crate has
//!   no colour type for them. Read here, rows unpacked and the values stretched to 0-255
//!   (WhiteIsZero is already inverted by the `tiff` crate).
//! - **Palette (indexed-colour) pictures of 1, 2, 4 or 8 bits**: the indices unpacked the same
//!   way and looked up in the `ColorMap` (16-bit levels, narrowed to their high byte).
//! - **Associated (premultiplied) alpha** (`ExtraSamples` = 1): the `image` crate hands the
//!   samples over as straight alpha, which shows semi-transparent pixels too dark; the caller
//!   un-premultiplies them ([`unpremultiply`]).
//! - **ZSTD and CCITT Group 3/4 (fax) compression**: the `tiff` crate's `zstd` and `fax`
//!   features.
//! - **BigTIFF** is the same decoder: [`super::decode::sniff`] calls it TIFF.
//! - **Refusals named in plain words** ([`unsupported_reason`]): CIELab pictures, and
//!   compressions the decoder lacks (LZMA, JBIG, LERC, ...), by name rather than in the
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

/// The kinds of TIFF read here rather than by the `image` crate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OwnKind {
    /// Greys of fewer than 8 bits a sample.
    LowBitGrey(u8),
    /// Indices of this many bits into the colour map.
    Palette(u8),
}

fn own_kind(decoder: &mut Decoder<Cursor<&[u8]>>) -> Option<OwnKind> {
    let tag = |decoder: &mut Decoder<Cursor<&[u8]>>, tag| {
        (decoder.find_tag(tag).ok().flatten()).and_then(|value| value.into_u16().ok())
    };
    if tag(decoder, Tag::PhotometricInterpretation) == Some(PALETTE) {
        return match tag(decoder, Tag::BitsPerSample) {
            Some(bits @ (1 | 2 | 4 | 8)) => u8::try_from(bits).ok().map(OwnKind::Palette),
            _ => None,
        };
    }
    match decoder.colortype() {
        Ok(ColorType::Gray(bits @ (1 | 2 | 4))) => Some(OwnKind::LowBitGrey(bits)),
        _ => None,
    }
}

/// PhotometricInterpretation: RGB palette.
const PALETTE: u16 = 3;
/// PhotometricInterpretation: BlackIsZero greys.
const BLACK_IS_ZERO: u16 = 1;

/// A copy of a TIFF (classic or BigTIFF) whose first image says it holds greys
/// (BlackIsZero) where it says palette: the `tiff` crate decompresses and unpacks no palette
/// picture, but its indices are laid out as greys of the same depth are.
fn as_greys(source: &[u8]) -> Option<Vec<u8>> {
    let little = match source.get(..2)? {
        b"II" => true,
        b"MM" => false,
        _ => return None,
    };
    let read = |at: usize, width: usize| -> Option<u64> {
        let bytes = source.get(at..at.checked_add(width)?)?;
        let fold = |value: u64, byte: &u8| (value << 8) | u64::from(*byte);
        Some(match little {
            true => bytes.iter().rev().fold(0, fold),
            false => bytes.iter().fold(0, fold),
        })
    };
    let big = read(2, 2)? == 43;
    let (first, count, entry) = if big {
        let ifd = usize::try_from(read(8, 8)?).ok()?;
        (ifd.checked_add(8)?, read(ifd, 8)?, 20)
    } else {
        let ifd = usize::try_from(read(4, 4)?).ok()?;
        (ifd.checked_add(2)?, read(ifd, 2)?, 12)
    };
    let value_at = if big { 12 } else { 8 };
    let at = (0..usize::try_from(count).ok()?.min(4096))
        .map(|index| first + index * entry)
        .find(|&at| read(at, 2) == Some(262) && read(at + 2, 2) == Some(3))?;
    let mut copy = source.to_vec();
    let value = match little {
        true => BLACK_IS_ZERO.to_le_bytes(),
        false => BLACK_IS_ZERO.to_be_bytes(),
    };
    copy.get_mut(at + value_at..at + value_at + 2)?
        .copy_from_slice(&value);
    Some(copy)
}

/// The size of a TIFF read here (greys of fewer than 8 bits, palette pictures); `None` for
/// any other TIFF.
pub fn own_kind_size(source: &[u8]) -> Option<(u32, u32)> {
    let mut decoder = open(source)?;
    own_kind(&mut decoder)?;
    decoder.dimensions().ok()
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

/// A TIFF of greys of fewer than 8 bits or of palette indices, decoded to RGB; `Ok(None)` for
/// any other TIFF.
pub fn decode_own_kind(source: &[u8], limits: &Limits) -> Result<Option<Raster>, PipelineError> {
    let Some(mut decoder) = open(source) else {
        return Ok(None);
    };
    let Some(kind) = own_kind(&mut decoder) else {
        return Ok(None);
    };
    let bits = match kind {
        OwnKind::LowBitGrey(bits) | OwnKind::Palette(bits) => bits,
    };
    let (width, height) = decoder
        .dimensions()
        .map_err(|_| corrupt("its dimensions are unreadable"))?;
    super::decode::has_pixels(super::ImageFormat::Tiff, width, height)?;
    limits.check_source_dimensions(width, height)?;
    let packed = match kind {
        OwnKind::LowBitGrey(_) => packed_samples(&mut decoder)?,
        OwnKind::Palette(_) => {
            let greys = as_greys(source).ok_or_else(|| corrupt("its directory is unreadable"))?;
            let mut reader = open(&greys).ok_or_else(|| corrupt("its directory is unreadable"))?;
            packed_samples(&mut reader)?
        }
    };
    let samples = unpack_rows(&packed, (width, height), bits)
        .ok_or_else(|| corrupt("its image data is shorter than its size"))?;
    let rgb = match kind {
        OwnKind::LowBitGrey(_) => (samples.iter())
            .flat_map(|&value| [stretch(value, bits); 3])
            .collect(),
        OwnKind::Palette(_) => looked_up(&mut decoder, &samples, bits)?,
    };
    Raster::new(width, height, PixelLayout::Rgb8, rgb).map(Some)
}

/// The image's samples as the decoder gives them: rows of packed bytes.
fn packed_samples(decoder: &mut Decoder<Cursor<&[u8]>>) -> Result<Vec<u8>, PipelineError> {
    match super::guard::guarded(|| decoder.read_image()) {
        Ok(Ok(DecodingResult::U8(packed))) => Ok(packed),
        _ => Err(corrupt("its image data does not decode")),
    }
}

/// A `bits`-bit value stretched to 0-255.
fn stretch(value: u8, bits: u8) -> u8 {
    let top = (1u16 << bits) - 1;
    u8::try_from(u16::from(value) * 255 / top).unwrap_or(u8::MAX)
}

/// Palette indices as RGB through the `ColorMap` tag: every red level, then every green, then
/// every blue, 2^`bits` of each, 16 bits a level.
fn looked_up(
    decoder: &mut Decoder<Cursor<&[u8]>>,
    indices: &[u8],
    bits: u8,
) -> Result<Vec<u8>, PipelineError> {
    let map = (decoder.find_tag(Tag::ColorMap).ok().flatten())
        .and_then(|value| value.into_u16_vec().ok())
        .ok_or_else(|| corrupt("a palette picture without a readable colour map"))?;
    let entries = 1usize << bits;
    if map.len() != 3 * entries {
        return Err(corrupt(&format!(
            "its colour map holds {} levels where {bits}-bit indices need {}",
            map.len(),
            3 * entries
        )));
    }
    let level = |at: usize| map[at].to_be_bytes()[0];
    Ok((indices.iter())
        .flat_map(|&index| {
            let index = usize::from(index);
            [
                level(index),
                level(entries + index),
                level(2 * entries + index),
            ]
        })
        .collect())
}

/// Rows of `bits`-bit samples, each row starting on a byte, as one byte each.
fn unpack_rows(packed: &[u8], (width, height): (u32, u32), bits: u8) -> Option<Vec<u8>> {
    let width = usize::try_from(width).ok()?;
    let height = usize::try_from(height).ok()?;
    let per_byte = usize::from(8 / bits);
    let row_bytes = width.div_ceil(per_byte);
    let top = u8::try_from((1u16 << bits) - 1).unwrap_or(u8::MAX);
    let mut samples = Vec::with_capacity(width * height);
    for row in packed.chunks(row_bytes).take(height) {
        if row.len() < row_bytes {
            return None;
        }
        for x in 0..width {
            let shift = 8 - usize::from(bits) * (x % per_byte + 1);
            samples.push((row[x / per_byte] >> shift) & top);
        }
    }
    (samples.len() == width * height).then_some(samples)
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
        Some(4) => Some("a transparency-mask TIFF"),
        Some(8..=10) => Some("a CIELab TIFF"),
        _ => None,
    };
    let compression = match tag(&mut decoder, Tag::Compression) {
        Some(34925) => Some("an LZMA-compressed TIFF"),
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
        let samples = unpack_rows(&packed, (3, 2), 2).unwrap();
        assert_eq!(samples, [0, 1, 2, 3, 0, 0]);
        let stretched: Vec<u8> = samples.iter().map(|&value| stretch(value, 2)).collect();
        assert_eq!(stretched, [0, 85, 170, 255, 0, 0]);
        let packed = [0b1010_0000];
        assert_eq!(unpack_rows(&packed, (3, 1), 1).unwrap(), [1, 0, 1]);
        assert_eq!(stretch(1, 1), 255);
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
            // 256 colours of the photo (ImageMagick `-type Palette`).
            ("tiff-palette-79x53.tif", None, 4.0),
            ("tiff-zstd-79x53.tif", None, 4.0),
            // A bilevel CCITT Group 4 page.
            ("tiff-fax4-79x53.tif", Some(136.422), 0.5),
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
    fn lzma_and_cielab_tiffs_are_refused_by_name() {
        for (name, said) in [
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
