//! PutObject (`PUT /<bucket>/<key>`, through `jobs::upload`): the body with its Content-Type,
//! standard headers and `x-oss-meta-*`, streamed to the store as it arrives (never held
//! whole), `Content-MD5` checked before the object becomes visible.

use axum::extract::Request;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use jobs::ledger::AccessKey;
use jobs::upload::{self, Upload, UploadBody};
use jobs::Services;

use super::error::OssError;
use super::meta::{content_md5, digest_headers, object_meta};
use super::Target;

pub(super) async fn put(
    services: &Services,
    who: &AccessKey,
    target: &Target,
    request: Request,
) -> Result<Response, OssError> {
    let meta = object_meta(request.headers())?;
    let expected_md5 = content_md5(request.headers())?;
    let limit = services.config.max_upload_bytes;
    let (bucket, key) = (&target.bucket, &target.key);
    crate::body::declared_too_large(request.headers(), limit, bucket, key)?;
    let body = crate::body::limited(request.into_body(), limit, bucket, key);
    let upload = Upload {
        meta,
        expected_md5,
        ..Upload::new(bucket, key, UploadBody::Streamed(body))
    };
    let uploaded = upload::upload(services, who, upload).await?;
    let mut response = StatusCode::OK.into_response();
    let headers = response.headers_mut();
    let etag = format!("\"{}\"", uploaded.stored.oss_etag());
    crate::set_header(headers, header::ETAG, &etag);
    headers.extend(digest_headers(&uploaded.stored));
    crate::set_job_id(headers, uploaded.job);
    Ok(response)
}
