//! The one argument reader: how every dialect and the canonical form split an action into its
//! parameters, take them one by one with typed readers and ranges, and decode the small value
//! syntaxes they share (percent-encoding, URL-safe base64 text, whole numbers, decimals, 0/1).
//!
//! Parameters come in two spellings: key first, `w_100` (OSS and the canonical form), and
//! value first, `100w` (the OSS old API). [`Params`] holds either and hands out one key at a
//! time, so that whatever is left at the end is a parameter nobody knows ([`Params::finish`]).
//! Error messages show a parameter as it was written (`resize: w_5000 is out of range 1-4096`).

use crate::codec::Rgb;
use crate::error::PipelineError;
use base64::Engine as _;
use std::borrow::Cow;
use std::ops::RangeInclusive;
use std::str::FromStr;

/// Splits `name,arg,arg` into the action's name and its arguments.
pub(crate) fn split_action(text: &str) -> (&str, Vec<&str>) {
    let mut items = text.split(',');
    let name = items.next().unwrap_or_default();
    (name, items.collect())
}

/// How the parameters of an action are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Spelling {
    /// `w_100`: OSS and the canonical form.
    KeyFirst,
    /// `100w`: the OSS old API.
    ValueFirst,
}

/// The named parameters of one action, taken one by one.
#[derive(Debug)]
pub(crate) struct Params<'a> {
    action: &'a str,
    entries: Vec<(&'a str, &'a str)>,
    spelling: Spelling,
}

impl<'a> Params<'a> {
    /// Splits `k_v` arguments, refusing malformed and duplicated keys, naming `action` in
    /// errors.
    pub(crate) fn key_first(action: &'a str, arguments: &[&'a str]) -> Result<Self, PipelineError> {
        let mut entries: Vec<(&str, &str)> = Vec::with_capacity(arguments.len());
        for argument in arguments {
            let Some((key, value)) = argument.split_once('_').filter(|(key, _)| !key.is_empty())
            else {
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
        Ok(Params {
            action,
            entries,
            spelling: Spelling::KeyFirst,
        })
    }

    /// Splits `100w_100h_1e` into `<value><key>` pairs (a value of digits and `-`, a key of
    /// letters). A key given twice keeps its last value; what is left at the end comes out in
    /// key order.
    pub(crate) fn value_first(action: &'a str, text: &'a str) -> Result<Self, PipelineError> {
        let mut entries: Vec<(&str, &str)> = Vec::new();
        for pair in text.split('_') {
            let split = pair
                .find(|c: char| !(c.is_ascii_digit() || c == '-'))
                .unwrap_or(pair.len());
            let (value, key) = pair.split_at(split);
            if value.is_empty() || key.is_empty() || !key.bytes().all(|b| b.is_ascii_alphabetic()) {
                return Err(PipelineError::invalid_argument(format!(
                    "'{pair}' is not a <number><key> parameter (e.g. 100w)"
                )));
            }
            entries.retain(|(seen, _)| *seen != key);
            entries.push((key, value));
        }
        entries.sort_by_key(|(key, _)| *key);
        Ok(Params {
            action,
            entries,
            spelling: Spelling::ValueFirst,
        })
    }

    /// The parameter as it was written: `w_100` or `100w`.
    pub(crate) fn shown(&self, key: &str, value: &str) -> String {
        match self.spelling {
            Spelling::KeyFirst => format!("{key}_{value}"),
            Spelling::ValueFirst => format!("{value}{key}"),
        }
    }

    /// The value of `key`, taken out.
    pub(crate) fn take(&mut self, key: &str) -> Option<&'a str> {
        let position = self.entries.iter().position(|(seen, _)| *seen == key)?;
        Some(self.entries.remove(position).1)
    }

    /// A whole number written as digits only, within `range`.
    pub(crate) fn take_integer(
        &mut self,
        key: &str,
        range: RangeInclusive<u32>,
    ) -> Result<Option<u32>, PipelineError> {
        self.take_integer_for(self.action, key, range)
    }

    /// [`Params::take_integer`], naming another action in the error (the old API's parameters
    /// belong to different actions).
    pub(crate) fn take_integer_for(
        &mut self,
        action: &str,
        key: &str,
        range: RangeInclusive<u32>,
    ) -> Result<Option<u32>, PipelineError> {
        let Some(value) = self.take(key) else {
            return Ok(None);
        };
        integer_in(action, &self.shown(key, value), value, range).map(Some)
    }

    /// Any value Rust's own parser for `T` reads (the canonical form's signed offsets, byte
    /// counts, small numbers).
    pub(crate) fn take_parsed<T: FromStr>(
        &mut self,
        key: &str,
    ) -> Result<Option<T>, PipelineError> {
        let Some(value) = self.take(key) else {
            return Ok(None);
        };
        value.parse().map(Some).map_err(|_| {
            let shown = self.shown(key, value);
            PipelineError::invalid_argument(format!("{}: {shown} is not valid", self.action))
        })
    }

    /// `0` or `1`, absent being 0.
    pub(crate) fn take_flag(&mut self, key: &str) -> Result<bool, PipelineError> {
        Ok(self.take_integer(key, 0..=1)? == Some(1))
    }

    /// A whole number with an optional `-`, within `-limit..=limit`.
    pub(crate) fn take_signed(
        &mut self,
        key: &str,
        limit: u32,
    ) -> Result<Option<i32>, PipelineError> {
        let Some(value) = self.take(key) else {
            return Ok(None);
        };
        let shown = self.shown(key, value);
        let (negative, digits) = match value.strip_prefix('-') {
            Some(digits) => (true, digits),
            None => (false, value),
        };
        let magnitude = integer_in(self.action, &shown, digits, 0..=limit).map_err(|_| {
            PipelineError::invalid_argument(format!(
                "{}: {shown} is not a whole number in -{limit}-{limit}",
                self.action
            ))
        })?;
        let magnitude = i32::try_from(magnitude).unwrap_or(i32::MAX);
        Ok(Some(if negative { -magnitude } else { magnitude }))
    }

    /// `0` (false) or `1` (true).
    pub(crate) fn take_zero_or_one(&mut self, key: &str) -> Result<Option<bool>, PipelineError> {
        let Some(value) = self.take(key) else {
            return Ok(None);
        };
        match value {
            "0" => Ok(Some(false)),
            "1" => Ok(Some(true)),
            other => Err(PipelineError::invalid_argument(format!(
                "{}: {} must be 0 or 1",
                self.action,
                self.shown(key, other)
            ))),
        }
    }

    /// A parameter whose one allowed value is `expected` (`m_fast`): whether it is there.
    pub(crate) fn take_marker(&mut self, key: &str, expected: &str) -> Result<bool, PipelineError> {
        match self.take(key) {
            None => Ok(false),
            Some(value) if value == expected => Ok(true),
            Some(value) => Err(PipelineError::invalid_argument(format!(
                "{}: {key}_{value} is not valid (only {key}_{expected})",
                self.action
            ))),
        }
    }

    /// A name from a fixed set, read by `lookup`; `names` lists the set for the error.
    pub(crate) fn take_named<T>(
        &mut self,
        key: &str,
        lookup: impl Fn(&str) -> Option<T>,
        names: &str,
    ) -> Result<Option<T>, PipelineError> {
        let Some(value) = self.take(key) else {
            return Ok(None);
        };
        lookup(value).map(Some).ok_or_else(|| {
            PipelineError::invalid_argument(format!(
                "{}: {key}_{value} is not one of {names}",
                self.action
            ))
        })
    }

    /// An `RRGGBB` colour.
    pub(crate) fn take_colour(&mut self, key: &str) -> Result<Option<Rgb>, PipelineError> {
        let Some(hex) = self.take(key) else {
            return Ok(None);
        };
        Rgb::from_hex(hex).map(Some).ok_or_else(|| {
            PipelineError::invalid_argument(format!(
                "{}: {key}_{hex} is not a RRGGBB hex colour",
                self.action
            ))
        })
    }

    /// The first parameter nobody took, if any.
    pub(crate) fn first_left(&self) -> Option<(&'a str, &'a str)> {
        self.entries.first().copied()
    }

    /// Fails on the first parameter nobody took.
    pub(crate) fn finish(self) -> Result<(), PipelineError> {
        match self.first_left() {
            Some((key, value)) => Err(PipelineError::invalid_argument(format!(
                "{}: unknown parameter {}",
                self.action,
                self.shown(key, value)
            ))),
            None => Ok(()),
        }
    }
}

/// The one value of a positional action (`rotate,90`): `MissingArgument` without one,
/// `InvalidArgument` with several.
pub(crate) fn single_value<'a>(
    action: &str,
    arguments: &[&'a str],
) -> Result<&'a str, PipelineError> {
    match arguments {
        [value] if !value.is_empty() => Ok(value),
        [] | [_] => Err(PipelineError::missing_argument(format!(
            "{action}: a value is required ({action},<value>)"
        ))),
        _ => Err(PipelineError::invalid_argument(format!(
            "{action}: takes one value, got '{}'",
            arguments.join(",")
        ))),
    }
}

/// `0` (false) or `1` (true).
pub(crate) fn zero_or_one(action: &str, value: &str) -> Result<bool, PipelineError> {
    match value {
        "0" => Ok(false),
        "1" => Ok(true),
        other => Err(PipelineError::invalid_argument(format!(
            "{action}: '{other}' must be 0 or 1"
        ))),
    }
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

/// [`decode_base64_text`], failing with `BadRequest`: the OSS watermark's rule for base64
/// that does not decode ("Input is not base64 decoding."), which the canonical form keeps.
pub(crate) fn decode_base64_or_bad_request(
    action: &str,
    what: &str,
    value: &str,
) -> Result<String, PipelineError> {
    decode_base64_text(action, what, value).map_err(|mut error| {
        error.code = crate::error::ErrorCode::BadRequest;
        error
    })
}

/// URL-safe base64 without padding, as the canonical form writes names and texts.
pub(crate) fn encode_base64(text: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(text)
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

/// Reads a positive decimal with at most three decimals (`5`, `1.5`, `0.125`) in thousandths:
/// a blur's sigma, a Qiniu watermark's `ws`. `what` names the value in the error.
pub(crate) fn thousandths(action: &str, what: &str, text: &str) -> Result<u32, PipelineError> {
    let invalid = || {
        PipelineError::invalid_argument(format!(
            "{action}: {what} '{text}' must be a number greater than 0 (at most 3 decimals)"
        ))
    };
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    let digits = |part: &str| part.bytes().all(|byte| byte.is_ascii_digit());
    if whole.is_empty() || !digits(whole) || !digits(fraction) || fraction.len() > 3 {
        return Err(invalid());
    }
    let whole: u32 = whole.parse().map_err(|_| invalid())?;
    let fraction: u32 = format!("{fraction:0<3}").parse().map_err(|_| invalid())?;
    let milli = whole
        .checked_mul(1000)
        .and_then(|value| value.checked_add(fraction))
        .ok_or_else(invalid)?;
    if milli == 0 {
        return Err(invalid());
    }
    Ok(milli)
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
    fn thousandths_read_decimals_and_refuse_zero() {
        assert_eq!(thousandths("b", "sigma", "5"), Ok(5000));
        assert_eq!(thousandths("b", "sigma", "1.5"), Ok(1500));
        assert_eq!(thousandths("b", "sigma", "0.125"), Ok(125));
        for bad in ["0", "0.0", "", ".5", "-1", "1.2345", "a"] {
            assert!(thousandths("b", "sigma", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn parameters_in_either_spelling_are_taken_once_and_the_rest_is_unknown() {
        let mut params = Params::key_first("resize", &["w_100", "m_fill", "x_1"]).unwrap();
        assert_eq!(params.take_integer("w", 1..=4096), Ok(Some(100)));
        assert_eq!(params.take("m"), Some("fill"));
        assert_eq!(params.take("m"), None);
        assert_eq!(
            params.finish().unwrap_err().message,
            "resize: unknown parameter x_1"
        );
        let twice = Params::key_first("resize", &["w_1", "w_2"]).unwrap_err();
        assert_eq!(twice.message, "resize: parameter w is given twice");

        // The old API: the last of a key wins, and the rest comes out in key order.
        let mut params = Params::value_first("resize", "4z_120w_1o_240w").unwrap();
        assert_eq!(params.take_integer("w", 1..=4096), Ok(Some(240)));
        assert_eq!(params.first_left(), Some(("o", "1")));
        assert_eq!(
            params.finish().unwrap_err().message,
            "resize: unknown parameter 1o"
        );
    }
}
