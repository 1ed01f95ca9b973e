//! Multipart uploads (OSS InitiateMultipartUpload, UploadPart, UploadPartCopy,
//! CompleteMultipartUpload, AbortMultipartUpload, ListParts, ListMultipartUploads), for every
//! surface.
//!
//! Each part is streamed to the bucket's own backend under the reserved namespace
//! ([`part_key`]), never held whole; the ledger keeps which parts exist and their digests. A
//! completion checks the parts named ([`chosen_parts`], pure), streams them one after the
//! other into the object (the backend's own multipart write: S3's on S3, a staged file renamed
//! into place on a folder), records it with OSS's multipart ETag (the MD5 of the parts' MD5s,
//! `-<n>`), then starts the job of the bucket's upload rules, as a simple upload does.

use chrono::{DateTime, Utc};
use futures::StreamExt;
use md5::{Digest as _, Md5};
use uuid::Uuid;

use crate::buckets::{validate_client_key, ByteStream, RESERVED_PREFIX};
use crate::credentials::Permission;
use crate::error::{MultipartError, StoreError};
use crate::ledger::AccessKey;
use crate::objects::{ObjectMeta, ObjectRecord};
use crate::Services;

/// The most parts an upload has, and the smallest size of a part other than the last (OSS's).
pub const MAX_PARTS: u32 = 10_000;
pub const MIN_PART_SIZE: u64 = 100 * 1024;

/// An upload in progress.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MultipartUpload {
    pub upload_id: Uuid,
    pub bucket: String,
    pub key: String,
    pub meta: ObjectMeta,
    pub initiated_at: DateTime<Utc>,
}

/// A part uploaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    pub number: u32,
    pub size: u64,
    pub md5: [u8; 16],
    pub crc64: u64,
    pub uploaded_at: DateTime<Utc>,
}

impl Part {
    /// Its ETag, unquoted: the MD5 in upper-case hex.
    pub fn etag(&self) -> String {
        hex::encode_upper(self.md5)
    }
}

/// Where part `number` of `upload_id` is kept, in the upload's bucket.
pub fn part_key(upload_id: Uuid, number: u32) -> String {
    format!("{}{number:05}", parts_folder(upload_id))
}

fn parts_folder(upload_id: Uuid) -> String {
    format!("{RESERVED_PREFIX}uploads/{upload_id}/")
}

/// Starts an upload of `key` in `bucket`, to be stored with `meta`.
pub async fn initiate(
    services: &Services,
    who: &AccessKey,
    location: (&str, &str),
    meta: ObjectMeta,
) -> Result<MultipartUpload, MultipartError> {
    let (bucket, key) = location;
    who.require(bucket, Permission::Write)?;
    validate_client_key(key)?;
    meta.check()?;
    begin(services, who, bucket, key.to_string(), meta).await
}

/// Records a new upload of `key` (checked by the caller).
async fn begin(
    services: &Services,
    who: &AccessKey,
    bucket: &str,
    key: String,
    meta: ObjectMeta,
) -> Result<MultipartUpload, MultipartError> {
    let upload = MultipartUpload {
        upload_id: Uuid::now_v7(),
        bucket: bucket.to_string(),
        key,
        meta,
        initiated_at: Utc::now(),
    };
    services
        .ledger
        .insert_upload(&upload, &who.access_key)
        .await?;
    Ok(upload)
}

/// The upload `upload_id` of `bucket/key`, for a key that may write there.
pub async fn find(
    services: &Services,
    who: &AccessKey,
    location: (&str, &str),
    upload_id: &str,
) -> Result<MultipartUpload, MultipartError> {
    let (bucket, key) = location;
    who.require(bucket, Permission::Write)?;
    let id = Uuid::parse_str(upload_id).map_err(|_| MultipartError::NoSuchUpload)?;
    match services.ledger.upload(id).await? {
        Some(upload) if upload.bucket == bucket && upload.key == key => Ok(upload),
        _ => Err(MultipartError::NoSuchUpload),
    }
}

/// A part's number, checked.
pub fn part_number(text: &str) -> Result<u32, MultipartError> {
    match text.parse::<u32>() {
        Ok(number) if (1..=MAX_PARTS).contains(&number) => Ok(number),
        _ => Err(MultipartError::InvalidPartNumber(text.to_string())),
    }
}

/// Streams `body` into part `number` of `upload` (replacing an earlier one of that number)
/// and records it. A body whose MD5 is not `expected_md5` is refused before it replaces
/// anything (an earlier part of that number stays).
pub async fn put_part(
    services: &Services,
    upload: &MultipartUpload,
    number: u32,
    body: ByteStream,
    expected_md5: Option<[u8; 16]>,
) -> Result<Part, MultipartError> {
    let key = part_key(upload.upload_id, number);
    let stored = match services
        .buckets
        .put_stream(&upload.bucket, &key, body, expected_md5)
        .await
    {
        Err(StoreError::Digest { .. }) => return Err(MultipartError::Digest),
        other => other?,
    };
    let part = Part {
        number,
        size: stored.size,
        md5: stored.digests.md5,
        crc64: stored.digests.crc64,
        uploaded_at: Utc::now(),
    };
    services.ledger.record_part(upload.upload_id, &part).await?;
    Ok(part)
}

/// The parts a completion names (`asked`: numbers and ETags, quoted or not), in order, or
/// every part uploaded when it names none (OSS `x-oss-complete-all`).
pub fn chosen_parts(
    uploaded: &[Part],
    asked: Option<&[(u32, String)]>,
) -> Result<Vec<Part>, MultipartError> {
    let Some(asked) = asked else {
        if uploaded.is_empty() {
            return Err(MultipartError::InvalidPart("no part was uploaded".into()));
        }
        let mut all = uploaded.to_vec();
        all.sort_by_key(|part| part.number);
        return check_sizes(all);
    };
    if asked.is_empty() {
        return Err(MultipartError::InvalidPart(
            "the completion names no part".into(),
        ));
    }
    if asked.windows(2).any(|pair| pair[0].0 >= pair[1].0) {
        return Err(MultipartError::InvalidPartOrder);
    }
    let mut chosen = Vec::with_capacity(asked.len());
    for (number, etag) in asked {
        let etag = etag.trim().trim_matches('"');
        match uploaded.iter().find(|part| part.number == *number) {
            Some(part) if part.etag().eq_ignore_ascii_case(etag) => chosen.push(part.clone()),
            _ => {
                return Err(MultipartError::InvalidPart(format!(
                    "part {number} with ETag {etag} was not uploaded"
                )))
            }
        }
    }
    check_sizes(chosen)
}

fn check_sizes(parts: Vec<Part>) -> Result<Vec<Part>, MultipartError> {
    let last = parts.len().saturating_sub(1);
    match parts
        .iter()
        .take(last)
        .find(|part| part.size < MIN_PART_SIZE)
    {
        Some(part) => Err(MultipartError::TooSmall {
            number: part.number,
            size: part.size,
        }),
        None => Ok(parts),
    }
}

/// The MD5 OSS's multipart ETag spells: of the parts' MD5s, one after the other.
pub fn multipart_md5(parts: &[Part]) -> [u8; 16] {
    let mut md5 = Md5::new();
    for part in parts {
        md5.update(part.md5);
    }
    md5.finalize().into()
}

/// What a completion made.
#[derive(Debug, Clone)]
pub struct Completed {
    pub record: ObjectRecord,
    /// The job of the bucket's upload rules that match the key, if any.
    pub job: Option<Uuid>,
}

/// Completes `upload` from the parts `asked` names (all of them when `None`).
pub async fn complete(
    services: &Services,
    who: &AccessKey,
    upload: &MultipartUpload,
    asked: Option<&[(u32, String)]>,
) -> Result<Completed, MultipartError> {
    let uploaded = services.ledger.parts(upload.upload_id).await?;
    let parts = chosen_parts(&uploaded, asked)?;
    let body = parts_stream(services, upload, &parts).await?;
    let stored = services
        .buckets
        .put_stream(&upload.bucket, &upload.key, body, None)
        .await?;
    let mut record = ObjectRecord::of_stored(&stored, &upload.key, upload.meta.clone(), &[]);
    record.etag_md5 = multipart_md5(&parts);
    record.parts = Some(u32::try_from(parts.len()).unwrap_or(MAX_PARTS));
    services
        .ledger
        .record_object(&upload.bucket, &upload.key, &record)
        .await?;
    discard(services, upload).await?;
    let job = crate::upload::start_rules(services, who, &upload.bucket, &upload.key).await?;
    Ok(Completed { record, job })
}

/// The parts' bytes, one part after the other, each read when the one before is done.
async fn parts_stream(
    services: &Services,
    upload: &MultipartUpload,
    parts: &[Part],
) -> Result<ByteStream, MultipartError> {
    let keys: Vec<String> = (parts.iter())
        .map(|part| part_key(upload.upload_id, part.number))
        .collect();
    stored_stream(services, &upload.bucket, &keys).await
}

/// The bytes of the objects `keys` of `bucket`, one after the other (parts, blocks), each
/// opened now (so that a missing one fails here) and read when the one before is done.
pub async fn stored_stream(
    services: &Services,
    bucket: &str,
    keys: &[String],
) -> Result<ByteStream, MultipartError> {
    let mut readers = Vec::with_capacity(keys.len());
    for key in keys {
        match services.buckets.open(bucket, key).await? {
            Some(reader) => readers.push(reader),
            None => {
                return Err(MultipartError::InvalidPart(format!(
                    "{key} is no longer stored"
                )))
            }
        }
    }
    Ok(futures::stream::iter(readers)
        .flat_map(|reader| reader.stream(None))
        .boxed())
}

/// Starts an upload whose key is not known yet (a Qiniu resumable upload, block or object,
/// that names no key): it is kept under `placeholder` in the reserved namespace, out of OSS
/// listings, until its completion names the key.
pub async fn initiate_unnamed(
    services: &Services,
    who: &AccessKey,
    bucket: &str,
    placeholder: &str,
) -> Result<MultipartUpload, MultipartError> {
    who.require(bucket, Permission::Write)?;
    let key = format!("{RESERVED_PREFIX}{placeholder}");
    begin(services, who, bucket, key, ObjectMeta::default()).await
}

/// Aborts `upload`: its parts are deleted and it is forgotten.
pub async fn abort(services: &Services, upload: &MultipartUpload) -> Result<(), MultipartError> {
    discard(services, upload).await
}

/// Deletes the parts of `upload` and forgets it (after a completion, or an abort).
pub async fn discard(services: &Services, upload: &MultipartUpload) -> Result<(), MultipartError> {
    services.ledger.delete_upload(upload.upload_id).await?;
    let folder = parts_folder(upload.upload_id);
    let folder = folder.trim_end_matches('/');
    services
        .buckets
        .delete_folder_files(&upload.bucket, folder)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn part(number: u32, size: u64) -> Part {
        Part {
            number,
            size,
            md5: [number as u8; 16],
            crc64: 0,
            uploaded_at: Utc::now(),
        }
    }

    fn asked(parts: &[(u32, u8)]) -> Vec<(u32, String)> {
        (parts.iter())
            .map(|(number, md5)| (*number, format!("\"{}\"", hex::encode_upper([*md5; 16]))))
            .collect()
    }

    #[test]
    fn a_completion_names_uploaded_parts_in_order_with_their_etags() {
        let big = MIN_PART_SIZE;
        let uploaded = vec![part(1, big), part(2, big), part(3, 10), part(5, 1)];
        let numbers = |parts: Vec<Part>| parts.iter().map(|p| p.number).collect::<Vec<_>>();
        let ok = |list: &[(u32, u8)]| chosen_parts(&uploaded, Some(&asked(list))).map(numbers);
        assert_eq!(ok(&[(1, 1), (2, 2), (3, 3)]).unwrap(), vec![1, 2, 3]);
        // Parts may be skipped; the ETag's case and quotes do not matter.
        assert_eq!(ok(&[(1, 1), (5, 5)]).unwrap(), vec![1, 5]);
        let lower = vec![(1, hex::encode([1u8; 16]))];
        assert!(chosen_parts(&uploaded, Some(&lower)).is_ok());
        let refused = |list: &[(u32, u8)]| ok(list).unwrap_err();
        assert!(matches!(
            refused(&[(2, 2), (1, 1)]),
            MultipartError::InvalidPartOrder
        ));
        assert!(matches!(
            refused(&[(1, 1), (1, 1)]),
            MultipartError::InvalidPartOrder
        ));
        assert!(matches!(
            refused(&[(1, 1), (4, 4)]),
            MultipartError::InvalidPart(_)
        ));
        assert!(matches!(refused(&[(1, 2)]), MultipartError::InvalidPart(_)));
        assert!(matches!(refused(&[]), MultipartError::InvalidPart(_)));
        // Only the last part may be small.
        assert!(matches!(
            refused(&[(3, 3), (5, 5)]),
            MultipartError::TooSmall {
                number: 3,
                size: 10
            }
        ));
        // Completing every part: in number order, sizes checked too.
        assert!(matches!(
            chosen_parts(&uploaded, None),
            Err(MultipartError::TooSmall { number: 3, .. })
        ));
        let all = chosen_parts(&[part(2, 1), part(1, big)], None).map(numbers);
        assert_eq!(all.unwrap(), vec![1, 2]);
        assert!(chosen_parts(&[], None).is_err());
    }

    #[test]
    fn part_numbers_run_from_1_to_10000() {
        assert_eq!(part_number("1").unwrap(), 1);
        assert_eq!(part_number("10000").unwrap(), 10_000);
        for bad in ["0", "10001", "-1", "x", ""] {
            assert!(part_number(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_multipart_md5_is_of_the_parts_md5s() {
        // md5(md5("a") || md5("b")), as S3 and OSS compute it.
        let digest = |data: &[u8]| -> [u8; 16] { Md5::digest(data).into() };
        let mut a = part(1, 1);
        a.md5 = digest(b"a");
        let mut b = part(2, 1);
        b.md5 = digest(b"b");
        let mut both = Vec::new();
        both.extend_from_slice(&a.md5);
        both.extend_from_slice(&b.md5);
        assert_eq!(multipart_md5(&[a, b]), digest(&both));
    }

    #[test]
    fn parts_live_in_the_reserved_namespace_in_number_order() {
        let id = Uuid::nil();
        let key = part_key(id, 7);
        assert!(key.starts_with(RESERVED_PREFIX));
        assert!(part_key(id, 10) > part_key(id, 9));
    }
}
