//! The whole per-image job on a ~12 MP photo with the default spec (8 renditions, JPEG and
//! WebP, watermarked), against a plain `image`-crate pipeline doing the JPEG half of the job
//! as the in-process baseline.

mod common;

use criterion::{criterion_group, criterion_main, Criterion};
use pictor_image::{Pipeline, Spec};
use std::hint::black_box;

fn pipeline(c: &mut Criterion) {
    let (name, bytes) = common::photo_12mp();
    let mut group = c.benchmark_group(format!("per-image {name}"));
    group.sample_size(10);

    let full = Pipeline::new(Spec::default()).expect("default spec");
    group.bench_function("pictor default spec (4 JPEG + 4 WebP)", |b| {
        b.iter(|| black_box(full.process(&bytes, Some("bench")).expect("processes")))
    });
    let jpeg_only = Spec::from_toml(
        r#"
        [[variants]]
        name = "xl"
        width = 2048
        format = "jpeg"
        [[variants]]
        name = "lg"
        width = 1024
        format = "jpeg"
        [[variants]]
        name = "md"
        width = 512
        format = "jpeg"
        [[variants]]
        name = "thumb"
        width = 256
        format = "jpeg"
        "#,
    )
    .expect("spec");
    let jpeg_only = Pipeline::new(jpeg_only).expect("jpeg spec");
    group.bench_function("pictor 4 JPEG", |b| {
        b.iter(|| black_box(jpeg_only.process(&bytes, None).expect("processes")))
    });
    group.bench_function("image crate 4 JPEG (baseline, no watermark)", |b| {
        b.iter(|| {
            let mut img = image::load_from_memory(&bytes).expect("decodes");
            img = img.rotate90();
            let mut outputs = Vec::new();
            for width in [2048u32, 1024, 512, 256] {
                let height =
                    (u64::from(img.height()) * u64::from(width) / u64::from(img.width())) as u32;
                let small = img.resize_exact(width, height, image::imageops::FilterType::Lanczos3);
                let mut out = std::io::Cursor::new(Vec::new());
                small
                    .to_rgb8()
                    .write_to(&mut out, image::ImageFormat::Jpeg)
                    .expect("encodes");
                outputs.push(out.into_inner());
            }
            black_box(outputs)
        })
    });
    group.finish();
}

criterion_group!(benches, pipeline);
criterion_main!(benches);
