//! The OSS surface's errors, mapped to OSS's XML in this one place:
//!
//! ```xml
//! <?xml version="1.0" encoding="UTF-8"?>
//! <Error><Code>..</Code><Message>..</Message><RequestId>..</RequestId><HostId>..</HostId></Error>
//! ```
//!
//! Statuses follow the OSS document's table: InvalidArgument, BadRequest, MissingArgument,
//! ImageTooLarge, WatermarkError 400; AccessDenied, SignatureDoesNotMatch 403; NoSuchKey,
//! NoSuchStyle, NoSuchBucket 404; InternalError 500; NotImplemented 501.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use jobs::error::{LedgerError, StoreError, SubmitError};

use super::oss::REQUEST_ID;
use crate::auth::AuthError;

#[derive(Debug, thiserror::Error)]
pub enum OssError {
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error("{message}")]
    Coded { code: String, message: String },
    #[error(transparent)]
    Submit(#[from] SubmitError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Ledger(#[from] LedgerError),
}

impl OssError {
    pub fn new(code: &str, message: impl Into<String>) -> OssError {
        OssError::Coded {
            code: code.to_string(),
            message: message.into(),
        }
    }
}

/// The status OSS answers a code with. Codes of failed items (the engine's and the
/// store's) land here too.
pub fn status_of(code: &str) -> StatusCode {
    match code {
        "AccessDenied" | "SignatureDoesNotMatch" | "RequestTimeTooSkewed" => StatusCode::FORBIDDEN,
        "NoSuchKey" | "NoSuchFile" | "NoSuchStyle" | "NoSuchBucket" | "NoSuchPipeline" => {
            StatusCode::NOT_FOUND
        }
        "EntityTooLarge" => StatusCode::PAYLOAD_TOO_LARGE,
        "NotImplemented" => StatusCode::NOT_IMPLEMENTED,
        "MethodNotAllowed" => StatusCode::METHOD_NOT_ALLOWED,
        "InternalError" | "EncodeFailed" | "RetryExhausted" | "StorageError" => {
            StatusCode::INTERNAL_SERVER_ERROR
        }
        "DeadlineExceeded" | "ProcessTimeout" => StatusCode::GATEWAY_TIMEOUT,
        _ => StatusCode::BAD_REQUEST,
    }
}

impl OssError {
    fn code_and_message(&self) -> (String, String) {
        match self {
            OssError::Auth(error) => match error {
                AuthError::BadSignature => (
                    "SignatureDoesNotMatch".into(),
                    "The request signature we calculated does not match the signature you provided."
                        .into(),
                ),
                AuthError::UnknownKey(key) => (
                    "InvalidAccessKeyId".into(),
                    format!("The OSS Access Key Id you provided does not exist: {key}"),
                ),
                AuthError::Expired(message) => ("RequestTimeTooSkewed".into(), message.clone()),
                AuthError::Missing => ("AccessDenied".into(), "Anonymous access is forbidden.".into()),
                AuthError::Malformed(message) => ("AccessDenied".into(), message.clone()),
                AuthError::Ledger(_) => ("InternalError".into(), "internal error".into()),
            },
            OssError::Coded { code, message } => (code.clone(), message.clone()),
            OssError::Submit(error) => match error {
                SubmitError::Ledger(_) => ("InternalError".into(), "internal error".into()),
                _ => (error.code().to_string(), error.to_string()),
            },
            OssError::Store(error) => (error.code().to_string(), error.to_string()),
            OssError::Ledger(_) => ("InternalError".into(), "internal error".into()),
        }
    }

    pub fn into_response_with(self, request_id: &str) -> Response {
        let (code, message) = self.code_and_message();
        let mut status = status_of(&code);
        if code == "InvalidAccessKeyId" {
            status = StatusCode::FORBIDDEN;
        }
        if status.is_server_error() {
            tracing::error!(error = %self, "oss request failed");
        }
        let body = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{}</Code><Message>{}</Message>\
             <RequestId>{}</RequestId><HostId>ferrotype</HostId></Error>",
            escape(&code),
            escape(&message),
            escape(request_id)
        );
        let mut response = (status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/xml"),
        );
        if let Ok(value) = HeaderValue::from_str(request_id) {
            headers.insert(REQUEST_ID, value);
        }
        response
    }
}

impl IntoResponse for OssError {
    fn into_response(self) -> Response {
        self.into_response_with(&super::new_request_id())
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
