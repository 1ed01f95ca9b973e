//! Text marks: the words of an OSS text watermark (`watermark,text_...`) or of a Qiniu
//! `watermark/2` / `watermark/3` text group, rendered into a transparent RGBA picture that
//! [`super::watermark`] then places like any mark image.
//!
//! # Vendor rules (OSS document 2.6 "文字水印参数", Qiniu watermark/2)
//!
//! * The text is URL-safe base64 (padding optional) of UTF-8 text; OSS allows "最大长度为64个字符
//!   (即支持汉字最多20个左右)": 64 bytes of UTF-8, which is 21 CJK characters of 3 bytes, so the
//!   limit is counted in bytes ([`MAX_TEXT_BYTES`]).
//! * `type` names one of seven fonts ([`FontFamily`]); Qiniu's `font` names (`黑体`, `宋体`,
//!   `微软雅黑`...) map onto the same seven. The engine never reads font files: the caller
//!   provides them through a [`FontLookup`] (see [`crate::fonts`] for the system one).
//! * `color` `RRGGBB`, default black (OSS `000000`; Qiniu `fill`, default black too).
//! * `size` is in pixels, (0, 1000], default 40 (OSS). Qiniu's `fontsize` is in twips
//!   (1/20 pt) at a reference of 72 DPI, so 1 pt = 1 px: 240 twips (the default) = 12 px.
//! * `shadow` (0, 100] is the opacity of a black drop shadow. Its offset is not documented: we
//!   draw it [`shadow_offset`] pixels (5 % of the size, at least 1) right of and below the text.
//! * `rotate` [0, 360] turns the text clockwise, growing its box (transparent corners).
//!
//! Glyphs are rasterised with `ab_glyph` from the font's outlines; a character the font has no
//! glyph for is drawn as the font's missing-glyph shape.

use super::rotate::{self, Rotate};
use crate::codec::Rgb;
use crate::codec::{PixelLayout, Raster};
use crate::error::{ErrorCode, PipelineError};
use crate::limits::Limits;
use ab_glyph::{Font, FontRef, PxScale, ScaleFont};
use std::fmt;

/// The longest text OSS accepts, in bytes of UTF-8.
pub const MAX_TEXT_BYTES: usize = 64;

/// OSS's default text size, in pixels.
pub const DEFAULT_SIZE: u32 = 40;

/// The largest text size, in pixels (OSS: `(0, 1000]`).
pub const MAX_SIZE: u32 = 1000;

/// The canonical (and OSS `type`) names, as error messages list them.
pub(crate) const FONT_NAMES: &str = "wqy-zenhei, wqy-microhei, fangzhengshusong, \
     fangzhengkaiti, fangzhengheiti, fangzhengfangsong, droidsansfallback";

/// The fonts of OSS's "文字类型编码对应表", which Qiniu's font names map onto too.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum FontFamily {
    /// 文泉驿正黑 (OSS's default).
    #[default]
    WqyZenhei,
    /// 文泉微米黑.
    WqyMicrohei,
    /// 方正书宋.
    FangzhengShusong,
    /// 方正楷体.
    FangzhengKaiti,
    /// 方正黑体.
    FangzhengHeiti,
    /// 方正仿宋.
    FangzhengFangsong,
    /// DroidSansFallback.
    DroidSansFallback,
}

impl FontFamily {
    /// Every family, in the order of the OSS table.
    pub const ALL: [FontFamily; 7] = [
        FontFamily::WqyZenhei,
        FontFamily::WqyMicrohei,
        FontFamily::FangzhengShusong,
        FontFamily::FangzhengKaiti,
        FontFamily::FangzhengHeiti,
        FontFamily::FangzhengFangsong,
        FontFamily::DroidSansFallback,
    ];

    /// The canonical form's name, which is OSS's `type` name (before base64).
    pub fn name(self) -> &'static str {
        match self {
            FontFamily::WqyZenhei => "wqy-zenhei",
            FontFamily::WqyMicrohei => "wqy-microhei",
            FontFamily::FangzhengShusong => "fangzhengshusong",
            FontFamily::FangzhengKaiti => "fangzhengkaiti",
            FontFamily::FangzhengHeiti => "fangzhengheiti",
            FontFamily::FangzhengFangsong => "fangzhengfangsong",
            FontFamily::DroidSansFallback => "droidsansfallback",
        }
    }

    /// Reads a canonical (and OSS `type`) name, exactly as the table writes it.
    pub fn from_name(name: &str) -> Option<FontFamily> {
        FontFamily::ALL
            .into_iter()
            .find(|family| family.name() == name)
    }
}

impl fmt::Display for FontFamily {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One font face: the file's bytes and, for a collection (`.ttc`), the face's index in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FontFace<'a> {
    /// The whole font file.
    pub bytes: &'a [u8],
    /// The face inside a collection; 0 for a single font.
    pub index: u32,
}

/// Provides the font files text marks are drawn with. Where fonts live is the caller's
/// business, as with [`super::watermark::AssetLookup`]; [`crate::fonts::SystemFonts`] reads
/// the installed free fonts.
pub trait FontLookup {
    /// The face that renders `family`, or `None` when no font for it is available.
    fn font(&self, family: FontFamily) -> Option<FontFace<'_>>;
}

/// No fonts at all: every text mark fails with `WatermarkError`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NoFonts;

impl FontLookup for NoFonts {
    fn font(&self, _family: FontFamily) -> Option<FontFace<'_>> {
        None
    }
}

/// The words of a watermark and how they look.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextMark {
    /// The text (at most [`MAX_TEXT_BYTES`] bytes of UTF-8, not empty).
    pub text: String,
    /// The font.
    pub font: FontFamily,
    /// The colour of the letters.
    pub color: Rgb,
    /// The size in pixels, 1-1000.
    pub size: u32,
    /// Opacity of the drop shadow in percent (1-100), `None` for no shadow.
    pub shadow: Option<u8>,
    /// Clockwise rotation in degrees, 0-359.
    pub rotate: u32,
}

impl TextMark {
    /// A text mark with OSS's defaults: wqy-zenhei, black, 40 px, no shadow, upright.
    pub fn new(text: String) -> TextMark {
        TextMark {
            text,
            font: FontFamily::default(),
            color: Rgb { r: 0, g: 0, b: 0 },
            size: DEFAULT_SIZE,
            shadow: None,
            rotate: 0,
        }
    }

    /// Checks the vendor limits on the text itself (both dialects).
    pub(crate) fn check_text(action: &str, text: &str) -> Result<(), PipelineError> {
        if text.is_empty() {
            return Err(PipelineError::invalid_argument(format!(
                "{action}: text is empty"
            )));
        }
        if text.len() > MAX_TEXT_BYTES {
            return Err(PipelineError::invalid_argument(format!(
                "{action}: text is {} bytes of UTF-8, more than {MAX_TEXT_BYTES}",
                text.len()
            )));
        }
        Ok(())
    }
}

/// How far the shadow is drawn from the letters, in pixels.
pub fn shadow_offset(size: u32) -> u32 {
    (size / 20).max(1)
}

/// Renders `mark` into a transparent RGBA picture just large enough for its letters (and
/// shadow), rotated as asked.
pub fn render(
    mark: &TextMark,
    fonts: &dyn FontLookup,
    limits: &Limits,
) -> Result<Raster, PipelineError> {
    let face = fonts.font(mark.font).ok_or_else(|| {
        PipelineError::new(
            ErrorCode::WatermarkError,
            format!("watermark: no font is installed for type '{}'", mark.font),
        )
    })?;
    let font = FontRef::try_from_slice_and_index(face.bytes, face.index).map_err(|error| {
        PipelineError::new(
            ErrorCode::WatermarkError,
            format!("watermark: the font for type '{}': {error}", mark.font),
        )
    })?;
    let line = Line::lay_out(mark, &font);
    let shadow = mark.shadow.map(|_| shadow_offset(mark.size)).unwrap_or(0);
    let (width, height) = (line.width + shadow, line.height + shadow);
    super::check_canvas("watermark", width, height, limits)?;
    let coverage = line.coverage(&font, (width as usize, height as usize));
    let data = paint(
        mark,
        &coverage,
        (width as usize, height as usize),
        shadow as usize,
    );
    let raster = Raster::new(width, height, PixelLayout::Rgba8, data)?;
    if mark.rotate.is_multiple_of(360) {
        return Ok(raster);
    }
    let plan = rotate::plan(
        &Rotate {
            degrees: mark.rotate,
            // A rendered text is not a source image: OSS's 4096 px input rule is not for it.
            limit_source_side: false,
        },
        (width, height),
        limits,
    )?;
    rotate::apply(&raster, &plan, crate::resources::Deadline::default())
}

/// The glyphs of a text laid out on one line, the baseline at the ascent, and the size of the
/// box the letters take.
struct Line {
    glyphs: Vec<ab_glyph::Glyph>,
    width: u32,
    height: u32,
}

impl Line {
    fn lay_out(mark: &TextMark, font: &FontRef<'_>) -> Line {
        let scale = PxScale::from(mark.size as f32);
        let scaled = font.as_scaled(scale);
        let ascent = scaled.ascent();
        let mut glyphs = Vec::with_capacity(mark.text.chars().count());
        let mut caret = 0.0f32;
        let mut previous = None;
        for character in mark.text.chars() {
            let id = scaled.glyph_id(character);
            if let Some(previous) = previous {
                caret += scaled.kern(previous, id);
            }
            glyphs.push(id.with_scale_and_position(scale, ab_glyph::point(caret, ascent)));
            caret += scaled.h_advance(id);
            previous = Some(id);
        }
        Line {
            glyphs,
            width: caret.ceil().max(1.0) as u32,
            height: (ascent - scaled.descent()).ceil().max(1.0) as u32,
        }
    }

    /// How much of each pixel of a `canvas` (`w`, `h`) the letters cover, 0-1, row by row;
    /// nothing is drawn outside the letters' own box.
    fn coverage(self, font: &FontRef<'_>, (w, h): (usize, usize)) -> Vec<f32> {
        let mut coverage = vec![0f32; w * h];
        let (text_width, text_height) = (i64::from(self.width), i64::from(self.height));
        for glyph in self.glyphs {
            let Some(outlined) = font.outline_glyph(glyph) else {
                continue;
            };
            let bounds = outlined.px_bounds();
            outlined.draw(|x, y, value| {
                let px = bounds.min.x as i64 + i64::from(x);
                let py = bounds.min.y as i64 + i64::from(y);
                if px < 0 || py < 0 || px >= text_width || py >= text_height {
                    return;
                }
                if let Some(cell) = coverage.get_mut(py as usize * w + px as usize) {
                    *cell = (*cell + value).min(1.0);
                }
            });
        }
        coverage
    }
}

/// The RGBA pixels of the letters in their colour over their black shadow, `shift` pixels
/// right and down (source-over), from the letters' `coverage` of a `w` x `h` canvas.
fn paint(mark: &TextMark, coverage: &[f32], (w, h): (usize, usize), shift: usize) -> Vec<u8> {
    let mut data = vec![0u8; w * h * 4];
    let colour = mark.color.to_array();
    let shadow_alpha = f32::from(mark.shadow.unwrap_or(0)) / 100.0;
    for y in 0..h {
        for x in 0..w {
            let letter = coverage.get(y * w + x).copied().unwrap_or(0.0);
            let shade = if shift > 0 && x >= shift && y >= shift {
                coverage
                    .get((y - shift) * w + (x - shift))
                    .copied()
                    .unwrap_or(0.0)
                    * shadow_alpha
            } else {
                0.0
            };
            let alpha = letter + shade * (1.0 - letter);
            if alpha <= 0.0 {
                continue;
            }
            let start = (y * w + x) * 4;
            let Some(pixel) = data.get_mut(start..start + 4) else {
                continue;
            };
            for channel in 0..3 {
                let value = f32::from(colour[channel]) * letter / alpha;
                pixel[channel] = value.round().clamp(0.0, 255.0) as u8;
            }
            pixel[3] = (alpha * 255.0).round().clamp(0.0, 255.0) as u8;
        }
    }
    data
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// The fonts the test command installs (fonts-wqy-zenhei & co.), read from the system.
    pub(crate) fn fonts() -> crate::fonts::SystemFonts {
        crate::fonts::SystemFonts::default()
    }

    #[test]
    fn the_oss_font_table_names_the_families() {
        let table = [
            ("d3F5LXplbmhlaQ", FontFamily::WqyZenhei),
            ("d3F5LW1pY3JvaGVp", FontFamily::WqyMicrohei),
            ("ZmFuZ3poZW5nc2h1c29uZw", FontFamily::FangzhengShusong),
            ("ZmFuZ3poZW5na2FpdGk", FontFamily::FangzhengKaiti),
            ("ZmFuZ3poZW5naGVpdGk", FontFamily::FangzhengHeiti),
            ("ZmFuZ3poZW5nZmFuZ3Nvbmc", FontFamily::FangzhengFangsong),
            ("ZHJvaWRzYW5zZmFsbGJhY2s", FontFamily::DroidSansFallback),
        ];
        for (encoded, family) in table {
            let name = crate::parse::lex::decode_base64_text("t", "type", encoded).unwrap();
            assert_eq!(FontFamily::from_name(&name), Some(family), "{name}");
            assert_eq!(family.to_string(), name);
        }
        assert_eq!(FontFamily::from_name("Arial"), None);
    }

    #[test]
    fn every_family_renders_latin_and_cjk_text() {
        let fonts = fonts();
        for family in FontFamily::ALL {
            let mark = TextMark {
                font: family,
                size: 30,
                ..TextMark::new("Hello, 图片服务!".to_string())
            };
            let raster = render(&mark, &fonts, &Limits::default()).unwrap();
            let (width, height) = raster.dimensions();
            assert!(width > 150 && width < 400, "{family}: {width}");
            assert!((28..=50).contains(&height), "{family}: {height}");
            let inked = raster.data().chunks_exact(4).filter(|p| p[3] > 128).count();
            assert!(inked > 300, "{family}: only {inked} inked pixels");
        }
    }

    #[test]
    fn colour_shadow_and_rotation_shape_the_picture() {
        let fonts = fonts();
        let plain = TextMark {
            color: Rgb { r: 255, g: 0, b: 0 },
            ..TextMark::new("III".to_string())
        };
        let raster = render(&plain, &fonts, &Limits::default()).unwrap();
        // Fully covered pixels carry the colour exactly.
        assert!(raster
            .data()
            .chunks_exact(4)
            .filter(|p| p[3] == 255)
            .all(|p| p[..3] == [255, 0, 0]));
        let shadowed = TextMark {
            shadow: Some(50),
            ..plain.clone()
        };
        let with_shadow = render(&shadowed, &fonts, &Limits::default()).unwrap();
        assert_eq!(
            with_shadow.width(),
            raster.width() + shadow_offset(plain.size)
        );
        // Some pixels are the half-transparent black shadow.
        assert!(with_shadow
            .data()
            .chunks_exact(4)
            .any(|p| p[..3] == [0, 0, 0] && (120..=135).contains(&p[3])));
        let turned = TextMark {
            rotate: 90,
            ..plain.clone()
        };
        let rotated = render(&turned, &fonts, &Limits::default()).unwrap();
        assert_eq!(
            rotated.dimensions(),
            (raster.height(), raster.width()),
            "90 degrees swaps the sides"
        );
    }

    #[test]
    fn missing_fonts_and_bad_text_are_refused() {
        let error = render(
            &TextMark::new("a".to_string()),
            &NoFonts,
            &Limits::default(),
        )
        .unwrap_err();
        assert_eq!(error.code, ErrorCode::WatermarkError);
        assert_eq!(
            error.message,
            "watermark: no font is installed for type 'wqy-zenhei'"
        );
        assert!(TextMark::check_text("watermark", &"字".repeat(21)).is_ok());
        let error = TextMark::check_text("watermark", &"字".repeat(22)).unwrap_err();
        assert_eq!(
            error.message,
            "watermark: text is 66 bytes of UTF-8, more than 64"
        );
        assert!(TextMark::check_text("watermark", "").is_err());
    }
}
