//! The RabbitMQ side of the worker, kept thin: deliveries in, acks out.
//!
//! The prefetch is the jobs a worker holds at once (`jobs_in_flight`, twice the slots by
//! default), while the render slots (`workers`) bound how many images are rendered at once: a
//! job that is claiming, fetching, saving or recording does not hold a core, so another job's
//! render runs meanwhile. Each delivery is acknowledged only after the ledger recorded its
//! outcome, so a crash at any point leaves the message to be redelivered (and the claim makes
//! the redelivery harmless).

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use jobs::model::JobMessage;
use jobs::Services;
use lapin::message::Delivery;
use lapin::options::{BasicAckOptions, BasicNackOptions};
use tokio::sync::Notify;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::capacity::Capacity;
use crate::handler::{self, Disposition};
use crate::WorkerError;

/// Starts [`watch_pipelines`]: its task, and where the consumers it opens arrive.
fn start_watching(
    services: &Arc<Services>,
    prefetch: u16,
    owner: &str,
) -> (
    tokio::task::JoinHandle<()>,
    tokio::sync::mpsc::Receiver<lapin::Consumer>,
) {
    let (created, consumers) = tokio::sync::mpsc::channel(16);
    let task = watch_pipelines(services.clone(), prefetch, owner.to_string(), created);
    (tokio::spawn(task), consumers)
}

/// Looks for pipelines created at run time every `WATCH_INTERVAL` and hands a consumer of
/// each new one to the delivery loop, off that loop (a ledger that hangs delays only this).
async fn watch_pipelines(
    services: Arc<Services>,
    prefetch: u16,
    owner: String,
    created: tokio::sync::mpsc::Sender<lapin::Consumer>,
) {
    let mut consumed = services.config.pipelines.clone();
    let mut ticks = tokio::time::interval(jobs::catalog::pipelines::WATCH_INTERVAL);
    loop {
        ticks.tick().await;
        for consumer in created_pipelines(&services, &mut consumed, prefetch, &owner).await {
            if created.send(consumer).await.is_err() {
                return;
            }
        }
    }
}

/// Consumers of the pipelines created at run time that this worker does not consume yet. A
/// ledger or broker error is logged and the pipeline tried again at the next look.
async fn created_pipelines(
    services: &Services,
    consumed: &mut Vec<String>,
    prefetch: u16,
    owner: &str,
) -> Vec<lapin::Consumer> {
    let created = match services.ledger.created_pipelines().await {
        Ok(created) => created,
        Err(error) => {
            tracing::debug!(%error, "created pipelines not read; trying again");
            return Vec::new();
        }
    };
    let new: Vec<String> = (created.into_iter())
        .map(|(name, _)| name)
        .filter(|name| !consumed.contains(name))
        .collect();
    let mut consumers = Vec::new();
    for name in new {
        let name = [name];
        let started = match services.queue.declare_pipeline(&name[0]).await {
            Ok(()) => services.queue.consume(&name, prefetch, owner).await,
            Err(error) => Err(error),
        };
        match started {
            Ok(mut started) => {
                tracing::info!(pipeline = %name[0], "consuming a created pipeline");
                consumers.append(&mut started);
                consumed.push(name[0].clone());
            }
            Err(error) => {
                tracing::warn!(%error, pipeline = %name[0], "a created pipeline could not be consumed yet")
            }
        }
    }
    consumers
}

/// How long jobs cut short at the end of the grace get to hand themselves back.
const HAND_BACK_TIMEOUT: Duration = Duration::from_secs(5);

pub async fn run(
    services: Arc<Services>,
    owner: String,
    notifier_wake: Arc<Notify>,
    shutdown: CancellationToken,
) -> Result<(), WorkerError> {
    let prefetch = u16::try_from(services.config.jobs_in_flight()).unwrap_or(u16::MAX);
    let capacity = Arc::new(Capacity::new(
        services.config.workers,
        services.config.memory_budget_mib(),
    ));
    let consumers = services
        .queue
        .consume(&services.config.pipelines, prefetch, &owner)
        .await?;
    let mut deliveries = futures::stream::select_all(consumers);
    let mut in_flight = JoinSet::new();
    let stop_now = CancellationToken::new();
    let (watcher, mut new_consumers) = start_watching(&services, prefetch, &owner);
    tracing::info!(%owner, slots = services.config.workers, memory_budget_mib = capacity.budget_mib(), prefetch, pipelines = ?services.config.pipelines, "worker consuming");

    let outcome = loop {
        metrics::gauge!("ferrotype_jobs_in_flight").set(in_flight.len() as f64);
        tokio::select! {
            _ = shutdown.cancelled() => break Ok(()),
            Some(consumer) = new_consumers.recv() => deliveries.push(consumer),
            Some(finished) = in_flight.join_next(), if !in_flight.is_empty() => {
                if let Err(error) = finished {
                    tracing::error!(%error, "job task panicked");
                }
            }
            next = deliveries.next() => match next {
                Some(Ok(delivery)) => {
                    let services = services.clone();
                    let owner = owner.clone();
                    let wake = notifier_wake.clone();
                    let capacity = capacity.clone();
                    let stop_now = stop_now.clone();
                    in_flight.spawn(async move {
                        let shared = Shared { services: &services, owner: &owner, wake: &wake, capacity: &capacity, stop_now: &stop_now };
                        handle(shared, delivery).await
                    });
                }
                Some(Err(error)) => {
                    tracing::warn!(%error, "delivery error");
                }
                None => break Err(WorkerError::ConsumerClosed),
            }
        }
    };

    // Stop taking work (the consumers go with the stream), then let in-flight jobs finish.
    watcher.abort();
    drop(deliveries);
    drain(in_flight, stop_now, services.config.shutdown_grace()).await;
    outcome
}

/// Waits up to `grace` for the jobs in flight; then hands back those still running (their
/// leases released at once, attempts refunded) and aborts whatever has not ended soon after.
async fn drain(mut in_flight: JoinSet<()>, stop_now: CancellationToken, grace: Duration) {
    if tokio::time::timeout(grace, join_all(&mut in_flight))
        .await
        .is_ok()
    {
        return;
    }
    tracing::warn!(
        jobs = in_flight.len(),
        ?grace,
        "shutdown grace over: handing jobs back"
    );
    stop_now.cancel();
    if tokio::time::timeout(HAND_BACK_TIMEOUT, join_all(&mut in_flight))
        .await
        .is_err()
    {
        tracing::warn!("shutdown: jobs that did not hand themselves back are left to their leases");
        in_flight.abort_all();
    }
}

async fn join_all(in_flight: &mut JoinSet<()>) {
    while let Some(finished) = in_flight.join_next().await {
        if let Err(error) = finished {
            tracing::error!(%error, "job task panicked");
        }
    }
}

/// What every delivery's task borrows from the consumer.
struct Shared<'a> {
    services: &'a Arc<Services>,
    owner: &'a str,
    wake: &'a Notify,
    capacity: &'a Capacity,
    stop_now: &'a CancellationToken,
}

async fn handle(shared: Shared<'_>, delivery: Delivery) {
    let Shared {
        services,
        owner,
        wake,
        capacity,
        stop_now,
    } = shared;
    let message: JobMessage = match serde_json::from_slice(&delivery.data) {
        Ok(message) => message,
        Err(error) => {
            // Not ours or corrupt: nothing can ever process it, so drop it.
            tracing::warn!(%error, "dropping a message that is not a job id");
            let _ = delivery.ack(BasicAckOptions::default()).await;
            return;
        }
    };
    let worker = handler::Worker {
        services,
        owner,
        capacity,
        stop_now,
    };
    let disposition = handler::process(worker, message.job_id).await;
    let acked = match disposition {
        Disposition::Done { finished } => {
            if finished {
                wake.notify_one();
            }
            delivery.ack(BasicAckOptions::default()).await
        }
        Disposition::HandedBack => {
            // Another worker takes it from the queue at once (the sweeper republishes it too).
            delivery
                .nack(BasicNackOptions {
                    requeue: true,
                    ..BasicNackOptions::default()
                })
                .await
        }
        Disposition::LedgerUnavailable => {
            // The ledger could not be reached: put the message back after a pause rather than
            // spin on it.
            tokio::time::sleep(Duration::from_secs(1)).await;
            delivery
                .nack(BasicNackOptions {
                    requeue: true,
                    ..BasicNackOptions::default()
                })
                .await
        }
    };
    if let Err(error) = acked {
        // The ledger already holds the outcome; a redelivery will be recognised as done.
        tracing::warn!(job = %message.job_id, %error, "ack failed");
    }
}
