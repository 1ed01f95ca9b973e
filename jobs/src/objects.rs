//! Object records: what Ferrotype knows of an object beyond its bytes (the metadata its
//! uploader gave, its digests), kept in the ledger beside the backend's version tag of the
//! bytes they describe.
//!
//! Why the ledger and not the backend: a bucket folder has nowhere to keep a Content-Type or
//! `x-oss-meta-*` (object_store's local store refuses attributes), and the same rule must hold
//! for folders, S3 and memory. The version tag makes the record safe to trust: an object
//! replaced outside Ferrotype (a file copied into the folder by hand, another S3 writer) has
//! a new tag, so its record is derived again from its bytes (digests computed while streaming,
//! the type from the key's extension or sniffed) and written back. Losing a record loses only
//! the uploader's metadata, never the object.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use futures::StreamExt;

use crate::buckets::{ByteStream, Reader, Stored};
use crate::digest::{Digester, Digests};
use crate::error::ObjectError;
use crate::Services;

/// The standard headers an uploader may set and every GET answers, by lower-case name.
pub const STORED_HEADERS: [&str; 5] = [
    "cache-control",
    "content-disposition",
    "content-encoding",
    "content-language",
    "expires",
];

/// The most user metadata one object keeps, names and values together (OSS's limit).
pub const MAX_USER_META_BYTES: usize = 8 * 1024;

const OCTET_STREAM: &str = "application/octet-stream";

/// The bytes read to sniff the type of an object whose key does not name one.
const SNIFF_BYTES: usize = 64 * 1024;

/// The metadata an uploader gives with an object.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ObjectMeta {
    /// `None` (or empty): from the key's extension, else sniffed.
    pub content_type: Option<String>,
    /// Some of [`STORED_HEADERS`], by lower-case name.
    pub headers: BTreeMap<String, String>,
    /// User metadata, by lower-case name without the surface's prefix.
    pub user_meta: BTreeMap<String, String>,
}

impl ObjectMeta {
    /// Refuses user metadata over [`MAX_USER_META_BYTES`].
    pub fn check(&self) -> Result<(), ObjectError> {
        let total: usize = (self.user_meta.iter())
            .map(|(name, value)| name.len() + value.len())
            .sum();
        if total > MAX_USER_META_BYTES {
            return Err(ObjectError::InvalidMeta(format!(
                "the user metadata is {total} bytes, over the limit of {MAX_USER_META_BYTES}"
            )));
        }
        Ok(())
    }
}

/// What is recorded of one version of an object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectRecord {
    /// The backend's version tag of the bytes described.
    pub version: String,
    pub size: u64,
    pub content_type: String,
    pub headers: BTreeMap<String, String>,
    pub user_meta: BTreeMap<String, String>,
    /// The MD5 OSS's ETag spells: of the bytes, or of the parts' MD5s when `parts` is set.
    pub etag_md5: [u8; 16],
    pub crc64: u64,
    pub qiniu_hash: String,
    /// The number of parts of an object completed from a multipart upload.
    pub parts: Option<u32>,
}

impl ObjectRecord {
    /// The record of bytes just `stored` under `key` with `meta`; `head` is their start (to
    /// sniff a type the key does not name).
    pub fn of_stored(stored: &Stored, key: &str, meta: ObjectMeta, head: &[u8]) -> ObjectRecord {
        ObjectRecord {
            version: stored.version.clone(),
            size: stored.size,
            content_type: content_type_of(key, meta.content_type.as_deref(), head),
            headers: meta.headers,
            user_meta: meta.user_meta,
            etag_md5: stored.digests.md5,
            crc64: stored.digests.crc64,
            qiniu_hash: stored.digests.qiniu.clone(),
            parts: None,
        }
    }

    /// OSS's ETag, unquoted: the MD5 in upper-case hex, `-<parts>` after it for a multipart
    /// object.
    pub fn oss_etag(&self) -> String {
        let md5 = hex::encode_upper(self.etag_md5);
        match self.parts {
            Some(parts) => format!("{md5}-{parts}"),
            None => md5,
        }
    }

    /// OSS's `x-oss-object-type`.
    pub fn oss_object_type(&self) -> &'static str {
        match self.parts {
            Some(_) => "Multipart",
            None => "Normal",
        }
    }
}

/// The type of an object: as given, else from the key's extension, else sniffed from its
/// first bytes (images), else `application/octet-stream`.
pub fn content_type_of(key: &str, given: Option<&str>, head: &[u8]) -> String {
    if let Some(given) = given.filter(|given| !given.trim().is_empty()) {
        return given.to_string();
    }
    let name = key.rsplit('/').next().unwrap_or(key);
    if let Some(by_extension) = mime_guess::from_path(name).first_raw() {
        return by_extension.to_string();
    }
    pipeline::codec::decode::sniff(head)
        .map(|format| format.mime())
        .unwrap_or(OCTET_STREAM)
        .to_string()
}

/// What to store: bytes in memory (with their digests when the caller has them already), or
/// a stream written as it arrives, never held whole.
pub enum Body {
    Whole {
        bytes: Bytes,
        digests: Option<Digests>,
    },
    /// Refused, and nothing left behind, when its MD5 is not `expected_md5`.
    Streamed {
        chunks: ByteStream,
        expected_md5: Option<[u8; 16]>,
    },
}

impl Body {
    pub fn new(bytes: Bytes) -> Body {
        Body::Whole {
            bytes,
            digests: None,
        }
    }

    /// `bytes`, whose digests are `digests`.
    pub fn digested(bytes: Bytes, digests: Digests) -> Body {
        Body::Whole {
            bytes,
            digests: Some(digests),
        }
    }
}

impl std::fmt::Debug for Body {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Body::Whole { bytes, .. } => write!(formatter, "Body::Whole({} bytes)", bytes.len()),
            Body::Streamed { .. } => formatter.write_str("Body::Streamed"),
        }
    }
}

/// Stores `body` under `bucket/key` with `meta`, and records it.
pub async fn put(
    services: &Services,
    location: (&str, &str),
    body: Body,
    meta: ObjectMeta,
) -> Result<ObjectRecord, ObjectError> {
    let (bucket, key) = location;
    let (stored, head) = match body {
        Body::Whole { bytes, digests } => {
            let head = bytes.slice(..bytes.len().min(SNIFF_BYTES)).to_vec();
            (
                services.buckets.put(bucket, key, bytes, digests).await?,
                head,
            )
        }
        Body::Streamed {
            chunks,
            expected_md5,
        } => {
            let head = Arc::new(Mutex::new(Vec::new()));
            let chunks = keeping_head(chunks, head.clone());
            let stored = (services.buckets)
                .put_stream(bucket, key, chunks, expected_md5)
                .await?;
            let head = head.lock().map(|head| head.clone()).unwrap_or_default();
            (stored, head)
        }
    };
    let record = ObjectRecord::of_stored(&stored, key, meta, &head);
    services.ledger.record_object(bucket, key, &record).await?;
    Ok(record)
}

/// `chunks`, with a copy of their first [`SNIFF_BYTES`] kept in `head` on the way (what the
/// content type is sniffed from).
fn keeping_head(chunks: ByteStream, head: Arc<Mutex<Vec<u8>>>) -> ByteStream {
    chunks
        .inspect(move |chunk| {
            let (Ok(chunk), Ok(mut head)) = (chunk, head.lock()) else {
                return;
            };
            let take = chunk.len().min(SNIFF_BYTES.saturating_sub(head.len()));
            head.extend_from_slice(&chunk[..take]);
        })
        .boxed()
}

/// An object as it is now: its backend reader and its record.
#[derive(Debug, Clone)]
pub struct Described {
    pub reader: Reader,
    pub record: ObjectRecord,
}

/// The object `bucket/key` with its record, or `None` when it does not exist. A record
/// missing or of another version is derived from the bytes (streamed, never held whole) and
/// written back.
pub async fn describe(
    services: &Services,
    bucket: &str,
    key: &str,
) -> Result<Option<Described>, ObjectError> {
    let Some(reader) = services.buckets.open(bucket, key).await? else {
        return Ok(None);
    };
    let recorded = services.ledger.object_record(bucket, key).await?;
    if let Some(record) = recorded.filter(|record| record.version == reader.info.version) {
        return Ok(Some(Described { reader, record }));
    }
    let record = derive(&reader, key).await?;
    services.ledger.record_object(bucket, key, &record).await?;
    Ok(Some(Described { reader, record }))
}

/// Copies the object `source` describes to `target` (bucket, key), with `meta` in place of
/// the source's when given (OSS `x-oss-metadata-directive: REPLACE`), and records the copy.
/// The bytes move on the backend within a bucket, stream between buckets; a copy onto itself
/// moves none (only its record changes).
pub async fn copy(
    services: &Services,
    source: &Described,
    target: (&str, &str),
    meta: Option<ObjectMeta>,
) -> Result<ObjectRecord, ObjectError> {
    let (bucket, key) = target;
    let reader = &source.reader;
    let version = if (reader.bucket(), reader.key()) == target {
        reader.info.version.clone()
    } else if reader.bucket() == bucket {
        (services
            .buckets
            .copy_within(bucket, reader.key(), key)
            .await)?
    } else {
        let stored = services
            .buckets
            .put_stream(bucket, key, reader.stream(None), None)
            .await?;
        stored.version
    };
    let mut record = ObjectRecord {
        version,
        ..source.record.clone()
    };
    if let Some(meta) = meta {
        meta.check()?;
        let given = meta.content_type.as_deref();
        // Without a type given, the key's extension names it, else the source's stays.
        let by_key = content_type_of(key, given, &[]);
        if given.is_some_and(|given| !given.trim().is_empty()) || by_key != OCTET_STREAM {
            record.content_type = by_key;
        }
        record.headers = meta.headers;
        record.user_meta = meta.user_meta;
    }
    services.ledger.record_object(bucket, key, &record).await?;
    Ok(record)
}

/// The record of an object nobody described: digests over its bytes, its type from its key or
/// its first bytes, no metadata.
async fn derive(reader: &Reader, key: &str) -> Result<ObjectRecord, ObjectError> {
    let mut digester = Digester::new();
    let mut head = Vec::new();
    let mut stream = reader.stream(None);
    while let Some(chunk) = stream.next().await {
        let chunk = chunk?;
        if head.len() < SNIFF_BYTES {
            let take = chunk.len().min(SNIFF_BYTES - head.len());
            head.extend_from_slice(&chunk[..take]);
        }
        digester.update(&chunk);
    }
    let digests = digester.finish();
    Ok(ObjectRecord {
        version: reader.info.version.clone(),
        size: digests.size,
        content_type: content_type_of(key, None, &head),
        headers: BTreeMap::new(),
        user_meta: BTreeMap::new(),
        etag_md5: digests.md5,
        crc64: digests.crc64,
        qiniu_hash: digests.qiniu,
        parts: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_type_is_given_then_by_extension_then_sniffed() {
        let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";
        let cases: [(&str, Option<&str>, &[u8], &str); 7] = [
            ("a.txt", Some("image/webp"), b"", "image/webp"),
            ("a.txt", Some(" "), b"", "text/plain"),
            ("dir.jpg/a.html", None, b"", "text/html"),
            ("photos/a.JPG", None, b"", "image/jpeg"),
            ("photos/a", None, png, "image/png"),
            ("photos/a", None, b"hello", "application/octet-stream"),
            ("photos/a.mp4", None, b"", "video/mp4"),
        ];
        for (key, given, head, expected) in cases {
            assert_eq!(
                content_type_of(key, given, head),
                expected,
                "{key} {given:?}"
            );
        }
    }

    #[test]
    fn the_oss_etag_marks_multipart_objects() {
        let mut record = ObjectRecord {
            version: "v".into(),
            size: 0,
            content_type: "text/plain".into(),
            headers: BTreeMap::new(),
            user_meta: BTreeMap::new(),
            etag_md5: [0xab; 16],
            crc64: 0,
            qiniu_hash: String::new(),
            parts: None,
        };
        assert_eq!(record.oss_etag(), "AB".repeat(16));
        assert_eq!(record.oss_object_type(), "Normal");
        record.parts = Some(3);
        assert_eq!(record.oss_etag(), format!("{}-3", "AB".repeat(16)));
        assert_eq!(record.oss_object_type(), "Multipart");
    }

    #[test]
    fn user_metadata_is_held_to_eight_kib() {
        let mut meta = ObjectMeta::default();
        meta.user_meta
            .insert("a".into(), "x".repeat(MAX_USER_META_BYTES - 1));
        assert!(meta.check().is_ok());
        meta.user_meta.insert("b".into(), "y".into());
        assert!(meta.check().is_err());
    }
}
