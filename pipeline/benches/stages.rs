//! Stage micro-benchmarks: decode, resize and encode on their own, so that a regression in one
//! stage shows even when the end-to-end figures hide it. Also the measurements behind the
//! fast-path choices: libjpeg-turbo's DCT-domain shrink against `jpeg-decoder`'s `scale`, and
//! libjpeg-turbo's encoder against `jpeg-encoder`.
//!
//! `cargo bench -p pipeline --bench stages` (uses ../shared/bench-corpus when present, else the
//! project's fixtures).
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test crate: a panic is a failed test

use criterion::{criterion_group, criterion_main, Criterion};
use pipeline::codec::encode::{encode, EncodeOptions};
use pipeline::codec::{decode, jpeg, PixelLayout, Raster};
use pipeline::ops::resize::{self, ResizePlan};
use pipeline::resources::Deadline;
use pipeline::{ImageFormat, Limits};
use std::hint::black_box;
use std::path::PathBuf;

fn source(corpus_name: &str, fixture_name: &str) -> (String, Vec<u8>) {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let corpus = root.join("../../shared/bench-corpus").join(corpus_name);
    let path = if corpus.exists() {
        corpus
    } else {
        root.join("../fixtures").join(fixture_name)
    };
    let bytes = std::fs::read(&path).unwrap_or_else(|error| panic!("{path:?}: {error}"));
    let name = path
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    (name, bytes)
}

fn decoding(c: &mut Criterion) {
    let limits = Limits::default();
    for corpus_name in ["baseline-5120x2880.jpg", "progressive-5120x2880.jpg"] {
        let (name, bytes) = source(corpus_name, "gopher-640x427.jpg");
        let mut group = c.benchmark_group(format!("decode {name}"));
        group.sample_size(10);
        group.bench_function("image crate (zune-jpeg), full", |b| {
            b.iter(|| {
                image::load_from_memory_with_format(black_box(&bytes), image::ImageFormat::Jpeg)
                    .unwrap()
            })
        });
        for factor in [1, 4] {
            group.bench_function(format!("libjpeg-turbo 1/{factor}"), |b| {
                b.iter(|| jpeg::decode_scaled(black_box(&bytes), factor).unwrap())
            });
        }
        group.bench_function("jpeg-decoder 1/4 (scale)", |b| {
            b.iter(|| {
                let mut decoder = jpeg_decoder::Decoder::new(black_box(&bytes[..]));
                decoder.read_info().unwrap();
                let info = decoder.info().unwrap();
                decoder.scale(info.width / 4, info.height / 4).unwrap();
                decoder.decode().unwrap()
            })
        });
        group.bench_function("engine decode_to_fit w800", |b| {
            b.iter(|| decode::decode_to_fit(black_box(&bytes), &limits, Some((800, 450))).unwrap())
        });
        group.finish();
    }
}

fn shrunk_picture() -> Raster {
    let (_, bytes) = source("baseline-5120x2880.jpg", "gopher-640x427.jpg");
    match jpeg::decode_scaled(&bytes, 4).unwrap() {
        jpeg::Scaled::Rgb { raster, .. } => raster,
        jpeg::Scaled::Cmyk { .. } => panic!("the bench's source is an RGB JPEG"),
    }
}

fn resizing(c: &mut Criterion) {
    let picture = shrunk_picture();
    let (width, height) = picture.dimensions();
    let target = ResizePlan::Scale {
        width: width * 5 / 8,
        height: height * 5 / 8,
    };
    let mut group = c.benchmark_group(format!("resize {width}x{height} to 5/8, Lanczos3"));
    group.bench_function("rgb8", |b| {
        b.iter(|| resize::apply(black_box(picture.clone()), &target, Deadline::default()).unwrap())
    });
    let rgba: Vec<u8> = picture
        .data()
        .chunks_exact(3)
        .flat_map(|pixel| [pixel[0], pixel[1], pixel[2], 200])
        .collect();
    let rgba = Raster::new(width, height, PixelLayout::Rgba8, rgba).unwrap();
    group.bench_function("rgba8 (alpha premultiplied)", |b| {
        b.iter(|| resize::apply(black_box(rgba.clone()), &target, Deadline::default()).unwrap())
    });
    group.finish();
}

fn encoding(c: &mut Criterion) {
    let picture = resize::apply(
        shrunk_picture(),
        &ResizePlan::Scale {
            width: 800,
            height: 450,
        },
        Deadline::default(),
    )
    .unwrap();
    let options = EncodeOptions {
        quality: 80,
        progressive: false,
        deadline: Deadline::default(),
        carried: &pipeline::metadata::Carried::default(),
    };
    let mut group = c.benchmark_group("encode 800x450");
    group.bench_function("jpeg q80, libjpeg-turbo (engine)", |b| {
        b.iter(|| encode(black_box(&picture), ImageFormat::Jpeg, &options).unwrap())
    });
    group.bench_function("jpeg q80 progressive, libjpeg-turbo (engine)", |b| {
        let progressive = EncodeOptions {
            progressive: true,
            ..options
        };
        b.iter(|| encode(black_box(&picture), ImageFormat::Jpeg, &progressive).unwrap())
    });
    group.bench_function("jpeg q80, jpeg-encoder", |b| {
        b.iter(|| {
            let mut bytes = Vec::new();
            let mut encoder = jpeg_encoder::Encoder::new(&mut bytes, 80);
            encoder.set_sampling_factor(jpeg_encoder::SamplingFactor::R_4_2_0);
            encoder
                .encode(
                    black_box(picture.data()),
                    800,
                    450,
                    jpeg_encoder::ColorType::Rgb,
                )
                .unwrap();
            bytes
        })
    });
    for format in [ImageFormat::Webp, ImageFormat::Png, ImageFormat::Gif] {
        group.bench_function(format!("{} (engine)", format.extension()), |b| {
            b.iter(|| encode(black_box(&picture), format, &options).unwrap())
        });
    }
    group.finish();
}

criterion_group!(stages, decoding, resizing, encoding);
criterion_main!(stages);
