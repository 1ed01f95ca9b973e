//! The one error type of the crate, and the stable codes the HTTP surfaces map it to.
//!
//! Every failure, from a typo in a processing string to a truncated JPEG, becomes a
//! [`PipelineError`] with an [`ErrorCode`]. The code is what the surfaces translate into the
//! vendor's error (`<Code>` in an OSS XML error, the `code`/`error` of a Qiniu item), so its
//! string form must never change once released. The message is for people: it names the action
//! and the argument that failed (`resize: w_5000 is out of range 1-4096`).

use serde::{Deserialize, Serialize};
use std::fmt;

/// What kind of failure happened. The vendor's code is used wherever the vendor documents one
/// (see the OSS "错误响应" table); the others are ours and describe engine failures that the
/// vendors fold into a generic error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ErrorCode {
    /// A parameter has a bad value, is out of range, is unknown, or the syntax is wrong.
    InvalidArgument,
    /// A required parameter is absent (`resize` with none of w, h, l, s, p).
    MissingArgument,
    /// The request is well formed but cannot be carried out on this image.
    BadRequest,
    /// The source or the planned result exceeds a size limit (bytes, sides or pixels).
    ImageTooLarge,
    /// A watermark step failed (its image is missing or unusable).
    WatermarkError,
    /// `style/<name>` names a style that does not exist.
    NoSuchStyle,
    /// An OSS old-API (`@`) string chains more than 4 parts with `|` (老版 "管道目前限制在4个").
    TooManyPipe,
    /// The operation is part of a vendor language but Ferrotype does not do it (yet).
    NotImplemented,
    /// The source is an image format we recognise but do not decode (PSD, ICO, JPEG XL...).
    UnsupportedFormat,
    /// The source could not be decoded: truncated, corrupt, or not an image at all.
    DecodeFailed,
    /// The result could not be encoded. This is our fault, not the caller's.
    EncodeFailed,
    /// The processing deadline passed before the pipeline finished.
    DeadlineExceeded,
    /// A broken invariant inside the engine (OSS `InternalError`): a bug, never the input.
    InternalError,
}

impl ErrorCode {
    /// The stable string for this code: the vendor's code where one exists.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidArgument => "InvalidArgument",
            ErrorCode::MissingArgument => "MissingArgument",
            ErrorCode::BadRequest => "BadRequest",
            ErrorCode::ImageTooLarge => "ImageTooLarge",
            ErrorCode::WatermarkError => "WatermarkError",
            ErrorCode::NoSuchStyle => "NoSuchStyle",
            ErrorCode::TooManyPipe => "TooManyPipe",
            ErrorCode::NotImplemented => "NotImplemented",
            ErrorCode::UnsupportedFormat => "UnsupportedFormat",
            ErrorCode::DecodeFailed => "DecodeFailed",
            ErrorCode::EncodeFailed => "EncodeFailed",
            ErrorCode::DeadlineExceeded => "DeadlineExceeded",
            ErrorCode::InternalError => "InternalError",
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A failure anywhere in parsing, decoding, processing or encoding.
///
/// `Display` shows only the message, because the surfaces put code and message in separate
/// fields of their error bodies.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct PipelineError {
    /// The kind of failure; maps to the vendor error code.
    pub code: ErrorCode,
    /// 0-based index of the failing step, when one step is to blame.
    ///
    /// For parse errors it counts the steps as the user wrote them (OSS: the `/`-separated
    /// actions after `image/`; Qiniu: the `|`-separated parts of one command), so it can be
    /// reported as Qiniu's `errorIndex`. For execution errors it indexes `Pipeline::steps`.
    pub step: Option<usize>,
    /// A sentence for people that names the action and the argument involved.
    pub message: String,
}

impl PipelineError {
    /// An error with a code and a message, not tied to a step.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        PipelineError {
            code,
            step: None,
            message: message.into(),
        }
    }

    /// The same error, blamed on the step at `index` (keeps an index already set, because the
    /// innermost code knows best which step failed).
    pub fn at_step(mut self, index: usize) -> Self {
        if self.step.is_none() {
            self.step = Some(index);
        }
        self
    }

    /// Shorthand for an [`ErrorCode::InvalidArgument`] error.
    pub fn invalid_argument(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidArgument, message)
    }

    /// Shorthand for an [`ErrorCode::InternalError`] error.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InternalError, message)
    }

    /// Shorthand for an [`ErrorCode::MissingArgument`] error.
    pub fn missing_argument(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::MissingArgument, message)
    }

    /// Shorthand for an [`ErrorCode::NotImplemented`] error.
    pub fn not_implemented(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::NotImplemented, message)
    }

    /// Shorthand for an [`ErrorCode::ImageTooLarge`] error.
    pub fn image_too_large(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::ImageTooLarge, message)
    }

    /// Shorthand for an [`ErrorCode::DecodeFailed`] error.
    pub fn decode_failed(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::DecodeFailed, message)
    }

    /// Shorthand for an [`ErrorCode::EncodeFailed`] error.
    pub fn encode_failed(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::EncodeFailed, message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vendor_codes_keep_their_vendor_spelling() {
        // Their HTTP statuses are the surfaces' business (`api::failure`).
        let table = [
            (ErrorCode::InvalidArgument, "InvalidArgument"),
            (ErrorCode::MissingArgument, "MissingArgument"),
            (ErrorCode::BadRequest, "BadRequest"),
            (ErrorCode::ImageTooLarge, "ImageTooLarge"),
            (ErrorCode::WatermarkError, "WatermarkError"),
            (ErrorCode::NoSuchStyle, "NoSuchStyle"),
            (ErrorCode::TooManyPipe, "TooManyPipe"),
            (ErrorCode::NotImplemented, "NotImplemented"),
            (ErrorCode::UnsupportedFormat, "UnsupportedFormat"),
            (ErrorCode::DecodeFailed, "DecodeFailed"),
            (ErrorCode::EncodeFailed, "EncodeFailed"),
            (ErrorCode::DeadlineExceeded, "DeadlineExceeded"),
            (ErrorCode::InternalError, "InternalError"),
        ];
        for (code, text) in table {
            assert_eq!(code.as_str(), text);
            assert_eq!(code.to_string(), text);
        }
    }

    #[test]
    fn display_is_the_message_and_the_first_step_sticks() {
        let error = PipelineError::invalid_argument("resize: w_0 is out of range 1-4096")
            .at_step(2)
            .at_step(5);
        assert_eq!(error.to_string(), "resize: w_0 is out of range 1-4096");
        assert_eq!(error.step, Some(2));
    }
}
