//! Watermarks: a PNG logo and a line of text, blended in place over their own region only.

use super::canvas::Canvas;
use crate::error::ProcessError;
use crate::spec::{Anchor, Color, Spec, SpecError, Watermark};
use ab_glyph::{FontArc, PxScale};
use fast_image_resize::pixels::U8x4;
use fast_image_resize::{ResizeOptions, Resizer};
use image::{GrayImage, Luma, RgbaImage};

/// The bundled font (Go Bold, BSD-3-Clause; see assets/Go-Font-LICENSE.txt).
const FONT: &[u8] = include_bytes!("../../assets/Go-Bold.ttf");
/// Text of the built-in logo, used when the spec names no logo file.
const DEFAULT_MARK: &str = "PICTOR";

/// Prepared watermark assets, built once per spec and shared by every image.
pub struct Watermarker {
    spec: Watermark,
    logo: Logo,
    font: FontArc,
}

enum Logo {
    Off,
    File(RgbaImage),
    /// The built-in mark, drawn on first use: drawing the text and its outline took a few
    /// milliseconds of every function's cold start, before its first poll for work.
    BuiltIn(std::sync::OnceLock<RgbaImage>),
}

impl Watermarker {
    /// Loads the logo and font. Also returns the bytes that identify the logo, for the spec hash.
    pub fn new(spec: &Spec) -> Result<(Watermarker, Vec<u8>), SpecError> {
        let font = FontArc::try_from_slice(FONT)
            .map_err(|e| SpecError::Invalid(format!("bundled font unreadable: {e}")))?;
        let wm = spec.watermark.clone();
        let (logo, identity) = match (wm.logo.enabled, spec.logo_path()) {
            (false, _) => (Logo::Off, Vec::new()),
            (true, Some(path)) => {
                let logo_err = |reason: String| SpecError::Logo {
                    path: path.clone(),
                    reason,
                };
                let bytes = std::fs::read(&path).map_err(|e| logo_err(e.to_string()))?;
                let logo = image::load_from_memory_with_format(&bytes, image::ImageFormat::Png)
                    .map_err(|e| logo_err(format!("not a readable PNG: {e}")))?
                    .into_rgba8();
                (Logo::File(logo), bytes)
            }
            (true, None) => (
                Logo::BuiltIn(std::sync::OnceLock::new()),
                DEFAULT_MARK.as_bytes().to_vec(),
            ),
        };
        Ok((
            Watermarker {
                spec: wm,
                logo,
                font,
            },
            identity,
        ))
    }

    fn logo(&self) -> Option<&RgbaImage> {
        match &self.logo {
            Logo::Off => None,
            Logo::File(logo) => Some(logo),
            Logo::BuiltIn(drawn) => Some(
                drawn.get_or_init(|| render_label(&self.font, DEFAULT_MARK, 120.0, Color::WHITE)),
            ),
        }
    }

    pub fn applies_to(&self, width: u32) -> bool {
        width >= self.spec.min_width
    }

    /// Draws the logo and the text (when the template can be filled) onto `canvas`.
    pub fn apply(
        &self,
        canvas: &mut Canvas,
        resizer: &mut Resizer,
        creator: Option<&str>,
    ) -> Result<(), ProcessError> {
        if !self.applies_to(canvas.width) {
            return Ok(());
        }
        let width = canvas.width as f32;
        if let Some(logo) = self.logo() {
            let mark = &self.spec.logo;
            let target_w = ((width * mark.scale).round() as u32).clamp(1, canvas.width);
            let target_h = ((logo.height() as f32 * target_w as f32 / logo.width() as f32).round()
                as u32)
                .clamp(1, canvas.height);
            let scaled = scale_rgba(resizer, logo, target_w, target_h)?;
            let margin = (width * mark.margin).round() as u32;
            blend_at(canvas, &scaled, mark.anchor, margin, mark.opacity);
        }
        let text = &self.spec.text;
        if text.enabled {
            if let Some(line) = fill_template(&text.template, creator) {
                let px = (width * text.size).max(6.0);
                let label = render_label(&self.font, &line, px, text.color);
                let margin = (width * text.margin).round() as u32;
                blend_at(canvas, &label, text.anchor, margin, text.opacity);
            }
        }
        Ok(())
    }
}

/// `None` when the template needs a creator and there is none: better no text than "© ".
fn fill_template(template: &str, creator: Option<&str>) -> Option<String> {
    if template.contains("{creator}") {
        let creator = creator.map(str::trim).filter(|c| !c.is_empty())?;
        Some(template.replace("{creator}", creator))
    } else {
        Some(template.to_string())
    }
}

fn scale_rgba(
    resizer: &mut Resizer,
    src: &RgbaImage,
    width: u32,
    height: u32,
) -> Result<RgbaImage, ProcessError> {
    if (width, height) == src.dimensions() {
        return Ok(src.clone());
    }
    let from = (src.width(), src.height(), src.as_raw().as_slice());
    let data =
        super::resize::resize_pixels::<U8x4>(resizer, from, (width, height), &ResizeOptions::new())
            .map_err(|e| ProcessError::internal(format!("watermark: {e}")))?;
    RgbaImage::from_raw(width, height, data)
        .ok_or_else(|| ProcessError::internal("watermark: scaled logo has the wrong size"))
}

/// Text in `color` with a soft dark outline so it reads on light and dark photos alike.
fn render_label(font: &FontArc, text: &str, px: f32, color: Color) -> RgbaImage {
    let scale = PxScale::from(px);
    let (tw, th) = imageproc::drawing::text_size(scale, font, text);
    let pad = (px / 10.0).ceil() as u32 + 1;
    let (w, h) = (tw + 2 * pad, th + 2 * pad);
    let mut mask = GrayImage::new(w, h);
    imageproc::drawing::draw_text_mut(
        &mut mask,
        Luma([255]),
        pad as i32,
        pad as i32,
        scale,
        font,
        text,
    );
    let outline = dilate(&mask, (px / 18.0).ceil() as u32);
    let mut out = RgbaImage::new(w, h);
    for (x, y, px_out) in out.enumerate_pixels_mut() {
        let fill = f32::from(mask.get_pixel(x, y).0[0]) / 255.0;
        let shadow = f32::from(outline.get_pixel(x, y).0[0]) / 255.0 * 0.6;
        let a = fill + shadow * (1.0 - fill);
        if a <= 0.0 {
            continue;
        }
        // Straight-alpha "fill over black shadow": colour weight is fill / a.
        let k = fill / a;
        let c = |v: u8| (f32::from(v) * k).round() as u8;
        *px_out = image::Rgba([
            c(color.0[0]),
            c(color.0[1]),
            c(color.0[2]),
            (a * 255.0).round() as u8,
        ]);
    }
    out
}

/// Square max filter: grows the glyph mask into an outline.
fn dilate(mask: &GrayImage, radius: u32) -> GrayImage {
    let (w, h) = mask.dimensions();
    let r = radius as i64;
    let pass = |src: &GrayImage, horizontal: bool| {
        let mut out = GrayImage::new(w, h);
        for y in 0..h {
            for x in 0..w {
                let mut m = 0u8;
                for d in -r..=r {
                    let (sx, sy) = if horizontal {
                        (x as i64 + d, y as i64)
                    } else {
                        (x as i64, y as i64 + d)
                    };
                    if sx >= 0 && sy >= 0 && sx < w as i64 && sy < h as i64 {
                        m = m.max(src.get_pixel(sx as u32, sy as u32).0[0]);
                    }
                }
                out.put_pixel(x, y, Luma([m]));
            }
        }
        out
    };
    pass(&pass(mask, true), false)
}

/// Composites `overlay` (straight alpha) over `canvas` at an anchor, touching only its region.
fn blend_at(canvas: &mut Canvas, overlay: &RgbaImage, anchor: Anchor, margin: u32, opacity: f32) {
    let (ow, oh) = (
        overlay.width().min(canvas.width),
        overlay.height().min(canvas.height),
    );
    let (fx, fy) = anchor.fractions();
    let place = |space: u32, size: u32, f: f32| -> u32 {
        let margin = margin.min(space.saturating_sub(size) / 2);
        let free = space.saturating_sub(size + 2 * margin);
        margin + (free as f32 * f).round() as u32
    };
    let x0 = place(canvas.width, ow, fx);
    let y0 = place(canvas.height, oh, fy);
    let channels = canvas.channels();
    let row_len = canvas.width as usize * channels;
    for oy in 0..oh {
        let row = (y0 + oy) as usize * row_len;
        for ox in 0..ow {
            let o = overlay.get_pixel(ox, oy).0;
            let a_src = f32::from(o[3]) / 255.0 * opacity;
            if a_src <= 0.0 {
                continue;
            }
            let i = row + (x0 + ox) as usize * channels;
            let px = &mut canvas.data[i..i + channels];
            let a_dst = if channels == 4 {
                f32::from(px[3]) / 255.0
            } else {
                1.0
            };
            let a_out = a_src + a_dst * (1.0 - a_src);
            for c in 0..3 {
                let v =
                    (f32::from(o[c]) * a_src + f32::from(px[c]) * a_dst * (1.0 - a_src)) / a_out;
                px[c] = v.round().clamp(0.0, 255.0) as u8;
            }
            if channels == 4 {
                px[3] = (a_out * 255.0).round() as u8;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_needs_its_creator() {
        assert_eq!(
            fill_template("© {creator}", Some("ana")).as_deref(),
            Some("© ana")
        );
        assert_eq!(fill_template("© {creator}", None), None);
        assert_eq!(fill_template("© {creator}", Some("  ")), None);
        assert_eq!(fill_template("ACME", None).as_deref(), Some("ACME"));
    }

    #[test]
    fn default_mark_renders_opaque_white_glyphs() {
        let font = FontArc::try_from_slice(FONT).unwrap();
        let label = render_label(&font, DEFAULT_MARK, 60.0, Color::WHITE);
        assert!(label.width() > label.height());
        assert!(label.pixels().any(|p| p.0 == [255, 255, 255, 255]));
        assert!(label.pixels().any(|p| p.0[3] == 0));
    }

    #[test]
    fn blend_touches_only_the_anchor_region() {
        let mut canvas = Canvas {
            width: 100,
            height: 50,
            has_alpha: false,
            data: vec![0; 100 * 50 * 3],
        };
        let overlay = RgbaImage::from_pixel(10, 10, image::Rgba([255, 255, 255, 255]));
        blend_at(&mut canvas, &overlay, Anchor::BottomRight, 5, 0.5);
        assert_eq!(canvas.pixel(90, 40), &[128, 128, 128]);
        assert_eq!(canvas.pixel(84, 40), &[0, 0, 0]);
        assert_eq!(canvas.pixel(95, 45), &[0, 0, 0]);
        assert_eq!(canvas.pixel(5, 5), &[0, 0, 0]);
    }
}
