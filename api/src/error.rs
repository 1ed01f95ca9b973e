//! The native surface's errors: one enum, one place that turns it into HTTP.
//! Body: `{"code": "<stable code>", "message": "...", "command"?: n, "step"?: n}`.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use jobs::error::{LedgerError, StoreError, SubmitError};
use serde::Serialize;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("missing or malformed credentials")]
    Unauthenticated,
    #[error("wrong access key or secret")]
    BadCredentials,
    #[error("access denied: {0}")]
    AccessDenied(String),
    #[error("{0}")]
    BadRequest(String),
    #[error("no such job: {0}")]
    NoSuchJob(String),
    #[error("no such style: {0}")]
    NoSuchStyle(String),
    #[error("no such upload rule: {0}")]
    NoSuchRule(String),
    #[error("{0}")]
    TooManyStyles(String),
    #[error(transparent)]
    Submit(#[from] SubmitError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Ledger(#[from] LedgerError),
}

#[derive(Serialize)]
struct Body<'a> {
    code: &'a str,
    message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    command: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    step: Option<usize>,
}

impl ApiError {
    fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            ApiError::Unauthenticated | ApiError::BadCredentials => {
                (StatusCode::UNAUTHORIZED, "Unauthorized")
            }
            ApiError::AccessDenied(_) => (StatusCode::FORBIDDEN, "AccessDenied"),
            ApiError::BadRequest(_) => (StatusCode::BAD_REQUEST, "InvalidArgument"),
            ApiError::NoSuchJob(_) => (StatusCode::NOT_FOUND, "NoSuchJob"),
            ApiError::NoSuchStyle(_) => (StatusCode::NOT_FOUND, "NoSuchStyle"),
            ApiError::NoSuchRule(_) => (StatusCode::NOT_FOUND, "NoSuchRule"),
            ApiError::TooManyStyles(_) => (StatusCode::BAD_REQUEST, "TooManyStyles"),
            ApiError::Submit(error) => (submit_status(error), error.code()),
            ApiError::Store(error) => (store_status(error), error.code()),
            ApiError::Ledger(error) => match error {
                LedgerError::NoSuchJob(_) => (StatusCode::NOT_FOUND, "NoSuchJob"),
                _ => (StatusCode::INTERNAL_SERVER_ERROR, "InternalError"),
            },
        }
    }
}

fn submit_status(error: &SubmitError) -> StatusCode {
    match error {
        SubmitError::Pipeline { source, .. } => {
            StatusCode::from_u16(source.http_status()).unwrap_or(StatusCode::BAD_REQUEST)
        }
        SubmitError::BadRequest(_) => StatusCode::BAD_REQUEST,
        SubmitError::AccessDenied { .. } => StatusCode::FORBIDDEN,
        SubmitError::NoSuchPipeline(_) => StatusCode::NOT_FOUND,
        SubmitError::Store(error) => store_status(error),
        SubmitError::Ledger(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

fn store_status(error: &StoreError) -> StatusCode {
    match error {
        StoreError::NoSuchBucket(_) | StoreError::NoSuchKey { .. } => StatusCode::NOT_FOUND,
        StoreError::InvalidBucket(_) | StoreError::InvalidKey(_) => StatusCode::BAD_REQUEST,
        StoreError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
        StoreError::Io { .. } | StoreError::Backend { .. } => StatusCode::SERVICE_UNAVAILABLE,
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        if status.is_server_error() {
            tracing::error!(error = %self, "request failed");
        }
        let (command, step) = match &self {
            ApiError::Submit(SubmitError::Pipeline { index, source }) => {
                (Some(*index), source.step)
            }
            _ => (None, None),
        };
        let message = if status.is_server_error() {
            "internal error; see the server log".to_string()
        } else {
            self.to_string()
        };
        let mut response = (
            status,
            Json(Body {
                code,
                message,
                command,
                step,
            }),
        )
            .into_response();
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"ferrotype\""),
            );
        }
        response
    }
}
