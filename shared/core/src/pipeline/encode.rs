//! Encoders. Outputs carry pixels only: no EXIF, GPS, XMP, ICC or text chunks are written.

use super::canvas::Canvas;
use crate::error::ProcessError;
use crate::spec::{OutputFormat, Variant};
use image::codecs::png::{CompressionType, FilterType, PngEncoder};
use image::{ExtendedColorType, ImageEncoder};
use std::panic::{catch_unwind, AssertUnwindSafe};

/// What an encoder is asked for. Two variants that ask for the same from the same pixels are
/// encoded once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Encoding {
    pub format: OutputFormat,
    /// 1-100; ignored for PNG.
    pub quality: u8,
    /// JPEG only: progressive scans instead of baseline.
    pub progressive: bool,
}

impl Encoding {
    pub fn new(format: OutputFormat, quality: u8) -> Encoding {
        Encoding {
            format,
            quality,
            progressive: false,
        }
    }

    pub fn of(variant: &Variant) -> Encoding {
        Encoding {
            format: variant.format,
            quality: variant.quality,
            progressive: variant.progressive,
        }
    }
}

/// Encodes `canvas` (already flattened for JPEG) as `encoding` says, on the calling thread.
pub fn encode(canvas: &Canvas, encoding: Encoding) -> Result<Vec<u8>, ProcessError> {
    encode_on(canvas, encoding, 1)
}

/// As [`encode`], letting the encoder use up to `threads` threads. Only libwebp can (a second
/// thread for the alpha plane and the analysis); its output is the same either way.
pub fn encode_on(
    canvas: &Canvas,
    encoding: Encoding,
    threads: usize,
) -> Result<Vec<u8>, ProcessError> {
    match encoding.format {
        OutputFormat::Jpeg => encode_jpeg(canvas, encoding.quality, encoding.progressive),
        OutputFormat::Webp => encode_webp(canvas, encoding.quality, threads > 1),
        OutputFormat::Png => encode_png(canvas),
    }
}

/// Runs `encode(i)` for every `i` in `0..count` on up to `threads` threads, largest first (by
/// `size(i)`) so the threads finish together; results come back in index order. A panicking
/// encoder fails its own outputs, never the others'.
pub fn in_pool<T, S, E>(
    count: usize,
    threads: usize,
    size: S,
    encode: E,
) -> Vec<Result<T, ProcessError>>
where
    T: Send,
    S: Fn(usize) -> u64,
    E: Fn(usize) -> Result<T, ProcessError> + Sync,
{
    let threads = threads.min(count);
    if threads <= 1 {
        return (0..count).map(encode).collect();
    }
    let mut order: Vec<usize> = (0..count).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(size(i)));
    let next = std::sync::atomic::AtomicUsize::new(0);
    let mut results: Vec<Option<Result<T, ProcessError>>> = (0..count).map(|_| None).collect();
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let k = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(&i) = order.get(k) else { break };
                        done.push((i, encode(i)));
                    }
                    done
                })
            })
            .collect();
        for worker in workers {
            // A panicking encoder leaves its outputs missing; they become errors below.
            for (i, result) in worker.join().unwrap_or_default() {
                results[i] = Some(result);
            }
        }
    });
    results
        .into_iter()
        .map(|r| r.unwrap_or_else(|| Err(ProcessError::internal("an encoder thread panicked"))))
        .collect()
}

fn encode_jpeg(canvas: &Canvas, quality: u8, progressive: bool) -> Result<Vec<u8>, ProcessError> {
    if canvas.has_alpha {
        return Err(ProcessError::internal(
            "JPEG encoder was given pixels with alpha",
        ));
    }
    let (width, height) = (canvas.width as usize, canvas.height as usize);
    if width == 0 || height == 0 || width > 65_500 || height > 65_500 {
        return Err(ProcessError::internal(format!(
            "{width}x{height} px cannot be written as JPEG"
        )));
    }
    if canvas.data.len() != width * height * 3 {
        return Err(ProcessError::internal(
            "JPEG encoder was given a short buffer",
        ));
    }
    // libjpeg reports errors by unwinding; keep that inside this function.
    catch_unwind(AssertUnwindSafe(|| -> std::io::Result<Vec<u8>> {
        let mut jpeg = mozjpeg::Compress::new(mozjpeg::ColorSpace::JCS_RGB);
        // libjpeg-turbo's settings (baseline, standard tables, no trellis): the files every
        // web stack produces, at libjpeg-turbo's speed. mozjpeg's slow search is not worth
        // several times the CPU on every upload.
        jpeg.set_fastest_defaults();
        jpeg.set_size(width, height);
        jpeg.set_quality(f32::from(quality));
        // 4:2:0 like every web encoder; 4:4:4 files are 16-30% larger for no visible gain.
        jpeg.set_chroma_sampling_pixel_sizes((2, 2), (2, 2));
        if progressive {
            // libjpeg's standard progressive scans: a coarse whole picture first.
            jpeg.set_progressive_mode();
        }
        let mut started = jpeg.start_compress(Vec::with_capacity(canvas.data.len() / 8))?;
        started.write_scanlines(&canvas.data)?;
        started.finish()
    }))
    .map_err(|_| ProcessError::internal("JPEG encoder failed"))?
    .map_err(|e| ProcessError::internal(format!("JPEG encoding failed: {e}")))
}

fn encode_webp(canvas: &Canvas, quality: u8, second_thread: bool) -> Result<Vec<u8>, ProcessError> {
    super::webp_lossy::encode(
        &canvas.data,
        canvas.width,
        canvas.height,
        canvas.has_alpha,
        quality,
        second_thread,
    )
}

fn encode_png(canvas: &Canvas) -> Result<Vec<u8>, ProcessError> {
    let mut out = Vec::new();
    let color = if canvas.has_alpha {
        ExtendedColorType::Rgba8
    } else {
        ExtendedColorType::Rgb8
    };
    PngEncoder::new_with_quality(&mut out, CompressionType::Default, FilterType::Adaptive)
        .write_image(&canvas.data, canvas.width, canvas.height, color)
        .map_err(|e| ProcessError::internal(format!("PNG encoding failed: {e}")))?;
    Ok(out)
}
