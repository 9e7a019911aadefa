//! The working image between decode and encode: 8-bit sRGB, RGB or RGBA (straight alpha).

use image::DynamicImage;

#[derive(Debug, Clone, PartialEq)]
pub struct Canvas {
    pub width: u32,
    pub height: u32,
    /// 4 channels (RGBA) when true, 3 (RGB) otherwise.
    pub has_alpha: bool,
    pub data: Vec<u8>,
}

impl Canvas {
    pub fn channels(&self) -> usize {
        if self.has_alpha {
            4
        } else {
            3
        }
    }

    /// Converts any decoded image to 8-bit RGB(A). 16-bit samples are rounded, not truncated,
    /// and an alpha channel that is opaque everywhere is dropped so the rest of the pipeline
    /// does not pay for it.
    pub fn from_image(image: DynamicImage) -> Canvas {
        let (width, height) = (image.width(), image.height());
        if image.color().has_alpha() {
            let rgba = image.into_rgba8();
            if rgba.pixels().any(|p| p.0[3] < 255) {
                return Canvas {
                    width,
                    height,
                    has_alpha: true,
                    data: rgba.into_raw(),
                };
            }
            let data = rgba
                .into_raw()
                .chunks_exact(4)
                .flat_map(|p| [p[0], p[1], p[2]])
                .collect();
            return Canvas {
                width,
                height,
                has_alpha: false,
                data,
            };
        }
        Canvas {
            width,
            height,
            has_alpha: false,
            data: image.into_rgb8().into_raw(),
        }
    }

    /// Composites onto an opaque background, for formats without alpha.
    pub fn flattened(&self, background: [u8; 3]) -> Canvas {
        if !self.has_alpha {
            return self.clone();
        }
        let mut data = vec![0u8; self.data.len() / 4 * 3];
        let (out_runs, out_rest) = data.as_chunks_mut::<24>();
        let (in_runs, in_rest) = self.data.as_chunks::<32>();
        for (rgb, rgba) in out_runs.iter_mut().zip(in_runs) {
            *rgb = flatten_run(rgba, background);
        }
        for (out, px) in out_rest.chunks_exact_mut(3).zip(in_rest.chunks_exact(4)) {
            out.copy_from_slice(&flatten_pixel(px, background));
        }
        Canvas {
            width: self.width,
            height: self.height,
            has_alpha: false,
            data,
        }
    }

    /// [`Canvas::flattened`] in the canvas's own buffer, which the source picture can spare:
    /// no second picture-sized buffer to fault in. Run `i` writes bytes `24i..24i+24`, which
    /// end where run `i + 1` starts reading (`32i + 32`), so nothing is overwritten unread.
    pub fn into_flattened(mut self, background: [u8; 3]) -> Canvas {
        if !self.has_alpha {
            return self;
        }
        let pixels = self.data.len() / 4;
        let runs = pixels / 8;
        for run in 0..runs {
            let mut rgba = [0u8; 32];
            rgba.copy_from_slice(&self.data[32 * run..32 * run + 32]);
            let rgb = flatten_run(&rgba, background);
            self.data[24 * run..24 * run + 24].copy_from_slice(&rgb);
        }
        for px in runs * 8..pixels {
            let mut rgba = [0u8; 4];
            rgba.copy_from_slice(&self.data[4 * px..4 * px + 4]);
            self.data[3 * px..3 * px + 3].copy_from_slice(&flatten_pixel(&rgba, background));
        }
        self.data.truncate(pixels * 3);
        self.has_alpha = false;
        self
    }

    pub fn pixel(&self, x: u32, y: u32) -> &[u8] {
        let c = self.channels();
        let i = (y as usize * self.width as usize + x as usize) * c;
        &self.data[i..i + c]
    }
}

/// Eight RGBA pixels composited onto `background`. Fixed-size, so the compiler turns it into
/// SIMD shuffles and multiplies; opaque runs (most of a real image) are only repacked.
fn flatten_run(rgba: &[u8; 32], background: [u8; 3]) -> [u8; 24] {
    let mut rgb = [0u8; 24];
    if (0..8).all(|k| rgba[4 * k + 3] == 255) {
        for k in 0..8 {
            rgb[3 * k..3 * k + 3].copy_from_slice(&rgba[4 * k..4 * k + 3]);
        }
        return rgb;
    }
    // Planar lanes so the arithmetic is eight 16-bit lanes per channel.
    let mut alpha = [0u16; 8];
    let mut planes = [[0u16; 8]; 3];
    for k in 0..8 {
        alpha[k] = u16::from(rgba[4 * k + 3]);
        for c in 0..3 {
            planes[c][k] = u16::from(rgba[4 * k + c]);
        }
    }
    for (plane, bg) in planes.iter_mut().zip(background) {
        for (v, a) in plane.iter_mut().zip(alpha) {
            *v = u16::from(div255(*v * a + u16::from(bg) * (255 - a)));
        }
    }
    for k in 0..8 {
        for c in 0..3 {
            rgb[3 * k + c] = planes[c][k] as u8;
        }
    }
    rgb
}

fn flatten_pixel(px: &[u8], background: [u8; 3]) -> [u8; 3] {
    let a = u16::from(px[3]);
    std::array::from_fn(|c| div255(u16::from(px[c]) * a + u16::from(background[c]) * (255 - a)))
}

/// `x / 255` rounded to nearest for `x <= 255 * 255`, without a division; in 16 bits (no
/// step exceeds 65,407) so that eight pixels fit one SSE2 register.
fn div255(x: u16) -> u8 {
    let x = x + 128;
    ((x + (x >> 8)) >> 8) as u8
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{Rgba, RgbaImage};

    #[test]
    fn opaque_alpha_is_dropped_and_real_alpha_kept() {
        let opaque = RgbaImage::from_pixel(2, 2, Rgba([1, 2, 3, 255]));
        let c = Canvas::from_image(DynamicImage::ImageRgba8(opaque));
        assert!(!c.has_alpha);
        assert_eq!(c.data, [1, 2, 3].repeat(4));
        let mut clear = RgbaImage::from_pixel(2, 2, Rgba([1, 2, 3, 255]));
        clear.put_pixel(1, 1, Rgba([0, 0, 0, 0]));
        assert!(Canvas::from_image(DynamicImage::ImageRgba8(clear)).has_alpha);
    }

    #[test]
    fn div255_rounds_like_the_division() {
        for x in 0..=255 * 255 {
            assert_eq!(u32::from(div255(x as u16)), (x + 127) / 255, "{x}");
        }
    }

    #[test]
    fn flatten_blends_onto_background() {
        let c = Canvas {
            width: 2,
            height: 1,
            has_alpha: true,
            data: vec![255, 0, 0, 0, 255, 0, 0, 128],
        };
        let flat = c.flattened([255, 255, 255]);
        assert_eq!(&flat.data[..3], &[255, 255, 255]);
        assert_eq!(&flat.data[3..], &[255, 127, 127]);
    }

    #[test]
    fn flattening_in_place_matches_the_copy() {
        // 8-pixel runs and a tail, opaque and translucent, so both paths of both loops run.
        for pixels in [1usize, 7, 8, 9, 8 * 5 + 3] {
            let data: Vec<u8> = (0..pixels * 4)
                .map(|i| match (i % 4, i / 32 % 2) {
                    (3, 0) => 255,
                    _ => (i * 37 % 256) as u8,
                })
                .collect();
            let c = Canvas {
                width: pixels as u32,
                height: 1,
                has_alpha: true,
                data,
            };
            let copy = c.flattened([10, 200, 30]);
            assert_eq!(c.into_flattened([10, 200, 30]), copy, "{pixels} pixels");
        }
    }
}
