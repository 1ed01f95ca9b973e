//! End-to-end faults, each against private servers this test starts (never the machine's
//! own): what a client is told while the ledger is down, and that nothing it was told failed
//! runs, nor anything accepted is lost.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test crate: a panic is a failed test

mod common;

use std::time::Duration;

use common::postgres::PrivatePostgres;
use common::{fixture, spawn_app_with, test_config};
use serde_json::{json, Value};

#[tokio::test]
async fn a_submit_while_the_ledger_is_down_is_503_and_one_after_it_is_back_runs() {
    let postgres = PrivatePostgres::start();
    let (mut config, data_dir) = test_config();
    config.database_url = postgres.url("ferrotype_faults");
    let app = spawn_app_with(config, data_dir).await;
    app.place("photos", "gopher.jpg", &fixture("gopher-640x427.jpg"));
    let job =
        json!({"bucket": "photos", "key": "gopher.jpg", "fops": ["imageMogr2/thumbnail/50x"]});
    let before = app.submit(job.clone()).await;
    assert_eq!(app.wait_for_end(&before).await["code"], 0);

    postgres.stop();
    let refused = app.post_job(job.clone()).await;
    assert_eq!(refused.status(), 503);
    assert_eq!(refused.headers()["retry-after"], "1");
    let body: Value = refused.json().await.expect("json");
    assert_eq!(body["code"], "ServiceUnavailable", "{body}");

    postgres.start_again();
    // The pool reconnects on its own; the first submits may still find it waking.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let after = loop {
        let response = app.post_job(job.clone()).await;
        if response.status() == 202 {
            let body: Value = response.json().await.expect("json");
            break body["id"].as_str().expect("id").to_string();
        }
        assert_eq!(
            response.status(),
            503,
            "only 503 while the ledger comes back"
        );
        assert!(
            tokio::time::Instant::now() < deadline,
            "the ledger never came back"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(app.wait_for_end(&after).await["code"], 0);
    // Exactly the two accepted jobs exist: the refused submit left nothing behind.
    let (jobs,): (i64,) = sqlx::query_as("SELECT count(*) FROM jobs")
        .fetch_one(app.services().ledger.pool())
        .await
        .expect("count");
    assert_eq!(jobs, 2);
    app.stop().await;
}

#[tokio::test]
async fn a_job_cut_short_by_a_ledger_outage_runs_again_as_soon_as_the_ledger_is_back() {
    let postgres = PrivatePostgres::start();
    let (mut config, data_dir) = test_config();
    config.database_url = postgres.url("ferrotype_faults");
    config.item_timeout_ms = 120_000;
    // A lease far longer than the wait below: a job left to its lease would miss it.
    config.lease_seconds = 600;
    let app = spawn_app_with(config, data_dir).await;
    app.place("photos", "gopher.jpg", &fixture("gopher-640x427.jpg"));
    // A render of a few seconds, so the outage covers its end (the recording of its result).
    let slow = json!({"bucket": "photos", "key": "gopher.jpg",
                      "fops": ["imageMogr2/thumbnail/1000x/blur/50x50"]});
    let id = app.submit(slow).await;
    app.wait_for(&id, Duration::from_secs(30), |job| job["code"] == 2)
        .await;
    postgres.stop();
    // Longer than the render and the pool's 5 s wait for a connection, so the recording of
    // the result fails and the job is cut short.
    tokio::time::sleep(Duration::from_secs(20)).await;
    postgres.start_again();
    let job = app
        .wait_for(&id, Duration::from_secs(60), |job| job["code"] == 0)
        .await;
    assert_eq!(job["items"][0]["width"], 1000, "{job}");
    // Handed back with its attempt refunded, then claimed again: one attempt in all.
    let id = id.parse().expect("uuid");
    let row = (app.services().ledger.job(id).await.expect("ledger"))
        .expect("job")
        .row;
    assert_eq!(row.attempts, 1);
    app.stop().await;
}
