//! `GET`/`PUT /v1/buckets/{bucket}/settings`: a bucket's read settings (ACL, style
//! separators, original protection, Cache-Control, download hosts), checked and kept by
//! `jobs::catalog::settings`.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::Json;
use jobs::catalog::settings::{bucket_settings, save_bucket_settings, BucketSettings};
use jobs::credentials::Permission;
use jobs::Services;

use super::body::{JsonBody, JsonRequest};
use super::{Caller, NativeError};

impl JsonRequest for BucketSettings {
    const NAME: &'static str = "bucket settings";
}

pub(super) async fn get_settings(
    State(services): State<Arc<Services>>,
    caller: Caller,
    Path(bucket): Path<String>,
) -> Result<Json<BucketSettings>, NativeError> {
    caller.require(&bucket, Permission::Read)?;
    Ok(Json(bucket_settings(&services.ledger, &bucket).await?))
}

/// Replaces every setting; a field left out takes its default.
pub(super) async fn put_settings(
    State(services): State<Arc<Services>>,
    caller: Caller,
    Path(bucket): Path<String>,
    body: Result<JsonBody<BucketSettings>, NativeError>,
) -> Result<Json<BucketSettings>, NativeError> {
    caller.require(&bucket, Permission::Write)?;
    let JsonBody(settings) = body?;
    Ok(Json(
        save_bucket_settings(&services.ledger, &bucket, settings).await?,
    ))
}
