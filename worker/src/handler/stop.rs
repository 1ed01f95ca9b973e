//! Why a job stops before it is finished, and the retries that come before giving up.

use std::time::Duration;

use jobs::error::{LedgerError, StoreError};
use jobs::ledger::Lease;
use rand::RngExt;

/// Storage I/O is retried in place this many times before the job is given back.
const IO_TRIES: u32 = 3;

/// Why a job's body stopped early. Each is settled in one place, `handler::run`.
#[derive(Debug)]
pub(super) enum Stop {
    /// Another worker holds the job now: write nothing more.
    LeaseLost,
    /// A transient failure (storage, shutdown): give the job back for a later attempt.
    GiveBack(String),
    /// The ledger could not be reached: nothing is decided, the delivery is requeued.
    Ledger(LedgerError),
    /// The worker is shutting down past its grace: hand the job back at once.
    Shutdown,
}

impl Stop {
    /// A transient storage failure that a later attempt may get past.
    pub(super) fn transient(error: &StoreError) -> Stop {
        Stop::GiveBack(error.to_string())
    }
}

impl From<LedgerError> for Stop {
    fn from(error: LedgerError) -> Stop {
        Stop::Ledger(error)
    }
}

/// `Err(Stop::LeaseLost)` unless the ledger says the lease is still held.
pub(super) fn held(still_held: bool) -> Result<(), Stop> {
    if still_held {
        Ok(())
    } else {
        Err(Stop::LeaseLost)
    }
}

/// Hands the job back for a later attempt, with exponential backoff and jitter.
pub(super) async fn give_back(
    lease: &Lease,
    attempts: i32,
    reason: &str,
) -> Result<(), LedgerError> {
    let attempt = u32::try_from(attempts.max(1) - 1).unwrap_or(0);
    let backoff = backoff(Duration::from_secs(1), attempt, Duration::from_secs(300));
    tracing::warn!(error = %reason, ?backoff, "transient failure; job given back");
    lease.release(reason, backoff).await
}

/// `base * 2^attempt`, capped, with up to 50% random jitter so retries from many jobs spread.
pub fn backoff(base: Duration, attempt: u32, cap: Duration) -> Duration {
    let exponential = base.saturating_mul(1u32 << attempt.min(16)).min(cap);
    let jitter = rand::rng().random_range(0.0..0.5);
    exponential.mul_f64(1.0 + jitter).min(cap)
}

/// Runs a storage operation, trying a transient failure again (with backoff) up to
/// [`IO_TRIES`] times.
pub(super) async fn with_retries<T, F, Fut>(mut operation: F) -> Result<T, StoreError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, StoreError>>,
{
    let mut attempt = 0;
    loop {
        match operation().await {
            Err(error) if error.is_transient() && attempt + 1 < IO_TRIES => {
                let pause = backoff(Duration::from_millis(100), attempt, Duration::from_secs(2));
                tokio::time::sleep(pause).await;
                attempt += 1;
            }
            other => return other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_with_bounded_jitter_and_respects_the_cap() {
        let base = Duration::from_millis(100);
        let cap = Duration::from_secs(2);
        for attempt in 0..6 {
            let exponential = base * (1 << attempt);
            let got = backoff(base, attempt, cap);
            assert!(got >= exponential.min(cap), "attempt {attempt}: {got:?}");
            assert!(
                got <= exponential.mul_f64(1.5).min(cap),
                "attempt {attempt}: {got:?}"
            );
        }
        assert_eq!(backoff(base, 40, cap), cap);
    }
}
