//! Processing on GET: a processed image (or `info` document) asked for in a URL is a
//! persisted result like any saveas target, rendered once and served from storage after.
//!
//! The result's key is derived from the canonical pipeline and the source's version
//! ([`result_location`]), so the same request again finds it stored, and a source written
//! anew gives a new key. A miss is a job like any other (the API never decodes pixels: the
//! workers render it in their slots, under their limits), recorded with a row in
//! `derived_results` that concurrent requests, in any API process, find and wait for instead
//! of rendering again (`Ledger::derived_job`). The wait is woken by the ledger's NOTIFY
//! (`watch`). A failed render is forgotten, so the next request tries again.
//!
//! Results live in the source's bucket under [`RESERVED_PREFIX`]`processed/<key>/<hash>`, or in
//! the configured `results_bucket` at `<bucket>/<key>/<hash>`; clients cannot write there.

use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::buckets::{asset_location, Object, RESERVED_PREFIX};
use crate::catalog::settings::{bucket_settings, BucketSettings};
use crate::code::FailureCode;
use crate::credentials::{Caller, ReadVia};
use crate::error::Failure;
use crate::ledger::{DerivedJob, NewItem, NewJob, ResultLocation};
use crate::model::{ItemRow, Job, NotifyFormat, Status};
use crate::submit::{parse_command, CommandText};
use crate::Services;

/// A GET that processes: the object, the processing asked for, and who asks.
#[derive(Debug, Clone, Copy)]
pub struct GetProcess<'a> {
    pub bucket: &'a str,
    pub key: &'a str,
    pub command: &'a CommandText,
    /// Through one of the bucket's styles, or parameters the request spells out.
    pub via: ReadVia,
    pub caller: &'a Caller,
    /// The bucket's read settings (the surface read them to find the style separators).
    pub settings: &'a BucketSettings,
}

/// A processed result, ready to answer with.
#[derive(Debug, Clone)]
pub struct Served {
    pub object: Object,
    pub content_type: &'static str,
    pub location: ResultLocation,
    /// The JSON document the result is, when it is one (the surfaces stamp some answers).
    pub document: Option<pipeline::ops::info::Document>,
}

/// The processed result for `request`: from storage when it was made before, else rendered
/// by a worker now (or by the render another request started), waited for up to the
/// configured GET timeout.
#[tracing::instrument(skip_all, fields(bucket = request.bucket, key = request.key))]
pub async fn processed(services: &Services, request: &GetProcess<'_>) -> Result<Served, Failure> {
    let (bucket, key) = (request.bucket, request.key);
    request
        .caller
        .check_read(bucket, key, request.settings, request.via)?;
    let pipeline = parse(services, request).await?;
    check_signed_if_needed(request, &pipeline)?;
    check_asset_reads(services, request, &pipeline).await?;
    let Some(source) = services.buckets.head(bucket, key).await? else {
        return Err(no_such_key(bucket, key));
    };
    let location = result_location(services, request, &pipeline, &source.version);
    let wanted = Wanted {
        request,
        pipeline: &pipeline,
        location: &location,
    };
    if let Some(served) = stored(services, &wanted).await? {
        return Ok(served);
    }
    let id = match recorded_job(services, &wanted).await? {
        Recorded::Running(id) => id,
        Recorded::Succeeded(id) => match stored(services, &wanted).await? {
            Some(served) => return Ok(served),
            None => {
                // Its result was deleted since: make it again.
                services.ledger.forget_derived(&location, id).await?;
                record(services, &wanted).await?
            }
        },
        Recorded::Nothing => record(services, &wanted).await?,
    };
    wait(services, &wanted, id).await
}

/// One result a request wants: what it is and where it lives.
struct Wanted<'a> {
    request: &'a GetProcess<'a>,
    pipeline: &'a pipeline::Pipeline,
    location: &'a ResultLocation,
}

impl Wanted<'_> {
    /// What the result is served as: a document is JSON; an image says its type in its header.
    fn content_type(&self, object: &Object) -> &'static str {
        if self.pipeline.output.document.is_some() {
            "application/json"
        } else {
            object.content_type()
        }
    }
}

/// The command's pipeline, its styles expanded against the bucket's. A GET only reads:
/// `sys/saveas` (or Qiniu `|saveas`) is refused.
async fn parse(
    services: &Services,
    request: &GetProcess<'_>,
) -> Result<pipeline::Pipeline, Failure> {
    // Most GETs spell their parameters out: the bucket's styles are read only for a command
    // that names one.
    let (first, asked) = {
        let probe = StyleProbe::default();
        (parse_command(request.command, &probe), probe.0.get())
    };
    let parsed = if asked {
        let styles = services.ledger.style_map(request.bucket).await?;
        parse_command(request.command, &styles)
    } else {
        first
    };
    let command = parsed.map_err(|error| Failure {
        step: error.step,
        ..Failure::new(error.code.into(), error.to_string())
    })?;
    if command.save_as.is_some() {
        return Err(Failure::new(
            FailureCode::INVALID_ARGUMENT,
            "saveas is not allowed when getting an object: use POST (OSS) or pfop (Qiniu)",
        ));
    }
    Ok(command.pipeline)
}

/// A style lookup that knows no style and notes whether any was asked for.
#[derive(Default)]
struct StyleProbe(std::cell::Cell<bool>);

impl pipeline::StyleLookup for StyleProbe {
    fn style(&self, _name: &str) -> Option<String> {
        self.0.set(true);
        None
    }
}

/// Some documents are served only to a signed request, whatever the bucket's ACL
/// (`image/codes`: "不支持匿名访问").
fn check_signed_if_needed(
    request: &GetProcess<'_>,
    pipeline: &pipeline::Pipeline,
) -> Result<(), Failure> {
    let document = pipeline.output.document;
    if matches!(request.caller, Caller::Anonymous)
        && document.is_some_and(|document| document.needs_a_signed_caller())
    {
        return Err(Failure::new(
            FailureCode::AccessDenied,
            "this processing is not served to anonymous readers: sign the request",
        ));
    }
    Ok(())
}

/// Watermark images are read with the caller's rights: a bucket it may not read cannot be
/// copied into a result it may.
async fn check_asset_reads(
    services: &Services,
    request: &GetProcess<'_>,
    pipeline: &pipeline::Pipeline,
) -> Result<(), Failure> {
    for reference in pipeline.asset_references() {
        let (bucket, key) = asset_location(reference, request.bucket);
        let settings = if bucket == request.bucket {
            request.settings.clone()
        } else {
            bucket_settings(&services.ledger, bucket).await?
        };
        // The mark is laid into the result, never served as it is: no original protection.
        (request.caller).check_read(bucket, key, &settings, ReadVia::Style)?;
    }
    Ok(())
}

/// Where the result of `pipeline` on this version of the source is kept.
pub fn result_location(
    services: &Services,
    request: &GetProcess<'_>,
    pipeline: &pipeline::Pipeline,
    source_version: &str,
) -> ResultLocation {
    let mut digest = Sha256::new();
    digest.update(pipeline.to_string().as_bytes());
    digest.update(b"\n");
    digest.update(source_version.as_bytes());
    let hash = hex::encode(&digest.finalize()[..16]);
    let folder = results_folder(&services.config, request.bucket, request.key);
    ResultLocation {
        bucket: folder.bucket,
        key: format!("{}/{hash}", folder.key),
    }
}

/// The folder the GET-processed results of `bucket`/`key` are kept in (each result a file
/// in it named by its hash): in the source's bucket under [`RESERVED_PREFIX`], or in the
/// configured results bucket.
pub fn results_folder(config: &crate::config::Config, bucket: &str, key: &str) -> ResultLocation {
    match &config.results_bucket {
        Some(results) => ResultLocation {
            bucket: results.clone(),
            key: format!("{bucket}/{key}"),
        },
        None => ResultLocation {
            bucket: bucket.to_string(),
            key: format!("{RESERVED_PREFIX}processed/{key}"),
        },
    }
}

/// The result, if storage holds it.
async fn stored(services: &Services, wanted: &Wanted<'_>) -> Result<Option<Served>, Failure> {
    let location = wanted.location;
    let limit = services
        .config
        .max_upload_bytes
        .max(services.config.max_source_bytes);
    match services
        .buckets
        .get(&location.bucket, &location.key, limit)
        .await
    {
        Ok(object) => Ok(Some(Served {
            content_type: wanted.content_type(&object),
            object,
            location: location.clone(),
            document: wanted.pipeline.output.document,
        })),
        Err(error) if error.code() == FailureCode::NoSuchKey => Ok(None),
        Err(error) => Err(error.into()),
    }
}

/// What the ledger says of the job recorded for a result.
enum Recorded {
    /// A job renders it now: wait for it.
    Running(Uuid),
    /// A job made it: it is stored, unless it was deleted since.
    Succeeded(Uuid),
    /// No job is recorded, or the one recorded failed (and is forgotten now, so this request
    /// renders again).
    Nothing,
}

/// The job another request recorded for this result, and how far it got. A job that
/// succeeded stays recorded, so a request that is still on its way to record one (its looks
/// missed the result a moment before it was stored) finds it instead of rendering again.
async fn recorded_job(services: &Services, wanted: &Wanted<'_>) -> Result<Recorded, Failure> {
    let ledger = &services.ledger;
    let Some(id) = ledger.recorded_derived(wanted.location).await? else {
        return Ok(Recorded::Nothing);
    };
    let status = (ledger.job(id).await?).map(|job| job.status());
    match status {
        Some(status) if !status.is_final() => Ok(Recorded::Running(id)),
        Some(Status::Success) => Ok(Recorded::Succeeded(id)),
        _ => {
            ledger.forget_derived(wanted.location, id).await?;
            Ok(Recorded::Nothing)
        }
    }
}

/// Records a new job for the result (or finds the one a concurrent request recorded first)
/// and publishes it. Refused with `SlowDown` when the queue already holds too many.
async fn record(services: &Services, wanted: &Wanted<'_>) -> Result<Uuid, Failure> {
    let job = render_job(services, wanted);
    let config = &services.config;
    let backlog = services.ledger.backlog(&job.queue).await?;
    if backlog >= config.get_max_backlog {
        return Err(Failure::new(
            FailureCode::SlowDown,
            format!("{backlog} renders are waiting; please reduce your request rate"),
        ));
    }
    let ledger = &services.ledger;
    match ledger
        .derived_job(wanted.location, &job, config.publish_grace())
        .await?
    {
        DerivedJob::Found(id) => Ok(id),
        DerivedJob::Recorded(id) => {
            crate::submit::publish(services, id, &job).await;
            Ok(id)
        }
    }
}

/// The job of one item that renders the result into its location, on the first queue.
fn render_job(services: &Services, wanted: &Wanted<'_>) -> NewJob {
    let request = wanted.request;
    let queue = (services.config.pipelines.first())
        .cloned()
        .unwrap_or_else(|| "default".to_string());
    NewJob {
        input_bucket: request.bucket.to_string(),
        input_key: request.key.to_string(),
        queue,
        job_type: 0,
        // The location is unique to this pipeline and source version, and was just found
        // empty: no earlier result can be reused, so the worker need not look for one.
        force: true,
        notify_url: None,
        submitted_by: request.caller.key().map(|key| key.access_key.clone()),
        notify_format: NotifyFormat::Native,
        request_id: None,
        items: vec![NewItem {
            cmd: request.command.text.clone(),
            dialect: request.command.dialect,
            target_bucket: wanted.location.bucket.clone(),
            target_key: wanted.location.key.clone(),
            canonical: Some(wanted.pipeline.to_string()),
        }],
    }
}

/// Waits for the job and serves its result, or answers its failure (and forgets the job, so
/// that the next request renders again).
async fn wait(services: &Services, wanted: &Wanted<'_>, id: Uuid) -> Result<Served, Failure> {
    let (ledger, timeout) = (&services.ledger, services.config.get_timeout());
    let Some(job) = services.watch.wait_for_end(ledger, id, timeout).await? else {
        return Err(Failure::new(
            FailureCode::ProcessTimeout,
            format!(
                "the processing did not finish in {} ms; it goes on",
                timeout.as_millis()
            ),
        ));
    };
    if let Some(failure) = item_failure(&job) {
        ledger.forget_derived(wanted.location, id).await?;
        return Err(failure);
    }
    match stored(services, wanted).await? {
        Some(served) => Ok(served),
        None => {
            ledger.forget_derived(wanted.location, id).await?;
            Err(Failure::new(
                FailureCode::StorageError,
                "the result was removed as it was made; try again",
            ))
        }
    }
}

/// The failure of the job's item, if it failed.
fn item_failure(job: &Job) -> Option<Failure> {
    let item: &ItemRow = job.items.first()?;
    if item.status == Status::Success.code() {
        return None;
    }
    Some(Failure {
        step: item.error_index.and_then(|step| usize::try_from(step).ok()),
        ..Failure::new(
            item.error_code.unwrap_or(FailureCode::INTERNAL_ERROR),
            item.error.clone().unwrap_or_default(),
        )
    })
}

fn no_such_key(bucket: &str, key: &str) -> Failure {
    Failure::new(
        FailureCode::NoSuchKey,
        format!("The specified key does not exist: {bucket}/{key}"),
    )
}
