//! Publisher confirms noted in the ledger off the request path, in batches. A submit answers
//! its client once the job is recorded and the broker has confirmed its message; noting the
//! confirm (`published_at`, which keeps the sweeper from publishing the job again) need not
//! hold the answer back. One task takes every id noted since its last `UPDATE` and notes them
//! all in the next, so under load a hundred confirms cost one statement, and when idle an id
//! is noted at once. A note lost to a crash or a full queue costs nothing but a republish: the
//! sweeper publishes the job again after the publish grace, and the claim drops the duplicate
//! (the claim sets `published_at` too).

use tokio::sync::mpsc;
use uuid::Uuid;

use crate::ledger::Ledger;

/// Ids waiting to be noted, at most; past it a note is dropped (see the module note).
const QUEUED: usize = 65_536;

/// Ids noted in one statement, at most.
const BATCH: usize = 1_000;

/// The handle submits note their confirms through.
#[derive(Debug, Clone)]
pub struct PublishMarks {
    sender: mpsc::Sender<Uuid>,
}

impl PublishMarks {
    /// Starts the task that notes confirms in `ledger`; it ends when every handle is gone.
    pub fn start(ledger: Ledger) -> PublishMarks {
        let (sender, receiver) = mpsc::channel(QUEUED);
        tokio::spawn(note_all(ledger, receiver));
        PublishMarks { sender }
    }

    /// Notes that the broker confirmed the message of job `id`.
    pub fn note(&self, id: Uuid) {
        if self.sender.try_send(id).is_err() {
            metrics::counter!("ferrotype_publish_marks_dropped_total").increment(1);
        }
    }
}

async fn note_all(ledger: Ledger, mut receiver: mpsc::Receiver<Uuid>) {
    let mut ids = Vec::with_capacity(BATCH);
    while receiver.recv_many(&mut ids, BATCH).await > 0 {
        if let Err(error) = ledger.mark_published_all(&ids).await {
            tracing::warn!(jobs = ids.len(), %error, "cannot note publisher confirms; the sweeper will republish");
        }
        ids.clear();
    }
}
