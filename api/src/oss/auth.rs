//! Aliyun OSS signature V1.
//!
//! ```text
//! StringToSign = VERB "\n" Content-MD5 "\n" Content-Type "\n" Date "\n"
//!                CanonicalizedOSSHeaders CanonicalizedResource
//! Authorization: OSS <AK>:base64(hmac_sha1(SK, StringToSign))
//! ```
//!
//! `x-oss-date` stands in for `Date` when present (and, being an `x-oss-*` header, is also in
//! the canonical headers). The request's time must be within 15 minutes of ours, as OSS
//! demands (`RequestTimeTooSkewed` otherwise).

use std::time::{Duration, SystemTime};

use axum::http::HeaderMap;
use base64::Engine;
use jobs::ledger::AccessKey;
use jobs::Ledger;

use crate::auth::{authorization, hmac_sha1, verify_key, AuthError};

/// Largest distance between the request's date and ours.
pub const MAX_SKEW: Duration = Duration::from_secs(15 * 60);

/// Query parameters that are part of the signed resource (those oss2 signs that Ferrotype
/// can receive; the others are not sub-resources of anything Ferrotype serves).
const SUB_RESOURCES: [&str; 22] = [
    "acl",
    "append",
    "callback",
    "callback-var",
    "comp",
    "delete",
    "objectMeta",
    "partNumber",
    "position",
    "response-cache-control",
    "response-content-disposition",
    "response-content-encoding",
    "response-content-language",
    "response-content-type",
    "response-expires",
    "security-token",
    "style",
    "styleName",
    "uploadId",
    "uploads",
    "x-oss-async-process",
    "x-oss-process",
];

/// `/<bucket>/<key>` followed by the sorted sub-resources (`k=v`, or bare `k` when empty).
/// `query` holds decoded pairs.
pub fn canonical_resource(bucket: &str, key: &str, query: &[(String, String)]) -> String {
    let mut resource = format!("/{bucket}/{key}");
    let mut sub: Vec<&(String, String)> = query
        .iter()
        .filter(|(name, _)| SUB_RESOURCES.contains(&name.as_str()))
        .collect();
    sub.sort_by(|a, b| a.0.cmp(&b.0));
    for (index, (name, value)) in sub.into_iter().enumerate() {
        resource.push(if index == 0 { '?' } else { '&' });
        resource.push_str(name);
        if !value.is_empty() {
            resource.push('=');
            resource.push_str(value);
        }
    }
    resource
}

/// The string to sign, from the request's headers and its canonical resource.
pub fn string_to_sign(method: &str, headers: &HeaderMap, resource: &str) -> String {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    };
    let date = match header("x-oss-date") {
        "" => header("date"),
        oss_date => oss_date,
    };
    let mut oss_headers: Vec<(String, &str)> = headers
        .iter()
        .filter(|(name, _)| name.as_str().starts_with("x-oss-"))
        .filter_map(|(name, value)| Some((name.as_str().to_string(), value.to_str().ok()?)))
        .collect();
    oss_headers.sort();
    let mut text = format!(
        "{method}\n{}\n{}\n{date}\n",
        header("content-md5"),
        header("content-type")
    );
    for (name, value) in oss_headers {
        text.push_str(&name);
        text.push(':');
        text.push_str(value.trim());
        text.push('\n');
    }
    text.push_str(resource);
    text
}

pub fn sign(secret: &str, string_to_sign: &str) -> String {
    base64::engine::general_purpose::STANDARD
        .encode(hmac_sha1(secret.as_bytes(), string_to_sign.as_bytes()))
}

/// Authenticates an `Authorization: OSS AK:sig` request.
pub async fn authenticate(
    ledger: &Ledger,
    method: &str,
    headers: &HeaderMap,
    resource: &str,
    now: SystemTime,
) -> Result<AccessKey, AuthError> {
    let (access_key, signature) = authorization(headers)?
        .strip_prefix("OSS ")
        .and_then(|rest| rest.trim().rsplit_once(':'))
        .ok_or_else(|| AuthError::Malformed("expected OSS AK:signature".into()))?;
    let date_text = headers
        .get("x-oss-date")
        .or_else(|| headers.get(axum::http::header::DATE))
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| AuthError::Malformed("the Date header is missing".into()))?;
    let date = httpdate::parse_http_date(date_text)
        .map_err(|_| AuthError::Malformed(format!("Date {date_text:?} is not an HTTP date")))?;
    let skew = now.duration_since(date).unwrap_or_else(|e| e.duration());
    if skew > MAX_SKEW {
        return Err(AuthError::Expired(
            "the difference between the request time and the current time is too large".into(),
        ));
    }
    let text = string_to_sign(method, headers, resource);
    verify_key(ledger, access_key, signature, |secret| sign(secret, &text)).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn matches_the_official_vector() {
        // Aliyun's "在Header中包含签名" example.
        let mut headers = HeaderMap::new();
        headers.insert(
            "content-md5",
            HeaderValue::from_static("ODBGOERFMDMzQTczRUY3NUE3NzA5QzdFNUYzMDQxNEM="),
        );
        headers.insert("content-type", HeaderValue::from_static("text/html"));
        headers.insert(
            "date",
            HeaderValue::from_static("Thu, 17 Nov 2005 18:49:58 GMT"),
        );
        headers.insert("x-oss-magic", HeaderValue::from_static("abracadabra"));
        headers.insert("x-oss-meta-author", HeaderValue::from_static("foo@bar.com"));
        let resource = canonical_resource("oss-example", "nelson", &[]);
        let text = string_to_sign("PUT", &headers, &resource);
        assert_eq!(
            text,
            "PUT\nODBGOERFMDMzQTczRUY3NUE3NzA5QzdFNUYzMDQxNEM=\ntext/html\n\
             Thu, 17 Nov 2005 18:49:58 GMT\nx-oss-magic:abracadabra\n\
             x-oss-meta-author:foo@bar.com\n/oss-example/nelson"
        );
        assert_eq!(
            sign("OtxrzxIsfpFjA7SwPzILwy8Bw21TLhquhboDYROV", &text),
            "26NBxoKdsyly4EDv6inkoDft/yA="
        );
    }

    #[test]
    fn empty_sub_resources_are_bare_and_others_ignored() {
        let query = vec![
            ("x-oss-process".to_string(), String::new()),
            ("foo".to_string(), "bar".to_string()),
            ("acl".to_string(), String::new()),
        ];
        assert_eq!(
            canonical_resource("bkt", "a/b.jpg", &query),
            "/bkt/a/b.jpg?acl&x-oss-process"
        );
    }
}
