//! The results of processing on GET: which job makes (or made) each one, so that concurrent
//! requests for the same result, in any API process, wait for one job instead of each
//! rendering it.

use std::time::Duration;

use uuid::Uuid;

use super::insert::insert_job_in;
use super::{Ledger, NewJob, PROCESSING, WAITING};
use crate::error::LedgerError;

/// Where a processed result is stored.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ResultLocation {
    pub bucket: String,
    pub key: String,
}

/// The job recorded for a result: found, or just recorded by this call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DerivedJob {
    /// Another request recorded it first; wait for it.
    Found(Uuid),
    /// This call recorded it; publish it, then wait.
    Recorded(Uuid),
}

impl Ledger {
    /// The job that makes the result at `location`: the one already recorded, or `job`,
    /// recorded now in the same transaction as the result's row. Two requests racing here
    /// meet at the row's primary key: the second waits for the first's commit and finds its
    /// job.
    #[tracing::instrument(skip(self, job, publish_grace), err)]
    pub async fn derived_job(
        &self,
        location: &ResultLocation,
        job: &NewJob,
        publish_grace: Duration,
    ) -> Result<DerivedJob, LedgerError> {
        let mut tx = self.pool.begin().await?;
        let id = insert_job_in(&mut tx, job, publish_grace).await?;
        let inserted: Option<(Uuid,)> = sqlx::query_as(
            "INSERT INTO derived_results (bucket, result_key, job_id) VALUES ($1, $2, $3) \
             ON CONFLICT (bucket, result_key) DO NOTHING RETURNING job_id",
        )
        .bind(&location.bucket)
        .bind(&location.key)
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
        if inserted.is_some() {
            tx.commit().await?;
            return Ok(DerivedJob::Recorded(id));
        }
        // Another request's row won: this job is never recorded.
        tx.rollback().await?;
        match self.recorded_derived(location).await? {
            Some(id) => Ok(DerivedJob::Found(id)),
            None => Err(LedgerError::NoSuchJob(format!(
                "the job of {}/{} vanished while it was looked up",
                location.bucket, location.key
            ))),
        }
    }

    /// The job recorded for the result at `location`, if any.
    pub async fn recorded_derived(
        &self,
        location: &ResultLocation,
    ) -> Result<Option<Uuid>, LedgerError> {
        let row: Option<(Uuid,)> = sqlx::query_as(
            "SELECT job_id FROM derived_results WHERE bucket = $1 AND result_key = $2",
        )
        .bind(&location.bucket)
        .bind(&location.key)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|(id,)| id))
    }

    /// Forgets that `job_id` makes the result at `location` (it failed, or its result is
    /// gone), so that the next request renders it again. Another job recorded since is kept.
    pub async fn forget_derived(
        &self,
        location: &ResultLocation,
        job_id: Uuid,
    ) -> Result<(), LedgerError> {
        sqlx::query(
            "DELETE FROM derived_results WHERE bucket = $1 AND result_key = $2 AND job_id = $3",
        )
        .bind(&location.bucket)
        .bind(&location.key)
        .bind(job_id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// How many jobs of `queue` wait or run: the render backlog a new request would join.
    pub async fn backlog(&self, queue: &str) -> Result<i64, LedgerError> {
        let (count,): (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT count(*) FROM jobs WHERE status IN ({WAITING}, {PROCESSING}) AND pipeline = $1"
        )))
        .bind(queue)
        .fetch_one(&self.pool)
        .await?;
        Ok(count)
    }
}
