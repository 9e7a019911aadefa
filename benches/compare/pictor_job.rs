//! Pictor contender of the side-by-side comparison: the job of `job.json` through the public
//! API (`Spec` + `Pipeline`), one process per image.
//!
//! pictor_job SRC OUT_DIR jpeg|webp|avif|png JOB_JSON WATERMARK_PNG

use pictor_core::spec::{Anchor, Color, Fit, OutputFormat, Variant};
use pictor_core::{Pipeline, Spec};
use serde::Deserialize;
use std::path::PathBuf;

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
            "usage: pictor_job SRC OUT_DIR jpeg|webp|avif|png JOB_JSON WATERMARK_PNG".into(),
        );
    };
    let job: Job = serde_json::from_slice(&std::fs::read(job)?)?;
    let (format, quality, speed) = match format.as_str() {
        "jpeg" => (OutputFormat::Jpeg, job.jpeg.quality, None),
        "webp" => (OutputFormat::Webp, job.webp.quality, None),
        "avif" => (
            OutputFormat::Avif,
            job.avif.pictor.quality,
            Some(job.avif.pictor.speed),
        ),
        // The lossless reference the AVIF files' SSIM is measured against.
        "png" => (OutputFormat::Png, 100, None),
        other => return Err(format!("unknown format {other}").into()),
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
    for r in &processed.renditions {
        std::fs::write(PathBuf::from(out_dir).join(r.file_name()), &r.data)?;
    }
    Ok(())
}
