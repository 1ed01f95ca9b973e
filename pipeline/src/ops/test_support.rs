//! Test helpers for the operations' end-to-end checks: run an OSS process string on a fixture
//! through the whole pipeline (decode, steps, encode) and decode the result again, so that
//! pixel checks see what a client would.

use crate::codec::decode::{decode, Decoded};
use crate::exec::{run_one, Rendered};
use crate::limits::Limits;
use crate::parse::{oss, NoStyles};

/// The bytes of a file in `fixtures/`.
pub(crate) fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/../fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|error| panic!("{path}: {error}"))
}

/// Runs the OSS process string `text` on `source` bytes and decodes the result.
pub(crate) fn run_oss_bytes(text: &str, source: &[u8]) -> (Rendered, Decoded) {
    let pipeline = oss::parse_process(text, &NoStyles)
        .unwrap_or_else(|error| panic!("{text}: {error}"))
        .pipeline;
    let limits = Limits::default();
    let rendered = run_one(&pipeline, source, &crate::Resources::new(&limits))
        .unwrap_or_else(|error| panic!("{text}: {error}"));
    let decoded = decode(&rendered.bytes, &Limits::default())
        .unwrap_or_else(|error| panic!("{text}: the result does not decode: {error}"));
    (rendered, decoded)
}

/// Runs the OSS process string `text` on the fixture `source` and decodes the result.
pub(crate) fn run_oss(text: &str, source: &str) -> (Rendered, Decoded) {
    run_oss_bytes(text, &fixture(source))
}

/// `jpeg` with an EXIF APP1 segment saying `orientation` inserted after its SOI marker, as a
/// camera writes it: little-endian TIFF header, one IFD entry (tag 0x0112, SHORT).
pub(crate) fn with_exif_orientation(jpeg: &[u8], orientation: u16) -> Vec<u8> {
    let mut tiff = b"II*\0\x08\0\0\0".to_vec();
    tiff.extend_from_slice(&1u16.to_le_bytes());
    tiff.extend_from_slice(&0x0112u16.to_le_bytes());
    tiff.extend_from_slice(&3u16.to_le_bytes());
    tiff.extend_from_slice(&1u32.to_le_bytes());
    tiff.extend_from_slice(&orientation.to_le_bytes());
    tiff.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
    let mut app1 = b"Exif\0\0".to_vec();
    app1.extend_from_slice(&tiff);
    let mut marked = vec![0xFF, 0xD8, 0xFF, 0xE1];
    marked.extend_from_slice(&u16::try_from(app1.len() + 2).unwrap().to_be_bytes());
    marked.extend_from_slice(&app1);
    marked.extend_from_slice(jpeg.get(2..).unwrap_or_default());
    marked
}

/// The watermark steps of `pipeline`, in order.
pub(crate) fn watermarks(pipeline: crate::ast::Pipeline) -> Vec<super::watermark::Watermark> {
    pipeline
        .steps
        .into_iter()
        .filter_map(|step| match step {
            crate::ast::Step::Watermark(mark) => Some(mark),
            _ => None,
        })
        .collect()
}
