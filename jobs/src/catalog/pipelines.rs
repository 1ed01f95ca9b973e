//! Named pipelines: the queues of the configuration (`pipelines`), and those created at run
//! time ([`create_pipeline`]) and kept in the ledger. A job may name any of them; a created
//! one is declared on the broker when it is created (and whenever a process connects), and
//! each worker starts consuming it within [`WATCH_INTERVAL`] of its creation. Creating and
//! removing one takes a key with write on every bucket (`*:rw`): pipelines are the
//! deployment's, not a bucket's.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::config::valid_pipeline_name;
use crate::error::{CatalogError, LedgerError, SubmitError};
use crate::ledger::AccessKey;
use crate::{Ledger, Services};

/// How often a worker looks for pipelines created since it last looked.
pub const WATCH_INTERVAL: Duration = Duration::from_secs(2);

/// Where a pipeline comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Origin {
    /// The configuration's `pipelines`: removed only by changing it.
    Config,
    /// Created at run time.
    Created,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PipelineInfo {
    pub name: String,
    pub origin: Origin,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_at: Option<DateTime<Utc>>,
}

/// Whether `who` may create and remove pipelines: write on every bucket.
fn require_admin(who: &AccessKey) -> Result<(), CatalogError> {
    let admin = (who.grants.iter()).any(|grant| grant.bucket == "*" && grant.can_write);
    if admin {
        return Ok(());
    }
    Err(CatalogError::Denied(crate::error::Denied {
        access_key: who.access_key.clone(),
        bucket: "*".into(),
        permission: "write",
    }))
}

/// Every pipeline: the configuration's, then the created ones, by name.
pub async fn list_pipelines(services: &Services) -> Result<Vec<PipelineInfo>, CatalogError> {
    let configured = (services.config.pipelines.iter()).map(|name| PipelineInfo {
        name: name.clone(),
        origin: Origin::Config,
        created_at: None,
    });
    let created = (services.ledger.created_pipelines().await?.into_iter())
        .filter(|(name, _)| !services.config.pipelines.contains(name))
        .map(|(name, created_at)| PipelineInfo {
            name,
            origin: Origin::Created,
            created_at: Some(created_at),
        });
    Ok(configured.chain(created).collect())
}

/// Whether a job may name `name`.
pub async fn pipeline_exists(services: &Services, name: &str) -> Result<bool, LedgerError> {
    if services.config.pipelines.iter().any(|p| p == name) {
        return Ok(true);
    }
    services.ledger.pipeline_exists(name).await
}

/// Creates a pipeline (its queue declared on the broker first); `false` when it existed.
pub async fn create_pipeline(
    services: &Services,
    who: &AccessKey,
    name: &str,
) -> Result<bool, CatalogError> {
    require_admin(who)?;
    if !valid_pipeline_name(name) {
        return Err(SubmitError::BadRequest(format!(
            "invalid pipeline name {name:?}: 1 to 64 letters, digits, '-', '_' and '.'"
        ))
        .into());
    }
    if pipeline_exists(services, name).await? {
        return Ok(false);
    }
    services.queue.declare_pipeline(name).await?;
    Ok(services
        .ledger
        .insert_pipeline(name, &who.access_key)
        .await?)
}

/// Removes a created pipeline: jobs may no longer name it (those queued still run). A
/// pipeline of the configuration cannot be removed here.
pub async fn remove_pipeline(
    services: &Services,
    who: &AccessKey,
    name: &str,
) -> Result<(), CatalogError> {
    require_admin(who)?;
    if services.config.pipelines.iter().any(|p| p == name) {
        return Err(SubmitError::BadRequest(format!(
            "pipeline {name:?} is the configuration's: remove it there"
        ))
        .into());
    }
    match services.ledger.delete_pipeline(name).await? {
        true => Ok(()),
        false => Err(SubmitError::NoSuchPipeline(name.to_string()).into()),
    }
}

impl Ledger {
    /// The created pipelines and when, by name.
    pub async fn created_pipelines(&self) -> Result<Vec<(String, DateTime<Utc>)>, LedgerError> {
        Ok(
            sqlx::query_as("SELECT name, created_at FROM pipelines ORDER BY name")
                .fetch_all(self.pool())
                .await?,
        )
    }

    pub async fn pipeline_exists(&self, name: &str) -> Result<bool, LedgerError> {
        let row: Option<(String,)> = sqlx::query_as("SELECT name FROM pipelines WHERE name = $1")
            .bind(name)
            .fetch_optional(self.pool())
            .await?;
        Ok(row.is_some())
    }

    /// `false` when it existed already.
    pub async fn insert_pipeline(&self, name: &str, created_by: &str) -> Result<bool, LedgerError> {
        let done = sqlx::query(
            "INSERT INTO pipelines (name, created_by) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        )
        .bind(name)
        .bind(created_by)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn delete_pipeline(&self, name: &str) -> Result<bool, LedgerError> {
        let done = sqlx::query("DELETE FROM pipelines WHERE name = $1")
            .bind(name)
            .execute(self.pool())
            .await?;
        Ok(done.rows_affected() == 1)
    }
}
