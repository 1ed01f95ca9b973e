//! End-to-end: styles, upload rules, and each vendor signature scheme, against the real
//! Postgres and RabbitMQ (the Python suite drives the same surfaces with the vendors' SDKs).
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test crate: a panic is a failed test

mod common;

use api::oss::auth as oss;
use api::qiniu::auth as qiniu;
use common::{b64, fixture, spawn_app, ACCESS_KEY, SECRET_KEY};
use serde_json::{json, Value};

fn width(bytes: &[u8]) -> u32 {
    image::load_from_memory(bytes).expect("decodes").width()
}

#[tokio::test]
async fn styles_are_managed_and_used_by_name() {
    let app = spawn_app().await;
    let url = |name: &str| format!("{}/v1/buckets/photos/styles/{name}", app.base);
    let created = app
        .client
        .put(url("small"))
        .basic_auth(ACCESS_KEY, Some(SECRET_KEY))
        .json(&json!({ "process": "image/resize,w_80" }))
        .send()
        .await
        .expect("put");
    assert_eq!(created.status(), 201);
    let replaced = app
        .client
        .put(url("small"))
        .basic_auth(ACCESS_KEY, Some(SECRET_KEY))
        .json(&json!({ "process": "image/resize,w_90" }))
        .send()
        .await
        .expect("put");
    assert_eq!(replaced.status(), 200);
    let bad_name = app
        .client
        .put(url("no%20spaces"))
        .basic_auth(ACCESS_KEY, Some(SECRET_KEY))
        .json(&json!({ "process": "image/resize,w_90" }))
        .send()
        .await
        .expect("put");
    assert_eq!(bad_name.status(), 400);
    let listed: Value = app
        .client
        .get(format!("{}/v1/buckets/photos/styles", app.base))
        .basic_auth(ACCESS_KEY, Some(SECRET_KEY))
        .send()
        .await
        .expect("list")
        .json()
        .await
        .expect("json");
    assert_eq!(listed["styles"][0]["name"], "small");
    assert_eq!(listed["styles"][0]["body"], "image/resize,w_90");

    // Used from both languages.
    app.place("photos", "g.jpg", &fixture("gopher-640x427.jpg"));
    let oss_job = app
        .submit(json!({
            "bucket": "photos", "key": "g.jpg",
            "process": format!("style/small|sys/saveas,o_{},b_{}", b64("s1.jpg"), b64("results")),
        }))
        .await;
    let qiniu_job = app
        .submit(json!({
            "bucket": "photos", "key": "g.jpg",
            "fops": [format!("style/small|saveas/{}", b64("results:s2.jpg"))],
        }))
        .await;
    assert_eq!(app.wait_for_end(&oss_job).await["code"], 0);
    assert_eq!(app.wait_for_end(&qiniu_job).await["code"], 0);
    for key in ["s1.jpg", "s2.jpg"] {
        let bytes = std::fs::read(app.object_path("results", key)).expect("target");
        assert_eq!(width(&bytes), 90);
    }

    // A missing style is refused at submit time.
    let missing = app
        .post_job(json!({ "bucket": "photos", "key": "g.jpg", "process": "style/nope" }))
        .await;
    assert_eq!(missing.status(), 404);
    let body: Value = missing.json().await.expect("json");
    assert_eq!(body["code"], "NoSuchStyle");

    let deleted = app
        .client
        .delete(url("small"))
        .basic_auth(ACCESS_KEY, Some(SECRET_KEY))
        .send()
        .await
        .expect("delete");
    assert_eq!(deleted.status(), 204);
    let gone = app
        .client
        .get(url("small"))
        .basic_auth(ACCESS_KEY, Some(SECRET_KEY))
        .send()
        .await
        .expect("get");
    assert_eq!(gone.status(), 404);
    app.stop().await;
}

#[tokio::test]
async fn a_bucket_holds_at_most_fifty_styles() {
    let app = spawn_app().await;
    for n in 0..50 {
        let response = app
            .client
            .put(format!("{}/v1/buckets/photos/styles/s{n}", app.base))
            .basic_auth(ACCESS_KEY, Some(SECRET_KEY))
            .json(&json!({ "process": "image/resize,w_10" }))
            .send()
            .await
            .expect("put");
        assert_eq!(response.status(), 201);
    }
    let over = app
        .client
        .put(format!("{}/v1/buckets/photos/styles/s50", app.base))
        .basic_auth(ACCESS_KEY, Some(SECRET_KEY))
        .json(&json!({ "process": "image/resize,w_10" }))
        .send()
        .await
        .expect("put");
    assert_eq!(over.status(), 400);
    let body: Value = over.json().await.expect("json");
    assert_eq!(body["code"], "TooManyStyles");
    app.stop().await;
}

#[tokio::test]
async fn an_upload_matching_a_rule_starts_a_job() {
    let app = spawn_app().await;
    let rule = app
        .client
        .post(format!("{}/v1/buckets/photos/rules", app.base))
        .basic_auth(ACCESS_KEY, Some(SECRET_KEY))
        .json(&json!({
            "prefix": "incoming/", "suffix": ".jpg",
            "process": format!("image/resize,w_64|sys/saveas,o_{},b_{}", b64("rule-out.jpg"), b64("results")),
        }))
        .send()
        .await
        .expect("rule");
    assert_eq!(rule.status(), 201);
    let bad_rule = app
        .client
        .post(format!("{}/v1/buckets/photos/rules", app.base))
        .basic_auth(ACCESS_KEY, Some(SECRET_KEY))
        .json(&json!({ "prefix": "x/", "process": "image/resize,w_0" }))
        .send()
        .await
        .expect("rule");
    assert_eq!(bad_rule.status(), 400);

    let upload = |key: &str| {
        app.client
            .put(format!("{}/v1/buckets/photos/objects/{key}", app.base))
            .basic_auth(ACCESS_KEY, Some(SECRET_KEY))
            .body(fixture("gopher-640x427.jpg"))
            .send()
    };
    let unmatched = upload("other/g.jpg").await.expect("upload");
    assert_eq!(unmatched.status(), 200);
    assert!(unmatched.headers().get("x-ferrotype-job-id").is_none());
    let matched = upload("incoming/g.jpg").await.expect("upload");
    assert_eq!(matched.status(), 200);
    let id = matched
        .headers()
        .get("x-ferrotype-job-id")
        .expect("job id header")
        .to_str()
        .expect("text")
        .to_string();
    let job = app.wait_for_end(&id).await;
    assert_eq!(job["code"], 0, "{job}");
    let out = std::fs::read(app.object_path("results", "rule-out.jpg")).expect("target");
    assert_eq!(width(&out), 64);
    app.stop().await;
}

fn pfop_body() -> String {
    format!(
        "bucket=photos&key=g.jpg&fops=imageMogr2%2Fthumbnail%2F50x%7Csaveas%2F{}",
        b64("results:pf.jpg").replace('=', "%3D")
    )
}

#[tokio::test]
async fn qiniu_qbox_and_v2_signatures_are_verified() {
    let app = spawn_app().await;
    app.place("photos", "g.jpg", &fixture("gopher-640x427.jpg"));
    let body = pfop_body();
    let form = "application/x-www-form-urlencoded";
    let qbox = qiniu::sign_qbox(SECRET_KEY, "/pfop", Some(form), body.as_bytes());
    let response = app
        .client
        .post(format!("{}/pfop", app.base))
        .header("content-type", form)
        .header("authorization", format!("QBox {ACCESS_KEY}:{qbox}"))
        .body(body.clone())
        .send()
        .await
        .expect("pfop");
    assert_eq!(response.status(), 200);
    assert!(response.headers().get("x-reqid").is_some());
    let id: Value = response.json().await.expect("json");
    let id = id["persistentId"].as_str().expect("id").to_string();
    assert_eq!(app.wait_for_end(&id).await["code"], 0);

    let host = app.base.trim_start_matches("http://").to_string();
    let v2_pfop = |date: String| {
        let v2 = qiniu::sign_qiniu_v2(
            SECRET_KEY,
            &qiniu::V2Request {
                method: "POST",
                path_and_query: "/pfop/",
                host: &host,
                content_type: Some(form),
                qiniu_headers: vec![("X-Qiniu-Date".into(), date.clone())],
                body: body.as_bytes(),
            },
        );
        app.client
            .post(format!("{}/pfop/", app.base))
            .header("content-type", form)
            .header("x-qiniu-date", date)
            .header("authorization", format!("Qiniu {ACCESS_KEY}:{v2}"))
            .body(body.clone())
            .send()
    };
    let stamp = |time: chrono::DateTime<chrono::Utc>| time.format("%Y%m%dT%H%M%SZ").to_string();
    // A signed X-Qiniu-Date an hour old is refused: a captured request cannot be replayed.
    let stale = v2_pfop(stamp(chrono::Utc::now() - chrono::Duration::hours(1)));
    assert_eq!(stale.await.expect("pfop").status(), 401);
    let response = v2_pfop(stamp(chrono::Utc::now())).await.expect("pfop");
    assert_eq!(response.status(), 200);

    let response = app
        .client
        .post(format!("{}/pfop", app.base))
        .header("content-type", form)
        .header("authorization", format!("QBox {ACCESS_KEY}:{qbox}"))
        .body(format!("{body}&force=1"))
        .send()
        .await
        .expect("pfop");
    assert_eq!(response.status(), 401);
    assert!(response.headers().get("x-reqid").is_some());
    let error: Value = response.json().await.expect("json");
    assert_eq!(error, json!({ "error": "bad token" }));
    app.stop().await;
}

#[tokio::test]
async fn oss_v1_signatures_and_dates_are_verified() {
    let app = spawn_app().await;
    app.place("photos", "dir/g.jpg", &fixture("gopher-640x427.jpg"));
    let get = |date: String, secret: &'static str| {
        let mut headers = axum::http::HeaderMap::new();
        headers.insert("date", date.parse().expect("header"));
        let text = oss::string_to_sign(
            "GET",
            &headers,
            &oss::canonical_resource("photos", "dir/g.jpg", &[]),
        );
        let signature = oss::sign(secret, &text);
        app.client
            .get(format!("{}/photos/dir%2Fg.jpg", app.base))
            .header("date", date)
            .header("authorization", format!("OSS {ACCESS_KEY}:{signature}"))
            .send()
    };
    let now = httpdate::fmt_http_date(std::time::SystemTime::now());
    let ok = get(now.clone(), SECRET_KEY).await.expect("get");
    assert_eq!(ok.status(), 200);
    assert!(ok.headers().get("x-oss-request-id").is_some());
    assert_eq!(
        ok.bytes().await.expect("body"),
        fixture("gopher-640x427.jpg")
    );

    let wrong = get(now, "another-secret").await.expect("get");
    assert_eq!(wrong.status(), 403);
    assert!(wrong.headers().get("x-oss-request-id").is_some());
    let text = wrong.text().await.expect("body");
    assert!(
        text.contains("<Code>SignatureDoesNotMatch</Code>"),
        "{text}"
    );

    let old = httpdate::fmt_http_date(
        std::time::SystemTime::now() - std::time::Duration::from_secs(16 * 60),
    );
    let stale = get(old, SECRET_KEY).await.expect("get");
    assert_eq!(stale.status(), 403);
    assert!(stale
        .text()
        .await
        .expect("body")
        .contains("RequestTimeTooSkewed"));
    app.stop().await;
}

#[tokio::test]
async fn key_revocations_and_grants_take_effect_at_once_in_every_process() {
    let app = spawn_app().await;
    app.place("photos", "g.jpg", &fixture("gopher-640x427.jpg"));
    app.place("albums", "g.jpg", &fixture("gopher-640x427.jpg"));
    let ledger = &app.services().ledger;
    for name in ["revoked-here", "changed-elsewhere"] {
        let key = jobs::ledger::AccessKey {
            access_key: name.to_string(),
            secret_key: format!("{name}-secret"),
            grants: vec![jobs::credentials::parse_grant("photos:rw").expect("grant")],
        };
        ledger.create_key(&key).await.expect("key");
    }
    let submit = |name: &'static str, bucket: &'static str| {
        app.client
            .post(format!("{}/v1/jobs", app.base))
            .basic_auth(name, Some(format!("{name}-secret")))
            .json(&json!({"bucket": bucket, "key": "g.jpg", "fops": ["imageMogr2/thumbnail/64x"]}))
            .send()
    };
    let status = |name, bucket| async move { submit(name, bucket).await.expect("post").status() };
    assert_eq!(status("revoked-here", "photos").await, 202);
    assert_eq!(status("changed-elsewhere", "photos").await, 202);
    assert_eq!(status("changed-elsewhere", "albums").await, 403);
    let listed = ferrotype::keys::list(ledger).await.expect("list");
    assert!(listed.contains(r#""grants":["photos:rw"]"#), "{listed}");
    assert!(
        !listed.contains("-secret"),
        "secrets are never listed: {listed}"
    );

    ferrotype::keys::revoke(ledger, "revoked-here")
        .await
        .expect("revoke");
    assert_eq!(status("revoked-here", "photos").await, 401);
    // Another process (its own ledger handle and key cache) grants, then revokes: the API
    // sees each well within the cache's time to live.
    let elsewhere = jobs::Ledger::connect(&app.services().config.database_url)
        .await
        .expect("ledger");
    let within = |expected: u16, bucket: &'static str| async move {
        let started = std::time::Instant::now();
        while status("changed-elsewhere", bucket).await != expected {
            assert!(
                started.elapsed() < std::time::Duration::from_secs(2),
                "not at once"
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    };
    let albums = ["albums:rw".to_string()];
    ferrotype::keys::grant(&elsewhere, "changed-elsewhere", &albums)
        .await
        .expect("grant");
    within(202, "albums").await;
    ferrotype::keys::revoke(&elsewhere, "changed-elsewhere")
        .await
        .expect("revoke");
    within(401, "photos").await;
    let unknown = ferrotype::keys::revoke(ledger, "revoked-here").await;
    assert!(unknown.is_err(), "revoking an unknown key is an error");
    app.stop().await;
}
