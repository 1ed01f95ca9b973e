//! Configuration: defaults that work on a developer machine, a TOML file named by
//! `FERROTYPE_CONFIG`, then environment variables on top (the operator's last word).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use crate::error::ConfigError;

/// Everything a Ferrotype process needs to know about its surroundings.
#[derive(Debug, Clone, Deserialize)]
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
    /// Buckets that are not local folders (S3-compatible stores), by name.
    pub buckets: BTreeMap<String, BucketConfig>,
}

/// How one bucket is stored.
#[derive(Debug, Clone, Deserialize)]
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
    },
    /// Kept in memory: gone when the process ends. For tests and experiments.
    Memory,
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
            buckets: BTreeMap::new(),
        }
    }
}

impl Config {
    /// Reads `FERROTYPE_CONFIG` (if set) and the environment variables on top of the defaults.
    pub fn load() -> Result<Config, ConfigError> {
        Self::load_from(|name| std::env::var(name).ok())
    }

    /// Like [`Config::load`], with the environment given as a lookup function, so tests can
    /// build configurations without touching the process environment.
    pub fn load_from(env: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let mut config = match env("FERROTYPE_CONFIG") {
            Some(path) => {
                let text = std::fs::read_to_string(&path).map_err(|source| ConfigError::Read {
                    path: path.clone(),
                    source,
                })?;
                toml::from_str(&text).map_err(|source| ConfigError::Parse {
                    path,
                    message: source.to_string(),
                })?
            }
            None => Config::default(),
        };
        config.apply_env(env)?;
        config.validate()?;
        Ok(config)
    }

    fn apply_env(&mut self, env: impl Fn(&str) -> Option<String>) -> Result<(), ConfigError> {
        self.apply_env_texts(&env);
        self.apply_env_numbers(&env)
    }

    /// The variables taken as they are: addresses, paths, names.
    fn apply_env_texts(&mut self, env: &impl Fn(&str) -> Option<String>) {
        let texts: [(&str, &mut String); 5] = [
            ("FERROTYPE_LISTEN", &mut self.listen),
            ("DATABASE_URL", &mut self.database_url),
            ("AMQP_URL", &mut self.amqp_url),
            ("FERROTYPE_QUEUE_PREFIX", &mut self.queue_prefix),
            ("FERROTYPE_OSS_REGION", &mut self.oss_region),
        ];
        for (name, slot) in texts {
            if let Some(v) = env(name) {
                *slot = v;
            }
        }
        if let Some(v) = env("FERROTYPE_DATA_DIR") {
            self.data_dir = PathBuf::from(v);
        }
        if let Some(v) = env("FERROTYPE_PIPELINES") {
            self.pipelines = list(&v);
        }
        if let Some(v) = env("FERROTYPE_OSS_DOMAINS") {
            self.oss_domains = list(&v);
        }
        if let Some(v) = env("FERROTYPE_RESULTS_BUCKET") {
            self.results_bucket = Some(v).filter(|bucket| !bucket.is_empty());
        }
    }

    /// The variables that must parse as numbers; the first that does not is named.
    fn apply_env_numbers(
        &mut self,
        env: &impl Fn(&str) -> Option<String>,
    ) -> Result<(), ConfigError> {
        fn parsed<T: std::str::FromStr>(name: &str, value: String) -> Result<T, ConfigError> {
            value.trim().parse().map_err(|_| ConfigError::Invalid {
                name: name.to_string(),
                value,
            })
        }
        if let Some(v) = env("FERROTYPE_WORKERS") {
            self.workers = parsed("FERROTYPE_WORKERS", v)?;
        }
        if let Some(v) = env("FERROTYPE_JOBS_IN_FLIGHT") {
            self.jobs_in_flight = Some(parsed("FERROTYPE_JOBS_IN_FLIGHT", v)?);
        }
        if let Some(v) = env("FERROTYPE_MAX_CONNECTIONS") {
            self.max_connections = Some(parsed("FERROTYPE_MAX_CONNECTIONS", v)?);
        }
        if let Some(v) = env("FERROTYPE_MEMORY_BUDGET_MIB") {
            self.memory_budget_mib = Some(parsed("FERROTYPE_MEMORY_BUDGET_MIB", v)?);
        }
        if let Some(v) = env("FERROTYPE_GET_MAX_BACKLOG") {
            self.get_max_backlog = parsed("FERROTYPE_GET_MAX_BACKLOG", v)?;
        }
        let numbers: [(&str, &mut u64); 13] = [
            ("FERROTYPE_HEADER_TIMEOUT_MS", &mut self.header_timeout_ms),
            ("FERROTYPE_IDLE_TIMEOUT_MS", &mut self.idle_timeout_ms),
            ("FERROTYPE_GET_TIMEOUT_MS", &mut self.get_timeout_ms),
            ("FERROTYPE_MAX_SOURCE_BYTES", &mut self.max_source_bytes),
            ("FERROTYPE_MAX_UPLOAD_BYTES", &mut self.max_upload_bytes),
            ("FERROTYPE_LEASE_SECONDS", &mut self.lease_seconds),
            ("FERROTYPE_SHUTDOWN_GRACE_MS", &mut self.shutdown_grace_ms),
            ("FERROTYPE_SWEEP_INTERVAL_MS", &mut self.sweep_interval_ms),
            ("FERROTYPE_PUBLISH_GRACE_MS", &mut self.publish_grace_ms),
            ("FERROTYPE_NOTIFY_BACKOFF_MS", &mut self.notify_backoff_ms),
            ("FERROTYPE_NOTIFY_TIMEOUT_MS", &mut self.notify_timeout_ms),
            ("FERROTYPE_ITEM_TIMEOUT_MS", &mut self.item_timeout_ms),
            (
                "FERROTYPE_OSS_PROCESS_TIMEOUT_MS",
                &mut self.oss_process_timeout_ms,
            ),
        ];
        for (name, slot) in numbers {
            if let Some(v) = env(name) {
                *slot = parsed(name, v)?;
            }
        }
        let small: [(&str, &mut i32); 3] = [
            ("FERROTYPE_NOTIFY_ATTEMPTS", &mut self.notify_attempts),
            ("FERROTYPE_MAX_ATTEMPTS", &mut self.max_attempts),
            ("FERROTYPE_RENDER_NICE", &mut self.render_nice),
        ];
        for (name, slot) in small {
            if let Some(v) = env(name) {
                *slot = parsed(name, v)?;
            }
        }
        Ok(())
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

    fn validate(&self) -> Result<(), ConfigError> {
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
        Ok(())
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

/// A comma-separated list, trimmed, without empty entries.
fn list(text: &str) -> Vec<String> {
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect()
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

#[cfg(test)]
mod tests {
    use super::*;

    fn env_of(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn defaults_match_the_documented_contract() {
        let config = Config::load_from(env_of(&[])).expect("defaults are valid");
        assert_eq!(config.listen, "127.0.0.1:8080");
        assert_eq!(
            config.database_url,
            "postgres://postgres@127.0.0.1:5432/ferrotype"
        );
        assert_eq!(config.amqp_url, "amqp://guest:guest@127.0.0.1:5672/%2f");
        assert_eq!(config.data_dir, PathBuf::from("./data"));
        assert_eq!(config.queue_prefix, "ferrotype");
        assert!(config.workers >= 1);
        assert_eq!(config.max_source_bytes, 20 * 1024 * 1024);
        assert_eq!(config.oss_region, "cn-hangzhou");
    }

    #[test]
    fn environment_overrides_defaults() {
        let config = Config::load_from(env_of(&[
            ("FERROTYPE_LISTEN", "0.0.0.0:9000"),
            ("FERROTYPE_WORKERS", "3"),
            ("FERROTYPE_QUEUE_PREFIX", "t1"),
            ("FERROTYPE_PIPELINES", "default, fast"),
            ("FERROTYPE_OSS_REGION", "cn-shanghai"),
        ]))
        .expect("valid");
        assert_eq!(config.oss_region, "cn-shanghai");
        assert_eq!(config.listen, "0.0.0.0:9000");
        assert_eq!(config.workers, 3);
        assert_eq!(config.jobs_in_flight(), 6, "twice the slots when unset");
        assert_eq!(config.queue_prefix, "t1");
        assert_eq!(config.pipelines, vec!["default", "fast"]);
    }

    #[test]
    fn fewer_jobs_in_flight_than_slots_is_refused() {
        let refused = Config::load_from(env_of(&[
            ("FERROTYPE_WORKERS", "4"),
            ("FERROTYPE_JOBS_IN_FLIGHT", "3"),
        ]));
        assert!(refused.is_err());
        let config = Config::load_from(env_of(&[
            ("FERROTYPE_WORKERS", "4"),
            ("FERROTYPE_JOBS_IN_FLIGHT", "4"),
        ]))
        .expect("as many jobs as slots is valid");
        assert_eq!(config.jobs_in_flight(), 4);
    }

    #[test]
    fn bad_numbers_are_named() {
        let err = Config::load_from(env_of(&[("FERROTYPE_WORKERS", "many")])).unwrap_err();
        assert!(err.to_string().contains("FERROTYPE_WORKERS"), "{err}");
    }

    #[test]
    fn toml_describes_s3_buckets() {
        let text = r#"
            listen = "127.0.0.1:1"
            [buckets.photos]
            kind = "s3"
            endpoint = "http://127.0.0.1:9000"
            region = "us-east-1"
            bucket = "photos"
            access_key_id = "minio"
            secret_access_key = "minio123"
            allow_http = true
            [buckets.scratch]
            kind = "memory"
        "#;
        let config: Config = toml::from_str(text).expect("parses");
        assert!(matches!(
            config.buckets.get("photos"),
            Some(BucketConfig::S3 {
                allow_http: true,
                ..
            })
        ));
        assert!(matches!(
            config.buckets.get("scratch"),
            Some(BucketConfig::Memory)
        ));
    }
}
