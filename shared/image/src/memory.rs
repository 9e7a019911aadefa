//! How the process's allocator treats the large buffers pictures need.

use std::alloc::{GlobalAlloc, Layout, System};

/// glibc serves allocations up to this size from its heap; larger ones get their own mapping.
/// 32 MiB is the most it accepts, and setting it also stops glibc from moving the threshold.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const MMAP_THRESHOLD: libc::c_int = 32 << 20;
/// Free memory at the top of the heap that glibc keeps instead of returning it to the kernel.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const TRIM_THRESHOLD: libc::c_int = 1 << 30;

/// Keeps memory freed after one picture in the process for the next one.
///
/// By default glibc maps a large buffer (a decoded picture, a resize pass, an encoder's work
/// arrays) fresh from the kernel, unmaps it when freed, and hands back the heap's free top,
/// so each picture's buffers arrive as new zeroed pages, one fault per 4 KiB: on a 12 MP photo
/// about 19,000 faults and 60 ms of kernel time per picture, a tenth of its whole job. A
/// process that handles picture after picture (a function, `pictor process`, `pictor watch`)
/// keeps its high-water mark instead, which the next large picture reaches again anyway.
/// Other platforms keep their allocator's defaults.
pub fn reuse_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: mallopt only sets allocator parameters (under the allocator's own lock);
        // it touches no memory of ours. A refusal leaves glibc's defaults, which are correct.
        let (mapped, trimmed) = unsafe {
            (
                libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD),
                libc::mallopt(libc::M_TRIM_THRESHOLD, TRIM_THRESHOLD),
            )
        };
        if mapped != 1 || trimmed != 1 {
            tracing::debug!("the allocator kept its defaults for large buffers");
        }
    }
}

/// The system allocator, asking the kernel to back picture-sized buffers with huge pages.
///
/// A 12 MP photo's job touches about 85 MB of fresh memory (the decoded picture, the resize
/// pass, the variants). In 4 KiB pages that is over 20,000 page faults, a quarter of a
/// one-picture process's time; in 2 MiB pages it is a few dozen. Linux hands out huge pages
/// only where asked (`madvise`, most distributions' setting), so every allocation of at
/// least [`HUGE_PAGES_FROM`] is marked `MADV_HUGEPAGE` over the huge pages it spans. Smaller
/// ones, and platforms without the call, are the system allocator's alone.
///
/// It pays where the first picture is much of a process's work: the `pictor` CLI (often run
/// on one photo or a few, and it also calls [`reuse_freed_memory`] for the pictures after
/// the first) and the side-by-side bench. The functions handle picture after picture and
/// keep their memory with [`reuse_freed_memory`] alone: the marking would grow their package
/// for their first picture only. A binary opts in:
///
/// ```
/// #[global_allocator]
/// static ALLOCATOR: pictor_image::memory::PictureAllocator = pictor_image::memory::PictureAllocator;
/// # fn main() {
/// #     let picture = vec![0u8; 16 << 20];
/// #     assert_eq!(picture.len(), 16 << 20);
/// # }
/// ```
pub struct PictureAllocator;

/// The smallest allocation that is marked: it holds at least one whole 2 MiB huge page
/// wherever it starts.
pub const HUGE_PAGES_FROM: usize = 4 << 20;

// Not inlined: the allocator is called from thousands of places, and a copy of the size
// check at each would cost the function's package tens of KiB.
// SAFETY: every call is the system allocator's, with the caller's own arguments; the
// advice only changes how the kernel backs pages already handed out, never their contents.
unsafe impl GlobalAlloc for PictureAllocator {
    #[inline(never)]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded with the caller's guarantees.
        let ptr = unsafe { System.alloc(layout) };
        advise_huge_pages(ptr, layout.size());
        ptr
    }

    #[inline(never)]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded with the caller's guarantees.
        let ptr = unsafe { System.alloc_zeroed(layout) };
        advise_huge_pages(ptr, layout.size());
        ptr
    }

    #[inline(never)]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.dealloc(ptr, layout) }
    }

    #[inline(never)]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded with the caller's guarantees.
        let moved = unsafe { System.realloc(ptr, layout, new_size) };
        advise_huge_pages(moved, new_size);
        moved
    }
}

/// Marks the whole 2 MiB pages inside `len` bytes at `ptr` for huge pages. Best effort: a
/// kernel without them refuses, and the memory is then ordinary pages as before.
#[cfg(target_os = "linux")]
fn advise_huge_pages(ptr: *mut u8, len: usize) {
    const HUGE_PAGE: usize = 2 << 20;
    if ptr.is_null() || len < HUGE_PAGES_FROM {
        return;
    }
    let start = (ptr as usize).next_multiple_of(HUGE_PAGE);
    let end = (ptr as usize + len) / HUGE_PAGE * HUGE_PAGE;
    if end <= start {
        return;
    }
    // SAFETY: the range lies inside an allocation just handed out; MADV_HUGEPAGE changes
    // no contents. errno is put back so the caller of an allocation never sees it change.
    unsafe {
        let errno = *libc::__errno_location();
        libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_HUGEPAGE);
        *libc::__errno_location() = errno;
    }
}

#[cfg(not(target_os = "linux"))]
fn advise_huge_pages(_ptr: *mut u8, _len: usize) {}

#[cfg(all(test, target_os = "linux", target_env = "gnu"))]
mod tests {
    use super::*;

    /// Page faults of the calling thread so far.
    fn faults() -> i64 {
        let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
        // SAFETY: getrusage fills the struct it is given.
        let usage = unsafe {
            assert_eq!(libc::getrusage(libc::RUSAGE_THREAD, usage.as_mut_ptr()), 0);
            usage.assume_init()
        };
        usage.ru_minflt
    }

    /// A buffer the size of a 2.7 MP RGBA picture, written page by page.
    fn picture_buffer() {
        let mut pixels = vec![0u8; 11 << 20];
        for byte in pixels.iter_mut().step_by(4096) {
            *byte = 1;
        }
        std::hint::black_box(&pixels);
    }

    /// The address range of an smaps header line (`from-to perms ...`); `None` for the
    /// lines under it.
    fn mapping_range(line: &str) -> Option<std::ops::Range<usize>> {
        let (from, to) = line.split_once(' ')?.0.split_once('-')?;
        Some(usize::from_str_radix(from, 16).ok()?..usize::from_str_radix(to, 16).ok()?)
    }

    /// The `VmFlags` of the mapping that holds `address`, from the kernel's own account.
    fn vm_flags_at(address: usize) -> String {
        let smaps = std::fs::read_to_string("/proc/self/smaps").unwrap();
        let mut inside = false;
        for line in smaps.lines() {
            match (mapping_range(line), line.strip_prefix("VmFlags:")) {
                (Some(range), _) => inside = range.contains(&address),
                (None, Some(flags)) if inside => return flags.trim().to_string(),
                _ => {}
            }
        }
        panic!("no mapping holds {address:#x}");
    }

    /// Whether this kernel hands out transparent huge pages where a program asks for them.
    fn kernel_offers_huge_pages() -> bool {
        std::fs::read_to_string("/sys/kernel/mm/transparent_hugepage/enabled")
            .is_ok_and(|mode| !mode.contains("[never]"))
    }

    #[test]
    fn picture_sized_buffers_are_marked_for_huge_pages() {
        let layout = Layout::from_size_align(16 << 20, 1).unwrap();
        // SAFETY: a non-zero layout; the buffer is written inside its bounds and freed once.
        let flags = unsafe {
            let ptr = PictureAllocator.alloc_zeroed(layout);
            assert!(!ptr.is_null());
            ptr.add(8 << 20).write(7);
            let flags = vm_flags_at(ptr as usize + (8 << 20));
            PictureAllocator.dealloc(ptr, layout);
            flags
        };
        // "hg": the kernel's mark for MADV_HUGEPAGE. A kernel without huge pages refuses the
        // advice, and the buffer must work all the same (it was written above).
        assert_eq!(
            flags.split(' ').any(|f| f == "hg"),
            kernel_offers_huge_pages(),
            "VmFlags: {flags}"
        );
    }

    #[test]
    fn the_next_pictures_buffer_reuses_the_last_ones_pages() {
        reuse_freed_memory();
        picture_buffer();
        let before = faults();
        picture_buffer();
        let again = faults() - before;
        // Fresh pages would be 2,816 faults.
        assert!(
            again < 300,
            "{again} page faults for a buffer freed just before"
        );
    }
}
