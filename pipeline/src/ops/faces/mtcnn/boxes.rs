//! The candidate boxes of the three stages and what is done to them between stages:
//! non-maximum suppression, the networks' regression, squaring.
//!
//! Coordinates follow the reference MTCNN's conventions, which the published weights were
//! trained with: a box is `x1..=x2` (its width counts both ends, `x2 - x1 + 1`), except in the
//! first stage's regression, which scales by `x2 - x1`.

/// A face candidate in working-image pixels, with its score and the offsets its network
/// proposed for its edges (as fractions of its size).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Candidate {
    pub x1: f32,
    pub y1: f32,
    pub x2: f32,
    pub y2: f32,
    pub score: f32,
    pub offsets: [f32; 4],
}

/// How two boxes' overlap is measured for suppression.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overlap {
    /// Intersection over union.
    Union,
    /// Intersection over the smaller box (the last stage: a box inside a bigger one goes).
    Min,
}

impl Candidate {
    fn area(&self) -> f32 {
        (self.x2 - self.x1 + 1.0) * (self.y2 - self.y1 + 1.0)
    }

    fn overlap(&self, other: &Candidate, measure: Overlap) -> f32 {
        let width = (self.x2.min(other.x2) - self.x1.max(other.x1) + 1.0).max(0.0);
        let height = (self.y2.min(other.y2) - self.y1.max(other.y1) + 1.0).max(0.0);
        let inter = width * height;
        let base = match measure {
            Overlap::Union => self.area() + other.area() - inter,
            Overlap::Min => self.area().min(other.area()),
        };
        if base > 0.0 {
            inter / base
        } else {
            0.0
        }
    }

    /// The box moved by its offsets; `inclusive` says whether its size counts both ends
    /// (every stage but the first).
    pub fn regressed(self, inclusive: bool) -> Candidate {
        let extra = if inclusive { 1.0 } else { 0.0 };
        let width = self.x2 - self.x1 + extra;
        let height = self.y2 - self.y1 + extra;
        let [dx1, dy1, dx2, dy2] = self.offsets;
        Candidate {
            x1: self.x1 + dx1 * width,
            y1: self.y1 + dy1 * height,
            x2: self.x2 + dx2 * width,
            y2: self.y2 + dy2 * height,
            ..self
        }
    }

    /// The square of the box's longer side around the box's centre.
    pub fn squared(self) -> Candidate {
        let width = self.x2 - self.x1;
        let height = self.y2 - self.y1;
        let side = width.max(height);
        let x1 = self.x1 + width * 0.5 - side * 0.5;
        let y1 = self.y1 + height * 0.5 - side * 0.5;
        Candidate {
            x1,
            y1,
            x2: x1 + side,
            y2: y1 + side,
            ..self
        }
    }

    /// The box with its edges truncated toward zero to whole pixels.
    pub fn truncated(self) -> Candidate {
        Candidate {
            x1: self.x1.trunc(),
            y1: self.y1.trunc(),
            x2: self.x2.trunc(),
            y2: self.y2.trunc(),
            ..self
        }
    }
}

/// The items whose boxes (`candidate` of each) survive suppression, best first: each kept
/// box removes the lower scored ones overlapping it by more than `threshold`.
pub fn suppress<T>(
    mut items: Vec<T>,
    threshold: f32,
    measure: Overlap,
    candidate: impl Fn(&T) -> &Candidate,
) -> Vec<T> {
    items.sort_by(|a, b| candidate(b).score.total_cmp(&candidate(a).score));
    let mut kept: Vec<T> = Vec::with_capacity(items.len());
    for item in items {
        let this = candidate(&item);
        if kept
            .iter()
            .all(|better| candidate(better).overlap(this, measure) <= threshold)
        {
            kept.push(item);
        }
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    fn square(x1: f32, y1: f32, side: f32, score: f32) -> Candidate {
        Candidate {
            x1,
            y1,
            x2: x1 + side - 1.0,
            y2: y1 + side - 1.0,
            score,
            offsets: [0.0; 4],
        }
    }

    #[test]
    fn suppression_keeps_the_best_of_overlapping_boxes_and_the_distant_ones() {
        let boxes = vec![
            square(0.0, 0.0, 10.0, 0.8),
            square(1.0, 1.0, 10.0, 0.9),
            square(50.0, 50.0, 10.0, 0.7),
        ];
        let kept = suppress(boxes, 0.5, Overlap::Union, |c| c);
        let scores: Vec<f32> = kept.iter().map(|c| c.score).collect();
        assert_eq!(scores, vec![0.9, 0.7]);
    }

    #[test]
    fn min_overlap_removes_a_box_inside_a_bigger_one() {
        let boxes = vec![square(0.0, 0.0, 40.0, 0.9), square(10.0, 10.0, 10.0, 0.8)];
        assert_eq!(suppress(boxes.clone(), 0.7, Overlap::Union, |c| c).len(), 2);
        assert_eq!(suppress(boxes, 0.7, Overlap::Min, |c| c).len(), 1);
    }

    #[test]
    fn regression_scales_offsets_by_the_box_size() {
        let mut candidate = square(10.0, 20.0, 11.0, 1.0);
        candidate.offsets = [0.1, -0.1, 0.2, 0.0];
        let first = candidate.regressed(false);
        let edges = [first.x1, first.y1, first.x2, first.y2];
        for (found, expected) in edges.iter().zip([11.0, 19.0, 22.0, 30.0]) {
            assert!((found - expected).abs() < 1e-4, "{edges:?}");
        }
        let later = candidate.regressed(true);
        assert!((later.x1 - 11.1).abs() < 1e-4 && (later.x2 - 22.2).abs() < 1e-4);
    }

    #[test]
    fn squaring_keeps_the_centre_and_takes_the_longer_side() {
        let wide = Candidate {
            x1: 0.0,
            y1: 10.0,
            x2: 20.0,
            y2: 20.0,
            score: 1.0,
            offsets: [0.0; 4],
        };
        let squared = wide.squared();
        assert_eq!(
            (squared.x1, squared.y1, squared.x2, squared.y2),
            (0.0, 5.0, 20.0, 25.0)
        );
        assert_eq!(squared.truncated(), squared);
    }
}
