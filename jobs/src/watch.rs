//! Waiting for jobs to end without polling the ledger: [`JobWatch`].
//!
//! The ledger announces every job that ends on the Postgres channel [`CHANNEL`]
//! (`pg_notify` in the statement that finishes it, delivered at commit). One listener per
//! process (started on the first wait, so a worker-only process never opens it) wakes the
//! requests waiting for that job, which then read it once. A notification can be lost while
//! the listener reconnects, so a waiter also looks again every [`FALLBACK`]: 200 waiting
//! requests cost the ledger a few reads a second, not the 8,000 of a 25 ms poll.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use sqlx::postgres::PgListener;
use tokio::sync::{Notify, OnceCell};
use tokio::time::Instant;
use uuid::Uuid;

use crate::error::LedgerError;
use crate::ledger::Ledger;
use crate::model::Job;

/// The channel the ledger announces ended jobs on; the payload is the job id.
pub const CHANNEL: &str = "ferrotype_job_ended";

/// How often a waiter looks at its job even without a notification.
const FALLBACK: Duration = Duration::from_secs(1);

/// How long the listener waits before connecting again after an error.
const RECONNECT_PAUSE: Duration = Duration::from_secs(1);

/// Wakes requests when the jobs they wait for end. Cheap to clone.
#[derive(Clone)]
pub struct JobWatch {
    database_url: String,
    waiters: Arc<Mutex<Waiters>>,
    listener: Arc<OnceCell<()>>,
}

/// The waiters' wake-ups, by job id, with how many wait on each.
type Waiters = HashMap<Uuid, (Arc<Notify>, usize)>;

impl std::fmt::Debug for JobWatch {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.debug_struct("JobWatch").finish_non_exhaustive()
    }
}

impl JobWatch {
    /// A watch that listens on `database_url` once someone waits.
    pub fn new(database_url: &str) -> JobWatch {
        JobWatch {
            database_url: database_url.to_string(),
            waiters: Arc::new(Mutex::new(HashMap::new())),
            listener: Arc::new(OnceCell::new()),
        }
    }

    /// Waits until the job is final (success, failed or callback failed) and returns it;
    /// `None` when `timeout` passes first (the job goes on) or the job does not exist.
    pub async fn wait_for_end(
        &self,
        ledger: &Ledger,
        id: Uuid,
        timeout: Duration,
    ) -> Result<Option<Job>, LedgerError> {
        self.start_listener().await;
        let deadline = Instant::now() + timeout;
        let registration = Registration::new(self, id);
        loop {
            // Armed before the read, so an end announced between the read and the wait
            // still wakes this waiter.
            let notified = registration.wake.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            match ledger.job(id).await? {
                Some(job) if job.status().is_final() => return Ok(Some(job)),
                None => return Ok(None),
                Some(_) => {}
            }
            let now = Instant::now();
            if now >= deadline {
                return Ok(None);
            }
            let pause = FALLBACK.min(deadline - now);
            let _ = tokio::time::timeout(pause, notified).await;
        }
    }

    async fn start_listener(&self) {
        let url = self.database_url.clone();
        let waiters = self.waiters.clone();
        self.listener
            .get_or_init(|| async move {
                tokio::spawn(listen(url, waiters));
            })
            .await;
    }
}

/// One waiter's place in [`Waiters`], removed when it is dropped.
struct Registration<'w> {
    watch: &'w JobWatch,
    id: Uuid,
    wake: Arc<Notify>,
}

impl<'w> Registration<'w> {
    fn new(watch: &'w JobWatch, id: Uuid) -> Registration<'w> {
        let mut waiters = watch.waiters.lock().unwrap_or_else(PoisonError::into_inner);
        let entry = waiters
            .entry(id)
            .or_insert_with(|| (Arc::new(Notify::new()), 0));
        entry.1 += 1;
        let wake = entry.0.clone();
        Registration { watch, id, wake }
    }
}

impl Drop for Registration<'_> {
    fn drop(&mut self) {
        let mut waiters = (self.watch.waiters.lock()).unwrap_or_else(PoisonError::into_inner);
        if let Some(entry) = waiters.get_mut(&self.id) {
            entry.1 -= 1;
            if entry.1 == 0 {
                waiters.remove(&self.id);
            }
        }
    }
}

/// The listener: forever, wake the waiters of each announced job; after a reconnection
/// (when announcements may have been lost) wake them all to look again.
async fn listen(url: String, waiters: Arc<Mutex<Waiters>>) {
    loop {
        let mut listener = match connect(&url).await {
            Ok(listener) => listener,
            Err(error) => {
                tracing::warn!(%error, "job watch: cannot listen; waiters poll meanwhile");
                tokio::time::sleep(RECONNECT_PAUSE).await;
                continue;
            }
        };
        loop {
            match listener.try_recv().await {
                Ok(Some(notification)) => match Uuid::parse_str(notification.payload()) {
                    Ok(id) => wake(&waiters, Some(id)),
                    Err(_) => {
                        tracing::warn!(payload = notification.payload(), "job watch: not a job id")
                    }
                },
                Ok(None) => wake(&waiters, None),
                Err(error) => {
                    tracing::warn!(%error, "job watch: listener lost");
                    wake(&waiters, None);
                    tokio::time::sleep(RECONNECT_PAUSE).await;
                    break;
                }
            }
        }
    }
}

async fn connect(url: &str) -> Result<PgListener, sqlx::Error> {
    let mut listener = PgListener::connect(url).await?;
    listener.listen(CHANNEL).await?;
    Ok(listener)
}

/// Wakes the waiters of `id`, or every waiter.
fn wake(waiters: &Mutex<Waiters>, id: Option<Uuid>) {
    let waiters = waiters.lock().unwrap_or_else(PoisonError::into_inner);
    match id {
        Some(id) => {
            if let Some((wake, _)) = waiters.get(&id) {
                wake.notify_waiters();
            }
        }
        None => waiters.values().for_each(|(wake, _)| wake.notify_waiters()),
    }
}
