//! `pictor serve`: the query API over HTTP on this machine, for development. It serves the
//! same router as the query function. On the embedded store of a local run the renditions are
//! served from the same address, so every URL the API returns opens in a browser; on a
//! DynamoDB table or a PostgreSQL database (`--db` without `--out`) the URLs are presigned for
//! `--bucket` (S3, or any S3-compatible server), and `--uploads-bucket` takes uploads
//! from apps (`POST /uploads`, `DELETE /assets/{id}`). `--jwt-*` checks bearer tokens and
//! applies the per-creator rules (see `serve_auth`). `PUT /assets/{id}/focus` re-cuts an
//! asset's `cover` renditions in this process, with `--spec`. The creators' page is at `/`.

use super::assets::StoreArgs;
use super::serve_auth::{establish_caller, JwtArgs};
use super::serve_origin::{only_this_server, AllowedHosts};
use super::serve_page;
use super::serve_renditions::{cache_headers, only_live};
use super::serve_uploads::{receive, LocalUploads, FORM_PATH};
use super::{load_presets, open_database, open_local, EXIT_OK};
use anyhow::Context;
use pictor_core::app::uploads::UploadRules;
use pictor_core::domain::layout;
use pictor_core::http::{router, Api};
use pictor_core::ports::AssetStore;
use pictor_core::ports::Refocus;
use pictor_core::ports::{BaseUrl, RenditionUrls};
use pictor_core::Converger;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tower_http::services::ServeDir;

#[derive(clap::Args)]
pub struct ServeArgs {
    #[command(flatten)]
    store: StoreArgs,
    /// Address to listen on (port 0 picks a free one; the address is printed).
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// With --table or --db: the output bucket, for presigned URLs of its renditions (on any
    /// S3-compatible server with AWS_ENDPOINT_URL).
    #[arg(long, value_name = "BUCKET", requires = "table")]
    bucket: Option<String>,
    /// With --out: the inbox `pictor watch` watches; apps' `POST /uploads` forms are posted
    /// to this server and land there, and `DELETE /assets/{id}` deletes from it.
    #[arg(
        long,
        value_name = "INBOX",
        requires = "out",
        conflicts_with = "uploads_bucket"
    )]
    inbox: Option<std::path::PathBuf>,
    /// With --bucket: the uploads bucket apps upload to through `POST /uploads` forms.
    #[arg(long, value_name = "BUCKET", requires = "table")]
    uploads_bucket: Option<String>,
    /// With --uploads-bucket: the key prefix uploads go under (default `uploads/`).
    #[arg(long, value_name = "PREFIX", requires = "uploads_bucket")]
    prefix: Option<String>,
    /// The spec file whose presets' folders and size limits the upload forms carry, and
    /// whose `cover` variants `PUT /assets/{id}/focus` cuts again (the built-in spec when
    /// omitted; it must be the one the assets were made with).
    #[arg(long)]
    spec: Option<std::path::PathBuf>,
    #[command(flatten)]
    jwt: JwtArgs,
    /// A host name besides this machine's addresses and `localhost` that requests may name
    /// (`Host`), such as a name a proxy in front of this server answers to; repeat for several.
    /// Any other is refused, so a web page cannot reach the server by DNS rebinding.
    #[arg(long, value_name = "NAME")]
    allowed_host: Vec<String>,
}

const NEEDS_STORE: &str =
    "give --out DIR, or --table TABLE or --db URL with --bucket (the output bucket)";

pub async fn run(args: ServeArgs) -> anyhow::Result<u8> {
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let address = listener.local_addr()?;
    let gate = args.jwt.gate()?;
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
        (None, None) => anyhow::bail!(NEEDS_STORE),
    };
    let presets = load_presets(args.spec.as_deref())?;
    // With --out, the store also decides which rendition files are still served.
    let mut live_records: Option<Arc<dyn AssetStore>> = None;
    let (assets, refocus): (Box<dyn AssetStore>, Arc<dyn Refocus>) =
        match (&args.store.out, &args.bucket, &args.store.table) {
            (Some(out), _, _) => {
                // One connection to the store for the API, for the recuts a focus change
                // makes, as in `pictor process`, and for the renditions' check.
                let (converger, store) =
                    open_local(out, presets.clone(), args.store.db.as_deref()).await?;
                live_records = Some(Arc::clone(&store));
                (Box::new(store), Arc::new(converger))
            }
            (None, Some(bucket), table) => {
                // Originals and renditions on S3 or any S3-compatible server
                // (AWS_ENDPOINT_URL); the records in DynamoDB or PostgreSQL.
                let sdk = pictor_aws::config::load().await;
                let originals = pictor_aws::S3Originals::new(pictor_aws::config::s3_client(&sdk));
                let renditions = pictor_aws::config::rendition_store(&sdk, bucket);
                match (table, &args.store.db) {
                    (Some(table), _) => {
                        let records = pictor_aws::config::asset_store(&sdk, table);
                        let refocus =
                            Converger::new(presets.clone(), originals, renditions, records);
                        (args.store.open().await?, Arc::new(refocus))
                    }
                    (None, Some(db)) => {
                        let records = open_database(db).await?;
                        let refocus = Converger::new(
                            presets.clone(),
                            originals,
                            renditions,
                            Arc::clone(&records),
                        );
                        (Box::new(records), Arc::new(refocus))
                    }
                    (None, None) => anyhow::bail!(NEEDS_STORE),
                }
            }
            _ => anyhow::bail!(NEEDS_STORE),
        };
    let mut api = Api::new(assets, urls).with_refocus(refocus);
    if let Some(bucket) = &args.uploads_bucket {
        let prefix = pictor_aws::config::upload_prefix(args.prefix.clone(), &presets);
        let sdk = pictor_aws::config::load().await;
        let desk = pictor_aws::S3Uploads::new(&sdk, bucket, prefix);
        api = api.with_uploads(Arc::new(desk), UploadRules::new(&presets));
    }
    let mut local_uploads = None;
    if let Some(inbox) = &args.inbox {
        let desk = Arc::new(LocalUploads::new(inbox, &format!("http://{address}"))?);
        local_uploads = Some(Arc::clone(&desk));
        api = api.with_uploads(desk, UploadRules::new(&presets));
    }
    let mut app = router(api)
        .layer(axum::middleware::from_fn_with_state(gate, establish_caller))
        .merge(serve_page::routes());
    if let (Some(folder), Some(records)) = (files, live_records) {
        // Only the renditions folder is served: never the asset store beside it. ServeDir
        // refuses `..` and answers 404 for anything that is not a file there. Outside the
        // token check: an `<img>` sends no token, as with a public CDN.
        let mount = format!("/{}", layout::RENDITIONS.trim_end_matches('/'));
        let files = axum::Router::new()
            .fallback_service(ServeDir::new(folder))
            .layer(axum::middleware::from_fn(cache_headers))
            .layer(axum::middleware::from_fn_with_state(records, only_live));
        app = app.nest_service(&mount, files);
    }
    if let Some(desk) = local_uploads {
        // The form is its own authorisation (a signed policy), as a presigned POST is; the
        // limit on its size is the policy's, checked while it streams.
        let receive = axum::Router::new()
            .route(FORM_PATH, axum::routing::post(receive))
            .layer(axum::extract::DefaultBodyLimit::disable())
            .with_state(desk);
        app = app.merge(receive);
    }
    let app = app.layer(axum::middleware::from_fn_with_state(
        AllowedHosts::new(&args.allowed_host),
        only_this_server,
    ));
    println!("listening on http://{address}");
    axum::serve(listener, app)
        .await
        .context("the server stopped")?;
    Ok(EXIT_OK)
}
