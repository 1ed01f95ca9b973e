//! The one upload path every surface calls: check the write grant, store the object, then
//! start the job of the upload's own commands and of the bucket's upload rules that match the
//! key. Each surface only translates its wire format into an [`Upload`] and the answer back.

use base64::Engine;
use bytes::Bytes;
use uuid::Uuid;

use crate::buckets::ByteStream;
use crate::credentials::Permission;
use crate::digest::Digests;
use crate::error::{SubmitError, UploadError};
use crate::ledger::AccessKey;
use crate::objects::{self, ObjectMeta, ObjectRecord};
use crate::submit::{self, CommandText, Submission};
use crate::Services;

/// An object to store, and the job it asks for.
#[derive(Debug)]
pub struct Upload {
    /// Where the object goes (`bucket`, `key`) and the job it starts: `commands` are the
    /// upload's own (Qiniu `persistentOps`), run before the matching rules' commands; a
    /// missing `notify_url` is the first matching rule's.
    pub job: Submission,
    pub body: UploadBody,
    /// Refuse to replace an object that exists (Qiniu `insertOnly`).
    pub insert_only: bool,
    /// The metadata stored with the object.
    pub meta: ObjectMeta,
    /// The MD5 the client says the body has (`Content-MD5`): a body that differs is refused.
    pub expected_md5: Option<[u8; 16]>,
}

/// An upload's bytes: in memory, or a stream (a request body, a spooled file) written to the
/// store as it arrives, so that an upload is never held whole in memory.
pub enum UploadBody {
    Whole(Bytes),
    Streamed(ByteStream),
}

impl From<Bytes> for UploadBody {
    fn from(bytes: Bytes) -> UploadBody {
        UploadBody::Whole(bytes)
    }
}

impl std::fmt::Debug for UploadBody {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            UploadBody::Whole(bytes) => write!(formatter, "Whole({} bytes)", bytes.len()),
            UploadBody::Streamed(_) => formatter.write_str("Streamed"),
        }
    }
}

impl Upload {
    /// An upload that asks for nothing beyond the bucket's rules.
    pub fn new(bucket: &str, key: &str, body: impl Into<UploadBody>) -> Upload {
        Upload {
            job: Submission::new(bucket, key, Vec::new()),
            body: body.into(),
            insert_only: false,
            meta: ObjectMeta::default(),
            expected_md5: None,
        }
    }
}

/// What an upload did.
#[derive(Debug, Clone)]
pub struct Uploaded {
    pub stored: ObjectRecord,
    /// The job it started, if it asked for one or a rule matched.
    pub job: Option<Uuid>,
}

/// Stores the object on behalf of `who`, then starts its job, if any, with `who`'s grants
/// (so a rule never writes where the uploader may not).
pub async fn upload(
    services: &Services,
    who: &AccessKey,
    upload: Upload,
) -> Result<Uploaded, UploadError> {
    let Upload {
        job,
        body,
        insert_only,
        meta,
        expected_md5,
    } = upload;
    who.require(&job.bucket, Permission::Write)?;
    crate::buckets::validate_client_key(&job.key)?;
    meta.check()?;
    if insert_only && services.buckets.exists(&job.bucket, &job.key).await? {
        return Err(UploadError::KeyExists {
            bucket: job.bucket,
            key: job.key,
        });
    }
    let body = match body {
        UploadBody::Whole(bytes) => whole_body(bytes, expected_md5).await?,
        UploadBody::Streamed(chunks) => objects::Body::Streamed {
            chunks,
            expected_md5,
        },
    };
    let stored = objects::put(services, (&job.bucket, &job.key), body, meta).await?;
    let job = submit_with_rules(services, who, job).await?;
    Ok(Uploaded { stored, job })
}

/// Bytes in memory to store: a body with an MD5 to check is digested (and refused when it
/// differs) before anything is stored; any other while it is written.
async fn whole_body(
    bytes: Bytes,
    expected_md5: Option<[u8; 16]>,
) -> Result<objects::Body, UploadError> {
    let Some(expected) = expected_md5 else {
        return Ok(objects::Body::new(bytes));
    };
    let digests = Digests::of(bytes.clone()).await;
    check_md5(&digests, expected)?;
    Ok(objects::Body::digested(bytes, digests))
}

/// Refuses a body whose MD5 is not `expected`, before anything is stored.
fn check_md5(actual: &Digests, expected: [u8; 16]) -> Result<(), UploadError> {
    if actual.md5 == expected {
        return Ok(());
    }
    let base64 = |md5: &[u8]| base64::engine::general_purpose::STANDARD.encode(md5);
    Err(UploadError::Digest {
        given: base64(&expected),
        actual: base64(&actual.md5),
    })
}

/// Starts the job of the bucket's upload rules that match `key` (an object just written by a
/// completed multipart upload); `None` when none matches.
pub async fn start_rules(
    services: &Services,
    who: &AccessKey,
    bucket: &str,
    key: &str,
) -> Result<Option<Uuid>, SubmitError> {
    submit_with_rules(services, who, Submission::new(bucket, key, Vec::new())).await
}

/// Submits the upload's job with the matching rules' commands added; `None` when there is
/// nothing to run (also for an upload that found its object already stored, Qiniu's
/// insert-only upload of the same content).
pub async fn submit_with_rules(
    services: &Services,
    who: &AccessKey,
    mut job: Submission,
) -> Result<Option<Uuid>, SubmitError> {
    let (commands, notify_url) = upload_rule_commands(services, &job.bucket, &job.key).await?;
    job.commands.extend(commands);
    if job.commands.is_empty() {
        return Ok(None);
    }
    job.notify_url = job.notify_url.or(notify_url);
    Ok(Some(submit::submit(services, who, job).await?))
}

/// The commands of every upload rule of `bucket` that matches `key`, in rule order, and the
/// first notify URL among those rules.
async fn upload_rule_commands(
    services: &Services,
    bucket: &str,
    key: &str,
) -> Result<(Vec<CommandText>, Option<String>), SubmitError> {
    let mut commands = Vec::new();
    let mut notify_url = None;
    for rule in services.ledger.upload_rules(bucket).await? {
        if rule.matches(key) {
            notify_url = notify_url.or(rule.notify_url.clone());
            commands.extend(rule.commands.iter().map(|text| CommandText {
                text: text.clone(),
                dialect: rule.dialect,
            }));
        }
    }
    Ok((commands, notify_url))
}
