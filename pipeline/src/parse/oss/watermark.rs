//! The OSS `watermark` action (document 2.6), onto [`crate::ops::watermark::Watermark`].
//!
//! * Common: `t` 0-100 (default 100), `g` nw..se (default se), `x`/`y` 0-4096 (default 10),
//!   `voffset` -1000..1000 (default 0). `x` means something only for the left and right columns,
//!   `y` for the top and bottom rows, `voffset` for the middle row: elsewhere they are dropped,
//!   so requests that differ only there render (and are reused) as one.
//! * Image: `image_<urlsafe b64 object>`; the decoded object may end in
//!   `?x-oss-process=image/<actions>`: resize (with `P_1-100`, alone in its resize), crop and
//!   rotate, run on the mark before it is laid ("不支持内切圆").
//! * Text: `text` (required for a text mark, at most 64 bytes once decoded), `type` (a name of
//!   the font table, base64), `color` `RRGGBB` (default 000000), `size` 1-1000 (default 40),
//!   `shadow` 1-100, `rotate` 0-360.
//! * `fill` 0/1 (tiling, any mark).
//! * Mixed (both `image` and `text`): `order` 0/1, `align` 0-2, `interval` 0-1000; ignored when
//!   the mark is not mixed, as the text parameters are when there is no text.
//! * Base64 that does not decode is `BadRequest` (the document's example error, "Input is not
//!   base64 decoding."); other bad values are `InvalidArgument`; neither `image` nor `text`
//!   is `MissingArgument`.
//! * "一张图片上，最多支持3张不同的水印图做水印": a fourth distinct image is `InvalidArgument`.

use super::parse_image;
use crate::ast::{Pipeline, Step};
use crate::error::PipelineError;
use crate::ops::gravity::{self, Gravity};
use crate::ops::watermark::{
    check_reference, main_percent, mark_steps, own_process_error, read_layout, read_text,
    MarkContent, MarkImage, MarkStep, Watermark, DEFAULT_MARGIN, MAX_DISTINCT_IMAGES,
};
use crate::parse::lex::{decode_base64_or_bad_request, split_action, Params};

const ACTION: &str = "watermark";

/// What introduces an object's own processing inside an OSS `image_` object name.
const PROCESS_MARKER: &str = "?x-oss-process=";

/// Reads one `watermark` action into the pipeline.
pub(super) fn read(arguments: &[&str], pipeline: &mut Pipeline) -> Result<(), PipelineError> {
    let mark = parse(arguments)?;
    pipeline.steps.push(Step::Watermark(mark));
    if pipeline.asset_references().len() > MAX_DISTINCT_IMAGES {
        return Err(PipelineError::invalid_argument(
            "watermark: at most 3 different watermark images in one process",
        ));
    }
    Ok(())
}

/// The parameters of one `watermark` action.
fn parse(arguments: &[&str]) -> Result<Watermark, PipelineError> {
    let mut params = Params::key_first(ACTION, arguments)?;
    let opacity = params.take_integer("t", 0..=100)?.unwrap_or(100);
    let gravity = params
        .take_named("g", Gravity::from_name, gravity::NAMES)?
        .unwrap_or(Gravity::SouthEast);
    let dx = params.take_integer("x", 0..=4096)?;
    let dy = params.take_integer("y", 0..=4096)?;
    let voffset = params.take_signed("voffset", 1000)?.unwrap_or(0);
    let fill = params.take_flag("fill")?;
    let image = match params.take("image") {
        None => None,
        Some(encoded) => Some(parse_image_object(encoded)?),
    };
    // The text and the mixed layout are spelled as the canonical form spells them.
    let text = read_text(&mut params)?;
    let layout = read_layout(&mut params)?;
    params.finish()?;
    let mark = Watermark {
        content: MarkContent::from_parts(image, text, layout)?,
        opacity: u8::try_from(opacity).unwrap_or(100),
        gravity,
        dx: dx.unwrap_or(DEFAULT_MARGIN),
        dy: dy.unwrap_or(DEFAULT_MARGIN),
        voffset,
        fill,
        skip_when_larger: false,
    };
    Ok(drop_meaningless_offsets(mark))
}

/// "x 只有当水印位置是左上，左中，左下，右上，右中，右下才有意义", likewise `y` for the top and
/// bottom rows and `voffset` for the middle one: elsewhere they are set to 0.
fn drop_meaningless_offsets(mut mark: Watermark) -> Watermark {
    let middle_column = matches!(
        mark.gravity,
        Gravity::North | Gravity::Center | Gravity::South
    );
    let middle_row = matches!(
        mark.gravity,
        Gravity::West | Gravity::Center | Gravity::East
    );
    if middle_column {
        mark.dx = 0;
    }
    if middle_row {
        mark.dy = 0;
    } else {
        mark.voffset = 0;
    }
    mark
}

/// `image_<b64>`: the object, and its own processing after `?x-oss-process=`.
fn parse_image_object(encoded: &str) -> Result<MarkImage, PipelineError> {
    let object = decode_base64_or_bad_request(ACTION, "image", encoded)?;
    let (reference, preprocess) = match object.split_once(PROCESS_MARKER) {
        None => (object.clone(), Vec::new()),
        Some((key, process)) => {
            let actions = process.strip_prefix("image/").ok_or_else(|| {
                PipelineError::invalid_argument(format!(
                    "watermark: the image's own process must start with image/, found \
                     '{process}'"
                ))
            })?;
            (key.to_string(), parse_preprocess(actions)?)
        }
    };
    check_reference(&reference)?;
    Ok(MarkImage {
        reference,
        preprocess,
        ws_milli: None,
    })
}

/// The mark image's own actions: resize (with `P`), crop and rotate.
fn parse_preprocess(actions: &str) -> Result<Vec<MarkStep>, PipelineError> {
    let mut steps = Vec::new();
    for action in actions.split('/') {
        let (name, arguments) = split_action(action);
        if name == "resize" && arguments.iter().any(|argument| argument.starts_with("P_")) {
            steps.push(MarkStep::MainPercent(main_percent(action, &arguments)?));
            continue;
        }
        let pipeline = parse_image(&format!("image/{action}")).map_err(own_process_error)?;
        steps.extend(mark_steps(action, pipeline)?);
    }
    Ok(steps)
}

#[cfg(test)]
mod tests {
    use crate::ast::Step;
    use crate::error::ErrorCode;
    use crate::ops::gravity::Gravity;
    use crate::ops::text::FontFamily;
    use crate::ops::watermark::{Align, MarkContent, MarkStep, Watermark};
    use crate::parse::oss::parse_process;
    use crate::parse::NoStyles;

    fn marks(text: &str) -> Vec<Watermark> {
        crate::ops::test_support::watermarks(
            parse_process(text, &NoStyles)
                .unwrap_or_else(|error| panic!("{text}: {error}"))
                .pipeline,
        )
    }

    #[test]
    fn the_documents_examples_parse() {
        // Image, with and without its own resize, P relative to the main image.
        let mark = &one(
            "image/resize,w_300,h_300/format,jpg/watermark,image_cGFuZGEucG5n,t_90,g_se,x_10,y_10",
        );
        assert_eq!(
            (mark.opacity, mark.gravity, mark.dx, mark.dy),
            (90, Gravity::SouthEast, 10, 10)
        );
        assert_eq!(mark.image().unwrap().reference, "panda.png");
        let mark = &one("image/resize,w_400/watermark,image_cGFuZGEucG5nP3gtb3NzLXByb2Nlc3M9aW1hZ2UvcmVzaXplLFBfMzA,t_90,g_se,x_10,y_10");
        let image = mark.image().unwrap();
        assert_eq!(
            (image.reference.as_str(), &image.preprocess[..]),
            ("panda.png", &[MarkStep::MainPercent(30)][..])
        );
        let mark =
            &one("image/watermark,image_cGFuZGEucG5nP3gtb3NzLXByb2Nlc3M9aW1hZ2UvcmVzaXplLHdfNTA=");
        assert!(matches!(
            mark.image().unwrap().preprocess[..],
            [MarkStep::Step(Step::Resize(_))]
        ));
        // Text: the simplest one, then colour, shadow and position.
        let mark = &one("image/resize,w_300,h_300/watermark,type_d3F5LXplbmhlaQ,size_30,text_SGVsbG8g5Zu-54mH5pyN5YqhIQ");
        let text = mark.text().unwrap();
        assert_eq!(
            (text.text.as_str(), text.font, text.size),
            ("Hello 图片服务!", FontFamily::WqyZenhei, 30)
        );
        assert_eq!(
            (text.color.to_string(), text.shadow),
            ("000000".to_string(), None)
        );
        let mark = &one("image/watermark,type_d3F5LXplbmhlaQ,size_30,text_SGVsbG8g5Zu-54mH5pyN5YqhIQ,color_FFFFFF,shadow_50,t_100,g_se,x_10,y_10");
        assert_eq!(
            (
                mark.text().unwrap().color.to_string(),
                mark.text().unwrap().shadow
            ),
            ("FFFFFF".to_string(), Some(50))
        );
        // Mixed (the document's example with its broken image name and color_FFFF repaired).
        let mark = &one("image/resize,w_300,h_300/watermark,image_cGFuZGEucG5nP3gtb3NzLXByb2Nlc3M9aW1hZ2UvcmVzaXplLFBfMjU,type_d3F5LXplbmhlaQ,size_30,text_SGVsbG8g5Zu-54mH5pyN5YqhIQ,color_FFFFFF,shadow_50,order_0,align_2,interval_10,t_100,g_se,x_10,y_10");
        let MarkContent::Mixed(mixed) = &mark.content else {
            panic!("{mark:?}")
        };
        assert_eq!(
            (mixed.text_first, mixed.align, mixed.interval),
            (false, Align::Bottom, 10)
        );
        assert_eq!(mixed.image.preprocess, vec![MarkStep::MainPercent(25)]);
        // Several marks, three distinct pictures (the document's ten-action example, with its
        // garbled Koala/Tulips names replaced by well-formed ones).
        let jellyfish = "cGljcy9KZWxseWZpc2guanBnP3gtb3NzLXByb2Nlc3M9aW1hZ2UvcmVzaXplLFBfMjA";
        let koala = base64_of("pics/Koala.jpg?x-oss-process=image/resize,P_20");
        let tulips = base64_of("pics/Tulips.jpg?x-oss-process=image/resize,P_20");
        let many = format!("image/watermark,image_{jellyfish},g_nw,x_10,y_10/watermark,image_{koala},g_se,x_10,y_10/watermark,image_{koala},g_se,x_100,y_100/watermark,image_{tulips},g_west,x_10,y_10/watermark,image_{koala},g_se,x_100,y_100/watermark,image_{tulips},g_west,x_100,y_100/watermark,text_b3Nz5paH5a2X5rC05Y2wMQ,size_20,x_10,y_200/watermark,text_b3Nz5paH5a2X5rC05Y2wMg,color_0000b7,size_20,g_sw,x_100,y_100/watermark,text_b3Nz5paH5a2X5rC05Y2wMw,color_b3b324,size_20,g_ne,x_10,y_10/watermark,text_b3Nz5paH5a2X5rC05Y2wNA,color_b3b324,size_20,g_east,x_10,y_10");
        let all = marks(&many);
        assert_eq!(all.len(), 10);
        assert_eq!(
            parse_process(&many, &NoStyles)
                .unwrap()
                .pipeline
                .asset_references(),
            ["pics/Jellyfish.jpg", "pics/Koala.jpg", "pics/Tulips.jpg"]
        );
        assert_eq!(all[6].text().unwrap().text, "oss文字水印1");
        // g_west: y means nothing there; g_east: likewise.
        assert_eq!((all[3].dx, all[3].dy), (10, 0));
        assert_eq!(
            (all[9].gravity, all[9].dx, all[9].dy),
            (Gravity::East, 10, 0)
        );
    }

    fn one(text: &str) -> Watermark {
        let mut all = marks(text);
        assert_eq!(all.len(), 1, "{text}");
        all.remove(0)
    }

    fn base64_of(text: &str) -> String {
        crate::parse::lex::encode_base64(text)
    }

    #[test]
    fn defaults_padding_and_normalisation() {
        // Padding present or absent, same mark; defaults t 100, se, 10/10, 40 px black.
        let padded = marks("image/watermark,text_SGk=,type_ZmFuZ3poZW5na2FpdGk=");
        let bare = marks("image/watermark,text_SGk,type_ZmFuZ3poZW5na2FpdGk");
        assert_eq!(padded, bare);
        let mark = &bare[0];
        assert_eq!(
            (mark.opacity, mark.gravity, mark.dx, mark.dy, mark.voffset),
            (100, Gravity::SouthEast, 10, 10, 0)
        );
        assert_eq!(mark.text().unwrap().font, FontFamily::FangzhengKaiti);
        assert_eq!(mark.text().unwrap().size, 40);
        // x means nothing for north, y nothing for west/center/east, voffset only there.
        let north = &marks("image/watermark,text_SGk,g_north,x_50,y_20,voffset_30")[0];
        assert_eq!((north.dx, north.dy, north.voffset), (0, 20, 0));
        let center = &marks("image/watermark,text_SGk,g_center,x_50,y_20,voffset_-30")[0];
        assert_eq!((center.dx, center.dy, center.voffset), (0, 0, -30));
        // Mixed parameters on a text-only mark are ignored; rotate 360 is upright.
        let text_only = &marks("image/watermark,text_SGk,order_1,align_2,interval_5,rotate_360")[0];
        assert_eq!(text_only, &marks("image/watermark,text_SGk")[0]);
    }

    #[test]
    fn errors_name_the_parameter() {
        let sixty_five = base64_of(&"a".repeat(65));
        let four_images: String = (1..=4)
            .map(|n| format!("/watermark,image_{}", base64_of(&format!("{n}.png"))))
            .collect();
        let table: Vec<(String, ErrorCode, &str)> = vec![
            ("image/watermark,t_90".into(), ErrorCode::MissingArgument, "watermark: image (a watermark picture) or text is required"),
            ("image/watermark,text_SGk,t_101".into(), ErrorCode::InvalidArgument, "watermark: t_101 is out of range 0-100"),
            ("image/watermark,text_SGk,g_top".into(), ErrorCode::InvalidArgument, "watermark: g_top is not one of nw, north, ne, west, center, east, sw, south, se"),
            ("image/watermark,text_SGk,x_4097".into(), ErrorCode::InvalidArgument, "watermark: x_4097 is out of range 0-4096"),
            ("image/watermark,text_SGk,voffset_1001".into(), ErrorCode::InvalidArgument, "watermark: voffset_1001 is not a whole number in -1000-1000"),
            ("image/watermark,text_SGk,size_0".into(), ErrorCode::InvalidArgument, "watermark: size_0 is out of range 1-1000"),
            ("image/watermark,text_SGk,size_1001".into(), ErrorCode::InvalidArgument, "watermark: size_1001 is out of range 1-1000"),
            ("image/watermark,text_SGk,shadow_0".into(), ErrorCode::InvalidArgument, "watermark: shadow_0 is out of range 1-100"),
            ("image/watermark,text_SGk,rotate_361".into(), ErrorCode::InvalidArgument, "watermark: rotate_361 is out of range 0-360"),
            ("image/watermark,text_SGk,fill_2".into(), ErrorCode::InvalidArgument, "watermark: fill_2 is out of range 0-1"),
            ("image/watermark,text_SGk,color_FFFF".into(), ErrorCode::InvalidArgument, "watermark: color_FFFF is not a RRGGBB hex colour"),
            ("image/watermark,text_SGk,type_QXJpYWw".into(), ErrorCode::InvalidArgument, "watermark: type 'Arial' is not one of wqy-zenhei, wqy-microhei, fangzhengshusong, fangzhengkaiti, fangzhengheiti, fangzhengfangsong, droidsansfallback"),
            ("image/watermark,text_!!".into(), ErrorCode::BadRequest, "watermark: text '!!' is not URL-safe base64 (Invalid symbol 33, offset 0.)"),
            (format!("image/watermark,text_{sixty_five}"), ErrorCode::InvalidArgument, "watermark: text is 65 bytes of UTF-8, more than 64"),
            ("image/watermark,text_SGk,interval_1001".into(), ErrorCode::InvalidArgument, "watermark: interval_1001 is out of range 0-1000"),
            ("image/watermark,text_SGk,pre_YQ".into(), ErrorCode::InvalidArgument, "watermark: unknown parameter pre_YQ"),
            (format!("image/watermark,image_{}", base64_of("a.png?x-oss-process=image/resize,P_0")), ErrorCode::InvalidArgument, "watermark: image resize P_0 is out of range 1-100"),
            (format!("image/watermark,image_{}", base64_of("a.png?x-oss-process=image/resize,P_10,w_5")), ErrorCode::InvalidArgument, "watermark: the image's resize with P takes no other parameter, found 'resize,P_10,w_5'"),
            (format!("image/watermark,image_{}", base64_of("a.png?x-oss-process=image/format,png")), ErrorCode::InvalidArgument, "watermark: the image's own process may only resize, crop and rotate, found 'format,png'"),
            (format!("image/watermark,image_{}", base64_of("a.png?x-oss-process=style/x")), ErrorCode::InvalidArgument, "watermark: the image's own process must start with image/, found 'style/x'"),
            (format!("image/resize,w_10{four_images}"), ErrorCode::InvalidArgument, "watermark: at most 3 different watermark images in one process"),
        ];
        for (text, code, message) in table {
            let error = parse_process(&text, &NoStyles).unwrap_err();
            assert_eq!(
                (error.code, error.message.as_str()),
                (code, message),
                "{text}"
            );
        }
        // The fourth distinct picture is the failing step.
        let error =
            parse_process(&format!("image/resize,w_10{four_images}"), &NoStyles).unwrap_err();
        assert_eq!(error.step, Some(4));
    }
}
