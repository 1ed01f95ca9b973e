//! `GET /healthz` (Postgres, RabbitMQ, the data dir) and `GET /metrics` (Prometheus).

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use jobs::Services;
use serde_json::json;

pub fn router() -> Router<Arc<Services>> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
}

async fn healthz(State(services): State<Arc<Services>>) -> impl IntoResponse {
    let database = services.ledger.ping().await.is_ok();
    let broker = services.queue.is_connected();
    let data_dir = services.buckets.check_data_dir().is_ok();
    let healthy = database && broker && data_dir;
    let status = if healthy {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let word = |ok: bool| if ok { "ok" } else { "down" };
    (
        status,
        Json(json!({
            "status": word(healthy),
            "postgres": word(database),
            "rabbitmq": word(broker),
            "data_dir": word(data_dir),
        })),
    )
}

async fn metrics() -> impl IntoResponse {
    match crate::telemetry::install_recorder() {
        Some(handle) => (
            StatusCode::OK,
            [("content-type", "text/plain; version=0.0.4")],
            handle.render(),
        ),
        None => (
            StatusCode::SERVICE_UNAVAILABLE,
            [("content-type", "text/plain")],
            "metrics recorder unavailable\n".to_string(),
        ),
    }
}
