//! Jobs as clients ask for them: by the id they were answered (as text), and waited for until
//! they end (the synchronous OSS `POST ?x-oss-process`).

use std::time::Duration;

use tokio::time::Instant;
use uuid::Uuid;

use crate::credentials::Permission;
use crate::error::LedgerError;
use crate::ledger::{AccessKey, Ledger};
use crate::model::Job;

/// How often a waiting caller looks at its job.
const POLL: Duration = Duration::from_millis(25);

/// The job whose id is `id`; `NoSuchJob` when `id` is not a job id, or no job has it.
pub async fn find_job(ledger: &Ledger, id: &str) -> Result<Job, LedgerError> {
    let no_such_job = || LedgerError::NoSuchJob(id.to_string());
    let uuid = Uuid::parse_str(id).map_err(|_| no_such_job())?;
    ledger.job(uuid).await?.ok_or_else(no_such_job)
}

/// The job, if `who` may see it: whoever may read its source bucket, since its status names
/// the source and the targets, which are that bucket owner's business. Otherwise
/// `NoSuchJob`, not a denial: whether a job id exists is itself not the caller's to know.
pub async fn find_job_for(ledger: &Ledger, who: &AccessKey, id: &str) -> Result<Job, LedgerError> {
    let job = find_job(ledger, id).await?;
    if who.allows(&job.row.input_bucket, Permission::Read) {
        Ok(job)
    } else {
        Err(LedgerError::NoSuchJob(id.to_string()))
    }
}

/// Waits until the job is final (success, failed or callback failed) and returns it; `None`
/// when `timeout` passes first (the job goes on).
pub async fn wait_for_end(
    ledger: &Ledger,
    id: Uuid,
    timeout: Duration,
) -> Result<Option<Job>, LedgerError> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(job) = ledger.job(id).await? {
            if job.status().is_final() {
                return Ok(Some(job));
            }
        }
        if Instant::now() >= deadline {
            return Ok(None);
        }
        tokio::time::sleep(POLL).await;
    }
}
