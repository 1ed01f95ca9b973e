//! End-to-end: Qiniu commands beyond thumbnails, through the API, the queue and a worker.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test crate: a panic is a failed test

mod common;

use common::{b64, dimensions, fixture, spawn_app};
use serde_json::{json, Value};

#[tokio::test]
async fn two_semicolon_joined_commands_each_save_to_their_own_target() {
    let app = spawn_app().await;
    app.place("photos", "gopher.jpg", &fixture("gopher-640x427.jpg"));
    let fops = format!(
        "imageMogr2/crop/300x|saveas/{};imageView2/1/w/100/h/100|saveas/{}",
        b64("results:crop.jpg"),
        b64("results:square.jpg")
    );
    let id = app
        .submit(json!({"bucket": "photos", "key": "gopher.jpg", "fops": [fops]}))
        .await;
    let job = app.wait_for_end(&id).await;
    assert_eq!(job["code"], 0, "{job}");
    let items = job["items"].as_array().expect("items");
    assert_eq!(items.len(), 2, "{job}");
    assert_eq!(items[0]["key"], "crop.jpg");
    assert_eq!(
        (items[0]["width"].clone(), items[0]["height"].clone()),
        (json!(300), json!(427))
    );
    assert_eq!(items[1]["key"], "square.jpg");
    let crop = std::fs::read(app.object_path("results", "crop.jpg")).expect("target 1");
    assert_eq!(dimensions(&crop), (300, 427));
    let square = std::fs::read(app.object_path("results", "square.jpg")).expect("target 2");
    assert_eq!(dimensions(&square), (100, 100));
    app.stop().await;
}

#[tokio::test]
async fn image_info_saves_a_json_document() {
    let app = spawn_app().await;
    let source = fixture("gopher-640x427.jpg");
    app.place("photos", "gopher.jpg", &source);
    let id = app
        .submit(json!({
            "bucket": "photos",
            "key": "gopher.jpg",
            "fops": [format!("imageInfo|saveas/{}", b64("results:gopher.json"))],
        }))
        .await;
    let job = app.wait_for_end(&id).await;
    assert_eq!(job["code"], 0, "{job}");
    assert_eq!(job["items"][0]["format"], "json", "{job}");
    let saved = std::fs::read(app.object_path("results", "gopher.json")).expect("target");
    let document: Value = serde_json::from_slice(&saved).expect("json");
    assert_eq!(document["width"], 640);
    assert_eq!(document["height"], 427);
    assert_eq!(document["format"], "jpeg");
    assert_eq!(document["size"], source.len());
    app.stop().await;
}

#[tokio::test]
async fn a_watermark_image_in_a_bucket_the_key_may_not_read_is_refused() {
    let app = spawn_app().await;
    app.place("photos", "gopher.jpg", &fixture("gopher-640x427.jpg"));
    app.place("private", "logo.png", &fixture("alpha-300x200.png"));
    let fops = format!(
        "watermark/1/image/{}|saveas/{}",
        b64("private:logo.png"),
        b64("results:leak.jpg")
    );
    let response = app
        .post_job(json!({"bucket": "photos", "key": "gopher.jpg", "fops": [fops]}))
        .await;
    assert_eq!(response.status(), 403);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["code"], "AccessDenied", "{body}");
    assert!(!app.object_path("results", "leak.jpg").exists());
    app.stop().await;
}

#[tokio::test]
async fn an_image_watermark_is_read_from_a_bucket() {
    let app = spawn_app().await;
    app.place("photos", "gopher.jpg", &fixture("gopher-640x427.jpg"));
    // The test key may read "readonly" (a watermark image is read with the submitter's rights).
    app.place("readonly", "logo.png", &fixture("alpha-300x200.png"));
    let fops = format!(
        "watermark/1/image/{}/dissolve/80/gravity/SouthEast|saveas/{};\
         watermark/1/image/{}|saveas/{}",
        b64("readonly:logo.png"),
        b64("results:marked.jpg"),
        b64("readonly:missing.png"),
        b64("results:never.jpg")
    );
    let id = app
        .submit(json!({"bucket": "photos", "key": "gopher.jpg", "fops": [fops]}))
        .await;
    let job = app.wait_for_end(&id).await;
    let items = job["items"].as_array().expect("items");
    assert_eq!(items[0]["code"], 0, "{job}");
    let marked = std::fs::read(app.object_path("results", "marked.jpg")).expect("target");
    assert_eq!(dimensions(&marked), (640, 427));
    assert_ne!(items[1]["code"], 0, "{job}");
    assert!(
        items[1]["error"]
            .as_str()
            .unwrap_or_default()
            .contains("watermark"),
        "{job}"
    );
    app.stop().await;
}
