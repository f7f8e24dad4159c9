//! AVX2 packing of X: the six-row interleave through 8 × 8 register transposes (the
//! micro-kernels are generic, in `tile.rs`).

#![cfg(target_arch = "x86_64")]

use std::arch::x86_64::*;

use super::kernel::MR;

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
