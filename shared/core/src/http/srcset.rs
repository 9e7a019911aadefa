//! `GET /assets/{id}/srcset`: per format, the full-frame renditions as a `srcset`, with
//! `sizes`, a fallback and the order `<source>` elements should take.

use crate::domain::asset::Asset;
use crate::ports::{RenditionUrls, StoreError};
use pictor_image::spec::OutputFormat;
use serde_json::{json, Value};

/// Smallest files first: the order `<source>` elements should take.
const ORDER: [OutputFormat; 4] = [
    OutputFormat::Avif,
    OutputFormat::Webp,
    OutputFormat::Jpeg,
    OutputFormat::Png,
];

/// The `srcset` answer of a READY asset.
pub(crate) async fn srcset(asset: &Asset, urls: &impl RenditionUrls) -> Result<Value, StoreError> {
    let mut formats = serde_json::Map::new();
    let mut order = Vec::new();
    for format in ORDER {
        // Only full-frame variants belong in one srcset: a cropped thumbnail is a different
        // picture, so variants are grouped by aspect ratio and the full frame's (the widest
        // variant's) group is used.
        let mut variants: Vec<_> = asset
            .renditions
            .iter()
            .filter(|v| v.format == format)
            .collect();
        let Some(widest) = variants.iter().max_by_key(|v| v.width).copied() else {
            continue;
        };
        let aspect = |w: u32, h: u32| f64::from(w) / f64::from(h.max(1));
        let frame = aspect(widest.width, widest.height);
        variants.retain(|v| (aspect(v.width, v.height) - frame).abs() < 0.02 * frame);
        variants.sort_by_key(|v| v.width);
        variants.dedup_by_key(|v| v.width);
        let mut entries = Vec::with_capacity(variants.len());
        for v in &variants {
            entries.push(format!("{} {}w", urls.url(&v.key).await?, v.width));
        }
        order.push(format.as_str());
        formats.insert(
            format.as_str().to_string(),
            json!({
                "type": format.content_type(),
                "srcset": entries.join(", "),
                "sizes": format!("(max-width: {w}px) 100vw, {w}px", w = widest.width),
                "src": urls.url(&widest.key).await?,
                "width": widest.width,
                "height": widest.height,
            }),
        );
    }
    Ok(json!({"id": asset.id, "order": order, "formats": formats}))
}
