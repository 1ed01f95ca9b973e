//! `POST /v1/jobs` and `GET /v1/jobs/{id}`.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use jobs::lookup::find_job_for;
use jobs::model::{Dialect, JobView};
use jobs::submit::{self, CommandText, Submission};
use jobs::Services;
use serde::Deserialize;
use serde_json::json;

use super::body::{JsonBody, JsonRequest};
use super::{Caller, NativeError};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct JobRequest {
    bucket: String,
    key: String,
    fops: Option<Vec<String>>,
    process: Option<String>,
    notify_url: Option<String>,
    /// The named pipeline (queue).
    #[serde(rename = "pipeline")]
    queue: Option<String>,
    #[serde(default)]
    force: bool,
    #[serde(default, rename = "type")]
    job_type: i16,
}

impl JsonRequest for JobRequest {
    const NAME: &'static str = "job";
}

impl JobRequest {
    fn into_submission(self) -> Result<Submission, NativeError> {
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
                return Err(NativeError::bad_request(
                    "give either \"fops\" or \"process\", not both",
                ))
            }
            (None, None) => {
                return Err(NativeError::bad_request(
                    "one of \"fops\" or \"process\" is required",
                ))
            }
        };
        Ok(Submission {
            notify_url: self.notify_url.filter(|u| !u.is_empty()),
            queue: self.queue,
            force: self.force,
            job_type: self.job_type,
            ..Submission::new(&self.bucket, &self.key, commands)
        })
    }
}

pub(super) async fn create_job(
    State(services): State<Arc<Services>>,
    caller: Caller,
    JsonBody(request): JsonBody<JobRequest>,
) -> Result<impl IntoResponse, NativeError> {
    let id = submit::submit(&services, &caller.0, request.into_submission()?).await?;
    Ok((StatusCode::ACCEPTED, Json(json!({ "id": id.to_string() }))))
}

pub(super) async fn job_status(
    State(services): State<Arc<Services>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<JobView>, NativeError> {
    let job = find_job_for(&services.ledger, &caller.0, &id).await?;
    Ok(Json(JobView::from(&job)))
}
