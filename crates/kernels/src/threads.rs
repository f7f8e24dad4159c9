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

/// The FMA peak of `isa` over all the pool's workers at once, in GFLOP/s: each worker runs
/// twelve independent chains of `isa`'s widest FMA (enough for two pipes of latency 4–5),
/// about 4 GFLOP each; the best of three rounds. `gflops / peak` is a kernel's efficiency.
pub fn peak_gflops(isa: crate::gemm::Isa) -> Result<f64, crate::gemm::IsaError> {
    isa.check()?;
    let iters = 4_000_000_000
        / (24 * isa.lanes())
        / if isa == crate::gemm::Isa::Emulated16 {
            20
        } else {
            1
        };
    let mut best = 0.0f64;
    for _ in 0..3 {
        // SAFETY: the ISA is supported (checked above).
        let each = pool().broadcast(|_| unsafe { crate::dispatch::fma_gflops(isa, iters) });
        best = best.max(each.iter().sum());
    }
    Ok(best)
}
