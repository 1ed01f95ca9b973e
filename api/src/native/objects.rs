//! `PUT`/`GET /v1/buckets/{bucket}/objects/{key}`: upload (through `jobs::upload`, so a
//! matching upload rule starts a job) and download.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use jobs::credentials::Permission;
use jobs::error::StoreError;
use jobs::upload::{self, Upload};
use jobs::{Config, Services};
use serde_json::json;

use super::{Caller, NativeError};

pub(super) async fn upload(
    State(services): State<Arc<Services>>,
    caller: Caller,
    Path((bucket, key)): Path<(String, String)>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, NativeError> {
    // The grant is answered for before anything about the body.
    caller.require(&bucket, Permission::Write)?;
    let body =
        body.map_err(|rejection| body_refused(&services.config, &bucket, &key, rejection))?;
    let uploaded = upload::upload(&services, &caller.0, Upload::new(&bucket, &key, body)).await?;
    let mut response = Json(json!({
        "bucket": bucket, "key": key,
        "size": uploaded.stored.size, "hash": uploaded.stored.qiniu_hash,
        "job_id": uploaded.job.map(|id| id.to_string()),
    }))
    .into_response();
    crate::set_job_id(response.headers_mut(), uploaded.job);
    Ok(response)
}

/// A body over the upload limit is the object being too large; any other is unreadable.
fn body_refused(
    config: &Config,
    bucket: &str,
    key: &str,
    rejection: BytesRejection,
) -> NativeError {
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        NativeError::from(StoreError::TooLarge {
            bucket: bucket.to_string(),
            key: key.to_string(),
            size: config.max_upload_bytes + 1,
            limit: config.max_upload_bytes,
        })
    } else {
        NativeError::bad_request(rejection.body_text())
    }
}

pub(super) async fn download(
    State(services): State<Arc<Services>>,
    caller: Caller,
    Path((bucket, key)): Path<(String, String)>,
) -> Result<impl IntoResponse, NativeError> {
    caller.require(&bucket, Permission::Read)?;
    let object = services
        .buckets
        .get(&bucket, &key, services.config.max_upload_bytes)
        .await?;
    Ok((
        [
            (header::CONTENT_TYPE, object.content_type().to_string()),
            (header::ETAG, format!("\"{}\"", object.etag)),
        ],
        object.bytes,
    ))
}
