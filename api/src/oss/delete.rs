//! DeleteObject (`DELETE /<bucket>/<key>`) and DeleteMultipleObjects (`POST /<bucket>/?delete`:
//! an XML list of at most 1,000 keys, its `Content-MD5` checked), both through `jobs::delete`.

use axum::extract::Request;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use jobs::buckets::validate_client_key;
use jobs::credentials::Permission;
use jobs::error::FailureCode;
use jobs::ledger::AccessKey;
use jobs::Services;
use md5::{Digest, Md5};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde::Deserialize;

use super::error::OssError;
use super::{read_body, Target};

/// The most keys one DeleteMultipleObjects may name (the OSS document's limit).
const MAX_KEYS: usize = 1000;
/// The largest request body taken (the OSS document's 2 MB).
const MAX_BODY: usize = 2 * 1024 * 1024;
/// What `encoding-type=url` leaves as it is in a key (as `oss2` quotes them).
const KEY_SAFE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~')
    .remove(b'/');

pub(super) async fn delete_object(
    services: &Services,
    who: &AccessKey,
    target: &Target,
) -> Result<Response, OssError> {
    jobs::delete::delete(services, who, &target.bucket, &target.key).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// The request document: `<Delete><Quiet>..</Quiet><Object><Key>..</Key></Object>..</Delete>`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DeleteRequest {
    #[serde(default)]
    quiet: bool,
    #[serde(rename = "Object", default)]
    objects: Vec<ToDelete>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ToDelete {
    key: String,
}

pub(super) async fn delete_objects(
    services: &Services,
    who: &AccessKey,
    target: &Target,
    request: Request,
) -> Result<Response, OssError> {
    let digest = required_md5(request.headers())?;
    let body = read_body(request, MAX_BODY).await?;
    check_digest(digest, &body)?;
    let asked = parse_request(&body)?;
    // Every key is checked before any is deleted, so a refusal deletes nothing.
    who.require(&target.bucket, Permission::Write)?;
    for object in &asked.objects {
        validate_client_key(&object.key)?;
    }
    for object in &asked.objects {
        jobs::delete::delete(services, who, &target.bucket, &object.key).await?;
    }
    let url_encoded = target.value("encoding-type") == Some("url");
    Ok(delete_result(&asked, url_encoded))
}

/// The `Content-MD5` header the request must carry.
/// The request's `Content-MD5`, which DeleteMultipleObjects requires.
fn required_md5(headers: &HeaderMap) -> Result<[u8; 16], OssError> {
    super::meta::content_md5(headers)?.ok_or_else(|| {
        OssError::new(
            FailureCode::MISSING_ARGUMENT,
            "Missing Some Required Arguments: Content-MD5",
        )
    })
}

fn check_digest(expected: [u8; 16], body: &[u8]) -> Result<(), OssError> {
    if <[u8; 16]>::from(Md5::digest(body)) == expected {
        Ok(())
    } else {
        Err(OssError::new(
            FailureCode::InvalidDigest,
            "The Content-MD5 you specified was invalid.",
        ))
    }
}

fn parse_request(body: &[u8]) -> Result<DeleteRequest, OssError> {
    let asked: DeleteRequest = super::parse_xml(body)?;
    if asked.objects.is_empty() || asked.objects.len() > MAX_KEYS {
        return Err(super::malformed_xml(format!(
            "{} objects named: 1 to {MAX_KEYS} are taken",
            asked.objects.len()
        )));
    }
    Ok(asked)
}

/// `text` as OSS spells it under `encoding-type=url`.
pub(super) fn url_encode(text: &str) -> String {
    utf8_percent_encode(text, KEY_SAFE).to_string()
}

/// The answer: every deleted key, unless the request was quiet (a quiet answer lists only
/// failures, and there are none: a refusal fails the whole request).
fn delete_result(asked: &DeleteRequest, url_encoded: bool) -> Response {
    let mut body = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<DeleteResult>");
    if url_encoded {
        body.push_str("<EncodingType>url</EncodingType>");
    }
    if !asked.quiet {
        for object in &asked.objects {
            let key = if url_encoded {
                url_encode(&object.key)
            } else {
                super::error::escape(&object.key)
            };
            body.push_str(&format!("<Deleted><Key>{key}</Key></Deleted>"));
        }
    }
    body.push_str("</DeleteResult>");
    super::xml(body)
}
