//! Signatures the `oss2` 2.19.1 SDK itself computed, for fixed inputs: the literals below are
//! the output of `python3 tests/python/vectors/make_vectors.py` (clock fixed at 1700000000,
//! 2023-11-14T22:13:20Z; region `cn-hangzhou`). Each request is the one the SDK sends: its
//! headers, the bucket and key (decoded), the query (decoded).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::http::{HeaderMap, HeaderName, HeaderValue};

use super::*;

const AK: &str = "FTEXAMPLEACCESSKEY00";
const SK: &str = "ExampleSecretKeyExampleSecretKeyExample1";
const BUCKET: &str = "photos";
const KEY: &str = "dir/a b+c~\u{e9}.jpg";
const REGION: &str = "cn-hangzhou";
const DATE: &str = "Tue, 14 Nov 2023 22:13:20 GMT";
const MD5: &str = "1B2M2Y8AsgTpgAmY7PhCfg==";

fn at(seconds: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(seconds)
}

const NOW: u64 = 1_700_000_000;

fn headers_of(pairs: &[(&str, &str)]) -> HeaderMap {
    let mut headers = HeaderMap::new();
    for (name, value) in pairs {
        let name = HeaderName::from_bytes(name.as_bytes()).expect("name");
        headers.append(name, HeaderValue::from_str(value).expect("value"));
    }
    headers
}

fn query_of(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect()
}

/// The claim of a request, verified the way `authenticate` does (without the ledger):
/// `Err` when refused, else the signature `SK` computes (which must be the presented one).
fn verify(
    method: &str,
    headers: &HeaderMap,
    query: &[(String, String)],
    now: SystemTime,
) -> Result<String, AuthError> {
    let request = SignedRequest {
        method,
        headers,
        bucket: BUCKET,
        key: KEY,
        query,
    };
    let claim = claim(&request, now, REGION)?.ok_or(AuthError::Missing)?;
    assert_eq!(claim.access_key, AK);
    let computed = claim.proof.sign(SK);
    if computed != claim.signature {
        return Err(AuthError::BadSignature);
    }
    Ok(computed)
}

fn put_headers(extra: &[(&'static str, &'static str)]) -> HeaderMap {
    let mut pairs = vec![
        ("content-type", "image/jpeg"),
        ("content-md5", MD5),
        ("x-oss-meta-author", "ferrotype"),
    ];
    pairs.extend_from_slice(extra);
    headers_of(&pairs)
}

fn get_query() -> Vec<(String, String)> {
    query_of(&[
        ("extra", "a b/c"),
        ("response-content-type", "image/png"),
        ("x-oss-process", "image/resize,w_100"),
    ])
}

fn presigned_get(signature: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut query = query_of(&[
        ("x-oss-process", "image/resize,w_100"),
        ("response-content-type", "image/png"),
        ("extra", "a b/c"),
    ]);
    query.extend(query_of(signature));
    query
}

#[test]
fn v1_header() {
    let put = put_headers(&[
        ("date", DATE),
        (
            "authorization",
            "OSS FTEXAMPLEACCESSKEY00:xuoXC/SWPcNtUi130frBziDaI4Y=",
        ),
    ]);
    assert_eq!(
        verify("PUT", &put, &[], at(NOW)).expect("verified"),
        "xuoXC/SWPcNtUi130frBziDaI4Y="
    );
    let get = headers_of(&[
        ("range", "bytes=0-9"),
        ("date", DATE),
        (
            "authorization",
            "OSS FTEXAMPLEACCESSKEY00:sOtgQFSuIWNZT/vvXmyV5tRhU5A=",
        ),
    ]);
    assert_eq!(
        verify("GET", &get, &get_query(), at(NOW)).expect("verified"),
        "sOtgQFSuIWNZT/vvXmyV5tRhU5A="
    );
    let late = verify("GET", &get, &get_query(), at(NOW + 16 * 60));
    assert!(matches!(late, Err(AuthError::Expired(_))), "{late:?}");
}

#[test]
fn v1_query() {
    let get = presigned_get(&[
        ("OSSAccessKeyId", AK),
        ("Expires", "1700000060"),
        ("Signature", "4wv68l9SdP6xzjAzO7Dxg+hmatA="),
    ]);
    let none = HeaderMap::new();
    assert_eq!(
        verify("GET", &none, &get, at(NOW + 60)).expect("verified"),
        "4wv68l9SdP6xzjAzO7Dxg+hmatA="
    );
    let put = query_of(&[
        ("OSSAccessKeyId", AK),
        ("Expires", "1700000060"),
        ("Signature", "/3BxJu9n5bRVVwV3FPdIvA0K2nE="),
    ]);
    let typed = headers_of(&[("content-type", "image/jpeg")]);
    assert_eq!(
        verify("PUT", &typed, &put, at(NOW)).expect("verified"),
        "/3BxJu9n5bRVVwV3FPdIvA0K2nE="
    );
    let expired = verify("GET", &none, &get, at(NOW + 61));
    assert!(matches!(expired, Err(AuthError::Denied(ref m)) if m == "Request has expired."));
    let as_get = verify("GET", &typed, &put, at(NOW));
    assert!(matches!(as_get, Err(AuthError::BadSignature)), "{as_get:?}");
}

#[test]
fn v2_header() {
    let put = put_headers(&[
        ("date", DATE),
        (
            "authorization",
            "OSS2 AccessKeyId:FTEXAMPLEACCESSKEY00,\
             Signature:4Fg6RSJkirC2bMRvl/g6OUoI5kHZKWQ/p1AoNXM8LBA=",
        ),
    ]);
    assert_eq!(
        verify("PUT", &put, &[], at(NOW)).expect("verified"),
        "4Fg6RSJkirC2bMRvl/g6OUoI5kHZKWQ/p1AoNXM8LBA="
    );
    let get = headers_of(&[
        ("range", "bytes=0-9"),
        ("date", DATE),
        (
            "authorization",
            "OSS2 AccessKeyId:FTEXAMPLEACCESSKEY00,AdditionalHeaders:range,\
             Signature:KBv24gE8rKvD0wbpjh4ZeX5F2rBxCRFFmYX5NwwgXlI=",
        ),
    ]);
    assert_eq!(
        verify("GET", &get, &get_query(), at(NOW)).expect("verified"),
        "KBv24gE8rKvD0wbpjh4ZeX5F2rBxCRFFmYX5NwwgXlI="
    );
    let mut tampered = get_query();
    tampered[0].1 = "a b/d".into();
    let refused = verify("GET", &get, &tampered, at(NOW));
    assert!(
        matches!(refused, Err(AuthError::BadSignature)),
        "{refused:?}"
    );
}

#[test]
fn v2_query() {
    let get = presigned_get(&[
        ("x-oss-signature-version", "OSS2"),
        ("x-oss-expires", "1700000060"),
        ("x-oss-access-key-id", AK),
        (
            "x-oss-signature",
            "KTxpdLCsTsrJGyOiDXW+6EzpkrvmOUTobcfV54cyn6w=",
        ),
    ]);
    let none = HeaderMap::new();
    assert_eq!(
        verify("GET", &none, &get, at(NOW)).expect("verified"),
        "KTxpdLCsTsrJGyOiDXW+6EzpkrvmOUTobcfV54cyn6w="
    );
    let put = query_of(&[
        ("x-oss-signature-version", "OSS2"),
        ("x-oss-expires", "1700000060"),
        ("x-oss-access-key-id", AK),
        (
            "x-oss-signature",
            "FkTN6RLFLtWACnanXlNQ7hgFL6eCoKf9By1fuW3PR1s=",
        ),
    ]);
    let typed = headers_of(&[("content-type", "image/jpeg")]);
    assert_eq!(
        verify("PUT", &typed, &put, at(NOW)).expect("verified"),
        "FkTN6RLFLtWACnanXlNQ7hgFL6eCoKf9By1fuW3PR1s="
    );
    let expired = verify("PUT", &typed, &put, at(NOW + 61));
    assert!(matches!(expired, Err(AuthError::Denied(_))), "{expired:?}");
}

const V4_CREDENTIAL: &str = "FTEXAMPLEACCESSKEY00/20231114/cn-hangzhou/oss/aliyun_v4_request";

#[test]
fn v4_header() {
    let put = put_headers(&[
        ("x-oss-date", "20231114T221320Z"),
        ("x-oss-content-sha256", "UNSIGNED-PAYLOAD"),
        (
            "authorization",
            "OSS4-HMAC-SHA256 Credential=FTEXAMPLEACCESSKEY00/20231114/cn-hangzhou/oss/\
             aliyun_v4_request, \
             Signature=b6fa2e56a5087444a31007af8533a1df14de07876b54802322f7030b01433827",
        ),
    ]);
    assert_eq!(
        verify("PUT", &put, &[], at(NOW)).expect("verified"),
        "b6fa2e56a5087444a31007af8533a1df14de07876b54802322f7030b01433827"
    );
    let get = headers_of(&[
        ("range", "bytes=0-9"),
        ("x-oss-date", "20231114T221320Z"),
        ("x-oss-content-sha256", "UNSIGNED-PAYLOAD"),
        (
            "authorization",
            "OSS4-HMAC-SHA256 Credential=FTEXAMPLEACCESSKEY00/20231114/cn-hangzhou/oss/\
             aliyun_v4_request, \
             Signature=7e5eb1f14c50f527b5160866178a031fbdbf46ed6358e4b33b2c8c91c2d0496c",
        ),
    ]);
    assert_eq!(
        verify("GET", &get, &get_query(), at(NOW + 60)).expect("verified"),
        "7e5eb1f14c50f527b5160866178a031fbdbf46ed6358e4b33b2c8c91c2d0496c"
    );
    let skewed = verify("GET", &get, &get_query(), at(NOW - 16 * 60));
    assert!(matches!(skewed, Err(AuthError::Expired(_))), "{skewed:?}");
}

#[test]
fn v4_query() {
    let get = presigned_get(&[
        ("x-oss-date", "20231114T221320Z"),
        ("x-oss-expires", "60"),
        ("x-oss-signature-version", "OSS4-HMAC-SHA256"),
        ("x-oss-credential", V4_CREDENTIAL),
        (
            "x-oss-signature",
            "ac1c80d60d609b8a8bef21e383439b286171431812a93b78fd69ab92f2d7340b",
        ),
    ]);
    let none = HeaderMap::new();
    assert_eq!(
        verify("GET", &none, &get, at(NOW + 60)).expect("verified"),
        "ac1c80d60d609b8a8bef21e383439b286171431812a93b78fd69ab92f2d7340b"
    );
    let put = query_of(&[
        ("x-oss-date", "20231114T221320Z"),
        ("x-oss-expires", "60"),
        ("x-oss-signature-version", "OSS4-HMAC-SHA256"),
        ("x-oss-credential", V4_CREDENTIAL),
        (
            "x-oss-signature",
            "89bb7362c78fad5401f6256f3906fa773d0f0f661c64a026f6731d44c7c01d24",
        ),
    ]);
    let typed = headers_of(&[("content-type", "image/jpeg")]);
    assert_eq!(
        verify("PUT", &typed, &put, at(NOW)).expect("verified"),
        "89bb7362c78fad5401f6256f3906fa773d0f0f661c64a026f6731d44c7c01d24"
    );
    let expired = verify("GET", &none, &get, at(NOW + 61));
    assert!(matches!(expired, Err(AuthError::Denied(_))), "{expired:?}");
}

#[test]
fn v4_scopes_naming_another_region_are_refused() {
    let query = query_of(&[
        ("x-oss-date", "20231114T221320Z"),
        ("x-oss-expires", "60"),
        ("x-oss-signature-version", "OSS4-HMAC-SHA256"),
        (
            "x-oss-credential",
            "FTEXAMPLEACCESSKEY00/20231114/cn-shanghai/oss/aliyun_v4_request",
        ),
        ("x-oss-signature", "00"),
    ]);
    let refused = verify("GET", &HeaderMap::new(), &query, at(NOW));
    assert!(
        matches!(refused, Err(AuthError::Invalid(ref m)) if m.contains("region")),
        "{refused:?}"
    );
    let mut wrong_day = query.clone();
    wrong_day[3].1 = "FTEXAMPLEACCESSKEY00/20231115/cn-hangzhou/oss/aliyun_v4_request".into();
    let refused = verify("GET", &HeaderMap::new(), &wrong_day, at(NOW));
    assert!(
        matches!(refused, Err(AuthError::Invalid(ref m)) if m.contains("date")),
        "{refused:?}"
    );
}

#[test]
fn no_credentials_is_anonymous_and_a_foreign_scheme_is_invalid() {
    let none = HeaderMap::new();
    let request = SignedRequest {
        method: "GET",
        headers: &none,
        bucket: BUCKET,
        key: KEY,
        query: &get_query(),
    };
    assert!(matches!(claim(&request, at(NOW), REGION), Ok(None)));
    for authorization in [
        "Bearer abc",
        "OSS no-colon",
        "OSS2 AccessKeyId:ak",
        "OSS4-HMAC-SHA256 Signature=00",
    ] {
        let headers = headers_of(&[("authorization", authorization), ("date", DATE)]);
        let refused = verify("GET", &headers, &[], at(NOW));
        assert!(
            matches!(refused, Err(AuthError::Invalid(_))),
            "{authorization}: {refused:?}"
        );
    }
    let half = query_of(&[("OSSAccessKeyId", AK)]);
    let refused = verify("GET", &none, &half, at(NOW));
    assert!(matches!(refused, Err(AuthError::Denied(_))), "{refused:?}");
}

#[test]
fn the_v2_and_v4_uri_encodings() {
    assert_eq!(
        uri_encode("/b/a b+c~\u{e9}.jpg", false),
        "%2Fb%2Fa%20b%2Bc~%C3%A9.jpg"
    );
    assert_eq!(
        uri_encode("/b/a b+c~\u{e9}.jpg", true),
        "/b/a%20b%2Bc~%C3%A9.jpg"
    );
}
