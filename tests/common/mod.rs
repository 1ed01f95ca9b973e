//! `spawn_app`: a whole Ferrotype (API + worker) on a random port, with its own database,
//! its own queue names and its own bucket folder, against the real Postgres and RabbitMQ.
//! Tests run in parallel without seeing each other's data.

#![allow(dead_code)]

pub mod postgres;
pub mod proxy;

use std::path::PathBuf;
use std::time::Duration;

use ferrotype::serve::{Role, Running};
use jobs::Config;
use serde_json::Value;

pub const ACCESS_KEY: &str = "test-access";
pub const SECRET_KEY: &str = "test-secret-key";

pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    pub data_dir: tempfile::TempDir,
    pub config: Config,
    running: Option<Running>,
}

/// Base URL of the test Postgres server (without a database name).
fn postgres_server() -> String {
    std::env::var("TEST_POSTGRES_SERVER")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into())
}

fn amqp_url() -> String {
    std::env::var("AMQP_URL").unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".into())
}

/// A configuration isolated from every other test.
pub fn test_config() -> (Config, tempfile::TempDir) {
    let tag = uuid::Uuid::new_v4().simple().to_string();
    let data_dir = tempfile::tempdir().expect("temp dir");
    let config = Config {
        listen: "127.0.0.1:0".into(),
        database_url: format!("{}/ferrotype_test_{tag}", postgres_server()),
        amqp_url: amqp_url(),
        data_dir: data_dir.path().to_path_buf(),
        queue_prefix: format!("ferrotype-test-{tag}"),
        workers: 2,
        sweep_interval_ms: 200,
        publish_grace_ms: 2_000,
        notify_attempts: 3,
        notify_backoff_ms: 100,
        notify_timeout_ms: 2_000,
        // Tests start many workers in one process: none takes the default metrics port.
        metrics_listen: Some("off".into()),
        ..Config::default()
    };
    (config, data_dir)
}

pub async fn spawn_app() -> TestApp {
    let (config, data_dir) = test_config();
    spawn_app_with(config, data_dir).await
}

pub async fn spawn_app_with(config: Config, data_dir: tempfile::TempDir) -> TestApp {
    spawn_app_as(config, data_dir, Role::Both).await
}

/// [`spawn_app_with`] running only `role` (with the API: a test adds workers of its own).
pub async fn spawn_app_as(config: Config, data_dir: tempfile::TempDir, role: Role) -> TestApp {
    let running = ferrotype::serve::start(config.clone(), role)
        .await
        .expect("service starts");
    let address = running.address.expect("API address");
    ferrotype::keys::create(
        &running.services.ledger,
        &["photos:rw".into(), "results:rw".into(), "readonly:r".into()],
        Some(ACCESS_KEY.into()),
        Some(SECRET_KEY.into()),
    )
    .await
    .expect("key created");
    TestApp {
        base: format!("http://{address}"),
        client: reqwest::Client::new(),
        data_dir,
        config,
        running: Some(running),
    }
}

pub fn fixture(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("fixture {}: {e}", path.display()))
}

impl TestApp {
    pub fn services(&self) -> &jobs::Services {
        &self.running.as_ref().expect("running").services
    }

    /// Puts a file straight into a bucket folder, as an operator would.
    pub fn place(&self, bucket: &str, key: &str, bytes: &[u8]) {
        let path = self.data_dir.path().join(bucket).join(key);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, bytes).expect("write object");
    }

    pub fn object_path(&self, bucket: &str, key: &str) -> PathBuf {
        self.data_dir.path().join(bucket).join(key)
    }

    pub async fn post_job(&self, body: Value) -> reqwest::Response {
        self.client
            .post(format!("{}/v1/jobs", self.base))
            .basic_auth(ACCESS_KEY, Some(SECRET_KEY))
            .json(&body)
            .send()
            .await
            .expect("request")
    }

    /// Submits and returns the job id, asserting the 202.
    pub async fn submit(&self, body: Value) -> String {
        let response = self.post_job(body).await;
        let status = response.status();
        let json: Value = response.json().await.expect("json");
        assert_eq!(status, 202, "submit answered {json}");
        json["id"].as_str().expect("id").to_string()
    }

    pub async fn job(&self, id: &str) -> Value {
        let response = self
            .client
            .get(format!("{}/v1/jobs/{id}", self.base))
            .basic_auth(ACCESS_KEY, Some(SECRET_KEY))
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), 200);
        response.json().await.expect("json")
    }

    /// Polls until the job's status satisfies `done`, or panics after `timeout`.
    pub async fn wait_for(
        &self,
        id: &str,
        timeout: Duration,
        done: impl Fn(&Value) -> bool,
    ) -> Value {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let job = self.job(id).await;
            if done(&job) {
                return job;
            }
            if tokio::time::Instant::now() > deadline {
                panic!("job {id} did not get there in {timeout:?}: {job}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits for a final status (success, failed or callback failed) and no pending callback.
    pub async fn wait_for_end(&self, id: &str) -> Value {
        self.wait_for(id, Duration::from_secs(30), |job| {
            matches!(job["code"].as_i64(), Some(0 | 3 | 4))
        })
        .await
    }

    /// Stops the service, then drops the database and the queues it made.
    pub async fn stop(mut self) {
        if let Some(running) = self.running.take() {
            let pipelines = running.services.config.pipelines.clone();
            let queue_names: Vec<String> = pipelines
                .iter()
                .map(|p| running.services.queue.queue_name(p))
                .collect();
            let exchange = running.services.queue.exchange_name();
            running.stop().await.expect("clean stop");
            cleanup_broker(&self.config.amqp_url, &queue_names, &exchange).await;
            drop_database(&self.config.database_url).await;
        }
    }
}

pub async fn cleanup_broker(amqp_url: &str, queues: &[String], exchange: &str) {
    use lapin::options::{ExchangeDeleteOptions, QueueDeleteOptions};
    let Ok(connection) =
        lapin::Connection::connect(amqp_url, lapin::ConnectionProperties::default()).await
    else {
        return;
    };
    if let Ok(channel) = connection.create_channel().await {
        for queue in queues {
            let _ = channel
                .queue_delete(queue.clone().into(), QueueDeleteOptions::default())
                .await;
        }
        let _ = channel
            .exchange_delete(
                exchange.to_string().into(),
                ExchangeDeleteOptions::default(),
            )
            .await;
    }
    let _ = connection.close(200, "bye".into()).await;
}

pub async fn drop_database(database_url: &str) {
    use sqlx::migrate::MigrateDatabase;
    let _ = sqlx::Postgres::force_drop_database(database_url).await;
}

/// Messages waiting in a queue, without consuming them.
pub async fn queue_depth(amqp_url: &str, queue: &str) -> u32 {
    use lapin::options::QueueDeclareOptions;
    let connection = lapin::Connection::connect(amqp_url, lapin::ConnectionProperties::default())
        .await
        .expect("broker");
    let channel = connection.create_channel().await.expect("channel");
    let declared = channel
        .queue_declare(
            queue.to_string().into(),
            QueueDeclareOptions {
                passive: true,
                ..QueueDeclareOptions::default()
            },
            lapin::types::FieldTable::default(),
        )
        .await
        .expect("queue exists");
    let _ = connection.close(200, "bye".into()).await;
    declared.message_count()
}

pub fn b64(text: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE.encode(text)
}

/// A saved result, decoded to RGB (panics when it is not an image).
pub fn decode_rgb(bytes: &[u8]) -> image::RgbImage {
    image::load_from_memory(bytes)
        .expect("result decodes")
        .to_rgb8()
}

/// A saved result's width and height.
pub fn dimensions(bytes: &[u8]) -> (u32, u32) {
    decode_rgb(bytes).dimensions()
}
