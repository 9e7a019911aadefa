//! `pictor assets list|get`: read the asset store.

use super::json::asset_json;
use super::{open_store, EXIT_FATAL, EXIT_OK};
use pictor_core::ports::{AssetQuery, AssetStore};
use pictor_core::{Asset, AssetId, AssetStatus};
use std::io::Write;
use std::path::PathBuf;

#[derive(clap::Subcommand)]
pub enum AssetsCommand {
    /// List assets, newest first.
    List {
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
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
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        id: String,
        #[arg(long)]
        json: bool,
    },
}

pub async fn run(cmd: AssetsCommand) -> anyhow::Result<u8> {
    match cmd {
        AssetsCommand::List {
            out,
            status,
            creator,
            limit,
            json,
        } => {
            let store = open_store(&out)?;
            let mut query = AssetQuery {
                status,
                creator,
                limit: 500,
                cursor: None,
                spec_hash: None,
            };
            let mut remaining = limit.unwrap_or(usize::MAX);
            while remaining > 0 {
                query.limit = remaining.min(500);
                let page = store.list(&query).await?;
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
        AssetsCommand::Get { out, id, json } => {
            let id = AssetId::parse(&id).map_err(anyhow::Error::msg)?;
            let store = open_store(&out)?;
            match store.get(&id).await? {
                Some(asset) => {
                    // A closed stdout is the reader's choice, not a failure.
                    let _ = print_asset(&asset, json, true);
                    Ok(EXIT_OK)
                }
                None => {
                    eprintln!("error: no asset {id} in {}", out.display());
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
        None => format!("{} variants", asset.variants.len()),
    };
    writeln!(
        out,
        "{}  {:<7} {:>11}  {}  [{}]",
        asset.id, asset.status, size, asset.source, detail
    )?;
    if detailed {
        for v in &asset.variants {
            writeln!(
                out,
                "    {:<8} {:<5} {:>5}x{:<5} {:>9} B  {}",
                v.name, v.format, v.width, v.height, v.bytes, v.key
            )?;
        }
    }
    Ok(())
}
