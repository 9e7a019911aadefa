//! Decode: sniff the real format from the bytes, check limits from the header before any pixel
//! buffer exists, then decode under a panic guard. Hostile input ends here as a typed error.

use super::decode_heif;
use crate::error::{ErrorKind, ProcessError};
use crate::spec::Limits;
use image::metadata::Orientation;
use image::{DynamicImage, ImageDecoder, ImageError, ImageFormat, ImageReader};
use serde::{Deserialize, Serialize};
use std::io::Cursor;
use std::panic::{catch_unwind, AssertUnwindSafe};

/// The source formats Pictor accepts, identified by content, never by file name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SourceFormat {
    Jpeg,
    Png,
    Webp,
    Gif,
    Heic,
    Avif,
}

impl SourceFormat {
    /// The `image` crate's decoder for it; HEIF-family formats have their own module.
    fn image_format(self) -> Option<ImageFormat> {
        match self {
            SourceFormat::Jpeg => Some(ImageFormat::Jpeg),
            SourceFormat::Png => Some(ImageFormat::Png),
            SourceFormat::Webp => Some(ImageFormat::WebP),
            SourceFormat::Gif => Some(ImageFormat::Gif),
            SourceFormat::Heic | SourceFormat::Avif => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            SourceFormat::Jpeg => "jpeg",
            SourceFormat::Png => "png",
            SourceFormat::Webp => "webp",
            SourceFormat::Gif => "gif",
            SourceFormat::Heic => "heic",
            SourceFormat::Avif => "avif",
        }
    }

    /// The name people know it by, for messages.
    pub fn label(self) -> &'static str {
        match self {
            SourceFormat::Jpeg => "JPEG",
            SourceFormat::Png => "PNG",
            SourceFormat::Webp => "WebP",
            SourceFormat::Gif => "GIF",
            SourceFormat::Heic => "HEIC",
            SourceFormat::Avif => "AVIF",
        }
    }
}

/// A decoded source, still in its stored orientation and colour space.
pub struct Decoded {
    pub format: SourceFormat,
    pub image: DynamicImage,
    pub orientation: Orientation,
    pub icc_profile: Option<Vec<u8>>,
    pub exif: Option<Vec<u8>>,
    pub frame_count: u32,
}

/// Identifies the format from magic bytes; anything else is `unsupported` with a hint.
pub fn sniff(bytes: &[u8]) -> Result<SourceFormat, ProcessError> {
    if let Some(heif) = decode_heif::sniff(bytes) {
        return Ok(heif);
    }
    match bytes {
        [] => Err(ProcessError::unsupported("the file is empty")),
        [0xFF, 0xD8, 0xFF, ..] => Ok(SourceFormat::Jpeg),
        [0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, ..] => Ok(SourceFormat::Png),
        [b'G', b'I', b'F', b'8', b'7' | b'9', b'a', ..] => Ok(SourceFormat::Gif),
        [b'R', b'I', b'F', b'F', _, _, _, _, b'W', b'E', b'B', b'P', ..] => Ok(SourceFormat::Webp),
        _ => Err(ProcessError::unsupported(describe_unsupported(bytes))),
    }
}

fn describe_unsupported(bytes: &[u8]) -> String {
    let head = &bytes[..bytes.len().min(512)];
    let text = String::from_utf8_lossy(head)
        .trim_start()
        .to_ascii_lowercase();
    let what = if head.starts_with(b"II*\0") || head.starts_with(b"MM\0*") {
        "TIFF"
    } else if head.starts_with(b"BM") {
        "BMP"
    } else if head.len() > 12 && &head[4..8] == b"ftyp" {
        "an ISO media file (video?) that is not a HEIF image"
    } else if text.starts_with("<svg") || (text.starts_with("<?xml") && text.contains("<svg")) {
        "SVG"
    } else if text.starts_with("<!doctype html") || text.starts_with("<html") {
        "HTML"
    } else if head
        .iter()
        .all(|&b| b.is_ascii_graphic() || b.is_ascii_whitespace() || b >= 0x80)
    {
        "text"
    } else {
        "an unrecognised format"
    };
    format!("content is {what}; accepted formats are JPEG, PNG, WebP, GIF, HEIC and AVIF")
}

/// Decodes `bytes`, refusing anything over `limits` before allocating its pixels. `threads`
/// is how many threads the decoder may use (HEIC grids decode their tiles in parallel).
pub fn decode(bytes: &[u8], limits: &Limits, threads: usize) -> Result<Decoded, ProcessError> {
    if bytes.len() as u64 > limits.max_file_bytes {
        return Err(ProcessError::too_large(format!(
            "file is {} bytes, the limit is {}",
            bytes.len(),
            limits.max_file_bytes
        )));
    }
    let format = sniff(bytes)?;
    if format == SourceFormat::Jpeg && !jpeg_has_end_after_scan(bytes) {
        return Err(ProcessError::corrupt(
            "JPEG data is truncated (no end-of-image marker after the scan)",
        ));
    }
    // Decoders are fed hostile bytes; a panic in one must become this file's failure only.
    catch_unwind(AssertUnwindSafe(|| {
        decode_checked(bytes, format, limits, threads)
    }))
    .unwrap_or_else(|panic| {
        let what = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".to_string());
        Err(ProcessError::corrupt(format!(
            "the {} decoder failed on this file: {what}",
            format.as_str()
        )))
    })
}

fn decode_checked(
    bytes: &[u8],
    format: SourceFormat,
    limits: &Limits,
    threads: usize,
) -> Result<Decoded, ProcessError> {
    let Some(image_format) = format.image_format() else {
        return decode_heif::decode(bytes, format, limits, threads);
    };
    let mut reader = ImageReader::with_format(Cursor::new(bytes), image_format);
    reader.limits(decoder_limits(limits));
    // Some decoders enforce the side limit while reading the header; say so in our words.
    let mut decoder = reader.into_decoder().map_err(|e| match e {
        ImageError::Limits(l) if l.kind() == image::error::LimitErrorKind::DimensionError => {
            ProcessError::too_large(format!(
                "image dimensions exceed the limit of {} pixels per side",
                limits.max_side
            ))
        }
        other => from_image_error(other),
    })?;
    let (width, height) = decoder.dimensions();
    check_dimensions(width, height, limits)?;

    // Metadata is best effort: a damaged EXIF block must not cost the creator the image.
    let icc_profile = decoder.icc_profile().ok().flatten();
    let exif = decoder.exif_metadata().ok().flatten();
    let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);
    let frame_count = match format {
        SourceFormat::Gif => count_gif_frames(bytes)?,
        SourceFormat::Webp => count_webp_frames(bytes),
        _ => 1,
    };
    let image = DynamicImage::from_decoder(decoder).map_err(from_image_error)?;
    Ok(Decoded {
        format,
        image,
        orientation,
        icc_profile,
        exif,
        frame_count,
    })
}

/// Backstop limits for the decoders themselves, in case a header lies about its size.
fn decoder_limits(limits: &Limits) -> image::Limits {
    let mut l = image::Limits::default();
    l.max_image_width = Some(limits.max_side);
    l.max_image_height = Some(limits.max_side);
    // Largest legitimate buffer: 16-bit RGBA (8 bytes a pixel), plus decoder scratch.
    l.max_alloc = Some(limits.max_pixels.saturating_mul(8).saturating_add(64 << 20));
    l
}

pub fn check_dimensions(width: u32, height: u32, limits: &Limits) -> Result<(), ProcessError> {
    if width == 0 || height == 0 {
        return Err(ProcessError::corrupt(format!(
            "header declares an empty image ({width}x{height})"
        )));
    }
    if width > limits.max_side || height > limits.max_side {
        return Err(ProcessError::too_large(format!(
            "image is {width}x{height}, the limit is {} pixels per side",
            limits.max_side
        )));
    }
    let pixels = u64::from(width) * u64::from(height);
    if pixels > limits.max_pixels {
        return Err(ProcessError::too_large(format!(
            "image is {width}x{height} ({:.1} megapixels), the limit is {:.1} megapixels",
            pixels as f64 / 1e6,
            limits.max_pixels as f64 / 1e6
        )));
    }
    Ok(())
}

fn from_image_error(err: ImageError) -> ProcessError {
    match err {
        ImageError::Limits(e) => ProcessError::too_large(format!("decoder limit reached: {e}")),
        ImageError::Unsupported(e) => ProcessError::unsupported(e.to_string()),
        ImageError::IoError(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
            ProcessError::corrupt("image data is truncated")
        }
        ImageError::Decoding(e) => ProcessError::corrupt(e.to_string()),
        ImageError::IoError(e) => ProcessError::corrupt(e.to_string()),
        ImageError::Parameter(e) => ProcessError::corrupt(e.to_string()),
        other => ProcessError::new(ErrorKind::Internal, other.to_string()),
    }
}

/// The JPEG decoder pads a truncated scan with grey instead of failing, so check that an
/// end-of-image marker follows the first scan. Header segments are walked by their lengths so
/// an EOI inside an embedded EXIF thumbnail is not mistaken for the image's own.
fn jpeg_has_end_after_scan(bytes: &[u8]) -> bool {
    let mut pos = 2; // after SOI
    while pos + 4 <= bytes.len() {
        if bytes[pos] != 0xFF {
            return false;
        }
        let marker = bytes[pos + 1];
        match marker {
            0xFF => pos += 1, // fill byte
            0xD0..=0xD7 | 0x01 => pos += 2,
            0xDA => {
                let scan = &bytes[pos..];
                return scan.windows(2).any(|w| w == [0xFF, 0xD9]);
            }
            _ => {
                let len = usize::from(u16::from_be_bytes([bytes[pos + 2], bytes[pos + 3]]));
                pos += 2 + len;
            }
        }
    }
    false
}

/// Counts GIF frames without decompressing them, so a many-frame bomb costs no pixel memory.
fn count_gif_frames(bytes: &[u8]) -> Result<u32, ProcessError> {
    let mut options = gif::DecodeOptions::new();
    options.skip_frame_decoding(true);
    let mut decoder = options
        .read_info(Cursor::new(bytes))
        .map_err(|e| ProcessError::corrupt(format!("GIF: {e}")))?;
    let mut frames = 0u32;
    loop {
        match decoder.read_next_frame() {
            Ok(Some(_)) => frames = frames.saturating_add(1),
            Ok(None) => break,
            // Frames after the first are only counted; a broken tail does not lose the image.
            Err(_) if frames > 0 => break,
            Err(e) => return Err(ProcessError::corrupt(format!("GIF: {e}"))),
        }
    }
    Ok(frames.max(1))
}

fn count_webp_frames(bytes: &[u8]) -> u32 {
    image_webp::WebPDecoder::new(Cursor::new(bytes))
        .map(|d| d.num_frames().max(1))
        .unwrap_or(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_by_content_and_explains_refusals() {
        assert_eq!(sniff(b"\xFF\xD8\xFF\xE0rest").unwrap(), SourceFormat::Jpeg);
        assert_eq!(sniff(b"GIF89a....").unwrap(), SourceFormat::Gif);
        assert_eq!(sniff(b"RIFF\0\0\0\0WEBPVP8 ").unwrap(), SourceFormat::Webp);
        let cases: [(&[u8], &str); 5] = [
            (b"", "empty"),
            (b"<svg xmlns='http://www.w3.org/2000/svg'/>", "SVG"),
            (b"II*\0\x08\0\0\0", "TIFF"),
            (b"<!DOCTYPE html><html></html>", "HTML"),
            (b"just some words\n", "text"),
        ];
        for (bytes, expected) in cases {
            let err = sniff(bytes).unwrap_err();
            assert_eq!(err.kind, ErrorKind::Unsupported);
            assert!(err.message.contains(expected), "{err}");
        }
    }

    #[test]
    fn dimensions_are_checked_against_every_limit() {
        let limits = Limits::default();
        assert!(check_dimensions(4000, 3000, &limits).is_ok());
        assert_eq!(
            check_dimensions(100_000, 100_000, &limits)
                .unwrap_err()
                .kind,
            ErrorKind::TooLarge
        );
        assert_eq!(
            check_dimensions(10_000, 10_000, &limits).unwrap_err().kind,
            ErrorKind::TooLarge
        );
        assert_eq!(
            check_dimensions(0, 10, &limits).unwrap_err().kind,
            ErrorKind::Corrupt
        );
    }

    #[test]
    fn jpeg_end_check_skips_header_segments() {
        // SOI, APP1 whose payload contains an EOI, SOS, data, EOI.
        let mut ok = vec![0xFF, 0xD8, 0xFF, 0xE1, 0x00, 0x06, 0xFF, 0xD9, 0x00, 0x00];
        ok.extend_from_slice(&[0xFF, 0xDA, 0x00, 0x02, 0x12, 0x34, 0xFF, 0xD9]);
        assert!(jpeg_has_end_after_scan(&ok));
        let truncated = &ok[..ok.len() - 2];
        assert!(!jpeg_has_end_after_scan(truncated));
    }
}
