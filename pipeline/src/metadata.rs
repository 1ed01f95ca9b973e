//! What of a source's metadata a result carries: its EXIF tags and its colour profile.
//!
//! By default a result is untagged sRGB (as imgproxy writes it) and carries, of the source's
//! EXIF, only who made the picture and who owns it (`Artist`, `Copyright`): the orientation
//! is applied to the pixels by `auto-orient` and never written, and the rest (camera, GPS
//! position, dates, thumbnails, maker notes) is dropped. [`MetadataPolicy`], a configuration,
//! changes both: no EXIF at all, or every descriptive tag; and the source's RGB profile kept
//! with its pixels (converted nowhere, embedded in the result) instead of converted to sRGB.
//! Qiniu's `strip` ([`crate::OutputSettings::strip`]) removes everything, whatever the policy:
//! no EXIF, and a kept profile is converted to sRGB before it is dropped.
//!
//! The formats that carry metadata: JPEG (APP1 `Exif`, APP2 `ICC_PROFILE`), PNG (`eXIf`,
//! `iCCP`), WebP (`EXIF` and `ICCP` chunks in a `VP8X` file), AVIF and HEIC (an `Exif` item,
//! an ICC `colr` box). BMP, TIFF and GIF results and animations carry none: a kept profile is
//! converted to sRGB before they are written.

use std::io::Cursor;
use std::sync::Arc;

use exif::{Context, Field, In, Tag, Value};
use serde::{Deserialize, Serialize};

/// Which of the source's EXIF tags a result carries (configuration `metadata.exif`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ExifPolicy {
    /// None.
    None,
    /// `Artist` and `Copyright` (the default).
    #[default]
    Rights,
    /// Every descriptive tag: those of the primary image (make, model, software, dates,
    /// description, rights), the Exif and GPS directories, but not the orientation (applied),
    /// the thumbnail, the maker notes (their offsets point into the source file) or the
    /// tags that describe the source's own pixels (sizes, compression, layout).
    All,
}

/// What becomes of a source's colour profile (configuration `metadata.colour_profile`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ColourPolicy {
    /// Converted to sRGB on decode; results untagged (the default).
    #[default]
    Srgb,
    /// An RGB profile that is not sRGB stays with the pixels: they are processed as decoded
    /// and the result embeds the profile. Grey and CMYK profiles, `nclx` colours and formats
    /// that carry no profile still go to sRGB. Steps then work in the source's space (a
    /// watermark's colours are taken as they are written).
    Keep,
}

/// The metadata configuration of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MetadataPolicy {
    /// The EXIF tags carried.
    pub exif: ExifPolicy,
    /// The colour profile.
    pub colour_profile: ColourPolicy,
}

/// The metadata one result is written with.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Carried {
    /// A TIFF-structured EXIF block (from its `II*\0` or `MM\0*` header on).
    pub exif: Option<Vec<u8>>,
    /// The ICC profile the pixels are in; `None`: sRGB, untagged.
    pub icc: Option<Arc<[u8]>>,
}

/// The EXIF block a result of `source` carries under `policy`: the source's tags that the
/// policy keeps, rewritten on their own; `None` when there are none (or no readable EXIF).
pub fn exif_to_carry(source: &[u8], policy: ExifPolicy) -> Option<Vec<u8>> {
    if policy == ExifPolicy::None {
        return None;
    }
    let parsed = exif::Reader::new()
        .read_from_container(&mut Cursor::new(source))
        .ok()?;
    let kept: Vec<&Field> = (parsed.fields())
        .filter(|field| field.ifd_num == In::PRIMARY && keeps(policy, field))
        .collect();
    if kept.is_empty() {
        return None;
    }
    let mut writer = exif::experimental::Writer::new();
    for field in kept {
        writer.push_field(field);
    }
    let mut block = Cursor::new(Vec::new());
    // A tag the writer cannot put back makes the block go: metadata never fails a result.
    writer.write(&mut block, parsed.little_endian()).ok()?;
    Some(block.into_inner())
}

/// Whether `policy` keeps `field` (of the primary image's directories).
fn keeps(policy: ExifPolicy, field: &Field) -> bool {
    match policy {
        ExifPolicy::None => false,
        ExifPolicy::Rights => matches!(field.tag, Tag::Artist | Tag::Copyright),
        ExifPolicy::All => is_descriptive(field),
    }
}

/// The primary image's descriptive TIFF tags; the rest of IFD0 describes the source's own
/// pixels (or is the orientation, already applied).
const DESCRIPTIVE_TIFF_TAGS: [Tag; 7] = [
    Tag::ImageDescription,
    Tag::Make,
    Tag::Model,
    Tag::Software,
    Tag::DateTime,
    Tag::Artist,
    Tag::Copyright,
];

/// The Exif-directory tags that describe the source's pixels or its file, not the picture.
const SOURCE_EXIF_TAGS: [Tag; 5] = [
    Tag::PixelXDimension,
    Tag::PixelYDimension,
    Tag::MakerNote,
    Tag::ComponentsConfiguration,
    Tag::CompressedBitsPerPixel,
];

fn is_descriptive(field: &Field) -> bool {
    if matches!(field.value, Value::Unknown(..)) {
        return false;
    }
    let Tag(context, _) = field.tag;
    match context {
        Context::Tiff => DESCRIPTIVE_TIFF_TAGS.contains(&field.tag),
        Context::Exif => !SOURCE_EXIF_TAGS.contains(&field.tag),
        Context::Gps | Context::Interop => true,
        // A directory a later kamadak-exif knows: not one this policy was written for.
        _ => false,
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    fn ascii(tag: Tag, text: &str) -> Field {
        Field {
            tag,
            ifd_num: In::PRIMARY,
            value: Value::Ascii(vec![text.as_bytes().to_vec()]),
        }
    }

    /// A TIFF-structured EXIF block with the orientation, rights, a camera, a GPS latitude
    /// reference and the source's pixel size.
    pub(crate) fn camera_exif() -> Vec<u8> {
        let fields = [
            ascii(Tag::Artist, "Ada Lovelace"),
            ascii(Tag::Copyright, "(c) 2026 Ferrotype"),
            ascii(Tag::Make, "Camera Maker"),
            ascii(Tag::GPSLatitudeRef, "N"),
            Field {
                tag: Tag::Orientation,
                ifd_num: In::PRIMARY,
                value: Value::Short(vec![6]),
            },
            Field {
                tag: Tag::PixelXDimension,
                ifd_num: In::PRIMARY,
                value: Value::Long(vec![4000]),
            },
        ];
        let mut writer = exif::experimental::Writer::new();
        for field in &fields {
            writer.push_field(field);
        }
        let mut block = Cursor::new(Vec::new());
        writer.write(&mut block, false).unwrap();
        block.into_inner()
    }

    /// `exif` as the APP1 segment of a small JPEG.
    pub(crate) fn jpeg_with_exif(exif: &[u8]) -> Vec<u8> {
        let raster = crate::codec::Raster::filled(
            16,
            8,
            crate::codec::PixelLayout::Rgb8,
            crate::codec::Rgb::WHITE,
        );
        let plain = crate::codec::jpeg::encode(&raster, 80, false).unwrap();
        let mut segment = b"Exif\0\0".to_vec();
        segment.extend_from_slice(exif);
        crate::codec::embed::with_segment(plain, 0xE1, &segment)
    }

    /// The tags of an EXIF block, by name.
    pub(crate) fn tag_names(block: &[u8]) -> Vec<String> {
        let parsed = exif::Reader::new().read_raw(block.to_vec()).unwrap();
        let mut names: Vec<String> = parsed.fields().map(|f| f.tag.to_string()).collect();
        names.sort();
        names
    }

    #[test]
    fn each_policy_keeps_its_tags() {
        let source = jpeg_with_exif(&camera_exif());
        let kept = |policy| exif_to_carry(&source, policy).map(|block| tag_names(&block));
        assert_eq!(kept(ExifPolicy::None), None);
        assert_eq!(
            kept(ExifPolicy::Rights),
            Some(vec!["Artist".to_string(), "Copyright".to_string()])
        );
        assert_eq!(
            kept(ExifPolicy::All),
            Some(
                ["Artist", "Copyright", "GPSLatitudeRef", "Make"]
                    .map(String::from)
                    .to_vec()
            )
        );
    }

    #[test]
    fn a_source_without_rights_carries_no_block() {
        let only_camera = {
            let field = ascii(Tag::Make, "Camera Maker");
            let mut writer = exif::experimental::Writer::new();
            writer.push_field(&field);
            let mut block = Cursor::new(Vec::new());
            writer.write(&mut block, true).unwrap();
            block.into_inner()
        };
        let source = jpeg_with_exif(&only_camera);
        assert_eq!(exif_to_carry(&source, ExifPolicy::Rights), None);
        assert_eq!(exif_to_carry(b"not an image", ExifPolicy::All), None);
    }

    fn run(pipeline: &str, source: &[u8], policy: MetadataPolicy) -> crate::Rendered {
        let command = crate::parse::qiniu::parse_command(pipeline).unwrap();
        let limits = crate::Limits::default();
        let resources = crate::Resources::new(&limits).with_metadata(policy);
        crate::run_one(&command.pipeline, source, &resources).unwrap()
    }

    /// The tags of [`camera_exif`] a result carries (a TIFF's own structure tags aside).
    fn exif_tags(bytes: &[u8]) -> Option<Vec<String>> {
        let parsed = exif::Reader::new()
            .read_from_container(&mut Cursor::new(bytes))
            .ok()?;
        let camera = [
            Tag::Artist,
            Tag::Copyright,
            Tag::Make,
            Tag::GPSLatitudeRef,
            Tag::Orientation,
            Tag::PixelXDimension,
        ];
        let mut names: Vec<String> = (parsed.fields())
            .filter(|field| camera.contains(&field.tag))
            .map(|field| field.tag.to_string())
            .collect();
        names.sort();
        (!names.is_empty()).then_some(names)
    }

    const FORMATS: [&str; 8] = ["jpg", "png", "webp", "avif", "heic", "bmp", "gif", "tiff"];

    #[test]
    fn results_carry_the_rights_by_default_and_no_exif_when_stripped() {
        let source = jpeg_with_exif(&camera_exif());
        let rights = Some(vec!["Artist".to_string(), "Copyright".to_string()]);
        for name in FORMATS {
            let format = crate::codec::ImageFormat::from_name(name).unwrap();
            let kept = run(
                &format!("imageMogr2/format/{name}"),
                &source,
                Default::default(),
            );
            let expected = rights.clone().filter(|_| format.carries_metadata());
            assert_eq!(exif_tags(&kept.bytes), expected, "{name}");
            let stripped = format!("imageMogr2/strip/format/{name}");
            let stripped = run(&stripped, &source, Default::default());
            assert_eq!(exif_tags(&stripped.bytes), None, "{name} stripped");
            let none = MetadataPolicy {
                exif: ExifPolicy::None,
                ..Default::default()
            };
            let none = run(&format!("imageMogr2/format/{name}"), &source, none);
            assert_eq!(exif_tags(&none.bytes), None, "{name} under exif = none");
        }
    }

    fn centre(bytes: &[u8]) -> [i32; 3] {
        let decoded = crate::codec::decode::decode(bytes, &crate::Limits::default()).unwrap();
        let (width, height) = decoded.raster.dimensions();
        let pixel = decoded.raster.pixel(width / 2, height / 2).unwrap();
        [0, 1, 2].map(|channel| i32::from(pixel[channel]))
    }

    fn near(a: [i32; 3], b: [i32; 3], tolerance: i32) -> bool {
        a.iter().zip(b).all(|(a, b)| (a - b).abs() <= tolerance)
    }

    #[test]
    fn a_kept_profile_stays_with_the_pixels_and_is_converted_where_it_cannot_go() {
        use crate::codec::colour::tests::{icc, tagged_jpeg};
        let p3 = icc(&moxcms::ColorProfile::new_display_p3());
        let written = [180, 90, 60];
        let source = tagged_jpeg(written, Some(&p3), 60_000);
        let keep = MetadataPolicy {
            colour_profile: ColourPolicy::Keep,
            ..Default::default()
        };
        let in_srgb = centre(&run("imageMogr2/format/png", &source, Default::default()).bytes);
        assert!(!near(in_srgb, written.map(i32::from), 4), "{in_srgb:?}");
        for name in FORMATS {
            let format = crate::codec::ImageFormat::from_name(name).unwrap();
            let result = run(
                &format!("imageMogr2/format/{name}/quality/95"),
                &source,
                keep,
            );
            let limits = crate::Limits::default();
            let as_written =
                crate::codec::decode::decode_as(&result.bytes, &limits, None, ColourPolicy::Keep)
                    .unwrap();
            let carried = as_written.icc.as_deref().map(<[u8]>::to_vec);
            assert_eq!(carried.is_some(), format.carries_metadata(), "{name}");
            // A viewer sees the same colours either way.
            assert!(near(centre(&result.bytes), in_srgb, 8), "{name}");
            if let Some(carried) = carried {
                assert_eq!(carried, p3, "{name}");
                let pixel = as_written.raster.pixel(16, 16).unwrap();
                let pixel = [0, 1, 2].map(|channel| i32::from(pixel[channel]));
                assert!(near(pixel, written.map(i32::from), 8), "{name}: {pixel:?}");
            }
            let stripped = format!("imageMogr2/strip/format/{name}/quality/95");
            let stripped = run(&stripped, &source, keep);
            let limits = crate::Limits::default();
            let untagged =
                crate::codec::decode::decode_as(&stripped.bytes, &limits, None, ColourPolicy::Keep)
                    .unwrap();
            assert_eq!(untagged.icc, None, "{name} stripped");
            assert!(near(centre(&stripped.bytes), in_srgb, 8), "{name} stripped");
        }
    }
}
