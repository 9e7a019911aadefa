//! The queue worker for deployments without AWS: S3-format notifications (as MinIO, Ceph RGW
//! and SeaweedFS send them) from NATS JetStream, originals and renditions on any S3-compatible
//! server (`AWS_ENDPOINT_URL`, path-style, no region needed), records in PostgreSQL, asset
//! events on a NATS subject. The handler is the ingest function's: every delivery converges
//! the asset to what the bucket holds, exactly as on Lambda, and a notification whose last
//! allowed delivery fails leaves a FAILED `transient` record before its dead letter.

use async_trait::async_trait;
use aws_config::SdkConfig;
use pictor_aws::batch::Retry;
use pictor_ingest::Ingest;
use pictor_nats::{Delivery, DeliveryHandler, NatsEvents, Settings};
use pictor_postgres::PgAssetStore;
use serde::Deserialize;
use std::sync::Arc;
use tokio::sync::watch;

/// Every variable the worker reads.
pub const ENV_VARS: [&str; 11] = [
    "PICTOR_NATS_URL",
    "PICTOR_NATS_PREFIX",
    "PICTOR_DB",
    "PICTOR_OUTPUT_BUCKET",
    "PICTOR_IN_FLIGHT",
    "PICTOR_MAX_DELIVERIES",
    "PICTOR_ACK_WAIT_SECONDS",
    "PICTOR_UPLOAD_PREFIX",
    "PICTOR_SPEC",
    "PICTOR_SPEC_FILE",
    "PICTOR_ENCODE_THREADS",
];

#[derive(Deserialize)]
struct Vars {
    nats_url: Option<String>,
    nats_prefix: Option<String>,
    db: String,
    output_bucket: String,
    in_flight: Option<String>,
    max_deliveries: Option<String>,
    ack_wait_seconds: Option<String>,
    #[serde(flatten)]
    pipeline: pictor_aws::config::PipelineVars,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error(transparent)]
    Env(#[from] pictor_aws::config::EnvError),
    #[error(transparent)]
    Pipeline(#[from] pictor_aws::config::PipelineSettingsError),
    #[error("{name} must be a whole number of at least 1, not {value:?}")]
    Count { name: &'static str, value: String },
}

pub struct Config {
    pub nats_url: String,
    pub broker: Settings,
    pub db: String,
    pub ingest: pictor_ingest::Config,
}

fn count(name: &'static str, value: Option<String>, default: usize) -> Result<usize, ConfigError> {
    match value {
        None => Ok(default),
        Some(v) => v
            .parse()
            .ok()
            .filter(|n| *n >= 1)
            .ok_or(ConfigError::Count { name, value: v }),
    }
}

impl Config {
    pub fn from_env() -> Result<Config, ConfigError> {
        Config::from_vars(pictor_aws::config::from_env()?)
    }

    /// [`Config::from_env`] over the given variables.
    pub fn from_pairs<'a>(
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Config, ConfigError> {
        Config::from_vars(pictor_aws::config::from_vars(pairs)?)
    }

    fn from_vars(vars: Vars) -> Result<Config, ConfigError> {
        let (presets, upload_prefix) = vars.pipeline.settings()?;
        let mut broker = Settings::named(vars.nats_prefix.as_deref().unwrap_or("pictor"));
        broker.in_flight = count("PICTOR_IN_FLIGHT", vars.in_flight, 2)?;
        let deliveries = count("PICTOR_MAX_DELIVERIES", vars.max_deliveries, 4)?;
        broker.max_deliver = deliveries as i64;
        let ack_wait = count("PICTOR_ACK_WAIT_SECONDS", vars.ack_wait_seconds, 60)?;
        broker.ack_wait = std::time::Duration::from_secs(ack_wait as u64);
        Ok(Config {
            nats_url: vars
                .nats_url
                .unwrap_or_else(|| "nats://127.0.0.1:4222".to_string()),
            broker,
            db: vars.db,
            ingest: pictor_ingest::Config {
                event_bus: None,
                output_bucket: vars.output_bucket,
                table: String::new(),
                upload_prefix,
                presets,
                max_receives: u32::try_from(deliveries).ok(),
                cdn_purge: false,
            },
        })
    }
}

/// The ingest handler on S3-compatible storage and PostgreSQL.
pub type Handler = Ingest<pictor_aws::S3Originals, pictor_aws::S3BlobStore, PgAssetStore>;

/// Deliveries from JetStream handed to the ingest handler, as an SQS batch's messages are.
pub struct Deliveries(pub Handler);

#[async_trait]
impl DeliveryHandler for Deliveries {
    async fn before_last(&self, body: &str) {
        self.0.record_last_attempt(body).await;
    }

    async fn handle(&self, d: &Delivery) -> Result<(), String> {
        let delivery = pictor_aws::batch::Delivery {
            body: d.body.clone(),
            receive_count: u32::try_from(d.number).unwrap_or(u32::MAX),
            is_last: d.is_last,
            finish_by: None,
        };
        self.0
            .handle_delivery(&delivery)
            .await
            .map(|_| ())
            .map_err(|Retry(reason)| reason)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Records(#[from] pictor_postgres::PgError),
    #[error(transparent)]
    Broker(#[from] pictor_nats::WorkerError),
}

/// A worker wired to its broker and stores.
pub struct Worker {
    broker: pictor_nats::Worker,
    deliveries: Deliveries,
}

impl Worker {
    /// Connects to PostgreSQL (migrating its schema), to NATS (creating the streams), and to
    /// the S3-compatible server the standard AWS variables name (`AWS_ENDPOINT_URL`, keys).
    pub async fn start(config: Config) -> Result<Worker, StartError> {
        Worker::start_with(config, pictor_aws::config::load().await).await
    }

    /// [`Worker::start`] with the S3 settings given rather than read from the environment.
    pub async fn start_with(config: Config, sdk: SdkConfig) -> Result<Worker, StartError> {
        let records = PgAssetStore::connect(&config.db).await?;
        let broker = pictor_nats::Worker::connect(&config.nats_url, config.broker).await?;
        broker.ensure_streams().await?;
        let originals = pictor_aws::S3Originals::new(pictor_aws::config::s3_client(&sdk));
        let renditions = pictor_aws::config::rendition_store(&sdk, &config.ingest.output_bucket);
        let events = NatsEvents::new(broker.jetstream().clone(), broker.settings().events.clone());
        let handler = Ingest::new(config.ingest, originals, renditions, records)
            .publishing_as("ingest")
            .with_events(Arc::new(events));
        Ok(Worker {
            broker,
            deliveries: Deliveries(handler),
        })
    }

    pub fn broker(&self) -> &pictor_nats::Worker {
        &self.broker
    }

    /// Takes notifications until `stop` says so.
    pub async fn run(&self, stop: watch::Receiver<bool>) -> Result<(), pictor_nats::WorkerError> {
        self.broker.run(&self.deliveries, stop).await
    }
}

/// SIGTERM (a container's stop) or Ctrl-C.
pub async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = term.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_errors() {
        let base = [
            ("PICTOR_DB", "postgres://p@h/d"),
            ("PICTOR_OUTPUT_BUCKET", "out"),
        ];
        let c = Config::from_pairs(base).unwrap();
        assert_eq!(c.nats_url, "nats://127.0.0.1:4222");
        assert_eq!(
            (c.broker.subject.as_str(), c.broker.in_flight),
            ("pictor.uploads", 2)
        );
        assert_eq!((c.broker.max_deliver, c.ingest.max_receives), (4, Some(4)));
        assert_eq!(c.broker.ack_wait.as_secs(), 60);
        let three = [base[0], base[1], ("PICTOR_MAX_DELIVERIES", "3")];
        let c = Config::from_pairs(three).unwrap();
        assert_eq!((c.broker.max_deliver, c.ingest.max_receives), (3, Some(3)));
        let zero = [base[0], base[1], ("PICTOR_IN_FLIGHT", "0")];
        let e = Config::from_pairs(zero).err().map(|e| e.to_string());
        assert_eq!(
            e.as_deref(),
            Some("PICTOR_IN_FLIGHT must be a whole number of at least 1, not \"0\"")
        );
        let missing = Config::from_pairs([base[1]]).err().map(|e| e.to_string());
        assert_eq!(missing.as_deref(), Some("PICTOR_DB must be set"));
    }
}
