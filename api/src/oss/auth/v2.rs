//! OSS signature V2 (`oss2.AuthV2`).
//!
//! ```text
//! StringToSign = VERB "\n" Content-MD5 "\n" Content-Type "\n" Date "\n"
//!                CanonicalizedOSSHeaders AdditionalHeaders "\n" CanonicalizedResource
//! CanonicalizedResource = uri_encode("/<bucket>/<key>") ["?" every query parameter, encoded]
//! Authorization: OSS2 AccessKeyId:<AK>[,AdditionalHeaders:<h1;h2>],Signature:<sig>
//! presigned:     ?x-oss-signature-version=OSS2&x-oss-expires=<unix seconds>
//!                &x-oss-access-key-id=<AK>[&x-oss-additional-headers=..]&x-oss-signature=<sig>
//! sig = base64(hmac_sha256(SK, StringToSign))
//! ```
//!
//! The canonical headers are the `x-oss-*` ones and those named in `AdditionalHeaders`
//! (`oss2` adds `range` and `if-modified-since` when the request has them). The date is the
//! `Date` header, or `x-oss-expires` in a presigned URL; the encoding (`/` included) is
//! [`super::uri_encode`]. Every query parameter is signed, except the signature itself.

use std::time::SystemTime;

use base64::Engine;

use super::{Claim, Proof, SignedRequest};
use crate::auth::{hmac_sha256, AuthError};

/// `x-oss-signature-version` of a V2 presigned URL.
pub const VERSION: &str = "OSS2";

const SIGNATURE_PARAM: &str = "x-oss-signature";

/// The string to sign, with `date` on its date line and `additional` the extra signed
/// headers (lowercase, sorted).
pub fn string_to_sign(request: &SignedRequest<'_>, date: &str, additional: &[String]) -> String {
    let headers = super::canonical_headers(request.headers, |name| {
        name.starts_with("x-oss-") || additional.iter().any(|a| a == name)
    });
    let query = super::canonical_query(request.query, SIGNATURE_PARAM);
    let mut resource = super::uri_encode(&request.path(), false);
    if !query.is_empty() {
        resource.push('?');
        resource.push_str(&query);
    }
    format!(
        "{}\n{}\n{}\n{date}\n{headers}{}\n{resource}",
        request.method,
        request.header("content-md5"),
        request.header("content-type"),
        additional.join(";"),
    )
}

pub fn sign(secret: &str, string_to_sign: &str) -> String {
    base64::engine::general_purpose::STANDARD
        .encode(hmac_sha256(secret.as_bytes(), string_to_sign.as_bytes()))
}

/// `Authorization: OSS2 AccessKeyId:..,AdditionalHeaders:..,Signature:..`: `credentials`
/// is what follows the scheme.
pub(super) fn header_claim(
    credentials: &str,
    request: &SignedRequest<'_>,
    now: SystemTime,
) -> Result<Claim, AuthError> {
    let fields = ["AccessKeyId", "AdditionalHeaders", "Signature"];
    let [Some(access_key), additional, Some(signature)] =
        super::authorization_fields(credentials, ':', fields)?
    else {
        return Err(super::invalid_authorization());
    };
    let (date_text, date) = super::http_date(request, false)?;
    super::check_skew(date, now)?;
    let additional = super::header_list(additional.unwrap_or_default());
    Ok(Claim {
        access_key: access_key.to_string(),
        signature: signature.to_string(),
        proof: Proof::V2(string_to_sign(request, date_text, &additional)),
    })
}

/// The `x-oss-*` parameters of `AuthV2.sign_url`.
pub(super) fn query_claim(
    request: &SignedRequest<'_>,
    now: SystemTime,
) -> Result<Claim, AuthError> {
    let (Some(access_key), Some(expires), Some(signature)) = (
        request.param("x-oss-access-key-id"),
        request.param("x-oss-expires"),
        request.param(SIGNATURE_PARAM),
    ) else {
        return Err(AuthError::Denied(
            "Query-string authentication requires the x-oss-signature, x-oss-expires and \
             x-oss-access-key-id parameters"
                .into(),
        ));
    };
    let expires_at: i64 = expires
        .parse()
        .map_err(|_| AuthError::Denied(format!("x-oss-expires {expires:?} is not a unix time.")))?;
    super::check_expiry(expires_at, now)?;
    let additional = super::header_list(
        request
            .param("x-oss-additional-headers")
            .unwrap_or_default(),
    );
    Ok(Claim {
        access_key: access_key.to_string(),
        signature: signature.to_string(),
        proof: Proof::V2(string_to_sign(request, expires, &additional)),
    })
}
