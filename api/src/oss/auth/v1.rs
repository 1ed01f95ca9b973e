//! OSS signature V1.
//!
//! ```text
//! StringToSign = VERB "\n" Content-MD5 "\n" Content-Type "\n" Date "\n"
//!                CanonicalizedOSSHeaders CanonicalizedResource
//! Authorization: OSS <AK>:base64(hmac_sha1(SK, StringToSign))
//! presigned:     ?OSSAccessKeyId=<AK>&Expires=<unix seconds>&Signature=<same>
//! ```
//!
//! In the header form `x-oss-date` stands in for `Date` when present (and, being an
//! `x-oss-*` header, is also in the canonical headers); in the query form `Expires` does.
//! Only the sub-resources are signed of the query, as `oss2` lists them.

use std::time::SystemTime;

use axum::http::HeaderMap;
use base64::Engine;

use super::{Claim, Proof, SignedRequest};
use crate::auth::{hmac_sha1, AuthError};

/// The query parameters that are part of the signed resource: `oss2`'s list
/// (`ProviderAuth._subresource_key_set`), so that whatever it signs is verified.
pub(in crate::oss) const SUB_RESOURCES: [&str; 86] = [
    "accessPoint",
    "accessPointPolicy",
    "acl",
    "append",
    "asyncFetch",
    "bucketArchiveDirectRead",
    "bucketInfo",
    "callback",
    "callback-var",
    "cname",
    "comp",
    "continuation-token",
    "cors",
    "delete",
    "encryption",
    "endTime",
    "group",
    "httpsConfig",
    "inventory",
    "inventoryId",
    "lifecycle",
    "link",
    "live",
    "location",
    "logging",
    "metaQuery",
    "objectInfo",
    "objectMeta",
    "partNumber",
    "policy",
    "position",
    "publicAccessBlock",
    "qos",
    "qosInfo",
    "qosRequester",
    "redundancyTransition",
    "referer",
    "regionList",
    "replication",
    "replicationLocation",
    "replicationProgress",
    "requestPayment",
    "requesterQosInfo",
    "resourceGroup",
    "resourcePool",
    "resourcePoolBuckets",
    "resourcePoolInfo",
    "response-cache-control",
    "response-content-disposition",
    "response-content-encoding",
    "response-content-language",
    "response-content-type",
    "response-expires",
    "restore",
    "security-token",
    "sequential",
    "startTime",
    "stat",
    "status",
    "style",
    "styleName",
    "symlink",
    "tagging",
    "transferAcceleration",
    "uploadId",
    "uploads",
    "versionId",
    "versioning",
    "versions",
    "vod",
    "website",
    "worm",
    "wormExtend",
    "wormId",
    "x-oss-ac-forward-allow",
    "x-oss-ac-source-ip",
    "x-oss-ac-subnet-mask",
    "x-oss-ac-vpc-id",
    "x-oss-access-point-name",
    "x-oss-async-process",
    "x-oss-process",
    "x-oss-redundancy-transition-taskid",
    "x-oss-request-payer",
    "x-oss-target-redundancy-type",
    "x-oss-traffic-limit",
    "x-oss-write-get-object-response",
];

/// `/<bucket>/<key>` followed by the sorted sub-resources (`k=v`, or bare `k` when empty).
/// `query` holds decoded pairs.
pub fn canonical_resource(bucket: &str, key: &str, query: &[(String, String)]) -> String {
    // The service itself (ListBuckets) is `/`, as oss2 signs it.
    let mut resource = if bucket.is_empty() {
        "/".to_string()
    } else {
        format!("/{bucket}/{key}")
    };
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

/// The string to sign, from the request's headers and its canonical resource; the date is
/// `x-oss-date`, else `Date`.
pub fn string_to_sign(method: &str, headers: &HeaderMap, resource: &str) -> String {
    let date = match header_text(headers, "x-oss-date") {
        "" => header_text(headers, "date"),
        oss_date => oss_date,
    };
    string_to_sign_dated(method, headers, date, resource)
}

/// The string to sign with `date` on its date line (a presigned URL's `Expires`).
pub fn string_to_sign_dated(
    method: &str,
    headers: &HeaderMap,
    date: &str,
    resource: &str,
) -> String {
    let mut oss_headers: Vec<(String, &str)> = headers
        .iter()
        .filter(|(name, _)| name.as_str().starts_with("x-oss-"))
        .filter_map(|(name, value)| Some((name.as_str().to_string(), value.to_str().ok()?)))
        .collect();
    oss_headers.sort();
    let mut text = format!(
        "{method}\n{}\n{}\n{date}\n",
        header_text(headers, "content-md5"),
        header_text(headers, "content-type")
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

/// A header's text, empty when absent.
fn header_text<'a>(headers: &'a HeaderMap, name: &str) -> &'a str {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

pub fn sign(secret: &str, string_to_sign: &str) -> String {
    base64::engine::general_purpose::STANDARD
        .encode(hmac_sha1(secret.as_bytes(), string_to_sign.as_bytes()))
}

/// `Authorization: OSS AK:sig`: `credentials` is what follows the scheme.
pub(super) fn header_claim(
    credentials: &str,
    request: &SignedRequest<'_>,
    now: SystemTime,
) -> Result<Claim, AuthError> {
    let (access_key, signature) = credentials
        .trim()
        .rsplit_once(':')
        .filter(|(key, signature)| !key.is_empty() && !signature.is_empty())
        .ok_or_else(super::invalid_authorization)?;
    let (_, date) = super::http_date(request, true)?;
    super::check_skew(date, now)?;
    let resource = canonical_resource(request.bucket, request.key, request.query);
    Ok(Claim {
        access_key: access_key.to_string(),
        signature: signature.to_string(),
        proof: Proof::V1(string_to_sign(request.method, request.headers, &resource)),
    })
}

/// `?OSSAccessKeyId=..&Expires=..&Signature=..`, as `Auth.sign_url` makes it.
pub(super) fn query_claim(
    request: &SignedRequest<'_>,
    now: SystemTime,
) -> Result<Claim, AuthError> {
    let (Some(access_key), Some(expires), Some(signature)) = (
        request.param("OSSAccessKeyId"),
        request.param("Expires"),
        request.param("Signature"),
    ) else {
        return Err(AuthError::Denied(
            "Query-string authentication requires the Signature, Expires and OSSAccessKeyId \
             parameters"
                .into(),
        ));
    };
    let expires_at: i64 = expires
        .parse()
        .map_err(|_| AuthError::Denied(format!("Expires {expires:?} is not a unix time.")))?;
    super::check_expiry(expires_at, now)?;
    let resource = canonical_resource(request.bucket, request.key, request.query);
    let text = string_to_sign_dated(request.method, request.headers, expires, &resource);
    Ok(Claim {
        access_key: access_key.to_string(),
        signature: signature.to_string(),
        proof: Proof::V1(text),
    })
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
