//! The output bucket's layout: every key Pictor writes there starts with one of these
//! prefixes, always with the slash. The CDK app grants access by the same prefixes, and its
//! contract test holds it to this file.

use crate::domain::asset::AssetId;

/// Renditions: `renditions/<asset-id>/<variant>-<content-hash>-<write>.<ext>`.
pub const RENDITIONS: &str = "renditions/";
/// Reprocess manifests for S3 Batch Operations: `manifests/reprocess-<time>-<spec>.csv`.
pub const MANIFESTS: &str = "manifests/";
/// Daily reports: `reports/<day>.json` and `.html`; reconcile passes under `reports/reconcile/`.
pub const REPORTS: &str = "reports/";
/// The last reconcile pass's report, which the daily report includes.
pub const RECONCILE_LATEST: &str = "reports/reconcile/latest.json";

/// Where one reconcile pass's report is kept (`stamp`: its UTC time, sortable).
pub fn reconcile_report_key(stamp: &str) -> String {
    format!("{REPORTS}reconcile/{stamp}.json")
}

/// The folder holding every rendition of one asset.
pub fn renditions_of(id: &AssetId) -> String {
    format!("{RENDITIONS}{id}/")
}

/// The key of one rendition. Its content hash is part of the name, so a URL never changes
/// meaning and can be cached forever, and a re-upload writes new keys that readers switch to
/// only when the record does. `write` names the one ingest that wrote it (random, per
/// attempt): two writers of the same bytes (a slow ingest and a newer one after a delete and a
/// restore) never share a key, so whatever one writer deletes can never be a file another
/// writer's record lists.
pub fn rendition_key(
    id: &AssetId,
    variant: &str,
    content_hash: &str,
    write: &str,
    extension: &str,
) -> String {
    format!(
        "{}{variant}-{content_hash}-{write}.{extension}",
        renditions_of(id)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_prefix_ends_in_a_slash() {
        for prefix in [RENDITIONS, MANIFESTS, REPORTS] {
            assert!(prefix.ends_with('/'), "{prefix}");
        }
        let id = AssetId::for_source("s3://b/k");
        let key = rendition_key(&id, "md", "0a1b2c", "9f8e", "webp");
        assert_eq!(key, format!("renditions/{id}/md-0a1b2c-9f8e.webp"));
        assert!(key.starts_with(&renditions_of(&id)));
    }
}
