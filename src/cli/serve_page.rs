//! The creators' page (`web/`) at `/`, built into the binary: the same files the CDK app
//! deploys as a static site, with a `config.json` that points it at this server's own API.

use axum::http::header::{CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE};
use axum::response::IntoResponse;
use axum::routing::get;

const INDEX: &str = include_str!("../../web/index.html");
const SCRIPT: &str = include_str!("../../web/app.js");
const STYLE: &str = include_str!("../../web/app.css");
/// Same origin: the API is this server.
const CONFIG: &str = r#"{"apiUrl": ""}"#;

/// Everything from this server; placeholders are `data:` images drawn by the page.
const POLICY: &str = "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'";

fn file(content_type: &'static str, body: &'static str) -> impl IntoResponse {
    (
        [
            (CONTENT_TYPE, content_type),
            // A new binary may bring a new page: browsers check back each time.
            (CACHE_CONTROL, "no-cache"),
            (CONTENT_SECURITY_POLICY, POLICY),
        ],
        body,
    )
}

/// `/`, `/index.html`, `/app.js`, `/app.css` and `/config.json`, open to everyone: the page
/// holds nothing private, and the API it calls checks each request.
pub fn routes() -> axum::Router {
    let index = || async { file("text/html; charset=utf-8", INDEX) };
    axum::Router::new()
        .route("/", get(index))
        .route("/index.html", get(index))
        .route(
            "/app.js",
            get(|| async { file("text/javascript; charset=utf-8", SCRIPT) }),
        )
        .route(
            "/app.css",
            get(|| async { file("text/css; charset=utf-8", STYLE) }),
        )
        .route(
            "/config.json",
            get(|| async { file("application/json", CONFIG) }),
        )
}
