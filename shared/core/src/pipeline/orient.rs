//! EXIF orientation, applied to resized variants rather than to the full source.

use super::canvas::Canvas;
use crate::error::ProcessError;
use image::metadata::Orientation;
use image::DynamicImage;

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

/// Turns `canvas` upright.
pub fn apply(canvas: Canvas, orientation: Orientation) -> Result<Canvas, ProcessError> {
    if orientation == Orientation::NoTransforms {
        return Ok(canvas);
    }
    let Canvas {
        width,
        height,
        has_alpha,
        data,
    } = canvas;
    let mut image = if has_alpha {
        image::RgbaImage::from_raw(width, height, data).map(DynamicImage::ImageRgba8)
    } else {
        image::RgbImage::from_raw(width, height, data).map(DynamicImage::ImageRgb8)
    }
    .ok_or_else(|| ProcessError::internal("orient: pixel buffer does not match its size"))?;
    image.apply_orientation(orientation);
    let (width, height) = (image.width(), image.height());
    let data = if has_alpha {
        image.into_rgba8().into_raw()
    } else {
        image.into_rgb8().into_raw()
    };
    Ok(Canvas {
        width,
        height,
        has_alpha,
        data,
    })
}
