//! A form upload's multipart body, read without holding the file in memory. The token is
//! verified the moment its field arrives (the SDKs send it before the file), so a bad token is
//! refused before a byte of the file is read. The file is spooled to an anonymous temporary
//! file (gone when dropped, even after a crash), bounded by the upload limit and, once the
//! token is known, the policy's `fsizeLimit`, digested (and CRC-32 checked against the
//! form's `crc32`) on the way; [`super::store`] then reads it from there as a stream.

use axum::extract::multipart::{Field, MultipartError};
use axum::extract::Multipart;
use axum::http::StatusCode;
use crc_fast::{CrcAlgorithm, Digest as Crc};
use jobs::digest::Digester;
use jobs::error::FailureCode;
use jobs::Services;
use tokio::io::AsyncWriteExt;

use super::auth::{verify_upload_token, UploadToken};
use super::error::QiniuError;
use super::store::{Received, Spooled, HEAD_BYTES};

/// The longest form field other than the file (a token, a key, an `x:` variable).
const MAX_FIELD_BYTES: usize = 64 * 1024;

/// A form upload's fields, the token verified and the file spooled.
pub(super) struct UploadForm {
    pub token: UploadToken,
    pub received: Received,
    pub file: Spooled,
}

/// What has been read of the form so far.
#[derive(Default)]
struct Partial {
    token: Option<UploadToken>,
    received: Received,
    crc32: Option<String>,
    file: Option<(Spooled, u32)>,
}

/// Reads the form, verifying the token as soon as it is seen and spooling the file.
pub(super) async fn read_form(
    services: &Services,
    mut multipart: Multipart,
) -> Result<UploadForm, QiniuError> {
    let mut form = Partial::default();
    while let Some(field) = multipart.next_field().await.map_err(unreadable)? {
        let name = field.name().unwrap_or_default().to_string();
        match name.as_str() {
            "file" => {
                let received = &mut form.received;
                received.fname = field.file_name().map(str::to_string);
                received.mime_type = field.content_type().map(str::to_string);
                form.file = Some(spool(field, file_limit(services, &form)).await?);
            }
            "token" => {
                let text = small_text(field).await?;
                form.token = Some(verify(services, &text).await?);
            }
            "key" => form.received.key = Some(small_text(field).await?),
            "crc32" => form.crc32 = Some(small_text(field).await?),
            var if var.starts_with("x:") => {
                let value = small_text(field).await?;
                form.received.vars.push((name, value));
            }
            meta if meta.starts_with("x-qn-meta-") && meta.len() > "x-qn-meta-".len() => {
                let value = small_text(field).await?;
                let meta = meta["x-qn-meta-".len()..].to_ascii_lowercase();
                form.received.user_meta.push((meta, value));
            }
            // Fields Qiniu's form does not define: read past (bounded).
            _ => drop(small_text(field).await?),
        }
    }
    finish(form)
}

/// The form read whole: the token and the file are required, and the file's CRC-32 is the
/// one the form's `crc32` names, when it names one.
fn finish(form: Partial) -> Result<UploadForm, QiniuError> {
    let token = form
        .token
        .ok_or_else(|| QiniuError::bad_request("token is required"))?;
    let (file, crc32) = form
        .file
        .ok_or_else(|| QiniuError::bad_request("file is required"))?;
    if let Some(given) = form
        .crc32
        .as_deref()
        .map(str::trim)
        .filter(|c| !c.is_empty())
    {
        if given.parse::<u32>().ok() != Some(crc32) {
            return Err(QiniuError::new(
                FailureCode::InvalidDigest,
                format!("the file's crc32 is {crc32}, not the form's {given}"),
            ));
        }
    }
    Ok(UploadForm {
        token,
        received: form.received,
        file,
    })
}

async fn verify(services: &Services, token: &str) -> Result<UploadToken, QiniuError> {
    let now = chrono::Utc::now().timestamp();
    Ok(verify_upload_token(&services.ledger, token, now).await?)
}

/// The most file bytes taken: the upload limit, and the policy's `fsizeLimit` once the token
/// has been read (a file sent before its token is checked against it after).
fn file_limit(services: &Services, form: &Partial) -> u64 {
    let policy_limit = (form.token.as_ref())
        .and_then(|token| token.policy.fsize_limit)
        .and_then(|limit| u64::try_from(limit).ok());
    let upload_limit = services.config.max_upload_bytes;
    policy_limit.map_or(upload_limit, |limit| limit.min(upload_limit))
}

/// Writes the file field to a temporary file, digesting it, refused past `limit` bytes; with
/// its CRC-32 (the form's `crc32` check).
async fn spool(mut field: Field<'_>, limit: u64) -> Result<(Spooled, u32), QiniuError> {
    let file = tempfile::tempfile().map_err(spool_error)?;
    let mut file = tokio::fs::File::from_std(file);
    let mut digester = Digester::new();
    let mut crc32 = Crc::new(CrcAlgorithm::Crc32IsoHdlc);
    let mut head = Vec::new();
    let mut size = 0u64;
    while let Some(chunk) = field.chunk().await.map_err(unreadable)? {
        size += chunk.len() as u64;
        if size > limit {
            return Err(QiniuError::new(
                FailureCode::EntityTooLarge,
                format!("the file is over the limit of {limit} bytes"),
            ));
        }
        digester.update(&chunk);
        crc32.update(&chunk);
        let room = HEAD_BYTES.saturating_sub(head.len()).min(chunk.len());
        head.extend_from_slice(&chunk[..room]);
        file.write_all(&chunk).await.map_err(spool_error)?;
    }
    file.flush().await.map_err(spool_error)?;
    let spooled = Spooled {
        file,
        digests: digester.finish(),
        head,
    };
    Ok((spooled, crc32.finalize() as u32))
}

/// A form field other than the file, refused past [`MAX_FIELD_BYTES`].
async fn small_text(mut field: Field<'_>) -> Result<String, QiniuError> {
    let mut bytes = Vec::new();
    while let Some(chunk) = field.chunk().await.map_err(unreadable)? {
        if bytes.len() + chunk.len() > MAX_FIELD_BYTES {
            return Err(QiniuError::bad_request(format!(
                "the form field {:?} is over {MAX_FIELD_BYTES} bytes",
                field.name().unwrap_or_default()
            )));
        }
        bytes.extend_from_slice(&chunk);
    }
    String::from_utf8(bytes).map_err(|_| QiniuError::bad_request("a form field is not UTF-8"))
}

fn spool_error(error: std::io::Error) -> QiniuError {
    QiniuError::new(
        FailureCode::StorageError,
        format!("the upload could not be spooled to a temporary file: {error}"),
    )
}

fn unreadable(error: MultipartError) -> QiniuError {
    if error.status() == StatusCode::PAYLOAD_TOO_LARGE {
        QiniuError::new(
            FailureCode::EntityTooLarge,
            "the file is over the upload limit",
        )
    } else {
        QiniuError::bad_request(format!("invalid multipart body: {}", error.body_text()))
    }
}
