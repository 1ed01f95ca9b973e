//! How soon a passed deadline stops the engine's long steps: each step is started on a big
//! raster with a deadline a little way in, and the time it returns past that deadline is
//! printed (what `bench/deadline` runs, in release). Steps that check the deadline inside
//! stop within a band; libjpeg-turbo's and libwebp's encoders are one call each, so for them
//! the figure is their whole time.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use pipeline::codec::encode::{encode, EncodeOptions};
use pipeline::codec::{PixelLayout, Raster};
use pipeline::ops::resize::{self, ResizePlan};
use pipeline::resources::Deadline;
use pipeline::ImageFormat;
use std::time::{Duration, Instant};

/// A raster of noise, so that no encoder finds it easy.
fn noise(width: u32, height: u32) -> Raster {
    let mut state = 0x9e37_79b9_u32;
    let len = width as usize * height as usize * 3;
    let data = (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            (state >> 24) as u8
        })
        .collect();
    Raster::new(width, height, PixelLayout::Rgb8, data).unwrap()
}

/// Runs `work` with a deadline `after` from now; prints its whole time and how far past the
/// deadline it returned.
fn measure<T>(
    name: &str,
    after: Duration,
    work: impl FnOnce(Deadline) -> Result<T, pipeline::PipelineError>,
) {
    let started = Instant::now();
    let deadline = started + after;
    let outcome = work(Deadline(Some(deadline)));
    let ended = Instant::now();
    let past = ended.saturating_duration_since(deadline);
    let verdict = match outcome {
        Ok(_) => "finished".to_string(),
        Err(error) => format!("{}", error.code),
    };
    println!(
        "{name:<48} deadline {:>4} ms  returned after {:>6.0} ms  past the deadline {:>6.0} ms  ({verdict})",
        after.as_millis(),
        ended.duration_since(started).as_secs_f64() * 1000.0,
        past.as_secs_f64() * 1000.0,
    );
}

fn main() {
    let big = noise(12_000, 12_000);
    let output = noise(4096, 4096);
    let after = Duration::from_millis(50);
    let to_4096 = ResizePlan::Scale {
        width: 4096,
        height: 4096,
    };
    let to_800 = ResizePlan::Scale {
        width: 800,
        height: 800,
    };
    measure("resize 12000x12000 -> 4096x4096", after, |deadline| {
        resize::apply(big.clone(), &to_4096, deadline)
    });
    measure("resize 12000x12000 -> 800x800", after, |deadline| {
        resize::apply(big.clone(), &to_800, deadline)
    });
    measure(
        "resize 12000x12000 -> 4096x4096, no deadline",
        after,
        |_| resize::apply(big.clone(), &to_4096, Deadline::default()),
    );
    for format in [ImageFormat::Png, ImageFormat::Jpeg, ImageFormat::Webp] {
        measure(&format!("encode 4096x4096 {format}"), after, |deadline| {
            let options = EncodeOptions {
                quality: 80,
                progressive: false,
                deadline,
            };
            encode(&output, format, &options)
        });
    }
}
