//! Qiniu `imageMogr2/<parameter>/<value>/...`: every parameter of the document, in any
//! order; each becomes a step in the order written (`thumbnail`, `crop`, `rotate`, `blur`,
//! `sharpen`, `auto-orient`) or an output setting (`format`, `quality`, `interlace`,
//! `size-limit`). See the [module documentation](super) for the rules.

use super::values::{crop_gravity, quality};
use super::{crop, next_value, push_auto_orient, thumbnail};
use crate::ast::{OutputSettings, Pipeline, Step};
use crate::error::PipelineError;
use crate::ops::blur::{Blur, RADIUS_RANGE};
use crate::ops::format::parse_argument;
use crate::ops::gravity::Gravity;
use crate::ops::rotate::Rotate;
use crate::ops::sharpen::{self, Sharpen};
use crate::ops::size_limit::{SizeLimit, SizeLimitValue};
use crate::parse::lex::{integer_in, thousandths, zero_or_one};

/// Reads the parameters after `imageMogr2/`.
pub(super) fn parse(parameters: &str, pipeline: &mut Pipeline) -> Result<(), PipelineError> {
    // One trailing '/' is tolerated: `imageMogr2/thumbnail/100x/`.
    let parameters = parameters.strip_suffix('/').unwrap_or(parameters);
    if parameters.is_empty() {
        return Err(PipelineError::invalid_argument(
            "imageMogr2: no parameters (e.g. imageMogr2/thumbnail/100x)",
        ));
    }
    let mut segments = parameters.split('/');
    // "gravity 只会使其后的裁剪偏移受到影响": it holds for the crops after it in this step.
    let mut anchor = Gravity::NorthWest;
    while let Some(name) = segments.next() {
        let action = format!("imageMogr2/{name}");
        let mut value = || next_value(&action, &mut segments);
        match name {
            "thumbnail" => pipeline.steps.extend(thumbnail::parse(&value()?)?),
            "auto-orient" => push_auto_orient(pipeline),
            "strip" => pipeline.output.strip = true,
            "gravity" => anchor = crop_gravity(&action, &value()?)?,
            "crop" => pipeline
                .steps
                .extend(crop::parse(&value()?, anchor)?.map(Step::Crop)),
            "rotate" => pipeline.steps.push(Step::Rotate(rotate(&value()?)?)),
            "blur" => pipeline.steps.push(Step::Blur(blur(&value()?)?)),
            "sharpen" => pipeline
                .steps
                .extend(sharpen(&value()?)?.map(Step::Sharpen)),
            "format" | "quality" | "interlace" | "size-limit" => {
                read_output(name, &value()?, &mut pipeline.output)?;
            }
            "" => {
                return Err(PipelineError::invalid_argument(
                    "imageMogr2: empty parameter (check for '//')",
                ))
            }
            unknown => {
                return Err(PipelineError::invalid_argument(format!(
                    "imageMogr2: unknown parameter '{unknown}'"
                )))
            }
        }
    }
    Ok(())
}

/// An output setting: `format/<f>`, `quality/<q>[!]`, `interlace/<0|1>`, `size-limit/...`.
fn read_output(name: &str, value: &str, output: &mut OutputSettings) -> Result<(), PipelineError> {
    let action = format!("imageMogr2/{name}");
    match name {
        "format" => {
            output.format = Some(parse_argument(&action, value)?);
            // Qiniu converts any source to GIF.
            output.gif_requires_gif_source = false;
        }
        "quality" => output.quality = Some(quality(&action, value)?),
        "interlace" => output.interlace = Some(zero_or_one(&action, value)?),
        _ => output.size_limit = Some(size_limit(&action, value)?),
    }
    Ok(())
}

/// `rotate/<1-360>`, without OSS's rule on the input's size.
fn rotate(text: &str) -> Result<Rotate, PipelineError> {
    let degrees = integer_in("imageMogr2/rotate", text, text, 1..=360)?;
    Ok(Rotate {
        degrees,
        limit_source_side: false,
    })
}

/// `blur/<radius>x<sigma>`: radius 1-50, sigma > 0 with up to three decimals.
fn blur(text: &str) -> Result<Blur, PipelineError> {
    const BLUR: &str = "imageMogr2/blur";
    let (radius, sigma) = text.split_once('x').ok_or_else(|| {
        PipelineError::invalid_argument(format!("{BLUR}: '{text}' is not <radius>x<sigma>"))
    })?;
    Ok(Blur {
        radius: integer_in(BLUR, text, radius, RADIUS_RANGE)?,
        sigma_milli: thousandths(BLUR, "sigma", sigma)?,
    })
}

/// `sharpen/1` sharpens at OSS's recommended strength; `sharpen/0` does nothing ("图片是否锐化，
/// 当设置值为1时打开锐化效果").
fn sharpen(text: &str) -> Result<Option<Sharpen>, PipelineError> {
    let on = zero_or_one("imageMogr2/sharpen", text)?;
    Ok(on.then_some(Sharpen {
        value: sharpen::RECOMMENDED,
    }))
}

/// `size-limit/<n>[k|m][!]` or `$(fsize)[!]`: `k` and `m` are 1024 and 1024 * 1024
/// (case-insensitive); a bare number is bytes; `!` enforces the limit for every format.
fn size_limit(action: &str, text: &str) -> Result<SizeLimit, PipelineError> {
    let (body, force) = match text.strip_suffix('!') {
        Some(body) => (body, true),
        None => (text, false),
    };
    if body == "$(fsize)" {
        return Ok(SizeLimit {
            value: SizeLimitValue::SourceSize,
            force,
        });
    }
    let (digits, unit) = match body.char_indices().last() {
        Some((index, 'k' | 'K')) => (&body[..index], 1024),
        Some((index, 'm' | 'M')) => (&body[..index], 1024 * 1024),
        _ => (body, 1),
    };
    let invalid = || {
        PipelineError::invalid_argument(format!(
            "{action}: '{text}' is not a size (<n>, <n>k, <n>m or $(fsize), optionally \
             followed by !)"
        ))
    };
    if digits.is_empty() || !digits.bytes().all(|byte| byte.is_ascii_digit()) {
        return Err(invalid());
    }
    let number: u64 = digits.parse().map_err(|_| invalid())?;
    let bytes = number.checked_mul(unit).ok_or_else(invalid)?;
    if bytes == 0 {
        return Err(invalid());
    }
    Ok(SizeLimit {
        value: SizeLimitValue::Bytes(bytes),
        force,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qiniu_sizes_and_units() {
        let parse = |text| size_limit("size-limit", text);
        let bytes = |value, force| {
            Ok(SizeLimit {
                value: SizeLimitValue::Bytes(value),
                force,
            })
        };
        assert_eq!(parse("15k!"), bytes(15 * 1024, true));
        assert_eq!(parse("2m"), bytes(2 * 1024 * 1024, false));
        assert_eq!(parse("1000"), bytes(1000, false));
        assert_eq!(
            parse("$(fsize)"),
            Ok(SizeLimit {
                value: SizeLimitValue::SourceSize,
                force: false
            })
        );
        for bad in ["", "k", "0", "-1k", "1g", "99999999999999999999m"] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
