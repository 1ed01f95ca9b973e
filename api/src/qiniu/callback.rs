//! The upload callback: after the file is stored, the policy's `callbackBody` (magic variables
//! rendered, as a form or as JSON per `callbackBodyType`) is POSTed to each `callbackUrl`
//! (`;`-separated) in turn until one answers 200 with a JSON body, which becomes the upload's
//! answer. `callbackHost` is sent as the `Host`. The request is signed as Qiniu signs it,
//! `Authorization: QBox <AK>:<urlsafe_b64(hmac_sha1(SK, path[?query] "\n" [form body]))>`
//! with the token's key, so `Auth.verify_callback` accepts it. When no URL answers so, the
//! upload answers 579 with the last failure (the file stays stored, as on Qiniu).

use std::time::Duration;

use jobs::error::FailureCode;
use serde_json::Value;

use super::auth::{sign_qbox, UploadToken};
use super::error::QiniuError;
use super::magic::{self, Facts, Kind};

const FORM: &str = "application/x-www-form-urlencoded";
const JSON: &str = "application/json";

/// How long one callback URL is given to answer (Qiniu gives 5 s).
const TIMEOUT: Duration = Duration::from_secs(5);

/// The largest callback answer taken.
const MAX_ANSWER_BYTES: usize = 1024 * 1024;

/// The callback's body and its type.
fn body(token: &UploadToken, facts: &Facts) -> (String, &'static str) {
    let policy = &token.policy;
    let json =
        (policy.callback_body_type.as_deref()).is_some_and(|t| t.trim().eq_ignore_ascii_case(JSON));
    let template = policy.callback_body.as_deref().unwrap_or_default();
    match json {
        true => (magic::render(template, facts, Kind::Json), JSON),
        false => (magic::render(template, facts, Kind::Form), FORM),
    }
}

fn failed(message: String) -> QiniuError {
    QiniuError::new(FailureCode::CallbackFailed, message)
}

/// Calls back and returns the first JSON answer, or 579.
pub(super) async fn call(
    token: &UploadToken,
    urls: &str,
    facts: &Facts,
) -> Result<Value, QiniuError> {
    let (body, content_type) = body(token, facts);
    let client = reqwest::Client::builder()
        .timeout(TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|error| failed(format!("callback client: {error}")))?;
    let mut last = String::from("no callbackUrl");
    for url in urls.split(';').map(str::trim).filter(|u| !u.is_empty()) {
        match call_one(&client, token, url, &body, content_type).await {
            Ok(answer) => return Ok(answer),
            Err(reason) => {
                tracing::warn!(%url, %reason, "upload callback failed");
                last = reason;
            }
        }
    }
    Err(failed(format!("callback failed: {last}")))
}

async fn call_one(
    client: &reqwest::Client,
    token: &UploadToken,
    url: &str,
    body: &str,
    content_type: &str,
) -> Result<Value, String> {
    let parsed = url::Url::parse(url).map_err(|e| format!("{url:?} is not a URL: {e}"))?;
    let mut path_and_query = parsed.path().to_string();
    if let Some(query) = parsed.query() {
        path_and_query = format!("{path_and_query}?{query}");
    }
    let key = &token.key;
    let signature = sign_qbox(
        &key.secret_key,
        &path_and_query,
        Some(content_type),
        body.as_bytes(),
    );
    let mut request = client
        .post(parsed)
        .header("Content-Type", content_type)
        .header(
            "Authorization",
            format!("QBox {}:{signature}", key.access_key),
        )
        .body(body.to_string());
    if let Some(host) = token
        .policy
        .callback_host
        .as_deref()
        .filter(|h| !h.is_empty())
    {
        request = request.header("Host", host);
    }
    let response = request.send().await.map_err(|e| e.to_string())?;
    let status = response.status();
    let bytes = response.bytes().await.map_err(|e| e.to_string())?;
    if !status.is_success() {
        return Err(format!("{url} answered {status}"));
    }
    if bytes.len() > MAX_ANSWER_BYTES {
        return Err(format!("{url} answered over {MAX_ANSWER_BYTES} bytes"));
    }
    serde_json::from_slice(&bytes).map_err(|_| format!("{url} did not answer JSON"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use jobs::ledger::AccessKey;

    fn token(policy: &str) -> UploadToken {
        UploadToken {
            key: AccessKey {
                access_key: "ak".into(),
                secret_key: "sk".into(),
                grants: Vec::new(),
            },
            policy: serde_json::from_str(policy).unwrap(),
        }
    }

    #[test]
    fn the_body_is_a_form_unless_json_is_asked() {
        let facts = Facts {
            key: "a b".into(),
            fsize: 3,
            ..Facts::default()
        };
        let form = token(r#"{"scope":"b","deadline":1,"callbackBody":"key=$(key)&s=$(fsize)"}"#);
        assert_eq!(body(&form, &facts), ("key=a+b&s=3".to_string(), FORM));
        let json = token(
            r#"{"scope":"b","deadline":1,"callbackBody":"{\"key\":$(key)}","callbackBodyType":"application/json"}"#,
        );
        assert_eq!(body(&json, &facts), (r#"{"key":"a b"}"#.to_string(), JSON));
    }
}
