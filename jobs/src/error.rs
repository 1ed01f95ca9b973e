//! One error enum per concern, each answering its [`FailureCode`] (`code()`), and
//! [`Failure`]: the one value every one of them converts into, which each HTTP surface renders
//! in its own wire format (in one place per surface).

use thiserror::Error;

pub use crate::code::FailureCode;

#[derive(Debug, Error)]
pub enum ConfigError {
    #[error("cannot read configuration file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("configuration value {name}={value:?} is not valid")]
    Invalid { name: String, value: String },
    /// A layer that does not read, or a value of the wrong type (named with its source).
    #[error("configuration is not valid: {0}")]
    Layers(String),
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
    pub fn code(&self) -> FailureCode {
        match self {
            LedgerError::NoSuchJob(_) => FailureCode::NoSuchJob,
            LedgerError::KeyExists(_) => FailureCode::KeyExists,
            LedgerError::Database(error) if unreachable(error) => FailureCode::ServiceUnavailable,
            LedgerError::Database(_) | LedgerError::Migrate(_) => FailureCode::INTERNAL_ERROR,
        }
    }

    /// Whether the message describes our own internals rather than the request.
    fn is_internal(&self) -> bool {
        matches!(self, LedgerError::Database(_) | LedgerError::Migrate(_))
    }
}

/// Whether the database could not be reached at all (down, restarting, out of connections),
/// rather than refusing a statement: the request may succeed in a moment.
fn unreachable(error: &sqlx::Error) -> bool {
    matches!(
        error,
        sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::Protocol(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::WorkerCrashed
    ) || matches!(error, sqlx::Error::Database(db) if db.code().is_some_and(|code| {
        // 57P01-03: admin shutdown, crash shutdown, cannot connect now; 53300: too many
        // connections.
        matches!(code.as_ref(), "57P01" | "57P02" | "57P03" | "53300")
    }))
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
    #[error("The bucket you tried to delete is not empty: {0}")]
    BucketNotEmpty(String),
    /// The key's path in a folder bucket passes through a symbolic link, which could lead
    /// outside the bucket: never followed.
    #[error(
        "{bucket}/{key} passes through a symbolic link in the bucket's folder, and a folder \
         bucket never follows links"
    )]
    Link { bucket: String, key: String },
    /// The key would be a file and a folder at once on a folder bucket.
    #[error(
        "{bucket}/{key}: a folder bucket cannot keep this key beside the keys it holds \
         (one of them would be a file and a folder at once, as `a` beside `a/b`)"
    )]
    KeyConflict { bucket: String, key: String },
    #[error("the bucket {0} is configured (the TOML file): remove it there")]
    Configured(String),
    /// The request's body broke off or could not be read; nothing was stored.
    #[error("the body for {bucket}/{key} could not be read: {message}")]
    Body {
        bucket: String,
        key: String,
        message: String,
    },
    /// A streamed body's MD5 is not the one the client gave (`Content-MD5`); the write was
    /// abandoned before the object became visible.
    #[error(
        "the Content-MD5 you specified ({given}) did not match what was received ({actual}) \
         for {bucket}/{key}"
    )]
    Digest {
        bucket: String,
        key: String,
        given: String,
        actual: String,
    },
}

impl StoreError {
    pub fn code(&self) -> FailureCode {
        match self {
            StoreError::NoSuchBucket(_) => FailureCode::NoSuchBucket,
            StoreError::InvalidBucket(_) => FailureCode::InvalidBucketName,
            StoreError::InvalidKey(_) => FailureCode::InvalidObjectName,
            StoreError::NoSuchKey { .. } => FailureCode::NoSuchKey,
            StoreError::TooLarge { .. } => FailureCode::EntityTooLarge,
            StoreError::Body { .. } => FailureCode::INVALID_ARGUMENT,
            StoreError::Digest { .. } => FailureCode::InvalidDigest,
            StoreError::BucketNotEmpty(_) => FailureCode::BucketNotEmpty,
            StoreError::KeyConflict { .. } => FailureCode::KeyConflict,
            StoreError::Link { .. } => FailureCode::AccessDenied,
            StoreError::Configured(_) => FailureCode::AccessDenied,
            StoreError::Io { source, .. } if refuses_the_key(source) => {
                FailureCode::InvalidObjectName
            }
            StoreError::Io { .. } | StoreError::Backend { .. } => FailureCode::StorageError,
        }
    }

    /// Whether trying again later can succeed: only I/O with the backend can, and not when
    /// the backend refused the name itself (too long, not a directory on the way, ...).
    pub fn is_transient(&self) -> bool {
        match self {
            StoreError::Io { source, .. } => backend_may_recover(source),
            StoreError::Backend { .. } => true,
            _ => false,
        }
    }
}

/// Whether a backend failure may pass if tried again: not a refusal of the request itself.
fn backend_may_recover(error: &object_store::Error) -> bool {
    use object_store::Error as E;
    let refused = matches!(
        error,
        E::NotSupported { .. } | E::NotImplemented { .. } | E::UnknownConfigurationKey { .. }
    );
    !refused && !refuses_the_key(error)
}

/// Whether the backend refused the object's name (its path), as it would every time.
fn refuses_the_key(error: &object_store::Error) -> bool {
    matches!(error, object_store::Error::InvalidPath { .. })
        || io_kind(error).is_some_and(refuses_the_name)
}

/// File system errors that say the path itself cannot be used, whenever it is tried.
fn refuses_the_name(kind: std::io::ErrorKind) -> bool {
    use std::io::ErrorKind;
    matches!(
        kind,
        ErrorKind::InvalidFilename
            | ErrorKind::NotADirectory
            | ErrorKind::IsADirectory
            | ErrorKind::InvalidInput
    )
}

/// The kind of the file system error under a backend's error, if there is one.
pub(crate) fn io_kind(error: &object_store::Error) -> Option<std::io::ErrorKind> {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(error) = cause {
        if let Some(io) = error.downcast_ref::<std::io::Error>() {
            return Some(io.kind());
        }
        cause = error.source();
    }
    None
}

/// A grant the access key lacks.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{access_key} has no {permission} grant on bucket {bucket}")]
pub struct Denied {
    pub access_key: String,
    pub bucket: String,
    pub permission: &'static str,
}

/// Why a read was refused (the code is `AccessDenied` for each; the words are OSS's).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ReadRefused {
    #[error(transparent)]
    Denied(#[from] Denied),
    #[error(
        "You have no right to access this object because of bucket acl (bucket {0} is private)."
    )]
    Private(String),
    #[error("You have no right to access this object because of original protection ({0} is readable through a style only).")]
    Protected(String),
}

impl From<ReadRefused> for Failure {
    fn from(error: ReadRefused) -> Self {
        Failure::new(FailureCode::AccessDenied, error.to_string())
    }
}

/// Why a job was refused at submission. Nothing is recorded or queued when this is returned.
#[derive(Debug, Error)]
pub enum SubmitError {
    #[error("command {index}: {source}")]
    Pipeline {
        index: usize,
        source: pipeline::PipelineError,
    },
    #[error("{0}")]
    BadRequest(String),
    #[error("access denied: {0}")]
    AccessDenied(#[from] Denied),
    #[error("no such pipeline: {0}")]
    NoSuchPipeline(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Ledger(#[from] LedgerError),
}

impl SubmitError {
    pub fn code(&self) -> FailureCode {
        match self {
            SubmitError::Pipeline { source, .. } => source.code.into(),
            SubmitError::BadRequest(_) => FailureCode::INVALID_ARGUMENT,
            SubmitError::AccessDenied(_) => FailureCode::AccessDenied,
            SubmitError::NoSuchPipeline(_) => FailureCode::NoSuchPipeline,
            SubmitError::Store(e) => e.code(),
            SubmitError::Ledger(e) => e.code(),
        }
    }
}

/// Why a style or an upload rule was not stored, found or removed.
#[derive(Debug, Error)]
pub enum CatalogError {
    /// What a submission would refuse too: a bad bucket name, a bad command, a bad request.
    #[error(transparent)]
    Invalid(#[from] SubmitError),
    #[error("bucket {bucket} already has {limit} styles")]
    TooManyStyles { bucket: String, limit: i64 },
    #[error("no such style: {0}")]
    NoSuchStyle(String),
    #[error("no such upload rule: {0}")]
    NoSuchRule(String),
    #[error(transparent)]
    Denied(#[from] Denied),
    #[error(transparent)]
    Queue(#[from] QueueError),
    #[error(transparent)]
    Ledger(#[from] LedgerError),
}

impl CatalogError {
    pub fn code(&self) -> FailureCode {
        match self {
            CatalogError::Invalid(e) => e.code(),
            CatalogError::TooManyStyles { .. } => FailureCode::TooManyStyles,
            CatalogError::NoSuchStyle(_) => FailureCode::NO_SUCH_STYLE,
            CatalogError::NoSuchRule(_) => FailureCode::NoSuchRule,
            CatalogError::Denied(_) => FailureCode::AccessDenied,
            // The broker could not declare the pipeline's queue: nothing was created.
            CatalogError::Queue(_) => FailureCode::ServiceUnavailable,
            CatalogError::Ledger(e) => e.code(),
        }
    }
}

/// Why an upload was not stored (or its job not started).
#[derive(Debug, Error)]
pub enum UploadError {
    #[error(transparent)]
    Denied(#[from] Denied),
    #[error(transparent)]
    Object(#[from] ObjectError),
    #[error("the Content-MD5 {given} is not the MD5 of the body ({actual}); nothing was stored")]
    Digest { given: String, actual: String },
    #[error("the object {bucket}/{key} already exists")]
    KeyExists { bucket: String, key: String },
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The object is stored; the job it should start was refused.
    #[error(transparent)]
    Submit(#[from] SubmitError),
}

impl UploadError {
    pub fn code(&self) -> FailureCode {
        match self {
            UploadError::Denied(_) => FailureCode::AccessDenied,
            UploadError::Object(e) => e.code(),
            UploadError::Digest { .. } => FailureCode::InvalidDigest,
            UploadError::KeyExists { .. } => FailureCode::KeyExists,
            UploadError::Store(e) => e.code(),
            UploadError::Submit(e) => e.code(),
        }
    }
}

/// Storing, describing or recording an object.
#[derive(Debug, Error)]
pub enum ObjectError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    #[error("{0}")]
    InvalidMeta(String),
}

impl ObjectError {
    pub fn code(&self) -> FailureCode {
        match self {
            ObjectError::Store(e) => e.code(),
            ObjectError::Ledger(e) => e.code(),
            ObjectError::InvalidMeta(_) => FailureCode::INVALID_ARGUMENT,
        }
    }
}

/// A multipart upload's call refused or failed.
#[derive(Debug, Error)]
pub enum MultipartError {
    #[error(transparent)]
    Denied(#[from] Denied),
    #[error(transparent)]
    Object(#[from] ObjectError),
    #[error(transparent)]
    Submit(#[from] SubmitError),
    #[error("The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.")]
    NoSuchUpload,
    #[error("the part number {0:?} is not a number from 1 to 10000")]
    InvalidPartNumber(String),
    #[error("One or more of the specified parts could not be found: {0}")]
    InvalidPart(String),
    #[error("The list of parts was not in ascending order.")]
    InvalidPartOrder,
    #[error("part {number} is {size} bytes: every part but the last must be at least 100 KiB")]
    TooSmall { number: u32, size: u64 },
    #[error(
        "The Content-MD5 you specified did not match what was received; the part was not kept."
    )]
    Digest,
}

impl MultipartError {
    pub fn code(&self) -> FailureCode {
        match self {
            MultipartError::Denied(_) => FailureCode::AccessDenied,
            MultipartError::Object(e) => e.code(),
            MultipartError::Submit(e) => e.code(),
            MultipartError::NoSuchUpload => FailureCode::NoSuchUpload,
            MultipartError::InvalidPartNumber(_) => FailureCode::INVALID_ARGUMENT,
            MultipartError::InvalidPart(_) => FailureCode::InvalidPart,
            MultipartError::InvalidPartOrder => FailureCode::InvalidPartOrder,
            MultipartError::TooSmall { .. } => FailureCode::EntityTooSmall,
            MultipartError::Digest => FailureCode::InvalidDigest,
        }
    }
}

impl From<StoreError> for MultipartError {
    fn from(error: StoreError) -> Self {
        MultipartError::Object(error.into())
    }
}

impl From<LedgerError> for MultipartError {
    fn from(error: LedgerError) -> Self {
        MultipartError::Object(error.into())
    }
}

/// A failure as every surface answers it: its code, a sentence for the client, and where in
/// the request it lies. Every error above converts into one; each surface only renders it.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{message}")]
pub struct Failure {
    pub code: FailureCode,
    pub message: String,
    /// The command (0-based) of a submission that failed to parse.
    pub command: Option<usize>,
    /// The failing step of that command.
    pub step: Option<usize>,
    /// The message describes our own internals (a database error): surfaces log it and answer
    /// a sentence of their own instead.
    pub internal: bool,
}

impl Failure {
    pub fn new(code: FailureCode, message: impl Into<String>) -> Failure {
        Failure {
            code,
            message: message.into(),
            command: None,
            step: None,
            internal: false,
        }
    }
}

impl From<LedgerError> for Failure {
    fn from(error: LedgerError) -> Self {
        if error.code() == FailureCode::ServiceUnavailable {
            // Logged in full by the surfaces (a 5xx); the client is told what to do.
            tracing::warn!(%error, "the ledger cannot be reached");
            return Failure::new(
                FailureCode::ServiceUnavailable,
                "the service cannot reach its database just now; nothing was done, try again",
            );
        }
        Failure {
            internal: error.is_internal(),
            ..Failure::new(error.code(), error.to_string())
        }
    }
}

impl From<StoreError> for Failure {
    fn from(error: StoreError) -> Self {
        Failure::new(error.code(), error.to_string())
    }
}

impl From<Denied> for Failure {
    fn from(error: Denied) -> Self {
        Failure::new(FailureCode::AccessDenied, error.to_string())
    }
}

impl From<SubmitError> for Failure {
    fn from(error: SubmitError) -> Self {
        match error {
            SubmitError::Ledger(error) => error.into(),
            SubmitError::Pipeline { index, ref source } => Failure {
                command: Some(index),
                step: source.step,
                ..Failure::new(error.code(), error.to_string())
            },
            error => Failure::new(error.code(), error.to_string()),
        }
    }
}

impl From<CatalogError> for Failure {
    fn from(error: CatalogError) -> Self {
        match error {
            CatalogError::Invalid(error) => error.into(),
            CatalogError::Ledger(error) => error.into(),
            error => Failure::new(error.code(), error.to_string()),
        }
    }
}

impl From<ObjectError> for Failure {
    fn from(error: ObjectError) -> Self {
        match error {
            ObjectError::Ledger(error) => error.into(),
            ObjectError::Store(error) => error.into(),
            error => Failure::new(error.code(), error.to_string()),
        }
    }
}

impl From<MultipartError> for Failure {
    fn from(error: MultipartError) -> Self {
        match error {
            MultipartError::Object(error) => error.into(),
            MultipartError::Submit(error) => error.into(),
            error => Failure::new(error.code(), error.to_string()),
        }
    }
}

impl From<UploadError> for Failure {
    fn from(error: UploadError) -> Self {
        match error {
            UploadError::Object(error) => error.into(),
            UploadError::Submit(error) => error.into(),
            error => Failure::new(error.code(), error.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pipeline::{ErrorCode, PipelineError};

    fn io_failure(kind: std::io::ErrorKind) -> StoreError {
        StoreError::Io {
            bucket: "b".into(),
            key: "k".into(),
            source: object_store::Error::Generic {
                store: "LocalFileSystem",
                source: Box::new(std::io::Error::from(kind)),
            },
        }
    }

    #[test]
    fn a_name_the_backend_refuses_is_bad_input_and_other_io_is_retried() {
        use std::io::ErrorKind;
        for kind in [ErrorKind::InvalidFilename, ErrorKind::NotADirectory] {
            let error = io_failure(kind);
            assert!(!error.is_transient(), "{kind:?}");
            assert_eq!(error.code(), FailureCode::InvalidObjectName, "{kind:?}");
        }
        for kind in [
            ErrorKind::ConnectionReset,
            ErrorKind::TimedOut,
            ErrorKind::Other,
        ] {
            let error = io_failure(kind);
            assert!(error.is_transient(), "{kind:?}");
            assert_eq!(error.code(), FailureCode::StorageError, "{kind:?}");
        }
    }

    fn denied() -> Denied {
        Denied {
            access_key: "ak".into(),
            bucket: "b".into(),
            permission: "write",
        }
    }

    #[test]
    fn a_denial_alone_has_no_prefix_and_in_a_submission_has_one() {
        let alone = Failure::from(denied());
        assert_eq!(alone.code, FailureCode::AccessDenied);
        assert_eq!(alone.message, "ak has no write grant on bucket b");
        let submitted = Failure::from(SubmitError::from(denied()));
        assert_eq!(submitted.code, FailureCode::AccessDenied);
        assert_eq!(
            submitted.message,
            "access denied: ak has no write grant on bucket b"
        );
    }

    #[test]
    fn a_pipeline_failure_names_its_command_and_step() {
        let source = PipelineError::invalid_argument("resize: w_0").at_step(1);
        let failure = Failure::from(SubmitError::Pipeline { index: 2, source });
        assert_eq!(failure.code, FailureCode::INVALID_ARGUMENT);
        assert_eq!(failure.message, "command 2: resize: w_0");
        assert_eq!((failure.command, failure.step), (Some(2), Some(1)));
        assert!(!failure.internal);
    }

    #[test]
    fn database_failures_are_internal_and_others_are_not() {
        let database = LedgerError::Database(sqlx::Error::RowNotFound);
        let failure = Failure::from(CatalogError::from(SubmitError::from(database)));
        assert_eq!(
            failure.code,
            FailureCode::Pipeline(ErrorCode::InternalError)
        );
        assert!(failure.internal);
        let down = LedgerError::Database(sqlx::Error::PoolTimedOut);
        let failure = Failure::from(CatalogError::from(SubmitError::from(down)));
        assert_eq!(failure.code, FailureCode::ServiceUnavailable);
        assert!(failure.message.contains("try again"), "{}", failure.message);
        let missing = Failure::from(LedgerError::NoSuchJob("x".into()));
        assert_eq!(missing.code, FailureCode::NoSuchJob);
        assert_eq!(missing.message, "no such job: x");
        assert!(!missing.internal);
    }

    #[test]
    fn each_error_answers_its_code() {
        let exists = UploadError::KeyExists {
            bucket: "b".into(),
            key: "k".into(),
        };
        assert_eq!(exists.code(), FailureCode::KeyExists);
        let too_many = CatalogError::TooManyStyles {
            bucket: "b".into(),
            limit: 50,
        };
        assert_eq!(too_many.code(), FailureCode::TooManyStyles);
        assert_eq!(too_many.to_string(), "bucket b already has 50 styles");
        let store = StoreError::InvalidBucket("..".into());
        assert_eq!(
            Failure::from(UploadError::from(store)).code,
            FailureCode::InvalidBucketName
        );
    }
}
