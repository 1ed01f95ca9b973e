//! What the surfaces share about failures. Each surface renders a `jobs::error::Failure` in
//! its own `error` module. The native and the OSS surface answer a code with the same HTTP
//! status (the OSS document's table, extended to every code): that one map is here; Qiniu's
//! own is in `qiniu::error`.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;
use jobs::error::FailureCode;
use pipeline::ErrorCode;

/// The HTTP status of every code, on the surfaces that answer plain HTTP statuses.
pub fn http_status(code: FailureCode) -> StatusCode {
    match code {
        FailureCode::Pipeline(code) => engine_status(code),
        FailureCode::InvalidBucketName
        | FailureCode::InvalidObjectName
        | FailureCode::TooManyStyles
        | FailureCode::InvalidDigest
        | FailureCode::MalformedXML
        | FailureCode::InvalidPart
        | FailureCode::InvalidPartOrder
        | FailureCode::EntityTooSmall => StatusCode::BAD_REQUEST,
        FailureCode::Unauthorized => StatusCode::UNAUTHORIZED,
        FailureCode::AccessDenied
        | FailureCode::SignatureDoesNotMatch
        | FailureCode::InvalidAccessKeyId
        | FailureCode::RequestTimeTooSkewed => StatusCode::FORBIDDEN,
        FailureCode::NoSuchBucket
        | FailureCode::NoSuchKey
        | FailureCode::NoSuchPipeline
        | FailureCode::NoSuchJob
        | FailureCode::NoSuchRule
        | FailureCode::NoSuchUpload => StatusCode::NOT_FOUND,
        FailureCode::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
        FailureCode::PreconditionFailed => StatusCode::PRECONDITION_FAILED,
        FailureCode::KeyExists | FailureCode::BucketNotEmpty | FailureCode::KeyConflict => {
            StatusCode::CONFLICT
        }
        FailureCode::EntityTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        FailureCode::StorageError | FailureCode::RetryExhausted => {
            StatusCode::INTERNAL_SERVER_ERROR
        }
        FailureCode::ProcessTimeout => StatusCode::GATEWAY_TIMEOUT,
        FailureCode::SlowDown | FailureCode::ServiceUnavailable => StatusCode::SERVICE_UNAVAILABLE,
        // OSS answers a failed upload callback 203 with the error body.
        FailureCode::CallbackFailed => StatusCode::NON_AUTHORITATIVE_INFORMATION,
    }
}

/// Headers a failure adds on every surface: `Retry-After` (seconds) where the client is told
/// to come back later, so that SDKs and CDNs back off instead of hammering.
pub fn add_failure_headers(code: FailureCode, response: &mut Response) {
    if matches!(
        code,
        FailureCode::SlowDown | FailureCode::ServiceUnavailable
    ) {
        (response.headers_mut()).insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    }
}

/// The status of an engine code, after the OSS document's table: the caller's request or
/// image 400, a missing style 404, our own failures 500, what is not done 501, a deadline 504.
fn engine_status(code: ErrorCode) -> StatusCode {
    match code {
        ErrorCode::InvalidArgument
        | ErrorCode::MissingArgument
        | ErrorCode::BadRequest
        | ErrorCode::ImageTooLarge
        | ErrorCode::WatermarkError
        | ErrorCode::TooManyPipe
        | ErrorCode::UnsupportedFormat
        | ErrorCode::DecodeFailed => StatusCode::BAD_REQUEST,
        ErrorCode::NoSuchStyle => StatusCode::NOT_FOUND,
        ErrorCode::EncodeFailed | ErrorCode::InternalError => StatusCode::INTERNAL_SERVER_ERROR,
        ErrorCode::NotImplemented => StatusCode::NOT_IMPLEMENTED,
        ErrorCode::DeadlineExceeded => StatusCode::GATEWAY_TIMEOUT,
    }
}

/// `From` every error that converts into a `Failure` for a surface's error type (a newtype
/// around the `Failure`), so that handlers can use `?` on any `jobs` error.
macro_rules! surface_error {
    ($surface:ident) => {
        impl<E: Into<jobs::error::Failure>> From<E> for $surface {
            fn from(error: E) -> Self {
                $surface(error.into())
            }
        }
    };
}

pub(crate) use surface_error;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{native, qiniu};

    #[test]
    fn engine_codes_answer_the_oss_documents_statuses() {
        // The table the engine once carried as a hint, now where the statuses are decided.
        let table = [
            (ErrorCode::InvalidArgument, 400),
            (ErrorCode::MissingArgument, 400),
            (ErrorCode::BadRequest, 400),
            (ErrorCode::ImageTooLarge, 400),
            (ErrorCode::WatermarkError, 400),
            (ErrorCode::NoSuchStyle, 404),
            (ErrorCode::TooManyPipe, 400),
            (ErrorCode::NotImplemented, 501),
            (ErrorCode::UnsupportedFormat, 400),
            (ErrorCode::DecodeFailed, 400),
            (ErrorCode::EncodeFailed, 500),
            (ErrorCode::DeadlineExceeded, 504),
            (ErrorCode::InternalError, 500),
        ];
        for (code, status) in table {
            assert_eq!(http_status(code.into()).as_u16(), status, "{code}");
        }
    }

    #[test]
    fn each_surface_keeps_its_statuses() {
        // (code, native, OSS, Qiniu), as the surfaces answered before the codes were typed;
        // a code a surface never met then (KeyExists, NoSuchJob and Unauthorized on OSS,
        // KeyExists natively) has the status its meaning asks for.
        let table = [
            (FailureCode::INVALID_ARGUMENT, 400, 400, 400),
            (FailureCode::NO_SUCH_STYLE, 404, 404, 400),
            (FailureCode::NOT_IMPLEMENTED, 501, 501, 400),
            (FailureCode::INTERNAL_ERROR, 500, 500, 599),
            (
                FailureCode::Pipeline(ErrorCode::DeadlineExceeded),
                504,
                504,
                504,
            ),
            (
                FailureCode::Pipeline(ErrorCode::DecodeFailed),
                400,
                400,
                400,
            ),
            (FailureCode::NoSuchBucket, 404, 404, 631),
            (FailureCode::NoSuchKey, 404, 404, 612),
            (FailureCode::CallbackFailed, 203, 203, 579),
            (FailureCode::InvalidObjectName, 400, 400, 400),
            (FailureCode::EntityTooLarge, 413, 413, 413),
            (FailureCode::StorageError, 503, 500, 599),
            (FailureCode::AccessDenied, 403, 403, 403),
            (FailureCode::Unauthorized, 401, 401, 401),
            (FailureCode::SignatureDoesNotMatch, 403, 403, 401),
            (FailureCode::InvalidAccessKeyId, 403, 403, 401),
            (FailureCode::RequestTimeTooSkewed, 403, 403, 401),
            (FailureCode::NoSuchPipeline, 404, 404, 404),
            (FailureCode::NoSuchJob, 404, 404, 612),
            (FailureCode::KeyExists, 409, 409, 614),
            (FailureCode::TooManyStyles, 400, 400, 400),
            (FailureCode::RetryExhausted, 500, 500, 599),
            (FailureCode::ProcessTimeout, 504, 504, 504),
            (FailureCode::SlowDown, 503, 503, 503),
            (FailureCode::ServiceUnavailable, 503, 503, 503),
            (FailureCode::InvalidDigest, 400, 400, 400),
            (FailureCode::MalformedXML, 400, 400, 400),
            (FailureCode::InvalidPart, 400, 400, 701),
            (FailureCode::InvalidPartOrder, 400, 400, 400),
            (FailureCode::EntityTooSmall, 400, 400, 400),
            (FailureCode::NoSuchUpload, 404, 404, 612),
            (FailureCode::BucketNotEmpty, 409, 409, 409),
            (FailureCode::KeyConflict, 409, 409, 409),
            (FailureCode::PreconditionFailed, 412, 412, 412),
        ];
        for (code, native, oss, qiniu) in table {
            assert_eq!(native::error::status_of(code).as_u16(), native, "{code}");
            assert_eq!(http_status(code).as_u16(), oss, "{code}");
            assert_eq!(qiniu::error::status_of(code), qiniu, "{code}");
        }
    }
}
