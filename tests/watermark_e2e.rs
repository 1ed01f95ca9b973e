//! End-to-end: OSS and Qiniu watermarks (an image from the source's bucket, texts drawn with
//! the installed fonts) through the jobs API, the queue and a worker.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test crate: a panic is a failed test

mod common;

use common::{b64, decode_rgb, fixture, spawn_app};
use serde_json::json;

/// The bounding box (x0, y0, x1, y1) of the pixels that differ between two images.
fn changed_box(before: &image::RgbImage, after: &image::RgbImage) -> Option<(u32, u32, u32, u32)> {
    let mut found: Option<(u32, u32, u32, u32)> = None;
    for (x, y, pixel) in before.enumerate_pixels() {
        if after.get_pixel(x, y) != pixel {
            found = Some(match found {
                None => (x, y, x, y),
                Some((x0, y0, x1, y1)) => (x0.min(x), y0.min(y), x1.max(x), y1.max(y)),
            });
        }
    }
    found
}

#[tokio::test]
async fn an_oss_pipeline_with_an_image_and_a_text_watermark_marks_the_south_east_corner_only() {
    let app = spawn_app().await;
    app.place("photos", "gopher.jpg", &fixture("gopher-640x427.jpg"));
    // The mark image lives in the source's bucket, scaled to 20 % of the main image (P_20).
    app.place("photos", "logo.png", &fixture("small-400x300.png"));
    let logo = b64("logo.png?x-oss-process=image/resize,P_20");
    let text = b64("Ferrotype 图片服务");
    let plain = app
        .submit(json!({
            "bucket": "photos",
            "key": "gopher.jpg",
            "process": format!("image/format,png|sys/saveas,o_{},b_{}", b64("plain.png"), b64("results")),
        }))
        .await;
    let marked = app
        .submit(json!({
            "bucket": "photos",
            "key": "gopher.jpg",
            "process": format!(
                "image/watermark,image_{logo},t_90,g_se,x_10,y_60\
                 /watermark,text_{text},type_d3F5LXplbmhlaQ,size_24,color_FFFFFF,shadow_50,g_se,x_10,y_10\
                 /format,png|sys/saveas,o_{},b_{}",
                b64("marked.png"),
                b64("results")
            ),
        }))
        .await;
    for id in [&plain, &marked] {
        let job = app.wait_for_end(id).await;
        assert_eq!(job["code"], 0, "{job}");
    }
    let plain = decode_rgb(&std::fs::read(app.object_path("results", "plain.png")).expect("plain"));
    let marked =
        decode_rgb(&std::fs::read(app.object_path("results", "marked.png")).expect("marked"));
    assert_eq!(marked.dimensions(), (640, 427));
    let (x0, y0, x1, y1) = changed_box(&plain, &marked).expect("the marks changed pixels");
    // The logo is fitted into 128x85 (20 % of 640x427) and sits 10 px from the right, 60 px
    // from the bottom; the text is below it. Nothing outside the south-east corner changes.
    assert!(x0 >= 320 && y0 >= 213, "changes start at ({x0}, {y0})");
    assert!(x1 <= 629 && y1 <= 416, "changes end at ({x1}, {y1})");
    assert!(x0 <= 640 - 10 - 128, "the logo's left edge: {x0}");
    app.stop().await;
}

#[tokio::test]
async fn a_qiniu_text_watermark_is_drawn_and_a_missing_font_name_is_refused() {
    let app = spawn_app().await;
    app.place("photos", "gopher.jpg", &fixture("gopher-640x427.jpg"));
    let fops = format!(
        "watermark/2/text/{}/font/{}/fontsize/600/fill/{}/gravity/NorthWest|saveas/{}",
        b64("七牛云存储"),
        b64("宋体"),
        b64("#FF0000"),
        b64("results:text.jpg"),
    );
    let id = app
        .submit(json!({"bucket": "photos", "key": "gopher.jpg", "fops": [fops]}))
        .await;
    let job = app.wait_for_end(&id).await;
    assert_eq!(job["code"], 0, "{job}");
    let marked =
        decode_rgb(&std::fs::read(app.object_path("results", "text.jpg")).expect("target"));
    // 600 twips = 30 px of red text from (10, 10): some pixel there is clearly red.
    let red = (10..200)
        .flat_map(|x| (10..45).map(move |y| (x, y)))
        .any(|(x, y)| {
            let [r, g, b] = marked.get_pixel(x, y).0;
            r > 200 && g < 80 && b < 80
        });
    assert!(red, "no red text in the north-west corner");
    let response = app
        .post_job(json!({
            "bucket": "photos",
            "key": "gopher.jpg",
            "fops": [format!("watermark/2/text/{}/font/{}", b64("a"), b64("Comic Sans"))],
        }))
        .await;
    assert_eq!(response.status(), 400);
    app.stop().await;
}

/// Issue 4's outcome: one OSS pipeline using resize, crop, rotate, an image and a text
/// watermark, format and quality runs through the jobs API and is saved where saveas says.
#[tokio::test]
async fn an_oss_pipeline_using_every_kind_of_action_is_saved() {
    let app = spawn_app().await;
    app.place("photos", "gopher.jpg", &fixture("gopher-640x427.jpg"));
    app.place("photos", "logo.png", &fixture("alpha-300x200.png"));
    let logo = b64("logo.png?x-oss-process=image/resize,P_10/rotate,90");
    let text = b64("Ferrotype");
    // 640x427 -> resize w_400 -> 400x267 -> crop 300x200 from the centre -> rotate 90 -> 200x300.
    let process = format!(
        "image/resize,w_400/crop,w_300,h_200,g_center/rotate,90\
         /watermark,image_{logo},text_{text},size_20,color_FF0000,order_1,align_1,interval_5,g_se,x_5,y_5\
         /sharpen,100/bright,5/contrast,5/rounded-corners,r_12\
         /format,jpg/quality,Q_80/interlace,1|sys/saveas,o_{},b_{}",
        b64("every.jpg"),
        b64("results")
    );
    let id = app
        .submit(json!({"bucket": "photos", "key": "gopher.jpg", "process": process}))
        .await;
    let job = app.wait_for_end(&id).await;
    assert_eq!(job["code"], 0, "{job}");
    let item = &job["items"][0];
    assert_eq!(
        (&item["width"], &item["height"], &item["format"]),
        (&json!(200), &json!(300), &json!("jpg")),
        "{job}"
    );
    let saved = std::fs::read(app.object_path("results", "every.jpg")).expect("target");
    // Progressive JPEG (SOF2), and the rounded corner is JPEG's white fill.
    assert!(saved.windows(2).any(|marker| marker == [0xFF, 0xC2]));
    let picture = decode_rgb(&saved);
    assert_eq!(picture.dimensions(), (200, 300));
    let corner = picture.get_pixel(0, 0);
    assert!(corner.0.iter().all(|channel| *channel > 240), "{corner:?}");
    app.stop().await;
}
