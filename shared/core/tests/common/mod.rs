//! Helpers shared by the core's tests.
#![allow(dead_code)]

pub fn fixture(rel: &str) -> Vec<u8> {
    pictor_core::ports::samples::testdata_bytes(&format!("images/{rel}"))
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

/// Puts the fixture `rel` at `dir/name` as an original (replacing what was there) and
/// returns its upload, as `pictor process` would make it.
pub fn place(dir: &std::path::Path, name: &str, rel: &str) -> pictor_core::Upload {
    let path = dir.join(name);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).unwrap();
    }
    std::fs::write(&path, fixture(rel)).unwrap();
    pictor_core::Upload::new(pictor_core::SourceLocation::file(&path)).with_display(name)
}
