//! Resize of a decoded ~12 MP photo to 2048 px wide, Lanczos3: the SIMD resizer Pictor uses
//! against the `image` crate's scalar resize as the in-process baseline.

mod common;

use criterion::{criterion_group, criterion_main, Criterion};
use fast_image_resize::images::{Image, ImageRef};
use fast_image_resize::{PixelType, ResizeOptions, Resizer};
use std::hint::black_box;

fn resize(c: &mut Criterion) {
    let (name, bytes) = common::photo_12mp();
    let src = image::load_from_memory(&bytes)
        .expect("decodes")
        .into_rgb8();
    let (w, h) = src.dimensions();
    let (dw, dh) = (2048, (u64::from(h) * 2048 / u64::from(w)) as u32);
    let mut group = c.benchmark_group(format!("resize {name} {w}x{h} -> {dw}x{dh}"));
    group.sample_size(10);

    let view = ImageRef::new(w, h, src.as_raw(), PixelType::U8x3).expect("view");
    let mut resizer = Resizer::new();
    let mut dst = Image::new(dw, dh, PixelType::U8x3);
    group.bench_function("fast_image_resize (pictor)", |b| {
        b.iter(|| {
            resizer
                .resize(&view, &mut dst, &ResizeOptions::new())
                .expect("resize")
        })
    });
    group.bench_function("image::imageops (baseline)", |b| {
        b.iter(|| {
            black_box(image::imageops::resize(
                &src,
                dw,
                dh,
                image::imageops::FilterType::Lanczos3,
            ))
        })
    });
    group.finish();
}

criterion_group!(benches, resize);
criterion_main!(benches);
