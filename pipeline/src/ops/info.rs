//! Operations whose result is a JSON document about the source instead of an image: Qiniu
//! `imageInfo` and `exif` (and, later, OSS `info`, which can add its own [`Document`] variant).
//!
//! A command holding one of these has no other processing step; the executor answers it from
//! the source bytes without decoding pixels (except GIF frames, which are counted), and the
//! result's content is `application/json` ([`crate::exec::Content::Json`]).
//!
//! # imageInfo
//!
//! `{"format","width","height","colorModel","frameNumber"?,"size"}`: `format` is `jpeg`, `png`,
//! `gif`, `webp`, `bmp` or `tiff`; `size` the source's bytes; `frameNumber` only for GIF.
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

use crate::codec::decode::SourceInfo;
use crate::error::{ErrorCode, PipelineError};
use crate::ops::format::ImageFormat;
use image::{AnimationDecoder, ImageDecoder, ImageReader};
use serde_json::{json, Map, Value};
use std::fmt;
use std::io::Cursor;

/// Which document a command asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Document {
    /// Qiniu `imageInfo`.
    QiniuImageInfo,
    /// Qiniu `exif`.
    QiniuExif,
}

impl Document {
    /// The canonical value (`document,<name>`).
    pub fn name(self) -> &'static str {
        match self {
            Document::QiniuImageInfo => "qiniu-imageinfo",
            Document::QiniuExif => "qiniu-exif",
        }
    }

    /// Reads a canonical value.
    pub fn from_name(name: &str) -> Option<Document> {
        [Document::QiniuImageInfo, Document::QiniuExif]
            .into_iter()
            .find(|document| document.name() == name)
    }
}

/// Canonical rendering (an extension): `document,qiniu-imageinfo`, `document,qiniu-exif`.
impl fmt::Display for Document {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "document,{}", self.name())
    }
}

/// Writes the JSON document about `source` (already probed into `info`).
pub fn render(
    document: Document,
    source: &[u8],
    info: &SourceInfo,
) -> Result<Vec<u8>, PipelineError> {
    let value = match document {
        Document::QiniuImageInfo => image_info(source, info)?,
        Document::QiniuExif => exif(source)?,
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
