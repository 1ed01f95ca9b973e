//! The dialect parsers: one module per vendor language, each producing the same
//! [`crate::ast::Command`]s.
//!
//! * [`oss`]: Aliyun OSS `x-oss-process` strings (`image/...`, `style/<name>`,
//!   `|sys/saveas,...`), and the canonical form (OSS syntax plus extensions, see
//!   [`crate::ast`]).
//! * [`oss_legacy`]: the OSS old image-service API (`@100w_100h_90Q.jpg`, `@!<style>`), written
//!   as an `x-oss-process` value starting with `@`.
//! * [`qiniu`]: Qiniu `fops` / `persistentOps` strings (`imageMogr2/...|saveas/...;...`).
//!
//! Shared here: style lookup for OSS `style/<name>`, and the small decoders both dialects need
//! (percent-encoding, URL-safe base64, integers with ranges).

pub mod oss;
pub mod oss_legacy;
pub mod qiniu;

use crate::ast::Pipeline;
use crate::error::PipelineError;
use base64::Engine as _;
use std::borrow::Cow;
use std::collections::HashMap;
use std::hash::BuildHasher;
use std::ops::RangeInclusive;

/// Finds the processing string saved under a style name (OSS `style/<name>`, a bucket's
/// "图片样式"). The parser stays pure: where styles are stored is the caller's business.
pub trait StyleLookup {
    /// The style's processing string (`image/...`), or `None` if there is no such style.
    fn style(&self, name: &str) -> Option<String>;
}

/// A lookup with no styles at all: every `style/<name>` is `NoSuchStyle`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NoStyles;

impl StyleLookup for NoStyles {
    fn style(&self, _name: &str) -> Option<String> {
        None
    }
}

/// Styles held in memory, name to processing string.
impl<S: BuildHasher> StyleLookup for HashMap<String, String, S> {
    fn style(&self, name: &str) -> Option<String> {
        self.get(name).cloned()
    }
}

/// Reads the canonical form written by `Display for Pipeline`.
pub fn parse_canonical(text: &str) -> Result<Pipeline, PipelineError> {
    oss::parse_image(text, oss::Grammar::Canonical)
}

/// Splits OSS-style `k_v` arguments (as the OSS dialect and the canonical form write them),
/// refusing malformed and duplicated keys, naming `action` in the error.
pub(crate) fn key_values<'a>(
    action: &str,
    arguments: &[&'a str],
) -> Result<Vec<(&'a str, &'a str)>, PipelineError> {
    let mut entries: Vec<(&str, &str)> = Vec::with_capacity(arguments.len());
    for argument in arguments {
        let Some((key, value)) = argument.split_once('_').filter(|(key, _)| !key.is_empty()) else {
            return Err(PipelineError::invalid_argument(format!(
                "{action}: '{argument}' is not a key_value parameter"
            )));
        };
        if entries.iter().any(|(seen, _)| *seen == key) {
            return Err(PipelineError::invalid_argument(format!(
                "{action}: parameter {key} is given twice"
            )));
        }
        entries.push((key, value));
    }
    Ok(entries)
}

/// Undoes percent-encoding (`%3E` -> `>`), for strings that reach us still URL-encoded (a
/// `persistentOps` in a put policy, an SDK that encodes `=` in base64). A `%` not followed by
/// two hex digits is kept as it is, so decoding an already decoded string is harmless for the
/// characters these languages use.
pub(crate) fn percent_decode<'a>(
    action: &str,
    text: &'a str,
) -> Result<Cow<'a, str>, PipelineError> {
    if !text.contains('%') {
        return Ok(Cow::Borrowed(text));
    }
    let bytes = text.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while let Some(&byte) = bytes.get(index) {
        let escaped = bytes
            .get(index + 1..index + 3)
            .filter(|_| byte == b'%')
            .and_then(|hex| std::str::from_utf8(hex).ok())
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match escaped {
            Some(value) => {
                decoded.push(value);
                index += 3;
            }
            None => {
                decoded.push(byte);
                index += 1;
            }
        }
    }
    String::from_utf8(decoded).map(Cow::Owned).map_err(|_| {
        PipelineError::invalid_argument(format!(
            "{action}: '{text}' is not valid UTF-8 once percent-decoded"
        ))
    })
}

/// Decodes URL-safe base64 text (padding present or absent, `%3D` accepted for `=`) into a
/// UTF-8 string, as OSS saveas `o_`/`b_` and Qiniu EncodedEntryURI carry names.
pub(crate) fn decode_base64_text(
    action: &str,
    what: &str,
    value: &str,
) -> Result<String, PipelineError> {
    let value = percent_decode(action, value)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD_INDIFFERENT
        .decode(value.as_bytes())
        .map_err(|error| {
            PipelineError::invalid_argument(format!(
                "{action}: {what} '{value}' is not URL-safe base64 ({error})"
            ))
        })?;
    String::from_utf8(bytes).map_err(|_| {
        PipelineError::invalid_argument(format!(
            "{action}: {what} '{value}' does not decode to UTF-8 text"
        ))
    })
}

/// Parses a decimal integer written as digits only, and checks it against `range`. The
/// message shows the parameter as written (`resize: w_5000 is out of range 1-4096`).
pub(crate) fn integer_in(
    action: &str,
    shown: &str,
    digits: &str,
    range: RangeInclusive<u32>,
) -> Result<u32, PipelineError> {
    if digits.is_empty() || !digits.bytes().all(|byte| byte.is_ascii_digit()) {
        return Err(PipelineError::invalid_argument(format!(
            "{action}: {shown} is not a whole number"
        )));
    }
    let out_of_range = || {
        let (start, end) = (*range.start(), *range.end());
        let bounds = if end == u32::MAX {
            format!("must be at least {start}")
        } else {
            format!("is out of range {start}-{end}")
        };
        PipelineError::invalid_argument(format!("{action}: {shown} {bounds}"))
    };
    let value: u32 = match digits.parse() {
        Ok(value) => value,
        // Digits only, so the one way to fail is overflow.
        Err(_) if *range.end() == u32::MAX => {
            return Err(PipelineError::invalid_argument(format!(
                "{action}: {shown} is too large"
            )))
        }
        Err(_) => return Err(out_of_range()),
    };
    if !range.contains(&value) {
        return Err(out_of_range());
    }
    Ok(value)
}

/// Parses a decimal integer written as digits with an optional leading `-`, and checks it
/// against `range` (`bright: 150 is out of range -100 to 100`). Positional values (`bright,50`)
/// have no key, so the message shows the value alone.
pub(crate) fn signed_integer_in(
    action: &str,
    text: &str,
    range: RangeInclusive<i32>,
) -> Result<i32, PipelineError> {
    let digits = text.strip_prefix('-').unwrap_or(text);
    if digits.is_empty() || !digits.bytes().all(|byte| byte.is_ascii_digit()) {
        return Err(PipelineError::invalid_argument(format!(
            "{action}: '{text}' is not a whole number"
        )));
    }
    let out_of_range = || {
        PipelineError::invalid_argument(format!(
            "{action}: {text} is out of range {} to {}",
            range.start(),
            range.end()
        ))
    };
    // Digits only after the sign, so the one way to fail is overflow: out of range too.
    let value: i32 = text.parse().map_err(|_| out_of_range())?;
    if !range.contains(&value) {
        return Err(out_of_range());
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;

    #[test]
    fn percent_decoding_handles_escapes_and_leaves_the_rest() {
        let table = [
            ("200x300%3E", "200x300>"),
            ("80%21", "80!"),
            ("dGVzdA%3D%3D", "dGVzdA=="),
            ("100%", "100%"),
            ("%zz", "%zz"),
            ("plain", "plain"),
        ];
        for (input, expected) in table {
            assert_eq!(percent_decode("t", input).unwrap(), expected, "{input}");
        }
        assert_eq!(
            percent_decode("t", "%FF").unwrap_err().code,
            ErrorCode::InvalidArgument
        );
    }

    #[test]
    fn base64_text_accepts_padding_present_absent_or_encoded() {
        for input in ["dGVzdC5qcGc", "dGVzdC5qcGc=", "dGVzdC5qcGc%3D"] {
            assert_eq!(
                decode_base64_text("t", "o", input).unwrap(),
                "test.jpg",
                "{input}"
            );
        }
        // URL-safe alphabet: "??>" encodes to "Pz8-" (standard would be "Pz8+").
        assert_eq!(decode_base64_text("t", "o", "Pz8-").unwrap(), "??>");
        assert!(decode_base64_text("t", "o", "not base64!").is_err());
    }

    #[test]
    fn integers_are_digits_only_and_in_range() {
        assert_eq!(integer_in("resize", "w_100", "100", 1..=4096), Ok(100));
        let table = [
            ("5000", "resize: w_5000 is out of range 1-4096"),
            ("0", "resize: w_0 is out of range 1-4096"),
            (
                "99999999999",
                "resize: w_99999999999 is out of range 1-4096",
            ),
            ("-1", "resize: w_-1 is not a whole number"),
            ("+1", "resize: w_+1 is not a whole number"),
            ("1.5", "resize: w_1.5 is not a whole number"),
            ("", "resize: w_ is not a whole number"),
        ];
        for (digits, message) in table {
            let error = integer_in("resize", &format!("w_{digits}"), digits, 1..=4096).unwrap_err();
            assert_eq!(error.code, ErrorCode::InvalidArgument);
            assert_eq!(error.message, message);
        }
    }

    #[test]
    fn styles_come_from_the_lookup() {
        let mut styles = HashMap::new();
        styles.insert("thumb".to_string(), "image/resize,w_100".to_string());
        assert_eq!(styles.style("thumb").as_deref(), Some("image/resize,w_100"));
        assert_eq!(styles.style("other"), None);
        assert_eq!(NoStyles.style("thumb"), None);
    }
}
