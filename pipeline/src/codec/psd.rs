//! Photoshop sources (PSD, and PSB, its large-document variant): the composite image.
//!
//! Photoshop saves, after the layers, the whole document flattened ("Maximize Compatibility",
//! on by default; Qiniu's processing reads the same). That composite is what is decoded here:
//! layers are not re-blended. Read: greyscale, RGB and CMYK documents of 8 or 16 bits per
//! channel, raw or PackBits-compressed, with an extra channel after the colours taken as
//! transparency (as libvips does); the ICC profile of the image resources (ID 1039) converts
//! the colours to sRGB, and CMYK, which Photoshop stores as 255 minus the ink, goes through
//! [`super::colour::cmyk_to_srgb`]. 16-bit channels are narrowed to their high byte before the
//! conversion. Bitmap, indexed, Lab, multichannel and duotone documents, 1- and 32-bit
//! channels, and ZIP-compressed composites are refused by name.
//!
//! The header's size is checked against the limits before anything else is read, and every
//! row is decoded into a buffer of exactly its size: a corrupt PackBits stream can neither
//! write past its row nor leave it short unnoticed.

use super::colour::Profile;
use super::{PixelLayout, Raster};
use crate::error::{ErrorCode, PipelineError};
use crate::limits::Limits;
use crate::metadata::ColourPolicy;

/// What a PSD's 26-byte header says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Channels in the composite (colours, then extra channels).
    pub channels: u16,
    /// Bits per channel: 1, 8, 16 or 32.
    pub depth: u16,
    /// Photoshop's colour mode: 0 bitmap, 1 greyscale, 2 indexed, 3 RGB, 4 CMYK, 7
    /// multichannel, 8 duotone, 9 Lab.
    pub mode: u16,
    /// A PSB (version 2): wider lengths in the layer section and the row table.
    pub large: bool,
}

const GREYSCALE: u16 = 1;
const RGB: u16 = 3;
const CMYK: u16 = 4;
/// The image resource holding the ICC profile.
const ICC_RESOURCE: u16 = 1039;

/// Reads the header, refusing what is not a PSD or PSB.
pub fn header(source: &[u8]) -> Result<Header, PipelineError> {
    let mut reader = Reader::new(source);
    if reader.take(4) != Some(b"8BPS") {
        return Err(corrupt("it has no 8BPS signature"));
    }
    let version = reader.u16()?;
    if !matches!(version, 1 | 2) {
        return Err(corrupt(&format!(
            "its version is {version}, not 1 (PSD) or 2 (PSB)"
        )));
    }
    reader
        .take(6)
        .ok_or_else(|| corrupt("its header is cut short"))?;
    let channels = reader.u16()?;
    let height = reader.u32()?;
    let width = reader.u32()?;
    let depth = reader.u16()?;
    let mode = reader.u16()?;
    Ok(Header {
        width,
        height,
        channels,
        depth,
        mode,
        large: version == 2,
    })
}

/// Decodes the composite image after checking its size against `limits`: its pixels, and the ICC profile they stay in under `colour` (an RGB
/// document's, see [`super::colour::kept_profile`]).
pub fn decode(
    source: &[u8],
    limits: &Limits,
    colour: ColourPolicy,
) -> Result<super::colour::Tagged, PipelineError> {
    let header = header(source)?;
    super::decode::has_pixels(super::ImageFormat::Psd, header.width, header.height)?;
    limits.check_source_dimensions(header.width, header.height)?;
    let colours = colour_channels(&header)?;
    let mut reader = Reader::new(source.get(26..).unwrap_or_default());
    skip_block(&mut reader, false)?; // colour mode data: only indexed and duotone use it
    let resources = reader.block(false)?;
    skip_block(&mut reader, header.large)?; // layers and masks: the composite follows them
    let with_alpha = usize::from(header.channels) > colours;
    let wanted = colours + usize::from(with_alpha);
    check_budget(&header, wanted, limits)?;
    let planes = read_planes(&mut reader, &header, wanted)?;
    let icc = icc_profile(resources);
    let profile = icc.as_deref().and_then(Profile::parse);
    let kept = (header.mode == RGB)
        .then(|| super::colour::kept_profile(icc.as_deref(), profile.as_ref(), colour))
        .flatten();
    let profile = profile.filter(|_| kept.is_none());
    let raster = assemble(&header, &planes, colours, with_alpha, profile.as_ref())?;
    Ok((raster, kept))
}

/// How many of the channels are colours; unsupported modes and depths are refused by name.
fn colour_channels(header: &Header) -> Result<usize, PipelineError> {
    let colours = match header.mode {
        GREYSCALE => 1,
        RGB => 3,
        CMYK => 4,
        other => {
            let name = match other {
                0 => "bitmap",
                2 => "indexed-colour",
                7 => "multichannel",
                8 => "duotone",
                9 => "Lab",
                _ => "an unknown",
            };
            return Err(unsupported(&format!("a PSD in {name} mode ({other})")));
        }
    };
    if !matches!(header.depth, 8 | 16) {
        return Err(unsupported(&format!(
            "a PSD of {} bits per channel",
            header.depth
        )));
    }
    if usize::from(header.channels) < colours {
        return Err(corrupt(&format!(
            "its mode needs {colours} channels and it has {}",
            header.channels
        )));
    }
    Ok(colours)
}

/// Refuses a composite whose planes (only the ones read: colours and transparency) would
/// exceed the decoders' allocation budget.
fn check_budget(header: &Header, planes: usize, limits: &Limits) -> Result<(), PipelineError> {
    let bytes = u64::from(header.width)
        .saturating_mul(u64::from(header.height))
        .saturating_mul(u64::from(header.depth / 8))
        .saturating_mul(planes as u64);
    if bytes > limits.decoder_alloc_budget() {
        return Err(PipelineError::image_too_large(format!(
            "the PSD source needs {bytes} bytes to decode, over the budget of {} bytes",
            limits.decoder_alloc_budget()
        )));
    }
    Ok(())
}

fn skip_block(reader: &mut Reader<'_>, large: bool) -> Result<(), PipelineError> {
    reader.block(large).map(|_| ())
}

/// The ICC profile among the image resources (`8BIM`, ID, padded Pascal name, padded data).
fn icc_profile(mut resources: &[u8]) -> Option<Vec<u8>> {
    while resources.len() >= 12 && resources.starts_with(b"8BIM") {
        let id = u16::from_be_bytes([resources[4], resources[5]]);
        let name_len = usize::from(resources[6]);
        let name_total = (1 + name_len).next_multiple_of(2);
        let rest = resources.get(6 + name_total..)?;
        let size = usize::try_from(u32::from_be_bytes(rest.get(..4)?.try_into().ok()?)).ok()?;
        let data = rest.get(4..4 + size)?;
        if id == ICC_RESOURCE {
            return Some(data.to_vec());
        }
        resources = rest.get(4 + size.next_multiple_of(2)..)?;
    }
    None
}

/// The composite's first `wanted` channel planes, each `height` rows of `width` samples
/// (big-endian); the channels after them are not decoded.
fn read_planes(
    reader: &mut Reader<'_>,
    header: &Header,
    wanted: usize,
) -> Result<Vec<Vec<u8>>, PipelineError> {
    let row = usize::try_from(header.width)
        .ok()
        .and_then(|width| width.checked_mul(usize::from(header.depth / 8)))
        .ok_or_else(|| corrupt("its rows are too wide"))?;
    let rows = usize::try_from(header.height).map_err(|_| corrupt("it is too tall"))?;
    match reader.u16()? {
        0 => (0..wanted)
            .map(|_| {
                (reader.take(row * rows).map(<[u8]>::to_vec))
                    .ok_or_else(|| corrupt("its image data is cut short"))
            })
            .collect(),
        1 => read_packbits_planes(reader, header, (row, rows), wanted),
        2 | 3 => Err(unsupported("a PSD whose composite image is ZIP-compressed")),
        other => Err(corrupt(&format!("its image data has compression {other}"))),
    }
}

/// PackBits planes: a table of every row's byte count, then the rows.
fn read_packbits_planes(
    reader: &mut Reader<'_>,
    header: &Header,
    (row, rows): (usize, usize),
    wanted: usize,
) -> Result<Vec<Vec<u8>>, PipelineError> {
    let channels = usize::from(header.channels);
    let counts: Vec<usize> = (0..channels * rows)
        .map(|_| {
            if header.large {
                reader
                    .u32()
                    .map(|count| usize::try_from(count).unwrap_or(usize::MAX))
            } else {
                reader.u16().map(usize::from)
            }
        })
        .collect::<Result<_, _>>()?;
    let mut planes = Vec::with_capacity(wanted);
    for channel_counts in counts.chunks_exact(rows.max(1)).take(wanted) {
        let mut plane = vec![0u8; row * rows];
        for (target, &count) in plane.chunks_exact_mut(row.max(1)).zip(channel_counts) {
            let packed = reader
                .take(count)
                .ok_or_else(|| corrupt("its image data is cut short"))?;
            unpack_row(packed, target)?;
        }
        planes.push(plane);
    }
    Ok(planes)
}

/// PackBits: a header byte n, then n + 1 literal bytes (n < 128) or one byte repeated 257 - n
/// times (n > 128); 128 is skipped. The row must come out exactly full.
fn unpack_row(mut packed: &[u8], target: &mut [u8]) -> Result<(), PipelineError> {
    let overrun = || corrupt("a PackBits row decodes past its width");
    let mut at = 0;
    while let Some((&n, rest)) = packed.split_first() {
        packed = rest;
        if n < 128 {
            let count = usize::from(n) + 1;
            let literal = packed.get(..count).ok_or_else(overrun)?;
            target
                .get_mut(at..at + count)
                .ok_or_else(overrun)?
                .copy_from_slice(literal);
            packed = &packed[count..];
            at += count;
        } else if n > 128 {
            let count = 257 - usize::from(n);
            let (&value, rest) = packed.split_first().ok_or_else(overrun)?;
            packed = rest;
            target
                .get_mut(at..at + count)
                .ok_or_else(overrun)?
                .fill(value);
            at += count;
        }
    }
    if at != target.len() {
        return Err(corrupt("a PackBits row decodes short of its width"));
    }
    Ok(())
}

/// Interleaves the planes (the high byte of 16-bit samples) and converts them to sRGB.
fn assemble(
    header: &Header,
    planes: &[Vec<u8>],
    colours: usize,
    with_alpha: bool,
    profile: Option<&Profile>,
) -> Result<Raster, PipelineError> {
    let step = usize::from(header.depth / 8);
    let size = (header.width, header.height);
    let interleave = |channels: &[Vec<u8>]| -> Vec<u8> {
        let pixels = channels.first().map_or(0, |plane| plane.len() / step);
        (0..pixels)
            .flat_map(|pixel| channels.iter().map(move |plane| plane[pixel * step]))
            .collect()
    };
    let colour_planes = planes.get(..colours).unwrap_or_default();
    let rgb = match header.mode {
        CMYK => super::colour::cmyk_to_srgb(interleave(colour_planes), size, profile, true)?,
        GREYSCALE => {
            let grey = interleave(colour_planes);
            let rgb = grey.iter().flat_map(|&value| [value; 3]).collect();
            let raster = Raster::new(size.0, size.1, PixelLayout::Rgb8, rgb)?;
            match profile {
                Some(profile) => super::colour::raster_to_srgb(raster, profile, true),
                None => raster,
            }
        }
        _ => {
            let raster = Raster::new(size.0, size.1, PixelLayout::Rgb8, interleave(colour_planes))?;
            match profile {
                Some(profile) => super::colour::raster_to_srgb(raster, profile, false),
                None => raster,
            }
        }
    };
    match planes.get(colours).filter(|_| with_alpha) {
        Some(alpha) => with_alpha_plane(rgb, alpha, step),
        None => Ok(rgb),
    }
}

fn with_alpha_plane(rgb: Raster, alpha: &[u8], step: usize) -> Result<Raster, PipelineError> {
    let (width, height) = rgb.dimensions();
    let rgba: Vec<u8> = (rgb.data().chunks_exact(3))
        .zip(alpha.iter().step_by(step))
        .flat_map(|(pixel, &a)| [pixel[0], pixel[1], pixel[2], a])
        .collect();
    let raster = Raster::new(width, height, PixelLayout::Rgba8, rgba)?;
    Ok(if raster.has_transparency() {
        raster
    } else {
        raster.flatten(super::Rgb::WHITE)
    })
}

fn corrupt(reason: &str) -> PipelineError {
    PipelineError::decode_failed(format!("the PSD source is corrupt: {reason}"))
}

fn unsupported(what: &str) -> PipelineError {
    PipelineError::new(
        ErrorCode::UnsupportedFormat,
        format!("the source is {what}, which is not supported (greyscale, RGB and CMYK of 8 or 16 bits are)"),
    )
}

/// Big-endian reads over a slice, each failing as a cut-short file.
struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Reader { rest: bytes }
    }

    fn take(&mut self, count: usize) -> Option<&'a [u8]> {
        let taken = self.rest.get(..count)?;
        self.rest = &self.rest[count..];
        Some(taken)
    }

    fn u16(&mut self) -> Result<u16, PipelineError> {
        let bytes = self.take(2).ok_or_else(|| corrupt("it is cut short"))?;
        Ok(u16::from_be_bytes([bytes[0], bytes[1]]))
    }

    fn u32(&mut self) -> Result<u32, PipelineError> {
        let bytes = self.take(4).ok_or_else(|| corrupt("it is cut short"))?;
        Ok(u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]))
    }

    /// A section: its length (4 bytes, 8 when `large`), then that many bytes.
    fn block(&mut self, large: bool) -> Result<&'a [u8], PipelineError> {
        let length = if large {
            let high = u64::from(self.u32()?);
            (high << 32) | u64::from(self.u32()?)
        } else {
            u64::from(self.u32()?)
        };
        let length = usize::try_from(length).map_err(|_| corrupt("a section is too long"))?;
        self.take(length)
            .ok_or_else(|| corrupt("a section runs past the end of the file"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::decode::{decode as decode_any, probe};
    use crate::codec::ImageFormat;

    fn fixture(name: &str) -> Vec<u8> {
        let path = format!("{}/../fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read(&path).unwrap_or_else(|error| panic!("{path}: {error}"))
    }

    /// The mean of each of the first three channels.
    fn means(raster: &Raster) -> [f64; 3] {
        let step = raster.layout().bytes_per_pixel();
        let mut sums = [0f64; 3];
        for pixel in raster.data().chunks_exact(step) {
            (0..3).for_each(|channel| sums[channel] += f64::from(pixel[channel]));
        }
        let count = (raster.data().len() / step) as f64;
        sums.map(|sum| sum / count)
    }

    #[test]
    fn imagemagick_documents_decode_to_the_picture_they_hold() {
        let gopher = decode_any(&fixture("gopher-640x427.jpg"), &Limits::default()).unwrap();
        let expected = means(&gopher.raster);
        let table = [
            ("gopher-120x80.psd", (120, 80), 4.0),
            ("cmyk-79x53.psd", (79, 53), 8.0),
            ("rgb16-40x27.psd", (40, 27), 6.0),
            ("raw-40x27.psd", (40, 27), 6.0),
        ];
        for (name, size, tolerance) in table {
            let source = fixture(name);
            let info = probe(&source).unwrap();
            assert_eq!(
                (info.format, (info.width, info.height)),
                (ImageFormat::Psd, size)
            );
            let decoded = decode_any(&source, &Limits::default()).unwrap();
            assert_eq!(decoded.raster.layout(), PixelLayout::Rgb8, "{name}");
            assert_eq!(decoded.format.default_output(), ImageFormat::Png);
            for (got, want) in means(&decoded.raster).iter().zip(expected) {
                assert!(
                    (got - want).abs() < tolerance,
                    "{name}: {got} against {want}"
                );
            }
        }
        let grey = decode_any(&fixture("grey-79x53.psd"), &Limits::default()).unwrap();
        let [r, g, b] = means(&grey.raster);
        assert!(r == g && g == b, "grey stays grey");
        let luma = 0.299 * expected[0] + 0.587 * expected[1] + 0.114 * expected[2];
        assert!((r - luma).abs() < 8.0, "{r} against {luma}");
    }

    #[test]
    fn an_extra_channel_is_transparency() {
        let raster = decode_any(&fixture("alpha-150x100.psd"), &Limits::default())
            .unwrap()
            .raster;
        assert_eq!(raster.layout(), PixelLayout::Rgba8);
        assert_eq!(raster.pixel(3, 3).unwrap()[3], 0);
        let disc = raster.pixel(60, 50).unwrap();
        assert!(disc[3] > 250 && disc[2] > 150 && disc[0] < 80, "{disc:?}");
    }

    #[test]
    fn what_is_not_read_is_refused_by_name_and_broken_files_are_decode_failures() {
        let whole = fixture("gopher-120x80.psd");
        let with = |offset: usize, bytes: &[u8]| {
            let mut copy = whole.clone();
            copy[offset..offset + bytes.len()].copy_from_slice(bytes);
            decode_any(&copy, &Limits::default()).unwrap_err()
        };
        let lab = with(24, &[0, 9]);
        assert_eq!(lab.code, ErrorCode::UnsupportedFormat);
        assert!(lab.message.contains("Lab mode"), "{}", lab.message);
        let wide = with(22, &[0, 32]);
        assert_eq!(wide.code, ErrorCode::UnsupportedFormat);
        assert!(
            wide.message.contains("32 bits per channel"),
            "{}",
            wide.message
        );
        let huge = with(14, &40_000u32.to_be_bytes());
        assert_eq!(huge.code, ErrorCode::ImageTooLarge, "{}", huge.message);
        // 144 MP (within the pixel limit) of 16-bit CMYK and alpha: 1.44 GB of planes.
        let mut header = [0u8; 14];
        header[..2].copy_from_slice(&5u16.to_be_bytes());
        header[2..6].copy_from_slice(&12_000u32.to_be_bytes());
        header[6..10].copy_from_slice(&12_000u32.to_be_bytes());
        header[10..12].copy_from_slice(&16u16.to_be_bytes());
        header[12..].copy_from_slice(&4u16.to_be_bytes());
        let heavy = with(12, &header);
        assert_eq!(heavy.code, ErrorCode::ImageTooLarge, "{}", heavy.message);
        assert!(heavy.message.contains("budget"), "{}", heavy.message);

        let cut = decode_any(&whole[..whole.len() / 2], &Limits::default()).unwrap_err();
        assert_eq!(cut.code, ErrorCode::DecodeFailed);
        assert!(
            cut.message.starts_with("the PSD source is corrupt: "),
            "{}",
            cut.message
        );
    }

    #[test]
    fn packbits_rows_must_come_out_exactly_full() {
        let mut row = [0u8; 6];
        unpack_row(&[2, 1, 2, 3, 0xFE, 9], &mut row).unwrap();
        assert_eq!(row, [1, 2, 3, 9, 9, 9]);
        assert!(
            unpack_row(&[0xFA, 7], &mut row).is_err(),
            "7 repeats overrun 6"
        );
        assert!(unpack_row(&[1, 4, 5], &mut row).is_err(), "short");
        assert!(
            unpack_row(&[9, 1], &mut row).is_err(),
            "a literal past the data"
        );
    }
}
