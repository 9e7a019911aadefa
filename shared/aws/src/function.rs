//! What every function shares at its edge with the Lambda runtime: the loop that serves
//! invocations ([`serve`]), the diagnostic a failed one reports, and the start that stops on
//! a bad configuration.

use lambda_runtime::{service_fn, Diagnostic, LambdaEvent};
use serde_json::Value;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

/// A function's handler: one invocation's event in, its answer out.
pub trait Handler: Send + Sync + 'static {
    /// A failure of the whole invocation; Lambda records it as this diagnostic.
    type Error: Into<Diagnostic> + Send;

    /// Handles `event`, done by `deadline_ms` (milliseconds since the epoch) where the
    /// runtime gives one. The runtime polls one invocation at a time, so the future need
    /// not be `Send`.
    fn handle(
        &self,
        event: Value,
        deadline_ms: Option<u64>,
    ) -> impl Future<Output = Result<Value, Self::Error>>;
}

/// The runtime loop of a function, as `main` awaits it.
pub type Serving = Pin<Box<dyn Future<Output = Result<(), lambda_runtime::Error>>>>;

/// Serves `handler` until the runtime stops: each invocation within the scope of its request
/// id (which every metric line carries), its failure reported as its diagnostic. Boxed: the
/// loop's future nests the handler's, the runtime's and the SDK's, deeper than the compiler
/// follows from `main` by default.
pub fn serve<H: Handler>(handler: H) -> Serving {
    let handler = Arc::new(handler);
    Box::pin(lambda_runtime::run(service_fn(
        move |event: LambdaEvent<Value>| {
            let handler = Arc::clone(&handler);
            let request_id = event.context.request_id.clone();
            let work = async move {
                // Boxed for the same reason as the loop: the handler's future is deep.
                let handled: Pin<Box<dyn Future<Output = Result<Value, H::Error>> + '_>> =
                    Box::pin(handler.handle(event.payload, Some(event.context.deadline)));
                handled.await.map_err(Into::<Diagnostic>::into)
            };
            crate::metrics::with_request_id(request_id, work)
        },
    )))
}

/// An error a whole invocation fails with, with a short stable name for its `errorType`.
pub trait ErrorType: std::fmt::Display {
    /// The class of failure, e.g. `BadEvent`; reported as `Pictor.<name>`.
    fn error_type(&self) -> &'static str;
}

/// The `Diagnostic` Lambda records for a failed invocation: `errorType` is a name an
/// operator can search for (`Pictor.BadEvent`), not a Rust type path. Each function's error
/// becomes one through its `From` impl.
pub fn diagnostic<E: ErrorType>(error: &E) -> Diagnostic {
    Diagnostic {
        error_type: format!("Pictor.{}", error.error_type()),
        error_message: error.to_string(),
    }
}

/// The configuration, or the process ends after one log line naming what is wrong: Lambda
/// reports the failed start, and the log says which variable to fix.
pub fn config_or_exit<T, E: std::fmt::Display>(config: Result<T, E>) -> T {
    match config {
        Ok(config) => config,
        Err(e) => {
            tracing::error!(error = %e, "invalid configuration");
            std::process::exit(1)
        }
    }
}
