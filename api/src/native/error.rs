//! The native surface's errors: a `Failure`, and the one place that turns it into HTTP.
//! Body: `{"code": "<stable code>", "message": "...", "command"?: n, "step"?: n}`; a 5xx
//! answer keeps its message for the log.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use jobs::error::{Failure, FailureCode};
use serde::Serialize;

use crate::auth::AuthError;
use crate::failure::{http_status, surface_error};

#[derive(Debug)]
pub struct NativeError(pub Failure);

surface_error!(NativeError);

impl NativeError {
    /// A request the surface cannot read (400 `InvalidArgument`).
    pub fn bad_request(message: impl Into<String>) -> NativeError {
        NativeError(Failure::new(FailureCode::INVALID_ARGUMENT, message))
    }
}

/// Every credential failure is a 401 here; the message says only what the client can fix.
impl From<AuthError> for NativeError {
    fn from(error: AuthError) -> Self {
        let message = match error {
            AuthError::Ledger(error) => return NativeError(error.into()),
            AuthError::Missing
            | AuthError::Malformed(_)
            | AuthError::Denied(_)
            | AuthError::Invalid(_) => "missing or malformed credentials".into(),
            AuthError::UnknownKey(_) | AuthError::BadSignature => {
                "wrong access key or secret".into()
            }
            AuthError::Expired(message) => message,
        };
        NativeError(Failure::new(FailureCode::Unauthorized, message))
    }
}

/// The status of every code on this surface: the shared table, except that a storage
/// failure asks the client to try again later (503).
pub fn status_of(code: FailureCode) -> StatusCode {
    if code == FailureCode::StorageError {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        http_status(code)
    }
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

impl NativeError {
    /// The answer's body: the code, the message (a server error's is logged and replaced),
    /// and where in a submission it was found.
    fn body(&self) -> Body<'_> {
        let failure = &self.0;
        let message = if status_of(failure.code).is_server_error() {
            tracing::error!(error = %failure, "request failed");
            "internal error; see the server log".to_string()
        } else {
            failure.message.clone()
        };
        Body {
            code: failure.code.as_str(),
            message,
            command: failure.command,
            step: failure.step,
        }
    }

    /// The error as the JSON object an answer carries (a batch submission's `error`).
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self.body()).unwrap_or_default()
    }
}

impl IntoResponse for NativeError {
    fn into_response(self) -> Response {
        let code = self.0.code;
        let status = status_of(code);
        let mut response = (status, Json(self.body())).into_response();
        crate::failure::add_failure_headers(code, &mut response);
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"ferrotype\""),
            );
        }
        response
    }
}
