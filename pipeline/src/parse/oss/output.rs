//! The OSS actions that set the output rather than add a step: `format,<name>`,
//! `quality,q_<1-100>|Q_<1-100>`, `interlace,<0|1>`, and `info` / `average-hue` / `codes`,
//! whose result is a JSON document ([`crate::ops::info`]).

use crate::ast::Pipeline;
use crate::codec::ImageFormat;
use crate::error::PipelineError;
use crate::ops::format::parse_argument;
use crate::ops::info::Document;
use crate::ops::quality::{Quality, QUALITY_RANGE};
use crate::parse::lex::{single_value, zero_or_one, Params};

/// `format,<name>`. OSS's GIF rule: `format,gif` converts only GIF sources
/// ([`crate::ast::OutputSettings::gif_requires_gif_source`]).
pub(super) fn read_format(
    arguments: &[&str],
    pipeline: &mut Pipeline,
) -> Result<(), PipelineError> {
    let format = parse_argument("format", single_value("format", arguments)?)?;
    pipeline.output.format = Some(format);
    pipeline.output.gif_requires_gif_source = format == ImageFormat::Gif;
    Ok(())
}

/// `quality,q_<relative>` or `Q_<absolute>`: "如果同时指定了 q 和 Q，按 Q 来处理".
pub(super) fn read_quality(
    arguments: &[&str],
    pipeline: &mut Pipeline,
) -> Result<(), PipelineError> {
    let mut params = Params::key_first("quality", arguments)?;
    let relative = params.take_integer("q", QUALITY_RANGE)?;
    let absolute = params.take_integer("Q", QUALITY_RANGE)?;
    params.finish()?;
    let percent = |value: u32| u8::try_from(value).unwrap_or(100);
    let quality = match (absolute, relative) {
        (Some(value), _) => Quality::Absolute(percent(value)),
        (None, Some(value)) => Quality::Relative(percent(value)),
        (None, None) => {
            return Err(PipelineError::missing_argument(
                "quality: one of q (relative) or Q (absolute) is required",
            ))
        }
    };
    pipeline.output.quality = Some(quality);
    Ok(())
}

/// `interlace,<0|1>`.
pub(super) fn read_interlace(
    arguments: &[&str],
    pipeline: &mut Pipeline,
) -> Result<(), PipelineError> {
    let interlace = zero_or_one("interlace", single_value("interlace", arguments)?)?;
    pipeline.output.interlace = Some(interlace);
    Ok(())
}

/// `info`: the source's size, format, dimensions and EXIF, as JSON.
pub(super) fn read_info(arguments: &[&str], pipeline: &mut Pipeline) -> Result<(), PipelineError> {
    read_document("info", Document::OssInfo, arguments, pipeline)
}

/// `average-hue`: the source's mean colour, as JSON.
pub(super) fn read_average_hue(
    arguments: &[&str],
    pipeline: &mut Pipeline,
) -> Result<(), PipelineError> {
    read_document("average-hue", Document::OssAverageHue, arguments, pipeline)
}

/// `codes`: the QR codes and barcodes in the picture, as JSON.
pub(super) fn read_codes(arguments: &[&str], pipeline: &mut Pipeline) -> Result<(), PipelineError> {
    read_document("codes", Document::OssCodes, arguments, pipeline)
}

/// An action that asks for `document` and takes no parameters.
fn read_document(
    action: &str,
    document: Document,
    arguments: &[&str],
    pipeline: &mut Pipeline,
) -> Result<(), PipelineError> {
    if !arguments.is_empty() {
        return Err(PipelineError::invalid_argument(format!(
            "{action}: takes no parameters, got '{}'",
            arguments.join(",")
        )));
    }
    pipeline.output.document = Some(document);
    Ok(())
}
