//! The worker pool that GEMM and attention split their work over.

use std::sync::OnceLock;

static POOL: OnceLock<rayon::ThreadPool> = OnceLock::new();

/// Number of cores the machine offers (at least 1), asked once: the question reads cgroup
/// files, too slow (and allocating) to repeat on every GEMM.
pub fn available() -> usize {
    static CORES: OnceLock<usize> = OnceLock::new();
    *CORES.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// Sets the number of worker threads. Only the first call takes effect; later calls return
/// the size already in use.
pub fn init(threads: usize) -> usize {
    pool_with(threads.max(1)).current_num_threads()
}

fn pool_with(threads: usize) -> &'static rayon::ThreadPool {
    POOL.get_or_init(|| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(|i| format!("vitrs-worker-{i}"))
            .build()
            .expect("failed to start worker threads")
    })
}

/// The pool (started with one thread per core if [`init`] was not called).
pub fn pool() -> &'static rayon::ThreadPool {
    match POOL.get() {
        Some(pool) => pool,
        None => pool_with(available()),
    }
}

/// Number of threads in the pool.
pub fn current() -> usize {
    pool().current_num_threads()
}
