//! Test support: the local S3/SQS/DynamoDB server, started once per test process by the
//! project's own script (which installs it on first use), and unique resource names.

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_s3::config::Credentials;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;

/// The server's endpoint; starts it (and installs it, the first time) if needed.
pub fn endpoint() -> String {
    static ENDPOINT: OnceLock<String> = OnceLock::new();
    ENDPOINT
        .get_or_init(|| {
            let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../scripts/local-cloud");
            let out = std::process::Command::new("bash")
                .arg(script)
                .arg("start")
                .output()
                .unwrap_or_else(|e| panic!("cannot run {script}: {e}"));
            assert!(
                out.status.success(),
                "{script} start failed:\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
            String::from_utf8_lossy(&out.stdout).trim().to_string()
        })
        .clone()
}

/// SDK configuration for the local server, with throwaway credentials.
pub fn sdk_config() -> SdkConfig {
    SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url(endpoint())
        .region(Region::new("us-east-1"))
        .credentials_provider(aws_sdk_s3::config::SharedCredentialsProvider::new(
            Credentials::for_tests(),
        ))
        .build()
}

/// A bucket/table/queue name no other test in any process uses.
pub fn unique(prefix: &str) -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!("{prefix}-{}-{n}-{nanos:x}", std::process::id())
}

pub mod runtime_api;

/// A fresh, uniquely named set of the pipeline's resources (buckets, table, queues and the
/// bucket notification for `uploads/`) on the local server.
pub async fn fresh_resources(
    sdk: &SdkConfig,
) -> Result<crate::provision::Resources, crate::provision::BoxError> {
    crate::provision::provision(
        sdk,
        &unique("up"),
        &unique("out"),
        &unique("t"),
        &unique("q"),
        "uploads/",
    )
    .await
}
