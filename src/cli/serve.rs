//! `pictor serve`: the query API over HTTP on this machine, for development. It serves the
//! same router as the query function. On the embedded store of a local run the renditions are
//! served from the same address, so every URL the API returns opens in a browser; on a
//! DynamoDB table the URLs are presigned for `--bucket`.

use super::assets::StoreArgs;
use super::EXIT_OK;
use anyhow::Context;
use pictor_core::api::{router, Api, BaseUrl, RenditionUrls};
use pictor_core::layout;
use std::net::SocketAddr;
use std::time::Duration;
use tower_http::services::ServeDir;

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

pub async fn run(args: ServeArgs) -> anyhow::Result<u8> {
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let address = listener.local_addr()?;
    let assets = args.store.open().await?;
    let (urls, files): (Box<dyn RenditionUrls>, _) = match (&args.store.out, &args.bucket) {
        (Some(out), _) => (
            Box::new(BaseUrl(format!("http://{address}"))),
            Some(out.join(layout::RENDITIONS)),
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
    let mut app = router(Api::new(assets, urls));
    if let Some(folder) = files {
        // Only the renditions folder is served: never the asset store beside it. ServeDir
        // refuses `..` and answers 404 for anything that is not a file there.
        let mount = format!("/{}", layout::RENDITIONS.trim_end_matches('/'));
        app = app.nest_service(&mount, ServeDir::new(folder));
    }
    println!("listening on http://{address}");
    axum::serve(listener, app)
        .await
        .context("the server stopped")?;
    Ok(EXIT_OK)
}
