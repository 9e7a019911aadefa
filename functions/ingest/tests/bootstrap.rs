//! The real `pictor-ingest` binary, run as Lambda runs it: against a local Runtime API, with
//! the local S3/SQS/DynamoDB server behind it. Measures the cold start (process start to the
//! first poll for work) and the first event's latency, and prints them.

use aws_sdk_s3::primitives::ByteStream;
use pictor_aws::batch::sqs_event;
use pictor_aws::testing::runtime_api::RuntimeApi;
use pictor_aws::testing::{endpoint, fresh_resources, sdk_config};
use pictor_aws::{config, DynamoAssetStore};
use pictor_core::ports::AssetStore;
use pictor_core::{AssetId, AssetStatus};
use serde_json::{json, Value};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn lambda_command(api: &str, env: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_pictor-ingest"));
    cmd.env_clear()
        .env("AWS_LAMBDA_RUNTIME_API", api)
        .env("AWS_LAMBDA_FUNCTION_NAME", "pictor-ingest")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "1024")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "local")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/pictor-ingest")
        .env("AWS_LAMBDA_LOG_FORMAT", "JSON")
        .env("AWS_ENDPOINT_URL", endpoint())
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "local")
        .env("AWS_SECRET_ACCESS_KEY", "local")
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

#[tokio::test]
async fn bootstrap_processes_an_sqs_batch_under_the_runtime_api() {
    let sdk = sdk_config();
    let r = fresh_resources(&sdk).await.unwrap();
    let key = "uploads/ana/summer trip/café + bar 100%.jpg";
    let photo = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../testdata/images/photos/coffee.jpg"
    ))
    .unwrap();
    config::s3_client(&sdk)
        .put_object()
        .bucket(&r.uploads_bucket)
        .key(key)
        .body(ByteStream::from(photo))
        .send()
        .await
        .unwrap();
    let notification = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../testdata/events/s3-put.json"
    ))
    .unwrap()
    .replace("pictor-uploads", &r.uploads_bucket);
    let event = sqs_event([("m-1".to_string(), notification)]);

    let api = RuntimeApi::start().await.unwrap();
    let started = Instant::now();
    let mut child = lambda_command(
        &api.address,
        &[
            ("PICTOR_OUTPUT_BUCKET", &r.output_bucket),
            ("PICTOR_TABLE", &r.table),
        ],
    )
    .spawn()
    .unwrap();
    let polled = api.first_poll(Duration::from_secs(30)).await;
    let request = api.invoke(&event);
    let answer = api.answer(&request, Duration::from_secs(60)).await;
    let _ = child.kill();
    let output = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let polled = polled.unwrap_or_else(|| {
        panic!(
            "never polled; stderr: {}",
            String::from_utf8_lossy(&output.stderr)
        )
    });
    let answer = answer.unwrap_or_else(|| panic!("no answer; stdout: {stdout}"));
    println!(
        "cold start (process start -> first poll): {:?}; first event latency: {:?}",
        polled - started,
        answer.latency
    );

    assert!(answer.ok, "{:?}", answer.body);
    assert_eq!(answer.body, json!({"batchItemFailures": []}));
    let id = AssetId::for_source(&format!("s3://{}/{key}", r.uploads_bucket));
    let asset = DynamoAssetStore::new(config::dynamodb_client(&sdk), &r.table)
        .get(&id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(asset.status, AssetStatus::Ready);

    // JSON logs that name the request, the asset and the object; EMF metrics alongside.
    let lines: Vec<Value> = stdout
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let ready = lines
        .iter()
        .find(|l| l["fields"]["message"] == "ready")
        .unwrap_or_else(|| panic!("no 'ready' log line in {stdout}"));
    let text = ready.to_string();
    for needle in [&request, id.as_str(), &r.uploads_bucket, "summer trip"] {
        assert!(text.contains(needle), "{needle} missing from {text}");
    }
    let emf = lines
        .iter()
        .find(|l| l["_aws"]["CloudWatchMetrics"].is_array() && l["Processed"] == 1.0)
        .unwrap_or_else(|| panic!("no EMF line in {stdout}"));
    assert!(emf["BytesOut"].as_f64().unwrap() > 0.0);
    assert!(emf["DecodeMs"].as_f64().unwrap() > 0.0);
}

#[tokio::test]
async fn bootstrap_without_configuration_exits_with_a_clear_error() {
    let api = RuntimeApi::start().await.unwrap();
    let output = lambda_command(&api.address, &[("PICTOR_OUTPUT_BUCKET", "out")])
        .output()
        .unwrap();
    assert!(!output.status.success());
    // One JSON log line says what to fix, and nothing else is printed.
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 1, "stdout: {stdout}\nstderr: {stderr}");
    let line: Value = serde_json::from_str(lines[0]).unwrap();
    assert_eq!(line["level"], "ERROR", "{line}");
    assert!(
        line.to_string().contains("PICTOR_TABLE must be set"),
        "{line}"
    );
    assert!(stderr.trim().is_empty(), "{stderr}");
}
