//! Ferrotype's image-processing engine: processing language in, pixels out.
//!
//! This crate is **pure**: no async runtime, no database, no queue, no object store, no HTTP.
//! It takes strings and bytes and returns values, so the API can validate a request with the
//! very parser the worker runs, and every rule can be tested without a service around it.
//! (An architecture invariant: keep it that way.)
//!
//! # Map
//!
//! | module | what it holds |
//! |---|---|
//! | [`parse`] | all syntax: [`parse::oss`] (`x-oss-process`, one file per group of actions, the old `@` API in [`parse::oss::legacy`]), [`parse::qiniu`] (`fops`, one file per command), [`parse::parse_canonical`] (splits the canonical form and hands each action to its operation's reader), and the one argument reader every dialect uses (`parse::lex`) |
//! | [`ast`] | the typed [`Pipeline`] they all produce, [`Step`] (each variant's arguments are an [`ops::Operation`]: [`Step::operation`] dispatches), [`Command`] / [`SaveAs`], the canonical rendering (`Display`) and the output settings' canonical text |
//! | [`ops`] | one module per operation: arguments, their canonical text both ways, geometry planning, pixels, tests ([`ops::resize`], [`ops::scale`], [`ops::image_view`], [`ops::crop`], [`ops::index_crop`], [`ops::circle`], [`ops::rounded_corners`], [`ops::gravity`], [`ops::rotate`], [`ops::auto_orient`], [`ops::blur`], [`ops::bright`], [`ops::contrast`], [`ops::sharpen`], [`ops::info`], [`ops::watermark`], [`ops::text`], [`ops::format`], [`ops::quality`], [`ops::size_limit`]); no vendor syntax |
//! | [`codec`] | the codecs' vocabulary ([`ImageFormat`], [`Rgb`], [`codec::Raster`]), [`codec::decode`] (format sniffing, header limits, decoding), [`codec::encode`], [`codec::jpeg`] (libjpeg-turbo and the JPEG header walking), [`codec::gif`] (animations frame by frame) |
//! | [`exec`] | [`run`] (several pipelines over one decode, each result beside its input) and [`run_one`]: decode, plan and apply each step, encode (or answer a JSON document: [`Content`]); [`exec::plan`]: the same from the header alone |
//! | [`cost`] | [`cost::estimate`]: a batch's peak memory from the header and the plans alone, before a pixel is decoded (what a worker's memory budget admits) |
//! | [`resources`] | [`Resources`]: what a run takes besides its inputs (limits, deadline (checked in bands of rows inside long steps: [`resources::Deadline`]), watermark images, fonts, video frames through [`FrameLookup`]) |
//! | [`fonts`] | the system font loader callers hand to [`Resources::with_fonts`] for text watermarks: the only module that reads files, never called by the engine itself |
//! | [`limits`] | [`Limits`]: source bytes, header dimensions, output geometry |
//! | [`metadata`] | [`metadata::MetadataPolicy`]: which EXIF tags and which colour profile a result carries (configuration; Qiniu `strip` drops them all) |
//! | [`error`] | [`PipelineError`] and the stable [`ErrorCode`]s the HTTP surfaces map to vendor errors |
//! | [`video`] | [`video::FrameGrab`]: which frame of a video source a pipeline starts from (extracted through the caller's [`FrameLookup`]), and its canonical text |
//!
//! # Flow
//!
//! ```text
//! "image/resize,w_100/format,png" --parse::oss-----\
//! "imageMogr2/thumbnail/100x|saveas/..." --qiniu---+--> Command { Pipeline, SaveAs }
//!                                                   |
//! source bytes --probe (header)--> plan steps (limits) --> decode --> steps --> encode --> Rendered
//! ```
//!
//! # Example
//!
//! ```
//! use pipeline::{parse, NoStyles};
//!
//! let command = parse::oss::parse_process(
//!     "image/resize,m_fill,w_300,h_300/format,png|sys/saveas,o_dGVzdC5qcGc",
//!     &NoStyles,
//! )?;
//! assert_eq!(command.pipeline.to_string(), "image/resize,m_fill,w_300,h_300/format,png");
//! assert_eq!(command.save_as.and_then(|target| target.key).as_deref(), Some("test.jpg"));
//! # Ok::<(), pipeline::PipelineError>(())
//! ```

pub mod ast;
pub mod codec;
pub mod cost;
pub mod error;
pub mod exec;
pub mod fonts;
pub mod limits;
pub mod metadata;
pub mod ops;
pub mod parse;
pub mod resources;
pub mod video;

pub use ast::{Command, OutputSettings, Pipeline, SaveAs, Step};
pub use codec::decode::SourceInfo;
pub use codec::{ImageFormat, Rgb};
pub use error::{ErrorCode, PipelineError};
pub use exec::{run, run_one, Content, Rendered};
pub use limits::Limits;
pub use ops::format::OutputFormat;
pub use ops::quality::Quality;
pub use ops::resize::{Resize, ResizeMode};
pub use parse::{NoStyles, StyleLookup};
pub use resources::{FrameLookup, NoFrames, Resources};

/// Reads a source's format (sniffed from the content) and dimensions from its header alone,
/// without decoding pixels or applying limits. Cheap enough for the API to call on an upload.
pub fn probe(source: &[u8]) -> Result<SourceInfo, PipelineError> {
    codec::decode::probe(source)
}
