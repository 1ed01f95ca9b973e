//! OSS adjustment and document actions end to end (`blur`, `bright`, `contrast`, `sharpen`,
//! `info`, `average-hue`), the output rules of section 2.5 (`format`, `interlace`, `quality`)
//! and the one-level rule for animations, on the fixtures and on images built here.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test crate: a panic is a failed test

use pipeline::codec::decode::{decode, jpeg_frame_marker};
use pipeline::codec::encode::{encode, EncodeOptions};
use pipeline::codec::{PixelLayout, Raster};
use pipeline::parse::oss::parse_process;
use pipeline::parse::qiniu::parse_fops;
use pipeline::resources::Deadline;
use pipeline::{
    run_one, Content, ErrorCode, ImageFormat, Limits, NoStyles, PipelineError, Rendered, Resources,
    Rgb,
};
use serde_json::{json, Value};

fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/../fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|error| panic!("{path}: {error}"))
}

fn try_oss(process: &str, source: &[u8]) -> Result<Rendered, PipelineError> {
    let command = parse_process(process, &NoStyles)?;
    run_one(
        &command.pipeline,
        source,
        &Resources::new(&Limits::default()),
    )
}

fn oss(process: &str, source: &[u8]) -> Rendered {
    try_oss(process, source).unwrap_or_else(|error| panic!("{process}: {error}"))
}

fn pixels(rendered: &Rendered) -> Raster {
    decode(&rendered.bytes, &Limits::default())
        .unwrap_or_else(|error| panic!("{error}"))
        .raster
}

fn document(rendered: &Rendered) -> Value {
    assert_eq!(rendered.content, Content::Json);
    assert_eq!(rendered.mime(), "application/json");
    serde_json::from_slice(&rendered.bytes).unwrap()
}

/// The mean of every colour channel of every pixel.
fn mean_level(raster: &Raster) -> f64 {
    let channels = raster.layout().bytes_per_pixel();
    let values: Vec<f64> = raster
        .data()
        .chunks_exact(channels)
        .flat_map(|pixel| pixel.iter().take(3).map(|&value| f64::from(value)))
        .collect();
    values.iter().sum::<f64>() / values.len() as f64
}

/// The mean absolute difference between horizontal neighbours: how much fine detail there is.
fn detail(raster: &Raster) -> f64 {
    let (width, height) = raster.dimensions();
    let mut total = 0.0;
    let mut count = 0.0;
    for y in 0..height {
        for x in 1..width {
            let left = raster.pixel(x - 1, y).unwrap();
            let right = raster.pixel(x, y).unwrap();
            total += (f64::from(left[1]) - f64::from(right[1])).abs();
            count += 1.0;
        }
    }
    total / count
}

fn png_of(raster: &Raster) -> Vec<u8> {
    let options = EncodeOptions {
        quality: 90,
        progressive: false,
        deadline: Deadline::default(),
        carried: &pipeline::metadata::Carried::default(),
    };
    encode(raster, ImageFormat::Png, &options).unwrap()
}

fn solid(width: u32, height: u32, layout: PixelLayout, colour: Rgb) -> Raster {
    Raster::filled(width, height, layout, colour)
}

#[test]
fn blur_takes_r_and_s_from_1_to_50_and_softens() {
    let source = fixture("small-400x300.png");
    // The vendor's example: "对图片进行半径为10，标准差为10的模糊处理 r_10,s_10".
    let table = [
        ("image/blur,r_10,s_10", "image/format,png"),
        ("image/blur,r_3,s_2", "image/format,png"),
        ("image/resize,w_200/blur,r_3,s_2", "image/resize,w_200"),
    ];
    for (process, without_blur) in table {
        let plain = pixels(&oss(without_blur, &source));
        let blurred = pixels(&oss(process, &source));
        assert_eq!(blurred.dimensions(), plain.dimensions(), "{process}");
        assert!(detail(&blurred) < detail(&plain), "{process}");
    }
    let errors = [
        (
            "image/blur,r_3",
            ErrorCode::MissingArgument,
            "blur: s (the standard deviation, 1-50) is required",
        ),
        (
            "image/blur,s_3",
            ErrorCode::MissingArgument,
            "blur: r (the radius, 1-50) is required",
        ),
        (
            "image/blur",
            ErrorCode::MissingArgument,
            "blur: r (the radius, 1-50) is required",
        ),
        (
            "image/blur,r_0,s_2",
            ErrorCode::InvalidArgument,
            "blur: r_0 is out of range 1-50",
        ),
        (
            "image/blur,r_51,s_2",
            ErrorCode::InvalidArgument,
            "blur: r_51 is out of range 1-50",
        ),
        (
            "image/blur,r_3,s_51",
            ErrorCode::InvalidArgument,
            "blur: s_51 is out of range 1-50",
        ),
        // OSS takes whole numbers; the decimal sigma is Qiniu's, in the canonical form only.
        (
            "image/blur,r_3,s_1.5",
            ErrorCode::InvalidArgument,
            "blur: s_1.5 is not a whole number",
        ),
        (
            "image/blur,r_3,s_2,g_face",
            ErrorCode::InvalidArgument,
            "blur: unknown parameter g_face",
        ),
    ];
    for (process, code, message) in errors {
        let error = parse_process(process, &NoStyles).unwrap_err();
        assert_eq!(
            (error.code, error.message.as_str()),
            (code, message),
            "{process}"
        );
    }
}

#[test]
fn bright_and_contrast_follow_their_curves() {
    let grey = png_of(&solid(
        40,
        30,
        PixelLayout::Rgb8,
        Rgb {
            r: 128,
            g: 128,
            b: 128,
        },
    ));
    // (process, level every channel of the grey image ends at)
    let table = [
        ("image/bright,0", 128),
        ("image/bright,50", 255),
        ("image/bright,10", 154),
        ("image/bright,-50", 1),
        ("image/bright,-10", 103),
        ("image/contrast,0", 128),
        ("image/contrast,100", 255),
        ("image/contrast,-100", 128),
        ("image/contrast,50", 129),
    ];
    for (process, level) in table {
        let result = pixels(&oss(process, &grey));
        assert_eq!(
            result.pixel(20, 15),
            Some(&[level, level, level][..]),
            "{process}"
        );
    }
    // On the photo: lighter is lighter, darker is darker, 0 changes nothing (PNG is lossless).
    let source = fixture("small-400x300.png");
    let original = pixels(&oss("image/format,png", &source));
    assert_eq!(pixels(&oss("image/bright,0", &source)), original);
    assert_eq!(pixels(&oss("image/contrast,0", &source)), original);
    assert!(mean_level(&pixels(&oss("image/bright,50", &source))) > mean_level(&original) + 40.0);
    assert!(mean_level(&pixels(&oss("image/bright,-50", &source))) < mean_level(&original) - 40.0);
    // Less contrast pulls every channel towards mid-grey: at -100 the picture is flat 128.
    let flat = pixels(&oss("image/contrast,-100", &source));
    assert!(flat.data().iter().all(|&value| value == 128));
    assert!(detail(&pixels(&oss("image/contrast,-50", &source))) < detail(&original));
    assert!(detail(&pixels(&oss("image/contrast,50", &source))) > detail(&original));
    // Transparency is kept.
    let alpha = fixture("alpha-300x200.png");
    let lighter = pixels(&oss("image/bright,30", &alpha));
    assert_eq!(lighter.pixel(2, 2).map(|pixel| pixel[3]), Some(0));
}

#[test]
fn bright_and_contrast_refuse_values_out_of_range() {
    let errors = [
        (
            "image/bright,101",
            ErrorCode::InvalidArgument,
            "bright: 101 is out of range -100 to 100",
        ),
        (
            "image/bright,-101",
            ErrorCode::InvalidArgument,
            "bright: -101 is out of range -100 to 100",
        ),
        (
            "image/bright,abc",
            ErrorCode::InvalidArgument,
            "bright: 'abc' is not a whole number",
        ),
        (
            "image/bright",
            ErrorCode::MissingArgument,
            "bright: a value is required (bright,<value>)",
        ),
        (
            "image/bright,1,2",
            ErrorCode::InvalidArgument,
            "bright: takes one value, got '1,2'",
        ),
        (
            "image/contrast,-150",
            ErrorCode::InvalidArgument,
            "contrast: -150 is out of range -100 to 100",
        ),
        (
            "image/contrast",
            ErrorCode::MissingArgument,
            "contrast: a value is required (contrast,<value>)",
        ),
    ];
    for (process, code, message) in errors {
        let error = parse_process(process, &NoStyles).unwrap_err();
        assert_eq!(
            (error.code, error.message.as_str()),
            (code, message),
            "{process}"
        );
    }
}

#[test]
fn sharpen_from_50_to_399_adds_detail_in_both_dialects() {
    let source = fixture("gopher-640x427.jpg");
    // The vendor's examples: "image/sharpen,100" and "image/resize,w_200/sharpen,100".
    let resized = oss("image/resize,w_200/format,png", &source);
    let sharpened = oss("image/resize,w_200/sharpen,100/format,png", &source);
    assert_eq!((sharpened.width, sharpened.height), (200, 133));
    assert!(detail(&pixels(&sharpened)) > detail(&pixels(&resized)));
    let stronger = oss("image/resize,w_200/sharpen,399/format,png", &source);
    assert!(detail(&pixels(&stronger)) > detail(&pixels(&sharpened)));
    assert_eq!(oss("image/sharpen,100", &source).format, ImageFormat::Jpeg);

    // Qiniu sharpen/1 is OSS sharpen,100; sharpen/0 is no step.
    let qiniu = parse_fops("imageMogr2/thumbnail/200x/sharpen/1/format/png").unwrap();
    let rendered = run_one(
        &qiniu[0].pipeline,
        &source,
        &Resources::new(&Limits::default()),
    )
    .unwrap();
    assert_eq!(pixels(&rendered), pixels(&sharpened));
    let off = parse_fops("imageMogr2/thumbnail/200x/sharpen/0").unwrap();
    assert_eq!(off[0].pipeline.steps.len(), 1);

    // The vendor's error example: "image/sharpen,10 ... 不在sharpen参数的取值范围[50,399]内".
    let error = parse_process("image/sharpen,10", &NoStyles).unwrap_err();
    assert_eq!(
        (error.code, error.message.as_str()),
        (
            ErrorCode::InvalidArgument,
            "sharpen: 10 is out of range 50-399"
        )
    );
    let error = parse_process("image/sharpen,400", &NoStyles).unwrap_err();
    assert_eq!(error.code, ErrorCode::InvalidArgument);
}

/// A little-endian TIFF block with three IFD0 fields: Make "Canon", XResolution 96/1,
/// ResolutionUnit 2 (inch).
fn camera_exif() -> Vec<u8> {
    let mut tiff = b"II*\0\x08\0\0\0".to_vec();
    tiff.extend_from_slice(&3u16.to_le_bytes());
    // Entries (tag, type, count, value or offset); the data area starts at 8 + 2 + 36 + 4 = 50.
    for (tag, kind, count, value) in [
        (0x010Fu16, 2u16, 6u32, 50u32),
        (0x011A, 5, 1, 56),
        (0x0128, 3, 1, 2),
    ] {
        tiff.extend_from_slice(&tag.to_le_bytes());
        tiff.extend_from_slice(&kind.to_le_bytes());
        tiff.extend_from_slice(&count.to_le_bytes());
        tiff.extend_from_slice(&value.to_le_bytes());
    }
    tiff.extend_from_slice(&0u32.to_le_bytes());
    tiff.extend_from_slice(b"Canon\0");
    tiff.extend_from_slice(&96u32.to_le_bytes());
    tiff.extend_from_slice(&1u32.to_le_bytes());
    tiff
}

/// The gopher with an APP1 holding `tiff` as its EXIF.
fn gopher_with_tiff(tiff: &[u8]) -> Vec<u8> {
    let source = fixture("gopher-640x427.jpg");
    let mut app1 = b"Exif\0\0".to_vec();
    app1.extend_from_slice(tiff);
    let length = u16::try_from(app1.len() + 2).unwrap().to_be_bytes();
    let mut with_exif = vec![0xFF, 0xD8, 0xFF, 0xE1, length[0], length[1]];
    with_exif.extend_from_slice(&app1);
    with_exif.extend_from_slice(&source[2..]);
    with_exif
}

/// The gopher with an APP1 holding one EXIF field, orientation 6 (big-endian TIFF).
fn gopher_with_exif() -> Vec<u8> {
    let source = fixture("gopher-640x427.jpg");
    let mut app1 = b"Exif\0\0MM\0\x2a\0\0\0\x08\0\x01".to_vec();
    app1.extend_from_slice(&[0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 6, 0, 0, 0, 0, 0, 0]);
    let length = u16::try_from(app1.len() + 2).unwrap().to_be_bytes();
    let mut with_exif = vec![0xFF, 0xD8, 0xFF, 0xE1, length[0], length[1]];
    with_exif.extend_from_slice(&app1);
    with_exif.extend_from_slice(&source[2..]);
    with_exif
}

#[test]
fn info_reports_size_format_frames_dimensions_and_exif() {
    let gopher = fixture("gopher-640x427.jpg");
    let info = document(&oss("image/info", &gopher));
    // The shape of the vendor's example for a JPEG without EXIF: JFIF density 1:1, no unit.
    assert_eq!(
        info,
        json!({
            "FileSize": {"value": gopher.len().to_string()},
            "Format": {"value": "jpg"},
            "FrameCount": {"value": "1"},
            "ImageHeight": {"value": "427"},
            "ImageWidth": {"value": "640"},
            "ResolutionUnit": {"value": "1"},
            "XResolution": {"value": "1/1"},
            "YResolution": {"value": "1/1"},
        })
    );
    // Members come in name order, as in the vendor's example.
    let text = String::from_utf8(oss("image/info", &gopher).bytes).unwrap();
    assert!(text.starts_with(r#"{"FileSize":{"value":""#), "{text}");

    let with_exif = gopher_with_exif();
    let info = document(&oss("image/info", &with_exif));
    assert_eq!(info["Orientation"], json!({"value": "6"}));
    assert_eq!(
        info["FileSize"],
        json!({"value": with_exif.len().to_string()})
    );
    assert_eq!(info["ImageWidth"], json!({"value": "640"}));

    // Text, rationals and numbers as the vendor's example writes them; EXIF resolution wins
    // over the JFIF density.
    let info = document(&oss("image/info", &gopher_with_tiff(&camera_exif())));
    assert_eq!(info["Make"], json!({"value": "Canon"}));
    assert_eq!(info["XResolution"], json!({"value": "96/1"}));
    assert_eq!(info["ResolutionUnit"], json!({"value": "2"}));
    assert!(info.get("YResolution").is_none(), "{info}");

    let gif = document(&oss("image/info", &fixture("anim-100x80.gif")));
    assert_eq!(gif["Format"], json!({"value": "gif"}));
    assert_eq!(gif["FrameCount"], json!({"value": "4"}));
    assert_eq!(gif["ImageWidth"], json!({"value": "100"}));
    let png = document(&oss("image/info", &fixture("alpha-300x200.png")));
    assert_eq!(png["Format"], json!({"value": "png"}));
    assert_eq!(png["ImageHeight"], json!({"value": "200"}));
    assert!(png.get("XResolution").is_none(), "{png}");
    for (name, format) in [
        ("tiny.webp", "webp"),
        ("tiny.bmp", "bmp"),
        ("tiny.tiff", "tiff"),
    ] {
        let info = document(&oss("image/info", &fixture(name)));
        assert_eq!(info["Format"], json!({ "value": format }), "{name}");
        assert_eq!(info["ImageWidth"], json!({"value": "32"}), "{name}");
    }

    // "info操作不能和其他处理操作同时使用。例如：您不能使用image/resize,s_700,limit_0/info".
    for process in [
        "image/resize,s_700,limit_0/info",
        "image/info/format,png",
        "image/info/average-hue",
    ] {
        let error = parse_process(process, &NoStyles).unwrap_err();
        assert_eq!(error.code, ErrorCode::InvalidArgument, "{process}");
        assert!(
            error.message.contains("cannot be combined"),
            "{process}: {error}"
        );
    }
    let error = parse_process("image/info,1", &NoStyles).unwrap_err();
    assert_eq!(error.message, "info: takes no parameters, got '1'");
}

#[test]
fn average_hue_is_the_mean_colour_as_0xrrggbb() {
    // Half (187, 205, 127), half (185, 203, 125): the mean is the vendor's example colour.
    let mut raster = solid(
        10,
        4,
        PixelLayout::Rgb8,
        Rgb {
            r: 187,
            g: 205,
            b: 127,
        },
    );
    let lower = solid(
        10,
        2,
        PixelLayout::Rgb8,
        Rgb {
            r: 185,
            g: 203,
            b: 125,
        },
    );
    raster.paste(&lower, 0, 2).unwrap();
    let rendered = oss("image/average-hue", &png_of(&raster));
    assert_eq!(rendered.content, Content::Json);
    assert_eq!(
        String::from_utf8(rendered.bytes).unwrap(),
        r#"{"RGB":"0xbacc7e"}"#
    );

    let green = png_of(&solid(
        3,
        3,
        PixelLayout::Rgb8,
        Rgb {
            r: 92,
            g: 120,
            b: 59,
        },
    ));
    assert_eq!(
        document(&oss("image/average-hue", &green)),
        json!({"RGB": "0x5c783b"})
    );

    // Transparent pixels lend no colour.
    let mut mixed = solid(4, 2, PixelLayout::Rgba8, Rgb { r: 0, g: 0, b: 255 });
    let red = solid(4, 1, PixelLayout::Rgba8, Rgb { r: 255, g: 0, b: 0 });
    mixed.paste(&red, 0, 1).unwrap();
    for x in 0..4 {
        let start = (4 + x) * 4 + 3;
        mixed.data_mut()[start] = 0;
    }
    assert_eq!(
        document(&oss("image/average-hue", &png_of(&mixed))),
        json!({"RGB": "0x0000ff"})
    );

    // On the photo: some colour, and the same for every spelling of the source.
    let photo = document(&oss("image/average-hue", &fixture("gopher-640x427.jpg")));
    let text = photo["RGB"].as_str().unwrap();
    assert!(text.len() == 8 && text.starts_with("0x"), "{text}");
    assert!(document(&oss("image/average-hue", &fixture("anim-100x80.gif")))["RGB"].is_string());

    let error = parse_process("image/resize,w_10/average-hue", &NoStyles).unwrap_err();
    assert_eq!(error.code, ErrorCode::InvalidArgument);
}

#[test]
fn an_animation_takes_one_action_and_other_outputs_take_any() {
    let gif = fixture("anim-100x80.gif");
    let frames = |rendered: &Rendered| {
        let info = document(&oss("image/info", &rendered.bytes));
        info["FrameCount"]["value"].as_str().unwrap().to_string()
    };
    // One action, applied to every frame.
    for process in [
        "image/resize,w_50",
        "image/bright,30",
        "image/contrast,-30",
        "image/sharpen,100",
        "image/blur,r_2,s_2",
        "image/resize,w_50/format,gif/quality,Q_80",
    ] {
        let rendered = oss(process, &gif);
        assert_eq!(rendered.format, ImageFormat::Gif, "{process}");
        assert_eq!(frames(&rendered), "4", "{process}");
    }
    // "只支持一级处理。如不能在缩略操作后直接进行图片裁剪".
    for process in [
        "image/resize,w_50/bright,10",
        "image/sharpen,100/resize,w_50/contrast,5",
    ] {
        let error = try_oss(process, &gif).unwrap_err();
        assert_eq!(error.code, ErrorCode::BadRequest, "{process}");
        assert!(
            error.message.contains("one processing action"),
            "{process}: {error}"
        );
    }
    // "将一张gif图片保存后成动态webp格式": image/resize,w_200/format,webp (w_50 here: the
    // fixture is 100 px wide and resize does not enlarge by default).
    let webp = oss("image/resize,w_50/format,webp", &gif);
    assert_eq!(
        (webp.format, webp.width, webp.height),
        (ImageFormat::Webp, 50, 40)
    );
    let animation_frames = webp
        .bytes
        .windows(4)
        .filter(|window| *window == b"ANMF")
        .count();
    assert_eq!(animation_frames, 4);
    assert_eq!(pixels(&webp).dimensions(), (50, 40));
    let error = try_oss("image/resize,w_50/bright,10/format,webp", &gif).unwrap_err();
    assert_eq!(error.code, ErrorCode::BadRequest);
    // Written to another format, the first frame is a still picture: any number of steps.
    let still = oss("image/resize,w_50/bright,10/format,png", &gif);
    assert_eq!(
        (still.format, still.width, still.height),
        (ImageFormat::Png, 50, 40)
    );
    // "将一张 gif 图片保存后成 jpeg 格式".
    let jpeg = oss("image/format,jpg", &gif);
    assert_eq!(
        (jpeg.format, jpeg.width, jpeg.height),
        (ImageFormat::Jpeg, 100, 80)
    );
    // Qiniu has no such rule: every step runs on each frame.
    let commands = parse_fops("imageMogr2/thumbnail/50x/sharpen/1").unwrap();
    let rendered = run_one(
        &commands[0].pipeline,
        &gif,
        &Resources::new(&Limits::default()),
    )
    .unwrap();
    assert_eq!((rendered.format, rendered.width), (ImageFormat::Gif, 50));
    assert_eq!(frames(&rendered), "4");
}

#[test]
fn format_fills_transparency_with_white_for_jpg_from_png_webp_and_bmp() {
    // "如果原图是 png、webp、bmp 存在透明通道，默认会把透明填充成白色".
    let mut raster = solid(16, 8, PixelLayout::Rgba8, Rgb { r: 0, g: 0, b: 200 });
    for pixel in raster.data_mut().chunks_exact_mut(4).take(16 * 4) {
        pixel[3] = 0;
    }
    let options = EncodeOptions {
        quality: 100,
        progressive: false,
        deadline: Deadline::default(),
        carried: &pipeline::metadata::Carried::default(),
    };
    for format in [ImageFormat::Png, ImageFormat::Webp, ImageFormat::Bmp] {
        let source = encode(&raster, format, &options).unwrap();
        let jpeg = oss("image/format,jpg", &source);
        assert_eq!(jpeg.format, ImageFormat::Jpeg, "{format}");
        let result = pixels(&jpeg);
        let top = result.pixel(8, 1).unwrap();
        assert!(top.iter().all(|&value| value >= 245), "{format}: {top:?}");
        let bottom = result.pixel(8, 6).unwrap();
        assert!(bottom[2] > 150 && bottom[0] < 60, "{format}: {bottom:?}");
        // Formats with alpha keep it.
        let kept = pixels(&oss("image/format,png", &source));
        assert_eq!(kept.pixel(8, 1).map(|pixel| pixel[3]), Some(0), "{format}");
    }
}

#[test]
fn interlace_matters_for_jpg_only() {
    // "将 png 格式的图片保存成渐进显示的 jpg 格式": image/format,jpg/interlace,1.
    let png = fixture("small-400x300.png");
    let progressive = oss("image/format,jpg/interlace,1", &png);
    assert_eq!(jpeg_frame_marker(&progressive.bytes), Some(0xC2));
    let baseline = oss("image/format,jpg/interlace,0", &png);
    assert_eq!(jpeg_frame_marker(&baseline.bytes), Some(0xC0));
    // Default: "默认是保存成标准型的 jpg (Baseline JPEG)".
    assert_eq!(
        jpeg_frame_marker(&oss("image/format,jpg", &png).bytes),
        Some(0xC0)
    );
    // "此参数只有当效果图是 jpg 格式时才有意义": elsewhere it is accepted and changes nothing.
    let still_png = oss("image/format,png/interlace,1", &png);
    assert_eq!(still_png.format, ImageFormat::Png);
    assert_eq!(pixels(&still_png), pixels(&oss("image/format,png", &png)));
}

#[test]
fn quality_rules_of_the_document() {
    let gopher = fixture("gopher-640x427.jpg");
    // Q wins over q ("如果同时指定了 q 和 Q，按 Q 来处理").
    assert_eq!(
        oss("image/quality,q_50,Q_70", &gopher).bytes,
        oss("image/quality,Q_70", &gopher).bytes
    );
    // The document's examples: resize to 100w_100h at relative 80 / absolute 80.
    let relative = oss("image/resize,w_100,h_100/quality,q_80", &gopher);
    let absolute = oss("image/resize,w_100,h_100/quality,Q_68", &gopher);
    // 80% of the gopher's 85 is 68.
    assert_eq!(relative.bytes, absolute.bytes);
    // "如果原图质量小于指定数字，则不压缩": Q_100 on an 85 source stays at 85.
    assert_eq!(
        oss("image/quality,Q_100", &gopher).bytes,
        oss("image/quality,Q_85", &gopher).bytes
    );
    // "如果原图为 webp，那么相对质量就相当于绝对质量".
    let webp = fixture("tiny.webp");
    assert_eq!(
        oss("image/quality,q_30", &webp).bytes,
        oss("image/quality,Q_30", &webp).bytes
    );
    // "只能在保存格式为 jpg/webp 效果上使用": a WebP result follows the quality too.
    let png = fixture("small-400x300.png");
    let low = oss("image/format,webp/quality,Q_20", &png).bytes.len();
    let high = oss("image/format,webp/quality,Q_95", &png).bytes.len();
    assert!(low < high, "{low} vs {high}");
    // Other formats are lossless and ignore it.
    assert_eq!(
        oss("image/format,png/quality,Q_20", &png).bytes,
        oss("image/format,png", &png).bytes
    );
}

#[test]
fn canonical_forms_of_the_new_actions() {
    let table = [
        ("image/blur,s_2,r_3", "image/blur,r_3,s_2"),
        ("image/bright,-5/contrast,20", "image/bright,-5/contrast,20"),
        (
            "image/resize,w_200/sharpen,100",
            "image/resize,w_200/sharpen,100",
        ),
        ("image/info", "image/info"),
        ("image/average-hue", "image/average-hue"),
    ];
    for (process, canonical) in table {
        let command = parse_process(process, &NoStyles).unwrap();
        assert_eq!(command.pipeline.to_string(), canonical, "{process}");
    }
    let qiniu = parse_fops("imageMogr2/thumbnail/200x/sharpen/1").unwrap();
    assert_eq!(
        qiniu[0].pipeline.to_string(),
        "image/resize,w_200,limit_0/sharpen,100/quality,adaptive_75/animation,multi-step"
    );
}
