//! The int8 micro-kernel, written once over [`Lanes`], and the run-time choice of ISA.
//!
//! A tile is `MR` rows × `NR = 2·N` columns of `i32`: `c[i·NR + j] = Σ_p a·b` over `k4` groups
//! of four reduction steps. `a` (activations, `u8`) holds per group `MR` rows × 4 bytes; `b`
//! (weights, `i8`) holds per group `NR` columns × 4 bytes. Per group each row's four bytes are
//! broadcast and multiplied into two vectors of columns with [`Lanes::dpbusd`]. AVX2's exact
//! 8-bit kernel has its own tile, [`tile_words`], over [`WordLanes`] (`vpmaddwd` on `i16`), and
//! its 7-bit kernel [`tile_pairs`], over [`ByteLanes`] (two `vpmaddubsw` added in `i16`).

use super::lanes::{ByteLanes, Emulated, Lanes, WordLanes};
use crate::gemm::{Isa, IsaError};

/// Rows of a tile (every ISA: the packed activations' layout does not depend on the ISA, only
/// their bytes per value, [`QIsa::act_bytes`]).
pub const MR: usize = 6;

/// The widest tile (AVX-512: 32 columns).
pub const NR_MAX: usize = 32;

/// A tile kernel: `c[i·NR + j] = Σ_{g<k4} Σ_{t<4} a[(g·MR + i)·4 + t] · b[(g·NR + j)·4 + t]`,
/// `a` as `u8`, `b` as `i8`, for `i < MR`, `j < NR` (the ISA's [`QIsa::nr`]).
///
/// # Safety
/// `a` must hold `k4·MR·4` bytes, `b` `k4·NR·4` and `c` must be writable for `MR·NR` values;
/// the CPU must have the kernel's features.
pub type QKernelFn = unsafe fn(k4: usize, a: *const u8, b: *const i8, c: *mut i32);

/// The kernel logic, for any lanes.
///
/// # Safety
/// As [`QKernelFn`] with `NR = 2·V::N`; `V`'s features must be present.
#[inline(always)]
pub unsafe fn tile<V: Lanes>(k4: usize, a: *const u8, b: *const i8, c: *mut i32) {
    // SAFETY (whole body): the offsets stay inside the sizes the contract guarantees.
    unsafe {
        let mut acc = [[V::zero(); 2]; MR];
        let (mut a, mut b) = (a, b);
        for _ in 0..k4 {
            let b0 = V::load(b);
            let b1 = V::load(b.add(4 * V::N));
            for (i, row) in acc.iter_mut().enumerate() {
                let ai = V::splat4(a.add(4 * i));
                row[0] = V::dpbusd(row[0], ai, b0);
                row[1] = V::dpbusd(row[1], ai, b1);
            }
            a = a.add(4 * MR);
            b = b.add(8 * V::N);
        }
        for (i, row) in acc.iter().enumerate() {
            row[0].store(c.add(i * 2 * V::N));
            row[1].store(c.add(i * 2 * V::N + V::N));
        }
    }
}

/// The tile of [`QKernelFn`] over [`WordLanes`] (`vpmaddwd`), exact for all 8-bit operands:
/// `a` packed as `i16` (`MR` rows × 4 per group, each `u8` value zero-extended: see
/// [`QIsa::act_bytes`]), `b` the usual packed `i8`, widened as it is loaded, `NR = 2·N`.
///
/// Two passes of `N` columns each: per group the pass widens its `N` columns' `4·N` bytes
/// into two vectors of half sums (`N / 2` columns × two pairs of steps), then per row
/// broadcasts the row's four `i16` and multiply-adds both, so that each widening serves all
/// `MR` rows (2·`MR` accumulators, two weights and a broadcast: fifteen of AVX2's sixteen
/// registers). At the end [`WordLanes::fold`] adds each column's two halves.
///
/// # Safety
/// As [`QKernelFn`] with `a` holding `k4·MR·4` `i16` (twice the bytes); `V`'s features must
/// be present.
#[inline(always)]
pub unsafe fn tile_words<V: WordLanes>(k4: usize, a: *const u8, b: *const i8, c: *mut i32) {
    let a = a.cast::<i16>();
    // SAFETY (whole body): the offsets stay inside the sizes of the contract: per group
    // MR·4 i16 of a and 2·N·4 bytes of b, of which each pass reads its N columns' 4·N.
    unsafe {
        for pass in 0..2 {
            let mut acc = [[V::zero(); 2]; MR];
            let (mut a, mut b) = (a, b.add(pass * 4 * V::N));
            for _ in 0..k4 {
                let b0 = V::widen(b);
                let b1 = V::widen(b.add(2 * V::N));
                for (i, row) in acc.iter_mut().enumerate() {
                    let ai = V::splat4(a.add(4 * i));
                    row[0] = V::madd(row[0], ai, b0);
                    row[1] = V::madd(row[1], ai, b1);
                }
                a = a.add(4 * MR);
                b = b.add(8 * V::N);
            }
            for (i, row) in acc.iter().enumerate() {
                V::fold(row[0], row[1]).store(c.add(i * 2 * V::N + pass * V::N));
            }
        }
    }
}

/// The tile of [`QKernelFn`] over [`ByteLanes`] (AVX2 without VNNI), for activations of at
/// most 127 and weights split by [`super::quantize::split_pairs`], `NR = 2·N`.
///
/// Groups go in pairs: per pair and row, each column vector takes `vpmaddubsw` of the first
/// group, `vpmaddubsw` of the second, their `i16` sum (`vpaddw`), and one `vpmaddwd` by ones
/// into the `i32` accumulator: three multiply-port instructions per 64 multiply-adds where
/// `vpdpbusd`'s emulation needs four. Each `i16` then holds four products of one column,
/// steps `{2h, 2h + 1}` of both groups (`h` the half); they stay within `i16` as long as their
/// positive weights, and their negative ones, each sum to at most 258 (127 · 258 ≤ 32767),
/// which [`super::quantize::split_pairs`] ensures by moving the few weights that break it
/// into a residual added after the tile. A last odd group goes alone.
///
/// # Safety
/// As [`QKernelFn`] with `NR = 2·V::N`; `V`'s features must be present. (Activations above
/// 127 or unsplit weights give wrong sums, not undefined behaviour.)
#[inline(always)]
pub unsafe fn tile_pairs<V: ByteLanes>(k4: usize, a: *const u8, b: *const i8, c: *mut i32) {
    // SAFETY (whole body): the offsets stay inside the sizes the contract guarantees: per
    // group MR·4 bytes of a and 2·N·4 of b, a pair two groups.
    unsafe {
        let mut acc = [[V::zero(); 2]; MR];
        let (mut a, mut b) = (a, b);
        for _ in 0..k4 / 2 {
            let first = [V::load(b), V::load(b.add(4 * V::N))];
            let second = [V::load(b.add(8 * V::N)), V::load(b.add(12 * V::N))];
            for (i, row) in acc.iter_mut().enumerate() {
                let a0 = V::splat4(a.add(4 * i));
                let a1 = V::splat4(a.add(4 * (MR + i)));
                for (v, acc) in row.iter_mut().enumerate() {
                    let sum = V::add16(V::maddubs(a0, first[v]), V::maddubs(a1, second[v]));
                    *acc = V::widen_add(*acc, sum);
                }
            }
            a = a.add(8 * MR);
            b = b.add(16 * V::N);
        }
        if k4 % 2 == 1 {
            let last = [V::load(b), V::load(b.add(4 * V::N))];
            for (i, row) in acc.iter_mut().enumerate() {
                let ai = V::splat4(a.add(4 * i));
                for (v, acc) in row.iter_mut().enumerate() {
                    *acc = V::widen_add(*acc, V::maddubs(ai, last[v]));
                }
            }
        }
        for (i, row) in acc.iter().enumerate() {
            row[0].store(c.add(i * 2 * V::N));
            row[1].store(c.add(i * 2 * V::N + V::N));
        }
    }
}

/// The portable kernel: [`tile`] on eight emulated lanes (`NR = 16`).
///
/// # Safety
/// As [`QKernelFn`].
pub unsafe fn kernel_portable(k4: usize, a: *const u8, b: *const i8, c: *mut i32) {
    // SAFETY: the caller's contract is tile's.
    unsafe { tile::<Emulated<8>>(k4, a, b, c) }
}

/// The AVX512-VNNI tile logic on sixteen emulated lanes (`NR = 32`).
///
/// # Safety
/// As [`QKernelFn`].
pub unsafe fn kernel_emu16(k4: usize, a: *const u8, b: *const i8, c: *mut i32) {
    // SAFETY: the caller's contract is tile's.
    unsafe { tile::<Emulated<16>>(k4, a, b, c) }
}

/// Which int8 implementation runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QIsa {
    /// AVX512-VNNI (`vpdpbusd` on 512 bits), with AVX-512 F and BW.
    Avx512Vnni,
    /// AVX-VNNI (`vpdpbusd` on 256 bits).
    AvxVnni,
    /// AVX2, exact for 8-bit operands (the sums of `vpdpbusd`): `vpmaddwd` on activations
    /// packed as `i16` and weights widened from the packed `i8` as they are loaded.
    Avx2I16,
    /// AVX2 with 7-bit activations (`vpmaddubsw`, no saturation below 128; [`tile_pairs`]):
    /// about 1.35× the speed of [`QIsa::Avx2I16`] on Zen 3, coarser; for the layers whose
    /// inputs tolerate it.
    Avx2U7,
    /// The AVX512-VNNI logic (`vpdpbusd`, 32-column tiles) on sixteen emulated lanes, any
    /// CPU: what `VITRS_ISA=emu16` runs, to test the wide path where the CPU lacks it. Slow.
    Emulated16,
    /// Plain Rust on emulated lanes, any CPU.
    Portable,
}

impl QIsa {
    /// The implementation for this process, decided once from the f32 kernels' ISA
    /// ([`crate::gemm::select`], i.e. `VITRS_ISA`): `avx512` → AVX512-VNNI, `avx2` → AVX-VNNI
    /// where present, else AVX2 ([`QIsa::Avx2I16`]), `emu16` → [`QIsa::Emulated16`],
    /// `portable` → portable. When the ISA was chosen automatically and the CPU lacks its int8
    /// features (AVX-512F without VNNI), the best int8 kernel it has runs instead; when it was
    /// asked for, that is an error.
    pub fn select() -> Result<QIsa, IsaError> {
        static CHOICE: std::sync::OnceLock<Result<QIsa, IsaError>> = std::sync::OnceLock::new();
        CHOICE
            .get_or_init(|| QIsa::for_isa(crate::gemm::select()?, crate::gemm::requested()))
            .clone()
    }

    /// The int8 implementation for the f32 kernels' `isa`; `forced` makes a missing int8
    /// feature an error rather than a step down.
    pub fn for_isa(isa: Isa, forced: bool) -> Result<QIsa, IsaError> {
        let have = QIsa::available();
        let missing = |what: &'static str| IsaError::Unsupported {
            isa,
            missing: what,
            supported: have.iter().map(|q| q.name()).collect::<Vec<_>>().join(", "),
        };
        match isa {
            Isa::Portable => Ok(QIsa::Portable),
            Isa::Emulated16 => Ok(QIsa::Emulated16),
            Isa::Avx512 if have.contains(&QIsa::Avx512Vnni) => Ok(QIsa::Avx512Vnni),
            Isa::Avx512 if forced => Err(missing("AVX512-VNNI + AVX512-BW (the int8 kernel)")),
            Isa::Avx512 | Isa::Avx2Fma => [QIsa::AvxVnni, QIsa::Avx2I16]
                .into_iter()
                .find(|q| have.contains(q))
                .ok_or_else(|| missing("AVX2 (the int8 kernel)")),
        }
    }

    /// [`QIsa::select`].
    ///
    /// # Panics
    /// If `VITRS_ISA` asks for an ISA this CPU lacks (programs report that first through
    /// [`QIsa::select`]), as [`crate::gemm::detect`].
    pub fn detect() -> QIsa {
        match QIsa::select() {
            Ok(isa) => isa,
            Err(e) => panic!("{e}"),
        }
    }

    /// What `--dtype int8` runs, for reports: the kernel of q/k/v ([`QIsa::detect`]) and, when
    /// it differs, that of the other linears ([`QIsa::detect_coarse`]), e.g.
    /// `avx2-i16 (q/k/v), avx2-u7 (attention output, MLP)`. The error if [`QIsa::select`] fails.
    pub fn summary() -> Result<String, IsaError> {
        let fine = QIsa::select()?;
        let coarse = QIsa::detect_coarse();
        Ok(match fine == coarse {
            true => fine.name().to_string(),
            false => format!(
                "{} (q/k/v), {} (attention output, MLP)",
                fine.name(),
                coarse.name()
            ),
        })
    }

    /// Its name (in `vitrs info` and bench JSON).
    pub fn name(self) -> &'static str {
        match self {
            QIsa::Avx512Vnni => "avx512-vnni",
            QIsa::AvxVnni => "avx-vnni",
            QIsa::Avx2U7 => "avx2-u7",
            QIsa::Avx2I16 => "avx2-i16",
            QIsa::Emulated16 => "emu16-vnni",
            QIsa::Portable => "portable",
        }
    }

    /// The fastest kernel for layers whose inputs tolerate 7-bit activations: [`QIsa::Avx2U7`]
    /// where [`QIsa::detect`] picks AVX2 (whose exact 8-bit kernel costs about 1.35× as much
    /// on Zen 3), the same as `detect` elsewhere.
    pub fn detect_coarse() -> QIsa {
        match QIsa::detect() {
            QIsa::Avx2I16 => QIsa::Avx2U7,
            other => other,
        }
    }

    /// Every implementation this CPU can run, best first (the emulated and portable ones
    /// last).
    pub fn available() -> Vec<QIsa> {
        #[allow(unused_mut)]
        let mut v = Vec::new();
        #[cfg(target_arch = "x86_64")]
        {
            if is_x86_feature_detected!("avx512f")
                && is_x86_feature_detected!("avx512bw")
                && is_x86_feature_detected!("avx512vnni")
            {
                v.push(QIsa::Avx512Vnni);
            }
            if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("avxvnni") {
                v.push(QIsa::AvxVnni);
            }
            if is_x86_feature_detected!("avx2") {
                v.push(QIsa::Avx2I16);
                v.push(QIsa::Avx2U7);
            }
        }
        v.push(QIsa::Emulated16);
        v.push(QIsa::Portable);
        v
    }

    /// Columns of a tile.
    pub fn nr(self) -> usize {
        match self {
            QIsa::Avx512Vnni | QIsa::Emulated16 => 32,
            QIsa::AvxVnni | QIsa::Avx2I16 | QIsa::Avx2U7 | QIsa::Portable => 16,
        }
    }

    /// The largest quantized activation `q` (levels `0..=act_max`): 127 for AVX2's 7-bit
    /// kernel, 255 elsewhere.
    pub fn act_max(self) -> u8 {
        match self {
            QIsa::Avx2U7 => 127,
            QIsa::Avx512Vnni
            | QIsa::AvxVnni
            | QIsa::Avx2I16
            | QIsa::Emulated16
            | QIsa::Portable => 255,
        }
    }

    /// Bytes per packed activation: 2 where the kernel reads `i16` ([`QIsa::Avx2I16`]: each
    /// `u8` value zero-extended), else 1.
    pub fn act_bytes(self) -> usize {
        match self {
            QIsa::Avx2I16 => 2,
            _ => 1,
        }
    }

    /// The tile kernel. [`QIsa::Avx2U7`]'s is the pair tile ([`tile_pairs`]), exact only on
    /// weights [`super::quantize::split_pairs`] made safe for it, with the residual added
    /// ([`QLinear`](super::QLinear) does both).
    pub fn kernel(self) -> QKernelFn {
        match self {
            #[cfg(target_arch = "x86_64")]
            QIsa::Avx512Vnni => super::x86::kernel_avx512vnni,
            #[cfg(target_arch = "x86_64")]
            QIsa::AvxVnni => super::x86::kernel_avxvnni,
            #[cfg(target_arch = "x86_64")]
            QIsa::Avx2U7 => super::x86::kernel_avx2_u7,
            #[cfg(target_arch = "x86_64")]
            QIsa::Avx2I16 => super::x86::kernel_avx2_i16,
            QIsa::Emulated16 => kernel_emu16,
            _ => kernel_portable,
        }
    }
}
