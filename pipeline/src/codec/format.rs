//! The image formats the codecs read and write: what [`super::decode::sniff`] finds in a
//! source's first bytes, and what [`super::encode::encode`] writes.

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
    /// WebP (written lossy by libwebp at the resolved quality; animated WebP sources are
    /// read frame by frame).
    Webp,
    /// Windows bitmap.
    Bmp,
    /// GIF (animations are read and written frame by frame, see [`super::gif`]).
    Gif,
    /// TIFF.
    Tiff,
    /// AVIF: AV1 in HEIF, through libheif ([`super::heif`]); lossless at quality 100.
    Avif,
    /// HEIC: HEVC in HEIF, through libheif ([`super::heif`]); lossless at quality 100.
    Heic,
    /// Photoshop (PSD, PSB): a source only, its composite image ([`super::psd`]). Not in
    /// [`ImageFormat::ALL`] and not named by [`ImageFormat::from_name`]: a result is never
    /// written as PSD, and one that names no format is PNG ([`ImageFormat::default_output`]).
    Psd,
}

impl ImageFormat {
    /// Every format a result can be written in, in a stable order (the order of the OSS
    /// documentation's list).
    pub const ALL: [ImageFormat; 8] = [
        ImageFormat::Jpeg,
        ImageFormat::Png,
        ImageFormat::Bmp,
        ImageFormat::Webp,
        ImageFormat::Gif,
        ImageFormat::Tiff,
        ImageFormat::Heic,
        ImageFormat::Avif,
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
            ImageFormat::Avif => "avif",
            ImageFormat::Heic => "heic",
            ImageFormat::Psd => "psd",
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
            ImageFormat::Avif => "image/avif",
            ImageFormat::Heic => "image/heic",
            ImageFormat::Psd => "image/vnd.adobe.photoshop",
        }
    }

    /// Whether the format can store an alpha channel. Transparent pixels written to a format
    /// without one are flattened onto white (both vendors' rule).
    pub fn supports_alpha(self) -> bool {
        !matches!(self, ImageFormat::Jpeg)
    }

    /// The format a result of a source in this format is written in when the pipeline names
    /// none: the source's own, except PSD (never written), which becomes PNG (lossless,
    /// transparency kept).
    pub fn default_output(self) -> ImageFormat {
        match self {
            ImageFormat::Psd => ImageFormat::Png,
            other => other,
        }
    }

    /// Whether the format is a HEIF container (AVIF, HEIC), read and written by libheif.
    pub fn is_heif(self) -> bool {
        matches!(self, ImageFormat::Avif | ImageFormat::Heic)
    }

    /// Whether results in this format carry EXIF tags and an ICC profile
    /// ([`crate::metadata`]); BMP, TIFF and GIF results are written without.
    pub fn carries_metadata(self) -> bool {
        matches!(
            self,
            ImageFormat::Jpeg
                | ImageFormat::Png
                | ImageFormat::Webp
                | ImageFormat::Avif
                | ImageFormat::Heic
        )
    }

    /// Reads a format name as users write it: the extension, plus the common aliases `jpeg`,
    /// `tif` and `heif`, in any letter case.
    pub fn from_name(name: &str) -> Option<ImageFormat> {
        match name.to_ascii_lowercase().as_str() {
            "jpg" | "jpeg" => Some(ImageFormat::Jpeg),
            "png" => Some(ImageFormat::Png),
            "webp" => Some(ImageFormat::Webp),
            "bmp" => Some(ImageFormat::Bmp),
            "gif" => Some(ImageFormat::Gif),
            "tiff" | "tif" => Some(ImageFormat::Tiff),
            "avif" => Some(ImageFormat::Avif),
            "heic" | "heif" => Some(ImageFormat::Heic),
            _ => None,
        }
    }
}

impl fmt::Display for ImageFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.extension())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
            ("AVIF", ImageFormat::Avif, "avif", "image/avif"),
            ("heif", ImageFormat::Heic, "heic", "image/heic"),
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
}
