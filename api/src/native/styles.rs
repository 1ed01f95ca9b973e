//! `GET /v1/buckets/{bucket}/styles`, `PUT`/`GET`/`DELETE .../styles/{name}`: a bucket's
//! styles, checked and kept by `jobs::catalog`.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use jobs::catalog;
use jobs::credentials::Permission;
use jobs::Services;
use serde::Deserialize;
use serde_json::json;

use super::body::{JsonBody, JsonRequest};
use super::{Caller, NativeError};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct StyleRequest {
    /// The processing string, OSS language: `image/...`.
    process: String,
}

impl JsonRequest for StyleRequest {
    const NAME: &'static str = "style";
}

pub(super) async fn list_styles(
    State(services): State<Arc<Services>>,
    caller: Caller,
    Path(bucket): Path<String>,
) -> Result<impl IntoResponse, NativeError> {
    caller.require(&bucket, Permission::Read)?;
    let styles = services.ledger.styles(&bucket).await?;
    Ok(Json(json!({ "styles": styles })))
}

pub(super) async fn get_style(
    State(services): State<Arc<Services>>,
    caller: Caller,
    Path((bucket, name)): Path<(String, String)>,
) -> Result<impl IntoResponse, NativeError> {
    caller.require(&bucket, Permission::Read)?;
    Ok(Json(
        catalog::find_style(&services.ledger, &bucket, &name).await?,
    ))
}

/// 201 when the style is new, 200 when it replaced one.
pub(super) async fn put_style(
    State(services): State<Arc<Services>>,
    caller: Caller,
    Path((bucket, name)): Path<(String, String)>,
    body: Result<JsonBody<StyleRequest>, NativeError>,
) -> Result<impl IntoResponse, NativeError> {
    caller.require(&bucket, Permission::Write)?;
    // The names are answered for before the body.
    catalog::check_style_name(&bucket, &name)?;
    let JsonBody(request) = body?;
    let saved = catalog::save_style(&services.ledger, &bucket, &name, &request.process).await?;
    let status = if saved.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(saved.style)))
}

pub(super) async fn delete_style(
    State(services): State<Arc<Services>>,
    caller: Caller,
    Path((bucket, name)): Path<(String, String)>,
) -> Result<StatusCode, NativeError> {
    caller.require(&bucket, Permission::Write)?;
    catalog::remove_style(&services.ledger, &bucket, &name).await?;
    Ok(StatusCode::NO_CONTENT)
}
