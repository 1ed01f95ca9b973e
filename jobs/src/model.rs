//! The job model shared by the API and the worker: states, items, and the status document.

use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use crate::code::FailureCode;

/// The vendors' job and item codes. The numbers are part of the wire contract (Qiniu prefop).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Success,
    Waiting,
    Processing,
    Failed,
    CallbackFailed,
}

impl Status {
    pub const fn code(self) -> i16 {
        match self {
            Status::Success => 0,
            Status::Waiting => 1,
            Status::Processing => 2,
            Status::Failed => 3,
            Status::CallbackFailed => 4,
        }
    }

    pub fn from_code(code: i16) -> Option<Status> {
        Some(match code {
            0 => Status::Success,
            1 => Status::Waiting,
            2 => Status::Processing,
            3 => Status::Failed,
            4 => Status::CallbackFailed,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Success => "success",
            Status::Waiting => "waiting",
            Status::Processing => "processing",
            Status::Failed => "failed",
            Status::CallbackFailed => "callback_failed",
        }
    }

    /// Qiniu's `desc` strings, part of the prefop contract.
    pub fn description(self) -> &'static str {
        match self {
            Status::Success => "The fop was completed successfully",
            Status::Waiting => "The fop is waiting for execution",
            Status::Processing => "The fop is executing now",
            Status::Failed => "The fop is failed",
            Status::CallbackFailed => "Callback failed",
        }
    }

    pub fn is_final(self) -> bool {
        matches!(
            self,
            Status::Success | Status::Failed | Status::CallbackFailed
        )
    }
}

/// The language a command is written in. Stored with each item so the worker parses it the
/// same way the API validated it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Dialect {
    Oss,
    Qiniu,
}

impl Dialect {
    pub fn as_str(self) -> &'static str {
        match self {
            Dialect::Oss => "oss",
            Dialect::Qiniu => "qiniu",
        }
    }

    pub fn parse(s: &str) -> Option<Dialect> {
        match s {
            "oss" => Some(Dialect::Oss),
            "qiniu" => Some(Dialect::Qiniu),
            _ => None,
        }
    }
}

/// A job as the ledger holds it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct JobRow {
    pub id: Uuid,
    pub status: i16,
    pub input_bucket: String,
    pub input_key: String,
    /// The named pipeline (queue) the job runs on (column `pipeline`).
    #[sqlx(rename = "pipeline")]
    pub queue: String,
    pub job_type: i16,
    pub force: bool,
    pub notify_url: Option<String>,
    pub attempts: i32,
    pub notify_state: String,
    pub notify_attempts: i32,
    pub notify_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub notify_format: String,
    pub request_id: Option<String>,
}

/// One command of a job and its outcome. `Deserialize` reads it from the JSON the claim
/// returns its items in (the columns' own names).
#[derive(Debug, Clone, sqlx::FromRow, serde::Deserialize)]
pub struct ItemRow {
    pub idx: i32,
    pub cmd: String,
    pub dialect: String,
    pub target_bucket: String,
    pub target_key: String,
    pub status: i16,
    pub size: Option<i64>,
    pub hash: Option<String>,
    pub width: Option<i32>,
    pub height: Option<i32>,
    pub format: Option<String>,
    pub error_code: Option<FailureCode>,
    pub error: Option<String>,
    pub error_index: Option<i32>,
    pub return_old: bool,
    pub canonical: Option<String>,
    pub source_hash: Option<String>,
}

/// A job with its items: what status queries and callbacks are made from.
#[derive(Debug, Clone)]
pub struct Job {
    pub row: JobRow,
    pub items: Vec<ItemRow>,
}

impl Job {
    pub fn status(&self) -> Status {
        Status::from_code(self.row.status).unwrap_or(Status::Failed)
    }
}

impl ItemRow {
    pub fn status(&self) -> Status {
        Status::from_code(self.status).unwrap_or(Status::Failed)
    }
}

/// The native status document (`GET /v1/jobs/{id}` and the native notify body).
#[derive(Debug, Clone, Serialize)]
pub struct JobView {
    pub id: String,
    pub code: i16,
    pub status: &'static str,
    pub input_bucket: String,
    pub input_key: String,
    #[serde(rename = "pipeline")]
    pub queue: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub items: Vec<ItemView>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ItemView {
    pub cmd: String,
    pub code: i16,
    pub status: &'static str,
    pub bucket: String,
    pub key: String,
    pub size: Option<i64>,
    pub hash: Option<String>,
    pub width: Option<i32>,
    pub height: Option<i32>,
    pub format: Option<String>,
    pub error: Option<String>,
    pub error_code: Option<FailureCode>,
    pub error_index: Option<i32>,
}

impl From<&Job> for JobView {
    fn from(job: &Job) -> Self {
        let status = job.status();
        JobView {
            id: job.row.id.to_string(),
            code: status.code(),
            status: status.as_str(),
            input_bucket: job.row.input_bucket.clone(),
            input_key: job.row.input_key.clone(),
            queue: job.row.queue.clone(),
            created_at: job.row.created_at,
            updated_at: job.row.updated_at,
            items: job.items.iter().map(ItemView::from).collect(),
        }
    }
}

impl From<&ItemRow> for ItemView {
    fn from(item: &ItemRow) -> Self {
        let status = item.status();
        ItemView {
            cmd: item.cmd.clone(),
            code: status.code(),
            status: status.as_str(),
            bucket: item.target_bucket.clone(),
            key: item.target_key.clone(),
            size: item.size,
            hash: item.hash.clone(),
            width: item.width,
            height: item.height,
            format: item.format.clone(),
            error: item.error.clone(),
            error_code: item.error_code,
            error_index: item.error_index,
        }
    }
}

/// Which status document a job's callback carries: the one of the surface it came through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotifyFormat {
    Native,
    Qiniu,
}

impl NotifyFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            NotifyFormat::Native => "native",
            NotifyFormat::Qiniu => "qiniu",
        }
    }

    pub fn parse(text: &str) -> NotifyFormat {
        match text {
            "qiniu" => NotifyFormat::Qiniu,
            _ => NotifyFormat::Native,
        }
    }
}

/// Qiniu's status document (`/status/get/prefop` and the notify body of Qiniu jobs).
#[derive(Debug, Clone, Serialize)]
pub struct PrefopView {
    pub id: String,
    pub code: i16,
    pub desc: &'static str,
    #[serde(rename = "inputBucket")]
    pub input_bucket: String,
    #[serde(rename = "inputKey")]
    pub input_key: String,
    #[serde(rename = "pipeline")]
    pub queue: String,
    pub reqid: String,
    #[serde(rename = "type")]
    pub job_type: i16,
    #[serde(rename = "creationDate")]
    pub creation_date: String,
    pub items: Vec<PrefopItem>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PrefopItem {
    pub cmd: String,
    pub code: i16,
    pub desc: &'static str,
    pub error: String,
    pub hash: String,
    pub key: String,
    #[serde(rename = "returnOld")]
    pub return_old: i16,
    #[serde(rename = "errorIndex", skip_serializing_if = "Option::is_none")]
    pub error_index: Option<i32>,
}

impl From<&Job> for PrefopView {
    fn from(job: &Job) -> Self {
        let status = job.status();
        PrefopView {
            id: job.row.id.to_string(),
            code: status.code(),
            desc: status.description(),
            input_bucket: job.row.input_bucket.clone(),
            input_key: job.row.input_key.clone(),
            queue: job.row.queue.clone(),
            reqid: job
                .row
                .request_id
                .clone()
                .unwrap_or_else(|| job.row.id.simple().to_string()),
            job_type: job.row.job_type,
            creation_date: job
                .row
                .created_at
                .format("%Y-%m-%dT%H:%M:%S%.9f%:z")
                .to_string(),
            items: job.items.iter().map(PrefopItem::from).collect(),
        }
    }
}

impl From<&ItemRow> for PrefopItem {
    fn from(item: &ItemRow) -> Self {
        let status = item.status();
        PrefopItem {
            cmd: item.cmd.clone(),
            code: status.code(),
            desc: status.description(),
            error: item.error.clone().unwrap_or_default(),
            hash: item.hash.clone().unwrap_or_default(),
            key: item.target_key.clone(),
            return_old: i16::from(item.return_old),
            error_index: if status == Status::Failed {
                Some(item.error_index.unwrap_or(0))
            } else {
                None
            },
        }
    }
}

/// The callback body of a job, in the format of the surface that submitted it.
pub fn notify_body(job: &Job) -> serde_json::Value {
    let rendered = match NotifyFormat::parse(&job.row.notify_format) {
        NotifyFormat::Qiniu => serde_json::to_value(PrefopView::from(job)),
        NotifyFormat::Native => serde_json::to_value(JobView::from(job)),
    };
    rendered.unwrap_or(serde_json::Value::Null)
}

/// The message carried by RabbitMQ: only the id. Everything else is read from the ledger.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct JobMessage {
    pub job_id: Uuid,
}
