//! Qiniu `fops` / `persistentOps` strings.
//!
//! ```text
//! <step>|<step>|...[|saveas/<EncodedEntryURI>];<command>;...
//! step = imageMogr2/thumbnail/<geometry>/format/<fmt>/quality/<q>[!]/interlace/<0|1>...
//! ```
//!
//! Commands are separated by `;` and each produces one output; inside a command, steps are
//! chained with `|` and run in order, and `saveas/<EncodedEntryURI>` may only come last.
//! `EncodedEntryURI` is URL-safe base64 of `bucket:key` (padding optional); a bare `bucket`
//! means the caller generates the key.
//!
//! Strings may arrive still percent-encoded (a put policy's `persistentOps`): parameter
//! values are percent-decoded, so `thumbnail/200x300%3E` and `thumbnail/200x300>` are the same.
//!
//! Errors: an empty command (a stray `;`), an unknown command or parameter, or a bad value is
//! `InvalidArgument`; a Qiniu command or `imageMogr2` parameter that Ferrotype does not do yet
//! is `NotImplemented`. Error `step` indexes are the `|` position inside the command. When the
//! string holds several commands, messages start with `command N:` (1-based).
//!
//! | file | what it reads |
//! |---|---|
//! | `image_mogr2.rs` | `imageMogr2/...` (its geometries in `thumbnail.rs` and `crop.rs`) |
//! | `image_view2.rs` | `imageView2/<mode>/...` |
//! | `watermark.rs` | `watermark/1`, `/2`, `/3` |
//! | `info.rs` | `imageInfo`, `exif` |
//! | `vframe.rs` | `vframe/...`, the first step of a command on a video |
//! | `saveas.rs` | `saveas/<EncodedEntryURI>` ([`decode_entry_uri`]) |
//! | `values.rs` | the value syntaxes several commands share (quality, gravity names) |
//!
//! # imageMogr2 parameters
//!
//! Every parameter of the document, in any order; each becomes a step in the order written
//! (`thumbnail`, `crop`, `rotate`, `blur`, `auto-orient`) or an output setting (`format`,
//! `quality`, `interlace`, `size-limit`, `strip`: the result carries no metadata, see
//! [`crate::metadata`]). `gravity/<NorthWest|North|...|SouthEast>` sets the anchor of the
//! crops that follow it in the same `imageMogr2` step ("只影响其后的裁剪偏移"). A command with
//! Qiniu steps and no `quality` gets Qiniu's default, `quality/75` (adaptive), made explicit in
//! the AST; a command that is only `style/<name>` keeps the style's (OSS) defaults.
//! `sharpen/1` sharpens ([`crate::ops::sharpen`] at OSS's recommended strength, 100) and
//! `sharpen/0` does nothing ("图片是否锐化，当设置值为1时打开锐化效果").
//!
//! ImageMagick's raw characters are accepted once URL-decoded: `%` = `p`, `^` = `r`, `+` = `a`
//! with a leading `!` implied (`50%` = `!50p`, `300x300+30-100` = `!300x300a30-100`).
//!
//! # Thumbnail geometry
//!
//! | geometry | meaning | step |
//! |---|---|---|
//! | `<W>x`, `x<H>` | one side, the other proportional; 0-10000 (0 = not given) | resize lfit, may enlarge |
//! | `<W>x<H>` | fit inside W x H | resize lfit, may enlarge unless W or H > 10000 |
//! | `!<N>p` | N percent, 1-1000 | resize p, may enlarge |
//! | `!<W>x<H>r` | cover W x H | resize mfit, may enlarge unless W or H > 10000 |
//! | `<W>x<H>!` | exactly W x H | resize fixed, may enlarge unless W or H > 10000 |
//! | `<W>x<H>>` | shrink to fit only when larger | resize lfit, never enlarges |
//! | `!<N>px`, `!x<N>p` | width / height by N percent, the other side kept | [`Scale`](crate::ops::scale::Scale) |
//! | `<W>x<H><` | enlarge to fit only when smaller | [`Scale`](crate::ops::scale::Scale) |
//! | `<Area>@` | proportional, at most Area pixels | [`Scale`](crate::ops::scale::Scale) |
//!
//! `0x0` (or `0x`, `x0`) names no size at all: no resize step.
//!
//! # Other commands
//!
//! * `imageView2/<0-5>/w/<W>/h/<H>/format/<f>/interlace/<0|1>/q/<q>[!]/ignore-error/<0|1>`:
//!   an `auto-orient` step (imageView2 turns images upright by default) then a
//!   [`crate::ops::image_view`] step; `q` follows the same rules as `imageMogr2/quality`
//!   (default 75); `colors` and `dither` are `NotImplemented`.
//! * `imageInfo` (also spelled `imageinfo`) and `exif`: the result is a JSON document
//!   ([`crate::ops::info`]); they must be the only processing step of their command.
//! * `watermark/1` (image), `watermark/2` (text) and `watermark/3` (image and text groups, each
//!   starting at its `image` or `text`): one [`crate::ops::watermark`] step per mark, in order.
//!   `image` is URL-safe base64 of `bucket:key` or a key in the source bucket; `text`, `font`
//!   and `fill` (the colour: `#RRGGBB` or a colour name) are URL-safe base64 too; `fontsize` is
//!   in twips (1/20 pt at 72 DPI: 20 twips = 1 px; default 240); `font` defaults to 黑体 and
//!   maps onto the OSS font table (`qiniu/watermark.rs`).
//! * `vframe/<jpg|png>/offset/<seconds>/w/<W>/h/<H>/rotate/<90|180|270|auto>`: the first step
//!   of a command on a video source ([`crate::video`]): the frame goes in
//!   [`Pipeline::frame`], `w`/`h` become a `resize` (enlarging allowed), `rotate` a `rotate`
//!   step; later `|` steps (`imageMogr2`...) work on the frame.
//! * `imageAve`, `avthumb`, ...: `NotImplemented`.
//!
//! # Crop geometry
//!
//! `<W>x`, `x<H>`, `<W>x<H>` (0-10000, 0 = the whole side) and `!<W>x<H>a<dx>a<dy>` where
//! either `a` may be `-` for a negative offset; both offsets are required. See
//! [`crate::ops::crop`] for placement and clipping.

mod crop;
mod image_mogr2;
mod image_view2;
mod info;
mod saveas;
mod thumbnail;
mod values;
mod vframe;
mod watermark;

pub use saveas::decode_entry_uri;

use super::oss::expand_style;
use super::{NoStyles, StyleLookup};
use crate::ast::{Command, Pipeline, SaveAs, Step};
use crate::error::PipelineError;
use crate::ops::quality::Quality;

/// Qiniu processing commands that exist but are not implemented yet.
const NOT_YET_IMPLEMENTED_COMMANDS: [&str; 6] = [
    "imageAve",
    "imageslim",
    "avthumb",
    "vsample",
    "avinfo",
    "odconv",
];

/// The JPEG quality of a Qiniu result when the command names none ("取值范围是[1, 100]，默认75").
pub const QINIU_DEFAULT_QUALITY: u8 = 75;

/// Parses a `fops` string into its commands.
pub fn parse_fops(text: &str) -> Result<Vec<Command>, PipelineError> {
    let commands: Vec<&str> = text.split(';').collect();
    let several = commands.len() > 1;
    commands
        .iter()
        .enumerate()
        .map(|(index, command)| {
            parse_command(command).map_err(|mut error| {
                if several {
                    error.message = format!("command {}: {}", index + 1, error.message);
                }
                error
            })
        })
        .collect()
}

/// Parses one command: `|`-separated steps, optionally ending with `saveas/...`.
pub fn parse_command(text: &str) -> Result<Command, PipelineError> {
    parse_command_with_styles(text, &NoStyles)
}

/// Like [`parse_command`], and a first step `style/<name>` stands for the bucket's style
/// (an OSS processing string), as Ferrotype lets Qiniu commands name styles too.
pub fn parse_command_with_styles(
    text: &str,
    styles: &dyn StyleLookup,
) -> Result<Command, PipelineError> {
    if text.is_empty() {
        return Err(PipelineError::invalid_argument(
            "empty command (check for a stray ';')",
        ));
    }
    let steps: Vec<&str> = text.split('|').collect();
    let last = steps.len() - 1;
    let mut command = CommandSteps::default();
    for (index, step) in steps.iter().enumerate() {
        command
            .read(index, step, index == last, styles)
            .map_err(|error| error.at_step(index))?;
    }
    command.finish()
}

/// A command's steps as they are read, and what they count.
#[derive(Default)]
struct CommandSteps {
    pipeline: Pipeline,
    save_as: Option<SaveAs>,
    /// Steps that process: every one but `saveas`.
    processing_steps: usize,
    /// Processing steps in Qiniu's language: every one but a `style/`.
    qiniu_steps: usize,
}

impl CommandSteps {
    /// Reads the `|` step at `index` (the command's `last` one or not).
    fn read(
        &mut self,
        index: usize,
        step: &str,
        last: bool,
        styles: &dyn StyleLookup,
    ) -> Result<(), PipelineError> {
        if let (0, Some(parameters)) = (index, step.strip_prefix("vframe/")) {
            self.processing_steps += 1;
            self.qiniu_steps += 1;
            return vframe::parse(parameters, &mut self.pipeline);
        }
        if let (0, Some(name)) = (index, step.strip_prefix("style/")) {
            self.processing_steps += 1;
            self.pipeline = expand_style(name, styles)?;
            return Ok(());
        }
        if let Some(entry) = step.strip_prefix("saveas/") {
            if !last {
                return Err(PipelineError::invalid_argument(
                    "saveas: must be the last step of a command",
                ));
            }
            self.save_as = Some(decode_entry_uri(entry)?);
            return Ok(());
        }
        self.processing_steps += 1;
        self.qiniu_steps += 1;
        parse_step(step, &mut self.pipeline)
    }

    /// The command, once every step is read.
    fn finish(self) -> Result<Command, PipelineError> {
        let CommandSteps {
            mut pipeline,
            save_as,
            processing_steps,
            qiniu_steps,
        } = self;
        if processing_steps == 0 {
            return Err(PipelineError::invalid_argument(
                "saveas: a command needs a processing step before saveas",
            ));
        }
        if pipeline.output.document.is_some() {
            if processing_steps > 1 {
                return Err(PipelineError::invalid_argument(
                    "imageInfo and exif describe the source: they must be a command's only \
                     processing step",
                ));
            }
            return Ok(Command { pipeline, save_as });
        }
        // Qiniu runs every step on each frame of an animation; OSS's one-level rule stays with
        // a style alone.
        if qiniu_steps > 0 && pipeline.steps.len() > 1 {
            pipeline.output.multi_step_animation = true;
        }
        // A style alone is a stored OSS pipeline and keeps OSS's defaults; Qiniu's default
        // quality belongs to commands that have Qiniu steps.
        if pipeline.output.quality.is_none() && qiniu_steps > 0 {
            // Made explicit so the canonical form (the cache key) tells Qiniu's default from OSS's.
            pipeline.output.quality = Some(Quality::Adaptive(QINIU_DEFAULT_QUALITY));
        }
        Ok(Command { pipeline, save_as })
    }
}

/// Reads one processing step, `<command>/<parameters>`.
fn parse_step(text: &str, pipeline: &mut Pipeline) -> Result<(), PipelineError> {
    let (name, parameters) = text.split_once('/').unwrap_or((text, ""));
    match name {
        "imageMogr2" => image_mogr2::parse(parameters, pipeline),
        "imageView2" => image_view2::parse(parameters, pipeline),
        "watermark" => watermark::parse(parameters, pipeline),
        "imageInfo" | "imageinfo" | "exif" => info::parse(name, parameters, pipeline),
        "vframe" => Err(PipelineError::invalid_argument(
            "vframe: must be the first step of a command, with a format (vframe/<jpg|png>/...)",
        )),
        "saveas" => Err(PipelineError::missing_argument(
            "saveas: the EncodedEntryURI is required (saveas/<EncodedEntryURI>)",
        )),
        "" => Err(PipelineError::invalid_argument(
            "empty step (check for '||' or a stray '|')",
        )),
        known if NOT_YET_IMPLEMENTED_COMMANDS.contains(&known) => Err(
            PipelineError::not_implemented(format!("{known}: this command is not implemented yet")),
        ),
        unknown => Err(PipelineError::invalid_argument(format!(
            "unknown command '{unknown}'"
        ))),
    }
}

/// Adds `auto-orient` unless the command already has it: the step undoes the source's
/// orientation, so a second one would turn the image again.
fn push_auto_orient(pipeline: &mut Pipeline) {
    if !pipeline.steps.contains(&Step::AutoOrient) {
        pipeline.steps.push(Step::AutoOrient);
    }
}

/// The value after a parameter's name in a `name/value/...` list (`action` is
/// `<command>/<name>`), percent-decoded; `MissingArgument` when there is none.
fn next_value<'a>(
    action: &str,
    segments: &mut impl Iterator<Item = &'a str>,
) -> Result<String, PipelineError> {
    match segments.next() {
        Some(raw) if !raw.is_empty() => Ok(super::lex::percent_decode(action, raw)?.into_owned()),
        _ => Err(PipelineError::missing_argument(format!(
            "{action}: a value is required"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::ImageFormat;
    use crate::error::ErrorCode;
    use crate::ops::resize::Resize;
    use base64::Engine as _;

    #[test]
    fn a_first_step_may_name_a_style() {
        let styles: std::collections::HashMap<String, String> =
            [("small".to_string(), "image/resize,w_80".to_string())].into();
        let entry = base64::engine::general_purpose::URL_SAFE.encode("b:out.jpg");
        let command =
            parse_command_with_styles(&format!("style/small|saveas/{entry}"), &styles).unwrap();
        assert_eq!(command.pipeline.to_string(), "image/resize,w_80");
        assert_eq!(command.save_as.unwrap().key.as_deref(), Some("out.jpg"));
        let missing = parse_command_with_styles("style/none", &styles).unwrap_err();
        assert_eq!(missing.code, ErrorCode::NoSuchStyle);
        // Only as the first step, and never without a lookup.
        let later = parse_command_with_styles("imageMogr2/thumbnail/10x|style/small", &styles);
        assert!(later.is_err());
        assert_eq!(
            parse_command("style/small").unwrap_err().code,
            ErrorCode::NoSuchStyle
        );
    }

    fn entry(text: &str) -> String {
        base64::engine::general_purpose::URL_SAFE.encode(text)
    }

    #[test]
    fn one_command_with_every_implemented_parameter_and_saveas() {
        let text = format!(
            "imageMogr2/thumbnail/300x300/format/png/quality/80!/interlace/1|saveas/{}",
            entry("out:thumbs/a.png")
        );
        let commands = parse_fops(&text).unwrap();
        assert_eq!(commands.len(), 1);
        let command = &commands[0];
        assert_eq!(
            command.pipeline.steps,
            vec![Step::Resize(Resize {
                width: Some(300),
                height: Some(300),
                allow_enlarge: true,
                ..Resize::default()
            })]
        );
        let output = &command.pipeline.output;
        assert_eq!(output.format, Some(ImageFormat::Png));
        assert_eq!(output.quality, Some(Quality::Forced(80)));
        assert_eq!(output.interlace, Some(true));
        assert_eq!(
            command.save_as,
            Some(SaveAs {
                bucket: Some("out".into()),
                key: Some("thumbs/a.png".into()),
            })
        );
    }

    #[test]
    fn several_commands_each_with_their_own_saveas() {
        let text = format!(
            "imageMogr2/thumbnail/100x|saveas/{};imageMogr2/format/webp|saveas/{}",
            entry("b:small.jpg"),
            entry("b")
        );
        let commands = parse_fops(&text).unwrap();
        assert_eq!(commands.len(), 2);
        assert_eq!(
            commands[0].save_as.as_ref().unwrap().key.as_deref(),
            Some("small.jpg")
        );
        assert_eq!(
            commands[1].save_as.as_ref().unwrap().bucket.as_deref(),
            Some("b")
        );
        assert_eq!(commands[1].save_as.as_ref().unwrap().key, None);
        assert_eq!(commands[1].pipeline.output.format, Some(ImageFormat::Webp));
    }

    #[test]
    fn steps_chained_with_a_pipe_run_in_order_and_share_output_settings() {
        let commands =
            parse_fops("imageMogr2/thumbnail/200x/quality/70|imageMogr2/thumbnail/x50/format/jpg")
                .unwrap();
        let pipeline = &commands[0].pipeline;
        assert_eq!(pipeline.steps.len(), 2);
        assert_eq!(pipeline.output.quality, Some(Quality::Adaptive(70)));
        assert_eq!(pipeline.output.format, Some(ImageFormat::Jpeg));
    }

    #[test]
    fn encoded_and_decoded_forms_mean_the_same() {
        let pairs = [
            (
                "imageMogr2/thumbnail/200x300%3E",
                "imageMogr2/thumbnail/200x300>",
            ),
            (
                "imageMogr2/thumbnail/200x300%21",
                "imageMogr2/thumbnail/200x300!",
            ),
            ("imageMogr2/thumbnail/%2175p", "imageMogr2/thumbnail/!75p"),
            ("imageMogr2/quality/80%21", "imageMogr2/quality/80!"),
        ];
        for (encoded, decoded) in pairs {
            assert_eq!(
                parse_fops(encoded).unwrap(),
                parse_fops(decoded).unwrap(),
                "{encoded}"
            );
        }
    }

    #[test]
    fn errors_name_the_command_the_parameter_and_the_step() {
        let table = [
            ("", ErrorCode::InvalidArgument, None, "empty command (check for a stray ';')"),
            ("imageMogr2/thumbnail/100x;", ErrorCode::InvalidArgument, None, "command 2: empty command (check for a stray ';')"),
            (";imageMogr2/thumbnail/100x", ErrorCode::InvalidArgument, None, "command 1: empty command (check for a stray ';')"),
            ("imageMogr2", ErrorCode::InvalidArgument, Some(0), "imageMogr2: no parameters (e.g. imageMogr2/thumbnail/100x)"),
            ("imageMogr2/thumbnail", ErrorCode::MissingArgument, Some(0), "imageMogr2/thumbnail: a value is required"),
            ("imageMogr2/thumbnail/abc", ErrorCode::InvalidArgument, Some(0), "imageMogr2/thumbnail: 'abc' is not a geometry (<W>x, x<H>, <W>x<H>, !<N>p, !<W>x<H>r, <W>x<H>!, <W>x<H>>)"),
            ("imageMogr2/thumbnail/x", ErrorCode::InvalidArgument, Some(0), "imageMogr2/thumbnail: 'x' is not a geometry (<W>x, x<H>, <W>x<H>, !<N>p, !<W>x<H>r, <W>x<H>!, <W>x<H>>)"),
            ("imageMogr2/thumbnail/10001x", ErrorCode::InvalidArgument, Some(0), "imageMogr2/thumbnail: 10001x is out of range 0-10000"),
            ("imageMogr2/thumbnail/x-5", ErrorCode::InvalidArgument, Some(0), "imageMogr2/thumbnail: x-5 is not a whole number"),
            ("imageMogr2/thumbnail/99999999999x1", ErrorCode::InvalidArgument, Some(0), "imageMogr2/thumbnail: 99999999999x1 is too large"),
            ("imageMogr2/thumbnail/!1001p", ErrorCode::InvalidArgument, Some(0), "imageMogr2/thumbnail: !1001p is out of range 1-1000"),
            ("imageMogr2/thumbnail/200x!", ErrorCode::InvalidArgument, Some(0), "imageMogr2/thumbnail: 200x! needs both a width and a height"),
            ("imageMogr2/thumbnail/!0px", ErrorCode::InvalidArgument, Some(0), "imageMogr2/thumbnail: !0px is out of range 1-1000"),
            ("imageMogr2/thumbnail/0@", ErrorCode::InvalidArgument, Some(0), "imageMogr2/thumbnail: 0@ must be at least 1"),
            ("imageMogr2/thumbnail/1001%25x", ErrorCode::InvalidArgument, Some(0), "imageMogr2/thumbnail: 1001%x is out of range 1-1000"),
            ("imageMogr2/quality/0", ErrorCode::InvalidArgument, Some(0), "imageMogr2/quality: 0 is out of range 1-100"),
            ("imageMogr2/quality/high", ErrorCode::InvalidArgument, Some(0), "imageMogr2/quality: high is not a whole number"),
            ("imageMogr2/format/jxl", ErrorCode::InvalidArgument, Some(0), "imageMogr2/format: unknown format 'jxl' (expected one of jpg, png, bmp, webp, gif, tiff, heic, avif)"),
            ("imageMogr2/interlace/yes", ErrorCode::InvalidArgument, Some(0), "imageMogr2/interlace: 'yes' must be 0 or 1"),
            ("imageMogr2/crop/!300x300a10", ErrorCode::InvalidArgument, Some(0), "imageMogr2/crop: '!300x300a10' is not a crop geometry (<W>x, x<H>, <W>x<H>, !<W>x<H>a<dx>a<dy>, with - for negative offsets)"),
            ("imageMogr2/crop/10001x", ErrorCode::InvalidArgument, Some(0), "imageMogr2/crop: 10001x is out of range 0-10000"),
            ("imageMogr2/rotate/0", ErrorCode::InvalidArgument, Some(0), "imageMogr2/rotate: 0 is out of range 1-360"),
            ("imageMogr2/blur/51x2", ErrorCode::InvalidArgument, Some(0), "imageMogr2/blur: 51x2 is out of range 1-50"),
            ("imageMogr2/blur/3x0", ErrorCode::InvalidArgument, Some(0), "imageMogr2/blur: sigma '0' must be a number greater than 0 (at most 3 decimals)"),
            ("imageMogr2/gravity/Middle/crop/1x1", ErrorCode::InvalidArgument, Some(0), "imageMogr2/gravity: 'Middle' is not a gravity (NorthWest, North, NorthEast, West, Center, East, SouthWest, South, SouthEast, Face)"),
            ("imageMogr2/size-limit/15g", ErrorCode::InvalidArgument, Some(0), "imageMogr2/size-limit: '15g' is not a size (<n>, <n>k, <n>m or $(fsize), optionally followed by !)"),
            ("imageMogr2/sharpen/2", ErrorCode::InvalidArgument, Some(0), "imageMogr2/sharpen: '2' must be 0 or 1"),
            ("imageMogr2/sharpen", ErrorCode::MissingArgument, Some(0), "imageMogr2/sharpen: a value is required"),
            ("imageMogr2/sepia/1", ErrorCode::InvalidArgument, Some(0), "imageMogr2: unknown parameter 'sepia'"),
            ("imageMogr2//thumbnail/1x", ErrorCode::InvalidArgument, Some(0), "imageMogr2: empty parameter (check for '//')"),
            ("imageMogr2/thumbnail/1x|avthumb/mp4", ErrorCode::NotImplemented, Some(1), "avthumb: this command is not implemented yet"),
            ("imageInfo|imageMogr2/thumbnail/1x", ErrorCode::InvalidArgument, None, "imageInfo and exif describe the source: they must be a command's only processing step"),
            ("exif/1", ErrorCode::InvalidArgument, Some(0), "exif: takes no parameters"),
            ("watermark/2/image/YQ", ErrorCode::InvalidArgument, Some(0), "watermark/2: takes no image (use watermark/3 for images and texts)"),
            ("watermark/2/text/YQ/text/Yg", ErrorCode::InvalidArgument, Some(0), "watermark/2: takes one text (use watermark/3 for several)"),
            ("watermark/2/fontsize/20", ErrorCode::InvalidArgument, Some(0), "watermark/fontsize: must follow a text/<encodedText>"),
            ("watermark/2/text/YQ/fontsize/0", ErrorCode::InvalidArgument, Some(0), "watermark/fontsize: 0 is out of range 1-20000"),
            ("watermark/2/text/YQ/fill/cHVjZQ", ErrorCode::InvalidArgument, Some(0), "watermark/fill: 'puce' is not a colour (#RRGGBB or a name such as red)"),
            ("watermark/2/text/YQ/font/Q29taWM", ErrorCode::InvalidArgument, Some(0), "watermark/font: 'Comic' is not a known font (黑体, 宋体, 楷体, 仿宋, 微软雅黑, 文泉驿正黑, or an OSS font name)"),
            ("watermark/2/text/YQ/ws/0.5", ErrorCode::InvalidArgument, Some(0), "watermark/ws: ws does not apply to this group"),
            ("watermark/3/image/YQ/fill/cmVk", ErrorCode::InvalidArgument, Some(0), "watermark/fill: fill does not apply to this group"),
            ("watermark/2", ErrorCode::MissingArgument, Some(0), "watermark/2: text is required"),
            ("watermark/1/dissolve/50", ErrorCode::InvalidArgument, Some(0), "watermark/dissolve: must follow an image/<encodedImageURL>"),
            ("watermark/1/image/YQ/image/YQ", ErrorCode::InvalidArgument, Some(0), "watermark/1: takes one image (use watermark/3 for several)"),
            ("watermark/1/image/YQ/dissolve/0", ErrorCode::InvalidArgument, Some(0), "watermark/dissolve: 0 is out of range 1-100"),
            ("watermark/1", ErrorCode::MissingArgument, Some(0), "watermark/1: image is required"),
            ("imageView2/6/w/100", ErrorCode::InvalidArgument, Some(0), "imageView2: 6 is out of range 0-5"),
            ("imageView2", ErrorCode::MissingArgument, Some(0), "imageView2: the mode is required (imageView2/<0-5>/w/<W>/h/<H>)"),
            ("imageView2/1/w/0", ErrorCode::InvalidArgument, Some(0), "imageView2/w: 0 must be at least 1"),
            ("imageView2/1/w", ErrorCode::MissingArgument, Some(0), "imageView2/w: a value is required"),
            ("imageView2/1/q/101", ErrorCode::InvalidArgument, Some(0), "imageView2/q: 101 is out of range 1-100"),
            ("imageView2/1/x/1", ErrorCode::InvalidArgument, Some(0), "imageView2: unknown parameter 'x'"),
            ("imageMogr2/thumbnail/1x|frobnicate/1", ErrorCode::InvalidArgument, Some(1), "unknown command 'frobnicate'"),
            ("imageMogr2/thumbnail/1x||imageMogr2/format/png", ErrorCode::InvalidArgument, Some(1), "empty step (check for '||' or a stray '|')"),
            ("saveas/b3V0", ErrorCode::InvalidArgument, None, "saveas: a command needs a processing step before saveas"),
            ("imageMogr2/format/png|saveas/b3V0|imageMogr2/format/jpg", ErrorCode::InvalidArgument, Some(1), "saveas: must be the last step of a command"),
            ("imageMogr2/format/png|saveas/", ErrorCode::MissingArgument, Some(1), "saveas: the EncodedEntryURI is required (saveas/<EncodedEntryURI>)"),
            ("imageMogr2/format/png|saveas", ErrorCode::MissingArgument, Some(1), "saveas: the EncodedEntryURI is required (saveas/<EncodedEntryURI>)"),
            ("imageMogr2/format/png|saveas/Om91dA", ErrorCode::InvalidArgument, Some(1), "saveas: ':out' names no bucket (expected bucket:key)"),
        ];
        for (text, code, step, message) in table {
            let error = parse_fops(text).unwrap_err();
            assert_eq!(
                (error.code, error.step, error.message.as_str()),
                (code, step, message),
                "{text}"
            );
        }
    }
}
