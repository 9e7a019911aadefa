//! The cleanup function: an original is deleted from the uploads bucket, so its renditions go
//! too and its record becomes DELETED (kept, so the history of what existed stays queryable).
//! A delete older than the upload the record reflects (events can arrive out of order) changes
//! nothing.

mod config;

pub use config::{Config, ConfigError, ENV_VARS};
pub use pictor_aws::batch::HandlerError;
use pictor_aws::batch::{dispatch, Retry};
use pictor_aws::events::{self, EventKind, Notification, ObjectEvent};
use pictor_aws::metrics::Emf;
use pictor_core::ports::{AssetStore, BlobStore};
use pictor_core::{AssetId, Remover};
use serde_json::Value;
use tracing::Instrument;

/// What happened to one object event.
#[derive(Debug, Clone, PartialEq)]
pub enum Handled {
    Ignored(&'static str),
    /// Renditions deleted, record marked DELETED.
    Deleted(AssetId),
    /// No record, already deleted, or a newer upload replaced the object.
    Nothing,
}

/// The handler on the AWS adapters, as the function runs it.
pub type AwsCleanup = Cleanup<pictor_aws::S3BlobStore, pictor_aws::DynamoAssetStore>;

/// The handler, over any adapters of the two ports it touches.
pub struct Cleanup<B, A> {
    remover: Remover<B, A>,
    config: Config,
}

impl<B: BlobStore, A: AssetStore> Cleanup<B, A> {
    pub fn new(config: Config, renditions: B, assets: A) -> Self {
        Cleanup {
            remover: Remover::new(renditions, assets),
            config,
        }
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
            let span = tracing::info_span!(
                "object",
                bucket = %event.bucket,
                key = %event.key,
                asset_id = %event.location().asset_id(),
            );
            handled.push(Box::pin(self.handle_object(event)).instrument(span).await?);
        }
        Ok(handled)
    }

    async fn handle_object(&self, event: &ObjectEvent) -> Result<Handled, Retry> {
        if event.kind != EventKind::Removed {
            return Ok(Handled::Ignored("not an object removal"));
        }
        if self.config.upload_prefix.below(&event.key).is_none() {
            return Ok(Handled::Ignored("outside the upload prefix"));
        }
        match self
            .remover
            .remove(&event.location(), Some(&event.revision))
            .await
        {
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
