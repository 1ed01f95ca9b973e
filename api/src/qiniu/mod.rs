//! The Qiniu surface, for the unmodified `qiniu` SDKs. One file per command group:
//!
//! - [`pfop`]: `POST /pfop`, `/pfop/` (persistent processing of an existing object; form
//!   body, signed `QBox` or `Qiniu`), `GET /status/get/prefop?id=` (the job in Qiniu's status
//!   JSON, signed or not: the id is an unguessable UUID).
//! - [`upload`]: `POST /` (form upload with an upload token; the put policy's
//!   `persistentOps` and the bucket's upload rules start a job whose id is the answer's
//!   `persistentId`). The crate's router owns the root route and calls [`form_upload`]
//!   unless the request addresses an OSS bucket virtual-hosted. [`form`] reads its body:
//!   the token verified as soon as it arrives, the file spooled to a temporary file.
//! - Resumable uploads (`/mkblk`, `/buckets/.../uploads`) are refused with a clear 400 (the
//!   SDKs switch to them above 8 MiB): [`resumable_refused`].
//!
//! [`auth`] holds the request signatures, upload tokens and put policies; [`error`] the one
//! error mapping. Every answer, errors included, carries `X-Reqid`: the Python SDK ignores
//! 200s without it.

pub mod auth;
pub mod download;
pub mod error;
mod form;
mod pfop;
mod upload;

use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, Request};
use axum::handler::Handler;
use axum::http::HeaderName;
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use jobs::Services;

use self::error::QiniuError;

pub const REQID: HeaderName = HeaderName::from_static("x-reqid");

/// Form requests are small; anything bigger is not a pfop.
const MAX_PFOP_BYTES: usize = 256 * 1024;

/// Room for a form upload's other fields around the file.
const FORM_FIELDS_BYTES: usize = 64 * 1024;

pub fn router() -> Router<Arc<Services>> {
    let pfop_limit = DefaultBodyLimit::max(MAX_PFOP_BYTES);
    Router::new()
        .route("/pfop", post(pfop::pfop).layer(pfop_limit))
        .route("/pfop/", post(pfop::pfop).layer(pfop_limit))
        .route("/status/get/prefop", get(pfop::prefop))
        .layer(middleware::map_response(with_reqid))
}

/// The body limit of `POST /` (a form upload: the file and the form's other fields).
pub fn form_body_limit(upload_limit: usize) -> DefaultBodyLimit {
    DefaultBodyLimit::max(upload_limit.saturating_add(FORM_FIELDS_BYTES))
}

/// `POST /` as a form upload (the root route is shared with OSS virtual-hosted requests, so
/// it lives in the crate's router, which calls this).
pub async fn form_upload(services: Arc<Services>, request: Request) -> Response {
    with_reqid(upload::form_upload.call(request, services).await).await
}

/// Adds `X-Reqid` to any answer that has none (errors, extractor rejections).
async fn with_reqid(mut response: Response) -> Response {
    if !response.headers().contains_key(REQID) {
        crate::set_header(response.headers_mut(), REQID, &crate::new_request_id());
    }
    response
}

/// `response` with a request id of its own, for answers outside this surface's router.
pub fn with_new_reqid(mut response: Response) -> Response {
    crate::set_header(response.headers_mut(), REQID, &crate::new_request_id());
    response
}

/// A JSON answer carrying its request id.
fn answer(reqid: &str, body: serde_json::Value) -> Response {
    let mut response = Json(body).into_response();
    crate::set_header(response.headers_mut(), REQID, reqid);
    response
}

/// Resumable upload requests (`Authorization: UpToken ...`): refused, clearly.
pub fn resumable_refused() -> Response {
    let mut response =
        QiniuError::bad_request("resumable (chunked) upload is not supported; use form upload")
            .into_response();
    crate::set_header(response.headers_mut(), REQID, &crate::new_request_id());
    response
}
