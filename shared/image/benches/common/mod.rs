//! Shared bench inputs. Real photos come from the team's benchmark corpus (never copied into
//! the repository): `PICTOR_BENCH_CORPUS`, by default `../shared/bench-corpus` next to the
//! checkout. Without it, a synthetic image of the same size stands in, and the bench says so.
#![allow(dead_code)]

use std::path::PathBuf;

pub fn corpus_file(name: &str) -> Option<Vec<u8>> {
    let dir = std::env::var_os("PICTOR_BENCH_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/bench-corpus")
        });
    std::fs::read(dir.join(name)).ok()
}

/// The ~12 MP phone-style JPEG (EXIF orientation 6) or a synthetic 12 MP JPEG.
pub fn photo_12mp() -> (String, Vec<u8>) {
    if let Some(bytes) = corpus_file("photo12mp_o6.jpg") {
        return ("photo12mp_o6.jpg".into(), bytes);
    }
    eprintln!("bench corpus not found: using a synthetic 4000x3000 JPEG");
    let (w, h) = (4000u32, 3000u32);
    let data: Vec<u8> = (0..w * h)
        .flat_map(|i| {
            let (x, y) = (i % w, i / w);
            [(x % 251) as u8, (y % 241) as u8, ((x ^ y) % 239) as u8]
        })
        .collect();
    let mut out = std::io::Cursor::new(Vec::new());
    image::RgbImage::from_raw(w, h, data)
        .expect("buffer size")
        .write_to(&mut out, image::ImageFormat::Jpeg)
        .expect("encode");
    ("synthetic-12mp.jpg".into(), out.into_inner())
}
