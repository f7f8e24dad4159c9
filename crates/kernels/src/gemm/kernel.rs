//! The micro-kernel contract and the run-time choice between implementations.
//!
//! A micro-kernel computes one `MR × NR` tile of `C ← C₀ + A·B` from packed panels: `a` holds
//! `kc` steps of `MR` values (one column of the row panel per step), `b` holds `kc` steps of
//! `NR` values. `C₀` is the tile's current content when `accumulate` is set, zero otherwise.

/// Rows of a tile.
pub const MR: usize = 6;
/// Columns of a tile (two AVX vectors).
pub const NR: usize = 16;

/// Cache lines of the caller's `prefetch` hint a micro-kernel fetches ahead.
pub const PREFETCH_LINES: usize = 8;

/// A micro-kernel: `c[i·ldc + j] (+)= Σ_p a[p·MR + i] · b[p·NR + j]` for the full tile,
/// then `+ bias[j]` when `bias` is not null (added before the tile's one store).
///
/// `prefetch`, unless null, names data the caller will need soon (the next B panel): the
/// kernel may fetch [`PREFETCH_LINES`] cache lines from it. It is a hint and is never read.
///
/// # Safety
/// `a` must hold `kc·MR` values, `b` `kc·NR`, `bias` (unless null) `NR`, and `c` must be
/// valid for writes of `MR` rows of `NR` values at stride `ldc` (the caller passes a scratch
/// tile at the edges).
pub type KernelFn = unsafe fn(
    kc: usize,
    a: *const f32,
    b: *const f32,
    c: *mut f32,
    ldc: usize,
    accumulate: bool,
    prefetch: *const f32,
    bias: *const f32,
);

/// Which implementation runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Isa {
    /// AVX2 + FMA (x86-64).
    Avx2Fma,
    /// Plain Rust, any CPU.
    Portable,
}

/// The best kernel this CPU supports, detected once. Setting `VITRS_PORTABLE=1` in the
/// environment picks the portable kernels everywhere (to test them, or to compare).
pub fn detect() -> Isa {
    static CHOICE: std::sync::OnceLock<Isa> = std::sync::OnceLock::new();
    *CHOICE.get_or_init(|| {
        if std::env::var_os("VITRS_PORTABLE").is_some_and(|v| !v.is_empty() && v != "0") {
            return Isa::Portable;
        }
        #[cfg(target_arch = "x86_64")]
        if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
            return Isa::Avx2Fma;
        }
        Isa::Portable
    })
}

/// The kernel function for `isa`.
pub fn kernel(isa: Isa) -> KernelFn {
    match isa {
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2Fma => super::avx2::kernel_6x16,
        #[cfg(not(target_arch = "x86_64"))]
        Isa::Avx2Fma => super::portable::kernel,
        Isa::Portable => super::portable::kernel,
    }
}
