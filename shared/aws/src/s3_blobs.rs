//! `BlobStore` on an S3 bucket.

use crate::errors::store_error;
use crate::s3_originals::get_object;
use async_trait::async_trait;
use aws_sdk_s3::primitives::ByteStream;
use pictor_core::ports::{validate_key, BlobMeta, BlobStore, ReadError, StoreError};

#[derive(Clone)]
pub struct S3BlobStore {
    client: aws_sdk_s3::Client,
    bucket: String,
    cache_control: Option<String>,
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

    fn url(&self, key: &str) -> String {
        pictor_core::SourceLocation::s3(&self.bucket, key).to_string()
    }
}

#[async_trait]
impl BlobStore for S3BlobStore {
    async fn get(&self, key: &str) -> Result<Vec<u8>, StoreError> {
        validate_key(key)?;
        match get_object(&self.client, &self.bucket, key, u64::MAX).await {
            Ok(object) => Ok(object.bytes),
            Err(ReadError::NotFound) => Err(StoreError::NotFound(self.url(key))),
            Err(ReadError::Store(e)) => Err(e),
            Err(e) => Err(StoreError::Other(e.to_string())),
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
                modified: out.last_modified().and_then(crate::s3_originals::to_time),
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
                        modified: object
                            .last_modified()
                            .and_then(crate::s3_originals::to_time),
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

    /// Up to 1,000 keys per `DeleteObjects` request: a reconcile pass deleting a backlog of
    /// orphans makes a hundredth of the requests.
    async fn delete_many(&self, keys: &[String]) -> Result<(), StoreError> {
        use aws_sdk_s3::types::{Delete, ObjectIdentifier};
        for chunk in keys.chunks(1000) {
            let mut objects = Vec::with_capacity(chunk.len());
            for key in chunk {
                validate_key(key)?;
                objects.push(
                    ObjectIdentifier::builder()
                        .key(key)
                        .build()
                        .map_err(|e| StoreError::Other(format!("delete {key}: {e}")))?,
                );
            }
            let delete = Delete::builder()
                .set_objects(Some(objects))
                .quiet(true)
                .build()
                .map_err(|e| StoreError::Other(format!("delete request: {e}")))?;
            let out = self
                .client
                .delete_objects()
                .bucket(&self.bucket)
                .delete(delete)
                .send()
                .await
                .map_err(|e| store_error(&format!("delete in {}", self.url("")), e))?;
            if let Some(first) = out.errors().first() {
                return Err(StoreError::Unavailable(format!(
                    "{} of {} deletes refused in {}, first: {} {}",
                    out.errors().len(),
                    chunk.len(),
                    self.url(""),
                    first.key().unwrap_or_default(),
                    first.code().unwrap_or_default()
                )));
            }
        }
        Ok(())
    }
}
