//! The worker pool that GEMM and attention split their work over.
//!
//! The pool belongs to the process that started it. A forked child (Python's
//! `multiprocessing`, Spark's workers) inherits the pool's bookkeeping but not its threads,
//! so work sent there would wait forever; [`pool`] notices the new process id and starts a
//! fresh pool of the same size in the child.

use std::sync::atomic::{AtomicPtr, Ordering};
use std::sync::OnceLock;

/// A pool and the process that started it.
struct Owned {
    pid: u32,
    pool: rayon::ThreadPool,
}

/// The current process's pool, or null before the first use. Every pointer stored here comes
/// from `Box::leak` and is never freed (a forked child's stale pool is leaked, not dropped:
/// its threads do not exist there).
static POOL: AtomicPtr<Owned> = AtomicPtr::new(std::ptr::null_mut());

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

/// The pool of the pointer stored in [`POOL`], if any.
fn stored() -> Option<&'static Owned> {
    let p = POOL.load(Ordering::Acquire);
    // SAFETY: non-null pointers in POOL come from Box::leak and are never freed, so they are
    // valid for 'static and only ever shared immutably.
    (!p.is_null()).then(|| unsafe { &*p })
}

/// This process's pool, started with `threads` workers if there is none yet (or, in a forked
/// child, with as many as the parent's).
fn pool_with(threads: usize) -> &'static rayon::ThreadPool {
    let pid = std::process::id();
    loop {
        let current = stored();
        let threads = match current {
            Some(owned) if owned.pid == pid => return &owned.pool,
            Some(inherited) => inherited.pool.current_num_threads(),
            None => threads,
        };
        let fresh = Box::into_raw(Box::new(Owned {
            pid,
            pool: rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .thread_name(|i| format!("vitrs-worker-{i}"))
                .build()
                .expect("failed to start worker threads"),
        }));
        let expected = current.map_or(std::ptr::null_mut(), |o| o as *const Owned as *mut Owned);
        match POOL.compare_exchange(expected, fresh, Ordering::AcqRel, Ordering::Acquire) {
            Ok(_) => {}
            // SAFETY: `fresh` was never published, so this thread owns it alone.
            Err(_) => drop(unsafe { Box::from_raw(fresh) }),
        }
    }
}

/// The pool (started with one thread per core if [`init`] was not called).
pub fn pool() -> &'static rayon::ThreadPool {
    pool_with(available())
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
