//! Qiniu `imageMogr2/crop/<geometry>`, onto [`Crop`] (whose module has the placement and
//! clipping rules): `<W>x`, `x<H>`, `<W>x<H>` (0-10000, 0 = the whole side) and
//! `!<W>x<H>a<dx>a<dy>`, where either `a` may be `-` for a negative offset.

use super::thumbnail::escape_geometry;
use crate::error::PipelineError;
use crate::ops::crop::Crop;
use crate::ops::gravity::Gravity;
use crate::parse::lex::integer_in;

/// The range of crop sizes ("取值范围为0-10000"; 0 = the whole side).
const CROP_SIDE_RANGE: std::ops::RangeInclusive<u32> = 0..=10_000;

const CROP: &str = "imageMogr2/crop";

/// Parses `<W>x`, `x<H>`, `<W>x<H>` and `!<W>x<H>{a|-}<dx>{a|-}<dy>` (or the raw `+`/`-`
/// forms). `None`: neither size nor offset, nothing to do.
pub(super) fn parse(raw: &str, gravity: Gravity) -> Result<Option<Crop>, PipelineError> {
    let escaped = escape_geometry(raw);
    let invalid = || {
        PipelineError::invalid_argument(format!(
            "{CROP}: '{raw}' is not a crop geometry (<W>x, x<H>, <W>x<H>, \
             !<W>x<H>a<dx>a<dy>, with - for negative offsets)"
        ))
    };
    let (size, offsets) = match escaped.strip_prefix('!') {
        Some(body) => {
            let split = body.find(['a', '-']).ok_or_else(invalid)?;
            let (size, offsets) = body.split_at(split);
            (size, Some(offsets))
        }
        None => (escaped.as_ref(), None),
    };
    let (width, height) = size.split_once('x').ok_or_else(invalid)?;
    let side = |text: &str| -> Result<Option<u32>, PipelineError> {
        if text.is_empty() {
            return Ok(None);
        }
        let value = integer_in(CROP, raw, text, CROP_SIDE_RANGE)?;
        Ok((value > 0).then_some(value))
    };
    let (width, height) = (side(width)?, side(height)?);
    let (dx, dy) = match offsets {
        None => (0, 0),
        Some(offsets) => parse_offsets(offsets).ok_or_else(invalid)?,
    };
    if width.is_none() && height.is_none() && dx == 0 && dy == 0 {
        return Ok(None);
    }
    Ok(Some(Crop {
        width,
        height,
        gravity,
        dx,
        dy,
    }))
}

/// `a<dx>a<dy>` with `-` for either sign: both offsets are required.
fn parse_offsets(text: &str) -> Option<(i64, i64)> {
    let mut rest = text;
    let mut values = [0i64; 2];
    for value in &mut values {
        let sign = match rest.chars().next()? {
            'a' => 1,
            '-' => -1,
            _ => return None,
        };
        rest = &rest[1..];
        let end = rest
            .find(|character: char| !character.is_ascii_digit())
            .unwrap_or(rest.len());
        if end == 0 {
            return None;
        }
        let number: i64 = rest[..end].parse().ok()?;
        if number > i64::from(u32::MAX) {
            return None;
        }
        *value = sign * number;
        rest = &rest[end..];
    }
    rest.is_empty().then_some((values[0], values[1]))
}
