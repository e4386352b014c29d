//! glibc malloc settings that keep the process's memory close to what it
//! uses, set once at start by the binary ([`tune`]).
//!
//! Two glibc defaults made the sink's peak RSS grow with the number of
//! partitions although its live memory does not (BENCHMARKS.md, sink
//! memory): up to `8 x cores` arenas, one per thread that allocates (tokio
//! workers and blocking-pool threads), each keeping its freed memory; and a
//! *dynamic* mmap threshold that rises to the size of each large block freed
//! (a 5 MiB upload part), after which such blocks come from the arenas and
//! stay there. With the threshold fixed at 128 KiB (glibc's starting value)
//! large buffers go back to the system when freed, and the arena count is
//! capped at the number of cores: 100 partitions went from 67 to 45 MiB
//! peak, 1 partition stayed at 41 MiB.
//!
//! `MALLOC_ARENA_MAX` and `MALLOC_MMAP_THRESHOLD_` in the environment win:
//! a value set there is left alone. Other platforms and allocators: no-op.

/// The fixed mmap threshold, bytes.
pub const MMAP_THRESHOLD: usize = 128 * 1024;

/// Apply the settings (see the module docs). Call before other threads
/// start.
pub fn tune() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        if std::env::var_os("MALLOC_MMAP_THRESHOLD_").is_none() {
            // SAFETY: mallopt only changes allocator parameters; called
            // before other threads exist.
            unsafe { libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD as libc::c_int) };
        }
        if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
            let arenas = libc::c_int::try_from(cores.max(2)).unwrap_or(libc::c_int::MAX);
            // SAFETY: as above.
            unsafe { libc::mallopt(libc::M_ARENA_MAX, arenas) };
        }
    }
}
