//! Throughput of the `pictor-ingest` binary end to end, against the bare pipeline on the same
//! inputs and threads: how much the function's own work (reading the original, writing the
//! renditions and the record, one SQS batch after another) costs on top of the images.
//!
//! throughput BINARY COPIES RUNS IMAGE...
//!
//! Each run uploads every image COPIES times to the local S3 server and starts a fresh function
//! process (as Lambda starts it, with one encode thread) under the local Runtime API. Then,
//! batch by batch (5 uploads, the CDK app's batch size), it times in turn:
//! - the bare pipeline on the batch's images, one after another, with the default spec and one
//!   encode thread, in this process;
//! - the function handed the batch's notifications as one SQS event, until its answer.
//!
//! Run it pinned to one CPU (`taskset -c 1`), as the CDK app's 1769 MB function has one vCPU:
//! the function's process inherits the pinning, and the local cloud's server stays outside it,
//! as S3 and DynamoDB are outside Lambda. Prints one JSON object with every run and the medians.

mod harness;

use harness::{
    bare_pipeline, feed, ms, read_images, start_function, throughput_report, upload_all,
};
use pictor_aws::config;
use pictor_aws::testing::runtime_api::RuntimeApi;
use pictor_aws::testing::{fresh_resources, sdk_config};
use std::sync::Arc;
use std::time::{Duration, Instant};

type Error = harness::Error;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let args: Vec<String> = std::env::args().collect();
    let [_, binary, copies, runs, images @ ..] = args.as_slice() else {
        return Err("usage: throughput BINARY COPIES RUNS IMAGE...".into());
    };
    if images.is_empty() {
        return Err("usage: throughput BINARY COPIES RUNS IMAGE...".into());
    }
    let copies: usize = copies.parse()?;
    let runs: usize = runs.parse()?;
    let originals = read_images(images)?;
    let uploads = copies * originals.len();
    // The function does this at start; the bare pipeline gets the same allocator settings.
    pictor_image::memory::reuse_freed_memory();

    let presets = config::presets(None, None, Some("1".into()))?;
    let pipeline = Arc::clone(&presets.default_preset().pipeline);
    let sdk = sdk_config();
    let s3 = config::s3_client(&sdk);

    let mut pipeline_ms = Vec::new();
    let mut function_ms = Vec::new();
    for run in 0..runs {
        // The function, on fresh resources, each upload under its own key.
        let r = fresh_resources(&sdk).await?;
        let mut uploaded = Vec::new();
        for copy in 0..copies {
            for (i, (name, bytes)) in originals.iter().enumerate() {
                let key = format!("uploads/bench/{run}-{copy}-{name}");
                for body in upload_all(&s3, &r, &[key], bytes).await? {
                    uploaded.push((i, body));
                }
            }
        }
        let api = RuntimeApi::start().await?;
        let started = Instant::now();
        let mut child = start_function(std::slice::from_ref(binary), &api.address, &r, &[])?;
        // Batch by batch, the bare pipeline and the function take turns on the same images,
        // so a burst of load on a shared machine hits both alike.
        let (mut bare, mut function) = (Duration::ZERO, Duration::ZERO);
        for batch in uploaded.chunks(harness::BATCH_SIZE) {
            let inputs: Vec<(String, Vec<u8>)> =
                batch.iter().map(|(i, _)| originals[*i].clone()).collect();
            bare += bare_pipeline(&pipeline, inputs).await?;
            let bodies: Vec<String> = batch.iter().map(|(_, body)| body.clone()).collect();
            match feed(&api, started, &bodies).await {
                Ok(fed) => function += fed.total,
                Err(e) => {
                    let _ = child.kill();
                    return Err(e);
                }
            }
        }
        let _ = child.kill();
        let _ = child.wait();
        pipeline_ms.push(ms(bare));
        function_ms.push(ms(function));
    }
    let report = throughput_report(&originals, uploads, pipeline_ms, "function", function_ms);
    println!("{report}");
    Ok(())
}
