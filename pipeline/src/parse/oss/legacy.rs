//! The OSS old image-service API (老版图片服务, document section 2.12): what follows the `@`
//! in `http://channel.<endpoint>/object@100w_100h_90Q.jpg`.
//!
//! Ferrotype takes it as an `x-oss-process` value that starts with `@` (`@100w_100h.jpg`,
//! `@!thumb`, optionally followed by `|sys/saveas,...`), parsed into the same
//! [`Pipeline`] as the current API, so everything after parsing is shared.
//!
//! ```text
//! <part>[|<part>...]      at most 4 parts ("管道目前限制在4个"; more: TooManyPipe)
//! part  = <params>[.<format>] | .<format>
//! params = <value><key>[_<value><key>...]    "值在前，键在后", e.g. 100w_100h_1e_1c_90Q
//! !<style>                 a stored style (its body: `image/...` or an old-API string)
//! ```
//!
//! # Parameters (the old API's parameter tables)
//!
//! Order does not matter ("顺序无关": parameters are applied in the document's order, not as
//! written) and a key given twice keeps the last value ("覆盖处理": `120w_120h_240w` =
//! `120h_240w`).
//!
//! | key | meaning | range | becomes |
//! |---|---|---|---|
//! | `w`, `h` | target width, height | 1-4096 | `resize,w_,h_` |
//! | `e` | which edge wins: 0 long edge (fit inside), 1 short edge (cover), 2 forced (exactly w x h), 4 fit and pad | 0, 1, 2, 4; default 0 | `m_lfit`, `m_mfit`, `m_fixed`, `m_pad` |
//! | `c` | with `1e`: crop the centre to exactly w x h (`1e_1c`) | 0, 1 | `m_fill` |
//! | `bgc` | the pad colour of `4e`, `<r>-<g>-<b>` | 0-255 each; default white | `color_` |
//! | `l` | 1: a result larger than the source is not made (the source size is kept) | 0, 1; default 0 | `limit_1` (0: `limit_0`) |
//! | `p` | percent; with `w`/`h` it multiplies them (`100w_100h_200p` = `200w_200h`) | 1-1000 | `resize,p_` |
//! | `r` | rotate clockwise | 0-360 | `rotate` |
//! | `Q`, `q` | absolute, relative JPEG quality; `Q` wins | 1-100 | `quality,Q_` / `q_` |
//!
//! The format suffix (`jpg`, `jpeg`, `png`, `webp`, `bmp`, or `src` for the source's format)
//! of the last part decides the output; a last part without one gives JPEG ("If you do not
//! specify a format, the source image is converted to JPG by default").
//!
//! Decisions where the documents disagree or are silent: `l` follows the old parameter table
//! (default 0 = enlarging allowed); the section 2.12 sentence about `limit,0` describes the
//! current API's `resize`. `c` without `1e` has no effect (the crop belongs to the short-edge
//! mode). Old-API operations not listed above (watermarks, `a` advanced crop, `ic`/`ci`/`rc`
//! index and circle crops, `o` auto-orient, `bl`, `b`, `d`, `sh`, `pr`, `x`, `info`...) answer
//! `NotImplemented`; any other key `InvalidArgument`.

use super::expand_style as expand_new_style;
use crate::ast::{Pipeline, Step};
use crate::codec::{ImageFormat, Rgb};
use crate::error::{ErrorCode, PipelineError};
use crate::ops::quality::{Quality, QUALITY_RANGE};
use crate::ops::resize::{scale_side, Resize, ResizeMode, OSS_SIDE_RANGE, PERCENT_RANGE};
use crate::ops::rotate::{Rotate, DEGREE_RANGE};
use crate::parse::lex::Params;
use crate::parse::StyleLookup;

/// "管道目前限制在4个".
pub const MAX_PARTS: usize = 4;

/// Old-API keys of operations Ferrotype does not carry over.
const NOT_IMPLEMENTED_KEYS: [&str; 11] =
    ["a", "ic", "ci", "rc", "o", "bl", "b", "d", "sh", "pr", "x"];

/// Parses the text after `@` (without the `@`).
pub fn parse(text: &str, styles: &dyn StyleLookup) -> Result<Pipeline, PipelineError> {
    if let Some(name) = text.strip_prefix('!') {
        return expand_style(name, styles);
    }
    parse_parts(text)
}

/// `@!<style>`: a style of the bucket; styles are shared by both APIs ("所有的样式配置在IMG域名
/// 与OSS域名都是共享的"), so its body is either an `image/...` string or an old-API one.
fn expand_style(name: &str, styles: &dyn StyleLookup) -> Result<Pipeline, PipelineError> {
    let body = styles.style(name);
    match body {
        Some(body) if !body.starts_with("image/") => parse_parts(&body).map_err(|mut error| {
            error.message = format!("style '{name}': {}", error.message);
            error
        }),
        // Validates the name, reports a missing style, parses an `image/` body.
        _ => expand_new_style(name, styles),
    }
}

fn parse_parts(text: &str) -> Result<Pipeline, PipelineError> {
    if text.is_empty() {
        return Err(PipelineError::invalid_argument(
            "the old API needs parameters after '@' (e.g. @100w_100h.jpg)",
        ));
    }
    let parts: Vec<&str> = text.split('|').collect();
    if parts.len() > MAX_PARTS {
        return Err(PipelineError::new(
            ErrorCode::TooManyPipe,
            format!(
                "{} parts are joined with '|'; the old API allows at most {MAX_PARTS}",
                parts.len()
            ),
        ));
    }
    let mut pipeline = Pipeline::default();
    let mut last_format = None;
    for (index, part) in parts.iter().enumerate() {
        last_format = parse_part(part, &mut pipeline).map_err(|error| error.at_step(index))?;
    }
    // The last part's suffix decides; none means JPEG; `src` keeps the source's format.
    pipeline.output.format = match last_format {
        None => Some(ImageFormat::Jpeg),
        Some(format) => format,
    };
    Ok(pipeline)
}

/// Parses one `|` part into `pipeline`; returns its format suffix: `None` when it has none,
/// `Some(None)` for `src`.
fn parse_part(
    text: &str,
    pipeline: &mut Pipeline,
) -> Result<Option<Option<ImageFormat>>, PipelineError> {
    if text.starts_with("watermark=") {
        return Err(PipelineError::not_implemented(
            "watermark: old-API watermarks are not implemented; use image/watermark",
        ));
    }
    let (params, suffix) = match text.rsplit_once('.') {
        Some((params, suffix)) => (params, Some(suffix)),
        None => (text, None),
    };
    let format = suffix.map(parse_suffix).transpose()?;
    if params.is_empty() {
        if format.is_none() {
            return Err(PipelineError::invalid_argument(
                "empty part (check for '||' or a trailing '|')",
            ));
        }
        return Ok(format);
    }
    // Error messages name the action the first parameters belong to: resize.
    let mut params = Params::value_first("resize", params)?;
    OldParams::take(&mut params)?.apply(pipeline)?;
    if let Some((key, value)) = params.first_left() {
        return Err(if NOT_IMPLEMENTED_KEYS.contains(&key) {
            PipelineError::not_implemented(format!(
                "{value}{key}: the old API's '{key}' is not implemented"
            ))
        } else {
            PipelineError::invalid_argument(format!("unknown parameter '{value}{key}'"))
        });
    }
    Ok(format)
}

fn parse_suffix(suffix: &str) -> Result<Option<ImageFormat>, PipelineError> {
    Ok(Some(match suffix {
        "jpg" | "jpeg" => ImageFormat::Jpeg,
        "png" => ImageFormat::Png,
        "webp" => ImageFormat::Webp,
        "bmp" => ImageFormat::Bmp,
        "src" => return Ok(None),
        other => {
            return Err(PipelineError::invalid_argument(format!(
                "format: unknown format suffix '.{other}' (expected jpg, jpeg, png, webp, bmp \
                 or src)"
            )))
        }
    }))
}

/// The parameters of one part, read (and range-checked) before anything is built.
struct OldParams {
    width: Option<u32>,
    height: Option<u32>,
    edge: Option<u32>,
    crop: Option<u32>,
    limit: Option<u32>,
    percent: Option<u32>,
    color: Option<Rgb>,
    rotate: Option<u32>,
    absolute: Option<u32>,
    relative: Option<u32>,
}

impl OldParams {
    /// Takes every known key out of `params`; what is left is unknown.
    fn take(params: &mut Params<'_>) -> Result<OldParams, PipelineError> {
        Ok(OldParams {
            width: params.take_integer("w", OSS_SIDE_RANGE)?,
            height: params.take_integer("h", OSS_SIDE_RANGE)?,
            edge: params.take_integer("e", 0..=4)?,
            crop: params.take_integer("c", 0..=1)?,
            limit: params.take_integer("l", 0..=1)?,
            percent: params.take_integer("p", PERCENT_RANGE)?,
            color: take_colour(params)?,
            rotate: params.take_integer_for("rotate", "r", DEGREE_RANGE)?,
            absolute: params.take_integer_for("quality", "Q", QUALITY_RANGE)?,
            relative: params.take_integer_for("quality", "q", QUALITY_RANGE)?,
        })
    }

    /// Adds the part's steps (resize, then rotate) and its quality to `pipeline`.
    fn apply(&self, pipeline: &mut Pipeline) -> Result<(), PipelineError> {
        if let Some(resize) = self.resize()? {
            pipeline.steps.push(Step::Resize(resize.normalized()));
        }
        if let Some(degrees) = self.rotate {
            pipeline.steps.push(Step::Rotate(Rotate {
                degrees,
                limit_source_side: true,
            }));
        }
        let percent = |value: u32| u8::try_from(value).unwrap_or(100);
        match (self.absolute, self.relative) {
            (Some(value), _) => pipeline.output.quality = Some(Quality::Absolute(percent(value))),
            (None, Some(value)) => {
                pipeline.output.quality = Some(Quality::Relative(percent(value)))
            }
            (None, None) => {}
        }
        Ok(())
    }

    /// The resize the sides, edge, crop, limit, percent and colour ask for, if any.
    fn resize(&self) -> Result<Option<Resize>, PipelineError> {
        let mode = match self.edge.unwrap_or(0) {
            0 => ResizeMode::Lfit,
            1 if self.crop == Some(1) => ResizeMode::Fill,
            1 => ResizeMode::Mfit,
            2 => ResizeMode::Fixed,
            4 => ResizeMode::Pad,
            other => {
                return Err(PipelineError::invalid_argument(format!(
                    "resize: {other}e is not one of 0e, 1e, 2e, 4e"
                )))
            }
        };
        let allow_enlarge = self.limit != Some(1);
        if self.width.is_none() && self.height.is_none() {
            return Ok(self.percent.map(|percent| Resize {
                percent: Some(percent),
                allow_enlarge,
                ..Resize::default()
            }));
        }
        // "100w_100h_200p 等同于 200w_200h".
        let times = |side: Option<u32>| match self.percent {
            Some(percent) => side.map(|side| scale_side(side, percent, 100)),
            None => side,
        };
        Ok(Some(Resize {
            mode,
            width: times(self.width),
            height: times(self.height),
            allow_enlarge,
            color: self.color.unwrap_or(Rgb::WHITE),
            ..Resize::default()
        }))
    }
}

/// `<r>-<g>-<b>bgc`, each 0-255.
fn take_colour(params: &mut Params<'_>) -> Result<Option<Rgb>, PipelineError> {
    let Some(value) = params.take("bgc") else {
        return Ok(None);
    };
    let channels: Option<Vec<u8>> = value
        .split('-')
        .map(|channel| {
            (!channel.is_empty() && channel.bytes().all(|b| b.is_ascii_digit()))
                .then(|| channel.parse::<u8>().ok())
                .flatten()
        })
        .collect();
    match channels.as_deref() {
        Some(&[r, g, b]) => Ok(Some(Rgb { r, g, b })),
        _ => Err(PipelineError::invalid_argument(format!(
            "resize: {value}bgc is not <r>-<g>-<b> with each 0-255"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::NoStyles;
    use std::collections::HashMap;

    fn canonical(text: &str) -> String {
        parse(text, &NoStyles)
            .unwrap_or_else(|error| panic!("{text}: {error}"))
            .to_string()
    }

    #[test]
    fn the_documents_examples_map_onto_the_current_api() {
        let table = [
            // "100w_100h.jpg": fit inside 100x100, JPEG.
            (
                "100w_100h.jpg",
                "image/resize,w_100,h_100,limit_0/format,jpg",
            ),
            (
                "100h_100w_0e",
                "image/resize,w_100,h_100,limit_0/format,jpg",
            ),
            (
                "100h_100w_1e",
                "image/resize,m_mfit,w_100,h_100,limit_0/format,jpg",
            ),
            (
                "100w_100h_1e_1c.png",
                "image/resize,m_fill,w_100,h_100,limit_0/format,png",
            ),
            (
                "100w_100h_2e",
                "image/resize,m_fixed,w_100,h_100,limit_0/format,jpg",
            ),
            (
                "100w_100h_4e",
                "image/resize,m_pad,w_100,h_100,limit_0/format,jpg",
            ),
            (
                "100w_100h_4e_255-0-0bgc",
                "image/resize,m_pad,w_100,h_100,limit_0,color_FF0000/format,jpg",
            ),
            // c without 1e has no effect.
            (
                "100w_100h_1c",
                "image/resize,w_100,h_100,limit_0/format,jpg",
            ),
            ("100w_1l", "image/resize,w_100/format,jpg"),
            ("50p", "image/resize,p_50,limit_0/format,jpg"),
            (
                "100w_100h_200p",
                "image/resize,w_200,h_200,limit_0/format,jpg",
            ),
            // "120w_120h_240w 等同于 120h_240w"; order does not matter.
            (
                "120w_120h_240w",
                "image/resize,w_240,h_120,limit_0/format,jpg",
            ),
            (
                "90Q_120w_120h",
                "image/resize,w_120,h_120,limit_0/format,jpg/quality,Q_90",
            ),
            ("80q.webp", "image/format,webp/quality,q_80"),
            ("80q_70Q", "image/format,jpg/quality,Q_70"),
            ("90r.png", "image/rotate,90/format,png"),
            ("100w.src", "image/resize,w_100,limit_0"),
            (".png", "image/format,png"),
            ("100w.jpeg", "image/resize,w_100,limit_0/format,jpg"),
            // Pipes: every part's steps in order; the last part's suffix decides.
            (
                "100w.png|90r",
                "image/resize,w_100,limit_0/rotate,90/format,jpg",
            ),
            (
                "100w|50p|90Q|.bmp",
                "image/resize,w_100,limit_0/resize,p_50,limit_0/format,bmp/quality,Q_90",
            ),
        ];
        for (text, expected) in table {
            assert_eq!(canonical(text), expected, "{text}");
        }
    }

    #[test]
    fn errors_carry_the_vendor_codes() {
        let table = [
            (
                "",
                ErrorCode::InvalidArgument,
                None,
                "the old API needs parameters after '@' (e.g. @100w_100h.jpg)",
            ),
            (
                "1w|2w|3w|4w|5w",
                ErrorCode::TooManyPipe,
                None,
                "5 parts are joined with '|'; the old API allows at most 4",
            ),
            (
                "5000w",
                ErrorCode::InvalidArgument,
                Some(0),
                "resize: 5000w is out of range 1-4096",
            ),
            (
                "0h",
                ErrorCode::InvalidArgument,
                Some(0),
                "resize: 0h is out of range 1-4096",
            ),
            (
                "100w|1001p",
                ErrorCode::InvalidArgument,
                Some(1),
                "resize: 1001p is out of range 1-1000",
            ),
            (
                "100w_3e",
                ErrorCode::InvalidArgument,
                Some(0),
                "resize: 3e is not one of 0e, 1e, 2e, 4e",
            ),
            (
                "100w_2l",
                ErrorCode::InvalidArgument,
                Some(0),
                "resize: 2l is out of range 0-1",
            ),
            (
                "0Q",
                ErrorCode::InvalidArgument,
                Some(0),
                "quality: 0Q is out of range 1-100",
            ),
            (
                "101q",
                ErrorCode::InvalidArgument,
                Some(0),
                "quality: 101q is out of range 1-100",
            ),
            (
                "361r",
                ErrorCode::InvalidArgument,
                Some(0),
                "rotate: 361r is out of range 0-360",
            ),
            (
                "100w.gif",
                ErrorCode::InvalidArgument,
                Some(0),
                "format: unknown format suffix '.gif' (expected jpg, jpeg, png, webp, bmp or src)",
            ),
            (
                "w100",
                ErrorCode::InvalidArgument,
                Some(0),
                "'w100' is not a <number><key> parameter (e.g. 100w)",
            ),
            (
                "100",
                ErrorCode::InvalidArgument,
                Some(0),
                "'100' is not a <number><key> parameter (e.g. 100w)",
            ),
            (
                "100w_",
                ErrorCode::InvalidArgument,
                Some(0),
                "'' is not a <number><key> parameter (e.g. 100w)",
            ),
            (
                "100w||50p",
                ErrorCode::InvalidArgument,
                Some(1),
                "empty part (check for '||' or a trailing '|')",
            ),
            (
                "4z",
                ErrorCode::InvalidArgument,
                Some(0),
                "unknown parameter '4z'",
            ),
            (
                "100w_1o",
                ErrorCode::NotImplemented,
                Some(0),
                "1o: the old API's 'o' is not implemented",
            ),
            (
                "100-100-200-200a",
                ErrorCode::NotImplemented,
                Some(0),
                "100-100-200-200a: the old API's 'a' is not implemented",
            ),
            (
                "4e_1-2bgc_100w",
                ErrorCode::InvalidArgument,
                Some(0),
                "resize: 1-2bgc is not <r>-<g>-<b> with each 0-255",
            ),
            (
                "4e_1-2-256bgc_100w",
                ErrorCode::InvalidArgument,
                Some(0),
                "resize: 1-2-256bgc is not <r>-<g>-<b> with each 0-255",
            ),
            (
                "watermark=1&object=YQ",
                ErrorCode::NotImplemented,
                Some(0),
                "watermark: old-API watermarks are not implemented; use image/watermark",
            ),
            (
                "!nope",
                ErrorCode::NoSuchStyle,
                None,
                "style: no style named 'nope'",
            ),
            (
                "!bad name",
                ErrorCode::InvalidArgument,
                None,
                "style: 'bad name' is not a style name (1-63 letters, digits, '_', '-', '.')",
            ),
        ];
        for (text, code, step, message) in table {
            let error = parse(text, &NoStyles).unwrap_err();
            assert_eq!(
                (error.code, error.step, error.message.as_str()),
                (code, step, message),
                "{text}"
            );
        }
        // Four parts are fine.
        assert!(parse("1w|2w|3w|4w", &NoStyles).is_ok());
    }

    #[test]
    fn styles_hold_either_api() {
        let mut styles = HashMap::new();
        styles.insert("old".to_string(), "100w.jpg".to_string());
        styles.insert(
            "new".to_string(),
            "image/resize,w_100/format,png".to_string(),
        );
        styles.insert("broken".to_string(), "5000w".to_string());
        assert_eq!(
            parse("!old", &styles).unwrap().to_string(),
            "image/resize,w_100,limit_0/format,jpg"
        );
        assert_eq!(
            parse("!new", &styles).unwrap().to_string(),
            "image/resize,w_100/format,png"
        );
        let error = parse("!broken", &styles).unwrap_err();
        assert_eq!(
            error.message,
            "style 'broken': resize: 5000w is out of range 1-4096"
        );
    }

    #[test]
    fn an_at_process_value_takes_a_saveas() {
        let command = crate::parse::oss::parse_process(
            "@100w_100h|90r.png|sys/saveas,o_dGVzdC5qcGc",
            &NoStyles,
        )
        .unwrap();
        assert_eq!(
            command.pipeline.to_string(),
            "image/resize,w_100,h_100,limit_0/rotate,90/format,png"
        );
        assert_eq!(
            command.save_as.and_then(|s| s.key).as_deref(),
            Some("test.jpg")
        );
        let error =
            crate::parse::oss::parse_process("@100w|sys/saveas,o_YQ|sys/saveas,o_Yg", &NoStyles)
                .unwrap_err();
        assert_eq!(error.message, "sys/saveas is given twice");
    }
}
