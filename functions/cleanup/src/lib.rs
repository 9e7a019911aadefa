//! The cleanup function: an original is deleted from the uploads bucket, so its renditions go
//! too and its record becomes DELETED (kept, so the history of what existed stays queryable).
//! A delete older than the upload the record reflects (events can arrive out of order) changes
//! nothing.

pub use pictor_aws::batch::HandlerError;
use pictor_aws::batch::{dispatch, Retry};
use pictor_aws::events::{self, EventKind, Notification, ObjectEvent};
use pictor_aws::metrics::Emf;
use pictor_aws::s3_blobs::S3BlobStore;
use pictor_aws::DynamoAssetStore;
use pictor_core::spec::SpecError;
use pictor_core::{AssetId, Ingestor, Pipeline, SourceRef, Spec};
use serde_json::Value;
use std::sync::Arc;
use tracing::Instrument;

/// Every variable the function reads (the CDK app must set exactly these).
pub const ENV_VARS: [&str; 3] = [
    "PICTOR_OUTPUT_BUCKET",
    "PICTOR_TABLE",
    "PICTOR_UPLOAD_PREFIX",
];

#[derive(Debug, Clone)]
pub struct Config {
    pub output_bucket: String,
    pub table: String,
    pub upload_prefix: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{0} must be set")]
    Missing(&'static str),
}

impl Config {
    pub fn from_env() -> Result<Config, ConfigError> {
        Config::from_lookup(|name| std::env::var(name).ok())
    }

    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let required = |name: &'static str| get(name).ok_or(ConfigError::Missing(name));
        Ok(Config {
            output_bucket: required("PICTOR_OUTPUT_BUCKET")?,
            table: required("PICTOR_TABLE")?,
            upload_prefix: pictor_aws::config::upload_prefix(get("PICTOR_UPLOAD_PREFIX")),
        })
    }
}

/// What happened to one object event.
#[derive(Debug, Clone, PartialEq)]
pub enum Handled {
    Ignored(&'static str),
    /// Renditions deleted, record marked DELETED.
    Deleted(AssetId),
    /// No record, already deleted, or a newer upload replaced the object.
    Nothing,
}

pub struct Cleanup {
    ingestor: Ingestor<S3BlobStore, DynamoAssetStore>,
    config: Config,
}

impl Cleanup {
    /// Fails only if the built-in spec (needed to open the ingestor, never used to process an
    /// image here) does not load.
    pub fn new(sdk: &aws_config::SdkConfig, config: Config) -> Result<Cleanup, SpecError> {
        let renditions =
            S3BlobStore::new(pictor_aws::config::s3_client(sdk), &config.output_bucket);
        let assets = DynamoAssetStore::new(pictor_aws::config::dynamodb_client(sdk), &config.table);
        // Removal never processes an image: any spec will do.
        let pipeline = Pipeline::new(Spec::default())?;
        Ok(Cleanup {
            ingestor: Ingestor::new(Arc::new(pipeline), renditions, assets),
            config,
        })
    }

    pub async fn handle(&self, event: Value) -> Result<Value, HandlerError> {
        dispatch(event, |body| async move {
            self.handle_body(&body).await.map(|_| ())
        })
        .await
    }

    pub async fn handle_body(&self, body: &str) -> Result<Vec<Handled>, Retry> {
        let records = match events::parse(body) {
            Ok(Notification::Test) => return Ok(vec![Handled::Ignored("test event")]),
            Ok(Notification::Records(records)) => records,
            Err(e) => {
                tracing::error!(error = %e, "unreadable notification dropped");
                return Ok(vec![Handled::Ignored("unreadable notification")]);
            }
        };
        let mut handled = Vec::with_capacity(records.len());
        for event in &records {
            let identity = format!("s3://{}/{}", event.bucket, event.key);
            let span = tracing::info_span!(
                "object",
                bucket = %event.bucket,
                key = %event.key,
                asset_id = %AssetId::for_source(&identity),
            );
            handled.push(
                Box::pin(self.handle_object(event, identity))
                    .instrument(span)
                    .await?,
            );
        }
        Ok(handled)
    }

    async fn handle_object(&self, event: &ObjectEvent, identity: String) -> Result<Handled, Retry> {
        if event.kind != EventKind::Removed {
            return Ok(Handled::Ignored("not an object removal"));
        }
        if !event.key.starts_with(&self.config.upload_prefix) {
            return Ok(Handled::Ignored("outside the upload prefix"));
        }
        let source = SourceRef {
            identity,
            display: event.key.clone(),
            creator: None,
            revision: Some(event.revision.clone()),
        };
        match self.ingestor.remove(&source).await {
            Ok(Some(asset)) => {
                tracing::info!("renditions deleted, record marked deleted");
                Emf::new("cleanup")
                    .count("Deleted", 1.0)
                    .property("assetId", asset.id.as_str())
                    .emit();
                Ok(Handled::Deleted(asset.id))
            }
            Ok(None) => {
                tracing::info!("nothing to delete");
                Ok(Handled::Nothing)
            }
            Err(e) => Err(Retry(e.to_string())),
        }
    }
}
