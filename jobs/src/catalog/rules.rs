//! Upload rules: an upload whose key matches a rule's prefix and suffix starts a job of the
//! rule's commands (see `crate::upload`).

use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use crate::buckets::validate_bucket;
use crate::error::{CatalogError, LedgerError, SubmitError};
use crate::ledger::Ledger;
use crate::model::Dialect;
use crate::submit::{parse_nth_command, CommandText, MAX_COMMANDS};

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

/// Checks, then records an upload rule. Its commands are parsed now, against the bucket's
/// styles, so a broken rule is refused here rather than failing every upload.
pub async fn create_rule(ledger: &Ledger, rule: NewUploadRule) -> Result<UploadRule, CatalogError> {
    validate_bucket(&rule.bucket).map_err(SubmitError::from)?;
    if rule.commands.is_empty() || rule.commands.len() > MAX_COMMANDS {
        return Err(
            SubmitError::BadRequest(format!("a rule holds 1 to {MAX_COMMANDS} commands")).into(),
        );
    }
    let styles = ledger.style_map(&rule.bucket).await?;
    for (index, text) in rule.commands.iter().enumerate() {
        let command = CommandText {
            text: text.clone(),
            dialect: rule.dialect,
        };
        parse_nth_command(index, &command, &styles)?;
    }
    let rule = NewUploadRule {
        notify_url: rule.notify_url.filter(|url| !url.is_empty()),
        ..rule
    };
    Ok(ledger.insert_upload_rule(&rule).await?)
}

/// Removes the rule `id` (as the client wrote it) of `bucket`.
pub async fn remove_rule(ledger: &Ledger, bucket: &str, id: &str) -> Result<(), CatalogError> {
    let no_such_rule = || CatalogError::NoSuchRule(id.to_string());
    let uuid = Uuid::parse_str(id).map_err(|_| no_such_rule())?;
    if ledger.delete_upload_rule(bucket, uuid).await? {
        Ok(())
    } else {
        Err(no_such_rule())
    }
}

impl Ledger {
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
