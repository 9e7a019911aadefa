//! Geometry of each variant and the SIMD resize itself (fast_image_resize picks SSE4.1, AVX2 or
//! NEON at run time). Never upscales; `cover` crops around a focal point.

use super::attention::FocalPoint;
use super::canvas::Canvas;
use super::orient;
use crate::error::ProcessError;
use crate::spec::{Fit, Variant};
use fast_image_resize::images::{TypedImage, TypedImageRef};
use fast_image_resize::pixels::{U8x3, U8x4};
use fast_image_resize::{FilterType, PixelTrait, ResizeAlg, ResizeOptions, Resizer};

/// The output size of one variant and the source region it is drawn from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Geometry {
    pub width: u32,
    pub height: u32,
    /// Source crop (left, top, width, height) in source pixels; `None` is the whole image.
    pub crop: Option<(f64, f64, f64, f64)>,
}

impl Geometry {
    pub fn is_identity(&self, src_width: u32, src_height: u32) -> bool {
        self.crop.is_none() && self.width == src_width && self.height == src_height
    }

    /// The same geometry for a source stored as `stored` (width, height) that `orientation`
    /// turns upright: the output's axes trade places when it turns by 90 degrees, and the
    /// crop becomes the stored rectangle that turns into it.
    pub fn in_stored_orientation(
        &self,
        orientation: image::metadata::Orientation,
        (stored_width, stored_height): (u32, u32),
    ) -> Geometry {
        let (width, height) = if orient::swaps_axes(orientation) {
            (self.height, self.width)
        } else {
            (self.width, self.height)
        };
        let stored = (f64::from(stored_width), f64::from(stored_height));
        Geometry {
            width,
            height,
            crop: self
                .crop
                .map(|rect| orient::rect_to_stored(orientation, stored, rect)),
        }
    }
}

/// Picks the smallest already-resized full frame that still has enough pixels for `target`
/// (which is planned against the full source), and restates `target` against it.
pub fn cheapest_source<'a>(
    source: &'a Canvas,
    cascade: &'a [Canvas],
    target: &Geometry,
) -> (&'a Canvas, Geometry) {
    let (sw, sh) = (f64::from(source.width), f64::from(source.height));
    // Source pixels per output pixel that the target needs, per axis.
    let (need_x, need_y) = match target.crop {
        Some((_, _, cw, ch)) => (f64::from(target.width) / cw, f64::from(target.height) / ch),
        None => (f64::from(target.width) / sw, f64::from(target.height) / sh),
    };
    let candidate = cascade
        .iter()
        .filter(|c| f64::from(c.width) / sw >= need_x && f64::from(c.height) / sh >= need_y)
        .min_by_key(|c| u64::from(c.width) * u64::from(c.height));
    let Some(smaller) = candidate else {
        return (source, *target);
    };
    let (fx, fy) = (
        f64::from(smaller.width) / sw,
        f64::from(smaller.height) / sh,
    );
    let crop = target
        .crop
        .map(|(left, top, w, h)| (left * fx, top * fy, w * fx, h * fy));
    (
        smaller,
        Geometry {
            width: target.width,
            height: target.height,
            crop,
        },
    )
}

/// The geometry of `variant` for an upright source of `src_width` x `src_height`. A `cover`
/// crop is the largest region with the box's aspect ratio, centred on `focus` as far as the
/// image's edges allow.
pub fn plan(src_width: u32, src_height: u32, variant: &Variant, focus: FocalPoint) -> Geometry {
    let (w, h) = (f64::from(src_width), f64::from(src_height));
    let box_w = f64::from(variant.width);
    match (variant.fit, variant.height) {
        (Fit::Cover, Some(box_h)) => {
            let box_h = f64::from(box_h);
            // Largest region with the box's aspect ratio...
            let crop_w = w.min(h * box_w / box_h);
            let crop_h = h.min(w * box_h / box_w);
            // Whole source pixels: a crop at the output's own size is then a plain copy.
            let left = (focus.x * w - crop_w / 2.0).round().clamp(0.0, w - crop_w);
            let top = (focus.y * h - crop_h / 2.0).round().clamp(0.0, h - crop_h);
            // ...scaled down to the box, or kept at its own size when smaller (no upscaling).
            let (width, height) = if crop_w >= box_w {
                (variant.width, box_h as u32)
            } else {
                (round_side(crop_w), round_side(crop_h))
            };
            // The whole frame already has the box's shape: no crop, whatever the focus.
            let crop = if (w - crop_w).abs() < 1e-9 && (h - crop_h).abs() < 1e-9 {
                None
            } else {
                Some((left, top, crop_w, crop_h))
            };
            Geometry {
                width,
                height,
                crop,
            }
        }
        (_, box_h) => inside(src_width, src_height, variant.width, box_h),
    }
}

/// Fits the whole image within `box_w` x `box_h` (unbounded height when `None`), keeping its
/// aspect ratio and never enlarging it.
pub fn inside(src_width: u32, src_height: u32, box_w: u32, box_h: Option<u32>) -> Geometry {
    let (w, h) = (f64::from(src_width), f64::from(src_height));
    let box_h = box_h.map_or(f64::INFINITY, f64::from);
    let scale = (f64::from(box_w) / w).min(box_h / h).min(1.0);
    Geometry {
        width: round_side(w * scale),
        height: round_side(h * scale),
        crop: None,
    }
}

fn round_side(x: f64) -> u32 {
    (x.round() as u32).max(1)
}

/// Resizes with Lanczos3. Alpha is premultiplied for the convolution and divided out after,
/// so transparent pixels do not bleed dark fringes into opaque ones.
pub fn resize(
    resizer: &mut Resizer,
    src: &Canvas,
    geometry: &Geometry,
) -> Result<Canvas, ProcessError> {
    if geometry.is_identity(src.width, src.height) {
        return Ok(src.clone());
    }
    let mut options = ResizeOptions::new().resize_alg(ResizeAlg::Convolution(FilterType::Lanczos3));
    if let Some((left, top, width, height)) = geometry.crop {
        options = options.crop(left, top, width, height);
    }
    let from = (src.width, src.height, src.data.as_slice());
    let to = (geometry.width, geometry.height);
    let data = if src.has_alpha {
        resize_pixels::<U8x4>(resizer, from, to, &options)
    } else {
        resize_pixels::<U8x3>(resizer, from, to, &options)
    }
    .map_err(|e| ProcessError::internal(format!("resize: {e}")))?;
    Ok(Canvas {
        width: geometry.width,
        height: geometry.height,
        has_alpha: src.has_alpha,
        data,
    })
}

/// Resizes packed pixels of type `P` (`width`, `height`, bytes) to `to`. Typed, so only the
/// pixel types Pictor uses (RGB and RGBA bytes) are compiled in: the untyped entry point
/// brings the SIMD code of all thirteen, most of the resize library's size in the binary.
pub(super) fn resize_pixels<P: PixelTrait>(
    resizer: &mut Resizer,
    (width, height, bytes): (u32, u32, &[u8]),
    (to_width, to_height): (u32, u32),
    options: &ResizeOptions,
) -> Result<Vec<u8>, String> {
    let src = TypedImageRef::<P>::from_buffer(width, height, bytes).map_err(|e| e.to_string())?;
    let mut data = vec![0u8; to_width as usize * to_height as usize * P::size()];
    let mut dst =
        TypedImage::<P>::from_buffer(to_width, to_height, &mut data).map_err(|e| e.to_string())?;
    resizer
        .resize_typed(&src, &mut dst, options)
        .map_err(|e| e.to_string())?;
    Ok(data)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::OutputFormat;

    fn variant(width: u32, height: Option<u32>, fit: Fit) -> Variant {
        Variant {
            name: "v".into(),
            width,
            height,
            fit,
            format: OutputFormat::Jpeg,
            quality: 80.into(),
            progressive: false,
            speed: None,
            focus: None,
        }
    }

    #[test]
    fn inside_keeps_aspect_and_never_upscales() {
        let g = plan(
            4000,
            3000,
            &variant(2048, None, Fit::Inside),
            FocalPoint::CENTRE,
        );
        assert_eq!((g.width, g.height), (2048, 1536));
        let g = plan(
            3000,
            4000,
            &variant(1024, Some(1024), Fit::Inside),
            FocalPoint::CENTRE,
        );
        assert_eq!((g.width, g.height), (768, 1024));
        let g = plan(
            300,
            200,
            &variant(2048, None, Fit::Inside),
            FocalPoint::CENTRE,
        );
        assert_eq!((g.width, g.height), (300, 200));
        assert!(g.is_identity(300, 200));
    }

    #[test]
    fn cover_crops_around_the_focus_within_the_image() {
        let thumb = variant(256, Some(256), Fit::Cover);
        let g = plan(4000, 3000, &thumb, FocalPoint::CENTRE);
        assert_eq!((g.width, g.height), (256, 256));
        assert_eq!(g.crop, Some((500.0, 0.0, 3000.0, 3000.0)));
        // Smaller than the box: the largest centred square, not enlarged.
        let g = plan(200, 100, &thumb, FocalPoint::CENTRE);
        assert_eq!((g.width, g.height), (100, 100));
        assert_eq!(g.crop, Some((50.0, 0.0, 100.0, 100.0)));
        // Off centre: the square moves towards the focus until it meets the edge.
        let at = |x, y| FocalPoint::new(x, y).unwrap();
        let g = plan(4000, 3000, &thumb, at(0.25, 0.1));
        assert_eq!(g.crop, Some((0.0, 0.0, 3000.0, 3000.0)));
        let g = plan(4000, 3000, &thumb, at(0.6, 0.5));
        assert_eq!(g.crop, Some((900.0, 0.0, 3000.0, 3000.0)));
        let g = plan(3000, 4000, &thumb, at(0.5, 0.3));
        assert_eq!(g.crop, Some((0.0, 0.0, 3000.0, 3000.0)));
        let g = plan(3000, 4000, &thumb, at(0.5, 0.9));
        assert_eq!(g.crop, Some((0.0, 1000.0, 3000.0, 3000.0)));
    }
}
