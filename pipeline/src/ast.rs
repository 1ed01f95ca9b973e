//! The typed pipeline every dialect parses into, and its canonical rendering.
//!
//! A [`Pipeline`] is a list of [`Step`]s that run in the order the user wrote them (both vendors
//! say so), plus the [`OutputSettings`] for the final encode. Output settings (format,
//! quality, interlace) are collected from wherever they appear in the processing string:
//! `image/format,png/resize,w_100` and `image/resize,w_100/format,png` are the same pipeline.
//! When a setting appears twice, the last one wins.
//!
//! # Canonical form
//!
//! `Display` renders a pipeline in one canonical text, and [`Pipeline::from_str`] reads it
//! back: `parse(render(ast)) == ast`. Together with the source's ETag, the canonical text is the
//! key for reusing an earlier result, so two spellings of the same request must render the
//! same (the parsers normalise: parameter order, defaults, ignored parameters).
//!
//! Each action's text, both ways, lives with what it describes: a step's in its operation's
//! module under [`crate::ops`] (`Display` and `from_canonical`; [`Step::from_canonical`] routes
//! by action name), the output settings' here and in [`crate::ops::format`],
//! [`crate::ops::quality`], [`crate::ops::size_limit`] and [`crate::ops::info`], the frame's in
//! [`crate::video`]. [`crate::parse::parse_canonical`] only splits the text into actions.
//!
//! The canonical text is the OSS `image/...` syntax: steps first, then `format`, `quality` and
//! `interlace`, each action's parameters in a fixed order and only when not at their default.
//! Where OSS cannot express a pipeline, documented extensions are used:
//!
//! | extension | meaning |
//! |---|---|
//! | `resize` with `w`/`h`/`l`/`s` above 4096 | Qiniu thumbnail sizes (OSS caps at 4096) |
//! | `format,gif-from-any` | convert to GIF whatever the source (Qiniu); plain `format,gif` keeps the OSS rule |
//! | `quality,adaptive_N` | Qiniu `quality/N` (see [`crate::ops::quality`]) |
//! | `quality,forced_N` | Qiniu `quality/N!` |
//! | `image` alone | the empty pipeline (re-encode only) |
//! | `scale,wp_N` / `hp_N` / `ew_W,eh_H` / `area_N` | Qiniu `!Npx`, `!xNp`, `WxH<`, `N@` ([`crate::ops::scale`]) |
//! | `crop,w_,h_,g_,dx_,dy_` | a crop whose box sits at gravity `g` moved by signed `dx`/`dy`, clipped ([`crate::ops::crop`]) |
//! | `rotate,N,any-size` | a rotation without OSS's 4096 px input rule (Qiniu, [`crate::ops::rotate`]) |
//! | `crop,x_X,y_Y[,w_W][,h_H][,g_G]` | OSS `crop`, always written with `x_` and `y_`, which tells it from the Qiniu crop ([`crate::ops::crop::OssCrop`]) |
//! | `rotate,N`, `auto-orient,1`, `blur,r_R,s_S` | OSS syntax; `s` may be a decimal (Qiniu sigma) and above 50 |
//! | `view,m_M[,w_W][,h_H]` | Qiniu `imageView2/M` ([`crate::ops::image_view`]) |
//! | `document,qiniu-imageinfo`, `document,qiniu-exif` | a JSON document instead of an image ([`crate::ops::info`]); OSS `info` and `average-hue` are written as OSS writes them |
//! | `watermark,...,t_N,g_G,x_N,y_N[,voffset_N][,fill_1][,skip_1]` | one watermark ([`crate::ops::watermark`]): OSS parameters, plus `x`/`y` above 4096 (Qiniu margins), `skip_1` (Qiniu: a mark larger than the image is left out), `t` always written |
//! | `watermark,image_<b64>[,pre_<b64 actions>][,ws_N]` | the mark image: `image` holds only the object (or Qiniu `bucket:key`), `pre` the OSS preprocessing actions (`resize,P_30/rotate,90`), `ws` Qiniu's scale in thousandths |
//! | `watermark,text_<b64>,type_<b64>,color_RRGGBB,size_N[,shadow_N][,rotate_N]` | the mark text, every look parameter written; `size` in px (Qiniu twips converted); `type` also for Qiniu's font names, mapped ([`crate::ops::text`]) |
//! | `watermark,...,order_N,align_N,interval_N` | written for a mixed (image and text) mark only |
//! | `ignore-error,1` | Qiniu `ignore-error/1`: a failed run returns the source |
//! | `strip,1` | Qiniu `strip`: the result carries no metadata ([`OutputSettings::strip`]) |
//! | `size-limit,b_N[,force_1]`, `size-limit,fsize_1` | Qiniu `size-limit` ([`crate::ops::size_limit`]) |
//! | `animation,multi-step` | Qiniu: every step runs on each frame of an animated GIF (OSS allows one, see [`OutputSettings::multi_step_animation`]) |
//! | `frame,t_MS[,m_fast][,ar_auto][,end_last]` (first) | the source is a video: start from this frame (OSS `video/snapshot`, Qiniu `vframe`; [`crate::video`]) |
//!
//! The vendor parsers reject these extensions, so a user of one vendor's language cannot write
//! another vendor's semantics by accident.

use crate::error::PipelineError;
use crate::ops::auto_orient::{self, AutoOrient};
use crate::ops::blur::{self, Blur};
use crate::ops::bright::{self, Bright};
use crate::ops::circle::{self, Circle};
use crate::ops::contrast::{self, Contrast};
use crate::ops::crop::{self, Crop, OssCrop};
use crate::ops::format::{self, OutputFormat};
use crate::ops::image_view::{self, ImageView};
use crate::ops::index_crop::{self, IndexCrop};
use crate::ops::info::Document;
use crate::ops::quality::{self, Quality};
use crate::ops::resize::{self, Resize};
use crate::ops::rotate::{self, Rotate};
use crate::ops::rounded_corners::{self, RoundedCorners};
use crate::ops::scale::{self, Scale};
use crate::ops::sharpen::{self, Sharpen};
use crate::ops::size_limit::{self, SizeLimit};
use crate::ops::watermark::{self, Watermark};
use crate::ops::Operation;
use crate::parse::lex::{single_value, zero_or_one};
use crate::video::FrameGrab;
use std::fmt;
use std::str::FromStr;

/// The canonical form's names of the output settings that have no operation module.
const INTERLACE: &str = "interlace";
const IGNORE_ERROR: &str = "ignore-error";
const STRIP: &str = "strip";
const ANIMATION: &str = "animation";

/// A processing pipeline: steps in order, then how to encode the result.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Pipeline {
    /// The operations, run in order on the decoded source.
    pub steps: Vec<Step>,
    /// How the result is encoded.
    pub output: OutputSettings,
    /// When the source is a video: the frame the steps start from. The caller extracts it
    /// before running the pipeline (see [`crate::video`]); the engine itself decodes images.
    pub frame: Option<FrameGrab>,
}

/// One operation of a pipeline. Each variant's arguments live in the operation's own module
/// under [`crate::ops`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Scale, fit, fill or pad the image (OSS `resize`, Qiniu `thumbnail`).
    Resize(Resize),
    /// Qiniu's other thumbnail geometries (`!Npx`, `!xNp`, `WxH<`, `Area@`).
    Scale(Scale),
    /// Qiniu `imageView2/<mode>` thumbnails.
    View(ImageView),
    /// Cut a box placed at a gravity and moved by signed offsets, clipped to the image
    /// (Qiniu `crop`; OSS `crop` has its own rules and is [`Step::OssCrop`]).
    Crop(Crop),
    /// Turn clockwise by any angle (Qiniu and OSS `rotate`).
    Rotate(Rotate),
    /// Make the image upright from its EXIF orientation (Qiniu and OSS `auto-orient`).
    AutoOrient,
    /// Gaussian blur (Qiniu and OSS `blur`).
    Blur(Blur),
    /// An image, text or mixed watermark (OSS `watermark`, Qiniu `watermark/1` and `/2`, each
    /// group of `watermark/3`).
    Watermark(Watermark),
    /// Cut a region with OSS `crop` rules (start from a gravity origin, BadRequest outside).
    OssCrop(OssCrop),
    /// Cut into strips and keep one (OSS `indexcrop`).
    IndexCrop(IndexCrop),
    /// Keep the centred disc (OSS `circle`).
    Circle(Circle),
    /// Round the corners (OSS `rounded-corners`).
    RoundedCorners(RoundedCorners),
    /// Lighten or darken (OSS `bright`).
    Bright(Bright),
    /// More or less contrast (OSS `contrast`).
    Contrast(Contrast),
    /// Unsharp mask (OSS `sharpen`, Qiniu `sharpen/1`).
    Sharpen(Sharpen),
}

impl Step {
    /// The step's arguments as the operation they are: what the executor plans and applies
    /// ([`crate::ops::plan_step`]), and what writes the step's canonical text.
    pub fn operation(&self) -> &dyn Operation {
        match self {
            Step::Resize(resize) => resize,
            Step::Scale(scale) => scale,
            Step::View(view) => view,
            Step::Crop(crop) => crop,
            Step::Rotate(rotate) => rotate,
            Step::AutoOrient => &AutoOrient,
            Step::Blur(blur) => blur,
            Step::Watermark(mark) => mark,
            Step::OssCrop(crop) => crop,
            Step::IndexCrop(crop) => crop,
            Step::Circle(circle) => circle,
            Step::RoundedCorners(corners) => corners,
            Step::Bright(bright) => bright,
            Step::Contrast(contrast) => contrast,
            Step::Sharpen(sharpen) => sharpen,
        }
    }

    /// The action's name as the canonical form writes it; error messages start with it.
    pub fn action_name(&self) -> &'static str {
        self.operation().action()
    }

    /// Reads one canonical action that is a step, each operation reading its own arguments;
    /// `None` when `name` names no step.
    pub(crate) fn from_canonical(
        name: &str,
        arguments: &[&str],
    ) -> Option<Result<Step, PipelineError>> {
        let step = match name {
            resize::ACTION => Resize::from_canonical(arguments).map(Step::Resize),
            scale::ACTION => Scale::from_canonical(arguments).map(Step::Scale),
            image_view::ACTION => ImageView::from_canonical(arguments).map(Step::View),
            crop::ACTION if OssCrop::is_canonical(arguments) => {
                OssCrop::from_canonical(arguments).map(Step::OssCrop)
            }
            crop::ACTION => Crop::from_canonical(arguments).map(Step::Crop),
            rotate::ACTION => Rotate::from_canonical(arguments).map(Step::Rotate),
            auto_orient::ACTION => AutoOrient::from_canonical(arguments).map(|_| Step::AutoOrient),
            blur::ACTION => Blur::from_canonical(arguments).map(Step::Blur),
            watermark::ACTION => Watermark::from_canonical(arguments).map(Step::Watermark),
            index_crop::ACTION => IndexCrop::from_canonical(arguments).map(Step::IndexCrop),
            circle::ACTION => Circle::from_canonical(arguments).map(Step::Circle),
            rounded_corners::ACTION => {
                RoundedCorners::from_canonical(arguments).map(Step::RoundedCorners)
            }
            bright::ACTION => Bright::from_canonical(arguments).map(Step::Bright),
            contrast::ACTION => Contrast::from_canonical(arguments).map(Step::Contrast),
            sharpen::ACTION => Sharpen::from_canonical(arguments).map(Step::Sharpen),
            _ => return None,
        };
        Some(step)
    }
}

/// Encoding settings, gathered from wherever they appear in the pipeline.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OutputSettings {
    /// The result's format; `None` keeps the source's format.
    pub format: Option<OutputFormat>,
    /// The requested quality (JPEG only); `None` means
    /// [`crate::ops::quality::DEFAULT_QUALITY`].
    pub quality: Option<Quality>,
    /// Progressive JPEG when `Some(true)`. Other formats ignore it (OSS: "此参数只有当效果图是
    /// jpg 格式时才有意义").
    pub interlace: Option<bool>,
    /// OSS's GIF rule: `format,gif` converts only GIF sources, any other source keeps its
    /// format. Set by the OSS parser (only together with `format: Some(Gif)`); Qiniu converts
    /// anything to GIF and leaves it unset.
    pub gif_requires_gif_source: bool,
    /// A ceiling on the result's bytes (Qiniu `size-limit`), see
    /// [`crate::ops::size_limit`].
    pub size_limit: Option<SizeLimit>,
    /// Qiniu `ignore-error/1`: when processing fails, the result is the source unchanged.
    pub ignore_error: bool,
    /// Qiniu `strip` ("去除图片中的元信息"): the result carries no EXIF tag and no colour
    /// profile, whatever the configuration keeps ([`crate::metadata`]).
    pub strip: bool,
    /// The result is a JSON document about the source instead of an image (Qiniu
    /// `imageInfo`, `exif`, OSS `info`, `average-hue`); such a pipeline has no steps.
    pub document: Option<Document>,
    /// Whether an animated GIF may go through several steps. OSS processes animations one
    /// level deep only ("gif、webp 动图由于资源消耗原因目前只支持一级处理。如不能在缩略操作后直接进行
    /// 图片裁剪"), so by default a second step on an animation is refused ([`crate::exec`]);
    /// Qiniu runs every step on each frame, and its parser sets this for commands with
    /// several steps.
    pub multi_step_animation: bool,
}

impl OutputSettings {
    /// Whether no setting was given: the result is re-encoded in the source format.
    pub fn is_default(&self) -> bool {
        *self == OutputSettings::default()
    }

    /// Reads one canonical action that is an output setting into these settings; `None` when
    /// `name` names none.
    pub(crate) fn read_canonical(
        &mut self,
        name: &str,
        arguments: &[&str],
    ) -> Option<Result<(), PipelineError>> {
        if let Some(document) = Document::from_canonical(name, arguments) {
            return Some(document.map(|document| self.document = Some(document)));
        }
        let read = match name {
            format::ACTION => format::read_canonical(arguments, self),
            quality::ACTION => Quality::from_canonical(arguments).map(|q| self.quality = Some(q)),
            size_limit::ACTION => {
                SizeLimit::from_canonical(arguments).map(|limit| self.size_limit = Some(limit))
            }
            INTERLACE => single_value(name, arguments)
                .and_then(|value| zero_or_one(name, value))
                .map(|interlace| self.interlace = Some(interlace)),
            IGNORE_ERROR => only(name, arguments, "1").map(|()| self.ignore_error = true),
            STRIP => only(name, arguments, "1").map(|()| self.strip = true),
            ANIMATION => {
                only(name, arguments, "multi-step").map(|()| self.multi_step_animation = true)
            }
            _ => return None,
        };
        Some(read)
    }
}

/// A canonical action whose one written value is `value` (`ignore-error,1`).
fn only(name: &str, arguments: &[&str], value: &str) -> Result<(), PipelineError> {
    match arguments {
        [written] if *written == value => Ok(()),
        _ => Err(PipelineError::invalid_argument(format!(
            "{name}: the canonical form is {name},{value}"
        ))),
    }
}

/// Where a command's result goes.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SaveAs {
    /// Target bucket; `None` means the source's bucket (OSS saveas without `b_`).
    pub bucket: Option<String>,
    /// Target key; `None` means the caller generates one (Qiniu EncodedEntryURI holding only a
    /// bucket).
    pub key: Option<String>,
}

/// One unit of work from a processing string: a pipeline and where its result is saved.
/// A Qiniu `fops` string holds several, separated by `;`; an OSS process string holds one.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Command {
    /// What to do to the source.
    pub pipeline: Pipeline,
    /// Where to save the result; `None` when the command has no saveas.
    pub save_as: Option<SaveAs>,
}

impl Pipeline {
    /// The references of the watermark images the pipeline needs, in order, without
    /// duplicates: what the caller's [`crate::ops::watermark::AssetLookup`] must provide.
    pub fn asset_references(&self) -> Vec<&str> {
        let mut references: Vec<&str> = Vec::new();
        for step in &self.steps {
            if let Some(image) = match step {
                Step::Watermark(mark) => mark.image(),
                _ => None,
            } {
                if !references.contains(&image.reference.as_str()) {
                    references.push(&image.reference);
                }
            }
        }
        references
    }

    /// The rule that a document describes the source as it is, so that a pipeline of
    /// `actions` actions asking for one has no other ("info操作不能和其他处理操作同时使用").
    pub(crate) fn check_document_alone(&self, actions: usize) -> Result<(), PipelineError> {
        match self.output.document {
            Some(document) if actions > 1 => Err(PipelineError::invalid_argument(format!(
                "{}: describes the source and cannot be combined with other actions",
                document.action()
            ))),
            _ => Ok(()),
        }
    }
}

/// The operation's canonical text.
impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self.operation(), f)
    }
}

impl fmt::Display for Pipeline {
    /// The canonical form described in the module documentation.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("image")?;
        if let Some(frame) = &self.frame {
            write!(f, "/{frame}")?;
        }
        for step in &self.steps {
            write!(f, "/{step}")?;
        }
        let output = &self.output;
        if let Some(format) = format::canonical_text(output) {
            write!(f, "/{format}")?;
        }
        if let Some(quality) = output.quality {
            write!(f, "/{quality}")?;
        }
        if let Some(interlace) = output.interlace {
            write!(f, "/{INTERLACE},{}", u8::from(interlace))?;
        }
        if let Some(size_limit) = output.size_limit {
            write!(f, "/{size_limit}")?;
        }
        if output.ignore_error {
            write!(f, "/{IGNORE_ERROR},1")?;
        }
        if output.strip {
            write!(f, "/{STRIP},1")?;
        }
        if output.multi_step_animation {
            write!(f, "/{ANIMATION},multi-step")?;
        }
        if let Some(document) = output.document {
            write!(f, "/{document}")?;
        }
        Ok(())
    }
}

impl FromStr for Pipeline {
    type Err = PipelineError;

    /// Reads the canonical form (the OSS syntax plus the documented extensions).
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        crate::parse::parse_canonical(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Pipelines from both dialects, covering every step, setting and extension.
    fn dialect_cases() -> Vec<(String, Pipeline)> {
        use crate::parse::{oss, qiniu, NoStyles};
        let oss_cases = [
            "image/resize,w_100",
            "image/resize,h_100,w_100,m_lfit",
            "image/resize,m_mfit,h_100,w_100",
            "image/resize,m_fill,w_300,h_300/format,png/quality,Q_80/interlace,1",
            "image/resize,m_pad,w_100,h_100,color_ff0000",
            "image/resize,m_fixed,w_100,limit_0",
            "image/resize,l_100,s_50",
            "image/resize,p_50/resize,w_10",
            "image/format,gif",
            "image/quality,q_90/format,webp",
            "image/interlace,0/format,jpg",
            "image/format,tiff/format,bmp",
            "image/circle,r_100/format,png",
            "image/crop,x_10,y_10,w_200,h_200,g_se",
            "image/crop,x_100,y_50",
            "image/crop,w_100,h_100,g_face",
            "image/resize,m_fill,w_100,h_100,g_face",
            "image/crop/resize,w_10",
            "image/indexcrop,x_100,i_0",
            "image/indexcrop,y_50,i_3",
            "image/crop,w_100,h_100/rounded-corners,r_10/format,png",
            "image/rotate,70/auto-orient,0",
            "image/resize,w_100/auto-orient,1",
            "image/rotate,0/rotate,360",
            "image/blur,r_3,s_2",
            "image/resize,w_200/blur,s_50,r_50",
            "image/bright,50/contrast,-50",
            "image/bright,-100/contrast,100/bright,0",
            "image/sharpen,100",
            "image/resize,w_200/sharpen,399/format,png",
            "image/info",
            "image/average-hue",
            "image/codes",
            "imm/detectface",
            "video/snapshot,t_7000,f_jpg,w_800,h_600,m_fast",
            "video/snapshot,t_0,f_png,w_100,ar_auto",
            "@100w_100h_1e_1c_90Q.png",
            "@100w_4e_10-20-30bgc|50p_1l|90r|80q.src",
            "image/watermark,image_cGFuZGEucG5n,t_90,g_se,x_10,y_10",
            "image/resize,w_400/watermark,image_cGFuZGEucG5nP3gtb3NzLXByb2Nlc3M9aW1hZ2UvcmVzaXplLFBfMzA,t_90,g_se,x_10,y_10",
            "image/watermark,image_cGFuZGEucG5nP3gtb3NzLXByb2Nlc3M9aW1hZ2UvcmVzaXplLHdfNTA=",
            "image/resize,w_300,h_300/watermark,type_d3F5LXplbmhlaQ,size_30,text_SGVsbG8g5Zu-54mH5pyN5YqhIQ",
            "image/watermark,type_d3F5LXplbmhlaQ,size_30,text_SGVsbG8g5Zu-54mH5pyN5YqhIQ,color_FFFFFF,shadow_50,t_100,g_se,x_10,y_10",
            "image/watermark,image_cGFuZGEucG5n,text_SGVsbG8,shadow_50,order_1,align_2,interval_10,g_west,voffset_-20,fill_1,rotate_360",
            "image/watermark,text_b3Nz5paH5a2X5rC05Y2wMg,color_0000b7,size_20,g_sw,x_100,y_100,rotate_45,type_ZmFuZ3poZW5na2FpdGk=",
        ];
        let qiniu_cases = [
            "imageMogr2/thumbnail/700x",
            "imageMogr2/thumbnail/x467/format/gif",
            "imageMogr2/thumbnail/300x300/quality/75",
            "imageMogr2/thumbnail/!75p/quality/100!",
            "imageMogr2/thumbnail/!200x200r/interlace/1",
            "imageMogr2/thumbnail/200x300!",
            "imageMogr2/thumbnail/200x300>",
            "imageMogr2/thumbnail/20000x10001",
            "imageMogr2/thumbnail/0x0/format/png",
            "imageMogr2/thumbnail/100x|imageMogr2/thumbnail/x10",
            "imageMogr2/thumbnail/!75px/thumbnail/!x75p",
            "imageMogr2/thumbnail/700x600<",
            "imageMogr2/thumbnail/x600<",
            "imageMogr2/thumbnail/350000@",
            "imageMogr2/auto-orient/strip/gravity/SouthEast/crop/!300x300-30a100",
            "imageMogr2/gravity/Center/crop/300x/crop/x200/crop/!1x1a0-5",
            "imageMogr2/gravity/Face/crop/300x300",
            "imageMogr2/rotate/45/blur/3x5/blur/1x0.25",
            "imageMogr2/size-limit/15k!",
            "imageMogr2/size-limit/$(fsize)/quality/90",
            "imageView2/0/w/200/h/100",
            "imageView2/1/w/200/format/png/interlace/1/q/80!",
            "imageView2/5/h/100/ignore-error/1",
            "imageMogr2/auto-orient|imageView2/2/w/10",
            "imageInfo",
            "exif",
            "watermark/1/image/Yjpsb2dvLnBuZw/dissolve/50/gravity/North/dx/20/dy/5/ws/0.25",
            "watermark/3/image/bG9nby5wbmc/image/bG9nby5wbmc/gravity/West",
            "imageMogr2/sharpen/1",
            "imageMogr2/thumbnail/100x/sharpen/1/format/png",
            "imageMogr2/sharpen/0/thumbnail/10x",
            "vframe/jpg/offset/7/w/480/h/360",
            "vframe/png/offset/1.25/h/100/rotate/auto|imageMogr2/rotate/45",
            "watermark/2/text/5LiD54mb5LqR5a2Y5YKo/font/5a6L5L2T/fontsize/500/fill/d2hpdGU/dissolve/85/gravity/SouthEast/dx/20/dy/20",
            "watermark/3/image/bG9nby5wbmc/text/SGk/fill/I0ZGMDAwMA/gravity/North/dx/100000",
        ];
        let mut cases = Vec::new();
        for text in oss_cases {
            let command = oss::parse_process(text, &NoStyles).unwrap();
            cases.push((text.to_string(), command.pipeline));
        }
        for text in qiniu_cases {
            for command in qiniu::parse_fops(text).unwrap() {
                cases.push((text.to_string(), command.pipeline));
            }
        }
        cases
    }

    #[test]
    fn parsing_the_canonical_rendering_gives_the_same_pipeline() {
        for (text, pipeline) in dialect_cases() {
            let rendered = pipeline.to_string();
            let reparsed: Pipeline = rendered
                .parse()
                .unwrap_or_else(|error| panic!("{text} -> {rendered}: {error}"));
            assert_eq!(reparsed, pipeline, "{text} -> {rendered}");
            assert_eq!(
                reparsed.to_string(),
                rendered,
                "{text}: rendering is stable"
            );
        }
    }

    #[test]
    fn equal_requests_render_equal_and_dialect_semantics_stay_apart() {
        let table = [
            (
                "image/resize,h_100,w_100,m_lfit",
                "image/resize,w_100,h_100",
            ),
            (
                "image/format,png/resize,w_100",
                "image/resize,w_100/format,png",
            ),
            (
                "image/resize,m_pad,w_100,h_100,color_ff0000",
                "image/resize,m_pad,w_100,h_100,color_FF0000",
            ),
            ("image/format,gif", "image/format,gif"),
            // OSS crop always writes x_ and y_ (that tells it from the Qiniu crop).
            ("image/crop,w_100,h_100", "image/crop,x_0,y_0,w_100,h_100"),
            ("image/crop,g_se,w_0", "image/crop,x_0,y_0,g_se"),
            ("image/indexcrop,x_10,y_20,i_0", "image/indexcrop,y_20"),
            (
                "image/resize,w_100/auto-orient,1",
                "image/auto-orient,1/resize,w_100",
            ),
            ("image/rotate,90/auto-orient,0", "image/rotate,90"),
        ];
        for (text, canonical) in table {
            let command = crate::parse::oss::parse_process(text, &crate::parse::NoStyles).unwrap();
            assert_eq!(command.pipeline.to_string(), canonical, "{text}");
        }
        let table = [
            (
                "imageMogr2/thumbnail/700x",
                "image/resize,w_700,limit_0/quality,adaptive_75",
            ),
            (
                "imageMogr2/thumbnail/200x300>",
                "image/resize,w_200,h_300/quality,adaptive_75",
            ),
            (
                "imageMogr2/format/gif",
                "image/format,gif-from-any/quality,adaptive_75",
            ),
            ("imageMogr2/quality/75", "image/quality,adaptive_75"),
            (
                "imageMogr2/rotate/45",
                "image/rotate,45,any-size/quality,adaptive_75",
            ),
            ("imageMogr2/quality/75!", "image/quality,forced_75"),
            ("imageMogr2/thumbnail/0x0", "image/quality,adaptive_75"),
            (
                "imageMogr2/strip/thumbnail/0x0",
                "image/quality,adaptive_75/strip,1",
            ),
            (
                "imageMogr2/thumbnail/50%25",
                "image/resize,p_50,limit_0/quality,adaptive_75",
            ),
            (
                "imageMogr2/thumbnail/50x50%5E",
                "image/resize,m_mfit,w_50,h_50,limit_0/quality,adaptive_75",
            ),
            (
                "imageMogr2/crop/300x300+30+100",
                "image/crop,w_300,h_300,dx_30,dy_100/quality,adaptive_75",
            ),
        ];
        for (text, canonical) in table {
            let commands = crate::parse::qiniu::parse_fops(text).unwrap();
            assert_eq!(commands[0].pipeline.to_string(), canonical, "{text}");
        }
    }

    #[test]
    fn the_empty_pipeline_renders_as_image_alone() {
        assert_eq!(Pipeline::default().to_string(), "image");
        assert_eq!("image".parse::<Pipeline>(), Ok(Pipeline::default()));
    }
}
