//! Callbacks: when a job ends with a notify URL, its status JSON is POSTed there until the
//! receiver answers 200, with exponential backoff; after the last attempt the job's code
//! becomes 4 (callback failed).
//!
//! The ledger drives it (`notify_state = 'pending'` with a due time), not memory, so a
//! callback survives a restart and any worker process may send it, exactly once at a time.

use std::sync::Arc;
use std::time::Duration;

use jobs::model::{notify_body, Job, Status};
use jobs::Services;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::handler::backoff;

/// Longest sleep between looks at the ledger (other processes may have made work due).
const MAX_IDLE: Duration = Duration::from_secs(5);

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
    loop {
        if shutdown.is_cancelled() {
            return;
        }
        match services.ledger.take_due_notification(hold).await {
            Ok(Some(job)) => {
                send(&services, &client, &job).await;
                continue;
            }
            Ok(None) => {}
            Err(error) => tracing::warn!(%error, "cannot read pending callbacks"),
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
            _ = tokio::time::sleep(idle.max(Duration::from_millis(10))) => {}
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
