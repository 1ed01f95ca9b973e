//! The JPEG fast path, through libjpeg-turbo (the `turbojpeg` crate, built from its bundled
//! sources with cmake and nasm, so SIMD is always on).
//!
//! * Shrink-on-load: a JPEG is made of 8x8 DCT blocks, and an inverse DCT that keeps only the
//!   low frequencies of each block yields the image at 1/2, 1/4 or 1/8 of its size for a
//!   fraction of the work and memory of a full decode. When the first geometric step shrinks by
//!   2x or more, [`shrink_factor`] picks the largest such factor that still leaves at least the
//!   step's target size, and the step's convolution finishes to the exact size. (Measured
//!   against `jpeg-decoder`'s `scale`, which is pure Rust: see `benches/stages.rs` and the
//!   README's Performance section.)
//! * Encoding: libjpeg-turbo's SIMD DCT and Huffman coder with the standard tables (the same
//!   bytes libvips and ImageMagick write at a given quality), baseline or progressive.
//!
//! CMYK and YCCK JPEGs come out as their four channels, for the colour management to convert
//! ([`super::colour`]). Anything libjpeg-turbo refuses, including files with recoverable
//! corruption that it reports as warnings and 12-bit JPEGs, goes back to the general decoder,
//! which is more lenient.

use super::{PixelLayout, Raster};
use crate::error::PipelineError;

/// Scale denominators libjpeg-turbo decodes at without leaving the DCT domain, largest first.
const SHRINK_FACTORS: [u32; 3] = [8, 4, 2];

/// The largest DCT shrink (8, 4, 2, or 1 for none) that decodes a `stored` (header size, before
/// any EXIF rotation) image to at least `needed` on both axes.
///
/// `rotated` says whether the EXIF orientation turns the picture by 90 or 270 degrees. The plan
/// may be made on the picture either as stored or as displayed (once auto-orient has turned
/// it), so for a rotated source the factor must satisfy both readings of `needed`; it is then
/// never too large, whichever order the steps run in.
pub fn shrink_factor(stored: (u32, u32), needed: (u32, u32), rotated: bool) -> u32 {
    let fits = |factor: u32, (width, height): (u32, u32)| {
        stored.0 / factor >= width.max(1) && stored.1 / factor >= height.max(1)
    };
    SHRINK_FACTORS
        .into_iter()
        .find(|&factor| fits(factor, needed) && (!rotated || fits(factor, (needed.1, needed.0))))
        .unwrap_or(1)
}

/// The EXIF orientation (1-8) of a JPEG, from its APP1 segment; `None` without one.
pub fn exif_orientation(source: &[u8]) -> Option<u16> {
    const APP1: u8 = 0xE1;
    let exif = header_segments(source)
        .find(|(marker, payload)| *marker == APP1 && payload.starts_with(b"Exif\0\0"))
        .and_then(|(_, payload)| payload.get(6..))?;
    tiff_orientation(exif)
}

/// The orientation tag (1-8) of an EXIF block (a TIFF header and its first directory).
pub(crate) fn tiff_orientation(exif: &[u8]) -> Option<u16> {
    const ORIENTATION_TAG: u16 = 0x0112;
    let little_endian = match exif.get(0..2)? {
        b"II" => true,
        b"MM" => false,
        _ => return None,
    };
    let read_u16 = |offset: usize| -> Option<u16> {
        let bytes = [*exif.get(offset)?, *exif.get(offset + 1)?];
        Some(if little_endian {
            u16::from_le_bytes(bytes)
        } else {
            u16::from_be_bytes(bytes)
        })
    };
    let read_u32 = |offset: usize| -> Option<u32> {
        let bytes = [
            *exif.get(offset)?,
            *exif.get(offset + 1)?,
            *exif.get(offset + 2)?,
            *exif.get(offset + 3)?,
        ];
        Some(if little_endian {
            u32::from_le_bytes(bytes)
        } else {
            u32::from_be_bytes(bytes)
        })
    };
    let first_directory = usize::try_from(read_u32(4)?).ok()?;
    let entries = read_u16(first_directory)?;
    (0..usize::from(entries))
        .map(|index| first_directory + 2 + index * 12)
        .find(|&entry| read_u16(entry) == Some(ORIENTATION_TAG))
        .and_then(|entry| read_u16(entry + 8))
        .filter(|orientation| (1..=8).contains(orientation))
}

/// Whether an EXIF orientation turns the picture by 90 or 270 degrees (5 to 8).
pub fn orientation_swaps_axes(orientation: Option<u16>) -> bool {
    matches!(orientation, Some(5..=8))
}

/// A JPEG's stored width and height, read by libjpeg-turbo from the header without copying
/// the file. `None` when libjpeg-turbo cannot read the header (the caller falls back to the
/// general decoder, which may still manage).
pub fn header_dimensions(source: &[u8]) -> Option<(u32, u32)> {
    super::guard::guarded(|| {
        let header = turbojpeg::Decompressor::new()
            .ok()?
            .read_header(source)
            .ok()?;
        Some((
            u32::try_from(header.width).ok()?,
            u32::try_from(header.height).ok()?,
        ))
    })
    .ok()
    .flatten()
}

/// What libjpeg-turbo decoded: RGB8 (`grey` when the JPEG has one component, every pixel
/// then `r = g = b`), or the four channels of a CMYK or YCCK JPEG as stored (Adobe's are
/// inverted), for [`super::colour::cmyk_to_srgb`].
pub enum Scaled {
    /// RGB8, and whether the picture is grey.
    Rgb { raster: Raster, grey: bool },
    /// C, M, Y, K bytes per pixel, as the file holds them.
    Cmyk {
        width: u32,
        height: u32,
        pixels: Vec<u8>,
    },
}

/// Decodes a JPEG with libjpeg-turbo at 1/`factor` scale (1, 2, 4 or 8).
/// `None` when libjpeg-turbo will not decode it (the caller falls back to the general decoder).
pub fn decode_scaled(source: &[u8], factor: u32) -> Option<Scaled> {
    // Third-party code fed untrusted bytes: a panic is a failed fast path, not a dead worker.
    super::guard::guarded(|| decode_scaled_inner(source, factor))
        .ok()
        .flatten()
}

fn decode_scaled_inner(source: &[u8], factor: u32) -> Option<Scaled> {
    let mut decompressor = turbojpeg::Decompressor::new().ok()?;
    let header = decompressor.read_header(source).ok()?;
    let factor = if header.is_lossless { 1 } else { factor };
    let scaling = turbojpeg::ScalingFactor::new(1, usize::try_from(factor).ok()?);
    decompressor.set_scaling_factor(scaling).ok()?;
    let scaled = header.scaled(scaling);
    let cmyk = matches!(
        header.colorspace,
        turbojpeg::Colorspace::CMYK | turbojpeg::Colorspace::YCCK
    );
    let (format, channels) = match cmyk {
        true => (turbojpeg::PixelFormat::CMYK, 4),
        false => (turbojpeg::PixelFormat::RGB, 3),
    };
    let stride = scaled.width.checked_mul(channels)?;
    let mut pixels = vec![0u8; stride.checked_mul(scaled.height)?];
    let image = turbojpeg::Image {
        pixels: pixels.as_mut_slice(),
        width: scaled.width,
        pitch: stride,
        height: scaled.height,
        format,
    };
    decompressor.decompress(source, image).ok()?;
    let (width, height) = (
        u32::try_from(scaled.width).ok()?,
        u32::try_from(scaled.height).ok()?,
    );
    if cmyk {
        return Some(Scaled::Cmyk {
            width,
            height,
            pixels,
        });
    }
    let raster = Raster::new(width, height, PixelLayout::Rgb8, pixels).ok()?;
    let grey = header.colorspace == turbojpeg::Colorspace::Gray;
    Some(Scaled::Rgb { raster, grey })
}

/// Whether a JPEG carries Adobe's APP14 segment: its CMYK values are then stored inverted
/// (Photoshop's convention, which libjpeg passes through).
pub fn has_adobe_segment(source: &[u8]) -> bool {
    const APP14: u8 = 0xEE;
    header_segments(source)
        .any(|(marker, payload)| marker == APP14 && payload.starts_with(b"Adobe"))
}

/// Encodes an opaque RGB8 raster as a JPEG: 4:2:0 chroma below quality 90 (as libvips and
/// ImageMagick do; chroma detail is what the eye misses least) and 4:4:4 from 90 up, standard
/// Huffman tables, progressive when asked.
pub fn encode(raster: &Raster, quality: u8, progressive: bool) -> Result<Vec<u8>, PipelineError> {
    let failed =
        |error: turbojpeg::Error| PipelineError::encode_failed(format!("encode: jpeg: {error}"));
    let mut compressor = turbojpeg::Compressor::new().map_err(failed)?;
    compressor
        .set_quality(i32::from(quality.clamp(1, 100)))
        .map_err(failed)?;
    let subsampling = if quality < 90 {
        turbojpeg::Subsamp::Sub2x2
    } else {
        turbojpeg::Subsamp::None
    };
    compressor.set_subsamp(subsampling).map_err(failed)?;
    compressor.set_progressive(progressive).map_err(failed)?;
    let image = turbojpeg::Image {
        pixels: raster.data(),
        width: raster.width() as usize,
        pitch: raster.stride(),
        height: raster.height() as usize,
        format: match raster.layout() {
            PixelLayout::Rgb8 => turbojpeg::PixelFormat::RGB,
            PixelLayout::Rgba8 => turbojpeg::PixelFormat::RGBX,
        },
    };
    compressor.compress_to_vec(image).map_err(failed)
}

/// The IJG (libjpeg) luminance quantization table, the base almost every encoder scales.
/// Order does not matter here (only the sum is used), so the file's zig-zag order is fine.
const IJG_LUMINANCE: [u16; 64] = [
    16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69, 56,
    14, 17, 22, 29, 51, 87, 80, 62, 18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113,
    92, 49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99,
];

/// Estimates the quality (1-100) a JPEG was saved with, from its luminance quantization table.
///
/// libjpeg-style encoders scale the IJG table by `s = 5000 / q` (q < 50) or `s = 200 - 2q`
/// (q >= 50) percent. The ratio of the file's table to the IJG table gives `s` back, and `s`
/// gives `q`. Encoders with their own tables get the quality of the IJG table closest in
/// overall strength, which is what the vendors' "source quality" means in practice.
/// Returns `None` when there is no luminance table before the first scan.
pub fn estimate_quality(source: &[u8]) -> Option<u8> {
    let table = find_luminance_table(source)?;
    let sum: u32 = table.iter().map(|&value| u32::from(value)).sum();
    let reference: u32 = IJG_LUMINANCE.iter().map(|&value| u32::from(value)).sum();
    let scale = 100.0 * f64::from(sum) / f64::from(reference);
    let quality = if scale <= 100.0 {
        (200.0 - scale) / 2.0
    } else {
        5000.0 / scale
    };
    Some(quality.round().clamp(1.0, 100.0) as u8)
}

/// The 64 entries of quantization table 0 from the first DQT segment that defines it.
fn find_luminance_table(source: &[u8]) -> Option<[u16; 64]> {
    const DQT: u8 = 0xDB;
    find_in_header(source, |marker, segment| {
        (marker == DQT)
            .then(|| luminance_table_in_dqt(segment))
            .flatten()
    })
}

/// The start-of-frame marker of a JPEG: 0xC0 baseline, 0xC1 extended, 0xC2 progressive...
/// Lets tests and callers tell a progressive JPEG without decoding it.
pub fn frame_marker(source: &[u8]) -> Option<u8> {
    find_in_header(source, |marker, _| {
        is_start_of_frame(marker).then_some(marker)
    })
}

/// SOF0-SOF15, which share their range with DHT, JPG and DAC.
fn is_start_of_frame(marker: u8) -> bool {
    const DHT: u8 = 0xC4;
    const JPG: u8 = 0xC8;
    const DAC: u8 = 0xCC;
    (0xC0..=0xCF).contains(&marker) && ![DHT, JPG, DAC].contains(&marker)
}

/// The bits per sample of a JPEG's frame (8 for nearly every file; 12 and 16 exist).
pub(crate) fn sample_precision(source: &[u8]) -> Option<u8> {
    find_in_header(source, |marker, payload| {
        is_start_of_frame(marker).then(|| payload.first().copied())?
    })
}

/// The (marker, payload) segments of a JPEG header, up to the first scan.
pub(crate) fn header_segments(source: &[u8]) -> impl Iterator<Item = (u8, &[u8])> {
    HeaderSegments::new(source).map(|segment| (segment.marker, segment.payload))
}

/// Returns the first `Some` that `visit` gives for a (marker, payload) of the JPEG header.
fn find_in_header<T>(source: &[u8], mut visit: impl FnMut(u8, &[u8]) -> Option<T>) -> Option<T> {
    HeaderSegments::new(source).find_map(|segment| visit(segment.marker, segment.payload))
}

/// Whether a JPEG's entropy-coded data is followed by an end-of-image marker. The `image`
/// crate's decoder pads a truncated scan with grey instead of failing; this tells the
/// difference. Entropy-coded data never holds `FF D9` (a data byte 0xFF is always followed by
/// 0x00 or a restart marker), so the first `FF D9` after the first scan starts is the EOI,
/// and an embedded EXIF thumbnail (whose own EOI sits in APP1, before the scan) cannot fool it.
pub(crate) fn has_end_of_image(source: &[u8]) -> bool {
    const SOS: u8 = 0xDA;
    const END_OF_IMAGE: [u8; 2] = [0xFF, 0xD9];
    HeaderSegments::new(source)
        .find(|segment| segment.marker == SOS)
        .and_then(|segment| source.get(segment.offset..))
        .is_some_and(|scans| {
            // Nearly every file ends with its EOI; otherwise search (SIMD) for the first one.
            scans.ends_with(&END_OF_IMAGE) || memchr::memmem::find(scans, &END_OF_IMAGE).is_some()
        })
}

/// The scan data a Huffman-coded JPEG holds, and the fewest bytes its frame header allows,
/// when it holds fewer: `(held, fewest)`. Every 8x8 block of every component has its DC
/// coefficient coded in some scan, with at least one bit (no Huffman code is shorter), so a
/// frame of W x H needs at least one byte per eight of its blocks. A file below that is
/// truncated or forged (a tiny file claiming 150 megapixels): refusing it costs nothing, while
/// decoding it would cost the claimed size in memory and time. Arithmetic-coded and
/// hierarchical frames are not judged (a block may cost less than a bit there).
pub(crate) fn scan_data_short_of_frame(source: &[u8]) -> Option<(u64, u64)> {
    const SOS: u8 = 0xDA;
    let fewest = find_in_header(source, |marker, payload| {
        matches!(marker, 0xC0..=0xC3).then(|| fewest_scan_bytes(payload))
    })??;
    let start = HeaderSegments::new(source)
        .find(|segment| segment.marker == SOS)?
        .offset;
    let held = source.len().saturating_sub(start) as u64;
    (held < fewest).then_some((held, fewest))
}

/// One bit per 8x8 block of each component of a frame header (SOF payload: precision,
/// height, width, component count, then per component its id, sampling factors and table).
fn fewest_scan_bytes(frame: &[u8]) -> Option<u64> {
    let height = u64::from(u16::from_be_bytes([*frame.get(1)?, *frame.get(2)?]));
    let width = u64::from(u16::from_be_bytes([*frame.get(3)?, *frame.get(4)?]));
    let components = frame.get(6..6 + 3 * usize::from(*frame.get(5)?))?;
    let sampling = |component: &[u8]| (u64::from(component[1] >> 4), u64::from(component[1] & 15));
    let (most_h, most_v) = components
        .chunks(3)
        .map(sampling)
        .fold((1, 1), |(h, v), (ch, cv)| (h.max(ch), v.max(cv)));
    let blocks: u64 = components
        .chunks(3)
        .map(|component| {
            let (h, v) = sampling(component);
            let side =
                |length: u64, factor: u64, most: u64| (length * factor).div_ceil(most).div_ceil(8);
            side(width, h, most_h) * side(height, v, most_v)
        })
        .sum();
    Some(blocks / 8)
}

/// One marker segment of a JPEG header.
struct Segment<'a> {
    marker: u8,
    /// The bytes after the length field (empty for SOS, where the walk stops).
    payload: &'a [u8],
    /// Offset of the byte after the marker.
    offset: usize,
}

/// Iterates over the marker segments of a JPEG header, from SOI up to and including the first
/// SOS. Every offset is bounds-checked: this runs on untrusted bytes.
struct HeaderSegments<'a> {
    source: &'a [u8],
    position: Option<usize>,
}

impl<'a> HeaderSegments<'a> {
    fn new(source: &'a [u8]) -> Self {
        const SOI: u8 = 0xD8;
        let position = (source.get(0..2) == Some(&[0xFF, SOI][..])).then_some(2);
        HeaderSegments { source, position }
    }

    fn step(&mut self, mut position: usize) -> Option<Segment<'a>> {
        const SOS: u8 = 0xDA;
        const EOI: u8 = 0xD9;
        loop {
            if *self.source.get(position)? != 0xFF {
                // Stray bytes between segments: libjpeg skips them to the next marker (with
                // a warning), and so do browsers; the file is sound.
                position += memchr::memchr(0xFF, self.source.get(position..)?)?;
            }
            // Markers may be preceded by any number of 0xFF fill bytes.
            while *self.source.get(position + 1)? == 0xFF {
                position += 1;
            }
            let marker = *self.source.get(position + 1)?;
            position += 2;
            match marker {
                EOI => return None,
                SOS => {
                    return Some(Segment {
                        marker,
                        payload: &[],
                        offset: position,
                    })
                }
                // Standalone markers carry no length.
                0x01 | 0xD0..=0xD7 => continue,
                _ => {}
            }
            let length = usize::from(u16::from_be_bytes([
                *self.source.get(position)?,
                *self.source.get(position + 1)?,
            ]));
            if length < 2 {
                return None;
            }
            let payload = self.source.get(position + 2..position + length)?;
            self.position = Some(position + length);
            return Some(Segment {
                marker,
                payload,
                offset: position,
            });
        }
    }
}

impl<'a> Iterator for HeaderSegments<'a> {
    type Item = Segment<'a>;

    fn next(&mut self) -> Option<Segment<'a>> {
        // Stop unless `step` sets the next position: at SOS, EOI, or anything malformed.
        let position = self.position.take()?;
        self.step(position)
    }
}

/// Walks the tables of one DQT segment (each: a precision/id byte, then 64 entries of one or
/// two bytes) and returns table 0 if the segment defines it.
fn luminance_table_in_dqt(mut segment: &[u8]) -> Option<[u16; 64]> {
    while let Some((&precision_and_id, rest)) = segment.split_first() {
        let sixteen_bit = precision_and_id >> 4 == 1;
        let id = precision_and_id & 0x0F;
        let entry_size = if sixteen_bit { 2 } else { 1 };
        let entries = rest.get(..64 * entry_size)?;
        if id == 0 {
            let mut table = [0u16; 64];
            for (slot, bytes) in table.iter_mut().zip(entries.chunks_exact(entry_size)) {
                *slot = match bytes {
                    [high, low] => u16::from_be_bytes([*high, *low]),
                    [value] => u16::from(*value),
                    _ => return None,
                };
            }
            return Some(table);
        }
        segment = rest.get(64 * entry_size..)?;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> Vec<u8> {
        let path = format!("{}/../fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read(&path).unwrap_or_else(|error| panic!("{path}: {error}"))
    }

    #[test]
    fn the_shrink_leaves_at_least_the_needed_size() {
        let table = [
            // 5120x2880 -> 800 wide: 1/8 would be 640, too small; 1/4 is 1280.
            ((5120, 2880), (800, 450), false, 4),
            ((5120, 2880), (640, 360), false, 8),
            ((5120, 2880), (1280, 720), false, 4),
            ((5120, 2880), (1281, 720), false, 2),
            ((5120, 2880), (2561, 1441), false, 1),
            ((640, 427), (100, 67), false, 4),
            ((640, 427), (640, 427), false, 1),
            // A picture stored landscape with orientation 6, resized to 450x800 as displayed:
            // read as displayed, the stored height (2880) must stay >= 800, so 1/2 at most;
            // read as stored, 1/4 would do. Both readings must hold: 1/2.
            ((5120, 2880), (450, 800), true, 2),
            ((5120, 2880), (450, 800), false, 2),
            ((5120, 2880), (800, 450), true, 2),
            ((4000, 1000), (400, 100), false, 8),
            ((4000, 1000), (400, 100), true, 2),
            // Degenerate needs never divide by zero or shrink to nothing.
            ((16, 16), (0, 0), false, 8),
        ];
        for (stored, needed, rotated, factor) in table {
            assert_eq!(
                shrink_factor(stored, needed, rotated),
                factor,
                "{stored:?} -> {needed:?} rotated {rotated}"
            );
        }
    }

    #[test]
    fn exif_orientation_is_read_from_app1() {
        // SOI, APP1 "Exif\0\0" + little-endian TIFF header + IFD with one entry: orientation 6.
        let jpeg = crate::ops::test_support::with_exif_orientation(&[0xFF, 0xD8, 0xFF, 0xD9], 6);
        assert_eq!(exif_orientation(&jpeg), Some(6));
        assert!(orientation_swaps_axes(exif_orientation(&jpeg)));
        assert_eq!(exif_orientation(&fixture("gopher-640x427.jpg")), None);
        assert!(!orientation_swaps_axes(None));
        // Cut anywhere, the parser answers without panicking.
        for end in 0..jpeg.len() {
            let _ = exif_orientation(&jpeg[..end]);
        }
    }

    fn rgb(scaled: Scaled) -> Raster {
        match scaled {
            Scaled::Rgb { raster, .. } => raster,
            Scaled::Cmyk { .. } => panic!("a CMYK decode of an RGB JPEG"),
        }
    }

    #[test]
    fn scaled_decodes_have_the_scaled_size_and_the_same_picture() {
        let source = fixture("gopher-640x427.jpg");
        let full = rgb(decode_scaled(&source, 1).unwrap());
        assert_eq!(full.dimensions(), (640, 427));
        for (factor, size) in [(2, (320, 214)), (4, (160, 107)), (8, (80, 54))] {
            let scaled = rgb(decode_scaled(&source, factor).unwrap());
            assert_eq!(scaled.dimensions(), size, "1/{factor}");
            // The centre pixel of the scaled picture is close to the full one's centre.
            let (x, y) = (size.0 / 2, size.1 / 2);
            let small = scaled.pixel(x, y).unwrap();
            let large = full.pixel(x * factor, y * factor).unwrap();
            let distance: i32 = small
                .iter()
                .zip(large)
                .map(|(a, b)| (i32::from(*a) - i32::from(*b)).abs())
                .sum();
            assert!(distance < 90, "1/{factor}: {small:?} vs {large:?}");
        }
        assert!(decode_scaled(b"not a jpeg", 2).is_none());
    }

    #[test]
    fn the_end_of_image_marker_is_found_at_the_end_after_trailing_bytes_or_not_at_all() {
        let whole = fixture("gopher-640x427.jpg");
        assert!(has_end_of_image(&whole), "ends with its EOI");
        let mut trailed = whole.clone();
        trailed.extend_from_slice(b"trailing bytes some writers append");
        assert!(has_end_of_image(&trailed), "EOI before trailing bytes");
        assert!(!has_end_of_image(&whole[..whole.len() - 2]), "no EOI");
        assert!(!has_end_of_image(&whole[..whole.len() / 2]), "cut mid-scan");
        // An EOI inside a header segment (an EXIF thumbnail's) does not count: only what
        // follows the first scan does.
        let mut thumbnail_eoi = vec![0xFF, 0xD8, 0xFF, 0xE1, 0x00, 0x06, 0xFF, 0xD9, 0x00, 0x00];
        thumbnail_eoi.extend_from_slice(&whole[2..whole.len() - 2]);
        assert!(!has_end_of_image(&thumbnail_eoi), "EOI only in APP1");
    }

    #[test]
    fn jpeg_quality_is_estimated_from_the_quantization_table() {
        // The fixture was written by libjpeg at quality 85.
        assert_eq!(estimate_quality(&fixture("gopher-640x427.jpg")), Some(85));
        assert_eq!(estimate_quality(&fixture("small-400x300.png")), None);
        assert_eq!(estimate_quality(&fixture("truncated.jpg")), Some(85));
        assert_eq!(estimate_quality(&[0xFF, 0xD8, 0xFF]), None);
        assert_eq!(estimate_quality(&[0xFF, 0xD8, 0xFF, 0xDB, 0x00]), None);

        // Our own encoder's output reads back close to the quality it was written with.
        let decoded = crate::codec::decode::decode(
            &fixture("small-400x300.png"),
            &crate::limits::Limits::default(),
        )
        .unwrap();
        for quality in [30, 60, 75, 90] {
            let jpeg = crate::codec::encode::encode(
                &decoded.raster,
                crate::codec::ImageFormat::Jpeg,
                &crate::codec::encode::EncodeOptions {
                    quality,
                    progressive: false,
                    deadline: crate::resources::Deadline::default(),
                    carried: &crate::metadata::Carried::default(),
                },
            )
            .unwrap();
            let estimate = estimate_quality(&jpeg).unwrap();
            assert!(
                estimate.abs_diff(quality) <= 2,
                "{quality} read as {estimate}"
            );
        }
    }
}
