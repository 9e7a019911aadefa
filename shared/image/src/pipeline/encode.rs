//! Encoders. Outputs carry pixels only: no EXIF, GPS, XMP or text chunks are written, and an
//! ICC profile only when the spec keeps a wide-gamut source's colours (`color = "keep"`).

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
    /// AVIF only: encoder speed, 1-10.
    pub speed: u8,
}

impl Encoding {
    pub fn new(format: OutputFormat, quality: u8) -> Encoding {
        Encoding {
            format,
            quality,
            progressive: false,
            speed: crate::spec::DEFAULT_AVIF_SPEED,
        }
    }

    pub fn of(variant: &Variant) -> Encoding {
        Encoding {
            format: variant.format,
            // A target's search sets the quality of each trial.
            quality: variant.quality.fixed().unwrap_or(0),
            progressive: variant.progressive,
            speed: variant.avif_speed(),
        }
    }
}

/// Encodes sRGB `canvas` (already flattened for JPEG) as `encoding` says, on the calling
/// thread.
pub fn encode(canvas: &Canvas, encoding: Encoding) -> Result<Vec<u8>, ProcessError> {
    encode_on(canvas, encoding, 1, None)
}

/// As [`encode`], letting the encoder use up to `threads` threads (only libwebp can: a second
/// thread for the alpha plane and the analysis; its output is the same either way), and
/// embedding `profile`, the ICC profile the pixels are in, when they are not sRGB.
pub fn encode_on(
    canvas: &Canvas,
    encoding: Encoding,
    threads: usize,
    profile: Option<&[u8]>,
) -> Result<Vec<u8>, ProcessError> {
    match encoding.format {
        OutputFormat::Jpeg => encode_jpeg(canvas, encoding.quality, encoding.progressive, profile),
        OutputFormat::Webp => {
            let webp = encode_webp(canvas, encoding.quality, threads > 1)?;
            match profile {
                Some(icc) => super::webp_icc::with_profile(&webp, canvas.width, canvas.height, icc),
                None => Ok(webp),
            }
        }
        OutputFormat::Png => encode_png(canvas, profile),
        #[cfg(feature = "avif-encode")]
        OutputFormat::Avif => {
            super::avif::encode(canvas, encoding.quality, encoding.speed, profile)
        }
        // `Pipeline::new` refuses such a spec; this is for a caller that encodes directly.
        #[cfg(not(feature = "avif-encode"))]
        OutputFormat::Avif => Err(ProcessError::internal("this build has no AVIF encoder")),
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

fn encode_jpeg(
    canvas: &Canvas,
    quality: u8,
    progressive: bool,
    profile: Option<&[u8]>,
) -> Result<Vec<u8>, ProcessError> {
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
        if let Some(icc) = profile {
            for segment in icc_segments(icc) {
                started.write_marker(mozjpeg::Marker::APP(2), &segment);
            }
        }
        started.write_scanlines(&canvas.data)?;
        started.finish()
    }))
    .map_err(|_| ProcessError::internal("JPEG encoder failed"))?
    .map_err(|e| ProcessError::internal(format!("JPEG encoding failed: {e}")))
}

/// The APP2 `ICC_PROFILE` segments of a profile: numbered from 1, as readers expect (the
/// mozjpeg crate's own writer numbers from 0, which decoders ignore). A profile too large
/// for 255 segments is left out rather than cut.
fn icc_segments(icc: &[u8]) -> Vec<Vec<u8>> {
    const HEADER: &[u8] = b"ICC_PROFILE\0";
    // A marker holds 65533 bytes after its length; the header and the two numbers take 14.
    let chunks: Vec<&[u8]> = icc.chunks(65_533 - HEADER.len() - 2).collect();
    let Ok(count) = u8::try_from(chunks.len()) else {
        return Vec::new();
    };
    chunks
        .iter()
        .zip(1u8..)
        .map(|(chunk, number)| [HEADER, &[number, count], chunk].concat())
        .collect()
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

fn encode_png(canvas: &Canvas, profile: Option<&[u8]>) -> Result<Vec<u8>, ProcessError> {
    let mut out = Vec::new();
    let color = if canvas.has_alpha {
        ExtendedColorType::Rgba8
    } else {
        ExtendedColorType::Rgb8
    };
    let mut encoder =
        PngEncoder::new_with_quality(&mut out, CompressionType::Default, FilterType::Adaptive);
    if let Some(icc) = profile {
        encoder
            .set_icc_profile(icc.to_vec())
            .map_err(|e| ProcessError::internal(format!("PNG profile: {e}")))?;
    }
    encoder
        .write_image(&canvas.data, canvas.width, canvas.height, color)
        .map_err(|e| ProcessError::internal(format!("PNG encoding failed: {e}")))?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::icc_segments;

    #[test]
    fn icc_segments_are_numbered_from_one() {
        let small = icc_segments(&[7; 10]);
        assert_eq!(small.len(), 1);
        assert_eq!(&small[0][..14], b"ICC_PROFILE\0\x01\x01");
        let large = icc_segments(&vec![7; 65_519 * 2 + 1]);
        let numbers: Vec<(u8, u8)> = large.iter().map(|s| (s[12], s[13])).collect();
        assert_eq!(numbers, [(1, 3), (2, 3), (3, 3)]);
        assert!(large.iter().all(|s| s.len() <= 65_533));
        assert!(icc_segments(&vec![0; 65_519 * 256]).is_empty());
    }
}
