//! The items to render: their pipelines parsed, the watermark images they name read from the
//! buckets, then all of them rendered on a render thread from one decode of the source,
//! holding one render slot and the render's estimated peak memory (items whose estimate alone
//! is over the whole budget fail at once with `ImageTooLarge`).

use std::collections::HashMap;
use std::time::Instant;

use bytes::Bytes;
use jobs::ledger::{FailedItem, ItemOutcome};
use jobs::model::{Dialect, ItemRow, Job};
use jobs::submit::{parse_command, CommandText};
use jobs::Services;
use pipeline::{Pipeline, PipelineError, Rendered};

use super::stop::{with_retries, Stop};
use super::store::Made;
use super::Worker;
use crate::capacity::{Admitted, Capacity, Refusal};

/// An item ready for the engine, with its parsed pipeline.
type Ready = (ItemRow, Pipeline);

/// Items ready for the engine, and those that already failed on the way there.
struct Prepared {
    ready: Vec<(ItemRow, Pipeline)>,
    failed: Vec<(ItemRow, Made)>,
    /// The watermark images of every ready pipeline, by the reference the pipeline uses.
    assets: HashMap<String, Vec<u8>>,
}

/// Renders `items` from `source`: one result or failure per item.
#[tracing::instrument(skip_all, fields(items = items.len()))]
pub(super) async fn render(
    worker: Worker<'_>,
    job: &Job,
    items: Vec<ItemRow>,
    source: Bytes,
) -> Result<Vec<(ItemRow, Made)>, Stop> {
    if items.is_empty() {
        return Ok(Vec::new());
    }
    let prepared = prepare(worker.services, job, items).await?;
    let mut made = prepared.failed;
    let limits = worker.services.config.engine_limits();
    let (ready, over_budget) = within_budget(worker.capacity, prepared.ready, &source, &limits);
    made.extend(over_budget);
    if ready.is_empty() {
        return Ok(made);
    }
    let (cost, count) = (estimate(&ready, &source, &limits).total, ready.len());
    let admitted = admit(worker, cost).await?;
    let started = Instant::now();
    let results = run_engine(worker.services, ready, prepared.assets, source, limits).await;
    drop(admitted);
    let render_share = started.elapsed() / u32::try_from(count).unwrap_or(u32::MAX);
    made.extend(results.into_iter().map(|(item, result)| {
        let made = match result {
            Ok(rendered) => Made::Image {
                rendered,
                render_share,
            },
            Err(error) => failed(FailedItem::from_pipeline(&error)),
        };
        (item, made)
    }));
    Ok(made)
}

/// The estimated peak memory of rendering `ready` from `source` (see `pipeline::cost`).
fn estimate(
    ready: &[(ItemRow, Pipeline)],
    source: &[u8],
    limits: &pipeline::Limits,
) -> pipeline::cost::BatchCost {
    let pipelines: Vec<&Pipeline> = ready.iter().map(|(_, pipeline)| pipeline).collect();
    pipeline::cost::estimate(&pipelines, source, limits)
}

/// Splits off the items whose render alone would be over the whole memory budget: they fail
/// now with `ImageTooLarge`, naming the estimate and the budget, instead of waiting forever.
fn within_budget(
    capacity: &Capacity,
    ready: Vec<(ItemRow, Pipeline)>,
    source: &[u8],
    limits: &pipeline::Limits,
) -> (Vec<Ready>, Vec<(ItemRow, Made)>) {
    let cost = estimate(&ready, source, limits);
    let mut fitting = Vec::with_capacity(ready.len());
    let mut refused = Vec::new();
    for ((item, pipeline), bytes) in ready.into_iter().zip(cost.each) {
        match capacity.check(bytes) {
            Ok(()) => fitting.push((item, pipeline)),
            Err(refusal) => refused.push((item, failed(over_budget(&refusal)))),
        }
    }
    (fitting, refused)
}

fn over_budget(refusal: &Refusal) -> FailedItem {
    let message = match refusal {
        Refusal::OverBudget {
            needed_mib,
            budget_mib,
        } => format!(
            "this render needs about {needed_mib} MiB, over the worker's memory budget of \
             {budget_mib} MiB (FERROTYPE_MEMORY_BUDGET_MIB)"
        ),
        Refusal::Closed => "the worker is shutting down".to_string(),
    };
    FailedItem::new(pipeline::ErrorCode::ImageTooLarge.into(), message)
}

/// Parses each item's pipeline and reads the watermark images it names.
async fn prepare(services: &Services, job: &Job, items: Vec<ItemRow>) -> Result<Prepared, Stop> {
    let styles = item_styles(services, job, &items).await?;
    let mut prepared = Prepared {
        ready: Vec::with_capacity(items.len()),
        failed: Vec::new(),
        assets: HashMap::new(),
    };
    for item in items {
        let pipeline = match item_pipeline(&item, &styles) {
            Ok(pipeline) => pipeline,
            Err(error) => {
                let made = failed(FailedItem::from_pipeline(&error));
                prepared.failed.push((item, made));
                continue;
            }
        };
        match fetch_assets(services, &job.row.input_bucket, &pipeline).await? {
            Ok(assets) => {
                prepared.assets.extend(assets);
                prepared.ready.push((item, pipeline));
            }
            Err(message) => {
                let code = pipeline::ErrorCode::WatermarkError.into();
                prepared
                    .failed
                    .push((item, failed(FailedItem::new(code, message))));
            }
        }
    }
    Ok(prepared)
}

/// The source bucket's styles, read only when an item has no canonical form to run.
async fn item_styles(
    services: &Services,
    job: &Job,
    items: &[ItemRow],
) -> Result<HashMap<String, String>, Stop> {
    if items.iter().all(|item| item.canonical.is_some()) {
        return Ok(HashMap::new());
    }
    Ok(services.ledger.style_map(&job.row.input_bucket).await?)
}

/// The pipeline an item runs: the canonical form recorded at submit is what was validated
/// (styles expanded then); rows without one are parsed again from the text, against the
/// bucket's styles now.
fn item_pipeline(
    item: &ItemRow,
    styles: &HashMap<String, String>,
) -> Result<Pipeline, PipelineError> {
    let Some(dialect) = Dialect::parse(&item.dialect) else {
        return Err(PipelineError::internal(format!(
            "unknown dialect {:?}",
            item.dialect
        )));
    };
    match &item.canonical {
        Some(canonical) => pipeline::parse::parse_canonical(canonical),
        None => {
            let command = CommandText {
                text: item.cmd.clone(),
                dialect,
            };
            parse_command(&command, styles).map(|command| command.pipeline)
        }
    }
}

/// Reads the watermark images `pipeline` refers to: `Ok(Err(message))` when one is missing or
/// unreadable (the item fails), `Err` on storage trouble a later attempt may get past. A
/// reference is `bucket:key`, or a key in the source's bucket (see `pipeline::ops::watermark`);
/// each is capped like a source.
#[tracing::instrument(skip_all)]
async fn fetch_assets(
    services: &Services,
    source_bucket: &str,
    pipeline: &Pipeline,
) -> Result<Result<HashMap<String, Vec<u8>>, String>, Stop> {
    let mut assets = HashMap::new();
    let limit = services.config.max_source_bytes;
    for reference in pipeline.asset_references() {
        let (bucket, key) = jobs::buckets::asset_location(reference, source_bucket);
        match with_retries(|| services.buckets.get(bucket, key, limit)).await {
            Ok(object) => {
                assets.insert(reference.to_string(), object.bytes.to_vec());
            }
            Err(error) if error.is_transient() => return Err(Stop::transient(&error)),
            Err(error) => return Ok(Err(format!("watermark: image '{reference}': {error}"))),
        }
    }
    Ok(Ok(assets))
}

/// Waits for room in the memory budget and for a render slot (the job's heartbeat keeps its
/// lease meanwhile).
async fn admit(worker: Worker<'_>, cost: u64) -> Result<Admitted<'_>, Stop> {
    let waited = Instant::now();
    metrics::histogram!("ferrotype_render_memory_estimate_bytes").record(cost as f64);
    let admitted = (worker.capacity.admit(cost).await)
        .map_err(|_| Stop::GiveBack("the worker is shutting down".into()))?;
    // Long waits say the CPU (or memory), not I/O, holds jobs back.
    metrics::histogram!("ferrotype_render_slot_wait_seconds")
        .record(waited.elapsed().as_secs_f64());
    Ok(admitted)
}

/// Runs the engine on a render thread (`render_thread`) over every ready item, under a deadline of the item
/// timeout times the number of items. The engine checks the deadline between stages; the
/// outer timeout is the backstop for a single stage that runs away, so the job still ends.
#[tracing::instrument(skip_all, fields(items = ready.len()))]
async fn run_engine(
    services: &Services,
    ready: Vec<(ItemRow, Pipeline)>,
    assets: HashMap<String, Vec<u8>>,
    source: Bytes,
    limits: pipeline::Limits,
) -> Vec<(ItemRow, Result<Rendered, PipelineError>)> {
    let config = &services.config;
    let count = u32::try_from(ready.len()).unwrap_or(u32::MAX);
    let timeout = config.item_timeout().saturating_mul(count);
    // Kept to answer for the items when the task never comes back.
    let items: Vec<ItemRow> = ready.iter().map(|(item, _)| item.clone()).collect();
    let priority = crate::render_thread::RenderPriority {
        nice_increment: config.render_nice.clamp(0, 19),
    };
    let fonts = pipeline::fonts::SystemFonts::shared_at(&config.font_dir);
    let faces = pipeline::ops::faces::installed::InstalledFaces::shared_at(&config.face_models);
    let metadata = config.metadata;
    let task = crate::render_thread::run(priority, move || {
        // A video source's frame extraction shares the items' time allowance.
        let frames = crate::video::Ffmpeg::from_env(timeout);
        let resources = pipeline::Resources::new(&limits)
            .with_deadline(Some(Instant::now() + timeout))
            .with_assets(&assets)
            .with_fonts(fonts)
            .with_frames(&frames)
            .with_faces(faces)
            .with_metadata(metadata);
        let (items, pipelines): (Vec<ItemRow>, Vec<Pipeline>) = ready.into_iter().unzip();
        pipeline::run(items.into_iter().zip(&pipelines), &source, &resources)
    });
    let failure = match tokio::time::timeout(timeout + timeout / 2, task).await {
        Ok(Ok(results)) => return results,
        Ok(Err(crashed)) => PipelineError::internal(crashed.to_string()),
        Err(_) => PipelineError::new(
            pipeline::ErrorCode::DeadlineExceeded,
            format!("processing took longer than {} ms", config.item_timeout_ms),
        ),
    };
    items
        .into_iter()
        .map(|item| (item, Err(failure.clone())))
        .collect()
}

fn failed(failure: FailedItem) -> Made {
    Made::Done(ItemOutcome::Failed(failure))
}
