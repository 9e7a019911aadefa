//! Every refusal of the API, each its own JSON response: `{"error": code, "message"}`, plus
//! `parameter` for a bad one. No body ever carries a store's own error text.

use crate::domain::asset::AssetId;
use crate::ports::StoreError;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// No caller, or credentials that were refused.
    #[error("{0}")]
    Unauthenticated(String),
    #[error("{0}")]
    Forbidden(String),
    /// An asset the caller may not see is as unknown as one that does not exist.
    #[error("no asset {0}")]
    NoAsset(AssetId),
    #[error("no such route")]
    NoRoute,
    /// The route exists; the method, or this deployment, does not take it.
    #[error("{0}")]
    MethodNotAllowed(&'static str),
    #[error("{parameter}: {message}")]
    BadParameter { parameter: String, message: String },
    /// The asset's state does not allow the request now (`code` says which).
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    /// Processing the original again failed.
    #[error("{0}")]
    Processing(String),
    /// The store failed: a 503 when a retry may succeed, else a 500; logged, never shown.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A refusal of an adapter in front of the router (a host check, an upload form's
    /// conditions), in the same shape.
    #[error("{message}")]
    Refused {
        status: u16,
        code: &'static str,
        message: String,
    },
}

impl ApiError {
    pub fn bad_parameter(parameter: impl Into<String>, message: impl Into<String>) -> ApiError {
        ApiError::BadParameter {
            parameter: parameter.into(),
            message: message.into(),
        }
    }

    pub fn refused(status: u16, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError::Refused {
            status,
            code,
            message: message.into(),
        }
    }

    /// The status and the body of the answer.
    pub fn parts(&self) -> (u16, Value) {
        let plain = |status: u16, code: &str, message: &str| {
            (status, json!({"error": code, "message": message}))
        };
        match self {
            ApiError::Unauthenticated(m) => plain(401, "unauthenticated", m),
            ApiError::Forbidden(m) => plain(403, "forbidden", m),
            ApiError::NoAsset(id) => plain(404, "not_found", &format!("no asset {id}")),
            ApiError::NoRoute => plain(404, "not_found", "no such route"),
            ApiError::MethodNotAllowed(m) => plain(405, "method_not_allowed", m),
            ApiError::BadParameter { parameter, message } => (
                400,
                json!({"error": "bad_parameter", "parameter": parameter, "message": message}),
            ),
            ApiError::Conflict { code, message } => plain(409, code, message),
            ApiError::Processing(m) => plain(500, "processing_failed", m),
            ApiError::Store(error) if error.is_transient() => {
                tracing::warn!(%error, "asset store unavailable");
                plain(503, "unavailable", "the asset store is busy; try again")
            }
            ApiError::Store(error) => {
                tracing::error!(%error, "asset store failed");
                plain(500, "internal", "the asset store failed")
            }
            ApiError::Refused {
                status,
                code,
                message,
            } => plain(*status, code, message),
        }
    }
}

/// A JSON body with the status it goes with.
pub(crate) fn json_response(status: u16, body: &Value) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = (status, body.to_string()).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, body) = self.parts();
        json_response(status, &body)
    }
}
