//! The one delete path every surface calls: check the write grant, refuse the reserved
//! namespace, delete the object and its record, then its GET-processed results (they are named after the
//! object and no request can reach them once it is gone; a later object under the same key
//! has another version, so it would never be served them anyway).

use crate::buckets::validate_client_key;
use crate::credentials::Permission;
use crate::error::Failure;
use crate::ledger::AccessKey;
use crate::processed::results_folder;
use crate::Services;

/// Deletes `bucket`/`key` on behalf of `who`. A key that does not exist is no error.
#[tracing::instrument(skip(services, who), fields(access_key = %who.access_key))]
pub async fn delete(
    services: &Services,
    who: &AccessKey,
    bucket: &str,
    key: &str,
) -> Result<(), Failure> {
    who.require(bucket, Permission::Write)?;
    validate_client_key(key)?;
    services.buckets.delete(bucket, key).await?;
    services.ledger.forget_object(bucket, key).await?;
    let results = results_folder(&services.config, bucket, key);
    // The object is gone whatever happens here: a result left behind is only space.
    if let Err(error) = (services.buckets)
        .delete_folder_files(&results.bucket, &results.key)
        .await
    {
        tracing::warn!(%error, "the processed results of a deleted object were not deleted");
    }
    Ok(())
}
