//! Request bodies on their way to the store: streamed, never buffered whole, and cut with
//! `EntityTooLarge` as soon as they pass their limit (a declared `Content-Length` over it is
//! refused before a byte is read: [`declared_too_large`]).

use axum::body::Body;
use axum::http::{header, HeaderMap};
use futures::StreamExt;
use jobs::buckets::ByteStream;
use jobs::error::StoreError;

/// `body` as a stream of chunks for `bucket/key`, failing once it passes `limit` bytes (the
/// store then abandons the write: nothing is left behind).
pub fn limited(body: Body, limit: u64, bucket: &str, key: &str) -> ByteStream {
    let (bucket, key) = (bucket.to_string(), key.to_string());
    let mut seen = 0u64;
    body.into_data_stream()
        .map(move |chunk| {
            let chunk = chunk.map_err(|error| StoreError::Body {
                bucket: bucket.clone(),
                key: key.clone(),
                message: error.to_string(),
            })?;
            seen += chunk.len() as u64;
            if seen > limit {
                return Err(too_large(&bucket, &key, seen, limit));
            }
            Ok(chunk)
        })
        .boxed()
}

/// `EntityTooLarge` when the request says its body is over `limit` bytes: refused before it
/// is read.
pub fn declared_too_large(
    headers: &HeaderMap,
    limit: u64,
    bucket: &str,
    key: &str,
) -> Result<(), StoreError> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.trim().parse::<u64>().ok());
    match declared {
        Some(size) if size > limit => Err(too_large(bucket, key, size, limit)),
        _ => Ok(()),
    }
}

fn too_large(bucket: &str, key: &str, size: u64, limit: u64) -> StoreError {
    StoreError::TooLarge {
        bucket: bucket.to_string(),
        key: key.to_string(),
        size,
        limit,
    }
}
