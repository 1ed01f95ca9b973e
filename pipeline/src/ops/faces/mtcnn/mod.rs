//! The face detector: MTCNN (Zhang et al., "Joint Face Detection and Alignment using
//! Multi-task Cascaded Convolutional Networks", 2016), a cascade of three small networks run
//! with tract from ONNX files installed beside the service (`scripts/services.sh`
//! `ensure_face_models`; the weights are not part of this repository).
//!
//! - [`picture`]: the working picture, area resampling, the networks' input layout;
//! - [`networks`]: loading and running the three networks;
//! - [`stages`]: proposals over a pyramid, refinement, landmarks;
//! - [`boxes`]: suppression, regression and squaring of candidate boxes.
//!
//! The picture is first shrunk so that its longer side is at most [`WORKING_SIDE`] pixels:
//! the pyramid of a 12-megapixel photo would cost seconds and find the same faces, the
//! smallest being then about 60 pixels of the photo (20 of the working picture).

pub mod boxes;
pub mod networks;
pub mod picture;
pub mod stages;

use super::Face;
use crate::error::PipelineError;
use crate::resources::Deadline;
use networks::{Proposal, Refiner};
use picture::{Picture, Pixels};
use std::path::Path;

/// The longer side of the picture the cascade works on.
pub const WORKING_SIDE: usize = 1280;

/// The model files the detector reads from its folder.
pub const MODEL_FILES: [&str; 3] = ["pnet.onnx", "rnet.onnx", "onet.onnx"];

/// The three networks, ready to run.
pub struct Mtcnn {
    proposal: Proposal,
    refine: Refiner,
    output: Refiner,
}

impl Mtcnn {
    /// The detector from the bytes of the three ONNX models.
    pub fn load(pnet: &[u8], rnet: &[u8], onet: &[u8]) -> Result<Mtcnn, PipelineError> {
        Ok(Mtcnn {
            proposal: Proposal::load(pnet)?,
            refine: Refiner::load(rnet, 24, "rnet")?,
            output: Refiner::load(onet, 48, "onet")?,
        })
    }

    /// The detector from [`MODEL_FILES`] in `folder`; `NotImplemented` naming what is
    /// missing when a file cannot be read.
    pub fn from_folder(folder: &Path) -> Result<Mtcnn, PipelineError> {
        let [pnet, rnet, onet] = MODEL_FILES.map(|name| {
            let path = folder.join(name);
            std::fs::read(&path).map_err(|error| {
                PipelineError::not_implemented(format!(
                    "imm/detectface: the face models are not installed ({}: {error}; \
                     scripts/services.sh ensure_face_models installs them)",
                    path.display()
                ))
            })
        });
        Mtcnn::load(&pnet?, &rnet?, &onet?)
    }

    /// The faces in `source`, in its own pixels, largest first.
    pub fn faces(
        &self,
        source: &Pixels<'_>,
        deadline: &Deadline,
    ) -> Result<Vec<Face>, PipelineError> {
        let longer = source.width.max(source.height).max(1);
        let shrink = (WORKING_SIDE as f32 / longer as f32).min(1.0);
        let width = ((source.width as f32 * shrink).round() as usize).max(1);
        let height = ((source.height as f32 * shrink).round() as usize).max(1);
        // Shrunk row by row from the bytes: a 12-megapixel photo never exists as floats.
        let working = Picture::shrunk_from(source, (width, height));
        let candidates = stages::propose(&self.proposal, &working, deadline)?;
        let candidates = stages::refine(&self.refine, &working, candidates, deadline)?;
        let found = stages::finish(&self.output, &working, candidates, deadline)?;
        let mut faces: Vec<Face> = found
            .iter()
            .filter_map(|found| to_face(found, shrink, &working))
            .collect();
        faces.sort_by_key(|face| std::cmp::Reverse(u64::from(face.width) * u64::from(face.height)));
        Ok(faces)
    }
}

/// `found` in the source's pixels, its box clipped to the picture; `None` when nothing of
/// it is inside.
fn to_face(found: &stages::Found, shrink: f32, working: &Picture) -> Option<Face> {
    let box_ = &found.candidate;
    let clip = |value: f32, size: usize| value.clamp(0.0, size as f32);
    let left = clip(box_.x1.trunc(), working.width);
    let top = clip(box_.y1.trunc(), working.height);
    let right = clip(box_.x2.trunc(), working.width);
    let bottom = clip(box_.y2.trunc(), working.height);
    if right <= left || bottom <= top {
        return None;
    }
    let back = |value: f32| (value / shrink).round() as u32;
    Some(Face {
        left: back(left),
        top: back(top),
        width: back(right - left),
        height: back(bottom - top),
        confidence: found.candidate.score,
        landmarks: found.landmarks.map(|(x, y)| (x / shrink, y / shrink)),
    })
}
