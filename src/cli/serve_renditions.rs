//! Renditions served the way a CDN in front of the output bucket serves them: their keys
//! are content-addressed (`<name>-<hash>.<ext>`), so a file never changes. Each answer carries
//! `Cache-Control: public, max-age=31536000, immutable` and a strong `ETag` (the file name),
//! and a request that already holds it (`If-None-Match`) is a `304 Not Modified` without a
//! read of the file.

use axum::extract::Request;
use axum::http::header::{CACHE_CONTROL, ETAG, IF_NONE_MATCH};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use pictor_core::app::ingest::RENDITION_CACHE_CONTROL;
use pictor_core::ports::AssetStore;
use pictor_core::{AssetId, AssetStatus, SourceLocation};
use std::sync::Arc;

/// Middleware for the renditions folder, before any other: a file is served only while a
/// READY record lists it and that record's original is still in place. So a deleted asset's
/// renditions answer 404 at once, before the watcher has tombstoned the record and removed
/// the files, and no file a record has let go of is ever served again, whatever a client
/// cached. Rendition URLs need no token (an `<img>` sends none), as behind a public CDN.
pub async fn only_live(
    axum::extract::State(assets): axum::extract::State<Arc<dyn AssetStore>>,
    request: Request,
    next: Next,
) -> Response {
    // Inside the mount the path is `/<asset id>/<file>`.
    let path = request.uri().path().trim_start_matches('/').to_string();
    let live = match path.split_once('/') {
        Some((id, _)) => match AssetId::parse(id) {
            Ok(id) => match assets.get(&id).await {
                Ok(Some(asset)) => {
                    let key = format!("{}{path}", pictor_core::domain::layout::RENDITIONS);
                    asset.status == AssetStatus::Ready
                        && asset.renditions.iter().any(|v| v.key == key)
                        && original_in_place(&asset.source_identity)
                }
                Ok(None) => false,
                Err(e) => {
                    tracing::warn!(error = %e, "the asset store failed; rendition not served");
                    return StatusCode::SERVICE_UNAVAILABLE.into_response();
                }
            },
            Err(_) => false,
        },
        None => false,
    };
    if !live {
        return StatusCode::NOT_FOUND.into_response();
    }
    next.run(request).await
}

/// Whether the original a record names is still there (a local file; anything else cannot be
/// looked at from here and counts as there).
fn original_in_place(source_identity: &str) -> bool {
    match source_identity.parse::<SourceLocation>() {
        Ok(SourceLocation::File(path)) => path.is_file(),
        _ => true,
    }
}

/// The validator of the rendition at `path`: its file name, quoted.
fn etag_of(path: &str) -> Option<HeaderValue> {
    let name = path.rsplit('/').next().filter(|n| !n.is_empty())?;
    HeaderValue::from_str(&format!("\"{name}\"")).ok()
}

/// Whether an `If-None-Match` list holds `etag` (or is `*`).
fn matches(if_none_match: &HeaderValue, etag: &HeaderValue) -> bool {
    let Ok(list) = if_none_match.to_str() else {
        return false;
    };
    let wanted = etag.to_str().unwrap_or_default();
    list.split(',')
        .map(|t| t.trim().trim_start_matches("W/"))
        .any(|t| t == "*" || t == wanted)
}

/// Middleware for the renditions folder.
pub async fn cache_headers(request: Request, next: Next) -> Response {
    let etag = etag_of(request.uri().path());
    if let (Some(etag), Some(held)) = (&etag, request.headers().get(IF_NONE_MATCH)) {
        if matches(held, etag) {
            let mut response = StatusCode::NOT_MODIFIED.into_response();
            response.headers_mut().insert(ETAG, etag.clone());
            response.headers_mut().insert(
                CACHE_CONTROL,
                HeaderValue::from_static(RENDITION_CACHE_CONTROL),
            );
            return response;
        }
    }
    let mut response = next.run(request).await;
    if response.status() == StatusCode::OK {
        if let Some(etag) = etag {
            response.headers_mut().insert(ETAG, etag);
        }
        response.headers_mut().insert(
            CACHE_CONTROL,
            HeaderValue::from_static(RENDITION_CACHE_CONTROL),
        );
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn etags_come_from_the_file_name_and_lists_match() {
        let etag = etag_of("/renditions/abc/md-0123456789ab.jpg").unwrap();
        assert_eq!(etag, "\"md-0123456789ab.jpg\"");
        assert!(matches(
            &HeaderValue::from_static("\"x\", \"md-0123456789ab.jpg\""),
            &etag
        ));
        assert!(matches(
            &HeaderValue::from_static("W/\"md-0123456789ab.jpg\""),
            &etag
        ));
        assert!(matches(&HeaderValue::from_static("*"), &etag));
        assert!(!matches(
            &HeaderValue::from_static("\"md-ffffffffffff.jpg\""),
            &etag
        ));
        assert_eq!(etag_of("/renditions/"), None);
    }
}
