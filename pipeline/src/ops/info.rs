//! Operations whose result is a JSON document about the source instead of an image: Qiniu
//! `imageInfo` and `exif`, OSS `info`, `average-hue` and `codes` (the QR codes and barcodes,
//! [`crate::ops::codes`]), and `imm/detectface` (the faces, [`crate::ops::faces`]).
//!
//! A command holding one of these has no other processing step; the executor answers it from
//! the source bytes without decoding pixels (except GIF frames, which are counted, and
//! `average-hue`, which averages the decoded picture), and the result's content is
//! `application/json` ([`crate::exec::Content::Json`]).
//!
//! # imageInfo
//!
//! `{"format","width","height","colorModel","frameNumber"?,"size"}`: `format` is `jpeg`, `png`,
//! `gif`, `webp`, `bmp`, `tiff`, `avif`, `heic` or `psd`; `size` the source's bytes; `frameNumber` only for GIF.
//! `colorModel` uses the names Qiniu's Go service reports: JPEG `ycbcr` (`gray`, `cmyk`),
//! otherwise `gray`, `gray16`, `nrgba` (8-bit with alpha, also grey + alpha), `rgba` (8-bit
//! without), `nrgba64`/`rgba64` (16-bit), and `palette` for GIF.
//!
//! # exif
//!
//! One member per field of the primary image's EXIF (the thumbnail's IFD is left out), named
//! as the EXIF standard names the tag: `{"Model": {"type": 2, "val": "Canon EOS 600D"}}`, where
//! `type` is the TIFF field type (1 BYTE, 2 ASCII, 3 SHORT, 4 LONG, 5 RATIONAL, 7 UNDEFINED,
//! 10 SRATIONAL, ...) and `val` the value as text with its unit. A source without EXIF is
//! `BadRequest` ("no EXIF data").
//!
//! # OSS info
//!
//! Every member is `{"value": "<text>"}`, members in name order, as the vendor's example:
//!
//! ```text
//! {"FileSize": {"value": "21839"}, "Format": {"value": "jpg"}, "FrameCount": {"value": "1"},
//!  "ImageHeight": {"value": "267"}, "ImageWidth": {"value": "400"},
//!  "ResolutionUnit": {"value": "1"}, "XResolution": {"value": "1/1"}, "YResolution": {"value": "1/1"}}
//! ```
//!
//! * `FileSize` (bytes), `Format` (`jpg`, `png`, `gif`, `webp`, `bmp`, `tiff`), `FrameCount` (GIF
//!   frames, 1 otherwise), `ImageHeight`, `ImageWidth` (the picture's own size) are always there.
//! * When the source has EXIF ("当图片中包含EXIF信息时 ... 返回图片的基本信息以及EXIF信息"), every
//!   named field of the primary image's IFDs and then of the thumbnail's (the vendor's example
//!   lists `Compression`, `JPEGInterchangeFormat`), the primary's winning a name both have:
//!   numbers as decimals, several separated by spaces (`"GPSVersionID": "2 2 0 0"`), rationals
//!   as `n/d` (`"XResolution": "96/1"`), text as it is; the IFD pointers are named `ExifTag` and
//!   `GPSTag` as in the example. PNG EXIF is not read ("PNG不支持解析EXIF信息").
//! * A JPEG without EXIF resolution reports its JFIF density instead: `ResolutionUnit` 1 (no
//!   unit), 2 (inch) or 3 (cm) and `XResolution`/`YResolution` as `n/1`, which is what the
//!   example shows for an EXIF-less JPEG.
//!
//! "info操作不能和其他处理操作同时使用": the OSS parser refuses `info` next to another action.
//!
//! # OSS average-hue
//!
//! `{"RGB": "0xbbcd7f"}`: the mean colour of the picture as `0x` and six lower-case hex
//! digits (the vendor's example, `0xbbcd7f` = RGB(187, 205, 127)). The mean is weighted by
//! alpha, so transparent pixels lend no colour (a fully transparent image averages all its
//! pixels alike); for an animated GIF it is the first frame's. Like `info`, it describes the
//! source and takes no other action.

use crate::codec::decode::SourceInfo;
use crate::codec::ImageFormat;
use crate::error::{ErrorCode, PipelineError};
use crate::limits::Limits;
use crate::resources::Resources;
use image::{AnimationDecoder, ImageDecoder, ImageReader};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::fmt;
use std::io::Cursor;

/// Which document a command asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Document {
    /// Qiniu `imageInfo`.
    QiniuImageInfo,
    /// Qiniu `exif`.
    QiniuExif,
    /// OSS `info`: size, format, frames, dimensions and EXIF fields.
    OssInfo,
    /// OSS `average-hue`: the mean colour.
    OssAverageHue,
    /// OSS `codes`: the QR codes and barcodes in the picture ([`crate::ops::codes`]).
    OssCodes,
    /// OSS `imm/detectface`: the faces in the picture ([`crate::ops::faces`]).
    ImmDetectFace,
}

/// A member the vendor's answer carries about the request rather than the picture; a
/// stored document serves many requests, so the surface fills these in on each answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestMember {
    /// `"RequestId"`: the answer's request id.
    RequestId,
    /// `"ImageUri"`: `oss://<bucket>/<key>` of the source.
    ImageUri,
    /// `"httpStatusCode": 200`.
    HttpStatusCode,
    /// `"success": true`.
    Success,
}

impl Document {
    /// The canonical value (`document,<name>`).
    pub fn name(self) -> &'static str {
        match self {
            Document::QiniuImageInfo => "qiniu-imageinfo",
            Document::QiniuExif => "qiniu-exif",
            Document::OssInfo => "oss-info",
            Document::OssAverageHue => "oss-average-hue",
            Document::OssCodes => "oss-codes",
            Document::ImmDetectFace => "imm-detectface",
        }
    }

    /// The action that asks for this document in the canonical form (OSS's own `info` and
    /// `average-hue`, the extension `document` for Qiniu's); error messages name it.
    pub fn action(self) -> &'static str {
        match self {
            Document::OssInfo => "info",
            Document::OssAverageHue => "average-hue",
            Document::OssCodes => "codes",
            Document::ImmDetectFace => "detectface",
            Document::QiniuImageInfo | Document::QiniuExif => "document",
        }
    }

    /// Whether only a signed request may ask for it: OSS refuses `image/codes` to anonymous
    /// readers ("不支持匿名访问"), even on a public-read bucket, and IMM's actions are
    /// signed calls ("出于安全性考虑此处建议使用 URL 签名方式").
    pub fn needs_a_signed_caller(self) -> bool {
        matches!(self, Document::OssCodes | Document::ImmDetectFace)
    }

    /// The members about the request the vendor's answer carries besides the document
    /// (IMM's answers: `RequestId`; `detectface` also `ImageUri`, `httpStatusCode`, `success`).
    pub fn request_members(self) -> &'static [RequestMember] {
        match self {
            Document::OssCodes => &[RequestMember::RequestId],
            Document::ImmDetectFace => &[
                RequestMember::ImageUri,
                RequestMember::RequestId,
                RequestMember::HttpStatusCode,
                RequestMember::Success,
            ],
            Document::QiniuImageInfo
            | Document::QiniuExif
            | Document::OssInfo
            | Document::OssAverageHue => &[],
        }
    }

    /// Reads a canonical action that asks for a document (`info`, `average-hue`,
    /// `document,<name>`); `None` when `action` is none of these.
    pub(crate) fn from_canonical(
        action: &str,
        arguments: &[&str],
    ) -> Option<Result<Document, PipelineError>> {
        let oss = [
            Document::OssInfo,
            Document::OssAverageHue,
            Document::OssCodes,
            Document::ImmDetectFace,
        ]
        .into_iter()
        .find(|document| document.action() == action);
        if let Some(document) = oss {
            if !arguments.is_empty() {
                return Some(Err(PipelineError::invalid_argument(format!(
                    "{action}: takes no parameters, got '{}'",
                    arguments.join(",")
                ))));
            }
            return Some(Ok(document));
        }
        if action != "document" {
            return None;
        }
        Some(match arguments {
            [value] => Document::from_name(value).ok_or_else(|| {
                PipelineError::invalid_argument(format!("document: '{value}' is not a document"))
            }),
            _ => Err(PipelineError::invalid_argument(
                "document: takes exactly one value",
            )),
        })
    }

    /// Reads a canonical value.
    pub fn from_name(name: &str) -> Option<Document> {
        [
            Document::QiniuImageInfo,
            Document::QiniuExif,
            Document::OssInfo,
            Document::OssAverageHue,
            Document::OssCodes,
            Document::ImmDetectFace,
        ]
        .into_iter()
        .find(|document| document.name() == name)
    }
}

/// Canonical rendering: OSS's own `info` and `average-hue`; the extension
/// `document,qiniu-imageinfo`, `document,qiniu-exif` for Qiniu's documents.
impl fmt::Display for Document {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Document::OssInfo
            | Document::OssAverageHue
            | Document::OssCodes
            | Document::ImmDetectFace => f.write_str(self.action()),
            Document::QiniuImageInfo | Document::QiniuExif => {
                write!(f, "{},{}", self.action(), self.name())
            }
        }
    }
}

/// Writes the JSON document about `source` (already probed into `info`; the limits of
/// `resources` bound the decodes `average-hue`, `codes` and `detectface` need, and its face
/// detector answers `detectface`).
pub fn render(
    document: Document,
    source: &[u8],
    info: &SourceInfo,
    resources: &Resources<'_>,
) -> Result<Vec<u8>, PipelineError> {
    let limits = resources.limits;
    let value = match document {
        Document::QiniuImageInfo => image_info(source, info)?,
        Document::QiniuExif => exif(source)?,
        Document::OssInfo => oss_info(source, info)?,
        Document::OssAverageHue => average_hue(source, limits)?,
        Document::OssCodes => crate::ops::codes::render(source, limits)?,
        Document::ImmDetectFace => crate::ops::faces::render(source, resources)?,
    };
    serde_json::to_vec(&value).map_err(|error| PipelineError::internal(format!("json: {error}")))
}

fn format_name(format: ImageFormat) -> &'static str {
    match format {
        ImageFormat::Jpeg => "jpeg",
        other => other.extension(),
    }
}

fn image_info(source: &[u8], info: &SourceInfo) -> Result<Value, PipelineError> {
    let color_model = color_model(source, info.format)?;
    let mut document = json!({
        "format": format_name(info.format),
        "width": info.width,
        "height": info.height,
        "colorModel": color_model,
        "size": source.len(),
    });
    if info.format == ImageFormat::Gif {
        document["frameNumber"] = json!(gif_frames(source)?);
    }
    Ok(document)
}

fn color_model(source: &[u8], format: ImageFormat) -> Result<&'static str, PipelineError> {
    use image::ColorType;
    if format == ImageFormat::Gif {
        return Ok("palette");
    }
    if format == ImageFormat::Psd {
        let header = crate::codec::psd::header(source)?;
        let colours = match header.mode {
            1 => 1,
            4 => 4,
            _ => 3,
        };
        let alpha = header.channels > colours;
        return Ok(match (header.mode, alpha) {
            (1, _) => "gray",
            (4, _) => "cmyk",
            (_, true) => "nrgba",
            (_, false) => "rgba",
        });
    }
    if format.is_heif() {
        let header = crate::codec::heif::header(source, format)?;
        return Ok(match (header.has_alpha, header.bits > 8) {
            (true, false) => "nrgba",
            (false, false) => "rgba",
            (true, true) => "nrgba64",
            (false, true) => "rgba64",
        });
    }
    let decoder = ImageReader::new(Cursor::new(source))
        .with_guessed_format()
        .map_err(|error| PipelineError::decode_failed(format!("imageInfo: {error}")))?
        .into_decoder()
        .map_err(|error| PipelineError::decode_failed(format!("imageInfo: {error}")))?;
    let color = decoder.original_color_type();
    let model = match (format, color) {
        (ImageFormat::Jpeg, image::ExtendedColorType::L8) => "gray",
        (ImageFormat::Jpeg, image::ExtendedColorType::Cmyk8) => "cmyk",
        (ImageFormat::Jpeg, _) => "ycbcr",
        _ => match decoder.color_type() {
            ColorType::L8 => "gray",
            ColorType::L16 => "gray16",
            ColorType::La8 | ColorType::Rgba8 => "nrgba",
            ColorType::Rgb8 => "rgba",
            ColorType::La16 | ColorType::Rgba16 | ColorType::Rgba32F => "nrgba64",
            _ => "rgba64",
        },
    };
    Ok(model)
}

fn oss_info(source: &[u8], info: &SourceInfo) -> Result<Value, PipelineError> {
    let mut fields: BTreeMap<String, String> = BTreeMap::new();
    if info.format != ImageFormat::Png {
        fields.extend(oss_exif_fields(source));
    }
    if info.format == ImageFormat::Jpeg && !fields.contains_key("XResolution") {
        if let Some((unit, x, y)) = jfif_density(source) {
            fields.insert("ResolutionUnit".into(), unit.to_string());
            fields.insert("XResolution".into(), format!("{x}/1"));
            fields.insert("YResolution".into(), format!("{y}/1"));
        }
    }
    let frames = match info.format {
        ImageFormat::Gif => gif_frames(source)?,
        _ => 1,
    };
    fields.insert("FileSize".into(), source.len().to_string());
    fields.insert("Format".into(), info.format.extension().into());
    fields.insert("FrameCount".into(), frames.to_string());
    fields.insert("ImageHeight".into(), info.height.to_string());
    fields.insert("ImageWidth".into(), info.width.to_string());
    // Built from a sorted map, so the members come in name order whether or not serde_json
    // keeps insertion order.
    let members = fields
        .into_iter()
        .map(|(name, value)| (name, json!({ "value": value })))
        .collect();
    Ok(Value::Object(members))
}

/// The named EXIF fields as OSS `info` writes them (see the module documentation); empty
/// when the source has no readable EXIF.
fn oss_exif_fields(source: &[u8]) -> BTreeMap<String, String> {
    let mut fields = BTreeMap::new();
    let Ok(parsed) = exif::Reader::new().read_from_container(&mut Cursor::new(source)) else {
        return fields;
    };
    // Primary image first, so that its fields win over the thumbnail's of the same name.
    let mut ordered: Vec<&exif::Field> = parsed.fields().collect();
    ordered.sort_by_key(|field| field.ifd_num != exif::In::PRIMARY);
    for field in ordered {
        if field.tag.description().is_none() {
            continue;
        }
        let name = if field.tag == exif::Tag::ExifIFDPointer {
            "ExifTag".to_string()
        } else if field.tag == exif::Tag::GPSInfoIFDPointer {
            "GPSTag".to_string()
        } else if field.tag == exif::Tag::InteropIFDPointer {
            "InteroperabilityTag".to_string()
        } else {
            field.tag.to_string()
        };
        if let Some(text) = oss_value_text(&field.value) {
            fields.entry(name).or_insert(text);
        }
    }
    fields
}

/// A field's value as OSS `info` writes it; `None` for a type we cannot read.
fn oss_value_text(value: &exif::Value) -> Option<String> {
    use exif::Value;
    fn joined<T: ToString>(items: impl IntoIterator<Item = T>) -> String {
        items
            .into_iter()
            .map(|item| item.to_string())
            .collect::<Vec<_>>()
            .join(" ")
    }
    let text = match value {
        Value::Ascii(strings) => strings
            .iter()
            .map(|bytes| String::from_utf8_lossy(bytes).into_owned())
            .collect::<Vec<_>>()
            .join(" "),
        Value::Byte(items) => joined(items),
        Value::Short(items) => joined(items),
        Value::Long(items) => joined(items),
        Value::SByte(items) => joined(items),
        Value::SShort(items) => joined(items),
        Value::SLong(items) => joined(items),
        Value::Float(items) => joined(items),
        Value::Double(items) => joined(items),
        Value::Rational(items) => joined(items.iter().map(|r| format!("{}/{}", r.num, r.denom))),
        Value::SRational(items) => joined(items.iter().map(|r| format!("{}/{}", r.num, r.denom))),
        // Version strings and the like are printable ASCII ("0230"); anything else as bytes.
        Value::Undefined(bytes, _) if bytes.iter().all(|byte| byte.is_ascii_graphic()) => {
            String::from_utf8_lossy(bytes).into_owned()
        }
        Value::Undefined(bytes, _) => joined(bytes),
        Value::Unknown(..) => return None,
    };
    Some(text)
}

/// A JPEG's JFIF density: (TIFF-style resolution unit, x density, y density). JFIF units 0
/// (aspect ratio only), 1 (per inch), 2 (per cm) are TIFF's 1, 2, 3.
fn jfif_density(source: &[u8]) -> Option<(u8, u16, u16)> {
    const APP0: u8 = 0xE0;
    let payload = crate::codec::jpeg::header_segments(source)
        .find(|(marker, payload)| *marker == APP0 && payload.starts_with(b"JFIF\0"))
        .map(|(_, payload)| payload)?;
    // "JFIF\0", version (2 bytes), units, x density (2), y density (2).
    let unit = *payload.get(7)?;
    let x = u16::from_be_bytes([*payload.get(8)?, *payload.get(9)?]);
    let y = u16::from_be_bytes([*payload.get(10)?, *payload.get(11)?]);
    (unit <= 2).then_some((unit + 1, x, y))
}

/// `{"RGB": "0xrrggbb"}`: the alpha-weighted mean colour of the (first frame of the) picture.
fn average_hue(source: &[u8], limits: &Limits) -> Result<Value, PipelineError> {
    let raster = crate::codec::decode::decode(source, limits)?.raster;
    let channels = raster.layout().bytes_per_pixel();
    let has_alpha = raster.layout().has_alpha();
    let mut weighted = [0u64; 3];
    let mut weights = 0u64;
    let mut plain = [0u64; 3];
    let mut count = 0u64;
    for pixel in raster.data().chunks_exact(channels) {
        let alpha = if has_alpha {
            u64::from(pixel.get(3).copied().unwrap_or(255))
        } else {
            255
        };
        for (channel, &value) in pixel.iter().take(3).enumerate() {
            weighted[channel] += u64::from(value) * alpha;
            plain[channel] += u64::from(value);
        }
        weights += alpha;
        count += 1;
    }
    let (sums, total) = if weights > 0 {
        (weighted, weights)
    } else {
        (plain, count.max(1))
    };
    let mean = |channel: usize| (sums[channel] + total / 2) / total;
    Ok(json!({ "RGB": format!("0x{:02x}{:02x}{:02x}", mean(0), mean(1), mean(2)) }))
}

fn gif_frames(source: &[u8]) -> Result<usize, PipelineError> {
    let decoder = image::codecs::gif::GifDecoder::new(Cursor::new(source))
        .map_err(|error| PipelineError::decode_failed(format!("imageInfo: {error}")))?;
    let mut count = 0;
    for frame in decoder.into_frames() {
        frame.map_err(|error| PipelineError::decode_failed(format!("imageInfo: {error}")))?;
        count += 1;
    }
    Ok(count)
}

/// The TIFF field type number of a value.
fn tiff_type(value: &exif::Value) -> u16 {
    use exif::Value;
    match value {
        Value::Byte(_) => 1,
        Value::Ascii(_) => 2,
        Value::Short(_) => 3,
        Value::Long(_) => 4,
        Value::Rational(_) => 5,
        Value::SByte(_) => 6,
        Value::Undefined(..) => 7,
        Value::SShort(_) => 8,
        Value::SLong(_) => 9,
        Value::SRational(_) => 10,
        Value::Float(_) => 11,
        Value::Double(_) => 12,
        Value::Unknown(kind, ..) => *kind,
    }
}

fn exif(source: &[u8]) -> Result<Value, PipelineError> {
    let parsed = exif::Reader::new()
        .read_from_container(&mut Cursor::new(source))
        .map_err(|error| {
            PipelineError::new(
                ErrorCode::BadRequest,
                format!("exif: the source has no readable EXIF data ({error})"),
            )
        })?;
    let mut fields = Map::new();
    for field in parsed.fields() {
        if field.ifd_num != exif::In::PRIMARY {
            continue;
        }
        let name = field.tag.to_string();
        if fields.contains_key(&name) {
            continue;
        }
        let text = field.display_value().with_unit(&parsed).to_string();
        fields.insert(
            name,
            json!({ "type": tiff_type(&field.value), "val": text }),
        );
    }
    Ok(Value::Object(fields))
}
