//! What every credential scheme shares. Every scheme checks the same access keys (the
//! ledger's `access_keys`); only how a request proves it holds the secret differs, and that is
//! each surface's: `native::auth` (HTTP Basic), `qiniu::auth` (`QBox`, `Qiniu` v2, upload
//! tokens and the put policy they carry), `oss::auth` (signature V1).
//!
//! Signatures are compared in constant time (`jobs::credentials::secrets_equal`) and secrets
//! never reach a log line or an error message.

use axum::http::{header, HeaderMap};
use hmac::{Hmac, KeyInit, Mac};
use jobs::credentials::secrets_equal;
use jobs::error::{FailureCode, LedgerError};
use jobs::ledger::AccessKey;
use jobs::Ledger;
use sha1::Sha1;

/// Why a signed request was not authenticated. Each surface renders these in its own words.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("the request carries no credentials")]
    Missing,
    #[error("malformed credentials: {0}")]
    Malformed(String),
    #[error("unknown access key {0}")]
    UnknownKey(String),
    #[error("the signature does not match")]
    BadSignature,
    #[error("{0}")]
    Expired(String),
    #[error(transparent)]
    Ledger(#[from] LedgerError),
}

impl AuthError {
    pub fn code(&self) -> FailureCode {
        match self {
            AuthError::Missing | AuthError::Malformed(_) => FailureCode::Unauthorized,
            AuthError::UnknownKey(_) => FailureCode::InvalidAccessKeyId,
            AuthError::BadSignature => FailureCode::SignatureDoesNotMatch,
            AuthError::Expired(_) => FailureCode::RequestTimeTooSkewed,
            AuthError::Ledger(error) => error.code(),
        }
    }
}

/// The `Authorization` header's text.
pub fn authorization(headers: &HeaderMap) -> Result<&str, AuthError> {
    headers
        .get(header::AUTHORIZATION)
        .ok_or(AuthError::Missing)?
        .to_str()
        .map_err(|_| AuthError::Malformed("Authorization is not text".into()))
}

/// HMAC-SHA1, the primitive of every vendor scheme here.
pub fn hmac_sha1(secret: &[u8], data: &[u8]) -> Vec<u8> {
    // HMAC takes keys of any length, so this cannot fail.
    let mut mac = match <Hmac<Sha1> as KeyInit>::new_from_slice(secret) {
        Ok(mac) => mac,
        Err(_) => return Vec::new(),
    };
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

/// The access key named `access_key`, once the request proves it holds the key's secret:
/// `expected` computes from the secret what the request must present (its signature, or
/// the secret itself).
pub async fn verify_key(
    ledger: &Ledger,
    access_key: &str,
    presented: &str,
    expected: impl FnOnce(&str) -> String,
) -> Result<AccessKey, AuthError> {
    let key = ledger
        .access_key(access_key)
        .await?
        .ok_or_else(|| AuthError::UnknownKey(access_key.to_string()))?;
    if secrets_equal(&expected(&key.secret_key), presented) {
        Ok(key)
    } else {
        Err(AuthError::BadSignature)
    }
}
