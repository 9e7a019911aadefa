//! What the measuring examples share: the ingest binary started as Lambda starts it, against
//! a local Runtime API and the local S3/SQS/DynamoDB server, the notification S3 sends, and
//! the bare pipeline they are measured against. The queue worker's throughput example
//! (`functions/worker/examples/worker_throughput.rs`) includes this module too.
// Each example uses a part of it.
#![allow(dead_code)]

use pictor_aws::batch::sqs_event;
use pictor_aws::provision::Resources;
use pictor_aws::testing::endpoint;
use pictor_aws::testing::runtime_api::RuntimeApi;
use serde_json::json;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub type Error = Box<dyn std::error::Error + Send + Sync>;

/// The ingest queue's batch size in the CDK app.
pub const BATCH_SIZE: usize = 5;

/// The memory size the CDK app gives the ingest function (one vCPU on Lambda).
pub const MEMORY_MB: &str = "1769";

/// Starts `command` (a program and its arguments) as Lambda starts a function, polling
/// `runtime_api`, writing to `r`'s bucket and table, with one encode thread (what the CDK app
/// sets at this memory size) and `extra` variables besides.
pub fn start_function(
    command: &[String],
    runtime_api: &str,
    r: &Resources,
    extra: &[(String, String)],
) -> std::io::Result<Child> {
    let (program, args) = command
        .split_first()
        .ok_or_else(|| std::io::Error::other("no command to start"))?;
    Command::new(program)
        .args(args)
        .env_clear()
        .env("AWS_LAMBDA_RUNTIME_API", runtime_api)
        .env("AWS_LAMBDA_FUNCTION_NAME", "pictor-ingest")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", MEMORY_MB)
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "local")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/pictor-ingest")
        .env("AWS_ENDPOINT_URL", endpoint())
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "local")
        .env("AWS_SECRET_ACCESS_KEY", "local")
        .env("PICTOR_OUTPUT_BUCKET", &r.output_bucket)
        .env("PICTOR_TABLE", &r.table)
        .env("PICTOR_ENCODE_THREADS", "1")
        .envs(extra.iter().map(|(k, v)| (k, v)))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
}

/// Uploads `bytes` under each of `keys` into `r`'s uploads bucket; returns the bucket's
/// notification for each.
pub async fn upload_all(
    s3: &aws_sdk_s3::Client,
    r: &Resources,
    keys: &[String],
    bytes: &[u8],
) -> Result<Vec<String>, aws_sdk_s3::Error> {
    let mut bodies = Vec::new();
    for key in keys {
        s3.put_object()
            .bucket(&r.uploads_bucket)
            .key(key)
            .body(aws_sdk_s3::primitives::ByteStream::from(bytes.to_vec()))
            .send()
            .await?;
        bodies.push(notification(&r.uploads_bucket, key, bytes.len()));
    }
    Ok(bodies)
}

/// The notification the bucket sends for one uploaded key, as in AWS's documentation, with
/// a sequencer that grows with every notification made here.
pub fn notification(bucket: &str, key: &str, size: usize) -> String {
    static SEQUENCER: std::sync::atomic::AtomicU64 =
        std::sync::atomic::AtomicU64::new(0x0055_AED6_DCD9_0281);
    let sequencer = SEQUENCER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    json!({"Records": [{
        "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1",
        "eventTime": "2026-01-01T00:00:00.000Z", "eventName": "ObjectCreated:Put",
        "s3": {"bucket": {"name": bucket, "arn": format!("arn:aws:s3:::{bucket}")},
               "object": {"key": key, "size": size, "sequencer": format!("{sequencer:018X}")}}
    }]})
    .to_string()
}

pub fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(f64::NAN)
}

pub fn ms(d: std::time::Duration) -> f64 {
    (d.as_secs_f64() * 1e5).round() / 100.0
}

/// How long a run of batches took.
pub struct Fed {
    /// From the first poll after start-up (the end of the function's init) to the last answer.
    pub total: Duration,
    /// Each invocation, from the hand-over of its event to its answer: what Lambda bills.
    pub invocations: Vec<Duration>,
    /// From the function's start to its first poll: its init.
    pub init: Duration,
}

/// Waits for the function started at `started` to poll, then hands `bodies` to it in batches of
/// [`BATCH_SIZE`], one after the other, and checks that every message succeeded.
pub async fn feed(api: &RuntimeApi, started: Instant, bodies: &[String]) -> Result<Fed, Error> {
    let polled = api
        .first_poll(Duration::from_secs(60))
        .await
        .ok_or("the function never polled for work")?;
    let begun = Instant::now();
    let mut invocations = Vec::new();
    for (b, batch) in bodies.chunks(BATCH_SIZE).enumerate() {
        let messages = batch
            .iter()
            .enumerate()
            .map(|(i, body)| (format!("m{b}-{i}"), body.clone()));
        let request = api.invoke(&sqs_event(messages));
        match api.answer(&request, Duration::from_secs(300)).await {
            Some(a) if a.ok && a.body == json!({"batchItemFailures": []}) => {
                invocations.push(a.latency)
            }
            other => return Err(format!("batch {b}: unexpected answer {other:?}").into()),
        }
    }
    Ok(Fed {
        total: begun.elapsed(),
        invocations,
        init: polled.saturating_duration_since(started),
    })
}

/// The bare pipeline on `inputs`, one after another, as the function and the worker run it:
/// off the async runtime's threads.
pub async fn bare_pipeline(
    pipeline: &std::sync::Arc<pictor_core::Pipeline>,
    inputs: Vec<(String, Vec<u8>)>,
) -> Result<Duration, Error> {
    let pipeline = std::sync::Arc::clone(pipeline);
    let took = tokio::task::spawn_blocking(move || -> Result<Duration, String> {
        let started = Instant::now();
        for (name, bytes) in &inputs {
            pipeline
                .process(bytes, Some("bench"))
                .map_err(|e| format!("{name}: {e}"))?;
        }
        Ok(started.elapsed())
    })
    .await??;
    Ok(took)
}

/// The figures of a throughput run as one JSON object: every run's times, the bare pipeline's
/// and `name`'s (`function`, `worker`), their ratios, and the medians.
pub fn throughput_report(
    images: &[(String, Vec<u8>)],
    uploads_per_run: usize,
    pipeline_ms: Vec<f64>,
    name: &str,
    measured_ms: Vec<f64>,
) -> serde_json::Value {
    let ratios: Vec<f64> = pipeline_ms
        .iter()
        .zip(&measured_ms)
        .map(|(p, m)| (p / m * 1000.0).round() / 1000.0)
        .collect();
    let mut report = json!({
        "images": images.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(),
        "uploads_per_run": uploads_per_run,
        "batch_size": BATCH_SIZE,
        "median_pipeline_ms": median(pipeline_ms.clone()),
        "pipeline_ms": pipeline_ms,
        "median_throughput_ratio": median(ratios.clone()),
        "throughput_ratio": ratios,
    });
    report[format!("median_{name}_ms")] = json!(median(measured_ms.clone()));
    report[format!("{name}_ms")] = json!(measured_ms);
    report
}

/// Each image file's name and bytes.
pub fn read_images(paths: &[String]) -> std::io::Result<Vec<(String, Vec<u8>)>> {
    paths
        .iter()
        .map(|path| {
            let name = std::path::Path::new(path)
                .file_name()
                .map_or("image".into(), |n| n.to_string_lossy().into_owned());
            Ok((name, std::fs::read(path)?))
        })
        .collect()
}
