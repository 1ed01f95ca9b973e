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
//! The parsers read them ([`crate::parse::oss`] `video/snapshot`, [`crate::parse::qiniu`]
//! `vframe`); this module holds what they read into.
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
use crate::parse::lex::Params;
use std::fmt;

/// The action's name in the canonical form (an extension, written first).
pub(crate) const ACTION: &str = "frame";

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
    pub(crate) fn from_canonical(arguments: &[&str]) -> Result<FrameGrab, PipelineError> {
        let mut args = Params::key_first(ACTION, arguments)?;
        let offset_ms = args.take_parsed::<u32>("t")?.ok_or_else(|| {
            PipelineError::invalid_argument("frame: the canonical form needs t_<ms>")
        })?;
        let keyframe = args.take_marker("m", "fast")?;
        let autorotate = args.take_marker("ar", "auto")?;
        let past_end = if args.take_marker("end", "last")? {
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
        write!(f, "{ACTION},t_{}", self.offset_ms)?;
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
            assert_eq!(
                FrameGrab::from_canonical(&arguments).unwrap(),
                grab,
                "{text}"
            );
        }
    }
}
