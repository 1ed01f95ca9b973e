//! Job submission, shared by every HTTP surface: validate everything that can be validated
//! without pixels, record the job, publish its id.
//!
//! Each surface only translates its wire format into a [`Submission`] and the answer (or
//! [`SubmitError`]) back into its own.

use sha1::{Digest, Sha1};
use uuid::Uuid;

use crate::buckets::{validate_bucket, validate_key};
use crate::credentials::Permission;
use crate::error::SubmitError;
use crate::ledger::{AccessKey, NewItem, NewJob};
use crate::model::{Dialect, NotifyFormat};
use crate::Services;

/// Most commands one job may carry.
pub const MAX_COMMANDS: usize = 32;

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
    pub pipeline: Option<String>,
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
            pipeline: None,
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

/// The commands of every upload rule of `bucket` that matches `key`, in rule order.
pub async fn upload_rule_commands(
    services: &Services,
    bucket: &str,
    key: &str,
) -> Result<(Vec<CommandText>, Option<String>), SubmitError> {
    let mut commands = Vec::new();
    let mut notify_url = None;
    for rule in services.ledger.upload_rules(bucket).await? {
        if rule.matches(key) {
            notify_url = notify_url.or(rule.notify_url.clone());
            commands.extend(rule.commands.iter().map(|text| CommandText {
                text: text.clone(),
                dialect: rule.dialect,
            }));
        }
    }
    Ok((commands, notify_url))
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

/// Starts the job of the bucket's upload rules that match `key`, if any, on behalf of the
/// uploader (its grants decide, so a rule never writes where the uploader may not).
pub async fn submit_upload_rules(
    services: &Services,
    who: &AccessKey,
    bucket: &str,
    key: &str,
) -> Result<Option<Uuid>, SubmitError> {
    let (commands, notify_url) = upload_rule_commands(services, bucket, key).await?;
    if commands.is_empty() {
        return Ok(None);
    }
    let submission = Submission {
        notify_url,
        ..Submission::new(bucket, key, commands)
    };
    Ok(Some(submit(services, who, submission).await?))
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
    validate_bucket(&submission.bucket)?;
    validate_key(&submission.key)?;
    let pipeline_name = submission
        .pipeline
        .clone()
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| "default".to_string());
    if !services.config.pipelines.contains(&pipeline_name) {
        return Err(SubmitError::NoSuchPipeline(pipeline_name));
    }
    if submission.commands.is_empty() {
        return Err(SubmitError::BadRequest("no command given".into()));
    }
    if submission.commands.len() > MAX_COMMANDS {
        return Err(SubmitError::BadRequest(format!(
            "{} commands given, at most {MAX_COMMANDS} allowed",
            submission.commands.len()
        )));
    }
    if !(0..=1).contains(&submission.job_type) {
        return Err(SubmitError::BadRequest(format!(
            "type {} is not 0 or 1",
            submission.job_type
        )));
    }
    if let Some(url) = &submission.notify_url {
        let parsed = url::Url::parse(url)
            .map_err(|e| SubmitError::BadRequest(format!("notify URL {url:?}: {e}")))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(SubmitError::BadRequest(format!(
                "notify URL {url:?} is not http or https"
            )));
        }
    }

    if !who.allows(&submission.bucket, Permission::Read) {
        return Err(denied(who, &submission.bucket, Permission::Read));
    }
    let styles = services.ledger.style_map(&submission.bucket).await?;
    let mut items = Vec::with_capacity(submission.commands.len());
    for (index, command) in submission.commands.iter().enumerate() {
        let parsed = parse_command(command, &styles)
            .map_err(|source| SubmitError::Pipeline { index, source })?;
        // A watermark image is read with the submitter's rights too: naming an image in a
        // bucket the key may not read must not copy it into a result it may.
        for reference in parsed.pipeline.asset_references() {
            let (bucket, _) = crate::buckets::asset_location(reference, &submission.bucket);
            if !who.allows(bucket, Permission::Read) {
                return Err(denied(who, bucket, Permission::Read));
            }
        }
        let canonical = parsed.pipeline.to_string();
        let save_as = parsed.save_as.unwrap_or_default();
        let target_bucket = save_as.bucket.unwrap_or_else(|| submission.bucket.clone());
        let target_key = save_as
            .key
            .unwrap_or_else(|| default_target_key(&submission.key, &command.text));
        validate_bucket(&target_bucket)?;
        validate_key(&target_key)?;
        if !who.allows(&target_bucket, Permission::Write) {
            return Err(denied(who, &target_bucket, Permission::Write));
        }
        items.push(NewItem {
            cmd: command.text.clone(),
            dialect: command.dialect,
            target_bucket,
            target_key,
            canonical: Some(canonical),
        });
    }

    let job = NewJob {
        input_bucket: submission.bucket,
        input_key: submission.key,
        pipeline: pipeline_name,
        job_type: submission.job_type,
        force: submission.force,
        notify_url: submission.notify_url,
        submitted_by: Some(who.access_key.clone()),
        notify_format: submission.notify_format,
        request_id: submission.request_id,
        items,
    };
    let id = services
        .ledger
        .insert_job(&job, services.config.publish_grace())
        .await?;
    metrics::counter!("ferrotype_jobs_submitted_total").increment(1);
    match services
        .queue
        .publish(id, &job.pipeline, job.job_type)
        .await
    {
        Ok(()) => services.ledger.mark_published(id).await?,
        Err(error) => {
            metrics::counter!("ferrotype_queue_publish_failures_total").increment(1);
            tracing::warn!(%id, %error, "publish failed; the sweeper will republish the job");
        }
    }
    Ok(id)
}

fn denied(who: &AccessKey, bucket: &str, permission: Permission) -> SubmitError {
    SubmitError::AccessDenied {
        access_key: who.access_key.clone(),
        bucket: bucket.to_string(),
        permission: permission.as_str(),
    }
}
