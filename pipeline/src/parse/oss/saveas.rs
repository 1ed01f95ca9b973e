//! OSS `|sys/saveas,o_<b64 object>[,b_<b64 bucket>]`: where the result is saved. A
//! `/notify,...` after it (asynchronous notification) is not implemented.

use crate::ast::SaveAs;
use crate::error::PipelineError;
use crate::parse::lex::{decode_base64_text, split_action, Params};

/// Object keys are at most 1023 bytes in OSS.
const OBJECT_KEY_MAX: usize = 1023;

/// The `|sys/...` parts after the processing: at most one `sys/saveas`.
pub(super) fn parse_sys_parts<'a>(
    parts: impl Iterator<Item = &'a str>,
) -> Result<Option<SaveAs>, PipelineError> {
    let mut save_as = None;
    for part in parts {
        let Some(sys) = part.strip_prefix("sys/") else {
            return Err(PipelineError::invalid_argument(format!(
                "only sys/saveas may follow '|', found '{part}'"
            )));
        };
        if save_as.is_some() {
            return Err(PipelineError::invalid_argument("sys/saveas is given twice"));
        }
        save_as = Some(parse_sys(sys)?);
    }
    Ok(save_as)
}

/// Parses what follows `sys/`: `saveas,o_...,b_...`, optionally followed by `/notify,...`.
fn parse_sys(text: &str) -> Result<SaveAs, PipelineError> {
    let mut actions = text.split('/');
    let (name, arguments) = split_action(actions.next().unwrap_or_default());
    if name != "saveas" {
        return Err(PipelineError::invalid_argument(format!(
            "unknown sys action '{name}' (expected saveas)"
        )));
    }
    let mut params = Params::key_first("saveas", &arguments)?;
    let object = params.take("o").ok_or_else(|| {
        PipelineError::missing_argument("saveas: o (the target object) is required")
    })?;
    let bucket = params.take("b");
    params.finish()?;
    let key = object_key(object)?;
    let bucket = bucket.map(bucket_name).transpose()?;
    if let Some(extra) = actions.next() {
        let (extra_name, _) = split_action(extra);
        return Err(if extra_name == "notify" {
            PipelineError::not_implemented(
                "notify: asynchronous notification is not implemented yet",
            )
        } else {
            PipelineError::invalid_argument(format!("unknown sys action '{extra_name}'"))
        });
    }
    Ok(SaveAs {
        bucket,
        key: Some(key),
    })
}

/// `o_`: 1-1023 bytes once decoded, not starting with `/` or `\`.
fn object_key(encoded: &str) -> Result<String, PipelineError> {
    let key = decode_base64_text("saveas", "o", encoded)?;
    if key.is_empty() || key.len() > OBJECT_KEY_MAX || key.starts_with(['/', '\\']) {
        return Err(PipelineError::invalid_argument(format!(
            "saveas: '{key}' is not a valid object name (1-1023 bytes, not starting with / or \\)"
        )));
    }
    Ok(key)
}

/// `b_`: not empty once decoded.
fn bucket_name(encoded: &str) -> Result<String, PipelineError> {
    let bucket = decode_base64_text("saveas", "b", encoded)?;
    if bucket.is_empty() {
        return Err(PipelineError::invalid_argument(
            "saveas: b decodes to an empty bucket",
        ));
    }
    Ok(bucket)
}
