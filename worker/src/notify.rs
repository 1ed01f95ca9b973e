//! Callbacks: when a job ends with a notify URL, its status JSON is POSTed there until the
//! receiver answers 200, with exponential backoff; after the last attempt the job's code
//! becomes 4 (callback failed).
//!
//! The ledger drives it (`notify_state = 'pending'` with a due time), not memory, so a
//! callback survives a restart and any worker process may send it, exactly once at a time.
//!
//! Callbacks are sent concurrently: up to [`IN_FLIGHT`] at once, and up to
//! [`PER_DESTINATION`] to one destination (scheme, host and port as the URL spells them). A
//! receiver that accepts and never answers holds only its own destination's slots, for the
//! notify timeout at most; every other destination's callbacks go on.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use jobs::model::{notify_body, Job, Status};
use jobs::Services;
use tokio::sync::Notify;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::handler::backoff;

/// Longest sleep between looks at the ledger (other processes may have made work due).
const MAX_IDLE: Duration = Duration::from_secs(5);

/// Callbacks in flight at once, over all destinations.
const IN_FLIGHT: usize = 64;

/// Callbacks in flight at once to one destination.
const PER_DESTINATION: usize = 4;

pub async fn run(services: Arc<Services>, wake: Arc<Notify>, shutdown: CancellationToken) {
    let client = match reqwest::Client::builder()
        .timeout(services.config.notify_timeout())
        .redirect(reqwest::redirect::Policy::none())
        .build()
    {
        Ok(client) => client,
        Err(error) => {
            tracing::error!(%error, "cannot build the HTTP client; callbacks are disabled");
            return;
        }
    };
    // Held while a callback is in flight, so no other notifier sends it at the same time.
    let hold = services.config.notify_timeout() + Duration::from_secs(5);
    let mut flights = Flights::default();
    loop {
        if shutdown.is_cancelled() {
            // Sends cut short here are sent again once their hold ends.
            return;
        }
        flights.reap();
        if flights.len() < IN_FLIGHT {
            let busy = flights.busy();
            match services.ledger.take_due_notification(hold, &busy).await {
                Ok(Some(job)) => {
                    flights.start(&services, &client, job);
                    continue;
                }
                Ok(None) => {}
                Err(error) => tracing::warn!(%error, "cannot read pending callbacks"),
            }
        }
        let idle = match services.ledger.next_notification_at().await {
            Ok(Some(due)) => (due - chrono::Utc::now())
                .to_std()
                .unwrap_or(Duration::ZERO)
                .min(MAX_IDLE),
            _ => MAX_IDLE,
        };
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = wake.notified() => {}
            // A slot came free: its destination may take another callback.
            Some(_) = flights.next_done() => {}
            _ = tokio::time::sleep(idle.max(Duration::from_millis(10))) => {}
        }
    }
}

/// The callbacks in flight, where each goes, and how many go to each destination.
#[derive(Default)]
struct Flights {
    tasks: JoinSet<()>,
    destinations: HashMap<tokio::task::Id, String>,
    per_destination: HashMap<String, usize>,
}

impl Flights {
    fn len(&self) -> usize {
        self.tasks.len()
    }

    /// The destinations at their limit, which the next callback taken must not go to.
    fn busy(&self) -> Vec<String> {
        (self.per_destination.iter())
            .filter(|(_, count)| **count >= PER_DESTINATION)
            .map(|(destination, _)| destination.clone())
            .collect()
    }

    fn start(&mut self, services: &Arc<Services>, client: &reqwest::Client, job: Job) {
        let destination = jobs::ledger::callback_destination(job.row.notify_url.as_deref());
        *self.per_destination.entry(destination.clone()).or_default() += 1;
        let (services, client) = (services.clone(), client.clone());
        let task = self
            .tasks
            .spawn(async move { send(&services, &client, &job).await });
        self.destinations.insert(task.id(), destination);
    }

    /// Counts the callbacks that ended.
    fn reap(&mut self) {
        while let Some(done) = self.tasks.try_join_next_with_id() {
            self.ended(done.map_or_else(|error| error.id(), |(id, ())| id));
        }
    }

    /// Waits for a callback to end (never, when none is in flight), and counts it.
    async fn next_done(&mut self) -> Option<()> {
        if self.tasks.is_empty() {
            return std::future::pending().await;
        }
        let done = self.tasks.join_next_with_id().await?;
        self.ended(done.map_or_else(|error| error.id(), |(id, ())| id));
        Some(())
    }

    fn ended(&mut self, task: tokio::task::Id) {
        let Some(destination) = self.destinations.remove(&task) else {
            return;
        };
        if let Some(count) = self.per_destination.get_mut(&destination) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                self.per_destination.remove(&destination);
            }
        }
    }
}

async fn send(services: &Services, client: &reqwest::Client, job: &Job) {
    let id = job.row.id;
    let Some(url) = job.row.notify_url.as_deref() else {
        return;
    };
    // The body is the status document of the surface that submitted the job (Qiniu jobs
    // get the prefop JSON their receivers parse).
    let body = notify_body(job);
    let failure = match client.post(url).json(&body).send().await {
        Ok(response) if response.status() == reqwest::StatusCode::OK => None,
        Ok(response) => Some(format!("{url} answered {}", response.status())),
        Err(error) => Some(format!("{url}: {error}")),
    };
    let recorded = match failure {
        None => services.ledger.notification_delivered(id).await,
        Some(error) => {
            let retry_in = backoff(
                services.config.notify_backoff(),
                job.row.notify_attempts.max(0) as u32,
                Duration::from_secs(600),
            );
            tracing::warn!(job = %id, %error, ?retry_in, "callback failed");
            services
                .ledger
                .notification_failed(id, &error, services.config.notify_attempts, retry_in)
                .await
                .map(|status| {
                    if status == Status::CallbackFailed {
                        metrics::counter!("ferrotype_callbacks_failed_total").increment(1);
                    }
                })
        }
    };
    if let Err(error) = recorded {
        tracing::warn!(job = %id, %error, "cannot record the callback outcome");
    }
}
