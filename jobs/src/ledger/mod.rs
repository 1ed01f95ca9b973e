//! The job ledger in Postgres: the single source of truth about every job.
//!
//! Every state change is a conditional `UPDATE`, so that duplicate or late messages, two
//! workers racing for one job, or a sweeper running in several processes can never double a
//! job or resurrect a finished one.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::migrate::MigrateDatabase;
use sqlx::postgres::PgPoolOptions;
use sqlx::{PgPool, Postgres};
use uuid::Uuid;

use crate::code::FailureCode;
use crate::error::LedgerError;
use crate::model::{Dialect, ItemRow, Job, JobRow, NotifyFormat, Status};
use crate::watch::CHANNEL;

mod derived;
mod insert;
pub mod keys;
mod lease;
mod multipart;
mod objects;

pub use derived::{DerivedJob, ResultLocation};
pub use lease::{ClaimedJob, Lease};
pub use multipart::UploadsAfter;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations");

// The statuses as the SQL spells them. They are written into the statements rather than bound
// as parameters so that the planner sees them: the partial indexes (`WHERE status IN (1, 2)`,
// `WHERE status = 0`) only serve queries whose own predicate names the same values, which a
// cached generic plan over `$n` parameters does not.
const SUCCESS: i16 = Status::Success.code();
const WAITING: i16 = Status::Waiting.code();
const PROCESSING: i16 = Status::Processing.code();
const FAILED: i16 = Status::Failed.code();
const CALLBACK_FAILED: i16 = Status::CallbackFailed.code();

const JOB_COLUMNS: &str =
    "id, status, input_bucket, input_key, pipeline, job_type, force, notify_url, attempts, \
     notify_state, notify_attempts, notify_error, created_at, updated_at, finished_at, \
     notify_format, request_id";

/// The columns of `job_items` an [`ItemRow`] is read from.
const ITEM_COLUMNS: &str =
    "idx, cmd, dialect, target_bucket, target_key, status, size, hash, width, height, format, \
     error_code, error, error_index, return_old, canonical, source_hash";

/// A job to record, fully validated by the submitter.
#[derive(Debug, Clone)]
pub struct NewJob {
    pub input_bucket: String,
    pub input_key: String,
    /// The queue (a named pipeline in the vendors' words) the job is published to.
    pub queue: String,
    pub job_type: i16,
    pub force: bool,
    pub notify_url: Option<String>,
    pub submitted_by: Option<String>,
    pub notify_format: NotifyFormat,
    pub request_id: Option<String>,
    pub items: Vec<NewItem>,
}

#[derive(Debug, Clone)]
pub struct NewItem {
    pub cmd: String,
    pub dialect: Dialect,
    pub target_bucket: String,
    pub target_key: String,
    /// The parsed pipeline written back in canonical form (what `force` compares, and what
    /// the worker runs); `None` makes the worker parse `cmd` again.
    pub canonical: Option<String>,
}

/// What became of one item.
#[derive(Debug, Clone)]
pub enum ItemOutcome {
    Saved(SavedItem),
    Failed(FailedItem),
}

/// An item's result, in its target.
#[derive(Debug, Clone)]
pub struct SavedItem {
    pub size: i64,
    pub hash: String,
    pub width: u32,
    pub height: u32,
    pub format: String,
    /// The source's content hash, for reuse by a later identical command.
    pub source_hash: String,
    /// The result was not made again: an identical finished item's is reused.
    pub return_old: bool,
}

/// Why an item failed, as its row records it.
#[derive(Debug, Clone)]
pub struct FailedItem {
    pub code: FailureCode,
    pub message: String,
    /// The failing step of the item's pipeline, when one step is to blame.
    pub step: Option<usize>,
}

/// A job the sweeper must hand to the broker again.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Republish {
    pub id: Uuid,
    #[sqlx(rename = "pipeline")]
    pub queue: String,
    pub job_type: i16,
}

/// An access key with its grants.
#[derive(Debug, Clone)]
pub struct AccessKey {
    pub access_key: String,
    pub secret_key: String,
    pub grants: Vec<Grant>,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Grant {
    pub bucket: String,
    pub can_read: bool,
    pub can_write: bool,
}

#[derive(Debug, Clone)]
pub struct Ledger {
    pool: PgPool,
    /// Access keys recently read ([`keys`]).
    keys: keys::KeyCache,
}

/// Where a callback goes, as the notifier limits it: the notify URL's scheme and authority as
/// written (`http://hooks.example.com:8080`), the same prefix
/// [`Ledger::take_due_notification`]'s SQL takes (`^[^:/?#]+://[^/?#]*`); empty for none.
pub fn callback_destination(url: Option<&str>) -> String {
    let Some(url) = url else {
        return String::new();
    };
    let Some(at) = url.find("://") else {
        return String::new();
    };
    if at == 0 || url[..at].contains([':', '/', '?', '#']) {
        return String::new();
    }
    let rest = &url[at + 3..];
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    url[..at + 3 + end].to_string()
}

impl Ledger {
    /// Connects, creating the database when it is missing and applying pending migrations:
    /// every command that uses the database starts here.
    pub async fn connect(database_url: &str) -> Result<Ledger, LedgerError> {
        if !Postgres::database_exists(database_url).await? {
            // Two processes may race to create it; the loser sees "already exists".
            if let Err(error) = Postgres::create_database(database_url).await {
                if !Postgres::database_exists(database_url).await? {
                    return Err(error.into());
                }
            }
        }
        let pool = PgPoolOptions::new()
            .max_connections(16)
            // How long a statement waits for a connection before the request is answered 503.
            .acquire_timeout(Duration::from_secs(5))
            .connect(database_url)
            .await?;
        MIGRATOR.run(&pool).await?;
        Ok(Ledger {
            pool,
            keys: keys::KeyCache::default(),
        })
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    pub async fn ping(&self) -> Result<(), LedgerError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// Notes the broker's confirms of `ids` in one statement (see [`crate::marks`]).
    pub async fn mark_published_all(&self, ids: &[Uuid]) -> Result<(), LedgerError> {
        sqlx::query(
            "UPDATE jobs SET published_at = now() WHERE id = ANY($1) AND published_at IS NULL",
        )
        .bind(ids)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Notes the broker's confirm: from now on the message is the broker's to deliver.
    pub async fn mark_published(&self, id: Uuid) -> Result<(), LedgerError> {
        sqlx::query("UPDATE jobs SET published_at = now() WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn job(&self, id: Uuid) -> Result<Option<Job>, LedgerError> {
        let sql = format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = $1");
        let row: Option<JobRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        match row {
            Some(row) => {
                let items = self.items(id).await?;
                Ok(Some(Job { row, items }))
            }
            None => Ok(None),
        }
    }

    async fn items(&self, id: Uuid) -> Result<Vec<ItemRow>, LedgerError> {
        let sql = format!("SELECT {ITEM_COLUMNS} FROM job_items WHERE job_id = $1 ORDER BY idx");
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_all(&self.pool)
            .await?)
    }

    /// Jobs whose message was never confirmed (past the grace period) or whose lease
    /// expired. Each one returned is held back from other sweepers for `hold`.
    #[tracing::instrument(skip(self), err)]
    pub async fn take_jobs_to_republish(
        &self,
        limit: i64,
        max_attempts: i32,
        hold: Duration,
    ) -> Result<Vec<Republish>, LedgerError> {
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "UPDATE jobs SET sweep_after = now() + make_interval(secs => $3) \
             WHERE id IN (SELECT id FROM jobs \
                 WHERE status IN ({WAITING}, {PROCESSING}) AND sweep_after <= now() AND attempts < $2 \
                 AND ((status = {WAITING} AND published_at IS NULL) \
                      OR (status = {PROCESSING} AND lease_expires_at < now())) \
                 ORDER BY sweep_after LIMIT $1 FOR UPDATE SKIP LOCKED) \
             RETURNING id, pipeline, job_type"
        )))
        .bind(limit)
        .bind(max_attempts)
        .bind(hold.as_secs_f64())
        .fetch_all(&self.pool)
        .await?)
    }

    /// Fails, for good, jobs that used up their attempts (and are not held by a live lease):
    /// a source that crashes workers or storage that never comes back must not loop forever.
    #[tracing::instrument(skip(self), err)]
    pub async fn fail_exhausted(&self, max_attempts: i32) -> Result<Vec<Uuid>, LedgerError> {
        let mut tx = self.pool.begin().await?;
        let ids: Vec<(Uuid,)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "WITH ended AS (UPDATE jobs SET status = {FAILED}, lease_owner = NULL, lease_expires_at = NULL, \
             finished_at = now(), updated_at = now(), notify_next_at = now(), \
             notify_state = CASE WHEN notify_url IS NULL THEN 'none' ELSE 'pending' END \
             WHERE status IN ({WAITING}, {PROCESSING}) AND attempts >= $1 \
             AND (lease_expires_at IS NULL OR lease_expires_at < now()) \
             RETURNING id) \
             SELECT id FROM ended, pg_notify('{CHANNEL}', id::text)"
        )))
        .bind(max_attempts)
        .fetch_all(&mut *tx)
        .await?;
        for (id,) in &ids {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "UPDATE job_items SET status = {FAILED}, error_code = $3, \
                 error = 'gave up after ' || $2 || ' attempts: ' || \
                         COALESCE((SELECT last_error FROM jobs WHERE id = $1), 'worker lost'), \
                 finished_at = now() WHERE job_id = $1 AND status IN ({WAITING}, {PROCESSING})"
            )))
            .bind(id)
            .bind(max_attempts)
            .bind(FailureCode::RetryExhausted)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(ids.into_iter().map(|(id,)| id).collect())
    }

    /// Takes one job whose callback is due and goes to none of the `busy` destinations (see
    /// [`callback_destination`]), holding it from other notifiers for `hold`.
    pub async fn take_due_notification(
        &self,
        hold: Duration,
        busy: &[String],
    ) -> Result<Option<Job>, LedgerError> {
        let taken: Option<(Uuid,)> = sqlx::query_as(
            "UPDATE jobs SET notify_next_at = now() + make_interval(secs => $1) \
             WHERE id = (SELECT id FROM jobs WHERE notify_state = 'pending' \
                         AND notify_next_at <= now() \
                         AND coalesce(substring(notify_url FROM '^[^:/?#]+://[^/?#]*'), '') \
                             <> ALL($2::text[]) \
                         ORDER BY notify_next_at LIMIT 1 FOR UPDATE SKIP LOCKED) \
             RETURNING id",
        )
        .bind(hold.as_secs_f64())
        .bind(busy)
        .fetch_optional(&self.pool)
        .await?;
        match taken {
            Some((id,)) => self.job(id).await,
            None => Ok(None),
        }
    }

    /// The earliest instant a pending callback becomes due, so the notifier sleeps no longer.
    pub async fn next_notification_at(&self) -> Result<Option<DateTime<Utc>>, LedgerError> {
        let next: (Option<DateTime<Utc>>,) =
            sqlx::query_as("SELECT min(notify_next_at) FROM jobs WHERE notify_state = 'pending'")
                .fetch_one(&self.pool)
                .await?;
        Ok(next.0)
    }

    pub async fn notification_delivered(&self, id: Uuid) -> Result<(), LedgerError> {
        sqlx::query(
            "UPDATE jobs SET notify_state = 'delivered', notify_attempts = notify_attempts + 1, \
             notify_error = NULL, notify_next_at = NULL, updated_at = now() \
             WHERE id = $1 AND notify_state = 'pending'",
        )
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Records a failed callback attempt; after the last one the job becomes
    /// "callback failed" (4), as the vendors report it.
    pub async fn notification_failed(
        &self,
        id: Uuid,
        error: &str,
        max_attempts: i32,
        retry_in: Duration,
    ) -> Result<Status, LedgerError> {
        let (status,): (i16,) = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "UPDATE jobs SET notify_attempts = notify_attempts + 1, notify_error = $2, \
               notify_state = CASE WHEN notify_attempts + 1 >= $3 THEN 'failed' ELSE 'pending' END, \
               status = CASE WHEN notify_attempts + 1 >= $3 THEN {CALLBACK_FAILED} ELSE status END, \
               notify_next_at = CASE WHEN notify_attempts + 1 >= $3 THEN NULL \
                                ELSE now() + make_interval(secs => $4) END, \
               updated_at = now() \
             WHERE id = $1 RETURNING status"
        )))
        .bind(id)
        .bind(error)
        .bind(max_attempts)
        .bind(retry_in.as_secs_f64())
        .fetch_one(&self.pool)
        .await?;
        Ok(Status::from_code(status).unwrap_or(Status::Failed))
    }

    /// A finished, successful item of another job that ran the same canonical command on a
    /// source with the same content hash into the same target: its result can be reused
    /// (Qiniu `returnOld`) unless the job says `force`.
    #[tracing::instrument(skip_all, fields(job = %job_id, item = item.idx), err)]
    pub async fn reusable_item(
        &self,
        job_id: Uuid,
        item: &ItemRow,
        source_hash: &str,
    ) -> Result<Option<ItemRow>, LedgerError> {
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT idx, cmd, dialect, target_bucket, target_key, status, size, hash, width, \
             height, format, error_code, error, error_index, return_old, canonical, source_hash \
             FROM job_items WHERE status = {SUCCESS} AND job_id <> $1 AND target_bucket = $2 \
             AND target_key = $3 AND canonical = $4 AND source_hash = $5 \
             ORDER BY finished_at DESC LIMIT 1"
        )))
        .bind(job_id)
        .bind(&item.target_bucket)
        .bind(&item.target_key)
        .bind(&item.canonical)
        .bind(source_hash)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// Creates an access key with its grants.
    pub async fn create_key(&self, key: &AccessKey) -> Result<(), LedgerError> {
        let mut tx = self.pool.begin().await?;
        let inserted = sqlx::query(
            "INSERT INTO access_keys (access_key, secret_key) VALUES ($1, $2) \
             ON CONFLICT (access_key) DO NOTHING",
        )
        .bind(&key.access_key)
        .bind(&key.secret_key)
        .execute(&mut *tx)
        .await?;
        if inserted.rows_affected() == 0 {
            return Err(LedgerError::KeyExists(key.access_key.clone()));
        }
        keys::widen_grants(&mut tx, &key.access_key, &key.grants).await?;
        tx.commit().await?;
        self.keys.forget(&key.access_key);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::callback_destination;

    #[test]
    fn a_callback_destination_is_the_urls_scheme_and_authority_as_written() {
        let cases = [
            (
                Some("http://hooks.test:8080/cb?x=1"),
                "http://hooks.test:8080",
            ),
            (Some("https://Hooks.Test"), "https://Hooks.Test"),
            (Some("http://a.test?q"), "http://a.test"),
            (Some("http://a.test#f"), "http://a.test"),
            (Some("a:b://x"), ""),
            (Some("://x"), ""),
            (Some("no-scheme"), ""),
            (None, ""),
        ];
        for (url, destination) in cases {
            assert_eq!(callback_destination(url), destination, "{url:?}");
        }
    }
}
