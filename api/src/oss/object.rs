//! PutObject (`PUT /<bucket>/<key>`, through `jobs::upload`): the body with its Content-Type,
//! standard headers and `x-oss-meta-*`, `Content-MD5` checked before anything is stored.

use axum::extract::Request;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use jobs::ledger::AccessKey;
use jobs::upload::{self, Upload};
use jobs::Services;

use super::error::OssError;
use super::meta::{content_md5, digest_headers, object_meta};
use super::{read_body, Target};

pub(super) async fn put(
    services: &Services,
    who: &AccessKey,
    target: &Target,
    request: Request,
) -> Result<Response, OssError> {
    let meta = object_meta(request.headers())?;
    let expected_md5 = content_md5(request.headers())?;
    let limit = usize::try_from(services.config.max_upload_bytes).unwrap_or(usize::MAX);
    let body = read_body(request, limit).await?;
    let upload = Upload {
        meta,
        expected_md5,
        ..Upload::new(&target.bucket, &target.key, body)
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
