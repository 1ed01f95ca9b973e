//! The face detector of a process: the MTCNN models of one folder, loaded the first time a
//! picture is searched (a worker that is never asked for faces never pays for them), and kept.

use super::mtcnn::Mtcnn;
use super::{Face, FaceDetection};
use crate::codec::Raster;
use crate::error::PipelineError;
use crate::resources::Deadline;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock, PoisonError};

/// Where the service looks for the models unless configured otherwise (`face_models`):
/// where `scripts/services.sh` `ensure_face_models` installs them.
pub const DEFAULT_FACE_MODELS: &str = "/usr/local/share/ferrotype/mtcnn";

/// The models of one folder, loaded on first use; a folder that cannot be loaded answers
/// every search with the reason (`NotImplemented`, naming the missing file), until the
/// process restarts.
pub struct InstalledFaces {
    folder: PathBuf,
    loaded: OnceLock<Result<Mtcnn, PipelineError>>,
}

impl InstalledFaces {
    /// The process's one detector for the models in `folder` (a process configures one
    /// folder, a test binary a few: each is kept for the life of the process).
    pub fn shared_at(folder: &Path) -> &'static InstalledFaces {
        static SHARED: OnceLock<Mutex<Vec<&'static InstalledFaces>>> = OnceLock::new();
        let mut detectors = SHARED
            .get_or_init(Mutex::default)
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(detector) = detectors.iter().find(|detector| detector.folder == folder) {
            return detector;
        }
        let detector: &'static InstalledFaces = Box::leak(Box::new(InstalledFaces {
            folder: folder.to_path_buf(),
            loaded: OnceLock::new(),
        }));
        detectors.push(detector);
        detector
    }

    fn detector(&self) -> Result<&Mtcnn, PipelineError> {
        self.loaded
            .get_or_init(|| Mtcnn::from_folder(&self.folder))
            .as_ref()
            .map_err(Clone::clone)
    }
}

impl FaceDetection for InstalledFaces {
    fn detect(&self, raster: &Raster, deadline: &Deadline) -> Result<Vec<Face>, PipelineError> {
        self.detector()?.detect(raster, deadline)
    }
}
