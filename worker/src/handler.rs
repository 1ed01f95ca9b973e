//! One job, from claim to finish.
//!
//! Items already recorded as done (by an earlier attempt that was interrupted) are skipped, so
//! a retried job only redoes what is missing; targets are whole-object overwrites, so redoing
//! an item is harmless.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use bytes::Bytes;
use jobs::error::{LedgerError, StoreError};
use jobs::ledger::ItemOutcome;
use jobs::model::{Dialect, ItemRow, Job, Status};
use jobs::submit::{parse_command, CommandText};
use jobs::Services;
use rand::RngExt;
use tokio::sync::Semaphore;
use uuid::Uuid;

/// What the consumer does with the delivery.
#[derive(Debug)]
pub enum Disposition {
    /// Acknowledge: the ledger holds the outcome (or the delivery was a duplicate).
    Done { finished: bool },
    /// Requeue: the ledger was unreachable, nothing was decided.
    LedgerUnavailable,
}

/// Storage I/O is retried in place this many times before the job is given back.
const IO_TRIES: u32 = 3;

/// `render_slots` bounds the renders running at once across the worker's jobs; a job holds a
/// slot only while its pixels are being worked, not during its storage and ledger round trips.
pub async fn process(
    services: &Services,
    owner: &str,
    render_slots: &Semaphore,
    id: Uuid,
) -> Disposition {
    match run_job(services, owner, render_slots, id).await {
        Ok(finished) => Disposition::Done { finished },
        Err(error) => {
            tracing::error!(job = %id, %error, "ledger error while processing");
            Disposition::LedgerUnavailable
        }
    }
}

/// Returns whether the job was finished by this call.
async fn run_job(
    services: &Services,
    owner: &str,
    render_slots: &Semaphore,
    id: Uuid,
) -> Result<bool, LedgerError> {
    let config = &services.config;
    let Some(job) = services
        .ledger
        .claim(id, owner, config.lease(), config.max_attempts)
        .await?
    else {
        tracing::debug!(job = %id, "duplicate or unknown delivery dropped");
        return Ok(false);
    };
    tracing::info!(job = %id, attempt = job.row.attempts, "job claimed");

    let source_object = match with_retries(|| {
        services.buckets.get(
            &job.row.input_bucket,
            &job.row.input_key,
            config.max_source_bytes,
        )
    })
    .await
    {
        Ok(object) => object,
        Err(error) if error.is_transient() => {
            return give_back(services, owner, &job, &error.to_string()).await;
        }
        Err(error) => {
            for item in pending(&job) {
                let outcome = ItemOutcome::Failed {
                    code: error.code().to_string(),
                    message: error.to_string(),
                    step: None,
                };
                services
                    .ledger
                    .record_item(id, owner, item.idx, &outcome)
                    .await?;
            }
            return finish(services, owner, id).await;
        }
    };

    let source = source_object.bytes;
    let source_hash = source_object.etag;
    let styles = services.ledger.style_map(&job.row.input_bucket).await?;
    let items: Vec<&ItemRow> = pending(&job).collect();

    // An identical command already made this target from these same bytes: reuse its result
    // (Qiniu `returnOld`) unless the job insists (`force`). Checked here, not at submit,
    // because only the worker knows the source's content hash.
    let mut reused = Vec::with_capacity(items.len());
    for item in &items {
        let mut old = if job.row.force {
            None
        } else {
            services
                .ledger
                .reusable_item(id, item, &source_hash)
                .await?
        };
        // The ledger remembers the result; the bucket must still hold it (same size) for it
        // to be reused. Deleted, replaced, or unreadable just now: do the work again.
        if let Some(previous) = &old {
            let current = services
                .buckets
                .size(&item.target_bucket, &item.target_key)
                .await;
            let expected = previous.size.and_then(|size| u64::try_from(size).ok());
            if !matches!(current, Ok(Some(size)) if Some(size) == expected) {
                old = None;
            }
        }
        reused.push(old.map(|old| ItemOutcome::Saved {
            size: old.size.unwrap_or_default(),
            hash: old.hash.unwrap_or_default(),
            width: old.width.unwrap_or_default().max(0) as u32,
            height: old.height.unwrap_or_default().max(0) as u32,
            format: old.format.unwrap_or_default(),
            source_hash: source_hash.clone(),
            return_old: true,
        }));
    }

    // Every other pending item is rendered from one decode of the source (`run_many`), then
    // saved and recorded one by one.
    let to_render: Vec<&ItemRow> = items
        .iter()
        .zip(&reused)
        .filter(|(_, reused)| reused.is_none())
        .map(|(item, _)| *item)
        .collect();
    // A job whose every item reuses an earlier result renders nothing and takes no slot.
    let slot = if to_render.is_empty() {
        None
    } else {
        let waited = Instant::now();
        let Ok(slot) = render_slots.acquire().await else {
            // The semaphore is never closed; if it were, the worker is going away.
            return give_back(services, owner, &job, "the worker is shutting down").await;
        };
        let waited = waited.elapsed();
        // Long waits say the CPU, not I/O, holds jobs back: more slots (cores) would help.
        metrics::histogram!("ferrotype_render_slot_wait_seconds").record(waited.as_secs_f64());
        // A long wait for a slot may have eaten into the lease: renew it before the render,
        // and stop if another worker took the job over meanwhile.
        if waited > config.lease() / 4
            && !services
                .ledger
                .renew_lease(id, owner, config.lease())
                .await?
        {
            tracing::warn!(job = %id, "lease lost while waiting for a render slot");
            return Ok(false);
        }
        Some(slot)
    };
    let started = Instant::now();
    let rendered = render_items(services, &to_render, &job.row.input_bucket, source, &styles).await;
    drop(slot);
    let rendered = match rendered {
        Ok(rendered) => rendered,
        Err(error) => return give_back(services, owner, &job, &error.to_string()).await,
    };
    let render_share =
        started.elapsed() / u32::try_from(to_render.len().max(1)).unwrap_or(u32::MAX);
    let mut rendered = rendered.into_iter();
    for (item, reused) in items.into_iter().zip(reused) {
        let started = Instant::now();
        let outcome = match reused {
            Some(outcome) => outcome,
            None => match rendered.next() {
                Some(Ok(result)) => match save_item(services, item, result, &source_hash).await {
                    Ok(outcome) => outcome,
                    Err(error) => {
                        return give_back(services, owner, &job, &error.to_string()).await
                    }
                },
                Some(Err(failed)) => failed,
                None => failed("InternalError", "no result for the item".into(), None),
            },
        };
        metrics::histogram!("ferrotype_item_processing_seconds")
            .record((started.elapsed() + render_share).as_secs_f64());
        if let ItemOutcome::Failed { code, message, .. } = &outcome {
            tracing::info!(job = %id, item = item.idx, %code, %message, "item failed");
        }
        if !services
            .ledger
            .record_item(id, owner, item.idx, &outcome)
            .await?
            || !services
                .ledger
                .renew_lease(id, owner, config.lease())
                .await?
        {
            tracing::warn!(job = %id, "lease lost; another worker owns the job now");
            return Ok(false);
        }
    }
    finish(services, owner, id).await
}

fn pending(job: &Job) -> impl Iterator<Item = &ItemRow> {
    job.items
        .iter()
        .filter(|item| item.status != Status::Success.code())
}

fn failed(code: &str, message: String, step: Option<usize>) -> ItemOutcome {
    ItemOutcome::Failed {
        code: code.to_string(),
        message,
        step,
    }
}

/// Parses every item's pipeline, reads the watermark images they name, and runs them on the
/// blocking pool, decoding the source once for all of them. One result per item, in order:
/// the rendered image or the item's failure. `Err` is a transient storage failure (reading
/// a watermark image) that a later attempt may get past.
async fn render_items(
    services: &Services,
    items: &[&ItemRow],
    source_bucket: &str,
    source: Bytes,
    styles: &HashMap<String, String>,
) -> Result<Vec<Result<pipeline::Rendered, ItemOutcome>>, StoreError> {
    let mut results: Vec<Result<pipeline::Rendered, ItemOutcome>> = Vec::with_capacity(items.len());
    let mut parsed = Vec::new();
    let mut assets = HashMap::new();
    for (index, item) in items.iter().enumerate() {
        match item_pipeline(item, styles) {
            Ok(pipeline) => match fetch_assets(services, source_bucket, &pipeline).await {
                Ok(found) => {
                    assets.extend(found);
                    parsed.push((index, pipeline));
                    // A placeholder, replaced by the pipeline's result below.
                    results.push(Err(failed("InternalError", String::new(), None)));
                }
                Err(AssetFailure::Transient(error)) => return Err(error),
                Err(AssetFailure::Item(message)) => results.push(Err(failed(
                    pipeline::ErrorCode::WatermarkError.as_str(),
                    message,
                    None,
                ))),
            },
            Err(outcome) => results.push(Err(outcome)),
        }
    }
    if parsed.is_empty() {
        return Ok(results);
    }
    let limits = pipeline::Limits {
        max_source_bytes: usize::try_from(services.config.max_source_bytes).unwrap_or(usize::MAX),
        ..pipeline::Limits::default()
    };
    // The engine checks the deadline between stages; the outer timeout is the backstop for a
    // single stage that runs away, so the job still ends. Each item has its own allowance.
    let timeout = services
        .config
        .item_timeout()
        .saturating_mul(u32::try_from(parsed.len()).unwrap_or(u32::MAX));
    let deadline = Instant::now() + timeout;
    let indices: Vec<usize> = parsed.iter().map(|(index, _)| *index).collect();
    // A video source's frame extraction shares the items' time allowance.
    let extractor = crate::video::Ffmpeg::from_env(timeout);
    let render = tokio::task::spawn_blocking(move || {
        let pipelines: Vec<&pipeline::Pipeline> =
            parsed.iter().map(|(_, pipeline)| pipeline).collect();
        crate::video::run_pipelines(
            &pipelines,
            &source,
            &limits,
            Some(deadline),
            &assets,
            pipeline::fonts::SystemFonts::shared(),
            &extractor,
        )
    });
    let outcomes: Vec<Result<pipeline::Rendered, ItemOutcome>> =
        match tokio::time::timeout(timeout + timeout / 2, render).await {
            Ok(Ok(rendered)) => rendered
                .into_iter()
                .map(|result| {
                    result
                        .map_err(|error| failed(error.code.as_str(), error.to_string(), error.step))
                })
                .collect(),
            Ok(Err(join_error)) => indices
                .iter()
                .map(|_| {
                    Err(failed(
                        "InternalError",
                        format!("processing crashed: {join_error}"),
                        None,
                    ))
                })
                .collect(),
            Err(_) => indices
                .iter()
                .map(|_| {
                    Err(failed(
                        "DeadlineExceeded",
                        format!(
                            "processing took longer than {} ms",
                            services.config.item_timeout_ms
                        ),
                        None,
                    ))
                })
                .collect(),
        };
    for (index, outcome) in indices.into_iter().zip(outcomes) {
        if let Some(slot) = results.get_mut(index) {
            *slot = outcome;
        }
    }
    Ok(results)
}

/// The pipeline an item runs: the canonical form recorded at submit is what was validated
/// (styles expanded then); rows without one are parsed again from the text, against the
/// bucket's styles now.
fn item_pipeline(
    item: &ItemRow,
    styles: &HashMap<String, String>,
) -> Result<pipeline::Pipeline, ItemOutcome> {
    let Some(dialect) = Dialect::parse(&item.dialect) else {
        return Err(failed(
            "InternalError",
            format!("unknown dialect {:?}", item.dialect),
            None,
        ));
    };
    let command = CommandText {
        text: item.cmd.clone(),
        dialect,
    };
    let parsed = match &item.canonical {
        Some(canonical) => pipeline::parse::parse_canonical(canonical),
        None => parse_command(&command, styles).map(|command| command.pipeline),
    };
    parsed.map_err(|error| failed(error.code.as_str(), error.to_string(), error.step))
}

/// Saves one item's result. `Err` is a transient storage failure that a later attempt may get
/// past; every other failure is the item's outcome.
async fn save_item(
    services: &Services,
    item: &ItemRow,
    rendered: pipeline::Rendered,
    source_hash: &str,
) -> Result<ItemOutcome, StoreError> {
    let (width, height, format) = (
        rendered.width,
        rendered.height,
        rendered.extension().to_string(),
    );
    let bytes = Bytes::from(rendered.bytes);
    match with_retries(|| {
        services
            .buckets
            .put(&item.target_bucket, &item.target_key, bytes.clone())
    })
    .await
    {
        Ok(stored) => Ok(ItemOutcome::Saved {
            size: stored.size as i64,
            hash: stored.hash,
            width,
            height,
            format,
            source_hash: source_hash.to_string(),
            return_old: false,
        }),
        Err(error) if error.is_transient() => Err(error),
        Err(error) => Ok(failed(error.code().as_str(), error.to_string(), None)),
    }
}

async fn finish(services: &Services, owner: &str, id: Uuid) -> Result<bool, LedgerError> {
    match services.ledger.finish_job(id, owner).await? {
        Some(job) => {
            let status = job.status();
            metrics::counter!("ferrotype_jobs_finished_total", "status" => status.as_str())
                .increment(1);
            tracing::info!(job = %id, status = status.as_str(), "job finished");
            Ok(true)
        }
        None => Ok(false),
    }
}

/// Hands the job back for a later attempt, with exponential backoff and jitter.
async fn give_back(
    services: &Services,
    owner: &str,
    job: &Job,
    error: &str,
) -> Result<bool, LedgerError> {
    let backoff = backoff(
        Duration::from_secs(1),
        job.row.attempts.max(1) as u32 - 1,
        Duration::from_secs(300),
    );
    tracing::warn!(job = %job.row.id, %error, ?backoff, "transient failure; job given back");
    services
        .ledger
        .release_for_retry(job.row.id, owner, error, backoff)
        .await?;
    Ok(false)
}

/// `base * 2^attempt`, capped, with up to 50% random jitter so retries from many jobs spread.
pub fn backoff(base: Duration, attempt: u32, cap: Duration) -> Duration {
    let exponential = base.saturating_mul(1u32 << attempt.min(16)).min(cap);
    let jitter = rand::rng().random_range(0.0..0.5);
    exponential.mul_f64(1.0 + jitter).min(cap)
}

/// Why the watermark images of an item could not be read.
enum AssetFailure {
    /// Storage trouble a later attempt may get past.
    Transient(StoreError),
    /// The item fails: a missing or unreadable image.
    Item(String),
}

/// Reads the watermark images `pipeline` refers to. A reference is `bucket:key`, or a key in
/// the source's bucket (see `pipeline::ops::watermark`); each is capped like a source.
async fn fetch_assets(
    services: &Services,
    source_bucket: &str,
    pipeline: &pipeline::Pipeline,
) -> Result<HashMap<String, Vec<u8>>, AssetFailure> {
    let mut assets = HashMap::new();
    for reference in pipeline.asset_references() {
        let (bucket, key) = jobs::buckets::asset_location(reference, source_bucket);
        let limit = services.config.max_source_bytes;
        match with_retries(|| services.buckets.get(bucket, key, limit)).await {
            Ok(object) => {
                assets.insert(reference.to_string(), object.bytes.to_vec());
            }
            Err(error) if error.is_transient() => return Err(AssetFailure::Transient(error)),
            Err(error) => {
                return Err(AssetFailure::Item(format!(
                    "watermark: image '{reference}': {error}"
                )))
            }
        }
    }
    Ok(assets)
}

async fn with_retries<T, F, Fut>(mut operation: F) -> Result<T, StoreError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, StoreError>>,
{
    let mut attempt = 0;
    loop {
        match operation().await {
            Err(error) if error.is_transient() && attempt + 1 < IO_TRIES => {
                tokio::time::sleep(backoff(
                    Duration::from_millis(100),
                    attempt,
                    Duration::from_secs(2),
                ))
                .await;
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
