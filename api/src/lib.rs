//! The HTTP API: thin adapters from each surface's wire format onto `jobs` (submit, upload,
//! catalog, lookup). It authenticates and translates; every rule is `jobs`'; it never decodes
//! pixels.
//!
//! One folder per surface, holding its routes, its credential scheme and its one error
//! mapping (a `jobs::error::Failure` rendered in the surface's format, its status from one
//! exhaustive `match` on `FailureCode`):
//!
//! - [`native`]: JSON under `/v1/...`, HTTP Basic. `jobs`, `objects`, `styles`, `rules`: one
//!   file per command group; `body` (the JSON-body extractor), `auth`, `error`.
//! - [`oss`]: Aliyun OSS path style, the router's fallback. `object` (put/get/head),
//!   `process` (`x-oss-process` saveas, `x-oss-async-process`), `auth` (signatures V1, V2,
//!   V4, header and presigned query: `auth/{v1,v2,v4}.rs`; who the caller is), `error`
//!   (OSS's XML).
//! - [`qiniu`]: `pfop` (pfop, prefop), `upload` (form upload), `auth` (QBox, Qiniu v2, upload
//!   tokens and put policies, private download URLs), `error` (Qiniu's JSON and statuses).
//!
//! Shared: [`auth`] (`AuthError`, HMAC-SHA1/SHA-256, checking a key's secret), [`failure`] (the
//! engine codes' statuses, which native and OSS share), [`health`] (`/healthz`, `/metrics`),
//! [`telemetry`] (the Prometheus recorder).

pub mod auth;
pub mod failure;
pub mod health;
pub mod native;
pub mod oss;
pub mod qiniu;
pub mod telemetry;

use std::sync::Arc;

use axum::http::{HeaderMap, HeaderName, HeaderValue};
use axum::Router;
use jobs::Services;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// The header an upload's answer names the job it started in (native and OSS).
pub const JOB_ID: HeaderName = HeaderName::from_static("x-ferrotype-job-id");

/// The router of every surface, over one set of services.
pub fn router(services: Arc<Services>) -> Router {
    let upload_limit = usize::try_from(services.config.max_upload_bytes).unwrap_or(usize::MAX);
    Router::new()
        .merge(native::router(upload_limit))
        .merge(health::router())
        .merge(qiniu::router(upload_limit))
        // OSS path-style addresses (`/<bucket>/<key>`) are whatever no route above claims.
        .fallback(oss::dispatch)
        .with_state(services)
        .layer(tower_http::trace::TraceLayer::new_for_http())
}

/// Serves until `shutdown` is cancelled, then finishes the requests in flight.
pub async fn serve(
    services: Arc<Services>,
    listener: TcpListener,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    telemetry::install_recorder();
    tracing::info!(address = %listener.local_addr()?, "API listening");
    axum::serve(listener, router(services))
        .with_graceful_shutdown(async move { shutdown.cancelled().await })
        .await
}

/// A fresh request id (32 hex digits), for the vendors' `X-Reqid` / `x-oss-request-id`.
pub fn new_request_id() -> String {
    Uuid::new_v4().simple().to_string()
}

/// Sets `header` to `value`; a value that cannot be a header (never the case for the ids and
/// hashes set here) is left out rather than failing the answer.
fn set_header(headers: &mut HeaderMap, header: HeaderName, value: &str) {
    if let Ok(value) = HeaderValue::from_str(value) {
        headers.insert(header, value);
    }
}

/// Names the job an upload started, if it started one.
fn set_job_id(headers: &mut HeaderMap, job: Option<Uuid>) {
    if let Some(id) = job {
        set_header(headers, JOB_ID, &id.to_string());
    }
}
