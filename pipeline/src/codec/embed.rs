//! Writing a result's metadata ([`Carried`]) into the JPEG and WebP files the encoders made.
//! PNG takes it through the `png` encoder's header ([`super::encode`]), AVIF and HEIC through
//! libheif ([`super::heif`]); the policy is [`crate::metadata`].
//!
//! Neither libjpeg-turbo's compressor nor libwebp's simple encoder (the `webp` crate has no
//! muxer) takes metadata, and both containers are simple: a JPEG takes segments after its
//! JFIF header, a WebP becomes the extended (`VP8X`) form with `ICCP` before the image data
//! and `EXIF` after it, as the WebP container specification orders them.

use crate::metadata::Carried;

/// JPEG APP1, where EXIF goes.
const APP1: u8 = 0xE1;
/// JPEG APP2, where ICC profiles go.
const APP2: u8 = 0xE2;
/// The most payload one JPEG segment holds (its length field counts itself).
const SEGMENT_PAYLOAD: usize = 65_533;
/// The signature and the two counters in front of each chunk of an ICC profile in APP2.
const ICC_SIGNATURE: &[u8] = b"ICC_PROFILE\0";

/// `jpeg` with `carried` in it: the EXIF block as APP1, the ICC profile as APP2 chunks. An
/// EXIF block over one segment is left out (a result never fails for its metadata).
pub fn into_jpeg(jpeg: Vec<u8>, carried: &Carried) -> Vec<u8> {
    let mut segments: Vec<(u8, Vec<u8>)> = Vec::new();
    if let Some(exif) = &carried.exif {
        let mut payload = b"Exif\0\0".to_vec();
        payload.extend_from_slice(exif);
        if payload.len() <= SEGMENT_PAYLOAD {
            segments.push((APP1, payload));
        }
    }
    if let Some(icc) = &carried.icc {
        segments.extend(icc_segments(icc).into_iter().map(|payload| (APP2, payload)));
    }
    segments.iter().rev().fold(jpeg, |jpeg, (marker, payload)| {
        with_segment(jpeg, *marker, payload)
    })
}

/// An ICC profile cut into APP2 payloads (`ICC_PROFILE\0`, the 1-based chunk number, the
/// count); none when it needs more than the 255 chunks the numbering allows.
fn icc_segments(icc: &[u8]) -> Vec<Vec<u8>> {
    let room = SEGMENT_PAYLOAD - ICC_SIGNATURE.len() - 2;
    let chunks: Vec<&[u8]> = icc.chunks(room).collect();
    let Ok(count) = u8::try_from(chunks.len()) else {
        return Vec::new();
    };
    (chunks.iter().zip(1..=count))
        .map(|(chunk, number)| {
            let mut payload = ICC_SIGNATURE.to_vec();
            payload.extend_from_slice(&[number, count]);
            payload.extend_from_slice(chunk);
            payload
        })
        .collect()
}

/// `jpeg` with one more segment (`marker`, `payload`), after its start and its JFIF
/// header; a payload too long for one segment is not written.
pub fn with_segment(jpeg: Vec<u8>, marker: u8, payload: &[u8]) -> Vec<u8> {
    let Ok(length) = u16::try_from(payload.len() + 2) else {
        return jpeg;
    };
    let at = after_jfif(&jpeg);
    let mut out = Vec::with_capacity(jpeg.len() + payload.len() + 4);
    out.extend_from_slice(&jpeg[..at]);
    out.extend_from_slice(&[0xFF, marker]);
    out.extend_from_slice(&length.to_be_bytes());
    out.extend_from_slice(payload);
    out.extend_from_slice(&jpeg[at..]);
    out
}

/// Where a JPEG's segments after its start marker and APP0 (JFIF) headers begin.
fn after_jfif(jpeg: &[u8]) -> usize {
    let mut at = 2.min(jpeg.len());
    while let Some([0xFF, 0xE0, high, low]) = jpeg.get(at..at + 4) {
        let next = at + 2 + usize::from(u16::from_be_bytes([*high, *low]));
        if next > jpeg.len() {
            break;
        }
        at = next;
    }
    at
}

/// `webp` (a file of `width`x`height` from libwebp) with `carried` in it, in the extended
/// `VP8X` form; the file as it is when there is nothing to carry or it does not parse.
pub fn into_webp(webp: Vec<u8>, (width, height): (u32, u32), carried: &Carried) -> Vec<u8> {
    if carried.exif.is_none() && carried.icc.is_none() {
        return webp;
    }
    let Some(chunks) = riff_chunks(&webp) else {
        return webp;
    };
    let has_alpha = chunks.iter().any(|(name, _)| name == b"ALPH");
    let mut body = b"WEBP".to_vec();
    let mut flags = 0u8;
    if carried.icc.is_some() {
        flags |= 0x20;
    }
    if has_alpha {
        flags |= 0x10;
    }
    if carried.exif.is_some() {
        flags |= 0x08;
    }
    let mut vp8x = vec![flags, 0, 0, 0];
    vp8x.extend_from_slice(&width.saturating_sub(1).to_le_bytes()[..3]);
    vp8x.extend_from_slice(&height.saturating_sub(1).to_le_bytes()[..3]);
    push_chunk(&mut body, b"VP8X", &vp8x);
    if let Some(icc) = &carried.icc {
        push_chunk(&mut body, b"ICCP", icc);
    }
    for (name, data) in chunks.iter().filter(|(name, _)| name != b"VP8X") {
        push_chunk(&mut body, name, data);
    }
    if let Some(exif) = &carried.exif {
        push_chunk(&mut body, b"EXIF", exif);
    }
    let Ok(size) = u32::try_from(body.len()) else {
        return webp;
    };
    let mut out = b"RIFF".to_vec();
    out.extend_from_slice(&size.to_le_bytes());
    out.extend_from_slice(&body);
    out
}

/// The chunks of a RIFF WebP file, by name; `None` when it is not one.
fn riff_chunks(webp: &[u8]) -> Option<Vec<([u8; 4], &[u8])>> {
    if webp.get(..4)? != b"RIFF" || webp.get(8..12)? != b"WEBP" {
        return None;
    }
    let mut chunks = Vec::new();
    let mut rest = webp.get(12..)?;
    while !rest.is_empty() {
        let name: [u8; 4] = rest.get(..4)?.try_into().ok()?;
        let size = u32::from_le_bytes(rest.get(4..8)?.try_into().ok()?) as usize;
        let data = rest.get(8..8 + size)?;
        chunks.push((name, data));
        let padded = (8 + size + (size & 1)).min(rest.len());
        rest = &rest[padded..];
    }
    Some(chunks)
}

fn push_chunk(body: &mut Vec<u8>, name: &[u8; 4], data: &[u8]) {
    body.extend_from_slice(name);
    body.extend_from_slice(&(data.len() as u32).to_le_bytes());
    body.extend_from_slice(data);
    if data.len() % 2 == 1 {
        body.push(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::{PixelLayout, Raster, Rgb};
    use std::sync::Arc;

    fn carried() -> Carried {
        Carried {
            exif: Some(crate::metadata::tests::camera_exif()),
            icc: Some(Arc::from(vec![7u8; 70_000])),
        }
    }

    #[test]
    fn a_jpeg_takes_exif_then_the_profile_in_two_chunks_after_its_jfif_header() {
        let raster = Raster::filled(16, 8, PixelLayout::Rgb8, Rgb::WHITE);
        let plain = crate::codec::jpeg::encode(&raster, 80, false).unwrap();
        let tagged = into_jpeg(plain.clone(), &carried());
        let jfif_end = after_jfif(&plain);
        assert_eq!(tagged[..jfif_end], plain[..jfif_end]);
        assert_eq!(tagged[jfif_end..jfif_end + 2], [0xFF, APP1]);
        assert_eq!(
            crate::codec::colour::jpeg_icc_profile(&tagged),
            Some(vec![7u8; 70_000])
        );
        let decoded = crate::codec::decode::decode(&tagged, &Default::default()).unwrap();
        assert_eq!(decoded.raster.dimensions(), (16, 8));
    }

    #[test]
    fn a_webp_becomes_extended_with_its_chunks_in_the_specified_order() {
        for layout in [PixelLayout::Rgb8, PixelLayout::Rgba8] {
            let mut raster = Raster::filled(20, 10, layout, Rgb::WHITE);
            if layout == PixelLayout::Rgba8 {
                raster.data_mut()[3] = 0; // one transparent pixel: libwebp writes ALPH
            }
            let plain = webp::Encoder::from_rgb(&[255; 20 * 10 * 3], 20, 10)
                .encode_simple(false, 80.0)
                .unwrap()
                .to_vec();
            let plain = match layout {
                PixelLayout::Rgb8 => plain,
                PixelLayout::Rgba8 => webp::Encoder::from_rgba(raster.data(), 20, 10)
                    .encode_simple(false, 80.0)
                    .unwrap()
                    .to_vec(),
            };
            let tagged = into_webp(plain, (20, 10), &carried());
            let names: Vec<[u8; 4]> = riff_chunks(&tagged)
                .unwrap()
                .into_iter()
                .map(|(name, _)| name)
                .collect();
            let expected: Vec<&[u8; 4]> = match layout {
                PixelLayout::Rgb8 => vec![b"VP8X", b"ICCP", b"VP8 ", b"EXIF"],
                PixelLayout::Rgba8 => vec![b"VP8X", b"ICCP", b"ALPH", b"VP8 ", b"EXIF"],
            };
            assert_eq!(names.iter().collect::<Vec<_>>(), expected, "{layout:?}");
            let decoded = crate::codec::decode::decode(&tagged, &Default::default()).unwrap();
            assert_eq!(decoded.raster.dimensions(), (20, 10));
            assert_eq!(decoded.raster.layout(), layout);
        }
    }
}
