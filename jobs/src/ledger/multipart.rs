//! Multipart uploads in progress and their parts (see [`crate::multipart`]).

use chrono::{DateTime, Utc};
use sqlx::types::Json;
use uuid::Uuid;

use super::Ledger;
use crate::error::LedgerError;
use crate::multipart::{MultipartUpload, Part};
use crate::objects::ObjectMeta;

type UploadRow = (Uuid, String, String, Json<ObjectMeta>, DateTime<Utc>);
type PartRow = (i32, i64, Vec<u8>, String, DateTime<Utc>);

/// Where a listing of uploads starts: after this key, and within it after this upload id.
#[derive(Debug, Clone, Default)]
pub struct UploadsAfter {
    pub key: String,
    pub upload_id: Option<Uuid>,
}

impl Ledger {
    pub async fn insert_upload(
        &self,
        upload: &MultipartUpload,
        initiated_by: &str,
    ) -> Result<(), LedgerError> {
        sqlx::query(
            "INSERT INTO multipart_uploads (upload_id, bucket, key, meta, initiated_by, \
             initiated_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(upload.upload_id)
        .bind(&upload.bucket)
        .bind(&upload.key)
        .bind(Json(&upload.meta))
        .bind(initiated_by)
        .bind(upload.initiated_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn upload(&self, upload_id: Uuid) -> Result<Option<MultipartUpload>, LedgerError> {
        let row: Option<UploadRow> = sqlx::query_as(
            "SELECT upload_id, bucket, key, meta, initiated_at FROM multipart_uploads \
             WHERE upload_id = $1",
        )
        .bind(upload_id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(upload_of))
    }

    /// At most `limit` uploads of `bucket` whose key starts with `prefix`, after `after`, in
    /// key then upload-id (initiation) order; uploads not named yet (under the reserved
    /// namespace) are not listed.
    pub async fn uploads(
        &self,
        bucket: &str,
        prefix: &str,
        after: &UploadsAfter,
        limit: i64,
    ) -> Result<Vec<MultipartUpload>, LedgerError> {
        let rows: Vec<UploadRow> = sqlx::query_as(
            "SELECT upload_id, bucket, key, meta, initiated_at FROM multipart_uploads \
             WHERE bucket = $1 AND starts_with(key, $2) AND NOT starts_with(key, $6) \
             AND (key COLLATE \"C\" > $3 OR (key = $3 AND $4::uuid IS NOT NULL AND upload_id > $4)) \
             ORDER BY key COLLATE \"C\", upload_id LIMIT $5",
        )
        .bind(bucket)
        .bind(prefix)
        .bind(&after.key)
        .bind(after.upload_id)
        .bind(limit)
        .bind(crate::buckets::RESERVED_PREFIX)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(upload_of).collect())
    }

    /// Records a part, replacing an earlier one of the same number.
    pub async fn record_part(&self, upload_id: Uuid, part: &Part) -> Result<(), LedgerError> {
        sqlx::query(
            "INSERT INTO multipart_parts (upload_id, part_number, size, md5, crc64, uploaded_at) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (upload_id, part_number) DO UPDATE \
             SET size = $3, md5 = $4, crc64 = $5, uploaded_at = $6",
        )
        .bind(upload_id)
        .bind(i32::try_from(part.number).unwrap_or(i32::MAX))
        .bind(i64::try_from(part.size).unwrap_or(i64::MAX))
        .bind(part.md5.as_slice())
        .bind(part.crc64.to_string())
        .bind(part.uploaded_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Every part of the upload, in number order.
    pub async fn parts(&self, upload_id: Uuid) -> Result<Vec<Part>, LedgerError> {
        let rows: Vec<PartRow> = sqlx::query_as(
            "SELECT part_number, size, md5, crc64, uploaded_at FROM multipart_parts \
             WHERE upload_id = $1 ORDER BY part_number",
        )
        .bind(upload_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().filter_map(part_of).collect())
    }

    /// Forgets an upload and its parts.
    pub async fn delete_upload(&self, upload_id: Uuid) -> Result<(), LedgerError> {
        sqlx::query("DELETE FROM multipart_uploads WHERE upload_id = $1")
            .bind(upload_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

fn upload_of(row: UploadRow) -> MultipartUpload {
    let (upload_id, bucket, key, meta, initiated_at) = row;
    MultipartUpload {
        upload_id,
        bucket,
        key,
        meta: meta.0,
        initiated_at,
    }
}

/// A row as a part; `None` for one no writer of this code could have made.
fn part_of(row: PartRow) -> Option<Part> {
    let (number, size, md5, crc64, uploaded_at) = row;
    Some(Part {
        number: u32::try_from(number).ok()?,
        size: u64::try_from(size).ok()?,
        md5: md5.try_into().ok()?,
        crc64: crc64.parse().ok()?,
        uploaded_at,
    })
}
