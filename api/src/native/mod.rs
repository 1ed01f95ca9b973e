//! The native surface: JSON over HTTP, HTTP Basic credentials. One file per command group:
//!
//! - [`jobs`]: `POST /v1/jobs` (submit: `fops` in Qiniu's language, or `process` in OSS's),
//!   `POST /v1/jobs/batch` (up to 1,000 of them, each answered with its id or its error),
//!   `GET /v1/jobs/{id}` (the job's status document).
//! - [`objects`]: `PUT`/`GET /v1/buckets/{bucket}/objects/{key}` (an upload matching an
//!   upload rule starts a job: `x-ferrotype-job-id`).
//! - [`styles`]: `GET /v1/buckets/{bucket}/styles`, `PUT`/`GET`/`DELETE .../styles/{name}`.
//! - [`rules`]: `GET`/`POST /v1/buckets/{bucket}/rules`, `DELETE .../rules/{id}`.
//! - [`settings`]: `GET`/`PUT /v1/buckets/{bucket}/settings` (who may read, style
//!   separators, original protection, Cache-Control, download hosts).
//! - [`pipelines`]: `GET /v1/pipelines`, `PUT`/`DELETE /v1/pipelines/{name}` (named queues a
//!   job may name, besides the configuration's).
//! - `GET /v1/openapi.json`: this surface, described.
//!
//! [`auth`] is the `Caller` extractor, [`body`] the JSON-body extractor, [`error`] the one
//! error mapping.

pub mod auth;
pub mod body;
pub mod error;
mod jobs;
mod objects;
mod pipelines;
mod rules;
mod settings;
mod styles;

use std::sync::Arc;

use ::jobs::Services;
use axum::extract::DefaultBodyLimit;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::{delete, get, post, put};
use axum::Router;

pub use auth::Caller;
pub use error::NativeError;

/// Job requests are small; anything bigger is not a job request.
const MAX_JOB_REQUEST_BYTES: usize = 256 * 1024;

/// A batch holds up to 1,000 job requests of a few hundred bytes each.
const MAX_BATCH_REQUEST_BYTES: usize = 8 * 1024 * 1024;

pub fn router(upload_limit: usize) -> Router<Arc<Services>> {
    Router::new()
        .route(
            "/v1/jobs",
            post(jobs::create_job).layer(DefaultBodyLimit::max(MAX_JOB_REQUEST_BYTES)),
        )
        .route(
            "/v1/jobs/batch",
            post(jobs::create_jobs).layer(DefaultBodyLimit::max(MAX_BATCH_REQUEST_BYTES)),
        )
        .route("/v1/jobs/{id}", get(jobs::job_status))
        .route("/v1/openapi.json", get(openapi))
        .route("/v1/pipelines", get(pipelines::list_pipelines))
        .route(
            "/v1/pipelines/{name}",
            put(pipelines::put_pipeline).delete(pipelines::delete_pipeline),
        )
        .route("/v1/buckets/{bucket}/styles", get(styles::list_styles))
        .route(
            "/v1/buckets/{bucket}/settings",
            get(settings::get_settings).put(settings::put_settings),
        )
        .route(
            "/v1/buckets/{bucket}/styles/{name}",
            put(styles::put_style)
                .get(styles::get_style)
                .delete(styles::delete_style),
        )
        .route(
            "/v1/buckets/{bucket}/rules",
            get(rules::list_rules).post(rules::create_rule),
        )
        .route(
            "/v1/buckets/{bucket}/rules/{id}",
            delete(rules::delete_rule),
        )
        .route(
            "/v1/buckets/{bucket}/objects/{*key}",
            get(objects::download)
                .put(objects::upload)
                .layer(DefaultBodyLimit::max(upload_limit)),
        )
}

/// The OpenAPI description of this surface, kept beside the code that it describes.
async fn openapi() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        include_str!("../../openapi.json"),
    )
}
