//! Qiniu `returnOld`: an identical command already made this target from these same bytes,
//! so its result is reused unless the job insists (`force`). Checked here, not at submit,
//! because only the worker knows the source's content hash.

use jobs::ledger::{ItemOutcome, SavedItem};
use jobs::model::{ItemRow, Job};
use jobs::Services;

use super::stop::Stop;
use super::store::Made;

/// A job's pending items, split into those an earlier result serves and those to render.
pub(super) struct Split {
    pub reused: Vec<(ItemRow, Made)>,
    pub to_render: Vec<ItemRow>,
}

/// Looks up each pending item's earlier result.
#[tracing::instrument(skip_all, fields(items = pending.len()))]
pub(super) async fn split(
    services: &Services,
    job: &Job,
    pending: Vec<ItemRow>,
    source_hash: &str,
) -> Result<Split, Stop> {
    let mut split = Split {
        reused: Vec::new(),
        to_render: Vec::with_capacity(pending.len()),
    };
    for item in pending {
        let earlier = if job.row.force {
            None
        } else {
            earlier_result(services, job, &item, source_hash).await?
        };
        match earlier {
            Some(saved) => split
                .reused
                .push((item, Made::Done(ItemOutcome::Saved(saved)))),
            None => split.to_render.push(item),
        }
    }
    Ok(split)
}

/// The result of an identical earlier item, if the bucket still holds it. The ledger
/// remembers the result; the bucket must still hold it (same size) for it to be reused.
/// Deleted, replaced, or unreadable just now: the work is done again.
async fn earlier_result(
    services: &Services,
    job: &Job,
    item: &ItemRow,
    source_hash: &str,
) -> Result<Option<SavedItem>, Stop> {
    let ledger = &services.ledger;
    let Some(earlier) = ledger.reusable_item(job.row.id, item, source_hash).await? else {
        return Ok(None);
    };
    let current = services
        .buckets
        .size(&item.target_bucket, &item.target_key)
        .await;
    let expected = earlier.size.and_then(|size| u64::try_from(size).ok());
    if !matches!(current, Ok(Some(size)) if Some(size) == expected) {
        return Ok(None);
    }
    Ok(Some(SavedItem {
        size: earlier.size.unwrap_or_default(),
        hash: earlier.hash.unwrap_or_default(),
        width: u32::try_from(earlier.width.unwrap_or_default()).unwrap_or_default(),
        height: u32::try_from(earlier.height.unwrap_or_default()).unwrap_or_default(),
        format: earlier.format.unwrap_or_default(),
        source_hash: source_hash.to_string(),
        return_old: true,
    }))
}
