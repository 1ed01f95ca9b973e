//! Configuration: defaults that work on a developer machine, then a TOML file (`--config` or
//! `FERROTYPE_CONFIG`), then environment variables on top (the operator's last word).
//!
//! - this file: the settings, their defaults, their validation;
//! - [`layers`]: how the layers are read and merged (figment), nested environment keys,
//!   the git-ignored `.ferrotype.env` the setup scripts write;
//! - [`print`]: the effective configuration as TOML, secrets masked (`ferrotype config print`).

pub mod layers;
pub mod print;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::ConfigError;

/// Everything a Ferrotype process needs to know about its surroundings.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Address the HTTP API listens on.
    pub listen: String,
    pub database_url: String,
    pub amqp_url: String,
    /// Buckets without their own configuration are folders below this directory.
    pub data_dir: PathBuf,
    /// Every exchange and queue name starts with it, so instances sharing a broker stay apart.
    pub queue_prefix: String,
    /// Worker slots: images rendered at once (one per core by default).
    pub workers: usize,
    /// Jobs a worker holds at once (the RabbitMQ prefetch); unset, twice `workers`. More jobs
    /// than render slots, so that one job's fetch, save and ledger round trips overlap another
    /// job's render instead of leaving its core idle.
    pub jobs_in_flight: Option<usize>,
    /// Connections the API keeps open at once; `None`: three quarters of the process's open
    /// file limit (the rest is for the database, the broker and files).
    pub max_connections: Option<usize>,
    /// How long a client may take to send a request's head.
    pub header_timeout_ms: u64,
    /// How long a connection may move no byte either way before it is closed (never shorter
    /// than the longest wait for a job a request may make, plus 10 s).
    pub idle_timeout_ms: u64,
    /// Named pipelines (queues) this deployment serves; jobs naming another one are refused.
    pub pipelines: Vec<String>,
    /// Largest source object a worker reads, in bytes.
    pub max_source_bytes: u64,
    /// The memory a worker's renders may take at once, in MiB, by the engine's estimate
    /// (`pipeline::cost`): renders wait for room, and one over the whole budget fails with
    /// `ImageTooLarge`. `None`: half the memory this process may use (the machine's, or its
    /// cgroup's limit when lower), and at least 256 MiB per render slot.
    pub memory_budget_mib: Option<u64>,
    /// How much lower a render thread's CPU priority is than the process's (a nice increment,
    /// 0 to 19): with every core rendering, requests, publisher confirms and lease renewals
    /// still run the moment they wake.
    pub render_nice: i32,
    /// Largest upload the API accepts, in bytes.
    pub max_upload_bytes: u64,
    /// How long a worker's claim on a job lasts unless renewed: its heartbeat renews it every
    /// third of this while the job runs, so this is how soon a dead worker's jobs run again.
    pub lease_seconds: u64,
    /// How long a stopping worker lets its jobs finish before handing them back.
    pub shutdown_grace_ms: u64,
    /// Attempts (claims) after which a job that keeps failing on I/O is failed for good.
    pub max_attempts: i32,
    /// How often the sweeper looks for unpublished jobs and expired leases.
    pub sweep_interval_ms: u64,
    /// How long a freshly inserted job waits for its publisher confirm before the sweeper
    /// considers the publish lost.
    pub publish_grace_ms: u64,
    /// Notify callback: attempts, and the first backoff (doubles each time, with jitter).
    pub notify_attempts: i32,
    pub notify_backoff_ms: u64,
    pub notify_timeout_ms: u64,
    /// Processing deadline for one item.
    pub item_timeout_ms: u64,
    /// How long a synchronous OSS `POST ?x-oss-process` waits for its job before answering.
    pub oss_process_timeout_ms: u64,
    /// The region OSS signature V4 scopes name (`<date>/<region>/oss/aliyun_v4_request`):
    /// `oss2.AuthV4` clients pass it as `region=`; a scope naming another is refused.
    pub oss_region: String,
    /// How long a GET that processes (`?x-oss-process`, `?imageView2/...`) waits for its
    /// render before answering 504 (the job goes on; the next request finds its result).
    pub get_timeout_ms: u64,
    /// Renders waiting or running in a GET's queue past which a GET that would start one is
    /// answered 503 `SlowDown` with `Retry-After` instead of joining them.
    pub get_max_backlog: i64,
    /// The bucket GET-processed results are kept in; unset, each source's own bucket, under
    /// the reserved prefix `.ferrotype/processed/`.
    pub results_bucket: Option<String>,
    /// Host names under which `<bucket>.<domain>` addresses a bucket (OSS virtual-hosted
    /// style, `oss2.Bucket(auth, "http://<domain>", bucket)`).
    pub oss_domains: Vec<String>,
    /// Where the fonts of text watermarks are (laid out as Debian installs them).
    pub font_dir: PathBuf,
    /// The folder of the face detector's models (`pnet.onnx`, `rnet.onnx`, `onet.onnx`) that
    /// `imm/detectface` needs (`scripts/services.sh` installs them there).
    pub face_models: PathBuf,
    /// The engine's pixel and frame limits.
    pub limits: ImageLimits,
    /// What of a source's metadata results carry: `exif` (`rights`, the default: Artist and
    /// Copyright; `none`; `all`: every descriptive tag) and `colour_profile` (`srgb`, the
    /// default: converted and untagged; `keep`: an RGB profile stays with the pixels and is
    /// embedded). See `pipeline::metadata`.
    pub metadata: pipeline::metadata::MetadataPolicy,
    /// Where `/metrics`, `/livez` and `/readyz` are served besides the API's own address:
    /// unset, `127.0.0.1:9464` for a worker-only process and nowhere else (the API serves
    /// them itself); `off`: nowhere.
    pub metrics_listen: Option<String>,
    /// `text` (the default) or `json`: one JSON object per log line.
    pub log_format: LogFormat,
    /// One INFO line per request (method, path without its query, status, duration, id).
    pub access_log: bool,
    /// Buckets that are not local folders (S3-compatible stores), by name.
    pub buckets: BTreeMap<String, BucketConfig>,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

/// The engine's limits (see `pipeline::Limits`, whose defaults are the vendors' documented
/// ones); the source's size in bytes is [`Config::max_source_bytes`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct ImageLimits {
    /// Largest source width or height, in pixels.
    pub max_side: u32,
    /// Largest source area, in pixels.
    pub max_pixels: u64,
    /// Largest area a step may produce.
    pub max_output_pixels: u64,
    /// Largest side a step may produce.
    pub max_output_side: u32,
    /// Most frames of an animated source.
    pub max_gif_frames: u32,
}

impl Default for ImageLimits {
    fn default() -> Self {
        let engine = pipeline::Limits::default();
        ImageLimits {
            max_side: engine.max_side,
            max_pixels: engine.max_pixels,
            max_output_pixels: engine.max_output_pixels,
            max_output_side: engine.max_output_side,
            max_gif_frames: engine.max_gif_frames,
        }
    }
}

/// How one bucket is stored.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum BucketConfig {
    /// A folder on the local filesystem (`path` defaults to `<data_dir>/<bucket>`).
    Local { path: Option<PathBuf> },
    /// An S3-compatible store: AWS, MinIO, Aliyun OSS, Tencent COS.
    S3 {
        endpoint: Option<String>,
        region: Option<String>,
        bucket: String,
        access_key_id: Option<String>,
        secret_access_key: Option<String>,
        #[serde(default)]
        virtual_hosted_style: bool,
        #[serde(default)]
        allow_http: bool,
        /// Bounds on each request to the store (see [`S3Timeouts`]); unset, its defaults.
        #[serde(default)]
        timeouts: S3Timeouts,
    },
    /// Kept in memory: gone when the process ends. For tests and experiments.
    Memory,
}

/// How long one request to an S3 store may take, and how it is retried. Explicit so that
/// object_store's retries never outlast an item's deadline: the worker retries a job itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct S3Timeouts {
    /// Establishing a connection.
    pub connect_ms: u64,
    /// The longest wait for the next bytes of an answer (a slow but moving body is fine).
    pub read_ms: u64,
    /// The whole of one request, body included.
    pub request_ms: u64,
    /// Retries of a request that failed on a transient error (5xx, a reset connection).
    pub max_retries: usize,
    /// No retry starts later than this after the first attempt.
    pub retry_ms: u64,
}

impl Default for S3Timeouts {
    fn default() -> Self {
        S3Timeouts {
            connect_ms: 5_000,
            read_ms: 30_000,
            request_ms: 120_000,
            max_retries: 3,
            retry_ms: 30_000,
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: "127.0.0.1:8080".into(),
            database_url: "postgres://postgres@127.0.0.1:5432/ferrotype".into(),
            amqp_url: "amqp://guest:guest@127.0.0.1:5672/%2f".into(),
            data_dir: PathBuf::from("./data"),
            queue_prefix: "ferrotype".into(),
            workers: std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1),
            jobs_in_flight: None,
            max_connections: None,
            header_timeout_ms: 30_000,
            idle_timeout_ms: 120_000,
            pipelines: vec!["default".into()],
            max_source_bytes: 20 * 1024 * 1024,
            memory_budget_mib: None,
            render_nice: 10,
            max_upload_bytes: 100 * 1024 * 1024,
            lease_seconds: 30,
            shutdown_grace_ms: 30_000,
            max_attempts: 5,
            sweep_interval_ms: 5_000,
            publish_grace_ms: 10_000,
            notify_attempts: 5,
            notify_backoff_ms: 1_000,
            notify_timeout_ms: 10_000,
            item_timeout_ms: 120_000,
            oss_process_timeout_ms: 60_000,
            oss_region: "cn-hangzhou".into(),
            get_timeout_ms: 30_000,
            get_max_backlog: 256,
            results_bucket: None,
            oss_domains: Vec::new(),
            font_dir: PathBuf::from(pipeline::fonts::DEFAULT_FONT_DIR),
            face_models: PathBuf::from(pipeline::ops::faces::installed::DEFAULT_FACE_MODELS),
            limits: ImageLimits::default(),
            metadata: pipeline::metadata::MetadataPolicy::default(),
            metrics_listen: None,
            log_format: LogFormat::Text,
            access_log: true,
            buckets: BTreeMap::new(),
        }
    }
}

impl Config {
    /// The configuration of this process: `file` (or the one `FERROTYPE_CONFIG` names), then
    /// the process's environment on top of the defaults.
    pub fn load(file: Option<&std::path::Path>) -> Result<Config, ConfigError> {
        layers::load(file, std::env::vars())
    }

    /// The engine's limits, from [`Config::limits`] and [`Config::max_source_bytes`].
    pub fn engine_limits(&self) -> pipeline::Limits {
        let limits = &self.limits;
        pipeline::Limits {
            max_source_bytes: usize::try_from(self.max_source_bytes).unwrap_or(usize::MAX),
            max_side: limits.max_side,
            max_pixels: limits.max_pixels,
            max_output_pixels: limits.max_output_pixels,
            max_output_side: limits.max_output_side,
            max_gif_frames: limits.max_gif_frames,
        }
    }

    /// The GET-processing settings: a results bucket with a valid name, domains in lower case.
    fn validate_get(&self) -> Result<(), ConfigError> {
        if let Some(bucket) = &self.results_bucket {
            crate::buckets::validate_bucket(bucket).map_err(|_| ConfigError::Invalid {
                name: "results_bucket".into(),
                value: bucket.clone(),
            })?;
        }
        if let Some(bad) =
            (self.oss_domains.iter()).find(|d| d.is_empty() || d.to_ascii_lowercase() != **d)
        {
            return Err(ConfigError::Invalid {
                name: "oss_domains".into(),
                value: bad.clone(),
            });
        }
        Ok(())
    }

    pub(crate) fn validate(&self) -> Result<(), ConfigError> {
        self.validate_get()?;
        let invalid = |name: &str, value: String| ConfigError::Invalid {
            name: name.into(),
            value,
        };
        if self.workers == 0 {
            return Err(invalid("workers", "0".into()));
        }
        if let Some(jobs) = self.jobs_in_flight {
            // Fewer jobs than slots would leave slots that can never be used.
            if jobs < self.workers {
                return Err(invalid("jobs_in_flight", jobs.to_string()));
            }
        }
        if self.pipelines.is_empty() {
            return Err(invalid("pipelines", "(empty)".into()));
        }
        if let Some(bad) = self.pipelines.iter().find(|p| !valid_pipeline_name(p)) {
            return Err(invalid("pipelines", bad.clone()));
        }
        if self.queue_prefix.is_empty() || !self.queue_prefix.is_ascii() {
            return Err(invalid("queue_prefix", self.queue_prefix.clone()));
        }
        if self.oss_region.trim().is_empty() {
            return Err(invalid("oss_region", "(empty)".into()));
        }
        if self.notify_attempts < 1 {
            return Err(invalid("notify_attempts", self.notify_attempts.to_string()));
        }
        if self.max_attempts < 1 {
            return Err(invalid("max_attempts", self.max_attempts.to_string()));
        }
        self.validate_limits()
    }

    /// Limits of zero would refuse every image: a mistake, not a policy.
    fn validate_limits(&self) -> Result<(), ConfigError> {
        let limits = &self.limits;
        let named = [
            ("limits.max_side", u64::from(limits.max_side)),
            ("limits.max_pixels", limits.max_pixels),
            ("limits.max_output_pixels", limits.max_output_pixels),
            ("limits.max_output_side", u64::from(limits.max_output_side)),
            ("limits.max_gif_frames", u64::from(limits.max_gif_frames)),
            ("max_source_bytes", self.max_source_bytes),
        ];
        match named.iter().find(|(_, value)| *value == 0) {
            Some((name, _)) => Err(ConfigError::Invalid {
                name: name.to_string(),
                value: "0".into(),
            }),
            None => Ok(()),
        }
    }

    /// The RabbitMQ prefetch: jobs held at once, at least one per render slot.
    pub fn jobs_in_flight(&self) -> usize {
        self.jobs_in_flight
            .unwrap_or_else(|| self.workers.saturating_mul(2))
            .max(self.workers)
    }

    pub fn lease(&self) -> Duration {
        Duration::from_secs(self.lease_seconds)
    }

    pub fn max_connections(&self) -> usize {
        self.max_connections
            .unwrap_or_else(|| open_file_limit().map_or(768, |limit| limit / 4 * 3))
            .max(1)
    }

    /// The worker's render memory budget in MiB (see [`Config::memory_budget_mib`]).
    pub fn memory_budget_mib(&self) -> u64 {
        let slots = u64::try_from(self.workers.max(1)).unwrap_or(u64::MAX);
        self.memory_budget_mib
            .unwrap_or_else(|| {
                let usable = usable_memory_mib().unwrap_or(4096);
                (usable / 2).max(slots.saturating_mul(256))
            })
            .max(1)
    }

    pub fn header_timeout(&self) -> Duration {
        Duration::from_millis(self.header_timeout_ms)
    }

    /// The idle timeout, lengthened past every wait a request may make for a job.
    pub fn idle_timeout(&self) -> Duration {
        let longest_wait = self.oss_process_timeout_ms.max(self.get_timeout_ms) + 10_000;
        Duration::from_millis(self.idle_timeout_ms.max(longest_wait))
    }

    pub fn shutdown_grace(&self) -> Duration {
        Duration::from_millis(self.shutdown_grace_ms)
    }

    pub fn publish_grace(&self) -> Duration {
        Duration::from_millis(self.publish_grace_ms)
    }

    pub fn sweep_interval(&self) -> Duration {
        Duration::from_millis(self.sweep_interval_ms)
    }

    pub fn notify_backoff(&self) -> Duration {
        Duration::from_millis(self.notify_backoff_ms)
    }

    pub fn notify_timeout(&self) -> Duration {
        Duration::from_millis(self.notify_timeout_ms)
    }

    pub fn item_timeout(&self) -> Duration {
        Duration::from_millis(self.item_timeout_ms)
    }

    pub fn get_timeout(&self) -> Duration {
        Duration::from_millis(self.get_timeout_ms)
    }

    pub fn oss_process_timeout(&self) -> Duration {
        Duration::from_millis(self.oss_process_timeout_ms)
    }
}

/// The memory this process may use, in MiB: the machine's (`MemTotal`), or the cgroup's limit
/// (`memory.max`, cgroup v2) when that is lower. `None` where neither can be read.
fn usable_memory_mib() -> Option<u64> {
    let meminfo = std::fs::read_to_string("/proc/meminfo").ok()?;
    let total_kib: u64 = meminfo
        .lines()
        .find_map(|line| line.strip_prefix("MemTotal:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    let machine = total_kib / 1024;
    let cgroup = std::fs::read_to_string("/sys/fs/cgroup/memory.max")
        .ok()
        .and_then(|limit| limit.trim().parse::<u64>().ok())
        .map(|bytes| bytes / (1024 * 1024));
    Some(cgroup.map_or(machine, |limit| limit.min(machine)))
}

/// Pipeline names become queue names: keep them to a safe alphabet.
pub fn valid_pipeline_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
}

/// The process's soft limit of open files, from `/proc/self/limits` (Linux); `None` elsewhere
/// or when unlimited.
fn open_file_limit() -> Option<usize> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits
        .lines()
        .find(|line| line.starts_with("Max open files"))?;
    let soft = line
        .trim_start_matches("Max open files")
        .split_whitespace()
        .next()?;
    soft.parse().ok()
}
