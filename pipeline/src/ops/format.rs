//! `format`: which encoding the result gets.
//!
//! OSS `format,<name>` and Qiniu `format/<name>` both name one of the formats below. The
//! choice is an output setting, collected wherever it appears; without one the result keeps
//! the source's format. One vendor rule needs the source to resolve: OSS converts to GIF only
//! when the source is a GIF ("将 gif 格式保存成 gif 格式，非 gif 格式是按原图格式保存"), while
//! Qiniu converts anything to GIF; [`crate::ast::OutputSettings::gif_requires_gif_source`]
//! records which rule the dialect asked for, and [`resolve`] applies it.

use crate::ast::OutputSettings;
use crate::error::PipelineError;
use serde::{Deserialize, Serialize};
use std::fmt;

/// The image formats Ferrotype decodes and encodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ImageFormat {
    /// JPEG (baseline, or progressive with `interlace`).
    Jpeg,
    /// PNG.
    Png,
    /// WebP (written lossless for now: the `image` crate has no lossy WebP encoder).
    Webp,
    /// Windows bitmap.
    Bmp,
    /// GIF (only the first frame is processed for now).
    Gif,
    /// TIFF.
    Tiff,
}

/// The format of a result. Every format we can decode we can also write, so this is the same
/// type as [`ImageFormat`], named for the places where "the output's format" is meant.
pub type OutputFormat = ImageFormat;

impl ImageFormat {
    /// Every format, in a stable order (the order of the OSS documentation's list).
    pub const ALL: [ImageFormat; 6] = [
        ImageFormat::Jpeg,
        ImageFormat::Png,
        ImageFormat::Bmp,
        ImageFormat::Webp,
        ImageFormat::Gif,
        ImageFormat::Tiff,
    ];

    /// The usual file extension, without the dot. Also the name OSS uses in `format,<name>`.
    pub fn extension(self) -> &'static str {
        match self {
            ImageFormat::Jpeg => "jpg",
            ImageFormat::Png => "png",
            ImageFormat::Webp => "webp",
            ImageFormat::Bmp => "bmp",
            ImageFormat::Gif => "gif",
            ImageFormat::Tiff => "tiff",
        }
    }

    /// The MIME type for `Content-Type`.
    pub fn mime(self) -> &'static str {
        match self {
            ImageFormat::Jpeg => "image/jpeg",
            ImageFormat::Png => "image/png",
            ImageFormat::Webp => "image/webp",
            ImageFormat::Bmp => "image/bmp",
            ImageFormat::Gif => "image/gif",
            ImageFormat::Tiff => "image/tiff",
        }
    }

    /// Whether the format can store an alpha channel. Transparent pixels written to a format
    /// without one are flattened onto white (both vendors' rule).
    pub fn supports_alpha(self) -> bool {
        !matches!(self, ImageFormat::Jpeg)
    }

    /// Reads a format name as users write it: the extension, plus the common aliases `jpeg`
    /// and `tif`, in any letter case.
    pub fn from_name(name: &str) -> Option<ImageFormat> {
        match name.to_ascii_lowercase().as_str() {
            "jpg" | "jpeg" => Some(ImageFormat::Jpeg),
            "png" => Some(ImageFormat::Png),
            "webp" => Some(ImageFormat::Webp),
            "bmp" => Some(ImageFormat::Bmp),
            "gif" => Some(ImageFormat::Gif),
            "tiff" | "tif" => Some(ImageFormat::Tiff),
            _ => None,
        }
    }

    /// Parses the value of a `format` action, with an error naming the dialect's action.
    pub fn parse_argument(action: &str, value: &str) -> Result<ImageFormat, PipelineError> {
        ImageFormat::from_name(value).ok_or_else(|| {
            PipelineError::invalid_argument(format!(
                "{action}: unknown format '{value}' (expected one of jpg, png, bmp, webp, gif, \
                 tiff)"
            ))
        })
    }
}

impl fmt::Display for ImageFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.extension())
    }
}

/// The format the result is written in, given the settings and the source's format.
pub fn resolve(settings: &OutputSettings, source: ImageFormat) -> ImageFormat {
    match settings.format {
        Some(ImageFormat::Gif) if settings.gif_requires_gif_source => source,
        Some(format) => format,
        None => source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;

    #[test]
    fn names_extensions_and_mime_types() {
        let table = [
            ("jpg", ImageFormat::Jpeg, "jpg", "image/jpeg"),
            ("JPEG", ImageFormat::Jpeg, "jpg", "image/jpeg"),
            ("png", ImageFormat::Png, "png", "image/png"),
            ("webp", ImageFormat::Webp, "webp", "image/webp"),
            ("bmp", ImageFormat::Bmp, "bmp", "image/bmp"),
            ("gif", ImageFormat::Gif, "gif", "image/gif"),
            ("tif", ImageFormat::Tiff, "tiff", "image/tiff"),
        ];
        for (name, format, extension, mime) in table {
            assert_eq!(ImageFormat::from_name(name), Some(format), "{name}");
            assert_eq!(format.extension(), extension);
            assert_eq!(format.mime(), mime);
        }
        for format in ImageFormat::ALL {
            assert_eq!(ImageFormat::from_name(format.extension()), Some(format));
        }
    }

    #[test]
    fn unknown_names_are_invalid_arguments_naming_the_action() {
        let error = ImageFormat::parse_argument("format", "heic").unwrap_err();
        assert_eq!(error.code, ErrorCode::InvalidArgument);
        assert!(error.message.starts_with("format: unknown format 'heic'"));
    }

    #[test]
    fn gif_is_only_honoured_for_gif_sources_under_the_oss_rule() {
        let oss = OutputSettings {
            format: Some(ImageFormat::Gif),
            gif_requires_gif_source: true,
            ..OutputSettings::default()
        };
        let qiniu = OutputSettings {
            format: Some(ImageFormat::Gif),
            ..OutputSettings::default()
        };
        let table = [
            (&oss, ImageFormat::Png, ImageFormat::Png),
            (&oss, ImageFormat::Gif, ImageFormat::Gif),
            (&qiniu, ImageFormat::Png, ImageFormat::Gif),
            (
                &OutputSettings::default(),
                ImageFormat::Webp,
                ImageFormat::Webp,
            ),
        ];
        for (settings, source, expected) in table {
            assert_eq!(resolve(settings, source), expected);
        }
    }
}
