//! The AVX2 + FMA micro-kernel: a 6 × 16 tile held in twelve 256-bit accumulators.

#![cfg(target_arch = "x86_64")]

use std::arch::x86_64::*;

use super::kernel::{MR, NR, PREFETCH_LINES};

/// See [`super::kernel::KernelFn`]. (An in-register erf GELU measured no faster than the
/// eight-lane pass over the stored tile, so only the bias is applied here.)
///
/// # Safety
/// As [`super::kernel::KernelFn`], and the CPU must support AVX2 and FMA (checked once by
/// [`super::kernel::detect`] before this function is ever chosen).
#[allow(clippy::too_many_arguments)]
pub unsafe fn kernel_6x16(
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
    unsafe { inner(kc, a, b, c, ldc, accumulate, prefetch, bias) }
}

#[target_feature(enable = "avx2,fma")]
#[allow(clippy::too_many_arguments)]
unsafe fn inner(
    kc: usize,
    a: *const f32,
    b: *const f32,
    c: *mut f32,
    ldc: usize,
    accumulate: bool,
    prefetch: *const f32,
    bias: *const f32,
) {
    // SAFETY: every load and store below stays within the kc·MR / kc·NR panels, the MR×NR
    // tile at stride ldc and the NR bias values (when not null) that the caller guarantees
    // (unaligned forms throughout); prefetches are hints that never fault, whatever address
    // they name.
    unsafe {
        // The tile is read (accumulate) or written at the end: start fetching it now, and
        // the caller's next B panel, so neither stalls a later call.
        for i in 0..MR {
            let row = c.add(i * ldc) as *const i8;
            _mm_prefetch::<_MM_HINT_T0>(row);
            _mm_prefetch::<_MM_HINT_T0>(row.wrapping_add(NR * 4 - 1));
        }
        if !prefetch.is_null() {
            for l in 0..PREFETCH_LINES {
                _mm_prefetch::<_MM_HINT_T0>((prefetch as *const i8).wrapping_add(l * 64));
            }
        }
        let mut acc = [[_mm256_setzero_ps(); 2]; MR];
        let mut ap = a;
        let mut bp = b;
        // One step: c[i] += a[i] · b for the six rows.
        macro_rules! step {
            ($off:expr) => {{
                let b0 = _mm256_loadu_ps(bp.add($off * NR));
                let b1 = _mm256_loadu_ps(bp.add($off * NR + 8));
                for (i, row) in acc.iter_mut().enumerate() {
                    let av = _mm256_broadcast_ss(&*ap.add($off * MR + i));
                    row[0] = _mm256_fmadd_ps(av, b0, row[0]);
                    row[1] = _mm256_fmadd_ps(av, b1, row[1]);
                }
            }};
        }
        for _ in 0..kc / 4 {
            step!(0);
            step!(1);
            step!(2);
            step!(3);
            ap = ap.add(4 * MR);
            bp = bp.add(4 * NR);
        }
        for _ in 0..kc % 4 {
            step!(0);
            ap = ap.add(MR);
            bp = bp.add(NR);
        }
        let bias = (!bias.is_null()).then(|| (_mm256_loadu_ps(bias), _mm256_loadu_ps(bias.add(8))));
        for (i, [lo, hi]) in acc.into_iter().enumerate() {
            let out = c.add(i * ldc);
            let (mut lo, mut hi) = if accumulate {
                (
                    _mm256_add_ps(lo, _mm256_loadu_ps(out)),
                    _mm256_add_ps(hi, _mm256_loadu_ps(out.add(8))),
                )
            } else {
                (lo, hi)
            };
            if let Some((b0, b1)) = bias {
                lo = _mm256_add_ps(lo, b0);
                hi = _mm256_add_ps(hi, b1);
            }
            _mm256_storeu_ps(out, lo);
            _mm256_storeu_ps(out.add(8), hi);
        }
    }
}

/// Interleaves six rows into an `MR`-row panel of packed A: `dst[p·6 + i] = rows[i][p]` for
/// `p < kc`, eight steps at a time through an 8 × 8 register transpose (two zero rows).
///
/// # Safety
/// The CPU must support AVX2 (checked once by [`super::kernel::detect`]).
#[target_feature(enable = "avx2,fma")]
pub unsafe fn interleave6(rows: [&[f32]; MR], kc: usize, dst: &mut [f32]) {
    assert!(
        dst.len() == kc * MR && rows.iter().all(|r| r.len() >= kc),
        "six rows of kc values into kc·6"
    );
    let zero = _mm256_setzero_ps();
    let mut p0 = 0;
    // Each step's eight-float store spills two floats into the next step, so a block of
    // eight steps needs one more step after it.
    while p0 + 8 < kc {
        // SAFETY: p0 + 8 ≤ kc values of each row; the stores reach dst[6·(p0 + 7) + 8], which
        // is below 6·kc because p0 + 8 < kc.
        unsafe {
            let r: [__m256; MR] =
                std::array::from_fn(|i| _mm256_loadu_ps(rows[i].as_ptr().add(p0)));
            let t0 = _mm256_unpacklo_ps(r[0], r[1]);
            let t1 = _mm256_unpackhi_ps(r[0], r[1]);
            let t2 = _mm256_unpacklo_ps(r[2], r[3]);
            let t3 = _mm256_unpackhi_ps(r[2], r[3]);
            let t4 = _mm256_unpacklo_ps(r[4], r[5]);
            let t5 = _mm256_unpackhi_ps(r[4], r[5]);
            let s0 = _mm256_shuffle_ps::<0x44>(t0, t2);
            let s1 = _mm256_shuffle_ps::<0xEE>(t0, t2);
            let s2 = _mm256_shuffle_ps::<0x44>(t1, t3);
            let s3 = _mm256_shuffle_ps::<0xEE>(t1, t3);
            let s4 = _mm256_shuffle_ps::<0x44>(t4, zero);
            let s5 = _mm256_shuffle_ps::<0xEE>(t4, zero);
            let s6 = _mm256_shuffle_ps::<0x44>(t5, zero);
            let s7 = _mm256_shuffle_ps::<0xEE>(t5, zero);
            let cols = [
                _mm256_permute2f128_ps::<0x20>(s0, s4),
                _mm256_permute2f128_ps::<0x20>(s1, s5),
                _mm256_permute2f128_ps::<0x20>(s2, s6),
                _mm256_permute2f128_ps::<0x20>(s3, s7),
                _mm256_permute2f128_ps::<0x31>(s0, s4),
                _mm256_permute2f128_ps::<0x31>(s1, s5),
                _mm256_permute2f128_ps::<0x31>(s2, s6),
                _mm256_permute2f128_ps::<0x31>(s3, s7),
            ];
            let out = dst.as_mut_ptr().add(p0 * MR);
            for (j, c) in cols.into_iter().enumerate() {
                _mm256_storeu_ps(out.add(j * MR), c);
            }
        }
        p0 += 8;
    }
    for p in p0..kc {
        for i in 0..MR {
            dst[p * MR + i] = rows[i][p];
        }
    }
}
