//! `POST /v1/jobs`, `POST /v1/jobs/batch` (up to 1,000 jobs, each answered with its id or
//! its error) and `GET /v1/jobs/{id}`.

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

/// A batch submission: up to [`submit::MAX_BATCH`] job requests.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct BatchRequest {
    jobs: Vec<JobRequest>,
}

impl JsonRequest for BatchRequest {
    const NAME: &'static str = "batch";
}

/// `POST /v1/jobs/batch`: every job validated on its own and the valid ones recorded in one
/// statement; 200 with one result per job, in order: `{"id"}` or `{"error": {"code",
/// "message"}}`, and the counts.
pub(super) async fn create_jobs(
    State(services): State<Arc<Services>>,
    caller: Caller,
    JsonBody(request): JsonBody<BatchRequest>,
) -> Result<impl IntoResponse, NativeError> {
    let (mut submissions, mut results) = (Vec::new(), Vec::new());
    for job in request.jobs {
        match job.into_submission() {
            Ok(submission) => {
                submissions.push(submission);
                results.push(None);
            }
            Err(error) => results.push(Some(json!({ "error": error.to_json() }))),
        }
    }
    let mut submitted = submit::submit_batch(&services, &caller.0, submissions)
        .await?
        .into_iter();
    // One submitted result per request that became a submission, in order.
    let results: Vec<serde_json::Value> = results
        .into_iter()
        .filter_map(|refused| match refused {
            Some(refused) => Some(refused),
            None => submitted.next().map(|result| match result {
                Ok(id) => json!({ "id": id.to_string() }),
                Err(error) => json!({ "error": NativeError::from(error).to_json() }),
            }),
        })
        .collect();
    let accepted = results
        .iter()
        .filter(|result| result.get("id").is_some())
        .count();
    let refused = results.len() - accepted;
    Ok(Json(
        json!({ "accepted": accepted, "refused": refused, "results": results }),
    ))
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
