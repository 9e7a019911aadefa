//! `pictor serve` answers only requests meant for it. A web page the developer opens could
//! otherwise reach it by DNS rebinding (a name of the page's that resolves to 127.0.0.1): the
//! browser then sends the page's own host name, and with `--table`/`--uploads-bucket` that
//! would be production, with the developer's credentials. So the `Host` must be an address
//! (`127.0.0.1:8080`, `[::1]:8080`), `localhost`, or a name given with `--allowed-host`; and a
//! request that changes something, sent by a browser from another origin, is refused (but for
//! a signed upload form, which any page may post, as to S3).

use axum::extract::{Request, State};
use axum::http::header::{HOST, ORIGIN};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use pictor_core::http::ApiError;
use std::sync::Arc;

/// The host names besides addresses and `localhost` that requests may name.
#[derive(Debug, Clone, Default)]
pub struct AllowedHosts(Arc<Vec<String>>);

impl AllowedHosts {
    pub fn new(names: &[String]) -> AllowedHosts {
        AllowedHosts(Arc::new(
            names.iter().map(|n| n.to_ascii_lowercase()).collect(),
        ))
    }

    /// Whether `authority` (a `Host` value, `name[:port]`) names this server.
    fn allows(&self, authority: &str) -> bool {
        let host = host_of(authority).to_ascii_lowercase();
        host == "localhost" || host.parse::<std::net::IpAddr>().is_ok() || self.0.contains(&host)
    }
}

/// The host of `name[:port]` or `[v6]:port`, brackets off.
fn host_of(authority: &str) -> &str {
    if let Some(rest) = authority.strip_prefix('[') {
        return rest.split(']').next().unwrap_or_default();
    }
    authority.rsplit_once(':').map_or(authority, |(h, _)| h)
}

fn refused(message: &str) -> Response {
    ApiError::refused(403, "forbidden_host", message).into_response()
}

/// Middleware on every route, the page and the upload form included.
pub async fn only_this_server(
    State(allowed): State<AllowedHosts>,
    request: Request,
    next: Next,
) -> Response {
    let host = request.headers().get(HOST).and_then(|h| h.to_str().ok());
    if !host.is_some_and(|h| allowed.allows(h)) {
        return refused("this server answers to its address, localhost or --allowed-host names");
    }
    let changes = !matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    // An upload form is its own authorisation (a signed policy), and S3 takes it from any
    // page: an app on another origin posts it here as it would to the bucket.
    let signed_form = request.uri().path() == super::serve_uploads::FORM_PATH;
    if changes && !signed_form {
        // Browsers name the page's origin on such requests; tools like curl send none.
        if let Some(origin) = request.headers().get(ORIGIN) {
            let authority = origin
                .to_str()
                .ok()
                .and_then(|o| o.split_once("://"))
                .map(|(_, a)| a);
            if !authority.is_some_and(|a| Some(a) == host && allowed.allows(a)) {
                return refused("a request from another origin may not change anything here");
            }
        }
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_localhost_and_named_hosts_only() {
        let allowed = AllowedHosts::new(&["Photos.Dev.Example".into()]);
        for ok in [
            "127.0.0.1:8080",
            "[::1]:8080",
            "localhost:8080",
            "localhost",
            "10.1.2.3",
            "photos.dev.example:80",
        ] {
            assert!(allowed.allows(ok), "{ok}");
        }
        for bad in [
            "evil.example:8080",
            "127.0.0.1.nip.io:8080",
            "",
            "localhost.evil.example",
        ] {
            assert!(!allowed.allows(bad), "{bad}");
        }
    }
}
