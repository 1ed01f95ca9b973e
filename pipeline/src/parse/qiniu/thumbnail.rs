//! Qiniu `imageMogr2/thumbnail/<geometry>`, onto [`Resize`] (the OSS-expressible
//! geometries) and [`Scale`] (the others); the table of geometries is in the
//! [module documentation](super).

use crate::ast::Step;
use crate::error::PipelineError;
use crate::ops::resize::{Resize, ResizeMode, PERCENT_RANGE};
use crate::ops::scale::Scale;
use crate::parse::lex::integer_in;
use std::borrow::Cow;

const THUMBNAIL: &str = "imageMogr2/thumbnail";

/// The range of `<W>x` and `x<H>`.
const SINGLE_SIDE_RANGE: std::ops::RangeInclusive<u32> = 0..=10_000;

/// Above this, a two-sided thumbnail may only shrink ("若宽高超过10000时只能缩不能放").
const ENLARGE_MAX_SIDE: u32 = 10_000;

/// Rewrites ImageMagick's raw geometry characters (`%`, `^`, `+`, as they arrive once
/// URL-decoded) into Qiniu's escaped form: `50%` is `!50p`, `50x50^` is `!50x50r`,
/// `300x300+30+100` is `!300x300a30a100`.
pub(super) fn escape_geometry(geometry: &str) -> Cow<'_, str> {
    if geometry.starts_with('!') || !geometry.contains(['%', '^', '+']) {
        return Cow::Borrowed(geometry);
    }
    let escaped: String = geometry
        .chars()
        .map(|character| match character {
            '%' => 'p',
            '^' => 'r',
            '+' => 'a',
            other => other,
        })
        .collect();
    Cow::Owned(format!("!{escaped}"))
}

/// A parsed thumbnail geometry.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Thumbnail {
    Resize(Resize),
    Scale(Scale),
}

/// Parses a thumbnail geometry (see the module documentation). `None`: no size at all.
pub(super) fn parse(geometry: &str) -> Result<Option<Step>, PipelineError> {
    Ok(
        parse_thumbnail_geometry(geometry)?.map(|thumbnail| match thumbnail {
            Thumbnail::Resize(resize) => Step::Resize(resize),
            Thumbnail::Scale(scale) => Step::Scale(scale),
        }),
    )
}

fn parse_thumbnail_geometry(raw: &str) -> Result<Option<Thumbnail>, PipelineError> {
    let escaped = escape_geometry(raw);
    let geometry = escaped.as_ref();
    let percent = |digits: &str| integer_in(THUMBNAIL, raw, digits, PERCENT_RANGE);
    if let Some(escaped) = geometry.strip_prefix('!') {
        if let Some(digits) = escaped.strip_suffix("px") {
            return Ok(Some(Thumbnail::Scale(Scale::WidthPercent(percent(
                digits,
            )?))));
        }
        if let Some(digits) = escaped
            .strip_prefix('x')
            .and_then(|rest| rest.strip_suffix('p'))
        {
            return Ok(Some(Thumbnail::Scale(Scale::HeightPercent(percent(
                digits,
            )?))));
        }
        if let Some(digits) = escaped.strip_suffix('p') {
            return Ok(Some(Thumbnail::Resize(Resize {
                percent: Some(percent(digits)?),
                allow_enlarge: true,
                ..Resize::default()
            })));
        }
        if let Some(sides) = escaped.strip_suffix('r') {
            return box_with_both_sides(raw, sides, ResizeMode::Mfit)
                .map(|resize| Some(Thumbnail::Resize(resize)));
        }
        // "!50x50 实际代表 50x50": the '!' escapes nothing here.
        return Ok(plain(raw, escaped)?.map(Thumbnail::Resize));
    }
    if let Some(digits) = geometry.strip_suffix('@') {
        let area = integer_in(THUMBNAIL, raw, digits, 1..=u32::MAX)?;
        return Ok(Some(Thumbnail::Scale(Scale::MaxArea(u64::from(area)))));
    }
    if let Some(sides) = geometry.strip_suffix('<') {
        let Some(resize) = plain(raw, sides)? else {
            return Ok(None);
        };
        return Ok(Some(Thumbnail::Scale(Scale::EnlargeToFit {
            width: resize.width.unwrap_or(0),
            height: resize.height.unwrap_or(0),
        })));
    }
    if let Some(sides) = geometry.strip_suffix('!') {
        return box_with_both_sides(raw, sides, ResizeMode::Fixed)
            .map(|resize| Some(Thumbnail::Resize(resize)));
    }
    if let Some(sides) = geometry.strip_suffix('>') {
        return Ok(plain(raw, sides)?.map(|resize| {
            Thumbnail::Resize(Resize {
                allow_enlarge: false,
                ..resize
            })
        }));
    }
    Ok(plain(raw, geometry)?.map(Thumbnail::Resize))
}

/// `<W>x`, `x<H>` or `<W>x<H>`: fit inside, enlarging allowed (within Qiniu's 10000 rule).
fn plain(geometry: &str, sides: &str) -> Result<Option<Resize>, PipelineError> {
    let (width, height) = match split_sides(geometry, sides)? {
        Sides::Width(width) => (
            integer_in(THUMBNAIL, geometry, width, SINGLE_SIDE_RANGE)?,
            0,
        ),
        Sides::Height(height) => (
            0,
            integer_in(THUMBNAIL, geometry, height, SINGLE_SIDE_RANGE)?,
        ),
        Sides::Both(width, height) => (
            integer_in(THUMBNAIL, geometry, width, 0..=u32::MAX)?,
            integer_in(THUMBNAIL, geometry, height, 0..=u32::MAX)?,
        ),
    };
    let given = |side: u32| (side > 0).then_some(side);
    if given(width).is_none() && given(height).is_none() {
        return Ok(None);
    }
    Ok(Some(Resize {
        width: given(width),
        height: given(height),
        allow_enlarge: width <= ENLARGE_MAX_SIDE && height <= ENLARGE_MAX_SIDE,
        ..Resize::default()
    }))
}

/// `!<W>x<H>r` and `<W>x<H>!`: both sides required and non-zero.
fn box_with_both_sides(
    geometry: &str,
    sides: &str,
    mode: ResizeMode,
) -> Result<Resize, PipelineError> {
    let Sides::Both(width, height) = split_sides(geometry, sides)? else {
        return Err(PipelineError::invalid_argument(format!(
            "{THUMBNAIL}: {geometry} needs both a width and a height"
        )));
    };
    let width = integer_in(THUMBNAIL, geometry, width, 1..=u32::MAX)?;
    let height = integer_in(THUMBNAIL, geometry, height, 1..=u32::MAX)?;
    Ok(Resize {
        mode,
        width: Some(width),
        height: Some(height),
        allow_enlarge: width <= ENLARGE_MAX_SIDE && height <= ENLARGE_MAX_SIDE,
        ..Resize::default()
    })
}

/// The sides written in a `<W>x<H>` geometry, not yet parsed.
enum Sides<'a> {
    Width(&'a str),
    Height(&'a str),
    Both(&'a str, &'a str),
}

/// Splits `<W>x<H>` into the sides present; at least one must be.
fn split_sides<'a>(geometry: &str, sides: &'a str) -> Result<Sides<'a>, PipelineError> {
    let invalid = || {
        PipelineError::invalid_argument(format!(
            "{THUMBNAIL}: '{geometry}' is not a geometry (<W>x, x<H>, <W>x<H>, !<N>p, \
             !<W>x<H>r, <W>x<H>!, <W>x<H>>)"
        ))
    };
    let (width, height) = sides.split_once('x').ok_or_else(invalid)?;
    match (width.is_empty(), height.is_empty()) {
        (false, true) => Ok(Sides::Width(width)),
        (true, false) => Ok(Sides::Height(height)),
        (false, false) => Ok(Sides::Both(width, height)),
        (true, true) => Err(invalid()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::qiniu::parse_fops;

    #[test]
    fn zero_sides_mean_not_given() {
        let thumbnail = |geometry: &str| parse(geometry).unwrap();
        assert_eq!(thumbnail("0x100"), thumbnail("x100"));
        assert_eq!(thumbnail("100x0"), thumbnail("100x"));
        assert_eq!(thumbnail("0x0"), None);
        assert_eq!(thumbnail("0x"), None);
        let commands = parse_fops("imageMogr2/thumbnail/0x0/format/png").unwrap();
        assert!(commands[0].pipeline.steps.is_empty());
    }
}
