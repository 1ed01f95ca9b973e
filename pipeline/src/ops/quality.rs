//! `quality`: the JPEG quality of the result, and the vendor rules that tie it to the source.
//!
//! The two vendors mean different things by a quality number, so the AST keeps them apart
//! instead of flattening them into one integer at parse time: the right number depends on the
//! source's own quality and on how much the pipeline shrank it, both known only at run time.
//!
//! | written as | variant | encoded at |
//! |---|---|---|
//! | OSS `quality,q_N` | [`Quality::Relative`] | N% of the source's quality; N itself when unknown |
//! | OSS `quality,Q_N` | [`Quality::Absolute`] | min(N, source quality): never above the source |
//! | Qiniu `quality/N` | [`Quality::Adaptive`] | min(N, correction), see below |
//! | Qiniu `quality/N!` | [`Quality::Forced`] | exactly N |
//!
//! Qiniu's correction is `min(90, srcQ * sqrt(srcArea / dstArea))`; it is not applied when the
//! source quality is above 90 or unknown. The source quality is estimated from a JPEG's
//! quantization tables ([`crate::codec::jpeg::estimate_quality`]); other sources have
//! none, which is why OSS says a relative quality on a WebP source acts as an absolute one.
//!
//! The JPEG and WebP encoders use the number (WebP is written lossy by libwebp, a still or an
//! animation alike); PNG, GIF, BMP and TIFF are lossless and ignore it.

use crate::error::PipelineError;
use crate::parse::lex::Params;
use std::fmt;

/// The action's name in the canonical form (OSS's).
pub(crate) const ACTION: &str = "quality";

/// The quality (JPEG, WebP) used when the pipeline names none.
pub const DEFAULT_QUALITY: u8 = 85;

/// The range every dialect accepts for a quality number.
pub const QUALITY_RANGE: std::ops::RangeInclusive<u32> = 1..=100;

/// Qiniu's cap on the corrected quality.
const QINIU_CORRECTION_CAP: f64 = 90.0;

/// A requested output quality, 1-100, with the vendor semantics it was written with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Quality {
    /// OSS `q_N`: N percent of the source's quality.
    Relative(u8),
    /// OSS `Q_N`: N, but never above the source's quality.
    Absolute(u8),
    /// Qiniu `quality/N`: N, but never above Qiniu's correction for the size change.
    Adaptive(u8),
    /// Qiniu `quality/N!`: exactly N.
    Forced(u8),
}

/// What the quality rules need to know about the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QualityContext {
    /// The source's estimated JPEG quality, when the source is a JPEG with readable tables.
    pub source_quality: Option<u8>,
    /// Width x height of the decoded source.
    pub source_pixels: u64,
    /// Width x height of the result.
    pub output_pixels: u64,
}

impl Quality {
    /// The number the user wrote.
    pub fn value(self) -> u8 {
        match self {
            Quality::Relative(value)
            | Quality::Absolute(value)
            | Quality::Adaptive(value)
            | Quality::Forced(value) => value,
        }
    }

    /// The encoder quality (1-100) this request means for a run described by `context`.
    pub fn resolve(self, context: &QualityContext) -> u8 {
        let resolved = match (self, context.source_quality) {
            (Quality::Relative(percent), Some(source)) => {
                // Round to nearest: 90% of 85 is 76.5 -> 77.
                ((u32::from(source) * u32::from(percent) + 50) / 100) as u8
            }
            (Quality::Absolute(value), Some(source)) => value.min(source),
            (Quality::Adaptive(value), Some(source)) if source <= 90 => {
                value.min(qiniu_correction(source, context))
            }
            (Quality::Relative(value), None)
            | (Quality::Absolute(value), None)
            | (Quality::Adaptive(value), _)
            | (Quality::Forced(value), _) => value,
        };
        resolved.clamp(1, 100)
    }
}

impl Quality {
    /// Reads the canonical form's arguments: OSS's `q_`/`Q_`, or the extensions `adaptive_` and
    /// `forced_`; with several, `Q` wins, then `q` (OSS: "如果同时指定了 q 和 Q，按 Q 来处理").
    pub(crate) fn from_canonical(arguments: &[&str]) -> Result<Quality, PipelineError> {
        let mut params = Params::key_first(ACTION, arguments)?;
        let relative = params.take_integer("q", QUALITY_RANGE)?;
        let absolute = params.take_integer("Q", QUALITY_RANGE)?;
        let adaptive = params.take_integer("adaptive", QUALITY_RANGE)?;
        let forced = params.take_integer("forced", QUALITY_RANGE)?;
        params.finish()?;
        let percent = |value: u32| u8::try_from(value).unwrap_or(100);
        match (absolute, relative, adaptive, forced) {
            (Some(value), ..) => Ok(Quality::Absolute(percent(value))),
            (None, Some(value), ..) => Ok(Quality::Relative(percent(value))),
            (None, None, Some(value), _) => Ok(Quality::Adaptive(percent(value))),
            (None, None, None, Some(value)) => Ok(Quality::Forced(percent(value))),
            (None, None, None, None) => Err(PipelineError::missing_argument(
                "quality: one of q (relative) or Q (absolute) is required",
            )),
        }
    }
}

/// `min(90, srcQ * sqrt(srcArea / dstArea))`, rounded to the nearest integer. Shrinking an
/// image hides compression artefacts less, so Qiniu lets the quality rise with the shrink
/// factor, up to 90.
fn qiniu_correction(source_quality: u8, context: &QualityContext) -> u8 {
    let source_area = context.source_pixels.max(1) as f64;
    let output_area = context.output_pixels.max(1) as f64;
    let corrected = f64::from(source_quality) * (source_area / output_area).sqrt();
    corrected.min(QINIU_CORRECTION_CAP).round() as u8
}

/// The encoder quality for an optional request: [`DEFAULT_QUALITY`] when none was made.
pub fn resolve(quality: Option<Quality>, context: &QualityContext) -> u8 {
    quality.map_or(DEFAULT_QUALITY, |quality| quality.resolve(context))
}

/// Canonical rendering, in OSS syntax where OSS has the concept: `quality,q_80`,
/// `quality,Q_80`; the Qiniu semantics use the extension parameters `adaptive_80` and
/// `forced_80`.
impl fmt::Display for Quality {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Quality::Relative(value) => write!(f, "quality,q_{value}"),
            Quality::Absolute(value) => write!(f, "quality,Q_{value}"),
            Quality::Adaptive(value) => write!(f, "quality,adaptive_{value}"),
            Quality::Forced(value) => write!(f, "quality,forced_{value}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn context(
        source_quality: Option<u8>,
        source: (u64, u64),
        output: (u64, u64),
    ) -> QualityContext {
        QualityContext {
            source_quality,
            source_pixels: source.0 * source.1,
            output_pixels: output.0 * output.1,
        }
    }

    #[test]
    fn vendor_examples_resolve_as_documented() {
        let same = |q| context(q, (640, 427), (640, 427));
        let table = [
            // OSS q: "原图质量是 100%，使用 90q 会得到质量为 90%；原图质量是 80%，使用 90q 会得到质量 72%"
            (Quality::Relative(90), same(Some(100)), 90),
            (Quality::Relative(90), same(Some(80)), 72),
            // Relative on a source without a known quality (WebP) acts as absolute.
            (Quality::Relative(90), same(None), 90),
            // OSS Q: 100 -> 90, 95 -> 90, 80 -> 80 (not raised to 90).
            (Quality::Absolute(90), same(Some(100)), 90),
            (Quality::Absolute(90), same(Some(95)), 90),
            (Quality::Absolute(90), same(Some(80)), 80),
            (Quality::Absolute(90), same(None), 90),
            // Qiniu: same size, source 80 -> correction 80 -> min(85, 80).
            (Quality::Adaptive(85), same(Some(80)), 80),
            // Qiniu: source above 90 disables the correction.
            (Quality::Adaptive(95), same(Some(95)), 95),
            (Quality::Adaptive(75), same(None), 75),
            // `!` forces the value.
            (Quality::Forced(100), same(Some(50)), 100),
        ];
        for (quality, context, expected) in table {
            assert_eq!(
                quality.resolve(&context),
                expected,
                "{quality:?} {context:?}"
            );
        }
    }

    #[test]
    fn qiniu_correction_grows_with_the_shrink_factor_up_to_90() {
        // Halving both sides quadruples the area ratio: 50 * sqrt(4) = 100, capped at 90.
        let halved = context(Some(50), (640, 400), (320, 200));
        assert_eq!(Quality::Adaptive(100).resolve(&halved), 90);
        // A 40% area ratio: 60 * sqrt(640*400 / (512*320)) = 60 * 1.25 = 75.
        let shrunk = context(Some(60), (640, 400), (512, 320));
        assert_eq!(Quality::Adaptive(100).resolve(&shrunk), 75);
        assert_eq!(Quality::Adaptive(70).resolve(&shrunk), 70);
        // Enlarging lowers the correction: 80 * sqrt(1/4) = 40.
        let enlarged = context(Some(80), (100, 100), (200, 200));
        assert_eq!(Quality::Adaptive(75).resolve(&enlarged), 40);
    }

    #[test]
    fn no_request_means_the_default_and_results_stay_in_range() {
        let context = context(Some(3), (10, 10), (10, 10));
        assert_eq!(resolve(None, &context), DEFAULT_QUALITY);
        assert_eq!(Quality::Relative(1).resolve(&context), 1);
    }

    #[test]
    fn renders_in_the_canonical_syntax() {
        assert_eq!(Quality::Relative(80).to_string(), "quality,q_80");
        assert_eq!(Quality::Absolute(80).to_string(), "quality,Q_80");
        assert_eq!(Quality::Adaptive(75).to_string(), "quality,adaptive_75");
        assert_eq!(Quality::Forced(100).to_string(), "quality,forced_100");
    }
}
