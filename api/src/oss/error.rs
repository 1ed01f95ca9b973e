//! The OSS surface's errors: a `Failure`, rendered as OSS's XML in this one place:
//!
//! ```xml
//! <?xml version="1.0" encoding="UTF-8"?>
//! <Error><Code>..</Code><Message>..</Message><RequestId>..</RequestId><HostId>..</HostId></Error>
//! ```
//!
//! Statuses follow the OSS document's table (`crate::failure::http_status`): InvalidArgument,
//! BadRequest, MissingArgument, ImageTooLarge, WatermarkError 400; AccessDenied,
//! SignatureDoesNotMatch 403; NoSuchKey, NoSuchStyle, NoSuchBucket 404; InternalError 500;
//! NotImplemented 501. Codes of failed items (the engine's and the store's) are answered here
//! too.

use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use jobs::error::{Failure, FailureCode};

use crate::auth::AuthError;
use crate::failure::{http_status, surface_error};

#[derive(Debug)]
pub struct OssError(pub Failure);

surface_error!(OssError);

impl OssError {
    pub fn new(code: FailureCode, message: impl Into<String>) -> OssError {
        OssError(Failure::new(code, message))
    }
}

/// OSS's words for credential failures: a missing one, an expired presigned URL `AccessDenied`,
/// a malformed `Authorization` `InvalidArgument`.
impl From<AuthError> for OssError {
    fn from(error: AuthError) -> Self {
        match error {
            AuthError::BadSignature => OssError::new(
                FailureCode::SignatureDoesNotMatch,
                "The request signature we calculated does not match the signature you provided. \
                 Check your key and signing method.",
            ),
            AuthError::UnknownKey(key) => OssError::new(
                FailureCode::InvalidAccessKeyId,
                format!("The OSS Access Key Id you provided does not exist: {key}"),
            ),
            AuthError::Expired(message) => {
                OssError::new(FailureCode::RequestTimeTooSkewed, message)
            }
            AuthError::Missing => {
                OssError::new(FailureCode::AccessDenied, "Anonymous access is forbidden.")
            }
            AuthError::Malformed(message) | AuthError::Denied(message) => {
                OssError::new(FailureCode::AccessDenied, message)
            }
            AuthError::Invalid(message) => OssError::new(FailureCode::INVALID_ARGUMENT, message),
            AuthError::Ledger(error) => OssError(error.into()),
        }
    }
}

impl OssError {
    /// The XML error; the dispatcher adds `x-oss-request-id`.
    pub fn into_response_with(self, request_id: &str) -> Response {
        let failure = self.0;
        let status = http_status(failure.code);
        if status.is_server_error() {
            tracing::error!(error = %failure, "oss request failed");
        }
        let message = if failure.internal {
            "internal error"
        } else {
            failure.message.as_str()
        };
        let body = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{}</Code><Message>{}</Message>\
             <RequestId>{}</RequestId><HostId>ferrotype</HostId></Error>",
            escape(failure.code.as_str()),
            escape(message),
            escape(request_id)
        );
        let mut response = (status, body).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/xml"),
        );
        crate::failure::add_failure_headers(failure.code, &mut response);
        response
    }
}

pub(super) fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
