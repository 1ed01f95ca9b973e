//! `size-limit` (Qiniu `imageMogr2/size-limit/<n>[k|m][!]`, read by [`crate::parse::qiniu`]):
//! a ceiling on the result's bytes.
//!
//! After the normal encode, a result over the limit is encoded again at lower JPEG qualities
//! (a binary search for the highest quality that fits). The rules, from the document:
//!
//! * Without `!` only JPEG results are limited ("目前仅支持jpg格式"); other formats are left
//!   as they are. A JPEG that does not fit even at quality 1 is returned at quality 1.
//! * With `!` the limit holds for every format ("支持所有图片格式"), and a result that cannot
//!   be brought within it is replaced by the source itself ("结果不符合则返回原图").
//! * `$(fsize)` is the source's own size in bytes.
//!
//! `k` and `m` are 1024 and 1024 * 1024 (case-insensitive); a bare number is bytes.

use crate::error::PipelineError;
use crate::parse::lex::Params;
use std::fmt;

/// The action's name in the canonical form (an extension).
pub(crate) const ACTION: &str = "size-limit";

/// The ceiling's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SizeLimitValue {
    /// A number of bytes.
    Bytes(u64),
    /// `$(fsize)`: the source's size.
    SourceSize,
}

/// The arguments of `size-limit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SizeLimit {
    /// The ceiling.
    pub value: SizeLimitValue,
    /// `!`: enforce for every format, falling back to the source.
    pub force: bool,
}

/// What enforcing the limit decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Limited {
    /// These bytes (the first encode, or a re-encode at lower quality).
    Encoded(Vec<u8>),
    /// Nothing fits: the source itself is the result (`!` only).
    Source,
}

impl SizeLimit {
    /// The ceiling in bytes for a source of `source_len` bytes.
    pub fn bytes(&self, source_len: usize) -> u64 {
        match self.value {
            SizeLimitValue::Bytes(bytes) => bytes,
            SizeLimitValue::SourceSize => source_len as u64,
        }
    }

    /// Applies the limit to `encoded` (written at `quality`). `reencode(q)` encodes the same
    /// pixels at JPEG quality q; `is_jpeg` says whether the result is a JPEG.
    pub fn enforce(
        &self,
        encoded: Vec<u8>,
        quality: u8,
        is_jpeg: bool,
        source_len: usize,
        mut reencode: impl FnMut(u8) -> Result<Vec<u8>, PipelineError>,
    ) -> Result<Limited, PipelineError> {
        let ceiling = self.bytes(source_len);
        if encoded.len() as u64 <= ceiling || (!is_jpeg && !self.force) {
            return Ok(Limited::Encoded(encoded));
        }
        if is_jpeg {
            // Highest quality in [1, quality) whose result fits.
            let (mut low, mut high) = (1u8, quality.saturating_sub(1));
            let mut best: Option<Vec<u8>> = None;
            let mut smallest: Option<Vec<u8>> = None;
            while low <= high {
                let middle = low + (high - low) / 2;
                let attempt = reencode(middle)?;
                if attempt.len() as u64 <= ceiling {
                    best = Some(attempt);
                    low = middle + 1;
                } else {
                    if middle == 1 {
                        smallest = Some(attempt);
                        break;
                    }
                    high = middle - 1;
                }
            }
            if let Some(best) = best {
                return Ok(Limited::Encoded(best));
            }
            if !self.force {
                let smallest = match smallest {
                    Some(bytes) => bytes,
                    None => reencode(1)?,
                };
                return Ok(Limited::Encoded(smallest));
            }
        }
        Ok(Limited::Source)
    }
}

/// Canonical rendering (an extension): `size-limit,b_<bytes>` or `size-limit,fsize_1`, with
/// `force_1` for `!`.
impl fmt::Display for SizeLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.value {
            SizeLimitValue::Bytes(bytes) => write!(f, "size-limit,b_{bytes}")?,
            SizeLimitValue::SourceSize => f.write_str("size-limit,fsize_1")?,
        }
        if self.force {
            f.write_str(",force_1")?;
        }
        Ok(())
    }
}

impl SizeLimit {
    /// Reads the canonical form's arguments.
    pub(crate) fn from_canonical(arguments: &[&str]) -> Result<SizeLimit, PipelineError> {
        let mut args = Params::key_first(ACTION, arguments)?;
        let value = match (args.take_parsed::<u64>("b")?, args.take("fsize")) {
            (Some(bytes), None) if bytes > 0 => SizeLimitValue::Bytes(bytes),
            (None, Some("1")) => SizeLimitValue::SourceSize,
            _ => {
                return Err(PipelineError::invalid_argument(
                    "size-limit: expected b_<bytes> or fsize_1",
                ))
            }
        };
        let force = match args.take("force") {
            None => false,
            Some("1") => true,
            Some(other) => {
                return Err(PipelineError::invalid_argument(format!(
                    "size-limit: force_{other} must be 1"
                )))
            }
        };
        args.finish()?;
        Ok(SizeLimit { value, force })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_highest_fitting_quality_is_chosen() {
        // A fake encoder whose output is `quality * 10` bytes.
        let limit = SizeLimit {
            value: SizeLimitValue::Bytes(555),
            force: false,
        };
        let encode = |quality: u8| Ok(vec![0; usize::from(quality) * 10]);
        let result = limit.enforce(vec![0; 850], 85, true, 0, encode).unwrap();
        assert_eq!(result, Limited::Encoded(vec![0; 550]));
        // Nothing fits: without ! the smallest; with ! the source.
        let tiny = SizeLimit {
            value: SizeLimitValue::Bytes(5),
            force: false,
        };
        assert_eq!(
            tiny.enforce(vec![0; 850], 85, true, 0, encode).unwrap(),
            Limited::Encoded(vec![0; 10])
        );
        let forced = SizeLimit {
            force: true,
            ..tiny
        };
        assert_eq!(
            forced.enforce(vec![0; 850], 85, true, 0, encode).unwrap(),
            Limited::Source
        );
        // PNG: ignored without !, the source with !.
        assert_eq!(
            tiny.enforce(vec![0; 850], 85, false, 0, encode).unwrap(),
            Limited::Encoded(vec![0; 850])
        );
        assert_eq!(
            forced.enforce(vec![0; 850], 85, false, 0, encode).unwrap(),
            Limited::Source
        );
    }
}
