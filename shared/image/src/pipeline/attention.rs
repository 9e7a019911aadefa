//! Where a `cover` crop should sit: the focal point of an image, measured on a small upright
//! copy of the whole frame.
//!
//! The measure is the one crop tools have long used for "attention": a map that is high on
//! detail (edges of the luminance, found as a difference of blurs so that fine texture such
//! as grass or gravel counts for little), on skin tones and on strongly saturated colour.
//! The map is blurred to about a tenth of the image, so that a region wins rather than a
//! pixel, and what its surroundings share is taken off (a face stands out from a wall; a
//! whole wooden table, skin-toned as it may be, does not). The focal point is the centre of
//! the hottest part.

use super::canvas::Canvas;
use serde::{Deserialize, Serialize};

/// A point of the upright image, in fractions of its width (`x`) and height (`y`), 0..=1
/// from the top left.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct FocalPoint {
    pub x: f64,
    pub y: f64,
}

/// A focal point coordinate outside 0..=1 (or not a number).
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
#[error("{axis} must be a fraction of the image in 0..1, got {value}")]
pub struct OutsideTheImage {
    /// `x` or `y`: the coordinate at fault, as the API names its parameter.
    pub axis: &'static str,
    pub value: f64,
}

impl FocalPoint {
    pub const CENTRE: FocalPoint = FocalPoint { x: 0.5, y: 0.5 };

    /// A point inside the image, or the coordinate that is not.
    pub fn new(x: f64, y: f64) -> Result<FocalPoint, OutsideTheImage> {
        let unit = |v: f64| v.is_finite() && (0.0..=1.0).contains(&v);
        match (unit(x), unit(y)) {
            (true, true) => Ok(FocalPoint { x, y }),
            (false, _) => Err(OutsideTheImage {
                axis: "x",
                value: x,
            }),
            (true, false) => Err(OutsideTheImage {
                axis: "y",
                value: y,
            }),
        }
    }

    /// Rounded to 1/10000: what a record keeps.
    pub fn rounded(self) -> FocalPoint {
        let round = |v: f64| (v * 1e4).round() / 1e4;
        FocalPoint {
            x: round(self.x),
            y: round(self.y),
        }
    }
}

/// Who chose an asset's focal point.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FocusOrigin {
    /// Measured by the pipeline.
    Auto,
    /// Set through the API; kept when the same original is processed again.
    Manual,
}

/// The focal point an asset's `cover` crops were placed around.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Focus {
    pub x: f64,
    pub y: f64,
    pub origin: FocusOrigin,
}

impl Focus {
    pub fn point(&self) -> FocalPoint {
        FocalPoint {
            x: self.x,
            y: self.y,
        }
    }

    pub fn manual(point: FocalPoint) -> Focus {
        let p = point.rounded();
        Focus {
            x: p.x,
            y: p.y,
            origin: FocusOrigin::Manual,
        }
    }

    fn auto(point: FocalPoint) -> Focus {
        let p = point.rounded();
        Focus {
            x: p.x,
            y: p.y,
            origin: FocusOrigin::Auto,
        }
    }
}

/// The longest side the map is computed at: enough for a face to span a dozen pixels in a
/// group photo, small enough to cost well under a millisecond.
pub const MEASURE_SIDE: u32 = 160;

/// How much each cue counts. Skin is the strongest sign of a person; edges alone would
/// also favour foliage and text, saturation alone a red car over the driver.
const EDGE_WEIGHT: f32 = 1.0;
const SKIN_WEIGHT: f32 = 1.5;
const SATURATION_WEIGHT: f32 = 0.7;
/// How much of the wide surroundings' level is taken off each region's.
const SURROUND_WEIGHT: f32 = 0.5;

/// The focal point of an upright image (at most [`MEASURE_SIDE`] on its longest side; larger
/// works, only slower). Transparent pixels count for nothing. A featureless image gives the
/// centre.
pub fn focal_point(image: &Canvas) -> Focus {
    let (w, h) = (image.width as usize, image.height as usize);
    let c = image.channels();
    if w < 3 || h < 3 || image.data.len() != w * h * c {
        return Focus::auto(FocalPoint::CENTRE);
    }
    let pixel = |i: usize| {
        let p = &image.data[i * c..i * c + c];
        let alpha = if c == 4 { f32::from(p[3]) / 255.0 } else { 1.0 };
        (f32::from(p[0]), f32::from(p[1]), f32::from(p[2]), alpha)
    };
    let luma: Vec<f32> = (0..w * h)
        .map(|i| {
            let (r, g, b, _) = pixel(i);
            0.299 * r + 0.587 * g + 0.114 * b
        })
        .collect();
    // Edges as a difference of a slight and a wider blur: outlines of shapes, not the grain
    // of a surface.
    let mut fine = luma.clone();
    blur(&mut fine, w, h, 1);
    let mut coarse = luma;
    blur(&mut coarse, w, h, 4);

    let raw: Vec<f32> = (0..w * h)
        .map(|i| {
            let (r, g, b, alpha) = pixel(i);
            let edge = ((fine[i] - coarse[i]).abs() / 24.0).min(1.0);
            alpha
                * (EDGE_WEIGHT * edge
                    + SKIN_WEIGHT * skin(r, g, b)
                    + SATURATION_WEIGHT * saturation(r, g, b))
        })
        .collect();
    let side = w.max(h);
    let mut map = raw.clone();
    blur(&mut map, w, h, (side / 10).max(1));
    let mut surround = raw;
    blur(&mut surround, w, h, (side / 3).max(1));
    for (m, s) in map.iter_mut().zip(&surround) {
        *m -= SURROUND_WEIGHT * s;
    }

    let peak = map.iter().copied().fold(f32::MIN, f32::max);
    let floor = map.iter().copied().fold(f32::MAX, f32::min);
    if peak - floor <= 1e-4 {
        return Focus::auto(FocalPoint::CENTRE);
    }
    // The centre of mass of the hottest part, not the single hottest pixel: steadier when
    // two features are nearly as strong.
    let threshold = peak - (peak - floor) * 0.1;
    let (mut sum, mut sx, mut sy) = (0f64, 0f64, 0f64);
    for y in 0..h {
        for x in 0..w {
            let v = map[y * w + x];
            if v >= threshold {
                let weight = f64::from(v - threshold) + 1e-6;
                sum += weight;
                sx += weight * (x as f64 + 0.5);
                sy += weight * (y as f64 + 0.5);
            }
        }
    }
    Focus::auto(FocalPoint {
        x: (sx / sum / w as f64).clamp(0.0, 1.0),
        y: (sy / sum / h as f64).clamp(0.0, 1.0),
    })
}

/// 1 for colours in the usual skin range of the CbCr plane (any complexion; it is the
/// chroma, not the lightness, that skin shares), fading to 0 just outside it.
fn skin(r: f32, g: f32, b: f32) -> f32 {
    let y = 0.299 * r + 0.587 * g + 0.114 * b;
    if !(40.0..=250.0).contains(&y) {
        return 0.0;
    }
    let cb = 128.0 - 0.168_736 * r - 0.331_264 * g + 0.5 * b;
    let cr = 128.0 + 0.5 * r - 0.418_688 * g - 0.081_312 * b;
    let inside = |v: f32, lo: f32, hi: f32| {
        let outside = (lo - v).max(v - hi).max(0.0);
        (1.0 - outside / 8.0).max(0.0)
    };
    inside(cb, 77.0, 127.0) * inside(cr, 133.0, 173.0)
}

/// HSV saturation above a floor (pastels and greys are not attention-grabbing), scaled to
/// 0..1; dark pixels are ignored because their hue is noise.
fn saturation(r: f32, g: f32, b: f32) -> f32 {
    let max = r.max(g).max(b);
    let min = r.min(g).min(b);
    if max < 50.0 {
        return 0.0;
    }
    let s = (max - min) / max;
    ((s - 0.4) / 0.6).clamp(0.0, 1.0)
}

/// Three box blurs of `radius`: close to a Gaussian, at a cost linear in the pixels.
fn blur(map: &mut [f32], w: usize, h: usize, radius: usize) {
    for _ in 0..3 {
        box_blur(map, w, h, radius);
    }
}

/// In-place box blur of `radius` along rows, then columns; the border repeats. Sliding
/// sums keep it linear in the pixel count.
fn box_blur(map: &mut [f32], w: usize, h: usize, radius: usize) {
    let mut line = Vec::with_capacity(w.max(h));
    let blur_line = |line: &mut Vec<f32>, get: &dyn Fn(usize) -> f32, n: usize| {
        line.clear();
        let mut acc = 0f32;
        let value = |i: isize| get(i.clamp(0, n as isize - 1) as usize);
        let r = radius as isize;
        for i in -r..=r {
            acc += value(i);
        }
        let width = (2 * radius + 1) as f32;
        for i in 0..n as isize {
            line.push(acc / width);
            acc += value(i + r + 1) - value(i - r);
        }
    };
    for y in 0..h {
        let row: Vec<f32> = map[y * w..(y + 1) * w].to_vec();
        blur_line(&mut line, &|x| row[x], w);
        map[y * w..(y + 1) * w].copy_from_slice(&line);
    }
    for x in 0..w {
        let column: Vec<f32> = (0..h).map(|y| map[y * w + x]).collect();
        blur_line(&mut line, &|y| column[y], h);
        for (y, v) in line.iter().enumerate() {
            map[y * w + x] = *v;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flat(w: u32, h: u32, rgb: [u8; 3]) -> Canvas {
        Canvas {
            width: w,
            height: h,
            has_alpha: false,
            data: rgb.repeat((w * h) as usize),
        }
    }

    fn paint(canvas: &mut Canvas, (x0, y0, x1, y1): (u32, u32, u32, u32), rgb: [u8; 3]) {
        for y in y0..y1 {
            for x in x0..x1 {
                let i = ((y * canvas.width + x) * 3) as usize;
                canvas.data[i..i + 3].copy_from_slice(&rgb);
            }
        }
    }

    #[test]
    fn a_featureless_image_is_focused_in_the_centre() {
        let focus = focal_point(&flat(120, 80, [90, 110, 130]));
        assert_eq!((focus.x, focus.y), (0.5, 0.5));
        assert_eq!(focus.origin, FocusOrigin::Auto);
    }

    #[test]
    fn a_skin_toned_patch_on_a_grey_wall_draws_the_focus() {
        let mut image = flat(160, 100, [128, 128, 128]);
        paint(&mut image, (10, 60, 40, 95), [224, 172, 140]);
        let focus = focal_point(&image);
        assert!((focus.x - 25.0 / 160.0).abs() < 0.05, "{focus:?}");
        assert!((focus.y - 77.5 / 100.0).abs() < 0.08, "{focus:?}");
    }

    #[test]
    fn skin_outweighs_a_saturated_patch_of_the_same_size() {
        let mut image = flat(160, 100, [128, 128, 128]);
        paint(&mut image, (10, 10, 40, 40), [20, 60, 230]);
        paint(&mut image, (120, 60, 150, 90), [210, 160, 130]);
        let focus = focal_point(&image);
        assert!(focus.x > 0.6 && focus.y > 0.5, "{focus:?}");
    }

    #[test]
    fn focal_points_outside_the_image_are_refused() {
        assert!(FocalPoint::new(0.0, 1.0).is_ok());
        assert_eq!(FocalPoint::new(-0.1, 0.5).unwrap_err().axis, "x");
        assert_eq!(FocalPoint::new(0.5, f64::NAN).unwrap_err().axis, "y");
        assert_eq!(FocalPoint::new(1.5, 2.0).unwrap_err().axis, "x");
    }
}
