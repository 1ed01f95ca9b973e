//! Prometheus metrics. The recorder is process-global, so it is installed once however many
//! servers a process (or a test binary) starts.

use std::sync::OnceLock;

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

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
