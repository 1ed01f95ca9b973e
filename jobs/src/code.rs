//! [`FailureCode`]: the one type of every failure code above the engine.
//!
//! It wraps the engine's [`ErrorCode`] and adds the codes of storage, credentials, submission
//! and jobs. Its string form ([`FailureCode::as_str`]) is on the wire (OSS `<Code>`, the native
//! `code`, item `error_code`s) and in the ledger (`job_items.error_code`), so a string, once
//! released, never changes; [`FailureCode::parse`] reads a stored one back. Each HTTP surface
//! maps a code to its status in one exhaustive `match`, so a new code cannot be forgotten there.

use std::fmt;
use std::str::FromStr;

use pipeline::ErrorCode;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// What kind of failure happened, engine or not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FailureCode {
    /// The engine's codes (parsing, decoding, processing, encoding), under their own names.
    Pipeline(ErrorCode),
    /// The bucket does not exist.
    NoSuchBucket,
    /// A bucket name that is not allowed.
    InvalidBucketName,
    /// An object key that is not allowed.
    InvalidObjectName,
    /// The object does not exist.
    NoSuchKey,
    /// An object or a body over a size limit.
    EntityTooLarge,
    /// The object store failed (I/O, backend): worth trying again later.
    StorageError,
    /// No credentials, or credentials that are not those of any key (native, Qiniu).
    Unauthorized,
    /// The key lacks the grant the request needs.
    AccessDenied,
    /// The request's signature is not the one its key's secret makes.
    SignatureDoesNotMatch,
    /// The request names an access key that does not exist (OSS).
    InvalidAccessKeyId,
    /// The request's date, or its token's deadline, is too far from now.
    RequestTimeTooSkewed,
    /// The job names a pipeline (queue) this deployment does not serve.
    NoSuchPipeline,
    /// No job has that id (or the caller may not know it has).
    NoSuchJob,
    /// No upload rule has that id.
    NoSuchRule,
    /// The bucket holds as many styles as it may.
    TooManyStyles,
    /// The key already exists: an access key (`keys create`), or an object (Qiniu
    /// `insertOnly`).
    KeyExists,
    /// The method is not allowed on that resource (OSS).
    MethodNotAllowed,
    /// The job kept failing on I/O until it ran out of attempts.
    RetryExhausted,
    /// A synchronous process (OSS saveas) did not finish in time; the job goes on.
    ProcessTimeout,
    /// Too much work is waiting: try again later (S3's and OSS's `SlowDown`, with
    /// `Retry-After`).
    SlowDown,
    /// The body is not the one its `Content-MD5` names (OSS).
    InvalidDigest,
    /// An XML body that is not the document the request takes (OSS).
    MalformedXML,
    /// The object is not the one `If-Match` / `If-Unmodified-Since` asks for (HTTP 412).
    PreconditionFailed,
    /// No multipart upload has that id (or it was completed or aborted).
    NoSuchUpload,
    /// A part a completion names was not uploaded, or has another ETag.
    InvalidPart,
    /// A completion's parts are not in ascending order.
    InvalidPartOrder,
    /// A part other than the last is under the smallest part size.
    EntityTooSmall,
    /// A bucket to delete still holds objects (HTTP 409).
    BucketNotEmpty,
    /// The ledger (PostgreSQL) cannot be reached: nothing was decided, try again shortly
    /// (HTTP 503 with `Retry-After`).
    ServiceUnavailable,
    /// A folder bucket cannot keep the key: it would be a file and a folder at once (`a`
    /// beside `a/b`), which a file system cannot hold (HTTP 409).
    KeyConflict,
    /// An upload's callback URL did not answer as asked (Qiniu 579, OSS 203): the object is
    /// stored, the answer the client waited for is missing.
    CallbackFailed,
}

/// Every engine code, in the engine's order: what [`FailureCode::parse`] looks through.
/// `every_engine_code_is_listed` (below) stops compiling when the engine adds one.
const ENGINE_CODES: [ErrorCode; 13] = [
    ErrorCode::InvalidArgument,
    ErrorCode::MissingArgument,
    ErrorCode::BadRequest,
    ErrorCode::ImageTooLarge,
    ErrorCode::WatermarkError,
    ErrorCode::NoSuchStyle,
    ErrorCode::TooManyPipe,
    ErrorCode::NotImplemented,
    ErrorCode::UnsupportedFormat,
    ErrorCode::DecodeFailed,
    ErrorCode::EncodeFailed,
    ErrorCode::DeadlineExceeded,
    ErrorCode::InternalError,
];

/// Every code that is not the engine's.
const OWN_CODES: [FailureCode; 31] = [
    FailureCode::NoSuchBucket,
    FailureCode::InvalidBucketName,
    FailureCode::InvalidObjectName,
    FailureCode::NoSuchKey,
    FailureCode::EntityTooLarge,
    FailureCode::StorageError,
    FailureCode::Unauthorized,
    FailureCode::AccessDenied,
    FailureCode::SignatureDoesNotMatch,
    FailureCode::InvalidAccessKeyId,
    FailureCode::RequestTimeTooSkewed,
    FailureCode::NoSuchPipeline,
    FailureCode::NoSuchJob,
    FailureCode::NoSuchRule,
    FailureCode::TooManyStyles,
    FailureCode::KeyExists,
    FailureCode::MethodNotAllowed,
    FailureCode::RetryExhausted,
    FailureCode::ProcessTimeout,
    FailureCode::SlowDown,
    FailureCode::InvalidDigest,
    FailureCode::MalformedXML,
    FailureCode::PreconditionFailed,
    FailureCode::NoSuchUpload,
    FailureCode::InvalidPart,
    FailureCode::InvalidPartOrder,
    FailureCode::EntityTooSmall,
    FailureCode::BucketNotEmpty,
    FailureCode::KeyConflict,
    FailureCode::ServiceUnavailable,
    FailureCode::CallbackFailed,
];

impl FailureCode {
    /// A code as the ledger stored it; a string that is no code (written by a newer
    /// version, or by hand) reads as `InternalError`, with a warning.
    fn stored(text: &str) -> FailureCode {
        FailureCode::parse(text).unwrap_or_else(|| {
            tracing::warn!(
                code = text,
                "unknown failure code in the ledger; read as internal"
            );
            FailureCode::INTERNAL_ERROR
        })
    }

    /// The engine's codes that the layers above use for their own failures too.
    pub const INVALID_ARGUMENT: FailureCode = FailureCode::Pipeline(ErrorCode::InvalidArgument);
    pub const MISSING_ARGUMENT: FailureCode = FailureCode::Pipeline(ErrorCode::MissingArgument);
    pub const NO_SUCH_STYLE: FailureCode = FailureCode::Pipeline(ErrorCode::NoSuchStyle);
    pub const NOT_IMPLEMENTED: FailureCode = FailureCode::Pipeline(ErrorCode::NotImplemented);
    pub const INTERNAL_ERROR: FailureCode = FailureCode::Pipeline(ErrorCode::InternalError);

    /// The stable string: the vendor's code wherever the vendor has one.
    pub fn as_str(self) -> &'static str {
        match self {
            FailureCode::Pipeline(code) => code.as_str(),
            FailureCode::NoSuchBucket => "NoSuchBucket",
            FailureCode::InvalidBucketName => "InvalidBucketName",
            FailureCode::InvalidObjectName => "InvalidObjectName",
            FailureCode::NoSuchKey => "NoSuchKey",
            FailureCode::EntityTooLarge => "EntityTooLarge",
            FailureCode::StorageError => "StorageError",
            FailureCode::Unauthorized => "Unauthorized",
            FailureCode::AccessDenied => "AccessDenied",
            FailureCode::SignatureDoesNotMatch => "SignatureDoesNotMatch",
            FailureCode::InvalidAccessKeyId => "InvalidAccessKeyId",
            FailureCode::RequestTimeTooSkewed => "RequestTimeTooSkewed",
            FailureCode::NoSuchPipeline => "NoSuchPipeline",
            FailureCode::NoSuchJob => "NoSuchJob",
            FailureCode::NoSuchRule => "NoSuchRule",
            FailureCode::TooManyStyles => "TooManyStyles",
            FailureCode::KeyExists => "KeyExists",
            FailureCode::MethodNotAllowed => "MethodNotAllowed",
            FailureCode::RetryExhausted => "RetryExhausted",
            FailureCode::ProcessTimeout => "ProcessTimeout",
            FailureCode::SlowDown => "SlowDown",
            FailureCode::InvalidDigest => "InvalidDigest",
            FailureCode::MalformedXML => "MalformedXML",
            FailureCode::PreconditionFailed => "PreconditionFailed",
            FailureCode::NoSuchUpload => "NoSuchUpload",
            FailureCode::InvalidPart => "InvalidPart",
            FailureCode::InvalidPartOrder => "InvalidPartOrder",
            FailureCode::EntityTooSmall => "EntityTooSmall",
            FailureCode::BucketNotEmpty => "BucketNotEmpty",
            FailureCode::KeyConflict => "KeyConflict",
            FailureCode::ServiceUnavailable => "ServiceUnavailable",
            FailureCode::CallbackFailed => "CallbackFailed",
        }
    }

    /// The code whose string is `text` (a stored `error_code`), if there is one.
    pub fn parse(text: &str) -> Option<FailureCode> {
        ENGINE_CODES
            .into_iter()
            .map(FailureCode::Pipeline)
            .chain(OWN_CODES)
            .find(|code| code.as_str() == text)
    }
}

impl From<ErrorCode> for FailureCode {
    fn from(code: ErrorCode) -> Self {
        FailureCode::Pipeline(code)
    }
}

impl fmt::Display for FailureCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A string that is no failure code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a failure code")]
pub struct UnknownCode(pub String);

impl FromStr for FailureCode {
    type Err = UnknownCode;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        FailureCode::parse(text).ok_or_else(|| UnknownCode(text.to_string()))
    }
}

impl Serialize for FailureCode {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// Read as leniently as the column (see the `Decode` below): the ledger's JSON of a job's
/// items must stay readable whatever one row holds.
impl<'de> Deserialize<'de> for FailureCode {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Ok(FailureCode::stored(&text))
    }
}

/// Stored as its string, in a `text` column.
impl sqlx::Type<sqlx::Postgres> for FailureCode {
    fn type_info() -> sqlx::postgres::PgTypeInfo {
        <&str as sqlx::Type<sqlx::Postgres>>::type_info()
    }

    fn compatible(ty: &sqlx::postgres::PgTypeInfo) -> bool {
        <&str as sqlx::Type<sqlx::Postgres>>::compatible(ty)
    }
}

impl sqlx::Encode<'_, sqlx::Postgres> for FailureCode {
    fn encode_by_ref(
        &self,
        buf: &mut sqlx::postgres::PgArgumentBuffer,
    ) -> Result<sqlx::encode::IsNull, sqlx::error::BoxDynError> {
        <&str as sqlx::Encode<sqlx::Postgres>>::encode(self.as_str(), buf)
    }
}

/// A stored string that is no code (written by a newer version, or by hand) reads as
/// `InternalError`, with a warning: one odd row must not make its job unreadable.
impl<'r> sqlx::Decode<'r, sqlx::Postgres> for FailureCode {
    fn decode(value: sqlx::postgres::PgValueRef<'r>) -> Result<Self, sqlx::error::BoxDynError> {
        let text = <&str as sqlx::Decode<sqlx::Postgres>>::decode(value)?;
        Ok(FailureCode::stored(text))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn every_code() -> impl Iterator<Item = FailureCode> {
        ENGINE_CODES
            .into_iter()
            .map(FailureCode::Pipeline)
            .chain(OWN_CODES)
    }

    #[test]
    fn every_code_round_trips_through_its_string() {
        for code in every_code() {
            assert_eq!(FailureCode::parse(code.as_str()), Some(code), "{code}");
            assert_eq!(code.as_str().parse::<FailureCode>(), Ok(code));
            assert_eq!(code.to_string(), code.as_str());
            let json = serde_json::to_string(&code).expect("serializes");
            assert_eq!(json, format!("\"{}\"", code.as_str()));
            assert_eq!(serde_json::from_str::<FailureCode>(&json).ok(), Some(code));
        }
        assert_eq!(FailureCode::parse("NoSuchThing"), None);
        assert!("invalidargument".parse::<FailureCode>().is_err());
    }

    #[test]
    fn strings_are_the_released_ones_and_unique() {
        let strings: Vec<&str> = every_code().map(FailureCode::as_str).collect();
        let mut unique = strings.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), strings.len(), "two codes share a string");
        for text in [
            "InvalidArgument",
            "InternalError",
            "DeadlineExceeded",
            "NoSuchBucket",
            "InvalidBucketName",
            "InvalidObjectName",
            "NoSuchKey",
            "EntityTooLarge",
            "StorageError",
            "AccessDenied",
            "NoSuchPipeline",
            "RetryExhausted",
            "ProcessTimeout",
        ] {
            assert!(strings.contains(&text), "{text}");
        }
    }

    #[test]
    fn every_engine_code_is_listed() {
        // Exhaustive on purpose: a new engine code stops this compiling until it is added
        // here and to ENGINE_CODES, so `parse` can read it back.
        for code in ENGINE_CODES {
            match code {
                ErrorCode::InvalidArgument
                | ErrorCode::MissingArgument
                | ErrorCode::BadRequest
                | ErrorCode::ImageTooLarge
                | ErrorCode::WatermarkError
                | ErrorCode::NoSuchStyle
                | ErrorCode::TooManyPipe
                | ErrorCode::NotImplemented
                | ErrorCode::UnsupportedFormat
                | ErrorCode::DecodeFailed
                | ErrorCode::EncodeFailed
                | ErrorCode::DeadlineExceeded
                | ErrorCode::InternalError => {}
            }
        }
        assert_eq!(ENGINE_CODES.len(), 13);
    }
}
