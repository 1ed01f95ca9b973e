//! One job, from claim to finish, as a short recipe: claim, fetch the source, reuse what
//! earlier jobs made, render the rest, store and record each result, finish.
//!
//! - [`stop`]: why a job stops early ([`Stop`]), retries of storage I/O, backoff.
//! - [`reuse`]: items whose result an identical earlier command already made (`returnOld`).
//! - [`render`]: the items' pipelines and watermark images, rendered on a render thread while
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
use jobs::code::FailureCode;
use jobs::error::LedgerError;
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
async fn run(worker: Worker<'_>, id: Uuid) -> Result<Option<bool>, LedgerError> {
    let Some(ClaimedJob { job, lease }) = claim(worker, id).await? else {
        tracing::debug!("duplicate or unknown delivery dropped");
        return Ok(Some(false));
    };
    tracing::info!(attempt = job.row.attempts, "job claimed");
    let term = worker.services.config.lease();
    let patience = Patience {
        term,
        stop_now: worker.stop_now,
    };
    // Whichever ends first: the work, a lost lease, or the end of shutdown's grace. A render
    // cut short goes on on its render thread until its deadline, and its result is dropped.
    let outcome = tokio::select! {
        outcome = work(worker, &job, &lease) => outcome,
        lost = heartbeat(&lease, term) => Err(lost),
        _ = worker.stop_now.cancelled() => Err(Stop::Shutdown),
    };
    settle(outcome, &lease, job.row.attempts, patience).await
}

/// Takes the job's lease under a name of its own, so a claim whose answer was lost can be
/// undone without touching another claim of the same worker.
async fn claim(worker: Worker<'_>, id: Uuid) -> Result<Option<ClaimedJob>, LedgerError> {
    let (config, ledger) = (&worker.services.config, &worker.services.ledger);
    let claim = format!("{}/{}", worker.owner, Uuid::new_v4());
    let claimed = ledger
        .claim(id, &claim, config.lease(), config.max_attempts)
        .await;
    // Only an unreachable ledger leaves the claim in doubt. Any other error (a row that does
    // not read) keeps its attempt, so a job that can never be read still runs out of them.
    let in_doubt =
        matches!(&claimed, Err(error) if error.code() == FailureCode::ServiceUnavailable);
    if in_doubt {
        let patience = Patience {
            term: config.lease(),
            stop_now: worker.stop_now,
        };
        // It may have committed: undo it once the ledger answers, or the job would wait out a
        // lease nobody works under.
        let undone = when_reachable(patience, || ledger.disclaim(id, &claim)).await;
        if let Err(still) = undone {
            tracing::warn!(error = %still, "the ledger stayed out of reach; the lease will lapse");
        }
    }
    claimed
}

/// Settles the job as its work ended. Every settling write waits for a ledger outage to end
/// (within the lease's term), so no job is left under a lease nobody works under.
async fn settle(
    outcome: Result<(), Stop>,
    lease: &Lease,
    attempts: i32,
    patience: Patience<'_>,
) -> Result<Option<bool>, LedgerError> {
    match outcome {
        Ok(()) => when_reachable(patience, || finish(lease)).await.map(Some),
        Err(Stop::LeaseLost) => {
            tracing::warn!("lease lost; another worker owns the job now");
            Ok(Some(false))
        }
        Err(Stop::GiveBack(reason)) => {
            when_reachable(patience, || stop::give_back(lease, attempts, &reason)).await?;
            Ok(Some(false))
        }
        Err(Stop::Shutdown) => {
            // Shutdown's grace is over: one try, then the lease lapses.
            tracing::warn!("shutdown: job handed back");
            lease.hand_back().await?;
            Ok(None)
        }
        Err(Stop::Ledger(error)) => {
            // The attempt is refunded: the outage was not the job's.
            if let Err(still) = when_reachable(patience, || lease.hand_back()).await {
                tracing::warn!(error = %still, "the ledger stayed out of reach; the lease will lapse");
            }
            Err(error)
        }
    }
}

/// How long a settling write keeps trying while the ledger is out of reach: the lease's term
/// (past it the lease has lapsed anyway), or until shutdown's grace is over.
#[derive(Clone, Copy)]
struct Patience<'a> {
    term: std::time::Duration,
    stop_now: &'a CancellationToken,
}

/// Runs a write that settles the job until the ledger answers it, every 500 ms while
/// `patience` lasts. A job whose end falls in an outage is settled seconds after the ledger is
/// back (finished, or handed back to run again), never left under its lease; the last error is
/// returned when patience runs out.
async fn when_reachable<T, F, Fut>(patience: Patience<'_>, mut write: F) -> Result<T, LedgerError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, LedgerError>>,
{
    let deadline = tokio::time::Instant::now() + patience.term;
    loop {
        let error = match write().await {
            Err(error) => error,
            settled => return settled,
        };
        if tokio::time::Instant::now() >= deadline || patience.stop_now.is_cancelled() {
            return Err(error);
        }
        tracing::warn!(%error, "the ledger is out of reach; settling again shortly");
        tokio::select! {
            _ = tokio::time::sleep(std::time::Duration::from_millis(500)) => {}
            _ = patience.stop_now.cancelled() => {}
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
async fn finish(lease: &Lease) -> Result<bool, LedgerError> {
    let Some(status) = lease.finish().await? else {
        return Ok(false);
    };
    metrics::counter!("ferrotype_jobs_finished_total", "status" => status.as_str()).increment(1);
    tracing::info!(status = status.as_str(), "job finished");
    Ok(true)
}
