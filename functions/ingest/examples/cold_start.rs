//! Cold start and first-event latency of a `pictor-ingest` binary, run as Lambda runs it:
//! against the local Runtime API, with the local S3/SQS/DynamoDB server behind it.
//!
//! cold_start BINARY IMAGE [RUNS]
//!
//! Each run starts a fresh process, times process start -> first poll for work, then sends
//! one SQS batch with one upload (the first event, on a cold process) and a second one with
//! another upload (warm). Prints one JSON object with every run and the medians.

use aws_sdk_s3::primitives::ByteStream;
use pictor_aws::batch::sqs_event;
use pictor_aws::config;
use pictor_aws::testing::runtime_api::RuntimeApi;
use pictor_aws::testing::{endpoint, fresh_resources, sdk_config};
use serde_json::json;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(f64::NAN)
}

fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 1e5).round() / 100.0
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let args: Vec<String> = std::env::args().collect();
    let (binary, image) = match args.as_slice() {
        [_, binary, image, ..] => (binary.clone(), std::fs::read(image)?),
        _ => return Err("usage: cold_start BINARY IMAGE [RUNS]".into()),
    };
    let runs: usize = args.get(3).map_or(Ok(5), |n| n.parse())?;
    let sdk = sdk_config();
    let r = fresh_resources(&sdk).await?;
    let s3 = config::s3_client(&sdk);
    // The notification the bucket sends, as in AWS's documentation, for one uploaded key.
    let notification = |key: &str| {
        json!({"Records": [{
            "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1",
            "eventTime": "2026-01-01T00:00:00.000Z", "eventName": "ObjectCreated:Put",
            "s3": {"bucket": {"name": r.uploads_bucket, "arn": format!("arn:aws:s3:::{}", r.uploads_bucket)},
                   "object": {"key": key, "size": image.len()}}
        }]})
        .to_string()
    };

    let mut results = Vec::new();
    for run in 0..runs {
        let keys = [
            format!("uploads/bench/cold-{run}.jpg"),
            format!("uploads/bench/warm-{run}.jpg"),
        ];
        for key in &keys {
            s3.put_object()
                .bucket(&r.uploads_bucket)
                .key(key)
                .body(ByteStream::from(image.clone()))
                .send()
                .await?;
        }
        let api = RuntimeApi::start().await?;
        let started = Instant::now();
        let mut child = Command::new(&binary)
            .env_clear()
            .env("AWS_LAMBDA_RUNTIME_API", &api.address)
            .env("AWS_LAMBDA_FUNCTION_NAME", "pictor-ingest")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "1769")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_LOG_STREAM_NAME", "local")
            .env("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/pictor-ingest")
            .env("AWS_ENDPOINT_URL", endpoint())
            .env("AWS_REGION", "us-east-1")
            .env("AWS_ACCESS_KEY_ID", "local")
            .env("AWS_SECRET_ACCESS_KEY", "local")
            .env("PICTOR_OUTPUT_BUCKET", &r.output_bucket)
            .env("PICTOR_TABLE", &r.table)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        let polled = api.first_poll(Duration::from_secs(30)).await;
        let mut latencies = Vec::new();
        for (i, key) in keys.iter().enumerate() {
            let request = api.invoke(&sqs_event([(format!("m{i}"), notification(key))]));
            let answer = api.answer(&request, Duration::from_secs(120)).await;
            match answer {
                Some(a) if a.ok && a.body == json!({"batchItemFailures": []}) => {
                    latencies.push(a.latency)
                }
                other => {
                    let _ = child.kill();
                    return Err(format!("{key}: unexpected answer {other:?}").into());
                }
            }
        }
        let _ = child.kill();
        let _ = child.wait();
        let polled = polled.ok_or("the binary never polled for work")?;
        results.push((ms(polled - started), ms(latencies[0]), ms(latencies[1])));
    }
    let column = |f: fn(&(f64, f64, f64)) -> f64| results.iter().map(f).collect::<Vec<_>>();
    println!(
        "{}",
        json!({
            "binary_bytes": std::fs::metadata(&binary)?.len(),
            "image_bytes": image.len(),
            "first_poll_ms": column(|r| r.0),
            "first_event_ms": column(|r| r.1),
            "warm_event_ms": column(|r| r.2),
            "median_first_poll_ms": median(column(|r| r.0)),
            "median_first_event_ms": median(column(|r| r.1)),
            "median_warm_event_ms": median(column(|r| r.2)),
        })
    );
    Ok(())
}
