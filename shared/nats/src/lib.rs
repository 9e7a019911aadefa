//! Pictor on NATS JetStream, for deployments without AWS: upload notifications in S3's event
//! format (as MinIO, Ceph RGW and SeaweedFS send them) taken from a durable consumer
//! (`worker`), and asset events published to a subject in the shape an EventBridge rule
//! delivers (`NatsEvents`).

mod events;
#[cfg(feature = "testing")]
pub mod testing;
pub mod worker;

pub use events::NatsEvents;
pub use worker::{Delivery, DeliveryHandler, Settings, Worker, WorkerError};
