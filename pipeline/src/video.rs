//! Frame extraction from a video source: OSS `video/snapshot` and Qiniu `vframe`.
//!
//! The engine is pure and decodes images only, so a video is never handed to it. A pipeline
//! that starts from a video carries a [`FrameGrab`] in [`crate::Pipeline::frame`]: the caller
//! (the worker, `ferrotype process`) sees it before decoding, has the frame extracted (by
//! ffmpeg, outside this crate), and runs the rest of the pipeline on the extracted frame, a
//! PNG, with `frame` cleared. Sizes and rotations are ordinary steps (`resize`, `rotate`), and
//! the output format an ordinary output setting, so everything after the extraction is the
//! same code as for any image.
//!
//! # Vendor rules
//!
//! OSS `video/snapshot` (document section 3):
//!
//! * `t`: the time in ms, `[0, 视频时长]`; required. A time past the end of the video is
//!   refused (`InvalidArgument`) once the video is read: the value is outside the documented
//!   range. ([`PastEnd::Refuse`])
//! * `w`, `h`: `[0, 视频宽度/高度]`, 0 = computed; both 0 (or absent) = the video's size. One
//!   side given: the other follows the aspect ratio (`resize,w_`); both: exactly w x h
//!   (`resize,m_fixed`). Values above the video's size are not enlarged to (the resize keeps
//!   its default `limit_1`): the range ends at the video's size.
//! * `m_fast`: the nearest key frame at or before `t` instead of the exact frame.
//! * `f`: `jpg` or `png`; required.
//! * `ar_auto` (current OSS documentation): turn the frame upright from the video's rotation
//!   metadata. Without it the frame is taken as stored.
//!
//! Qiniu `vframe/<jpg|png>/offset/<seconds>/w/<W>/h/<H>/rotate/<90|180|270|auto>`:
//!
//! * `offset`: seconds, to the millisecond; required. Past the end: the last frame
//!   ("若截取时刻 > 视频长度，则返回视频最后一帧"). ([`PastEnd::LastFrame`])
//! * `w`, `h`: the long side 20-3840, the short side 20-2160; one side given: proportional;
//!   both: exactly W x H, enlarging if needed.
//! * `rotate`: clockwise after scaling; `auto` uses the video's rotation metadata.
//!
//! # Canonical form
//!
//! `frame,t_<ms>[,m_fast][,ar_auto][,end_last]`, written first after `image/` (see
//! [`crate::ast`]).

use crate::error::PipelineError;
use crate::ops::CanonicalArgs;
use std::fmt;

/// What to do when the requested time lies past the end of the video.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum PastEnd {
    /// Refuse with `InvalidArgument` (OSS: `t` is in `[0, 视频时长]`).
    #[default]
    Refuse,
    /// Take the video's last frame (Qiniu).
    LastFrame,
}

/// Which frame of a video source a pipeline starts from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct FrameGrab {
    /// The time of the frame, in milliseconds from the start.
    pub offset_ms: u32,
    /// Take the nearest key frame at or before the time (OSS `m_fast`), not the exact frame.
    pub keyframe: bool,
    /// Turn the frame upright from the video's rotation metadata (OSS `ar_auto`, Qiniu
    /// `rotate/auto`); otherwise the frame is taken as stored.
    pub autorotate: bool,
    /// What a time past the end means.
    pub past_end: PastEnd,
}

impl FrameGrab {
    /// Reads the canonical `frame,...` arguments.
    pub(crate) fn from_canonical(mut args: CanonicalArgs<'_>) -> Result<FrameGrab, PipelineError> {
        let offset_ms = args.take_parsed::<u32>("t")?.ok_or_else(|| {
            PipelineError::invalid_argument("frame: the canonical form needs t_<ms>")
        })?;
        let flag = |value: Option<&str>, expected: &str, key: &str| match value {
            None => Ok(false),
            Some(value) if value == expected => Ok(true),
            Some(value) => Err(PipelineError::invalid_argument(format!(
                "frame: {key}_{value} is not valid (only {key}_{expected})"
            ))),
        };
        let keyframe = flag(args.take("m"), "fast", "m")?;
        let autorotate = flag(args.take("ar"), "auto", "ar")?;
        let past_end = if flag(args.take("end"), "last", "end")? {
            PastEnd::LastFrame
        } else {
            PastEnd::Refuse
        };
        args.finish()?;
        Ok(FrameGrab {
            offset_ms,
            keyframe,
            autorotate,
            past_end,
        })
    }
}

impl fmt::Display for FrameGrab {
    /// `frame,t_<ms>[,m_fast][,ar_auto][,end_last]`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "frame,t_{}", self.offset_ms)?;
        if self.keyframe {
            f.write_str(",m_fast")?;
        }
        if self.autorotate {
            f.write_str(",ar_auto")?;
        }
        if self.past_end == PastEnd::LastFrame {
            f.write_str(",end_last")?;
        }
        Ok(())
    }
}

/// Reads Qiniu's `offset` (seconds with up to three decimals, `7`, `7.5`, `0.001`) as
/// milliseconds.
pub(crate) fn seconds_to_ms(action: &str, text: &str) -> Result<u32, PipelineError> {
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

    #[test]
    fn canonical_form_reads_back() {
        let table = [
            FrameGrab::default(),
            FrameGrab {
                offset_ms: 7000,
                keyframe: true,
                autorotate: true,
                past_end: PastEnd::LastFrame,
            },
            FrameGrab {
                offset_ms: 1,
                autorotate: true,
                ..FrameGrab::default()
            },
        ];
        for grab in table {
            let text = grab.to_string();
            let arguments: Vec<&str> = text.split(',').skip(1).collect();
            let args = CanonicalArgs::new("frame", &arguments).unwrap();
            assert_eq!(FrameGrab::from_canonical(args).unwrap(), grab, "{text}");
        }
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
