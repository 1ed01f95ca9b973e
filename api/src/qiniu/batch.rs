//! `POST /batch`: up to 1,000 resource operations (`op=/stat/...&op=/delete/...`, a form body
//! the signature covers), each run as its own request would be ([`super::rs::Op`]), a few at a
//! time. The answer lists `{"code"[, "data"]}` in the order asked; its status is 200 when every
//! operation succeeded and 298 when some failed.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use jobs::ledger::AccessKey;
use jobs::Services;
use serde_json::{json, Value};

use super::error::QiniuError;
use super::rs::{authenticated, Op};
use super::REQID;

/// Qiniu's limit on the operations of one batch.
pub(super) const MAX_OPERATIONS: usize = 1000;

/// Operations run at once.
const CONCURRENCY: usize = 8;

/// Qiniu's status of a batch with failures.
const PARTIAL: u16 = 298;

/// The `op` fields of a batch body, refused past [`MAX_OPERATIONS`].
fn operations(body: &[u8]) -> Result<Vec<String>, QiniuError> {
    let ops: Vec<String> = form_urlencoded::parse(body)
        .filter(|(name, _)| name == "op")
        .map(|(_, value)| value.into_owned())
        .collect();
    match ops.len() {
        0 => Err(QiniuError::bad_request("the batch names no op")),
        n if n > MAX_OPERATIONS => Err(QiniuError::bad_request(format!(
            "the batch has {n} operations, over the limit of {MAX_OPERATIONS}"
        ))),
        _ => Ok(ops),
    }
}

/// One operation's entry of the answer.
async fn run_one(services: &Services, who: &AccessKey, op: &str) -> (u16, Value) {
    let result = match Op::parse(op) {
        Ok(op) => op.run(services, who).await,
        Err(error) => Err(error),
    };
    match result {
        Ok(Value::Null) => (200, json!({ "code": 200 })),
        Ok(data) => (200, json!({ "code": 200, "data": data })),
        Err(error) => {
            let (code, message) = error.status_and_message();
            (code, json!({ "code": code, "data": { "error": message } }))
        }
    }
}

pub(super) async fn batch(
    State(services): State<Arc<Services>>,
    request: Request,
) -> Result<Response, QiniuError> {
    let (who, body) = authenticated(&services, request).await?;
    let ops = operations(&body)?;
    let (services, who) = (&*services, &who);
    let results: Vec<(u16, Value)> = futures::stream::iter(ops)
        .map(|op| async move { run_one(services, who, &op).await })
        .buffered(CONCURRENCY)
        .collect()
        .await;
    let all_ok = results.iter().all(|(code, _)| *code == 200);
    let status = if all_ok { 200 } else { PARTIAL };
    let entries: Vec<Value> = results.into_iter().map(|(_, entry)| entry).collect();
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
    let mut response = (status, axum::Json(entries)).into_response();
    crate::set_header(response.headers_mut(), REQID, &crate::new_request_id());
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_body_lists_its_operations_in_order() {
        let ops = operations(b"op=%2Fstat%2FYjpr&op=/delete/Yjpr&other=1").unwrap();
        assert_eq!(ops, vec!["/stat/Yjpr", "/delete/Yjpr"]);
        assert!(operations(b"").is_err());
        let many = vec!["op=/stat/Yjpr"; MAX_OPERATIONS + 1].join("&");
        assert!(operations(many.as_bytes()).is_err());
        let most = vec!["op=/stat/Yjpr"; MAX_OPERATIONS].join("&");
        assert_eq!(operations(most.as_bytes()).unwrap().len(), MAX_OPERATIONS);
    }
}
