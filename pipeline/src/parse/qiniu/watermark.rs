//! Qiniu `watermark/1` (an image), `watermark/2` (a text) and `watermark/3` (image and text
//! groups, each starting at its `image` or `text`): one [`crate::ops::watermark`] step per
//! mark, in order.
//!
//! `image` is URL-safe base64 of `bucket:key` or a key in the source bucket; `text`, `font`
//! and `fill` (the colour: `#RRGGBB` or a colour name) are URL-safe base64 too; `fontsize` is
//! in twips (1/20 pt at 72 DPI: 20 twips = 1 px; default 240); `font` defaults to 黑体 and
//! maps onto the OSS font table ([`font_family`]). A mark larger than the image is left out
//! ("原图尺寸小于水印图片尺寸时，直接返回原图，不加水印").

use super::next_value;
use super::values::gravity;
use crate::ast::{Pipeline, Step};
use crate::codec::Rgb;
use crate::error::PipelineError;
use crate::ops::text::{FontFamily, TextMark, MAX_SIZE};
use crate::ops::watermark::{MarkContent, MarkImage, Watermark};
use crate::parse::lex::{decode_base64_text, integer_in, thousandths};

const MARK: &str = "watermark";

/// Qiniu's default text size: 240 twips (12 pt, 12 px at the reference 72 DPI).
const DEFAULT_FONTSIZE_TWIPS: u32 = 240;

/// Twips per pixel at Qiniu's reference 72 DPI (1 pt = 1 px, 1 pt = 20 twips).
const TWIPS_PER_PIXEL: u32 = 20;

/// Reads the parameters after `watermark/`: the mode, then `name/value` pairs.
pub(super) fn parse(parameters: &str, pipeline: &mut Pipeline) -> Result<(), PipelineError> {
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
        let value = next_value(&action, &mut segments)?;
        if starts_group(mode, name)? {
            if mode != "3" && !marks.is_empty() {
                return Err(PipelineError::invalid_argument(format!(
                    "watermark/{mode}: takes one {name} (use watermark/3 for several)"
                )));
            }
            marks.push(new_mark(name, &action, &value)?);
            continue;
        }
        let Some(mark) = marks.last_mut() else {
            let first = if mode == "2" {
                "a text/<encodedText>"
            } else {
                "an image/<encodedImageURL>"
            };
            return Err(PipelineError::invalid_argument(format!(
                "{action}: must follow {first}"
            )));
        };
        read_parameter(name, &value, mark)?;
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

/// Whether parameter `name` starts a new mark in `mode`.
fn starts_group(mode: &str, name: &str) -> Result<bool, PipelineError> {
    match (mode, name) {
        ("1", "image") | ("2", "text") | ("3", "image" | "text") => Ok(true),
        ("1", "text") | ("2", "image") => Err(PipelineError::invalid_argument(format!(
            "watermark/{mode}: takes no {name} (use watermark/3 for images and texts)"
        ))),
        _ => Ok(false),
    }
}

/// The mark an `image/<encodedImageURL>` or `text/<encodedText>` starts.
fn new_mark(name: &str, action: &str, value: &str) -> Result<Watermark, PipelineError> {
    let content = if name == "image" {
        let reference = decode_base64_text(action, "encodedImageURL", value)?;
        MarkContent::Image(MarkImage::new(reference))
    } else {
        let text = decode_base64_text(action, "encodedText", value)?;
        TextMark::check_text(action, &text)?;
        MarkContent::Text(qiniu_text(text))
    };
    Ok(Watermark {
        skip_when_larger: true,
        ..Watermark::new(content)
    })
}

/// A Qiniu text mark with its defaults: 黑体, black, 240 twips.
fn qiniu_text(text: String) -> TextMark {
    TextMark {
        font: FontFamily::FangzhengHeiti,
        size: DEFAULT_FONTSIZE_TWIPS / TWIPS_PER_PIXEL,
        ..TextMark::new(text)
    }
}

/// One parameter of the current mark.
fn read_parameter(name: &str, value: &str, mark: &mut Watermark) -> Result<(), PipelineError> {
    let action = format!("{MARK}/{name}");
    match (name, &mut mark.content) {
        ("dissolve", _) => {
            mark.opacity = u8::try_from(integer_in(&action, value, value, 1..=100)?).unwrap_or(100);
        }
        ("gravity", _) => mark.gravity = gravity(&action, value)?,
        ("dx", _) => mark.dx = integer_in(&action, value, value, 0..=u32::MAX)?,
        ("dy", _) => mark.dy = integer_in(&action, value, value, 0..=u32::MAX)?,
        ("ws", MarkContent::Image(image)) => image.ws_milli = Some(ws(&action, value)?),
        ("font" | "fontsize" | "fill", MarkContent::Text(text)) => {
            read_text_parameter(name, &action, value, text)?;
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
    Ok(())
}

/// `ws/<0-1>`: the mark's short side relative to the image's, in thousandths.
fn ws(action: &str, value: &str) -> Result<u32, PipelineError> {
    // The message has always called the value a sigma, as blur's does.
    let ws = thousandths(action, "sigma", value)?;
    if ws > 1000 {
        return Err(PipelineError::invalid_argument(format!(
            "{action}: '{value}' must be in (0, 1]"
        )));
    }
    Ok(ws)
}

/// A text group's `font`, `fontsize` or `fill`.
fn read_text_parameter(
    name: &str,
    action: &str,
    value: &str,
    text: &mut TextMark,
) -> Result<(), PipelineError> {
    match name {
        "font" => {
            let font = decode_base64_text(action, "encodedFontName", value)?;
            text.font = font_family(&font).ok_or_else(|| {
                PipelineError::invalid_argument(format!(
                    "{action}: '{font}' is not a known font (黑体, 宋体, 楷体, 仿宋, 微软雅黑, \
                     文泉驿正黑, or an OSS font name)"
                ))
            })?;
        }
        "fontsize" => {
            let twips = integer_in(action, value, value, 1..=MAX_SIZE * TWIPS_PER_PIXEL)?;
            text.size = ((twips + TWIPS_PER_PIXEL / 2) / TWIPS_PER_PIXEL).max(1);
        }
        _ => {
            let colour = decode_base64_text(action, "encodedTextColor", value)?;
            text.color = parse_colour(&colour).ok_or_else(|| {
                PipelineError::invalid_argument(format!(
                    "{action}: '{colour}' is not a colour (#RRGGBB or a name such as red)"
                ))
            })?;
        }
    }
    Ok(())
}

/// Reads a Qiniu `font` name. Qiniu renders with the fonts of its servers, named in
/// Chinese or English (`黑体` is its default); each maps to the family of the same style:
/// hei (sans) names to the Hei families, song / ming (serif) names to 书宋, kai to 楷体,
/// fangsong to 仿宋. The OSS names are accepted too. Letter case is ignored.
fn font_family(name: &str) -> Option<FontFamily> {
    if let Some(family) = FontFamily::from_name(name) {
        return Some(family);
    }
    let lower = name.trim().to_lowercase();
    let family = match lower.as_str() {
        "黑体" | "simhei" | "heiti" | "方正黑体" => FontFamily::FangzhengHeiti,
        "文泉驿正黑" | "wenquanyi zen hei" | "wqy zenhei" => FontFamily::WqyZenhei,
        "微软雅黑" | "microsoft yahei" | "msyh" | "文泉驿微米黑" | "wenquanyi micro hei" => {
            FontFamily::WqyMicrohei
        }
        "宋体" | "simsun" | "songti" | "新宋体" | "nsimsun" | "方正书宋" => {
            FontFamily::FangzhengShusong
        }
        "楷体" | "kaiti" | "simkai" | "楷体_gb2312" | "方正楷体" => {
            FontFamily::FangzhengKaiti
        }
        "仿宋" | "fangsong" | "simfang" | "仿宋_gb2312" | "方正仿宋" => {
            FontFamily::FangzhengFangsong
        }
        "droidsansfallback" | "droid sans fallback" => FontFamily::DroidSansFallback,
        _ => return None,
    };
    Some(family)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::gravity::Gravity;
    use crate::parse::qiniu::parse_fops;
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
    fn qiniu_font_names_map_to_families() {
        assert_eq!(font_family("宋体"), Some(FontFamily::FangzhengShusong));
        assert_eq!(font_family("微软雅黑"), Some(FontFamily::WqyMicrohei));
        assert_eq!(font_family("SimHei"), Some(FontFamily::FangzhengHeiti));
        assert_eq!(font_family("Comic Sans"), None);
    }
}
