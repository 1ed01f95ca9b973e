//! End-to-end: a job's lease while it runs and when its worker stops. A render longer than
//! the lease is claimed once (the heartbeat renews it); a worker stopped past its grace hands
//! its job back at once, attempt refunded, and another worker finishes it; a claim whose
//! answer was lost is undone by its own name.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test crate: a panic is a failed test

mod common;

use std::time::Duration;

use common::{fixture, spawn_app_as, spawn_app_with, test_config};
use ferrotype::serve::Role;
use serde_json::json;

/// A render of a few seconds in a test build (a 50-px blur over 1000 x 667 pixels).
const SLOW: &str = "imageMogr2/thumbnail/1000x/blur/50x50";

async fn attempts(services: &jobs::Services, id: &str) -> i32 {
    let id = id.parse().expect("uuid");
    let job = services.ledger.job(id).await.expect("ledger").expect("job");
    job.row.attempts
}

#[tokio::test]
async fn a_render_longer_than_the_lease_is_claimed_once() {
    let (mut config, data_dir) = test_config();
    config.lease_seconds = 1;
    config.item_timeout_ms = 120_000;
    let app = spawn_app_with(config, data_dir).await;
    app.place("photos", "gopher.jpg", &fixture("gopher-640x427.jpg"));
    let id = app
        .submit(json!({"bucket": "photos", "key": "gopher.jpg", "fops": [SLOW]}))
        .await;
    let job = app
        .wait_for(&id, Duration::from_secs(120), |job| job["code"] == 0)
        .await;
    assert_eq!(job["items"][0]["width"], 1000, "{job}");
    // Without the heartbeat the sweeper finds the lease expired within a second and the
    // other render slot claims the job again.
    assert_eq!(attempts(app.services(), &id).await, 1);
    app.stop().await;
}

#[tokio::test]
async fn a_worker_stopped_past_its_grace_hands_its_job_back_to_another() {
    let (mut config, data_dir) = test_config();
    config.item_timeout_ms = 120_000;
    config.shutdown_grace_ms = 300;
    // A long lease: a job left to it would finish long after the wait below.
    config.lease_seconds = 600;
    let app = spawn_app_as(config.clone(), data_dir, Role::Api).await;
    app.place("photos", "gopher.jpg", &fixture("gopher-640x427.jpg"));
    let first = ferrotype::serve::start(config.clone(), Role::Worker)
        .await
        .expect("first worker");
    let id = app
        .submit(json!({"bucket": "photos", "key": "gopher.jpg", "fops": [SLOW]}))
        .await;
    app.wait_for(&id, Duration::from_secs(30), |job| job["code"] == 2)
        .await;
    let second = ferrotype::serve::start(config.clone(), Role::Worker)
        .await
        .expect("second worker");
    first.stop().await.expect("the first worker stops");
    let job = app
        .wait_for(&id, Duration::from_secs(120), |job| job["code"] == 0)
        .await;
    assert_eq!(job["items"][0]["width"], 1000, "{job}");
    // The first worker's attempt was refunded when it handed the job back.
    assert_eq!(attempts(app.services(), &id).await, 1);
    second.stop().await.expect("the second worker stops");
    app.stop().await;
}

#[tokio::test]
async fn a_claim_whose_answer_was_lost_is_undone_by_its_own_name_only() {
    let (config, data_dir) = test_config();
    // No worker: the test claims the job itself, as a worker whose claim answer was lost.
    let app = spawn_app_as(config, data_dir, Role::Api).await;
    app.place("photos", "gopher.jpg", &fixture("gopher-640x427.jpg"));
    let id = app
        .submit(json!({"bucket": "photos", "key": "gopher.jpg", "fops": [SLOW]}))
        .await;
    let job_id = id.parse().expect("uuid");
    let ledger = &app.services().ledger;
    let term = Duration::from_secs(600);
    let claimed = ledger.claim(job_id, "worker/one", term, 5).await;
    let claimed = claimed.expect("ledger").expect("claimed");
    // The claim answers the job with its items, read in the same statement.
    let commands: Vec<&str> = claimed.job.items.iter().map(|item| &*item.cmd).collect();
    assert_eq!(commands, [SLOW]);
    // Another claim of the same worker does not undo this one.
    ledger.disclaim(job_id, "worker/two").await.expect("ledger");
    let job = ledger.job(job_id).await.expect("ledger").expect("job");
    assert_eq!(job.status(), jobs::model::Status::Processing);
    // Its own name does, refunding the attempt: the job is claimable at once, not a lease later.
    ledger.disclaim(job_id, "worker/one").await.expect("ledger");
    let job = ledger.job(job_id).await.expect("ledger").expect("job");
    assert_eq!(job.status(), jobs::model::Status::Waiting);
    assert_eq!(job.row.attempts, 0);
    let again = ledger.claim(job_id, "worker/three", term, 5).await;
    assert!(again.expect("ledger").is_some());
    app.stop().await;
}
