//! The core's folders import only what ARCHITECTURE.md allows them: the tree is the
//! architecture only while these rules hold.

use std::path::{Path, PathBuf};

/// What each folder may not name, and why.
const RULES: &[(&str, &[&str])] = &[
    // The domain is the vocabulary: it knows no port, use case, router or adapter (its tests
    // may build sample records, which live beside the port suites).
    (
        "domain",
        &[
            "crate::app",
            "crate::http",
            "crate::local",
            "crate::ports::",
        ],
    ),
    // Ports are what the use cases need from the world, in the domain's words.
    ("ports", &["crate::app", "crate::http", "crate::local"]),
    // Use cases work through ports, never through a particular adapter or the router.
    ("app", &["crate::http", "crate::local"]),
    ("http", &["crate::local"]),
    // Local adapters implement ports; they run no use case and serve no route.
    ("local", &["crate::app", "crate::http"]),
];

/// Allowed exceptions to the rules above: test support only.
const ALLOWED: &[&str] = &["crate::ports::samples"];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn each_folder_imports_only_what_its_role_allows() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut broken = Vec::new();
    for (folder, forbidden) in RULES {
        let mut files = Vec::new();
        rust_files(&src.join(folder), &mut files);
        assert!(!files.is_empty(), "no sources under src/{folder}");
        for file in files {
            let text = std::fs::read_to_string(&file).unwrap();
            for (number, line) in text.lines().enumerate() {
                let named = forbidden
                    .iter()
                    .find(|f| line.contains(*f) && !ALLOWED.iter().any(|a| line.contains(a)));
                if let Some(named) = named {
                    broken.push(format!(
                        "{}:{}: names {named}",
                        file.strip_prefix(&src).unwrap().display(),
                        number + 1
                    ));
                }
            }
        }
    }
    assert!(
        broken.is_empty(),
        "imports against the layout:\n{}",
        broken.join("\n")
    );
}
