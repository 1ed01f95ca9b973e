//! The Aliyun OSS surface, path style, for the unmodified `oss2` SDK:
//!
//! - `PUT /<bucket>/<key>`: PutObject (answers `ETag`; an upload rule's job id comes back in
//!   `x-ferrotype-job-id`).
//! - `GET`/`HEAD /<bucket>/<key>`: GetObject.
//! - `POST /<bucket>/<key>?x-oss-process`: process and save, synchronously: the job is
//!   submitted and waited for (at most `oss_process_timeout_ms`), then answered with
//!   `{"bucket","fileSize","object","status":"OK"}`, or the failing item's XML error.
//! - `POST /<bucket>/<key>?x-oss-async-process`: `{"EventId","RequestId","TaskId"}`, the task
//!   being the job.
//!
//! It is the router's fallback: a request that no other route (`/v1/...`, `/healthz`,
//! `/metrics`, `/pfop`, `/status/get/prefop`, `POST /`) claims lands here. Keys arrive
//! percent-encoded (`%2F` for `/`) and are decoded. Buckets named `v1`, `pfop`, `status`,
//! `healthz` or `metrics` are therefore not reachable path-style. A request authorised with
//! Qiniu's `UpToken` is a resumable upload: refused the Qiniu way.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{header, HeaderName, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use jobs::credentials::Permission;
use jobs::ledger::AccessKey;
use jobs::model::{Dialect, Status};
use jobs::submit::{self, CommandText, Submission};
use jobs::Services;
use percent_encoding::percent_decode_str;
use serde_json::json;
use uuid::Uuid;

use super::new_request_id;
use super::oss_error::{status_of, OssError};
use crate::auth::oss::{authenticate, canonical_resource};

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-oss-request-id");
pub const JOB_ID: HeaderName = HeaderName::from_static("x-ferrotype-job-id");

const PROCESS: &str = "x-oss-process";
const ASYNC_PROCESS: &str = "x-oss-async-process";

/// How often a synchronous process looks at its job.
const POLL: Duration = Duration::from_millis(25);

/// The router's fallback: OSS path-style requests, and the Qiniu resumable refusal.
pub async fn dispatch(State(services): State<Arc<Services>>, request: Request) -> Response {
    let is_up_token = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("UpToken "));
    if is_up_token {
        return super::qiniu::resumable_refused();
    }
    let request_id = new_request_id();
    let mut response = match handle(&services, request, &request_id).await {
        Ok(response) => response,
        Err(error) => error.into_response_with(&request_id),
    };
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert(REQUEST_ID, value);
    }
    response
}

/// The request's target, decoded.
struct Target {
    bucket: String,
    key: String,
    query: Vec<(String, String)>,
}

fn decode(text: &str) -> Result<String, OssError> {
    percent_decode_str(text)
        .decode_utf8()
        .map(|s| s.into_owned())
        .map_err(|_| OssError::new("InvalidObjectName", "the key is not UTF-8"))
}

fn target(request: &Request) -> Result<Target, OssError> {
    let path = request.uri().path().trim_start_matches('/');
    let (bucket, key) = path.split_once('/').unwrap_or((path, ""));
    if bucket.is_empty() || key.is_empty() {
        return Err(OssError::new(
            "NotImplemented",
            "only object operations (/<bucket>/<key>) are supported",
        ));
    }
    let mut query = Vec::new();
    for pair in request.uri().query().unwrap_or_default().split('&') {
        if pair.is_empty() {
            continue;
        }
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        query.push((decode(name)?, decode(value)?));
    }
    Ok(Target {
        bucket: decode(bucket)?,
        key: decode(key)?,
        query,
    })
}

impl Target {
    fn has(&self, name: &str) -> bool {
        self.query.iter().any(|(n, _)| n == name)
    }

    fn value(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

fn require(who: &AccessKey, bucket: &str, permission: Permission) -> Result<(), OssError> {
    if who.allows(bucket, permission) {
        Ok(())
    } else {
        Err(OssError::new(
            "AccessDenied",
            format!(
                "{} has no {} grant on bucket {bucket}",
                who.access_key,
                permission.as_str()
            ),
        ))
    }
}

async fn handle(
    services: &Services,
    request: Request,
    request_id: &str,
) -> Result<Response, OssError> {
    let target = target(&request)?;
    let method = request.method().clone();
    let resource = canonical_resource(&target.bucket, &target.key, &target.query);
    let who = authenticate(
        &services.ledger,
        method.as_str(),
        request.headers(),
        &resource,
        SystemTime::now(),
    )
    .await?;
    let limit = usize::try_from(services.config.max_upload_bytes).unwrap_or(usize::MAX);
    match method {
        Method::PUT => {
            let body = read_body(request, limit).await?;
            put_object(services, &who, &target, body).await
        }
        Method::GET | Method::HEAD => {
            if let Some(process) = target.value(PROCESS) {
                if process.contains("sys/saveas") {
                    return Err(OssError::new(
                        "InvalidArgument",
                        "sys/saveas is only allowed with POST",
                    ));
                }
                return Err(OssError::new(
                    "NotImplemented",
                    "processing on GET is not supported; POST with sys/saveas instead",
                ));
            }
            get_object(services, &who, &target, method == Method::HEAD).await
        }
        Method::POST if target.has(PROCESS) || target.has(ASYNC_PROCESS) => {
            let asynchronous = target.has(ASYNC_PROCESS);
            let name = if asynchronous { ASYNC_PROCESS } else { PROCESS };
            let body = read_body(request, 64 * 1024).await?;
            let text = process_text(&target, name, &body)?;
            if asynchronous {
                async_process(services, &who, &target, text, request_id).await
            } else {
                process(services, &who, &target, text, request_id).await
            }
        }
        _ => Err(OssError::new(
            "NotImplemented",
            format!("{method} on an object is not supported here"),
        )),
    }
}

async fn read_body(request: Request, limit: usize) -> Result<Bytes, OssError> {
    axum::body::to_bytes(request.into_body(), limit)
        .await
        .map_err(|_| {
            OssError::new(
                "EntityTooLarge",
                format!("the body is over the limit of {limit} bytes"),
            )
        })
}

/// oss2 sends `x-oss-process=<process>` as the body (not form-encoded); a value in the
/// query string is accepted too.
fn process_text(target: &Target, name: &str, body: &[u8]) -> Result<String, OssError> {
    let body = std::str::from_utf8(body)
        .map_err(|_| OssError::new("InvalidArgument", "the body is not UTF-8"))?
        .trim();
    let from_body = body
        .strip_prefix(name)
        .and_then(|rest| rest.strip_prefix('='))
        .filter(|text| !text.is_empty());
    let text = from_body
        .or_else(|| target.value(name).filter(|v| !v.is_empty()))
        .ok_or_else(|| OssError::new("MissingArgument", format!("{name} is empty")))?;
    Ok(text.to_string())
}

async fn put_object(
    services: &Services,
    who: &AccessKey,
    target: &Target,
    body: Bytes,
) -> Result<Response, OssError> {
    require(who, &target.bucket, Permission::Write)?;
    let stored = services
        .buckets
        .put(&target.bucket, &target.key, body)
        .await?;
    let job = submit::submit_upload_rules(services, who, &target.bucket, &target.key).await?;
    let mut response = StatusCode::OK.into_response();
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&format!("\"{}\"", stored.hash)) {
        headers.insert(header::ETAG, value);
    }
    if let Some(id) = job {
        if let Ok(value) = HeaderValue::from_str(&id.to_string()) {
            headers.insert(JOB_ID, value);
        }
    }
    Ok(response)
}

async fn get_object(
    services: &Services,
    who: &AccessKey,
    target: &Target,
    head: bool,
) -> Result<Response, OssError> {
    require(who, &target.bucket, Permission::Read)?;
    let object = services
        .buckets
        .get(
            &target.bucket,
            &target.key,
            services.config.max_upload_bytes,
        )
        .await?;
    let mime = pipeline::probe(&object.bytes)
        .map(|info| info.format.mime())
        .unwrap_or("application/octet-stream");
    let length = object.bytes.len();
    let body = if head {
        Body::empty()
    } else {
        Body::from(object.bytes)
    };
    let mut response = Response::new(body);
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(mime));
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    if let Ok(value) = HeaderValue::from_str(&format!("\"{}\"", object.etag)) {
        headers.insert(header::ETAG, value);
    }
    Ok(response)
}

fn submission(target: &Target, text: String, request_id: &str) -> Submission {
    Submission {
        request_id: Some(request_id.to_string()),
        ..Submission::new(
            &target.bucket,
            &target.key,
            vec![CommandText {
                text,
                dialect: Dialect::Oss,
            }],
        )
    }
}

fn saveas_names_bucket(text: &str) -> bool {
    text.split('|')
        .filter(|part| part.starts_with("sys/saveas"))
        .any(|part| part.split(',').any(|kv| kv.starts_with("b_")))
}

async fn process(
    services: &Services,
    who: &AccessKey,
    target: &Target,
    text: String,
    request_id: &str,
) -> Result<Response, OssError> {
    if !text.split('|').any(|part| part.starts_with("sys/saveas")) {
        return Err(OssError::new(
            "InvalidArgument",
            "POST x-oss-process needs |sys/saveas,o_<object>[,b_<bucket>]",
        ));
    }
    let named_bucket = saveas_names_bucket(&text);
    let id = submit::submit(services, who, submission(target, text, request_id)).await?;
    let deadline = tokio::time::Instant::now() + services.config.oss_process_timeout();
    let job = loop {
        if let Some(job) = services.ledger.job(id).await? {
            if job.status().is_final() {
                break job;
            }
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(OssError::new(
                "ProcessTimeout",
                format!("the processing did not finish in time; it goes on as task {id}"),
            ));
        }
        tokio::time::sleep(POLL).await;
    };
    let Some(item) = job.items.first() else {
        return Err(OssError::new("InternalError", "the job has no item"));
    };
    if item.status != Status::Success.code() {
        let code = item
            .error_code
            .clone()
            .unwrap_or_else(|| "InternalError".into());
        let _ = status_of(&code);
        return Err(OssError::new(
            &code,
            item.error
                .clone()
                .unwrap_or_else(|| "processing failed".into()),
        ));
    }
    let body = json!({
        "bucket": if named_bucket { item.target_bucket.as_str() } else { "" },
        "fileSize": item.size.unwrap_or_default(),
        "object": item.target_key,
        "status": "OK",
    });
    Ok(axum::Json(body).into_response())
}

async fn async_process(
    services: &Services,
    who: &AccessKey,
    target: &Target,
    text: String,
    request_id: &str,
) -> Result<Response, OssError> {
    // `/notify,topic_...` asks for an MNS message; there is no MNS here, so it is dropped.
    let text = match text.split_once("/notify,") {
        Some((head, _)) => head.to_string(),
        None => text,
    };
    let id = submit::submit(services, who, submission(target, text, request_id)).await?;
    Ok(axum::Json(json!({
        "EventId": format!("ev-{}", Uuid::new_v4().simple()),
        "RequestId": request_id,
        "TaskId": id.to_string(),
    }))
    .into_response())
}
