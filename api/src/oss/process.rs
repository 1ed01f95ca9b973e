//! `x-oss-process` on POST (process and save, answered when the job ends) and
//! `x-oss-async-process` (answered at once with the job as the task). On GET, processing is
//! refused (not done yet).

use axum::extract::Request;
use axum::response::{IntoResponse, Response};
use axum::Json;
use jobs::error::FailureCode;
use jobs::ledger::AccessKey;
use jobs::model::{Dialect, ItemRow, Job, Status};
use jobs::submit::{self, CommandText, Submission};
use jobs::Services;
use serde_json::json;
use uuid::Uuid;

use super::error::OssError;
use super::{read_body, Target};

pub(super) const PROCESS: &str = "x-oss-process";
pub(super) const ASYNC_PROCESS: &str = "x-oss-async-process";

/// Process requests are small; anything bigger is not one.
const MAX_PROCESS_BODY: usize = 64 * 1024;

pub(super) fn is_process(target: &Target) -> bool {
    target.has(PROCESS) || target.has(ASYNC_PROCESS)
}

/// `POST ?x-oss-process` or `POST ?x-oss-async-process`.
pub(super) async fn post(
    services: &Services,
    who: &AccessKey,
    target: &Target,
    request: Request,
    request_id: &str,
) -> Result<Response, OssError> {
    let asynchronous = target.has(ASYNC_PROCESS);
    let name = if asynchronous { ASYNC_PROCESS } else { PROCESS };
    let body = read_body(request, MAX_PROCESS_BODY).await?;
    let text = process_text(target, name, &body)?;
    let process = Process {
        services,
        who,
        target,
        request_id,
    };
    if asynchronous {
        process.asynchronous(text).await
    } else {
        process.save(text).await
    }
}

/// oss2 sends `x-oss-process=<process>` as the body (not form-encoded); a value in the
/// query string is accepted too.
fn process_text(target: &Target, name: &str, body: &[u8]) -> Result<String, OssError> {
    let body = std::str::from_utf8(body)
        .map_err(|_| OssError::new(FailureCode::INVALID_ARGUMENT, "the body is not UTF-8"))?
        .trim();
    let from_body = body
        .strip_prefix(name)
        .and_then(|rest| rest.strip_prefix('='))
        .filter(|text| !text.is_empty());
    let text = from_body
        .or_else(|| target.value(name).filter(|v| !v.is_empty()))
        .ok_or_else(|| OssError::new(FailureCode::MISSING_ARGUMENT, format!("{name} is empty")))?;
    Ok(text.to_string())
}

/// One process request, with what it is answered from.
struct Process<'a> {
    services: &'a Services,
    who: &'a AccessKey,
    target: &'a Target,
    request_id: &'a str,
}

impl Process<'_> {
    async fn submit(&self, text: String) -> Result<Uuid, OssError> {
        let submission = Submission {
            request_id: Some(self.request_id.to_string()),
            ..Submission::new(
                &self.target.bucket,
                &self.target.key,
                vec![CommandText {
                    text,
                    dialect: Dialect::Oss,
                }],
            )
        };
        Ok(submit::submit(self.services, self.who, submission).await?)
    }

    /// Submits, waits for the job to end, and answers its one item.
    async fn save(&self, text: String) -> Result<Response, OssError> {
        if !text.split('|').any(|part| part.starts_with("sys/saveas")) {
            return Err(OssError::new(
                FailureCode::INVALID_ARGUMENT,
                "POST x-oss-process needs |sys/saveas,o_<object>[,b_<bucket>]",
            ));
        }
        let named_bucket = saveas_names_bucket(&text);
        let id = self.submit(text).await?;
        let timeout = self.services.config.oss_process_timeout();
        let services = self.services;
        let waited = services.watch.wait_for_end(&services.ledger, id, timeout);
        let Some(job) = waited.await? else {
            return Err(OssError::new(
                FailureCode::ProcessTimeout,
                format!("the processing did not finish in time; it goes on as task {id}"),
            ));
        };
        saveas_answer(&job, named_bucket)
    }

    async fn asynchronous(&self, text: String) -> Result<Response, OssError> {
        // `/notify,topic_...` asks for an MNS message; there is no MNS here, so it is dropped.
        let text = match text.split_once("/notify,") {
            Some((head, _)) => head.to_string(),
            None => text,
        };
        let id = self.submit(text).await?;
        Ok(Json(json!({
            "EventId": format!("ev-{}", Uuid::new_v4().simple()),
            "RequestId": self.request_id,
            "TaskId": id.to_string(),
        }))
        .into_response())
    }
}

fn saveas_names_bucket(text: &str) -> bool {
    text.split('|')
        .filter(|part| part.starts_with("sys/saveas"))
        .any(|part| part.split(',').any(|kv| kv.starts_with("b_")))
}

/// What OSS answers a finished saveas with: the saved object, or the item's own failure.
fn saveas_answer(job: &Job, named_bucket: bool) -> Result<Response, OssError> {
    let Some(item) = job.items.first() else {
        return Err(OssError::new(
            FailureCode::INTERNAL_ERROR,
            "the job has no item",
        ));
    };
    if item.status() != Status::Success {
        return Err(item_failure(item));
    }
    let body = json!({
        "bucket": if named_bucket { item.target_bucket.as_str() } else { "" },
        "fileSize": item.size.unwrap_or_default(),
        "object": item.target_key,
        "status": "OK",
    });
    Ok(Json(body).into_response())
}

fn item_failure(item: &ItemRow) -> OssError {
    let message = (item.error.clone()).unwrap_or_else(|| "processing failed".into());
    OssError::new(
        item.error_code.unwrap_or(FailureCode::INTERNAL_ERROR),
        message,
    )
}
