//! What every function shares at its edge with the Lambda runtime.

use lambda_runtime::Diagnostic;

/// An error a whole invocation fails with, with a short stable name for its `errorType`.
pub trait ErrorType: std::fmt::Display {
    /// The class of failure, e.g. `BadEvent`; reported as `Pictor.<name>`.
    fn error_type(&self) -> &'static str;
}

/// The `Diagnostic` Lambda records for a failed invocation: `errorType` is a name an
/// operator can search for (`Pictor.BadEvent`), not a Rust type path.
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
