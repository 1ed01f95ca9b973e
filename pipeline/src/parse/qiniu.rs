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
//! # imageMogr2 parameters
//!
//! Every parameter of the document, in any order; each becomes a step in the order written
//! (`thumbnail`, `crop`, `rotate`, `blur`, `auto-orient`) or an output setting (`format`,
//! `quality`, `interlace`, `size-limit`). `strip` is accepted and has no step: the encoders
//! never write metadata. `gravity/<NorthWest|North|...|SouthEast>` sets the anchor of the
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
//! | `!<N>px`, `!x<N>p` | width / height by N percent, the other side kept | [`Scale`] |
//! | `<W>x<H><` | enlarge to fit only when smaller | [`Scale`] |
//! | `<Area>@` | proportional, at most Area pixels | [`Scale`] |
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
//!   maps onto the OSS font table ([`crate::ops::text::FontFamily::from_qiniu_name`]).
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

use super::{decode_base64_text, integer_in, percent_decode};
use crate::ast::{Command, Pipeline, SaveAs, Step};
use crate::codec::ImageFormat;
use crate::codec::Rgb;
use crate::error::PipelineError;
use crate::ops::blur::{Blur, RADIUS_RANGE};
use crate::ops::crop::Crop;
use crate::ops::gravity::Gravity;
use crate::ops::image_view::ImageView;
use crate::ops::info::Document;
use crate::ops::quality::{Quality, QUALITY_RANGE};
use crate::ops::resize::{Resize, ResizeMode, PERCENT_RANGE};
use crate::ops::rotate::Rotate;
use crate::ops::scale::Scale;
use crate::ops::sharpen::Sharpen;
use crate::ops::size_limit::SizeLimit;
use crate::ops::text::{FontFamily, TextMark, MAX_SIZE};
use crate::ops::watermark::{MarkContent, MarkImage, Watermark};

/// The range of `<W>x` and `x<H>`.
const SINGLE_SIDE_RANGE: std::ops::RangeInclusive<u32> = 0..=10_000;

/// Above this, a two-sided thumbnail may only shrink ("若宽高超过10000时只能缩不能放").
const ENLARGE_MAX_SIDE: u32 = 10_000;

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

/// The range of crop sizes ("取值范围为0-10000"; 0 = the whole side).
const CROP_SIDE_RANGE: std::ops::RangeInclusive<u32> = 0..=10_000;

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
    parse_command_with_styles(text, &super::NoStyles)
}

/// Like [`parse_command`], and a first step `style/<name>` stands for the bucket's style
/// (an OSS processing string), as Ferrotype lets Qiniu commands name styles too.
pub fn parse_command_with_styles(
    text: &str,
    styles: &dyn super::StyleLookup,
) -> Result<Command, PipelineError> {
    if text.is_empty() {
        return Err(PipelineError::invalid_argument(
            "empty command (check for a stray ';')",
        ));
    }
    let steps: Vec<&str> = text.split('|').collect();
    let last = steps.len() - 1;
    let mut pipeline = Pipeline::default();
    let mut save_as = None;
    let mut processing_steps = 0;
    let mut qiniu_steps = 0;
    for (index, step) in steps.iter().enumerate() {
        let parsed = if let (0, Some(parameters)) = (index, step.strip_prefix("vframe/")) {
            processing_steps += 1;
            qiniu_steps += 1;
            parse_vframe(parameters, &mut pipeline)
        } else if let (0, Some(name)) = (index, step.strip_prefix("style/")) {
            processing_steps += 1;
            super::oss::expand_style(name, styles).map(|expanded| pipeline = expanded)
        } else if let Some(entry) = step.strip_prefix("saveas/") {
            if index != last {
                Err(PipelineError::invalid_argument(
                    "saveas: must be the last step of a command",
                ))
            } else {
                decode_entry_uri(entry).map(|target| save_as = Some(target))
            }
        } else {
            processing_steps += 1;
            qiniu_steps += 1;
            parse_step(step, &mut pipeline)
        };
        parsed.map_err(|error| error.at_step(index))?;
    }
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

/// vframe's `w`/`h`: "长边取值范围 [20,3840]，短边取值范围 [20,2160]".
const VFRAME_LONG_SIDE: std::ops::RangeInclusive<u32> = 20..=3840;
const VFRAME_SHORT_SIDE_MAX: u32 = 2160;

/// `vframe/<jpg|png>/offset/<seconds>/w/<W>/h/<H>/rotate/<90|180|270|auto>` (the part after
/// `vframe/`).
fn parse_vframe(parameters: &str, pipeline: &mut Pipeline) -> Result<(), PipelineError> {
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
    let (mut offset, mut width, mut height, mut rotate) = (None, None, None, None);
    while let Some(key) = items.next() {
        let value = items.next().ok_or_else(|| {
            PipelineError::invalid_argument(format!("vframe: {key} has no value"))
        })?;
        let value = percent_decode("vframe", value)?;
        let slot = match key {
            "offset" => &mut offset,
            "w" => &mut width,
            "h" => &mut height,
            "rotate" => &mut rotate,
            other => {
                return Err(PipelineError::invalid_argument(format!(
                    "vframe: unknown parameter '{other}'"
                )))
            }
        };
        if slot.replace(value).is_some() {
            return Err(PipelineError::invalid_argument(format!(
                "vframe: {key} is given twice"
            )));
        }
    }
    let offset = offset
        .ok_or_else(|| PipelineError::missing_argument("vframe: offset (seconds) is required"))?;
    let offset_ms = crate::video::seconds_to_ms("vframe", &offset)?;
    let side = |key: &str, value: Option<&str>| {
        value
            .map(|value| integer_in("vframe", &format!("{key}/{value}"), value, VFRAME_LONG_SIDE))
            .transpose()
    };
    let width = side("w", width.as_deref())?;
    let height = side("h", height.as_deref())?;
    if let (Some(w), Some(h)) = (width, height) {
        if w.min(h) > VFRAME_SHORT_SIDE_MAX {
            return Err(PipelineError::invalid_argument(format!(
                "vframe: w/{w}/h/{h}: the short side must be at most {VFRAME_SHORT_SIDE_MAX}"
            )));
        }
    }
    let mut autorotate = false;
    let rotate_step = match rotate.as_deref() {
        None => None,
        Some("auto") => {
            autorotate = true;
            None
        }
        Some(degrees @ ("90" | "180" | "270")) => Some(Rotate {
            degrees: degrees.parse().unwrap_or_default(),
            limit_source_side: false,
        }),
        Some(other) => {
            return Err(PipelineError::invalid_argument(format!(
                "vframe: rotate/{other} is not one of 90, 180, 270, auto"
            )))
        }
    };
    pipeline.frame = Some(crate::video::FrameGrab {
        offset_ms,
        keyframe: false,
        autorotate,
        past_end: crate::video::PastEnd::LastFrame,
    });
    if width.is_some() || height.is_some() {
        let mode = if width.is_some() && height.is_some() {
            ResizeMode::Fixed
        } else {
            ResizeMode::Lfit
        };
        pipeline.steps.push(Step::Resize(Resize {
            mode,
            width,
            height,
            allow_enlarge: true,
            ..Resize::default()
        }));
    }
    pipeline.steps.extend(rotate_step.map(Step::Rotate));
    pipeline.output.format = Some(format);
    Ok(())
}

fn parse_step(text: &str, pipeline: &mut Pipeline) -> Result<(), PipelineError> {
    let (name, parameters) = text.split_once('/').unwrap_or((text, ""));
    match name {
        "imageMogr2" => parse_image_mogr2(parameters, pipeline),
        "imageView2" => parse_image_view2(parameters, pipeline),
        "watermark" => parse_watermark(parameters, pipeline),
        "imageInfo" | "imageinfo" | "exif" => {
            if !parameters.is_empty() {
                return Err(PipelineError::invalid_argument(format!(
                    "{name}: takes no parameters"
                )));
            }
            pipeline.output.document = Some(if name == "exif" {
                Document::QiniuExif
            } else {
                Document::QiniuImageInfo
            });
            Ok(())
        }
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

fn parse_image_mogr2(parameters: &str, pipeline: &mut Pipeline) -> Result<(), PipelineError> {
    // One trailing '/' is tolerated: `imageMogr2/thumbnail/100x/`.
    let parameters = parameters.strip_suffix('/').unwrap_or(parameters);
    if parameters.is_empty() {
        return Err(PipelineError::invalid_argument(
            "imageMogr2: no parameters (e.g. imageMogr2/thumbnail/100x)",
        ));
    }
    let mut segments = parameters.split('/');
    // "gravity 只会使其后的裁剪偏移受到影响": it holds for the crops after it in this step.
    let mut gravity = Gravity::NorthWest;
    while let Some(name) = segments.next() {
        let mut value = |name: &str| -> Result<String, PipelineError> {
            let action = format!("imageMogr2/{name}");
            match segments.next() {
                Some(raw) if !raw.is_empty() => Ok(percent_decode(&action, raw)?.into_owned()),
                _ => Err(PipelineError::missing_argument(format!(
                    "{action}: a value is required"
                ))),
            }
        };
        match name {
            "thumbnail" => {
                if let Some(step) = parse_thumbnail(&value(name)?)? {
                    pipeline.steps.push(step);
                }
            }
            "auto-orient" => push_auto_orient(pipeline),
            // The encoders never copy metadata, so every result is already stripped.
            "strip" => {}
            "gravity" => gravity = Gravity::parse_qiniu("imageMogr2/gravity", &value(name)?)?,
            "crop" => {
                if let Some(crop) = parse_crop(&value(name)?, gravity)? {
                    pipeline.steps.push(Step::Crop(crop));
                }
            }
            "rotate" => {
                let text = value(name)?;
                let degrees = integer_in("imageMogr2/rotate", &text, &text, 1..=360)?;
                pipeline.steps.push(Step::Rotate(Rotate {
                    degrees,
                    limit_source_side: false,
                }));
            }
            "blur" => pipeline.steps.push(Step::Blur(parse_blur(&value(name)?)?)),
            "sharpen" => match value(name)?.as_str() {
                "1" => pipeline.steps.push(Step::Sharpen(Sharpen {
                    value: crate::ops::sharpen::RECOMMENDED,
                })),
                "0" => {}
                other => {
                    return Err(PipelineError::invalid_argument(format!(
                        "imageMogr2/sharpen: '{other}' must be 0 or 1"
                    )))
                }
            },
            "size-limit" => {
                pipeline.output.size_limit = Some(SizeLimit::parse_qiniu(
                    "imageMogr2/size-limit",
                    &value(name)?,
                )?);
            }
            "format" => {
                let format =
                    crate::ops::format::parse_argument("imageMogr2/format", &value(name)?)?;
                pipeline.output.format = Some(format);
                pipeline.output.gif_requires_gif_source = false;
            }
            "quality" => {
                pipeline.output.quality = Some(parse_quality("imageMogr2/quality", &value(name)?)?)
            }
            "interlace" => {
                pipeline.output.interlace =
                    Some(parse_flag("imageMogr2/interlace", &value(name)?)?);
            }
            "" => {
                return Err(PipelineError::invalid_argument(
                    "imageMogr2: empty parameter (check for '//')",
                ))
            }
            unknown => {
                return Err(PipelineError::invalid_argument(format!(
                    "imageMogr2: unknown parameter '{unknown}'"
                )))
            }
        }
    }
    Ok(())
}

/// Adds `auto-orient` unless the command already has it: the step undoes the source's
/// orientation, so a second one would turn the image again.
fn push_auto_orient(pipeline: &mut Pipeline) {
    if !pipeline.steps.contains(&Step::AutoOrient) {
        pipeline.steps.push(Step::AutoOrient);
    }
}

/// `0`/`1` for `interlace` and `ignore-error`.
fn parse_flag(action: &str, value: &str) -> Result<bool, PipelineError> {
    match value {
        "0" => Ok(false),
        "1" => Ok(true),
        other => Err(PipelineError::invalid_argument(format!(
            "{action}: '{other}' must be 0 or 1"
        ))),
    }
}

/// `imageView2/<mode>/w/<W>/h/<H>/format/<f>/interlace/<0|1>/q/<q>[!]/ignore-error/<0|1>`.
/// imageView2 turns the image upright from its EXIF orientation by default ("imageView2缺省根据
/// 此字段的值进行自动旋转修正"), so an `auto-orient` step comes first.
fn parse_image_view2(parameters: &str, pipeline: &mut Pipeline) -> Result<(), PipelineError> {
    const VIEW: &str = "imageView2";
    let parameters = parameters.strip_suffix('/').unwrap_or(parameters);
    let mut segments = parameters.split('/');
    let mode = match segments.next() {
        Some("") | None => {
            return Err(PipelineError::missing_argument(
                "imageView2: the mode is required (imageView2/<0-5>/w/<W>/h/<H>)",
            ))
        }
        Some(mode) => integer_in(VIEW, mode, mode, 0..=5)?,
    };
    let mut view = ImageView {
        mode: u8::try_from(mode).unwrap_or(0),
        width: None,
        height: None,
    };
    while let Some(name) = segments.next() {
        let action = format!("{VIEW}/{name}");
        let value = match segments.next() {
            Some(raw) if !raw.is_empty() => percent_decode(&action, raw)?.into_owned(),
            _ => {
                return Err(PipelineError::missing_argument(format!(
                    "{action}: a value is required"
                )))
            }
        };
        match name {
            "w" => view.width = Some(integer_in(&action, &value, &value, 1..=u32::MAX)?),
            "h" => view.height = Some(integer_in(&action, &value, &value, 1..=u32::MAX)?),
            "format" => {
                pipeline.output.format = Some(crate::ops::format::parse_argument(&action, &value)?);
                pipeline.output.gif_requires_gif_source = false;
            }
            "interlace" => pipeline.output.interlace = Some(parse_flag(&action, &value)?),
            "q" => pipeline.output.quality = Some(parse_quality(&action, &value)?),
            "ignore-error" => pipeline.output.ignore_error = parse_flag(&action, &value)?,
            "colors" | "dither" => {
                return Err(PipelineError::not_implemented(format!(
                    "{action}: not implemented yet"
                )))
            }
            unknown => {
                return Err(PipelineError::invalid_argument(format!(
                    "{VIEW}: unknown parameter '{unknown}'"
                )))
            }
        }
    }
    push_auto_orient(pipeline);
    if view.width.is_some() || view.height.is_some() {
        pipeline.steps.push(Step::View(view));
    }
    Ok(())
}

/// Qiniu's default text size: 240 twips (12 pt, 12 px at the reference 72 DPI).
const DEFAULT_FONTSIZE_TWIPS: u32 = 240;

/// Twips per pixel at Qiniu's reference 72 DPI (1 pt = 1 px, 1 pt = 20 twips).
const TWIPS_PER_PIXEL: u32 = 20;

/// A Qiniu text mark with its defaults: 黑体, black, 240 twips.
fn qiniu_text(text: String) -> TextMark {
    TextMark {
        font: FontFamily::FangzhengHeiti,
        size: DEFAULT_FONTSIZE_TWIPS / TWIPS_PER_PIXEL,
        ..TextMark::new(text)
    }
}

/// `watermark/1/image/<b64>/dissolve/<1-100>/gravity/<G>/dx/<n>/dy/<n>/ws/<0-1>`,
/// `watermark/2/text/<b64>/font/<b64>/fontsize/<twips>/fill/<b64 colour>/dissolve/.../dx/.../dy/...`
/// and `watermark/3/image/<b64>/.../text/<b64>/...` (each `image` or `text` starts a group).
fn parse_watermark(parameters: &str, pipeline: &mut Pipeline) -> Result<(), PipelineError> {
    const MARK: &str = "watermark";
    let parameters = parameters.strip_suffix('/').unwrap_or(parameters);
    let mut segments = parameters.split('/');
    let mode = segments.next().unwrap_or_default();
    let starter = match mode {
        "1" => "image",
        "2" => "text",
        "3" => "image or text",
        "" => {
            return Err(PipelineError::missing_argument(
                "watermark: the mode is required (watermark/1, watermark/2, watermark/3)",
            ))
        }
        other => {
            return Err(PipelineError::invalid_argument(format!(
                "watermark: '{other}' is not a mode (1 image, 2 text, 3 several)"
            )))
        }
    };
    let mut marks: Vec<Watermark> = Vec::new();
    while let Some(name) = segments.next() {
        let action = format!("{MARK}/{name}");
        let value = match segments.next() {
            Some(raw) if !raw.is_empty() => percent_decode(&action, raw)?.into_owned(),
            _ => {
                return Err(PipelineError::missing_argument(format!(
                    "{action}: a value is required"
                )))
            }
        };
        let starts_group = match (mode, name) {
            ("1", "image") | ("2", "text") | ("3", "image" | "text") => true,
            ("1", "text") | ("2", "image") => {
                return Err(PipelineError::invalid_argument(format!(
                    "watermark/{mode}: takes no {name} (use watermark/3 for images and texts)"
                )))
            }
            _ => false,
        };
        if starts_group {
            if mode != "3" && !marks.is_empty() {
                return Err(PipelineError::invalid_argument(format!(
                    "watermark/{mode}: takes one {name} (use watermark/3 for several)"
                )));
            }
            let content = if name == "image" {
                let reference = decode_base64_text(&action, "encodedImageURL", &value)?;
                MarkContent::Image(MarkImage::new(reference))
            } else {
                let text = decode_base64_text(&action, "encodedText", &value)?;
                TextMark::check_text(&action, &text)?;
                MarkContent::Text(qiniu_text(text))
            };
            marks.push(Watermark {
                skip_when_larger: true,
                ..Watermark::new(content)
            });
            continue;
        }
        let Some(mark) = marks.last_mut() else {
            return Err(PipelineError::invalid_argument(format!(
                "{action}: must follow {}",
                if mode == "2" {
                    "a text/<encodedText>"
                } else {
                    "an image/<encodedImageURL>"
                }
            )));
        };
        match (name, &mut mark.content) {
            ("dissolve", _) => {
                mark.opacity =
                    u8::try_from(integer_in(&action, &value, &value, 1..=100)?).unwrap_or(100);
            }
            ("gravity", _) => mark.gravity = Gravity::parse_qiniu(&action, &value)?,
            ("dx", _) => mark.dx = integer_in(&action, &value, &value, 0..=u32::MAX)?,
            ("dy", _) => mark.dy = integer_in(&action, &value, &value, 0..=u32::MAX)?,
            ("ws", MarkContent::Image(image)) => {
                let ws = Blur::parse_sigma(&action, &value)?;
                if ws > 1000 {
                    return Err(PipelineError::invalid_argument(format!(
                        "{action}: '{value}' must be in (0, 1]"
                    )));
                }
                image.ws_milli = Some(ws);
            }
            ("font", MarkContent::Text(text)) => {
                let font = decode_base64_text(&action, "encodedFontName", &value)?;
                text.font = FontFamily::from_qiniu_name(&font).ok_or_else(|| {
                    PipelineError::invalid_argument(format!(
                        "{action}: '{font}' is not a known font (黑体, 宋体, 楷体, 仿宋, 微软雅黑, \
                         文泉驿正黑, or an OSS font name)"
                    ))
                })?;
            }
            ("fontsize", MarkContent::Text(text)) => {
                let twips = integer_in(&action, &value, &value, 1..=MAX_SIZE * TWIPS_PER_PIXEL)?;
                text.size = ((twips + TWIPS_PER_PIXEL / 2) / TWIPS_PER_PIXEL).max(1);
            }
            ("fill", MarkContent::Text(text)) => {
                let colour = decode_base64_text(&action, "encodedTextColor", &value)?;
                text.color = parse_colour(&colour).ok_or_else(|| {
                    PipelineError::invalid_argument(format!(
                        "{action}: '{colour}' is not a colour (#RRGGBB or a name such as red)"
                    ))
                })?;
            }
            (known @ ("ws" | "font" | "fontsize" | "fill"), _) => {
                return Err(PipelineError::invalid_argument(format!(
                    "{action}: {known} does not apply to this group"
                )))
            }
            (unknown, _) => {
                return Err(PipelineError::invalid_argument(format!(
                    "{MARK}: unknown parameter '{unknown}'"
                )))
            }
        }
    }
    if marks.is_empty() {
        return Err(PipelineError::missing_argument(format!(
            "watermark/{mode}: {starter} is required"
        )));
    }
    pipeline
        .steps
        .extend(marks.into_iter().map(Step::Watermark));
    Ok(())
}

/// A Qiniu text colour: `#RRGGBB`, `RRGGBB`, or one of the basic colour names (the sixteen of
/// HTML 4 plus `grey` and `orange`), letter case ignored.
fn parse_colour(text: &str) -> Option<Rgb> {
    let hex = text.strip_prefix('#').unwrap_or(text);
    if let Some(colour) = Rgb::from_hex(hex) {
        return Some(colour);
    }
    let value = match text.to_ascii_lowercase().as_str() {
        "black" => 0x000000,
        "silver" => 0xC0C0C0,
        "gray" | "grey" => 0x808080,
        "white" => 0xFFFFFF,
        "maroon" => 0x800000,
        "red" => 0xFF0000,
        "purple" => 0x800080,
        "fuchsia" | "magenta" => 0xFF00FF,
        "green" => 0x008000,
        "lime" => 0x00FF00,
        "olive" => 0x808000,
        "yellow" => 0xFFFF00,
        "navy" => 0x000080,
        "blue" => 0x0000FF,
        "teal" => 0x008080,
        "aqua" | "cyan" => 0x00FFFF,
        "orange" => 0xFFA500,
        _ => return None,
    };
    Rgb::from_hex(&format!("{value:06X}"))
}

/// `80` is adaptive (capped by Qiniu's correction), `80!` forced.
fn parse_quality(action: &str, value: &str) -> Result<Quality, PipelineError> {
    let (digits, forced) = match value.strip_suffix('!') {
        Some(digits) => (digits, true),
        None => (value, false),
    };
    let number = integer_in(action, value, digits, QUALITY_RANGE)?;
    let number = u8::try_from(number).unwrap_or(100);
    Ok(if forced {
        Quality::Forced(number)
    } else {
        Quality::Adaptive(number)
    })
}

const THUMBNAIL: &str = "imageMogr2/thumbnail";

/// Rewrites ImageMagick's raw geometry characters (`%`, `^`, `+`, as they arrive once
/// URL-decoded) into Qiniu's escaped form: `50%` is `!50p`, `50x50^` is `!50x50r`,
/// `300x300+30+100` is `!300x300a30a100`.
fn escape_geometry(geometry: &str) -> std::borrow::Cow<'_, str> {
    if geometry.starts_with('!') || !geometry.contains(['%', '^', '+']) {
        return std::borrow::Cow::Borrowed(geometry);
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
    std::borrow::Cow::Owned(format!("!{escaped}"))
}

/// A parsed thumbnail geometry.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Thumbnail {
    Resize(Resize),
    Scale(Scale),
}

/// Parses a thumbnail geometry (see the module documentation). `None`: no size at all.
fn parse_thumbnail(geometry: &str) -> Result<Option<Step>, PipelineError> {
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

const CROP: &str = "imageMogr2/crop";

/// Parses `<W>x`, `x<H>`, `<W>x<H>` and `!<W>x<H>{a|-}<dx>{a|-}<dy>` (or the raw `+`/`-`
/// forms). `None`: neither size nor offset, nothing to do.
fn parse_crop(raw: &str, gravity: Gravity) -> Result<Option<Crop>, PipelineError> {
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

/// `<radius>x<sigma>`: radius 1-50, sigma > 0.
fn parse_blur(text: &str) -> Result<Blur, PipelineError> {
    const BLUR: &str = "imageMogr2/blur";
    let (radius, sigma) = text.split_once('x').ok_or_else(|| {
        PipelineError::invalid_argument(format!("{BLUR}: '{text}' is not <radius>x<sigma>"))
    })?;
    Ok(Blur {
        radius: integer_in(BLUR, text, radius, RADIUS_RANGE)?,
        sigma_milli: Blur::parse_sigma(BLUR, sigma)?,
    })
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

/// Decodes `saveas/<EncodedEntryURI>`: URL-safe base64 of `bucket:key` or `bucket`.
pub fn decode_entry_uri(encoded: &str) -> Result<SaveAs, PipelineError> {
    if encoded.is_empty() {
        return Err(PipelineError::missing_argument(
            "saveas: the EncodedEntryURI is required (saveas/<EncodedEntryURI>)",
        ));
    }
    let entry = decode_base64_text("saveas", "EncodedEntryURI", encoded)?;
    let (bucket, key) = match entry.split_once(':') {
        Some((bucket, key)) => (bucket, (!key.is_empty()).then(|| key.to_string())),
        None => (entry.as_str(), None),
    };
    if bucket.is_empty() {
        return Err(PipelineError::invalid_argument(format!(
            "saveas: '{entry}' names no bucket (expected bucket:key)"
        )));
    }
    Ok(SaveAs {
        bucket: Some(bucket.to_string()),
        key,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;
    use base64::Engine as _;

    fn watermarks(fops: &str) -> Vec<Watermark> {
        crate::ops::test_support::watermarks(
            parse_fops(fops)
                .unwrap_or_else(|error| panic!("{fops}: {error}"))
                .remove(0)
                .pipeline,
        )
    }

    #[test]
    fn text_watermarks_follow_the_documents_example_and_defaults() {
        // The document's example: 七牛云存储 in 宋体, 500 twips, white, 85 %, 20 px from the
        // south-east corner.
        let marks = watermarks("watermark/2/text/5LiD54mb5LqR5a2Y5YKo/font/5a6L5L2T/fontsize/500/fill/d2hpdGU/dissolve/85/gravity/SouthEast/dx/20/dy/20");
        let [mark] = marks.as_slice() else {
            panic!("{marks:?}")
        };
        let MarkContent::Text(text) = &mark.content else {
            panic!("{mark:?}")
        };
        assert_eq!(text.text, "七牛云存储");
        assert_eq!(text.font, FontFamily::FangzhengShusong);
        assert_eq!((text.size, text.color), (25, Rgb::WHITE));
        assert_eq!(
            (
                mark.opacity,
                mark.gravity,
                mark.dx,
                mark.dy,
                mark.skip_when_larger
            ),
            (85, Gravity::SouthEast, 20, 20, true)
        );
        // Defaults: 黑体, 240 twips = 12 px, black, opaque, south-east, 10 px.
        let marks = watermarks("watermark/2/text/SGk");
        let MarkContent::Text(text) = &marks[0].content else {
            panic!("{marks:?}")
        };
        assert_eq!(
            (text.font, text.size, text.color),
            (FontFamily::FangzhengHeiti, 12, Rgb { r: 0, g: 0, b: 0 })
        );
        assert_eq!((marks[0].opacity, marks[0].dx, marks[0].dy), (100, 10, 10));
        // Colours: #RRGGBB, names, any case; fontsize rounds to whole pixels.
        for (fill, colour) in [
            ("#FF0000", "FF0000"),
            ("Red", "FF0000"),
            ("00ff7f", "00FF7F"),
        ] {
            let fops = format!(
                "watermark/2/text/SGk/fill/{}/fontsize/250",
                base64::engine::general_purpose::URL_SAFE.encode(fill)
            );
            let marks = watermarks(&fops);
            let MarkContent::Text(text) = &marks[0].content else {
                panic!("{marks:?}")
            };
            assert_eq!(
                (text.color.to_string().as_str(), text.size),
                (colour, 13),
                "{fill}"
            );
        }
        // watermark/3: image and text groups, each with its own parameters, in order.
        let marks = watermarks("watermark/3/image/bG9nby5wbmc/dissolve/50/text/SGk/gravity/North/fontsize/400/image/bG9nby5wbmc/ws/0.5");
        assert_eq!(marks.len(), 3);
        assert!(
            matches!(&marks[0].content, MarkContent::Image(image) if image.reference == "logo.png")
        );
        assert_eq!(marks[0].opacity, 50);
        assert!(matches!(&marks[1].content, MarkContent::Text(text) if text.size == 20));
        assert_eq!((marks[1].gravity, marks[1].opacity), (Gravity::North, 100));
        assert!(
            matches!(&marks[2].content, MarkContent::Image(image) if image.ws_milli == Some(500))
        );
    }

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
    fn entry_uris_with_and_without_padding_or_key() {
        let table = [
            ("b3V0OmEuanBn", Some("out"), Some("a.jpg")),
            ("b3V0OmEuanBn", Some("out"), Some("a.jpg")),
            ("b3V0", Some("out"), None),
            ("b3V0Og==", Some("out"), None),
            ("b3V0Og", Some("out"), None),
            ("b3V0Og%3D%3D", Some("out"), None),
            // A key may hold ':' itself: only the first one separates.
            ("b3V0OmE6Yg", Some("out"), Some("a:b")),
        ];
        for (encoded, bucket, key) in table {
            let save_as = decode_entry_uri(encoded).unwrap();
            assert_eq!(
                (save_as.bucket.as_deref(), save_as.key.as_deref()),
                (bucket, key),
                "{encoded}"
            );
        }
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
    fn zero_sides_mean_not_given() {
        let thumbnail = |geometry: &str| parse_thumbnail(geometry).unwrap();
        assert_eq!(thumbnail("0x100"), thumbnail("x100"));
        assert_eq!(thumbnail("100x0"), thumbnail("100x"));
        assert_eq!(thumbnail("0x0"), None);
        assert_eq!(thumbnail("0x"), None);
        let commands = parse_fops("imageMogr2/thumbnail/0x0/format/png").unwrap();
        assert!(commands[0].pipeline.steps.is_empty());
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
            ("imageMogr2/format/heic", ErrorCode::InvalidArgument, Some(0), "imageMogr2/format: unknown format 'heic' (expected one of jpg, png, bmp, webp, gif, tiff)"),
            ("imageMogr2/interlace/yes", ErrorCode::InvalidArgument, Some(0), "imageMogr2/interlace: 'yes' must be 0 or 1"),
            ("imageMogr2/crop/!300x300a10", ErrorCode::InvalidArgument, Some(0), "imageMogr2/crop: '!300x300a10' is not a crop geometry (<W>x, x<H>, <W>x<H>, !<W>x<H>a<dx>a<dy>, with - for negative offsets)"),
            ("imageMogr2/crop/10001x", ErrorCode::InvalidArgument, Some(0), "imageMogr2/crop: 10001x is out of range 0-10000"),
            ("imageMogr2/rotate/0", ErrorCode::InvalidArgument, Some(0), "imageMogr2/rotate: 0 is out of range 1-360"),
            ("imageMogr2/blur/51x2", ErrorCode::InvalidArgument, Some(0), "imageMogr2/blur: 51x2 is out of range 1-50"),
            ("imageMogr2/blur/3x0", ErrorCode::InvalidArgument, Some(0), "imageMogr2/blur: sigma '0' must be a number greater than 0 (at most 3 decimals)"),
            ("imageMogr2/gravity/Middle/crop/1x1", ErrorCode::InvalidArgument, Some(0), "imageMogr2/gravity: 'Middle' is not a gravity (NorthWest, North, NorthEast, West, Center, East, SouthWest, South, SouthEast)"),
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
