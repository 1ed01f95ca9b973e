//! The sweeper: the ledger's side of at-least-once delivery.
//!
//! It republishes jobs whose message the broker never confirmed (the API crashed between
//! insert and publish, or the broker was away) and jobs whose worker lost its lease (crashed
//! or hung), and it fails for good the jobs that used up their attempts. Every process runs
//! one; `FOR UPDATE SKIP LOCKED` and the hold time keep them from doing the same work twice.

use std::sync::Arc;
use std::time::Duration;

use jobs::Services;
use tokio_util::sync::CancellationToken;

/// Most jobs republished per pass.
const BATCH: i64 = 100;

pub async fn run(services: Arc<Services>, shutdown: CancellationToken) {
    let interval = services.config.sweep_interval();
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(interval) => {}
        }
        if let Err(error) = sweep_once(&services).await {
            tracing::warn!(%error, "sweep failed");
        }
    }
}

/// One pass. Public so tests and operators can trigger it.
pub async fn sweep_once(services: &Services) -> Result<usize, jobs::error::LedgerError> {
    let config = &services.config;
    for id in services.ledger.fail_exhausted(config.max_attempts).await? {
        tracing::warn!(job = %id, "job failed after its last attempt");
        metrics::counter!("ferrotype_jobs_finished_total", "status" => "failed").increment(1);
    }
    // A republished job is left alone for this long before it may be republished again.
    let hold = config.lease().min(Duration::from_secs(60));
    let due = services
        .ledger
        .take_jobs_to_republish(BATCH, config.max_attempts, hold)
        .await?;
    let count = due.len();
    for job in due {
        match services
            .queue
            .publish(job.id, &job.queue, job.job_type)
            .await
        {
            Ok(()) => {
                services.ledger.mark_published(job.id).await?;
                tracing::info!(job = %job.id, "job republished");
            }
            Err(error) => {
                metrics::counter!("ferrotype_queue_publish_failures_total").increment(1);
                tracing::warn!(job = %job.id, %error, "republish failed");
            }
        }
    }
    Ok(count)
}
