//! Resumable upload v2 (`Authorization: UpToken <token>`), on `jobs::multipart`:
//!
//! ```text
//! POST   /buckets/<b>/objects/<k>/uploads                  {"uploadId","expireAt"}
//! PUT    /buckets/<b>/objects/<k>/uploads/<id>/<n>         {"etag","md5"}  (Content-MD5: hex)
//! GET    /buckets/<b>/objects/<k>/uploads/<id>             {"uploadId","expireAt",
//!                                                           "partNumberMarker","parts"}
//! POST   /buckets/<b>/objects/<k>/uploads/<id>             {"parts":[{"etag","partNumber"}],
//!                                                           "fname","mimeType","metadata",
//!                                                           "customVars"} -> the upload's answer
//! DELETE /buckets/<b>/objects/<k>/uploads/<id>             (empty)
//! ```
//!
//! `<k>` is the key in URL-safe base64, or `~` for none (the policy's `saveKey` or the hash
//! then names it). The upload is an unnamed `jobs::multipart` upload tied to `<k>` as written;
//! each part streams to the bucket's backend. The bucket must be the token's scope's. An
//! upload id that is not this path's is 612.

use std::sync::Arc;

use axum::extract::{Path, Query, Request, State};
use axum::http::HeaderMap;
use axum::response::Response;
use jobs::error::{FailureCode, MultipartError};
use jobs::multipart::{self, MultipartUpload};
use jobs::Services;
use serde::Deserialize;
use serde_json::{json, Value};

use super::answer;
use super::auth::{authenticate_up_token, UploadToken};
use super::blocks::{forget, EXPIRY};
use super::error::QiniuError;
use super::policy::Route;
use super::rs::{answer_value, check_bucket, decode_text, signed_body};
use super::store::{store, Assembly, Received, Source};

/// Qiniu's largest part.
const MAX_PART_SIZE: u64 = 1024 * 1024 * 1024;

/// The most parts one listing answers (Qiniu's default and limit).
const MAX_LISTED_PARTS: usize = 1000;

/// `/buckets/<bucket>/objects/<object>/uploads...` as the path names it.
#[derive(Debug, Deserialize)]
pub(super) struct Object {
    bucket: String,
    object: String,
}

/// ... and the upload.
#[derive(Debug, Deserialize)]
pub(super) struct UploadPath {
    bucket: String,
    object: String,
    upload_id: String,
}

impl UploadPath {
    fn upload(&self) -> UploadPath {
        UploadPath {
            bucket: self.bucket.clone(),
            object: self.object.clone(),
            upload_id: self.upload_id.clone(),
        }
    }
}

/// ... and the part number.
#[derive(Debug, Deserialize)]
pub(super) struct PartPath {
    bucket: String,
    object: String,
    upload_id: String,
    part_number: String,
}

impl PartPath {
    fn upload(&self) -> UploadPath {
        UploadPath {
            bucket: self.bucket.clone(),
            object: self.object.clone(),
            upload_id: self.upload_id.clone(),
        }
    }
}

/// The key `<object>` names (`None` for `~`), for a bucket the token may upload to.
fn target(token: &UploadToken, bucket: &str, object: &str) -> Result<Option<String>, QiniuError> {
    if bucket != token.policy.bucket() {
        return Err(QiniuError::new(
            FailureCode::AccessDenied,
            format!("the token's scope is not the bucket {bucket:?}"),
        ));
    }
    match object {
        "~" => Ok(None),
        encoded => decode_text(encoded, "the object key").map(Some),
    }
}

/// Where an upload of `<object>` is kept until it completes.
fn placeholder(object: &str) -> String {
    format!("qiniu-v2/{object}")
}

/// The upload `upload_id` of this path, else 612.
async fn named_upload(
    services: &Services,
    headers: &HeaderMap,
    path: &UploadPath,
) -> Result<(UploadToken, MultipartUpload), QiniuError> {
    let (bucket, object, upload_id) = (
        path.bucket.as_str(),
        path.object.as_str(),
        path.upload_id.as_str(),
    );
    let token = authenticate_up_token(&services.ledger, headers).await?;
    target(&token, bucket, object)?;
    let id = uuid::Uuid::parse_str(upload_id).map_err(|_| MultipartError::NoSuchUpload)?;
    let expected = format!("{}{}", jobs::buckets::RESERVED_PREFIX, placeholder(object));
    match services.ledger.upload(id).await? {
        Some(upload) if upload.bucket == bucket && upload.key == expected => Ok((token, upload)),
        _ => Err(MultipartError::NoSuchUpload.into()),
    }
}

fn expire_at(upload: &MultipartUpload) -> i64 {
    (upload.initiated_at + EXPIRY).timestamp()
}

/// Initiate.
pub(super) async fn initiate(
    State(services): State<Arc<Services>>,
    Path(path): Path<Object>,
    headers: HeaderMap,
) -> Result<Response, QiniuError> {
    let token = authenticate_up_token(&services.ledger, &headers).await?;
    let key = target(&token, &path.bucket, &path.object)?;
    check_bucket(&services, &path.bucket)?;
    if let Some(key) = &key {
        // A key the scope refuses is refused now, not after every part is sent.
        token.policy.resolve_key(Some(key), None, None)?;
        jobs::buckets::validate_client_key(key)?;
    }
    let place = placeholder(&path.object);
    let upload = multipart::initiate_unnamed(&services, &token.key, &path.bucket, &place).await?;
    let body = json!({ "uploadId": upload.upload_id.simple().to_string(), "expireAt": expire_at(&upload) });
    Ok(answer(&crate::new_request_id(), body))
}

/// A part's `Content-MD5` (hex, as the SDKs send it; base64 read too).
fn content_md5(headers: &HeaderMap) -> Result<Option<[u8; 16]>, QiniuError> {
    let Some(value) = headers.get("content-md5").and_then(|v| v.to_str().ok()) else {
        return Ok(None);
    };
    let bytes = hex::decode(value.trim()).ok().or_else(|| {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD
            .decode(value.trim())
            .ok()
    });
    match bytes.and_then(|b| <[u8; 16]>::try_from(b).ok()) {
        Some(md5) => Ok(Some(md5)),
        None => Err(QiniuError::new(
            FailureCode::InvalidDigest,
            format!("Content-MD5 {value:?} is not an MD5"),
        )),
    }
}

/// Upload part `n`, streamed to the backend.
pub(super) async fn upload_part(
    State(services): State<Arc<Services>>,
    Path(path): Path<PartPath>,
    request: Request,
) -> Result<Response, QiniuError> {
    let (_, upload) = named_upload(&services, request.headers(), &path.upload()).await?;
    let number = multipart::part_number(&path.part_number)?;
    let expected_md5 = content_md5(request.headers())?;
    let limit = MAX_PART_SIZE.min(services.config.max_upload_bytes);
    let body = crate::body::limited(request.into_body(), limit, &upload.bucket, &upload.key);
    let part = multipart::put_part(&services, &upload, number, body, expected_md5).await?;
    let md5 = hex::encode(part.md5);
    Ok(answer(
        &crate::new_request_id(),
        json!({ "etag": part.etag(), "md5": md5 }),
    ))
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct ListQuery {
    #[serde(rename = "max-parts", default)]
    max_parts: Option<usize>,
    #[serde(rename = "part-number-marker", default)]
    part_number_marker: Option<u32>,
}

/// List the parts uploaded.
pub(super) async fn list_parts(
    State(services): State<Arc<Services>>,
    Path(path): Path<UploadPath>,
    Query(query): Query<ListQuery>,
    headers: HeaderMap,
) -> Result<Response, QiniuError> {
    let (_, upload) = named_upload(&services, &headers, &path.upload()).await?;
    let marker = query.part_number_marker.unwrap_or(0);
    let max = query
        .max_parts
        .unwrap_or(MAX_LISTED_PARTS)
        .clamp(1, MAX_LISTED_PARTS);
    let parts = services.ledger.parts(upload.upload_id).await?;
    let after: Vec<_> = parts.iter().filter(|part| part.number > marker).collect();
    let page: Vec<Value> = (after.iter().take(max))
        .map(|part| {
            json!({ "size": part.size, "etag": part.etag(), "partNumber": part.number,
                    "putTime": part.uploaded_at.timestamp() })
        })
        .collect();
    let next = match after.len() > max {
        true => after.get(max - 1).map_or(0, |part| part.number),
        false => 0,
    };
    let body = json!({
        "uploadId": upload.upload_id.simple().to_string(),
        "expireAt": expire_at(&upload),
        "partNumberMarker": next,
        "parts": page,
    });
    Ok(answer(&crate::new_request_id(), body))
}

#[derive(Debug, Deserialize)]
struct AskedPart {
    etag: String,
    #[serde(rename = "partNumber")]
    part_number: u32,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Completion {
    parts: Vec<AskedPart>,
    #[serde(default)]
    fname: Option<String>,
    #[serde(default)]
    mime_type: Option<String>,
    #[serde(default)]
    metadata: Option<serde_json::Map<String, Value>>,
    #[serde(default)]
    custom_vars: Option<serde_json::Map<String, Value>>,
}

fn text_pairs(map: Option<serde_json::Map<String, Value>>) -> Vec<(String, String)> {
    (map.unwrap_or_default().into_iter())
        .map(|(name, value)| match value {
            Value::String(text) => (name, text),
            other => (name, other.to_string()),
        })
        .collect()
}

fn received_of(key: Option<String>, completion: Completion) -> Received {
    let user_meta = (text_pairs(completion.metadata).into_iter())
        .filter_map(|(name, value)| {
            let name = name.to_ascii_lowercase();
            let meta = name.strip_prefix("x-qn-meta-").filter(|m| !m.is_empty())?;
            Some((meta.to_string(), value))
        })
        .collect();
    let vars = (text_pairs(completion.custom_vars).into_iter())
        .filter(|(name, _)| name.starts_with("x:"))
        .collect();
    Received {
        key,
        fname: completion.fname,
        mime_type: completion.mime_type,
        vars,
        user_meta,
    }
}

/// Complete: the parts named, in order, stored as the object with the put policy applied.
pub(super) async fn complete(
    State(services): State<Arc<Services>>,
    Path(path): Path<UploadPath>,
    request: Request,
) -> Result<Response, QiniuError> {
    let (token, upload) = named_upload(&services, request.headers(), &path.upload()).await?;
    let key = target(&token, &path.bucket, &path.object)?;
    let body = signed_body(request.into_body()).await?;
    let completion: Completion = serde_json::from_slice(&body)
        .map_err(|e| QiniuError::bad_request(format!("the completion is not valid: {e}")))?;
    let asked: Vec<(u32, String)> = (completion.parts.iter())
        .map(|part| (part.part_number, part.etag.clone()))
        .collect();
    let uploaded = services.ledger.parts(upload.upload_id).await?;
    let parts = multipart::chosen_parts(&uploaded, Some(&asked))?;
    let keys = (parts.iter())
        .map(|part| multipart::part_key(upload.upload_id, part.number))
        .collect();
    let size = parts.iter().map(|part| part.size).sum();
    let source = Source::Stored(Assembly {
        bucket: upload.bucket.clone(),
        keys,
        size,
    });
    let received = received_of(key, completion);
    let response = store(&services, &token, Route::PartsV2, received, source).await?;
    forget(&services, std::slice::from_ref(&upload)).await;
    Ok(response)
}

/// Abort: the parts deleted, the upload forgotten.
pub(super) async fn abort(
    State(services): State<Arc<Services>>,
    Path(path): Path<UploadPath>,
    headers: HeaderMap,
) -> Result<Response, QiniuError> {
    let (_, upload) = named_upload(&services, &headers, &path.upload()).await?;
    multipart::discard(&services, &upload).await?;
    Ok(answer_value(&crate::new_request_id(), Value::Null))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_completion_carries_names_types_metadata_and_variables() {
        let completion: Completion = serde_json::from_str(
            r#"{"parts":[{"etag":"e","partNumber":1}],"fname":"a.jpg","mimeType":null,
                "metadata":{"X-Qn-Meta-Color":"red","other":"x"},"customVars":{"x:who":"me","y":"n"}}"#,
        )
        .unwrap();
        let received = received_of(Some("k".into()), completion);
        assert_eq!(received.fname.as_deref(), Some("a.jpg"));
        assert_eq!(received.mime_type, None);
        assert_eq!(received.user_meta, vec![("color".into(), "red".into())]);
        assert_eq!(received.vars, vec![("x:who".into(), "me".into())]);
        // The SDK sends nulls for what it does not have.
        let bare: Completion =
            serde_json::from_str(r#"{"parts":[],"fname":null,"metadata":null,"customVars":null}"#)
                .unwrap();
        assert!(received_of(None, bare).vars.is_empty());
    }

    #[test]
    fn content_md5_is_hex_or_base64() {
        let mut headers = HeaderMap::new();
        headers.insert(
            "content-md5",
            "900150983cd24fb0d6963f7d28e17f72".parse().unwrap(),
        );
        assert!(content_md5(&headers).unwrap().is_some());
        headers.insert("content-md5", "kAFQmDzST7DWlj99KOF/cg==".parse().unwrap());
        assert!(content_md5(&headers).unwrap().is_some());
        headers.insert("content-md5", "nope".parse().unwrap());
        assert!(content_md5(&headers).is_err());
    }
}
