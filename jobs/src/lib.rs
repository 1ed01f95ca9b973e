//! What both sides of the queue share. The HTTP surfaces (`api`) only translate wire formats
//! into the calls below and the answers (or a [`error::Failure`]) back; every rule about jobs,
//! objects, styles and upload rules is here.
//!
//! - [`config`]: defaults, TOML file, environment.
//! - [`model`]: job states, items, the status documents (native and Qiniu prefop), the queue
//!   message.
//! - [`ledger`]: Postgres, the truth about every job (claims, leases, outcomes, callbacks,
//!   access keys).
//! - [`queue`]: RabbitMQ, which only distributes job ids.
//! - [`buckets`]: named object stores (folders, S3-compatible, memory) with read limits.
//! - [`keys`]: OSS's key rules, and how every valid key is kept on a backend's paths.
//! - [`catalog`]: per-bucket styles and upload rules: checked, then kept in the ledger.
//! - [`credentials`]: access keys, grants, permission checks.
//! - [`submit`]: validation and submission of jobs, shared by every HTTP surface.
//! - [`upload`]: the one upload path (store, then the job of the upload's own commands and
//!   the matching upload rules), shared by every HTTP surface.
//! - [`listing`]: one page of a bucket's objects, folded by a delimiter, after a marker.
//! - [`delete`]: the one delete path (the object, then its GET-processed results).
//! - [`processed`]: processing on GET: results kept under a key derived from the canonical
//!   pipeline and the source's version, rendered once by the workers, waited for.
//! - [`marks`]: publisher confirms noted in the ledger in batches, off the request path.
//! - [`lookup`]: a job by the id a client holds; waiting for a job to end.
//! - [`code`]: [`code::FailureCode`], every failure code (the engine's and ours), its stable
//!   strings, and how it is stored.
//! - [`error`]: one error enum per concern, each answering its `FailureCode`, and
//!   [`error::Failure`], the value they all convert into for the surfaces.
//! - [`watch`]: waiting for jobs to end, woken by the ledger's announcements (Postgres
//!   `LISTEN`/`NOTIFY`), not by polling.
//! - [`objects`]: object records (metadata and digests, in the ledger beside the backend's
//!   version tag): written on upload, derived from the bytes for objects put by hand.
//! - [`multipart`]: multipart uploads: parts streamed to the bucket's backend, checked and
//!   joined on completion.
//! - [`digest`]: MD5, CRC-64/ECMA and Qiniu's hash in one pass, in any chunking.
//! - [`etag`]: Qiniu's content hash.
//! - [`telemetry`]: logging setup.

pub mod buckets;
pub mod catalog;
pub mod code;
pub mod config;
pub mod credentials;
pub mod delete;
pub mod digest;
pub mod error;
pub mod etag;
pub mod keys;
pub mod ledger;
pub mod listing;
pub mod lookup;
pub mod marks;
pub mod model;
pub mod multipart;
pub mod objects;
pub mod processed;
pub mod queue;
pub mod submit;
pub mod telemetry;
pub mod upload;
pub mod watch;

use std::sync::Arc;

pub use config::Config;
pub use ledger::Ledger;
pub use queue::Queue;

/// The connections a process holds: one set, shared by the API and the worker.
pub struct Services {
    pub config: Config,
    pub ledger: Ledger,
    pub queue: Queue,
    pub buckets: buckets::Buckets,
    /// Wakes requests waiting for jobs (the OSS synchronous saveas, GET processing).
    pub watch: watch::JobWatch,
    /// Notes publisher confirms in the ledger, in batches, off the request path.
    pub marks: marks::PublishMarks,
}

impl Services {
    /// Connects to Postgres (creating and migrating the database as needed) and RabbitMQ
    /// (declaring the exchange and queues), and opens the buckets.
    pub async fn connect(config: Config) -> Result<Arc<Services>, StartError> {
        let buckets = buckets::Buckets::from_config(&config)?;
        buckets.check_data_dir()?;
        let ledger = Ledger::connect(&config.database_url).await?;
        // The pipelines created at run time are declared too: a broker that lost them (a
        // new node, a reset) gets them back whenever a process connects.
        let mut pipelines = config.pipelines.clone();
        for (name, _) in ledger.created_pipelines().await? {
            if !pipelines.contains(&name) {
                pipelines.push(name);
            }
        }
        let queue = Queue::connect(&config.amqp_url, &config.queue_prefix, &pipelines).await?;
        let watch = watch::JobWatch::new(&config.database_url);
        let marks = marks::PublishMarks::start(ledger.clone());
        Ok(Arc::new(Services {
            watch,
            marks,
            config,
            ledger,
            queue,
            buckets,
        }))
    }
}

/// Why a process could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Config(#[from] error::ConfigError),
    #[error(transparent)]
    Ledger(#[from] error::LedgerError),
    #[error(transparent)]
    Queue(#[from] error::QueueError),
    #[error(transparent)]
    Store(#[from] error::StoreError),
}
