//! `ferrotype`: the one binary. See `ferrotype --help`.

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use ferrotype::serve::Role;
use jobs::Config;

#[derive(Parser)]
#[command(
    name = "ferrotype",
    version,
    about = "Persistent image processing speaking the Aliyun OSS and Qiniu languages"
)]
struct Cli {
    /// The TOML configuration file (default: the one FERROTYPE_CONFIG names, else none);
    /// environment variables override it.
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// API and worker in one process.
    Serve,
    /// The HTTP API alone.
    Api,
    /// The worker alone.
    Worker,
    /// Create the database if missing and apply migrations.
    Migrate,
    /// Run a pipeline on local files, without any service: INPUT... PIPELINE -o OUTPUT.
    Process {
        /// The inputs (`-`: standard input), then the OSS (`image/resize,w_100`) or Qiniu
        /// (`imageMogr2/thumbnail/100x`) pipeline.
        #[arg(required = true, num_args = 2.., value_name = "INPUT... PIPELINE")]
        arguments: Vec<String>,
        /// The output (`-`: standard output); with several inputs a pattern naming each
        /// result by `{stem}` or `{name}`. Its extension sets the format when the pipeline
        /// names none.
        #[arg(short, long)]
        output: String,
        /// Lift the service's source and output size limits.
        #[arg(long)]
        no_limits: bool,
    },
    /// Manage access keys.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// The configuration.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// Asks a running process whether it is ready (`/readyz`): exit 0 when it is, 1 when not.
    Health {
        /// The probe to ask (default: `http://<metrics_listen or listen>/readyz`, 0.0.0.0
        /// asked as 127.0.0.1).
        url: Option<String>,
    },
}

#[derive(Subcommand)]
enum ConfigCommand {
    /// Prints the effective configuration (defaults, file, environment) as TOML, secrets
    /// masked.
    Print,
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Create an access key; prints {"access_key": ..., "secret_key": ...}.
    Create {
        /// BUCKET:PERM with PERM r, w or rw; repeatable.
        #[arg(long = "grant", required = true)]
        grants: Vec<String>,
        #[arg(long, requires = "secret_key")]
        access_key: Option<String>,
        #[arg(long, requires = "access_key")]
        secret_key: Option<String>,
    },
    /// List access keys, one JSON line each: name, creation time, grants (never the secret).
    List,
    /// Widen an access key's grants (running processes see them at once).
    Grant {
        access_key: String,
        /// BUCKET:PERM with PERM r, w or rw; repeatable.
        #[arg(long = "grant", required = true)]
        grants: Vec<String>,
    },
    /// Revoke an access key and its grants (running processes refuse it at once).
    Revoke {
        /// The access key to revoke.
        access_key: String,
    },
}

/// Where the profile of untagged CMYK sources is read from, unless `FERROTYPE_CMYK_PROFILE`
/// names another: Ghostscript's default CMYK profile (SWOP-like, Debian's `libgs-common`,
/// which `scripts/services.sh` installs; it is read from the system, not shipped here).
const DEFAULT_CMYK_PROFILE: &str = "/usr/share/color/icc/ghostscript/default_cmyk.icc";

/// Installs the CMYK profile of untagged CMYK sources; without a readable one they are
/// converted with the plain formula, and a warning says so.
fn install_cmyk_profile() {
    let path = std::env::var("FERROTYPE_CMYK_PROFILE")
        .unwrap_or_else(|_| DEFAULT_CMYK_PROFILE.to_string());
    let installed = std::fs::read(&path)
        .is_ok_and(|icc| pipeline::codec::colour::install_default_cmyk_profile(&icc));
    if !installed {
        eprintln!(
            "ferrotype: warning: no CMYK profile at {path}: untagged CMYK sources are \
             converted with the plain formula"
        );
    }
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    // A decoder that panics on a hostile file fails that item quietly, without a backtrace.
    pipeline::codec::guard::quiet_decoder_panics();
    install_cmyk_profile();
    // Before any thread starts: it sets environment variables.
    if let Err(error) = jobs::config::layers::read_local_env_file() {
        eprintln!("ferrotype: {error}");
        return std::process::ExitCode::FAILURE;
    }
    let config = match Config::load(cli.config.as_deref()) {
        Ok(config) => config,
        Err(error) => {
            eprintln!("ferrotype: {error}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match &cli.command {
        // The engine needs no runtime and no services.
        Command::Process {
            arguments,
            output,
            no_limits,
        } => return process_command(&config, arguments, output, *no_limits),
        Command::Config {
            command: ConfigCommand::Print,
        } => return print_config(&config),
        _ => {}
    }
    jobs::telemetry::init(config.log_format);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("ferrotype: cannot start the runtime: {error}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let ran = runtime.block_on(run(config, cli.command));
    // A render cut short at shutdown goes on on the blocking pool until its deadline; the
    // runtime would wait for it. Its job was handed back: exit without it.
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    match ran {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("ferrotype: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn print_config(config: &Config) -> std::process::ExitCode {
    match jobs::config::print::render(config) {
        Ok(text) => {
            print!("{text}");
            std::process::ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("ferrotype: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(config: Config, command: Command) -> anyhow::Result<()> {
    let role = match command {
        Command::Serve => Role::Both,
        Command::Api => Role::Api,
        Command::Worker => Role::Worker,
        Command::Migrate => {
            jobs::Ledger::connect(&config.database_url).await?;
            println!("database ready: migrations applied");
            return Ok(());
        }
        Command::Keys { command } => {
            let ledger = jobs::Ledger::connect(&config.database_url).await?;
            println!("{}", keys_command(&ledger, command).await?);
            return Ok(());
        }
        Command::Health { url } => {
            let url = url.unwrap_or_else(|| ferrotype::health::default_url(&config));
            println!("{}", ferrotype::health::check(&url).await?);
            return Ok(());
        }
        // Handled before the runtime starts; kept here so the match stays exhaustive.
        Command::Process { .. } | Command::Config { .. } => {
            anyhow::bail!("this command runs without services")
        }
    };
    let running = ferrotype::serve::start(config, role).await?;
    println!("{}", ferrotype::serve::banner(&running, role));
    let shutdown = running.shutdown.clone();
    tokio::spawn(async move {
        wait_for_signal().await;
        tracing::info!("shutting down: finishing in-flight work");
        shutdown.cancel();
    });
    running.wait().await
}

async fn wait_for_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(term) => term,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}

/// Runs a `keys` command; returns what it prints.
async fn keys_command(ledger: &jobs::Ledger, command: KeysCommand) -> anyhow::Result<String> {
    match command {
        KeysCommand::Create {
            grants,
            access_key,
            secret_key,
        } => ferrotype::keys::create(ledger, &grants, access_key, secret_key).await,
        KeysCommand::List => ferrotype::keys::list(ledger).await,
        KeysCommand::Grant { access_key, grants } => {
            ferrotype::keys::grant(ledger, &access_key, &grants).await
        }
        KeysCommand::Revoke { access_key } => ferrotype::keys::revoke(ledger, &access_key).await,
    }
}

/// Runs `ferrotype process`: each input in turn, a JSON line per result (on standard error
/// when the image goes to standard output), a progress line per input on batches; fails when
/// any input failed.
fn process_command(
    config: &Config,
    arguments: &[String],
    output: &str,
    no_limits: bool,
) -> std::process::ExitCode {
    let Some((pipeline, inputs)) = arguments.split_last() else {
        return std::process::ExitCode::FAILURE;
    };
    let inputs: Vec<PathBuf> = inputs.iter().map(PathBuf::from).collect();
    let request = ferrotype::process::Request {
        inputs: &inputs,
        pipeline,
        output,
        limits: (!no_limits).then(|| config.engine_limits()),
        font_dir: &config.font_dir,
        face_models: &config.face_models,
        metadata: config.metadata,
    };
    if let Err(error) = ferrotype::process::check(&request) {
        eprintln!("ferrotype: {error}");
        return std::process::ExitCode::FAILURE;
    }
    let mut failed = 0;
    for (index, input) in inputs.iter().enumerate() {
        let progress = format!("[{}/{}] {}", index + 1, inputs.len(), input.display());
        match ferrotype::process::run_one(&request, input) {
            Ok(made) => {
                let line = serde_json::json!({"output": made.output, "width": made.width,
                                              "height": made.height, "format": made.format});
                if output == "-" {
                    eprintln!("{line}");
                } else {
                    println!("{line}");
                }
                if inputs.len() > 1 {
                    eprintln!("{progress} -> {}", made.output);
                }
            }
            Err(error) => {
                failed += 1;
                eprintln!("ferrotype: {progress}: {error}");
            }
        }
    }
    if failed == 0 {
        std::process::ExitCode::SUCCESS
    } else {
        std::process::ExitCode::FAILURE
    }
}
