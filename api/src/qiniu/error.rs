//! The Qiniu surface's errors: a `Failure`, rendered in Qiniu's wire format in this one
//! place: `{"error": "<message>"}` with Qiniu's statuses (400 bad request, 401 bad or expired
//! token, 403 denied, 404 no such pipeline, 413 too large, 612 no such id or key, 614 key exists, 631
//! no such bucket, 579 callback failed, 599 server error; a download answers 404 for what is
//! missing). The `X-Reqid` header is added by the surface's response layer.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use jobs::error::{Failure, FailureCode};
use pipeline::ErrorCode;
use serde_json::json;

use crate::auth::AuthError;
use crate::failure::surface_error;

#[derive(Debug)]
pub struct QiniuError(pub Failure);

surface_error!(QiniuError);

impl QiniuError {
    pub fn new(code: FailureCode, message: impl Into<String>) -> QiniuError {
        QiniuError(Failure::new(code, message))
    }

    /// A request the surface cannot read (400).
    pub fn bad_request(message: impl Into<String>) -> QiniuError {
        QiniuError::new(FailureCode::INVALID_ARGUMENT, message)
    }
}

impl From<AuthError> for QiniuError {
    fn from(error: AuthError) -> Self {
        match error {
            AuthError::Ledger(error) => QiniuError(error.into()),
            error => QiniuError::new(error.code(), error.to_string()),
        }
    }
}

/// Qiniu's "server error" status.
const SERVER_ERROR: u16 = 599;

/// The status of every code on this surface.
pub fn status_of(code: FailureCode) -> u16 {
    match code {
        FailureCode::Pipeline(code) => engine_status(code),
        FailureCode::InvalidBucketName
        | FailureCode::InvalidObjectName
        | FailureCode::TooManyStyles
        | FailureCode::InvalidDigest
        | FailureCode::MalformedXML
        | FailureCode::InvalidPartOrder
        | FailureCode::EntityTooSmall => 400,
        FailureCode::Unauthorized
        | FailureCode::SignatureDoesNotMatch
        | FailureCode::InvalidAccessKeyId
        | FailureCode::RequestTimeTooSkewed => 401,
        FailureCode::AccessDenied => 403,
        FailureCode::NoSuchPipeline | FailureCode::NoSuchRule => 404,
        // rs, rsf and up answer a missing key 612 and a missing bucket 631; a download
        // answers 404 for both ([`QiniuError::into_download_response`]).
        FailureCode::NoSuchKey => 612,
        FailureCode::NoSuchBucket => 631,
        FailureCode::MethodNotAllowed => 405,
        FailureCode::PreconditionFailed => 412,
        FailureCode::BucketNotEmpty | FailureCode::KeyConflict => 409,
        FailureCode::EntityTooLarge => 413,
        // Qiniu's "no such resource" (a job, an upload).
        FailureCode::NoSuchJob | FailureCode::NoSuchUpload => 612,
        FailureCode::KeyExists => 614,
        FailureCode::StorageError | FailureCode::RetryExhausted => SERVER_ERROR,
        FailureCode::ProcessTimeout => 504,
        FailureCode::CallbackFailed => 579,
        // A ctx or part that is not one this upload made.
        FailureCode::InvalidPart => 701,
        FailureCode::SlowDown | FailureCode::ServiceUnavailable => 503,
    }
}

/// The engine's codes: a bad fop or image is the request's fault (400, as Qiniu answers a bad
/// fop); an encoder failure or an `InternalError` is ours (599); a render past its deadline
/// (a GET that processes) is a gateway timeout.
fn engine_status(code: ErrorCode) -> u16 {
    match code {
        ErrorCode::InternalError | ErrorCode::EncodeFailed => SERVER_ERROR,
        ErrorCode::InvalidArgument
        | ErrorCode::MissingArgument
        | ErrorCode::NoSuchStyle
        | ErrorCode::TooManyPipe
        | ErrorCode::NotImplemented
        | ErrorCode::BadRequest
        | ErrorCode::ImageTooLarge
        | ErrorCode::WatermarkError
        | ErrorCode::UnsupportedFormat
        | ErrorCode::DecodeFailed => 400,
        ErrorCode::DeadlineExceeded => 504,
    }
}

/// The fixed sentences Qiniu answers some codes with, whatever happened in detail.
fn qiniu_message(code: FailureCode) -> Option<&'static str> {
    match code {
        FailureCode::Unauthorized
        | FailureCode::SignatureDoesNotMatch
        | FailureCode::InvalidAccessKeyId => Some("bad token"),
        FailureCode::RequestTimeTooSkewed => Some("expired token"),
        FailureCode::NoSuchJob => Some("no such id"),
        FailureCode::NoSuchKey => Some("no such file or directory"),
        FailureCode::NoSuchBucket => Some("no such bucket"),
        FailureCode::KeyExists => Some("file exists"),
        _ => None,
    }
}

impl QiniuError {
    /// The answer of a download host (io): a missing object or bucket is a plain 404.
    pub fn into_download_response(self) -> Response {
        let status = match self.0.code {
            FailureCode::NoSuchKey | FailureCode::NoSuchBucket => 404,
            code => status_of(code),
        };
        self.respond(status)
    }

    /// The status and the `error` text this error is answered with (a batch's entry).
    pub fn status_and_message(&self) -> (u16, String) {
        let failure = &self.0;
        let code = status_of(failure.code);
        if code >= 500 {
            tracing::error!(error = %failure, "qiniu request failed");
        }
        let message = match qiniu_message(failure.code) {
            _ if failure.internal => "server error",
            Some(fixed) => fixed,
            None => failure.message.as_str(),
        };
        (code, message.to_string())
    }

    fn respond(self, code: u16) -> Response {
        let (_, message) = self.status_and_message();
        let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = (status, Json(json!({ "error": message }))).into_response();
        crate::failure::add_failure_headers(self.0.code, &mut response);
        response
    }
}

impl IntoResponse for QiniuError {
    fn into_response(self) -> Response {
        let code = status_of(self.0.code);
        self.respond(code)
    }
}
