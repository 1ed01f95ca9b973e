//! Resource management (rs): `stat`, `delete`, `copy`, `move`, `chgm` on Qiniu's paths
//! (`/<op>/<EncodedEntryURI>[/...]`, signed `QBox` or `Qiniu`), one [`Op`] each. [`Op::parse`]
//! reads the same path a `batch` carries in its `op=` fields, so a request and a batch
//! operation are one thing run the same way.
//!
//! ```text
//! /stat/<entry>                      {"fsize","hash","md5","mimeType","putTime","type",...}
//! /delete/<entry>                    (empty)
//! /copy/<from>/<to>[/force/<bool>]   (empty); 614 when <to> exists and force is not true
//! /move/<from>/<to>[/force/<bool>]   (empty); 614 likewise
//! /chgm/<entry>[/mime/<b64>][/x-qn-meta-<name>/<b64>]...   (empty)
//! ```
//!
//! A missing key is 612, a missing bucket 631; `putTime` is in units of 100 ns.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use jobs::credentials::Permission;
use jobs::error::{FailureCode, StoreError};
use jobs::ledger::AccessKey;
use jobs::objects::{self, Described, ObjectMeta};
use jobs::Services;
use serde_json::{json, Value};

use super::auth::authenticate_request;
use super::error::QiniuError;
use super::REQID;

/// The longest body a signed rs/rsf request carries (a `batch` of 1,000 operations).
pub(super) const MAX_SIGNED_BODY: usize = 2 * 1024 * 1024;

/// A bucket and a key, as an `EncodedEntryURI` names them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Entry {
    pub bucket: String,
    pub key: String,
}

/// One resource operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Op {
    Stat(Entry),
    Delete(Entry),
    Copy(Transfer),
    Move(Transfer),
    ChangeMeta(MetaChange),
}

/// A copy or a move.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Transfer {
    pub from: Entry,
    pub to: Entry,
    /// Replace the target when it exists (`/force/true`).
    pub force: bool,
}

/// A `chgm`: the new type and the metadata set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct MetaChange {
    pub entry: Entry,
    pub mime: Option<String>,
    pub user_meta: Vec<(String, String)>,
}

/// URL-safe base64 (padding optional) of UTF-8 text, as Qiniu encodes names in paths.
pub(super) fn decode_text(encoded: &str, what: &str) -> Result<String, QiniuError> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD_INDIFFERENT
        .decode(encoded)
        .map_err(|_| QiniuError::bad_request(format!("{what} is not URL-safe base64")))?;
    String::from_utf8(bytes).map_err(|_| QiniuError::bad_request(format!("{what} is not UTF-8")))
}

/// An `EncodedEntryURI` that names a key (`bucket:key`).
pub(super) fn decode_entry(encoded: &str) -> Result<Entry, QiniuError> {
    let text = decode_text(encoded, "the EncodedEntryURI")?;
    match text.split_once(':') {
        Some((bucket, key)) if !bucket.is_empty() => Ok(Entry {
            bucket: bucket.to_string(),
            key: key.to_string(),
        }),
        _ => Err(QiniuError::bad_request(format!(
            "the entry {text:?} is not <bucket>:<key>"
        ))),
    }
}

fn parse_force(segments: &[&str]) -> Result<bool, QiniuError> {
    match segments {
        [] => Ok(false),
        ["force", value] => Ok(*value == "true"),
        _ => Err(QiniuError::bad_request(format!(
            "unexpected {:?} after the entries (expected /force/<true|false>)",
            segments.join("/")
        ))),
    }
}

fn parse_meta_change(entry: Entry, rest: &[&str]) -> Result<MetaChange, QiniuError> {
    let mut change = MetaChange {
        entry,
        mime: None,
        user_meta: Vec::new(),
    };
    for pair in rest.chunks(2) {
        let [name, value] = pair else {
            return Err(QiniuError::bad_request("chgm: a name without a value"));
        };
        let value = decode_text(value, name)?;
        match *name {
            "mime" => change.mime = Some(value).filter(|mime| !mime.is_empty()),
            meta if meta.starts_with("x-qn-meta-") && meta.len() > "x-qn-meta-".len() => {
                let meta = meta["x-qn-meta-".len()..].to_ascii_lowercase();
                change.user_meta.push((meta, value));
            }
            other => {
                return Err(QiniuError::new(
                    FailureCode::Pipeline(pipeline::ErrorCode::NotImplemented),
                    format!("chgm: {other:?} is not supported (mime and x-qn-meta-* are)"),
                ))
            }
        }
    }
    Ok(change)
}

impl Op {
    /// The operation a path names (`/stat/<entry>`, ...).
    pub fn parse(path: &str) -> Result<Op, QiniuError> {
        let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        let entry = |index: usize| -> Result<Entry, QiniuError> {
            decode_entry(segments.get(index).copied().unwrap_or_default())
        };
        let transfer = || -> Result<Transfer, QiniuError> {
            Ok(Transfer {
                from: entry(1)?,
                to: entry(2)?,
                force: parse_force(segments.get(3..).unwrap_or_default())?,
            })
        };
        match segments.first().copied().unwrap_or_default() {
            "stat" if segments.len() == 2 => Ok(Op::Stat(entry(1)?)),
            "delete" if segments.len() == 2 => Ok(Op::Delete(entry(1)?)),
            "copy" => Ok(Op::Copy(transfer()?)),
            "move" => Ok(Op::Move(transfer()?)),
            "chgm" => parse_meta_change(entry(1)?, segments.get(2..).unwrap_or_default())
                .map(Op::ChangeMeta),
            _ => Err(QiniuError::bad_request(format!(
                "{path:?} is not a resource operation (stat, delete, copy, move, chgm)"
            ))),
        }
    }

    /// The entries the operation names.
    fn entries(&self) -> Vec<&Entry> {
        match self {
            Op::Stat(entry) | Op::Delete(entry) => vec![entry],
            Op::Copy(transfer) | Op::Move(transfer) => vec![&transfer.from, &transfer.to],
            Op::ChangeMeta(change) => vec![&change.entry],
        }
    }

    /// Runs the operation on behalf of `who`; `Value::Null` when it answers no data. A bucket
    /// that does not exist is 631 before any grant is looked at, as on Qiniu.
    pub async fn run(&self, services: &Services, who: &AccessKey) -> Result<Value, QiniuError> {
        for entry in self.entries() {
            check_bucket(services, &entry.bucket)?;
        }
        match self {
            Op::Stat(entry) => stat(services, who, entry).await,
            Op::Delete(entry) => delete(services, who, entry).await,
            Op::Copy(transfer) => copy(services, who, transfer).await.map(|_| Value::Null),
            Op::Move(transfer) => move_object(services, who, transfer).await,
            Op::ChangeMeta(change) => change_meta(services, who, change).await,
        }
    }
}

/// A bucket Ferrotype serves, else 631.
pub(super) fn check_bucket(services: &Services, bucket: &str) -> Result<(), QiniuError> {
    if services.buckets.bucket_exists(bucket) {
        return Ok(());
    }
    Err(QiniuError::new(
        FailureCode::NoSuchBucket,
        format!("no such bucket {bucket:?}"),
    ))
}

/// The object an entry names, else 612.
async fn described(services: &Services, entry: &Entry) -> Result<Described, QiniuError> {
    check_bucket(services, &entry.bucket)?;
    objects::describe(services, &entry.bucket, &entry.key)
        .await?
        .ok_or_else(|| {
            QiniuError::from(StoreError::NoSuchKey {
                bucket: entry.bucket.clone(),
                key: entry.key.clone(),
            })
        })
}

/// Qiniu's `putTime`: 100-nanosecond units since the epoch.
pub(super) fn put_time(time: chrono::DateTime<chrono::Utc>) -> i64 {
    (time.timestamp_nanos_opt())
        .map_or_else(|| time.timestamp_micros().saturating_mul(10), |n| n / 100)
}

/// What `stat` (and a listing's item) says of an object.
pub(super) fn object_info(described: &Described) -> Value {
    let record = &described.record;
    let mut info = json!({
        "fsize": record.size,
        "hash": record.qiniu_hash,
        "md5": hex::encode(record.etag_md5),
        "mimeType": record.content_type,
        "putTime": put_time(described.reader.info.last_modified),
        "type": 0,
        "status": 0,
    });
    if record.parts.is_some() {
        // The MD5 of a multipart object is not of its bytes.
        info.as_object_mut().map(|map| map.remove("md5"));
    }
    if !record.user_meta.is_empty() {
        info["x-qn-meta"] = json!(record.user_meta);
    }
    info
}

async fn stat(services: &Services, who: &AccessKey, entry: &Entry) -> Result<Value, QiniuError> {
    who.require(&entry.bucket, Permission::Read)?;
    Ok(object_info(&described(services, entry).await?))
}

async fn delete(services: &Services, who: &AccessKey, entry: &Entry) -> Result<Value, QiniuError> {
    who.require(&entry.bucket, Permission::Write)?;
    check_bucket(services, &entry.bucket)?;
    if !services.buckets.exists(&entry.bucket, &entry.key).await? {
        return Err(QiniuError::from(StoreError::NoSuchKey {
            bucket: entry.bucket.clone(),
            key: entry.key.clone(),
        }));
    }
    jobs::delete::delete(services, who, &entry.bucket, &entry.key).await?;
    Ok(Value::Null)
}

/// Copies `from` to `to`; 614 when `to` exists and the copy is not forced.
async fn copy(services: &Services, who: &AccessKey, transfer: &Transfer) -> Result<(), QiniuError> {
    let Transfer { from, to, force } = transfer;
    who.require(&from.bucket, Permission::Read)?;
    who.require(&to.bucket, Permission::Write)?;
    check_bucket(services, &to.bucket)?;
    jobs::buckets::validate_client_key(&to.key)?;
    let source = described(services, from).await?;
    if from == to {
        return Ok(());
    }
    if !force && services.buckets.exists(&to.bucket, &to.key).await? {
        return Err(QiniuError::new(
            FailureCode::KeyExists,
            format!("{}:{} exists", to.bucket, to.key),
        ));
    }
    objects::copy(services, &source, (&to.bucket, &to.key), None).await?;
    Ok(())
}

/// A copy, then the source deleted (a move onto itself changes nothing).
async fn move_object(
    services: &Services,
    who: &AccessKey,
    transfer: &Transfer,
) -> Result<Value, QiniuError> {
    who.require(&transfer.from.bucket, Permission::Write)?;
    copy(services, who, transfer).await?;
    if transfer.from != transfer.to {
        let Entry { bucket, key } = &transfer.from;
        jobs::delete::delete(services, who, bucket, key).await?;
    }
    Ok(Value::Null)
}

async fn change_meta(
    services: &Services,
    who: &AccessKey,
    change: &MetaChange,
) -> Result<Value, QiniuError> {
    let entry = &change.entry;
    who.require(&entry.bucket, Permission::Write)?;
    let source = described(services, entry).await?;
    let record = &source.record;
    let mut user_meta: BTreeMap<String, String> = record.user_meta.clone();
    user_meta.extend(change.user_meta.iter().cloned());
    let meta = ObjectMeta {
        content_type: Some(change.mime.clone().unwrap_or(record.content_type.clone())),
        headers: record.headers.clone(),
        user_meta,
    };
    objects::copy(services, &source, (&entry.bucket, &entry.key), Some(meta)).await?;
    Ok(Value::Null)
}

/// The body of a signed request, bounded.
pub(super) async fn signed_body(body: Body) -> Result<bytes::Bytes, QiniuError> {
    axum::body::to_bytes(body, MAX_SIGNED_BODY)
        .await
        .map_err(|_| QiniuError::bad_request(format!("the body is over {MAX_SIGNED_BODY} bytes")))
}

/// Authenticates a signed rs/rsf request (`QBox` or `Qiniu`), returning its key and body.
pub(super) async fn authenticated(
    services: &Services,
    request: Request,
) -> Result<(AccessKey, bytes::Bytes), QiniuError> {
    let (head, body) = request.into_parts();
    let body = signed_body(body).await?;
    let path_and_query = head.uri.path_and_query().map_or("/", |p| p.as_str());
    let who = authenticate_request(
        &services.ledger,
        &head.method,
        path_and_query,
        &head.headers,
        &body,
    )
    .await?;
    Ok((who, body))
}

/// An operation's answer: its data as JSON, or an empty body.
pub(super) fn answer_value(reqid: &str, value: Value) -> Response {
    let mut response = match value {
        Value::Null => Response::new(Body::empty()),
        value => axum::Json(value).into_response(),
    };
    crate::set_header(response.headers_mut(), REQID, reqid);
    response
}

/// `/stat/...`, `/delete/...`, `/copy/...`, `/move/...`, `/chgm/...`.
pub(super) async fn single(
    State(services): State<Arc<Services>>,
    request: Request,
) -> Result<Response, QiniuError> {
    let op = Op::parse(request.uri().path())?;
    let (who, _) = authenticated(&services, request).await?;
    let value = op.run(&services, &who).await?;
    Ok(answer_value(&crate::new_request_id(), value))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encoded(text: &str) -> String {
        base64::engine::general_purpose::URL_SAFE.encode(text)
    }

    fn entry(bucket: &str, key: &str) -> Entry {
        Entry {
            bucket: bucket.into(),
            key: key.into(),
        }
    }

    #[test]
    fn operations_parse_from_their_paths() {
        let (a, b) = (encoded("b:a/x.jpg"), encoded("c:y.jpg"));
        let cases = [
            (format!("/stat/{a}"), Op::Stat(entry("b", "a/x.jpg"))),
            (format!("/delete/{a}"), Op::Delete(entry("b", "a/x.jpg"))),
            (
                format!("/copy/{a}/{b}"),
                Op::Copy(Transfer {
                    from: entry("b", "a/x.jpg"),
                    to: entry("c", "y.jpg"),
                    force: false,
                }),
            ),
            (
                format!("/move/{a}/{b}/force/true"),
                Op::Move(Transfer {
                    from: entry("b", "a/x.jpg"),
                    to: entry("c", "y.jpg"),
                    force: true,
                }),
            ),
            (
                format!(
                    "/chgm/{a}/mime/{}/x-qn-meta-Who/{}",
                    encoded("image/png"),
                    encoded("me")
                ),
                Op::ChangeMeta(MetaChange {
                    entry: entry("b", "a/x.jpg"),
                    mime: Some("image/png".into()),
                    user_meta: vec![("who".into(), "me".into())],
                }),
            ),
        ];
        for (path, op) in cases {
            assert_eq!(Op::parse(&path).unwrap(), op, "{path}");
        }
        // Unpadded entries are read too.
        let unpadded = encoded("b:k1").trim_end_matches('=').to_string();
        assert_eq!(
            Op::parse(&format!("/stat/{unpadded}")).unwrap(),
            Op::Stat(entry("b", "k1"))
        );
    }

    #[test]
    fn malformed_operations_are_refused() {
        let a = encoded("b:k");
        for path in [
            "/stat/".to_string(),
            format!("/stat/{}", encoded("bucket-only")),
            format!("/stat/{a}/extra"),
            format!("/copy/{a}"),
            format!("/copy/{a}/{a}/force"),
            format!("/chgm/{a}/mime"),
            format!("/chgm/{a}/cond/{}", encoded("fsize=1")),
            format!("/fetch/{a}"),
            "/stat/!!!".to_string(),
        ] {
            assert!(Op::parse(&path).is_err(), "{path}");
        }
    }

    #[test]
    fn put_time_counts_100ns_units() {
        let time = chrono::DateTime::from_timestamp(1_700_000_000, 123_456_700).unwrap();
        assert_eq!(put_time(time), 17_000_000_001_234_567);
    }
}
