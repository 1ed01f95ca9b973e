//! `format`: which encoding the result gets.
//!
//! OSS `format,<name>` and Qiniu `format/<name>` both name one of the [`ImageFormat`]s. The
//! choice is an output setting, collected wherever it appears; without one the result keeps
//! the source's format. One vendor rule needs the source to resolve: OSS converts to GIF only
//! when the source is a GIF ("将 gif 格式保存成 gif 格式，非 gif 格式是按原图格式保存"), while
//! Qiniu converts anything to GIF; [`crate::ast::OutputSettings::gif_requires_gif_source`]
//! records which rule the dialect asked for, and [`resolve`] applies it.

use crate::ast::OutputSettings;
use crate::codec::ImageFormat;
use crate::error::PipelineError;
use crate::parse::lex::single_value;

/// The action's name in the canonical form (both vendors').
pub(crate) const ACTION: &str = "format";

/// The canonical spelling of "convert to GIF whatever the source" (Qiniu's rule); plain
/// `format,gif` is OSS's rule.
const GIF_FROM_ANY: &str = "gif-from-any";

/// The format of a result. Every format we can decode we can also write, so this is the same
/// type as [`ImageFormat`] (the codecs' vocabulary), named for the places where "the output's
/// format" is meant.
pub type OutputFormat = ImageFormat;

/// Parses the value of a `format` action (either vendor's, and the canonical form's), with an
/// error naming the dialect's action.
pub fn parse_argument(action: &str, value: &str) -> Result<ImageFormat, PipelineError> {
    ImageFormat::from_name(value).ok_or_else(|| {
        let names: Vec<&str> = ImageFormat::ALL.iter().map(|f| f.extension()).collect();
        PipelineError::invalid_argument(format!(
            "{action}: unknown format '{value}' (expected one of {})",
            names.join(", ")
        ))
    })
}

/// The canonical text of the settings' format, if they name one: `format,<extension>`, or
/// `format,gif-from-any` for Qiniu's GIF rule.
pub(crate) fn canonical_text(output: &OutputSettings) -> Option<String> {
    let format = output.format?;
    Some(match format {
        ImageFormat::Gif if !output.gif_requires_gif_source => format!("{ACTION},{GIF_FROM_ANY}"),
        _ => format!("{ACTION},{}", format.extension()),
    })
}

/// Reads the canonical `format,<value>` into `output`: the format, and which GIF rule.
pub(crate) fn read_canonical(
    arguments: &[&str],
    output: &mut OutputSettings,
) -> Result<(), PipelineError> {
    let value = single_value(ACTION, arguments)?;
    let format = match value {
        GIF_FROM_ANY => ImageFormat::Gif,
        _ => parse_argument(ACTION, value)?,
    };
    output.format = Some(format);
    output.gif_requires_gif_source = format == ImageFormat::Gif && value != GIF_FROM_ANY;
    Ok(())
}

/// The format the result is written in, given the settings and the source's format.
pub fn resolve(settings: &OutputSettings, source: ImageFormat) -> ImageFormat {
    let source = source.default_output();
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
    fn unknown_names_are_invalid_arguments_naming_the_action() {
        let error = parse_argument("format", "jxl").unwrap_err();
        assert_eq!(error.code, ErrorCode::InvalidArgument);
        assert!(error.message.starts_with("format: unknown format 'jxl'"));
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
