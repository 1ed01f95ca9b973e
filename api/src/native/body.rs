//! The one place a native JSON body becomes a typed request: [`JsonBody`].

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use serde::de::DeserializeOwned;

use super::error::NativeError;

/// A request type read from a JSON body, and what its error calls it.
pub trait JsonRequest: DeserializeOwned {
    /// `job` in "invalid job request: ...".
    const NAME: &'static str;
}

/// The body, read as a `T`. A body that cannot be read, or is not a `T`, is a 400
/// `InvalidArgument`. A handler that must answer other checks first takes
/// `Result<JsonBody<T>, NativeError>` and applies `?` where its order says.
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: JsonRequest> FromRequest<S> for JsonBody<T> {
    type Rejection = NativeError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let body = Bytes::from_request(request, state)
            .await
            .map_err(|rejection| NativeError::bad_request(rejection.body_text()))?;
        serde_json::from_slice(&body)
            .map(JsonBody)
            .map_err(|e| NativeError::bad_request(format!("invalid {} request: {e}", T::NAME)))
    }
}
