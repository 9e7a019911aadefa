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

/// Turns `canvas` upright. A tiled copy rather than `image`'s rotate, which walks the source
/// column by column and costs more on a 5 MP variant than the resize that made it.
pub fn apply(canvas: Canvas, orientation: Orientation) -> Result<Canvas, ProcessError> {
    if orientation == Orientation::NoTransforms {
        return Ok(canvas);
    }
    let (w, h) = (canvas.width as usize, canvas.height as usize);
    let c = canvas.channels();
    if canvas.data.len() != w * h * c {
        return Err(ProcessError::internal(
            "orient: pixel buffer does not match its size",
        ));
    }
    let (dw, dh) = if swaps_axes(orientation) {
        (h, w)
    } else {
        (w, h)
    };
    // Source pixel (x, y) for destination pixel (dx, dy).
    let source = |dx: usize, dy: usize| -> (usize, usize) {
        match orientation {
            Orientation::NoTransforms => (dx, dy),
            Orientation::FlipHorizontal => (w - 1 - dx, dy),
            Orientation::Rotate180 => (w - 1 - dx, h - 1 - dy),
            Orientation::FlipVertical => (dx, h - 1 - dy),
            Orientation::Rotate90FlipH => (dy, dx),
            Orientation::Rotate90 => (dy, h - 1 - dx),
            Orientation::Rotate270FlipH => (w - 1 - dy, h - 1 - dx),
            Orientation::Rotate270 => (w - 1 - dy, dx),
        }
    };
    const TILE: usize = 64;
    let mut out = vec![0u8; canvas.data.len()];
    for ty in (0..dh).step_by(TILE) {
        for tx in (0..dw).step_by(TILE) {
            for dy in ty..(ty + TILE).min(dh) {
                for dx in tx..(tx + TILE).min(dw) {
                    let (sx, sy) = source(dx, dy);
                    let from = (sy * w + sx) * c;
                    let to = (dy * dw + dx) * c;
                    out[to..to + c].copy_from_slice(&canvas.data[from..from + c]);
                }
            }
        }
    }
    Ok(Canvas {
        width: dw as u32,
        height: dh as u32,
        has_alpha: canvas.has_alpha,
        data: out,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::DynamicImage;

    #[test]
    fn matches_the_image_crate_for_every_orientation() {
        let (w, h) = (7u32, 5u32);
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
