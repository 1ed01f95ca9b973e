//! OSS `imm/detectface`: the faces in a picture, where they are and how sure the detector is.
//!
//! The answer follows IMM's `DetectImageFaces`, which the action is a front for ("人脸识别
//! ... 能够检测图片中的人脸矩形框和属性。如果图片有多张人脸，则会把多张人脸的矩形框和属性都检测出来"):
//!
//! ```text
//! {"Faces": [{"FaceId": "4199e1985b6d...", "FaceConfidence": 0.9704,
//!             "FaceAttributes": {"FaceBoundary": {"Left": 607, "Top": 628, "Width": 894, "Height": 928}},
//!             "FaceLandmarks": {"LeftEye": {"X": 880, "Y": 960}, "RightEye": ..., "Nose": ...,
//!                               "MouthLeft": ..., "MouthRight": ...}}]}
//! ```
//!
//! (the surface adds `ImageUri`, `RequestId`, `httpStatusCode` and `success`). Faces come
//! largest first, in pixels of the picture as it is shown (its EXIF orientation applied).
//! `FaceId` is a SHA-256 over the picture's pixels and the face's rectangle: the same face
//! of the same picture keeps its id, as IMM's ids do. The vendor's other attributes (age,
//! gender, emotion, beard, glasses, mask, race, attractiveness) need classifiers this
//! engine does not have and are left out rather than invented; the five landmarks, which
//! the detector gives, are added.
//!
//! The detector is handed in by the caller ([`FaceDetection`] in [`crate::Resources`]): the
//! worker hands in [`installed::InstalledFaces`], which loads [`mtcnn::Mtcnn`] from the
//! installed models; without them the action is `NotImplemented` and says what to install.

pub mod focus;
pub mod installed;
pub mod mtcnn;

use crate::codec::Raster;
use crate::error::{ErrorCode, PipelineError};
use crate::ops::auto_orient::{transform, Transform};
use crate::resources::{Deadline, Resources};
use mtcnn::picture::Pixels;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::borrow::Cow;

/// A face in a picture, in its pixels.
#[derive(Debug, Clone, PartialEq)]
pub struct Face {
    pub left: u32,
    pub top: u32,
    pub width: u32,
    pub height: u32,
    /// The detector's score, 0 to 1.
    pub confidence: f32,
    /// Left eye, right eye, nose, left and right corners of the mouth (as seen in the
    /// picture: the "left" eye is the one on the picture's left).
    pub landmarks: [(f32, f32); 5],
}

/// Finds the faces of a picture.
pub trait FaceDetection {
    /// The faces in `raster`, largest first; `deadline` bounds the search.
    fn detect(&self, raster: &Raster, deadline: &Deadline) -> Result<Vec<Face>, PipelineError>;
}

/// No detector: face detection is `NotImplemented`, for the reason given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoFaces(pub Cow<'static, str>);

/// The stand-in of runs given no detector.
pub static NO_FACES: NoFaces = NoFaces(Cow::Borrowed(
    "imm/detectface: this engine was given no face detector",
));

impl FaceDetection for NoFaces {
    fn detect(&self, _raster: &Raster, _deadline: &Deadline) -> Result<Vec<Face>, PipelineError> {
        Err(PipelineError::new(
            ErrorCode::NotImplemented,
            self.0.to_string(),
        ))
    }
}

impl FaceDetection for mtcnn::Mtcnn {
    fn detect(&self, raster: &Raster, deadline: &Deadline) -> Result<Vec<Face>, PipelineError> {
        let pixels = Pixels {
            width: raster.width() as usize,
            height: raster.height() as usize,
            channels: raster.layout().bytes_per_pixel(),
            bytes: raster.data(),
        };
        self.faces(&pixels, deadline)
    }
}

/// The JSON answer for `source`: decoded within the limits, oriented, and searched.
pub fn render(source: &[u8], resources: &Resources<'_>) -> Result<Value, PipelineError> {
    let decoded = crate::codec::decode::decode(source, resources.limits)?;
    let upright = transform(&decoded.raster, Transform::from_exif(decoded.orientation));
    let faces = resources
        .faces
        .detect(&upright, &Deadline(resources.deadline))?;
    let picture_digest = Sha256::digest(upright.data());
    let faces: Vec<Value> = faces
        .iter()
        .map(|face| to_json(face, &picture_digest))
        .collect();
    Ok(json!({ "Faces": faces }))
}

/// One face as IMM writes it.
fn to_json(face: &Face, picture_digest: &[u8]) -> Value {
    let point = |(x, y): (f32, f32)| json!({ "X": x.round() as i64, "Y": y.round() as i64 });
    let [left_eye, right_eye, nose, mouth_left, mouth_right] = face.landmarks.map(point);
    json!({
        "FaceId": face_id(face, picture_digest),
        // Six decimals, what an f32 score holds: a longer decimal is read back by JSON
        // parsers (the surface's own, adding the request members) a unit off in the last place.
        "FaceConfidence": (f64::from(face.confidence) * 1e6).round() / 1e6,
        "FaceAttributes": {
            "FaceBoundary": {
                "Left": face.left, "Top": face.top, "Width": face.width, "Height": face.height,
            },
        },
        "FaceLandmarks": {
            "LeftEye": left_eye, "RightEye": right_eye, "Nose": nose,
            "MouthLeft": mouth_left, "MouthRight": mouth_right,
        },
    })
}

/// 64 hex digits naming the face: the picture's digest and the face's rectangle, hashed.
fn face_id(face: &Face, picture_digest: &[u8]) -> String {
    let mut hasher = Sha256::new();
    hasher.update(picture_digest);
    for value in [face.left, face.top, face.width, face.height] {
        hasher.update(value.to_be_bytes());
    }
    hasher
        .finalize()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::installed::{InstalledFaces, DEFAULT_FACE_MODELS};
    use super::*;
    use crate::limits::Limits;
    use crate::ops::test_support::{fixture, with_exif_orientation};
    use std::path::PathBuf;
    use std::time::Instant;

    /// The installed models (`scripts/test` installs them first; a test that finds none
    /// fails, saying so, rather than passing without looking).
    fn installed() -> &'static InstalledFaces {
        let folder = std::env::var_os("FERROTYPE_FACE_MODELS")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(DEFAULT_FACE_MODELS));
        InstalledFaces::shared_at(&folder)
    }

    /// `imm/detectface` on `source` through the parser and the executor, as a worker runs it.
    fn answer(source: &[u8]) -> Result<Value, PipelineError> {
        let pipeline = crate::parse::oss::parse_process("imm/detectface", &crate::parse::NoStyles)
            .unwrap()
            .pipeline;
        let limits = Limits::default();
        let resources = Resources::new(&limits).with_faces(installed());
        let rendered = crate::exec::run_one(&pipeline, source, &resources)?;
        assert_eq!(rendered.content, crate::exec::Content::Json);
        Ok(serde_json::from_slice(&rendered.bytes).unwrap())
    }

    fn boundary(face: &Value) -> [i64; 4] {
        let boundary = &face["FaceAttributes"]["FaceBoundary"];
        ["Left", "Top", "Width", "Height"].map(|name| boundary[name].as_i64().unwrap())
    }

    fn near(found: [i64; 4], expected: [i64; 4], tolerance: i64) -> bool {
        found
            .iter()
            .zip(expected)
            .all(|(a, b)| (a - b).abs() <= tolerance)
    }

    #[test]
    fn the_astronaut_has_one_face_with_its_landmarks_inside_it() {
        let answer = answer(&fixture("face-astronaut-320x320.jpg")).unwrap();
        let faces = answer["Faces"].as_array().unwrap();
        assert_eq!(faces.len(), 1, "{answer}");
        let face = &faces[0];
        let [left, top, width, height] = boundary(face);
        assert!(
            near([left, top, width, height], ASTRONAUT_FACE, 6),
            "{answer}"
        );
        assert!(face["FaceConfidence"].as_f64().unwrap() > 0.9, "{answer}");
        assert_eq!(face["FaceId"].as_str().unwrap().len(), 64);
        let landmarks = face["FaceLandmarks"].as_object().unwrap();
        assert_eq!(landmarks.len(), 5);
        for point in landmarks.values() {
            let (x, y) = (point["X"].as_i64().unwrap(), point["Y"].as_i64().unwrap());
            assert!((left..left + width).contains(&x), "{answer}");
            assert!((top..top + height).contains(&y), "{answer}");
        }
        let eyes = &face["FaceLandmarks"];
        assert!(eyes["LeftEye"]["X"].as_i64() < eyes["RightEye"]["X"].as_i64());
        assert!(eyes["LeftEye"]["Y"].as_i64() < eyes["MouthLeft"]["Y"].as_i64());
    }

    /// Where the astronaut's face is in the 320 x 320 fixture (the detector's box, checked
    /// by eye on the picture).
    const ASTRONAUT_FACE: [i64; 4] = [114, 40, 50, 67];

    #[test]
    fn two_faces_come_largest_first_and_keep_their_ids() {
        let source = fixture("faces-two-640x320.jpg");
        let answer = answer(&source).unwrap();
        let faces = answer["Faces"].as_array().unwrap();
        assert_eq!(faces.len(), 2, "{answer}");
        let areas: Vec<i64> = faces
            .iter()
            .map(|f| boundary(f)[2] * boundary(f)[3])
            .collect();
        assert!(areas[0] >= areas[1], "{answer}");
        let lefts: Vec<i64> = faces.iter().map(|f| boundary(f)[0]).collect();
        assert!(lefts.iter().any(|&x| x < 320) && lefts.iter().any(|&x| x >= 320));
        let again = self::answer(&source).unwrap();
        assert_eq!(answer, again, "the same picture gives the same ids");
        assert_ne!(faces[0]["FaceId"], faces[1]["FaceId"]);
    }

    #[test]
    fn pictures_without_faces_have_none() {
        for name in ["no-face-cat-300x225.jpg", "no-face-coffee-300x200.jpg"] {
            let answer = answer(&fixture(name)).unwrap();
            assert_eq!(answer, json!({ "Faces": [] }), "{name}");
        }
    }

    #[test]
    fn faces_are_found_in_the_picture_as_it_is_shown() {
        let decoded = crate::codec::decode::decode(
            &fixture("face-astronaut-320x320.jpg"),
            &Limits::default(),
        )
        .unwrap();
        // Stored a quarter turn counter-clockwise, shown upright by orientation 6.
        let stored = transform(&decoded.raster, Transform::Rotate270);
        let options = crate::codec::encode::EncodeOptions {
            quality: 95,
            progressive: false,
            deadline: Deadline::default(),
            carried: &crate::metadata::Carried::default(),
        };
        let jpeg = crate::codec::encode::encode(&stored, crate::codec::ImageFormat::Jpeg, &options)
            .unwrap();
        let answer = answer(&with_exif_orientation(&jpeg, 6)).unwrap();
        let faces = answer["Faces"].as_array().unwrap();
        assert_eq!(faces.len(), 1, "{answer}");
        assert!(near(boundary(&faces[0]), ASTRONAUT_FACE, 8), "{answer}");
    }

    #[test]
    fn a_run_without_a_detector_or_past_its_deadline_says_so() {
        let pipeline = crate::parse::oss::parse_process("imm/detectface", &crate::parse::NoStyles)
            .unwrap()
            .pipeline;
        let source = fixture("face-astronaut-320x320.jpg");
        let limits = Limits::default();
        let bare = crate::exec::run_one(&pipeline, &source, &Resources::new(&limits));
        assert_eq!(bare.unwrap_err().code, ErrorCode::NotImplemented);
        let late = Resources::new(&limits)
            .with_faces(installed())
            .with_deadline(Some(Instant::now()));
        let error = crate::exec::run_one(&pipeline, &source, &late).unwrap_err();
        assert_eq!(error.code, ErrorCode::DeadlineExceeded);
        let missing = InstalledFaces::shared_at(std::path::Path::new("/nonexistent/models"));
        let error = crate::exec::run_one(
            &pipeline,
            &source,
            &Resources::new(&limits).with_faces(missing),
        )
        .unwrap_err();
        assert_eq!(error.code, ErrorCode::NotImplemented);
        assert!(error.message.contains("ensure_face_models"), "{error}");
    }

    /// The pixels of `text` (OSS or Qiniu) run on `source` with the installed detector.
    fn pixels_of(text: &str, source: &[u8]) -> Raster {
        let pipeline = match text.starts_with("imageMogr2") {
            true => crate::parse::qiniu::parse_fops(text).unwrap().remove(0),
            false => crate::parse::oss::parse_process(text, &crate::parse::NoStyles).unwrap(),
        }
        .pipeline;
        let limits = Limits::default();
        let resources = Resources::new(&limits).with_faces(installed());
        let rendered = crate::exec::run_one(&pipeline, source, &resources)
            .unwrap_or_else(|error| panic!("{text}: {error}"));
        crate::codec::decode::decode(&rendered.bytes, &limits)
            .unwrap()
            .raster
    }

    #[test]
    fn a_face_crop_centres_on_the_faces_and_stays_inside_the_picture() {
        let source = fixture("face-astronaut-320x320.jpg");
        // The face's box is (114, 40) 50x67: its centre (139, 73.5) is the crop's centre.
        let around = pixels_of("image/crop,w_100,h_100,g_face/format,png", &source);
        let placed = pixels_of("image/crop,x_89,y_24,w_100,h_100/format,png", &source);
        assert_eq!(around.dimensions(), (100, 100));
        assert!(
            around.data() == placed.data(),
            "the crop is not at (89, 24)"
        );
        let qiniu = pixels_of("imageMogr2/gravity/Face/crop/100x100/format/png", &source);
        assert!(qiniu.data() == placed.data());
        // Offsets move the box from there.
        let moved = pixels_of("image/crop,x_20,y_0,w_100,h_100,g_face/format,png", &source);
        let there = pixels_of("image/crop,x_109,y_24,w_100,h_100/format,png", &source);
        assert!(moved.data() == there.data(), "the crop is not at (109, 24)");
    }

    #[test]
    fn without_faces_face_gravity_is_the_centre() {
        let source = fixture("no-face-cat-300x225.jpg");
        let face = pixels_of("image/crop,w_100,h_100,g_face/format,png", &source);
        let centre = pixels_of("image/crop,w_100,h_100,g_center/format,png", &source);
        assert!(face.data() == centre.data());
        let fill = pixels_of("image/resize,m_fill,w_50,h_150,g_face/format,png", &source);
        let plain = pixels_of("image/resize,m_fill,w_50,h_150/format,png", &source);
        assert!(fill.data() == plain.data());
    }

    #[test]
    fn a_face_fill_keeps_the_face_in_the_middle_of_a_narrow_result() {
        let source = fixture("face-astronaut-320x320.jpg");
        let middle_of_face = |raster: &Raster| {
            let faces = installed().detect(raster, &Deadline::default()).unwrap();
            assert_eq!(faces.len(), 1, "{faces:?}");
            f64::from(faces[0].left) + f64::from(faces[0].width) / 2.0
        };
        let around = pixels_of("image/resize,m_fill,w_100,h_300,g_face/format,png", &source);
        assert_eq!(around.dimensions(), (100, 300));
        assert!((middle_of_face(&around) - 50.0).abs() < 8.0);
        // The centred fill has the face well left of the middle.
        let plain = pixels_of("image/resize,m_fill,w_100,h_300/format,png", &source);
        assert!(middle_of_face(&plain) < 40.0);
    }
}
