//! Throughput of the `pictor-worker` binary end to end, against the bare pipeline on the same
//! inputs and threads: what the worker's own work (the notification from NATS JetStream, the
//! original from an S3-compatible server, the renditions back to it, the record in
//! PostgreSQL, the asset event) costs on top of the images. The ingest function's harness
//! (`functions/ingest/examples/throughput.rs`) measures the same on AWS's shapes, so the two
//! ratios compare the targets.
//!
//! worker_throughput BINARY COPIES RUNS IMAGE...
//!
//! Each run uploads every image COPIES times to the local SeaweedFS server, makes a fresh
//! database on the local PostgreSQL server and fresh subjects on the local NATS server, and
//! starts a fresh worker process (one encode thread, two notifications in hand, as the
//! Kubernetes manifests run it). Then, batch by batch (5 uploads, as for the function), it
//! times in turn:
//! - the bare pipeline on the batch's images, one after another, with the default spec and one
//!   encode thread, in this process;
//! - the worker, from the first of the batch's notifications published to the last of its
//!   `AssetReady` events received.
//!
//! Run it pinned to one CPU (`taskset -c 1`), as the function's harness is: the worker's
//! process inherits the pinning, and the three servers stay outside it. Prints one JSON object
//! with every run and the medians.

// The function's measuring examples' helpers: the same bare pipeline and notification.
#[path = "../../ingest/examples/harness/mod.rs"]
mod harness;

use futures::StreamExt;
use harness::{bare_pipeline, ms, notification, read_images, throughput_report, Error, BATCH_SIZE};
use pictor_aws::config;
use pictor_aws::testing::{s3_compatible_config, s3_compatible_endpoint, unique};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let args: Vec<String> = std::env::args().collect();
    let usage = "usage: worker_throughput BINARY COPIES RUNS IMAGE...";
    let [_, binary, copies, runs, images @ ..] = args.as_slice() else {
        return Err(usage.into());
    };
    if images.is_empty() {
        return Err(usage.into());
    }
    let copies: usize = copies.parse()?;
    let runs: usize = runs.parse()?;
    let originals = read_images(images)?;
    // The worker does this at start; the bare pipeline gets the same allocator settings.
    pictor_image::memory::reuse_freed_memory();
    let presets = config::presets(None, None, Some("1".into()))?;
    let pipeline = Arc::clone(&presets.default_preset().pipeline);
    let s3 = config::s3_client(&s3_compatible_config());
    let nats_url = pictor_nats::testing::server_url();
    let client = async_nats::connect(&nats_url).await?;
    let jetstream = async_nats::jetstream::new(client.clone());

    let mut pipeline_ms = Vec::new();
    let mut worker_ms = Vec::new();
    for run in 0..runs {
        let (uploads, output) = (unique("bench-up"), unique("bench-out"));
        for bucket in [&uploads, &output] {
            s3.create_bucket().bucket(bucket).send().await?;
        }
        let mut uploaded = Vec::new();
        for copy in 0..copies {
            for (i, (name, bytes)) in originals.iter().enumerate() {
                let key = format!("uploads/bench/{run}-{copy}-{name}");
                s3.put_object()
                    .bucket(&uploads)
                    .key(&key)
                    .body(aws_sdk_s3::primitives::ByteStream::from(bytes.clone()))
                    .send()
                    .await?;
                uploaded.push((i, notification(&uploads, &key, bytes.len())));
            }
        }
        let db = pictor_postgres::testing::fresh_database().await;
        let prefix = pictor_nats::testing::unique_prefix("bench");
        let settings = pictor_nats::Settings::named(&prefix);
        let mut events = client.subscribe(format!("{}.>", settings.events)).await?;
        let mut child = Worker(start_worker(binary, &nats_url, &prefix, &db, &output)?);
        wait_for_stream(&jetstream, &settings.stream, &mut child.0).await?;

        // Batch by batch, the bare pipeline and the worker take turns on the same images, so
        // a burst of load on a shared machine hits both alike.
        let (mut bare, mut worker) = (Duration::ZERO, Duration::ZERO);
        for batch in uploaded.chunks(BATCH_SIZE) {
            let inputs: Vec<(String, Vec<u8>)> =
                batch.iter().map(|(i, _)| originals[*i].clone()).collect();
            bare += bare_pipeline(&pipeline, inputs).await?;
            let started = Instant::now();
            for (_, body) in batch {
                jetstream
                    .publish(settings.subject.clone(), body.clone().into())
                    .await?
                    .await?;
            }
            for _ in batch {
                let event = tokio::time::timeout(Duration::from_secs(300), events.next())
                    .await
                    .map_err(|_| "the worker announced nothing for 5 minutes")?
                    .ok_or("the events subscription ended")?;
                if !event.subject.ends_with(".AssetReady") {
                    return Err(format!("unexpected event on {}", event.subject).into());
                }
            }
            worker += started.elapsed();
        }
        drop(child);
        pipeline_ms.push(ms(bare));
        worker_ms.push(ms(worker));
    }
    let report = throughput_report(
        &originals,
        copies * originals.len(),
        pipeline_ms,
        "worker",
        worker_ms,
    );
    println!("{report}");
    Ok(())
}

/// The worker process, stopped when dropped.
struct Worker(Child);

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_worker(
    binary: &str,
    nats_url: &str,
    prefix: &str,
    db: &str,
    output: &str,
) -> std::io::Result<Child> {
    Command::new(binary)
        .env_clear()
        .env("AWS_ENDPOINT_URL", s3_compatible_endpoint())
        .env("AWS_ACCESS_KEY_ID", "any")
        .env("AWS_SECRET_ACCESS_KEY", "any")
        .env("PICTOR_NATS_URL", nats_url)
        .env("PICTOR_NATS_PREFIX", prefix)
        .env("PICTOR_DB", db)
        .env("PICTOR_OUTPUT_BUCKET", output)
        .env("PICTOR_ENCODE_THREADS", "1")
        .env("PICTOR_IN_FLIGHT", "2")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
}

/// Until the worker has made its streams (it does at start), or it died.
async fn wait_for_stream(
    jetstream: &async_nats::jetstream::Context,
    stream: &str,
    child: &mut Child,
) -> Result<(), Error> {
    for _ in 0..600 {
        if jetstream.get_stream(stream).await.is_ok() {
            return Ok(());
        }
        if let Some(status) = child.try_wait()? {
            return Err(format!("the worker ended at start: {status}").into());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err("the worker made no stream in a minute".into())
}
