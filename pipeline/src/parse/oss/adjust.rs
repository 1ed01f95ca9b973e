//! The OSS actions that turn or retouch the image in place: `rotate,<0-360>`,
//! `auto-orient,<0|1>`, `blur,r_<1-50>,s_<1-50>`, `bright,<-100..100>`,
//! `contrast,<-100..100>` and `sharpen,<50-399>`. The rules are in the operations' modules.

use crate::ast::{Pipeline, Step};
use crate::error::PipelineError;
use crate::ops::blur::{Blur, RADIUS_RANGE};
use crate::ops::bright::{Bright, ADJUST_RANGE};
use crate::ops::contrast::Contrast;
use crate::ops::rotate::{Rotate, DEGREE_RANGE};
use crate::ops::sharpen::{Sharpen, SHARPEN_RANGE};
use crate::parse::lex::{integer_in, signed_integer_in, single_value, zero_or_one, Params};
use std::ops::RangeInclusive;

/// OSS's range of the blur's standard deviation ("s: [1,50]").
const SIGMA_RANGE: RangeInclusive<u32> = 1..=50;

/// `rotate,<degrees>`, with OSS's rule on the input's size.
pub(super) fn read_rotate(
    arguments: &[&str],
    pipeline: &mut Pipeline,
) -> Result<(), PipelineError> {
    let value = single_value("rotate", arguments)?;
    let degrees = integer_in("rotate", value, value, DEGREE_RANGE)?;
    pipeline.steps.push(Step::Rotate(Rotate {
        degrees,
        limit_source_side: true,
    }));
    Ok(())
}

/// `auto-orient,<0|1>`. "0：表示按原图默认方向，不进行自动旋转。" "1：先进行图片旋转，然后再进行
/// 缩略": the orientation is the source's, so the image is made upright before every other
/// step, wherever the action is written (the vendor's `resize,w_100/auto-orient,1` gives
/// 100x127 on a rotated 4:3 photo), and only once.
pub(super) fn read_auto_orient(
    arguments: &[&str],
    pipeline: &mut Pipeline,
) -> Result<(), PipelineError> {
    let on = zero_or_one("auto-orient", single_value("auto-orient", arguments)?)?;
    if on && !pipeline.steps.contains(&Step::AutoOrient) {
        pipeline.steps.insert(0, Step::AutoOrient);
    }
    Ok(())
}

/// `blur,r_<1-50>,s_<1-50>`: both are required ("是否必须: 是") and whole numbers.
pub(super) fn read_blur(arguments: &[&str], pipeline: &mut Pipeline) -> Result<(), PipelineError> {
    let mut params = Params::key_first("blur", arguments)?;
    let radius = params.take_integer("r", RADIUS_RANGE)?;
    let sigma = params.take_integer("s", SIGMA_RANGE)?;
    params.finish()?;
    let blur = match (radius, sigma) {
        (Some(radius), Some(sigma)) => Blur {
            radius,
            sigma_milli: sigma * 1000,
        },
        (None, _) => {
            return Err(PipelineError::missing_argument(
                "blur: r (the radius, 1-50) is required",
            ))
        }
        (_, None) => {
            return Err(PipelineError::missing_argument(
                "blur: s (the standard deviation, 1-50) is required",
            ))
        }
    };
    pipeline.steps.push(Step::Blur(blur));
    Ok(())
}

/// `bright,<value>`.
pub(super) fn read_bright(
    arguments: &[&str],
    pipeline: &mut Pipeline,
) -> Result<(), PipelineError> {
    let bright = bright(single_value("bright", arguments)?)?;
    pipeline.steps.push(Step::Bright(bright));
    Ok(())
}

/// `contrast,<value>`.
pub(super) fn read_contrast(
    arguments: &[&str],
    pipeline: &mut Pipeline,
) -> Result<(), PipelineError> {
    let contrast = contrast(single_value("contrast", arguments)?)?;
    pipeline.steps.push(Step::Contrast(contrast));
    Ok(())
}

/// `sharpen,<value>`.
pub(super) fn read_sharpen(
    arguments: &[&str],
    pipeline: &mut Pipeline,
) -> Result<(), PipelineError> {
    let sharpen = sharpen(single_value("sharpen", arguments)?)?;
    pipeline.steps.push(Step::Sharpen(sharpen));
    Ok(())
}

/// The value of `bright` (in [`ADJUST_RANGE`]).
fn bright(text: &str) -> Result<Bright, PipelineError> {
    signed_integer_in("bright", text, ADJUST_RANGE).map(|value| Bright { value })
}

/// The value of `contrast` (-100 to 100).
fn contrast(text: &str) -> Result<Contrast, PipelineError> {
    signed_integer_in("contrast", text, ADJUST_RANGE).map(|value| Contrast { value })
}

/// The value of `sharpen` (50-399).
fn sharpen(text: &str) -> Result<Sharpen, PipelineError> {
    integer_in("sharpen", text, text, SHARPEN_RANGE).map(|value| Sharpen { value })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;

    #[test]
    fn bright_values_are_whole_numbers_from_minus_100_to_100() {
        assert_eq!(bright("-100"), Ok(Bright { value: -100 }));
        assert_eq!(bright("100"), Ok(Bright { value: 100 }));
        assert_eq!(bright("0"), Ok(Bright { value: 0 }));
        let table = [
            ("101", "bright: 101 is out of range -100 to 100"),
            ("-101", "bright: -101 is out of range -100 to 100"),
            (
                "99999999999",
                "bright: 99999999999 is out of range -100 to 100",
            ),
            ("1.5", "bright: '1.5' is not a whole number"),
            ("+5", "bright: '+5' is not a whole number"),
            ("-", "bright: '-' is not a whole number"),
            ("", "bright: '' is not a whole number"),
        ];
        for (text, message) in table {
            let error = bright(text).unwrap_err();
            assert_eq!(
                (error.code, error.message.as_str()),
                (ErrorCode::InvalidArgument, message)
            );
        }
    }

    #[test]
    fn contrast_values_are_whole_numbers_from_minus_100_to_100() {
        assert_eq!(contrast("-50"), Ok(Contrast { value: -50 }));
        let error = contrast("200").unwrap_err();
        assert_eq!(
            (error.code, error.message.as_str()),
            (
                ErrorCode::InvalidArgument,
                "contrast: 200 is out of range -100 to 100"
            )
        );
    }

    #[test]
    fn sharpen_values_are_50_to_399() {
        assert_eq!(sharpen("100"), Ok(Sharpen { value: 100 }));
        assert_eq!(sharpen("50"), Ok(Sharpen { value: 50 }));
        assert_eq!(sharpen("399"), Ok(Sharpen { value: 399 }));
        // The vendor's own error example: "image/sharpen,10 ... 不在sharpen参数的取值范围[50,399]内".
        for (text, message) in [
            ("10", "sharpen: 10 is out of range 50-399"),
            ("400", "sharpen: 400 is out of range 50-399"),
            ("abc", "sharpen: abc is not a whole number"),
        ] {
            let error = sharpen(text).unwrap_err();
            assert_eq!(
                (error.code, error.message.as_str()),
                (ErrorCode::InvalidArgument, message)
            );
        }
    }
}
