//! OSS `style/<name>`: a processing string saved under a name in the bucket ("图片样式"),
//! found through the caller's [`StyleLookup`]. Qiniu commands and the old API name styles
//! the same way, so they expand them here too.

use super::parse_image;
use crate::ast::Pipeline;
use crate::error::{ErrorCode, PipelineError};
use crate::parse::StyleLookup;

/// Style names: 1-63 characters of letters, digits, `_`, `-` and `.` (OSS document 2.2).
const STYLE_NAME_MAX: usize = 63;

/// The pipeline saved under the style `name`; its errors say which style they are in.
pub(crate) fn expand_style(
    name: &str,
    styles: &dyn StyleLookup,
) -> Result<Pipeline, PipelineError> {
    let valid = !name.is_empty()
        && name.len() <= STYLE_NAME_MAX
        && name
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || matches!(byte, b'_' | b'-' | b'.'));
    if !valid {
        return Err(PipelineError::invalid_argument(format!(
            "style: '{name}' is not a style name (1-63 letters, digits, '_', '-', '.')"
        )));
    }
    let body = styles.style(name).ok_or_else(|| {
        PipelineError::new(
            ErrorCode::NoSuchStyle,
            format!("style: no style named '{name}'"),
        )
    })?;
    if body.contains('|') {
        return Err(PipelineError::invalid_argument(format!(
            "style: style '{name}' may hold image actions only, not '|' parts"
        )));
    }
    parse_image(&body).map_err(|mut error| {
        error.message = format!("style '{name}': {}", error.message);
        error
    })
}
