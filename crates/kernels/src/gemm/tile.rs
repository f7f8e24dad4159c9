//! The vector micro-kernel, written once over [`Lanes`]: an `MR × NV·N` tile held in
//! `MR·NV` vector accumulators. Each ISA's entry point only instantiates it inside a
//! function compiled for that ISA.

use super::kernel::{MR, PREFETCH_LINES};
use crate::lanes::{Emu16, Lanes};

/// See [`super::kernel::KernelFn`]; the tile is `MR × NV·V::N`.
///
/// # Safety
/// As [`super::kernel::KernelFn`], and `V`'s ISA must be present.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn tile<V: Lanes, const NV: usize>(
    kc: usize,
    a: *const f32,
    b: *const f32,
    c: *mut f32,
    ldc: usize,
    accumulate: bool,
    prefetch: *const f32,
    bias: *const f32,
) {
    let nr = NV * V::N;
    // SAFETY: every load and store below stays within the kc·MR / kc·nr panels, the MR×nr
    // tile at stride ldc and the nr bias values (when not null) that the caller guarantees
    // (unaligned forms throughout); prefetches are hints that never fault, whatever address
    // they name.
    unsafe {
        // The tile is read (accumulate) or written at the end: start fetching it now, and
        // the caller's next B panel, so neither stalls a later call.
        for i in 0..MR {
            let row = c.wrapping_add(i * ldc);
            for l in (0..nr).step_by(16) {
                V::prefetch(row.wrapping_add(l));
            }
            V::prefetch(row.wrapping_add(nr - 1));
        }
        if !prefetch.is_null() {
            for l in 0..PREFETCH_LINES {
                V::prefetch(prefetch.wrapping_add(l * 16));
            }
        }
        let mut acc = [[V::splat(0.0); NV]; MR];
        let mut ap = a;
        let mut bp = b;
        // One step: c[i] += a[i] · b for the MR rows.
        macro_rules! step {
            ($off:expr) => {{
                let bv: [V; NV] = std::array::from_fn(|v| V::load(bp.add($off * nr + v * V::N)));
                for (i, row) in acc.iter_mut().enumerate() {
                    let av = V::splat(*ap.add($off * MR + i));
                    for (r, b) in row.iter_mut().zip(&bv) {
                        *r = av.fma(*b, *r);
                    }
                }
            }};
        }
        for _ in 0..kc / 4 {
            step!(0);
            step!(1);
            step!(2);
            step!(3);
            ap = ap.add(4 * MR);
            bp = bp.add(4 * nr);
        }
        for _ in 0..kc % 4 {
            step!(0);
            ap = ap.add(MR);
            bp = bp.add(nr);
        }
        let bias: Option<[V; NV]> =
            (!bias.is_null()).then(|| std::array::from_fn(|v| V::load(bias.add(v * V::N))));
        for (i, row) in acc.into_iter().enumerate() {
            let out = c.add(i * ldc);
            for (v, mut r) in row.into_iter().enumerate() {
                let o = out.add(v * V::N);
                if accumulate {
                    r = r.add(V::load(o));
                }
                if let Some(b) = &bias {
                    r = r.add(b[v]);
                }
                r.store(o);
            }
        }
    }
}

/// The AVX2 + FMA kernel: `6 × 16`, twelve 256-bit accumulators.
///
/// # Safety
/// As [`super::kernel::KernelFn`], and the CPU must support AVX2 and FMA (checked by
/// [`super::kernel::Isa::check`] before this kernel is ever chosen).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
#[allow(clippy::too_many_arguments)]
pub unsafe fn kernel_avx2(
    kc: usize,
    a: *const f32,
    b: *const f32,
    c: *mut f32,
    ldc: usize,
    accumulate: bool,
    prefetch: *const f32,
    bias: *const f32,
) {
    // SAFETY: forwarded; the target features are present (see above).
    unsafe { tile::<crate::lanes::Avx2, 2>(kc, a, b, c, ldc, accumulate, prefetch, bias) }
}

/// The AVX-512F kernel: `6 × 64`, twenty-four 512-bit accumulators (see
/// [`super::kernel::Isa::layout`] for the choice of tile).
///
/// # Safety
/// As [`super::kernel::KernelFn`], and the CPU must support AVX-512F (checked by
/// [`super::kernel::Isa::check`] before this kernel is ever chosen).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx2,fma")]
#[allow(clippy::too_many_arguments)]
pub unsafe fn kernel_avx512(
    kc: usize,
    a: *const f32,
    b: *const f32,
    c: *mut f32,
    ldc: usize,
    accumulate: bool,
    prefetch: *const f32,
    bias: *const f32,
) {
    // SAFETY: forwarded; the target features are present (see above).
    unsafe { tile::<crate::lanes::Avx512, 4>(kc, a, b, c, ldc, accumulate, prefetch, bias) }
}

/// The AVX-512 kernel's code on emulated sixteen-lane vectors: `6 × 64`, on any CPU.
///
/// # Safety
/// As [`super::kernel::KernelFn`].
#[allow(clippy::too_many_arguments)]
pub unsafe fn kernel_emu16(
    kc: usize,
    a: *const f32,
    b: *const f32,
    c: *mut f32,
    ldc: usize,
    accumulate: bool,
    prefetch: *const f32,
    bias: *const f32,
) {
    // SAFETY: forwarded; Emu16 needs no CPU feature.
    unsafe { tile::<Emu16, 4>(kc, a, b, c, ldc, accumulate, prefetch, bias) }
}
