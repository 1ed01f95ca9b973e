//! Face gravity, Ferrotype's extension: crops (`g_face`, Qiniu `gravity/Face`) and fill
//! resizes (`resize,m_fill,...,g_face`) keep the faces instead of the centre. The region
//! keeps the size the step planned; only where it sits changes, so every later step's plan
//! holds. A picture without faces falls back to the centre.

use super::FaceDetection;
use crate::codec::Raster;
use crate::error::PipelineError;
use crate::resources::Deadline;

/// The centre of the box around every face in `raster`, `None` when it has none.
pub fn faces_centre(
    raster: &Raster,
    faces: &dyn FaceDetection,
    deadline: &Deadline,
) -> Result<Option<(f64, f64)>, PipelineError> {
    let found = faces.detect(raster, deadline)?;
    let mut around: Option<[f64; 4]> = None;
    for face in &found {
        let (left, top) = (f64::from(face.left), f64::from(face.top));
        let right = left + f64::from(face.width);
        let bottom = top + f64::from(face.height);
        around = Some(match around {
            None => [left, top, right, bottom],
            Some([l, t, r, b]) => [l.min(left), t.min(top), r.max(right), b.max(bottom)],
        });
    }
    Ok(around.map(|[left, top, right, bottom]| ((left + right) / 2.0, (top + bottom) / 2.0)))
}

/// The start of a `length` span of `0..outer` whose middle is as near `middle` as the span
/// allows while it stays inside.
pub fn span_around(middle: f64, length: u32, outer: u32) -> u32 {
    let free = f64::from(outer.saturating_sub(length));
    let start = (middle - f64::from(length) / 2.0).round();
    start.clamp(0.0, free) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_span_centres_on_the_point_and_stays_inside() {
        assert_eq!(span_around(100.0, 50, 400), 75);
        assert_eq!(span_around(10.0, 50, 400), 0);
        assert_eq!(span_around(390.0, 50, 400), 350);
        assert_eq!(span_around(200.0, 400, 400), 0);
        assert_eq!(span_around(200.0, 500, 400), 0);
    }
}
