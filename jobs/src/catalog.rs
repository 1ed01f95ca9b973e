//! Per-bucket configuration kept in the ledger: styles (named pipelines, OSS "图片样式") and
//! upload rules (uploads whose key matches start a job).

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use crate::error::LedgerError;
use crate::ledger::Ledger;
use crate::model::Dialect;

/// Most styles one bucket may hold (OSS document 2.8).
pub const MAX_STYLES_PER_BUCKET: i64 = 50;

/// Style names: 1-63 letters, digits, `_`, `-`, `.`. The OSS console allows 64; the
/// processing language's `style/<name>` (document 2.2) 63, and a style that cannot be named
/// in a request is useless, so 63 it is.
pub fn valid_style_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 63
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Style {
    pub bucket: String,
    pub name: String,
    pub body: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// What `put_style` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StylePut {
    Created,
    Replaced,
    /// The bucket already has [`MAX_STYLES_PER_BUCKET`] styles.
    LimitReached,
}

#[derive(Debug, Clone, Serialize)]
pub struct UploadRule {
    pub id: Uuid,
    pub bucket: String,
    pub prefix: String,
    pub suffix: String,
    pub commands: Vec<String>,
    pub dialect: Dialect,
    pub notify_url: Option<String>,
    pub created_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct RuleRow {
    id: Uuid,
    bucket: String,
    prefix: String,
    suffix: String,
    commands: Vec<String>,
    dialect: String,
    notify_url: Option<String>,
    created_at: DateTime<Utc>,
}

impl From<RuleRow> for UploadRule {
    fn from(row: RuleRow) -> Self {
        UploadRule {
            id: row.id,
            bucket: row.bucket,
            prefix: row.prefix,
            suffix: row.suffix,
            commands: row.commands,
            dialect: Dialect::parse(&row.dialect).unwrap_or(Dialect::Oss),
            notify_url: row.notify_url,
            created_at: row.created_at,
        }
    }
}

impl UploadRule {
    pub fn matches(&self, key: &str) -> bool {
        key.starts_with(&self.prefix) && key.ends_with(&self.suffix)
    }
}

/// A rule to record.
#[derive(Debug, Clone)]
pub struct NewUploadRule {
    pub bucket: String,
    pub prefix: String,
    pub suffix: String,
    pub commands: Vec<String>,
    pub dialect: Dialect,
    pub notify_url: Option<String>,
    pub created_by: Option<String>,
}

impl Ledger {
    /// The bucket's styles, name to processing string: what `style/<name>` resolves against.
    pub async fn style_map(&self, bucket: &str) -> Result<HashMap<String, String>, LedgerError> {
        let rows: Vec<(String, String)> =
            sqlx::query_as("SELECT name, body FROM styles WHERE bucket = $1")
                .bind(bucket)
                .fetch_all(self.pool())
                .await?;
        Ok(rows.into_iter().collect())
    }

    pub async fn styles(&self, bucket: &str) -> Result<Vec<Style>, LedgerError> {
        Ok(sqlx::query_as(
            "SELECT bucket, name, body, created_at, updated_at FROM styles \
             WHERE bucket = $1 ORDER BY name",
        )
        .bind(bucket)
        .fetch_all(self.pool())
        .await?)
    }

    pub async fn style(&self, bucket: &str, name: &str) -> Result<Option<Style>, LedgerError> {
        Ok(sqlx::query_as(
            "SELECT bucket, name, body, created_at, updated_at FROM styles \
             WHERE bucket = $1 AND name = $2",
        )
        .bind(bucket)
        .bind(name)
        .fetch_optional(self.pool())
        .await?)
    }

    /// Creates or replaces a style, keeping to the per-bucket limit. The bucket's rows are
    /// locked while counting so two concurrent creations cannot both pass the limit.
    pub async fn put_style(
        &self,
        bucket: &str,
        name: &str,
        body: &str,
    ) -> Result<StylePut, LedgerError> {
        let mut tx = self.pool().begin().await?;
        sqlx::query("SELECT pg_advisory_xact_lock(hashtext('styles:' || $1))")
            .bind(bucket)
            .execute(&mut *tx)
            .await?;
        let replaced = sqlx::query(
            "UPDATE styles SET body = $3, updated_at = now() WHERE bucket = $1 AND name = $2",
        )
        .bind(bucket)
        .bind(name)
        .bind(body)
        .execute(&mut *tx)
        .await?;
        if replaced.rows_affected() == 1 {
            tx.commit().await?;
            return Ok(StylePut::Replaced);
        }
        let (count,): (i64,) = sqlx::query_as("SELECT count(*) FROM styles WHERE bucket = $1")
            .bind(bucket)
            .fetch_one(&mut *tx)
            .await?;
        if count >= MAX_STYLES_PER_BUCKET {
            return Ok(StylePut::LimitReached);
        }
        sqlx::query("INSERT INTO styles (bucket, name, body) VALUES ($1, $2, $3)")
            .bind(bucket)
            .bind(name)
            .bind(body)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(StylePut::Created)
    }

    pub async fn delete_style(&self, bucket: &str, name: &str) -> Result<bool, LedgerError> {
        let done = sqlx::query("DELETE FROM styles WHERE bucket = $1 AND name = $2")
            .bind(bucket)
            .bind(name)
            .execute(self.pool())
            .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn insert_upload_rule(
        &self,
        rule: &NewUploadRule,
    ) -> Result<UploadRule, LedgerError> {
        let row: RuleRow = sqlx::query_as(
            "INSERT INTO upload_rules (id, bucket, prefix, suffix, commands, dialect, notify_url, \
             created_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
             RETURNING id, bucket, prefix, suffix, commands, dialect, notify_url, created_at",
        )
        .bind(Uuid::now_v7())
        .bind(&rule.bucket)
        .bind(&rule.prefix)
        .bind(&rule.suffix)
        .bind(&rule.commands)
        .bind(rule.dialect.as_str())
        .bind(&rule.notify_url)
        .bind(&rule.created_by)
        .fetch_one(self.pool())
        .await?;
        Ok(row.into())
    }

    pub async fn upload_rules(&self, bucket: &str) -> Result<Vec<UploadRule>, LedgerError> {
        let rows: Vec<RuleRow> = sqlx::query_as(
            "SELECT id, bucket, prefix, suffix, commands, dialect, notify_url, created_at \
             FROM upload_rules WHERE bucket = $1 ORDER BY created_at, id",
        )
        .bind(bucket)
        .fetch_all(self.pool())
        .await?;
        Ok(rows.into_iter().map(UploadRule::from).collect())
    }

    pub async fn delete_upload_rule(&self, bucket: &str, id: Uuid) -> Result<bool, LedgerError> {
        let done = sqlx::query("DELETE FROM upload_rules WHERE bucket = $1 AND id = $2")
            .bind(bucket)
            .bind(id)
            .execute(self.pool())
            .await?;
        Ok(done.rows_affected() == 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn style_names() {
        assert!(valid_style_name("thumb_200-v1.jpg"));
        assert!(!valid_style_name(""));
        assert!(!valid_style_name("a/b"));
        assert!(!valid_style_name(&"a".repeat(64)));
    }
}
