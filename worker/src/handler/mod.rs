//! One job, from claim to finish, as a short recipe: claim, fetch the source, reuse what
//! earlier jobs made, render the rest, store and record each result, finish.
//!
//! - [`stop`]: why a job stops early ([`Stop`]), retries of storage I/O, backoff.
//! - [`reuse`]: items whose result an identical earlier command already made (`returnOld`).
//! - [`render`]: the items' pipelines and watermark images, rendered on the blocking pool while
//!   holding a render slot.
//! - [`store`]: each result written to its target and recorded through the lease.
//!
//! Items already recorded as done (by an earlier attempt that was interrupted) are skipped, so
//! a retried job only redoes what is missing; targets are whole-object overwrites, so redoing
//! an item is harmless. Every write goes through the job's [`Lease`], which checks that this
//! worker still holds the job; every transient failure is a [`Stop::GiveBack`] that gives the
//! job back in one place ([`run`]).

mod render;
mod reuse;
mod stop;
mod store;

pub use stop::backoff;

use crate::capacity::Capacity;
use jobs::ledger::{ClaimedJob, FailedItem, ItemOutcome, Lease};
use jobs::model::{ItemRow, Job, Status};
use jobs::Services;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use stop::{with_retries, Stop};
use store::Made;

/// What the consumer does with the delivery.
#[derive(Debug)]
pub enum Disposition {
    /// Acknowledge: the ledger holds the outcome (or the delivery was a duplicate).
    Done { finished: bool },
    /// Requeue: the ledger was unreachable, nothing was decided.
    LedgerUnavailable,
    /// Requeue at once: the worker is shutting down and handed the job back.
    HandedBack,
}

/// What every job of one worker process shares.
#[derive(Clone, Copy)]
pub struct Worker<'a> {
    pub services: &'a Services,
    /// The name leases are taken under.
    pub owner: &'a str,
    /// Bounds the renders running at once across the worker's jobs, by slots and by memory;
    /// a job holds them only while its pixels are worked, not during its storage and ledger
    /// round trips.
    pub capacity: &'a Capacity,
    /// Cancelled when shutdown's grace is over: jobs still running are handed back.
    pub stop_now: &'a CancellationToken,
}

/// Runs the job `id` as far as this worker can take it.
pub async fn process(worker: Worker<'_>, id: Uuid) -> Disposition {
    match run(worker, id).await {
        Ok(Some(finished)) => Disposition::Done { finished },
        Ok(None) => Disposition::HandedBack,
        Err(error) => {
            tracing::error!(job = %id, %error, "ledger error while processing");
            Disposition::LedgerUnavailable
        }
    }
}

/// Claims the job, works it while a heartbeat renews its lease, and settles the outcome:
/// finished, given back, or left to the worker that took the lease over. Returns whether this
/// call finished the job; `None` when it handed the job back for shutdown.
#[tracing::instrument(skip_all, fields(job = %id))]
async fn run(worker: Worker<'_>, id: Uuid) -> Result<Option<bool>, jobs::error::LedgerError> {
    let config = &worker.services.config;
    let claimed = worker
        .services
        .ledger
        .claim(id, worker.owner, config.lease(), config.max_attempts)
        .await?;
    let Some(ClaimedJob { job, lease }) = claimed else {
        tracing::debug!("duplicate or unknown delivery dropped");
        return Ok(Some(false));
    };
    tracing::info!(attempt = job.row.attempts, "job claimed");
    // Whichever ends first: the work, a lost lease, or the end of shutdown's grace. A render
    // cut short goes on on the blocking pool until its deadline, and its result is dropped.
    let outcome = tokio::select! {
        outcome = work(worker, &job, &lease) => outcome,
        lost = heartbeat(&lease, config.lease()) => Err(lost),
        _ = worker.stop_now.cancelled() => Err(Stop::Shutdown),
    };
    match outcome {
        Ok(()) => finish(lease).await.map(Some),
        Err(Stop::LeaseLost) => {
            tracing::warn!("lease lost; another worker owns the job now");
            Ok(Some(false))
        }
        Err(Stop::GiveBack(reason)) => {
            stop::give_back(lease, job.row.attempts, &reason).await?;
            Ok(Some(false))
        }
        Err(Stop::Shutdown) => {
            tracing::warn!("shutdown: job handed back");
            lease.hand_back().await?;
            Ok(None)
        }
        Err(Stop::Ledger(error)) => {
            hand_back_when_reachable(lease, config.lease()).await;
            Err(error)
        }
    }
}

/// Hands the job back as soon as the ledger answers again (within the lease's term; past it
/// the lease has lapsed anyway), so a job cut short by an outage runs again seconds after the
/// ledger is back, not a lease later. The attempt is refunded: the outage was not the job's.
async fn hand_back_when_reachable(lease: Lease, term: std::time::Duration) {
    let deadline = tokio::time::Instant::now() + term;
    while tokio::time::Instant::now() < deadline {
        match lease.hand_back().await {
            Ok(()) => return,
            Err(_) => tokio::time::sleep(std::time::Duration::from_millis(500)).await,
        }
    }
}

/// Renews the lease every third of its term while the job is worked, so a live worker's job
/// is never taken over however long its render runs; returns only when the lease is lost. A
/// ledger that cannot be reached is tried again at the next beat (the lease may then lapse,
/// and the next write finds it lost).
async fn heartbeat(lease: &Lease, term: std::time::Duration) -> Stop {
    let beat = (term / 3).max(std::time::Duration::from_millis(100));
    loop {
        tokio::time::sleep(beat).await;
        match lease.renew().await {
            Ok(true) => {}
            Ok(false) => return Stop::LeaseLost,
            Err(error) => tracing::warn!(%error, "cannot renew the lease"),
        }
    }
}

/// The job's body. A source that is gone fails every pending item with its code.
async fn work(worker: Worker<'_>, job: &Job, lease: &Lease) -> Result<(), Stop> {
    let services = worker.services;
    let pending: Vec<ItemRow> = job
        .items
        .iter()
        .filter(|item| item.status != Status::Success.code())
        .cloned()
        .collect();
    let (bucket, key) = (&job.row.input_bucket, &job.row.input_key);
    let limit = services.config.max_source_bytes;
    let source = match with_retries(|| services.buckets.get(bucket, key, limit)).await {
        Ok(source) => source,
        Err(error) if error.is_transient() => return Err(Stop::transient(&error)),
        Err(error) => {
            let failure = FailedItem::new(error.code(), error.to_string());
            let made = pending
                .into_iter()
                .map(|item| (item, Made::Done(ItemOutcome::Failed(failure.clone()))));
            // Nothing is saved, so no source hash is recorded.
            return store::store_all(services, lease, made, "").await;
        }
    };
    let split = reuse::split(services, job, pending, &source.etag).await?;
    let rendered = render::render(worker, job, split.to_render, source.bytes).await?;
    let made = split.reused.into_iter().chain(rendered);
    store::store_all(services, lease, made, &source.etag).await
}

/// Ends the job through its lease; `false` when the lease was lost meanwhile.
async fn finish(lease: Lease) -> Result<bool, jobs::error::LedgerError> {
    match lease.finish().await? {
        Some(job) => {
            let status = job.status();
            metrics::counter!("ferrotype_jobs_finished_total", "status" => status.as_str())
                .increment(1);
            tracing::info!(status = status.as_str(), "job finished");
            Ok(true)
        }
        None => Ok(false),
    }
}
