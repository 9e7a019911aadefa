//! `pictor reprocess`: a spec change regenerates exactly the stale assets, a second run does
//! nothing, and an original that is gone leaves its record alone.

use pictor_core::ports::{AssetStore, Expected};
use pictor_core::AssetId;
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const SMALL_SPEC: &str = r#"
[[variants]]
name = "small"
width = 200
format = "jpeg"
"#;

fn pictor(args: &[&str], paths: &[&Path]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_pictor"));
    cmd.args(args).args(paths);
    cmd.output().expect("pictor runs")
}

fn copy_fixture(dir: &Path, rel: &str, name: &str) -> PathBuf {
    let from = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata/images")
        .join(rel);
    let to = dir.join(name);
    std::fs::copy(from, &to).unwrap();
    to
}

fn assets(out: &Path) -> Vec<Value> {
    let output = pictor(&["assets", "list", "--json", "--out"], &[out]);
    assert!(output.status.success());
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn by_source<'a>(all: &'a [Value], name: &str) -> &'a Value {
    all.iter()
        .find(|a| a["source"].as_str().unwrap().ends_with(name))
        .unwrap_or_else(|| panic!("no asset for {name}"))
}

/// The dry-run listing: (reason, source file name) pairs.
fn planned(out: &Path, spec: &Path, extra: &[&str]) -> BTreeSet<(String, String)> {
    let mut args = vec!["reprocess", "--dry-run"];
    args.extend_from_slice(extra);
    args.extend(["--spec", spec.to_str().unwrap(), "--out"]);
    let output = pictor(&args, &[out]);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|line| {
            let fields: Vec<&str> = line.split('\t').collect();
            assert_eq!(fields.len(), 3, "reason, id, source: {line}");
            let name = Path::new(fields[2]).file_name().unwrap();
            (fields[0].to_string(), name.to_string_lossy().into_owned())
        })
        .collect()
}

fn set(items: &[(&str, &str)]) -> BTreeSet<(String, String)> {
    items
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

#[test]
fn a_spec_change_regenerates_exactly_the_stale_assets_once() {
    let dir = tempfile::tempdir().unwrap();
    let (src, out) = (dir.path().join("src"), dir.path().join("out"));
    std::fs::create_dir_all(&src).unwrap();
    let a = copy_fixture(&src, "photos/coffee.jpg", "a.jpg");
    let b = copy_fixture(&src, "photos/rocket.jpg", "b.jpg");
    let bad = copy_fixture(&src, "hostile/truncated.jpg", "bad.jpg");
    let later = copy_fixture(&src, "photos/astronaut.jpg", "later.jpg");
    let small = dir.path().join("small.toml");
    std::fs::write(&small, SMALL_SPEC).unwrap();

    // a, b and bad under the default spec; `later` under the new one.
    let first = pictor(&["process", "--out"], &[&out, &a, &b, &bad]);
    assert_eq!(first.status.code(), Some(2));
    let second = pictor(
        &["process", "--spec", small.to_str().unwrap(), "--out"],
        &[&out, &later],
    );
    assert_eq!(second.status.code(), Some(0));
    let before = assets(&out);
    let new_hash = by_source(&before, "later.jpg")["spec_hash"].clone();
    let old_hash = by_source(&before, "a.jpg")["spec_hash"].clone();
    assert_ne!(new_hash, old_hash);

    assert_eq!(
        planned(&out, &small, &[]),
        set(&[
            ("stale_spec", "a.jpg"),
            ("stale_spec", "b.jpg"),
            ("stale_spec", "bad.jpg"),
        ])
    );
    assert_eq!(
        planned(&out, &small, &["--status", "failed"]),
        set(&[("stale_spec", "bad.jpg")])
    );
    assert_eq!(
        planned(&out, &small, &["--prefix", a.to_str().unwrap()]),
        set(&[("stale_spec", "a.jpg")])
    );

    let run = pictor(
        &[
            "reprocess",
            "-j",
            "2",
            "--spec",
            small.to_str().unwrap(),
            "--out",
        ],
        &[&out],
    );
    let stderr = String::from_utf8_lossy(&run.stderr);
    // The truncated file fails again, so the run reports a failure.
    assert_eq!(run.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("2 ready"), "{stderr}");

    let after = assets(&out);
    for name in ["a.jpg", "b.jpg"] {
        let asset = by_source(&after, name);
        assert_eq!(asset["status"], "ready");
        assert_eq!(asset["spec_hash"], new_hash);
        let variants: Vec<&str> = asset["variants"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["name"].as_str().unwrap())
            .collect();
        assert_eq!(variants, ["small"], "{name}");
        let old = by_source(&before, name);
        assert_eq!(asset["version"], old["version"].as_u64().unwrap() + 1);
        // The old spec's files are gone; the new one is on disk.
        for v in old["variants"].as_array().unwrap() {
            assert!(!out.join(v["path"].as_str().unwrap()).exists());
        }
        assert!(out
            .join(asset["variants"][0]["path"].as_str().unwrap())
            .is_file());
    }
    let bad_after = by_source(&after, "bad.jpg");
    assert_eq!(bad_after["status"], "failed");
    assert_eq!(bad_after["spec_hash"], new_hash);
    // Not stale, not touched.
    assert_eq!(
        by_source(&after, "later.jpg"),
        by_source(&before, "later.jpg")
    );

    // Everything is current, and the failure was recorded by this release: nothing to do.
    assert_eq!(planned(&out, &small, &[]), set(&[]));
    let again = pictor(
        &["reprocess", "--spec", small.to_str().unwrap(), "--out"],
        &[&out],
    );
    assert_eq!(again.status.code(), Some(0));
    assert_eq!(assets(&out), after);
}

#[test]
fn failures_from_an_older_release_are_retried_and_a_gone_original_is_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let (src, out) = (dir.path().join("src"), dir.path().join("out"));
    std::fs::create_dir_all(&src).unwrap();
    let photo = copy_fixture(&src, "photos/coffee.jpg", "photo.jpg");
    let bad = copy_fixture(&src, "hostile/truncated.jpg", "bad.jpg");
    let run = pictor(
        &["process", "--creator", "ana", "--out"],
        &[&out, &photo, &bad],
    );
    assert_eq!(run.status.code(), Some(2));
    let default_spec = dir.path().join("default.toml");
    std::fs::write(&default_spec, "").unwrap();
    assert_eq!(planned(&out, &default_spec, &[]), set(&[]));

    // The failure as an older release recorded it.
    let bad_id =
        AssetId::parse(by_source(&assets(&out), "bad.jpg")["id"].as_str().unwrap()).unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    runtime.block_on(async {
        let store = pictor_core::local::SqliteAssetStore::open(&out.join("pictor.db")).unwrap();
        let mut record = store.get(&bad_id).await.unwrap().unwrap();
        let version = record.version;
        record.engine = Some("pictor-core/0.0.1".into());
        record.version += 1;
        store
            .put(&record, Expected::Version(version))
            .await
            .unwrap();
    });
    assert_eq!(
        planned(&out, &default_spec, &[]),
        set(&[("retry_failure", "bad.jpg")])
    );
    assert_eq!(planned(&out, &default_spec, &["--stale-spec"]), set(&[]));
    assert_eq!(planned(&out, &default_spec, &["--creator", "bo"]), set(&[]));

    // A spec change, but the photo's original is gone: its record and files stay.
    let small = dir.path().join("small.toml");
    std::fs::write(&small, SMALL_SPEC).unwrap();
    std::fs::remove_file(&photo).unwrap();
    let before = by_source(&assets(&out), "photo.jpg").clone();
    let run = pictor(
        &["reprocess", "--spec", small.to_str().unwrap(), "--out"],
        &[&out],
    );
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("is gone"), "{stderr}");
    assert!(stderr.contains("source_missing: 1"), "{stderr}");
    assert_eq!(by_source(&assets(&out), "photo.jpg"), &before);
    for v in before["variants"].as_array().unwrap() {
        assert!(out.join(v["path"].as_str().unwrap()).is_file());
    }
}
