//! Styles: named processing strings of a bucket (OSS "图片样式"), which `style/<name>` in
//! either language expands to.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::buckets::validate_bucket;
use crate::error::{CatalogError, LedgerError, SubmitError};
use crate::ledger::Ledger;

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

/// Checks where a style goes: the bucket's name and the style's.
pub fn check_style_name(bucket: &str, name: &str) -> Result<(), SubmitError> {
    validate_bucket(bucket)?;
    if valid_style_name(name) {
        Ok(())
    } else {
        Err(SubmitError::BadRequest(format!(
            "style name {name:?}: 1-63 letters, digits, '_', '-', '.'"
        )))
    }
}

/// Checks a style's processing string: image actions of the OSS language only, with no `|`
/// parts (no saveas, no nested style).
pub fn check_style_body(process: &str) -> Result<(), SubmitError> {
    if !process.starts_with("image/") || process.contains('|') {
        return Err(SubmitError::BadRequest(
            "a style is an image/... processing string without '|' parts".into(),
        ));
    }
    pipeline::parse::oss::parse_process(process, &pipeline::NoStyles)
        .map(|_| ())
        .map_err(|source| SubmitError::Pipeline { index: 0, source })
}

/// A style as stored, and whether storing it created it (rather than replaced it).
#[derive(Debug, Clone)]
pub struct SavedStyle {
    pub style: Style,
    pub created: bool,
}

/// Checks, then creates or replaces a style, keeping to the per-bucket limit.
pub async fn save_style(
    ledger: &Ledger,
    bucket: &str,
    name: &str,
    process: &str,
) -> Result<SavedStyle, CatalogError> {
    check_style_name(bucket, name)?;
    check_style_body(process)?;
    let created = match ledger.put_style(bucket, name, process).await? {
        StylePut::Created => true,
        StylePut::Replaced => false,
        StylePut::LimitReached => {
            return Err(CatalogError::TooManyStyles {
                bucket: bucket.to_string(),
                limit: MAX_STYLES_PER_BUCKET,
            })
        }
    };
    let style = find_style(ledger, bucket, name).await?;
    Ok(SavedStyle { style, created })
}

pub async fn find_style(ledger: &Ledger, bucket: &str, name: &str) -> Result<Style, CatalogError> {
    (ledger.style(bucket, name).await?).ok_or_else(|| CatalogError::NoSuchStyle(name.to_string()))
}

pub async fn remove_style(ledger: &Ledger, bucket: &str, name: &str) -> Result<(), CatalogError> {
    if ledger.delete_style(bucket, name).await? {
        Ok(())
    } else {
        Err(CatalogError::NoSuchStyle(name.to_string()))
    }
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
