//! The lease a worker holds on a job it claimed: the only way to write the job's results.

use std::time::Duration;

use uuid::Uuid;

use super::{
    FailedItem, ItemOutcome, JobRow, Ledger, FAILED, ITEM_COLUMNS, JOB_COLUMNS, PROCESSING,
    SUCCESS, WAITING,
};
use crate::code::FailureCode;
use crate::error::LedgerError;
use crate::model::{ItemRow, Job, Status};
use crate::watch::CHANNEL;

/// A job this worker took: what the ledger holds about it, and the lease that lets it write.
#[derive(Debug)]
pub struct ClaimedJob {
    pub job: Job,
    pub lease: Lease,
}

/// A claimed job as the claim statement returns it.
#[derive(sqlx::FromRow)]
struct ClaimedRow {
    #[sqlx(flatten)]
    row: JobRow,
    #[sqlx(json)]
    items: Vec<ItemRow>,
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

impl Ledger {
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
        // The job and its items in one round trip: the items as one JSON array.
        let sql = format!(
            "WITH claimed AS (UPDATE jobs SET status = {PROCESSING}, lease_owner = $2, \
             lease_expires_at = now() + make_interval(secs => $3), \
             attempts = attempts + 1, updated_at = now(), published_at = COALESCE(published_at, now()) \
             WHERE id = $1 AND status IN ({WAITING}, {PROCESSING}) AND attempts < $4 \
             AND (lease_expires_at IS NULL OR lease_expires_at < now()) \
             RETURNING {JOB_COLUMNS}) \
             SELECT claimed.*, (SELECT coalesce(json_agg(item ORDER BY item.idx), '[]'::json) \
                                FROM (SELECT {ITEM_COLUMNS} FROM job_items \
                                      WHERE job_id = claimed.id) item) AS items \
             FROM claimed"
        );
        let claimed: Option<ClaimedRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .bind(owner)
            .bind(term.as_secs_f64())
            .bind(max_attempts)
            .fetch_optional(&self.pool)
            .await?;
        let Some(ClaimedRow { row, items }) = claimed else {
            return Ok(None);
        };
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

    /// Gives back the job `id` if the claim `owner` holds it: the answer to a claim whose
    /// outcome is unknown (the ledger failed while or after it ran, so it may have committed).
    /// `owner` names one claim, never a whole worker, so this cannot release a job the same
    /// worker holds through another claim.
    pub async fn disclaim(&self, id: Uuid, owner: &str) -> Result<(), LedgerError> {
        let lease = Lease {
            ledger: self.clone(),
            job_id: id,
            owner: owner.to_string(),
            term: Duration::ZERO,
        };
        lease.hand_back().await
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
    /// the callback pending. Returns how the job ended, or `None` when the lease was lost.
    #[tracing::instrument(skip(self), fields(job = %self.job_id), err)]
    pub async fn finish(&self) -> Result<Option<Status>, LedgerError> {
        // The end is announced to the requests waiting for it (`watch::JobWatch`) at commit.
        let ended: Option<i16> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "WITH ended AS (UPDATE jobs SET \
               status = CASE WHEN EXISTS (SELECT 1 FROM job_items \
                                          WHERE job_id = $1 AND status <> {SUCCESS}) \
                        THEN {FAILED} ELSE {SUCCESS} END, \
               lease_owner = NULL, lease_expires_at = NULL, finished_at = now(), updated_at = now(), \
               notify_state = CASE WHEN notify_url IS NULL THEN 'none' ELSE 'pending' END, \
               notify_next_at = now() \
             WHERE id = $1 AND lease_owner = $2 AND status = {PROCESSING} RETURNING id, status) \
             SELECT ended.status FROM ended, pg_notify('{CHANNEL}', ended.id::text)"
        )))
        .bind(self.job_id)
        .bind(&self.owner)
        .fetch_optional(&self.ledger.pool)
        .await?;
        Ok(ended.map(|code| Status::from_code(code).unwrap_or(Status::Failed)))
    }

    /// Gives the job back at once, its attempt refunded: the worker cut the job short for a
    /// reason that says nothing about the job (shutdown, a ledger outage). The sweeper
    /// republishes it right away. A lost lease makes this a no-op.
    #[tracing::instrument(skip(self), fields(job = %self.job_id), err)]
    pub async fn hand_back(&self) -> Result<(), LedgerError> {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE jobs SET status = {WAITING}, lease_owner = NULL, lease_expires_at = NULL, \
             published_at = NULL, attempts = greatest(attempts - 1, 0), \
             last_error = 'handed back by its worker (shutdown or ledger outage)', updated_at = now(), \
             sweep_after = now() \
             WHERE id = $1 AND lease_owner = $2 AND status = {PROCESSING}"
        )))
        .bind(self.job_id)
        .bind(&self.owner)
        .execute(&self.ledger.pool)
        .await?;
        Ok(())
    }

    /// Gives the job back after a transient failure: the sweeper republishes it once
    /// `backoff` has passed. A lost lease makes this a no-op (the new holder has the job).
    #[tracing::instrument(skip(self), fields(job = %self.job_id), err)]
    pub async fn release(&self, error: &str, backoff: Duration) -> Result<(), LedgerError> {
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
