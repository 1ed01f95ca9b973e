//! `GET /v1/pipelines`, `PUT`/`DELETE /v1/pipelines/{name}`: the named pipelines (queues) a
//! job may name, the configuration's and those created here (`jobs::catalog::pipelines`).
//! Any key may list them; creating and removing takes write on every bucket (`*:rw`).

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use jobs::catalog::pipelines;
use jobs::Services;
use serde_json::json;

use super::{Caller, NativeError};

pub(super) async fn list_pipelines(
    State(services): State<Arc<Services>>,
    _caller: Caller,
) -> Result<impl IntoResponse, NativeError> {
    let pipelines = pipelines::list_pipelines(&services).await?;
    Ok(Json(json!({ "pipelines": pipelines })))
}

/// 201 when created, 200 when it existed.
pub(super) async fn put_pipeline(
    State(services): State<Arc<Services>>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<impl IntoResponse, NativeError> {
    let created = pipelines::create_pipeline(&services, &caller.0, &name).await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(json!({ "name": name }))))
}

pub(super) async fn delete_pipeline(
    State(services): State<Arc<Services>>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<impl IntoResponse, NativeError> {
    pipelines::remove_pipeline(&services, &caller.0, &name).await?;
    Ok(StatusCode::NO_CONTENT)
}
