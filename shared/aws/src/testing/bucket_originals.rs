//! Originals as objects in a bucket, as the conformance suite of `OriginalStore` places them:
//! under `uploads/`, the creator as `x-amz-meta-creator`, a display name as the upload form
//! keeps it.

use async_trait::async_trait;
use aws_sdk_s3::primitives::ByteStream;
use pictor_core::domain::display_name::{encode_name, NAME_METADATA};
use pictor_core::ports::conformance::OriginalsFixture;
use pictor_core::SourceLocation;

pub struct BucketOriginals {
    pub client: aws_sdk_s3::Client,
    pub name: String,
}

#[async_trait]
impl OriginalsFixture for BucketOriginals {
    async fn place(&self, name: &str, bytes: Vec<u8>, creator: Option<&str>) -> SourceLocation {
        let key = format!("uploads/{name}");
        let mut put = self
            .client
            .put_object()
            .bucket(&self.name)
            .key(&key)
            .body(ByteStream::from(bytes));
        if let Some(creator) = creator {
            put = put.metadata("creator", creator);
        }
        put.send().await.unwrap();
        SourceLocation::s3(&self.name, key)
    }
    async fn place_named(&self, name: &str, bytes: Vec<u8>, display: &str) -> SourceLocation {
        let key = format!("uploads/{name}");
        self.client
            .put_object()
            .bucket(&self.name)
            .key(&key)
            .metadata(NAME_METADATA, encode_name(display))
            .body(ByteStream::from(bytes))
            .send()
            .await
            .unwrap();
        SourceLocation::s3(&self.name, key)
    }
    fn missing(&self, name: &str) -> SourceLocation {
        SourceLocation::s3(&self.name, format!("uploads/{name}"))
    }
    fn foreign(&self) -> SourceLocation {
        SourceLocation::file(std::path::Path::new("/tmp/a.jpg"))
    }
    fn root(&self) -> SourceLocation {
        SourceLocation::s3(&self.name, "uploads/")
    }
    fn keeps_metadata(&self) -> bool {
        true
    }
}
