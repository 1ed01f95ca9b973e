//! The HTTP API: thin adapters from each surface's wire format onto `jobs::submit` and the
//! ledger's status. It authenticates, validates and records; it never decodes pixels.
//!
//! - [`routes`]: one module per surface (`native`, `qiniu`, `oss`), plus `health` and
//!   `metrics`. Wire formats live only in their surface's module, errors in its `*_error`.
//! - [`auth`]: credentials: HTTP Basic (native), Qiniu request signatures and upload tokens,
//!   OSS signature V1.
//! - [`error`]: the native surface's error type and its JSON form, mapped in one place.
//! - [`telemetry`]: the Prometheus recorder.

pub mod auth;
pub mod error;
pub mod routes;
pub mod telemetry;

use std::sync::Arc;

use axum::Router;
use jobs::Services;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// The router of every surface, over one set of services.
pub fn router(services: Arc<Services>) -> Router {
    let upload_limit = usize::try_from(services.config.max_upload_bytes).unwrap_or(usize::MAX);
    Router::new()
        .merge(routes::native::router(upload_limit))
        .merge(routes::health::router())
        .merge(routes::qiniu::router(upload_limit))
        // OSS path-style addresses (`/<bucket>/<key>`) are whatever no route above claims.
        .fallback(routes::oss::dispatch)
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
