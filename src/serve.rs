//! Running the service: API, worker, or both over one set of connections.

use std::sync::Arc;

use jobs::{Config, Services};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// Which parts of the service a process runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Api,
    Worker,
    Both,
}

/// Where a worker-only process serves `/metrics`, `/livez` and `/readyz` unless told.
pub const WORKER_METRICS_LISTEN: &str = "127.0.0.1:9464";

/// A running service: its addresses and the handle that stops it.
pub struct Running {
    /// The API's address (`None` for a worker-only process).
    pub address: Option<std::net::SocketAddr>,
    /// The probes and metrics listener's, when it has its own (`metrics_listen`).
    pub probes_address: Option<std::net::SocketAddr>,
    pub services: Arc<Services>,
    pub shutdown: CancellationToken,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl Running {
    /// Stops taking work, finishes what is in flight, and returns.
    pub async fn stop(self) -> anyhow::Result<()> {
        self.shutdown.cancel();
        self.task.await?
    }

    /// Waits until the service ends by itself (a fatal error) or `shutdown` is cancelled.
    pub async fn wait(self) -> anyhow::Result<()> {
        self.task.await?
    }
}

/// Where `role` serves its probes and metrics besides the API's address, if anywhere.
pub fn probes_listen(config: &Config, role: Role) -> Option<String> {
    match config.metrics_listen.as_deref().map(str::trim) {
        Some("off" | "") => None,
        Some(address) => Some(address.to_string()),
        None => (role == Role::Worker).then(|| WORKER_METRICS_LISTEN.to_string()),
    }
}

/// Connects everything (creating and migrating the database first) and starts `role`.
pub async fn start(config: Config, role: Role) -> anyhow::Result<Running> {
    api::telemetry::install_recorder();
    let listen = config.listen.clone();
    let probes = probes_listen(&config, role);
    let services = Services::connect(config).await?;
    let shutdown = CancellationToken::new();
    let listener = match role {
        Role::Api | Role::Both => Some(bind(&listen, "the API").await?),
        Role::Worker => None,
    };
    let probes = match probes {
        Some(address) => Some(bind(&address, "the metrics listener").await?),
        None => None,
    };
    let address = listener.as_ref().and_then(|l| l.local_addr().ok());
    let probes_address = probes.as_ref().and_then(|l| l.local_addr().ok());
    if let Some(probes) = probes {
        tokio::spawn(api::health::serve_probes(
            services.clone(),
            probes,
            shutdown.clone(),
        ));
    }
    let task = {
        let services = services.clone();
        let shutdown = shutdown.clone();
        tokio::spawn(async move {
            let api = listener.map(|listener| {
                tokio::spawn(api::serve(services.clone(), listener, shutdown.clone()))
            });
            let worker = (role != Role::Api)
                .then(|| tokio::spawn(worker::run(services.clone(), shutdown.clone())));
            let mut result = Ok(());
            if let Some(worker) = worker {
                if let Err(error) = worker.await? {
                    // A worker that cannot consume takes the process down, so a supervisor
                    // restarts it rather than leaving an API that accepts jobs nobody runs.
                    tracing::error!(%error, "worker stopped");
                    shutdown.cancel();
                    result = Err(error.into());
                }
            }
            if let Some(api) = api {
                api.await??;
            }
            result
        })
    };
    Ok(Running {
        address,
        probes_address,
        services,
        shutdown,
        task,
    })
}

async fn bind(address: &str, what: &str) -> anyhow::Result<TcpListener> {
    TcpListener::bind(address)
        .await
        .map_err(|error| anyhow::anyhow!("{what} cannot listen on {address}: {error}"))
}

/// What a person who just started the service needs to know: where it listens, where the
/// buckets are, what to run next.
pub fn banner(running: &Running, role: Role) -> String {
    let config = &running.services.config;
    let data_dir =
        std::path::absolute(&config.data_dir).unwrap_or_else(|_| config.data_dir.clone());
    let mut lines = vec![format!(
        "Ferrotype {} is running ({role:?})",
        env!("CARGO_PKG_VERSION")
    )];
    if let Some(address) = running.address {
        lines.push(format!(
            "  API:      http://{address}  (OSS, Qiniu and /v1 native)"
        ));
    }
    if let Some(address) = running.probes_address {
        lines.push(format!(
            "  metrics:  http://{address}/metrics  (probes /livez, /readyz)"
        ));
    }
    lines.push(format!("  buckets:  folders under {}", data_dir.display()));
    for (name, bucket) in &config.buckets {
        lines.push(format!("            {name}: {}", describe_bucket(bucket)));
    }
    if role != Role::Worker {
        lines.push("  next:     ferrotype keys create --grant photos:rw   (an access key; then see README \"Try it\")".into());
    }
    lines.join("\n")
}

fn describe_bucket(bucket: &jobs::config::BucketConfig) -> String {
    use jobs::config::BucketConfig;
    match bucket {
        BucketConfig::Local { path: Some(path) } => format!("folder {}", path.display()),
        BucketConfig::Local { path: None } => "folder under the data dir".into(),
        BucketConfig::S3 {
            endpoint, bucket, ..
        } => {
            let endpoint = endpoint.as_deref().unwrap_or("AWS");
            format!("S3 bucket {bucket} at {endpoint}")
        }
        BucketConfig::Memory => "in memory (gone when the process ends)".into(),
    }
}
