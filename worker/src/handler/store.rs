//! Each item's result written to its target and recorded through the job's lease, one by one,
//! renewing the lease after each.

use std::time::{Duration, Instant};

use bytes::Bytes;
use jobs::ledger::{FailedItem, ItemOutcome, Lease, SavedItem};
use jobs::model::ItemRow;
use jobs::objects::{ObjectMeta, ObjectRecord};
use jobs::Services;

use super::stop::{held, with_retries, Stop};

/// What an item came to before the store step.
pub(super) enum Made {
    /// A rendered result to write to the item's target; `render_share` is its part of the
    /// render's time (one decode serves several items).
    Image {
        rendered: pipeline::Rendered,
        render_share: Duration,
    },
    /// An outcome with nothing to write: a reused result or a failure.
    Done(ItemOutcome),
}

/// Writes and records every item. `source_hash` is recorded with each saved result.
#[tracing::instrument(skip_all)]
pub(super) async fn store_all(
    services: &Services,
    lease: &Lease,
    made: impl IntoIterator<Item = (ItemRow, Made)>,
    source_hash: &str,
) -> Result<(), Stop> {
    for (item, made) in made {
        let started = Instant::now();
        let (outcome, render_share) = match made {
            Made::Image {
                rendered,
                render_share,
            } => (
                save(services, &item, rendered, source_hash).await?,
                render_share,
            ),
            Made::Done(outcome) => (outcome, Duration::ZERO),
        };
        metrics::histogram!("ferrotype_item_processing_seconds")
            .record((started.elapsed() + render_share).as_secs_f64());
        if let ItemOutcome::Failed(failure) = &outcome {
            let (code, message) = (&failure.code, &failure.message);
            tracing::info!(item = item.idx, %code, %message, "item failed");
        }
        // The heartbeat keeps the lease; recording checks it is still held.
        held(lease.record(item.idx, &outcome).await?)?;
    }
    Ok(())
}

/// Saves one item's result. A transient storage failure stops the job (a later attempt may
/// get past it); every other failure is the item's outcome.
#[tracing::instrument(skip_all, fields(item = item.idx))]
async fn save(
    services: &Services,
    item: &ItemRow,
    rendered: pipeline::Rendered,
    source_hash: &str,
) -> Result<ItemOutcome, Stop> {
    let (width, height) = (rendered.width, rendered.height);
    let format = rendered.extension().to_string();
    let meta = ObjectMeta {
        content_type: Some(rendered.mime().to_string()),
        ..ObjectMeta::default()
    };
    let bytes = Bytes::from(rendered.bytes);
    let (bucket, key) = (&item.target_bucket, &item.target_key);
    let put = || services.buckets.put(bucket, key, bytes.clone(), None);
    match with_retries(put).await {
        Ok(stored) => {
            let record = ObjectRecord::of_stored(&stored, key, meta, &[]);
            services.ledger.record_object(bucket, key, &record).await?;
            Ok(ItemOutcome::Saved(SavedItem {
                size: i64::try_from(stored.size).unwrap_or(i64::MAX),
                hash: stored.hash,
                width,
                height,
                format,
                source_hash: source_hash.to_string(),
                return_old: false,
            }))
        }
        Err(error) if error.is_transient() => Err(Stop::transient(&error)),
        Err(error) => Ok(ItemOutcome::Failed(FailedItem::new(
            error.code(),
            error.to_string(),
        ))),
    }
}
