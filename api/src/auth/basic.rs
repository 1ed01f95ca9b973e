//! The native surface: HTTP Basic with an access key and its secret.

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use base64::Engine;
use jobs::credentials::{secrets_equal, Permission};
use jobs::ledger::AccessKey;
use jobs::Services;

use crate::error::ApiError;

/// The caller, authenticated. Handlers that take it cannot run for anonymous requests.
pub struct Caller(pub AccessKey);

impl Caller {
    pub fn require(&self, bucket: &str, permission: Permission) -> Result<(), ApiError> {
        if self.0.allows(bucket, permission) {
            Ok(())
        } else {
            Err(ApiError::AccessDenied(format!(
                "{} has no {} grant on bucket {bucket}",
                self.0.access_key,
                permission.as_str()
            )))
        }
    }
}

impl FromRequestParts<Arc<Services>> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        services: &Arc<Services>,
    ) -> Result<Self, Self::Rejection> {
        let (access_key, secret) = basic_credentials(parts).ok_or(ApiError::Unauthenticated)?;
        let key = services
            .ledger
            .access_key(&access_key)
            .await?
            .ok_or(ApiError::BadCredentials)?;
        if !secrets_equal(&key.secret_key, &secret) {
            return Err(ApiError::BadCredentials);
        }
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
