//! imageView2 end to end: the document's examples, every mode, and the output settings.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test crate: a panic is a failed test

use pipeline::codec::decode::{decode, jpeg_frame_marker};
use pipeline::parse::qiniu::parse_fops;
use pipeline::{run_one, ErrorCode, ImageFormat, Limits, Rendered, Resources};

fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/../fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|error| panic!("{path}: {error}"))
}

fn render_with(
    fops: &str,
    source: &[u8],
    limits: &Limits,
) -> Result<Rendered, pipeline::PipelineError> {
    let commands = parse_fops(fops).unwrap_or_else(|error| panic!("{fops}: {error}"));
    run_one(&commands[0].pipeline, source, &Resources::new(limits))
}

fn render(fops: &str, source: &[u8]) -> Rendered {
    render_with(fops, source, &Limits::default()).unwrap_or_else(|error| panic!("{fops}: {error}"))
}

#[test]
fn the_documents_examples_and_every_mode_on_the_gopher() {
    let source = fixture("gopher-640x427.jpg");
    let table = [
        // 裁剪正中部分，等比缩小生成200x200缩略图.
        ("imageView2/1/w/200/h/200", (200, 200)),
        // 宽度固定为200px，高度等比缩小，生成200x133缩略图.
        ("imageView2/2/w/200", (200, 133)),
        // 高度固定为200px，宽度等比缩小，生成300x200缩略图.
        ("imageView2/2/h/200", (300, 200)),
        ("imageView2/0/w/200/h/100", (150, 100)),
        ("imageView2/3/w/200/h/100", (200, 133)),
        ("imageView2/4/w/300/h/100", (300, 200)),
        ("imageView2/5/w/200/h/100", (200, 100)),
        // Never enlarges.
        ("imageView2/2/w/1000", (640, 427)),
        ("imageView2/1/w/1000/h/1000", (640, 427)),
    ];
    for (fops, size) in table {
        let rendered = render(fops, &source);
        assert_eq!((rendered.width, rendered.height), size, "{fops}");
        let decoded = decode(&rendered.bytes, &Limits::default()).unwrap();
        assert_eq!(decoded.raster.dimensions(), size, "{fops}");
    }
}

#[test]
fn format_interlace_and_quality() {
    let source = fixture("gopher-640x427.jpg");
    let png = render("imageView2/2/w/100/format/png", &source);
    assert_eq!(png.format, ImageFormat::Png);
    let progressive = render("imageView2/2/w/100/interlace/1", &source);
    assert_eq!(jpeg_frame_marker(&progressive.bytes), Some(0xC2));
    // q/50! is exactly 50; q/50 on a shrink is min(50, correction) = 50 as well.
    assert_eq!(
        render("imageView2/2/w/100/q/50", &source).bytes,
        render("imageView2/2/w/100/q/50!", &source).bytes
    );
    assert_ne!(
        render("imageView2/2/w/100/q/50!", &source).bytes,
        render("imageView2/2/w/100/q/90!", &source).bytes
    );
}

#[test]
fn ignore_error_returns_the_source_when_processing_fails() {
    let source = fixture("gopher-640x427.jpg");
    let tight = Limits {
        max_pixels: 1_000,
        ..Limits::default()
    };
    let error = render_with("imageView2/2/w/100", &source, &tight).unwrap_err();
    assert_eq!(error.code, ErrorCode::ImageTooLarge);
    let rendered = render_with("imageView2/2/w/100/ignore-error/1", &source, &tight).unwrap();
    assert_eq!(rendered.bytes, source);
    assert_eq!((rendered.width, rendered.height), (640, 427));
    // Bytes that are no image at all still fail: there is nothing to give back.
    let garbage = fixture("garbage.jpg");
    assert!(render_with(
        "imageView2/2/w/100/ignore-error/1",
        &garbage,
        &Limits::default()
    )
    .is_err());
}

#[test]
fn image_info_and_exif_are_json_documents_about_the_source() {
    let source = fixture("gopher-640x427.jpg");
    let info = render("imageInfo", &source);
    assert_eq!(info.content, pipeline::Content::Json);
    assert_eq!(
        (info.mime(), info.extension()),
        ("application/json", "json")
    );
    let document: serde_json::Value = serde_json::from_slice(&info.bytes).unwrap();
    assert_eq!(
        document,
        serde_json::json!({
            "format": "jpeg",
            "width": 640,
            "height": 427,
            "colorModel": "ycbcr",
            "size": source.len(),
        })
    );
    let gif = fixture("anim-100x80.gif");
    let document: serde_json::Value =
        serde_json::from_slice(&render("imageinfo", &gif).bytes).unwrap();
    assert_eq!(document["format"], "gif");
    assert_eq!(document["colorModel"], "palette");
    assert!(document["frameNumber"].as_u64().unwrap() >= 2, "{document}");
    let png: serde_json::Value =
        serde_json::from_slice(&render("imageInfo", &fixture("alpha-300x200.png")).bytes).unwrap();
    assert_eq!(png["colorModel"], "nrgba");
    assert!(png.get("frameNumber").is_none());

    // The gopher carries no EXIF; an Orientation-only APP1 gives one field.
    let error = render_with("exif", &source, &Limits::default()).unwrap_err();
    assert_eq!(error.code, ErrorCode::BadRequest);
    let mut tiff = b"Exif\0\0MM\0\x2a\0\0\0\x08\0\x01".to_vec();
    tiff.extend_from_slice(&[0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 6, 0, 0, 0, 0, 0, 0]);
    let length = u16::try_from(tiff.len() + 2).unwrap().to_be_bytes();
    let mut with_exif = vec![0xFF, 0xD8, 0xFF, 0xE1, length[0], length[1]];
    with_exif.extend_from_slice(&tiff);
    with_exif.extend_from_slice(&source[2..]);
    let exif: serde_json::Value =
        serde_json::from_slice(&render("exif", &with_exif).bytes).unwrap();
    assert_eq!(exif["Orientation"]["type"], 3);
    assert!(exif["Orientation"]["val"].is_string(), "{exif}");
}
