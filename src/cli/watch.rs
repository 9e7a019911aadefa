//! `pictor watch`: the event-driven model on one machine. A file is processed when its writer
//! closes it (or when it is moved in), never half-written.

use super::batch::describe;
use super::process::process_one;
use super::{inputs, load_pipeline, open_local, RunOptions, EXIT_OK};
use anyhow::Context;
use notify::event::{AccessKind, AccessMode, ModifyKind, RenameMode};
use notify::{EventKind, RecursiveMode, Watcher};
use pictor_core::source::creator_from_first_folder;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::sync::{mpsc, Semaphore};

#[derive(clap::Args)]
pub struct WatchArgs {
    #[command(flatten)]
    options: RunOptions,
    /// Folder to watch (recursively). A first-level subfolder names the creator
    /// (INBOX/<creator>/photo.jpg) unless --creator is given.
    #[arg(value_name = "INBOX")]
    inbox: PathBuf,
}

/// Which paths an event says are complete and ready to read.
fn completed_paths(event: notify::Event) -> Vec<PathBuf> {
    match event.kind {
        EventKind::Access(AccessKind::Close(AccessMode::Write)) => event.paths,
        EventKind::Modify(ModifyKind::Name(RenameMode::To)) => event.paths,
        EventKind::Modify(ModifyKind::Name(RenameMode::Both)) => {
            event.paths.into_iter().skip(1).collect()
        }
        _ => Vec::new(),
    }
}

fn creator_for(inbox: &Path, path: &Path, fixed: Option<&str>) -> Option<String> {
    if let Some(c) = fixed {
        return Some(c.to_string());
    }
    let relative = path.strip_prefix(inbox).ok()?;
    creator_from_first_folder(&relative.to_string_lossy())
}

pub async fn run(args: WatchArgs) -> anyhow::Result<u8> {
    let options = args.options;
    let inbox = args
        .inbox
        .canonicalize()
        .with_context(|| format!("inbox {} is not an existing folder", args.inbox.display()))?;
    let pipeline = load_pipeline(options.spec.as_deref())?;
    let (ingestor, _) = open_local(&options.out, pipeline)?;
    let ingestor = Arc::new(ingestor);
    let out = options.out.canonicalize()?;

    let (tx, mut rx) = mpsc::unbounded_channel::<PathBuf>();
    let event_tx = tx.clone();
    let mut watcher = notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
        if let Ok(event) = res {
            for path in completed_paths(event) {
                let _ = event_tx.send(path);
            }
        }
    })?;
    watcher.watch(&inbox, RecursiveMode::Recursive)?;
    // Files that arrived while nobody was watching are not lost: queue them too. Files
    // already processed with the same bytes and spec are skipped as unchanged.
    for path in inputs::collect(std::slice::from_ref(&inbox), &out) {
        let _ = tx.send(path);
    }
    eprintln!("watching {} (Ctrl-C to stop)", inbox.display());

    let permits = Arc::new(Semaphore::new(options.jobs()));
    loop {
        let path = tokio::select! {
            _ = tokio::signal::ctrl_c() => break,
            next = rx.recv() => match next {
                Some(p) => p,
                None => break,
            },
        };
        let hidden = path
            .strip_prefix(&inbox)
            .map(|rel| {
                rel.components()
                    .any(|c| inputs::is_hidden(Path::new(c.as_os_str())))
            })
            .unwrap_or(true);
        if hidden || path.starts_with(&out) || !path.is_file() {
            continue;
        }
        let creator = creator_for(&inbox, &path, options.creator.as_deref());
        let ingestor = Arc::clone(&ingestor);
        let permit = Arc::clone(&permits).acquire_owned().await?;
        tokio::spawn(async move {
            let result = process_one(&ingestor, &path, creator.as_deref()).await;
            // Ignore a closed stdout: the record is written either way.
            let line = describe(&path.display().to_string(), &result);
            let _ = writeln!(std::io::stdout().lock(), "{line}");
            drop(permit);
        });
    }
    // Let in-flight work finish and record its result before exiting.
    let _ = permits.acquire_many(options.jobs() as u32).await;
    Ok(EXIT_OK)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creator_comes_from_the_first_folder() {
        let inbox = Path::new("/in");
        assert_eq!(
            creator_for(inbox, Path::new("/in/ana/x.jpg"), None).as_deref(),
            Some("ana")
        );
        assert_eq!(creator_for(inbox, Path::new("/in/x.jpg"), None), None);
        assert_eq!(
            creator_for(inbox, Path::new("/in/x.jpg"), Some("bo")).as_deref(),
            Some("bo")
        );
    }
}
