//! Helpers shared by the pipeline tests.
#![allow(dead_code)]

use pictor_image::pipeline::{Processed, Rendition};
use pictor_image::{Pipeline, Spec};
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

/// Mean structural similarity (SSIM) of the BT.601 luma of two images, over 8x8 windows with a
/// stride of 4 and the usual constants. 1.0 is identical.
pub fn ssim(a: &image::RgbaImage, b: &image::RgbaImage) -> f64 {
    assert_eq!(a.dimensions(), b.dimensions());
    let (w, h) = a.dimensions();
    let luma = |img: &image::RgbaImage| -> Vec<f64> {
        img.pixels()
            .map(|p| {
                0.299 * f64::from(p.0[0]) + 0.587 * f64::from(p.0[1]) + 0.114 * f64::from(p.0[2])
            })
            .collect()
    };
    let (la, lb) = (luma(a), luma(b));
    let (c1, c2) = ((0.01f64 * 255.0).powi(2), (0.03f64 * 255.0).powi(2));
    let mut total = 0.0;
    let mut windows = 0.0;
    for y0 in (0..h.saturating_sub(7)).step_by(4) {
        for x0 in (0..w.saturating_sub(7)).step_by(4) {
            let (mut sa, mut sb, mut saa, mut sbb, mut sab) = (0.0, 0.0, 0.0, 0.0, 0.0);
            for y in y0..y0 + 8 {
                for x in x0..x0 + 8 {
                    let i = (y * w + x) as usize;
                    let (p, q) = (la[i], lb[i]);
                    sa += p;
                    sb += q;
                    saa += p * p;
                    sbb += q * q;
                    sab += p * q;
                }
            }
            let n = 64.0;
            let (ma, mb) = (sa / n, sb / n);
            let (va, vb, cov) = (saa / n - ma * ma, sbb / n - mb * mb, sab / n - ma * mb);
            total += ((2.0 * ma * mb + c1) * (2.0 * cov + c2))
                / ((ma * ma + mb * mb + c1) * (va + vb + c2));
            windows += 1.0;
        }
    }
    total / windows
}
