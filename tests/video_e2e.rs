//! End-to-end: frames of a video source (OSS `video/snapshot`, Qiniu `vframe`) and the OSS
//! old API (`@...`), through the jobs API, the queue, a worker and ffmpeg.
//!
//! The fixture `clip-160x120.mp4` is red for 0-1 s, green for 1-2 s and blue for 2-3 s.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test crate: a panic is a failed test

mod common;

use common::{b64, decode_rgb, fixture, spawn_app};
use serde_json::json;

#[tokio::test]
async fn an_oss_snapshot_saves_the_frame_at_the_time() {
    let app = spawn_app().await;
    app.place("photos", "clip.mp4", &fixture("clip-160x120.mp4"));
    let id = app
        .submit(json!({
            "bucket": "photos",
            "key": "clip.mp4",
            "process": format!(
                "video/snapshot,t_1500,f_jpg,w_80,h_0|sys/saveas,o_{},b_{}",
                b64("frame.jpg"),
                b64("results")
            ),
        }))
        .await;
    let job = app.wait_for_end(&id).await;
    assert_eq!(job["code"], 0, "{job}");
    assert_eq!(job["items"][0]["format"], "jpg", "{job}");
    let frame =
        decode_rgb(&std::fs::read(app.object_path("results", "frame.jpg")).expect("target"));
    assert_eq!(frame.dimensions(), (80, 60));
    let [r, g, b] = frame.get_pixel(40, 30).0;
    assert!(
        g > 200 && r < 60 && b < 60,
        "green at 1.5 s, got {r},{g},{b}"
    );

    // Past the end of the video: OSS's range is [0, duration].
    let id = app
        .submit(json!({
            "bucket": "photos",
            "key": "clip.mp4",
            "process": format!("video/snapshot,t_9000,f_png|sys/saveas,o_{}", b64("late.png")),
        }))
        .await;
    let job = app.wait_for_end(&id).await;
    let item = &job["items"][0];
    assert_eq!(item["error_code"], "InvalidArgument", "{job}");
    assert!(
        item["error"]
            .as_str()
            .unwrap_or_default()
            .contains("t_9000"),
        "{job}"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_qiniu_vframe_saves_a_frame_and_chains_image_steps() {
    let app = spawn_app().await;
    app.place("photos", "clip.mp4", &fixture("clip-160x120.mp4"));
    let fops = format!(
        "vframe/png/offset/2.5/w/100/h/50/rotate/90|saveas/{};\
         vframe/jpg/offset/60|imageMogr2/thumbnail/!50p|saveas/{};\
         vframe/jpg/offset/1|saveas/{}",
        b64("results:rotated.png"),
        b64("results:last.jpg"),
        b64("results:from-image.jpg"),
    );
    let id = app
        .submit(json!({"bucket": "photos", "key": "clip.mp4", "fops": [fops]}))
        .await;
    let job = app.wait_for_end(&id).await;
    let items = job["items"].as_array().expect("items");
    assert_eq!(items[0]["code"], 0, "{job}");
    let rotated =
        decode_rgb(&std::fs::read(app.object_path("results", "rotated.png")).expect("target 1"));
    assert_eq!(rotated.dimensions(), (50, 100));
    assert_eq!(rotated.get_pixel(25, 50).0, [0, 0, 254], "blue at 2.5 s");
    // Past the end: Qiniu gives the last frame.
    assert_eq!(items[1]["code"], 0, "{job}");
    let last =
        decode_rgb(&std::fs::read(app.object_path("results", "last.jpg")).expect("target 2"));
    assert_eq!(last.dimensions(), (80, 60));
    let [r, g, b] = last.get_pixel(40, 30).0;
    assert!(
        b > 200 && r < 60 && g < 60,
        "the last frame is blue, got {r},{g},{b}"
    );
    assert_eq!(items[2]["code"], 0, "{job}");

    // vframe on an image source: ffmpeg reads no video from it.
    app.place("photos", "broken.mp4", b"not a video at all");
    let id = app
        .submit(json!({
            "bucket": "photos",
            "key": "broken.mp4",
            "fops": [format!("vframe/jpg/offset/1|saveas/{}", b64("results:never.jpg"))],
        }))
        .await;
    let job = app.wait_for_end(&id).await;
    assert_eq!(job["items"][0]["error_code"], "DecodeFailed", "{job}");
    app.stop().await;
}

#[tokio::test]
async fn an_oss_old_api_string_is_a_job() {
    let app = spawn_app().await;
    app.place("photos", "gopher.jpg", &fixture("gopher-640x427.jpg"));
    let id = app
        .submit(json!({
            "bucket": "photos",
            "key": "gopher.jpg",
            "process": format!(
                "@100w_100h_1e_1c|90r_90Q.png|sys/saveas,o_{},b_{}",
                b64("old.png"),
                b64("results")
            ),
        }))
        .await;
    let job = app.wait_for_end(&id).await;
    assert_eq!(job["code"], 0, "{job}");
    let old = decode_rgb(&std::fs::read(app.object_path("results", "old.png")).expect("target"));
    assert_eq!(old.dimensions(), (100, 100));
    assert_eq!(job["items"][0]["format"], "png", "{job}");

    // More than 4 parts: TooManyPipe, refused at submit.
    let response = app
        .post_job(json!({
            "bucket": "photos",
            "key": "gopher.jpg",
            "process": format!("@1w|2w|3w|4w|5w|sys/saveas,o_{}", b64("x.jpg")),
        }))
        .await;
    assert_eq!(response.status(), 400);
    let body = response.text().await.expect("body");
    assert!(body.contains("TooManyPipe"), "{body}");
    app.stop().await;
}
