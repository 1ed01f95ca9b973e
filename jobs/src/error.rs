//! One error enum per concern, each with a stable `code()` that the HTTP surfaces map to
//! their own wire formats (in one place per surface).

use thiserror::Error;

#[derive(Debug, Error)]
pub enum ConfigError {
    #[error("cannot read configuration file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("configuration file {path} is not valid: {message}")]
    Parse { path: String, message: String },
    #[error("configuration value {name}={value:?} is not valid")]
    Invalid { name: String, value: String },
}

#[derive(Debug, Error)]
pub enum LedgerError {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("no such job: {0}")]
    NoSuchJob(String),
    #[error("access key {0} already exists")]
    KeyExists(String),
}

impl LedgerError {
    pub fn code(&self) -> &'static str {
        match self {
            LedgerError::NoSuchJob(_) => "NoSuchJob",
            LedgerError::KeyExists(_) => "KeyExists",
            LedgerError::Database(_) | LedgerError::Migrate(_) => "InternalError",
        }
    }
}

#[derive(Debug, Error)]
pub enum QueueError {
    #[error("message broker error: {0}")]
    Broker(#[from] lapin::Error),
    #[error("the broker did not confirm the message for job {0}")]
    NotConfirmed(uuid::Uuid),
}

#[derive(Debug, Error)]
pub enum StoreError {
    #[error("no such bucket: {0}")]
    NoSuchBucket(String),
    #[error("invalid bucket name {0:?}")]
    InvalidBucket(String),
    #[error("invalid object key {0:?}")]
    InvalidKey(String),
    #[error("the object {bucket}/{key} does not exist")]
    NoSuchKey { bucket: String, key: String },
    #[error("the object {bucket}/{key} is {size} bytes, over the limit of {limit} bytes")]
    TooLarge {
        bucket: String,
        key: String,
        size: u64,
        limit: u64,
    },
    #[error("storage error on {bucket}/{key}: {source}")]
    Io {
        bucket: String,
        key: String,
        source: object_store::Error,
    },
    #[error("cannot open bucket {bucket}: {message}")]
    Backend { bucket: String, message: String },
}

impl StoreError {
    pub fn code(&self) -> &'static str {
        match self {
            StoreError::NoSuchBucket(_) => "NoSuchBucket",
            StoreError::InvalidBucket(_) => "InvalidBucketName",
            StoreError::InvalidKey(_) => "InvalidObjectName",
            StoreError::NoSuchKey { .. } => "NoSuchKey",
            StoreError::TooLarge { .. } => "EntityTooLarge",
            StoreError::Io { .. } | StoreError::Backend { .. } => "StorageError",
        }
    }

    /// Whether trying again later can succeed: only I/O with the backend can.
    pub fn is_transient(&self) -> bool {
        matches!(self, StoreError::Io { .. } | StoreError::Backend { .. })
    }
}

/// Why a job was refused at submission. Nothing is recorded or queued when this is returned
/// (except [`SubmitError::Queue`], where the job is recorded and the sweeper will publish it).
#[derive(Debug, Error)]
pub enum SubmitError {
    #[error("command {index}: {source}")]
    Pipeline {
        index: usize,
        source: pipeline::PipelineError,
    },
    #[error("{0}")]
    BadRequest(String),
    #[error("access denied: {access_key} has no {permission} grant on bucket {bucket}")]
    AccessDenied {
        access_key: String,
        bucket: String,
        permission: &'static str,
    },
    #[error("no such pipeline: {0}")]
    NoSuchPipeline(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Ledger(#[from] LedgerError),
}

impl SubmitError {
    pub fn code(&self) -> &'static str {
        match self {
            SubmitError::Pipeline { source, .. } => source.code.as_str(),
            SubmitError::BadRequest(_) => "InvalidArgument",
            SubmitError::AccessDenied { .. } => "AccessDenied",
            SubmitError::NoSuchPipeline(_) => "NoSuchPipeline",
            SubmitError::Store(e) => e.code(),
            SubmitError::Ledger(e) => e.code(),
        }
    }
}
