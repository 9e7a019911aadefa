//! A local Lambda Runtime API: enough of the interface Lambda offers a function's `bootstrap`
//! (next invocation, response, error, init error) to run the real binary outside AWS, hand it
//! events and time it: from process start to its first poll (cold start) and from an event's
//! hand-over to its response.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use std::collections::VecDeque;
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

#[derive(Default)]
struct State {
    queue: VecDeque<(String, String)>,
    first_poll: Option<Instant>,
    handed_out: Vec<(String, Instant)>,
    answers: Vec<Answer>,
    init_error: Option<String>,
}

/// The emulator; clone it freely (shared state).
#[derive(Clone)]
pub struct RuntimeApi {
    state: Arc<Mutex<State>>,
    changed: Arc<Notify>,
    /// `host:port` for `AWS_LAMBDA_RUNTIME_API`.
    pub address: String,
}

impl RuntimeApi {
    /// Listens on an ephemeral port of 127.0.0.1.
    pub async fn start() -> std::io::Result<RuntimeApi> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let api = RuntimeApi {
            state: Arc::default(),
            changed: Arc::default(),
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
        let id = format!("req-{}", state.handed_out.len() + state.queue.len() + 1);
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
        {
            let mut state = self.lock();
            state.first_poll.get_or_insert_with(Instant::now);
        }
        self.changed.notify_waiters();
        loop {
            let notified = self.changed.notified();
            let popped = self.lock().queue.pop_front();
            if let Some((id, event)) = popped {
                self.lock().handed_out.push((id.clone(), Instant::now()));
                let deadline = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_millis() as u64)
                    + 900_000;
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
