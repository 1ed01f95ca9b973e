//! `ferrotype health [URL]`: asks a running process's readiness probe, for container
//! healthchecks (the image has no curl). Exit 0 when ready, 1 with what is down otherwise.

use std::time::Duration;

use anyhow::Context;
use jobs::Config;

/// The probe of the process this configuration describes: its own probes listener when it
/// has one (`metrics_listen`, as a worker-only container sets), else the API's address; an
/// unspecified address (`0.0.0.0`, `[::]`) is asked on the loopback.
pub fn default_url(config: &Config) -> String {
    let listen = match config.metrics_listen.as_deref().map(str::trim) {
        Some("off" | "") | None => config.listen.as_str(),
        Some(address) => address,
    };
    let address = listen
        .replacen("0.0.0.0:", "127.0.0.1:", 1)
        .replacen("[::]:", "[::1]:", 1);
    format!("http://{address}/readyz")
}

/// The probe's answer when it is ready; an error naming the status and answer when not.
pub async fn check(url: &str) -> anyhow::Result<String> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()?;
    let response =
        (client.get(url).send().await).with_context(|| format!("{url} is not answering"))?;
    let status = response.status();
    let body = response.text().await.unwrap_or_default();
    if !status.is_success() {
        anyhow::bail!("not ready ({status}): {}", body.trim());
    }
    Ok(body.trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_probe_is_the_metrics_listener_or_the_api() {
        let mut config = Config {
            listen: "0.0.0.0:8080".into(),
            ..Config::default()
        };
        assert_eq!(default_url(&config), "http://127.0.0.1:8080/readyz");
        config.metrics_listen = Some("0.0.0.0:9464".into());
        assert_eq!(default_url(&config), "http://127.0.0.1:9464/readyz");
        config.metrics_listen = Some("off".into());
        assert_eq!(default_url(&config), "http://127.0.0.1:8080/readyz");
    }
}
