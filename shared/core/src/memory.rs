//! How the process's allocator treats the large buffers pictures need.

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
