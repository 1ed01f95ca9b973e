//! The native surface: JSON over HTTP, HTTP Basic credentials.
//!
//! - `POST /v1/jobs`: submit (`fops` in Qiniu's language, or `process` in OSS's).
//! - `GET /v1/jobs/{id}`: the job's status document.
//! - `PUT`/`GET /v1/buckets/{bucket}/objects/{key}`: upload and download objects (an upload
//!   matching an upload rule starts a job: `x-ferrotype-job-id`).
//! - `GET /v1/buckets/{bucket}/styles`, `PUT`/`GET`/`DELETE .../styles/{name}`: styles.
//! - `GET`/`POST /v1/buckets/{bucket}/rules`, `DELETE .../rules/{id}`: upload rules.
//! - `GET /v1/openapi.json`: this surface, described.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post, put};
use axum::{Json, Router};
use jobs::catalog::{NewUploadRule, StylePut};
use jobs::credentials::Permission;
use jobs::model::{Dialect, JobView};
use jobs::submit::{self, CommandText, Submission};
use jobs::Services;
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use crate::auth::Caller;
use crate::error::ApiError;

/// Job requests are small; anything bigger is not a job request.
const MAX_JOB_REQUEST_BYTES: usize = 256 * 1024;

pub fn router(upload_limit: usize) -> Router<Arc<Services>> {
    Router::new()
        .route(
            "/v1/jobs",
            post(create_job).layer(DefaultBodyLimit::max(MAX_JOB_REQUEST_BYTES)),
        )
        .route("/v1/jobs/{id}", get(job_status))
        .route("/v1/openapi.json", get(openapi))
        .route("/v1/buckets/{bucket}/styles", get(list_styles))
        .route(
            "/v1/buckets/{bucket}/styles/{name}",
            put(put_style).get(get_style).delete(delete_style),
        )
        .route(
            "/v1/buckets/{bucket}/rules",
            get(list_rules).post(create_rule),
        )
        .route(
            "/v1/buckets/{bucket}/rules/{id}",
            axum::routing::delete(delete_rule),
        )
        .route(
            "/v1/buckets/{bucket}/objects/{*key}",
            get(download)
                .put(upload)
                .layer(DefaultBodyLimit::max(upload_limit)),
        )
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct JobRequest {
    bucket: String,
    key: String,
    #[serde(default)]
    fops: Option<Vec<String>>,
    #[serde(default)]
    process: Option<String>,
    #[serde(default)]
    notify_url: Option<String>,
    #[serde(default)]
    pipeline: Option<String>,
    #[serde(default)]
    force: bool,
    #[serde(default, rename = "type")]
    job_type: i16,
}

impl JobRequest {
    fn into_submission(self) -> Result<Submission, ApiError> {
        let commands: Vec<CommandText> = match (self.fops, self.process) {
            (Some(fops), None) => fops
                .iter()
                .flat_map(|f| submit::split_qiniu_fops(f))
                .collect(),
            (None, Some(process)) => vec![CommandText {
                text: process,
                dialect: Dialect::Oss,
            }],
            (Some(_), Some(_)) => {
                return Err(ApiError::BadRequest(
                    "give either \"fops\" or \"process\", not both".into(),
                ))
            }
            (None, None) => {
                return Err(ApiError::BadRequest(
                    "one of \"fops\" or \"process\" is required".into(),
                ))
            }
        };
        Ok(Submission {
            bucket: self.bucket,
            key: self.key,
            commands,
            notify_url: self.notify_url.filter(|u| !u.is_empty()),
            pipeline: self.pipeline,
            force: self.force,
            job_type: self.job_type,
            ..Submission::new("", "", Vec::new())
        })
    }
}

async fn create_job(
    State(services): State<Arc<Services>>,
    caller: Caller,
    body: Result<Bytes, BytesRejection>,
) -> Result<impl IntoResponse, ApiError> {
    let body = body.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let request: JobRequest = serde_json::from_slice(&body)
        .map_err(|e| ApiError::BadRequest(format!("invalid job request: {e}")))?;
    let id = submit::submit(&services, &caller.0, request.into_submission()?).await?;
    Ok((StatusCode::ACCEPTED, Json(json!({ "id": id.to_string() }))))
}

/// A job is visible to whoever may read its source bucket: its status names the source and
/// the targets, which are that bucket owner's business.
async fn job_status(
    State(services): State<Arc<Services>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<JobView>, ApiError> {
    let uuid = Uuid::parse_str(&id).map_err(|_| ApiError::NoSuchJob(id.clone()))?;
    let job = services
        .ledger
        .job(uuid)
        .await?
        .ok_or_else(|| ApiError::NoSuchJob(id.clone()))?;
    if !caller.0.allows(&job.row.input_bucket, Permission::Read) {
        // Not 403: whether a job id exists is itself not the caller's to know.
        return Err(ApiError::NoSuchJob(id));
    }
    Ok(Json(JobView::from(&job)))
}

async fn upload(
    State(services): State<Arc<Services>>,
    caller: Caller,
    Path((bucket, key)): Path<(String, String)>,
    body: Result<Bytes, BytesRejection>,
) -> Result<impl IntoResponse, ApiError> {
    caller.require(&bucket, Permission::Write)?;
    let body = body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::Store(jobs::error::StoreError::TooLarge {
                bucket: bucket.clone(),
                key: key.clone(),
                size: services.config.max_upload_bytes + 1,
                limit: services.config.max_upload_bytes,
            })
        } else {
            ApiError::BadRequest(rejection.body_text())
        }
    })?;
    let stored = services.buckets.put(&bucket, &key, body).await?;
    let job = submit::submit_upload_rules(&services, &caller.0, &bucket, &key).await?;
    let mut response = (
        StatusCode::OK,
        Json(json!({
            "bucket": bucket, "key": key, "size": stored.size, "hash": stored.hash,
            "job_id": job.map(|id| id.to_string()),
        })),
    )
        .into_response();
    if let Some(id) = job {
        if let Ok(value) = axum::http::HeaderValue::from_str(&id.to_string()) {
            response.headers_mut().insert("x-ferrotype-job-id", value);
        }
    }
    Ok(response)
}

async fn download(
    State(services): State<Arc<Services>>,
    caller: Caller,
    Path((bucket, key)): Path<(String, String)>,
) -> Result<impl IntoResponse, ApiError> {
    caller.require(&bucket, Permission::Read)?;
    let object = services
        .buckets
        .get(&bucket, &key, services.config.max_upload_bytes)
        .await?;
    let mime = pipeline::probe(&object.bytes)
        .map(|info| info.format.mime())
        .unwrap_or("application/octet-stream");
    Ok((
        [
            (header::CONTENT_TYPE, mime.to_string()),
            (header::ETAG, format!("\"{}\"", object.etag)),
        ],
        object.bytes,
    ))
}

/// The OpenAPI description of this surface, kept beside the code that it describes.
async fn openapi() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        include_str!("../../openapi.json"),
    )
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StyleRequest {
    /// The processing string, OSS language: `image/...`.
    process: String,
}

async fn list_styles(
    State(services): State<Arc<Services>>,
    caller: Caller,
    Path(bucket): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    caller.require(&bucket, Permission::Read)?;
    let styles = services.ledger.styles(&bucket).await?;
    Ok(Json(json!({ "styles": styles })))
}

async fn get_style(
    State(services): State<Arc<Services>>,
    caller: Caller,
    Path((bucket, name)): Path<(String, String)>,
) -> Result<impl IntoResponse, ApiError> {
    caller.require(&bucket, Permission::Read)?;
    let style = services
        .ledger
        .style(&bucket, &name)
        .await?
        .ok_or(ApiError::NoSuchStyle(name))?;
    Ok(Json(style))
}

async fn put_style(
    State(services): State<Arc<Services>>,
    caller: Caller,
    Path((bucket, name)): Path<(String, String)>,
    body: Result<Bytes, BytesRejection>,
) -> Result<impl IntoResponse, ApiError> {
    caller.require(&bucket, Permission::Write)?;
    jobs::buckets::validate_bucket(&bucket).map_err(jobs::error::SubmitError::from)?;
    if !jobs::catalog::valid_style_name(&name) {
        return Err(ApiError::BadRequest(format!(
            "style name {name:?}: 1-63 letters, digits, '_', '-', '.'"
        )));
    }
    let body = body.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let request: StyleRequest = serde_json::from_slice(&body)
        .map_err(|e| ApiError::BadRequest(format!("invalid style request: {e}")))?;
    // A style holds image actions only: no '|' parts, no nested style.
    if !request.process.starts_with("image/") || request.process.contains('|') {
        return Err(ApiError::BadRequest(
            "a style is an image/... processing string without '|' parts".into(),
        ));
    }
    pipeline::parse::oss::parse_process(&request.process, &pipeline::NoStyles).map_err(
        |source| ApiError::Submit(jobs::error::SubmitError::Pipeline { index: 0, source }),
    )?;
    let status = match services
        .ledger
        .put_style(&bucket, &name, &request.process)
        .await?
    {
        StylePut::Created => StatusCode::CREATED,
        StylePut::Replaced => StatusCode::OK,
        StylePut::LimitReached => {
            return Err(ApiError::TooManyStyles(format!(
                "bucket {bucket} already has {} styles",
                jobs::catalog::MAX_STYLES_PER_BUCKET
            )))
        }
    };
    let style = services
        .ledger
        .style(&bucket, &name)
        .await?
        .ok_or(ApiError::NoSuchStyle(name))?;
    Ok((status, Json(style)))
}

async fn delete_style(
    State(services): State<Arc<Services>>,
    caller: Caller,
    Path((bucket, name)): Path<(String, String)>,
) -> Result<impl IntoResponse, ApiError> {
    caller.require(&bucket, Permission::Write)?;
    if services.ledger.delete_style(&bucket, &name).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NoSuchStyle(name))
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleRequest {
    #[serde(default)]
    prefix: String,
    #[serde(default)]
    suffix: String,
    #[serde(default)]
    fops: Option<Vec<String>>,
    #[serde(default)]
    process: Option<String>,
    #[serde(default)]
    notify_url: Option<String>,
}

async fn list_rules(
    State(services): State<Arc<Services>>,
    caller: Caller,
    Path(bucket): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    caller.require(&bucket, Permission::Read)?;
    let rules = services.ledger.upload_rules(&bucket).await?;
    Ok(Json(json!({ "rules": rules })))
}

async fn create_rule(
    State(services): State<Arc<Services>>,
    caller: Caller,
    Path(bucket): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<impl IntoResponse, ApiError> {
    caller.require(&bucket, Permission::Write)?;
    jobs::buckets::validate_bucket(&bucket).map_err(jobs::error::SubmitError::from)?;
    let body = body.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let request: RuleRequest = serde_json::from_slice(&body)
        .map_err(|e| ApiError::BadRequest(format!("invalid rule request: {e}")))?;
    let (commands, dialect) = match (request.fops, request.process) {
        (Some(fops), None) => (
            fops.iter()
                .flat_map(|f| submit::split_qiniu_fops(f))
                .map(|c| c.text)
                .collect::<Vec<_>>(),
            Dialect::Qiniu,
        ),
        (None, Some(process)) => (vec![process], Dialect::Oss),
        _ => {
            return Err(ApiError::BadRequest(
                "give exactly one of \"fops\" or \"process\"".into(),
            ))
        }
    };
    if commands.is_empty() || commands.len() > submit::MAX_COMMANDS {
        return Err(ApiError::BadRequest(format!(
            "a rule holds 1 to {} commands",
            submit::MAX_COMMANDS
        )));
    }
    // Commands are checked now, against the bucket's styles, so a broken rule is refused
    // here rather than failing every upload.
    let styles = services.ledger.style_map(&bucket).await?;
    for (index, text) in commands.iter().enumerate() {
        let command = CommandText {
            text: text.clone(),
            dialect,
        };
        submit::parse_command(&command, &styles).map_err(|source| {
            ApiError::Submit(jobs::error::SubmitError::Pipeline { index, source })
        })?;
    }
    let rule = services
        .ledger
        .insert_upload_rule(&NewUploadRule {
            bucket,
            prefix: request.prefix,
            suffix: request.suffix,
            commands,
            dialect,
            notify_url: request.notify_url.filter(|u| !u.is_empty()),
            created_by: Some(caller.0.access_key.clone()),
        })
        .await?;
    Ok((StatusCode::CREATED, Json(rule)))
}

async fn delete_rule(
    State(services): State<Arc<Services>>,
    caller: Caller,
    Path((bucket, id)): Path<(String, String)>,
) -> Result<impl IntoResponse, ApiError> {
    caller.require(&bucket, Permission::Write)?;
    let uuid = Uuid::parse_str(&id).map_err(|_| ApiError::NoSuchRule(id.clone()))?;
    if services.ledger.delete_upload_rule(&bucket, uuid).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NoSuchRule(id))
    }
}
