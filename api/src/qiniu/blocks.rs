//! Resumable upload v1 (`Authorization: UpToken <token>`):
//!
//! ```text
//! POST /mkblk/<blockSize>            first chunk of a block (blockSize <= 4 MiB)
//! POST /bput/<ctx>/<nextChunkOffset> the next chunk of that block
//!     -> {"ctx","checksum","crc32","offset","host","expired_at"}
//! POST /mkfile/<fsize>[/key/<b64>][/fname/<b64>][/mimeType/<b64>][/x:<var>/<b64>]
//!      [/x-qn-meta-<name>/<b64>]     body: the blocks' last ctx, comma-separated
//!     -> the upload's answer (see `super::store`)
//! ```
//!
//! Each block is an unnamed upload of `jobs::multipart` and each chunk one of its parts, on
//! the bucket's own backend, never held in memory beyond one chunk (at most 4 MiB). A ctx is
//! `urlsafe_b64("v1:<upload id>:<block size>:<chunks>:<offset>")`: which block, and how much
//! of it the client has seen acknowledged. `mkfile` reads the blocks its ctx list names, in
//! order, checks that every block but the last is whole and 4 MiB and that they add up to
//! `fsize`, stores them as one object with the put policy applied, and then forgets them.
//! A ctx that is not one this service made, or names another bucket's block, is 701.

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{Path, Request, State};
use axum::http::HeaderMap;
use axum::response::Response;
use base64::Engine;
use crc_fast::{CrcAlgorithm, Digest as Crc};
use futures::StreamExt;
use jobs::error::{FailureCode, StoreError};
use jobs::multipart::{self, MultipartUpload, Part};
use jobs::Services;
use serde_json::json;
use sha1::{Digest as _, Sha1};
use uuid::Uuid;

use super::answer;
use super::auth::{authenticate_up_token, UploadToken};
use super::error::QiniuError;
use super::policy::Route;
use super::rs::{check_bucket, decode_text, signed_body};
use super::store::{store, Assembly, Received, Source};

/// Qiniu's block size: every block but the last is exactly this.
pub(super) const BLOCK_SIZE: u64 = 4 * 1024 * 1024;

/// How long a ctx is good for (Qiniu's: 7 days), as its `expired_at` says.
pub(super) const EXPIRY: chrono::Duration = chrono::Duration::days(7);

/// What a ctx says of a block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Ctx {
    upload_id: Uuid,
    block_size: u64,
    chunks: u32,
    offset: u64,
}

fn bad_ctx(message: impl Into<String>) -> QiniuError {
    QiniuError::new(FailureCode::InvalidPart, message)
}

impl Ctx {
    fn encode(&self) -> String {
        let text = format!(
            "v1:{}:{}:{}:{}",
            self.upload_id.simple(),
            self.block_size,
            self.chunks,
            self.offset
        );
        base64::engine::general_purpose::URL_SAFE.encode(text)
    }

    fn decode(encoded: &str) -> Result<Ctx, QiniuError> {
        let text = decode_text(encoded.trim(), "ctx").map_err(|_| bad_ctx("invalid ctx"))?;
        let fields: Vec<&str> = text.split(':').collect();
        let parsed = match fields.as_slice() {
            ["v1", id, size, chunks, offset] => (|| {
                Some(Ctx {
                    upload_id: Uuid::parse_str(id).ok()?,
                    block_size: size.parse().ok()?,
                    chunks: chunks.parse().ok()?,
                    offset: offset.parse().ok()?,
                })
            })(),
            _ => None,
        };
        parsed.ok_or_else(|| bad_ctx("invalid ctx"))
    }
}

/// The block a ctx names, in the token's bucket.
async fn block_of(
    services: &Services,
    token: &UploadToken,
    ctx: &Ctx,
) -> Result<MultipartUpload, QiniuError> {
    match services.ledger.upload(ctx.upload_id).await? {
        Some(upload) if upload.bucket == token.policy.bucket() => Ok(upload),
        _ => Err(bad_ctx(
            "the ctx names no block of this bucket (expired or unknown)",
        )),
    }
}

/// A chunk's body, at most `room` bytes.
async fn chunk_body(body: Body, room: u64) -> Result<Bytes, QiniuError> {
    let limit = usize::try_from(room).unwrap_or(usize::MAX);
    let bytes = axum::body::to_bytes(body, limit).await.map_err(|_| {
        QiniuError::bad_request(format!(
            "the chunk is over the {room} bytes left in its block"
        ))
    })?;
    if bytes.is_empty() {
        return Err(QiniuError::bad_request("the chunk is empty"));
    }
    Ok(bytes)
}

/// The `host` a chunk's answer names: the one the client reached.
fn own_host(headers: &HeaderMap) -> String {
    let host = (headers.get(axum::http::header::HOST))
        .and_then(|h| h.to_str().ok())
        .unwrap_or_default();
    format!("http://{host}")
}

/// Stores `chunk` as the next part of the block and answers the new ctx.
async fn append(
    services: &Services,
    block: &MultipartUpload,
    ctx: Ctx,
    chunk: Bytes,
    headers: &HeaderMap,
) -> Result<Response, QiniuError> {
    let mut crc32 = Crc::new(CrcAlgorithm::Crc32IsoHdlc);
    crc32.update(&chunk);
    let checksum = base64::engine::general_purpose::URL_SAFE.encode(Sha1::digest(&chunk));
    let size = chunk.len() as u64;
    let body = futures::stream::once(async move { Ok::<_, StoreError>(chunk) }).boxed();
    let number = ctx.chunks + 1;
    multipart::put_part(services, block, number, body, None).await?;
    let next = Ctx {
        chunks: number,
        offset: ctx.offset + size,
        ..ctx
    };
    let expired_at = (block.initiated_at + EXPIRY).timestamp();
    let body = json!({
        "ctx": next.encode(),
        "checksum": checksum,
        "crc32": crc32.finalize() as u32,
        "offset": next.offset,
        "host": own_host(headers),
        "expired_at": expired_at,
    });
    Ok(answer(&crate::new_request_id(), body))
}

/// `POST /mkblk/<blockSize>`.
pub(super) async fn mkblk(
    State(services): State<Arc<Services>>,
    Path(block_size): Path<String>,
    request: Request,
) -> Result<Response, QiniuError> {
    let token = authenticate_up_token(&services.ledger, request.headers()).await?;
    let block_size = match block_size.parse::<u64>() {
        Ok(size) if (1..=BLOCK_SIZE).contains(&size) => size,
        _ => {
            return Err(QiniuError::bad_request(format!(
                "invalid block size {block_size:?} (1 to {BLOCK_SIZE})"
            )))
        }
    };
    let bucket = token.policy.bucket().to_string();
    check_bucket(&services, &bucket)?;
    let (head, body) = request.into_parts();
    let chunk = chunk_body(body, block_size).await?;
    let block = multipart::initiate_unnamed(&services, &token.key, &bucket, "blocks").await?;
    let ctx = Ctx {
        upload_id: block.upload_id,
        block_size,
        chunks: 0,
        offset: 0,
    };
    append(&services, &block, ctx, chunk, &head.headers).await
}

/// `POST /bput/<ctx>/<nextChunkOffset>`.
pub(super) async fn bput(
    State(services): State<Arc<Services>>,
    Path((ctx, offset)): Path<(String, String)>,
    request: Request,
) -> Result<Response, QiniuError> {
    let token = authenticate_up_token(&services.ledger, request.headers()).await?;
    let ctx = Ctx::decode(&ctx)?;
    if offset.parse::<u64>().ok() != Some(ctx.offset) {
        return Err(bad_ctx(format!(
            "the chunk offset {offset} is not the ctx's {}",
            ctx.offset
        )));
    }
    let block = block_of(&services, &token, &ctx).await?;
    let (head, body) = request.into_parts();
    let chunk = chunk_body(body, ctx.block_size.saturating_sub(ctx.offset)).await?;
    append(&services, &block, ctx, chunk, &head.headers).await
}

/// What `mkfile`'s path says after `/mkfile/`.
#[derive(Debug, Default, PartialEq, Eq)]
struct FileParams {
    fsize: u64,
    received: Received,
}

fn file_params(path: &str) -> Result<FileParams, QiniuError> {
    let mut segments = path.trim_start_matches('/').split('/');
    let fsize = segments.next().unwrap_or_default();
    let mut params = FileParams {
        fsize: (fsize.parse()).map_err(|_| QiniuError::bad_request("invalid fsize"))?,
        received: Received::default(),
    };
    let received = &mut params.received;
    while let Some(name) = segments.next() {
        let value = decode_text(segments.next().unwrap_or_default(), name)?;
        match name {
            "key" => received.key = Some(value),
            "fname" => received.fname = Some(value),
            "mimeType" => received.mime_type = Some(value),
            var if var.starts_with("x:") => received.vars.push((var.to_string(), value)),
            meta if meta.starts_with("x-qn-meta-") && meta.len() > "x-qn-meta-".len() => {
                let meta = meta["x-qn-meta-".len()..].to_ascii_lowercase();
                received.user_meta.push((meta, value));
            }
            other => {
                return Err(QiniuError::bad_request(format!(
                    "mkfile: unknown parameter {other:?}"
                )))
            }
        }
    }
    Ok(params)
}

/// The blocks a ctx list names, checked: each whole, each but the last 4 MiB.
async fn blocks(
    services: &Services,
    token: &UploadToken,
    ctxs: &[Ctx],
) -> Result<(Vec<MultipartUpload>, Vec<String>, u64), QiniuError> {
    let (mut uploads, mut keys, mut total) = (Vec::new(), Vec::new(), 0u64);
    for (index, ctx) in ctxs.iter().enumerate() {
        let last = index + 1 == ctxs.len();
        if ctx.offset != ctx.block_size || (!last && ctx.block_size != BLOCK_SIZE) {
            return Err(bad_ctx(format!(
                "block {index} holds {} of {} bytes: every block but the last must be a whole {BLOCK_SIZE}",
                ctx.offset, ctx.block_size
            )));
        }
        let block = block_of(services, token, ctx).await?;
        let parts = services.ledger.parts(block.upload_id).await?;
        let chunks: Vec<&Part> = parts.iter().take(ctx.chunks as usize).collect();
        let size: u64 = chunks.iter().map(|part| part.size).sum();
        if chunks.len() != ctx.chunks as usize || size != ctx.offset {
            return Err(bad_ctx(format!(
                "block {index} is not the one its ctx names"
            )));
        }
        keys.extend((1..=ctx.chunks).map(|n| multipart::part_key(block.upload_id, n)));
        total += size;
        uploads.push(block);
    }
    Ok((uploads, keys, total))
}

/// `POST /mkfile/<fsize>/...`.
pub(super) async fn mkfile(
    State(services): State<Arc<Services>>,
    Path(rest): Path<String>,
    request: Request,
) -> Result<Response, QiniuError> {
    let token = authenticate_up_token(&services.ledger, request.headers()).await?;
    let params = file_params(&rest)?;
    let body = signed_body(request.into_body()).await?;
    let text = std::str::from_utf8(&body).map_err(|_| bad_ctx("the ctx list is not text"))?;
    let ctxs: Vec<Ctx> = (text.split(',').filter(|c| !c.trim().is_empty()))
        .map(Ctx::decode)
        .collect::<Result<_, _>>()?;
    if ctxs.is_empty() {
        return Err(bad_ctx("mkfile names no block"));
    }
    let (uploads, keys, size) = blocks(&services, &token, &ctxs).await?;
    if size != params.fsize {
        return Err(QiniuError::bad_request(format!(
            "the blocks hold {size} bytes, not the fsize {}",
            params.fsize
        )));
    }
    let bucket = token.policy.bucket().to_string();
    let source = Source::Stored(Assembly { bucket, keys, size });
    let response = store(&services, &token, Route::BlocksV1, params.received, source).await?;
    forget(&services, &uploads).await;
    Ok(response)
}

/// Deletes the blocks of a completed file; one left behind is only space.
pub(super) async fn forget(services: &Services, uploads: &[MultipartUpload]) {
    for upload in uploads {
        if let Err(error) = multipart::discard(services, upload).await {
            tracing::warn!(%error, upload = %upload.upload_id, "a completed upload's parts were not deleted");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(text: &str) -> String {
        base64::engine::general_purpose::URL_SAFE.encode(text)
    }

    #[test]
    fn a_ctx_round_trips_and_nothing_else_reads_as_one() {
        let ctx = Ctx {
            upload_id: Uuid::now_v7(),
            block_size: BLOCK_SIZE,
            chunks: 3,
            offset: 1_048_576,
        };
        assert_eq!(Ctx::decode(&ctx.encode()).unwrap(), ctx);
        for bad in ["", "!!", &b64("v1:x:1:1:1"), &b64("v2:0:1:1:1"), &b64("v1")] {
            let error = Ctx::decode(bad).unwrap_err();
            assert_eq!(error.0.code, FailureCode::InvalidPart, "{bad}");
        }
    }

    #[test]
    fn mkfile_parameters_are_read_from_the_path() {
        let path = format!(
            "1234/key/{}/fname/{}/mimeType/{}/x:who/{}/x-qn-meta-Color/{}",
            b64("a/b.jpg"),
            b64("b.jpg"),
            b64("image/jpeg"),
            b64("me"),
            b64("red")
        );
        let params = file_params(&path).unwrap();
        assert_eq!(params.fsize, 1234);
        let received = params.received;
        assert_eq!(received.key.as_deref(), Some("a/b.jpg"));
        assert_eq!(received.fname.as_deref(), Some("b.jpg"));
        assert_eq!(received.mime_type.as_deref(), Some("image/jpeg"));
        assert_eq!(received.vars, vec![("x:who".into(), "me".into())]);
        assert_eq!(received.user_meta, vec![("color".into(), "red".into())]);
        assert!(file_params("x").is_err());
        assert!(file_params(&format!("1/bogus/{}", b64("v"))).is_err());
        assert!(file_params("1/key").is_ok_and(|p| p.received.key.as_deref() == Some("")));
    }
}
