//! Recording new jobs: any number of jobs and all their items in one statement (one round
//! trip, one implicit transaction, one commit), the rows passed as arrays and unnested by
//! Postgres. A submission costs the ledger this one statement; a batch of a thousand costs
//! the same one.

use std::time::Duration;

use sqlx::PgExecutor;
use uuid::Uuid;

use super::{Ledger, NewJob};
use crate::error::LedgerError;

/// The jobs' rows as columns, in the order of the statement's parameters.
#[derive(Default)]
struct JobColumns {
    id: Vec<Uuid>,
    input_bucket: Vec<String>,
    input_key: Vec<String>,
    queue: Vec<String>,
    job_type: Vec<i16>,
    force: Vec<bool>,
    notify_url: Vec<Option<String>>,
    submitted_by: Vec<Option<String>>,
    notify_format: Vec<String>,
    request_id: Vec<Option<String>>,
}

/// The items' rows as columns.
#[derive(Default)]
struct ItemColumns {
    job_id: Vec<Uuid>,
    idx: Vec<i32>,
    cmd: Vec<String>,
    dialect: Vec<String>,
    target_bucket: Vec<String>,
    target_key: Vec<String>,
    canonical: Vec<Option<String>>,
}

impl JobColumns {
    fn push(&mut self, id: Uuid, job: &NewJob) {
        self.id.push(id);
        self.input_bucket.push(job.input_bucket.clone());
        self.input_key.push(job.input_key.clone());
        self.queue.push(job.queue.clone());
        self.job_type.push(job.job_type);
        self.force.push(job.force);
        self.notify_url.push(job.notify_url.clone());
        self.submitted_by.push(job.submitted_by.clone());
        self.notify_format
            .push(job.notify_format.as_str().to_string());
        self.request_id.push(job.request_id.clone());
    }
}

impl ItemColumns {
    fn push_all(&mut self, id: Uuid, job: &NewJob) {
        for (idx, item) in job.items.iter().enumerate() {
            self.job_id.push(id);
            self.idx.push(i32::try_from(idx).unwrap_or(i32::MAX));
            self.cmd.push(item.cmd.clone());
            self.dialect.push(item.dialect.as_str().to_string());
            self.target_bucket.push(item.target_bucket.clone());
            self.target_key.push(item.target_key.clone());
            self.canonical.push(item.canonical.clone());
        }
    }
}

const INSERT_JOBS: &str = "\
    WITH new_jobs AS ( \
        INSERT INTO jobs (id, input_bucket, input_key, pipeline, job_type, force, notify_url, \
            submitted_by, sweep_after, notify_format, request_id) \
        SELECT id, input_bucket, input_key, pipeline, job_type, force, notify_url, submitted_by, \
            now() + make_interval(secs => $11), notify_format, request_id \
        FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::int2[], $6::bool[], \
            $7::text[], $8::text[], $9::text[], $10::text[]) \
            AS j(id, input_bucket, input_key, pipeline, job_type, force, notify_url, \
                submitted_by, notify_format, request_id) \
        RETURNING id) \
    INSERT INTO job_items (job_id, idx, cmd, dialect, target_bucket, target_key, canonical) \
    SELECT i.job_id, i.idx, i.cmd, i.dialect, i.target_bucket, i.target_key, i.canonical \
    FROM unnest($12::uuid[], $13::int4[], $14::text[], $15::text[], $16::text[], $17::text[], \
        $18::text[]) AS i(job_id, idx, cmd, dialect, target_bucket, target_key, canonical) \
    JOIN new_jobs ON new_jobs.id = i.job_id";

/// Inserts `jobs` (each with the id it is to have) and their items through `executor` (the
/// pool, or a transaction the caller holds). `publish_grace` is how long the sweeper leaves
/// them alone while their publisher confirms are on the way.
pub(super) async fn insert_jobs_in<'e>(
    executor: impl PgExecutor<'e>,
    jobs: &[(Uuid, &NewJob)],
    publish_grace: Duration,
) -> Result<(), LedgerError> {
    let mut rows = JobColumns::default();
    let mut items = ItemColumns::default();
    for (id, job) in jobs {
        rows.push(*id, job);
        items.push_all(*id, job);
    }
    sqlx::query(INSERT_JOBS)
        .bind(rows.id)
        .bind(rows.input_bucket)
        .bind(rows.input_key)
        .bind(rows.queue)
        .bind(rows.job_type)
        .bind(rows.force)
        .bind(rows.notify_url)
        .bind(rows.submitted_by)
        .bind(rows.notify_format)
        .bind(rows.request_id)
        .bind(publish_grace.as_secs_f64())
        .bind(items.job_id)
        .bind(items.idx)
        .bind(items.cmd)
        .bind(items.dialect)
        .bind(items.target_bucket)
        .bind(items.target_key)
        .bind(items.canonical)
        .execute(executor)
        .await?;
    Ok(())
}

/// Inserts one job and its items inside `tx`; returns the new job's id.
pub(super) async fn insert_job_in(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    job: &NewJob,
    publish_grace: Duration,
) -> Result<Uuid, LedgerError> {
    let id = Uuid::now_v7();
    insert_jobs_in(&mut **tx, &[(id, job)], publish_grace).await?;
    Ok(id)
}

impl Ledger {
    /// Records a job and its items in one statement. `publish_grace` is how long the sweeper
    /// leaves the job alone while its publisher confirm is on the way.
    #[tracing::instrument(skip_all, fields(items = job.items.len()), err)]
    pub async fn insert_job(
        &self,
        job: &NewJob,
        publish_grace: Duration,
    ) -> Result<Uuid, LedgerError> {
        let id = Uuid::now_v7();
        insert_jobs_in(&self.pool, &[(id, job)], publish_grace).await?;
        Ok(id)
    }

    /// Records every job of a batch and their items in one statement; their ids, in order.
    #[tracing::instrument(skip_all, fields(jobs = jobs.len()), err)]
    pub async fn insert_jobs(
        &self,
        jobs: &[&NewJob],
        publish_grace: Duration,
    ) -> Result<Vec<Uuid>, LedgerError> {
        let rows: Vec<(Uuid, &NewJob)> = jobs.iter().map(|job| (Uuid::now_v7(), *job)).collect();
        insert_jobs_in(&self.pool, &rows, publish_grace).await?;
        Ok(rows.into_iter().map(|(id, _)| id).collect())
    }
}
