//! Credentials, one module per scheme. Every scheme checks the same access keys (the
//! ledger's `access_keys`); only how a request proves it holds the secret differs.
//!
//! - [`basic`]: HTTP Basic, the native surface.
//! - [`qiniu`]: Qiniu `QBox` (v1) and `Qiniu` (v2) request signatures, upload tokens and
//!   the put policy they carry.
//! - [`oss`]: Aliyun OSS signature V1 (`Authorization: OSS AK:sig`).
//!
//! Signatures are compared in constant time (`jobs::credentials::secrets_equal`) and secrets
//! never reach a log line or an error message.

pub mod basic;
pub mod oss;
pub mod qiniu;

pub use basic::Caller;

use hmac::{Hmac, KeyInit, Mac};
use jobs::error::LedgerError;
use sha1::Sha1;

/// Why a signed request was not authenticated. Each surface maps these to its wire format.
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
