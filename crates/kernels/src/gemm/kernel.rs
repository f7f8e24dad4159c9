//! The micro-kernel contract, the instruction sets, and the run-time choice between them.
//!
//! A micro-kernel computes one `MR × nr` tile of `C ← C₀ + A·B` from packed panels: `a` holds
//! `kc` steps of `MR` values (one column of the row panel per step), `b` holds `kc` steps of
//! `nr` values. `C₀` is the tile's current content when `accumulate` is set, zero otherwise.
//! `nr` and the packing depth `kc` are the ISA's [`Layout`].

use std::fmt;
use std::str::FromStr;
use std::sync::OnceLock;

/// Rows of a tile (every ISA: the packed-X layout is the same for all of them).
pub const MR: usize = 6;
/// Columns of a tile of the AVX2 and portable kernels (two AVX vectors).
pub const NR: usize = 16;
/// The widest tile any kernel uses (AVX-512: four 16-lane vectors).
pub const NR_MAX: usize = 64;

/// Cache lines of the caller's `prefetch` hint a micro-kernel fetches ahead.
pub const PREFETCH_LINES: usize = 8;

/// A micro-kernel: `c[i·ldc + j] (+)= Σ_p a[p·MR + i] · b[p·nr + j]` for the full tile,
/// then `+ bias[j]` when `bias` is not null (added before the tile's one store).
///
/// `prefetch`, unless null, names data the caller will need soon (the next B panel): the
/// kernel may fetch [`PREFETCH_LINES`] cache lines from it. It is a hint and is never read.
///
/// # Safety
/// `a` must hold `kc·MR` values, `b` `kc·nr`, `bias` (unless null) `nr`, and `c` must be
/// valid for writes of `MR` rows of `nr` values at stride `ldc` (the caller passes a scratch
/// tile at the edges). The kernel's ISA must be present.
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

/// How an ISA's kernel wants `B` packed: `nr`-wide panels, `kc` deep blocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Layout {
    /// Columns of a panel (and of a tile).
    pub nr: usize,
    /// Depth of a packed block.
    pub kc: usize,
}

/// Which implementation runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Isa {
    /// AVX-512F (x86-64): 16 lanes, `6 × 64` tiles.
    Avx512,
    /// AVX2 + FMA (x86-64): 8 lanes, `6 × 16` tiles.
    Avx2Fma,
    /// Sixteen lanes emulated with plain arrays: the AVX-512 path's generic code (tiles,
    /// edges, packing, vector maths) on any CPU, for tests. Slow.
    Emulated16,
    /// Plain Rust, any CPU.
    Portable,
}

/// An ISA asked for (`VITRS_ISA`, [`force`]) that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IsaError {
    /// Not a name this build knows.
    #[error("VITRS_ISA={found:?} is not an ISA; expected one of avx512, avx2, portable, emu16")]
    Unknown {
        /// The value found.
        found: String,
    },
    /// The CPU lacks the features.
    #[error("the {isa} kernels were asked for (VITRS_ISA) but this CPU lacks {missing}; it supports: {supported}")]
    Unsupported {
        /// The ISA asked for.
        isa: Isa,
        /// The features missing.
        missing: &'static str,
        /// What this CPU can run, best first.
        supported: String,
    },
    /// [`force`] came after the kernels had been chosen.
    #[error(
        "the kernels were already chosen ({chosen}); {wanted} must be forced before the first use"
    )]
    AlreadyChosen {
        /// The ISA in use.
        chosen: Isa,
        /// The ISA asked for.
        wanted: Isa,
    },
}

impl Isa {
    /// Every ISA, best first.
    pub const ALL: [Isa; 4] = [Isa::Avx512, Isa::Avx2Fma, Isa::Emulated16, Isa::Portable];

    /// The name `VITRS_ISA` takes.
    pub fn name(self) -> &'static str {
        match self {
            Isa::Avx512 => "avx512",
            Isa::Avx2Fma => "avx2",
            Isa::Emulated16 => "emu16",
            Isa::Portable => "portable",
        }
    }

    /// Vector lanes of the ISA (1 for the portable kernels).
    pub fn lanes(self) -> usize {
        match self {
            Isa::Avx512 | Isa::Emulated16 => 16,
            Isa::Avx2Fma => 8,
            Isa::Portable => 1,
        }
    }

    /// The packing of `B` its micro-kernel reads.
    ///
    /// Sixteen lanes (AVX-512 and its emulation): `6 × 64` tiles, 24 zmm accumulators plus
    /// four B vectors and one broadcast, 29 of the 32 registers. Chosen without a machine
    /// to measure on (none with AVX-512 was available), by counting: per step it loads 4 B
    /// vectors and broadcasts 6 A values for 24 FMAs (0.42 loads per FMA, against 0.57 for
    /// 14 × 32 and 0.46 for 8 × 48), so two FMAs a cycle need at most one load a cycle; its
    /// `MR = 6` keeps the packed-X layout (and the AVX2 packing code) of the other kernels
    /// and wastes 1 row in 198 at 197 tokens (14 × 32 wastes 13 in 210); `n` of 768, 2304 and
    /// 3072 are multiples of 64. Only attention's `T × T` scores (n = 197) pad to 256, about
    /// 1% of a ViT-B pass. `kc = 128` keeps the B panel (`128 × 64` floats, 32 KB) in a
    /// 48 KB L1 beside the A panel and the tile.
    pub fn layout(self) -> Layout {
        match self {
            Isa::Avx512 | Isa::Emulated16 => Layout { nr: 64, kc: 128 },
            Isa::Avx2Fma | Isa::Portable => Layout { nr: NR, kc: 256 },
        }
    }

    /// Whether this CPU can run it (the emulated and portable kernels run anywhere).
    pub fn supported(self) -> bool {
        self.missing().is_none()
    }

    /// The CPU features it needs that this CPU lacks, if any.
    fn missing(self) -> Option<&'static str> {
        match self {
            Isa::Emulated16 | Isa::Portable => None,
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2Fma => (!(is_x86_feature_detected!("avx2")
                && is_x86_feature_detected!("fma")))
            .then_some("AVX2 + FMA"),
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 => (!(is_x86_feature_detected!("avx512f")
                && is_x86_feature_detected!("avx2")
                && is_x86_feature_detected!("fma")))
            .then_some("AVX-512F"),
            #[cfg(not(target_arch = "x86_64"))]
            Isa::Avx2Fma => Some("AVX2 + FMA (not an x86-64 CPU)"),
            #[cfg(not(target_arch = "x86_64"))]
            Isa::Avx512 => Some("AVX-512F (not an x86-64 CPU)"),
        }
    }

    /// The ISAs this CPU can run, best first (the emulated one included).
    pub fn available() -> Vec<Isa> {
        Isa::ALL.into_iter().filter(|i| i.supported()).collect()
    }

    /// The fastest ISA this CPU supports.
    pub fn best() -> Isa {
        Isa::ALL
            .into_iter()
            .find(|i| i.supported() && *i != Isa::Emulated16)
            .unwrap_or(Isa::Portable)
    }

    /// `Ok(self)` if the CPU supports it, otherwise the error naming what is missing.
    pub fn check(self) -> Result<Isa, IsaError> {
        match self.missing() {
            None => Ok(self),
            Some(missing) => Err(IsaError::Unsupported {
                isa: self,
                missing,
                supported: Isa::available()
                    .iter()
                    .map(|i| i.name())
                    .collect::<Vec<_>>()
                    .join(", "),
            }),
        }
    }
}

impl fmt::Display for Isa {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Isa {
    type Err = IsaError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s.trim().to_ascii_lowercase().as_str() {
            "avx512" | "avx-512" | "avx512f" => Isa::Avx512,
            "avx2" | "avx2fma" | "avx2+fma" => Isa::Avx2Fma,
            "emu16" | "emulated16" => Isa::Emulated16,
            "portable" => Isa::Portable,
            _ => {
                return Err(IsaError::Unknown {
                    found: s.to_string(),
                })
            }
        })
    }
}

static CHOICE: OnceLock<Result<Isa, IsaError>> = OnceLock::new();

/// Set by [`force`].
static FORCED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Whether the ISA was asked for (`VITRS_ISA`, `VITRS_PORTABLE=1` or [`force`]) rather than
/// detected: the int8 kernels then refuse to step down to a narrower ISA.
pub fn requested() -> bool {
    FORCED.load(std::sync::atomic::Ordering::Relaxed)
        || std::env::var_os("VITRS_ISA").is_some_and(|v| !v.is_empty())
        || std::env::var_os("VITRS_PORTABLE").is_some_and(|v| !v.is_empty() && v != "0")
}

/// The ISA the environment asks for: `VITRS_ISA` (`avx512`, `avx2`, `portable`, `emu16`), or
/// the older `VITRS_PORTABLE=1` (an alias of `VITRS_ISA=portable`); otherwise the best this
/// CPU supports. An ISA the CPU lacks, or an unknown name, is an error.
fn from_env() -> Result<Isa, IsaError> {
    if let Some(v) = std::env::var_os("VITRS_ISA").filter(|v| !v.is_empty()) {
        return v.to_string_lossy().parse::<Isa>()?.check();
    }
    if std::env::var_os("VITRS_PORTABLE").is_some_and(|v| !v.is_empty() && v != "0") {
        return Ok(Isa::Portable);
    }
    Ok(Isa::best())
}

/// The kernels' ISA for this process, decided once: `VITRS_ISA` (or `VITRS_PORTABLE=1`), else
/// the best the CPU has, unless [`force`]d first.
/// Programs that take `VITRS_ISA` from a user call this first to report a bad value.
pub fn select() -> Result<Isa, IsaError> {
    CHOICE.get_or_init(from_env).clone()
}

/// Forces the kernels of this process to `isa` (checked against the CPU). Only before the
/// first use: afterwards the choice stands and asking for another is an error.
pub fn force(isa: Isa) -> Result<Isa, IsaError> {
    let isa = isa.check()?;
    FORCED.store(true, std::sync::atomic::Ordering::Relaxed);
    match CHOICE.get_or_init(|| Ok(isa)) {
        Ok(chosen) if *chosen == isa => Ok(isa),
        Ok(chosen) => Err(IsaError::AlreadyChosen {
            chosen: *chosen,
            wanted: isa,
        }),
        Err(e) => Err(e.clone()),
    }
}

/// The kernels' ISA ([`select`]).
///
/// # Panics
/// If `VITRS_ISA` asks for an ISA this CPU lacks (or is not a name): running other kernels
/// than the ones asked for would make any figure or test a lie. Programs report this as an
/// error first through [`select`].
pub fn detect() -> Isa {
    match select() {
        Ok(isa) => isa,
        Err(e) => panic!("{e}"),
    }
}

/// The kernel function for `isa` (whose [`Isa::layout`] its panels must have).
pub fn kernel(isa: Isa) -> KernelFn {
    match isa {
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2Fma => super::tile::kernel_avx2,
        #[cfg(target_arch = "x86_64")]
        Isa::Avx512 => super::tile::kernel_avx512,
        // Never supported off x86-64; the fallbacks keep each ISA's layout.
        #[cfg(not(target_arch = "x86_64"))]
        Isa::Avx2Fma => super::portable::kernel,
        #[cfg(not(target_arch = "x86_64"))]
        Isa::Avx512 => super::tile::kernel_emu16,
        Isa::Emulated16 => super::tile::kernel_emu16,
        Isa::Portable => super::portable::kernel,
    }
}
