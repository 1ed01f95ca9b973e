//! PutObject (`PUT /<bucket>/<key>`, through `jobs::upload`) and GetObject (`GET`/`HEAD`).

use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use jobs::credentials::Permission;
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

pub(super) async fn get(
    services: &Services,
    who: &AccessKey,
    target: &Target,
    head: bool,
) -> Result<Response, OssError> {
    who.require(&target.bucket, Permission::Read)?;
    let object = services
        .buckets
        .get(
            &target.bucket,
            &target.key,
            services.config.max_upload_bytes,
        )
        .await?;
    let mime = object.content_type();
    let length = object.bytes.len();
    let body = if head {
        Body::empty()
    } else {
        Body::from(object.bytes)
    };
    let mut response = Response::new(body);
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(mime));
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    crate::set_header(headers, header::ETAG, &format!("\"{}\"", object.etag));
    Ok(response)
}
