//! `OriginalStore` on S3: reads `s3://` locations in any bucket the client may read.

use crate::errors::store_error;
use async_trait::async_trait;
use pictor_core::ports::{Original, OriginalStore, ReadError, StoreError};
use pictor_core::{Revision, SourceLocation};

#[derive(Clone)]
pub struct S3Originals {
    client: aws_sdk_s3::Client,
}

impl S3Originals {
    pub fn new(client: aws_sdk_s3::Client) -> S3Originals {
        S3Originals { client }
    }
}

#[async_trait]
impl OriginalStore for S3Originals {
    async fn read(&self, location: &SourceLocation, limit: u64) -> Result<Original, ReadError> {
        let SourceLocation::S3 { bucket, key } = location else {
            return Err(ReadError::Store(StoreError::InvalidKey {
                key: location.to_string(),
                reason: "not an S3 object".into(),
            }));
        };
        let object = get_object(&self.client, bucket, key, limit).await?;
        Ok(Original {
            creator: object.metadata.get("creator").cloned(),
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
        Err(e) => return Err(store_error(&format!("get {}", url()), e).into()),
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
