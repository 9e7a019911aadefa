//! Writes a HEIC stored as a grid of 512x512 tiles, the way iPhones store photos, for the
//! HEIF fixtures (scripts/make-heif-fixtures). Usage: make_heic_grid <source image> <out.heic>

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [source, out] = args.as_slice() else {
        eprintln!("usage: make_heic_grid <source image> <out.heic>");
        return ExitCode::FAILURE;
    };
    let rgb = match image::open(source) {
        Ok(img) => img.to_rgb8(),
        Err(e) => {
            eprintln!("{source}: {e}");
            return ExitCode::FAILURE;
        }
    };
    let options = heifer::EncodeOptions {
        quality: 60,
        max_threads: 1,
    };
    let heic = match heifer::encode_rgb8(rgb.width(), rgb.height(), rgb.as_raw(), &options) {
        Ok(bytes) => bytes,
        Err(e) => {
            eprintln!("encoding: {e}");
            return ExitCode::FAILURE;
        }
    };
    if let Err(e) = std::fs::write(out, heic) {
        eprintln!("{out}: {e}");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
