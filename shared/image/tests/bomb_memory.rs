//! Decompression bombs are refused from their header, before any pixel buffer is allocated.
//! Its own test binary so the counting allocator sees nothing else.

use pictor_image::{ErrorKind, Pipeline, Spec};
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

struct Counting;
static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let now = CURRENT.fetch_add(layout.size(), Ordering::SeqCst) + layout.size();
        PEAK.fetch_max(now, Ordering::SeqCst);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        CURRENT.fetch_sub(layout.size(), Ordering::SeqCst);
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

#[test]
fn bombs_are_rejected_without_allocating_their_pixels() {
    let dir =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/images/hostile");
    let pipeline = Pipeline::new(Spec::default()).unwrap();
    for (file, declared_bytes) in [
        ("bomb.png", 10_000u64 * 10_000),
        ("huge-header.png", 100_000 * 100_000 * 4),
    ] {
        let bytes = std::fs::read(dir.join(file)).unwrap();
        let baseline = CURRENT.load(Ordering::SeqCst);
        PEAK.store(baseline, Ordering::SeqCst);
        let err = pipeline.process(&bytes, None).unwrap_err();
        let extra = PEAK.load(Ordering::SeqCst) - baseline;
        assert_eq!(err.kind, ErrorKind::TooLarge, "{file}: {err}");
        assert!(
            (extra as u64) < 4 << 20,
            "{file}: peaked at {extra} bytes while refusing a {declared_bytes}-byte image"
        );
    }
}
