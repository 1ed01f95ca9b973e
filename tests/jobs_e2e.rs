//! End-to-end: a job travels from the API through Postgres and RabbitMQ to a worker, into
//! the bucket, and back as a status and a callback. Real services, no mocks.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test crate: a panic is a failed test

mod common;

use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use common::{
    b64, dimensions, fixture, queue_depth, spawn_app, spawn_app_with, test_config, ACCESS_KEY,
    SECRET_KEY,
};
use serde_json::{json, Value};
use tokio::sync::mpsc;

#[tokio::test]
async fn a_job_with_two_items_saves_both_targets() {
    let app = spawn_app().await;
    app.place("photos", "in/gopher.jpg", &fixture("gopher-640x427.jpg"));

    let id = app
        .submit(json!({
            "bucket": "photos",
            "key": "in/gopher.jpg",
            "fops": [
                format!("imageMogr2/thumbnail/300x/format/png|saveas/{}", b64("results:thumbs/small.png")),
                format!("imageMogr2/thumbnail/x100|saveas/{}", b64("photos:thumbs/h100.jpg")),
            ],
        }))
        .await;
    let job = app.wait_for_end(&id).await;

    assert_eq!(job["code"], 0, "{job}");
    assert_eq!(job["status"], "success");
    assert_eq!(job["input_bucket"], "photos");
    assert_eq!(job["input_key"], "in/gopher.jpg");
    assert_eq!(job["pipeline"], "default");
    let items = job["items"].as_array().expect("items");
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["bucket"], "results");
    assert_eq!(items[0]["key"], "thumbs/small.png");
    assert_eq!(items[0]["width"], 300);
    assert_eq!(items[0]["height"], 200);
    assert_eq!(items[0]["format"], "png");
    assert_eq!(items[1]["width"], 150);
    assert_eq!(items[1]["height"], 100);

    let small = std::fs::read(app.object_path("results", "thumbs/small.png")).expect("target 1");
    assert_eq!(dimensions(&small), (300, 200));
    assert_eq!(items[0]["size"], small.len() as u64);
    assert_eq!(items[0]["hash"], jobs::etag::qiniu_etag(&small));
    assert_eq!(&small[1..4], b"PNG");
    let tall = std::fs::read(app.object_path("photos", "thumbs/h100.jpg")).expect("target 2");
    assert_eq!(dimensions(&tall), (150, 100));
    app.stop().await;
}

/// One render slot and three jobs held at once: the jobs that wait for the slot still run,
/// each to its own target, and none is lost or left processing.
#[tokio::test]
async fn jobs_beyond_the_render_slots_wait_their_turn_and_all_finish() {
    let (mut config, data_dir) = test_config();
    config.workers = 1;
    config.jobs_in_flight = Some(3);
    let app = spawn_app_with(config, data_dir).await;
    app.place("photos", "gopher.jpg", &fixture("gopher-640x427.jpg"));
    let mut ids = Vec::new();
    for width in [100, 120, 140, 160, 180] {
        let fop = format!(
            "imageMogr2/thumbnail/{width}x|saveas/{}",
            b64(&format!("results:w{width}.jpg"))
        );
        ids.push((
            width,
            app.submit(json!({"bucket": "photos", "key": "gopher.jpg", "fops": [fop]}))
                .await,
        ));
    }
    for (width, id) in ids {
        let job = app.wait_for_end(&id).await;
        assert_eq!(job["code"], 0, "{job}");
        let saved = std::fs::read(app.object_path("results", &format!("w{width}.jpg")))
            .expect("target saved");
        assert_eq!(dimensions(&saved).0, width);
    }
    app.stop().await;
}

#[tokio::test]
async fn an_oss_process_string_with_saveas_is_a_job() {
    let app = spawn_app().await;
    app.place("photos", "gopher.jpg", &fixture("gopher-640x427.jpg"));
    let id = app
        .submit(json!({
            "bucket": "photos",
            "key": "gopher.jpg",
            "process": format!(
                "image/resize,m_fill,w_100,h_100/quality,Q_80|sys/saveas,o_{},b_{}",
                b64("square.jpg"), b64("results")
            ),
        }))
        .await;
    let job = app.wait_for_end(&id).await;
    assert_eq!(job["code"], 0, "{job}");
    let square = std::fs::read(app.object_path("results", "square.jpg")).expect("target");
    assert_eq!(dimensions(&square), (100, 100));
    app.stop().await;
}

#[tokio::test]
async fn a_missing_source_fails_the_job_naming_the_key() {
    let app = spawn_app().await;
    std::fs::create_dir_all(app.object_path("photos", "")).expect("bucket folder");
    let id = app
        .submit(json!({
            "bucket": "photos",
            "key": "nowhere/missing.jpg",
            "fops": ["imageMogr2/thumbnail/100x"],
        }))
        .await;
    let job = app.wait_for_end(&id).await;
    assert_eq!(job["code"], 3, "{job}");
    assert_eq!(job["status"], "failed");
    let item = &job["items"][0];
    assert_eq!(item["code"], 3);
    assert_eq!(item["error_code"], "NoSuchKey");
    let message = item["error"].as_str().expect("message");
    assert!(message.contains("nowhere/missing.jpg"), "{message}");
    app.stop().await;
}

#[tokio::test]
async fn an_undecodable_source_fails_the_item_and_the_job_still_ends() {
    let app = spawn_app().await;
    app.place("photos", "bad.jpg", &fixture("truncated.jpg"));
    app.place("photos", "noise.jpg", &fixture("garbage.jpg"));
    for key in ["bad.jpg", "noise.jpg"] {
        let id = app
            .submit(json!({"bucket": "photos", "key": key, "fops": ["imageMogr2/thumbnail/100x"]}))
            .await;
        let job = app.wait_for_end(&id).await;
        assert_eq!(job["code"], 3, "{job}");
        assert!(
            job["items"][0]["error"]
                .as_str()
                .is_some_and(|e| !e.is_empty()),
            "{job}"
        );
    }
    app.stop().await;
}

#[tokio::test]
async fn a_malformed_pipeline_is_refused_and_nothing_is_queued() {
    let app = spawn_app().await;
    app.place("photos", "gopher.jpg", &fixture("gopher-640x427.jpg"));
    let cases = [
        json!({"bucket": "photos", "key": "gopher.jpg", "process": "image/resize,w_0"}),
        json!({"bucket": "photos", "key": "gopher.jpg", "process": "image/resize,w_abc"}),
        json!({"bucket": "photos", "key": "gopher.jpg", "fops": ["imageMogr2/thumbnail/100x", "imageMogr2/nonsense/1"]}),
        json!({"bucket": "photos", "key": "gopher.jpg", "fops": []}),
        json!({"bucket": "photos", "key": "gopher.jpg"}),
        json!({"bucket": "photos", "key": "/etc/passwd", "fops": ["imageMogr2/thumbnail/100x"]}),
    ];
    for case in cases {
        let response = app.post_job(case.clone()).await;
        assert_eq!(response.status(), 400, "{case}");
        let body: Value = response.json().await.expect("json error");
        assert!(body["code"].is_string(), "{body}");
        assert!(body["message"].is_string(), "{body}");
    }
    // The first case names the action and the argument.
    let body: Value = app
        .post_job(json!({"bucket": "photos", "key": "gopher.jpg", "process": "image/resize,w_0"}))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(body["code"], "InvalidArgument", "{body}");
    let message = body["message"].as_str().expect("message");
    assert!(
        message.contains("resize") && message.contains('w'),
        "{message}"
    );
    // The second command of the third case is the bad one.
    let body: Value = app
        .post_job(json!({"bucket": "photos", "key": "gopher.jpg",
                         "fops": ["imageMogr2/thumbnail/100x", "imageMogr2/nonsense/1"]}))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(body["command"], 1, "{body}");

    let (jobs,): (i64,) = sqlx::query_as("SELECT count(*) FROM jobs")
        .fetch_one(app.services().ledger.pool())
        .await
        .expect("count");
    assert_eq!(jobs, 0);
    let queue = app.services().queue.queue_name("default");
    assert_eq!(queue_depth(&app.config.amqp_url, &queue).await, 0);
    app.stop().await;
}

/// `../etc/passwd` is a key like any other on OSS: the object of that name inside the bucket,
/// which does not exist. The job fails on it and never reads the file outside.
#[tokio::test]
async fn a_key_of_dot_dot_segments_names_an_object_inside_the_bucket() {
    let app = spawn_app().await;
    let id = app
        .submit(json!({"bucket": "photos", "key": "../etc/passwd",
                       "fops": ["imageMogr2/thumbnail/100x"]}))
        .await;
    let job = app.wait_for_end(&id).await;
    assert_eq!(job["code"], 3, "{job}");
    assert_eq!(job["items"][0]["error_code"], "NoSuchKey", "{job}");
    app.stop().await;
}

#[tokio::test]
async fn wrong_or_missing_credentials_are_401() {
    let app = spawn_app().await;
    let body = json!({"bucket": "photos", "key": "a.jpg", "fops": ["imageMogr2/thumbnail/100x"]});
    let url = format!("{}/v1/jobs", app.base);
    let wrong_secret = app
        .client
        .post(&url)
        .basic_auth(ACCESS_KEY, Some("not-the-secret"))
        .json(&body)
        .send()
        .await
        .expect("request");
    assert_eq!(wrong_secret.status(), 401);
    let unknown_key = app
        .client
        .post(&url)
        .basic_auth("nobody", Some(SECRET_KEY))
        .json(&body)
        .send()
        .await
        .expect("request");
    assert_eq!(unknown_key.status(), 401);
    let anonymous = app
        .client
        .post(&url)
        .json(&body)
        .send()
        .await
        .expect("request");
    assert_eq!(anonymous.status(), 401);
    let error: Value = anonymous.json().await.expect("json");
    assert_eq!(error["code"], "Unauthorized");
    app.stop().await;
}

#[tokio::test]
async fn a_target_without_write_grant_is_403() {
    let app = spawn_app().await;
    app.place("photos", "gopher.jpg", &fixture("gopher-640x427.jpg"));
    let response = app
        .post_job(json!({
            "bucket": "photos",
            "key": "gopher.jpg",
            "fops": [format!("imageMogr2/thumbnail/100x|saveas/{}", b64("readonly:out.jpg"))],
        }))
        .await;
    assert_eq!(response.status(), 403);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["code"], "AccessDenied");
    // And reading a bucket without a read grant is refused too.
    let response = app
        .post_job(
            json!({"bucket": "elsewhere", "key": "a.jpg", "fops": ["imageMogr2/thumbnail/100x"]}),
        )
        .await;
    assert_eq!(response.status(), 403);
    app.stop().await;
}

/// A loopback HTTP server that records what is POSTed to it and answers `status`.
async fn notify_server(status: StatusCode) -> (String, mpsc::UnboundedReceiver<Value>) {
    let (sender, receiver) = mpsc::unbounded_channel();
    let state = Arc::new((sender, status));
    let app = Router::new()
        .route(
            "/hook",
            post(
                |State(state): State<Arc<(mpsc::UnboundedSender<Value>, StatusCode)>>,
                 Json(body): Json<Value>| async move {
                    let _ = state.0.send(body);
                    state.1
                },
            ),
        )
        .with_state(state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = listener.local_addr().expect("address");
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{address}/hook"), receiver)
}

#[tokio::test]
async fn the_notify_url_receives_the_final_status() {
    let app = spawn_app().await;
    app.place("photos", "gopher.jpg", &fixture("gopher-640x427.jpg"));
    let (url, mut received) = notify_server(StatusCode::OK).await;
    let id = app
        .submit(json!({
            "bucket": "photos",
            "key": "gopher.jpg",
            "fops": [format!("imageMogr2/thumbnail/200x|saveas/{}", b64("results:cb.jpg"))],
            "notify_url": url,
        }))
        .await;
    let body = tokio::time::timeout(Duration::from_secs(30), received.recv())
        .await
        .expect("callback in time")
        .expect("callback body");
    assert_eq!(body["id"], id.as_str());
    assert_eq!(body["code"], 0);
    assert_eq!(body["status"], "success");
    assert_eq!(body["items"][0]["key"], "cb.jpg");
    assert_eq!(body["items"][0]["width"], 200);
    // Delivered once: no second callback follows.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(received.try_recv().is_err());
    let job = app.job(&id).await;
    assert_eq!(job["code"], 0);
    app.stop().await;
}

/// A loopback receiver that accepts callbacks and never answers them.
async fn hanging_server() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = listener.local_addr().expect("address");
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    format!("http://{address}/hook")
}

#[tokio::test]
async fn a_receiver_that_never_answers_delays_no_other_callback() {
    let (mut config, data_dir) = common::test_config();
    // Far longer than the wait below: a callback queued behind the hanging ones would miss it.
    config.notify_timeout_ms = 120_000;
    let app = common::spawn_app_with(config, data_dir).await;
    app.place("photos", "gopher.jpg", &fixture("gopher-640x427.jpg"));
    let hanging = hanging_server().await;
    let job = |notify_url: &str| {
        json!({
            "bucket": "photos",
            "key": "gopher.jpg",
            "fops": ["imageMogr2/thumbnail/20x"],
            "notify_url": notify_url,
        })
    };
    // More than one destination's share of slots, all to the receiver that hangs.
    let mut stuck = Vec::new();
    for _ in 0..6 {
        stuck.push(app.submit(job(&hanging)).await);
    }
    for id in &stuck {
        app.wait_for_end(id).await;
    }
    let (url, mut received) = notify_server(StatusCode::OK).await;
    let id = app.submit(job(&url)).await;
    let body = tokio::time::timeout(Duration::from_secs(60), received.recv())
        .await
        .expect("the callback is not held behind the hanging receiver")
        .expect("callback body");
    assert_eq!(body["id"], id.as_str());
    app.stop().await;
}

#[tokio::test]
async fn a_callback_that_never_gets_200_ends_as_code_4() {
    let app = spawn_app().await;
    app.place("photos", "gopher.jpg", &fixture("gopher-640x427.jpg"));
    let (url, mut received) = notify_server(StatusCode::INTERNAL_SERVER_ERROR).await;
    let id = app
        .submit(json!({
            "bucket": "photos",
            "key": "gopher.jpg",
            "fops": ["imageMogr2/thumbnail/50x"],
            "notify_url": url,
        }))
        .await;
    let job = app
        .wait_for(&id, Duration::from_secs(30), |job| job["code"] == 4)
        .await;
    assert_eq!(job["status"], "callback_failed");
    assert_eq!(
        job["items"][0]["code"], 0,
        "the item itself succeeded: {job}"
    );
    let mut attempts = 0;
    while received.try_recv().is_ok() {
        attempts += 1;
    }
    assert_eq!(attempts, app.config.notify_attempts, "one POST per attempt");
    app.stop().await;
}

#[tokio::test]
async fn the_same_message_delivered_twice_runs_the_job_once() {
    let app = spawn_app().await;
    app.place("photos", "gopher.jpg", &fixture("gopher-640x427.jpg"));
    let id = app
        .submit(
            json!({"bucket": "photos", "key": "gopher.jpg", "fops": ["imageMogr2/thumbnail/120x"]}),
        )
        .await;
    let uuid: uuid::Uuid = id.parse().expect("uuid");
    // Two more copies of the same message, right behind the first.
    let services = app.services();
    services
        .queue
        .publish(uuid, "default", 0)
        .await
        .expect("publish");
    services
        .queue
        .publish(uuid, "default", 0)
        .await
        .expect("publish");
    let job = app.wait_for_end(&id).await;
    assert_eq!(job["code"], 0);
    // Let the duplicates arrive and be dropped.
    let queue = services.queue.queue_name("default");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while queue_depth(&app.config.amqp_url, &queue).await > 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "duplicates never consumed"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let row = services
        .ledger
        .job(uuid)
        .await
        .expect("ledger")
        .expect("job");
    assert_eq!(row.row.attempts, 1, "claimed exactly once");
    assert_eq!(app.job(&id).await["code"], 0);
    app.stop().await;
}

#[tokio::test]
async fn a_job_whose_publish_was_lost_is_picked_up_by_the_sweeper() {
    let app = spawn_app().await;
    app.place("photos", "gopher.jpg", &fixture("gopher-640x427.jpg"));
    // Recorded, never published: as if the API died between insert and publish.
    let services = app.services();
    let id = services
        .ledger
        .insert_job(
            &jobs::ledger::NewJob {
                input_bucket: "photos".into(),
                input_key: "gopher.jpg".into(),
                queue: "default".into(),
                job_type: 0,
                force: false,
                notify_url: None,
                submitted_by: None,
                notify_format: jobs::model::NotifyFormat::Native,
                request_id: None,
                items: vec![jobs::ledger::NewItem {
                    cmd: "imageMogr2/thumbnail/64x".into(),
                    dialect: jobs::model::Dialect::Qiniu,
                    target_bucket: "results".into(),
                    target_key: "swept.jpg".into(),
                    canonical: None,
                }],
            },
            Duration::from_millis(100),
        )
        .await
        .expect("insert");
    let job = app.wait_for_end(&id.to_string()).await;
    assert_eq!(job["code"], 0, "{job}");
    let swept = std::fs::read(app.object_path("results", "swept.jpg")).expect("target");
    assert_eq!(dimensions(&swept).0, 64);
    app.stop().await;
}

#[tokio::test]
async fn objects_upload_and_download_with_grants() {
    let app = spawn_app().await;
    let bytes = fixture("gopher-640x427.jpg");
    let url = format!("{}/v1/buckets/photos/objects/a/b/c.jpg", app.base);
    let put = app
        .client
        .put(&url)
        .basic_auth(ACCESS_KEY, Some(SECRET_KEY))
        .body(bytes.clone())
        .send()
        .await
        .expect("put");
    assert_eq!(put.status(), 200);
    let put: Value = put.json().await.expect("json");
    assert_eq!(put["size"], bytes.len() as u64);
    assert_eq!(
        std::fs::read(app.object_path("photos", "a/b/c.jpg")).expect("file"),
        bytes
    );

    let get = app
        .client
        .get(&url)
        .basic_auth(ACCESS_KEY, Some(SECRET_KEY))
        .send()
        .await
        .expect("get");
    assert_eq!(get.status(), 200);
    assert_eq!(get.headers()["content-type"], "image/jpeg");
    assert_eq!(get.bytes().await.expect("body").as_ref(), bytes.as_slice());

    let missing = app
        .client
        .get(format!("{}/v1/buckets/photos/objects/nope.jpg", app.base))
        .basic_auth(ACCESS_KEY, Some(SECRET_KEY))
        .send()
        .await
        .expect("get");
    assert_eq!(missing.status(), 404);
    let denied = app
        .client
        .put(format!("{}/v1/buckets/readonly/objects/x.jpg", app.base))
        .basic_auth(ACCESS_KEY, Some(SECRET_KEY))
        .body("x")
        .send()
        .await
        .expect("put");
    assert_eq!(denied.status(), 403);
    app.stop().await;
}

#[tokio::test]
async fn health_and_metrics_answer() {
    let app = spawn_app().await;
    let health = app
        .client
        .get(format!("{}/healthz", app.base))
        .send()
        .await
        .expect("health");
    assert_eq!(health.status(), 200);
    let health: Value = health.json().await.expect("json");
    assert_eq!(health["postgres"], "ok");
    assert_eq!(health["rabbitmq"], "ok");
    assert_eq!(health["data_dir"], "ok");

    app.place("photos", "gopher.jpg", &fixture("gopher-640x427.jpg"));
    let id = app
        .submit(
            json!({"bucket": "photos", "key": "gopher.jpg", "fops": ["imageMogr2/thumbnail/32x"]}),
        )
        .await;
    app.wait_for_end(&id).await;
    // The worker counts a finished job just after the ledger commit that
    // `wait_for_end` observes, so the counter may trail the status briefly.
    let names = [
        "ferrotype_jobs_submitted_total",
        "ferrotype_jobs_finished_total",
        "ferrotype_item_processing_seconds",
        "ferrotype_render_slot_wait_seconds",
    ];
    let mut metrics = String::new();
    for _ in 0..100 {
        metrics = app
            .client
            .get(format!("{}/metrics", app.base))
            .send()
            .await
            .expect("metrics")
            .text()
            .await
            .expect("text");
        if names.iter().all(|name| metrics.contains(name)) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    for name in names {
        assert!(metrics.contains(name), "{name} missing from {metrics}");
    }
    app.stop().await;
}

#[tokio::test]
async fn unknown_jobs_are_404() {
    let app = spawn_app().await;
    for id in ["not-a-uuid", "0190b5a4-0000-7000-8000-000000000000"] {
        let response = app
            .client
            .get(format!("{}/v1/jobs/{id}", app.base))
            .basic_auth(ACCESS_KEY, Some(SECRET_KEY))
            .send()
            .await
            .expect("get");
        assert_eq!(response.status(), 404);
    }
    app.stop().await;
}

#[tokio::test]
async fn a_job_is_visible_only_to_readers_of_its_source_bucket() {
    let app = spawn_app().await;
    app.place("photos", "gopher.jpg", &fixture("gopher-640x427.jpg"));
    let id = app
        .submit(
            json!({"bucket": "photos", "key": "gopher.jpg", "fops": ["imageMogr2/thumbnail/40x"]}),
        )
        .await;
    ferrotype::keys::create(
        &app.services().ledger,
        &["elsewhere:rw".into()],
        Some("outsider".into()),
        Some("outsider-secret".into()),
    )
    .await
    .expect("second key");
    let response = app
        .client
        .get(format!("{}/v1/jobs/{id}", app.base))
        .basic_auth("outsider", Some("outsider-secret"))
        .send()
        .await
        .expect("get");
    assert_eq!(response.status(), 404);
    app.wait_for_end(&id).await;
    app.stop().await;
}

/// The gopher photo with its frame header rewritten to claim `width` x `height`: a small
/// file that a decoder would expand to the whole claimed picture.
fn jpeg_claiming(width: u16, height: u16) -> Vec<u8> {
    let mut jpeg = fixture("gopher-640x427.jpg");
    let sof = jpeg
        .windows(2)
        .position(|pair| pair == [0xFF, 0xC0] || pair == [0xFF, 0xC2])
        .unwrap();
    jpeg[sof + 5..sof + 7].copy_from_slice(&height.to_be_bytes());
    jpeg[sof + 7..sof + 9].copy_from_slice(&width.to_be_bytes());
    jpeg
}

/// The memory budget admits renders by their estimate: a small thumbnail runs, while a
/// sharpen of a 150-megapixel claim (and of a photo, under a tiny budget) fails at once with
/// `ImageTooLarge` naming the budget, before a pixel is decoded.
#[tokio::test]
async fn a_render_over_the_memory_budget_fails_at_once_naming_the_budget() {
    let (mut config, data_dir) = test_config();
    config.memory_budget_mib = Some(8);
    let app = spawn_app_with(config, data_dir).await;
    app.place("photos", "gopher.jpg", &fixture("gopher-640x427.jpg"));
    app.place("photos", "bomb.jpg", &jpeg_claiming(29_999, 4_999));
    let id = app
        .submit(json!({
            "bucket": "photos", "key": "gopher.jpg",
            "fops": [
                format!("imageMogr2/thumbnail/100x|saveas/{}", b64("results:small.jpg")),
                format!("imageMogr2/sharpen/1|saveas/{}", b64("results:sharp.jpg")),
            ],
        }))
        .await;
    let job = app.wait_for_end(&id).await;
    assert_eq!(job["items"][0]["code"], 0, "{job}");
    assert_eq!(job["items"][1]["error_code"], "ImageTooLarge", "{job}");
    let message = job["items"][1]["error"].as_str().expect("message");
    assert!(message.contains("memory budget of 8 MiB"), "{message}");
    let id = app
        .submit(json!({"bucket": "photos", "key": "bomb.jpg", "fops": ["imageMogr2/sharpen/1"]}))
        .await;
    let job = app.wait_for_end(&id).await;
    assert_eq!(job["items"][0]["error_code"], "ImageTooLarge", "{job}");
    app.stop().await;
}

/// `POST /v1/jobs/batch`: each job is validated on its own and answered in order with its id
/// or its error; the valid ones run; more than 1,000 is refused whole.
#[tokio::test]
async fn a_batch_submission_answers_each_job_with_its_id_or_its_error() {
    let app = spawn_app().await;
    app.place("photos", "gopher.jpg", &fixture("gopher-640x427.jpg"));
    let job = |width: u32| {
        json!({"bucket": "photos", "key": "gopher.jpg",
               "fops": [format!("imageMogr2/thumbnail/{width}x|saveas/{}", b64(&format!("results:b{width}.jpg")))]})
    };
    let jobs = json!([
        job(100),
        {"bucket": "photos", "key": "gopher.jpg", "fops": ["imageMogr2/thumbnail/nonsense"]},
        {"bucket": "photos", "key": "gopher.jpg"},
        job(120),
    ]);
    let post_batch = |jobs: Value| {
        app.client
            .post(format!("{}/v1/jobs/batch", app.base))
            .basic_auth(common::ACCESS_KEY, Some(common::SECRET_KEY))
            .json(&json!({ "jobs": jobs }))
            .send()
    };
    let response = post_batch(jobs).await.unwrap();
    assert_eq!(response.status(), 200);
    let answer: Value = response.json().await.unwrap();
    assert_eq!(
        (answer["accepted"].clone(), answer["refused"].clone()),
        (json!(2), json!(2)),
        "{answer}"
    );
    let results = answer["results"].as_array().unwrap();
    assert_eq!(results[1]["error"]["code"], "InvalidArgument", "{answer}");
    assert_eq!(results[2]["error"]["code"], "InvalidArgument", "{answer}");
    for (index, width) in [(0, 100), (3, 120)] {
        let id = results[index]["id"].as_str().expect("an id");
        let done = app.wait_for_end(id).await;
        assert_eq!(done["code"], 0, "{done}");
        let saved = std::fs::read(app.object_path("results", &format!("b{width}.jpg"))).unwrap();
        assert_eq!(dimensions(&saved).0, width);
    }
    let too_many: Vec<Value> = (0..1001).map(|_| job(100)).collect();
    let response = post_batch(Value::Array(too_many)).await.unwrap();
    assert_eq!(response.status(), 400);
    app.stop().await;
}
