//! What every credential scheme shares. Every scheme checks the same access keys (the
//! ledger's `access_keys`); only how a request proves it holds the secret differs, and that is
//! each surface's: `native::auth` (HTTP Basic), `qiniu::auth` (`QBox`, `Qiniu` v2, upload
//! tokens and the put policy they carry, private download URLs), `oss::auth` (signatures V1,
//! V2 and V4, in the header and presigned in the query).
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
use sha2::{Digest, Sha256};

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
    /// The request's own time is too far from ours (a header date, an upload token's
    /// deadline): OSS `RequestTimeTooSkewed`, Qiniu "expired token".
    #[error("{0}")]
    Expired(String),
    /// A presigned URL past its expiry, or a query signature missing a part: OSS answers
    /// these `AccessDenied`.
    #[error("{0}")]
    Denied(String),
    /// Credentials the vendor answers as a bad argument (OSS `InvalidArgument`): a malformed
    /// `Authorization`, a V4 scope naming another region or date.
    #[error("{0}")]
    Invalid(String),
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
            AuthError::Denied(_) => FailureCode::AccessDenied,
            AuthError::Invalid(_) => FailureCode::INVALID_ARGUMENT,
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
    hmac::<Hmac<Sha1>>(secret, data)
}

/// HMAC-SHA256, the primitive of OSS signatures V2 and V4.
pub fn hmac_sha256(secret: &[u8], data: &[u8]) -> Vec<u8> {
    hmac::<Hmac<Sha256>>(secret, data)
}

fn hmac<M: Mac + KeyInit>(secret: &[u8], data: &[u8]) -> Vec<u8> {
    // HMAC takes keys of any length, so this cannot fail.
    let Ok(mut mac) = <M as KeyInit>::new_from_slice(secret) else {
        return Vec::new();
    };
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

/// SHA-256 of `data`, in lowercase hex (OSS V4 hashes its canonical request so).
pub fn sha256_hex(data: &[u8]) -> String {
    lower_hex(&Sha256::digest(data))
}

/// `bytes` in lowercase hex, two digits each.
pub fn lower_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut text = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        text.push(char::from(DIGITS[usize::from(byte >> 4)]));
        text.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
    text
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
    verify_key_any(ledger, access_key, presented, |secret| {
        vec![expected(secret)]
    })
    .await
}

/// Like [`verify_key`], when a request may have been signed in more than one form (a URL
/// signed as `http://` or as `https://`): `expected` computes every acceptable one.
pub async fn verify_key_any(
    ledger: &Ledger,
    access_key: &str,
    presented: &str,
    expected: impl FnOnce(&str) -> Vec<String>,
) -> Result<AccessKey, AuthError> {
    let key = ledger
        .access_key(access_key)
        .await?
        .ok_or_else(|| AuthError::UnknownKey(access_key.to_string()))?;
    let matches = expected(&key.secret_key)
        .iter()
        .any(|candidate| secrets_equal(candidate, presented));
    if matches {
        Ok(key)
    } else {
        Err(AuthError::BadSignature)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_matches_the_standard_vectors() {
        // FIPS 180-2's "abc"; RFC 4231 test case 2 for HMAC-SHA256.
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(
            lower_hex(&hmac_sha256(b"Jefe", b"what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
