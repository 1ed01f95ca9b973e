//! The imageMogr2 document's examples, run end to end on a 640x427 gopher like its own.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test crate: a panic is a failed test

use pipeline::codec::decode::decode;
use pipeline::ops::quality::{Quality, QualityContext};
use pipeline::parse::qiniu::parse_fops;
use pipeline::{run_one, ImageFormat, Limits, Rendered, Resources};

fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/../fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|error| panic!("{path}: {error}"))
}

fn render(fops: &str, source: &[u8]) -> Rendered {
    let commands = parse_fops(fops).unwrap_or_else(|error| panic!("{fops}: {error}"));
    run_one(
        &commands[0].pipeline,
        source,
        &Resources::new(&Limits::default()),
    )
    .unwrap_or_else(|error| panic!("{fops}: {error}"))
}

fn size_of(fops: &str) -> (u32, u32) {
    let rendered = render(fops, &fixture("gopher-640x427.jpg"));
    let decoded = decode(&rendered.bytes, &Limits::default()).unwrap();
    assert_eq!(
        decoded.raster.dimensions(),
        (rendered.width, rendered.height),
        "{fops}"
    );
    (rendered.width, rendered.height)
}

#[test]
fn the_documents_thumbnail_and_crop_examples() {
    let table = [
        ("imageMogr2/thumbnail/!75p", (480, 320)),
        ("imageMogr2/thumbnail/!75px", (480, 427)),
        ("imageMogr2/thumbnail/!x75p", (640, 320)),
        ("imageMogr2/thumbnail/700x", (700, 467)),
        ("imageMogr2/thumbnail/x467", (700, 467)),
        ("imageMogr2/thumbnail/300x300", (300, 200)),
        ("imageMogr2/thumbnail/!200x200r", (300, 200)),
        ("imageMogr2/thumbnail/200x300!", (200, 300)),
        ("imageMogr2/thumbnail/200x300>", (200, 133)),
        ("imageMogr2/thumbnail/700x600<", (700, 467)),
        ("imageMogr2/thumbnail/350000@", (724, 483)),
        ("imageMogr2/crop/300x", (300, 427)),
        ("imageMogr2/crop/x200", (640, 200)),
        ("imageMogr2/crop/300x300", (300, 300)),
        ("imageMogr2/crop/!300x300a30a100", (300, 300)),
        ("imageMogr2/crop/!300x300a30-100", (300, 200)),
        ("imageMogr2/crop/!300x300-30a100", (270, 300)),
        ("imageMogr2/crop/!300x300-30-100", (270, 200)),
        // The raw ImageMagick spellings, once URL-decoded.
        ("imageMogr2/thumbnail/75%25", (480, 320)),
        ("imageMogr2/thumbnail/75%25x", (480, 427)),
        ("imageMogr2/thumbnail/x75%25", (640, 320)),
        ("imageMogr2/thumbnail/200x200%5E", (300, 200)),
        ("imageMogr2/crop/300x300+30-100", (300, 200)),
        // Chained: thumbnail then crop, and the reverse.
        ("imageMogr2/thumbnail/x300/crop/300x300", (300, 300)),
        ("imageMogr2/crop/400x/thumbnail/200x", (200, 214)),
        ("imageMogr2/rotate/90", (427, 640)),
        ("imageMogr2/rotate/45", (754, 754)),
        ("imageMogr2/rotate/360", (640, 427)),
        ("imageMogr2/blur/3x5", (640, 427)),
    ];
    for (fops, size) in table {
        assert_eq!(size_of(fops), size, "{fops}");
    }
    // "生成图的像素总数小于指定值".
    let (width, height) = size_of("imageMogr2/thumbnail/350000@");
    assert!(width * height <= 350_000);
}

#[test]
fn each_gravity_moves_the_crop_origin() {
    let source = fixture("gopher-640x427.jpg");
    // Crops of a PNG are lossless, so pixels can be compared with the source's.
    let original = decode(
        &render("imageMogr2/format/png", &source).bytes,
        &Limits::default(),
    )
    .unwrap()
    .raster;
    let table = [
        ("NorthWest", (0, 0)),
        ("North", (170, 0)),
        ("NorthEast", (340, 0)),
        ("West", (0, 63)),
        ("Center", (170, 63)),
        ("East", (340, 63)),
        ("SouthWest", (0, 127)),
        ("South", (170, 127)),
        ("SouthEast", (340, 127)),
    ];
    for (gravity, (x, y)) in table {
        let fops = format!("imageMogr2/gravity/{gravity}/crop/300x300/format/png");
        let cropped = decode(&render(&fops, &source).bytes, &Limits::default())
            .unwrap()
            .raster;
        assert_eq!(cropped.dimensions(), (300, 300), "{gravity}");
        for (px, py) in [(0, 0), (299, 0), (150, 150), (0, 299), (299, 299)] {
            assert_eq!(
                cropped.pixel(px, py),
                original.pixel(x + px, y + py),
                "{gravity} at ({px}, {py})"
            );
        }
    }
    // Offsets count from the gravity's origin; gravity only affects the crops after it.
    let shifted = decode(
        &render(
            "imageMogr2/gravity/SouthEast/crop/!100x100-10-20/format/png",
            &source,
        )
        .bytes,
        &Limits::default(),
    )
    .unwrap()
    .raster;
    assert_eq!(shifted.pixel(0, 0), original.pixel(530, 307));
    let before = decode(
        &render(
            "imageMogr2/crop/100x100/gravity/SouthEast/format/png",
            &source,
        )
        .bytes,
        &Limits::default(),
    )
    .unwrap()
    .raster;
    assert_eq!(before.pixel(0, 0), original.pixel(0, 0));
}

#[test]
fn quality_correction_values() {
    // The gopher was saved at quality 85.
    let context = |output: (u64, u64)| QualityContext {
        source_quality: Some(85),
        source_pixels: 640 * 427,
        output_pixels: output.0 * output.1,
    };
    let table = [
        // min(90, 85 * sqrt(273280 / 60000)) = 90: shrinking raises the cap.
        (Quality::Adaptive(100), (300, 200), 90),
        (Quality::Adaptive(75), (300, 200), 75),
        // Same size: the cap is the source's 85.
        (Quality::Adaptive(100), (640, 427), 85),
        // Enlarged to 700x467: 85 * sqrt(273280 / 326900) = 77.7 -> 78.
        (Quality::Adaptive(80), (700, 467), 78),
        (Quality::Forced(100), (700, 467), 100),
    ];
    for (quality, output, expected) in table {
        assert_eq!(
            quality.resolve(&context(output)),
            expected,
            "{quality:?} {output:?}"
        );
    }
    // Above 90 the correction is off: the value is taken as given.
    let fine = QualityContext {
        source_quality: Some(95),
        ..context((700, 467))
    };
    assert_eq!(Quality::Adaptive(93).resolve(&fine), 93);

    // End to end: the corrected value and the forced one give the same bytes, and a command
    // without quality is encoded at Qiniu's default 75.
    let source = fixture("gopher-640x427.jpg");
    let same = |a: &str, b: &str| {
        assert_eq!(
            render(a, &source).bytes,
            render(b, &source).bytes,
            "{a} vs {b}"
        );
    };
    same(
        "imageMogr2/thumbnail/700x/quality/80",
        "imageMogr2/thumbnail/700x/quality/78!",
    );
    same(
        "imageMogr2/thumbnail/300x",
        "imageMogr2/thumbnail/300x/quality/75!",
    );
}

#[test]
fn rotation_fills_white_for_jpeg_and_transparent_for_png() {
    let source = fixture("gopher-640x427.jpg");
    let jpeg = render("imageMogr2/rotate/45", &source);
    assert_eq!(jpeg.format, ImageFormat::Jpeg);
    let corner = decode(&jpeg.bytes, &Limits::default()).unwrap().raster;
    assert!(corner.pixel(1, 1).unwrap().iter().all(|&value| value > 245));
    let png = render("imageMogr2/rotate/45/format/png", &source);
    let corner = decode(&png.bytes, &Limits::default()).unwrap().raster;
    assert_eq!(corner.pixel(1, 1), Some(&[0, 0, 0, 0][..]));
}

/// The gopher with an EXIF APP1 segment holding only an Orientation tag.
fn gopher_with_orientation(orientation: u8) -> Vec<u8> {
    let source = fixture("gopher-640x427.jpg");
    let mut tiff = b"Exif\0\0MM\0\x2a\0\0\0\x08\0\x01".to_vec();
    tiff.extend_from_slice(&[0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, orientation, 0, 0]);
    tiff.extend_from_slice(&[0, 0, 0, 0]);
    let length = u16::try_from(tiff.len() + 2).unwrap().to_be_bytes();
    let mut bytes = vec![0xFF, 0xD8, 0xFF, 0xE1, length[0], length[1]];
    bytes.extend_from_slice(&tiff);
    bytes.extend_from_slice(&source[2..]);
    bytes
}

#[test]
fn auto_orient_turns_the_image_upright_and_nothing_else_does() {
    let rotated = gopher_with_orientation(6);
    assert_eq!(pipeline::probe(&rotated).unwrap().orientation, 6);
    let upright = render("imageMogr2/auto-orient", &rotated);
    assert_eq!((upright.width, upright.height), (427, 640));
    let upright = render("imageMogr2/auto-orient/thumbnail/x320", &rotated);
    assert_eq!((upright.width, upright.height), (214, 320));
    let kept = render("imageMogr2/thumbnail/x320", &rotated);
    assert_eq!((kept.width, kept.height), (480, 320));
    let plain = render("imageMogr2/auto-orient", &fixture("gopher-640x427.jpg"));
    assert_eq!((plain.width, plain.height), (640, 427));
}

#[test]
fn size_limit_lowers_the_quality_until_the_result_fits() {
    let source = fixture("gopher-640x427.jpg");
    let free = render("imageMogr2/quality/90!", &source);
    let limited = render("imageMogr2/quality/90!/size-limit/15k", &source);
    assert!(free.bytes.len() > 15 * 1024, "{}", free.bytes.len());
    assert!(limited.bytes.len() <= 15 * 1024, "{}", limited.bytes.len());
    assert_eq!((limited.width, limited.height), (640, 427));
    // $(fsize): never larger than the source.
    let fsize = render("imageMogr2/quality/100!/size-limit/$(fsize)", &source);
    assert!(fsize.bytes.len() <= source.len());
    // PNG: ignored without !, and with ! the source comes back when nothing fits.
    let png = render("imageMogr2/format/png/size-limit/1k", &source);
    assert_eq!(png.format, ImageFormat::Png);
    let forced = render("imageMogr2/format/png/size-limit/1k!", &source);
    assert_eq!(forced.bytes, source);
    assert_eq!(forced.format, ImageFormat::Jpeg);
}
