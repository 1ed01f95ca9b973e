//! What a run needs from outside its inputs, in one bundle: [`Resources`].
//!
//! The engine is pure, so everything that lives in the world (watermark images in buckets,
//! the installed fonts, a video decoder, a face detector, the clock's deadline) is handed in by the caller
//! through a lookup trait. A run without a resource gets the `No*` stand-in, whose every
//! lookup misses: a watermark image is missing, a text mark has no font, a video has no frame, a face
//! search is not implemented.

use std::time::Instant;

use crate::error::{ErrorCode, PipelineError};
use crate::limits::Limits;
use crate::metadata::MetadataPolicy;
use crate::ops::faces::{FaceDetection, NO_FACES};
use crate::ops::text::{FontLookup, NoFonts};
use crate::ops::watermark::{AssetLookup, NoAssets};
use crate::video::FrameGrab;

/// Extracts one frame of a video source, for pipelines that start from a video
/// ([`crate::Pipeline::frame`]: OSS `video/snapshot`, Qiniu `vframe`). The worker and
/// `ferrotype process` implement it with ffmpeg; the engine then runs the rest of the pipeline
/// on the frame as on any image.
pub trait FrameLookup {
    /// The frame `grab` names, as encoded image bytes (PNG, say).
    fn frame(&self, video: &[u8], grab: &FrameGrab) -> Result<Vec<u8>, PipelineError>;
}

/// No video decoder: a pipeline that starts from a video frame is `NotImplemented`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NoFrames;

impl FrameLookup for NoFrames {
    fn frame(&self, _video: &[u8], _grab: &FrameGrab) -> Result<Vec<u8>, PipelineError> {
        Err(PipelineError::new(
            ErrorCode::NotImplemented,
            "video: this engine has no frame extractor for video sources",
        ))
    }
}

/// Everything a run takes besides its pipelines and source: the limits, the deadline, and
/// the lookups for watermark images, fonts and video frames.
#[derive(Clone, Copy)]
pub struct Resources<'a> {
    /// The limits of the run.
    pub limits: &'a Limits,
    /// Past this instant the run stops with `DeadlineExceeded` (checked between stages, and
    /// inside the long ones in bands of rows: see [`Deadline`]).
    pub deadline: Option<Instant>,
    /// Where watermark images come from (see [`crate::Pipeline::asset_references`]).
    pub assets: &'a dyn AssetLookup,
    /// Where the fonts of text watermarks come from (see [`crate::fonts::SystemFonts`]).
    pub fonts: &'a dyn FontLookup,
    /// Where the frames of video sources come from.
    pub frames: &'a dyn FrameLookup,
    /// What finds faces (`imm/detectface`).
    pub faces: &'a dyn FaceDetection,
    /// Which EXIF tags and colour profile results carry.
    pub metadata: MetadataPolicy,
}

impl<'a> Resources<'a> {
    /// `limits`, no deadline, and no watermark images, fonts or video frames.
    pub fn new(limits: &'a Limits) -> Resources<'a> {
        Resources {
            limits,
            deadline: None,
            assets: &NoAssets,
            fonts: &NoFonts,
            frames: &NoFrames,
            faces: &NO_FACES,
            metadata: MetadataPolicy::default(),
        }
    }

    /// These resources with `metadata` as the metadata policy.
    pub fn with_metadata(self, metadata: MetadataPolicy) -> Resources<'a> {
        Resources { metadata, ..self }
    }

    /// These resources with `deadline`.
    pub fn with_deadline(self, deadline: Option<Instant>) -> Resources<'a> {
        Resources { deadline, ..self }
    }

    /// These resources with the watermark images of `assets`.
    pub fn with_assets(self, assets: &'a dyn AssetLookup) -> Resources<'a> {
        Resources { assets, ..self }
    }

    /// These resources with the fonts of `fonts`.
    pub fn with_fonts(self, fonts: &'a dyn FontLookup) -> Resources<'a> {
        Resources { fonts, ..self }
    }

    /// These resources with `faces` as the face detector.
    pub fn with_faces(self, faces: &'a dyn FaceDetection) -> Resources<'a> {
        Resources { faces, ..self }
    }

    /// These resources with the video frames of `frames`.
    pub fn with_frames(self, frames: &'a dyn FrameLookup) -> Resources<'a> {
        Resources { frames, ..self }
    }

    /// `DeadlineExceeded` once the deadline has passed; `stage` names what was about to start
    /// (built only when the deadline has passed).
    pub(crate) fn check_deadline(
        &self,
        stage: impl FnOnce() -> String,
    ) -> Result<(), PipelineError> {
        Deadline(self.deadline).check(|| format!("before {}", stage()))
    }
}

/// The instant a run must end by, as the steps see it: a long step (a blur, a sharpen or a
/// rotation of a big raster) checks it between bands of rows, so that a passed deadline stops
/// it within a band's time, not after minutes of work nobody will read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Deadline(pub Option<Instant>);

impl Deadline {
    /// Rows a long step works between two looks at the clock: small enough that a band of
    /// the widest raster (30,000 px) under the heaviest kernel takes well under 100 ms,
    /// large enough that the clock costs nothing.
    pub const BAND_ROWS: usize = 8;

    /// `DeadlineExceeded` once the deadline has passed; `when` says where the run was
    /// (`"during blur"`), built only then.
    pub fn check(&self, when: impl FnOnce() -> String) -> Result<(), PipelineError> {
        match self.0 {
            Some(deadline) if Instant::now() >= deadline => Err(PipelineError::new(
                ErrorCode::DeadlineExceeded,
                format!("the processing deadline passed {}", when()),
            )),
            _ => Ok(()),
        }
    }

    /// [`Deadline::check`] at the start of every [`Deadline::BAND_ROWS`]-th row of `action`.
    pub fn check_row(&self, row: usize, action: &str) -> Result<(), PipelineError> {
        if !row.is_multiple_of(Self::BAND_ROWS) {
            return Ok(());
        }
        self.check(|| format!("during {action} (at row {row})"))
    }
}

impl std::fmt::Debug for Resources<'_> {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Resources")
            .field("limits", self.limits)
            .field("deadline", &self.deadline)
            .finish_non_exhaustive()
    }
}
