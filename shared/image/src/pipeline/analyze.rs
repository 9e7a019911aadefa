//! What we learn about a source besides its pixels: a safe EXIF subset, a BlurHash placeholder
//! and the dominant colour.

use super::canvas::Canvas;
use serde::{Deserialize, Serialize};

/// The EXIF fields worth keeping. Location and everything else is deliberately dropped.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExifSummary {
    pub camera_make: Option<String>,
    pub camera_model: Option<String>,
    /// As the camera wrote it (`YYYY:MM:DD HH:MM:SS`, local time of the camera).
    pub captured_at: Option<String>,
}

impl ExifSummary {
    /// Reads what can be read: a field the parser rejects (a GPS block some writers lay out
    /// their own way, a maker's private tag) costs that field, never the whole summary.
    pub fn from_exif(raw: Option<&[u8]>) -> ExifSummary {
        let Some(raw) = raw else {
            return ExifSummary::default();
        };
        let read = exif::Reader::new()
            .continue_on_error(true)
            .read_raw(raw.to_vec())
            .or_else(|e| e.distill_partial_result(|_skipped| {}));
        let Ok(exif) = read else {
            return ExifSummary::default();
        };
        let text = |tag: exif::Tag| {
            let field = exif.get_field(tag, exif::In::PRIMARY)?;
            match &field.value {
                exif::Value::Ascii(parts) => {
                    let joined: String = parts
                        .iter()
                        .flat_map(|p| p.iter())
                        .map(|&b| b as char)
                        .filter(|c| !c.is_control())
                        .take(64)
                        .collect();
                    let trimmed = joined.trim().to_string();
                    (!trimmed.is_empty()).then_some(trimmed)
                }
                _ => None,
            }
        };
        ExifSummary {
            camera_make: text(exif::Tag::Make),
            camera_model: text(exif::Tag::Model),
            captured_at: text(exif::Tag::DateTimeOriginal).or_else(|| text(exif::Tag::DateTime)),
        }
    }
}

/// A small straight-alpha RGBA copy of the image, the input of both summaries below.
pub struct Preview<'a> {
    pub width: u32,
    pub height: u32,
    pub rgba: &'a [u8],
}

pub fn blurhash(preview: &Preview<'_>) -> Option<String> {
    let (x, y) = if preview.width >= preview.height {
        (4, 3)
    } else {
        (3, 4)
    };
    blurhash::encode(x, y, preview.width, preview.height, preview.rgba).ok()
}

/// The most common colour, by 4-bit-per-channel buckets weighted by opacity, averaged within
/// the winning bucket; `#rrggbb`.
pub fn dominant_color(preview: &Preview<'_>) -> Option<String> {
    let mut buckets = vec![[0u64; 5]; 4096]; // weight, r, g, b, count
    for p in preview.rgba.chunks_exact(4) {
        let w = u64::from(p[3]);
        if w == 0 {
            continue;
        }
        let key =
            (usize::from(p[0] >> 4) << 8) | (usize::from(p[1] >> 4) << 4) | usize::from(p[2] >> 4);
        let b = &mut buckets[key];
        b[0] += w;
        b[1] += u64::from(p[0]) * w;
        b[2] += u64::from(p[1]) * w;
        b[3] += u64::from(p[2]) * w;
    }
    let best = buckets.iter().max_by_key(|b| b[0]).filter(|b| b[0] > 0)?;
    let avg = |i: usize| (best[i] + best[0] / 2) / best[0];
    Some(format!("#{:02x}{:02x}{:02x}", avg(1), avg(2), avg(3)))
}

/// RGBA bytes of a canvas (adds an opaque alpha channel to RGB).
pub fn rgba_bytes(canvas: &Canvas) -> Vec<u8> {
    if canvas.has_alpha {
        canvas.data.clone()
    } else {
        canvas
            .data
            .chunks_exact(3)
            .flat_map(|p| [p[0], p[1], p[2], 255])
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dominant_colour_prefers_the_largest_opaque_area() {
        let mut rgba = Vec::new();
        for i in 0..100 {
            rgba.extend_from_slice(if i < 70 {
                &[200, 10, 10, 255]
            } else {
                &[10, 10, 200, 255]
            });
        }
        let preview = Preview {
            width: 10,
            height: 10,
            rgba: &rgba,
        };
        assert_eq!(dominant_color(&preview).as_deref(), Some("#c80a0a"));
        assert_eq!(blurhash(&preview).map(|h| h.len()), Some(28));
    }

    #[test]
    fn missing_or_broken_exif_gives_an_empty_summary() {
        assert_eq!(ExifSummary::from_exif(None), ExifSummary::default());
        assert_eq!(
            ExifSummary::from_exif(Some(b"garbage")),
            ExifSummary::default()
        );
    }
}
