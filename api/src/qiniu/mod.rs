//! The Qiniu surface, for the unmodified `qiniu` SDKs. One file per command group:
//!
//! - [`pfop`]: `POST /pfop`, `/pfop/` (persistent processing of an existing object; form
//!   body, signed `QBox` or `Qiniu`), `GET /status/get/prefop?id=` (the job in Qiniu's status
//!   JSON, signed or not: the id is an unguessable UUID).
//! - [`upload`]: `POST /` (form upload with an upload token). The crate's router owns the
//!   root route and calls [`form_upload`] unless the request addresses an OSS bucket
//!   virtual-hosted. [`form`] reads its body: the token verified as soon as it arrives, the
//!   file spooled to a temporary file.
//! - [`blocks`]: resumable upload v1 (`/mkblk`, `/bput`, `/mkfile`); [`parts`]: v2
//!   (`/buckets/<b>/objects/<k>/uploads...`). Both keep the file on the bucket's backend.
//! - [`store`]: the end of every upload: the put policy ([`policy`]) applied, the object
//!   stored, its `persistentOps` started, the answer rendered ([`magic`] variables) or the
//!   app called back ([`callback`]).
//! - [`rs`]: `stat`, `delete`, `copy`, `move`, `chgm`; [`batch`]; [`rsf`]: `list` v1 and v2.
//! - [`uc`]: region discovery (`/v4/query`, `/v3/query`, `/v2/query`), answering this
//!   service's own address for every host an SDK asks for.
//! - [`download`]: download hosts, fops on GET, private download URLs (called from the
//!   crate's fallback).
//!
//! Routing: `pfop`, `prefop`, the uc queries and `POST /` (multipart) are routes of the
//! crate's router ([`router`]); every other Qiniu call carries `Authorization: UpToken`,
//! `QBox` or `Qiniu`, which an OSS request never does, so the crate's fallback hands such a
//! request to [`signed_router`] whatever its path; a path that router does not know is a
//! Qiniu 404 JSON, never OSS XML.
//!
//! [`auth`] holds the request signatures, upload tokens and put policies; [`error`] the one
//! error mapping. Every answer, errors included, carries `X-Reqid`: the Python SDK ignores
//! 200s without it.

pub mod auth;
mod batch;
mod blocks;
mod callback;
pub mod download;
pub mod error;
mod form;
mod magic;
mod parts;
mod pfop;
pub mod policy;
mod rs;
mod rsf;
mod store;
mod uc;
mod upload;

use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, Request};
use axum::handler::Handler;
use axum::http::HeaderName;
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
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
        .route("/v4/query", get(uc::query_regions))
        .route("/v3/query", get(uc::query_regions))
        .route("/v2/query", get(uc::query_v2))
        .layer(middleware::map_response(with_reqid))
}

/// Whether a request is signed the Qiniu way (`UpToken`, `QBox`, `Qiniu`): it is then the
/// [`signed_router`]'s, whatever its path.
pub fn is_signed(headers: &axum::http::HeaderMap) -> bool {
    (headers.get(axum::http::header::AUTHORIZATION))
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.trim_start().split_once(' '))
        .is_some_and(|(scheme, _)| matches!(scheme, "UpToken" | "QBox" | "Qiniu"))
}

const OBJECT_UPLOADS: &str = "/buckets/{bucket}/objects/{object}/uploads";

/// Resumable uploads, rs and rsf: the requests [`is_signed`] claims.
pub fn signed_router() -> Router<Arc<Services>> {
    let upload = format!("{OBJECT_UPLOADS}/{{upload_id}}");
    let part = format!("{upload}/{{part_number}}");
    let mut router = Router::new()
        .route("/mkblk/{size}", post(blocks::mkblk))
        .route("/bput/{ctx}/{offset}", post(blocks::bput))
        .route("/mkfile/{*rest}", post(blocks::mkfile))
        .route(OBJECT_UPLOADS, post(parts::initiate))
        .route(
            &upload,
            post(parts::complete)
                .get(parts::list_parts)
                .delete(parts::abort),
        )
        .route(&part, put(parts::upload_part))
        .route("/batch", post(batch::batch))
        .route("/list", get(rsf::list).post(rsf::list))
        .route("/v2/list", get(rsf::list_v2).post(rsf::list_v2));
    for op in ["stat", "delete", "copy", "move", "chgm"] {
        router = router.route(
            &format!("/{op}/{{*rest}}"),
            get(rs::single).post(rs::single),
        );
    }
    router
        .fallback(unknown_call)
        .layer(DefaultBodyLimit::disable())
        .layer(middleware::map_response(with_reqid))
}

/// A Qiniu-signed request this service has no call for.
async fn unknown_call(request: Request) -> QiniuError {
    QiniuError::new(
        jobs::error::FailureCode::NOT_IMPLEMENTED,
        format!(
            "{} {} is not a call this service serves",
            request.method(),
            request.uri().path()
        ),
    )
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
