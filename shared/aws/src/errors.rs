//! SDK failures mapped to the port's error classes: what may succeed on retry (throttling,
//! 5xx, timeouts, network) is `Unavailable`, everything else is permanent.

use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use pictor_core::ports::StoreError;

/// Error codes AWS services use for throttling and brief unavailability.
const TRANSIENT_CODES: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottled",
    "RequestThrottledException",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "SlowDown",
    "InternalError",
    "InternalServerError",
    "ServiceUnavailable",
    "RequestTimeout",
    "RequestTimeoutException",
    "TransactionInProgressException",
    // CloudFront: too many invalidations in progress; they complete within minutes.
    "TooManyInvalidationsInProgress",
];

pub fn is_transient<E>(err: &SdkError<E, HttpResponse>) -> bool
where
    E: ProvideErrorMetadata,
{
    match err {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) => true,
        SdkError::ResponseError(e) => e.raw().status().is_server_error(),
        SdkError::ServiceError(e) => {
            let status = e.raw().status();
            status.is_server_error()
                || status.as_u16() == 429
                || e.err().code().is_some_and(|c| TRANSIENT_CODES.contains(&c))
        }
        _ => false,
    }
}

/// `context` says what was attempted (`"get s3://bucket/key"`).
pub fn store_error<E>(context: &str, err: SdkError<E, HttpResponse>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let message = format!("{context}: {}", DisplayErrorContext(&err));
    if is_transient(&err) {
        StoreError::Unavailable(message)
    } else {
        StoreError::Other(message)
    }
}
