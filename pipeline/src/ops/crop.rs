//! `crop` (Qiniu `imageMogr2/crop`, and the model for OSS `crop`): cut a region out.
//!
//! A [`Crop`] names the region's size (a side left out is the whole side) and where it sits:
//! the box is placed at its [`Gravity`] anchor in the image, moved by `dx` to the right and
//! `dy` down (negative values move left and up), and then clipped to the image. Clipping is
//! what gives Qiniu's documented results: on a 640x427 image `!300x300a30-100` (box at
//! x=30, y=-100) keeps 300x200 and `!300x300-30a100` keeps 270x300.
//!
//! A region that misses the image entirely is `InvalidArgument`.
//!
//! # OSS `crop` ([`OssCrop`], document 2.4.2)
//!
//! `crop,w_<w>,h_<h>,x_<x>,y_<y>,g_<gravity>` uses the same engine with the OSS rules:
//! * `w`/`h` default to the image's width/height ("默认为最大值"); `w_0`/`h_0` (the bottom of
//!   the documented range `[0, 图片宽度]`) are taken as that default too, since an empty cut
//!   has no image.
//! * `g` places the origin on the nine-point grid (`nw` default), computed as the current
//!   vendor page tabulates it: `nw` (0, 0), `north` (srcW/2 - w/2, 0), `ne` (srcW - w, 0), ...,
//!   `se` (srcW - w, srcH - h), halves rounded down term by term. `x`/`y` (non-negative) then
//!   move the start right and down from that origin: the document's `x_10,y_10,w_200,h_200,g_se`
//!   is the bottom-right 200x200 "再往下10x10", which the clipping leaves at 190x190.
//! * A start at or past the image's right or bottom edge is `BadRequest` with the vendor's
//!   message "Advance cut's position is out of image.".
//! * A size running past the edge is cut at the edge ("将会直接裁剪到原图结尾").
//!
//! `g_face` (Qiniu `gravity/Face`), Ferrotype's extension: the region is planned as `center`
//! places it, then, on the pixels, moved so that the box around the faces (moved by the
//! offsets) is at its centre, kept inside the picture; no faces, it stays centred.

use super::faces::focus;
use super::gravity::Gravity;
use super::{Applied, Operation, Planned, Region, StepContext, StepPlan};
use crate::codec::Raster;
use crate::error::{ErrorCode, PipelineError};
use crate::parse::lex::Params;
use std::fmt;

/// The action's name in the canonical form, for both crops.
pub(crate) const ACTION: &str = "crop";

/// The arguments of a crop step.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Crop {
    /// Width of the region; `None` is the image's width.
    pub width: Option<u32>,
    /// Height of the region; `None` is the image's height.
    pub height: Option<u32>,
    /// Where the region is anchored before the offsets apply.
    pub gravity: Gravity,
    /// Pixels to the right of the anchored position (negative: to the left).
    pub dx: i64,
    /// Pixels below the anchored position (negative: above).
    pub dy: i64,
}

/// Plans the crop on an input of `input` size: the region of the input that is kept.
pub fn plan(crop: &Crop, input: (u32, u32)) -> Result<Region, PipelineError> {
    let size = (
        crop.width.unwrap_or(input.0),
        crop.height.unwrap_or(input.1),
    );
    let (x, y) = crop.gravity.origin(input, size);
    let (left, top) = (x.saturating_add(crop.dx), y.saturating_add(crop.dy));
    let right = left
        .saturating_add(i64::from(size.0))
        .min(i64::from(input.0));
    let bottom = top
        .saturating_add(i64::from(size.1))
        .min(i64::from(input.1));
    let (left, top) = (left.max(0), top.max(0));
    if right <= left || bottom <= top {
        return Err(PipelineError::invalid_argument(format!(
            "crop: the region {}x{} at ({}, {}) lies outside the {}x{} image",
            size.0,
            size.1,
            x.saturating_add(crop.dx),
            y.saturating_add(crop.dy),
            input.0,
            input.1
        )));
    }
    // All four values are now within 0..=u32::MAX because they are within the input.
    let to_u32 = |value: i64| u32::try_from(value).unwrap_or(u32::MAX);
    Ok(Region {
        x: to_u32(left),
        y: to_u32(top),
        width: to_u32(right - left),
        height: to_u32(bottom - top),
    })
}

/// Copies the planned region out of `raster`.
pub fn apply(raster: &Raster, region: &Region) -> Result<Raster, PipelineError> {
    region.extract(raster)
}

/// The planned region moved so that the faces of `raster`, moved by `offset`, are at its
/// centre, inside the picture; as planned (centred) when there are no faces.
fn around_faces(
    raster: &Raster,
    plan: &StepPlan,
    offset: (i64, i64),
    context: &StepContext<'_>,
) -> Applied {
    let StepPlan::Crop(planned) = plan else {
        return super::apply_region(ACTION, raster, plan);
    };
    let Some((x, y)) = focus::faces_centre(raster, context.faces, &context.deadline)? else {
        return planned.extract(raster);
    };
    let region = Region {
        x: focus::span_around(x + offset.0 as f64, planned.width, raster.width()),
        y: focus::span_around(y + offset.1 as f64, planned.height, raster.height()),
        ..*planned
    };
    region.extract(raster)
}

/// The canonical form's `g_` of either crop, north-west when absent.
fn take_gravity(args: &mut Params<'_>) -> Result<Gravity, PipelineError> {
    match args.take("g") {
        None => Ok(Gravity::NorthWest),
        Some(name) => Gravity::from_crop_name(name).ok_or_else(|| {
            PipelineError::invalid_argument(format!("crop: g_{name} is not a gravity"))
        }),
    }
}

impl Crop {
    /// Reads the canonical form's arguments (`w_`, `h_`, `g_`, `dx_`, `dy_`).
    pub(crate) fn from_canonical(arguments: &[&str]) -> Result<Crop, PipelineError> {
        let mut args = Params::key_first(ACTION, arguments)?;
        let crop = Crop {
            width: args.take_parsed("w")?,
            height: args.take_parsed("h")?,
            gravity: take_gravity(&mut args)?,
            dx: args.take_parsed("dx")?.unwrap_or(0),
            dy: args.take_parsed("dy")?.unwrap_or(0),
        };
        args.finish()?;
        Ok(crop)
    }
}

impl Operation for Crop {
    fn action(&self) -> &'static str {
        ACTION
    }

    fn plan(&self, input: (u32, u32), _context: &StepContext<'_>) -> Planned {
        plan(self, input).map(StepPlan::Crop)
    }

    fn apply(&self, raster: Raster, plan: &StepPlan, context: &StepContext<'_>) -> Applied {
        match self.gravity {
            Gravity::Face => around_faces(&raster, plan, (self.dx, self.dy), context),
            _ => super::apply_region(ACTION, &raster, plan),
        }
    }
}

/// Canonical rendering: `crop` then `w_`, `h_`, `g_`, `dx_`, `dy_`, each only when not at its
/// default.
impl fmt::Display for Crop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(ACTION)?;
        if let Some(width) = self.width {
            write!(f, ",w_{width}")?;
        }
        if let Some(height) = self.height {
            write!(f, ",h_{height}")?;
        }
        if self.gravity != Gravity::NorthWest {
            write!(f, ",g_{}", self.gravity)?;
        }
        if self.dx != 0 {
            write!(f, ",dx_{}", self.dx)?;
        }
        if self.dy != 0 {
            write!(f, ",dy_{}", self.dy)?;
        }
        Ok(())
    }
}

/// The OSS `crop` step's arguments (see the module documentation for the rules).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OssCrop {
    /// Width of the cut; `None` is the image's width.
    pub width: Option<u32>,
    /// Height of the cut; `None` is the image's height.
    pub height: Option<u32>,
    /// Pixels to the right of the gravity origin where the cut starts.
    pub x: u32,
    /// Pixels below the gravity origin where the cut starts.
    pub y: u32,
    /// The origin on the nine-point grid.
    pub gravity: Gravity,
}

/// The vendor's message for a start outside the image (OSS document 2.4.2).
pub const OUT_OF_IMAGE: &str = "Advance cut's position is out of image.";

/// Plans an OSS crop on an input of `input` size: the region of the input that is kept.
pub fn plan_oss(crop: &OssCrop, input: (u32, u32)) -> Result<Region, PipelineError> {
    let size = (
        crop.width.unwrap_or(input.0),
        crop.height.unwrap_or(input.1),
    );
    let (origin_x, origin_y) = oss_origin(crop.gravity, input, size);
    let start = (
        origin_x.saturating_add(i64::from(crop.x)),
        origin_y.saturating_add(i64::from(crop.y)),
    );
    let out_of_image = || {
        PipelineError::new(
            ErrorCode::BadRequest,
            format!(
                "{OUT_OF_IMAGE} (crop: x_{},y_{} from g_{} starts at ({}, {}), outside the {}x{} \
                 image)",
                crop.x, crop.y, crop.gravity, start.0, start.1, input.0, input.1
            ),
        )
    };
    if start.0 >= i64::from(input.0) || start.1 >= i64::from(input.1) {
        return Err(out_of_image());
    }
    // From here on the semantics are the Qiniu crop's: a box placed at the start, clipped.
    let placed = Crop {
        width: Some(size.0),
        height: Some(size.1),
        gravity: Gravity::NorthWest,
        dx: start.0,
        dy: start.1,
    };
    plan(&placed, input).map_err(|_| out_of_image())
}

/// The origin of a `size` cut at `gravity` in an `input` image, by the vendor's table
/// (`srcW/2 - w/2` for the middle column, each half rounded down). Negative when the cut is
/// larger than the image.
fn oss_origin(gravity: Gravity, input: (u32, u32), size: (u32, u32)) -> (i64, i64) {
    let middle = |outer: u32, inner: u32| i64::from(outer / 2) - i64::from(inner / 2);
    let far = |outer: u32, inner: u32| i64::from(outer) - i64::from(inner);
    let x = match gravity {
        Gravity::NorthWest | Gravity::West | Gravity::SouthWest => 0,
        Gravity::North | Gravity::Center | Gravity::South | Gravity::Face => {
            middle(input.0, size.0)
        }
        Gravity::NorthEast | Gravity::East | Gravity::SouthEast => far(input.0, size.0),
    };
    let y = match gravity {
        Gravity::NorthWest | Gravity::North | Gravity::NorthEast => 0,
        Gravity::West | Gravity::Center | Gravity::East | Gravity::Face => middle(input.1, size.1),
        Gravity::SouthWest | Gravity::South | Gravity::SouthEast => far(input.1, size.1),
    };
    (x, y)
}

impl OssCrop {
    /// Reads the canonical form's arguments (`x_`, `y_`, `w_`, `h_`, `g_`).
    pub(crate) fn from_canonical(arguments: &[&str]) -> Result<OssCrop, PipelineError> {
        let mut args = Params::key_first(ACTION, arguments)?;
        let crop = OssCrop {
            x: args.take_parsed("x")?.unwrap_or(0),
            y: args.take_parsed("y")?.unwrap_or(0),
            width: args.take_parsed("w")?,
            height: args.take_parsed("h")?,
            gravity: take_gravity(&mut args)?,
        };
        args.finish()?;
        Ok(crop)
    }

    /// Whether canonical `crop` arguments are the OSS crop's: it always writes `x_` and `y_`,
    /// the Qiniu crop never does.
    pub(crate) fn is_canonical(arguments: &[&str]) -> bool {
        arguments
            .iter()
            .any(|argument| argument.starts_with("x_") || argument.starts_with("y_"))
    }
}

impl Operation for OssCrop {
    fn action(&self) -> &'static str {
        ACTION
    }

    fn plan(&self, input: (u32, u32), _context: &StepContext<'_>) -> Planned {
        plan_oss(self, input).map(StepPlan::Crop)
    }

    fn apply(&self, raster: Raster, plan: &StepPlan, context: &StepContext<'_>) -> Applied {
        match self.gravity {
            Gravity::Face => {
                let offset = (i64::from(self.x), i64::from(self.y));
                around_faces(&raster, plan, offset, context)
            }
            _ => super::apply_region(ACTION, &raster, plan),
        }
    }
}

/// Canonical rendering: `crop,x_<x>,y_<y>` (always, which tells it from the Qiniu crop), then
/// `w_`, `h_`, `g_` when not at their defaults. This is OSS syntax.
impl fmt::Display for OssCrop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "crop,x_{},y_{}", self.x, self.y)?;
        if let Some(width) = self.width {
            write!(f, ",w_{width}")?;
        }
        if let Some(height) = self.height {
            write!(f, ",h_{height}")?;
        }
        if self.gravity != Gravity::NorthWest {
            write!(f, ",g_{}", self.gravity)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clipping_to_the_image() {
        let crop = Crop {
            width: Some(300),
            height: Some(300),
            dx: 500,
            ..Crop::default()
        };
        let region = plan(&crop, (640, 427)).unwrap();
        assert_eq!(
            (region.x, region.y, region.width, region.height),
            (500, 0, 140, 300)
        );
        let outside = Crop {
            dx: 640,
            ..Crop::default()
        };
        assert_eq!(
            plan(&outside, (640, 427)).unwrap_err().code,
            ErrorCode::InvalidArgument
        );
    }

    fn oss_crop(spec: &str) -> OssCrop {
        let command =
            crate::parse::oss::parse_process(&format!("image/{spec}"), &crate::parse::NoStyles)
                .unwrap_or_else(|error| panic!("{spec}: {error}"));
        match command.pipeline.steps.as_slice() {
            [crate::ast::Step::OssCrop(crop)] => crop.clone(),
            other => panic!("{spec}: expected one OSS crop, got {other:?}"),
        }
    }

    #[test]
    fn oss_document_examples_and_the_nine_origins_on_the_640x427_gopher() {
        let table = [
            // Document: from (100, 50) to the end of the image.
            ("crop,x_100,y_50", (100, 50, 540, 377)),
            // Document: from (100, 50), 100x100.
            ("crop,x_100,y_50,w_100,h_100", (100, 50, 100, 100)),
            // Document: the bottom-right 200x200.
            ("crop,x_0,y_0,w_200,h_200,g_se", (440, 227, 200, 200)),
            // Document: the same moved 10 down and right, cut at the edge.
            ("crop,x_10,y_10,w_200,h_200,g_se", (450, 237, 190, 190)),
            // The nine origins of the vendor's table.
            ("crop,w_300,h_300", (0, 0, 300, 300)),
            ("crop,w_300,h_300,g_north", (170, 0, 300, 300)),
            ("crop,w_300,h_300,g_ne", (340, 0, 300, 300)),
            ("crop,w_300,h_300,g_west", (0, 63, 300, 300)),
            ("crop,w_300,h_300,g_center", (170, 63, 300, 300)),
            ("crop,w_300,h_300,g_east", (340, 63, 300, 300)),
            ("crop,w_300,h_300,g_sw", (0, 127, 300, 300)),
            ("crop,w_300,h_300,g_south", (170, 127, 300, 300)),
            ("crop,w_300,h_300,g_se", (340, 127, 300, 300)),
            // srcW/2 - w/2, halves rounded down term by term: 320 - 150.
            ("crop,w_301,h_301,g_center", (170, 63, 301, 301)),
            // Sizes past the edge are cut there; 0 is the whole side.
            ("crop,x_639", (639, 0, 1, 427)),
            ("crop,w_0,h_0", (0, 0, 640, 427)),
            ("crop,w_1000,h_1000,g_center", (0, 0, 640, 427)),
            ("crop,x_200,w_1000,g_ne", (0, 0, 640, 427)),
            ("crop,x_10,g_se", (10, 0, 630, 427)),
        ];
        for (spec, (x, y, width, height)) in table {
            let region = plan_oss(&oss_crop(spec), (640, 427))
                .unwrap_or_else(|error| panic!("{spec}: {error}"));
            assert_eq!(
                region,
                Region {
                    x,
                    y,
                    width,
                    height
                },
                "{spec}"
            );
        }
    }

    #[test]
    fn an_oss_start_outside_the_image_is_a_bad_request() {
        for spec in [
            "crop,x_640",
            "crop,y_427",
            "crop,x_700,y_500,w_10,h_10",
            "crop,x_100,w_100,g_se",
            "crop,y_214,h_1,g_west",
        ] {
            let error = plan_oss(&oss_crop(spec), (640, 427)).unwrap_err();
            assert_eq!(error.code, ErrorCode::BadRequest, "{spec}");
            assert!(error.message.starts_with(OUT_OF_IMAGE), "{spec}: {error}");
        }
    }

    #[test]
    fn oss_crop_origins_end_to_end_keep_the_source_pixels() {
        use crate::ops::test_support::run_oss;
        // A lossless source, so that pixels compare exactly.
        let (_, source) = run_oss("image/format,png", "small-400x300.png");
        let table = [
            ("g_nw", (0, 0)),
            ("g_north", (150, 0)),
            ("g_ne", (300, 0)),
            ("g_west", (0, 100)),
            ("g_center", (150, 100)),
            ("g_east", (300, 100)),
            ("g_sw", (0, 200)),
            ("g_south", (150, 200)),
            ("g_se", (300, 200)),
        ];
        for (gravity, origin) in table {
            let spec = format!("image/crop,w_100,h_100,{gravity}");
            let (_, decoded) = run_oss(&spec, "small-400x300.png");
            assert_eq!(decoded.raster.dimensions(), (100, 100), "{spec}");
            assert_eq!(
                decoded.raster.pixel(0, 0),
                source.raster.pixel(origin.0, origin.1),
                "{spec}"
            );
            assert_eq!(
                decoded.raster.pixel(99, 99),
                source.raster.pixel(origin.0 + 99, origin.1 + 99),
                "{spec}"
            );
        }
        // x/y move the start from the origin; the part past the edge is cut off.
        let (_, decoded) = run_oss("image/crop,x_10,y_10,w_100,h_100,g_se", "small-400x300.png");
        assert_eq!(decoded.raster.dimensions(), (90, 90));
        assert_eq!(decoded.raster.pixel(0, 0), source.raster.pixel(310, 210));
    }

    #[test]
    fn an_oss_start_outside_the_image_fails_the_run_with_the_vendor_message() {
        use crate::ops::test_support::fixture;
        let pipeline =
            crate::parse::oss::parse_process("image/crop,x_400", &crate::parse::NoStyles)
                .unwrap()
                .pipeline;
        let limits = crate::limits::Limits::default();
        let error = crate::exec::run_one(
            &pipeline,
            &fixture("small-400x300.png"),
            &crate::Resources::new(&limits),
        )
        .unwrap_err();
        assert_eq!(error.code, ErrorCode::BadRequest);
        assert!(error
            .message
            .starts_with("Advance cut's position is out of image."));
    }
}
