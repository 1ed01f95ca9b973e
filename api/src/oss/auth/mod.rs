//! OSS credentials: every signature `oss2` 2.19 sends, in the `Authorization` header and
//! presigned in the query (`Bucket.sign_url`), for every request (not only GET).
//!
//! - [`v1`]: `OSS AK:sig` (HMAC-SHA1 over the sub-resources); `OSSAccessKeyId`, `Expires`,
//!   `Signature` in the query, `Expires` standing in for the date.
//! - [`v2`]: `OSS2 AccessKeyId:..,AdditionalHeaders:..,Signature:..` (HMAC-SHA256 over every
//!   query parameter, URI-encoded); `x-oss-signature-version=OSS2` in the query.
//! - [`v4`]: `OSS4-HMAC-SHA256 Credential=AK/<date>/<region>/oss/aliyun_v4_request, ...`
//!   (a canonical request, hashed, signed with a key derived from the scope); the same
//!   fields as `x-oss-*` query parameters. The scope's region must be `oss_region`.
//!
//! [`authenticate`] picks the scheme, checks the request's time (a header date within 15
//! minutes of ours, `RequestTimeTooSkewed`; a presigned URL before its expiry, `AccessDenied`
//! "Request has expired."), then the signature against the key's secret. A request with no
//! credentials at all is [`Caller::Anonymous`]: whether it may proceed is the route's call
//! (public-read buckets). The canonical URI is always `/<bucket>/<key>` with the key decoded,
//! whichever way the request addressed the bucket.

pub mod v1;
pub mod v2;
pub mod v4;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::http::{header, HeaderMap};
use jobs::ledger::AccessKey;
use jobs::Ledger;

pub use self::v1::{canonical_resource, sign, string_to_sign};
use crate::auth::{verify_key, AuthError};

/// Largest distance between the request's date and ours.
pub const MAX_SKEW: Duration = Duration::from_secs(15 * 60);

// OSS's own sentences for credential failures.
const MISSING_DATE: &str = "OSS authentication requires a valid Date.";
const EXPIRED: &str = "Request has expired.";
const SKEWED: &str = "The difference between the request time and the current time is too large.";
const INVALID_AUTHORIZATION: &str = "Authorization header is invalid.";

/// Who sent a request: nobody in particular, or the holder of an access key.
pub use jobs::credentials::Caller;

/// The key, for routes that serve no anonymous caller ("Anonymous access is forbidden.").
pub fn require_key(caller: Caller) -> Result<AccessKey, AuthError> {
    match caller {
        Caller::Key(key) => Ok(key),
        Caller::Anonymous => Err(AuthError::Missing),
    }
}

/// What the signatures cover: the method, the headers, the bucket and key (decoded), and
/// the query as decoded `(name, value)` pairs in the order they came.
#[derive(Debug, Clone, Copy)]
pub struct SignedRequest<'a> {
    pub method: &'a str,
    pub headers: &'a HeaderMap,
    pub bucket: &'a str,
    pub key: &'a str,
    pub query: &'a [(String, String)],
}

impl SignedRequest<'_> {
    /// A header's text, empty when absent (as the SDK signs a missing header).
    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }

    fn param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    fn has_param(&self, name: &str) -> bool {
        self.param(name).is_some()
    }

    /// `/<bucket>/<key>` before any encoding; `/` for the service itself (ListBuckets).
    fn path(&self) -> String {
        if self.bucket.is_empty() {
            return "/".to_string();
        }
        format!("/{}/{}", self.bucket, self.key)
    }
}

/// What a well-formed request claims: the key it names, the signature it presents, and
/// what that signature must be computed over.
#[derive(Debug, Clone)]
pub struct Claim {
    pub access_key: String,
    pub signature: String,
    pub proof: Proof,
}

/// The string to sign of each scheme, and how a secret signs it.
#[derive(Debug, Clone)]
pub enum Proof {
    V1(String),
    V2(String),
    V4 {
        scope: v4::Scope,
        string_to_sign: String,
    },
}

impl Proof {
    /// The signature the holder of `secret` sends.
    pub fn sign(&self, secret: &str) -> String {
        match self {
            Proof::V1(text) => v1::sign(secret, text),
            Proof::V2(text) => v2::sign(secret, text),
            Proof::V4 {
                scope,
                string_to_sign,
            } => v4::sign(secret, scope, string_to_sign),
        }
    }
}

/// Authenticates an OSS request signed any way `oss2` signs, or none.
pub async fn authenticate(
    ledger: &Ledger,
    request: &SignedRequest<'_>,
    now: SystemTime,
    region: &str,
) -> Result<Caller, AuthError> {
    let Some(claim) = claim(request, now, region)? else {
        return Ok(Caller::Anonymous);
    };
    let proof = &claim.proof;
    let key = verify_key(ledger, &claim.access_key, &claim.signature, |secret| {
        proof.sign(secret)
    })
    .await?;
    Ok(Caller::Key(key))
}

/// The request's claim, its form and time checked; `None` when it carries no credentials.
pub fn claim(
    request: &SignedRequest<'_>,
    now: SystemTime,
    region: &str,
) -> Result<Option<Claim>, AuthError> {
    match request.headers.get(header::AUTHORIZATION) {
        Some(value) => {
            let text = value.to_str().map_err(|_| invalid_authorization())?;
            header_claim(text, request, now, region).map(Some)
        }
        None => query_claim(request, now, region),
    }
}

fn header_claim(
    authorization: &str,
    request: &SignedRequest<'_>,
    now: SystemTime,
    region: &str,
) -> Result<Claim, AuthError> {
    let (scheme, credentials) = authorization
        .trim()
        .split_once(' ')
        .ok_or_else(invalid_authorization)?;
    match scheme {
        "OSS" => v1::header_claim(credentials, request, now),
        "OSS2" => v2::header_claim(credentials, request, now),
        "OSS4-HMAC-SHA256" => v4::header_claim(credentials, request, now, region),
        _ => Err(invalid_authorization()),
    }
}

/// The query parameters that make a request presigned, whatever the version.
const QUERY_CREDENTIALS: [&str; 6] = [
    "OSSAccessKeyId",
    "Signature",
    "x-oss-signature",
    "x-oss-credential",
    "x-oss-access-key-id",
    "x-oss-signature-version",
];

/// Whether `name` is a query parameter of a presigned OSS URL.
pub fn is_query_credential(name: &str) -> bool {
    QUERY_CREDENTIALS.contains(&name)
}

fn query_claim(
    request: &SignedRequest<'_>,
    now: SystemTime,
    region: &str,
) -> Result<Option<Claim>, AuthError> {
    match request.param("x-oss-signature-version") {
        Some(v2::VERSION) => v2::query_claim(request, now).map(Some),
        Some(v4::ALGORITHM) => v4::query_claim(request, now, region).map(Some),
        Some(other) => Err(AuthError::Invalid(format!(
            "Unsupported signature version {other:?}."
        ))),
        None if request.has_param("x-oss-signature") => Err(AuthError::Denied(
            "Query-string authentication requires x-oss-signature-version.".into(),
        )),
        None if QUERY_CREDENTIALS.iter().any(|n| request.has_param(n)) => {
            v1::query_claim(request, now).map(Some)
        }
        None => Ok(None),
    }
}

fn invalid_authorization() -> AuthError {
    AuthError::Invalid(INVALID_AUTHORIZATION.into())
}

/// Seconds since the epoch (before it, negative).
fn unix_seconds(time: SystemTime) -> i64 {
    match time.duration_since(UNIX_EPOCH) {
        Ok(after) => i64::try_from(after.as_secs()).unwrap_or(i64::MAX),
        Err(before) => -i64::try_from(before.duration().as_secs()).unwrap_or(i64::MAX),
    }
}

/// A header-signed request must be sent within [`MAX_SKEW`] of now, either way.
fn check_skew(request_time: SystemTime, now: SystemTime) -> Result<(), AuthError> {
    let skew = now
        .duration_since(request_time)
        .unwrap_or_else(|e| e.duration());
    if skew > MAX_SKEW {
        return Err(AuthError::Expired(SKEWED.into()));
    }
    Ok(())
}

/// A presigned URL serves until its expiry (unix seconds), included.
fn check_expiry(expires_at: i64, now: SystemTime) -> Result<(), AuthError> {
    if unix_seconds(now) > expires_at {
        return Err(AuthError::Denied(EXPIRED.into()));
    }
    Ok(())
}

/// The HTTP date in the `Date` header (or `x-oss-date` first, when `oss_date_first`), as
/// text and as a time.
fn http_date<'a>(
    request: &SignedRequest<'a>,
    oss_date_first: bool,
) -> Result<(&'a str, SystemTime), AuthError> {
    let header = |name: &str| {
        request
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .filter(|v| !v.is_empty())
    };
    let oss_date = header("x-oss-date").filter(|_| oss_date_first);
    let text = oss_date
        .or_else(|| header("date"))
        .ok_or_else(|| AuthError::Denied(MISSING_DATE.into()))?;
    let time =
        httpdate::parse_http_date(text).map_err(|_| AuthError::Denied(MISSING_DATE.into()))?;
    Ok((text, time))
}

/// The URI encoding of V2 and V4: every byte but `A-Z a-z 0-9 _ - ~ .` as `%XX`, and `/`
/// kept when `keep_slash`.
pub fn uri_encode(text: &str, keep_slash: bool) -> String {
    let mut encoded = String::with_capacity(text.len());
    for byte in text.bytes() {
        let plain = byte.is_ascii_alphanumeric()
            || matches!(byte, b'_' | b'-' | b'~' | b'.')
            || (keep_slash && byte == b'/');
        if plain {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

/// Every query parameter but `signature` (the one a presigned URL carries its signature
/// in), URI-encoded, sorted by name, joined by `&`: `k=v`, or bare `k` when empty.
fn canonical_query(query: &[(String, String)], signature: &str) -> String {
    let mut pairs: Vec<(String, String)> = query
        .iter()
        .filter(|(name, _)| name != signature)
        .map(|(name, value)| (uri_encode(name, false), uri_encode(value, false)))
        .collect();
    pairs.sort_by(|a, b| a.0.cmp(&b.0));
    let parts: Vec<String> = pairs
        .into_iter()
        .map(|(name, value)| match value.is_empty() {
            true => name,
            false => format!("{name}={value}"),
        })
        .collect();
    parts.join("&")
}

/// `name:value\n` for each header `signed` accepts (by lowercase name), sorted by name.
fn canonical_headers(headers: &HeaderMap, signed: impl Fn(&str) -> bool) -> String {
    let mut lines: Vec<(&str, &str)> = headers
        .iter()
        .filter(|(name, _)| signed(name.as_str()))
        .filter_map(|(name, value)| Some((name.as_str(), value.to_str().ok()?)))
        .collect();
    lines.sort_by(|a, b| a.0.cmp(b.0));
    lines
        .into_iter()
        .map(|(name, value)| format!("{name}:{value}\n"))
        .collect()
}

/// The fields of an `Authorization` after its scheme: `Name<separator>value` pairs
/// separated by commas, each of `names` at most once and no other.
fn authorization_fields<'a, const N: usize>(
    credentials: &'a str,
    separator: char,
    names: [&str; N],
) -> Result<[Option<&'a str>; N], AuthError> {
    let mut values = [None; N];
    for field in credentials.split(',') {
        let (name, value) = field
            .trim()
            .split_once(separator)
            .ok_or_else(invalid_authorization)?;
        let index = names
            .iter()
            .position(|n| *n == name)
            .filter(|&i| values[i].is_none())
            .ok_or_else(invalid_authorization)?;
        values[index] = Some(value);
    }
    Ok(values)
}

/// A `;`-separated header list (`AdditionalHeaders`), lowercased and sorted, as signed.
fn header_list(text: &str) -> Vec<String> {
    let mut names: Vec<String> = text
        .split(';')
        .map(|name| name.trim().to_ascii_lowercase())
        .filter(|name| !name.is_empty())
        .collect();
    names.sort();
    names
}

#[cfg(test)]
mod vectors;
