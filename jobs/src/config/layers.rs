//! Reading the configuration's layers, lowest first: the defaults, the TOML file, the
//! environment. figment merges them key by key, so a file's `[buckets.photos]` table and a
//! `FERROTYPE_BUCKETS__PHOTOS__SECRET_ACCESS_KEY` variable make one bucket together.
//!
//! Environment names: `FERROTYPE_<SETTING>`, `__` separating the levels of a nested setting
//! (`FERROTYPE_LIMITS__MAX_PIXELS`, `FERROTYPE_BUCKETS__<NAME>__ENDPOINT`); `DATABASE_URL`
//! and `AMQP_URL` without the prefix, as every tool of the field reads them. Lists
//! (`FERROTYPE_PIPELINES`, `FERROTYPE_OSS_DOMAINS`) are comma-separated. A variable whose
//! first level names no setting is not ours (`FERROTYPE_LOG_SPANS`, a test's own) and is
//! left alone; an empty variable is as if unset.

use std::path::{Path, PathBuf};

use figment::providers::{Format, Serialized, Toml};
use figment::value::{Dict, Map, Value};
use figment::{Figment, Metadata, Profile, Provider};

use super::Config;
use crate::error::ConfigError;

const PREFIX: &str = "FERROTYPE_";
/// The environment names read without the prefix, and the settings they set.
const UNPREFIXED: [(&str, &str); 2] = [("DATABASE_URL", "database_url"), ("AMQP_URL", "amqp_url")];
/// Settings that are lists: comma-separated in the environment.
const LISTS: [&str; 2] = ["pipelines", "oss_domains"];
/// A bucket's settings that are text even when they look like numbers or flags.
const BUCKET_TEXTS: [&str; 7] = [
    "kind",
    "path",
    "endpoint",
    "region",
    "bucket",
    "access_key_id",
    "secret_access_key",
];
/// The git-ignored file of local settings the setup scripts write (a generated database
/// password, other ports), read from the working directory.
pub const LOCAL_ENV_FILE: &str = ".ferrotype.env";

/// The defaults, then `file` (or the one `FERROTYPE_CONFIG` names in `vars`), then `vars`.
pub fn load(
    file: Option<&Path>,
    vars: impl IntoIterator<Item = (String, String)>,
) -> Result<Config, ConfigError> {
    let vars: Vec<(String, String)> = vars.into_iter().collect();
    let named = vars
        .iter()
        .find(|(name, value)| name == "FERROTYPE_CONFIG" && !value.is_empty())
        .map(|(_, value)| PathBuf::from(value));
    let mut layers = Figment::from(Serialized::defaults(Config::default()));
    if let Some(path) = file.map(Path::to_path_buf).or(named) {
        let text = std::fs::read_to_string(&path).map_err(|source| ConfigError::Read {
            path: path.display().to_string(),
            source,
        })?;
        layers = layers.merge(Toml::string(&text));
    }
    let config: Config = layers
        .merge(Environment::new(vars))
        .extract_lossy()
        .map_err(|error| ConfigError::Layers(error.to_string()))?;
    config.validate()?;
    Ok(config)
}

/// Sets the variables of [`LOCAL_ENV_FILE`] that are not set already; call it before any
/// thread starts. A missing file is no error.
pub fn read_local_env_file() -> Result<(), ConfigError> {
    match dotenvy::from_filename(LOCAL_ENV_FILE) {
        Ok(_) => Ok(()),
        Err(error) if error.not_found() => Ok(()),
        Err(error) => Err(ConfigError::Layers(format!("{LOCAL_ENV_FILE}: {error}"))),
    }
}

/// The environment as a figment layer: only the variables that name a setting.
struct Environment {
    settings: Vec<(Vec<String>, Value)>,
}

impl Environment {
    fn new(vars: Vec<(String, String)>) -> Environment {
        let known = top_level_settings();
        let settings = vars
            .into_iter()
            .filter(|(_, value)| !value.is_empty())
            .filter_map(|(name, value)| {
                let path = setting_path(&name)?;
                let first = path.first()?.clone();
                known.contains(&first).then(|| {
                    let value = setting_value(&path, value);
                    (path, value)
                })
            })
            .collect();
        Environment { settings }
    }
}

impl Provider for Environment {
    fn metadata(&self) -> Metadata {
        Metadata::named("environment variable").interpolater(|_, path| variable_name(path))
    }

    fn data(&self) -> Result<Map<Profile, Dict>, figment::Error> {
        let mut root = Dict::new();
        for (path, value) in &self.settings {
            insert(&mut root, path, value.clone());
        }
        Ok(Profile::Default.collect(root))
    }
}

/// The setting a variable names, as its path of lower-case keys; `None` when it names none.
fn setting_path(name: &str) -> Option<Vec<String>> {
    if let Some((_, setting)) = UNPREFIXED.iter().find(|(variable, _)| *variable == name) {
        return Some(vec![setting.to_string()]);
    }
    let rest = name.strip_prefix(PREFIX)?;
    let path: Vec<String> = rest.split("__").map(str::to_ascii_lowercase).collect();
    path.iter().all(|key| !key.is_empty()).then_some(path)
}

/// A variable's value: a list setting split at commas; a bucket's flag or number typed from
/// its text (a bucket is an enum, which serde reads without asking for the type it wants);
/// anything else the text itself (read as a number or a boolean where the setting is one:
/// `extract_lossy`).
fn setting_value(path: &[String], text: String) -> Value {
    let setting = path.first().map_or("", String::as_str);
    let last = path.last().map_or("", String::as_str);
    if setting == "buckets" && !BUCKET_TEXTS.contains(&last) {
        return match (text.parse::<bool>(), text.parse::<u64>()) {
            (Ok(flag), _) => Value::from(flag),
            (_, Ok(number)) => Value::from(number),
            _ => Value::from(text),
        };
    }
    if LISTS.contains(&setting) {
        let items: Vec<Value> = (text.split(','))
            .map(str::trim)
            .filter(|item| !item.is_empty())
            .map(Value::from)
            .collect();
        return Value::from(items);
    }
    Value::from(text)
}

/// The variable that sets `path` (for error messages).
fn variable_name(path: &[&str]) -> String {
    if let [single] = path {
        if let Some((variable, _)) = UNPREFIXED.iter().find(|(_, setting)| setting == single) {
            return variable.to_string();
        }
    }
    format!("{PREFIX}{}", path.join("__").to_ascii_uppercase())
}

/// The names of the settings at the top level, read off the defaults.
fn top_level_settings() -> Vec<String> {
    match serde_json::to_value(Config::default()) {
        Ok(serde_json::Value::Object(fields)) => fields.keys().cloned().collect(),
        _ => Vec::new(),
    }
}

/// Puts `value` at `path` in `dict`, making the tables on the way.
fn insert(dict: &mut Dict, path: &[String], value: Value) {
    match path {
        [] => {}
        [last] => {
            dict.insert(last.clone(), value);
        }
        [first, rest @ ..] => {
            let entry = dict
                .entry(first.clone())
                .or_insert_with(|| Value::from(Dict::new()));
            if !matches!(entry, Value::Dict(..)) {
                *entry = Value::from(Dict::new());
            }
            if let Value::Dict(_, inner) = entry {
                insert(inner, rest, value);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{BucketConfig, LogFormat};

    fn vars(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        (pairs.iter())
            .map(|(name, value)| (name.to_string(), value.to_string()))
            .collect()
    }

    fn file_of(text: &str) -> tempfile::NamedTempFile {
        let file = tempfile::NamedTempFile::new().expect("temp file");
        std::fs::write(file.path(), text).expect("written");
        file
    }

    #[test]
    fn defaults_match_the_documented_contract() {
        let config = load(None, vars(&[])).expect("defaults are valid");
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
        assert_eq!(config.engine_limits(), pipeline::Limits::default());
        assert_eq!(config.metadata, Default::default(), "rights kept, sRGB");
        assert_eq!(config.font_dir, PathBuf::from("/usr/share/fonts"));
        assert_eq!(config.log_format, LogFormat::Text);
        assert!(config.access_log);
    }

    #[test]
    fn environment_overrides_defaults() {
        let config = load(
            None,
            vars(&[
                ("FERROTYPE_LISTEN", "0.0.0.0:9000"),
                ("FERROTYPE_WORKERS", "3"),
                ("FERROTYPE_QUEUE_PREFIX", "123"),
                ("FERROTYPE_PIPELINES", "default, fast"),
                ("FERROTYPE_OSS_REGION", "cn-shanghai"),
                ("FERROTYPE_LOG_FORMAT", "json"),
                ("FERROTYPE_ACCESS_LOG", "false"),
                ("FERROTYPE_LIMITS__MAX_PIXELS", "1000"),
                ("FERROTYPE_MEMORY_BUDGET_MIB", "512"),
                ("FERROTYPE_METADATA__EXIF", "all"),
                ("FERROTYPE_METADATA__COLOUR_PROFILE", "keep"),
                ("DATABASE_URL", "postgres://db/x"),
                ("FERROTYPE_LOG_SPANS", "1"),
                ("FERROTYPE_RESULTS_BUCKET", ""),
            ]),
        )
        .expect("valid");
        assert_eq!(config.oss_region, "cn-shanghai");
        assert_eq!(config.listen, "0.0.0.0:9000");
        assert_eq!(config.workers, 3);
        assert_eq!(config.jobs_in_flight(), 6, "twice the slots when unset");
        assert_eq!(config.queue_prefix, "123", "a number-like text stays text");
        assert_eq!(config.pipelines, vec!["default", "fast"]);
        assert_eq!(config.log_format, LogFormat::Json);
        assert!(!config.access_log);
        assert_eq!(config.engine_limits().max_pixels, 1000);
        assert_eq!(config.memory_budget_mib, Some(512));
        let metadata = config.metadata;
        assert_eq!(metadata.exif, pipeline::metadata::ExifPolicy::All);
        assert_eq!(
            metadata.colour_profile,
            pipeline::metadata::ColourPolicy::Keep
        );
        assert_eq!(config.database_url, "postgres://db/x");
        assert_eq!(config.results_bucket, None);
    }

    #[test]
    fn fewer_jobs_in_flight_than_slots_is_refused() {
        let refused = load(
            None,
            vars(&[
                ("FERROTYPE_WORKERS", "4"),
                ("FERROTYPE_JOBS_IN_FLIGHT", "3"),
            ]),
        );
        assert!(refused.is_err());
        let config = load(
            None,
            vars(&[
                ("FERROTYPE_WORKERS", "4"),
                ("FERROTYPE_JOBS_IN_FLIGHT", "4"),
            ]),
        )
        .expect("as many jobs as slots is valid");
        assert_eq!(config.jobs_in_flight(), 4);
    }

    #[test]
    fn a_bad_value_names_its_variable() {
        let error = load(None, vars(&[("FERROTYPE_WORKERS", "many")])).unwrap_err();
        assert!(error.to_string().contains("FERROTYPE_WORKERS"), "{error}");
        let error = load(None, vars(&[("FERROTYPE_LIMITS__MAX_SIDE", "-1")])).unwrap_err();
        assert!(
            error.to_string().contains("FERROTYPE_LIMITS__MAX_SIDE"),
            "{error}"
        );
    }

    #[test]
    fn the_file_describes_buckets_and_the_environment_completes_them() {
        let file = file_of(
            r#"
            listen = "127.0.0.1:1"
            [buckets.photos]
            kind = "s3"
            endpoint = "http://127.0.0.1:9000"
            region = "us-east-1"
            bucket = "photos"
            access_key_id = "minio"
            allow_http = true
            [buckets.photos.timeouts]
            read_ms = 5000
            [buckets.scratch]
            kind = "memory"
        "#,
        );
        let secret = ("FERROTYPE_BUCKETS__PHOTOS__SECRET_ACCESS_KEY", "from-env");
        let config = load(Some(file.path()), vars(&[secret])).expect("valid");
        assert_eq!(config.listen, "127.0.0.1:1");
        let Some(BucketConfig::S3 {
            secret_access_key,
            allow_http,
            timeouts,
            ..
        }) = config.buckets.get("photos")
        else {
            panic!("photos is an S3 bucket: {:?}", config.buckets)
        };
        assert_eq!(secret_access_key.as_deref(), Some("from-env"));
        assert!(allow_http);
        assert_eq!(timeouts.read_ms, 5000);
        assert_eq!(timeouts.connect_ms, 5000, "the others keep their defaults");
        assert!(matches!(
            config.buckets.get("scratch"),
            Some(BucketConfig::Memory)
        ));
    }

    #[test]
    fn the_file_is_named_by_flag_or_variable_and_must_exist_and_be_known() {
        let file = file_of("workers = 7\n");
        let path = file.path().display().to_string();
        let config = load(None, vars(&[("FERROTYPE_CONFIG", &path)])).expect("valid");
        assert_eq!(config.workers, 7);
        let missing = load(Some(Path::new("/nonexistent/ferrotype.toml")), vars(&[]));
        assert!(matches!(missing, Err(ConfigError::Read { .. })));
        let unknown = file_of("wokers = 7\n");
        let error = load(Some(unknown.path()), vars(&[])).unwrap_err();
        assert!(error.to_string().contains("wokers"), "{error}");
    }

    #[test]
    fn a_whole_bucket_can_come_from_the_environment() {
        let config = load(
            None,
            vars(&[
                ("FERROTYPE_BUCKETS__ARCHIVE__KIND", "s3"),
                ("FERROTYPE_BUCKETS__ARCHIVE__BUCKET", "archive-2026"),
                ("FERROTYPE_BUCKETS__ARCHIVE__ALLOW_HTTP", "true"),
            ]),
        )
        .expect("valid");
        assert!(matches!(
            config.buckets.get("archive"),
            Some(BucketConfig::S3 { bucket, allow_http: true, .. }) if bucket == "archive-2026"
        ));
    }
}
