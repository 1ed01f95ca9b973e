//! The worker: everything that happens after a job id leaves the queue.
//!
//! - [`capacity`]: the render slots and the memory budget renders are admitted against, by
//!   the engine's estimate of their peak (`pipeline::cost`).
//! - [`consumer`]: the thin RabbitMQ loop (prefetch = jobs in flight, twice the render slots
//!   by default; manual ack after the ledger commit, graceful shutdown).
//! - [`handler`]: one job, as a recipe: claim (a lease), fetch the source once, reuse earlier
//!   results, render the rest on a render thread while holding a render slot, write the
//!   targets and record each outcome through the lease, finish.
//! - [`notify`]: the callback sender, driven by the ledger so no callback is lost to a crash.
//! - [`render_thread`]: each render on a thread of its own, niced below the async threads so
//!   requests and lease renewals never queue behind pixels.
//! - [`video`]: frames of video sources (OSS `video/snapshot`, Qiniu `vframe`) with ffmpeg:
//!   [`video::Ffmpeg`], the `pipeline::FrameLookup` the handler and `ferrotype process` hand
//!   the engine.
//! - [`gauges`]: the queue depth of each pipeline, read from the broker every 5 s.
//! - [`sweeper`]: republishes jobs whose message was never confirmed or whose lease expired,
//!   and fails jobs that used up their attempts.

pub mod capacity;
pub mod consumer;
pub mod gauges;
pub mod handler;
pub mod notify;
pub mod render_thread;
pub mod sweeper;
pub mod video;

use std::sync::Arc;

use jobs::Services;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

/// Runs consumer, notifier and sweeper until `shutdown` is cancelled, then drains in-flight
/// jobs before returning.
pub async fn run(services: Arc<Services>, shutdown: CancellationToken) -> Result<(), WorkerError> {
    let owner = format!(
        "{}:{}:{}",
        hostname(),
        std::process::id(),
        uuid::Uuid::new_v4().simple()
    );
    let notifier_wake = Arc::new(Notify::new());
    let notifier = tokio::spawn(notify::run(
        services.clone(),
        notifier_wake.clone(),
        shutdown.clone(),
    ));
    let sweeper = tokio::spawn(sweeper::run(services.clone(), shutdown.clone()));
    let gauges = tokio::spawn(gauges::run(services.clone(), shutdown.clone()));
    let consumed = consumer::run(services, owner, notifier_wake, shutdown.clone()).await;
    shutdown.cancel();
    let _ = notifier.await;
    let _ = sweeper.await;
    let _ = gauges.await;
    consumed
}

fn hostname() -> String {
    std::fs::read_to_string("/etc/hostname")
        .map(|s| s.trim().to_string())
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "worker".into())
}

#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    #[error(transparent)]
    Queue(#[from] jobs::error::QueueError),
    #[error("the broker closed the consumer")]
    ConsumerClosed,
}
