//! Qiniu `vframe/<jpg|png>/offset/<seconds>/w/<W>/h/<H>/rotate/<90|180|270|auto>`: the first
//! step of a command on a video source (see [`crate::video`] for the vendor rules). The frame
//! goes in [`Pipeline::frame`], `w`/`h` become a `resize` (enlarging allowed), `rotate` a
//! `rotate` step; later `|` steps (`imageMogr2`...) work on the frame.

use crate::ast::{Pipeline, Step};
use crate::codec::ImageFormat;
use crate::error::PipelineError;
use crate::ops::resize::{Resize, ResizeMode};
use crate::ops::rotate::Rotate;
use crate::parse::lex::{integer_in, percent_decode};
use crate::video::{FrameGrab, PastEnd};

/// vframe's `w`/`h`: "长边取值范围 [20,3840]，短边取值范围 [20,2160]".
const VFRAME_LONG_SIDE: std::ops::RangeInclusive<u32> = 20..=3840;
const VFRAME_SHORT_SIDE_MAX: u32 = 2160;

/// The parameters of a `vframe` step, as written.
#[derive(Default)]
struct Written {
    offset: Option<String>,
    width: Option<String>,
    height: Option<String>,
    rotate: Option<String>,
}

/// Reads the part after `vframe/` into `pipeline`.
pub(super) fn parse(parameters: &str, pipeline: &mut Pipeline) -> Result<(), PipelineError> {
    let mut items = parameters.split('/');
    let format = match items.next().unwrap_or_default() {
        "jpg" | "jpeg" => ImageFormat::Jpeg,
        "png" => ImageFormat::Png,
        other => {
            return Err(PipelineError::invalid_argument(format!(
                "vframe: format '{other}' is not one of jpg, png"
            )))
        }
    };
    let written = read_parameters(items)?;
    let offset = written
        .offset
        .ok_or_else(|| PipelineError::missing_argument("vframe: offset (seconds) is required"))?;
    let offset_ms = seconds_to_ms("vframe", &offset)?;
    let (width, height) = sides(written.width.as_deref(), written.height.as_deref())?;
    let (rotate, autorotate) = rotation(written.rotate.as_deref())?;
    pipeline.frame = Some(FrameGrab {
        offset_ms,
        keyframe: false,
        autorotate,
        past_end: PastEnd::LastFrame,
    });
    if width.is_some() || height.is_some() {
        let both = width.is_some() && height.is_some();
        pipeline.steps.push(Step::Resize(Resize {
            mode: if both {
                ResizeMode::Fixed
            } else {
                ResizeMode::Lfit
            },
            width,
            height,
            allow_enlarge: true,
            ..Resize::default()
        }));
    }
    pipeline.steps.extend(rotate.map(Step::Rotate));
    pipeline.output.format = Some(format);
    Ok(())
}

/// The `key/value` pairs after the format, each at most once.
fn read_parameters<'a>(mut items: impl Iterator<Item = &'a str>) -> Result<Written, PipelineError> {
    let mut written = Written::default();
    while let Some(key) = items.next() {
        let value = items.next().ok_or_else(|| {
            PipelineError::invalid_argument(format!("vframe: {key} has no value"))
        })?;
        let value = percent_decode("vframe", value)?;
        let slot = match key {
            "offset" => &mut written.offset,
            "w" => &mut written.width,
            "h" => &mut written.height,
            "rotate" => &mut written.rotate,
            other => {
                return Err(PipelineError::invalid_argument(format!(
                    "vframe: unknown parameter '{other}'"
                )))
            }
        };
        if slot.replace(value.into_owned()).is_some() {
            return Err(PipelineError::invalid_argument(format!(
                "vframe: {key} is given twice"
            )));
        }
    }
    Ok(written)
}

/// `w` and `h`: each 20-3840, the shorter at most 2160.
fn sides(
    width: Option<&str>,
    height: Option<&str>,
) -> Result<(Option<u32>, Option<u32>), PipelineError> {
    let side = |key: &str, value: Option<&str>| {
        value
            .map(|value| integer_in("vframe", &format!("{key}/{value}"), value, VFRAME_LONG_SIDE))
            .transpose()
    };
    let width = side("w", width)?;
    let height = side("h", height)?;
    if let (Some(w), Some(h)) = (width, height) {
        if w.min(h) > VFRAME_SHORT_SIDE_MAX {
            return Err(PipelineError::invalid_argument(format!(
                "vframe: w/{w}/h/{h}: the short side must be at most {VFRAME_SHORT_SIDE_MAX}"
            )));
        }
    }
    Ok((width, height))
}

/// `rotate/<90|180|270>` as a step after the scaling, or `rotate/auto` (the video's rotation
/// metadata): the step, and whether to turn the frame by its metadata.
fn rotation(rotate: Option<&str>) -> Result<(Option<Rotate>, bool), PipelineError> {
    match rotate {
        None => Ok((None, false)),
        Some("auto") => Ok((None, true)),
        Some(degrees @ ("90" | "180" | "270")) => Ok((
            Some(Rotate {
                degrees: degrees.parse().unwrap_or_default(),
                limit_source_side: false,
            }),
            false,
        )),
        Some(other) => Err(PipelineError::invalid_argument(format!(
            "vframe: rotate/{other} is not one of 90, 180, 270, auto"
        ))),
    }
}

/// Reads Qiniu's `offset` (seconds with up to three decimals, `7`, `7.5`, `0.001`) as
/// milliseconds.
fn seconds_to_ms(action: &str, text: &str) -> Result<u32, PipelineError> {
    let invalid = || {
        PipelineError::invalid_argument(format!(
            "{action}: offset '{text}' is not a number of seconds (up to 3 decimals)"
        ))
    };
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    let digits_only = |part: &str| part.bytes().all(|byte| byte.is_ascii_digit());
    if whole.is_empty() || !digits_only(whole) || !digits_only(fraction) || fraction.len() > 3 {
        return Err(invalid());
    }
    if text.ends_with('.') {
        return Err(invalid());
    }
    let seconds: u64 = whole.parse().map_err(|_| invalid())?;
    let mut millis: u64 = 0;
    for (index, byte) in fraction.bytes().enumerate() {
        let place = [100, 10, 1].get(index).copied().unwrap_or(0);
        millis += u64::from(byte - b'0') * place;
    }
    seconds
        .checked_mul(1000)
        .and_then(|ms| ms.checked_add(millis))
        .and_then(|ms| u32::try_from(ms).ok())
        .ok_or_else(|| {
            PipelineError::invalid_argument(format!("{action}: offset {text} is too large"))
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::qiniu::parse_command;

    #[test]
    fn vframe_starts_a_command_from_a_video_frame() {
        let table = [
            // The document's example: the 7th second, jpg, 480x360.
            (
                "vframe/jpg/offset/7/w/480/h/360",
                "image/frame,t_7000,end_last/resize,m_fixed,w_480,h_360,limit_0/format,jpg/quality,adaptive_75",
            ),
            ("vframe/png/offset/0", "image/frame,t_0,end_last/format,png/quality,adaptive_75"),
            (
                "vframe/jpg/offset/1.5/w/3840",
                "image/frame,t_1500,end_last/resize,w_3840,limit_0/format,jpg/quality,adaptive_75",
            ),
            (
                "vframe/png/h/20/offset/0.001/rotate/90",
                "image/frame,t_1,end_last/resize,h_20,limit_0/rotate,90,any-size/format,png/quality,adaptive_75/animation,multi-step",
            ),
            (
                "vframe/jpg/offset/2/rotate/auto",
                "image/frame,t_2000,ar_auto,end_last/format,jpg/quality,adaptive_75",
            ),
            (
                "vframe/jpg/offset/2|imageMogr2/thumbnail/100x/quality/90",
                "image/frame,t_2000,end_last/resize,w_100,limit_0/format,jpg/quality,adaptive_90",
            ),
            (
                "vframe/jpg/offset/2/w/3840/h/2160",
                "image/frame,t_2000,end_last/resize,m_fixed,w_3840,h_2160,limit_0/format,jpg/quality,adaptive_75",
            ),
        ];
        for (text, canonical) in table {
            let command = parse_command(&format!("{text}|saveas/YjprLmpwZw")).unwrap();
            assert_eq!(command.pipeline.to_string(), canonical, "{text}");
            let reparsed: Pipeline = canonical.parse().unwrap();
            assert_eq!(reparsed, command.pipeline, "{text}");
        }
        let errors = [
            (
                "vframe/gif/offset/1",
                Some(0),
                "vframe: format 'gif' is not one of jpg, png",
            ),
            (
                "vframe/jpg",
                Some(0),
                "vframe: offset (seconds) is required",
            ),
            ("vframe/jpg/offset", Some(0), "vframe: offset has no value"),
            (
                "vframe/jpg/offset/x",
                Some(0),
                "vframe: offset 'x' is not a number of seconds (up to 3 decimals)",
            ),
            (
                "vframe/jpg/offset/1/w/19",
                Some(0),
                "vframe: w/19 is out of range 20-3840",
            ),
            (
                "vframe/jpg/offset/1/h/3841",
                Some(0),
                "vframe: h/3841 is out of range 20-3840",
            ),
            (
                "vframe/jpg/offset/1/w/3000/h/2500",
                Some(0),
                "vframe: w/3000/h/2500: the short side must be at most 2160",
            ),
            (
                "vframe/jpg/offset/1/rotate/45",
                Some(0),
                "vframe: rotate/45 is not one of 90, 180, 270, auto",
            ),
            (
                "vframe/jpg/offset/1/offset/2",
                Some(0),
                "vframe: offset is given twice",
            ),
            (
                "vframe/jpg/offset/1/size/2",
                Some(0),
                "vframe: unknown parameter 'size'",
            ),
            (
                "imageMogr2/thumbnail/10x|vframe/jpg/offset/1",
                Some(1),
                "vframe: must be the first step of a command, with a format (vframe/<jpg|png>/...)",
            ),
            (
                "vframe",
                Some(0),
                "vframe: must be the first step of a command, with a format (vframe/<jpg|png>/...)",
            ),
        ];
        for (text, step, message) in errors {
            let error = parse_command(text).unwrap_err();
            assert_eq!(
                (error.step, error.message.as_str()),
                (step, message),
                "{text}"
            );
        }
        assert_eq!(
            parse_command("vframe/jpg").unwrap_err().code,
            crate::error::ErrorCode::MissingArgument
        );
    }

    #[test]
    fn qiniu_offsets_are_seconds_to_the_millisecond() {
        let table = [
            ("0", Some(0)),
            ("7", Some(7000)),
            ("7.5", Some(7500)),
            ("0.001", Some(1)),
            ("1.25", Some(1250)),
            ("4294967", Some(4_294_967_000)),
            ("4294968", None),
            ("1.2345", None),
            ("1.", None),
            (".5", None),
            ("-1", None),
            ("1e3", None),
            ("", None),
        ];
        for (text, expected) in table {
            assert_eq!(seconds_to_ms("vframe", text).ok(), expected, "{text}");
        }
    }
}
