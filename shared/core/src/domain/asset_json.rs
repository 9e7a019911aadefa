//! The one JSON shape of an asset: `pictor assets --json` prints it (one object per line) and
//! the query API answers with it (adding `key` and `url` to each variant). Scripts depend on
//! it: fields are only ever added. It never carries `source_identity` (a bucket name or a
//! path on the machine that processed the upload) or the store's bookkeeping.

use crate::domain::asset::Asset;
use serde::Serialize;
use serde_json::Value;

#[derive(Serialize)]
struct ErrorJson<'a> {
    kind: &'a str,
    message: &'a str,
}

#[derive(Serialize)]
struct RenditionJson<'a> {
    name: &'a str,
    width: u32,
    height: u32,
    format: &'a str,
    bytes: u64,
    /// The rendition's key: relative to the output directory, or in the output bucket.
    path: &'a str,
    /// With a SSIMULACRA2 target: the quality the search settled on, and the score reached.
    #[serde(skip_serializing_if = "Option::is_none")]
    quality: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ssimulacra2: Option<f64>,
}

/// The asset as JSON, in the documented shape. A DELETED asset shows only what identifies
/// it (id, creator, preset, version, times), whatever an older release kept on its record.
pub fn asset_json(asset: &Asset) -> Value {
    if asset.status == crate::domain::asset::AssetStatus::Deleted {
        let forgotten = asset.clone().forget_content();
        return shape(&forgotten);
    }
    shape(asset)
}

fn shape(asset: &Asset) -> Value {
    let image = asset.image.as_ref();
    let variants: Vec<RenditionJson> = asset
        .renditions
        .iter()
        .map(|v| RenditionJson {
            name: &v.name,
            width: v.width,
            height: v.height,
            format: v.format.as_str(),
            bytes: v.bytes,
            path: &v.key,
            quality: v.quality,
            ssimulacra2: v.ssimulacra2,
        })
        .collect();
    serde_json::json!({
        "id": asset.id.as_str(),
        "source": (!asset.source.is_empty()).then_some(&asset.source),
        "name": asset.name,
        "creator": asset.creator,
        "status": asset.status.as_str(),
        "error": asset.error.as_ref().map(|e| ErrorJson { kind: e.kind.as_str(), message: &e.message }),
        "width": image.map(|i| i.width),
        "height": image.map(|i| i.height),
        "format": image.map(|i| i.format.as_str()),
        "has_alpha": image.map(|i| i.has_alpha),
        "frame_count": image.map(|i| i.frame_count),
        "exif": image.map(|i| &i.exif),
        "blurhash": image.and_then(|i| i.blurhash.as_deref()),
        "dominant_color": image.and_then(|i| i.dominant_color.as_deref()),
        "focus": image.and_then(|i| i.focus),
        "sha256": asset.sha256,
        "bytes": asset.source_bytes,
        "variants": variants,
        "timings": asset.timings,
        "preset": asset.preset,
        "spec_hash": asset.spec_hash,
        "created_at": asset.created_at.format(&time::format_description::well_known::Rfc3339).ok(),
        "updated_at": asset.updated_at.format(&time::format_description::well_known::Rfc3339).ok(),
        "version": asset.version,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::asset::AssetStatus;
    use crate::ports::samples::SampleAsset;

    #[test]
    fn a_deleted_asset_shows_only_what_identifies_it() {
        let asset = SampleAsset::numbered(3, "ana")
            .status(AssetStatus::Deleted)
            .sha256("cd".repeat(32))
            .source_bytes(1234)
            .build();
        let json = asset_json(&asset);
        assert_eq!(json["id"], asset.id.as_str());
        assert_eq!(json["creator"], "ana");
        assert_eq!(json["status"], "deleted");
        for gone in [
            "source",
            "sha256",
            "bytes",
            "blurhash",
            "exif",
            "dominant_color",
            "focus",
        ] {
            assert!(json[gone].is_null(), "{gone}: {}", json[gone]);
        }
        assert_eq!(json["variants"], serde_json::json!([]));
    }
}
