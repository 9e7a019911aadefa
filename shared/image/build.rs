//! Refuses a build whose JPEG encoder lacks its SIMD code while the `simd-asm` feature asks for
//! it. mozjpeg's build silently falls back to plain C when it cannot find nasm on x86_64; the
//! result makes the same files several times slower, and a function built that way would be
//! shipped without anyone noticing. The check reads the `jconfig.h` mozjpeg-sys wrote.

use std::env;
use std::fs;
use std::path::PathBuf;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=DEP_JPEG_INCLUDE");
    let arch = env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default();
    // The architectures where libjpeg-turbo has SIMD code and mozjpeg-sys builds it.
    if !matches!(arch.as_str(), "x86_64" | "aarch64") {
        return;
    }
    let wanted = env::var_os("CARGO_FEATURE_SIMD_ASM").is_some();
    match jpeg_simd_built() {
        Some(true) => {}
        Some(false) if wanted => panic!(
            "\n\nThe JPEG encoder (mozjpeg-sys) was built without its SIMD code, which makes every \
             JPEG several times slower.\nOn x86_64 its build needs the nasm assembler: run \
             `scripts/build-tools` (or install nasm 2.14+ with your package manager), then \
             `cargo clean -p mozjpeg-sys` and build again.\nTo build the portable code on purpose, \
             turn off pictor-core's default `simd-asm` feature.\n\n"
        ),
        Some(false) => println!(
            "cargo:warning=portable build: the JPEG encoder has no SIMD code and AVIF no assembly"
        ),
        // mozjpeg-sys did not say where its configuration is: nothing to check.
        None => {}
    }
}

/// Whether mozjpeg-sys configured libjpeg-turbo `WITH_SIMD`, or `None` if its `jconfig.h` is
/// not where its `include` metadata says.
fn jpeg_simd_built() -> Option<bool> {
    let include = env::var_os("DEP_JPEG_INCLUDE")?;
    env::split_paths(&include)
        .map(|dir: PathBuf| dir.join("jconfig.h"))
        .find_map(|path| fs::read_to_string(path).ok())
        .map(|config| {
            config
                .lines()
                .any(|line| line.trim() == "#define WITH_SIMD 1")
        })
}
