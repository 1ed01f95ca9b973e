//! Prometheus metrics. The recorder is process-global, so it is installed once however many
//! servers a process (or a test binary) starts. Besides Ferrotype's own, the process's
//! (`process_resident_memory_bytes`, CPU seconds, open file descriptors, threads), read
//! when the metrics are rendered.

use std::sync::OnceLock;

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();
static PROCESS: OnceLock<metrics_process::Collector> = OnceLock::new();

/// The metrics in Prometheus's text format, the process's read just now; `None` when no
/// recorder could be installed.
pub fn render() -> Option<String> {
    let handle = install_recorder()?;
    PROCESS
        .get_or_init(metrics_process::Collector::default)
        .collect();
    Some(handle.render())
}

/// Installs the recorder if no other one is; returns the handle that renders the metrics.
pub fn install_recorder() -> Option<&'static PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            let handle = PrometheusBuilder::new()
                .set_buckets_for_metric(
                    metrics_exporter_prometheus::Matcher::Suffix("_seconds".into()),
                    &[
                        0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
                    ],
                )
                .ok()?
                .install_recorder()
                .ok()?;
            describe();
            Some(handle)
        })
        .as_ref()
}

fn describe() {
    PROCESS
        .get_or_init(metrics_process::Collector::default)
        .describe();
    metrics::describe_gauge!(
        "ferrotype_jobs_in_flight",
        "Jobs a worker holds now (claimed or waiting for a render slot)"
    );
    metrics::describe_gauge!("ferrotype_render_slots", "A worker's render slots");
    metrics::describe_gauge!("ferrotype_render_slots_busy", "Render slots rendering now");
    metrics::describe_gauge!(
        "ferrotype_queue_depth",
        "Messages ready in a pipeline's queue, by pipeline (read every 5 s by a worker)"
    );
    metrics::describe_counter!("ferrotype_jobs_submitted_total", "Jobs accepted by the API");
    metrics::describe_counter!(
        "ferrotype_jobs_finished_total",
        "Jobs that ended, by final status"
    );
    metrics::describe_histogram!(
        "ferrotype_item_processing_seconds",
        "Time to process and save one item"
    );
    metrics::describe_counter!(
        "ferrotype_queue_publish_failures_total",
        "Publishes the broker did not confirm (the sweeper retries them)"
    );
    metrics::describe_counter!(
        "ferrotype_callbacks_failed_total",
        "Jobs whose notify URL never answered 200"
    );
}
