//! The per-image pipeline, in the order it runs: decode (to sRGB, in the stored orientation);
//! the full frames, each resized from the cheapest larger frame already made, then turned
//! upright and watermarked; the focal point, measured on the smallest full frame; the crops,
//! cut the same way around it; the analysis (blurhash, colours); then every encode.
//! Orienting after resizing turns a few small frames instead of the whole picture.
//!
//! Pure and synchronous: bytes in, encoded renditions and facts out. Storage lives elsewhere.

pub mod analyze;
pub mod attention;
mod av1;
#[cfg(feature = "avif-encode")]
mod avif;
pub mod canvas;
pub mod color;
pub mod decode;
mod decode_heif;
pub mod encode;
pub mod orient;
pub mod resize;
#[cfg(feature = "perceptual-quality")]
pub mod target;
pub mod watermark;
mod webp_icc;
mod webp_lossy;

use crate::error::ProcessError;
use crate::spec::{spec_hash, ColorMode, Fit, OutputFormat, Spec, SpecError, Variant};
use analyze::{ExifSummary, Preview};
pub use attention::{FocalPoint, Focus, FocusOrigin, OutsideTheImage};
use canvas::Canvas;
pub use decode::SourceFormat;
use fast_image_resize::Resizer;
use serde::{Deserialize, Serialize};
use std::time::Instant;
use watermark::Watermarker;
/// For the benchmark's check of the WebP alpha setting against libwebp's default.
#[doc(hidden)]
pub use webp_lossy::alpha_filter_bytes;

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
    /// The focal point the `cover` crops were placed around; `None` when the spec has no
    /// crop that follows one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub focus: Option<Focus>,
}

/// One rendition as the pipeline encoded it, in memory (stored, the core lists it as a
/// `StoredRendition` on the asset's record).
#[derive(Debug, Clone, PartialEq)]
pub struct Rendition {
    pub name: String,
    pub format: OutputFormat,
    pub width: u32,
    pub height: u32,
    pub data: Vec<u8>,
    /// With a perceptual target: the encoder quality the search settled on.
    pub quality: Option<u8>,
    /// With a perceptual target: the rendition's SSIMULACRA2 score against the picture it
    /// was encoded from.
    pub ssimulacra2: Option<f64>,
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

/// The pipeline's stages as timed, plus the whole: the one list the timings, the report and
/// the metrics share. Listed in the order a reader meets them; the work interleaves (each
/// frame is resized, oriented and watermarked before the next), so each stage's time is the
/// sum of its laps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Stage {
    Decode,
    Orient,
    Analyze,
    Resize,
    Watermark,
    Encode,
    /// The whole pipeline, start to finish.
    Total,
}

impl Stage {
    pub const ALL: [Stage; 7] = [
        Stage::Decode,
        Stage::Orient,
        Stage::Analyze,
        Stage::Resize,
        Stage::Watermark,
        Stage::Encode,
        Stage::Total,
    ];

    /// The name in records, reports and logs (`decode`).
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Decode => "decode",
            Stage::Orient => "orient",
            Stage::Analyze => "analyze",
            Stage::Resize => "resize",
            Stage::Watermark => "watermark",
            Stage::Encode => "encode",
            Stage::Total => "total",
        }
    }
}

impl Timings {
    pub fn get(&self, stage: Stage) -> f64 {
        match stage {
            Stage::Decode => self.decode_ms,
            Stage::Orient => self.orient_ms,
            Stage::Analyze => self.analyze_ms,
            Stage::Resize => self.resize_ms,
            Stage::Watermark => self.watermark_ms,
            Stage::Encode => self.encode_ms,
            Stage::Total => self.total_ms,
        }
    }

    fn get_mut(&mut self, stage: Stage) -> &mut f64 {
        match stage {
            Stage::Decode => &mut self.decode_ms,
            Stage::Orient => &mut self.orient_ms,
            Stage::Analyze => &mut self.analyze_ms,
            Stage::Resize => &mut self.resize_ms,
            Stage::Watermark => &mut self.watermark_ms,
            Stage::Encode => &mut self.encode_ms,
            Stage::Total => &mut self.total_ms,
        }
    }

    /// Every stage with its milliseconds, in pipeline order.
    pub fn by_stage(&self) -> impl Iterator<Item = (Stage, f64)> + '_ {
        Stage::ALL.into_iter().map(|stage| (stage, self.get(stage)))
    }

    /// Hundredths of a millisecond is all the precision worth storing (and it survives a JSON
    /// round trip unchanged).
    fn round_to_hundredths(&mut self) {
        for stage in Stage::ALL {
            let t = self.get_mut(stage);
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
    /// Threads one image's encodes may use; 1 keeps the pipeline single-threaded.
    threads: usize,
}

/// Whether this build encodes AVIF (pictor-core's `avif-encode` feature).
pub const ENCODES_AVIF: bool = cfg!(feature = "avif-encode");

/// Whether this build meets SSIMULACRA2 targets (the `perceptual-quality` feature).
pub const TARGETS_QUALITY: bool = cfg!(feature = "perceptual-quality");

/// Refuses a spec that asks for what this build cannot do, when it is loaded rather than on
/// every upload.
fn check_encoders(spec: &Spec, encodes_avif: bool, targets_quality: bool) -> Result<(), SpecError> {
    if let Some(v) = spec
        .variants
        .iter()
        .find(|v| v.format == OutputFormat::Avif)
        .filter(|_| !encodes_avif)
    {
        return Err(SpecError::Invalid(format!(
            "variant {:?} is AVIF, and this build has no AVIF encoder: build the function with \
             its `avif` feature (the CDK app does when its spec names AVIF)",
            v.name
        )));
    }
    if let Some(v) = spec
        .variants
        .iter()
        .find(|v| v.quality.target().is_some())
        .filter(|_| !targets_quality)
    {
        return Err(SpecError::Invalid(format!(
            "variant {:?} asks for a SSIMULACRA2 target, and this build cannot measure one: \
             build the function with its `perceptual-quality` feature (the CDK app does when \
             its spec asks for a target)",
            v.name
        )));
    }
    Ok(())
}

impl Pipeline {
    pub fn new(spec: Spec) -> Result<Pipeline, SpecError> {
        spec.validate()?;
        check_encoders(&spec, ENCODES_AVIF, TARGETS_QUALITY)?;
        let (watermarker, logo_identity) = Watermarker::new(&spec)?;
        let spec_hash = spec_hash(&spec, &logo_identity);
        Ok(Pipeline {
            spec,
            spec_hash,
            watermarker,
            threads: 1,
        })
    }

    /// Decodes (HEIC grids) and encodes one image's variants on up to `threads` threads. Worth
    /// it when one image is processed at a time on several cores (a function with more than
    /// one vCPU); a batch that already processes images in parallel should keep the default
    /// of 1.
    pub fn with_threads(mut self, threads: usize) -> Pipeline {
        self.threads = threads.max(1);
        self
    }

    /// How many threads encode one image's variants.
    pub fn threads(&self) -> usize {
        self.threads
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
        self.process_focused(bytes, creator, None)
    }

    /// [`Pipeline::process`], with every `cover` crop placed around `manual` when it is set
    /// instead of around the measured focal point.
    pub fn process_focused(
        &self,
        bytes: &[u8],
        creator: Option<&str>,
        manual: Option<FocalPoint>,
    ) -> Result<Processed, ProcessError> {
        guarded(|| self.run(bytes, creator, manual))
    }

    /// Only the renditions whose crop moves with the focal point (the `cover` variants that
    /// crop this source), cut around `focus`: what a focal point set by hand changes. Every
    /// other rendition of the source stays as it is.
    pub fn recut(
        &self,
        bytes: &[u8],
        creator: Option<&str>,
        focus: FocalPoint,
    ) -> Result<Vec<Rendition>, ProcessError> {
        guarded(|| {
            let mut clock = Stopwatch::start();
            let mut timings = Timings::default();
            let source = self.decode(bytes)?;
            let plans = self.plan(source.upright, Some(Focus::manual(focus)));
            let wanted: Vec<(&Variant, resize::Geometry)> = self
                .spec
                .variants
                .iter()
                .zip(plans)
                .filter(|(v, g)| v.fit == Fit::Cover && g.crop.is_some())
                .collect();
            let mut work = Shaping::default();
            let geometries: Vec<_> = wanted.iter().map(|(_, g)| *g).collect();
            self.shape(
                &source,
                &geometries,
                creator,
                &mut work,
                &mut clock,
                &mut timings,
            )?;
            self.encode(&work.shaped, &wanted, source.profile.as_deref())
        })
    }

    /// decode -> resize -> orient -> watermark the full frames -> focal point -> the same
    /// for the crops -> analyze -> encode.
    fn run(
        &self,
        bytes: &[u8],
        creator: Option<&str>,
        manual: Option<FocalPoint>,
    ) -> Result<Processed, ProcessError> {
        let mut clock = Stopwatch::start();
        let mut timings = Timings::default();

        let source = self.decode(bytes)?;
        clock.lap(&mut timings.decode_ms);
        // Full frames first: they do not depend on the focal point, which is measured on
        // the smallest of them, and every crop can then be cut from the cheapest one.
        let mut work = Shaping::default();
        let full_frames: Vec<_> = self
            .plan(source.upright, None)
            .into_iter()
            .filter(|g| g.crop.is_none())
            .collect();
        self.shape(
            &source,
            &full_frames,
            creator,
            &mut work,
            &mut clock,
            &mut timings,
        )?;
        let focus = match manual {
            Some(point) => Some(Focus::manual(point)),
            None if self.spec.variants.iter().any(Variant::crops_to_attention) => {
                Some(measure_focus(&source, &work.cascade, &mut work.resizer)?)
            }
            None => None,
        };
        clock.lap(&mut timings.analyze_ms);
        let plans = self.plan(source.upright, focus);
        let crops: Vec<_> = plans.iter().copied().filter(|g| g.crop.is_some()).collect();
        self.shape(
            &source,
            &crops,
            creator,
            &mut work,
            &mut clock,
            &mut timings,
        )?;

        let mut info = analyze_source(&source, &work.cascade, &mut work.resizer)?;
        info.focus = focus;
        work.cascade.clear();
        drop(source.canvas);
        clock.lap(&mut timings.analyze_ms);
        let wanted: Vec<_> = self.spec.variants.iter().zip(plans).collect();
        let renditions = self.encode(&work.shaped, &wanted, source.profile.as_deref())?;
        clock.lap(&mut timings.encode_ms);

        timings.total_ms = clock.since_start_ms();
        timings.round_to_hundredths();
        Ok(Processed {
            info,
            renditions,
            timings,
        })
    }

    /// Decodes to sRGB pixels in the stored orientation.
    fn decode(&self, bytes: &[u8]) -> Result<Source, ProcessError> {
        let decoded = decode::decode(bytes, &self.spec.limits, self.threads)?;
        let mut canvas = Canvas::from_image(decoded.image);
        let profile = match self.spec.color {
            ColorMode::Keep => color::worth_keeping(decoded.icc_profile.as_deref()),
            ColorMode::Srgb => None,
        };
        if profile.is_none() {
            color::to_srgb(&mut canvas, decoded.icc_profile.as_deref());
        }
        let has_alpha = canvas.has_alpha;
        // When no output keeps transparency, composite onto the background once, up front:
        // compositing and resizing are both linear, so the pixels are the same, and every
        // later stage works on three channels instead of four.
        if has_alpha && !self.spec.variants.iter().any(|v| v.format.has_alpha()) {
            canvas = canvas.into_flattened(self.spec.background.0);
        }
        let upright = if orient::swaps_axes(decoded.orientation) {
            (canvas.height, canvas.width)
        } else {
            (canvas.width, canvas.height)
        };
        Ok(Source {
            canvas,
            has_alpha,
            upright,
            orientation: decoded.orientation,
            format: decoded.format,
            frame_count: decoded.frame_count,
            exif: decoded.exif,
            profile,
        })
    }

    /// The upright geometry of every variant, in spec order. `cover` crops sit around a
    /// focal point set by hand, else around the measured one where the variant follows it,
    /// else in the centre.
    fn plan(&self, (width, height): (u32, u32), focus: Option<Focus>) -> Vec<resize::Geometry> {
        self.spec
            .variants
            .iter()
            .map(|v| {
                let point = match focus {
                    Some(f) if f.origin == FocusOrigin::Manual => f.point(),
                    Some(f) if v.crops_to_attention() => f.point(),
                    _ => FocalPoint::CENTRE,
                };
                resize::plan(width, height, v, point)
            })
            .collect()
    }

    /// Resizes, orients and watermarks each geometry not yet in `work`, largest first.
    /// Resizing happens in the stored orientation and only the (much smaller) results are
    /// turned upright: rotating a 12 MP source costs more than decoding it. Full-frame
    /// results join `work.cascade`.
    fn shape(
        &self,
        source: &Source,
        geometries: &[resize::Geometry],
        creator: Option<&str>,
        work: &mut Shaping,
        clock: &mut Stopwatch,
        timings: &mut Timings,
    ) -> Result<(), ProcessError> {
        // Largest first, so each smaller one can be cut from the last full-frame result
        // instead of from the whole source (a cascade).
        let mut order: Vec<resize::Geometry> = geometries.to_vec();
        order.sort_by_key(|g| std::cmp::Reverse(u64::from(g.width) * u64::from(g.height)));
        let stored_size = (source.canvas.width, source.canvas.height);
        for geometry in order {
            if work.shaped.iter().any(|(g, _)| *g == geometry) {
                continue;
            }
            let stored = geometry.in_stored_orientation(source.orientation, stored_size);
            let (from, scaled) = resize::cheapest_source(&source.canvas, &work.cascade, &stored);
            let mut out = if scaled.is_identity(from.width, from.height) {
                // Already the variant's size (a source smaller than the largest width): the
                // frame serves the smaller variants as it is, and the variant is its copy.
                orient::upright_copy(from, source.orientation)?
            } else {
                let resized = resize::resize(&mut work.resizer, from, &scaled)?;
                clock.lap(&mut timings.resize_ms);
                if stored.crop.is_none() {
                    // The resized frame stays in the cascade as it is; the variant is an
                    // upright copy, which turning it by 90 degrees makes anyway.
                    let upright = orient::upright_copy(&resized, source.orientation)?;
                    work.cascade.push(resized);
                    upright
                } else {
                    orient::apply(resized, source.orientation)?
                }
            };
            clock.lap(&mut timings.orient_ms);
            self.watermarker
                .apply(&mut out, &mut work.resizer, creator)?;
            clock.lap(&mut timings.watermark_ms);
            work.shaped.push((geometry, out));
        }
        Ok(())
    }

    /// Encodes every variant; identical outputs (xl and lg of a small source) are encoded once.
    /// `profile`: the ICC profile the pixels are in, when it is kept.
    fn encode(
        &self,
        shaped: &[Shaped],
        wanted: &[(&Variant, resize::Geometry)],
        profile: Option<&[u8]>,
    ) -> Result<Vec<Rendition>, ProcessError> {
        let mut jobs: Vec<(usize, encode::Encoding, Option<TargetKey>)> = Vec::new();
        let mut job_of = Vec::with_capacity(wanted.len());
        for (variant, geometry) in wanted {
            let shape = shaped
                .iter()
                .position(|(g, _)| g == geometry)
                .ok_or_else(|| ProcessError::internal("a variant was not resized"))?;
            let job = (
                shape,
                encode::Encoding::of(variant),
                variant.quality.target().map(f32::to_bits),
            );
            job_of.push(match jobs.iter().position(|j| *j == job) {
                Some(i) => i,
                None => {
                    jobs.push(job);
                    jobs.len() - 1
                }
            });
        }
        let pixels = |i: usize| &shaped[jobs[i].0].1;
        let encoded = encode::in_pool(
            jobs.len(),
            self.threads,
            |i| {
                let c = pixels(i);
                u64::from(c.width) * u64::from(c.height)
            },
            |i| {
                let (_, encoding, target) = jobs[i];
                self.encode_one(pixels(i), encoding, target.map(f32::from_bits), profile)
            },
        );
        let mut renditions = Vec::with_capacity(wanted.len());
        for ((variant, geometry), job) in wanted.iter().zip(job_of) {
            let encoded = encoded[job].clone()?;
            renditions.push(Rendition {
                name: variant.name.clone(),
                format: variant.format,
                width: geometry.width,
                height: geometry.height,
                data: encoded.data,
                quality: encoded.quality,
                ssimulacra2: encoded.ssimulacra2,
            });
        }
        Ok(renditions)
    }

    fn encode_one(
        &self,
        pixels: &Canvas,
        encoding: encode::Encoding,
        target: Option<f32>,
        profile: Option<&[u8]>,
    ) -> Result<Encoded, ProcessError> {
        let flat;
        let (pixels, threads) = if encoding.format == OutputFormat::Jpeg && pixels.has_alpha {
            flat = pixels.flattened(self.spec.background.0);
            (&flat, 1)
        } else {
            (pixels, self.threads)
        };
        match target {
            None => Ok(Encoded {
                data: encode::encode_on(pixels, encoding, threads, profile)?,
                quality: None,
                ssimulacra2: None,
            }),
            #[cfg(feature = "perceptual-quality")]
            Some(target) => {
                let got = target::encode_to_target(pixels, encoding, target, threads, profile)?;
                Ok(Encoded {
                    data: got.data,
                    quality: Some(got.quality),
                    ssimulacra2: Some(got.score),
                })
            }
            // `Pipeline::new` refuses such a spec.
            #[cfg(not(feature = "perceptual-quality"))]
            Some(_) => Err(ProcessError::internal(
                "this build cannot meet a SSIMULACRA2 target",
            )),
        }
    }
}

/// A SSIMULACRA2 target as a job key (its bits: two variants share an encode only when they
/// ask for the same target).
type TargetKey = u32;

/// One encode's output, with what a targeted search settled on.
#[derive(Clone)]
struct Encoded {
    data: Vec<u8>,
    quality: Option<u8>,
    ssimulacra2: Option<f64>,
}

/// One distinct geometry, resized, upright and watermarked.
type Shaped = (resize::Geometry, Canvas);

/// What shaping has made so far for one image.
#[derive(Default)]
struct Shaping {
    resizer: Resizer,
    shaped: Vec<Shaped>,
    /// The full-frame results in the stored orientation, largest first.
    cascade: Vec<Canvas>,
}

/// Runs `f`, turning a panic anywhere inside into an `internal` error for this image.
fn guarded<T>(f: impl FnOnce() -> Result<T, ProcessError>) -> Result<T, ProcessError> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f))
        .unwrap_or_else(|_| Err(ProcessError::internal("image processing panicked")))
}

/// The focal point of the whole frame, measured on a small upright copy of the smallest
/// full-frame result (or of the source, when the spec makes none).
fn measure_focus(
    source: &Source,
    cascade: &[Canvas],
    resizer: &mut Resizer,
) -> Result<Focus, ProcessError> {
    let smallest = cascade.last().unwrap_or(&source.canvas);
    let side = attention::MEASURE_SIDE;
    let small = resize::resize(
        resizer,
        smallest,
        &resize::inside(smallest.width, smallest.height, side, Some(side)),
    )?;
    Ok(attention::focal_point(&orient::apply(
        small,
        source.orientation,
    )?))
}

/// A decoded source: sRGB pixels in the stored orientation and what decoding revealed.
struct Source {
    canvas: Canvas,
    has_alpha: bool,
    /// Width and height once turned upright.
    upright: (u32, u32),
    orientation: image::metadata::Orientation,
    format: SourceFormat,
    frame_count: u32,
    exif: Option<Vec<u8>>,
    /// With `color = "keep"`: the wide-gamut profile the pixels are still in.
    profile: Option<Vec<u8>>,
}

/// BlurHash and dominant colour from a thumbnail-sized view of the whole frame (the smallest
/// full-frame result), plus the facts decoding revealed.
fn analyze_source(
    source: &Source,
    cascade: &[Canvas],
    resizer: &mut Resizer,
) -> Result<SourceInfo, ProcessError> {
    let smallest = cascade.last().unwrap_or(&source.canvas);
    let preview = resize::resize(
        resizer,
        smallest,
        &resize::inside(smallest.width, smallest.height, 32, Some(32)),
    )?;
    let preview = orient::apply(preview, source.orientation)?;
    let preview_rgba = analyze::rgba_bytes(&preview);
    let preview = Preview {
        width: preview.width,
        height: preview.height,
        rgba: &preview_rgba,
    };
    let (width, height) = source.upright;
    Ok(SourceInfo {
        format: source.format,
        width,
        height,
        has_alpha: source.has_alpha,
        frame_count: source.frame_count,
        exif: ExifSummary::from_exif(source.exif.as_deref()),
        blurhash: analyze::blurhash(&preview),
        dominant_color: analyze::dominant_color(&preview),
        focus: None,
    })
}

/// Splits a run into stage times.
struct Stopwatch {
    started: Instant,
    clock: Instant,
}

impl Stopwatch {
    fn start() -> Stopwatch {
        let now = Instant::now();
        Stopwatch {
            started: now,
            clock: now,
        }
    }

    /// Adds the time since the last lap to `slot`.
    fn lap(&mut self, slot: &mut f64) {
        let now = Instant::now();
        *slot += (now - self.clock).as_secs_f64() * 1e3;
        self.clock = now;
    }

    fn since_start_ms(&self) -> f64 {
        self.started.elapsed().as_secs_f64() * 1e3
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_avif() -> Spec {
        let mut spec = Spec::default();
        spec.variants[1].format = OutputFormat::Avif;
        spec
    }

    #[test]
    fn a_build_without_the_avif_encoder_refuses_an_avif_spec_by_its_variant() {
        match check_encoders(&with_avif(), false, true) {
            Err(SpecError::Invalid(why)) => {
                assert!(why.contains("\"lg\""), "{why}");
                assert!(why.contains("`avif` feature"), "{why}");
            }
            other => panic!("expected a refusal, got {other:?}"),
        }
        assert!(check_encoders(&with_avif(), true, false).is_ok());
        assert!(check_encoders(&Spec::default(), false, false).is_ok());
    }

    #[test]
    fn a_build_without_the_metric_refuses_a_target_by_its_variant() {
        let mut spec = Spec::default();
        spec.variants[2].quality = crate::spec::Quality::Ssimulacra2(80.0);
        match check_encoders(&spec, true, false) {
            Err(SpecError::Invalid(why)) => {
                assert!(why.contains("\"md\""), "{why}");
                assert!(why.contains("`perceptual-quality` feature"), "{why}");
            }
            other => panic!("expected a refusal, got {other:?}"),
        }
        assert!(check_encoders(&spec, true, true).is_ok());
    }
}
