//! The `pictor` binary end to end: exit codes, files on disk, JSON contract, idempotency and
//! the inbox watcher.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn pictor() -> Command {
    Command::new(env!("CARGO_BIN_EXE_pictor"))
}

fn testdata(rel: &str) -> PathBuf {
    pictor_core::ports::samples::testdata(&format!("images/{rel}"))
}

fn run(cmd: &mut Command) -> Output {
    cmd.output().expect("pictor runs")
}

fn assert_succeeded(output: &Output) {
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

fn list_json(out: &Path, extra: &[&str]) -> Vec<Value> {
    let output = run(pictor()
        .args(["assets", "list", "--json", "--out"])
        .arg(out)
        .args(extra));
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect()
}

#[test]
fn processing_testdata_records_every_input_and_exits_2_for_failures() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let output = run(pictor()
        .args(["process", "--jobs", "2", "--creator", "ana", "--out"])
        .arg(&out)
        .arg(testdata("")));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    let hostile_files = walk(&testdata("hostile")).len();
    assert!(hostile_files >= 17, "the hostile fixtures are missing");
    assert!(
        stderr.contains(&format!("{hostile_files} failed")),
        "{stderr}"
    );

    let inputs = walk(&testdata(""));
    let assets = list_json(&out, &[]);
    assert_eq!(assets.len(), inputs.len(), "one record per input");
    for a in &assets {
        for key in [
            "id", "source", "status", "error", "width", "height", "format", "variants",
        ] {
            assert!(a.get(key).is_some(), "missing {key} in {a}");
        }
        let source = a["source"].as_str().unwrap();
        let hostile = source.contains("/hostile/");
        if hostile {
            assert_eq!(a["status"], "failed", "{source}");
            assert!(a["error"]["kind"].is_string() && a["error"]["message"].is_string());
            assert!(a["variants"].as_array().unwrap().is_empty());
        } else {
            assert_eq!(a["status"], "ready", "{source}: {}", a["error"]);
            assert_eq!(a["error"], Value::Null);
            assert_eq!(a["creator"], "ana");
            let variants = a["variants"].as_array().unwrap();
            assert_eq!(variants.len(), 8);
            for v in variants {
                let path = out.join(v["path"].as_str().unwrap());
                assert_eq!(
                    std::fs::metadata(&path).unwrap().len(),
                    v["bytes"].as_u64().unwrap()
                );
                let expected = format!(
                    "renditions/{}/{}-",
                    a["id"].as_str().unwrap(),
                    v["name"].as_str().unwrap()
                );
                assert!(v["path"].as_str().unwrap().starts_with(&expected));
            }
        }
    }
    let failed = list_json(&out, &["--status", "failed"]);
    assert_eq!(failed.len(), hostile_files);
    let kinds: std::collections::BTreeSet<&str> = failed
        .iter()
        .map(|a| a["error"]["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        ["corrupt", "too_large", "unsupported"]
            .into_iter()
            .collect()
    );

    // Again: same ids, no duplicates, unchanged sources not reprocessed.
    let output = run(pictor()
        .args(["process", "--creator", "ana", "--out"])
        .arg(&out)
        .arg(testdata("")));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!("({} unchanged)", inputs.len() - hostile_files)),
        "{stderr}"
    );
    let again = list_json(&out, &[]);
    assert_eq!(again.len(), assets.len());

    // A reader that stops early (`| head -1`) is not an error and not a panic.
    let mut child = pictor()
        .args(["assets", "list", "--out"])
        .arg(&out)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(0));
    assert!(!String::from_utf8_lossy(&output.stderr).contains("panicked"));

    // `get` shows one asset; an unknown id is an error.
    let id = assets[0]["id"].as_str().unwrap();
    let output = run(pictor()
        .args(["assets", "get", "--json", "--out"])
        .arg(&out)
        .arg(id));
    let one: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(one["id"], id);
    let output = run(pictor()
        .args(["assets", "get", "--out"])
        .arg(&out)
        .arg("0".repeat(32)));
    assert_eq!(output.status.code(), Some(1));
    let output = run(pictor()
        .args(["assets", "get", "--out"])
        .arg(&out)
        .arg("../x"));
    assert_eq!(output.status.code(), Some(1));
}

/// Every file under `dir`. Entries removed while it looks (a watcher at work) are skipped.
fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return files;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}

#[test]
fn good_inputs_exit_0_and_filters_work() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let output = run(pictor()
        .args(["process", "--creator", "bo", "--out"])
        .arg(&out)
        .arg(testdata("photos/coffee.jpg")));
    assert_succeeded(&output);
    let output = run(pictor()
        .args(["process", "--out"])
        .arg(&out)
        .arg(testdata("png")));
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(list_json(&out, &["--creator", "bo"]).len(), 1);
    assert_eq!(list_json(&out, &["--status", "ready"]).len(), 5);
    assert_eq!(list_json(&out, &["--limit", "2"]).len(), 2);
    let coffee = &list_json(&out, &["--creator", "bo"])[0];
    assert_eq!(
        (coffee["width"].as_u64(), coffee["height"].as_u64()),
        (Some(600), Some(400))
    );
    assert_eq!(coffee["format"], "jpeg");
}

#[test]
fn usage_errors_exit_1_with_a_message() {
    let dir = tempfile::tempdir().unwrap();
    let spec = dir.path().join("bad.toml");
    std::fs::write(
        &spec,
        "[[variants]]\nname = 'x'\nwidth = 0\nformat = 'jpeg'\n",
    )
    .unwrap();
    let output = run(pictor()
        .args(["process", "--spec"])
        .arg(&spec)
        .arg("--out")
        .arg(dir.path().join("o"))
        .arg(testdata("photos")));
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("width and height must be between"));
    // No inputs, unknown flags: usage errors, also 1 (2 means "some input failed").
    let output = run(pictor().args(["process", "--out"]).arg(dir.path()));
    assert_eq!(output.status.code(), Some(1));
    let output = run(pictor().args(["process", "--frobnicate"]));
    assert_eq!(output.status.code(), Some(1));
    assert!(run(pictor().arg("--help")).status.success());
}

#[test]
fn a_missing_input_fails_the_run_and_is_recorded_as_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let output = run(pictor()
        .args(["process", "--out"])
        .arg(&out)
        .arg(dir.path().join("nope.jpg"))
        .arg(testdata("photos/rocket.jpg")));
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("does not exist"));
    // The file system is the truth: what is not there is a DELETED asset, not a failure.
    assert_eq!(list_json(&out, &["--status", "deleted"]).len(), 1);
    assert!(list_json(&out, &["--status", "failed"]).is_empty());
    assert_eq!(list_json(&out, &["--status", "ready"]).len(), 1);
}

struct Child(std::process::Child);
impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `pictor watch --out OUT INBOX`, stopped when dropped.
fn watch(out: &Path, inbox: &Path) -> Child {
    Child(
        pictor()
            .args(["watch", "--out"])
            .arg(out)
            .arg(inbox)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    )
}

fn wait_for(out: &Path, what: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let assets = if out.join("pictor.db").exists() {
            list_json(out, &[])
        } else {
            Vec::new()
        };
        if what(&assets) {
            return assets;
        }
        assert!(
            Instant::now() < deadline,
            "timed out; assets so far: {assets:?}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// A creator's first upload makes their folder and the file in it within moments, before the
/// recursive watch has reached the new folder: the file is processed all the same.
#[test]
fn watch_processes_files_moved_into_a_folder_it_has_just_seen_made() {
    let dir = tempfile::tempdir().unwrap();
    let inbox = dir.path().join("inbox");
    let out = dir.path().join("out");
    std::fs::create_dir_all(&inbox).unwrap();
    let staging = dir.path().join("staging");
    std::fs::create_dir_all(&staging).unwrap();
    let _child = watch(&out, &inbox);
    // The first record says the watcher is up.
    std::fs::copy(testdata("photos/rocket.jpg"), inbox.join("first.jpg")).unwrap();
    wait_for(&out, |a| a.len() == 1);
    let creators = ["ana", "bo", "cy", "di", "ed", "flo", "gus", "hal"];
    for creator in creators {
        let staged = staging.join(format!("{creator}.jpg"));
        std::fs::copy(testdata("photos/coffee.jpg"), &staged).unwrap();
        std::fs::create_dir(inbox.join(creator)).unwrap();
        std::fs::rename(&staged, inbox.join(creator).join("first-upload.jpg")).unwrap();
    }
    let assets = wait_for(&out, |a| a.len() == 1 + creators.len());
    for creator in creators {
        assert!(
            assets
                .iter()
                .any(|a| a["creator"] == creator && a["status"] == "ready"),
            "{creator}'s upload"
        );
    }
}

#[test]
fn watch_processes_files_as_they_land_and_never_half_written() {
    let dir = tempfile::tempdir().unwrap();
    let inbox = dir.path().join("inbox");
    let out = dir.path().join("out");
    std::fs::create_dir_all(inbox.join("ana")).unwrap();
    // Already there before the watcher starts: not lost.
    std::fs::copy(testdata("photos/rocket.jpg"), inbox.join("early.jpg")).unwrap();
    let _child = watch(&out, &inbox);
    wait_for(&out, |a| {
        a.iter().any(|x| {
            x["source"]
                .as_str()
                .is_some_and(|s| s.ends_with("early.jpg"))
        })
    });

    // A slow writer: half the file, a pause, the rest. Must not be read in between.
    let bytes = std::fs::read(testdata("photos/coffee.jpg")).unwrap();
    {
        use std::io::Write;
        let mut f = std::fs::File::create(inbox.join("ana/slow.jpg")).unwrap();
        f.write_all(&bytes[..bytes.len() / 2]).unwrap();
        f.flush().unwrap();
        std::thread::sleep(Duration::from_millis(1500));
        f.write_all(&bytes[bytes.len() / 2..]).unwrap();
    }
    // Moved in from elsewhere (the way careful uploaders deliver).
    let staged = dir.path().join("staged.png");
    std::fs::copy(testdata("png/alpha.png"), &staged).unwrap();
    std::fs::rename(&staged, inbox.join("moved.png")).unwrap();
    // Junk is recorded as failed, and the watcher carries on.
    std::fs::write(inbox.join("notes.jpg"), b"not an image").unwrap();

    let assets = wait_for(&out, |a| a.len() == 4);
    let by_name = |n: &str| {
        assets
            .iter()
            .find(|a| a["source"].as_str().unwrap().ends_with(n))
            .unwrap_or_else(|| panic!("{n} not recorded"))
            .clone()
    };
    let slow = by_name("slow.jpg");
    assert_eq!(slow["status"], "ready", "{slow}");
    assert_eq!(slow["creator"], "ana");
    assert_eq!(by_name("moved.png")["status"], "ready");
    assert_eq!(by_name("notes.jpg")["error"]["kind"], "unsupported");

    let moved_id = by_name("moved.png")["id"].as_str().unwrap().to_string();
    let moved_renditions = || {
        walk(&out.join("renditions"))
            .iter()
            .filter(|p| p.to_string_lossy().contains(&moved_id))
            .count()
    };
    assert!(moved_renditions() > 0, "moved.png had renditions");

    // Deleted, and moved out of the inbox: both assets end DELETED, renditions gone. A
    // DELETED record keeps no name of the picture: they are known by their ids.
    let notes_id = by_name("notes.jpg")["id"].as_str().unwrap().to_string();
    let ids = [("notes.jpg", notes_id), ("moved.png", moved_id.clone())];
    std::fs::remove_file(inbox.join("notes.jpg")).unwrap();
    std::fs::rename(inbox.join("moved.png"), dir.path().join("taken.png")).unwrap();
    let status = |assets: &[Value], n: &str| {
        let id = &ids.iter().find(|(name, _)| *name == n).unwrap().1;
        assets
            .iter()
            .find(|a| a["id"] == id.as_str())
            .map(|a| a["status"].clone())
    };
    // The tombstone is written before the renditions it no longer references are removed
    // (a crash in between is the reconciler's to repair), so both are waited for.
    let assets = wait_for(&out, |a| {
        status(a, "notes.jpg") == Some("deleted".into())
            && status(a, "moved.png") == Some("deleted".into())
            && moved_renditions() == 0
    });
    assert_eq!(status(&assets, "moved.png"), Some("deleted".into()));
}

/// The events a local run appended, as (type, id) pairs.
fn events(out: &Path) -> Vec<(String, String)> {
    std::fs::read_to_string(out.join("events.ndjson"))
        .unwrap_or_default()
        .lines()
        .map(|l| {
            let e: Value = serde_json::from_str(l).unwrap();
            assert_eq!(e["source"], "pictor");
            (
                e["detail-type"].as_str().unwrap().to_string(),
                e["detail"]["id"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn presets_follow_the_folder_and_every_state_is_an_event() {
    let dir = tempfile::tempdir().unwrap();
    let inbox = dir.path().join("inbox");
    let out = dir.path().join("out");
    std::fs::create_dir_all(inbox.join("avatars/ana")).unwrap();
    std::fs::create_dir_all(inbox.join("bo")).unwrap();
    let spec = dir.path().join("pictor.toml");
    std::fs::write(
        &spec,
        r#"
        [[variants]]
        name = "md"
        width = 300
        format = "jpeg"
        [presets.avatars]
        prefix = "avatars/"
        [[presets.avatars.variants]]
        name = "s64"
        width = 64
        height = 64
        fit = "cover"
        format = "webp"
        [[presets.avatars.variants]]
        name = "s128"
        width = 128
        height = 128
        fit = "cover"
        format = "webp"
        "#,
    )
    .unwrap();
    std::fs::copy(
        testdata("photos/astronaut.jpg"),
        inbox.join("avatars/ana/me.jpg"),
    )
    .unwrap();
    std::fs::copy(testdata("photos/rocket.jpg"), inbox.join("bo/trip.jpg")).unwrap();
    std::fs::write(inbox.join("bo/notes.jpg"), b"not an image").unwrap();
    let _child = Child(
        pictor()
            .args(["watch", "--spec"])
            .arg(&spec)
            .arg("--out")
            .arg(&out)
            .arg(&inbox)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let assets = wait_for(&out, |a| a.len() == 3);
    let by_name = |n: &str| {
        assets
            .iter()
            .find(|a| a["source"].as_str().unwrap().ends_with(n))
            .unwrap_or_else(|| panic!("{n} not recorded"))
            .clone()
    };
    let avatar = by_name("me.jpg");
    assert_eq!(avatar["preset"], "avatars");
    assert_eq!(
        avatar["creator"], "ana",
        "the folder after the preset's names the creator"
    );
    let sizes: Vec<_> = avatar["variants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| (v["width"].as_u64().unwrap(), v["height"].as_u64().unwrap()))
        .collect();
    assert_eq!(sizes, [(64, 64), (128, 128)]);
    let post = by_name("trip.jpg");
    assert_eq!(post["preset"], "default");
    assert_eq!(post["creator"], "bo");
    assert_eq!(post["variants"].as_array().unwrap().len(), 1);
    assert_ne!(avatar["spec_hash"], post["spec_hash"]);

    let id = |n: &str| by_name(n)["id"].as_str().unwrap().to_string();
    let deadline = Instant::now() + Duration::from_secs(30);
    while events(&out).len() < 3 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    let seen = events(&out);
    assert!(
        seen.contains(&("AssetReady".into(), id("me.jpg"))),
        "{seen:?}"
    );
    assert!(
        seen.contains(&("AssetReady".into(), id("trip.jpg"))),
        "{seen:?}"
    );
    assert!(
        seen.contains(&("AssetFailed".into(), id("notes.jpg"))),
        "{seen:?}"
    );

    std::fs::remove_file(inbox.join("avatars/ana/me.jpg")).unwrap();
    wait_for(&out, |a| {
        a.iter()
            .any(|x| x["id"] == id("me.jpg").as_str() && x["status"] == "deleted")
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    while !events(&out).contains(&("AssetDeleted".into(), id("me.jpg"))) {
        assert!(
            Instant::now() < deadline,
            "no AssetDeleted: {:?}",
            events(&out)
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn what_changed_while_unwatched_is_converged_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let inbox = dir.path().join("inbox");
    let out = dir.path().join("out");
    std::fs::create_dir_all(&inbox).unwrap();
    std::fs::copy(testdata("photos/rocket.jpg"), inbox.join("kept.jpg")).unwrap();
    std::fs::copy(testdata("photos/coffee.jpg"), inbox.join("gone.jpg")).unwrap();
    let output = run(pictor().args(["process", "--out"]).arg(&out).arg(&inbox));
    assert_eq!(output.status.code(), Some(0));
    let processed = wait_for(&out, |a| a.len() == 2);
    let gone_id = processed
        .iter()
        .find(|a| a["source"].as_str().unwrap().ends_with("gone.jpg"))
        .unwrap()["id"]
        .clone();
    // Deleted while no watcher ran: its event is lost for good.
    std::fs::remove_file(inbox.join("gone.jpg")).unwrap();
    let _child = watch(&out, &inbox);
    let assets = wait_for(&out, |a| a.iter().any(|x| x["status"] == "deleted"));
    let gone = assets.iter().find(|a| a["status"] == "deleted").unwrap();
    assert_eq!(gone["id"], gone_id);
    assert!(
        gone["source"].is_null(),
        "a tombstone keeps no name: {gone}"
    );
    assert_eq!(assets.iter().filter(|a| a["status"] == "ready").count(), 1);
}

/// `--db`: a local run's records in PostgreSQL, read back by `assets` from the database alone;
/// a database that is not PostgreSQL is refused before any work.
#[tokio::test]
async fn a_run_keeps_its_records_in_postgres_when_asked() {
    let db = pictor_postgres::testing::fresh_database().await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let output = run(pictor()
        .args(["process", "--creator", "ana", "--db", &db, "--out"])
        .arg(&out)
        .arg(testdata("photos/coffee.jpg"))
        .arg(testdata("hostile/truncated.jpg")));
    assert_eq!(
        output.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(!out.join("pictor.db").exists());

    let listed = run(pictor().args(["assets", "list", "--json", "--db", &db]));
    assert!(
        listed.status.success(),
        "{}",
        String::from_utf8_lossy(&listed.stderr)
    );
    let mut statuses: Vec<String> = String::from_utf8(listed.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap()["status"].to_string())
        .collect();
    statuses.sort();
    assert_eq!(statuses, ["\"failed\"", "\"ready\""]);

    let refused = run(pictor()
        .args(["process", "--db", "mysql://somewhere/pictor", "--out"])
        .arg(&out)
        .arg(testdata("photos/coffee.jpg")));
    assert_eq!(refused.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("postgres://"));
}

#[test]
fn a_perceptual_target_is_kept_on_the_record_with_each_renditions_quality() {
    let dir = tempfile::tempdir().unwrap();
    let spec = dir.path().join("pictor.toml");
    std::fs::write(
        &spec,
        "[[variants]]\nname = \"lg\"\nwidth = 480\nformat = \"webp\"\nquality = { ssimulacra2 = 75 }\n\
         [[variants]]\nname = \"md\"\nwidth = 240\nformat = \"jpeg\"\n",
    )
    .unwrap();
    let out = dir.path().join("out");
    let output = run(pictor()
        .arg("process")
        .arg("--spec")
        .arg(&spec)
        .arg("--out")
        .arg(&out)
        .arg(testdata("photos/coffee.jpg")));
    assert_succeeded(&output);
    let asset = &list_json(&out, &[])[0];
    let variants = asset["variants"].as_array().unwrap();
    let lg = variants.iter().find(|v| v["name"] == "lg").unwrap();
    assert!(lg["ssimulacra2"].as_f64().unwrap() >= 75.0, "{lg}");
    assert!(lg["quality"].as_u64().is_some(), "{lg}");
    let md = variants.iter().find(|v| v["name"] == "md").unwrap();
    assert!(
        md.get("ssimulacra2").is_none() && md.get("quality").is_none(),
        "{md}"
    );
}
