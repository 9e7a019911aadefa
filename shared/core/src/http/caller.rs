//! Who asks: the adapter in front of the router (the query function from API Gateway's
//! authorizer, `pictor serve` from a bearer token) puts a [`Caller`] in the request's
//! extensions; handlers take it as an extractor, and a request without one is a 401.

use super::ApiError;
use crate::domain::identity::Caller;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Caller, ApiError> {
        parts
            .extensions
            .get::<Caller>()
            .cloned()
            .ok_or_else(|| ApiError::Unauthenticated("sign in to use the API".into()))
    }
}
