//! The native surface's credentials: HTTP Basic with an access key and its secret.

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use base64::Engine;
use jobs::credentials::Permission;
use jobs::error::{Failure, FailureCode};
use jobs::ledger::AccessKey;
use jobs::Services;

use super::error::NativeError;
use crate::auth::{verify_key, AuthError};

/// The caller, authenticated. Handlers that take it cannot run for anonymous requests.
pub struct Caller(pub AccessKey);

impl Caller {
    /// `Ok` when the caller holds `permission` on `bucket`. The native surface words a
    /// denial as a submission does: "access denied: ...".
    pub fn require(&self, bucket: &str, permission: Permission) -> Result<(), NativeError> {
        self.0.require(bucket, permission).map_err(|denied| {
            NativeError(Failure::new(
                FailureCode::AccessDenied,
                format!("access denied: {denied}"),
            ))
        })
    }
}

impl FromRequestParts<Arc<Services>> for Caller {
    type Rejection = NativeError;

    async fn from_request_parts(
        parts: &mut Parts,
        services: &Arc<Services>,
    ) -> Result<Self, Self::Rejection> {
        let (access_key, secret) = basic_credentials(parts).ok_or(AuthError::Missing)?;
        let key = verify_key(&services.ledger, &access_key, &secret, str::to_string).await?;
        Ok(Caller(key))
    }
}

fn basic_credentials(parts: &Parts) -> Option<(String, String)> {
    let value = parts.headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, password) = text.split_once(':')?;
    Some((user.to_string(), password.to_string()))
}
