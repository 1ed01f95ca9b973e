//! `POST /`: the form upload. The put policy of the upload token says where the file goes
//! and what to run on it; the form is read by [`super::form`] (token first, the file spooled
//! to disk, never held in memory), then `jobs::upload` streams it to the store and starts the
//! job of the policy's `persistentOps` and the bucket's matching upload rules.

use std::sync::Arc;

use axum::extract::multipart::MultipartRejection;
use axum::extract::{Multipart, State};
use axum::response::Response;
use jobs::error::FailureCode;
use jobs::model::NotifyFormat;
use jobs::submit::{self, Submission};
use jobs::upload::{self, Upload, UploadBody};
use jobs::Services;
use serde_json::json;

use super::answer;
use super::auth::PutPolicy;
use super::error::QiniuError;
use super::form::read_form;

pub(super) async fn form_upload(
    State(services): State<Arc<Services>>,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<Response, QiniuError> {
    let reqid = crate::new_request_id();
    let multipart = multipart.map_err(|e| {
        QiniuError::bad_request(format!("expected a multipart form: {}", e.body_text()))
    })?;
    let form = read_form(&services, multipart).await?;
    let policy = &form.token.policy;
    let fsize = form.file.digests.size;
    check_size(policy, fsize)?;
    let key = object_key(policy, form.key, &form.file.digests.qiniu)?;
    let bucket = policy.bucket_and_key().0;
    let body = form.file.into_stream(bucket, &key).await?;
    let upload = policy_upload(policy, &key, UploadBody::Streamed(body), &reqid);
    let uploaded = upload::upload(&services, &form.token.key, upload).await?;
    let persistent_id = uploaded.job.map(|id| id.to_string());
    let values = ReturnValues {
        bucket,
        key: &key,
        hash: &uploaded.stored.qiniu_hash,
        fsize,
        persistent_id: persistent_id.as_deref(),
        vars: &form.vars,
    };
    Ok(answer(&reqid, return_body(policy, &values)))
}

/// The policy's `fsizeLimit`, when it sets one.
fn check_size(policy: &PutPolicy, size: u64) -> Result<(), QiniuError> {
    match policy
        .fsize_limit
        .and_then(|limit| u64::try_from(limit).ok())
    {
        Some(limit) if size > limit => Err(QiniuError::new(
            FailureCode::EntityTooLarge,
            format!("the file is {size} bytes, over the policy's fsizeLimit of {limit}"),
        )),
        _ => Ok(()),
    }
}

/// The key: the form's, else the scope's, else (as Qiniu does) the content hash. A form key
/// other than the one the scope allows is refused.
fn object_key(
    policy: &PutPolicy,
    form_key: Option<String>,
    content_hash: &str,
) -> Result<String, QiniuError> {
    match (
        form_key.filter(|k| !k.is_empty()),
        policy.bucket_and_key().1,
    ) {
        (Some(key), Some(scoped)) if key != scoped => Err(QiniuError::new(
            FailureCode::AccessDenied,
            format!("key {key:?} does not match the token's scope"),
        )),
        (Some(key), _) => Ok(key),
        (None, Some(scoped)) => Ok(scoped.to_string()),
        (None, None) => Ok(content_hash.to_string()),
    }
}

/// The upload the policy describes: the bucket of its scope, `insertOnly`, and the job of its
/// `persistentOps`.
fn policy_upload(policy: &PutPolicy, key: &str, file: UploadBody, reqid: &str) -> Upload {
    let bucket = policy.bucket_and_key().0;
    let commands = (policy.persistent_ops.as_deref())
        .filter(|ops| !ops.is_empty())
        .map(submit::split_qiniu_fops)
        .unwrap_or_default();
    let job = Submission {
        notify_url: (policy.persistent_notify_url.clone()).filter(|u| !u.is_empty()),
        queue: policy.persistent_pipeline.clone(),
        job_type: policy.persistent_type.unwrap_or(0).clamp(-1, 2) as i16,
        notify_format: NotifyFormat::Qiniu,
        request_id: Some(reqid.to_string()),
        ..Submission::new(bucket, key, commands)
    };
    Upload {
        job,
        body: file,
        insert_only: policy.insert_only.unwrap_or(0) != 0,
        meta: jobs::objects::ObjectMeta::default(),
        expected_md5: None,
    }
}

/// The policy's `returnBody`, filled in, or Qiniu's default `{"hash","key"[,"persistentId"]}`.
fn return_body(policy: &PutPolicy, values: &ReturnValues<'_>) -> serde_json::Value {
    match policy.return_body.as_deref().filter(|b| !b.is_empty()) {
        Some(template) => {
            let rendered = render_return_body(template, values);
            serde_json::from_str(&rendered).unwrap_or(serde_json::Value::String(rendered))
        }
        None => {
            let mut body = json!({ "hash": values.hash, "key": values.key });
            if let Some(id) = values.persistent_id {
                body["persistentId"] = json!(id);
            }
            body
        }
    }
}

/// What a `returnBody` template's variables stand for.
struct ReturnValues<'a> {
    bucket: &'a str,
    key: &'a str,
    hash: &'a str,
    fsize: u64,
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
        out.push_str(&variable(&after[..end], values));
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    out
}

/// One variable's value, as JSON.
fn variable(name: &str, values: &ReturnValues<'_>) -> String {
    let quoted = |s: &str| serde_json::Value::String(s.to_string()).to_string();
    let value = match name {
        "key" => Some(quoted(values.key)),
        "bucket" => Some(quoted(values.bucket)),
        "hash" | "etag" => Some(quoted(values.hash)),
        "fsize" => Some(values.fsize.to_string()),
        "persistentId" => values.persistent_id.map(quoted),
        var if var.starts_with("x:") => (values.vars.iter())
            .find(|(n, _)| n == var)
            .map(|(_, v)| quoted(v)),
        _ => None,
    };
    value.unwrap_or_else(|| "null".into())
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
