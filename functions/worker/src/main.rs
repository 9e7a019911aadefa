//! Wiring only: configuration from the environment, the adapters, then the worker until
//! SIGTERM or Ctrl-C (what is in flight finishes first).

use pictor_worker::{Config, Worker};

#[tokio::main]
async fn main() {
    pictor_aws::logging::init();
    pictor_image::memory::reuse_freed_memory();
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(e) => {
            eprintln!("pictor-worker: {e}");
            std::process::exit(2);
        }
    };
    let worker = match Worker::start(config).await {
        Ok(worker) => worker,
        Err(e) => {
            eprintln!("pictor-worker: {e}");
            std::process::exit(1);
        }
    };
    let (stop, stopped) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        pictor_worker::stop_signal().await;
        let _ = stop.send(true);
    });
    if let Err(e) = worker.run(stopped).await {
        eprintln!("pictor-worker: {e}");
        std::process::exit(1);
    }
}
