//! The worker's broker side against a real NATS server with JetStream: what it acknowledges,
//! hands back, dead-letters and holds at once, and the events it publishes.

use async_trait::async_trait;
use pictor_nats::testing::{server_url, unique_prefix};
use pictor_nats::worker::{DELIVERIES_HEADER, REASON_HEADER};
use pictor_nats::{Delivery, DeliveryHandler, Settings, Worker};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;
use tokio::sync::watch;

/// Succeeds, fails or waits as each body says, and remembers every call.
#[derive(Default)]
struct Scripted {
    calls: Mutex<Vec<(String, u64, bool)>>,
    before_last: Mutex<Vec<String>>,
    running: AtomicUsize,
    most_at_once: AtomicUsize,
}

#[async_trait]
impl DeliveryHandler for Scripted {
    async fn before_last(&self, body: &str) {
        self.before_last.lock().unwrap().push(body.to_string());
    }

    async fn handle(&self, d: &Delivery) -> Result<(), String> {
        let now = self.running.fetch_add(1, Ordering::SeqCst) + 1;
        self.most_at_once.fetch_max(now, Ordering::SeqCst);
        self.calls
            .lock()
            .unwrap()
            .push((d.body.clone(), d.number, d.is_last));
        if d.body == "long" {
            tokio::time::sleep(Duration::from_millis(2500)).await;
        }
        if d.body.starts_with("slow") {
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
        if d.body == "hang" && d.number == 1 {
            // Its worker dies holding it.
            std::future::pending::<()>().await;
        }
        self.running.fetch_sub(1, Ordering::SeqCst);
        match d.body.as_str() {
            "flaky" if d.number == 1 => Err("the store was busy".into()),
            "doomed" => Err("the store is down\nfor good".into()),
            b if b.starts_with("down") => Err("the database is restarting".into()),
            _ => Ok(()),
        }
    }
}

impl Scripted {
    fn deliveries_of(&self, body: &str) -> Vec<(u64, bool)> {
        let calls = self.calls.lock().unwrap();
        calls
            .iter()
            .filter(|(b, _, _)| b == body)
            .map(|(_, n, last)| (*n, *last))
            .collect()
    }
}

async fn worker(name: &str, in_flight: usize) -> Worker {
    worker_waiting(name, in_flight, Duration::from_secs(30)).await
}

async fn worker_waiting(name: &str, in_flight: usize, ack_wait: Duration) -> Worker {
    let mut settings = Settings::named(&unique_prefix(name));
    settings.max_deliver = 3;
    settings.retry_delay = Duration::from_millis(100);
    settings.in_flight = in_flight;
    settings.ack_wait = ack_wait;
    let worker = Worker::connect(&server_url(), settings).await.unwrap();
    worker.ensure_streams().await.unwrap();
    worker
}

async fn publish(worker: &Worker, bodies: &[&str]) {
    for body in bodies {
        let subject = worker.settings().subject.clone();
        let ack = worker
            .jetstream()
            .publish(subject, body.to_string().into())
            .await
            .unwrap();
        ack.await.unwrap();
    }
}

/// Runs the worker until `done` holds (or 20 seconds pass), then stops it.
async fn run_until(worker: &Worker, handler: &Scripted, done: impl Fn(&Scripted) -> bool) {
    let (stop, stopped) = watch::channel(false);
    let run = worker.run(handler, stopped);
    let watch = async {
        for _ in 0..200 {
            if done(handler) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let _ = stop.send(true);
    };
    let (ran, ()) = tokio::join!(run, watch);
    ran.unwrap();
}

#[tokio::test]
async fn handled_is_acked_transient_comes_back_and_the_last_failure_is_a_dead_letter() {
    let worker = worker("acks", 2).await;
    publish(&worker, &["fine", "flaky", "doomed"]).await;
    let handler = Scripted::default();
    run_until(&worker, &handler, |h| h.deliveries_of("doomed").len() == 3).await;
    // Let the last answer reach the server.
    tokio::time::sleep(Duration::from_millis(200)).await;

    assert_eq!(handler.deliveries_of("fine"), [(1, false)]);
    assert_eq!(handler.deliveries_of("flaky"), [(1, false), (2, false)]);
    assert_eq!(
        handler.deliveries_of("doomed"),
        [(1, false), (2, false), (3, true)]
    );
    assert_eq!(*handler.before_last.lock().unwrap(), ["doomed"]);

    // The dead letter keeps the body, why it died and after how many deliveries.
    let js = worker.jetstream();
    let dead = js
        .get_stream(worker.settings().dead_letter_stream())
        .await
        .unwrap();
    let letter = dead
        .get_last_raw_message_by_subject(&worker.settings().dead_letters)
        .await
        .unwrap();
    assert_eq!(&letter.payload[..], b"doomed");
    let headers = letter.headers;
    assert_eq!(
        headers.get(REASON_HEADER).map(|v| v.as_str()),
        Some("the store is down for good")
    );
    assert_eq!(
        headers.get(DELIVERIES_HEADER).map(|v| v.as_str()),
        Some("3")
    );

    // Nothing is owed any more.
    let mut consumer: async_nats::jetstream::consumer::PullConsumer = js
        .get_stream(&worker.settings().stream)
        .await
        .unwrap()
        .get_consumer(&worker.settings().consumer)
        .await
        .unwrap();
    let info = consumer.info().await.unwrap();
    assert_eq!((info.num_pending, info.num_ack_pending), (0, 0));
}

#[tokio::test]
async fn a_worker_holds_at_most_its_in_flight_share() {
    let worker = worker("flight", 2).await;
    let bodies: Vec<String> = (0..6).map(|n| format!("slow-{n}")).collect();
    let refs: Vec<&str> = bodies.iter().map(String::as_str).collect();
    publish(&worker, &refs).await;
    let handler = Scripted::default();
    run_until(&worker, &handler, |h| h.calls.lock().unwrap().len() == 6).await;
    assert_eq!(handler.most_at_once.load(Ordering::SeqCst), 2);
    for body in &bodies {
        assert_eq!(handler.deliveries_of(body), [(1, false)]);
    }
}

#[tokio::test]
async fn asset_events_are_kept_on_the_events_stream() {
    use pictor_core::domain::events::AssetEvent;
    use pictor_core::ports::EventSink;
    let settings = Settings::named(&unique_prefix("events"));
    let worker = Worker::connect(&server_url(), settings.clone())
        .await
        .unwrap();
    worker.ensure_streams().await.unwrap();
    let sink = pictor_nats::NatsEvents::new(worker.jetstream().clone(), settings.events.clone());
    let asset = pictor_core::ports::conformance::sample(
        1,
        "ana",
        pictor_core::AssetStatus::Ready,
        time::OffsetDateTime::UNIX_EPOCH,
    );
    sink.announce(&AssetEvent::of(&asset)).await.unwrap();

    let client = async_nats::connect(server_url()).await.unwrap();
    let js = async_nats::jetstream::new(client);
    let stream = js.get_stream(settings.events_stream()).await.unwrap();
    let kept = stream
        .get_last_raw_message_by_subject(&format!("{}.AssetReady", settings.events))
        .await
        .unwrap();
    let event: serde_json::Value = serde_json::from_slice(&kept.payload).unwrap();
    assert_eq!(event["source"], "pictor");
    assert_eq!(event["detail-type"], "AssetReady");
    assert_eq!(event["detail"]["id"], asset.id.as_str());
    assert!(event["detail"]["asset"].get("source").is_none());
}

#[tokio::test]
async fn what_a_dead_worker_held_is_delivered_again_after_the_ack_wait() {
    let worker = worker_waiting("dead", 2, Duration::from_secs(1)).await;
    publish(&worker, &["hang"]).await;
    let handler = Scripted::default();
    let (_stop, stopped) = watch::channel(false);
    // The first worker holds it and is dropped mid-way: a killed process.
    let died =
        tokio::time::timeout(Duration::from_millis(700), worker.run(&handler, stopped)).await;
    assert!(died.is_err(), "the first worker should still be holding it");
    assert_eq!(handler.deliveries_of("hang"), [(1, false)]);
    run_until(&worker, &handler, |h| h.deliveries_of("hang").len() == 2).await;
    assert_eq!(handler.deliveries_of("hang"), [(1, false), (2, false)]);
}

#[tokio::test]
async fn a_delivery_in_hand_longer_than_the_ack_wait_is_not_delivered_again() {
    // One at a time: "after" waits in the stream, not in the worker, so its wait does not
    // run out while "long" is in hand.
    let worker = worker_waiting("long", 1, Duration::from_secs(1)).await;
    publish(&worker, &["long", "after"]).await;
    let handler = Scripted::default();
    run_until(&worker, &handler, |h| {
        h.deliveries_of("after").len() == 1 && h.running.load(Ordering::SeqCst) == 0
    })
    .await;
    // Give a second delivery the time it would need to show.
    let (_stop, stopped) = watch::channel(false);
    let more = tokio::time::timeout(Duration::from_secs(2), worker.run(&handler, stopped)).await;
    assert!(more.is_err(), "the worker should run until stopped");
    assert_eq!(handler.deliveries_of("long"), [(1, false)]);
    assert_eq!(handler.deliveries_of("after"), [(1, false)]);
}

#[tokio::test]
async fn while_deliveries_fail_the_worker_pulls_less_and_less_often() {
    let worker = worker("outage", 1).await;
    let bodies: Vec<String> = (0..10).map(|n| format!("down-{n}")).collect();
    let refs: Vec<&str> = bodies.iter().map(String::as_str).collect();
    publish(&worker, &refs).await;
    let handler = Scripted::default();
    let (_stop, stopped) = watch::channel(false);
    let ran =
        tokio::time::timeout(Duration::from_millis(2500), worker.run(&handler, stopped)).await;
    assert!(ran.is_err(), "the worker should run until stopped");
    // Pauses of 0.5, 1 and 2 s after the first three failures: four deliveries, where a
    // worker pulling at once would have spent all ten notifications' deliveries.
    let calls = handler.calls.lock().unwrap().len();
    assert!(
        (3..=5).contains(&calls),
        "{calls} deliveries during the outage"
    );
}
