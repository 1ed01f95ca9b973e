//! The three stages of the cascade: proposals over an image pyramid, then two refinements
//! of square windows, the last giving the five landmarks.

use super::boxes::{suppress, Candidate, Overlap};
use super::networks::{Proposal, Refiner};
use super::picture::Picture;
use crate::error::PipelineError;
use crate::resources::Deadline;

/// Scores a candidate must reach in each stage (the reference settings).
const THRESHOLDS: [f32; 3] = [0.6, 0.7, 0.7];
/// Each pyramid level's size over the previous one's.
const SCALE_FACTOR: f32 = 0.709;
/// The smallest face looked for, in working-picture pixels.
const MIN_FACE: f32 = 20.0;
/// The proposal network's window and stride, in pixels of its level.
const CELL: f32 = 12.0;
const STRIDE: f32 = 2.0;

/// A face found: its box, score and landmarks (left eye, right eye, nose, mouth left,
/// mouth right) in working-picture pixels.
#[derive(Debug, Clone, PartialEq)]
pub struct Found {
    pub candidate: Candidate,
    pub landmarks: [(f32, f32); 5],
}

/// The scales of the pyramid: from the one that makes a `MIN_FACE` face one cell wide,
/// shrinking until the shorter side is under a cell.
pub fn pyramid_scales(width: usize, height: usize) -> Vec<f32> {
    let first = CELL / MIN_FACE;
    let mut shorter = width.min(height) as f32 * first;
    let mut scale = first;
    let mut scales = Vec::new();
    while shorter >= CELL {
        scales.push(scale);
        scale *= SCALE_FACTOR;
        shorter *= SCALE_FACTOR;
    }
    scales
}

/// Stage 1: the proposal network over every pyramid level; the candidates merged, moved by
/// their offsets and squared.
pub fn propose(
    network: &Proposal,
    picture: &Picture,
    deadline: &Deadline,
) -> Result<Vec<Candidate>, PipelineError> {
    let mut all = Vec::new();
    for scale in pyramid_scales(picture.width, picture.height) {
        deadline.check(|| "during imm/detectface (proposals)".to_string())?;
        let width = (picture.width as f32 * scale).ceil() as usize;
        let height = (picture.height as f32 * scale).ceil() as usize;
        let level = picture.resized(width, height);
        let outputs = network.run(&level)?;
        let cells = level_candidates(outputs.with_width(2)?, outputs.with_width(4)?, scale);
        all.extend(suppress(cells, 0.5, Overlap::Union, |c| c));
    }
    Ok(suppress(all, 0.7, Overlap::Union, |c| c)
        .into_iter()
        .map(|candidate| candidate.regressed(false).squared().truncated())
        .collect())
}

/// The cells of one level's grid that score at least the first threshold, as boxes in
/// working-picture pixels. Both outputs are `[1, columns, rows, k]`.
fn level_candidates(
    scores: &super::networks::Output,
    offsets: &super::networks::Output,
    scale: f32,
) -> Vec<Candidate> {
    let rows = scores.shape.get(2).copied().unwrap_or(0);
    let mut candidates = Vec::new();
    for (cell, pair) in scores.values.chunks_exact(2).enumerate() {
        let score = pair.get(1).copied().unwrap_or(0.0);
        if score < THRESHOLDS[0] || rows == 0 {
            continue;
        }
        let (column, row) = ((cell / rows) as f32, (cell % rows) as f32);
        let mut edges = [0.0; 4];
        if let Some(values) = offsets.values.get(cell * 4..cell * 4 + 4) {
            edges.copy_from_slice(values);
        }
        candidates.push(Candidate {
            x1: ((STRIDE * column + 1.0) / scale).trunc(),
            y1: ((STRIDE * row + 1.0) / scale).trunc(),
            x2: ((STRIDE * column + CELL) / scale).trunc(),
            y2: ((STRIDE * row + CELL) / scale).trunc(),
            score,
            offsets: edges,
        });
    }
    candidates
}

/// The square window of `candidate` (its box starts one pixel before `x1`, as the
/// reference's one-based crop does), resampled to the network's side.
fn window_of(picture: &Picture, candidate: &Candidate, side: usize) -> Option<Picture> {
    let width = (candidate.x2 - candidate.x1 + 1.0) as i64;
    let height = (candidate.y2 - candidate.y1 + 1.0) as i64;
    if width <= 0 || height <= 0 {
        return None;
    }
    let (left, top) = (candidate.x1 as i64 - 1, candidate.y1 as i64 - 1);
    let window = picture.window(left, top, width as usize, height as usize);
    Some(window.resized(side, side))
}

/// Stage 2: each candidate's window through the refining network; the passing ones
/// merged, moved and squared.
pub fn refine(
    network: &Refiner,
    picture: &Picture,
    candidates: Vec<Candidate>,
    deadline: &Deadline,
) -> Result<Vec<Candidate>, PipelineError> {
    let mut passed = Vec::new();
    for candidate in candidates {
        deadline.check(|| "during imm/detectface (refinement)".to_string())?;
        let Some(window) = window_of(picture, &candidate, network.side) else {
            continue;
        };
        let outputs = network.run(&window)?;
        let score = outputs.with_width(2)?.values.get(1).copied().unwrap_or(0.0);
        if score > THRESHOLDS[1] {
            passed.push(Candidate {
                score,
                offsets: first_four(&outputs.with_width(4)?.values),
                ..candidate
            });
        }
    }
    Ok(suppress(passed, 0.7, Overlap::Union, |c| c)
        .into_iter()
        .map(|candidate| candidate.regressed(true).squared())
        .collect())
}

/// Stage 3: each window through the output network, with the landmarks; the passing faces
/// moved, then merged with the smaller box counting.
pub fn finish(
    network: &Refiner,
    picture: &Picture,
    candidates: Vec<Candidate>,
    deadline: &Deadline,
) -> Result<Vec<Found>, PipelineError> {
    let mut found = Vec::new();
    for candidate in candidates.into_iter().map(Candidate::truncated) {
        deadline.check(|| "during imm/detectface (landmarks)".to_string())?;
        let Some(window) = window_of(picture, &candidate, network.side) else {
            continue;
        };
        let outputs = network.run(&window)?;
        let score = outputs.with_width(2)?.values.get(1).copied().unwrap_or(0.0);
        if score <= THRESHOLDS[2] {
            continue;
        }
        let candidate = Candidate {
            score,
            offsets: first_four(&outputs.with_width(4)?.values),
            ..candidate
        };
        found.push(Found {
            landmarks: landmarks(&candidate, &outputs.with_width(10)?.values),
            candidate: candidate.regressed(true),
        });
    }
    Ok(suppress(found, 0.7, Overlap::Min, |found| &found.candidate))
}

fn first_four(values: &[f32]) -> [f32; 4] {
    let mut four = [0.0; 4];
    for (slot, value) in four.iter_mut().zip(values) {
        *slot = *value;
    }
    four
}

/// The five points of the network's output (five x, then five y, as fractions of the box)
/// in working-picture pixels.
fn landmarks(candidate: &Candidate, values: &[f32]) -> [(f32, f32); 5] {
    let width = candidate.x2 - candidate.x1 + 1.0;
    let height = candidate.y2 - candidate.y1 + 1.0;
    std::array::from_fn(|point| {
        let x = values.get(point).copied().unwrap_or(0.0);
        let y = values.get(point + 5).copied().unwrap_or(0.0);
        (
            width * x + candidate.x1 - 1.0,
            height * y + candidate.y1 - 1.0,
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pyramid_starts_at_the_smallest_face_and_ends_above_a_cell() {
        let scales = pyramid_scales(100, 60);
        assert!((scales[0] - 0.6).abs() < 1e-6);
        let last = scales.last().copied().unwrap_or(0.0);
        assert!(60.0 * last >= 12.0 && 60.0 * last * SCALE_FACTOR < 12.0);
        assert!(pyramid_scales(19, 100).is_empty());
    }
}
