//! SSIMULACRA2 of files against their references, for the quality comparison
//! (`benches/compare/quality.py`): any format Pictor reads, one score per pair, one per line.
//!
//! ssimulacra2_score REFERENCE DISTORTED [REFERENCE DISTORTED ...]
//!
//! A reference with alpha is laid on white when the other file has none (a JPEG), as every
//! contender's JPEG job does.

use pictor_image::pipeline::canvas::Canvas;
use pictor_image::pipeline::decode::decode;
use pictor_image::pipeline::target::ssimulacra2;
use pictor_image::spec::Limits;

fn read(path: &str) -> Result<Canvas, Box<dyn std::error::Error>> {
    let decoded =
        decode(&std::fs::read(path)?, &Limits::default(), 1).map_err(|e| format!("{path}: {e}"))?;
    Ok(Canvas::from_image(decoded.image))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.is_empty() || !args.len().is_multiple_of(2) {
        return Err(
            "usage: ssimulacra2_score REFERENCE DISTORTED [REFERENCE DISTORTED ...]".into(),
        );
    }
    for pair in args.chunks_exact(2) {
        let score = ssimulacra2(&read(&pair[0])?, &read(&pair[1])?, [255, 255, 255])
            .map_err(|e| format!("{} against {}: {e}", pair[1], pair[0]))?;
        println!("{score:.3}");
    }
    Ok(())
}
