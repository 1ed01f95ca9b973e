//! The gauges no event of the worker's updates: how many messages wait in each pipeline's
//! queue (`ferrotype_queue_depth{pipeline}`), read from the broker every [`INTERVAL`]. The
//! event-driven ones (jobs in flight, busy render slots) are set where they change.

use std::sync::Arc;
use std::time::Duration;

use jobs::Services;
use tokio_util::sync::CancellationToken;

pub const INTERVAL: Duration = Duration::from_secs(5);

/// Reads the depths until `shutdown`. A broker or ledger that does not answer leaves the
/// last figures in place until the next look.
pub async fn run(services: Arc<Services>, shutdown: CancellationToken) {
    let mut ticks = tokio::time::interval(INTERVAL);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = ticks.tick() => {}
        }
        for pipeline in pipelines(&services).await {
            match services.queue.depth(&pipeline).await {
                Ok(depth) => {
                    metrics::gauge!("ferrotype_queue_depth", "pipeline" => pipeline)
                        .set(f64::from(depth));
                }
                Err(error) => tracing::debug!(%error, %pipeline, "queue depth not read"),
            }
        }
    }
}

/// The configured pipelines and those created at run time.
async fn pipelines(services: &Services) -> Vec<String> {
    let mut names = services.config.pipelines.clone();
    if let Ok(created) = services.ledger.created_pipelines().await {
        names.extend(created.into_iter().map(|(name, _)| name));
    }
    names.sort();
    names.dedup();
    names
}
