//! The Qiniu surface's errors, mapped to Qiniu's wire format in this one place:
//! `{"error": "<message>"}` with Qiniu's statuses (400 bad request, 401 bad or expired token,
//! 403 denied, 404 missing, 413 too large, 612 no such id, 614 key exists, 599 server error).
//! The `X-Reqid` header is added by the surface's response layer.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use jobs::error::{LedgerError, StoreError, SubmitError};
use serde_json::json;

use crate::auth::AuthError;

#[derive(Debug, thiserror::Error)]
pub enum QiniuError {
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("no such id")]
    NoSuchId,
    #[error("file exists")]
    KeyExists,
    #[error("{0}")]
    TooLarge(String),
    #[error(transparent)]
    Submit(#[from] SubmitError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Ledger(#[from] LedgerError),
}

fn status(code: u16) -> StatusCode {
    StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

/// Qiniu's "server error" status.
const SERVER_ERROR: u16 = 599;

fn store_status(error: &StoreError) -> u16 {
    match error {
        StoreError::NoSuchBucket(_) | StoreError::NoSuchKey { .. } => 404,
        StoreError::InvalidBucket(_) | StoreError::InvalidKey(_) => 400,
        StoreError::TooLarge { .. } => 413,
        StoreError::Io { .. } | StoreError::Backend { .. } => SERVER_ERROR,
    }
}

impl QiniuError {
    fn status_and_message(&self) -> (u16, String) {
        match self {
            QiniuError::Auth(AuthError::Expired(_)) => (401, "expired token".into()),
            QiniuError::Auth(AuthError::Ledger(_)) => (SERVER_ERROR, "server error".into()),
            QiniuError::Auth(_) => (401, "bad token".into()),
            QiniuError::BadRequest(message) => (400, message.clone()),
            QiniuError::Forbidden(message) => (403, message.clone()),
            QiniuError::NoSuchId => (612, "no such id".into()),
            QiniuError::KeyExists => (614, "file exists".into()),
            QiniuError::TooLarge(message) => (413, message.clone()),
            QiniuError::Submit(error) => match error {
                SubmitError::Pipeline { .. } | SubmitError::BadRequest(_) => {
                    (400, error.to_string())
                }
                SubmitError::AccessDenied { .. } => (403, error.to_string()),
                SubmitError::NoSuchPipeline(_) => (404, error.to_string()),
                SubmitError::Store(store) => (store_status(store), store.to_string()),
                SubmitError::Ledger(_) => (SERVER_ERROR, "server error".into()),
            },
            QiniuError::Store(error) => (store_status(error), error.to_string()),
            QiniuError::Ledger(_) => (SERVER_ERROR, "server error".into()),
        }
    }
}

impl IntoResponse for QiniuError {
    fn into_response(self) -> Response {
        let (code, message) = self.status_and_message();
        if code >= 500 {
            tracing::error!(error = %self, "qiniu request failed");
        }
        (status(code), Json(json!({ "error": message }))).into_response()
    }
}
