//! Jobs as clients ask for them: by the id they were answered (as text). Waiting for one to
//! end is [`crate::watch::JobWatch`].

use uuid::Uuid;

use crate::credentials::Permission;
use crate::error::LedgerError;
use crate::ledger::{AccessKey, Ledger};
use crate::model::Job;

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
