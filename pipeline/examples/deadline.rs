//! How soon a passed deadline stops the engine's long steps: each step is started on a big
//! raster with a deadline a little way in, and the time it returns past that deadline is
//! printed (what `bench/deadline` runs, in release). Steps that check the deadline inside
//! stop within a band; libjpeg-turbo's and libwebp's encoders are one call each, so for them
//! the figure is their whole time. `AFTER_MS` sets the deadline (default 50 ms).
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
    let after = Duration::from_millis(
        std::env::var("AFTER_MS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(50),
    );
    let to_4096 = ResizePlan::Scale {
        width: 4096,
        height: 4096,
    };
    let to_800 = ResizePlan::Scale {
        width: 800,
        height: 800,
    };
    // A resize consumes its input: each copy is made before the clock starts, and freeing it
    // on the way out is part of the figure (the "free" line shows that alone).
    let one_call = big.clone();
    let input = big.clone();
    measure("resize 12000x12000 -> 4096x4096", after, |deadline| {
        resize::apply(input, &to_4096, deadline)
    });
    let input = big.clone();
    measure("resize 12000x12000 -> 800x800", after, |deadline| {
        resize::apply(input, &to_800, deadline)
    });
    let input = big.clone();
    measure("free a 12000x12000 raster (no work)", after, |_| {
        drop(input);
        Ok::<(), pipeline::PipelineError>(())
    });
    measure(
        "resize 12000x12000 -> 4096x4096, no deadline",
        after,
        |_| resize::apply(big, &to_4096, Deadline::default()),
    );
    // The same resize as one fast_image_resize call, as it was done before bands.
    measure("resize 12000x12000 -> 4096x4096, one call", after, |_| {
        use fast_image_resize as fir;
        let (width, height) = one_call.dimensions();
        let source =
            fir::images::ImageRef::new(width, height, one_call.data(), fir::PixelType::U8x3)
                .unwrap();
        let mut target = fir::images::Image::new(4096, 4096, fir::PixelType::U8x3);
        let options = fir::ResizeOptions::new()
            .resize_alg(fir::ResizeAlg::Convolution(fir::FilterType::Lanczos3));
        fir::Resizer::new()
            .resize(&source, &mut target, &options)
            .unwrap();
        Ok::<(), pipeline::PipelineError>(())
    });
    for format in [ImageFormat::Png, ImageFormat::Jpeg, ImageFormat::Webp] {
        measure(&format!("encode 4096x4096 {format}"), after, |deadline| {
            let options = EncodeOptions {
                quality: 80,
                progressive: false,
                deadline,
                carried: &pipeline::metadata::Carried::default(),
            };
            encode(&output, format, &options)
        });
    }
}
