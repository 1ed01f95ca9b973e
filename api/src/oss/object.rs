//! PutObject (`PUT /<bucket>/<key>`, through `jobs::upload`).

use axum::extract::Request;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use jobs::ledger::AccessKey;
use jobs::upload::{self, Upload};
use jobs::Services;

use super::error::OssError;
use super::{read_body, Target};

pub(super) async fn put(
    services: &Services,
    who: &AccessKey,
    target: &Target,
    request: Request,
) -> Result<Response, OssError> {
    let limit = usize::try_from(services.config.max_upload_bytes).unwrap_or(usize::MAX);
    let body = read_body(request, limit).await?;
    let upload = Upload::new(&target.bucket, &target.key, body);
    let uploaded = upload::upload(services, who, upload).await?;
    let mut response = StatusCode::OK.into_response();
    let headers = response.headers_mut();
    crate::set_header(
        headers,
        header::ETAG,
        &format!("\"{}\"", uploaded.stored.hash),
    );
    crate::set_job_id(headers, uploaded.job);
    Ok(response)
}
