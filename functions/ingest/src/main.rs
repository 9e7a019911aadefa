//! The ingest function's binary: see [`pictor_ingest::run`].

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    pictor_ingest::run("ingest").await
}
