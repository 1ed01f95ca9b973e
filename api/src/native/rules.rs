//! `GET`/`POST /v1/buckets/{bucket}/rules`, `DELETE .../rules/{id}`: a bucket's upload
//! rules, checked and kept by `jobs::catalog`.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use jobs::catalog::{self, NewUploadRule};
use jobs::credentials::Permission;
use jobs::model::Dialect;
use jobs::submit;
use jobs::Services;
use serde::Deserialize;
use serde_json::json;

use super::body::{JsonBody, JsonRequest};
use super::{Caller, NativeError};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RuleRequest {
    #[serde(default)]
    prefix: String,
    #[serde(default)]
    suffix: String,
    fops: Option<Vec<String>>,
    process: Option<String>,
    notify_url: Option<String>,
}

impl JsonRequest for RuleRequest {
    const NAME: &'static str = "rule";
}

impl RuleRequest {
    /// The rule's commands and their language: `fops` (Qiniu's) or `process` (OSS's).
    fn commands(
        fops: Option<Vec<String>>,
        process: Option<String>,
    ) -> Result<(Vec<String>, Dialect), NativeError> {
        match (fops, process) {
            (Some(fops), None) => Ok((
                (fops.iter())
                    .flat_map(|f| submit::split_qiniu_fops(f))
                    .map(|c| c.text)
                    .collect(),
                Dialect::Qiniu,
            )),
            (None, Some(process)) => Ok((vec![process], Dialect::Oss)),
            _ => Err(NativeError::bad_request(
                "give exactly one of \"fops\" or \"process\"",
            )),
        }
    }

    fn into_rule(self, bucket: String, caller: &Caller) -> Result<NewUploadRule, NativeError> {
        let (commands, dialect) = RuleRequest::commands(self.fops, self.process)?;
        Ok(NewUploadRule {
            bucket,
            prefix: self.prefix,
            suffix: self.suffix,
            commands,
            dialect,
            notify_url: self.notify_url,
            created_by: Some(caller.0.access_key.clone()),
        })
    }
}

pub(super) async fn list_rules(
    State(services): State<Arc<Services>>,
    caller: Caller,
    Path(bucket): Path<String>,
) -> Result<impl IntoResponse, NativeError> {
    caller.require(&bucket, Permission::Read)?;
    let rules = services.ledger.upload_rules(&bucket).await?;
    Ok(Json(json!({ "rules": rules })))
}

pub(super) async fn create_rule(
    State(services): State<Arc<Services>>,
    caller: Caller,
    Path(bucket): Path<String>,
    body: Result<JsonBody<RuleRequest>, NativeError>,
) -> Result<impl IntoResponse, NativeError> {
    caller.require(&bucket, Permission::Write)?;
    // The bucket's name is answered for before the body.
    jobs::buckets::validate_bucket(&bucket)?;
    let JsonBody(request) = body?;
    let rule = catalog::create_rule(&services.ledger, request.into_rule(bucket, &caller)?).await?;
    Ok((StatusCode::CREATED, Json(rule)))
}

pub(super) async fn delete_rule(
    State(services): State<Arc<Services>>,
    caller: Caller,
    Path((bucket, id)): Path<(String, String)>,
) -> Result<StatusCode, NativeError> {
    caller.require(&bucket, Permission::Write)?;
    catalog::remove_rule(&services.ledger, &bucket, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
