//! Test helpers for the operations' end-to-end checks: run an OSS process string on a fixture
//! through the whole pipeline (decode, steps, encode) and decode the result again, so that
//! pixel checks see what a client would.

use crate::codec::decode::{decode, Decoded};
use crate::exec::{run, Rendered};
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
    let rendered = run(&pipeline, source, &Limits::default())
        .unwrap_or_else(|error| panic!("{text}: {error}"));
    let decoded = decode(&rendered.bytes, &Limits::default())
        .unwrap_or_else(|error| panic!("{text}: the result does not decode: {error}"));
    (rendered, decoded)
}

/// Runs the OSS process string `text` on the fixture `source` and decodes the result.
pub(crate) fn run_oss(text: &str, source: &str) -> (Rendered, Decoded) {
    run_oss_bytes(text, &fixture(source))
}
