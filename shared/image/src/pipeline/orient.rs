//! EXIF orientation, applied to resized variants rather than to the full source.

use super::canvas::Canvas;
use crate::error::ProcessError;
use image::metadata::Orientation;

/// Whether displaying the image upright swaps its width and height.
pub fn swaps_axes(orientation: Orientation) -> bool {
    matches!(
        orientation,
        Orientation::Rotate90
            | Orientation::Rotate270
            | Orientation::Rotate90FlipH
            | Orientation::Rotate270FlipH
    )
}

/// The rectangle `(left, top, width, height)` of the stored image (`stored_width` x
/// `stored_height`) that turning upright makes into `rect` of the upright image. A crop can
/// then be cut before orienting, from the smaller stored-orientation pixels.
pub fn rect_to_stored(
    orientation: Orientation,
    (stored_width, stored_height): (f64, f64),
    (left, top, width, height): (f64, f64, f64, f64),
) -> (f64, f64, f64, f64) {
    let (sw, sh) = (stored_width, stored_height);
    // Where the upright point (x, y) is in the stored image (continuous coordinates).
    let to_stored = |x: f64, y: f64| match orientation {
        Orientation::NoTransforms => (x, y),
        Orientation::FlipHorizontal => (sw - x, y),
        Orientation::Rotate180 => (sw - x, sh - y),
        Orientation::FlipVertical => (x, sh - y),
        Orientation::Rotate90FlipH => (y, x),
        Orientation::Rotate90 => (y, sh - x),
        Orientation::Rotate270FlipH => (sw - y, sh - x),
        Orientation::Rotate270 => (sw - y, x),
    };
    let (x0, y0) = to_stored(left, top);
    let (x1, y1) = to_stored(left + width, top + height);
    (x0.min(x1), y0.min(y1), (x1 - x0).abs(), (y1 - y0).abs())
}

/// Turns `canvas` upright, in place when it already is.
pub fn apply(canvas: Canvas, orientation: Orientation) -> Result<Canvas, ProcessError> {
    if orientation == Orientation::NoTransforms {
        return Ok(canvas);
    }
    upright_copy(&canvas, orientation)
}

/// An upright copy of `canvas`, leaving it as it is (a resized frame that smaller variants
/// are still cut from). A tiled copy rather than `image`'s rotate, which walks the source
/// column by column and costs more on a 5 MP variant than the resize that made it.
pub fn upright_copy(canvas: &Canvas, orientation: Orientation) -> Result<Canvas, ProcessError> {
    let (w, h) = (canvas.width as usize, canvas.height as usize);
    let c = canvas.channels();
    if canvas.data.len() != w * h * c {
        return Err(ProcessError::internal(
            "orient: pixel buffer does not match its size",
        ));
    }
    if orientation == Orientation::NoTransforms {
        return Ok(canvas.clone());
    }
    let (dw, dh) = if swaps_axes(orientation) {
        (h, w)
    } else {
        (w, h)
    };
    let out = match c {
        3 => transform::<3>(&canvas.data, w, h, dw, dh, orientation),
        4 => transform::<4>(&canvas.data, w, h, dw, dh, orientation),
        _ => return Err(ProcessError::internal("orient: unexpected channel count")),
    };
    Ok(Canvas {
        width: dw as u32,
        height: dh as u32,
        has_alpha: canvas.has_alpha,
        data: out,
    })
}

/// Copies `src` (w x h pixels of C bytes) into a new dw x dh buffer turned by `orientation`.
/// Every orientation is a linear walk through the source, so each destination row is one
/// start index and one stride; tiles keep the strided reads inside the cache.
fn transform<const C: usize>(
    src: &[u8],
    w: usize,
    h: usize,
    dw: usize,
    dh: usize,
    orientation: Orientation,
) -> Vec<u8> {
    let (w_i, h_i) = (w as isize, h as isize);
    let last_row = (h_i - 1) * w_i;
    // (source pixel index of destination (0, 0), step per destination x, step per destination y)
    let (base, step_x, step_y) = match orientation {
        Orientation::NoTransforms => (0, 1, w_i),
        Orientation::FlipHorizontal => (w_i - 1, -1, w_i),
        Orientation::Rotate180 => (last_row + w_i - 1, -1, -w_i),
        Orientation::FlipVertical => (last_row, 1, -w_i),
        Orientation::Rotate90FlipH => (0, w_i, 1),
        Orientation::Rotate90 => (last_row, -w_i, 1),
        Orientation::Rotate270FlipH => (last_row + w_i - 1, -w_i, -1),
        Orientation::Rotate270 => (w_i - 1, w_i, -1),
    };
    const TILE: usize = 32;
    let mut out = vec![0u8; dw * dh * C];
    for ty in (0..dh).step_by(TILE) {
        for tx in (0..dw).step_by(TILE) {
            let tile_w = TILE.min(dw - tx);
            for dy in ty..(ty + TILE).min(dh) {
                let mut from = base + dy as isize * step_y + tx as isize * step_x;
                let row = &mut out[(dy * dw + tx) * C..(dy * dw + tx + tile_w) * C];
                for px in row.chunks_exact_mut(C) {
                    let at = from as usize * C;
                    px.copy_from_slice(&src[at..at + C]);
                    from += step_x;
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::DynamicImage;

    /// Pixels (left, top, width, height) of `canvas`, copied.
    fn cut(canvas: &Canvas, (l, t, w, h): (usize, usize, usize, usize)) -> Canvas {
        let c = canvas.channels();
        let stride = canvas.width as usize * c;
        let mut data = Vec::new();
        for y in t..t + h {
            data.extend_from_slice(&canvas.data[y * stride + l * c..y * stride + (l + w) * c]);
        }
        Canvas {
            width: w as u32,
            height: h as u32,
            has_alpha: canvas.has_alpha,
            data,
        }
    }

    #[test]
    fn an_off_centre_crop_cut_before_orienting_is_the_same_crop_after() {
        let (w, h) = (11u32, 7u32);
        let stored = Canvas {
            width: w,
            height: h,
            has_alpha: false,
            data: (0..w * h * 3).map(|i| (i % 251) as u8).collect(),
        };
        for n in 1..=8 {
            let o = Orientation::from_exif(n).unwrap();
            let upright = apply(stored.clone(), o).unwrap();
            for rect in [(0, 0, 2, 3), (1, 2, 3, 1), (3, 1, 1, 4)] {
                let (l, t, cw, ch) = rect;
                if l + cw > upright.width as usize || t + ch > upright.height as usize {
                    continue;
                }
                let expected = cut(&upright, rect);
                let (sl, st, sw, sh) = rect_to_stored(
                    o,
                    (f64::from(w), f64::from(h)),
                    (l as f64, t as f64, cw as f64, ch as f64),
                );
                let from_stored = cut(
                    &stored,
                    (sl as usize, st as usize, sw as usize, sh as usize),
                );
                assert_eq!(apply(from_stored, o).unwrap(), expected, "{n} {rect:?}");
            }
        }
    }

    #[test]
    fn matches_the_image_crate_for_every_orientation() {
        let (w, h) = (7u32, 5u32);
        for n in 1..=8 {
            let o = Orientation::from_exif(n).unwrap();
            let data: Vec<u8> = (0..w * h * 4).map(|i| (i % 253) as u8).collect();
            let canvas = Canvas {
                width: w,
                height: h,
                has_alpha: true,
                data: data.clone(),
            };
            let ours = apply(canvas, o).unwrap();
            let mut reference =
                DynamicImage::ImageRgba8(image::RgbaImage::from_raw(w, h, data).unwrap());
            reference.apply_orientation(o);
            assert_eq!(ours.data, reference.into_rgba8().into_raw(), "RGBA {n}");
        }
        let data: Vec<u8> = (0..w * h * 3).map(|i| (i % 251) as u8).collect();
        for n in 1..=8 {
            let o = Orientation::from_exif(n).unwrap();
            let canvas = Canvas {
                width: w,
                height: h,
                has_alpha: false,
                data: data.clone(),
            };
            let ours = apply(canvas, o).unwrap();
            let mut reference =
                DynamicImage::ImageRgb8(image::RgbImage::from_raw(w, h, data.clone()).unwrap());
            reference.apply_orientation(o);
            assert_eq!(
                (ours.width, ours.height),
                (reference.width(), reference.height()),
                "{n}"
            );
            assert_eq!(
                ours.data,
                reference.into_rgb8().into_raw(),
                "orientation {n}"
            );
        }
    }
}
