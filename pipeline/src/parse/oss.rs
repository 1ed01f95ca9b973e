//! Aliyun OSS processing strings (`x-oss-process`, `x-oss-async-process`).
//!
//! ```text
//! image/<action>,<k>_<v>,<k>_<v>/<action>,<value>/...[|sys/saveas,o_<b64 key>[,b_<b64 bucket>]]
//! style/<name>[|sys/saveas,...]
//! video/snapshot,t_<ms>,f_<jpg|png>[,w_<W>][,h_<H>][,m_fast][,ar_auto][|sys/saveas,...]
//! @<old API string>[|sys/saveas,...]
//! ```
//!
//! `video/snapshot` starts the pipeline from a frame of a video source ([`crate::video`]).
//! A value starting with `@` is the old image-service API (`object@100w_100h_90Q.jpg`) written
//! after the object name, parsed by [`super::oss_legacy`].
//!
//! Actions run in the order written. Errors (OSS document 2.7, and our decisions):
//! * missing `image/` (or `style/`) prefix, an empty action, an unknown action or parameter, a
//!   parameter given twice, a bad or out-of-range value: `InvalidArgument`, naming the action
//!   and the parameter;
//! * a required parameter absent (`resize` with no size, `quality` with neither q nor Q,
//!   saveas without `o`): `MissingArgument`;
//! * an OSS module or action Ferrotype does not implement (`imm/`, `video/` actions other than
//!   `snapshot`): `NotImplemented`;
//! * `style/<name>` not found: `NoSuchStyle`.
//!
//! Error `step` indexes are the 0-based position of the action after `image/`.
//!
//! `watermark` lives in its own child module, [`watermark`].

mod watermark;

use super::{decode_base64_text, integer_in, StyleLookup};
use crate::ast::{Command, OutputSettings, Pipeline, SaveAs, Step};
use crate::codec::ImageFormat;
use crate::codec::Rgb;
use crate::error::{ErrorCode, PipelineError};
use crate::ops::blur::{Blur, RADIUS_RANGE as BLUR_RADIUS_RANGE};
use crate::ops::bright::Bright;
use crate::ops::circle::Circle;
use crate::ops::contrast::Contrast;
use crate::ops::crop::OssCrop;
use crate::ops::gravity::Gravity;
use crate::ops::index_crop::{Axis, IndexCrop};
use crate::ops::info::Document;
use crate::ops::quality::{Quality, QUALITY_RANGE};
use crate::ops::resize::{Resize, ResizeMode, OSS_SIDE_RANGE, PERCENT_RANGE};
use crate::ops::rotate::{Rotate, DEGREE_RANGE};
use crate::ops::rounded_corners::{RoundedCorners, RADIUS_RANGE};
use crate::ops::sharpen::Sharpen;
use std::ops::RangeInclusive;

/// Which variant of the syntax to accept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Grammar {
    /// What OSS accepts: the user-facing language.
    Oss,
    /// OSS syntax plus the canonical-form extensions (see [`crate::ast`]).
    Canonical,
}

/// OSS processing modules other than `image`.
const OTHER_MODULES: [&str; 2] = ["video", "imm"];

/// Style names: 1-63 characters of letters, digits, `_`, `-` and `.` (OSS document 2.2).
const STYLE_NAME_MAX: usize = 63;

/// Object keys are at most 1023 bytes in OSS.
const OBJECT_KEY_MAX: usize = 1023;

/// Parses an `x-oss-process` value into a command.
pub fn parse_process(text: &str, styles: &dyn StyleLookup) -> Result<Command, PipelineError> {
    if let Some(legacy) = text.strip_prefix('@') {
        // The old API chains its own parts with '|' too: they end where `sys/` begins.
        let (head, sys) = match legacy.find("|sys/") {
            Some(at) => (
                legacy.get(..at).unwrap_or_default(),
                legacy.get(at..).unwrap_or_default(),
            ),
            None => (legacy, ""),
        };
        let pipeline = super::oss_legacy::parse(head, styles)?;
        let mut parts = sys.split('|');
        parts.next();
        return Ok(Command {
            pipeline,
            save_as: parse_sys_parts(parts)?,
        });
    }
    let mut parts = text.split('|');
    let head = parts.next().unwrap_or_default();
    let pipeline = match head.strip_prefix("style/") {
        Some(name) => expand_style(name, styles)?,
        None => parse_image(head, Grammar::Oss)?,
    };
    Ok(Command {
        pipeline,
        save_as: parse_sys_parts(parts)?,
    })
}

/// The `|sys/...` parts after the processing: at most one `sys/saveas`.
fn parse_sys_parts<'a>(
    parts: impl Iterator<Item = &'a str>,
) -> Result<Option<SaveAs>, PipelineError> {
    let mut save_as = None;
    for part in parts {
        let Some(sys) = part.strip_prefix("sys/") else {
            return Err(PipelineError::invalid_argument(format!(
                "only sys/saveas may follow '|', found '{part}'"
            )));
        };
        if save_as.is_some() {
            return Err(PipelineError::invalid_argument("sys/saveas is given twice"));
        }
        save_as = Some(parse_sys(sys)?);
    }
    Ok(save_as)
}

pub(crate) fn expand_style(
    name: &str,
    styles: &dyn StyleLookup,
) -> Result<Pipeline, PipelineError> {
    let valid = !name.is_empty()
        && name.len() <= STYLE_NAME_MAX
        && name
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || matches!(byte, b'_' | b'-' | b'.'));
    if !valid {
        return Err(PipelineError::invalid_argument(format!(
            "style: '{name}' is not a style name (1-63 letters, digits, '_', '-', '.')"
        )));
    }
    let body = styles.style(name).ok_or_else(|| {
        PipelineError::new(
            ErrorCode::NoSuchStyle,
            format!("style: no style named '{name}'"),
        )
    })?;
    if body.contains('|') {
        return Err(PipelineError::invalid_argument(format!(
            "style: style '{name}' may hold image actions only, not '|' parts"
        )));
    }
    parse_image(&body, Grammar::Oss).map_err(|mut error| {
        error.message = format!("style '{name}': {}", error.message);
        error
    })
}

/// Parses the `image/...` part: the pipeline itself.
pub(crate) fn parse_image(text: &str, grammar: Grammar) -> Result<Pipeline, PipelineError> {
    if grammar == Grammar::Canonical && text == "image" {
        return Ok(Pipeline::default());
    }
    if grammar == Grammar::Oss {
        if let Some(body) = text.strip_prefix("video/") {
            return parse_video(body);
        }
    }
    let Some(body) = text.strip_prefix("image/") else {
        let module = text.split('/').next().unwrap_or_default();
        if OTHER_MODULES.contains(&module) {
            return Err(PipelineError::not_implemented(format!(
                "the {module} module is not implemented; only image/ is"
            )));
        }
        return Err(PipelineError::invalid_argument(format!(
            "the process must start with image/ or style/, found '{text}'"
        )));
    };
    let mut pipeline = Pipeline::default();
    let mut actions = 0;
    for (index, action) in body.split('/').enumerate() {
        parse_action(action, grammar, &mut pipeline).map_err(|error| error.at_step(index))?;
        actions += 1;
    }
    // "info操作不能和其他处理操作同时使用": a document describes the source as it is.
    if let Some(document) = pipeline.output.document {
        if actions > 1 {
            return Err(PipelineError::invalid_argument(format!(
                "{}: describes the source and cannot be combined with other actions",
                document_action(document)
            )));
        }
    }
    Ok(pipeline)
}

/// The action that asks for `document`, as error messages name it.
fn document_action(document: Document) -> &'static str {
    match document {
        Document::OssInfo => "info",
        Document::OssAverageHue => "average-hue",
        Document::QiniuImageInfo | Document::QiniuExif => "document",
    }
}

fn parse_action(
    text: &str,
    grammar: Grammar,
    pipeline: &mut Pipeline,
) -> Result<(), PipelineError> {
    let mut items = text.split(',');
    let name = items.next().unwrap_or_default();
    let arguments: Vec<&str> = items.collect();
    if grammar == Grammar::Canonical {
        if let Some(handled) = crate::ops::parse_canonical_action(name, &arguments, pipeline) {
            return handled;
        }
    }
    match name {
        "resize" => {
            let resize = parse_resize(Params::new(name, &arguments)?, grammar)?;
            pipeline.steps.push(Step::Resize(resize));
        }
        "crop" => pipeline
            .steps
            .push(Step::OssCrop(parse_crop(Params::new(name, &arguments)?)?)),
        "indexcrop" => pipeline
            .steps
            .push(Step::IndexCrop(parse_index_crop(Params::new(
                name, &arguments,
            )?)?)),
        "circle" => {
            let mut params = Params::new(name, &arguments)?;
            let radius = required(name, "r", params.take_integer("r", 1..=u32::MAX)?)?;
            params.finish()?;
            pipeline.steps.push(Step::Circle(Circle { radius }));
        }
        "rounded-corners" => {
            let mut params = Params::new(name, &arguments)?;
            let radius = required(name, "r", params.take_integer("r", RADIUS_RANGE)?)?;
            params.finish()?;
            pipeline
                .steps
                .push(Step::RoundedCorners(RoundedCorners { radius }));
        }
        "rotate" => {
            let value = single_value(name, &arguments)?;
            let degrees = integer_in(name, value, value, DEGREE_RANGE)?;
            pipeline.steps.push(Step::Rotate(Rotate {
                degrees,
                limit_source_side: true,
            }));
        }
        "auto-orient" => match single_value(name, &arguments)? {
            // "0：表示按原图默认方向，不进行自动旋转。"
            "0" => {}
            // "1：先进行图片旋转，然后再进行缩略": the orientation is the source's, so the
            // image is made upright before every other step, wherever the action is written
            // (the vendor's `resize,w_100/auto-orient,1` gives 100x127 on a rotated 4:3
            // photo), and only once.
            "1" => {
                if !pipeline.steps.contains(&Step::AutoOrient) {
                    pipeline.steps.insert(0, Step::AutoOrient);
                }
            }
            other => {
                return Err(PipelineError::invalid_argument(format!(
                    "auto-orient: '{other}' must be 0 or 1"
                )))
            }
        },
        "blur" => {
            let blur = parse_blur(Params::new(name, &arguments)?)?;
            pipeline.steps.push(Step::Blur(blur));
        }
        "bright" => {
            let bright = Bright::parse(single_value(name, &arguments)?)?;
            pipeline.steps.push(Step::Bright(bright));
        }
        "contrast" => {
            let contrast = Contrast::parse(single_value(name, &arguments)?)?;
            pipeline.steps.push(Step::Contrast(contrast));
        }
        "sharpen" => {
            let sharpen = Sharpen::parse(single_value(name, &arguments)?)?;
            pipeline.steps.push(Step::Sharpen(sharpen));
        }
        "info" | "average-hue" => {
            if !arguments.is_empty() {
                return Err(PipelineError::invalid_argument(format!(
                    "{name}: takes no parameters, got '{}'",
                    arguments.join(",")
                )));
            }
            pipeline.output.document = Some(if name == "info" {
                Document::OssInfo
            } else {
                Document::OssAverageHue
            });
        }
        "format" => parse_format(&arguments, grammar, &mut pipeline.output)?,
        "watermark" => {
            let mark = watermark::parse(Params::new(name, &arguments)?, grammar)?;
            pipeline.steps.push(Step::Watermark(mark));
            // "一张图片上，最多支持3张不同的水印图做水印."
            let distinct = pipeline.asset_references().len();
            if grammar == Grammar::Oss && distinct > crate::ops::watermark::MAX_DISTINCT_IMAGES {
                return Err(PipelineError::invalid_argument(
                    "watermark: at most 3 different watermark images in one process",
                ));
            }
        }
        "quality" => {
            pipeline.output.quality = Some(parse_quality(Params::new(name, &arguments)?, grammar)?);
        }
        "interlace" => {
            pipeline.output.interlace = Some(match single_value(name, &arguments)? {
                "0" => false,
                "1" => true,
                other => {
                    return Err(PipelineError::invalid_argument(format!(
                        "interlace: '{other}' must be 0 or 1"
                    )))
                }
            });
        }
        "" => {
            return Err(PipelineError::invalid_argument(
                "empty action (check for '//' or a trailing '/')",
            ))
        }
        unknown => {
            return Err(PipelineError::invalid_argument(format!(
                "unknown action '{unknown}'"
            )))
        }
    }
    Ok(())
}

/// The `k_v` parameters of one action, checked for duplicates; taken one by one, so that
/// whatever is left at the end is an unknown parameter.
struct Params<'a> {
    action: &'a str,
    entries: Vec<(&'a str, &'a str)>,
}

impl<'a> Params<'a> {
    fn new(action: &'a str, arguments: &[&'a str]) -> Result<Params<'a>, PipelineError> {
        let entries = crate::parse::key_values(action, arguments)?;
        Ok(Params { action, entries })
    }

    fn take(&mut self, key: &str) -> Option<&'a str> {
        let position = self.entries.iter().position(|(seen, _)| *seen == key)?;
        Some(self.entries.remove(position).1)
    }

    fn take_integer(
        &mut self,
        key: &str,
        range: RangeInclusive<u32>,
    ) -> Result<Option<u32>, PipelineError> {
        let Some(value) = self.take(key) else {
            return Ok(None);
        };
        integer_in(self.action, &format!("{key}_{value}"), value, range).map(Some)
    }

    /// Fails on the first parameter nobody took.
    fn finish(self) -> Result<(), PipelineError> {
        match self.entries.first() {
            Some((key, value)) => Err(PipelineError::invalid_argument(format!(
                "{}: unknown parameter {key}_{value}",
                self.action
            ))),
            None => Ok(()),
        }
    }
}

fn single_value<'a>(action: &str, arguments: &[&'a str]) -> Result<&'a str, PipelineError> {
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

/// A required parameter's value, or `MissingArgument` naming it.
fn required(action: &str, key: &str, value: Option<u32>) -> Result<u32, PipelineError> {
    value.ok_or_else(|| PipelineError::missing_argument(format!("{action}: {key} is required")))
}

/// `crop,w_,h_,x_,y_,g_` (document 2.4.2); every parameter is optional.
fn parse_crop(mut params: Params<'_>) -> Result<OssCrop, PipelineError> {
    let any = 0..=u32::MAX;
    // w_0 / h_0 (the bottom of "[0-图片宽度]") are the whole side, like leaving them out.
    let side = |value: Option<u32>| value.filter(|side| *side > 0);
    let crop = OssCrop {
        width: side(params.take_integer("w", any.clone())?),
        height: side(params.take_integer("h", any.clone())?),
        x: params.take_integer("x", any.clone())?.unwrap_or(0),
        y: params.take_integer("y", any)?.unwrap_or(0),
        gravity: match params.take("g") {
            None => Gravity::NorthWest,
            Some(name) => Gravity::from_oss_name(name).ok_or_else(|| {
                PipelineError::invalid_argument(format!(
                    "crop: g_{name} is not one of nw, north, ne, west, center, east, sw, south, se"
                ))
            })?,
        },
    };
    params.finish()?;
    Ok(crop)
}

/// `indexcrop,x_|y_,i_` (document 2.4.3). With both `x` and `y`, `y` takes effect (current
/// vendor page); `i` defaults to 0.
fn parse_index_crop(mut params: Params<'_>) -> Result<IndexCrop, PipelineError> {
    let x = params.take_integer("x", 1..=u32::MAX)?;
    let y = params.take_integer("y", 1..=u32::MAX)?;
    let index = params.take_integer("i", 0..=u32::MAX)?.unwrap_or(0);
    params.finish()?;
    let (axis, length) = match (x, y) {
        (_, Some(length)) => (Axis::Y, length),
        (Some(length), None) => (Axis::X, length),
        (None, None) => {
            return Err(PipelineError::missing_argument(
                "indexcrop: one of x or y (the strip length) is required",
            ))
        }
    };
    Ok(IndexCrop {
        axis,
        length,
        index,
    })
}

fn parse_resize(mut params: Params<'_>, grammar: Grammar) -> Result<Resize, PipelineError> {
    // OSS caps sides at 4096; the canonical form also carries Qiniu's larger sizes.
    let side_range = match grammar {
        Grammar::Oss => OSS_SIDE_RANGE,
        Grammar::Canonical => 1..=u32::MAX,
    };
    let mode = match params.take("m") {
        None => ResizeMode::Lfit,
        Some(name) => ResizeMode::from_name(name).ok_or_else(|| {
            PipelineError::invalid_argument(format!(
                "resize: m_{name} is not one of lfit, mfit, fill, pad, fixed"
            ))
        })?,
    };
    let resize = Resize {
        mode,
        width: params.take_integer("w", side_range.clone())?,
        height: params.take_integer("h", side_range.clone())?,
        long_side: params.take_integer("l", side_range.clone())?,
        short_side: params.take_integer("s", side_range)?,
        percent: params.take_integer("p", PERCENT_RANGE)?,
        allow_enlarge: match params.take("limit") {
            None | Some("1") => false,
            Some("0") => true,
            Some(other) => {
                return Err(PipelineError::invalid_argument(format!(
                    "resize: limit_{other} must be 0 or 1"
                )))
            }
        },
        color: match params.take("color") {
            None => Rgb::WHITE,
            Some(hex) => Rgb::from_hex(hex).ok_or_else(|| {
                PipelineError::invalid_argument(format!(
                    "resize: color_{hex} is not a RRGGBB hex colour"
                ))
            })?,
        },
    };
    params.finish()?;
    if !resize.has_target() {
        return Err(PipelineError::missing_argument(
            "resize: one of w, h, l, s or p is required",
        ));
    }
    Ok(resize.normalized())
}

/// OSS `blur,r_<1-50>,s_<1-50>`: both are required ("是否必须: 是") and whole numbers (the
/// canonical form also carries Qiniu's decimal sigma, see [`crate::ops::blur`]).
fn parse_blur(mut params: Params<'_>) -> Result<Blur, PipelineError> {
    let radius = params.take_integer("r", BLUR_RADIUS_RANGE)?;
    let sigma = params.take_integer("s", OSS_SIGMA_RANGE)?;
    params.finish()?;
    match (radius, sigma) {
        (Some(radius), Some(sigma)) => Ok(Blur {
            radius,
            sigma_milli: sigma * 1000,
        }),
        (None, _) => Err(PipelineError::missing_argument(
            "blur: r (the radius, 1-50) is required",
        )),
        (_, None) => Err(PipelineError::missing_argument(
            "blur: s (the standard deviation, 1-50) is required",
        )),
    }
}

/// OSS's range of the blur's standard deviation ("s: [1,50]").
const OSS_SIGMA_RANGE: RangeInclusive<u32> = 1..=50;

/// The canonical-form spelling of "convert to GIF whatever the source" (Qiniu semantics).
pub(crate) const GIF_FROM_ANY: &str = "gif-from-any";

fn parse_format(
    arguments: &[&str],
    grammar: Grammar,
    output: &mut OutputSettings,
) -> Result<(), PipelineError> {
    let value = single_value("format", arguments)?;
    if grammar == Grammar::Canonical && value == GIF_FROM_ANY {
        output.format = Some(ImageFormat::Gif);
        output.gif_requires_gif_source = false;
        return Ok(());
    }
    let format = crate::ops::format::parse_argument("format", value)?;
    output.format = Some(format);
    output.gif_requires_gif_source = format == ImageFormat::Gif;
    Ok(())
}

fn parse_quality(mut params: Params<'_>, grammar: Grammar) -> Result<Quality, PipelineError> {
    let percent = |value: u32| u8::try_from(value).unwrap_or(100);
    let relative = params.take_integer("q", QUALITY_RANGE)?;
    let absolute = params.take_integer("Q", QUALITY_RANGE)?;
    let (adaptive, forced) = match grammar {
        Grammar::Oss => (None, None),
        Grammar::Canonical => (
            params.take_integer("adaptive", QUALITY_RANGE)?,
            params.take_integer("forced", QUALITY_RANGE)?,
        ),
    };
    params.finish()?;
    // "如果同时指定了 q 和 Q，按 Q 来处理."
    let quality = match (absolute, relative, adaptive, forced) {
        (Some(value), ..) => Quality::Absolute(percent(value)),
        (None, Some(value), ..) => Quality::Relative(percent(value)),
        (None, None, Some(value), _) => Quality::Adaptive(percent(value)),
        (None, None, None, Some(value)) => Quality::Forced(percent(value)),
        (None, None, None, None) => {
            return Err(PipelineError::missing_argument(
                "quality: one of q (relative) or Q (absolute) is required",
            ))
        }
    };
    Ok(quality)
}

/// Parses the `video/...` module: `snapshot` is its one action (see [`crate::video`] for the
/// vendor rules). The frame is described in [`Pipeline::frame`]; its size becomes a `resize`
/// step and `f` the output format.
fn parse_video(body: &str) -> Result<Pipeline, PipelineError> {
    let mut items = body.split(',');
    let name = items.next().unwrap_or_default();
    if name != "snapshot" {
        return Err(PipelineError::not_implemented(format!(
            "video/{name}: only video/snapshot is implemented"
        )));
    }
    let arguments: Vec<&str> = items.collect();
    let mut params = Params::new("snapshot", &arguments)?;
    let any_value = 0..=u32::MAX;
    let offset_ms = params.take_integer("t", any_value.clone())?;
    let width = params
        .take_integer("w", any_value.clone())?
        .filter(|w| *w > 0);
    let height = params.take_integer("h", any_value)?.filter(|h| *h > 0);
    let keyframe = match params.take("m") {
        None => false,
        Some("fast") => true,
        Some(other) => {
            return Err(PipelineError::invalid_argument(format!(
                "snapshot: m_{other} is not valid (only m_fast)"
            )))
        }
    };
    let format = match params.take("f") {
        Some("jpg") => ImageFormat::Jpeg,
        Some("png") => ImageFormat::Png,
        Some(other) => {
            return Err(PipelineError::invalid_argument(format!(
                "snapshot: f_{other} is not one of jpg, png"
            )))
        }
        None => {
            return Err(PipelineError::missing_argument(
                "snapshot: f (jpg or png) is required",
            ))
        }
    };
    let autorotate = match params.take("ar") {
        None => false,
        Some("auto") => true,
        Some(other @ ("w" | "h")) => {
            return Err(PipelineError::not_implemented(format!(
                "snapshot: ar_{other} is not implemented (only ar_auto)"
            )))
        }
        Some(other) => {
            return Err(PipelineError::invalid_argument(format!(
                "snapshot: ar_{other} is not valid (only ar_auto)"
            )))
        }
    };
    params.finish()?;
    let offset_ms = offset_ms.ok_or_else(|| {
        PipelineError::missing_argument("snapshot: t (the time in ms) is required")
    })?;
    let mut pipeline = Pipeline {
        frame: Some(crate::video::FrameGrab {
            offset_ms,
            keyframe,
            autorotate,
            past_end: crate::video::PastEnd::Refuse,
        }),
        ..Pipeline::default()
    };
    // "如果指定为0则自动计算": one side keeps the aspect ratio; both: exactly w x h. The range
    // ends at the video's size, so the resize never enlarges (its default limit_1).
    let resize = match (width, height) {
        (None, None) => None,
        (Some(_), Some(_)) => Some(Resize {
            mode: ResizeMode::Fixed,
            width,
            height,
            ..Resize::default()
        }),
        _ => Some(Resize {
            width,
            height,
            ..Resize::default()
        }),
    };
    pipeline.steps.extend(resize.map(Step::Resize));
    pipeline.output.format = Some(format);
    Ok(pipeline)
}

/// Parses what follows `sys/`: `saveas,o_...,b_...`, optionally followed by `/notify,...`
/// (asynchronous processing; not supported yet).
fn parse_sys(text: &str) -> Result<SaveAs, PipelineError> {
    let mut actions = text.split('/');
    let saveas = actions.next().unwrap_or_default();
    let mut items = saveas.split(',');
    let name = items.next().unwrap_or_default();
    if name != "saveas" {
        return Err(PipelineError::invalid_argument(format!(
            "unknown sys action '{name}' (expected saveas)"
        )));
    }
    let arguments: Vec<&str> = items.collect();
    let mut params = Params::new("saveas", &arguments)?;
    let object = params.take("o").ok_or_else(|| {
        PipelineError::missing_argument("saveas: o (the target object) is required")
    })?;
    let bucket = params.take("b");
    params.finish()?;

    let key = decode_base64_text("saveas", "o", object)?;
    if key.is_empty() || key.len() > OBJECT_KEY_MAX || key.starts_with(['/', '\\']) {
        return Err(PipelineError::invalid_argument(format!(
            "saveas: '{key}' is not a valid object name (1-1023 bytes, not starting with / or \\)"
        )));
    }
    let bucket = match bucket {
        None => None,
        Some(encoded) => {
            let bucket = decode_base64_text("saveas", "b", encoded)?;
            if bucket.is_empty() {
                return Err(PipelineError::invalid_argument(
                    "saveas: b decodes to an empty bucket",
                ));
            }
            Some(bucket)
        }
    };
    if let Some(extra) = actions.next() {
        let extra_name = extra.split(',').next().unwrap_or_default();
        return Err(if extra_name == "notify" {
            PipelineError::not_implemented(
                "notify: asynchronous notification is not implemented yet",
            )
        } else {
            PipelineError::invalid_argument(format!("unknown sys action '{extra_name}'"))
        });
    }
    Ok(SaveAs {
        bucket,
        key: Some(key),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::NoStyles;
    use std::collections::HashMap;

    fn parse(text: &str) -> Result<Command, PipelineError> {
        parse_process(text, &NoStyles)
    }

    #[test]
    fn a_full_process_string_with_saveas() {
        let command =
            parse("image/resize,m_fill,w_300,h_300/format,png/quality,Q_80/interlace,1|sys/saveas,o_dGVzdC5qcGc,b_dGVzdA")
                .unwrap();
        assert_eq!(
            command.pipeline.steps,
            vec![Step::Resize(Resize {
                mode: ResizeMode::Fill,
                width: Some(300),
                height: Some(300),
                ..Resize::default()
            })]
        );
        assert_eq!(
            command.pipeline.output,
            OutputSettings {
                format: Some(ImageFormat::Png),
                quality: Some(Quality::Absolute(80)),
                interlace: Some(true),
                gif_requires_gif_source: false,
                size_limit: None,
                ignore_error: false,
                document: None,
                multi_step_animation: false,
            }
        );
        assert_eq!(
            command.save_as,
            Some(SaveAs {
                bucket: Some("test".into()),
                key: Some("test.jpg".into()),
            })
        );
    }

    #[test]
    fn saveas_with_and_without_padding_and_bucket() {
        let table = [
            ("o_dGVzdC5qcGc", None, "test.jpg"),
            ("o_dGVzdC5qcGc=", None, "test.jpg"),
            ("o_dGVzdC5qcGc%3D,b_dGVzdA==", Some("test"), "test.jpg"),
            ("b_dGVzdA,o_YS9iL2MucG5n", Some("test"), "a/b/c.png"),
        ];
        for (params, bucket, key) in table {
            let command = parse(&format!("image/resize,w_100|sys/saveas,{params}")).unwrap();
            let save_as = command.save_as.unwrap();
            assert_eq!(save_as.bucket.as_deref(), bucket, "{params}");
            assert_eq!(save_as.key.as_deref(), Some(key), "{params}");
        }
        assert_eq!(parse("image/resize,w_100").unwrap().save_as, None);
    }

    #[test]
    fn output_settings_are_collected_wherever_they_appear_last_one_wins() {
        let early = parse("image/format,png/resize,w_100").unwrap();
        let late = parse("image/resize,w_100/format,png").unwrap();
        assert_eq!(early, late);
        let twice = parse("image/format,png/quality,q_50/format,jpg").unwrap();
        assert_eq!(twice.pipeline.output.format, Some(ImageFormat::Jpeg));
        // q and Q together: Q wins.
        let both = parse("image/quality,q_50,Q_70").unwrap();
        assert_eq!(both.pipeline.output.quality, Some(Quality::Absolute(70)));
        let gif = parse("image/format,gif").unwrap();
        assert!(gif.pipeline.output.gif_requires_gif_source);
    }

    #[test]
    fn errors_name_the_action_the_parameter_and_the_step() {
        let table = [
            ("image/resize,w_5000", ErrorCode::InvalidArgument, Some(0), "resize: w_5000 is out of range 1-4096"),
            ("image/resize,h_0", ErrorCode::InvalidArgument, Some(0), "resize: h_0 is out of range 1-4096"),
            ("image/format,png/resize,p_1001", ErrorCode::InvalidArgument, Some(1), "resize: p_1001 is out of range 1-1000"),
            ("image/resize,w_abc", ErrorCode::InvalidArgument, Some(0), "resize: w_abc is not a whole number"),
            ("image/resize,m_stretch,w_1", ErrorCode::InvalidArgument, Some(0), "resize: m_stretch is not one of lfit, mfit, fill, pad, fixed"),
            ("image/resize,w_1,limit_2", ErrorCode::InvalidArgument, Some(0), "resize: limit_2 must be 0 or 1"),
            ("image/resize,m_pad,w_1,color_red", ErrorCode::InvalidArgument, Some(0), "resize: color_red is not a RRGGBB hex colour"),
            ("image/resize,w_1,x_2", ErrorCode::InvalidArgument, Some(0), "resize: unknown parameter x_2"),
            ("image/resize,w_1,w_2", ErrorCode::InvalidArgument, Some(0), "resize: parameter w is given twice"),
            ("image/resize,w100", ErrorCode::InvalidArgument, Some(0), "resize: 'w100' is not a key_value parameter"),
            ("image/resize", ErrorCode::MissingArgument, Some(0), "resize: one of w, h, l, s or p is required"),
            ("image/resize,m_fill", ErrorCode::MissingArgument, Some(0), "resize: one of w, h, l, s or p is required"),
            ("image/format,heic", ErrorCode::InvalidArgument, Some(0), "format: unknown format 'heic' (expected one of jpg, png, bmp, webp, gif, tiff)"),
            ("image/format", ErrorCode::MissingArgument, Some(0), "format: a value is required (format,<value>)"),
            ("image/format,png,jpg", ErrorCode::InvalidArgument, Some(0), "format: takes one value, got 'png,jpg'"),
            ("image/quality,Q_0", ErrorCode::InvalidArgument, Some(0), "quality: Q_0 is out of range 1-100"),
            ("image/quality,q_101", ErrorCode::InvalidArgument, Some(0), "quality: q_101 is out of range 1-100"),
            ("image/quality", ErrorCode::MissingArgument, Some(0), "quality: one of q (relative) or Q (absolute) is required"),
            ("image/quality,adaptive_80", ErrorCode::InvalidArgument, Some(0), "quality: unknown parameter adaptive_80"),
            ("image/format,gif-from-any", ErrorCode::InvalidArgument, Some(0), "format: unknown format 'gif-from-any' (expected one of jpg, png, bmp, webp, gif, tiff)"),
            ("image/interlace,2", ErrorCode::InvalidArgument, Some(0), "interlace: '2' must be 0 or 1"),
            ("image/circle", ErrorCode::MissingArgument, Some(0), "circle: r is required"),
            ("image/circle,r_0", ErrorCode::InvalidArgument, Some(0), "circle: r_0 must be at least 1"),
            ("image/circle,r_1,x_1", ErrorCode::InvalidArgument, Some(0), "circle: unknown parameter x_1"),
            ("image/rounded-corners", ErrorCode::MissingArgument, Some(0), "rounded-corners: r is required"),
            ("image/rounded-corners,r_0", ErrorCode::InvalidArgument, Some(0), "rounded-corners: r_0 is out of range 1-4096"),
            ("image/rounded-corners,r_4097", ErrorCode::InvalidArgument, Some(0), "rounded-corners: r_4097 is out of range 1-4096"),
            ("image/indexcrop,i_1", ErrorCode::MissingArgument, Some(0), "indexcrop: one of x or y (the strip length) is required"),
            ("image/indexcrop,x_0", ErrorCode::InvalidArgument, Some(0), "indexcrop: x_0 must be at least 1"),
            ("image/indexcrop,y_10,i_-1", ErrorCode::InvalidArgument, Some(0), "indexcrop: i_-1 is not a whole number"),
            ("image/crop,g_middle", ErrorCode::InvalidArgument, Some(0), "crop: g_middle is not one of nw, north, ne, west, center, east, sw, south, se"),
            ("image/crop,x_-5", ErrorCode::InvalidArgument, Some(0), "crop: x_-5 is not a whole number"),
            ("image/crop,dx_5", ErrorCode::InvalidArgument, Some(0), "crop: unknown parameter dx_5"),
            ("image/crop,w_100,h_100,rounded-corners,r_10", ErrorCode::InvalidArgument, Some(0), "crop: 'rounded-corners' is not a key_value parameter"),
            ("image/rotate", ErrorCode::MissingArgument, Some(0), "rotate: a value is required (rotate,<value>)"),
            ("image/rotate,361", ErrorCode::InvalidArgument, Some(0), "rotate: 361 is out of range 0-360"),
            ("image/rotate,45,any-size", ErrorCode::InvalidArgument, Some(0), "rotate: takes one value, got '45,any-size'"),
            ("image/rotate,r_45", ErrorCode::InvalidArgument, Some(0), "rotate: r_45 is not a whole number"),
            ("image/auto-orient,2", ErrorCode::InvalidArgument, Some(0), "auto-orient: '2' must be 0 or 1"),
            ("image/auto-orient", ErrorCode::MissingArgument, Some(0), "auto-orient: a value is required (auto-orient,<value>)"),
            ("image/resize,w_1/watermark,text_aGk,x_-1", ErrorCode::InvalidArgument, Some(1), "watermark: x_-1 is not a whole number"),
            ("image/resize,w_1/sepia,1", ErrorCode::InvalidArgument, Some(1), "unknown action 'sepia'"),
            ("image/resize,w_1/", ErrorCode::InvalidArgument, Some(1), "empty action (check for '//' or a trailing '/')"),
            ("image/", ErrorCode::InvalidArgument, Some(0), "empty action (check for '//' or a trailing '/')"),
            ("resize,w_100", ErrorCode::InvalidArgument, None, "the process must start with image/ or style/, found 'resize,w_100'"),
            ("image", ErrorCode::InvalidArgument, None, "the process must start with image/ or style/, found 'image'"),
            ("video/info", ErrorCode::NotImplemented, None, "video/info: only video/snapshot is implemented"),
            ("imm/detect", ErrorCode::NotImplemented, None, "the imm module is not implemented; only image/ is"),
            ("image/resize,w_1|sys/saveas", ErrorCode::MissingArgument, None, "saveas: o (the target object) is required"),
            ("image/resize,w_1|sys/saveas,o_", ErrorCode::InvalidArgument, None, "saveas: '' is not a valid object name (1-1023 bytes, not starting with / or \\)"),
            ("image/resize,w_1|sys/saveas,o_L2E", ErrorCode::InvalidArgument, None, "saveas: '/a' is not a valid object name (1-1023 bytes, not starting with / or \\)"),
            ("image/resize,w_1|sys/saveas,o_!!", ErrorCode::InvalidArgument, None, "saveas: o '!!' is not URL-safe base64 (Invalid symbol 33, offset 0.)"),
            ("image/resize,w_1|sys/saveas,o_YQ,o_Yg", ErrorCode::InvalidArgument, None, "saveas: parameter o is given twice"),
            ("image/resize,w_1|sys/saveas,o_YQ|sys/saveas,o_Yg", ErrorCode::InvalidArgument, None, "sys/saveas is given twice"),
            ("image/resize,w_1|sys/copy,o_YQ", ErrorCode::InvalidArgument, None, "unknown sys action 'copy' (expected saveas)"),
            ("image/resize,w_1|image/format,png", ErrorCode::InvalidArgument, None, "only sys/saveas may follow '|', found 'image/format,png'"),
            ("image/resize,w_1|sys/saveas,o_YQ/notify,topic_dA", ErrorCode::NotImplemented, None, "notify: asynchronous notification is not implemented yet"),
            ("style/nope", ErrorCode::NoSuchStyle, None, "style: no style named 'nope'"),
            ("style/bad name", ErrorCode::InvalidArgument, None, "style: 'bad name' is not a style name (1-63 letters, digits, '_', '-', '.')"),
        ];
        for (text, code, step, message) in table {
            let error = parse(text).unwrap_err();
            assert_eq!(
                (error.code, error.step, error.message.as_str()),
                (code, step, message),
                "{text}"
            );
        }
    }

    fn steps(text: &str) -> Vec<Step> {
        parse(text)
            .unwrap_or_else(|error| panic!("{text}: {error}"))
            .pipeline
            .steps
    }

    #[test]
    fn the_cutting_and_turning_actions_read_every_parameter() {
        let table = [
            (
                "image/circle,r_100",
                vec![Step::Circle(Circle { radius: 100 })],
            ),
            (
                "image/rounded-corners,r_30",
                vec![Step::RoundedCorners(RoundedCorners { radius: 30 })],
            ),
            (
                "image/indexcrop,x_100,i_0",
                vec![Step::IndexCrop(IndexCrop {
                    axis: Axis::X,
                    length: 100,
                    index: 0,
                })],
            ),
            // i defaults to 0; with both x and y, y takes effect.
            (
                "image/indexcrop,y_50",
                vec![Step::IndexCrop(IndexCrop {
                    axis: Axis::Y,
                    length: 50,
                    index: 0,
                })],
            ),
            (
                "image/indexcrop,i_3,x_10,y_20",
                vec![Step::IndexCrop(IndexCrop {
                    axis: Axis::Y,
                    length: 20,
                    index: 3,
                })],
            ),
            (
                "image/crop,x_10,y_10,w_200,h_200,g_se",
                vec![Step::OssCrop(OssCrop {
                    width: Some(200),
                    height: Some(200),
                    x: 10,
                    y: 10,
                    gravity: Gravity::SouthEast,
                })],
            ),
            // Everything is optional; w_0/h_0 are the whole side.
            ("image/crop", vec![Step::OssCrop(OssCrop::default())]),
            (
                "image/crop,w_0,h_0,x_0",
                vec![Step::OssCrop(OssCrop::default())],
            ),
            (
                "image/rotate,70",
                vec![Step::Rotate(Rotate {
                    degrees: 70,
                    limit_source_side: true,
                })],
            ),
            (
                "image/rotate,0",
                vec![Step::Rotate(Rotate {
                    degrees: 0,
                    limit_source_side: true,
                })],
            ),
            // auto-orient,0 does nothing; auto-orient,1 turns the source upright before
            // anything else, once.
            ("image/auto-orient,0", vec![]),
            (
                "image/resize,w_100/auto-orient,1",
                vec![Step::AutoOrient, steps("image/resize,w_100")[0].clone()],
            ),
            (
                "image/auto-orient,1/circle,r_5/auto-orient,1",
                vec![Step::AutoOrient, Step::Circle(Circle { radius: 5 })],
            ),
        ];
        for (text, expected) in table {
            assert_eq!(steps(text), expected, "{text}");
        }
    }

    #[test]
    fn video_snapshots_start_from_a_frame() {
        // The document's examples, then the w/h 0 rules, m_fast, ar_auto.
        let table = [
            (
                "video/snapshot,t_7000,f_jpg,w_800,h_600,m_fast",
                "image/frame,t_7000,m_fast/resize,m_fixed,w_800,h_600/format,jpg",
            ),
            (
                "video/snapshot,t_50000,f_jpg,w_800,h_600",
                "image/frame,t_50000/resize,m_fixed,w_800,h_600/format,jpg",
            ),
            ("video/snapshot,t_0,f_png", "image/frame,t_0/format,png"),
            (
                "video/snapshot,t_10,f_png,w_0,h_0",
                "image/frame,t_10/format,png",
            ),
            (
                "video/snapshot,t_10,f_png,w_100,h_0",
                "image/frame,t_10/resize,w_100/format,png",
            ),
            (
                "video/snapshot,t_10,f_png,h_100",
                "image/frame,t_10/resize,h_100/format,png",
            ),
            (
                "video/snapshot,f_jpg,t_10,ar_auto",
                "image/frame,t_10,ar_auto/format,jpg",
            ),
        ];
        for (text, canonical) in table {
            let command = parse(&format!("{text}|sys/saveas,o_YQ")).unwrap();
            assert_eq!(command.pipeline.to_string(), canonical, "{text}");
            assert_eq!(command.save_as.and_then(|s| s.key).as_deref(), Some("a"));
            let reparsed: Pipeline = canonical.parse().unwrap();
            assert_eq!(reparsed, command.pipeline, "{text}");
        }
        let errors = [
            (
                "video/snapshot,f_jpg",
                ErrorCode::MissingArgument,
                "snapshot: t (the time in ms) is required",
            ),
            (
                "video/snapshot,t_10",
                ErrorCode::MissingArgument,
                "snapshot: f (jpg or png) is required",
            ),
            (
                "video/snapshot,t_10,f_gif",
                ErrorCode::InvalidArgument,
                "snapshot: f_gif is not one of jpg, png",
            ),
            (
                "video/snapshot,t_-1,f_jpg",
                ErrorCode::InvalidArgument,
                "snapshot: t_-1 is not a whole number",
            ),
            (
                "video/snapshot,t_1.5,f_jpg",
                ErrorCode::InvalidArgument,
                "snapshot: t_1.5 is not a whole number",
            ),
            (
                "video/snapshot,t_1,f_jpg,w_x",
                ErrorCode::InvalidArgument,
                "snapshot: w_x is not a whole number",
            ),
            (
                "video/snapshot,t_1,f_jpg,m_slow",
                ErrorCode::InvalidArgument,
                "snapshot: m_slow is not valid (only m_fast)",
            ),
            (
                "video/snapshot,t_1,f_jpg,ar_w",
                ErrorCode::NotImplemented,
                "snapshot: ar_w is not implemented (only ar_auto)",
            ),
            (
                "video/snapshot,t_1,f_jpg,ar_x",
                ErrorCode::InvalidArgument,
                "snapshot: ar_x is not valid (only ar_auto)",
            ),
            (
                "video/snapshot,t_1,f_jpg,s_1",
                ErrorCode::InvalidArgument,
                "snapshot: unknown parameter s_1",
            ),
            (
                "video/snapshot,t_1,t_2,f_jpg",
                ErrorCode::InvalidArgument,
                "snapshot: parameter t is given twice",
            ),
            (
                "video/snapshot,t_1,f_jpg/resize,w_1",
                ErrorCode::InvalidArgument,
                "snapshot: f_jpg/resize is not one of jpg, png",
            ),
            (
                "video/snapshots,t_1",
                ErrorCode::NotImplemented,
                "video/snapshots: only video/snapshot is implemented",
            ),
            // The canonical extension is not part of the OSS language.
            (
                "image/frame,t_1",
                ErrorCode::InvalidArgument,
                "unknown action 'frame'",
            ),
        ];
        for (text, code, message) in errors {
            let error = parse(text).unwrap_err();
            assert_eq!(
                (error.code, error.message.as_str()),
                (code, message),
                "{text}"
            );
        }
    }

    #[test]
    fn styles_expand_to_their_pipeline_and_keep_a_saveas() {
        let mut styles = HashMap::new();
        styles.insert(
            "thumb".to_string(),
            "image/resize,w_100/format,png".to_string(),
        );
        styles.insert("broken".to_string(), "image/resize,w_0".to_string());
        styles.insert(
            "sneaky".to_string(),
            "image/resize,w_1|sys/saveas,o_YQ".to_string(),
        );
        let direct = parse_process("image/resize,w_100/format,png", &styles).unwrap();
        let styled = parse_process("style/thumb|sys/saveas,o_YQ", &styles).unwrap();
        assert_eq!(styled.pipeline, direct.pipeline);
        assert_eq!(styled.save_as.unwrap().key.as_deref(), Some("a"));

        let error = parse_process("style/broken", &styles).unwrap_err();
        assert_eq!(error.code, ErrorCode::InvalidArgument);
        assert_eq!(
            error.message,
            "style 'broken': resize: w_0 is out of range 1-4096"
        );
        let error = parse_process("style/sneaky", &styles).unwrap_err();
        assert_eq!(error.code, ErrorCode::InvalidArgument);
    }
}
