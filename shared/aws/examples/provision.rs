//! provision UPLOADS_BUCKET OUTPUT_BUCKET TABLE QUEUE [UPLOAD_PREFIX]
//!
//! Creates Pictor's resources wherever the standard AWS configuration points (used by
//! `scripts/local-cloud up` against the local server).

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [uploads, output, table, queue, rest @ ..] = args.as_slice() else {
        return Err(
            "usage: provision UPLOADS_BUCKET OUTPUT_BUCKET TABLE QUEUE [UPLOAD_PREFIX]".into(),
        );
    };
    let prefix = rest.first().map_or("uploads/", String::as_str);
    let config = pictor_aws::config::load().await;
    let r =
        pictor_aws::provision::provision(&config, uploads, output, table, queue, prefix).await?;
    eprintln!(
        "created buckets {} and {}, table {}, queues {} and {}",
        r.uploads_bucket, r.output_bucket, r.table, r.ingest_queue_url, r.cleanup_queue_url
    );
    Ok(())
}
