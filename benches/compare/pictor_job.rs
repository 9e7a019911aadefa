//! Pictor contender of the side-by-side comparison: the job of `job.json` through the public
//! API (`Spec` + `Pipeline`), one process per image.
//!
//! pictor_job SRC OUT_DIR jpeg|webp|avif|png|webp-alpha-check JOB_JSON WATERMARK_PNG
//!
//! `webp-alpha-check` makes the job's pictures losslessly and prints, as JSON, the bytes of
//! their WebP files with alpha as Pictor writes them and with libwebp's default alpha
//! pre-filter instead (nothing else changed), for the results' check of that setting.

use pictor_image::spec::{self, Anchor, Color, Fit, OutputFormat, Variant};
use pictor_image::{Pipeline, Spec};
use serde::Deserialize;
use std::path::PathBuf;

// As the `pictor` CLI and the functions run.
#[global_allocator]
static ALLOCATOR: pictor_image::memory::PictureAllocator = pictor_image::memory::PictureAllocator;

#[derive(Deserialize)]
struct Job {
    widths: Vec<u32>,
    jpeg: Quality,
    webp: Quality,
    avif: Avif,
    watermark: Mark,
    background: [u8; 3],
}

#[derive(Deserialize)]
struct Quality {
    quality: u8,
}

#[derive(Deserialize)]
struct Avif {
    pictor: AvifSettings,
}

#[derive(Deserialize)]
struct AvifSettings {
    quality: u8,
    speed: u8,
}

#[derive(Deserialize)]
struct Mark {
    scale: f32,
    opacity: f32,
    margin: f32,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [src, out_dir, format, job, watermark] = args.as_slice() else {
        return Err(
            "usage: pictor_job SRC OUT_DIR jpeg|webp|avif|png|webp-alpha-check JOB_JSON WATERMARK_PNG"
                .into(),
        );
    };
    let job: Job = serde_json::from_slice(&std::fs::read(job)?)?;
    // What the `pictor` CLI and the functions do at start.
    pictor_image::memory::reuse_freed_memory();
    let format_name = format.as_str();
    let (format, quality, speed) = match format_name {
        "jpeg" => (OutputFormat::Jpeg, job.jpeg.quality, None),
        "webp" => (OutputFormat::Webp, job.webp.quality, None),
        "avif" => (
            OutputFormat::Avif,
            job.avif.pictor.quality,
            Some(job.avif.pictor.speed),
        ),
        // The lossless reference the AVIF files' SSIM is measured against.
        "png" | "webp-alpha-check" => (OutputFormat::Png, 100, None),
        other => return Err(format!("unknown format {other}").into()),
    };
    // PICTOR_QUALITY overrides the job's quality: `80`, or a target such as `ssimulacra2=78`
    // (the quality comparison, `quality.py`).
    let quality = match std::env::var("PICTOR_QUALITY") {
        Ok(q) => match q.strip_prefix("ssimulacra2=") {
            Some(target) => spec::Quality::Ssimulacra2(target.parse()?),
            None => spec::Quality::Fixed(q.parse()?),
        },
        Err(_) => spec::Quality::Fixed(quality),
    };
    let mut spec = Spec {
        variants: job
            .widths
            .iter()
            .map(|w| Variant {
                name: w.to_string(),
                width: *w,
                height: None,
                fit: Fit::Inside,
                format,
                quality,
                progressive: false,
                speed,
                focus: None,
            })
            .collect(),
        background: Color(job.background),
        ..Spec::default()
    };
    spec.watermark.min_width = 0;
    spec.watermark.text.enabled = false;
    let logo = &mut spec.watermark.logo;
    logo.path = Some(PathBuf::from(watermark));
    logo.anchor = Anchor::BottomRight;
    logo.scale = job.watermark.scale;
    logo.opacity = job.watermark.opacity;
    logo.margin = job.watermark.margin;

    // Default threading encodes the variants in parallel; PICTOR_SINGLE_THREAD=1 turns it off.
    let threads = if std::env::var("PICTOR_SINGLE_THREAD").as_deref() == Ok("1") {
        1
    } else {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    };
    let pipeline = Pipeline::new(spec)?.with_threads(threads);
    let bytes = std::fs::read(src)?;
    let processed = pipeline.process(&bytes, None)?;
    if std::env::var_os("PICTOR_TIMINGS").is_some() {
        eprintln!("{:?}", processed.timings);
    }
    if format_name == "webp-alpha-check" {
        return alpha_check(&processed.renditions, job.webp.quality);
    }
    for r in &processed.renditions {
        std::fs::write(PathBuf::from(out_dir).join(r.file_name()), &r.data)?;
    }
    Ok(())
}

/// Prints `{"files": N, "pictor": BYTES, "libwebp_default": BYTES}` over the renditions that
/// have alpha (none for an opaque picture).
fn alpha_check(
    renditions: &[pictor_image::pipeline::Rendition],
    quality: u8,
) -> Result<(), Box<dyn std::error::Error>> {
    let (mut files, mut ours, mut default) = (0, 0, 0);
    for r in renditions {
        let picture = image::load_from_memory(&r.data)?;
        if !picture.color().has_alpha() {
            continue;
        }
        let rgba = picture.to_rgba8();
        let (a, b) = pictor_image::pipeline::alpha_filter_bytes(
            rgba.as_raw(),
            rgba.width(),
            rgba.height(),
            quality,
        )?;
        files += 1;
        ours += a;
        default += b;
    }
    println!(
        "{}",
        serde_json::json!({"files": files, "pictor": ours, "libwebp_default": default})
    );
    Ok(())
}
