//! Object metadata on the OSS wire: read from a PutObject's (or a copy's) headers, and
//! answered on GetObject and HeadObject with OSS's ETag and digests.

use axum::http::{header, HeaderMap, HeaderName, HeaderValue};
use base64::Engine;
use jobs::error::FailureCode;
use jobs::objects::{Described, ObjectMeta, ObjectRecord, STORED_HEADERS};

use super::error::OssError;
use crate::answer::Entity;

/// The prefix of user metadata headers.
pub(super) const USER_META: &str = "x-oss-meta-";
pub(super) const CRC64: HeaderName = HeaderName::from_static("x-oss-hash-crc64ecma");
const OBJECT_TYPE: HeaderName = HeaderName::from_static("x-oss-object-type");
const STORAGE_CLASS: HeaderName = HeaderName::from_static("x-oss-storage-class");
const CONTENT_MD5: HeaderName = HeaderName::from_static("content-md5");

/// The metadata a request's headers give: Content-Type, the stored standard headers and
/// `x-oss-meta-*` (names lower-cased, as OSS keeps them).
pub(super) fn object_meta(headers: &HeaderMap) -> Result<ObjectMeta, OssError> {
    let text = |name: &HeaderName, value: &HeaderValue| {
        value.to_str().map(str::to_string).map_err(|_| {
            OssError::new(
                FailureCode::INVALID_ARGUMENT,
                format!("the header {name} is not visible ASCII"),
            )
        })
    };
    let mut meta = ObjectMeta::default();
    for (name, value) in headers {
        let lower = name.as_str();
        if name == header::CONTENT_TYPE {
            meta.content_type = Some(text(name, value)?);
        } else if STORED_HEADERS.contains(&lower) {
            meta.headers.insert(lower.to_string(), text(name, value)?);
        } else if let Some(user) = lower.strip_prefix(USER_META) {
            meta.user_meta.insert(user.to_string(), text(name, value)?);
        }
    }
    Ok(meta)
}

/// The `Content-MD5` a request announces, as bytes; a malformed one is `InvalidDigest`.
pub(super) fn content_md5(headers: &HeaderMap) -> Result<Option<[u8; 16]>, OssError> {
    let Some(value) = headers.get(CONTENT_MD5) else {
        return Ok(None);
    };
    let decoded = (value.to_str().ok())
        .and_then(|text| {
            base64::engine::general_purpose::STANDARD
                .decode(text.trim())
                .ok()
        })
        .and_then(|bytes| <[u8; 16]>::try_from(bytes).ok());
    match decoded {
        Some(md5) => Ok(Some(md5)),
        None => Err(OssError::new(
            FailureCode::InvalidDigest,
            "The Content-MD5 you specified was invalid.",
        )),
    }
}

/// The digest headers OSS answers a write or a read with: the CRC-64, and `Content-MD5` for
/// an object uploaded whole.
pub(super) fn digest_headers(record: &ObjectRecord) -> Vec<(HeaderName, HeaderValue)> {
    let mut headers = vec![(CRC64, HeaderValue::from(record.crc64))];
    if record.parts.is_none() {
        let md5 = base64::engine::general_purpose::STANDARD.encode(record.etag_md5);
        if let Ok(value) = HeaderValue::from_str(&md5) {
            headers.push((CONTENT_MD5, value));
        }
    }
    headers
}

/// What GetObject and HeadObject answer about an object.
pub(super) fn entity(described: &Described) -> Entity {
    let record = &described.record;
    let mut headers = digest_headers(record);
    headers.push((
        OBJECT_TYPE,
        HeaderValue::from_static(record.oss_object_type()),
    ));
    headers.push((STORAGE_CLASS, HeaderValue::from_static("Standard")));
    let stored = (record
        .headers
        .iter()
        .map(|(name, value)| (name.clone(), value)))
    .chain((record.user_meta.iter()).map(|(name, value)| (format!("{USER_META}{name}"), value)));
    for (name, value) in stored {
        // Stored from header values, so they are header values again.
        if let (Ok(name), Ok(value)) = (HeaderName::try_from(name), HeaderValue::from_str(value)) {
            headers.push((name, value));
        }
    }
    Entity {
        size: record.size,
        last_modified: described.reader.info.last_modified,
        etag: record.oss_etag(),
        content_type: record.content_type.clone(),
        headers,
    }
}
