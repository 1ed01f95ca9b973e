//! The Qiniu surface, for the unmodified `qiniu` SDKs.
//!
//! - `POST /pfop`, `/pfop/`: persistent processing of an existing object (form body, signed
//!   `QBox` or `Qiniu`).
//! - `GET /status/get/prefop?id=`: the job in Qiniu's status JSON (signed or not: the id is
//!   an unguessable UUID).
//! - `POST /`: form upload with an upload token; the put policy's `persistentOps` (and the
//!   bucket's upload rules) start a job whose id is the answer's `persistentId`.
//! - Resumable uploads (`/mkblk`, `/buckets/.../uploads`) are refused with a clear 400 (the
//!   SDKs switch to them above 8 MiB).
//!
//! Every answer, errors included, carries `X-Reqid`: the Python SDK ignores 200s without it.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Multipart, Query, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, Uri};
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use jobs::credentials::Permission;
use jobs::model::{NotifyFormat, PrefopView};
use jobs::submit::{self, Submission};
use jobs::Services;
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use super::new_request_id;
use super::qiniu_error::QiniuError;
use crate::auth::qiniu::{authenticate_request, verify_upload_token};

pub const REQID: HeaderName = HeaderName::from_static("x-reqid");

/// Form requests are small; anything bigger is not a pfop.
const MAX_PFOP_BYTES: usize = 256 * 1024;

pub fn router(upload_limit: usize) -> Router<Arc<Services>> {
    Router::new()
        .route(
            "/pfop",
            post(pfop).layer(DefaultBodyLimit::max(MAX_PFOP_BYTES)),
        )
        .route(
            "/pfop/",
            post(pfop).layer(DefaultBodyLimit::max(MAX_PFOP_BYTES)),
        )
        .route("/status/get/prefop", get(prefop))
        .route(
            "/",
            // Room for the form's other fields around the file.
            post(form_upload).layer(DefaultBodyLimit::max(
                upload_limit.saturating_add(64 * 1024),
            )),
        )
        .layer(middleware::map_response(with_reqid))
}

/// Adds `X-Reqid` to any answer that has none (errors, extractor rejections).
async fn with_reqid(mut response: Response) -> Response {
    if !response.headers().contains_key(REQID) {
        if let Ok(value) = HeaderValue::from_str(&new_request_id()) {
            response.headers_mut().insert(REQID, value);
        }
    }
    response
}

fn answer(reqid: &str, body: serde_json::Value) -> Response {
    let mut response = Json(body).into_response();
    if let Ok(value) = HeaderValue::from_str(reqid) {
        response.headers_mut().insert(REQID, value);
    }
    response
}

async fn pfop(
    State(services): State<Arc<Services>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, QiniuError> {
    let reqid = new_request_id();
    let path_and_query = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/pfop");
    let who =
        authenticate_request(&services.ledger, &method, path_and_query, &headers, &body).await?;
    let mut form = std::collections::HashMap::new();
    for (name, value) in form_urlencoded::parse(&body) {
        form.insert(name.into_owned(), value.into_owned());
    }
    let field = |name: &str| form.get(name).filter(|v| !v.is_empty()).cloned();
    let bucket =
        field("bucket").ok_or_else(|| QiniuError::BadRequest("bucket is required".into()))?;
    let key = field("key").ok_or_else(|| QiniuError::BadRequest("key is required".into()))?;
    let fops = match (field("fops"), field("workflowTemplateID")) {
        (Some(fops), _) => fops,
        (None, Some(_)) => {
            return Err(QiniuError::BadRequest(
                "workflowTemplateID is not supported; give fops".into(),
            ))
        }
        (None, None) => return Err(QiniuError::BadRequest("fops is required".into())),
    };
    let job_type = match field("type") {
        None => 0,
        Some(text) => text
            .parse()
            .map_err(|_| QiniuError::BadRequest(format!("type {text:?} is not 0 or 1")))?,
    };
    let submission = Submission {
        notify_url: field("notifyURL"),
        pipeline: field("pipeline"),
        force: field("force").as_deref() == Some("1"),
        job_type,
        notify_format: NotifyFormat::Qiniu,
        request_id: Some(reqid.clone()),
        ..Submission::new(&bucket, &key, submit::split_qiniu_fops(&fops))
    };
    let id = submit::submit(&services, &who, submission).await?;
    Ok(answer(&reqid, json!({ "persistentId": id.to_string() })))
}

#[derive(Deserialize)]
struct PrefopQuery {
    id: Option<String>,
}

async fn prefop(
    State(services): State<Arc<Services>>,
    Query(query): Query<PrefopQuery>,
) -> Result<Response, QiniuError> {
    let id = query
        .id
        .and_then(|id| Uuid::parse_str(&id).ok())
        .ok_or(QiniuError::NoSuchId)?;
    let job = services.ledger.job(id).await?.ok_or(QiniuError::NoSuchId)?;
    let view = PrefopView::from(&job);
    let body = serde_json::to_value(&view).unwrap_or_default();
    Ok(answer(&view.reqid.clone(), body))
}

/// The fields of a form upload, as read from the multipart body.
#[derive(Default)]
struct UploadForm {
    token: Option<String>,
    key: Option<String>,
    vars: Vec<(String, String)>,
    file: Option<Bytes>,
}

async fn read_form(mut multipart: Multipart) -> Result<UploadForm, QiniuError> {
    let mut form = UploadForm::default();
    let bad = |e: axum::extract::multipart::MultipartError| {
        if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
            QiniuError::TooLarge("the file is over the upload limit".into())
        } else {
            QiniuError::BadRequest(format!("invalid multipart body: {}", e.body_text()))
        }
    };
    while let Some(field) = multipart.next_field().await.map_err(bad)? {
        let name = field.name().unwrap_or_default().to_string();
        match name.as_str() {
            "file" => form.file = Some(field.bytes().await.map_err(bad)?),
            "token" => form.token = Some(field.text().await.map_err(bad)?),
            "key" => form.key = Some(field.text().await.map_err(bad)?),
            var if var.starts_with("x:") => {
                let value = field.text().await.map_err(bad)?;
                form.vars.push((name, value));
            }
            // crc32, x-qn-meta-*, fname...: accepted, not used.
            _ => {}
        }
    }
    Ok(form)
}

async fn form_upload(
    State(services): State<Arc<Services>>,
    multipart: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> Result<Response, QiniuError> {
    let reqid = new_request_id();
    let multipart = multipart.map_err(|e| {
        QiniuError::BadRequest(format!("expected a multipart form: {}", e.body_text()))
    })?;
    let form = read_form(multipart).await?;
    let token = form
        .token
        .ok_or_else(|| QiniuError::BadRequest("token is required".into()))?;
    let now = chrono::Utc::now().timestamp();
    let verified = verify_upload_token(&services.ledger, &token, now).await?;
    let policy = &verified.policy;
    let file = form
        .file
        .ok_or_else(|| QiniuError::BadRequest("file is required".into()))?;
    if let Some(limit) = policy.fsize_limit.filter(|l| *l >= 0) {
        if file.len() as i64 > limit {
            return Err(QiniuError::TooLarge(format!(
                "the file is {} bytes, over the policy's fsizeLimit of {limit}",
                file.len()
            )));
        }
    }
    let (bucket, scope_key) = policy.bucket_and_key();
    let bucket = bucket.to_string();
    let hash = jobs::etag::qiniu_etag(&file);
    // The key: the form's, else the scope's, else (as Qiniu does) the content hash.
    let key = match (form.key.filter(|k| !k.is_empty()), scope_key) {
        (Some(key), Some(scoped)) if key != scoped => {
            return Err(QiniuError::Forbidden(format!(
                "key {key:?} does not match the token's scope"
            )))
        }
        (Some(key), _) => key,
        (None, Some(scoped)) => scoped.to_string(),
        (None, None) => hash.clone(),
    };
    if !verified.key.allows(&bucket, Permission::Write) {
        return Err(QiniuError::Forbidden(format!(
            "{} has no write grant on bucket {bucket}",
            verified.key.access_key
        )));
    }
    if policy.insert_only.unwrap_or(0) != 0 && services.buckets.exists(&bucket, &key).await? {
        return Err(QiniuError::KeyExists);
    }
    let fsize = file.len();
    let stored = services.buckets.put(&bucket, &key, file).await?;

    let mut commands = policy
        .persistent_ops
        .as_deref()
        .filter(|ops| !ops.is_empty())
        .map(submit::split_qiniu_fops)
        .unwrap_or_default();
    let (rule_commands, rule_notify) =
        submit::upload_rule_commands(&services, &bucket, &key).await?;
    commands.extend(rule_commands);
    let persistent_id = if commands.is_empty() {
        None
    } else {
        let submission = Submission {
            notify_url: policy
                .persistent_notify_url
                .clone()
                .filter(|u| !u.is_empty())
                .or(rule_notify),
            pipeline: policy.persistent_pipeline.clone(),
            job_type: policy.persistent_type.unwrap_or(0).clamp(-1, 2) as i16,
            notify_format: NotifyFormat::Qiniu,
            request_id: Some(reqid.clone()),
            ..Submission::new(&bucket, &key, commands)
        };
        Some(
            submit::submit(&services, &verified.key, submission)
                .await?
                .to_string(),
        )
    };

    let body = match policy.return_body.as_deref().filter(|b| !b.is_empty()) {
        Some(template) => {
            let rendered = render_return_body(
                template,
                &ReturnValues {
                    bucket: &bucket,
                    key: &key,
                    hash: &stored.hash,
                    fsize,
                    persistent_id: persistent_id.as_deref(),
                    vars: &form.vars,
                },
            );
            serde_json::from_str(&rendered).unwrap_or(serde_json::Value::String(rendered))
        }
        None => {
            let mut body = json!({ "hash": stored.hash, "key": key });
            if let Some(id) = &persistent_id {
                body["persistentId"] = json!(id);
            }
            body
        }
    };
    Ok(answer(&reqid, body))
}

struct ReturnValues<'a> {
    bucket: &'a str,
    key: &'a str,
    hash: &'a str,
    fsize: usize,
    persistent_id: Option<&'a str>,
    vars: &'a [(String, String)],
}

/// Fills a `returnBody` template. String variables are written as JSON strings (quoted), as
/// Qiniu does; numbers bare; unknown variables become `null`.
fn render_return_body(template: &str, values: &ReturnValues<'_>) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find("$(") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find(')') else {
            out.push_str(&rest[start..]);
            return out;
        };
        let name = &after[..end];
        let quoted = |s: &str| serde_json::Value::String(s.to_string()).to_string();
        let value = match name {
            "key" => quoted(values.key),
            "bucket" => quoted(values.bucket),
            "hash" | "etag" => quoted(values.hash),
            "fsize" => values.fsize.to_string(),
            "persistentId" => values
                .persistent_id
                .map(quoted)
                .unwrap_or_else(|| "null".into()),
            var if var.starts_with("x:") => values
                .vars
                .iter()
                .find(|(n, _)| n == var)
                .map(|(_, v)| quoted(v))
                .unwrap_or_else(|| "null".into()),
            _ => "null".into(),
        };
        out.push_str(&value);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    out
}

/// Resumable upload requests (`Authorization: UpToken ...`): refused, clearly.
pub fn resumable_refused() -> Response {
    let mut response = QiniuError::BadRequest(
        "resumable (chunked) upload is not supported; use form upload".into(),
    )
    .into_response();
    if let Ok(value) = HeaderValue::from_str(&new_request_id()) {
        response.headers_mut().insert(REQID, value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn return_body_variables_are_filled() {
        let vars = vec![("x:name".to_string(), "cat".to_string())];
        let values = ReturnValues {
            bucket: "b",
            key: "a/b.jpg",
            hash: "Fh",
            fsize: 12,
            persistent_id: Some("id-1"),
            vars: &vars,
        };
        assert_eq!(
            render_return_body(
                r#"{"key":$(key),"hash":$(hash),"size":$(fsize),"pid":$(persistentId),"n":$(x:name),"w":$(imageInfo.width)}"#,
                &values
            ),
            r#"{"key":"a/b.jpg","hash":"Fh","size":12,"pid":"id-1","n":"cat","w":null}"#
        );
    }
}
