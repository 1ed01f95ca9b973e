//! `POST /pfop` (persistent processing of an existing object) and `GET /status/get/prefop`.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, Method, Uri};
use axum::response::Response;
use jobs::lookup::find_job;
use jobs::model::{NotifyFormat, PrefopView};
use jobs::submit::{self, Submission};
use jobs::Services;
use serde::Deserialize;
use serde_json::json;

use super::answer;
use super::auth::authenticate_request;
use super::error::QiniuError;

pub(super) async fn pfop(
    State(services): State<Arc<Services>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, QiniuError> {
    let reqid = crate::new_request_id();
    let path_and_query = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/pfop");
    let who =
        authenticate_request(&services.ledger, &method, path_and_query, &headers, &body).await?;
    let submission = Submission {
        request_id: Some(reqid.clone()),
        ..PfopForm::parse(&body).submission()?
    };
    let id = submit::submit(&services, &who, submission).await?;
    Ok(answer(&reqid, json!({ "persistentId": id.to_string() })))
}

/// The fields of a pfop form body; an empty field counts as absent.
struct PfopForm(HashMap<String, String>);

impl PfopForm {
    fn parse(body: &[u8]) -> PfopForm {
        let fields = form_urlencoded::parse(body).into_owned().collect();
        PfopForm(fields)
    }

    fn field(&self, name: &str) -> Option<String> {
        self.0.get(name).filter(|v| !v.is_empty()).cloned()
    }

    fn required(&self, name: &str) -> Result<String, QiniuError> {
        self.field(name)
            .ok_or_else(|| QiniuError::bad_request(format!("{name} is required")))
    }

    fn submission(&self) -> Result<Submission, QiniuError> {
        let bucket = self.required("bucket")?;
        let key = self.required("key")?;
        if self.field("fops").is_none() && self.field("workflowTemplateID").is_some() {
            return Err(QiniuError::bad_request(
                "workflowTemplateID is not supported; give fops",
            ));
        }
        let fops = self.required("fops")?;
        let job_type = match self.field("type") {
            None => 0,
            Some(text) => (text.parse())
                .map_err(|_| QiniuError::bad_request(format!("type {text:?} is not 0 or 1")))?,
        };
        Ok(Submission {
            notify_url: self.field("notifyURL"),
            queue: self.field("pipeline"),
            force: self.field("force").as_deref() == Some("1"),
            job_type,
            notify_format: NotifyFormat::Qiniu,
            ..Submission::new(&bucket, &key, submit::split_qiniu_fops(&fops))
        })
    }
}

#[derive(Deserialize)]
pub(super) struct PrefopQuery {
    id: Option<String>,
}

pub(super) async fn prefop(
    State(services): State<Arc<Services>>,
    Query(query): Query<PrefopQuery>,
) -> Result<Response, QiniuError> {
    let job = find_job(&services.ledger, query.id.as_deref().unwrap_or_default()).await?;
    let view = PrefopView::from(&job);
    let body = serde_json::to_value(&view).unwrap_or_default();
    Ok(answer(&view.reqid, body))
}
