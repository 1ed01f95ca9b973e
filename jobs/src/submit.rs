//! Job submission, shared by every HTTP surface: validate everything that can be validated
//! without pixels, record the job, publish its id.
//!
//! Each surface only translates its wire format into a [`Submission`] and the answer (or
//! [`SubmitError`]) back into its own.

use sha1::{Digest, Sha1};
use uuid::Uuid;

use crate::buckets::{asset_location, validate_bucket, validate_client_key, validate_key};
use crate::credentials::Permission;
use crate::error::SubmitError;
use crate::ledger::{AccessKey, NewItem, NewJob};
use crate::model::{Dialect, NotifyFormat};
use crate::Services;

/// Most commands one job may carry.
pub const MAX_COMMANDS: usize = 32;

/// The queue of a job that names none.
const DEFAULT_QUEUE: &str = "default";

/// One command as the client wrote it.
#[derive(Debug, Clone)]
pub struct CommandText {
    pub text: String,
    pub dialect: Dialect,
}

/// A job request in surface-neutral form.
#[derive(Debug, Clone)]
pub struct Submission {
    pub bucket: String,
    pub key: String,
    pub commands: Vec<CommandText>,
    pub notify_url: Option<String>,
    /// The named pipeline (queue) the job runs on, as the vendors call it (`pipeline` on
    /// the wire); `None` or empty means `default`.
    pub queue: Option<String>,
    pub force: bool,
    /// 0 normal, 1 idle-time.
    pub job_type: i16,
    /// The callback body's format: the submitting surface's.
    pub notify_format: NotifyFormat,
    /// The id the surface answers the request with, kept with the job.
    pub request_id: Option<String>,
}

impl Submission {
    /// A submission with the defaults every surface starts from.
    pub fn new(bucket: &str, key: &str, commands: Vec<CommandText>) -> Submission {
        Submission {
            bucket: bucket.to_string(),
            key: key.to_string(),
            commands,
            notify_url: None,
            queue: None,
            force: false,
            job_type: 0,
            notify_format: NotifyFormat::Native,
            request_id: None,
        }
    }
}

/// Parses one command of either language into the shared AST; `style/<name>` resolves
/// against `styles` (the source bucket's).
pub fn parse_command(
    command: &CommandText,
    styles: &dyn pipeline::StyleLookup,
) -> Result<pipeline::Command, pipeline::PipelineError> {
    match command.dialect {
        Dialect::Oss => pipeline::parse::oss::parse_process(&command.text, styles),
        Dialect::Qiniu => pipeline::parse::qiniu::parse_command_with_styles(&command.text, styles),
    }
}

/// [`parse_command`] for the command at `index` of a request, whose error names the index.
pub(crate) fn parse_nth_command(
    index: usize,
    command: &CommandText,
    styles: &dyn pipeline::StyleLookup,
) -> Result<pipeline::Command, SubmitError> {
    parse_command(command, styles).map_err(|source| SubmitError::Pipeline { index, source })
}

/// Splits Qiniu `fops` (`cmd1;cmd2`) into its commands: each one is an item of the job.
pub fn split_qiniu_fops(fops: &str) -> Vec<CommandText> {
    fops.split(';')
        .map(|text| CommandText {
            text: text.to_string(),
            dialect: Dialect::Qiniu,
        })
        .collect()
}

/// Where a command without `saveas` puts its result: beside the source, under a name derived
/// from the command, so that running the same command again overwrites rather than piles up.
pub fn default_target_key(source_key: &str, command: &str) -> String {
    let digest = Sha1::digest(command.as_bytes());
    format!("{source_key}-{}", hex::encode(&digest[..8]))
}

/// Validates and records a job, then publishes it. Returns the job id. A failed publish is
/// not an error for the client: the job is recorded and the sweeper publishes it.
pub async fn submit(
    services: &Services,
    who: &AccessKey,
    submission: Submission,
) -> Result<Uuid, SubmitError> {
    let job = prepare(services, who, submission).await?;
    record_and_publish(services, &job).await
}

/// The most jobs one batch submission takes.
pub const MAX_BATCH: usize = 1_000;

/// Submits every job of a batch: each is validated on its own (its error is its own), the
/// valid ones are recorded together in one statement and published together; the answer has
/// one result per submission, in order.
pub async fn submit_batch(
    services: &Services,
    who: &AccessKey,
    submissions: Vec<Submission>,
) -> Result<Vec<Result<Uuid, SubmitError>>, SubmitError> {
    if submissions.len() > MAX_BATCH {
        return Err(SubmitError::BadRequest(format!(
            "{} jobs given, at most {MAX_BATCH} in one batch",
            submissions.len()
        )));
    }
    let mut prepared = Vec::with_capacity(submissions.len());
    for submission in submissions {
        prepared.push(prepare(services, who, submission).await);
    }
    let valid: Vec<&NewJob> = prepared
        .iter()
        .filter_map(|job| job.as_ref().ok())
        .collect();
    let grace = services.config.publish_grace();
    let ids = services.ledger.insert_jobs(&valid, grace).await?;
    let publishes = ids
        .iter()
        .zip(&valid)
        .map(|(id, job)| publish(services, *id, job));
    futures::future::join_all(publishes).await;
    // `ids` has one id per valid job, in order: each valid job takes the next.
    let mut ids = ids.into_iter();
    Ok(prepared
        .into_iter()
        .filter_map(|job| match job {
            Ok(_) => ids.next().map(Ok),
            Err(error) => Some(Err(error)),
        })
        .collect())
}

/// Checks a submission and makes the job to record: its queue, the submitter's grants, and
/// each command parsed into its item.
async fn prepare(
    services: &Services,
    who: &AccessKey,
    submission: Submission,
) -> Result<NewJob, SubmitError> {
    let queue = check_request(&submission)?;
    if !services.config.pipelines.contains(&queue)
        && !services.ledger.pipeline_exists(&queue).await?
    {
        return Err(SubmitError::NoSuchPipeline(queue));
    }
    who.require(&submission.bucket, Permission::Read)?;
    let items = plan_items(services, who, &submission).await?;
    Ok(NewJob {
        input_bucket: submission.bucket,
        input_key: submission.key,
        queue,
        job_type: submission.job_type,
        force: submission.force,
        notify_url: submission.notify_url,
        submitted_by: Some(who.access_key.clone()),
        notify_format: submission.notify_format,
        request_id: submission.request_id,
        items,
    })
}

/// The submission's items. The bucket's styles are read only when a command names one: the
/// commands are planned first against no styles, noting whether any was asked for.
async fn plan_items(
    services: &Services,
    who: &AccessKey,
    submission: &Submission,
) -> Result<Vec<NewItem>, SubmitError> {
    let (first, asked) = {
        let asked = StylesAsked::default();
        let planner = ItemPlanner {
            who,
            submission,
            styles: &asked,
        };
        (planner.items(), asked.0.get())
    };
    if !asked {
        return first;
    }
    let styles = services.ledger.style_map(&submission.bucket).await?;
    let planner = ItemPlanner {
        who,
        submission,
        styles: &styles,
    };
    planner.items()
}

/// A style lookup that has no styles and notes that one was asked for.
#[derive(Default)]
struct StylesAsked(std::cell::Cell<bool>);

impl pipeline::StyleLookup for StylesAsked {
    fn style(&self, _name: &str) -> Option<String> {
        self.0.set(true);
        None
    }
}

/// What can be checked before reading anything: names, the queue's name, counts, the job
/// type and the notify URL. Returns the queue the job goes to (whether it exists, the
/// configuration's or one created at run time, is [`prepare`]'s to ask the ledger).
fn check_request(submission: &Submission) -> Result<String, SubmitError> {
    validate_bucket(&submission.bucket)?;
    validate_key(&submission.key)?;
    let queue = (submission.queue.clone())
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| DEFAULT_QUEUE.to_string());
    if !crate::config::valid_pipeline_name(&queue) {
        return Err(SubmitError::NoSuchPipeline(queue));
    }
    let count = submission.commands.len();
    if count == 0 {
        return Err(SubmitError::BadRequest("no command given".into()));
    }
    if count > MAX_COMMANDS {
        return Err(SubmitError::BadRequest(format!(
            "{count} commands given, at most {MAX_COMMANDS} allowed"
        )));
    }
    if !(0..=1).contains(&submission.job_type) {
        return Err(SubmitError::BadRequest(format!(
            "type {} is not 0 or 1",
            submission.job_type
        )));
    }
    match &submission.notify_url {
        Some(url) => check_notify_url(url),
        None => Ok(()),
    }?;
    Ok(queue)
}

fn check_notify_url(url: &str) -> Result<(), SubmitError> {
    let parsed = url::Url::parse(url)
        .map_err(|e| SubmitError::BadRequest(format!("notify URL {url:?}: {e}")))?;
    if matches!(parsed.scheme(), "http" | "https") {
        Ok(())
    } else {
        Err(SubmitError::BadRequest(format!(
            "notify URL {url:?} is not http or https"
        )))
    }
}

/// Turns each command of one submission into the item to record, checking it on the way.
struct ItemPlanner<'a> {
    who: &'a AccessKey,
    submission: &'a Submission,
    styles: &'a dyn pipeline::StyleLookup,
}

impl ItemPlanner<'_> {
    fn items(&self) -> Result<Vec<NewItem>, SubmitError> {
        (self.submission.commands.iter().enumerate())
            .map(|(index, command)| self.item(index, command))
            .collect()
    }

    /// Parses the command (recording its canonical form), checks the reads it makes and
    /// resolves and checks its target.
    fn item(&self, index: usize, command: &CommandText) -> Result<NewItem, SubmitError> {
        let parsed = parse_nth_command(index, command, self.styles)?;
        // A watermark image is read with the submitter's rights too: naming an image in a
        // bucket the key may not read must not copy it into a result it may.
        for reference in parsed.pipeline.asset_references() {
            let (bucket, _) = asset_location(reference, &self.submission.bucket);
            self.who.require(bucket, Permission::Read)?;
        }
        let save_as = parsed.save_as.unwrap_or_default();
        let target_bucket = (save_as.bucket).unwrap_or_else(|| self.submission.bucket.clone());
        let target_key = (save_as.key)
            .unwrap_or_else(|| default_target_key(&self.submission.key, &command.text));
        validate_bucket(&target_bucket)?;
        validate_client_key(&target_key)?;
        self.who.require(&target_bucket, Permission::Write)?;
        Ok(NewItem {
            cmd: command.text.clone(),
            dialect: command.dialect,
            target_bucket,
            target_key,
            canonical: Some(parsed.pipeline.to_string()),
        })
    }
}

/// Records the job, then publishes its id; an unconfirmed publish is left to the sweeper.
async fn record_and_publish(services: &Services, job: &NewJob) -> Result<Uuid, SubmitError> {
    let id = services
        .ledger
        .insert_job(job, services.config.publish_grace())
        .await?;
    publish(services, id, job).await;
    Ok(id)
}

/// Publishes a recorded job's id without waiting for the broker's confirm: the job is in the
/// ledger, which is what the answer promises, so the broker's fsync stays off the request
/// path. The confirm is noted in the background; a publish that fails or is never confirmed
/// is left to the sweeper, which republishes the job after the publish grace.
pub(crate) async fn publish(services: &Services, id: Uuid, job: &NewJob) {
    metrics::counter!("ferrotype_jobs_submitted_total").increment(1);
    match services.queue.send(id, &job.queue, job.job_type).await {
        Ok(pending) => {
            let marks = services.marks.clone();
            tokio::spawn(async move {
                match pending.confirmed().await {
                    // A ledger that fails to note it must not fail the submit (the job runs
                    // anyway); left unmarked, it is published again after the grace and the
                    // duplicate delivery is dropped at claim.
                    Ok(()) => marks.note(id),
                    Err(error) => unconfirmed(id, &error),
                }
            });
        }
        Err(error) => unconfirmed(id, &error),
    }
}

fn unconfirmed(id: Uuid, error: &crate::error::QueueError) {
    metrics::counter!("ferrotype_queue_publish_failures_total").increment(1);
    tracing::warn!(%id, %error, "publish failed; the sweeper will republish the job");
}
