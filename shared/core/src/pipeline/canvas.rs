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
        let data = self
            .data
            .chunks_exact(4)
            .flat_map(|p| {
                let a = u32::from(p[3]);
                let mix = |c: u8, bg: u8| {
                    ((u32::from(c) * a + u32::from(bg) * (255 - a) + 127) / 255) as u8
                };
                [
                    mix(p[0], background[0]),
                    mix(p[1], background[1]),
                    mix(p[2], background[2]),
                ]
            })
            .collect();
        Canvas {
            width: self.width,
            height: self.height,
            has_alpha: false,
            data,
        }
    }

    pub fn pixel(&self, x: u32, y: u32) -> &[u8] {
        let c = self.channels();
        let i = (y as usize * self.width as usize + x as usize) * c;
        &self.data[i..i + c]
    }
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
}
