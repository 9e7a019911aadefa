//! lambda_host: one Lambda execution environment fed by an SQS event source mapping, for the
//! fault campaign (`scripts/fault_campaign.py` starts one per function instance).
//!
//!   lambda_host --binary target/debug/pictor-ingest --queue-url URL --sqs-endpoint URL \
//!     --name ingest --log FILE [--batch 5] [--visibility 3] [--timeout 20] \
//!     [--duplicates 0.1] [--seed 7]
//!
//! - Runs the function's real binary against the local Runtime API
//!   (`pictor_aws::testing::runtime_api`), and starts it again whenever it exits. SIGUSR1
//!   SIGKILLs it: the campaign's kill storm. The function inherits this process's environment
//!   (its AWS endpoint may be a fault-injecting proxy); the queue is polled at `--sqs-endpoint`.
//! - Polls the queue as Lambda does: a batch at a time under a short visibility timeout, hands
//!   it to the function and deletes what the function did not report as failed. Failed and
//!   unanswered messages (the process died, or the invocation timed out) come back after the
//!   visibility timeout, and the queue's redrive policy moves them to its dead-letter queue.
//! - Sends a share of the finished notifications again later: at-least-once and out of order,
//!   a third of them replays that lost their sequencer.
//! - Prints `ready` once it handles signals. On SIGTERM, or when its standard input closes (the
//!   campaign is gone), stops the function and prints what it counted as one JSON object.

use aws_sdk_sqs::types::{DeleteMessageBatchRequestEntry, Message, MessageSystemAttributeName};
use clap::Parser;
use pictor_aws::testing::runtime_api::{Outcome, RuntimeApi};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::AsyncReadExt;
use tokio::process::Command;
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::{watch, Notify};

type Error = Box<dyn std::error::Error + Send + Sync>;

#[derive(Parser, Clone)]
struct Args {
    /// The function's bootstrap binary.
    #[arg(long)]
    binary: PathBuf,
    #[arg(long)]
    queue_url: String,
    /// Where the queue is served (the function's own endpoint may be a proxy).
    #[arg(long)]
    sqs_endpoint: String,
    /// The function's short name in the counts (`ingest`, `cleanup`).
    #[arg(long)]
    name: String,
    /// The function's log lines are appended here.
    #[arg(long)]
    log: PathBuf,
    /// Messages per invocation, as the event source mapping's batch size.
    #[arg(long, default_value_t = 5)]
    batch: i32,
    /// Seconds a received message stays hidden from other receivers.
    #[arg(long, default_value_t = 3)]
    visibility: i32,
    /// The function's timeout in seconds.
    #[arg(long, default_value_t = 20)]
    timeout: u64,
    /// Share of finished notifications sent again later.
    #[arg(long, default_value_t = 0.1)]
    duplicates: f64,
    #[arg(long, default_value_t = 7)]
    seed: u64,
}

/// What happened, by name; summed over every host by the campaign.
#[derive(Clone, Default)]
struct Counts(Arc<Mutex<BTreeMap<String, u64>>>);

impl Counts {
    fn add(&self, name: impl Into<String>, n: u64) {
        let mut counts = self.0.lock().unwrap_or_else(|p| p.into_inner());
        *counts.entry(name.into()).or_default() += n;
    }

    fn to_json(&self) -> Value {
        json!(*self.0.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let args = Args::parse();
    let api = RuntimeApi::start_with_timeout(Duration::from_secs(args.timeout)).await?;
    let config = pictor_aws::config::load().await;
    let sqs = aws_sdk_sqs::Client::from_conf(
        aws_sdk_sqs::config::Builder::from(&config)
            .endpoint_url(&args.sqs_endpoint)
            .build(),
    );
    let counts = Counts::default();
    let kill = Arc::new(Notify::new());
    let (stop, stopped) = watch::channel(false);

    let supervisor = tokio::spawn(supervise(
        args.clone(),
        api.clone(),
        kill.clone(),
        stopped.clone(),
        counts.clone(),
    ));
    let poller = tokio::spawn(poll(args, sqs, api, stopped, counts.clone()));

    let mut kills = signal(SignalKind::user_defined1())?;
    let mut terms = signal(SignalKind::terminate())?;
    // Until now a SIGUSR1 would have ended this process rather than its function's.
    println!("ready");
    let mut parent = tokio::io::stdin();
    let mut byte = [0u8; 1];
    loop {
        tokio::select! {
            _ = kills.recv() => kill.notify_one(),
            _ = terms.recv() => break,
            // The campaign holds the other end: when it is gone, so is the reason to run.
            read = parent.read(&mut byte) => if matches!(read, Ok(0) | Err(_)) { break },
        }
    }
    let _ = stop.send(true);
    // The poller may be waiting on an invocation; what it holds comes back to the queue.
    poller.abort();
    supervisor.await??;
    println!("{}", counts.to_json());
    Ok(())
}

/// Runs the function until told to stop, starting it again after every death.
async fn supervise(
    args: Args,
    api: RuntimeApi,
    kill: Arc<Notify>,
    mut stopped: watch::Receiver<bool>,
    counts: Counts,
) -> Result<(), Error> {
    loop {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&args.log)?;
        let mut child = Command::new(&args.binary)
            .env("AWS_LAMBDA_RUNTIME_API", &api.address)
            .stdout(Stdio::null())
            .stderr(Stdio::from(log))
            .kill_on_drop(true)
            .spawn()?;
        tokio::select! {
            _ = child.wait() => {}
            _ = kill.notified() => {
                child.kill().await?;
                counts.add("kills", 1);
            }
            _ = stop_requested(&mut stopped) => {
                child.kill().await?;
                return Ok(());
            }
        }
        api.process_died();
        counts.add(format!("restarts:{}", args.name), 1);
    }
}

async fn stop_requested(stopped: &mut watch::Receiver<bool>) {
    while !*stopped.borrow_and_update() {
        if stopped.changed().await.is_err() {
            return;
        }
    }
}

/// Lambda's SQS event source mapping for one execution environment.
async fn poll(
    args: Args,
    sqs: aws_sdk_sqs::Client,
    api: RuntimeApi,
    stopped: watch::Receiver<bool>,
    counts: Counts,
) {
    let mut rng = fastrand::Rng::with_seed(args.seed);
    let wait = Duration::from_secs(args.timeout + 5);
    while !*stopped.borrow() {
        let received = sqs
            .receive_message()
            .queue_url(&args.queue_url)
            .max_number_of_messages(args.batch)
            .wait_time_seconds(1)
            .visibility_timeout(args.visibility)
            .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
            .send()
            .await;
        let messages = match received {
            Ok(out) => out.messages.unwrap_or_default(),
            Err(e) => {
                // The server is local: keep polling.
                eprintln!("{}: receive failed: {e}", args.name);
                tokio::time::sleep(Duration::from_millis(500)).await;
                continue;
            }
        };
        if messages.is_empty() {
            continue;
        }
        counts.add(format!("deliveries:{}", args.name), messages.len() as u64);
        let redelivered = messages.iter().filter(|m| receive_count(m) > 1).count();
        counts.add("redeliveries", redelivered as u64);

        let event = json!({ "Records": messages.iter().map(sqs_record).collect::<Vec<_>>() });
        let request = api.invoke(&event);
        let answer = match api.outcome(&request, wait).await {
            Outcome::Answered(answer) if answer.ok => answer,
            // Every message comes back after the visibility timeout.
            Outcome::Answered(_) => {
                counts.add("invocations-error", 1);
                continue;
            }
            Outcome::Died => {
                counts.add("invocations-died", 1);
                continue;
            }
            Outcome::TimedOut => {
                counts.add("invocations-timeout", 1);
                continue;
            }
        };
        let failed: Vec<&str> = answer.body["batchItemFailures"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|f| f["itemIdentifier"].as_str())
            .collect();
        counts.add("messages-retried", failed.len() as u64);
        let done: Vec<&Message> = messages
            .iter()
            .filter(|m| !failed.contains(&m.message_id().unwrap_or_default()))
            .collect();
        // Duplicates before the deletes: the queue is never empty while work is owed.
        for message in &done {
            if rng.f64() < args.duplicates {
                send_again(&sqs, &args.queue_url, message, &mut rng, &counts).await;
            }
        }
        delete(&sqs, &args.queue_url, &done, &args.name).await;
    }
}

fn receive_count(message: &Message) -> u64 {
    message
        .attributes()
        .and_then(|a| a.get(&MessageSystemAttributeName::ApproximateReceiveCount))
        .and_then(|n| n.parse().ok())
        .unwrap_or(1)
}

/// A message as Lambda hands it to the function.
fn sqs_record(message: &Message) -> Value {
    json!({
        "messageId": message.message_id(),
        "receiptHandle": message.receipt_handle(),
        "body": message.body(),
        "attributes": { "ApproximateReceiveCount": receive_count(message).to_string() },
        "messageAttributes": {},
        "eventSource": "aws:sqs",
        "awsRegion": "us-east-1",
        "eventSourceARN": "arn:aws:sqs:us-east-1:000000000000:campaign",
    })
}

/// The same notification again after up to four seconds; a third of them without the
/// sequencer that places them in the key's order (a message copied by hand, a re-sent batch).
async fn send_again(
    sqs: &aws_sdk_sqs::Client,
    queue_url: &str,
    message: &Message,
    rng: &mut fastrand::Rng,
    counts: &Counts,
) {
    let mut body = message.body().unwrap_or_default().to_string();
    if rng.f64() < 1.0 / 3.0 {
        body = without_sequencer(&body);
        counts.add("replays-without-sequencer", 1);
    }
    let sent = sqs
        .send_message()
        .queue_url(queue_url)
        .message_body(body)
        .delay_seconds(rng.i32(0..=4))
        .send()
        .await;
    match sent {
        Ok(_) => counts.add("duplicates-sent", 1),
        Err(e) => eprintln!("duplicate not sent: {e}"),
    }
}

fn without_sequencer(body: &str) -> String {
    let Ok(mut event) = serde_json::from_str::<Value>(body) else {
        return body.to_string();
    };
    if let Some(records) = event["Records"].as_array_mut() {
        for record in records {
            if let Some(object) = record["s3"]["object"].as_object_mut() {
                object.remove("sequencer");
            }
        }
    }
    event.to_string()
}

async fn delete(sqs: &aws_sdk_sqs::Client, queue_url: &str, done: &[&Message], name: &str) {
    if done.is_empty() {
        return;
    }
    let entries: Result<Vec<_>, _> = done
        .iter()
        .enumerate()
        .map(|(i, m)| {
            DeleteMessageBatchRequestEntry::builder()
                .id(i.to_string())
                .set_receipt_handle(m.receipt_handle().map(str::to_string))
                .build()
        })
        .collect();
    let deleted = match entries {
        Ok(entries) => {
            sqs.delete_message_batch()
                .queue_url(queue_url)
                .set_entries(Some(entries))
                .send()
                .await
        }
        Err(e) => {
            eprintln!("{name}: {e}");
            return;
        }
    };
    // An undeleted message comes back and is handled again: the duplicate the function expects.
    if let Err(e) = deleted {
        eprintln!("{name}: delete failed: {e}");
    }
}
