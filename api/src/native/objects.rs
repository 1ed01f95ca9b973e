//! `PUT`/`GET /v1/buckets/{bucket}/objects/{key}`: upload (through `jobs::upload`, so a
//! matching upload rule starts a job; the body streamed to the store, never held whole) and
//! download.

use std::sync::Arc;

use axum::extract::{Path, Request, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use jobs::credentials::Permission;
use jobs::upload::{self, Upload, UploadBody};
use jobs::Services;
use serde_json::json;

use super::{Caller, NativeError};

pub(super) async fn upload(
    State(services): State<Arc<Services>>,
    caller: Caller,
    Path((bucket, key)): Path<(String, String)>,
    request: Request,
) -> Result<Response, NativeError> {
    // The grant is answered for before anything about the body.
    caller.require(&bucket, Permission::Write)?;
    let limit = services.config.max_upload_bytes;
    crate::body::declared_too_large(request.headers(), limit, &bucket, &key)?;
    let body = crate::body::limited(request.into_body(), limit, &bucket, &key);
    let upload = Upload::new(&bucket, &key, UploadBody::Streamed(body));
    let uploaded = upload::upload(&services, &caller.0, upload).await?;
    let mut response = Json(json!({
        "bucket": bucket, "key": key,
        "size": uploaded.stored.size, "hash": uploaded.stored.qiniu_hash,
        "job_id": uploaded.job.map(|id| id.to_string()),
    }))
    .into_response();
    crate::set_job_id(response.headers_mut(), uploaded.job);
    Ok(response)
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
