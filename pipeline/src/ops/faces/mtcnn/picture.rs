//! The working picture of the detector and the resampling its stages need: whole-picture
//! shrinking for the pyramid and square windows for the refining stages, both by area
//! averaging (what the reference implementation uses for both, and what the weights expect:
//! a bilinear window was seen to turn a face-free patch into a face), and the networks'
//! input layout.

/// An RGB picture as floats in 0..=255, row after row, three values per pixel.
#[derive(Debug, Clone, PartialEq)]
pub struct Picture {
    pub width: usize,
    pub height: usize,
    pub data: Vec<f32>,
}

/// A picture as bytes: `channels` (3: RGB, 4: RGBA) per pixel, row after row.
pub struct Pixels<'a> {
    pub width: usize,
    pub height: usize,
    pub channels: usize,
    pub bytes: &'a [u8],
}

/// The input pixels one output pixel averages along one axis: from `start`, one weight each.
struct Taps {
    start: usize,
    weights: Vec<f32>,
}

/// For each of `target` pixels, the share of each of `source` pixels its span covers.
fn area_taps(source: usize, target: usize) -> Vec<Taps> {
    let scale = source as f64 / target.max(1) as f64;
    (0..target)
        .map(|index| {
            let begin = index as f64 * scale;
            let end = begin + scale;
            let start = (begin.floor() as usize).min(source.saturating_sub(1));
            let stop = (end.ceil() as usize).clamp(start + 1, source.max(start + 1));
            let weights = (start..stop)
                .map(|pixel| {
                    let covered = end.min(pixel as f64 + 1.0) - begin.max(pixel as f64);
                    (covered.max(0.0) / scale) as f32
                })
                .collect();
            Taps { start, weights }
        })
        .collect()
}

impl Picture {
    /// The picture of `bytes`, `channels` (3: RGB, 4: RGBA) per pixel, row after row;
    /// transparent pixels are seen over white.
    pub fn from_bytes(width: usize, height: usize, channels: usize, bytes: &[u8]) -> Picture {
        let data = bytes
            .chunks_exact(channels.max(1))
            .flat_map(|pixel| {
                let alpha = f32::from(pixel.get(3).copied().unwrap_or(255)) / 255.0;
                [0, 1, 2].map(|channel| {
                    let value = f32::from(pixel.get(channel).copied().unwrap_or(0));
                    value * alpha + 255.0 * (1.0 - alpha)
                })
            })
            .collect();
        Picture {
            width,
            height,
            data,
        }
    }

    /// A black picture.
    pub fn black(width: usize, height: usize) -> Picture {
        Picture {
            width,
            height,
            data: vec![0.0; width * height * 3],
        }
    }

    /// The picture of `source` resampled to `size` by area averaging, one source row at a
    /// time (only the narrowed rows are held as floats).
    pub fn shrunk_from(source: &Pixels<'_>, size: (usize, usize)) -> Picture {
        let across = area_taps(source.width, size.0);
        let mut narrow = Picture::black(size.0, source.height);
        let row_bytes = (source.width * source.channels).max(1);
        for (bytes, out) in
            (source.bytes.chunks_exact(row_bytes)).zip(narrow.data.chunks_exact_mut(size.0 * 3))
        {
            let row = Picture::from_bytes(source.width, 1, source.channels, bytes);
            narrow_row(&row.data, &across, out);
        }
        narrow.heightened(size.1)
    }

    /// The picture resampled to `width` x `height` by area averaging.
    pub fn resized(&self, width: usize, height: usize) -> Picture {
        let across = area_taps(self.width, width);
        let mut narrow = Picture::black(width, self.height);
        for (row, out) in self
            .data
            .chunks_exact(self.width * 3)
            .zip(narrow.data.chunks_exact_mut(width * 3))
        {
            narrow_row(row, &across, out);
        }
        narrow.heightened(height)
    }

    /// The picture resampled to `height` rows, its width kept.
    fn heightened(&self, height: usize) -> Picture {
        let (width, wide) = (self.width, self);
        let down = area_taps(self.height, height);
        let mut result = Picture::black(width, height);
        for (taps, out) in down.iter().zip(result.data.chunks_exact_mut(width * 3)) {
            for (column, pixel) in out.chunks_exact_mut(3).enumerate() {
                accumulate(pixel, taps, |index| {
                    let at = (index * width + column) * 3;
                    wide.data.get(at..at + 3)
                });
            }
        }
        result
    }

    /// The `width` x `height` part of the picture whose top left pixel is at (`left`, `top`),
    /// black where it lies outside.
    pub fn window(&self, left: i64, top: i64, width: usize, height: usize) -> Picture {
        let mut window = Picture::black(width, height);
        for (y, out) in window.data.chunks_exact_mut(width * 3).enumerate() {
            let Ok(source_y) = usize::try_from(top + y as i64) else {
                continue;
            };
            if source_y >= self.height {
                break;
            }
            let first = left.max(0);
            let last = (left + width as i64).min(self.width as i64);
            if first >= last {
                continue;
            }
            let (first, last) = (first as usize, last as usize);
            let from = (source_y * self.width + first) * 3;
            let to = (source_y * self.width + last) * 3;
            let into = (first as i64 - left) as usize * 3;
            if let (Some(source), Some(target)) = (
                self.data.get(from..to),
                out.get_mut(into..into + (to - from)),
            ) {
                target.copy_from_slice(source);
            }
        }
        window
    }

    /// The networks' input: normalised to about -1..1, laid out column after column
    /// (`[x][y][channel]`), the transposed layout the converted weights take.
    pub fn network_input(&self) -> Vec<f32> {
        let mut input = Vec::with_capacity(self.data.len());
        for x in 0..self.width {
            for y in 0..self.height {
                let at = (y * self.width + x) * 3;
                if let Some(pixel) = self.data.get(at..at + 3) {
                    input.extend(pixel.iter().map(|value| (value - 127.5) * 0.0078125));
                }
            }
        }
        input
    }
}

/// One row resampled across: `out` gets one pixel per entry of `across`.
fn narrow_row(row: &[f32], across: &[Taps], out: &mut [f32]) {
    for (taps, pixel) in across.iter().zip(out.chunks_exact_mut(3)) {
        accumulate(pixel, taps, |index| row.get(index * 3..index * 3 + 3));
    }
}

/// Adds the weighted input pixels of `taps` into `pixel`.
fn accumulate<'a>(pixel: &mut [f32], taps: &Taps, input: impl Fn(usize) -> Option<&'a [f32]>) {
    for (offset, weight) in taps.weights.iter().enumerate() {
        if let Some(source) = input(taps.start + offset) {
            for (out, value) in pixel.iter_mut().zip(source) {
                *out += value * weight;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ramp(width: usize, height: usize) -> Picture {
        let data = (0..width * height)
            .flat_map(|index| [index as f32; 3])
            .collect();
        Picture {
            width,
            height,
            data,
        }
    }

    #[test]
    fn halving_averages_each_two_by_two_block() {
        let picture = ramp(4, 2);
        let half = picture.resized(2, 1);
        assert_eq!(half.data, vec![2.5, 2.5, 2.5, 4.5, 4.5, 4.5]);
    }

    #[test]
    fn a_flat_picture_stays_flat_at_any_size() {
        let flat = Picture {
            width: 7,
            height: 5,
            data: vec![100.0; 7 * 5 * 3],
        };
        for (width, height) in [(3, 2), (12, 12), (48, 48), (1, 1)] {
            let resized = flat.resized(width, height);
            assert!(resized.data.iter().all(|v| (v - 100.0).abs() < 1e-3));
        }
    }

    #[test]
    fn shrinking_from_bytes_is_resizing_the_floats() {
        let bytes: Vec<u8> = (0..7 * 5 * 4).map(|v| (v * 7 % 256) as u8).collect();
        let pixels = Pixels {
            width: 7,
            height: 5,
            channels: 4,
            bytes: &bytes,
        };
        let floats = Picture::from_bytes(7, 5, 4, &bytes).resized(3, 2);
        assert_eq!(Picture::shrunk_from(&pixels, (3, 2)), floats);
    }

    #[test]
    fn a_window_is_black_outside_the_picture() {
        let picture = ramp(3, 3);
        let window = picture.window(-1, 1, 3, 3);
        let firsts: Vec<f32> = window.data.chunks_exact(3).map(|p| p[0]).collect();
        assert_eq!(firsts, vec![0.0, 3.0, 4.0, 0.0, 6.0, 7.0, 0.0, 0.0, 0.0]);
    }

    #[test]
    fn the_network_input_is_transposed_and_normalised() {
        let picture = ramp(2, 2);
        let input = picture.network_input();
        let firsts: Vec<f32> = input.chunks_exact(3).map(|p| p[0]).collect();
        let expected: Vec<f32> = [0.0, 2.0, 1.0, 3.0]
            .iter()
            .map(|v| (v - 127.5) * 0.0078125)
            .collect();
        assert_eq!(firsts, expected);
    }
}
