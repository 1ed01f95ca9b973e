//! OSS signature V4 (`oss2.AuthV4`, `oss2.ProviderAuthV4`).
//!
//! ```text
//! CanonicalRequest = VERB "\n" uri_encode("/<bucket>/<key>", keep "/") "\n"
//!                    every query parameter, encoded and sorted "\n"
//!                    canonical headers (x-oss-*, content-type, content-md5, additional) "\n"
//!                    AdditionalHeaders "\n" (x-oss-content-sha256 or UNSIGNED-PAYLOAD)
//! StringToSign     = "OSS4-HMAC-SHA256\n" <x-oss-date> "\n" <scope> "\n"
//!                    hex(sha256(CanonicalRequest))
//! scope            = <yyyymmdd> "/" <region> "/oss/aliyun_v4_request"
//! SigningKey       = hmac chain over "aliyun_v4" SK: date, region, "oss", "aliyun_v4_request"
//! Authorization: OSS4-HMAC-SHA256 Credential=<AK>/<scope>[, AdditionalHeaders=h1;h2],
//!                Signature=<hex>
//! presigned: ?x-oss-signature-version=OSS4-HMAC-SHA256&x-oss-credential=<AK>/<scope>
//!            &x-oss-date=..&x-oss-expires=<seconds>[&x-oss-additional-headers=..]
//!            &x-oss-signature=..
//! ```
//!
//! The scope's region must be the configured one, its date the date of `x-oss-date`.

use std::time::{Duration, SystemTime};

use chrono::NaiveDateTime;

use super::{Claim, Proof, SignedRequest};
use crate::auth::{hmac_sha256, lower_hex, sha256_hex, AuthError};

/// The algorithm, in the header and as `x-oss-signature-version`.
pub const ALGORITHM: &str = "OSS4-HMAC-SHA256";

const SIGNATURE_PARAM: &str = "x-oss-signature";
const PRODUCT: &str = "oss";
const TERMINATOR: &str = "aliyun_v4_request";
const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";

/// The longest a presigned V4 URL may live, as OSS allows (seven days).
const MAX_EXPIRES: u64 = 7 * 24 * 3600;

/// What a signature is bound to besides the secret: its day and region.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    /// `yyyymmdd`
    pub date: String,
    pub region: String,
}

impl Scope {
    fn text(&self) -> String {
        format!("{}/{}/{PRODUCT}/{TERMINATOR}", self.date, self.region)
    }
}

/// The canonical request; `additional` holds the extra signed headers (lowercase, sorted).
pub fn canonical_request(request: &SignedRequest<'_>, additional: &[String]) -> String {
    let headers = super::canonical_headers(request.headers, |name| {
        name.starts_with("x-oss-")
            || name == "content-type"
            || name == "content-md5"
            || additional.iter().any(|a| a == name)
    });
    let payload = match request.header("x-oss-content-sha256") {
        "" => UNSIGNED_PAYLOAD,
        hash => hash,
    };
    format!(
        "{}\n{}\n{}\n{headers}\n{}\n{payload}",
        request.method,
        super::uri_encode(&request.path(), true),
        super::canonical_query(request.query, SIGNATURE_PARAM),
        additional.join(";"),
    )
}

/// The string to sign of a request sent at `date_time` (`yyyymmddTHHMMSSZ`).
pub fn string_to_sign(
    request: &SignedRequest<'_>,
    date_time: &str,
    scope: &Scope,
    additional: &[String],
) -> String {
    let hash = sha256_hex(canonical_request(request, additional).as_bytes());
    format!("{ALGORITHM}\n{date_time}\n{}\n{hash}", scope.text())
}

/// The signature: the scope's signing key over the string to sign, in hex.
pub fn sign(secret: &str, scope: &Scope, string_to_sign: &str) -> String {
    let mut key = format!("aliyun_v4{secret}").into_bytes();
    for part in [
        scope.date.as_str(),
        scope.region.as_str(),
        PRODUCT,
        TERMINATOR,
    ] {
        key = hmac_sha256(&key, part.as_bytes());
    }
    lower_hex(&hmac_sha256(&key, string_to_sign.as_bytes()))
}

/// `Authorization: OSS4-HMAC-SHA256 Credential=.., AdditionalHeaders=.., Signature=..`:
/// `credentials` is what follows the algorithm.
pub(super) fn header_claim(
    credentials: &str,
    request: &SignedRequest<'_>,
    now: SystemTime,
    region: &str,
) -> Result<Claim, AuthError> {
    const PLACE: &str = "Authorization header";
    let fields = ["Credential", "AdditionalHeaders", "Signature"];
    let [Some(credential), additional, Some(signature)] =
        super::authorization_fields(credentials, '=', fields)?
    else {
        return Err(super::invalid_authorization());
    };
    let (access_key, scope) = parse_credential(credential, region, PLACE)?;
    let date_time = request.header("x-oss-date");
    let sent = parse_date_time(date_time)?;
    super::check_skew(sent, now)?;
    check_scope_date(&scope, date_time, PLACE)?;
    let additional = super::header_list(additional.unwrap_or_default());
    Ok(Claim {
        access_key,
        signature: signature.to_string(),
        proof: Proof::V4 {
            string_to_sign: string_to_sign(request, date_time, &scope, &additional),
            scope,
        },
    })
}

/// The `x-oss-*` parameters of `AuthV4.sign_url`.
pub(super) fn query_claim(
    request: &SignedRequest<'_>,
    now: SystemTime,
    region: &str,
) -> Result<Claim, AuthError> {
    const PLACE: &str = "x-oss-credential";
    let (Some(credential), Some(date_time), Some(expires), Some(signature)) = (
        request.param("x-oss-credential"),
        request.param("x-oss-date"),
        request.param("x-oss-expires"),
        request.param(SIGNATURE_PARAM),
    ) else {
        return Err(AuthError::Denied(
            "Query-string authentication requires the x-oss-credential, x-oss-date, \
             x-oss-expires and x-oss-signature parameters"
                .into(),
        ));
    };
    let (access_key, scope) = parse_credential(credential, region, PLACE)?;
    let signed_at = parse_date_time(date_time)?;
    check_lifetime(signed_at, expires, now)?;
    check_scope_date(&scope, date_time, PLACE)?;
    let additional = super::header_list(
        request
            .param("x-oss-additional-headers")
            .unwrap_or_default(),
    );
    Ok(Claim {
        access_key,
        signature: signature.to_string(),
        proof: Proof::V4 {
            string_to_sign: string_to_sign(request, date_time, &scope, &additional),
            scope,
        },
    })
}

/// A presigned URL lives `expires` seconds (at most seven days) from when it was signed,
/// which may not be in our future.
fn check_lifetime(signed_at: SystemTime, expires: &str, now: SystemTime) -> Result<(), AuthError> {
    let seconds: u64 = expires
        .parse()
        .ok()
        .filter(|s| (1..=MAX_EXPIRES).contains(s))
        .ok_or_else(|| {
            AuthError::Invalid(format!(
                "x-oss-expires {expires:?} is not a number of seconds from 1 to {MAX_EXPIRES}."
            ))
        })?;
    if signed_at > now + super::MAX_SKEW {
        return Err(AuthError::Expired(super::SKEWED.into()));
    }
    super::check_expiry(
        super::unix_seconds(signed_at + Duration::from_secs(seconds)),
        now,
    )
}

/// `<AK>/<yyyymmdd>/<region>/oss/aliyun_v4_request`, the region being ours.
fn parse_credential(text: &str, region: &str, place: &str) -> Result<(String, Scope), AuthError> {
    let parts: Vec<&str> = text.split('/').collect();
    let [access_key, date, scope_region, PRODUCT, TERMINATOR] = parts[..] else {
        return Err(AuthError::Invalid(format!(
            "Invalid credential in {place}."
        )));
    };
    if access_key.is_empty() || date.len() != 8 || !date.bytes().all(|b| b.is_ascii_digit()) {
        return Err(AuthError::Invalid(format!(
            "Invalid credential in {place}."
        )));
    }
    if scope_region != region {
        return Err(AuthError::Invalid(format!(
            "Invalid signing region in {place}."
        )));
    }
    let scope = Scope {
        date: date.to_string(),
        region: region.to_string(),
    };
    Ok((access_key.to_string(), scope))
}

/// The scope must name the day the request was signed.
fn check_scope_date(scope: &Scope, date_time: &str, place: &str) -> Result<(), AuthError> {
    if date_time.get(..8) != Some(scope.date.as_str()) {
        return Err(AuthError::Invalid(format!(
            "Invalid signing date in {place}."
        )));
    }
    Ok(())
}

/// `yyyymmddTHHMMSSZ` (UTC), as `x-oss-date` carries it.
fn parse_date_time(text: &str) -> Result<SystemTime, AuthError> {
    let parsed = NaiveDateTime::parse_from_str(text, "%Y%m%dT%H%M%SZ")
        .map_err(|_| AuthError::Denied(super::MISSING_DATE.into()))?;
    Ok(SystemTime::from(parsed.and_utc()))
}
