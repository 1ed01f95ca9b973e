//! OSS `image/codes`: the QR codes and barcodes in a picture, their content and where they are.
//!
//! The answer follows IMM's `DetectImageCodes`, which the action is a front for ("二维码识别 ...
//! 输出图像中二维码或者条形码的位置框和其包含的文本信息"):
//!
//! ```text
//! {"Codes": [{"Content": "https://www.example.com", "Type": "qrcode",
//!             "Boundary": {"Left": 10, "Top": 30, "Width": 200, "Height": 300,
//!                          "Polygon": [{"X": 10, "Y": 30}, ...]}}]}
//! ```
//!
//! (the surface adds `RequestId`). Up to [`MAX_CODES`] codes, as the document allows ("单张图片
//! 最多识别5个二维码"), QR codes first, each group from the top of the picture down. `Type` is
//! `qrcode` or `barcode`, `Boundary` the axis-aligned rectangle around the code's `Polygon`,
//! in pixels of the picture as it is shown (its EXIF orientation applied). IMM's `Confidence`
//! is left out: neither decoder estimates one, and a code is reported only when it decodes
//! with its error correction or check digit intact.
//!
//! Engines: QR codes are found and read by `rqrr`, which gives the four corners of each code;
//! one-dimensional barcodes (EAN-13/8, UPC-A/E, Code 128, Code 39, Code 93, ITF, Codabar) by
//! `rxing`'s readers, which give the two ends of the row they read: the rectangle's height is
//! found by following the bars up and down from that row ([`bar_extent`]). Transparent pixels
//! are read as white, as a code printed on paper.

use crate::codec::{PixelLayout, Raster};
use crate::error::PipelineError;
use crate::limits::Limits;
use crate::ops::auto_orient::{transform, Transform};
use rqrr::BitGrid;
use rxing::common::HybridBinarizer;
use rxing::multi::{GenericMultipleBarcodeReader, MultipleBarcodeReader};
use rxing::oned::MultiFormatOneDReader;
use rxing::{BarcodeFormat, BinaryBitmap, DecodeHints, Luma8LuminanceSource, RXingResult};
use serde_json::{json, Value};
use std::collections::HashSet;

/// "单张图片最多识别5个二维码".
pub const MAX_CODES: usize = 5;

/// The one-dimensional symbologies read.
const BARCODE_FORMATS: [BarcodeFormat; 9] = [
    BarcodeFormat::EAN_13,
    BarcodeFormat::EAN_8,
    BarcodeFormat::UPC_A,
    BarcodeFormat::UPC_E,
    BarcodeFormat::CODE_128,
    BarcodeFormat::CODE_39,
    BarcodeFormat::CODE_93,
    BarcodeFormat::ITF,
    BarcodeFormat::CODABAR,
];

/// One code found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Code {
    pub content: String,
    pub kind: CodeKind,
    /// The code's outline, corner by corner, in picture pixels.
    pub polygon: Vec<(i64, i64)>,
}

/// What kind of code: IMM's `Type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeKind {
    QrCode,
    Barcode,
}

impl CodeKind {
    fn name(self) -> &'static str {
        match self {
            CodeKind::QrCode => "qrcode",
            CodeKind::Barcode => "barcode",
        }
    }
}

/// A picture in grey, one byte per pixel, row after row.
#[derive(Clone)]
pub struct Grey {
    pub width: usize,
    pub height: usize,
    pub pixels: Vec<u8>,
}

impl Grey {
    /// The luma of `raster` (BT.601 weights, as scanners use), transparency over white.
    pub fn of(raster: &Raster) -> Grey {
        let channels = raster.layout().bytes_per_pixel();
        let alpha = raster.layout() == PixelLayout::Rgba8;
        let pixels = raster
            .data()
            .chunks_exact(channels)
            .map(|pixel| {
                let [r, g, b] = [0, 1, 2].map(|i| u32::from(pixel.get(i).copied().unwrap_or(0)));
                let luma = (299 * r + 587 * g + 114 * b + 500) / 1000;
                if alpha {
                    let a = u32::from(pixel.get(3).copied().unwrap_or(255));
                    ((luma * a + 255 * (255 - a) + 127) / 255) as u8
                } else {
                    luma as u8
                }
            })
            .collect();
        Grey {
            width: raster.width() as usize,
            height: raster.height() as usize,
            pixels,
        }
    }

    /// Paints the rectangle around `polygon` white.
    fn whiten(&mut self, polygon: &[(i64, i64)]) {
        let clamp = |value: i64, size: usize| value.clamp(0, size as i64) as usize;
        let xs = polygon.iter().map(|p| clamp(p.0, self.width));
        let ys = polygon.iter().map(|p| clamp(p.1, self.height));
        let (left, right) = (xs.clone().min().unwrap_or(0), xs.max().unwrap_or(0));
        let (top, bottom) = (ys.clone().min().unwrap_or(0), ys.max().unwrap_or(0));
        for row in self
            .pixels
            .chunks_exact_mut(self.width.max(1))
            .take(bottom)
            .skip(top)
        {
            if let Some(span) = row.get_mut(left..right) {
                span.fill(255);
            }
        }
    }

    fn at(&self, x: i64, y: i64) -> Option<u8> {
        let (x, y) = (usize::try_from(x).ok()?, usize::try_from(y).ok()?);
        if x >= self.width {
            return None;
        }
        self.pixels
            .get(y.checked_mul(self.width)?.checked_add(x)?)
            .copied()
    }
}

/// The JSON answer for `source`: decoded within `limits`, oriented, and searched.
pub fn render(source: &[u8], limits: &Limits) -> Result<Value, PipelineError> {
    let decoded = crate::codec::decode::decode(source, limits)?;
    let upright = transform(&decoded.raster, Transform::from_exif(decoded.orientation));
    let codes = detect(&Grey::of(&upright));
    Ok(json!({ "Codes": codes.iter().map(|code| to_json(code, &upright)).collect::<Vec<_>>() }))
}

/// Every code in `grey`, QR codes first, at most [`MAX_CODES`].
pub fn detect(grey: &Grey) -> Vec<Code> {
    let mut codes = qr_codes(grey);
    if codes.len() < MAX_CODES {
        codes.extend(barcodes(grey));
    }
    let mut seen = HashSet::new();
    codes.retain(|code| seen.insert((code.kind.name(), code.content.clone(), top_left(code))));
    codes.truncate(MAX_CODES);
    codes
}

fn top_left(code: &Code) -> (i64, i64) {
    let top = code.polygon.iter().map(|p| p.1).min().unwrap_or(0);
    let left = code.polygon.iter().map(|p| p.0).min().unwrap_or(0);
    (top, left)
}

/// The QR codes `rqrr` finds and decodes (a grid that does not decode is not reported).
/// `rqrr` pairs finder patterns across codes that stand in a row and then misses some, so
/// the search runs again with the codes found so far painted over, until a pass finds
/// nothing new or [`MAX_CODES`] are found.
fn qr_codes(grey: &Grey) -> Vec<Code> {
    let mut codes: Vec<Code> = Vec::new();
    let mut page = None::<Grey>;
    while codes.len() < MAX_CODES {
        let found = qr_pass(page.as_ref().unwrap_or(grey));
        let before = codes.len();
        for code in found {
            if !codes.iter().any(|known| known.polygon == code.polygon) {
                codes.push(code);
            }
        }
        if codes.len() == before {
            break;
        }
        let painted = page.get_or_insert_with(|| grey.clone());
        for code in &codes[before..] {
            painted.whiten(&code.polygon);
        }
    }
    codes.sort_by_key(top_left);
    codes
}

/// One search of `grey` for QR codes.
fn qr_pass(grey: &Grey) -> Vec<Code> {
    let mut prepared =
        rqrr::PreparedImage::prepare_from_greyscale(grey.width, grey.height, |x, y| {
            grey.pixels.get(y * grey.width + x).copied().unwrap_or(255)
        });
    prepared
        .detect_grids()
        .into_iter()
        .filter_map(|grid| {
            let mut content = Vec::new();
            grid.decode_to(&mut content).ok()?;
            let corners = grid.bounds.map(|p| (f64::from(p.x), f64::from(p.y)));
            Some(Code {
                content: String::from_utf8_lossy(&content).into_owned(),
                kind: CodeKind::QrCode,
                polygon: code_corners(corners, grid.grid.size()),
            })
        })
        .collect()
}

/// The corners of a QR code of `modules` modules a side from the quadrilateral `rqrr`
/// reports (top-left, top-right, bottom-right, bottom-left), which reaches one module past
/// the code on the right and at the bottom: the points `modules / (modules + 1)` of the way
/// across it.
fn code_corners(bounds: [(f64, f64); 4], modules: usize) -> Vec<(i64, i64)> {
    let [top_left, top_right, bottom_right, bottom_left] = bounds;
    let n = modules as f64;
    let t = n / (n + 1.0);
    let at = |u: f64, v: f64| {
        let mix = |a: f64, b: f64, c: f64, d: f64| {
            (1.0 - v) * ((1.0 - u) * a + u * b) + v * ((1.0 - u) * d + u * c)
        };
        let x = mix(top_left.0, top_right.0, bottom_right.0, bottom_left.0);
        let y = mix(top_left.1, top_right.1, bottom_right.1, bottom_left.1);
        (x.round() as i64, y.round() as i64)
    };
    vec![at(0.0, 0.0), at(t, 0.0), at(t, t), at(0.0, t)]
}

/// The one-dimensional barcodes `rxing` reads, each widened to the bars' full height.
fn barcodes(grey: &Grey) -> Vec<Code> {
    let (Ok(width), Ok(height)) = (u32::try_from(grey.width), u32::try_from(grey.height)) else {
        return Vec::new();
    };
    let Ok(source) = Luma8LuminanceSource::new(grey.pixels.clone(), width, height) else {
        return Vec::new();
    };
    let hints = DecodeHints {
        TryHarder: Some(true),
        PossibleFormats: Some(BARCODE_FORMATS.into_iter().collect()),
        ..DecodeHints::default()
    };
    let mut reader = GenericMultipleBarcodeReader::new(MultiFormatOneDReader::new(&hints));
    let mut bitmap = BinaryBitmap::new(HybridBinarizer::new(source));
    // "Not found" is the answer for a picture without barcodes, not a failure.
    let results = reader
        .decode_multiple_with_hints(&mut bitmap, &hints)
        .unwrap_or_default();
    let mut codes: Vec<Code> = results
        .iter()
        .filter_map(|result| barcode(grey, result))
        .collect();
    codes.sort_by_key(top_left);
    codes
}

/// One barcode `result`: the row it was read on, grown to the rectangle its bars cover.
fn barcode(grey: &Grey, result: &RXingResult) -> Option<Code> {
    let points = result.getPoints();
    let (first, last) = (points.first()?, points.last()?);
    let ends = [
        (first.x.round() as i64, first.y.round() as i64),
        (last.x.round() as i64, last.y.round() as i64),
    ];
    Some(Code {
        content: result.getText().to_string(),
        kind: CodeKind::Barcode,
        polygon: bar_extent(grey, ends),
    })
}

/// The rectangle (four corners) of a barcode read along the segment `ends` (`rxing` gives the
/// centres of its start and stop patterns): the segment first stretched outward to the
/// outermost bars ([`to_outer_bars`]), then moved across the bars, one pixel at a time each
/// way, while at least 90% of its samples stay on the same side of the threshold as on the
/// row read. A barcode is read along a row or, rotated, along a column; the segment moves
/// perpendicular to it.
pub fn bar_extent(grey: &Grey, ends: [(i64, i64); 2]) -> Vec<(i64, i64)> {
    let values: Vec<u8> = line(ends)
        .iter()
        .filter_map(|&(x, y)| grey.at(x, y))
        .collect();
    let (Some(&low), Some(&high)) = (values.iter().min(), values.iter().max()) else {
        let [a, b] = ends;
        return vec![a, b, b, a];
    };
    let threshold = (u16::from(low) + u16::from(high)) / 2;
    let dark = |value: u8| u16::from(value) < threshold;
    let [(x0, y0), (x1, y1)] = to_outer_bars(grey, ends, &dark);
    let along_row = (x1 - x0).abs() >= (y1 - y0).abs();
    let samples = line([(x0, y0), (x1, y1)]);
    let reference: Vec<Option<bool>> = samples
        .iter()
        .map(|&(x, y)| grey.at(x, y).map(dark))
        .collect();
    let shifted = |offset: i64| -> bool {
        let moved = samples.iter().map(|&(x, y)| match along_row {
            true => grey.at(x, y + offset),
            false => grey.at(x + offset, y),
        });
        let agree = moved
            .zip(&reference)
            .filter(|(value, expected)| value.is_some() && value.map(dark) == **expected)
            .count();
        agree * 10 >= reference.len() * 9
    };
    let reach = |step: i64| {
        let mut offset = 0;
        while shifted(offset + step) {
            offset += step;
        }
        offset
    };
    let (before, after) = (reach(-1), reach(1));
    let shift = |(x, y): (i64, i64), by: i64| match along_row {
        true => (x, y + by),
        false => (x + by, y),
    };
    vec![
        shift((x0, y0), before),
        shift((x1, y1), before),
        shift((x1, y1), after),
        shift((x0, y0), after),
    ]
}

/// `ends` moved outward along their line to the last dark pixel before the quiet zone: a light
/// run longer than a fortieth of the segment (wider than any space inside a start or stop
/// pattern, narrower than the ten-module quiet zone), looked for up to an eighth of the
/// segment beyond each end.
fn to_outer_bars(grey: &Grey, ends: [(i64, i64); 2], dark: &dyn Fn(u8) -> bool) -> [(i64, i64); 2] {
    let [(x0, y0), (x1, y1)] = ends;
    let length = (x1 - x0).abs().max((y1 - y0).abs()).max(1);
    let (quiet, reach) = ((length / 40).max(2), (length / 8).max(4));
    let (dx, dy) = (
        (x1 - x0) as f64 / length as f64,
        (y1 - y0) as f64 / length as f64,
    );
    let outward = |(x, y): (i64, i64), sign: f64| {
        let mut last_dark = (x, y);
        let mut light = 0;
        for step in 1..=reach {
            let at = (
                x + (sign * dx * step as f64).round() as i64,
                y + (sign * dy * step as f64).round() as i64,
            );
            match grey.at(at.0, at.1) {
                Some(value) if dark(value) => (last_dark, light) = (at, 0),
                Some(_) => light += 1,
                None => break,
            }
            if light > quiet {
                break;
            }
        }
        last_dark
    };
    [outward((x0, y0), -1.0), outward((x1, y1), 1.0)]
}

/// The pixels of the segment `ends`, one per step of its longer axis.
fn line(ends: [(i64, i64); 2]) -> Vec<(i64, i64)> {
    let [(x0, y0), (x1, y1)] = ends;
    let steps = (x1 - x0).abs().max((y1 - y0).abs()).max(1);
    (0..=steps)
        .map(|step| {
            let at = |from: i64, to: i64| from + ((to - from) * step + steps / 2) / steps;
            (at(x0, x1), at(y0, y1))
        })
        .collect()
}

/// A code as IMM writes it, its rectangle clamped to the picture.
fn to_json(code: &Code, picture: &Raster) -> Value {
    let clamp_x = |x: i64| x.clamp(0, i64::from(picture.width()));
    let clamp_y = |y: i64| y.clamp(0, i64::from(picture.height()));
    let xs = code.polygon.iter().map(|p| clamp_x(p.0));
    let ys = code.polygon.iter().map(|p| clamp_y(p.1));
    let (left, right) = (xs.clone().min().unwrap_or(0), xs.max().unwrap_or(0));
    let (top, bottom) = (ys.clone().min().unwrap_or(0), ys.max().unwrap_or(0));
    let polygon: Vec<Value> = code
        .polygon
        .iter()
        .map(|&(x, y)| json!({ "X": clamp_x(x), "Y": clamp_y(y) }))
        .collect();
    json!({
        "Content": code.content,
        "Type": code.kind.name(),
        "Boundary": {
            "Left": left,
            "Top": top,
            "Width": right - left,
            "Height": bottom - top,
            "Polygon": polygon,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A white picture of `width` x `height`.
    fn white(width: usize, height: usize) -> Grey {
        Grey {
            width,
            height,
            pixels: vec![255; width * height],
        }
    }

    fn fill(grey: &mut Grey, (x, y): (usize, usize), (w, h): (usize, usize), value: u8) {
        for row in y..y + h {
            for column in x..x + w {
                if let Some(pixel) = grey.pixels.get_mut(row * grey.width + column) {
                    *pixel = value;
                }
            }
        }
    }

    /// Draws a QR code of `content` with its top-left module at `at`, `module` px per module;
    /// returns its side in pixels.
    fn draw_qr(grey: &mut Grey, content: &str, at: (usize, usize), module: usize) -> usize {
        let code = qrcode::QrCode::new(content.as_bytes()).unwrap();
        let side = code.width();
        for (index, colour) in code.to_colors().into_iter().enumerate() {
            if colour == qrcode::Color::Dark {
                let (column, row) = (index % side, index / side);
                let corner = (at.0 + column * module, at.1 + row * module);
                fill(grey, corner, (module, module), 0);
            }
        }
        side * module
    }

    /// EAN-13's digit patterns (L codes; G is R reversed, R is L inverted) and the parity
    /// of the left half chosen by the first digit.
    const EAN_L: [&str; 10] = [
        "0001101", "0011001", "0010011", "0111101", "0100011", "0110001", "0101111", "0111011",
        "0110111", "0001011",
    ];
    const EAN_PARITY: [&str; 10] = [
        "LLLLLL", "LLGLGG", "LLGGLG", "LLGGGL", "LGLLGG", "LGGLLG", "LGGGLL", "LGLGLG", "LGLGGL",
        "LGGLGL",
    ];

    /// The 95 modules of the EAN-13 `digits` (13 digits, check digit included).
    fn ean13_modules(digits: &str) -> String {
        let digit = |c: char| c.to_digit(10).unwrap() as usize;
        let invert = |pattern: &str| -> String {
            pattern
                .chars()
                .map(|c| if c == '0' { '1' } else { '0' })
                .collect()
        };
        let mut chars = digits.chars();
        let parity = EAN_PARITY[digit(chars.next().unwrap())];
        let mut modules = String::from("101");
        for (index, c) in chars.by_ref().take(6).enumerate() {
            let l = EAN_L[digit(c)];
            match parity.as_bytes()[index] {
                b'L' => modules.push_str(l),
                _ => modules.extend(invert(l).chars().rev()),
            }
        }
        modules.push_str("01010");
        for c in chars {
            modules.push_str(&invert(EAN_L[digit(c)]));
        }
        modules.push_str("101");
        modules
    }

    /// Draws an EAN-13 at `at`, bars `height` px high and `module` px wide; returns its width.
    fn draw_ean13(
        grey: &mut Grey,
        digits: &str,
        at: (usize, usize),
        module: usize,
        height: usize,
    ) -> usize {
        let modules = ean13_modules(digits);
        for (index, bar) in modules.chars().enumerate() {
            if bar == '1' {
                fill(grey, (at.0 + index * module, at.1), (module, height), 0);
            }
        }
        modules.len() * module
    }

    fn rectangle(code: &Code) -> (i64, i64, i64, i64) {
        let xs = code.polygon.iter().map(|p| p.0);
        let ys = code.polygon.iter().map(|p| p.1);
        let (left, top) = (xs.clone().min().unwrap(), ys.clone().min().unwrap());
        (left, top, xs.max().unwrap() - left, ys.max().unwrap() - top)
    }

    fn near(found: (i64, i64, i64, i64), drawn: (i64, i64, i64, i64), slack: i64) -> bool {
        let pairs = [
            (found.0, drawn.0),
            (found.1, drawn.1),
            (found.2, drawn.2),
            (found.3, drawn.3),
        ];
        pairs.iter().all(|(a, b)| (a - b).abs() <= slack)
    }

    #[test]
    fn a_qr_code_is_read_with_its_rectangle() {
        let cases = [
            ("https://www.example.com", (40, 60), 4),
            ("ferrotype", (0, 0), 3),
            ("二维码识别 UTF-8", (123, 7), 6),
            (
                "A long payload: 0123456789 0123456789 0123456789 0123456789",
                (30, 30),
                5,
            ),
        ];
        for (content, at, module) in cases {
            let mut grey = white(420, 400);
            let side = draw_qr(&mut grey, content, at, module) as i64;
            let codes = detect(&grey);
            assert_eq!(codes.len(), 1, "{content}");
            assert_eq!(codes[0].content, content);
            assert_eq!(codes[0].kind, CodeKind::QrCode);
            let drawn = (at.0 as i64, at.1 as i64, side, side);
            assert!(
                near(rectangle(&codes[0]), drawn, 2),
                "{content}: {:?} vs {drawn:?}",
                rectangle(&codes[0])
            );
        }
    }

    #[test]
    fn several_codes_come_top_down_and_at_most_five() {
        let mut grey = white(900, 900);
        let places = [
            (600, 20),
            (20, 20),
            (310, 320),
            (20, 620),
            (600, 620),
            (310, 20),
        ];
        for (index, at) in places.iter().enumerate() {
            draw_qr(&mut grey, &format!("code {index}"), *at, 4);
        }
        let codes = detect(&grey);
        assert_eq!(codes.len(), MAX_CODES);
        let tops: Vec<i64> = codes.iter().map(|code| rectangle(code).1).collect();
        assert!(tops.windows(2).all(|pair| pair[0] <= pair[1]), "{tops:?}");
        let contents: Vec<&str> = codes.iter().map(|code| code.content.as_str()).collect();
        assert_eq!(&contents[..3], ["code 1", "code 5", "code 0"]);
    }

    #[test]
    fn an_ean13_barcode_is_read_with_the_height_of_its_bars() {
        let cases = [
            ("4006381333931", (50, 40), 2, 80),
            ("9780201379624", (10, 100), 3, 120),
        ];
        for (digits, at, module, height) in cases {
            let mut grey = white(400, 300);
            let width = draw_ean13(&mut grey, digits, at, module, height) as i64;
            let codes = detect(&grey);
            assert_eq!(codes.len(), 1, "{digits}");
            assert_eq!(codes[0].content, digits);
            assert_eq!(codes[0].kind, CodeKind::Barcode);
            let drawn = (at.0 as i64, at.1 as i64, width, height as i64 - 1);
            assert!(
                near(rectangle(&codes[0]), drawn, 3),
                "{digits}: {:?} vs {drawn:?}",
                rectangle(&codes[0])
            );
        }
    }

    #[test]
    fn a_qr_code_and_a_barcode_together_qr_first() {
        let mut grey = white(500, 500);
        draw_ean13(&mut grey, "4006381333931", (40, 20), 2, 60);
        draw_qr(&mut grey, "below the barcode", (40, 200), 4);
        let codes = detect(&grey);
        let kinds: Vec<CodeKind> = codes.iter().map(|code| code.kind).collect();
        assert_eq!(kinds, [CodeKind::QrCode, CodeKind::Barcode]);
    }

    #[test]
    fn a_picture_without_codes_has_none() {
        let mut noise = white(300, 200);
        for (index, pixel) in noise.pixels.iter_mut().enumerate() {
            *pixel = ((index * 7919) % 251) as u8;
        }
        for grey in [white(64, 64), white(1, 1), noise] {
            assert!(detect(&grey).is_empty());
        }
    }

    #[test]
    fn transparency_reads_as_white_paper() {
        let mut grey = white(200, 200);
        draw_qr(&mut grey, "on glass", (20, 20), 5);
        // Black modules on transparent pixels that are black too: only alpha tells them apart.
        let data = grey
            .pixels
            .iter()
            .flat_map(|&value| {
                if value == 0 {
                    [0, 0, 0, 255]
                } else {
                    [0, 0, 0, 0]
                }
            })
            .collect();
        let raster = Raster::new(200, 200, PixelLayout::Rgba8, data).unwrap();
        let codes = detect(&Grey::of(&raster));
        assert_eq!(codes.len(), 1);
        assert_eq!(codes[0].content, "on glass");
    }

    fn encoded(grey: &Grey, format: crate::codec::ImageFormat) -> Vec<u8> {
        let data = grey.pixels.iter().flat_map(|&v| [v, v, v]).collect();
        let (width, height) = (grey.width as u32, grey.height as u32);
        let raster = Raster::new(width, height, PixelLayout::Rgb8, data).unwrap();
        let options = crate::codec::encode::EncodeOptions {
            quality: 95,
            progressive: false,
            deadline: crate::resources::Deadline::default(),
            carried: &crate::metadata::Carried::default(),
        };
        crate::codec::encode::encode(&raster, format, &options).unwrap()
    }

    /// `image/codes` run through the parser and the executor, as a worker runs it.
    fn codes_answer(source: &[u8]) -> Value {
        let pipeline = crate::parse::oss::parse_process("image/codes", &crate::parse::NoStyles)
            .unwrap()
            .pipeline;
        let limits = Limits::default();
        let rendered =
            crate::exec::run_one(&pipeline, source, &crate::Resources::new(&limits)).unwrap();
        assert_eq!(rendered.content, crate::exec::Content::Json);
        serde_json::from_slice(&rendered.bytes).unwrap()
    }

    #[test]
    fn the_answer_is_imm_json_in_the_upright_picture() {
        let mut grey = white(240, 160);
        draw_qr(&mut grey, "json", (100, 20), 4);
        let png = encoded(&grey, crate::codec::ImageFormat::Png);
        let answer = codes_answer(&png);
        let code = &answer["Codes"][0];
        assert_eq!(code["Content"], "json");
        assert_eq!(code["Type"], "qrcode");
        let boundary = &code["Boundary"];
        assert!(
            (boundary["Left"].as_i64().unwrap() - 100).abs() <= 2,
            "{answer}"
        );
        assert!(
            (boundary["Top"].as_i64().unwrap() - 20).abs() <= 2,
            "{answer}"
        );
        assert_eq!(boundary["Polygon"].as_array().unwrap().len(), 4);
        // Orientation 6 shows the stored picture turned a quarter clockwise: the code drawn
        // at the stored top-left is shown at the top-right.
        let mut stored = white(240, 160);
        let side = draw_qr(&mut stored, "turned", (10, 10), 4) as i64;
        let jpeg = encoded(&stored, crate::codec::ImageFormat::Jpeg);
        let turned = codes_answer(&crate::ops::test_support::with_exif_orientation(&jpeg, 6));
        let boundary = &turned["Codes"][0]["Boundary"];
        let shown_left = 160 - 10 - side;
        assert!(
            (boundary["Left"].as_i64().unwrap() - shown_left).abs() <= 3,
            "{turned}"
        );
        assert!(
            (boundary["Top"].as_i64().unwrap() - 10).abs() <= 3,
            "{turned}"
        );
        let empty = codes_answer(&encoded(&white(50, 50), crate::codec::ImageFormat::Png));
        assert_eq!(empty, json!({ "Codes": [] }));
    }
}
