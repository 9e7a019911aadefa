//! `OriginalStore` on S3: reads `s3://` locations in any bucket the client may read.

use crate::errors::store_error;
use async_trait::async_trait;
use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::types::{ArchiveStatus, StorageClass};
use pictor_core::ports::{
    ListedOriginal, Original, OriginalState, OriginalStore, ReadError, StoreError,
};
use pictor_core::{ErrorKind, ProcessError, Revision, SourceLocation};

#[derive(Clone)]
pub struct S3Originals {
    client: aws_sdk_s3::Client,
}

impl S3Originals {
    pub fn new(client: aws_sdk_s3::Client) -> S3Originals {
        S3Originals { client }
    }
}

fn bucket_and_key(location: &SourceLocation) -> Result<(&str, &str), ReadError> {
    match location {
        SourceLocation::S3 { bucket, key } => Ok((bucket, key)),
        _ => Err(ReadError::Store(StoreError::InvalidKey {
            key: location.to_string(),
            reason: "not an S3 object".into(),
        })),
    }
}

#[async_trait]
impl OriginalStore for S3Originals {
    async fn list(&self, root: &SourceLocation) -> Result<Vec<ListedOriginal>, StoreError> {
        let SourceLocation::S3 {
            bucket,
            key: prefix,
        } = root
        else {
            return Err(StoreError::InvalidKey {
                key: root.to_string(),
                reason: "not an S3 prefix".into(),
            });
        };
        let mut pages = self
            .client
            .list_objects_v2()
            .bucket(bucket)
            .prefix(prefix)
            .into_paginator()
            .send();
        let mut out = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| store_error(&format!("list {root}"), e))?;
            for object in page.contents() {
                let Some(key) = object.key().filter(|k| !k.ends_with('/')) else {
                    continue;
                };
                out.push(ListedOriginal {
                    location: SourceLocation::s3(bucket, key),
                    state: OriginalState {
                        size: object.size().map_or(0, |n| n.max(0) as u64),
                        revision: Revision {
                            etag: object.e_tag().map(str::to_string),
                            ..Revision::default()
                        },
                    },
                });
            }
        }
        Ok(out)
    }

    async fn head(&self, location: &SourceLocation) -> Result<Option<OriginalState>, ReadError> {
        let (bucket, key) = bucket_and_key(location)?;
        let out = match self
            .client
            .head_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
        {
            Ok(out) => out,
            // A delete marker as the current version answers 404 too: the object is gone.
            Err(e) if e.as_service_error().is_some_and(|s| s.is_not_found()) => return Ok(None),
            Err(e) => return Err(read_error(&format!("head {location}"), e)),
        };
        if let Some(error) = archived(out.storage_class(), out.archive_status(), out.restore()) {
            return Err(ReadError::Unreadable(error));
        }
        Ok(Some(OriginalState {
            size: out.content_length().map_or(0, |n| n.max(0) as u64),
            revision: Revision {
                sequencer: None,
                version_id: out.version_id().map(str::to_string),
                etag: out.e_tag().map(str::to_string),
            },
        }))
    }

    async fn read(&self, location: &SourceLocation, limit: u64) -> Result<Original, ReadError> {
        let (bucket, key) = bucket_and_key(location)?;
        let object = get_object(&self.client, bucket, key, limit).await?;
        Ok(Original {
            creator: object.metadata.get("creator").cloned(),
            name: object
                .metadata
                .get(pictor_core::domain::display_name::NAME_METADATA)
                .and_then(|value| pictor_core::domain::display_name::decode_name(value)),
            revision: Revision {
                sequencer: None,
                version_id: object.version_id,
                etag: object.etag,
            },
            bytes: object.bytes,
        })
    }
}

/// An object read whole, with what S3 says about it.
pub(crate) struct FetchedObject {
    pub bytes: Vec<u8>,
    /// User metadata (`x-amz-meta-*`), keys without the prefix.
    pub metadata: std::collections::HashMap<String, String>,
    pub version_id: Option<String>,
    pub etag: Option<String>,
}

/// Reads an object once, refusing it from its `Content-Length` before the body is read when
/// it is larger than `limit`.
pub(crate) async fn get_object(
    client: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
    limit: u64,
) -> Result<FetchedObject, ReadError> {
    let url = || SourceLocation::s3(bucket, key).to_string();
    let out = match client.get_object().bucket(bucket).key(key).send().await {
        Ok(out) => out,
        Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => {
            return Err(ReadError::NotFound)
        }
        Err(e) => return Err(read_error(&format!("get {}", url()), e)),
    };
    let size = out.content_length().map_or(0, |n| n.max(0) as u64);
    if size > limit {
        return Err(ReadError::TooLarge { size, limit });
    }
    let metadata = out.metadata().cloned().unwrap_or_default();
    let version_id = out.version_id().map(str::to_string);
    let etag = out.e_tag().map(str::to_string);
    let bytes = out
        .body
        .collect()
        .await
        .map_err(|e| StoreError::Unavailable(format!("reading {}: {e}", url())))?;
    Ok(FetchedObject {
        bytes: bytes.into_bytes().to_vec(),
        metadata,
        version_id,
        etag,
    })
}

/// An SDK failure reading an original: access denied (including a KMS key the caller may not
/// use) and archived objects are permanent and become FAILED records; everything else is the
/// store's (see [`store_error`]).
fn read_error<E>(context: &str, err: SdkError<E, HttpResponse>) -> ReadError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    if let SdkError::ServiceError(service) = &err {
        let code = service.err().code().unwrap_or_default();
        let status = service.raw().status().as_u16();
        let kind = match code {
            "InvalidObjectState" => Some(ErrorKind::Archived),
            "AccessDenied"
            | "Forbidden"
            | "KMS.DisabledException"
            | "KMS.AccessDeniedException" => Some(ErrorKind::AccessDenied),
            _ if status == 403 => Some(ErrorKind::AccessDenied),
            _ => None,
        };
        if let Some(kind) = kind {
            // The record's reason reaches creators and event subscribers: it names no bucket,
            // key or service error. The operator finds those in the log.
            let detail = service.err().message().unwrap_or(code);
            tracing::warn!(%context, %code, %detail, "the original cannot be read");
            let message = match kind {
                ErrorKind::Archived => "the original is archived and must be restored first",
                _ => "access to the original was denied; an operator must check its permissions",
            };
            return ReadError::Unreadable(ProcessError::new(kind, message));
        }
    }
    store_error(context, err).into()
}

/// Whether the object is in an archive tier it cannot be read from without a restore.
fn archived(
    class: Option<&StorageClass>,
    tier: Option<&ArchiveStatus>,
    restore: Option<&str>,
) -> Option<ProcessError> {
    let restored = restore.is_some_and(|r| r.contains("ongoing-request=\"false\""));
    let in_archive = matches!(
        class,
        Some(StorageClass::Glacier | StorageClass::DeepArchive)
    ) || tier.is_some();
    (in_archive && !restored).then(|| {
        ProcessError::new(
            ErrorKind::Archived,
            "the original is in an archive storage class; restore it to process it",
        )
    })
}

/// An S3 timestamp as the core's time type.
pub(crate) fn to_time(t: &aws_sdk_s3::primitives::DateTime) -> Option<time::OffsetDateTime> {
    time::OffsetDateTime::from_unix_timestamp_nanos(t.as_nanos()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_s3::config::http::HttpResponse;
    use aws_sdk_s3::error::ErrorMetadata;
    use aws_sdk_s3::operation::get_object::GetObjectError;
    use aws_sdk_s3::primitives::SdkBody;

    /// The SDK's error for an S3 answer of `status` with error `code`.
    fn answer(status: u16, code: &str) -> SdkError<GetObjectError, HttpResponse> {
        let meta = ErrorMetadata::builder()
            .code(code)
            .message("from S3")
            .build();
        let status = status.try_into().expect("a status code");
        SdkError::service_error(
            GetObjectError::generic(meta),
            HttpResponse::new(status, SdkBody::empty()),
        )
    }

    fn kind(error: ReadError) -> Option<ErrorKind> {
        match error {
            ReadError::Unreadable(e) => Some(e.kind),
            _ => None,
        }
    }

    #[test]
    fn refusals_are_permanent_and_trouble_is_not() {
        let read = |status, code| kind(read_error("get s3://b/k", answer(status, code)));
        assert_eq!(read(403, "AccessDenied"), Some(ErrorKind::AccessDenied));
        // A KMS key the caller may not use answers 403 too.
        assert_eq!(
            read(403, "KMS.AccessDeniedException"),
            Some(ErrorKind::AccessDenied)
        );
        assert_eq!(read(403, "InvalidObjectState"), Some(ErrorKind::Archived));
        assert_eq!(read(503, "SlowDown"), None);
        assert!(matches!(
            read_error("get s3://b/k", answer(503, "SlowDown")),
            ReadError::Store(StoreError::Unavailable(_))
        ));
    }

    #[test]
    fn archive_tiers_need_a_restore() {
        assert!(archived(Some(&StorageClass::Glacier), None, None).is_some());
        assert!(archived(Some(&StorageClass::DeepArchive), None, None).is_some());
        let restored =
            Some("ongoing-request=\"false\", expiry-date=\"Fri, 21 Dec 2026 00:00:00 GMT\"");
        assert!(archived(Some(&StorageClass::Glacier), None, restored).is_none());
        let restoring = Some("ongoing-request=\"true\"");
        assert!(archived(Some(&StorageClass::Glacier), None, restoring).is_some());
        assert!(archived(Some(&StorageClass::GlacierIr), None, None).is_none());
        assert!(archived(None, Some(&ArchiveStatus::ArchiveAccess), None).is_some());
        assert!(archived(Some(&StorageClass::Standard), None, None).is_none());
    }
}
