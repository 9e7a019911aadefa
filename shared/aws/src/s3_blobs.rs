//! `BlobStore` on an S3 bucket.

use crate::errors::store_error;
use async_trait::async_trait;
use aws_sdk_s3::primitives::ByteStream;
use pictor_core::ports::{validate_key, BlobMeta, BlobStore, StoreError};
use std::collections::HashMap;

#[derive(Clone)]
pub struct S3BlobStore {
    client: aws_sdk_s3::Client,
    bucket: String,
    cache_control: Option<String>,
}

/// An object read whole, with what S3 says about it.
#[derive(Debug, Clone)]
pub struct FetchedObject {
    pub bytes: Vec<u8>,
    /// User metadata (`x-amz-meta-*`), keys without the prefix.
    pub metadata: HashMap<String, String>,
    pub version_id: Option<String>,
    pub etag: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("the object does not exist (any more)")]
    NotFound,
    #[error("the object has {size} bytes, more than the limit of {limit}")]
    TooLarge { size: u64, limit: u64 },
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl S3BlobStore {
    pub fn new(client: aws_sdk_s3::Client, bucket: impl Into<String>) -> Self {
        S3BlobStore {
            client,
            bucket: bucket.into(),
            cache_control: None,
        }
    }

    /// `Cache-Control` sent with every `put` (renditions are immutable: cache them long).
    pub fn with_cache_control(mut self, value: impl Into<String>) -> Self {
        self.cache_control = Some(value.into());
        self
    }

    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    pub fn client(&self) -> &aws_sdk_s3::Client {
        &self.client
    }

    fn url(&self, key: &str) -> String {
        format!("s3://{}/{key}", self.bucket)
    }

    /// Reads an object once, refusing it from its `Content-Length` before the body is read
    /// when it is larger than `limit`.
    pub async fn fetch(&self, key: &str, limit: u64) -> Result<FetchedObject, FetchError> {
        let out = match self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
        {
            Ok(out) => out,
            Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => {
                return Err(FetchError::NotFound)
            }
            Err(e) => return Err(store_error(&format!("get {}", self.url(key)), e).into()),
        };
        let size = out.content_length().map_or(0, |n| n.max(0) as u64);
        if size > limit {
            return Err(FetchError::TooLarge { size, limit });
        }
        let metadata = out.metadata().cloned().unwrap_or_default();
        let version_id = out.version_id().map(str::to_string);
        let etag = out.e_tag().map(str::to_string);
        let bytes = out
            .body
            .collect()
            .await
            .map_err(|e| StoreError::Unavailable(format!("reading {}: {e}", self.url(key))))?;
        Ok(FetchedObject {
            bytes: bytes.into_bytes().to_vec(),
            metadata,
            version_id,
            etag,
        })
    }
}

#[async_trait]
impl BlobStore for S3BlobStore {
    async fn get(&self, key: &str) -> Result<Vec<u8>, StoreError> {
        validate_key(key)?;
        match self.fetch(key, u64::MAX).await {
            Ok(object) => Ok(object.bytes),
            Err(FetchError::NotFound) => Err(StoreError::NotFound(self.url(key))),
            Err(e @ FetchError::TooLarge { .. }) => Err(StoreError::Other(e.to_string())),
            Err(FetchError::Store(e)) => Err(e),
        }
    }

    async fn head(&self, key: &str) -> Result<Option<BlobMeta>, StoreError> {
        validate_key(key)?;
        match self
            .client
            .head_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
        {
            Ok(out) => Ok(Some(BlobMeta {
                key: key.to_string(),
                size: out.content_length().map_or(0, |n| n.max(0) as u64),
            })),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_not_found()) => Ok(None),
            Err(e) => Err(store_error(&format!("head {}", self.url(key)), e)),
        }
    }

    async fn put(&self, key: &str, data: Vec<u8>, content_type: &str) -> Result<(), StoreError> {
        validate_key(key)?;
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            .set_cache_control(self.cache_control.clone())
            .body(ByteStream::from(data))
            .send()
            .await
            .map_err(|e| store_error(&format!("put {}", self.url(key)), e))?;
        Ok(())
    }

    async fn list(&self, prefix: &str) -> Result<Vec<BlobMeta>, StoreError> {
        let mut pages = self
            .client
            .list_objects_v2()
            .bucket(&self.bucket)
            .prefix(prefix)
            .into_paginator()
            .send();
        let mut out = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| store_error(&format!("list {}", self.url(prefix)), e))?;
            for object in page.contents() {
                if let Some(key) = object.key() {
                    out.push(BlobMeta {
                        key: key.to_string(),
                        size: object.size().map_or(0, |n| n.max(0) as u64),
                    });
                }
            }
        }
        out.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(out)
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        validate_key(key)?;
        self.client
            .delete_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| store_error(&format!("delete {}", self.url(key)), e))?;
        Ok(())
    }
}
