//! Frames from video sources, with ffmpeg: the runner behind OSS `video/snapshot` and Qiniu
//! `vframe`.
//!
//! The `pipeline` crate stays pure: a pipeline that starts from a video carries a
//! [`FrameGrab`] (see `pipeline::video`), and the engine asks its [`pipeline::FrameLookup`]
//! for the frame, then runs the rest of the pipeline on that frame (a PNG) like on any image.
//! [`Ffmpeg`] is the lookup the worker and `ferrotype process` hand it; it runs the `ffmpeg`
//! program as a subprocess:
//!
//! * the source is written to a private temporary directory (ffmpeg needs to seek in MP4s
//!   whose index is at the end, so a pipe is not enough), and the frame is read back from it;
//! * only local files (`-protocol_whitelist file`) and video containers
//!   (`-format_whitelist`) are read, so a playlist or concat file uploaded as a "video"
//!   cannot make ffmpeg fetch URLs or read other local files;
//! * every run has a time limit; past it the process is killed and the item fails with
//!   `DeadlineExceeded`, never hangs;
//! * exact mode seeks accurately (`-ss` before `-i`, decoding up to the time); `m_fast`
//!   decodes key frames only, so the frame is the nearest key frame at or before the time;
//! * the video's rotation metadata is applied only when asked (`ar_auto`, `rotate/auto`:
//!   ffmpeg's autorotation; otherwise `-noautorotate`);
//! * a time with no frame at or after it: within the video's duration (the last frame's
//!   display time), or past it under Qiniu's rule, gives the last frame; past it under OSS's
//!   rule is `InvalidArgument` (see `pipeline::video`).
//!
//! A source ffmpeg cannot read is `DecodeFailed` with ffmpeg's own last message; ffmpeg
//! missing from the machine is `InternalError`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use pipeline::video::{FrameGrab, PastEnd};
use pipeline::{ErrorCode, FrameLookup, PipelineError};

/// The containers ffmpeg may open (its demuxer names). Playlists (`hls`), `concat` and image
/// sequences are left out on purpose: they name other files.
const ALLOWED_CONTAINERS: &str =
    "mov,mp4,m4a,3gp,3g2,mj2,matroska,webm,avi,flv,mpegts,mpeg,ogg,asf,gif";

/// How often a running ffmpeg is checked for completion.
const POLL: Duration = Duration::from_millis(5);

/// [`FrameLookup`] running the `ffmpeg` and `ffprobe` programs; frames come back as PNG.
#[derive(Debug, Clone)]
pub struct Ffmpeg {
    /// The ffmpeg program (a name looked up in `PATH`, or a path).
    pub ffmpeg: PathBuf,
    /// The ffprobe program, used to read the duration when no frame is found at the time.
    pub ffprobe: PathBuf,
    /// The most one extraction may take, all subprocesses together.
    pub timeout: Duration,
}

impl Ffmpeg {
    /// ffmpeg and ffprobe from `PATH`, or the programs named by `FERROTYPE_FFMPEG` and
    /// `FERROTYPE_FFPROBE`.
    pub fn from_env(timeout: Duration) -> Ffmpeg {
        let program = |variable: &str, default: &str| {
            std::env::var_os(variable)
                .filter(|value| !value.is_empty())
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from(default))
        };
        Ffmpeg {
            ffmpeg: program("FERROTYPE_FFMPEG", "ffmpeg"),
            ffprobe: program("FERROTYPE_FFPROBE", "ffprobe"),
            timeout,
        }
    }

    /// The ffmpeg arguments that write the frame `grab` names (or, with `last`, the video's
    /// last frame) of `input` to `output`.
    fn frame_arguments(grab: &FrameGrab, input: &Path, output: &Path, last: bool) -> Vec<String> {
        let mut arguments: Vec<String> = [
            "-hide_banner",
            "-loglevel",
            "error",
            "-nostdin",
            "-y",
            "-protocol_whitelist",
            "file",
            "-format_whitelist",
            ALLOWED_CONTAINERS,
        ]
        .iter()
        .map(|text| text.to_string())
        .collect();
        if !grab.autorotate {
            arguments.push("-noautorotate".into());
        }
        if last {
            // From a second before the end, each decoded frame overwrites the last.
            arguments.extend(["-sseof".into(), "-1".into()]);
        } else {
            if grab.keyframe {
                // Decode key frames only, and keep the one before the time (not seek past it).
                arguments.extend([
                    "-skip_frame".into(),
                    "nokey".into(),
                    "-noaccurate_seek".into(),
                ]);
            }
            arguments.extend(["-ss".into(), seconds(grab.offset_ms)]);
        }
        arguments.extend(["-i".into(), input.display().to_string()]);
        arguments.extend(["-map".into(), "0:v:0".into(), "-an".into()]);
        if last {
            arguments.extend(["-update".into(), "1".into()]);
        } else {
            arguments.extend(["-fps_mode".into(), "passthrough".into()]);
            arguments.extend(["-frames:v".into(), "1".into()]);
        }
        arguments.extend([
            "-f".into(),
            "image2".into(),
            "-c:v".into(),
            "png".into(),
            output.display().to_string(),
        ]);
        arguments
    }

    /// The video's duration in milliseconds, from its container.
    fn duration_ms(&self, input: &Path, deadline: Instant) -> Result<u64, PipelineError> {
        let arguments: Vec<String> = [
            "-v",
            "error",
            "-protocol_whitelist",
            "file",
            "-format_whitelist",
            ALLOWED_CONTAINERS,
            "-show_entries",
            "format=duration",
            "-of",
            "default=noprint_wrappers=1:nokey=1",
        ]
        .iter()
        .map(|text| text.to_string())
        .chain([input.display().to_string()])
        .collect();
        let output = run(&self.ffprobe, &arguments, deadline, input)?;
        let text = String::from_utf8_lossy(&output);
        let seconds: f64 = text.trim().parse().map_err(|_| {
            PipelineError::new(
                ErrorCode::DecodeFailed,
                format!(
                    "video: the source has no duration ffprobe can read ('{}')",
                    text.trim()
                ),
            )
        })?;
        if !seconds.is_finite() || seconds < 0.0 {
            return Err(PipelineError::new(
                ErrorCode::DecodeFailed,
                format!("video: the source's duration {seconds} is not usable"),
            ));
        }
        // Whole milliseconds; a fraction of a millisecond rounds down.
        Ok((seconds * 1000.0) as u64)
    }
}

impl FrameLookup for Ffmpeg {
    fn frame(&self, video: &[u8], grab: &FrameGrab) -> Result<Vec<u8>, PipelineError> {
        let deadline = Instant::now() + self.timeout;
        let folder = tempfile::Builder::new()
            .prefix("ferrotype-video-")
            .tempdir()
            .map_err(|error| internal(format!("cannot make a temporary folder: {error}")))?;
        let input = folder.path().join("source");
        let output = folder.path().join("frame.png");
        std::fs::write(&input, video)
            .map_err(|error| internal(format!("cannot write the source: {error}")))?;

        let arguments = Ffmpeg::frame_arguments(grab, &input, &output, false);
        run(&self.ffmpeg, &arguments, deadline, &input)?;
        if let Some(frame) = read_frame(&output)? {
            return Ok(frame);
        }
        // No frame at or after the time: past the last frame's display time.
        let duration_ms = self.duration_ms(&input, deadline)?;
        if grab.past_end == PastEnd::Refuse && u64::from(grab.offset_ms) > duration_ms {
            return Err(PipelineError::invalid_argument(format!(
                "snapshot: t_{} is past the end of the video ({duration_ms} ms)",
                grab.offset_ms
            )));
        }
        let arguments = Ffmpeg::frame_arguments(grab, &input, &output, true);
        run(&self.ffmpeg, &arguments, deadline, &input)?;
        read_frame(&output)?.ok_or_else(|| {
            PipelineError::new(
                ErrorCode::DecodeFailed,
                "video: the source has no video frame ffmpeg can decode",
            )
        })
    }
}

/// Runs `program` until it exits or `deadline` passes (then kills it). Returns its standard
/// output; a non-zero exit is `DecodeFailed` with the last line it wrote to standard error.
fn run(
    program: &Path,
    arguments: &[String],
    deadline: Instant,
    input: &Path,
) -> Result<Vec<u8>, PipelineError> {
    let folder = input.parent().unwrap_or_else(|| Path::new("."));
    let stdout_path = folder.join("stdout");
    let stderr_path = folder.join("stderr");
    let file = |path: &Path| {
        std::fs::File::create(path)
            .map_err(|error| internal(format!("cannot create {}: {error}", path.display())))
    };
    let name = program.display().to_string();
    let mut child = Command::new(program)
        .args(arguments)
        .stdin(Stdio::null())
        .stdout(file(&stdout_path)?)
        .stderr(file(&stderr_path)?)
        .spawn()
        .map_err(|error| internal(format!("cannot run {name} (is it installed?): {error}")))?;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() >= deadline => {
                // Killing an already exited process is harmless; the wait reaps it.
                let _ = child.kill();
                let _ = child.wait();
                return Err(PipelineError::new(
                    ErrorCode::DeadlineExceeded,
                    format!("video: {name} did not finish in time and was stopped"),
                ));
            }
            Ok(None) => std::thread::sleep(POLL),
            Err(error) => {
                let _ = child.kill();
                return Err(internal(format!("cannot wait for {name}: {error}")));
            }
        }
    };
    if !status.success() {
        let stderr = std::fs::read_to_string(&stderr_path).unwrap_or_default();
        let last_line = stderr
            .lines()
            .rev()
            .find(|line| !line.trim().is_empty())
            .unwrap_or("no message")
            .trim()
            // The temporary path means nothing to the client.
            .replace(&input.display().to_string(), "the source");
        return Err(PipelineError::new(
            ErrorCode::DecodeFailed,
            format!("video: {name} could not read the source as a video: {last_line}"),
        ));
    }
    std::fs::read(&stdout_path)
        .map_err(|error| internal(format!("cannot read {name}'s output: {error}")))
}

/// The frame ffmpeg wrote, if it wrote one.
fn read_frame(path: &Path) -> Result<Option<Vec<u8>>, PipelineError> {
    match std::fs::read(path) {
        Ok(bytes) if bytes.is_empty() => Ok(None),
        Ok(bytes) => Ok(Some(bytes)),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(error) => Err(internal(format!("cannot read the frame: {error}"))),
    }
}

/// `1234` ms as ffmpeg's `1.234` seconds.
fn seconds(ms: u32) -> String {
    format!("{}.{:03}", ms / 1000, ms % 1000)
}

fn internal(message: String) -> PipelineError {
    PipelineError::new(ErrorCode::InternalError, format!("video: {message}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use pipeline::{Limits, Pipeline};

    fn fixture(name: &str) -> Vec<u8> {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../fixtures")
            .join(name);
        std::fs::read(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
    }

    /// The fixture is red for 0-1 s, green for 1-2 s, blue for 2-3 s, 10 frames a second,
    /// with a single key frame at 0.
    const CLIP: &str = "clip-160x120.mp4";

    fn ffmpeg() -> Ffmpeg {
        Ffmpeg::from_env(Duration::from_secs(20))
    }

    fn grab(offset_ms: u32) -> FrameGrab {
        FrameGrab {
            offset_ms,
            ..FrameGrab::default()
        }
    }

    /// The colour of the frame's centre, as the dominant channel.
    fn colour(png: &[u8]) -> &'static str {
        let raster = pipeline::codec::decode::decode(png, &Limits::default())
            .unwrap_or_else(|error| panic!("not an image: {error}"))
            .raster;
        let (width, height) = (raster.width(), raster.height());
        let size = raster.layout().bytes_per_pixel();
        let at = ((height / 2) as usize * width as usize + (width / 2) as usize) * size;
        let pixel = &raster.data()[at..at + 3];
        match pixel {
            [r, _, _] if *r > 200 => "red",
            [_, g, _] if *g > 200 => "green",
            [_, _, b] if *b > 200 => "blue",
            _ => "other",
        }
    }

    #[test]
    fn frames_are_taken_at_the_exact_time_or_the_key_frame_before_it() {
        let clip = fixture(CLIP);
        let table = [
            (grab(0), "red"),
            (grab(500), "red"),
            (grab(1200), "green"),
            (grab(2500), "blue"),
            // Within the duration but after the last frame's start: the last frame.
            (grab(2950), "blue"),
            (grab(3000), "blue"),
            (
                FrameGrab {
                    keyframe: true,
                    ..grab(2500)
                },
                "red",
            ),
            (
                FrameGrab {
                    past_end: PastEnd::LastFrame,
                    ..grab(60_000)
                },
                "blue",
            ),
        ];
        for (grab, expected) in table {
            let png = ffmpeg().frame(&clip, &grab).unwrap();
            assert_eq!(colour(&png), expected, "{grab}");
            let info = pipeline::probe(&png).unwrap();
            assert_eq!((info.width, info.height), (160, 120), "{grab}");
        }
    }

    #[test]
    fn past_the_end_is_refused_under_the_oss_rule() {
        let error = ffmpeg().frame(&fixture(CLIP), &grab(7000)).unwrap_err();
        assert_eq!(error.code, ErrorCode::InvalidArgument);
        assert_eq!(
            error.message,
            "snapshot: t_7000 is past the end of the video (3000 ms)"
        );
    }

    #[test]
    fn a_source_that_is_not_a_video_fails_clearly() {
        for source in [
            b"this is not a video".to_vec(),
            Vec::new(),
            b"#EXTM3U\n#EXTINF:1,\n/etc/passwd\n#EXT-X-ENDLIST\n".to_vec(),
            fixture(CLIP)[..600].to_vec(),
        ] {
            let error = ffmpeg().frame(&source, &grab(0)).unwrap_err();
            assert_eq!(error.code, ErrorCode::DecodeFailed, "{}", error.message);
            assert!(error.message.starts_with("video: "), "{}", error.message);
            assert!(!error.message.contains("/tmp"), "{}", error.message);
        }
    }

    #[test]
    fn a_runaway_program_is_killed_at_the_deadline() {
        // A stand-in "ffmpeg" that never finishes.
        let folder = tempfile::tempdir().unwrap();
        let script = folder.path().join("slow-ffmpeg");
        std::fs::write(&script, "#!/bin/sh\nexec sleep 30\n").unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        let slow = Ffmpeg {
            ffmpeg: script,
            ffprobe: PathBuf::from("ffprobe"),
            timeout: Duration::from_millis(300),
        };
        let started = Instant::now();
        let error = slow.frame(&fixture(CLIP), &grab(0)).unwrap_err();
        assert_eq!(error.code, ErrorCode::DeadlineExceeded);
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{:?}",
            started.elapsed()
        );
    }

    #[test]
    fn a_missing_program_is_an_internal_error() {
        let missing = Ffmpeg {
            ffmpeg: PathBuf::from("/nonexistent/ffmpeg"),
            ..ffmpeg()
        };
        let error = missing.frame(&fixture(CLIP), &grab(0)).unwrap_err();
        assert_eq!(error.code, ErrorCode::InternalError);
        assert!(
            error.message.contains("is it installed"),
            "{}",
            error.message
        );
    }

    #[test]
    fn pipelines_run_on_the_frame_and_images_stay_on_the_engine() {
        let clip = fixture(CLIP);
        let oss = pipeline::parse::oss::parse_process(
            "video/snapshot,t_1500,f_jpg,w_80",
            &pipeline::NoStyles,
        )
        .unwrap()
        .pipeline;
        let qiniu =
            pipeline::parse::qiniu::parse_command("vframe/png/offset/2.5/w/100/h/40/rotate/90")
                .unwrap()
                .pipeline;
        let image = "image/resize,w_10".parse::<Pipeline>().unwrap();
        let limits = Limits::default();
        let extractor = ffmpeg();
        let resources = pipeline::Resources::new(&limits).with_frames(&extractor);
        let results: Vec<_> =
            pipeline::run([&oss, &qiniu, &image].map(|p| ((), p)), &clip, &resources)
                .into_iter()
                .map(|(_, result)| result)
                .collect();
        let oss = results[0].as_ref().unwrap();
        assert_eq!((oss.width, oss.height, oss.extension()), (80, 60, "jpg"));
        let qiniu = results[1].as_ref().unwrap();
        assert_eq!(
            (qiniu.width, qiniu.height, qiniu.extension()),
            (40, 100, "png")
        );
        assert_eq!(colour(&qiniu.bytes), "blue");
        // A video is no image: the engine refuses it.
        assert!(results[2].is_err());
    }

    #[test]
    fn ffmpeg_times_are_seconds_with_milliseconds() {
        assert_eq!(seconds(0), "0.000");
        assert_eq!(seconds(7000), "7.000");
        assert_eq!(seconds(1234), "1.234");
        assert_eq!(seconds(5), "0.005");
    }
}
