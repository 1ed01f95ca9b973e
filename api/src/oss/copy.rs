//! CopyObject (`PUT /<bucket>/<key>` with `x-oss-copy-source: /<bucket>/<key>`), and so
//! `update_object_meta` (a copy onto itself with `x-oss-metadata-directive: REPLACE`): the
//! source's metadata kept (`COPY`, the default) or replaced by the request's; the
//! `x-oss-copy-source-if-*` conditions on the source (412, or 304); across buckets with read
//! on the source.

use axum::http::{HeaderMap, HeaderName, StatusCode};
use axum::response::{IntoResponse, Response};
use jobs::credentials::Permission;
use jobs::error::FailureCode;
use jobs::ledger::AccessKey;
use jobs::objects::{self, Described};
use jobs::Services;

use super::error::OssError;
use super::meta::{self, digest_headers, object_meta};
use super::{decode, Target};
use crate::answer::{evaluate, precondition_failed, Conditionals, Verdict};

pub(super) const COPY_SOURCE: &str = "x-oss-copy-source";
const DIRECTIVE: &str = "x-oss-metadata-directive";

const COPY_CONDITIONALS: Conditionals = Conditionals {
    if_match: HeaderName::from_static("x-oss-copy-source-if-match"),
    if_none_match: HeaderName::from_static("x-oss-copy-source-if-none-match"),
    if_modified_since: HeaderName::from_static("x-oss-copy-source-if-modified-since"),
    if_unmodified_since: HeaderName::from_static("x-oss-copy-source-if-unmodified-since"),
};

pub(super) async fn copy(
    services: &Services,
    who: &AccessKey,
    target: &Target,
    headers: &HeaderMap,
) -> Result<Response, OssError> {
    let (bucket, key) = copy_source(headers)?;
    who.require(&bucket, Permission::Read)?;
    who.require(&target.bucket, Permission::Write)?;
    jobs::buckets::validate_client_key(&target.key)?;
    let replaced = match replaces_metadata(headers)? {
        true => Some(object_meta(headers)?),
        false => None,
    };
    let Some(source) = objects::describe(services, &bucket, &key).await? else {
        return Err(OssError::new(
            FailureCode::NoSuchKey,
            "The specified key does not exist.",
        ));
    };
    if let Some(refused) = check_source_conditions(&source, headers)? {
        return Ok(refused);
    }
    let location = (target.bucket.as_str(), target.key.as_str());
    let record = objects::copy(services, &source, location, replaced).await?;
    let modified = (services.buckets.head(location.0, location.1).await?)
        .map_or_else(chrono::Utc::now, |info| info.last_modified);
    let etag = format!("\"{}\"", record.oss_etag());
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<CopyObjectResult><ETag>{}</ETag>\
         <LastModified>{}</LastModified></CopyObjectResult>",
        super::error::escape(&etag),
        modified.format("%Y-%m-%dT%H:%M:%S.000Z"),
    );
    let mut response = super::xml(body);
    crate::set_header(response.headers_mut(), axum::http::header::ETAG, &etag);
    response.headers_mut().extend(digest_headers(&record));
    Ok(response)
}

/// The `x-oss-copy-source-if-*` conditions on the source: `Err` 412 when one fails,
/// `Ok(Some(304))` when the source is not modified, `Ok(None)` to go on.
pub(super) fn check_source_conditions(
    source: &Described,
    headers: &HeaderMap,
) -> Result<Option<Response>, OssError> {
    match evaluate(&meta::entity(source), headers, &COPY_CONDITIONALS) {
        Verdict::Failed => Err(precondition_failed().into()),
        Verdict::NotModified => Ok(Some(StatusCode::NOT_MODIFIED.into_response())),
        Verdict::Proceed => Ok(None),
    }
}

/// The bucket and key `x-oss-copy-source` names (`/<bucket>/<key, percent-encoded>`).
pub(super) fn copy_source(headers: &HeaderMap) -> Result<(String, String), OssError> {
    let invalid = |why: &str| {
        OssError::new(
            FailureCode::INVALID_ARGUMENT,
            format!("{COPY_SOURCE}: {why}"),
        )
    };
    let value = (headers.get(COPY_SOURCE))
        .and_then(|value| value.to_str().ok())
        .ok_or_else(|| invalid("not visible ASCII"))?;
    if value.contains('?') {
        return Err(OssError::new(
            FailureCode::NOT_IMPLEMENTED,
            format!("{COPY_SOURCE}: versions (?versionId) are not kept here"),
        ));
    }
    let path = value.strip_prefix('/').unwrap_or(value);
    match path.split_once('/') {
        Some((bucket, key)) if !bucket.is_empty() && !key.is_empty() => {
            Ok((decode(bucket)?, decode(key)?))
        }
        _ => Err(invalid("expected /<bucket>/<key>")),
    }
}

/// Whether `x-oss-metadata-directive` says `REPLACE` (else `COPY`, the default).
fn replaces_metadata(headers: &HeaderMap) -> Result<bool, OssError> {
    match headers.get(DIRECTIVE).map(|value| value.to_str()) {
        None => Ok(false),
        Some(Ok(value)) if value.eq_ignore_ascii_case("COPY") => Ok(false),
        Some(Ok(value)) if value.eq_ignore_ascii_case("REPLACE") => Ok(true),
        Some(_) => Err(OssError::new(
            FailureCode::INVALID_ARGUMENT,
            format!("{DIRECTIVE}: COPY or REPLACE"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.insert(*name, HeaderValue::from_str(value).unwrap());
        }
        headers
    }

    #[test]
    fn the_copy_source_is_a_bucket_and_a_decoded_key() {
        let source = |value| copy_source(&headers(&[(COPY_SOURCE, value)]));
        assert_eq!(
            source("/photos/a%2Fb%20c.jpg").unwrap(),
            ("photos".to_string(), "a/b c.jpg".to_string())
        );
        assert_eq!(
            source("photos/a.jpg").unwrap(),
            ("photos".to_string(), "a.jpg".to_string())
        );
        for bad in ["/photos", "/photos/", "//a.jpg"] {
            assert!(source(bad).is_err(), "{bad}");
        }
        let versioned = source("/photos/a.jpg?versionId=1").unwrap_err();
        assert_eq!(versioned.0.code, FailureCode::NOT_IMPLEMENTED);
    }

    #[test]
    fn the_directive_is_copy_or_replace() {
        let directive = |value| replaces_metadata(&headers(&[(DIRECTIVE, value)]));
        assert!(!replaces_metadata(&HeaderMap::new()).unwrap());
        assert!(!directive("COPY").unwrap());
        assert!(directive("replace").unwrap());
        assert!(directive("MOVE").is_err());
    }
}
