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

/// A job this worker took: what the ledger holds about it, and the lease that lets it write.
#[derive(Debug)]
pub struct ClaimedJob {
    pub job: Job,
    pub lease: Lease,
}

/// The right to write one job's results, held by one owner for a term. Every write checks in
/// the same statement that the owner still holds the job, so a worker whose lease expired and
/// was taken over can never overwrite the new holder's work: a `false` (or `None`) answer
/// means the lease is lost and the holder must stop.
#[derive(Debug)]
pub struct Lease {
    ledger: Ledger,
    job_id: Uuid,
    owner: String,
    term: Duration,
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
            .acquire_timeout(Duration::from_secs(10))
            .connect(database_url)
            .await?;
        MIGRATOR.run(&pool).await?;
        Ok(Ledger { pool })
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    pub async fn ping(&self) -> Result<(), LedgerError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// Records a job and its items in one transaction. `publish_grace` is how long the
    /// sweeper leaves the job alone while its publisher confirm is on the way.
    #[tracing::instrument(skip_all, fields(items = job.items.len()), err)]
    pub async fn insert_job(
        &self,
        job: &NewJob,
        publish_grace: Duration,
    ) -> Result<Uuid, LedgerError> {
        let id = Uuid::now_v7();
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO jobs (id, input_bucket, input_key, pipeline, job_type, force, notify_url, \
             submitted_by, sweep_after, notify_format, request_id) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, now() + make_interval(secs => $9), $10, $11)",
        )
        .bind(id)
        .bind(&job.input_bucket)
        .bind(&job.input_key)
        .bind(&job.queue)
        .bind(job.job_type)
        .bind(job.force)
        .bind(&job.notify_url)
        .bind(&job.submitted_by)
        .bind(publish_grace.as_secs_f64())
        .bind(job.notify_format.as_str())
        .bind(&job.request_id)
        .execute(&mut *tx)
        .await?;
        for (idx, item) in job.items.iter().enumerate() {
            sqlx::query(
                "INSERT INTO job_items (job_id, idx, cmd, dialect, target_bucket, target_key, \
                 canonical) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(id)
            .bind(idx as i32)
            .bind(&item.cmd)
            .bind(item.dialect.as_str())
            .bind(&item.target_bucket)
            .bind(&item.target_key)
            .bind(&item.canonical)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(id)
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
        Ok(sqlx::query_as(
            "SELECT idx, cmd, dialect, target_bucket, target_key, status, size, hash, width, \
             height, format, error_code, error, error_index, return_old, canonical, source_hash \
             FROM job_items WHERE job_id = $1 ORDER BY idx",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Takes the job for `owner` for `term`, if nobody holds it and it is not finished.
    /// `None` means the delivery is a duplicate (finished, or held by a live lease) or the job
    /// is unknown: the caller acknowledges and drops it. The [`Lease`] is the only way to
    /// write the job's results, and every write through it checks that `owner` still holds it.
    #[tracing::instrument(skip(self), err)]
    pub async fn claim(
        &self,
        id: Uuid,
        owner: &str,
        term: Duration,
        max_attempts: i32,
    ) -> Result<Option<ClaimedJob>, LedgerError> {
        let sql = format!(
            "UPDATE jobs SET status = {PROCESSING}, lease_owner = $2, \
             lease_expires_at = now() + make_interval(secs => $3), \
             attempts = attempts + 1, updated_at = now(), published_at = COALESCE(published_at, now()) \
             WHERE id = $1 AND status IN ({WAITING}, {PROCESSING}) AND attempts < $4 \
             AND (lease_expires_at IS NULL OR lease_expires_at < now()) \
             RETURNING {JOB_COLUMNS}"
        );
        let row: Option<JobRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .bind(owner)
            .bind(term.as_secs_f64())
            .bind(max_attempts)
            .fetch_optional(&self.pool)
            .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let items = self.items(id).await?;
        Ok(Some(ClaimedJob {
            job: Job { row, items },
            lease: Lease {
                ledger: self.clone(),
                job_id: id,
                owner: owner.to_string(),
                term,
            },
        }))
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

    /// Takes one job whose callback is due, holding it from other notifiers for `hold`.
    pub async fn take_due_notification(&self, hold: Duration) -> Result<Option<Job>, LedgerError> {
        let taken: Option<(Uuid,)> = sqlx::query_as(
            "UPDATE jobs SET notify_next_at = now() + make_interval(secs => $1) \
             WHERE id = (SELECT id FROM jobs WHERE notify_state = 'pending' \
                         AND notify_next_at <= now() ORDER BY notify_next_at \
                         LIMIT 1 FOR UPDATE SKIP LOCKED) \
             RETURNING id",
        )
        .bind(hold.as_secs_f64())
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
        for grant in &key.grants {
            sqlx::query(
                "INSERT INTO grants (access_key, bucket, can_read, can_write) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (access_key, bucket) DO UPDATE \
                 SET can_read = grants.can_read OR EXCLUDED.can_read, \
                     can_write = grants.can_write OR EXCLUDED.can_write",
            )
            .bind(&key.access_key)
            .bind(&grant.bucket)
            .bind(grant.can_read)
            .bind(grant.can_write)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub async fn access_key(&self, access_key: &str) -> Result<Option<AccessKey>, LedgerError> {
        let secret: Option<(String,)> =
            sqlx::query_as("SELECT secret_key FROM access_keys WHERE access_key = $1")
                .bind(access_key)
                .fetch_optional(&self.pool)
                .await?;
        let Some((secret_key,)) = secret else {
            return Ok(None);
        };
        let grants: Vec<Grant> = sqlx::query_as(
            "SELECT bucket, can_read, can_write FROM grants WHERE access_key = $1 ORDER BY bucket",
        )
        .bind(access_key)
        .fetch_all(&self.pool)
        .await?;
        Ok(Some(AccessKey {
            access_key: access_key.to_string(),
            secret_key,
            grants,
        }))
    }
}

impl FailedItem {
    /// The item's failure in the engine's words: its code, message and failing step.
    pub fn from_pipeline(error: &pipeline::PipelineError) -> FailedItem {
        FailedItem {
            code: error.code.into(),
            message: error.to_string(),
            step: error.step,
        }
    }

    /// A failure no single step is to blame for (storage, a missing source).
    pub fn new(code: FailureCode, message: impl Into<String>) -> FailedItem {
        FailedItem {
            code,
            message: message.into(),
            step: None,
        }
    }
}

impl Lease {
    /// The job this lease is on.
    pub fn job_id(&self) -> Uuid {
        self.job_id
    }

    /// Extends the lease by its term while work goes on; `false`: the lease is lost.
    #[tracing::instrument(skip(self), fields(job = %self.job_id), err)]
    pub async fn renew(&self) -> Result<bool, LedgerError> {
        let done = sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE jobs SET lease_expires_at = now() + make_interval(secs => $3), updated_at = now() \
             WHERE id = $1 AND lease_owner = $2 AND status = {PROCESSING}"
        )))
        .bind(self.job_id)
        .bind(&self.owner)
        .bind(self.term.as_secs_f64())
        .execute(&self.ledger.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Records one item's outcome; `false`: the lease is lost and nothing was written.
    #[tracing::instrument(skip(self, outcome), fields(job = %self.job_id), err)]
    pub async fn record(&self, idx: i32, outcome: &ItemOutcome) -> Result<bool, LedgerError> {
        let held = format!(
            "FROM jobs WHERE job_items.job_id = $1 AND job_items.idx = $3 \
             AND jobs.id = $1 AND jobs.lease_owner = $2 AND jobs.status = {PROCESSING}"
        );
        let query = match outcome {
            ItemOutcome::Saved(saved) => sqlx::query(sqlx::AssertSqlSafe(format!(
                "UPDATE job_items SET status = {SUCCESS}, size = $4, hash = $5, width = $6, \
                 height = $7, format = $8, source_hash = $9, return_old = $10, \
                 error_code = NULL, error = NULL, error_index = NULL, finished_at = now() {held}"
            )))
            .bind(self.job_id)
            .bind(&self.owner)
            .bind(idx)
            .bind(saved.size)
            .bind(&saved.hash)
            .bind(saved.width as i32)
            .bind(saved.height as i32)
            .bind(&saved.format)
            .bind(&saved.source_hash)
            .bind(saved.return_old),
            ItemOutcome::Failed(failure) => sqlx::query(sqlx::AssertSqlSafe(format!(
                "UPDATE job_items SET status = {FAILED}, error_code = $4, error = $5, \
                 error_index = $6, finished_at = now() {held}"
            )))
            .bind(self.job_id)
            .bind(&self.owner)
            .bind(idx)
            .bind(failure.code)
            .bind(&failure.message)
            .bind(failure.step.map(|step| step as i32)),
        };
        Ok(query.execute(&self.ledger.pool).await?.rows_affected() == 1)
    }

    /// Ends the job: success when every item succeeded, failed otherwise; a notify URL makes
    /// the callback pending. Returns the finished job, or `None` when the lease was lost.
    #[tracing::instrument(skip(self), fields(job = %self.job_id), err)]
    pub async fn finish(self) -> Result<Option<Job>, LedgerError> {
        // The end is announced to the requests waiting for it (`watch::JobWatch`) at commit.
        let done = sqlx::query(sqlx::AssertSqlSafe(format!(
            "WITH ended AS (UPDATE jobs SET \
               status = CASE WHEN EXISTS (SELECT 1 FROM job_items \
                                          WHERE job_id = $1 AND status <> {SUCCESS}) \
                        THEN {FAILED} ELSE {SUCCESS} END, \
               lease_owner = NULL, lease_expires_at = NULL, finished_at = now(), updated_at = now(), \
               notify_state = CASE WHEN notify_url IS NULL THEN 'none' ELSE 'pending' END, \
               notify_next_at = now() \
             WHERE id = $1 AND lease_owner = $2 AND status = {PROCESSING} RETURNING id) \
             SELECT pg_notify('{CHANNEL}', id::text) FROM ended"
        )))
        .bind(self.job_id)
        .bind(&self.owner)
        .fetch_all(&self.ledger.pool)
        .await?;
        if done.is_empty() {
            return Ok(None);
        }
        self.ledger.job(self.job_id).await
    }

    /// Gives the job back after a transient failure: the sweeper republishes it once
    /// `backoff` has passed. A lost lease makes this a no-op (the new holder has the job).
    #[tracing::instrument(skip(self), fields(job = %self.job_id), err)]
    pub async fn release(self, error: &str, backoff: Duration) -> Result<(), LedgerError> {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE jobs SET status = {WAITING}, lease_owner = NULL, lease_expires_at = NULL, \
             published_at = NULL, last_error = $3, updated_at = now(), \
             sweep_after = now() + make_interval(secs => $4) \
             WHERE id = $1 AND lease_owner = $2 AND status = {PROCESSING}"
        )))
        .bind(self.job_id)
        .bind(&self.owner)
        .bind(error)
        .bind(backoff.as_secs_f64())
        .execute(&self.ledger.pool)
        .await?;
        Ok(())
    }
}
