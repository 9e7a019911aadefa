//! What Lambda would bill a function for one upload: any ingest function (Pictor's binary, or
//! a peer's written in another language) run as Lambda runs it, against the local Runtime API
//! and the local S3/SQS/DynamoDB server, fed one image uploaded many times.
//!
//! billed UPLOADS RUNS IMAGE [NAME=VALUE ...] -- COMMAND [ARG ...]
//!
//! Each run starts COMMAND afresh (with the variables Lambda sets, the bucket and table, and
//! the NAME=VALUE pairs), times its init (start to first poll), then hands it the UPLOADS
//! notifications as SQS batches of 5 (the CDK app's batch size), one after the other, timing
//! each invocation from the hand-over of its event to its answer. Every message must succeed.
//! Run it pinned to one CPU (`taskset -c 1`), as a 1769 MB function has one vCPU. Prints one
//! JSON object with every run and the medians.

mod harness;

use harness::{feed, median, ms, start_function, upload_all};
use pictor_aws::config;
use pictor_aws::testing::runtime_api::RuntimeApi;
use pictor_aws::testing::{fresh_resources, sdk_config};
use serde_json::json;
use std::time::Instant;

const USAGE: &str = "usage: billed UPLOADS RUNS IMAGE [NAME=VALUE ...] -- COMMAND [ARG ...]";

#[tokio::main]
async fn main() -> Result<(), harness::Error> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let split = args.iter().position(|a| a == "--").ok_or(USAGE)?;
    let (settings, command) = (&args[..split], &args[split + 1..]);
    let [uploads, runs, image, env @ ..] = settings else {
        return Err(USAGE.into());
    };
    if command.is_empty() {
        return Err(USAGE.into());
    }
    let uploads: usize = uploads.parse()?;
    let runs: usize = runs.parse()?;
    let bytes = std::fs::read(image)?;
    let env: Vec<(String, String)> = env
        .iter()
        .map(|pair| {
            pair.split_once('=')
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .ok_or_else(|| format!("{pair}: expected NAME=VALUE"))
        })
        .collect::<Result<_, _>>()?;

    let sdk = sdk_config();
    let s3 = config::s3_client(&sdk);
    let (mut init_ms, mut per_upload_ms, mut total_ms) = (Vec::new(), Vec::new(), Vec::new());
    for run in 0..runs {
        let r = fresh_resources(&sdk).await?;
        let keys: Vec<String> = (0..uploads)
            .map(|i| format!("uploads/bench/{run}-{i}.jpg"))
            .collect();
        let bodies = upload_all(&s3, &r, &keys, &bytes).await?;
        let api = RuntimeApi::start().await?;
        let started = Instant::now();
        let mut child = start_function(command, &api.address, &r, &env)?;
        let fed = feed(&api, started, &bodies).await;
        let _ = child.kill();
        let _ = child.wait();
        let fed = fed?;
        let billed: f64 = fed.invocations.iter().map(|d| ms(*d)).sum();
        init_ms.push(ms(fed.init));
        per_upload_ms.push((billed / uploads as f64 * 100.0).round() / 100.0);
        total_ms.push(ms(fed.total));
    }
    println!(
        "{}",
        json!({
            "command": command,
            "image_bytes": bytes.len(),
            "uploads_per_run": uploads,
            "batch_size": harness::BATCH_SIZE,
            "memory_mb": harness::MEMORY_MB,
            "init_ms": init_ms,
            "billed_per_upload_ms": per_upload_ms,
            "total_ms": total_ms,
            "median_init_ms": median(init_ms.clone()),
            "median_billed_per_upload_ms": median(per_upload_ms.clone()),
        })
    );
    Ok(())
}
