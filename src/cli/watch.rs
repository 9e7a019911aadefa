//! `pictor watch`: the event-driven model on one machine. A file is processed when its writer
//! closes it (or when it is moved in), never half-written; a file deleted or moved out leaves
//! a DELETED record; lost events (an overflowing kernel queue, a watcher error) make the
//! watcher look at the whole inbox again.

use super::parallel::{describe, Ingested};
use super::process::process_one;
use super::{inputs, load_presets, open_local, LocalIngestor, RunOptions, EXIT_OK};
use anyhow::Context;
use notify::event::{AccessKind, AccessMode, CreateKind, ModifyKind};
use notify::{EventKind, RecursiveMode, Watcher};
use pictor_core::app::reconcile::{ReconcileOptions, Reconciler};
use pictor_core::domain::presets::{Placement, PresetRoutes};
use pictor_core::ports::AssetStore;
use pictor_core::SourceLocation;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
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

/// What an inbox event asks of the watcher.
#[derive(Debug, PartialEq, Eq)]
enum Change {
    /// These paths changed: written and closed, moved in, deleted, or moved out. Each is
    /// converged to what the inbox holds now (ingested, or tombstoned when gone).
    Paths(Vec<PathBuf>),
    /// New folders: what landed in them before the recursive watch reached them (a creator's
    /// first upload: the folder and the file within moments) is processed now.
    Folders(Vec<PathBuf>),
    /// Events were lost (the kernel's queue overflowed): look at the whole inbox again.
    Rescan,
}

/// What a file event means. Half-written files are never read: a creation or a write counts
/// only when the writer closes the file.
fn change_of(event: notify::Event) -> Option<Change> {
    if event.need_rescan() {
        return Some(Change::Rescan);
    }
    let paths = match event.kind {
        EventKind::Access(AccessKind::Close(AccessMode::Write)) => event.paths,
        EventKind::Modify(ModifyKind::Name(_)) => event.paths,
        EventKind::Remove(_) => event.paths,
        EventKind::Create(CreateKind::Folder) => return Some(Change::Folders(event.paths)),
        _ => return None,
    };
    Some(Change::Paths(paths))
}

/// The preset and creator of a file by the folders it sits in below the inbox; a creator
/// given on the command line wins.
fn placement_for(
    routes: &PresetRoutes,
    inbox: &Path,
    path: &Path,
    fixed: Option<&str>,
) -> Placement {
    let relative = SourceLocation::File(path.to_path_buf())
        .below(&SourceLocation::File(inbox.to_path_buf()))
        .unwrap_or_default();
    let mut placement = routes.place(&relative);
    if let Some(c) = fixed {
        placement.creator = Some(c.to_string());
    }
    placement
}

pub async fn run(args: WatchArgs) -> anyhow::Result<u8> {
    let options = args.options;
    let inbox = args
        .inbox
        .canonicalize()
        .with_context(|| format!("inbox {} is not an existing folder", args.inbox.display()))?;
    let presets = load_presets(options.spec.as_deref())?;
    let routes = presets.routes().clone();
    let (converger, assets) =
        open_local(&options.out, presets, options.records.db.as_deref()).await?;
    let converger = Arc::new(converger);
    let out = options.out.canonicalize()?;

    let (tx, mut rx) = mpsc::unbounded_channel::<Change>();
    let event_tx = tx.clone();
    let mut watcher = notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
        let change = match res {
            Ok(event) => change_of(event),
            // A watcher error means events may be missing: never guess which.
            Err(e) => {
                tracing::warn!(error = %e, "file watcher error: rescanning the inbox");
                Some(Change::Rescan)
            }
        };
        if let Some(change) = change {
            let _ = event_tx.send(change);
        }
    })?;
    watcher.watch(&inbox, RecursiveMode::Recursive)?;
    // What changed while nobody was watching is not lost either.
    let _ = tx.send(Change::Rescan);
    eprintln!("watching {} (Ctrl-C to stop)", inbox.display());

    let permits = Arc::new(Semaphore::new(options.jobs()));
    loop {
        let change = tokio::select! {
            _ = tokio::signal::ctrl_c() => break,
            next = rx.recv() => match next {
                Some(c) => c,
                None => break,
            },
        };
        let paths = match change {
            Change::Paths(paths) => paths,
            // Files seen twice (here, then closed or moved in) are recognised the second time.
            Change::Folders(folders) => inputs::collect(&folders, &out),
            Change::Rescan => {
                rescan(&converger, &inbox).await;
                // Every file, again: new and changed ones are processed, the rest are
                // recognised as unchanged.
                inputs::collect(std::slice::from_ref(&inbox), &out)
            }
        };
        for path in paths {
            if !is_watched(&inbox, &out, &path) {
                continue;
            }
            // A path that is gone and was never recorded (a temporary file, a folder) needs
            // no tombstone: events here arrive in order, so no upload can be behind it.
            if !path.exists() {
                let id = SourceLocation::file(&path).asset_id();
                if matches!(assets.get(&id).await, Ok(None)) {
                    continue;
                }
            }
            let placement = placement_for(&routes, &inbox, &path, options.creator.as_deref());
            let converger = Arc::clone(&converger);
            let permit = Arc::clone(&permits).acquire_owned().await?;
            tokio::spawn(async move {
                let result = converge(&converger, &path, &placement).await;
                // Ignore a closed stdout: the record is written either way.
                let line = describe(&path.display().to_string(), &result);
                let _ = writeln!(std::io::stdout().lock(), "{line}");
                drop(permit);
            });
        }
    }
    // Let in-flight work finish and record its result before exiting.
    let _ = permits.acquire_many(options.jobs() as u32).await;
    Ok(EXIT_OK)
}

/// Whether `path` is an upload of the inbox: inside it, not hidden, not the output, not a
/// folder (a path that is gone may have been a file, and is converged).
fn is_watched(inbox: &Path, out: &Path, path: &Path) -> bool {
    let hidden = path
        .strip_prefix(inbox)
        .map(|rel| {
            rel.components()
                .any(|c| inputs::is_hidden(Path::new(c.as_os_str())))
        })
        .unwrap_or(true);
    !hidden && !path.starts_with(out) && !path.is_dir()
}

/// Attempts at one path before its error is reported: a concurrent write of the same asset
/// (two events for one file) or a busy database clears up on its own.
const ATTEMPTS: u32 = 5;

/// Converges one path's asset to the file as it is now, retrying transient failures.
async fn converge(converger: &LocalIngestor, path: &Path, placement: &Placement) -> Ingested {
    let mut attempt = 1;
    loop {
        let result = process_one(converger, path, placement).await;
        match &result {
            Err(e) if e.is_transient() && attempt < ATTEMPTS => {
                tracing::info!(path = %path.display(), error = %e, attempt, "retrying");
                tokio::time::sleep(Duration::from_millis(50 << attempt)).await;
                attempt += 1;
            }
            _ => return result,
        }
    }
}

/// After lost events: files deleted or moved out meanwhile are tombstoned (the records are
/// held to the inbox), and the rest is requeued by the caller.
async fn rescan(converger: &LocalIngestor, inbox: &Path) {
    // Only records and files are compared here: renditions are left to `pictor reconcile`,
    // whose grace period protects work in flight.
    let options = ReconcileOptions {
        dry_run: false,
        grace: time::Duration::days(36500),
        repair_for: None,
    };
    let root = SourceLocation::File(inbox.to_path_buf());
    match Reconciler::new(converger).run(&root, options).await {
        Ok(report) if report.gone > 0 => {
            eprintln!(
                "rescan of {}: {} deleted while unwatched",
                inbox.display(),
                report.gone
            );
        }
        Ok(_) => {}
        Err(e) => eprintln!("rescan of {} failed: {e}", inbox.display()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use notify::event::{Flag, RemoveKind, RenameMode};

    #[test]
    fn events_become_changes() {
        let path = PathBuf::from("/in/a.jpg");
        let event = |kind| notify::Event::new(kind).add_path(path.clone());
        let closed = event(EventKind::Access(AccessKind::Close(AccessMode::Write)));
        assert_eq!(change_of(closed), Some(Change::Paths(vec![path.clone()])));
        let removed = event(EventKind::Remove(RemoveKind::File));
        assert_eq!(change_of(removed), Some(Change::Paths(vec![path.clone()])));
        let moved_out = event(EventKind::Modify(ModifyKind::Name(RenameMode::From)));
        assert_eq!(
            change_of(moved_out),
            Some(Change::Paths(vec![path.clone()]))
        );
        // Still being written: not yet.
        assert_eq!(change_of(event(EventKind::Create(CreateKind::File))), None);
        let folder = event(EventKind::Create(CreateKind::Folder));
        assert_eq!(change_of(folder), Some(Change::Folders(vec![path.clone()])));
        let overflow = notify::Event::new(EventKind::Other).set_flag(Flag::Rescan);
        assert_eq!(change_of(overflow), Some(Change::Rescan));
    }

    #[test]
    fn creator_comes_from_the_first_folder() {
        let inbox = Path::new("/in");
        let routes = PresetRoutes::default();
        let creator =
            |path: &str, fixed| placement_for(&routes, inbox, Path::new(path), fixed).creator;
        assert_eq!(creator("/in/ana/x.jpg", None).as_deref(), Some("ana"));
        assert_eq!(creator("/in/x.jpg", None), None);
        assert_eq!(creator("/in/x.jpg", Some("bo")).as_deref(), Some("bo"));
    }
}
