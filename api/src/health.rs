//! Probes and metrics: `GET /livez` (the process answers), `GET /readyz` (Postgres,
//! RabbitMQ and the data dir are reachable: 503 naming what is down), `GET /healthz` (the
//! same as `/readyz`, kept for earlier deployments), `GET /metrics` (Prometheus). The API
//! serves them on its own address; [`serve_probes`] serves them on a listener of their own,
//! the one a worker-only process has (`metrics_listen`).

use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use jobs::Services;
use serde_json::json;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// How long readiness waits for the ledger's answer.
const PING_TIMEOUT: Duration = Duration::from_secs(2);

pub fn router() -> Router<Arc<Services>> {
    Router::new()
        .route("/livez", get(livez))
        .route("/readyz", get(readyz))
        .route("/healthz", get(readyz))
        .route("/metrics", get(metrics))
}

/// Serves the probes and `/metrics` alone on `listener` until `shutdown`.
pub async fn serve_probes(
    services: Arc<Services>,
    listener: TcpListener,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    crate::telemetry::install_recorder();
    tracing::info!(address = %listener.local_addr()?, "metrics and probes listening");
    // A scraper and a prober or two: a few connections, answered at once.
    let limits = crate::listen::Limits {
        max_connections: 64,
        header_timeout: Duration::from_secs(10),
        idle_timeout: Duration::from_secs(60),
    };
    let router = router().with_state(services);
    crate::listen::serve(listener, router, limits, shutdown).await
}

async fn livez() -> impl IntoResponse {
    Json(json!({"status": "ok"}))
}

async fn readyz(State(services): State<Arc<Services>>) -> impl IntoResponse {
    // A ledger out of reach makes a new connection wait for the pool's acquire timeout: a
    // probe answers sooner than that.
    let ping = tokio::time::timeout(PING_TIMEOUT, services.ledger.ping()).await;
    let database = matches!(ping, Ok(Ok(())));
    let broker = services.queue.is_connected();
    let data_dir = services.buckets.check_data_dir().is_ok();
    let ready = database && broker && data_dir;
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let word = |ok: bool| if ok { "ok" } else { "down" };
    (
        status,
        Json(json!({
            "status": word(ready),
            "postgres": word(database),
            "rabbitmq": word(broker),
            "data_dir": word(data_dir),
        })),
    )
}

async fn metrics() -> impl IntoResponse {
    match crate::telemetry::render() {
        Some(text) => (
            StatusCode::OK,
            [("content-type", "text/plain; version=0.0.4")],
            text,
        ),
        None => (
            StatusCode::SERVICE_UNAVAILABLE,
            [("content-type", "text/plain")],
            "metrics recorder unavailable\n".to_string(),
        ),
    }
}
