//! Operating the processes: readiness that follows PostgreSQL and RabbitMQ, a worker-only
//! process's metrics and probes, `ferrotype health`, `ferrotype config print`, and a
//! database reached over TLS.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test crate: a panic is a failed test

mod common;

use std::process::{Command, Stdio};
use std::time::Duration;

use common::proxy::Relay;
use common::{spawn_app_as, test_config};
use ferrotype::serve::Role;
use serde_json::{json, Value};

const BINARY: &str = env!("CARGO_BIN_EXE_ferrotype");

/// Polls `url` until its status is `status`, or panics after 60 s; returns the answer.
async fn wait_for_status(client: &reqwest::Client, url: &str, status: u16) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let answer = client
            .get(url)
            .timeout(Duration::from_secs(10))
            .send()
            .await;
        if let Ok(answer) = answer {
            if answer.status() == status {
                return answer.json().await.unwrap_or(Value::Null);
            }
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{url} never answered {status}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// `url` with its host and port replaced by the relay's.
fn through(url: &str, relay: &Relay) -> String {
    let mut url = url::Url::parse(url).expect("url");
    url.set_port(Some(relay.port)).expect("port");
    url.to_string()
}

fn host_port(url: &str) -> String {
    let url = url::Url::parse(url).expect("url");
    format!(
        "{}:{}",
        url.host_str().expect("host"),
        url.port().expect("port")
    )
}

#[tokio::test]
async fn readiness_follows_postgres_and_rabbitmq_away_and_back() {
    let (mut config, data_dir) = test_config();
    let database = Relay::start(host_port(&config.database_url)).await;
    let broker = Relay::start(host_port(&config.amqp_url)).await;
    config.database_url = through(&config.database_url, &database);
    config.amqp_url = through(&config.amqp_url, &broker);
    let app = spawn_app_as(config, data_dir, Role::Api).await;
    let ready = format!("{}/readyz", app.base);
    let live = format!("{}/livez", app.base);
    wait_for_status(&app.client, &ready, 200).await;

    broker.cut();
    let answer = wait_for_status(&app.client, &ready, 503).await;
    assert_eq!(answer["rabbitmq"], "down", "{answer}");
    wait_for_status(&app.client, &live, 200).await;
    broker.restore();
    wait_for_status(&app.client, &ready, 200).await;

    database.cut();
    let answer = wait_for_status(&app.client, &ready, 503).await;
    assert_eq!(answer["postgres"], "down", "{answer}");
    wait_for_status(&app.client, &live, 200).await;
    database.restore();
    let answer = wait_for_status(&app.client, &ready, 200).await;
    assert_eq!(
        answer,
        json!({"status": "ok", "postgres": "ok", "rabbitmq": "ok", "data_dir": "ok"})
    );
    app.stop().await;
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("address").port()
}

/// Ends the child with SIGTERM (a graceful stop), then waits for it.
fn terminate(mut child: std::process::Child) {
    let _ = Command::new("kill").arg(child.id().to_string()).status();
    let _ = child.wait();
}

#[tokio::test]
async fn a_worker_only_process_serves_its_metrics_and_probes() {
    let (config, data_dir) = test_config();
    let app = spawn_app_as(config.clone(), data_dir, Role::Api).await;
    let metrics_listen = format!("127.0.0.1:{}", free_port());
    let worker = Command::new(BINARY)
        .arg("worker")
        .env("DATABASE_URL", &config.database_url)
        .env("AMQP_URL", &config.amqp_url)
        .env("FERROTYPE_QUEUE_PREFIX", &config.queue_prefix)
        .env("FERROTYPE_DATA_DIR", &config.data_dir)
        .env("FERROTYPE_WORKERS", "1")
        .env("FERROTYPE_METRICS_LISTEN", &metrics_listen)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("worker starts");
    let probes = format!("http://{metrics_listen}");
    wait_for_status(&app.client, &format!("{probes}/readyz"), 200).await;
    wait_for_status(&app.client, &format!("{probes}/livez"), 200).await;

    app.place("photos", "in.jpg", &common::fixture("gopher-640x427.jpg"));
    let id = app
        .submit(json!({"bucket": "photos", "key": "in.jpg",
                       "fops": ["imageMogr2/thumbnail/64x|saveas/".to_string() + &common::b64("photos:out.jpg")]}))
        .await;
    let job = app.wait_for_end(&id).await;
    assert_eq!(job["status"], "success", "{job}");

    let text = app
        .client
        .get(format!("{probes}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for expected in [
        "ferrotype_jobs_finished_total",
        "ferrotype_item_processing_seconds",
        "ferrotype_render_slots 1",
        "ferrotype_render_slots_busy 0",
        "ferrotype_jobs_in_flight",
        "ferrotype_queue_depth{pipeline=\"default\"}",
        "process_resident_memory_bytes",
        "process_open_fds",
    ] {
        assert!(text.contains(expected), "{expected} missing from:\n{text}");
    }
    let healthy = Command::new(BINARY)
        .args(["health", &format!("{probes}/readyz")])
        .output()
        .expect("health runs");
    assert!(healthy.status.success(), "{healthy:?}");
    terminate(worker);
    let unhealthy = Command::new(BINARY)
        .args(["health", &format!("{probes}/readyz")])
        .output()
        .expect("health runs");
    assert!(
        !unhealthy.status.success(),
        "a stopped worker is not healthy"
    );
    app.stop().await;
}

#[test]
fn config_print_shows_the_layers_with_secrets_masked() {
    let folder = tempfile::tempdir().expect("temp dir");
    let file = folder.path().join("ferrotype.toml");
    std::fs::write(
        &file,
        "workers = 3\n[buckets.photos]\nkind = \"s3\"\nbucket = \"photos\"\naccess_key_id = \"AKID\"\n",
    )
    .expect("written");
    let printed = Command::new(BINARY)
        .args(["config", "print", "--config"])
        .arg(&file)
        .current_dir(folder.path())
        .env("DATABASE_URL", "postgres://app:pg-secret@db:5432/ferrotype")
        .env("FERROTYPE_BUCKETS__PHOTOS__SECRET_ACCESS_KEY", "s3-secret")
        .env("FERROTYPE_LIMITS__MAX_PIXELS", "1000000")
        .output()
        .expect("runs");
    assert!(printed.status.success(), "{printed:?}");
    let text = String::from_utf8(printed.stdout).expect("utf-8");
    for expected in [
        "workers = 3",
        "max_pixels = 1000000",
        "access_key_id = \"AKID\"",
        "postgres://app:********@db:5432/ferrotype",
        "secret_access_key = \"********\"",
    ] {
        assert!(text.contains(expected), "{expected} missing from:\n{text}");
    }
    assert!(
        !text.contains("pg-secret") && !text.contains("s3-secret"),
        "{text}"
    );
    let refused = Command::new(BINARY)
        .args(["config", "print"])
        .env("FERROTYPE_WORKERS", "many")
        .output()
        .expect("runs");
    assert!(!refused.status.success());
    let error = String::from_utf8_lossy(&refused.stderr);
    assert!(error.contains("FERROTYPE_WORKERS"), "{error}");
}

/// PostgreSQL here has TLS on (Debian's default, a self-signed certificate): a
/// `sslmode=require` address connects over TLS, and `verify-ca` with that certificate as
/// the root checks it.
#[tokio::test]
async fn a_database_address_asking_for_tls_gets_it() {
    let (config, _data_dir) = test_config();
    jobs::Ledger::connect(&config.database_url)
        .await
        .expect("database made");
    let mut modes = vec![format!("{}?sslmode=require", config.database_url)];
    let root = "/etc/ssl/certs/ssl-cert-snakeoil.pem";
    if std::path::Path::new(root).exists() {
        modes.push(format!(
            "{}?sslmode=verify-ca&sslrootcert={root}",
            config.database_url
        ));
    }
    for url in modes {
        let ledger = jobs::Ledger::connect(&url)
            .await
            .unwrap_or_else(|e| panic!("{url}: {e}"));
        let encrypted: bool =
            sqlx::query_scalar("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
                .fetch_one(ledger.pool())
                .await
                .expect("asked");
        assert!(encrypted, "{url} connected without TLS");
    }
    common::drop_database(&config.database_url).await;
}
