//! `pictor assets list|get`: read the asset store.

use super::{open_records, open_store, EXIT_FATAL, EXIT_OK};
use anyhow::Context;
use pictor_core::domain::asset_json::asset_json;
use pictor_core::ports::{AssetQuery, AssetStore, MAX_PAGE};
use pictor_core::{Asset, AssetId, AssetStatus};
use std::io::Write;
use std::path::PathBuf;

/// Where the records are: the embedded store of a local run, the PostgreSQL database of one
/// (`--db`, alone or with `--out`, whose store it then replaces), or a DynamoDB table.
#[derive(clap::Args)]
#[group(required = true, multiple = true)]
pub struct StoreArgs {
    /// The output directory of `pictor process`/`watch` (its embedded store).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// A DynamoDB asset table; AWS settings come from the environment (AWS_REGION,
    /// AWS_PROFILE, AWS_ENDPOINT_URL for a local server, ...).
    #[arg(long, value_name = "TABLE", conflicts_with_all = ["out", "db"])]
    pub table: Option<String>,
    /// The PostgreSQL database of `pictor process --db` (postgres://user@host:port/db).
    #[arg(long, value_name = "URL")]
    pub db: Option<String>,
}

impl StoreArgs {
    pub async fn open(&self) -> anyhow::Result<Box<dyn AssetStore>> {
        match (&self.out, &self.table) {
            (out, _) if self.db.is_some() => {
                let out = out.clone().unwrap_or_default();
                Ok(Box::new(open_records(&out, self.db.as_deref()).await?))
            }
            (Some(out), _) => Ok(Box::new(open_store(out)?)),
            (None, Some(table)) => {
                let sdk = pictor_aws::config::load().await;
                let client = pictor_aws::config::dynamodb_client(&sdk);
                Ok(Box::new(pictor_aws::DynamoAssetStore::new(client, table)))
            }
            (None, None) => anyhow::bail!("give --out DIR or --table TABLE"),
        }
    }

    fn describe(&self) -> String {
        if self.db.is_some() {
            return "the PostgreSQL database".to_string();
        }
        match (&self.out, &self.table) {
            (Some(out), _) => out.display().to_string(),
            (None, Some(table)) => format!("table {table}"),
            (None, None) => String::new(),
        }
    }
}

#[derive(clap::Subcommand)]
pub enum AssetsCommand {
    /// List assets, newest first.
    List {
        #[command(flatten)]
        store: StoreArgs,
        #[arg(long)]
        status: Option<AssetStatus>,
        #[arg(long)]
        creator: Option<String>,
        /// At most this many assets (default: all).
        #[arg(long)]
        limit: Option<usize>,
        /// One JSON object per line.
        #[arg(long)]
        json: bool,
    },
    /// Show one asset.
    Get {
        #[command(flatten)]
        store: StoreArgs,
        id: String,
        #[arg(long)]
        json: bool,
    },
}

pub async fn run(cmd: AssetsCommand) -> anyhow::Result<u8> {
    match cmd {
        AssetsCommand::List {
            store,
            status,
            creator,
            limit,
            json,
        } => {
            let source = store.describe();
            let store = store.open().await?;
            let mut query = AssetQuery {
                status,
                creator,
                limit: MAX_PAGE,
                cursor: None,
                spec_hash: None,
            };
            let mut remaining = limit.unwrap_or(usize::MAX);
            while remaining > 0 {
                query.limit = remaining.min(MAX_PAGE);
                let page = store
                    .list(&query)
                    .await
                    .with_context(|| format!("cannot list assets in {source}"))?;
                for asset in &page.items {
                    if print_asset(asset, json, false).is_err() {
                        // The reader went away (`| head`): stop quietly, nothing failed.
                        return Ok(EXIT_OK);
                    }
                }
                remaining = remaining.saturating_sub(page.items.len());
                match page.next_cursor {
                    Some(c) => query.cursor = Some(c),
                    None => break,
                }
            }
            Ok(EXIT_OK)
        }
        AssetsCommand::Get { store, id, json } => {
            let id = AssetId::parse(&id).map_err(anyhow::Error::msg)?;
            let source = store.describe();
            let store = store.open().await?;
            let found = store
                .get(&id)
                .await
                .with_context(|| format!("cannot read asset {id} from {source}"))?;
            match found {
                Some(asset) => {
                    // A closed stdout is the reader's choice, not a failure.
                    let _ = print_asset(&asset, json, true);
                    Ok(EXIT_OK)
                }
                None => {
                    eprintln!("error: no asset {id} in {source}");
                    Ok(EXIT_FATAL)
                }
            }
        }
    }
}

/// Writes one asset to stdout; an error means stdout is closed.
fn print_asset(asset: &Asset, json: bool, detailed: bool) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    if json {
        return writeln!(out, "{}", asset_json(asset));
    }
    let size = asset
        .image
        .as_ref()
        .map_or("-".to_string(), |i| format!("{}x{}", i.width, i.height));
    let detail = match &asset.error {
        Some(e) => format!("{}: {}", e.kind, e.message),
        None => format!("{} variants", asset.renditions.len()),
    };
    writeln!(
        out,
        "{}  {:<7} {:>11}  {}  [{}]",
        asset.id, asset.status, size, asset.source, detail
    )?;
    if detailed {
        for v in &asset.renditions {
            writeln!(
                out,
                "    {:<8} {:<5} {:>5}x{:<5} {:>9} B  {}",
                v.name, v.format, v.width, v.height, v.bytes, v.key
            )?;
        }
    }
    Ok(())
}
