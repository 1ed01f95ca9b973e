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

/// A running service: its address and the handle that stops it.
pub struct Running {
    pub address: Option<std::net::SocketAddr>,
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

/// Connects everything (creating and migrating the database first) and starts `role`.
pub async fn start(config: Config, role: Role) -> anyhow::Result<Running> {
    let listen = config.listen.clone();
    let services = Services::connect(config).await?;
    let shutdown = CancellationToken::new();
    let listener = match role {
        Role::Api | Role::Both => Some(TcpListener::bind(&listen).await?),
        Role::Worker => None,
    };
    let address = listener.as_ref().and_then(|l| l.local_addr().ok());
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
        services,
        shutdown,
        task,
    })
}
