//! Helpers shared by the pipeline tests.
#![allow(dead_code)]

use pictor_core::pipeline::{Processed, Rendition};
use pictor_core::{Pipeline, Spec};
use std::path::PathBuf;

pub fn fixture(rel: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata/images")
        .join(rel);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

pub fn spec(toml: &str) -> Spec {
    Spec::from_toml(toml).unwrap()
}

pub fn process(bytes: &[u8], spec: Spec, creator: Option<&str>) -> Processed {
    Pipeline::new(spec)
        .unwrap()
        .process(bytes, creator)
        .unwrap()
}

pub fn rendition<'a>(p: &'a Processed, name: &str, ext: &str) -> &'a Rendition {
    p.renditions
        .iter()
        .find(|r| r.name == name && r.format.extension() == ext)
        .unwrap_or_else(|| panic!("no {name}.{ext}"))
}

pub fn decode_rgba(bytes: &[u8]) -> image::RgbaImage {
    image::load_from_memory(bytes).unwrap().into_rgba8()
}

/// Peak signal-to-noise ratio over RGB, in dB.
pub fn psnr(a: &image::RgbaImage, b: &image::RgbaImage) -> f64 {
    assert_eq!(a.dimensions(), b.dimensions());
    let mut se = 0f64;
    let mut n = 0f64;
    for (p, q) in a.pixels().zip(b.pixels()) {
        for c in 0..3 {
            let d = f64::from(p.0[c]) - f64::from(q.0[c]);
            se += d * d;
            n += 1.0;
        }
    }
    let mse = se / n;
    if mse == 0.0 {
        f64::INFINITY
    } else {
        10.0 * (255.0f64 * 255.0 / mse).log10()
    }
}

/// A PNG-only spec with watermarks off: pixels as the pipeline makes them.
pub const PLAIN_PNG: &str = r#"
[[variants]]
name = "full"
width = 16384
format = "png"
[watermark.logo]
enabled = false
[watermark.text]
enabled = false
"#;
