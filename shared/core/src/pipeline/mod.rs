//! The per-image pipeline: decode -> colour -> orient -> resize -> watermark -> encode.
//!
//! Pure and synchronous: bytes in, encoded renditions and facts out. Storage lives elsewhere.

pub mod analyze;
pub mod canvas;
pub mod color;
pub mod decode;
pub mod encode;
pub mod resize;
pub mod watermark;

use crate::error::ProcessError;
use crate::spec::{spec_hash, OutputFormat, Spec, SpecError};
use analyze::{ExifSummary, Preview};
use canvas::Canvas;
pub use decode::SourceFormat;
use fast_image_resize::Resizer;
use image::metadata::Orientation;
use serde::{Deserialize, Serialize};
use std::time::Instant;
use watermark::Watermarker;

/// Facts about a source image, recorded with its asset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SourceInfo {
    pub format: SourceFormat,
    /// Upright (after EXIF orientation) width and height.
    pub width: u32,
    pub height: u32,
    pub has_alpha: bool,
    pub frame_count: u32,
    pub exif: ExifSummary,
    pub blurhash: Option<String>,
    pub dominant_color: Option<String>,
}

/// One encoded output.
#[derive(Debug, Clone, PartialEq)]
pub struct Rendition {
    pub name: String,
    pub format: OutputFormat,
    pub width: u32,
    pub height: u32,
    pub data: Vec<u8>,
}

impl Rendition {
    /// File name within the asset's folder: `<name>.<ext>`.
    pub fn file_name(&self) -> String {
        format!("{}.{}", self.name, self.format.extension())
    }
}

/// Milliseconds spent per stage for one image.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Timings {
    pub decode_ms: f64,
    pub orient_ms: f64,
    pub analyze_ms: f64,
    pub resize_ms: f64,
    pub watermark_ms: f64,
    pub encode_ms: f64,
    pub total_ms: f64,
}

impl Timings {
    /// Hundredths of a millisecond is all the precision worth storing (and it survives a JSON
    /// round trip unchanged).
    fn round_to_hundredths(&mut self) {
        for t in [
            &mut self.decode_ms,
            &mut self.orient_ms,
            &mut self.analyze_ms,
            &mut self.resize_ms,
            &mut self.watermark_ms,
            &mut self.encode_ms,
            &mut self.total_ms,
        ] {
            *t = (*t * 100.0).round() / 100.0;
        }
    }
}

#[derive(Debug, Clone)]
pub struct Processed {
    pub info: SourceInfo,
    pub renditions: Vec<Rendition>,
    pub timings: Timings,
}

/// A spec made ready to run: logo and font loaded, hash computed. Build once, share freely.
pub struct Pipeline {
    spec: Spec,
    spec_hash: String,
    watermarker: Watermarker,
}

impl Pipeline {
    pub fn new(spec: Spec) -> Result<Pipeline, SpecError> {
        spec.validate()?;
        let (watermarker, logo_identity) = Watermarker::new(&spec)?;
        let spec_hash = spec_hash(&spec, &logo_identity);
        Ok(Pipeline {
            spec,
            spec_hash,
            watermarker,
        })
    }

    pub fn spec(&self) -> &Spec {
        &self.spec
    }

    pub fn spec_hash(&self) -> &str {
        &self.spec_hash
    }

    /// Runs the whole pipeline on one source. Never panics on any input: a panic anywhere
    /// inside becomes an `internal` error for this image.
    pub fn process(&self, bytes: &[u8], creator: Option<&str>) -> Result<Processed, ProcessError> {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.run(bytes, creator)))
            .unwrap_or_else(|_| Err(ProcessError::internal("image processing panicked")))
    }

    fn run(&self, bytes: &[u8], creator: Option<&str>) -> Result<Processed, ProcessError> {
        let started = Instant::now();
        let mut timings = Timings::default();
        let mut clock = Instant::now();
        let mut lap = |slot: &mut f64| {
            let now = Instant::now();
            *slot += (now - clock).as_secs_f64() * 1e3;
            clock = now;
        };

        let decoded = decode::decode(bytes, &self.spec.limits)?;
        let mut canvas = Canvas::from_image(decoded.image);
        color::to_srgb(&mut canvas, decoded.icc_profile.as_deref());
        lap(&mut timings.decode_ms);

        let canvas = orient(canvas, decoded.orientation)?;
        lap(&mut timings.orient_ms);

        let mut resizer = Resizer::new();
        // BlurHash and dominant colour need only a thumbnail-sized view.
        let preview = resize::resize(
            &mut resizer,
            &canvas,
            &resize::inside(canvas.width, canvas.height, 32, Some(32)),
        )?;
        let preview_rgba = analyze::rgba_bytes(&preview);
        let preview = Preview {
            width: preview.width,
            height: preview.height,
            rgba: &preview_rgba,
        };
        let info = SourceInfo {
            format: decoded.format,
            width: canvas.width,
            height: canvas.height,
            has_alpha: canvas.has_alpha,
            frame_count: decoded.frame_count,
            exif: ExifSummary::from_exif(decoded.exif.as_deref()),
            blurhash: analyze::blurhash(&preview),
            dominant_color: analyze::dominant_color(&preview),
        };
        lap(&mut timings.analyze_ms);

        // Variants of the same geometry (e.g. a JPEG and a WebP of `lg`) share one resize and
        // one watermark pass; identical outputs (xl and lg of a small source) one encode.
        let mut renditions: Vec<Rendition> = Vec::with_capacity(self.spec.variants.len());
        let mut shaped: Vec<(resize::Geometry, Canvas)> = Vec::new();
        let mut encoded: Vec<(usize, OutputFormat, u8, usize)> = Vec::new();
        for variant in &self.spec.variants {
            let geometry = resize::plan(canvas.width, canvas.height, variant);
            let shape = match shaped.iter().position(|(g, _)| *g == geometry) {
                Some(i) => i,
                None => {
                    let mut out = resize::resize(&mut resizer, &canvas, &geometry)?;
                    lap(&mut timings.resize_ms);
                    self.watermarker.apply(&mut out, &mut resizer, creator)?;
                    lap(&mut timings.watermark_ms);
                    shaped.push((geometry, out));
                    shaped.len() - 1
                }
            };
            let key = (shape, variant.format, variant.quality);
            let data = match encoded.iter().find(|e| (e.0, e.1, e.2) == key) {
                Some(&(.., earlier)) => renditions[earlier].data.clone(),
                None => {
                    let pixels = &shaped[shape].1;
                    let data = if variant.format == OutputFormat::Jpeg && pixels.has_alpha {
                        let flat = pixels.flattened(self.spec.background.0);
                        encode::encode(&flat, variant.format, variant.quality)?
                    } else {
                        encode::encode(pixels, variant.format, variant.quality)?
                    };
                    lap(&mut timings.encode_ms);
                    encoded.push((shape, variant.format, variant.quality, renditions.len()));
                    data
                }
            };
            renditions.push(Rendition {
                name: variant.name.clone(),
                format: variant.format,
                width: geometry.width,
                height: geometry.height,
                data,
            });
        }
        timings.total_ms = started.elapsed().as_secs_f64() * 1e3;
        timings.round_to_hundredths();
        Ok(Processed {
            info,
            renditions,
            timings,
        })
    }
}

/// Applies the EXIF orientation so that pixels are stored upright.
fn orient(canvas: Canvas, orientation: Orientation) -> Result<Canvas, ProcessError> {
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
        image::RgbaImage::from_raw(width, height, data).map(image::DynamicImage::ImageRgba8)
    } else {
        image::RgbImage::from_raw(width, height, data).map(image::DynamicImage::ImageRgb8)
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
