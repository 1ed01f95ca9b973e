//! Aliyun OSS processing strings (`x-oss-process`, `x-oss-async-process`): all of OSS's
//! syntax, one child module per group of actions.
//!
//! ```text
//! image/<action>,<k>_<v>,<k>_<v>/<action>,<value>/...[|sys/saveas,o_<b64 key>[,b_<b64 bucket>]]
//! style/<name>[|sys/saveas,...]
//! video/snapshot,t_<ms>,f_<jpg|png>[,w_<W>][,h_<H>][,m_fast][,ar_auto][|sys/saveas,...]
//! imm/detectface
//! @<old API string>[|sys/saveas,...]
//! ```
//!
//! | file | what it reads |
//! |---|---|
//! | `resize.rs` | `resize` |
//! | `crop.rs` | `crop`, `indexcrop`, `circle`, `rounded-corners` |
//! | `adjust.rs` | `rotate`, `auto-orient`, `blur`, `bright`, `contrast`, `sharpen` |
//! | `watermark.rs` | `watermark` (image, text, mixed) |
//! | `output.rs` | `format`, `quality`, `interlace`, `info`, `average-hue`, `codes` |
//! | `video.rs` | `video/snapshot` ([`crate::video`]) |
//! | `imm.rs` | `imm/detectface` (`tagimage` and `previewdoc` are refused) |
//! | `style.rs` | `style/<name>` |
//! | `saveas.rs` | `\|sys/saveas,...` |
//! | [`legacy`] | the old image-service API after `@` (`object@100w_100h_90Q.jpg`) |
//!
//! Actions run in the order written. Errors (OSS document 2.7, and our decisions):
//! * missing `image/` (or `style/`) prefix, an empty action, an unknown action or parameter, a
//!   parameter given twice, a bad or out-of-range value: `InvalidArgument`, naming the action
//!   and the parameter;
//! * a required parameter absent (`resize` with no size, `quality` with neither q nor Q,
//!   saveas without `o`): `MissingArgument`;
//! * an OSS action Ferrotype does not implement (`imm/tagimage`, `imm/previewdoc`, `video/`
//!   actions other than `snapshot`): `NotImplemented`; an unknown `imm/` action:
//!   `InvalidArgument`;
//! * `style/<name>` not found: `NoSuchStyle`.
//!
//! Error `step` indexes are the 0-based position of the action after `image/`.

mod adjust;
mod crop;
mod imm;
pub mod legacy;
mod output;
mod resize;
mod saveas;
mod style;
mod video;
mod watermark;

pub(crate) use style::expand_style;

use super::lex::split_action;
use super::StyleLookup;
use crate::ast::{Command, Pipeline};
use crate::error::PipelineError;

/// Reads one action's arguments into the pipeline.
type ActionReader = fn(&[&str], &mut Pipeline) -> Result<(), PipelineError>;

/// The actions of the `image/` module, by name.
const ACTIONS: [(&str, ActionReader); 18] = [
    ("resize", resize::read),
    ("crop", crop::read_crop),
    ("indexcrop", crop::read_index_crop),
    ("circle", crop::read_circle),
    ("rounded-corners", crop::read_rounded_corners),
    ("rotate", adjust::read_rotate),
    ("auto-orient", adjust::read_auto_orient),
    ("blur", adjust::read_blur),
    ("bright", adjust::read_bright),
    ("contrast", adjust::read_contrast),
    ("sharpen", adjust::read_sharpen),
    ("watermark", watermark::read),
    ("format", output::read_format),
    ("quality", output::read_quality),
    ("interlace", output::read_interlace),
    ("info", output::read_info),
    ("average-hue", output::read_average_hue),
    ("codes", output::read_codes),
];

/// Parses an `x-oss-process` value into a command.
pub fn parse_process(text: &str, styles: &dyn StyleLookup) -> Result<Command, PipelineError> {
    if let Some(old) = text.strip_prefix('@') {
        // The old API chains its own parts with '|' too: they end where `sys/` begins.
        let (head, sys) = match old.find("|sys/") {
            Some(at) => (
                old.get(..at).unwrap_or_default(),
                old.get(at..).unwrap_or_default(),
            ),
            None => (old, ""),
        };
        let pipeline = legacy::parse(head, styles)?;
        let mut parts = sys.split('|');
        parts.next();
        return Ok(Command {
            pipeline,
            save_as: saveas::parse_sys_parts(parts)?,
        });
    }
    let mut parts = text.split('|');
    let head = parts.next().unwrap_or_default();
    let pipeline = match head.strip_prefix("style/") {
        Some(name) => expand_style(name, styles)?,
        None => parse_image(head)?,
    };
    Ok(Command {
        pipeline,
        save_as: saveas::parse_sys_parts(parts)?,
    })
}

/// Parses the processing itself: `image/...`, `video/...` or `imm/...`.
pub(crate) fn parse_image(text: &str) -> Result<Pipeline, PipelineError> {
    if let Some(body) = text.strip_prefix("video/") {
        return video::parse(body);
    }
    if let Some(body) = text.strip_prefix("imm/") {
        return imm::parse(body);
    }
    let Some(body) = text.strip_prefix("image/") else {
        return Err(PipelineError::invalid_argument(format!(
            "the process must start with image/ or style/, found '{text}'"
        )));
    };
    let mut pipeline = Pipeline::default();
    let mut actions = 0;
    for (index, action) in body.split('/').enumerate() {
        parse_action(action, &mut pipeline).map_err(|error| error.at_step(index))?;
        actions += 1;
    }
    pipeline.check_document_alone(actions)?;
    Ok(pipeline)
}

/// Reads one `name,arguments` action into `pipeline`.
fn parse_action(text: &str, pipeline: &mut Pipeline) -> Result<(), PipelineError> {
    let (name, arguments) = split_action(text);
    if name.is_empty() {
        return Err(PipelineError::invalid_argument(
            "empty action (check for '//' or a trailing '/')",
        ));
    }
    let reader = ACTIONS
        .iter()
        .find_map(|(action, reader)| (*action == name).then_some(reader))
        .ok_or_else(|| PipelineError::invalid_argument(format!("unknown action '{name}'")))?;
    reader(&arguments, pipeline)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ast::{OutputSettings, SaveAs, Step};
    use crate::codec::ImageFormat;
    use crate::error::ErrorCode;
    use crate::ops::circle::Circle;
    use crate::ops::crop::OssCrop;
    use crate::ops::gravity::Gravity;
    use crate::ops::index_crop::{Axis, IndexCrop};
    use crate::ops::quality::Quality;
    use crate::ops::resize::{Resize, ResizeMode};
    use crate::ops::rotate::Rotate;
    use crate::ops::rounded_corners::RoundedCorners;
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
                strip: false,
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
            ("image/format,jxl", ErrorCode::InvalidArgument, Some(0), "format: unknown format 'jxl' (expected one of jpg, png, bmp, webp, gif, tiff, heic, avif)"),
            ("image/format", ErrorCode::MissingArgument, Some(0), "format: a value is required (format,<value>)"),
            ("image/format,png,jpg", ErrorCode::InvalidArgument, Some(0), "format: takes one value, got 'png,jpg'"),
            ("image/quality,Q_0", ErrorCode::InvalidArgument, Some(0), "quality: Q_0 is out of range 1-100"),
            ("image/quality,q_101", ErrorCode::InvalidArgument, Some(0), "quality: q_101 is out of range 1-100"),
            ("image/quality", ErrorCode::MissingArgument, Some(0), "quality: one of q (relative) or Q (absolute) is required"),
            ("image/quality,adaptive_80", ErrorCode::InvalidArgument, Some(0), "quality: unknown parameter adaptive_80"),
            ("image/format,gif-from-any", ErrorCode::InvalidArgument, Some(0), "format: unknown format 'gif-from-any' (expected one of jpg, png, bmp, webp, gif, tiff, heic, avif)"),
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
            ("image/crop,g_middle", ErrorCode::InvalidArgument, Some(0), "crop: g_middle is not one of nw, north, ne, west, center, east, sw, south, se, face"),
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
            ("imm/detect", ErrorCode::InvalidArgument, None, "imm: unknown action 'detect' (detectface, previewdoc, tagimage)"),
            ("imm/tagimage", ErrorCode::NotImplemented, None, "imm/tagimage: image labelling is not implemented (no image classifier is installed)"),
            ("imm/previewdoc,copy_1", ErrorCode::NotImplemented, None, "imm/previewdoc: document preview is not implemented"),
            ("imm/detectface,x_1", ErrorCode::InvalidArgument, None, "imm/detectface: takes no parameters, got 'x_1'"),
            ("image/resize,w_100,g_face", ErrorCode::InvalidArgument, Some(0), "resize: g_face applies to m_fill only, not m_lfit"),
            ("image/resize,m_fill,w_100,g_se", ErrorCode::InvalidArgument, Some(0), "resize: g_se is not read: a resize takes only g_face (m_fill around the faces)"),
            ("image/watermark,text_aGk,g_face", ErrorCode::InvalidArgument, Some(0), "watermark: g_face is not one of nw, north, ne, west, center, east, sw, south, se"),
            ("image/codes,x_1", ErrorCode::InvalidArgument, Some(0), "codes: takes no parameters, got 'x_1'"),
            ("image/codes/resize,w_10", ErrorCode::InvalidArgument, None, "codes: describes the source and cannot be combined with other actions"),
            ("image/resize,w_10/codes", ErrorCode::InvalidArgument, None, "codes: describes the source and cannot be combined with other actions"),
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
