//! The end of every Qiniu upload (form, resumable v1 `mkfile`, resumable v2 completion): the
//! put policy applied to the file received, the object stored through `jobs::upload`, the job
//! of its `persistentOps` started, then the answer: the upload callback's when the policy has a
//! `callbackUrl` ([`super::callback`]), else the rendered `returnBody`, else
//! `{"hash","key"[,"persistentId"]}`; a form upload with `returnUrl` is redirected there.
//!
//! The file is a [`Source`]: spooled to a temporary file (form), or blocks and parts already
//! on the bucket's backend (resumable), read as a stream either way. What the policy needs of
//! the file before it is stored (its hash for a key by hash or an insert-only check, its SHA-1
//! for `$(bodySha1)`) is read from the source first, only when needed.

use std::io::SeekFrom;

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use futures::StreamExt;
use jobs::buckets::ByteStream;
use jobs::credentials::Permission;
use jobs::digest::{Digester, Digests};
use jobs::error::{FailureCode, StoreError};
use jobs::model::NotifyFormat;
use jobs::objects::{self, ObjectMeta};
use jobs::submit::{self, Submission};
use jobs::upload::{self, Upload, UploadBody};
use jobs::Services;
use serde_json::{json, Value};
use sha1::{Digest as _, Sha1};
use tokio::io::AsyncSeekExt;

use super::auth::UploadToken;
use super::error::QiniuError;
use super::magic::{self, Facts, Kind};
use super::policy::{PutPolicy, Route};
use super::{answer, callback};

/// The bytes read of a file's start to tell its type and image size.
pub(super) const HEAD_BYTES: usize = 64 * 1024;

/// What a client sent with a file, whichever way it came.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct Received {
    /// The key asked for (`None`: none given).
    pub key: Option<String>,
    /// The file's original name (`fname`).
    pub fname: Option<String>,
    /// The type the client gave (`mimeType`; a form's file part type).
    pub mime_type: Option<String>,
    /// `x:` variables, by full name.
    pub vars: Vec<(String, String)>,
    /// `x-qn-meta-*` metadata, by name without the prefix.
    pub user_meta: Vec<(String, String)>,
}

/// A file spooled to a temporary file (a form upload), with its digests and its start.
pub(super) struct Spooled {
    pub file: tokio::fs::File,
    pub digests: Digests,
    pub head: Vec<u8>,
}

/// Blocks or parts kept on the bucket's backend, in order (a resumable upload).
pub(super) struct Assembly {
    pub bucket: String,
    pub keys: Vec<String>,
    pub size: u64,
}

/// Where an upload's bytes are.
pub(super) enum Source {
    Spooled(Spooled),
    Stored(Assembly),
}

fn spool_error(error: std::io::Error) -> QiniuError {
    QiniuError::new(
        FailureCode::StorageError,
        format!("the spooled upload could not be read: {error}"),
    )
}

impl Source {
    fn size(&self) -> u64 {
        match self {
            Source::Spooled(spooled) => spooled.digests.size,
            Source::Stored(assembly) => assembly.size,
        }
    }

    /// The bytes from the start, as a stream.
    async fn stream(&self, services: &Services) -> Result<ByteStream, QiniuError> {
        match self {
            Source::Spooled(spooled) => {
                let mut file = spooled.file.try_clone().await.map_err(spool_error)?;
                file.seek(SeekFrom::Start(0)).await.map_err(spool_error)?;
                let stream = tokio_util::io::ReaderStream::new(file).map(|chunk| {
                    chunk.map_err(|error| StoreError::Body {
                        bucket: String::new(),
                        key: String::new(),
                        message: format!("the spooled upload could not be read: {error}"),
                    })
                });
                Ok(stream.boxed())
            }
            Source::Stored(assembly) => {
                Ok(
                    jobs::multipart::stored_stream(services, &assembly.bucket, &assembly.keys)
                        .await?,
                )
            }
        }
    }

    /// The file's first [`HEAD_BYTES`].
    async fn head(&self, services: &Services) -> Result<Vec<u8>, QiniuError> {
        if let Source::Spooled(spooled) = self {
            return Ok(spooled.head.clone());
        }
        let mut stream = self.stream(services).await?;
        let mut head = Vec::new();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(QiniuError::from)?;
            head.extend_from_slice(&chunk[..chunk.len().min(HEAD_BYTES - head.len())]);
            if head.len() >= HEAD_BYTES {
                break;
            }
        }
        Ok(head)
    }

    /// The file's digests (read again for a stored source).
    async fn digests(&self, services: &Services) -> Result<Digests, QiniuError> {
        if let Source::Spooled(spooled) = self {
            return Ok(spooled.digests.clone());
        }
        let mut stream = self.stream(services).await?;
        let mut digester = Digester::new();
        while let Some(chunk) = stream.next().await {
            digester.update(&chunk.map_err(QiniuError::from)?);
        }
        Ok(digester.finish())
    }

    /// The SHA-1 of the file, hex (`$(bodySha1)`).
    async fn sha1(&self, services: &Services) -> Result<String, QiniuError> {
        let mut stream = self.stream(services).await?;
        let mut sha1 = Sha1::new();
        while let Some(chunk) = stream.next().await {
            sha1.update(chunk.map_err(QiniuError::from)?);
        }
        Ok(hex::encode(sha1.finalize()))
    }
}

/// The templates of a policy that magic variables are rendered in.
fn templates(policy: &PutPolicy) -> Vec<&str> {
    [
        policy.save_key.as_deref(),
        policy.return_body.as_deref(),
        policy.callback_body.as_deref(),
    ]
    .into_iter()
    .flatten()
    .collect()
}

fn mentions(policy: &PutPolicy, names: &[&str]) -> bool {
    (templates(policy).into_iter())
        .flat_map(magic::variables)
        .any(|name| names.contains(&name))
}

/// The engine's `imageInfo` and `exif` documents of a file's start (its header and EXIF are
/// there), when it is an image and when it has EXIF. `size` is the whole file's; a GIF's
/// frame count is left out, as the start does not hold every frame.
fn image_documents(head: &[u8], fsize: u64) -> (Option<Value>, Option<Value>) {
    use pipeline::ops::info::{render, Document};
    let Ok(info) = pipeline::probe(head) else {
        return (None, None);
    };
    let limits = pipeline::Limits::default();
    let resources = pipeline::Resources::new(&limits);
    let document = |kind| {
        let bytes = render(kind, head, &info, &resources).ok()?;
        serde_json::from_slice::<Value>(&bytes).ok()
    };
    let image = document(Document::QiniuImageInfo).map(|mut image| {
        image["size"] = json!(fsize);
        image.as_object_mut().map(|map| map.remove("frameNumber"));
        image
    });
    (image, document(Document::QiniuExif))
}

/// The type given, unless the policy asks to detect it (`detectMime`) or none was given
/// (`application/octet-stream` is no type given).
fn given_type<'a>(policy: &PutPolicy, received: &'a Received) -> Option<&'a str> {
    (received.mime_type.as_deref())
        .filter(|mime| !policy.detect_mime && !mime.is_empty())
        .filter(|mime| *mime != "application/octet-stream")
}

/// What the policy makes of a file before it is stored: its key, type and facts.
struct Placed {
    key: String,
    facts: Facts,
    /// The hash, when it was needed (and so read) before storing.
    digests: Option<Digests>,
}

/// Resolves the key (rendering `saveKey`), the type and the facts the templates use.
async fn place(
    services: &Services,
    token: &UploadToken,
    received: &Received,
    source: &Source,
) -> Result<Placed, QiniuError> {
    let policy = &token.policy;
    let head = source.head(services).await?;
    let needs_hash = policy.keys_by_hash(received.key.as_deref())
        || mentions(policy, &["etag", "hash"])
        || matches!(source, Source::Spooled(_));
    let digests = match needs_hash {
        true => Some(source.digests(services).await?),
        false => None,
    };
    let body_sha1 = match mentions(policy, &["bodySha1"]) {
        true => Some(source.sha1(services).await?),
        false => None,
    };
    let by_name = received.fname.as_deref().unwrap_or_default();
    let (image, exif) = image_documents(&head, source.size());
    let mut facts = Facts {
        bucket: policy.bucket().to_string(),
        etag: digests
            .as_ref()
            .map(|d| d.qiniu.clone())
            .unwrap_or_default(),
        fname: received.fname.clone(),
        fsize: source.size(),
        mime_type: objects::content_type_of(by_name, given_type(policy, received), &head),
        end_user: policy.end_user.clone().filter(|user| !user.is_empty()),
        uuid: uuid::Uuid::new_v4().to_string(),
        body_sha1,
        image,
        exif,
        time: chrono::Utc::now(),
        vars: received.vars.clone(),
        ..Facts::default()
    };
    let save_key = (policy.save_key.as_deref()).map(|t| magic::render(t, &facts, Kind::Text));
    let hash = digests.as_ref().map(|d| d.qiniu.as_str());
    let key = policy.resolve_key(received.key.as_deref(), save_key, hash)?;
    if given_type(policy, received).is_none() && !policy.detect_mime {
        facts.mime_type = objects::content_type_of(&key, None, &head);
    }
    facts.key = key.clone();
    Ok(Placed {
        key,
        facts,
        digests,
    })
}

/// Whether an insert-only upload finds its key taken: by the same content (Qiniu answers
/// success and stores nothing) or by other content (614).
async fn already_stored(
    services: &Services,
    placed: &mut Placed,
    source: &Source,
) -> Result<bool, QiniuError> {
    let bucket = placed.facts.bucket.clone();
    let Some(existing) = objects::describe(services, &bucket, &placed.key).await? else {
        return Ok(false);
    };
    if placed.digests.is_none() {
        placed.digests = Some(source.digests(services).await?);
    }
    let ours = placed.digests.as_ref().map(|d| d.qiniu.as_str());
    if ours == Some(existing.record.qiniu_hash.as_str()) {
        placed.facts.etag = existing.record.qiniu_hash.clone();
        return Ok(true);
    }
    Err(QiniuError::new(
        FailureCode::KeyExists,
        format!("{bucket}:{} exists", placed.key),
    ))
}

/// The job of the policy's `persistentOps` (with the bucket's upload rules added by
/// `jobs::upload`).
fn policy_job(policy: &PutPolicy, key: &str, reqid: &str) -> Submission {
    let commands = (policy.persistent_ops.as_deref())
        .filter(|ops| !ops.is_empty())
        .map(submit::split_qiniu_fops)
        .unwrap_or_default();
    Submission {
        notify_url: (policy.persistent_notify_url.clone()).filter(|u| !u.is_empty()),
        queue: policy.persistent_pipeline.clone().filter(|p| !p.is_empty()),
        job_type: policy.persistent_type.unwrap_or(0).clamp(-1, 2) as i16,
        notify_format: NotifyFormat::Qiniu,
        request_id: Some(reqid.to_string()),
        ..Submission::new(policy.bucket(), key, commands)
    }
}

/// Checks the file against the policy, stores it, starts its job and answers.
pub(super) async fn store(
    services: &Services,
    token: &UploadToken,
    route: Route,
    received: Received,
    source: Source,
) -> Result<Response, QiniuError> {
    let policy = &token.policy;
    let reqid = crate::new_request_id();
    super::rs::check_bucket(services, policy.bucket())?;
    token.key.require(policy.bucket(), Permission::Write)?;
    policy.check_size(source.size())?;
    for template in templates(policy) {
        magic::check_template(template)?;
    }
    let mut placed = place(services, token, &received, &source).await?;
    policy.check_mime(&placed.facts.mime_type)?;
    let job = policy_job(policy, &placed.key, &reqid);
    let insert_only = policy.insert_only(route);
    let persistent_id = if insert_only && already_stored(services, &mut placed, &source).await? {
        jobs::buckets::validate_client_key(&placed.key)?;
        upload::submit_with_rules(services, &token.key, job).await?
    } else {
        let meta = ObjectMeta {
            content_type: Some(placed.facts.mime_type.clone()),
            user_meta: received.user_meta.iter().cloned().collect(),
            ..ObjectMeta::default()
        };
        let upload = Upload {
            job,
            body: UploadBody::Streamed(source.stream(services).await?),
            insert_only,
            meta,
            expected_md5: None,
        };
        let uploaded = upload::upload(services, &token.key, upload).await?;
        placed.facts.etag = uploaded.stored.qiniu_hash.clone();
        placed.facts.mime_type = uploaded.stored.content_type.clone();
        uploaded.job
    };
    placed.facts.persistent_id = persistent_id.map(|id| id.to_string());
    respond(token, route, &placed.facts, &reqid).await
}

/// The upload's answer: the callback's, the `returnBody`, or the default; redirected to a
/// form upload's `returnUrl`.
async fn respond(
    token: &UploadToken,
    route: Route,
    facts: &Facts,
    reqid: &str,
) -> Result<Response, QiniuError> {
    let policy = &token.policy;
    let body = match policy.callback_url.as_deref().filter(|u| !u.is_empty()) {
        Some(urls) => callback::call(token, urls, facts).await?,
        None => return_body(policy, facts),
    };
    match policy.return_url.as_deref().filter(|u| !u.is_empty()) {
        Some(url) if route == Route::Form => Ok(redirect(url, &body)),
        _ => Ok(answer(reqid, body)),
    }
}

/// The policy's `returnBody`, filled in, or Qiniu's default `{"hash","key"[,"persistentId"]}`.
pub(super) fn return_body(policy: &PutPolicy, facts: &Facts) -> Value {
    match policy.return_body.as_deref().filter(|b| !b.is_empty()) {
        Some(template) => {
            let rendered = magic::render(template, facts, Kind::Json);
            serde_json::from_str(&rendered).unwrap_or(Value::String(rendered))
        }
        None => {
            let mut body = json!({ "hash": facts.etag, "key": facts.key });
            if let Some(id) = &facts.persistent_id {
                body["persistentId"] = json!(id);
            }
            body
        }
    }
}

/// `303` to `returnUrl?upload_ret=<urlsafe base64 of the answer>`, as Qiniu redirects.
fn redirect(url: &str, body: &Value) -> Response {
    let encoded = base64::engine::general_purpose::URL_SAFE.encode(body.to_string());
    let separator = if url.contains('?') { '&' } else { '?' };
    let location = format!("{url}{separator}upload_ret={encoded}");
    let mut response = StatusCode::SEE_OTHER.into_response();
    crate::set_header(response.headers_mut(), header::LOCATION, &location);
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_answer_names_the_hash_key_and_job() {
        let policy = PutPolicy::default();
        let mut facts = Facts {
            key: "k".into(),
            etag: "Fh".into(),
            ..Facts::default()
        };
        assert_eq!(
            return_body(&policy, &facts),
            json!({"hash": "Fh", "key": "k"})
        );
        facts.persistent_id = Some("j".into());
        assert_eq!(
            return_body(&policy, &facts),
            json!({"hash": "Fh", "key": "k", "persistentId": "j"})
        );
        let policy = PutPolicy {
            return_body: Some(r#"{"k":$(key),"s":$(fsize)}"#.into()),
            ..PutPolicy::default()
        };
        assert_eq!(return_body(&policy, &facts), json!({"k": "k", "s": 0}));
    }

    #[test]
    fn a_return_url_gets_the_answer_in_its_query() {
        let response = redirect("http://app/done?x=1", &json!({"key": "k"}));
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        let location = response.headers()[header::LOCATION].to_str().unwrap();
        let encoded = location
            .strip_prefix("http://app/done?x=1&upload_ret=")
            .unwrap();
        let decoded = base64::engine::general_purpose::URL_SAFE
            .decode(encoded)
            .unwrap();
        assert_eq!(decoded, br#"{"key":"k"}"#);
    }
}
