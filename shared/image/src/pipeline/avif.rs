//! AVIF renditions through ravif (rav1e, the Rust AV1 encoder): 8-bit 4:2:0, alpha kept.
//!
//! AVIF carries colour as `nclx` code points here, not an ICC profile: a kept Display P3
//! profile becomes P3's primaries; any other kept profile is converted to sRGB for this format
//! alone, since AVIF readers would otherwise show its numbers as sRGB.

use super::canvas::Canvas;
use super::color;
use crate::error::ProcessError;
use ravif::{BitDepth, ColorModel, Encoder, Img, RGB8, RGBA8};
use std::panic::{catch_unwind, AssertUnwindSafe};

/// Encodes `canvas` at `quality` (1-100) and `speed` (1-10) on the calling thread.
pub fn encode(
    canvas: &Canvas,
    quality: u8,
    speed: u8,
    profile: Option<&[u8]>,
) -> Result<Vec<u8>, ProcessError> {
    let (width, height) = (canvas.width as usize, canvas.height as usize);
    let channels = if canvas.has_alpha { 4 } else { 3 };
    if width == 0 || height == 0 || canvas.data.len() != width * height * channels {
        return Err(ProcessError::internal(
            "AVIF encoder was given a buffer that does not match its size",
        ));
    }
    let primaries = profile.and_then(color::cicp_primaries);
    let converted;
    let canvas = match (profile, primaries) {
        (Some(icc), None) => {
            let mut srgb = canvas.clone();
            color::to_srgb(&mut srgb, Some(icc));
            converted = srgb;
            &converted
        }
        _ => canvas,
    };
    let encoder = Encoder::new()
        .with_quality(f32::from(quality.clamp(1, 100)))
        .with_alpha_quality(f32::from(quality.clamp(1, 100)))
        .with_speed(speed.clamp(1, 10))
        .with_bit_depth(BitDepth::Eight)
        .with_internal_color_model(ColorModel::YCbCr)
        .with_num_threads(Some(1));
    // The encoder asserts on its inputs; an assertion is this rendition's failure only.
    let encoded = catch_unwind(AssertUnwindSafe(|| {
        if canvas.has_alpha {
            let pixels: Vec<RGBA8> = canvas
                .data
                .chunks_exact(4)
                .map(|p| RGBA8::new(p[0], p[1], p[2], p[3]))
                .collect();
            encoder.encode_rgba(Img::new(&pixels[..], width, height))
        } else {
            let pixels: Vec<RGB8> = canvas
                .data
                .chunks_exact(3)
                .map(|p| RGB8::new(p[0], p[1], p[2]))
                .collect();
            encoder.encode_rgb(Img::new(&pixels[..], width, height))
        }
    }))
    .map_err(|_| ProcessError::internal("AVIF encoder failed"))?
    .map_err(|e| ProcessError::internal(format!("AVIF encoding failed: {e}")))?;
    match primaries {
        Some(code) => with_primaries(&encoded.avif_file, code),
        None => Ok(encoded.avif_file),
    }
}

/// Wraps the encoder's AV1 data again with `primaries` in the `nclx` colour box (the encoder
/// always signals sRGB's). Everything else is as the encoder wrote it: 8 bits, full range,
/// BT.601 YCbCr, sRGB transfer.
fn with_primaries(file: &[u8], primaries: u16) -> Result<Vec<u8>, ProcessError> {
    use avif_serialize::constants::{ColorPrimaries, MatrixCoefficients, TransferCharacteristics};
    use heifer::heifer_isobmff::HeifFile;
    let broken = |e: &dyn std::fmt::Display| ProcessError::internal(format!("AVIF rewrap: {e}"));
    let parsed = HeifFile::parse(file).map_err(|e| broken(&e))?;
    let primary = parsed.primary_id;
    let (width, height) = parsed
        .image_size(primary)
        .map_err(|e| broken(&e))?
        .ok_or_else(|| broken(&"no image size"))?;
    let color = parsed.item_data(primary).map_err(|e| broken(&e))?;
    let alpha = match parsed.referencing_items(primary, b"auxl").first() {
        Some(&id) => Some(parsed.item_data(id).map_err(|e| broken(&e))?),
        None => None,
    };
    let code = match primaries {
        12 => ColorPrimaries::DisplayP3,
        _ => return Err(broken(&format!("no AVIF code point {primaries}"))),
    };
    let mut aviffy = avif_serialize::Aviffy::new();
    aviffy
        .set_color_primaries(code)
        .set_transfer_characteristics(TransferCharacteristics::Srgb)
        .set_matrix_coefficients(MatrixCoefficients::Bt601)
        .set_full_color_range(true);
    Ok(aviffy.to_vec(&color, alpha.as_deref(), width, height, 8))
}
