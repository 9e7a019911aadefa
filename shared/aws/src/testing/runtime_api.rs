//! A local Lambda Runtime API: enough of the interface Lambda offers a function's `bootstrap`
//! (next invocation, response, error, init error) to run the real binary outside AWS, hand it
//! events and time it: from process start to its first poll (cold start) and from an event's
//! hand-over to its response.
//!
//! It also stands in for the execution environment a process runs in when that process dies:
//! whoever supervises the process calls [`RuntimeApi::process_died`], the invocations it held
//! end as [`Outcome::Died`], and a poll the dead process left open takes no more work.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use std::collections::{HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tokio::sync::Notify;

const PREFIX: &str = "/2018-06-01/runtime";

/// How the function answered one invocation.
#[derive(Debug, Clone)]
pub struct Answer {
    pub request_id: String,
    /// `true` for the `/response` route, `false` for `/error`.
    pub ok: bool,
    pub body: serde_json::Value,
    /// From the moment the function received the event.
    pub latency: Duration,
}

/// How an invocation ended, as Lambda's caller sees it.
#[derive(Debug, Clone)]
pub enum Outcome {
    Answered(Answer),
    /// The process died holding it: no answer will come.
    Died,
    /// Neither within the wait.
    TimedOut,
}

#[derive(Default)]
struct State {
    invoked: u64,
    queue: VecDeque<(String, String)>,
    first_poll: Option<Instant>,
    handed_out: Vec<(String, Instant)>,
    answers: Vec<Answer>,
    died: HashSet<String>,
    /// Counts the process's deaths: a poll opened before the last one is a dead process's.
    incarnation: u64,
    init_error: Option<String>,
}

/// The emulator; clone it freely (shared state).
#[derive(Clone)]
pub struct RuntimeApi {
    state: Arc<Mutex<State>>,
    changed: Arc<Notify>,
    /// What the function is told it has left for each invocation (Lambda's timeout).
    timeout: Duration,
    /// `host:port` for `AWS_LAMBDA_RUNTIME_API`.
    pub address: String,
}

impl RuntimeApi {
    /// Listens on an ephemeral port of 127.0.0.1; invocations have Lambda's longest timeout.
    pub async fn start() -> std::io::Result<RuntimeApi> {
        RuntimeApi::start_with_timeout(Duration::from_secs(900)).await
    }

    /// As [`RuntimeApi::start`], telling the function it has `timeout` for each invocation.
    pub async fn start_with_timeout(timeout: Duration) -> std::io::Result<RuntimeApi> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let api = RuntimeApi {
            state: Arc::default(),
            changed: Arc::default(),
            timeout,
            address: listener.local_addr()?.to_string(),
        };
        let server = api.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let api = server.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req| {
                        let api = api.clone();
                        async move { Ok::<_, hyper::Error>(api.route(req).await) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Ok(api)
    }

    /// Queues an event; returns its request id.
    pub fn invoke(&self, event: &serde_json::Value) -> String {
        let mut state = self.lock();
        state.invoked += 1;
        let id = format!("req-{}", state.invoked);
        state.queue.push_back((id.clone(), event.to_string()));
        drop(state);
        self.changed.notify_waiters();
        id
    }

    /// Waits for the answer to `request_id`.
    pub async fn answer(&self, request_id: &str, timeout: Duration) -> Option<Answer> {
        self.wait_for(timeout, |s| {
            s.answers
                .iter()
                .find(|a| a.request_id == request_id)
                .cloned()
        })
        .await
    }

    /// Waits for `request_id` to end: answered, or lost with the process that held it.
    pub async fn outcome(&self, request_id: &str, timeout: Duration) -> Outcome {
        let ended = self
            .wait_for(timeout, |s| {
                if let Some(answer) = s.answers.iter().find(|a| a.request_id == request_id) {
                    Some(Outcome::Answered(answer.clone()))
                } else if s.died.contains(request_id) {
                    Some(Outcome::Died)
                } else {
                    None
                }
            })
            .await;
        ended.unwrap_or(Outcome::TimedOut)
    }

    /// The process was killed: the invocations it was handed and did not answer never will be,
    /// and the polls it left open must not take work meant for the next process.
    pub fn process_died(&self) {
        let mut state = self.lock();
        state.incarnation += 1;
        let unanswered: Vec<String> = state
            .handed_out
            .iter()
            .map(|(id, _)| id.clone())
            .filter(|id| !state.answers.iter().any(|a| a.request_id == *id))
            .collect();
        state.died.extend(unanswered);
        drop(state);
        self.changed.notify_waiters();
    }

    /// Waits for the function's first poll for work; returns when it happened.
    pub async fn first_poll(&self, timeout: Duration) -> Option<Instant> {
        self.wait_for(timeout, |s| s.first_poll).await
    }

    pub fn init_error(&self) -> Option<String> {
        self.lock().init_error.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding the lock poisons it; the state is still usable for a test.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    async fn wait_for<T>(
        &self,
        timeout: Duration,
        probe: impl Fn(&State) -> Option<T>,
    ) -> Option<T> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.changed.notified();
            if let Some(found) = probe(&self.lock()) {
                return Some(found);
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return probe(&self.lock());
            }
        }
    }

    async fn route(&self, req: Request<Incoming>) -> Response<Full<Bytes>> {
        let path = req.uri().path().to_string();
        let method = req.method().clone();
        let Some(rest) = path.strip_prefix(PREFIX) else {
            return reply(StatusCode::NOT_FOUND, "");
        };
        match (method, rest) {
            (Method::GET, "/invocation/next") => self.next().await,
            (Method::POST, "/init/error") => {
                let body = body_text(req).await;
                self.lock().init_error = Some(body);
                self.changed.notify_waiters();
                reply(StatusCode::ACCEPTED, "{}")
            }
            (Method::POST, route) => {
                let Some((id, kind)) = route
                    .strip_prefix("/invocation/")
                    .and_then(|r| r.rsplit_once('/'))
                else {
                    return reply(StatusCode::NOT_FOUND, "");
                };
                let (id, ok) = (id.to_string(), kind == "response");
                let body = body_text(req).await;
                let mut state = self.lock();
                let latency = state
                    .handed_out
                    .iter()
                    .find(|(h, _)| *h == id)
                    .map_or(Duration::ZERO, |(_, at)| at.elapsed());
                state.answers.push(Answer {
                    request_id: id,
                    ok,
                    body: serde_json::from_str(&body).unwrap_or(serde_json::Value::String(body)),
                    latency,
                });
                drop(state);
                self.changed.notify_waiters();
                reply(StatusCode::ACCEPTED, "{}")
            }
            _ => reply(StatusCode::NOT_FOUND, ""),
        }
    }

    /// Long-polls like Lambda: the request stays open until an event is queued.
    async fn next(&self) -> Response<Full<Bytes>> {
        let incarnation = {
            let mut state = self.lock();
            state.first_poll.get_or_insert_with(Instant::now);
            state.incarnation
        };
        self.changed.notify_waiters();
        loop {
            let notified = self.changed.notified();
            let popped = {
                let mut state = self.lock();
                if state.incarnation != incarnation {
                    // The process that asked is dead; nobody reads this answer.
                    return reply(StatusCode::GONE, "");
                }
                let popped = state.queue.pop_front();
                if let Some((id, _)) = &popped {
                    state.handed_out.push((id.clone(), Instant::now()));
                }
                popped
            };
            if let Some((id, event)) = popped {
                let deadline = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_millis() as u64)
                    + self.timeout.as_millis() as u64;
                return Response::builder()
                    .status(StatusCode::OK)
                    .header("Lambda-Runtime-Aws-Request-Id", &id)
                    .header("Lambda-Runtime-Deadline-Ms", deadline.to_string())
                    .header(
                        "Lambda-Runtime-Invoked-Function-Arn",
                        "arn:aws:lambda:us-east-1:123456789012:function:pictor-local",
                    )
                    .header(
                        "Lambda-Runtime-Trace-Id",
                        "Root=1-00000000-000000000000000000000000",
                    )
                    .header("Content-Type", "application/json")
                    .body(Full::new(Bytes::from(event)))
                    .unwrap_or_else(|_| reply(StatusCode::INTERNAL_SERVER_ERROR, ""));
            }
            notified.await;
        }
    }
}

async fn body_text(req: Request<Incoming>) -> String {
    match req.into_body().collect().await {
        Ok(body) => String::from_utf8_lossy(&body.to_bytes()).into_owned(),
        Err(_) => String::new(),
    }
}

fn reply(status: StatusCode, body: &'static str) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from_static(body.as_bytes())));
    *response.status_mut() = status;
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpStream;

    /// Sends a raw `next` poll and returns the task that reads its whole answer.
    async fn poll(api: &RuntimeApi) -> tokio::task::JoinHandle<String> {
        let mut stream = TcpStream::connect(&api.address).await.unwrap();
        let request = format!(
            "GET {PREFIX}/invocation/next HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        );
        stream.write_all(request.as_bytes()).await.unwrap();
        tokio::spawn(async move {
            let mut answer = String::new();
            stream.read_to_string(&mut answer).await.unwrap();
            answer
        })
    }

    #[tokio::test]
    async fn a_dead_processs_work_ends_as_died_and_its_open_poll_takes_no_more() {
        let api = RuntimeApi::start_with_timeout(Duration::from_secs(20))
            .await
            .unwrap();
        let first = poll(&api).await;
        let held = api.invoke(&serde_json::json!({"n": 1}));
        let handed = first.await.unwrap();
        assert!(
            handed.contains(&held) && handed.contains("{\"n\":1}"),
            "{handed}"
        );

        // The process polls again, then dies with `held` unanswered.
        let stale = poll(&api).await;
        api.first_poll(Duration::from_secs(5)).await.unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
        api.process_died();
        assert!(matches!(
            api.outcome(&held, Duration::from_secs(1)).await,
            Outcome::Died
        ));

        // The next event waits for the next process, not the dead one's poll.
        let next = api.invoke(&serde_json::json!({"n": 2}));
        let stale = stale.await.unwrap();
        assert!(stale.starts_with("HTTP/1.1 410"), "{stale}");
        let fresh = poll(&api).await.await.unwrap();
        assert!(fresh.contains(&next), "{fresh}");
        assert!(matches!(
            api.outcome(&next, Duration::from_millis(100)).await,
            Outcome::TimedOut
        ));
    }
}
