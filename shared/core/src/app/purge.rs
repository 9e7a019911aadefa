//! Deleted means gone from the CDN too. Renditions are cached for a year at their URLs, so a
//! tombstone lists the keys of the renditions it removed (`Asset::cdn_purge`); this use case
//! asks the CDN to drop them, for many assets in one request, and then empties the lists.
//! Until it has, the keys stay listed: a failed request is tried again, by the queue that
//! delivered it or by the reconciler.

use crate::domain::asset::{Asset, AssetId};
use crate::ports::{AssetStore, CdnPurge, Expected, StoreError};

/// What one purge did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PurgeReport {
    /// Assets whose owed keys were invalidated and cleared.
    pub assets: usize,
    /// Keys invalidated.
    pub keys: usize,
}

/// Invalidates every key the records of `ids` owe the CDN, in one request, then clears what
/// was invalidated from each record. A record written meanwhile keeps what it owes besides.
pub async fn purge_cdn<A: AssetStore + ?Sized, C: CdnPurge + ?Sized>(
    assets: &A,
    cdn: &C,
    ids: &[AssetId],
) -> Result<PurgeReport, StoreError> {
    let mut owing: Vec<Asset> = Vec::new();
    for id in ids {
        if owing.iter().any(|a| &a.id == id) {
            continue;
        }
        if let Some(asset) = assets.get(id).await? {
            if !asset.cdn_purge.is_empty() {
                owing.push(asset);
            }
        }
    }
    let mut keys: Vec<String> = owing.iter().flat_map(|a| a.cdn_purge.clone()).collect();
    keys.sort();
    keys.dedup();
    if keys.is_empty() {
        return Ok(PurgeReport::default());
    }
    cdn.invalidate(&keys).await?;
    for asset in &owing {
        clear(assets, asset).await?;
    }
    Ok(PurgeReport {
        assets: owing.len(),
        keys: keys.len(),
    })
}

/// Takes the keys `invalidated` had off its record, conditionally; on a concurrent write,
/// off the newer record.
async fn clear<A: AssetStore + ?Sized>(assets: &A, invalidated: &Asset) -> Result<(), StoreError> {
    let mut current = invalidated.clone();
    loop {
        let mut cleared = current.clone();
        cleared
            .cdn_purge
            .retain(|k| !invalidated.cdn_purge.contains(k));
        if cleared.cdn_purge.len() == current.cdn_purge.len() {
            return Ok(());
        }
        // Clearing the list changes nothing an event tells: announced stays announced.
        cleared.version = current.version + 1;
        if current.announced == Some(current.version) {
            cleared.announced = Some(cleared.version);
        }
        match assets
            .put(&cleared, Expected::Version(current.version))
            .await
        {
            Ok(()) => return Ok(()),
            Err(StoreError::Conflict(_)) => match assets.get(&current.id).await? {
                Some(newer) => current = newer,
                None => return Ok(()),
            },
            Err(e) => return Err(e),
        }
    }
}
