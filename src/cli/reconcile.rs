//! `pictor reconcile`: finds and repairs what drifted between the originals, the records and
//! the renditions (see `pictor_core::app::reconcile`), on a local run or on the cloud deployment.

use super::{load_presets, open_local, EXIT_OK, EXIT_SOME_FAILED};
use anyhow::Context;
use pictor_core::app::reconcile::{self, ReconcileOptions, ReconcileReport, Reconciler};
use pictor_core::local::FsBlobStore;
use pictor_core::{Converger, SourceLocation};
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct ReconcileArgs {
    /// Output directory of `pictor process`/`watch` (with --inbox).
    #[arg(long, value_name = "DIR", conflicts_with_all = ["table", "bucket", "output_bucket"])]
    out: Option<PathBuf>,
    /// The folder whose files are the originals (with --out).
    #[arg(long, value_name = "DIR", requires = "out")]
    inbox: Option<PathBuf>,
    /// The PostgreSQL database that holds the records: a local run's (with --out, see
    /// `process --db`), or those of uploads in a bucket (with --bucket and --output-bucket,
    /// on any S3-compatible server AWS_ENDPOINT_URL names).
    #[arg(long, value_name = "URL", conflicts_with = "table")]
    db: Option<String>,
    /// The DynamoDB asset table (with --bucket and --output-bucket); AWS settings come from
    /// the environment (AWS_REGION, credentials, AWS_ENDPOINT_URL).
    #[arg(long, requires_all = ["bucket", "output_bucket"])]
    table: Option<String>,
    /// The uploads bucket.
    #[arg(long, value_name = "BUCKET")]
    bucket: Option<String>,
    /// Key prefix of uploads in the bucket.
    #[arg(long, default_value = "uploads/")]
    prefix: String,
    /// The output bucket (renditions).
    #[arg(long, value_name = "BUCKET")]
    output_bucket: Option<String>,
    /// The rendition spec (TOML) the deployment runs; the built-in default when omitted.
    #[arg(long)]
    spec: Option<PathBuf>,
    /// Count what is wrong; change nothing.
    #[arg(long)]
    dry_run: bool,
    /// Unreferenced renditions younger than this are left alone (an ingest may be in flight).
    #[arg(long, default_value = "1h", value_parser = humantime::parse_duration)]
    grace: std::time::Duration,
    /// Run a pass every DURATION (`5m`, `1h`) until interrupted, one JSON report per line: how
    /// a bucket whose store sends no notifications converges.
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    every: Option<std::time::Duration>,
}

pub async fn run(args: ReconcileArgs) -> anyhow::Result<u8> {
    let Some(every) = args.every else {
        let (report, written) = pass(&args).await?;
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(finish(&report, written));
    };
    if every.is_zero() {
        anyhow::bail!("--every must be longer than zero");
    }
    loop {
        // A pass that fails (the store unreachable for a while) is reported; the next one
        // starts on time all the same.
        match pass(&args).await {
            Ok((report, written)) => {
                println!("{}", serde_json::to_string(&report)?);
                finish(&report, written);
            }
            Err(e) => eprintln!("reconcile: this pass failed: {e:#}"),
        }
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = tokio::signal::ctrl_c() => return Ok(EXIT_OK),
        }
    }
}

/// Says what a pass did on stderr; the exit code it calls for.
fn finish(report: &ReconcileReport, written: Option<PathBuf>) -> u8 {
    eprintln!("{}", summary(report));
    if let Some(path) = written {
        eprintln!("report: {}", path.display());
    }
    if report.failed > 0 {
        EXIT_SOME_FAILED
    } else {
        EXIT_OK
    }
}

/// One pass over the local run or the deployment the arguments name.
async fn pass(args: &ReconcileArgs) -> anyhow::Result<(ReconcileReport, Option<PathBuf>)> {
    let presets = load_presets(args.spec.as_deref())?;
    let options = ReconcileOptions {
        dry_run: args.dry_run,
        grace: time::Duration::try_from(args.grace).context("--grace is too long")?,
        repair_for: None,
    };
    Ok(match (&args.out, &args.table, &args.db) {
        (Some(out), None, _) => {
            let inbox = args
                .inbox
                .as_ref()
                .context("--out needs --inbox: the folder whose files are the originals")?;
            let inbox = inbox
                .canonicalize()
                .with_context(|| format!("inbox {} is not an existing folder", inbox.display()))?;
            let (converger, _) = open_local(out, presets, args.db.as_deref()).await?;
            let report = Reconciler::new(&converger)
                .run(&SourceLocation::File(inbox), options)
                .await?;
            // Kept beside the daily reports, which include the latest pass.
            let key = reconcile::publish(&FsBlobStore::new(out), &report).await?;
            (report, Some(out.join(key)))
        }
        (None, Some(table), _) => {
            let (Some(bucket), Some(output)) = (&args.bucket, &args.output_bucket) else {
                anyhow::bail!("--table needs --bucket and --output-bucket");
            };
            let sdk = pictor_aws::config::load().await;
            let stores = pictor_aws::config::AwsStores::new(&sdk, output, table);
            let converger =
                Converger::new(presets, stores.originals, stores.renditions, stores.assets);
            let root = SourceLocation::s3(bucket, &args.prefix);
            (Reconciler::new(&converger).run(&root, options).await?, None)
        }
        (None, None, Some(db)) => {
            // Uploads in a bucket of any S3-compatible server, their records in PostgreSQL.
            let (Some(bucket), Some(output)) = (&args.bucket, &args.output_bucket) else {
                anyhow::bail!("--db without --out needs --bucket and --output-bucket");
            };
            let sdk = pictor_aws::config::load().await;
            let records = super::open_database(db).await?;
            let converger = Converger::new(
                presets,
                pictor_aws::S3Originals::new(pictor_aws::config::s3_client(&sdk)),
                pictor_aws::config::rendition_store(&sdk, output),
                records,
            );
            let root = SourceLocation::s3(bucket, &args.prefix);
            (Reconciler::new(&converger).run(&root, options).await?, None)
        }
        _ => anyhow::bail!(
            "give --out DIR --inbox DIR, or --bucket and --output-bucket with --table or --db"
        ),
    })
}

fn summary(r: &ReconcileReport) -> String {
    let verb = if r.dry_run {
        "would repair"
    } else {
        "repaired"
    };
    let count = if r.dry_run { r.drift() } else { r.repaired };
    format!(
        "{} originals, {} records: {} unrecorded, {} outdated, {} gone, {} broken, {} orphaned \
         renditions ({} younger than the grace period); {verb} {count}, {} failed",
        r.originals,
        r.records,
        r.unrecorded,
        r.outdated,
        r.gone,
        r.broken,
        r.orphans,
        r.young_orphans,
        r.failed
    )
}
