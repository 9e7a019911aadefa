//! Cold start and first-event latency of a `pictor-ingest` binary, run as Lambda runs it:
//! against the local Runtime API, with the local S3/SQS/DynamoDB server behind it.
//!
//! cold_start BINARY IMAGE [RUNS]
//!
//! Each run starts a fresh process, times process start -> first poll for work, then sends
//! one SQS batch with one upload (the first event, on a cold process) and a second one with
//! another upload (warm). Prints one JSON object with every run and the medians.

mod harness;

use harness::{median, ms, start_function, upload_all};
use pictor_aws::batch::sqs_event;
use pictor_aws::config;
use pictor_aws::testing::runtime_api::RuntimeApi;
use pictor_aws::testing::{fresh_resources, sdk_config};
use serde_json::json;
use std::time::{Duration, Instant};

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
    let mut results = Vec::new();
    for run in 0..runs {
        let keys = [
            format!("uploads/bench/cold-{run}.jpg"),
            format!("uploads/bench/warm-{run}.jpg"),
        ];
        let bodies = upload_all(&s3, &r, &keys, &image).await?;
        let api = RuntimeApi::start().await?;
        let started = Instant::now();
        let mut child = start_function(std::slice::from_ref(&binary), &api.address, &r, &[])?;
        let polled = api.first_poll(Duration::from_secs(30)).await;
        let mut latencies = Vec::new();
        for (i, (key, body)) in keys.iter().zip(bodies).enumerate() {
            let request = api.invoke(&sqs_event([(format!("m{i}"), body)]));
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
