//! `pictor serve`: the query API over HTTP on this machine, for development. On the embedded
//! store of a local run the renditions are served from the same address, so every URL the API
//! returns opens in a browser; on a DynamoDB table the URLs are presigned for `--bucket`.

use super::assets::StoreArgs;
use super::EXIT_OK;
use anyhow::Context;
use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use pictor_core::api::{Api, ApiRequest, BaseUrl, RenditionUrls};
use pictor_core::ports::{validate_key, AssetStore};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

#[derive(clap::Args)]
pub struct ServeArgs {
    #[command(flatten)]
    store: StoreArgs,
    /// Address to listen on (port 0 picks a free one; the address is printed).
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// With --table: the output bucket, for presigned URLs of its renditions.
    #[arg(long, value_name = "BUCKET", requires = "table")]
    bucket: Option<String>,
}

type Body = Full<Bytes>;

struct Server {
    api: Api<Box<dyn AssetStore>, Box<dyn RenditionUrls>>,
    /// Renditions served from disk (embedded store only).
    files: Option<PathBuf>,
}

pub async fn run(args: ServeArgs) -> anyhow::Result<u8> {
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let address = listener.local_addr()?;
    let assets = args.store.open().await?;
    let (urls, files): (Box<dyn RenditionUrls>, _) = match (&args.store.out, &args.bucket) {
        (Some(out), _) => (
            Box::new(BaseUrl(format!("http://{address}"))),
            Some(out.clone()),
        ),
        (None, Some(bucket)) => {
            let sdk = pictor_aws::config::load().await;
            let urls = pictor_aws::s3_urls::PresignedUrls::new(
                pictor_aws::config::s3_client(&sdk),
                bucket,
                Duration::from_secs(300),
            );
            (Box::new(urls), None)
        }
        (None, None) => anyhow::bail!("--table needs --bucket (the output bucket)"),
    };
    let server = Arc::new(Server {
        api: Api::new(assets, urls),
        files,
    });
    println!("listening on http://{address}");
    loop {
        let (stream, _) = listener.accept().await?;
        let server = Arc::clone(&server);
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request| {
                let server = Arc::clone(&server);
                async move { Ok::<_, std::convert::Infallible>(server.answer(request).await) }
            });
            let io = hyper_util::rt::TokioIo::new(stream);
            // A client that hangs up mid-request is its own business.
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(io, service)
                .await;
        });
    }
    #[allow(unreachable_code)]
    Ok(EXIT_OK)
}

impl Server {
    async fn answer(&self, request: Request<Incoming>) -> Response<Body> {
        let path = request.uri().path().to_string();
        if let (Some(root), Some(key)) = (&self.files, path.strip_prefix('/')) {
            if key.starts_with(pictor_core::layout::RENDITIONS) {
                return serve_file(root, key).await;
            }
        }
        let query = request
            .uri()
            .query()
            .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
            .unwrap_or_default();
        let response = self
            .api
            .handle(&ApiRequest {
                method: request.method().as_str().to_string(),
                path,
                query,
            })
            .await;
        respond(
            StatusCode::from_u16(response.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            "application/json",
            Bytes::from(response.body.to_string()),
        )
    }
}

async fn serve_file(root: &std::path::Path, key: &str) -> Response<Body> {
    let not_found = || {
        respond(
            StatusCode::NOT_FOUND,
            "application/json",
            Bytes::from_static(br#"{"error":"not_found","message":"no such file"}"#),
        )
    };
    // The same key rules as every store: no `..`, no absolute paths.
    if validate_key(key).is_err() {
        return not_found();
    }
    let content_type = match key.rsplit('.').next() {
        Some("jpg") => "image/jpeg",
        Some("webp") => "image/webp",
        Some("png") => "image/png",
        _ => return not_found(),
    };
    match tokio::fs::read(root.join(key)).await {
        Ok(bytes) => respond(StatusCode::OK, content_type, Bytes::from(bytes)),
        Err(_) => not_found(),
    }
}

fn respond(status: StatusCode, content_type: &'static str, body: Bytes) -> Response<Body> {
    let mut response = Response::new(Full::new(body));
    *response.status_mut() = status;
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static(content_type),
    );
    response
}
