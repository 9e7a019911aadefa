//! Colour management: pixels leave the pipeline as sRGB whatever profile they came with, or,
//! with `color = "keep"`, a wide-gamut source keeps its pixels and its profile.

use super::canvas::Canvas;
use moxcms::{ColorProfile, DataColorSpace, Layout, TransformOptions};

/// What happened to an embedded profile; reported in metadata so odd results can be explained.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IccOutcome {
    None,
    AlreadySrgb,
    Converted,
    /// Unreadable, or not for RGB data (e.g. a CMYK profile after the decoder made RGB).
    Ignored,
}

/// Converts the canvas from its embedded ICC profile to sRGB in place.
pub fn to_srgb(canvas: &mut Canvas, icc: Option<&[u8]>) -> IccOutcome {
    let Some(icc) = icc else {
        return IccOutcome::None;
    };
    let Ok(source) = ColorProfile::new_from_slice(icc) else {
        return IccOutcome::Ignored;
    };
    if source.color_space != DataColorSpace::Rgb {
        return IccOutcome::Ignored;
    }
    let srgb = ColorProfile::new_srgb();
    if is_srgb_like(&source, &srgb) {
        return IccOutcome::AlreadySrgb;
    }
    let layout = if canvas.has_alpha {
        Layout::Rgba
    } else {
        Layout::Rgb
    };
    let Ok(transform) =
        source.create_transform_8bit(layout, &srgb, layout, TransformOptions::default())
    else {
        return IccOutcome::Ignored;
    };
    let mut out = vec![0u8; canvas.data.len()];
    if transform.transform(&canvas.data, &mut out).is_err() {
        return IccOutcome::Ignored;
    }
    canvas.data = out;
    IccOutcome::Converted
}

/// The profile a `keep` spec carries into the renditions: a usable RGB profile that is not
/// sRGB in effect. Anything else (no profile, sRGB, CMYK, unreadable) is converted as usual.
pub fn worth_keeping(icc: Option<&[u8]>) -> Option<Vec<u8>> {
    let icc = icc?;
    let profile = ColorProfile::new_from_slice(icc).ok()?;
    let rgb = profile.color_space == DataColorSpace::Rgb;
    (rgb && !is_srgb_like(&profile, &ColorProfile::new_srgb())).then(|| icc.to_vec())
}

/// The CICP colour primaries of a profile AVIF can signal without an ICC profile: Display P3
/// (12), with the sRGB tone curve it shares. Other profiles have no code point here.
pub fn cicp_primaries(icc: &[u8]) -> Option<u16> {
    let profile = ColorProfile::new_from_slice(icc).ok()?;
    let p3 = ColorProfile::new_display_p3();
    (profile.color_space == DataColorSpace::Rgb && is_srgb_like(&profile, &p3)).then_some(12)
}

/// Most "sRGB" profiles in the wild differ in bytes but not in effect; skipping them saves a
/// full-image pass on the common case.
/// Whether `profile` is a matrix/curve profile with `srgb`'s colorants and the sRGB curve
/// (pass another profile as `srgb` to compare against its colorants).
fn is_srgb_like(profile: &ColorProfile, srgb: &ColorProfile) -> bool {
    let close = |a: &moxcms::Xyzd, b: &moxcms::Xyzd| {
        (a.x - b.x).abs() < 0.002 && (a.y - b.y).abs() < 0.002 && (a.z - b.z).abs() < 0.002
    };
    let matrix_shaper = profile.red_trc.is_some()
        && profile.lut_a_to_b_perceptual.is_none()
        && profile.lut_a_to_b_colorimetric.is_none();
    matrix_shaper
        && close(&profile.red_colorant, &srgb.red_colorant)
        && close(&profile.green_colorant, &srgb.green_colorant)
        && close(&profile.blue_colorant, &srgb.blue_colorant)
        && is_srgb_curve(profile)
}

fn is_srgb_curve(profile: &ColorProfile) -> bool {
    // Compare the red tone curve against sRGB at a few points (8-bit precision is enough).
    let srgb = |v: f64| {
        if v <= 0.04045 {
            v / 12.92
        } else {
            ((v + 0.055) / 1.055).powf(2.4)
        }
    };
    let Some(trc) = &profile.red_trc else {
        return false;
    };
    let Ok(curve) = trc.make_linear_evaluator() else {
        return false;
    };
    [0.1f64, 0.3, 0.5, 0.8]
        .iter()
        .all(|&v| (f64::from(curve.evaluate_value(v as f32)) - srgb(v)).abs() < 1.0 / 255.0)
}
