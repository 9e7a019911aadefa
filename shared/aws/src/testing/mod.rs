//! Test support: the local S3/SQS/DynamoDB server, started once per test process by the
//! project's own script (which installs it on first use), and unique resource names.

use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_s3::config::Credentials;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;

/// The server's endpoint; starts it (and installs it, the first time) if needed.
pub fn endpoint() -> String {
    static ENDPOINT: OnceLock<String> = OnceLock::new();
    ENDPOINT
        .get_or_init(|| pictor_core::ports::samples::start_local_server("local-cloud"))
        .clone()
}

/// SDK configuration for the local server, with throwaway credentials.
pub fn sdk_config() -> SdkConfig {
    configured_for(&endpoint(), RetryConfig::standard())
}

/// SDK configuration for whatever answers at `endpoint` (a closed port, to see a transport
/// failure), without the SDK's retries.
pub fn unretried_sdk_config_at(endpoint: &str) -> SdkConfig {
    configured_for(endpoint, RetryConfig::disabled())
}

/// The functions' own HTTPS client, throwaway credentials, one region.
fn configured_for(endpoint: &str, retry: RetryConfig) -> SdkConfig {
    configured_with(endpoint, retry, Some(Region::new("us-east-1")))
}

fn configured_with(endpoint: &str, retry: RetryConfig, region: Option<Region>) -> SdkConfig {
    let mut builder = SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .http_client(crate::config::https_client(crate::config::Trust::Platform))
        .endpoint_url(endpoint)
        .credentials_provider(aws_sdk_s3::config::SharedCredentialsProvider::new(
            Credentials::for_tests(),
        ))
        .retry_config(retry);
    builder.set_region(region);
    builder.build()
}

/// The endpoint of an S3-compatible server that is not AWS's (`scripts/local-s3compat`,
/// SeaweedFS), starting it on first use.
pub fn s3_compatible_endpoint() -> String {
    static ENDPOINT: OnceLock<String> = OnceLock::new();
    ENDPOINT
        .get_or_init(|| pictor_core::ports::samples::start_local_server("local-s3compat"))
        .clone()
}

/// SDK configuration for that server as its users configure it: an endpoint and keys, no
/// region.
pub fn s3_compatible_config() -> SdkConfig {
    configured_with(&s3_compatible_endpoint(), RetryConfig::standard(), None)
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

mod bucket_originals;
pub mod local_cloud;
pub mod runtime_api;

pub use bucket_originals::BucketOriginals;
pub use local_cloud::LocalCloud;

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

/// Sends an HTML form upload (`multipart/form-data` POST) to `url` on the local server, as a
/// browser would send the form `POST /uploads` returns: `fields` in order, then the file as
/// `file` with `content_type`. Returns the status code and the body.
pub fn post_form(
    url: &str,
    fields: &[(String, String)],
    content_type: &str,
    file: &[u8],
) -> (u16, String) {
    use std::io::{Read, Write};
    let boundary = "----pictor-form-boundary-7d1c";
    let mut body = Vec::new();
    let mut part = |name: &str, extra: &str, value: &[u8]| {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"{extra}\r\n")
                .as_bytes(),
        );
        body.extend_from_slice(b"\r\n");
        body.extend_from_slice(value);
        body.extend_from_slice(b"\r\n");
    };
    for (name, value) in fields {
        part(name, "", value.as_bytes());
    }
    part("Content-Type", "", content_type.as_bytes());
    part(
        "file",
        &format!("; filename=\"upload\"\r\nContent-Type: {content_type}"),
        file,
    );
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());

    let rest = url.strip_prefix("http://").expect("a local http:// URL");
    let (host, path) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, "/"),
    };
    let mut stream = std::net::TcpStream::connect(host).expect("the local server");
    let head = format!(
        "POST {path} HTTP/1.0\r\nHost: {host}\r\nContent-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).expect("sending the form");
    stream.write_all(&body).expect("sending the form");
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).expect("reading the answer");
    let text = String::from_utf8_lossy(&raw).to_string();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

/// Receives and deletes `want` messages from `queue_url` (skipping S3's `s3:TestEvent`),
/// waiting up to 30 s; their bodies, in arrival order.
pub async fn receive_bodies(
    sqs: &aws_sdk_sqs::Client,
    queue_url: &str,
    want: usize,
) -> Vec<String> {
    let mut bodies = Vec::new();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while bodies.len() < want {
        assert!(
            std::time::Instant::now() < deadline,
            "only {} of {want} messages on {queue_url}: {bodies:?}",
            bodies.len()
        );
        let out = sqs
            .receive_message()
            .queue_url(queue_url)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .send()
            .await
            .expect("receiving from the local queue");
        for m in out.messages() {
            sqs.delete_message()
                .queue_url(queue_url)
                .receipt_handle(m.receipt_handle().unwrap_or_default())
                .send()
                .await
                .expect("deleting from the local queue");
            let body = m.body().unwrap_or_default();
            if !body.contains("s3:TestEvent") {
                bodies.push(body.to_string());
            }
        }
    }
    bodies
}

/// Receives `want` S3 notifications from `queue_url` as [`receive_bodies`] does, each in the
/// shape S3 itself sends: the local server leaves out the `sequencer` (one per event, growing
/// with every write or delete of a key) and, in a versioned bucket, the `versionId` of the
/// version the event made. They are added here: the sequencer in the order the local server
/// sent the events (one receiver, in order), the version id as the bucket lists it for the
/// event's key and ETag.
pub async fn receive_notifications(sdk: &SdkConfig, queue_url: &str, want: usize) -> Vec<String> {
    let sqs = aws_sdk_sqs::Client::new(sdk);
    let s3 = crate::config::s3_client(sdk);
    let mut shaped = Vec::new();
    for body in receive_bodies(&sqs, queue_url, want).await {
        shaped.push(as_s3_sends(&s3, &body).await);
    }
    shaped
}

/// `body` with a sequencer and, in a versioned bucket, a version id on every record (see
/// [`receive_notifications`]). Records that have them keep theirs.
pub async fn as_s3_sends(s3: &aws_sdk_s3::Client, body: &str) -> String {
    let Ok(mut notification) = serde_json::from_str::<serde_json::Value>(body) else {
        return body.to_string();
    };
    let Some(records) = notification["Records"].as_array_mut() else {
        return body.to_string();
    };
    for record in records {
        let object = &record["s3"]["object"];
        if object["sequencer"].as_str().is_none() {
            record["s3"]["object"]["sequencer"] = next_sequencer().into();
        }
        if record["s3"]["object"]["versionId"].as_str().is_none() {
            if let Some(version) = version_of(s3, record).await {
                record["s3"]["object"]["versionId"] = version.into();
            }
        }
        if record["eventVersion"].as_str().is_none() {
            record["eventVersion"] = "2.1".into();
        }
    }
    notification.to_string()
}

/// A sequencer as S3 writes them (18 hexadecimal digits), larger than every one before it in
/// this process.
pub fn next_sequencer() -> String {
    static BASE: OnceLock<u64> = OnceLock::new();
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let base = *BASE.get_or_init(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_micros() as u64)
    });
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("{:018X}", base.wrapping_mul(16).wrapping_add(n))
}

/// The version a notification's event made, found by its key and ETag in the bucket's
/// listing (newest first); `None` in an unversioned bucket or when it is gone.
async fn version_of(s3: &aws_sdk_s3::Client, record: &serde_json::Value) -> Option<String> {
    let bucket = record["s3"]["bucket"]["name"].as_str()?;
    let key = crate::events::decode_key(record["s3"]["object"]["key"].as_str()?).ok()?;
    let listed = s3
        .list_object_versions()
        .bucket(bucket)
        .prefix(&key)
        .send()
        .await
        .ok()?;
    if record["eventName"] == "ObjectRemoved:DeleteMarkerCreated" {
        return listed
            .delete_markers()
            .iter()
            .find(|m| m.key() == Some(key.as_str()))
            .and_then(|m| m.version_id())
            .map(str::to_string);
    }
    let etag = record["s3"]["object"]["eTag"].as_str()?.trim_matches('"');
    listed
        .versions()
        .iter()
        .filter(|v| v.key() == Some(key.as_str()))
        .find(|v| v.e_tag().map(|e| e.trim_matches('"')) == Some(etag))
        .and_then(|v| v.version_id())
        .filter(|v| *v != "null")
        .map(str::to_string)
}

pub mod smtp;

/// The local server's record of what it holds (moto's `/moto-api/data.json`): how a test reads
/// what was sent to a service with no read API, such as the mail SES accepted.
pub fn server_records() -> serde_json::Value {
    use std::io::{Read, Write};
    let endpoint = endpoint();
    let host = endpoint.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(host).expect("the local cloud");
    write!(
        stream,
        "GET /moto-api/data.json HTTP/1.0\r\nHost: {host}\r\n\r\n"
    )
    .expect("request sent");
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).expect("response read");
    let body = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map_or(&raw[..], |at| &raw[at + 4..]);
    serde_json::from_slice(body).expect("moto's data.json is JSON")
}
