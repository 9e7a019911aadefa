//! The cleanup function's binary: the ingest function's handler on the removal queue (see
//! `pictor_cleanup`).

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    pictor_cleanup::run("cleanup").await
}
