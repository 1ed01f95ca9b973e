//! Object records (see [`crate::objects`]): one row per object Ferrotype wrote or has
//! described, keyed by bucket and key.

use std::collections::{BTreeMap, HashMap};

use sqlx::types::Json;

use super::Ledger;
use crate::error::LedgerError;
use crate::objects::ObjectRecord;

type Meta = BTreeMap<String, String>;

#[derive(sqlx::FromRow)]
struct RecordRow {
    version: String,
    size: i64,
    content_type: String,
    headers: Json<Meta>,
    user_meta: Json<Meta>,
    md5: Vec<u8>,
    crc64: String,
    qiniu_hash: String,
    parts: Option<i32>,
}

#[derive(sqlx::FromRow)]
struct KeyedRecordRow {
    key: String,
    #[sqlx(flatten)]
    record: RecordRow,
}

// A constant column list: the statements built from it take every value as a parameter.
const RECORD_COLUMNS: &str =
    "version, size, content_type, headers, user_meta, md5, crc64, qiniu_hash, parts";

impl Ledger {
    /// Records what is known of `bucket/key`, replacing an earlier record.
    pub async fn record_object(
        &self,
        bucket: &str,
        key: &str,
        record: &ObjectRecord,
    ) -> Result<(), LedgerError> {
        sqlx::query(
            "INSERT INTO object_records (bucket, key, version, size, content_type, headers, \
             user_meta, md5, crc64, qiniu_hash, parts, written_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, now()) \
             ON CONFLICT (bucket, key) DO UPDATE SET version = $3, size = $4, \
             content_type = $5, headers = $6, user_meta = $7, md5 = $8, crc64 = $9, \
             qiniu_hash = $10, parts = $11, written_at = now()",
        )
        .bind(bucket)
        .bind(key)
        .bind(&record.version)
        .bind(i64::try_from(record.size).unwrap_or(i64::MAX))
        .bind(&record.content_type)
        .bind(Json(&record.headers))
        .bind(Json(&record.user_meta))
        .bind(record.etag_md5.as_slice())
        .bind(record.crc64.to_string())
        .bind(&record.qiniu_hash)
        .bind(
            record
                .parts
                .map(|parts| i32::try_from(parts).unwrap_or(i32::MAX)),
        )
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The record of `bucket/key`, whatever version it describes.
    pub async fn object_record(
        &self,
        bucket: &str,
        key: &str,
    ) -> Result<Option<ObjectRecord>, LedgerError> {
        let query =
            format!("SELECT {RECORD_COLUMNS} FROM object_records WHERE bucket = $1 AND key = $2");
        let row: Option<RecordRow> = sqlx::query_as(sqlx::AssertSqlSafe(query))
            .bind(bucket)
            .bind(key)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.and_then(record_of))
    }

    /// The records of those of `keys` in `bucket` that have one, by key.
    pub async fn object_records(
        &self,
        bucket: &str,
        keys: &[String],
    ) -> Result<HashMap<String, ObjectRecord>, LedgerError> {
        let query = format!(
            "SELECT key, {RECORD_COLUMNS} FROM object_records WHERE bucket = $1 AND key = ANY($2)"
        );
        let rows: Vec<KeyedRecordRow> = sqlx::query_as(sqlx::AssertSqlSafe(query))
            .bind(bucket)
            .bind(keys)
            .fetch_all(&self.pool)
            .await?;
        Ok((rows.into_iter())
            .filter_map(|row| record_of(row.record).map(|record| (row.key, record)))
            .collect())
    }

    /// Forgets everything kept of `bucket` (it was deleted): its styles, upload rules,
    /// settings, download hosts, processed results, object records and unfinished uploads, so a
    /// bucket made again under the name starts empty, as on OSS. Jobs stay: they are history.
    pub async fn forget_bucket(&self, bucket: &str) -> Result<(), LedgerError> {
        // Constant table names; the bucket is a parameter. Parts go with their uploads.
        const TABLES: [&str; 7] = [
            "styles",
            "upload_rules",
            "bucket_settings",
            "download_hosts",
            "derived_results",
            "object_records",
            "multipart_uploads",
        ];
        let mut transaction = self.pool.begin().await?;
        for table in TABLES {
            let statement = format!("DELETE FROM {table} WHERE bucket = $1");
            sqlx::query(sqlx::AssertSqlSafe(statement))
                .bind(bucket)
                .execute(&mut *transaction)
                .await?;
        }
        transaction.commit().await?;
        Ok(())
    }

    /// Forgets the record of `bucket/key` (the object was deleted).
    pub async fn forget_object(&self, bucket: &str, key: &str) -> Result<(), LedgerError> {
        sqlx::query("DELETE FROM object_records WHERE bucket = $1 AND key = $2")
            .bind(bucket)
            .bind(key)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

/// A row as a record; `None` for one no writer of this code could have made (it is then
/// derived again from the bytes).
fn record_of(row: RecordRow) -> Option<ObjectRecord> {
    Some(ObjectRecord {
        version: row.version,
        size: u64::try_from(row.size).ok()?,
        content_type: row.content_type,
        headers: row.headers.0,
        user_meta: row.user_meta.0,
        etag_md5: row.md5.try_into().ok()?,
        crc64: row.crc64.parse().ok()?,
        qiniu_hash: row.qiniu_hash,
        parts: row.parts.and_then(|parts| u32::try_from(parts).ok()),
    })
}
