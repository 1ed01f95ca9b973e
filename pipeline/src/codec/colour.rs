//! Colour management: a source's embedded ICC profile is honoured, and every picture is
//! processed and written as sRGB (untagged, as imgproxy and the vendors write it), unless the
//! configuration keeps RGB profiles ([`kept_profile`], [`crate::metadata`]).
//!
//! A source tagged Adobe RGB, Display P3 (iPhones), ProPhoto (camera exports) or anything
//! else has its pixels converted to sRGB right after decoding, through `moxcms`; after the
//! JPEG DCT-domain shrink, where the picture is smallest (a colour transform works pixel by
//! pixel, so converting before or after that shrink differs only by rounding). Profiles that
//! describe sRGB itself (most cameras and Photoshop's default) are recognised and cost
//! nothing more. A profile that cannot be read, or that does not fit the pixels (an RGB
//! profile on a grey picture), is ignored, as browsers ignore it: the picture is then taken
//! as sRGB.
//!
//! Grey pictures with a grey profile come out as sRGB greys. 16-bit pictures are converted
//! before they are narrowed to 8 bits, so wide-gamut gradients do not band. CMYK pictures
//! (print and e-commerce JPEGs) go through their embedded CMYK profile, or the default CMYK
//! profile [`Limits`](crate::Limits) names when they carry none, and only without either
//! through the plain formula.

use std::sync::{Arc, OnceLock};

use image::{DynamicImage, ImageBuffer};
use moxcms::{ColorProfile, DataColorSpace, Layout, TransformOptions};

use super::{PixelLayout, Raster};
use crate::metadata::ColourPolicy;

/// The pixels a transform works on at a time: bounds the scratch copy of the conversions
/// that change the channel count.
const BAND_PIXELS: usize = 1 << 16;

/// A source's ICC profile, parsed.
pub struct Profile(ColorProfile);

impl Profile {
    /// Parses an embedded profile; `None` when it is unreadable (it is then ignored).
    pub fn parse(icc: &[u8]) -> Option<Profile> {
        super::guard::guarded(|| ColorProfile::new_from_slice(icc))
            .ok()?
            .ok()
            .map(Profile)
    }

    /// The RGB space a HEIF/AV1 `nclx` box (or a video stream's CICP) names by its primaries;
    /// `None` for sRGB's own (BT.709), unspecified or unknown primaries, which are taken as
    /// sRGB. SDR transfer functions (BT.709, BT.601, sRGB, unspecified) are read as sRGB's
    /// curve, as browsers do; PQ and HLG (HDR) are not tone-mapped and give `None`.
    pub fn from_cicp(primaries: u8, transfer: u8) -> Option<Profile> {
        const BT709: u8 = 1;
        const SRGB_TRANSFER: u8 = 13;
        const UNSPECIFIED: u8 = 2;
        if matches!(primaries, BT709 | UNSPECIFIED)
            || !matches!(transfer, BT709 | UNSPECIFIED | 6 | 13 | 14 | 15)
        {
            return None;
        }
        let primaries = moxcms::CicpColorPrimaries::try_from(primaries).ok()?;
        let transfer_characteristics =
            moxcms::TransferCharacteristics::try_from(SRGB_TRANSFER).ok()?;
        // Primaries moxcms has no chromaticities for leave the profile sRGB's (then skipped).
        let mut profile = ColorProfile::new_srgb();
        profile.update_rgb_colorimetry_from_cicp(moxcms::CicpProfile {
            color_primaries: primaries,
            transfer_characteristics,
            matrix_coefficients: moxcms::MatrixCoefficients::Bt709,
            full_range: true,
        });
        profile.cicp = None;
        Some(Profile(profile))
    }

    /// Whether converting to sRGB would change nothing (an sRGB profile, by its primaries
    /// and its tone curves, whatever its name).
    pub fn is_srgb(&self) -> bool {
        let profile = &self.0;
        if profile.color_space != DataColorSpace::Rgb {
            return false;
        }
        let srgb = srgb();
        let near = |a: moxcms::Xyzd, b: moxcms::Xyzd| {
            (a.x - b.x).abs() < 0.003 && (a.y - b.y).abs() < 0.003 && (a.z - b.z).abs() < 0.003
        };
        near(profile.red_colorant, srgb.red_colorant)
            && near(profile.green_colorant, srgb.green_colorant)
            && near(profile.blue_colorant, srgb.blue_colorant)
            && [&profile.red_trc, &profile.green_trc, &profile.blue_trc]
                .into_iter()
                .all(|curve| curve_is_srgb(profile, curve))
    }

    /// Whether the profile describes CMYK pixels.
    pub fn is_cmyk(&self) -> bool {
        self.0.color_space == DataColorSpace::Cmyk
    }

    fn is_grey(&self) -> bool {
        self.0.color_space == DataColorSpace::Gray
    }

    fn is_rgb(&self) -> bool {
        self.0.color_space == DataColorSpace::Rgb
    }
}

/// Decoded pixels and the ICC profile they are still in ([`kept_profile`]; `None`: sRGB).
pub type Tagged = (Raster, Option<Arc<[u8]>>);

/// The raw profile the pixels stay in under `policy` instead of being converted to sRGB: an
/// RGB profile other than sRGB's, when the configuration keeps profiles
/// ([`ColourPolicy::Keep`]); `None` otherwise (the caller converts).
pub fn kept_profile(
    icc: Option<&[u8]>,
    profile: Option<&Profile>,
    policy: ColourPolicy,
) -> Option<Arc<[u8]>> {
    let stays = |profile: &Profile| profile.is_rgb() && !profile.is_srgb();
    (policy == ColourPolicy::Keep && profile.is_some_and(stays))
        .then(|| icc.map(Arc::from))
        .flatten()
}

/// A raster whose pixels are in the ICC profile `icc`, converted to sRGB (for a result that
/// will not carry the profile).
pub fn kept_to_srgb(raster: Raster, icc: &[u8]) -> Raster {
    match Profile::parse(icc) {
        Some(profile) => raster_to_srgb(raster, &profile, false),
        None => raster,
    }
}

/// moxcms' sRGB, built once.
fn srgb() -> &'static ColorProfile {
    static SRGB: OnceLock<ColorProfile> = OnceLock::new();
    SRGB.get_or_init(ColorProfile::new_srgb)
}

/// Whether a tone curve linearises every 8-bit value as sRGB's does (to well under one
/// output level).
fn curve_is_srgb(profile: &ColorProfile, curve: &Option<moxcms::ToneReprCurve>) -> bool {
    static SRGB_TABLE: OnceLock<Option<Box<[f32; 256]>>> = OnceLock::new();
    let reference = SRGB_TABLE.get_or_init(|| srgb().build_8bit_lin_table(&srgb().red_trc).ok());
    let table = super::guard::guarded(|| profile.build_8bit_lin_table(curve)).ok();
    match (reference, table) {
        (Some(reference), Some(Ok(table))) => reference
            .iter()
            .zip(table.iter())
            .all(|(a, b)| (a - b).abs() < 0.0005),
        _ => false,
    }
}

/// The ICC profile of a JPEG: its `ICC_PROFILE` APP2 chunks, joined in their sequence order.
/// `None` without one, or when the chunks do not make one whole profile.
pub fn jpeg_icc_profile(source: &[u8]) -> Option<Vec<u8>> {
    const APP2: u8 = 0xE2;
    const SIGNATURE: &[u8] = b"ICC_PROFILE\0";
    let mut chunks: Vec<(u8, u8, &[u8])> = super::jpeg::header_segments(source)
        .filter(|(marker, _)| *marker == APP2)
        .filter_map(|(_, payload)| {
            let rest = payload.strip_prefix(SIGNATURE)?;
            Some((*rest.first()?, *rest.get(1)?, rest.get(2..)?))
        })
        .collect();
    let count = chunks.first()?.1;
    chunks.sort_by_key(|(sequence, _, _)| *sequence);
    let whole = chunks.len() == usize::from(count)
        && (chunks.iter().enumerate())
            .all(|(at, (sequence, told, _))| usize::from(*sequence) == at + 1 && *told == count);
    whole.then(|| {
        chunks
            .iter()
            .flat_map(|(_, _, data)| data.iter().copied())
            .collect()
    })
}

/// `image` in sRGB: converted through `profile` when it is an RGB or grey profile that fits
/// the pixels and is not sRGB already; as it is otherwise.
pub fn image_to_srgb(mut image: DynamicImage, profile: &Profile) -> DynamicImage {
    if profile.is_srgb() {
        return image;
    }
    if profile.is_rgb() {
        colour_in_place(&mut image, profile);
        return image;
    }
    let converted = profile
        .is_grey()
        .then(|| grey_to_rgb(&image, profile))
        .flatten();
    converted.unwrap_or(image)
}

/// An 8-bit raster in sRGB. `grey` says the raster's RGB holds a grey picture (its red
/// channel is the grey), which a grey profile fits; an RGB profile fits the others.
pub fn raster_to_srgb(raster: Raster, profile: &Profile, grey: bool) -> Raster {
    if profile.is_srgb() {
        return raster;
    }
    let layout = match raster.layout() {
        PixelLayout::Rgb8 => Layout::Rgb,
        PixelLayout::Rgba8 => Layout::Rgba,
    };
    if profile.is_rgb() && !grey {
        let mut raster = raster;
        if let Some(transform) = in_place_transform(profile, layout) {
            // A failed transform leaves the pixels as decoded: taken as sRGB.
            let _ = transform.transform(raster.data_mut());
        }
        return raster;
    }
    if profile.is_grey() && grey {
        let mut raster = raster;
        grey_raster_in_place(&mut raster, profile, layout);
        return raster;
    }
    raster
}

type InPlace8 = Arc<dyn moxcms::InPlaceTransformExecutor<u8> + Send + Sync>;
type InPlace16 = Arc<dyn moxcms::InPlaceTransformExecutor<u16> + Send + Sync>;

fn options() -> TransformOptions {
    TransformOptions::default()
}

fn in_place_transform(profile: &Profile, layout: Layout) -> Option<InPlace8> {
    super::guard::guarded(|| (profile.0).create_in_place_transform_8bit(layout, srgb(), options()))
        .ok()?
        .ok()
}

fn in_place_transform_16(profile: &Profile, layout: Layout) -> Option<InPlace16> {
    super::guard::guarded(|| (profile.0).create_in_place_transform_16bit(layout, srgb(), options()))
        .ok()?
        .ok()
}

fn transform_8(
    profile: &Profile,
    from: Layout,
    to: Layout,
) -> Option<Arc<moxcms::Transform8BitExecutor>> {
    super::guard::guarded(|| (profile.0).create_transform_8bit(from, srgb(), to, options()))
        .ok()?
        .ok()
}

fn transform_16(
    profile: &Profile,
    from: Layout,
    to: Layout,
) -> Option<Arc<moxcms::Transform16BitExecutor>> {
    super::guard::guarded(|| (profile.0).create_transform_16bit(from, srgb(), to, options()))
        .ok()?
        .ok()
}

/// Converts an RGB(A) image, 8- or 16-bit, where it lies; a grey or float image is left as
/// it is (an RGB profile does not fit a grey one; float sources are not tagged in practice).
fn colour_in_place(image: &mut DynamicImage, profile: &Profile) {
    // A failed transform leaves the pixels as decoded: taken as sRGB.
    let _ =
        match image {
            DynamicImage::ImageRgb8(buffer) => in_place_transform(profile, Layout::Rgb)
                .map(|transform| transform.transform(buffer)),
            DynamicImage::ImageRgba8(buffer) => in_place_transform(profile, Layout::Rgba)
                .map(|transform| transform.transform(buffer)),
            DynamicImage::ImageRgb16(buffer) => in_place_transform_16(profile, Layout::Rgb)
                .map(|transform| transform.transform(buffer)),
            DynamicImage::ImageRgba16(buffer) => in_place_transform_16(profile, Layout::Rgba)
                .map(|transform| transform.transform(buffer)),
            _ => None,
        };
}

/// A grey image (8 or 16 bits, with or without alpha) as sRGB RGB(A) through its grey
/// profile.
fn grey_to_rgb(image: &DynamicImage, profile: &Profile) -> Option<DynamicImage> {
    let (width, height) = (image.width(), image.height());
    let eight = |from, to| transform_8(profile, from, to);
    let sixteen = |from, to| transform_16(profile, from, to);
    match image {
        DynamicImage::ImageLuma8(grey) => {
            ImageBuffer::from_raw(width, height, greys(grey, false, eight)?)
                .map(DynamicImage::ImageRgb8)
        }
        DynamicImage::ImageLumaA8(grey) => {
            ImageBuffer::from_raw(width, height, greys(grey, true, eight)?)
                .map(DynamicImage::ImageRgba8)
        }
        DynamicImage::ImageLuma16(grey) => {
            ImageBuffer::from_raw(width, height, greys(grey, false, sixteen)?)
                .map(DynamicImage::ImageRgb16)
        }
        DynamicImage::ImageLumaA16(grey) => {
            ImageBuffer::from_raw(width, height, greys(grey, true, sixteen)?)
                .map(DynamicImage::ImageRgba16)
        }
        _ => None,
    }
}

/// Grey samples (`alpha`: each followed by its alpha) converted to RGB(A) by the transform
/// `make` builds between the two layouts.
fn greys<T: Copy + Default>(
    grey: &[T],
    alpha: bool,
    make: impl Fn(Layout, Layout) -> Option<Arc<dyn moxcms::TransformExecutor<T> + Send + Sync>>,
) -> Option<Vec<T>> {
    let (from, to, channels) = if alpha {
        (Layout::GrayAlpha, Layout::Rgba, (2, 4))
    } else {
        (Layout::Gray, Layout::Rgb, (1, 3))
    };
    let transform = make(from, to)?;
    convert_in_bands(grey, channels, |from, to| transform.transform(from, to))
}

/// Samples of `channels.0` per pixel converted to `channels.1` per pixel by `convert`, a band
/// at a time; `None` when a band fails.
fn convert_in_bands<T: Copy + Default>(
    source: &[T],
    (from, to): (usize, usize),
    convert: impl Fn(&[T], &mut [T]) -> Result<(), moxcms::CmsError>,
) -> Option<Vec<T>> {
    let mut converted = vec![T::default(); source.len() / from * to];
    for (band, out) in source
        .chunks(BAND_PIXELS * from)
        .zip(converted.chunks_mut(BAND_PIXELS * to))
    {
        convert(band, out).ok()?;
    }
    Some(converted)
}

/// A grey picture held as RGB(A) (its red channel the grey) converted through its grey
/// profile, a band at a time; left as it is when the profile cannot be used.
fn grey_raster_in_place(raster: &mut Raster, profile: &Profile, layout: Layout) {
    let (grey_layout, bytes_per_pixel) = match layout {
        Layout::Rgba => (Layout::GrayAlpha, 4),
        _ => (Layout::Gray, 3),
    };
    let Some(transform) = transform_8(profile, grey_layout, layout) else {
        return;
    };
    let grey_channels = bytes_per_pixel - 2;
    let mut grey = Vec::with_capacity(BAND_PIXELS * grey_channels);
    for band in raster.data_mut().chunks_mut(BAND_PIXELS * bytes_per_pixel) {
        grey.clear();
        for pixel in band.chunks_exact(bytes_per_pixel) {
            grey.push(pixel[0]);
            if bytes_per_pixel == 4 {
                grey.push(pixel[3]);
            }
        }
        if transform.transform(&grey, band).is_err() {
            return;
        }
    }
}

/// The CMYK profile for CMYK pictures that carry none, installed once by the process
/// ([`install_default_cmyk_profile`]).
static DEFAULT_CMYK: OnceLock<Profile> = OnceLock::new();

/// Makes `icc` the profile of untagged CMYK pictures, for the life of the process. `false`
/// when it is not a readable CMYK profile, or when one is installed already.
pub fn install_default_cmyk_profile(icc: &[u8]) -> bool {
    match Profile::parse(icc) {
        Some(profile) if profile.is_cmyk() => DEFAULT_CMYK.set(profile).is_ok(),
        _ => false,
    }
}

/// CMYK pixels (four bytes each, `inverted` when stored as Adobe writes them) as an sRGB
/// raster: through `embedded` when it is a CMYK profile, else the installed default, else the
/// plain formula (`r = (1 - c)(1 - k)` and so on), which prints too dark in the shadows.
pub fn cmyk_to_srgb(
    mut pixels: Vec<u8>,
    (width, height): (u32, u32),
    embedded: Option<&Profile>,
    inverted: bool,
) -> Result<Raster, crate::error::PipelineError> {
    if inverted {
        pixels.iter_mut().for_each(|value| *value = 255 - *value);
    }
    let profile = (embedded.filter(|profile| profile.is_cmyk())).or_else(|| DEFAULT_CMYK.get());
    let through_profile = profile
        .and_then(|profile| transform_8(profile, Layout::Rgba, Layout::Rgb))
        .and_then(|transform| {
            convert_in_bands(&pixels, (4, 3), |from, to| transform.transform(from, to))
        });
    let rgb = through_profile.unwrap_or_else(|| cmyk_by_formula(&pixels));
    Raster::new(width, height, PixelLayout::Rgb8, rgb)
}

/// The naive conversion, for CMYK without any profile.
fn cmyk_by_formula(cmyk: &[u8]) -> Vec<u8> {
    let ink = |colour: u8, black: u8| {
        let kept = u16::from(255 - colour) * u16::from(255 - black);
        u8::try_from((kept + 127) / 255).unwrap_or(u8::MAX)
    };
    cmyk.chunks_exact(4)
        .flat_map(|pixel| {
            let (c, m, y, k) = (pixel[0], pixel[1], pixel[2], pixel[3]);
            [ink(c, k), ink(m, k), ink(y, k)]
        })
        .collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::codec::decode::decode;
    use crate::limits::Limits;

    pub(crate) fn icc(profile: &ColorProfile) -> Vec<u8> {
        profile.encode().expect("moxcms writes its own profiles")
    }

    /// A JPEG of one colour, with `profile` (if any) in APP2 chunks of at most `chunk` bytes.
    pub(crate) fn tagged_jpeg(colour: [u8; 3], profile: Option<&[u8]>, chunk: usize) -> Vec<u8> {
        let pixels = colour.repeat(32 * 32);
        let raster = Raster::new(32, 32, PixelLayout::Rgb8, pixels).expect("32x32");
        let plain = super::super::jpeg::encode(&raster, 95, false).expect("encodes");
        let Some(profile) = profile else {
            return plain;
        };
        with_app2(&plain, &profile_chunks(profile, chunk))
    }

    fn profile_chunks(profile: &[u8], chunk: usize) -> Vec<Vec<u8>> {
        let count = u8::try_from(profile.len().div_ceil(chunk)).expect("few chunks");
        (profile.chunks(chunk).zip(1u8..))
            .map(|(data, sequence)| [b"ICC_PROFILE\0", &[sequence, count][..], data].concat())
            .collect()
    }

    /// `jpeg` with APP2 segments of `payloads` right after its SOI.
    fn with_app2(jpeg: &[u8], payloads: &[Vec<u8>]) -> Vec<u8> {
        let mut out = jpeg[..2].to_vec();
        for payload in payloads {
            let length = u16::try_from(payload.len() + 2).expect("fits a segment");
            out.extend_from_slice(&[0xFF, 0xE2]);
            out.extend_from_slice(&length.to_be_bytes());
            out.extend_from_slice(payload);
        }
        out.extend_from_slice(&jpeg[2..]);
        out
    }

    fn centre(source: &[u8]) -> [u8; 3] {
        let raster = decode(source, &Limits::default()).expect("decodes").raster;
        let pixel = raster.pixel(16, 16).expect("inside");
        [pixel[0], pixel[1], pixel[2]]
    }

    fn spread(pixel: [u8; 3]) -> u8 {
        pixel.iter().max().copied().unwrap_or(0) - pixel.iter().min().copied().unwrap_or(0)
    }

    #[test]
    fn profile_chunks_are_joined_in_sequence_order_and_only_when_all_are_there() {
        let profile = icc(&ColorProfile::new_adobe_rgb());
        let chunks = profile_chunks(&profile, 100);
        let plain = tagged_jpeg([1, 2, 3], None, 100);
        let reversed: Vec<Vec<u8>> = chunks.iter().rev().cloned().collect();
        assert_eq!(
            jpeg_icc_profile(&with_app2(&plain, &reversed)),
            Some(profile)
        );
        assert_eq!(
            jpeg_icc_profile(&with_app2(&plain, &chunks[1..])),
            None,
            "one missing"
        );
        assert_eq!(jpeg_icc_profile(&plain), None);
    }

    #[test]
    fn srgb_is_recognised_by_its_primaries_and_curves_and_others_are_not() {
        let srgb = Profile::parse(&icc(&ColorProfile::new_srgb())).expect("parses");
        assert!(srgb.is_srgb());
        for other in [
            ColorProfile::new_adobe_rgb(),
            ColorProfile::new_display_p3(),
            ColorProfile::new_pro_photo_rgb(),
        ] {
            let parsed = Profile::parse(&icc(&other)).expect("parses");
            assert!(!parsed.is_srgb());
        }
        assert!(Profile::parse(b"not a profile").is_none());
    }

    #[test]
    fn an_adobe_rgb_jpeg_comes_out_more_saturated_than_the_same_numbers_untagged() {
        let adobe = icc(&ColorProfile::new_adobe_rgb());
        let colour = [180, 90, 60];
        let untagged = centre(&tagged_jpeg(colour, None, 60_000));
        // Chunks of 200 bytes: a profile in many APP2 segments, as large profiles are.
        let tagged = centre(&tagged_jpeg(colour, Some(&adobe), 200));
        assert!(
            spread(tagged) > spread(untagged) + 15,
            "{tagged:?} should be more saturated than {untagged:?}"
        );
    }

    #[test]
    fn srgb_tagged_and_unreadable_profiles_leave_the_pixels_as_decoded() {
        let colour = [180, 90, 60];
        let untagged = centre(&tagged_jpeg(colour, None, 60_000));
        let srgb = icc(&ColorProfile::new_srgb());
        assert_eq!(centre(&tagged_jpeg(colour, Some(&srgb), 60_000)), untagged);
        let junk = b"ICC profile that is not one".repeat(20);
        assert_eq!(centre(&tagged_jpeg(colour, Some(&junk), 60_000)), untagged);
    }

    #[test]
    fn a_grey_picture_with_a_linear_grey_profile_is_reencoded_with_the_srgb_curve() {
        let linear = Profile::parse(&icc(&ColorProfile::new_gray_with_gamma(1.0))).expect("parses");
        let raster = Raster::new(1, 1, PixelLayout::Rgb8, vec![128, 128, 128]).expect("1x1");
        let converted = raster_to_srgb(raster.clone(), &linear, true);
        // Linear 0.502 is sRGB 0.735: level 187 or 188.
        let grey = converted.data()[0];
        assert!((187..=188).contains(&grey), "{:?}", converted.data());
        assert_eq!(converted.data()[0], converted.data()[2]);
        // An RGB picture is not what a grey profile describes: left alone.
        assert_eq!(raster_to_srgb(raster.clone(), &linear, false), raster);
    }

    #[test]
    fn cmyk_without_a_profile_uses_the_formula_and_adobe_inversion_is_undone() {
        let pixels = vec![0, 0, 0, 0, 255, 0, 0, 0, 0, 0, 0, 255];
        let raster = cmyk_to_srgb(pixels.clone(), (3, 1), None, false).expect("3x1");
        if DEFAULT_CMYK.get().is_none() {
            assert_eq!(raster.data(), &[255, 255, 255, 0, 255, 255, 0, 0, 0]);
        }
        let inverted: Vec<u8> = pixels.iter().map(|value| 255 - value).collect();
        let again = cmyk_to_srgb(inverted, (3, 1), None, true).expect("3x1");
        assert_eq!(again.data(), raster.data());
    }

    #[test]
    fn a_cmyk_jpeg_is_decoded_through_libjpeg_turbo_to_white_and_black() {
        // Photoshop's convention, which the decoder undoes: 255 is no ink.
        let no_ink = [255u8, 255, 255, 255];
        let black = [255u8, 255, 255, 0];
        let pixels: Vec<u8> = (0..32 * 32)
            .flat_map(|at| if at % 32 < 16 { no_ink } else { black })
            .collect();
        let image = turbojpeg::Image {
            pixels: pixels.as_slice(),
            width: 32,
            pitch: 32 * 4,
            height: 32,
            format: turbojpeg::PixelFormat::CMYK,
        };
        let jpeg = turbojpeg::compress(image, 95, turbojpeg::Subsamp::None).expect("encodes");
        let raster = decode(&jpeg, &Limits::default()).expect("decodes").raster;
        assert_eq!(raster.layout(), PixelLayout::Rgb8);
        let white = raster.pixel(4, 16).expect("inside");
        let dark = raster.pixel(28, 16).expect("inside");
        assert!(white.iter().all(|&value| value > 235), "{white:?}");
        assert!(dark.iter().all(|&value| value < 60), "{dark:?}");
    }

    #[test]
    fn ghostscripts_cmyk_profile_converts_paper_to_white_and_full_ink_to_near_black() {
        // Installed by scripts/services.sh (Debian's libgs-common), as the service reads it.
        let path = "/usr/share/color/icc/ghostscript/default_cmyk.icc";
        let icc = std::fs::read(path).expect("libgs-common's CMYK profile (scripts/services.sh)");
        let profile = Profile::parse(&icc).expect("parses");
        assert!(profile.is_cmyk());
        let pixels = vec![0, 0, 0, 0, 255, 255, 255, 255, 0, 0, 0, 255];
        let raster = cmyk_to_srgb(pixels, (3, 1), Some(&profile), false).expect("3x1");
        let data = raster.data();
        assert!(data[..3].iter().all(|&value| value > 240), "paper {data:?}");
        assert!(data[3..].iter().all(|&value| value < 60), "ink {data:?}");
        // The formula would give pure black for K=255; a press profile does not.
        assert_ne!(&data[6..9], &[0, 0, 0]);
    }
}
