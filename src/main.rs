//! `pictor`: run the rendition pipeline on one machine, watch an inbox, query the asset store.

mod cli;

use clap::Parser;
use std::process::ExitCode;

// Picture-sized buffers in huge pages (see `pictor_image::memory`).
#[global_allocator]
static ALLOCATOR: pictor_image::memory::PictureAllocator = pictor_image::memory::PictureAllocator;

fn main() -> ExitCode {
    // clap exits with 2 on usage errors, but 2 means "some input failed" here.
    let args = match cli::Cli::try_parse() {
        Ok(args) => args,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() {
                cli::EXIT_FATAL
            } else {
                cli::EXIT_OK
            });
        }
    };
    // Log lines go to stderr (stdout carries results), as much as RUST_LOG asks for: by
    // default warnings and errors, such as the cause of a 500 or 503 from `pictor serve`.
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
    // `process`, `watch` and `reprocess` handle picture after picture.
    pictor_image::memory::reuse_freed_memory();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(cli::EXIT_FATAL);
        }
    };
    match runtime.block_on(cli::run(args)) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(cli::EXIT_FATAL)
        }
    }
}
