//! The vector abstraction every SIMD kernel is written against, and its implementations.
//!
//! The tiling, edge handling and element-wise maths are written once, generic over
//! [`Lanes`] (a vector of `N` f32 lanes); each ISA supplies only the thin layer below:
//!
//! - [`Emu16`]: sixteen lanes as a plain `[f32; 16]`, on any CPU. It runs exactly the generic
//!   code the AVX-512 path runs, with the same tile shape, so the 16-lane logic is tested on
//!   every machine (it is slow, and only used when asked for: tests, `VITRS_ISA=emu16`).
//! - `Avx2` (x86-64): eight lanes in a `__m256`, AVX2 + FMA.
//! - `Avx512` (x86-64): sixteen lanes in a `__m512`, AVX-512F.
//!
//! Semantics every implementation keeps (the emulation defines them):
//! - `min`/`max` are x86's: `a.max(b)` is `if a > b { a } else { b }`, so when either is NaN
//!   the result is `b`. Putting the value last (`splat(lo).max(x)`) keeps a NaN.
//! - `round` rounds to nearest, ties to even; `pow2i` takes an integral value in
//!   `[-127, 128]`.
//! - `rcp` is an estimate of `1/x` good to at least 11 bits (callers refine it).
//!
//! The intrinsics types must only be used inside code entered after
//! [`crate::gemm::detect`] (or [`crate::gemm::Isa::supported`]) confirmed their features; this
//! module is private to the crate so nothing outside can break that rule.

/// A vector of [`Lanes::N`] f32 lanes (see the module documentation for the semantics).
pub(crate) trait Lanes: Copy {
    /// Lanes in one vector.
    const N: usize;
    /// Every lane `x`.
    fn splat(x: f32) -> Self;
    /// `N` values from `p`.
    ///
    /// # Safety
    /// `p` must be valid for reads of `N` values.
    unsafe fn load(p: *const f32) -> Self;
    /// Writes the `N` lanes to `p`.
    ///
    /// # Safety
    /// `p` must be valid for writes of `N` values.
    unsafe fn store(self, p: *mut f32);
    /// `N` `i32` values from `p`, converted to `f32` (round to nearest).
    ///
    /// # Safety
    /// `p` must be valid for reads of `N` values.
    unsafe fn load_i32(p: *const i32) -> Self;
    /// Fetches the cache line at `p` (a hint; never faults).
    #[inline(always)]
    fn prefetch(_p: *const f32) {}
    /// `self + o`.
    fn add(self, o: Self) -> Self;
    /// `self − o`.
    fn sub(self, o: Self) -> Self;
    /// `self · o`.
    fn mul(self, o: Self) -> Self;
    /// `self / o`.
    fn div(self, o: Self) -> Self;
    /// `self · b + c`, one rounding.
    fn fma(self, b: Self, c: Self) -> Self;
    /// `c − self · b`, one rounding.
    fn fnma(self, b: Self, c: Self) -> Self;
    /// x86 `min` (returns `o` when either is NaN).
    fn min(self, o: Self) -> Self;
    /// x86 `max` (returns `o` when either is NaN).
    fn max(self, o: Self) -> Self;
    /// Round to nearest integer, ties to even.
    fn round(self) -> Self;
    /// `2^self` for integral lanes in `[-127, 128]`, through the exponent bits.
    fn pow2i(self) -> Self;
    /// `|self|` (clears the sign bit).
    fn abs(self) -> Self;
    /// The sign bit of each lane (`±0`).
    fn sign(self) -> Self;
    /// `self` with the sign bits of `s` or-ed in.
    fn or(self, s: Self) -> Self;
    /// Flips the sign bit.
    fn neg(self) -> Self;
    /// An estimate of `1/self`, at least 11 bits.
    fn rcp(self) -> Self;
    /// Per lane: `if self < o { t } else { f }` (false for NaN).
    fn select_lt(self, o: Self, t: Self, f: Self) -> Self;
    /// Per lane: `if self == o { t } else { f }` (false for NaN).
    fn select_eq(self, o: Self, t: Self, f: Self) -> Self;
    /// Sum of the lanes.
    fn reduce_add(self) -> f32;
    /// The largest lane (NaN lanes ignored unless all are NaN... as `f32::max` folds).
    fn reduce_max(self) -> f32;
}

/// Loads the first `n < N` lanes from `src`, the rest `fill`.
#[inline(always)]
pub(crate) fn load_partial<V: Lanes>(src: &[f32], fill: f32) -> V {
    let mut buf = [fill; 16];
    buf[..src.len()].copy_from_slice(src);
    // SAFETY: buf holds 16 ≥ N values.
    unsafe { V::load(buf.as_ptr()) }
}

/// Stores the first `dst.len() < N` lanes of `v` into `dst`.
#[inline(always)]
pub(crate) fn store_partial<V: Lanes>(v: V, dst: &mut [f32]) {
    let mut buf = [0.0f32; 16];
    // SAFETY: buf holds 16 ≥ N values.
    unsafe { v.store(buf.as_mut_ptr()) };
    let n = dst.len();
    dst.copy_from_slice(&buf[..n]);
}

/// Sixteen emulated lanes (see the module documentation).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Emu16([f32; 16]);

impl Emu16 {
    #[inline(always)]
    fn map(self, f: impl Fn(f32) -> f32) -> Self {
        Emu16(self.0.map(f))
    }
    #[inline(always)]
    fn zip(self, o: Self, f: impl Fn(f32, f32) -> f32) -> Self {
        Emu16(std::array::from_fn(|i| f(self.0[i], o.0[i])))
    }
    #[inline(always)]
    fn bits(self, f: impl Fn(u32) -> u32) -> Self {
        self.map(|x| f32::from_bits(f(x.to_bits())))
    }
}

impl Lanes for Emu16 {
    const N: usize = 16;
    #[inline(always)]
    fn splat(x: f32) -> Self {
        Emu16([x; 16])
    }
    #[inline(always)]
    unsafe fn load(p: *const f32) -> Self {
        // SAFETY: the caller guarantees 16 readable values.
        Emu16(unsafe { std::ptr::read_unaligned(p as *const [f32; 16]) })
    }
    #[inline(always)]
    unsafe fn store(self, p: *mut f32) {
        // SAFETY: the caller guarantees 16 writable values.
        unsafe { std::ptr::write_unaligned(p as *mut [f32; 16], self.0) }
    }
    #[inline(always)]
    unsafe fn load_i32(p: *const i32) -> Self {
        // SAFETY: the caller guarantees 16 readable values.
        Emu16(unsafe { std::ptr::read_unaligned(p as *const [i32; 16]) }.map(|v| v as f32))
    }
    #[inline(always)]
    fn add(self, o: Self) -> Self {
        self.zip(o, |a, b| a + b)
    }
    #[inline(always)]
    fn sub(self, o: Self) -> Self {
        self.zip(o, |a, b| a - b)
    }
    #[inline(always)]
    fn mul(self, o: Self) -> Self {
        self.zip(o, |a, b| a * b)
    }
    #[inline(always)]
    fn div(self, o: Self) -> Self {
        self.zip(o, |a, b| a / b)
    }
    #[inline(always)]
    fn fma(self, b: Self, c: Self) -> Self {
        Emu16(std::array::from_fn(|i| self.0[i].mul_add(b.0[i], c.0[i])))
    }
    #[inline(always)]
    fn fnma(self, b: Self, c: Self) -> Self {
        Emu16(std::array::from_fn(|i| {
            (-self.0[i]).mul_add(b.0[i], c.0[i])
        }))
    }
    #[inline(always)]
    fn min(self, o: Self) -> Self {
        self.zip(o, |a, b| if a < b { a } else { b })
    }
    #[inline(always)]
    fn max(self, o: Self) -> Self {
        self.zip(o, |a, b| if a > b { a } else { b })
    }
    #[inline(always)]
    fn round(self) -> Self {
        self.map(f32::round_ties_even)
    }
    #[inline(always)]
    fn pow2i(self) -> Self {
        self.map(|n| f32::from_bits(((n as i32 + 127) as u32) << 23))
    }
    #[inline(always)]
    fn abs(self) -> Self {
        self.bits(|b| b & 0x7fff_ffff)
    }
    #[inline(always)]
    fn sign(self) -> Self {
        self.bits(|b| b & 0x8000_0000)
    }
    #[inline(always)]
    fn or(self, s: Self) -> Self {
        self.zip(s, |a, b| f32::from_bits(a.to_bits() | b.to_bits()))
    }
    #[inline(always)]
    fn neg(self) -> Self {
        self.bits(|b| b ^ 0x8000_0000)
    }
    #[inline(always)]
    fn rcp(self) -> Self {
        // An exact reciprocal truncated to 12 bits, as coarse as the hardware estimate, so
        // that the callers' refinement is exercised.
        self.map(|x| f32::from_bits((1.0 / x).to_bits() & !0xfff))
    }
    #[inline(always)]
    fn select_lt(self, o: Self, t: Self, f: Self) -> Self {
        Emu16(std::array::from_fn(|i| {
            if self.0[i] < o.0[i] {
                t.0[i]
            } else {
                f.0[i]
            }
        }))
    }
    #[inline(always)]
    fn select_eq(self, o: Self, t: Self, f: Self) -> Self {
        Emu16(std::array::from_fn(|i| {
            if self.0[i] == o.0[i] {
                t.0[i]
            } else {
                f.0[i]
            }
        }))
    }
    #[inline(always)]
    fn reduce_add(self) -> f32 {
        // Pairwise, as the hardware reductions fold halves.
        let mut v = self.0;
        let mut w = 16;
        while w > 1 {
            w /= 2;
            for i in 0..w {
                v[i] += v[i + w];
            }
        }
        v[0]
    }
    #[inline(always)]
    fn reduce_max(self) -> f32 {
        self.0.iter().copied().fold(f32::NEG_INFINITY, f32::max)
    }
}

#[cfg(target_arch = "x86_64")]
pub(crate) use x86::{Avx2, Avx512};

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::Lanes;
    use std::arch::x86_64::*;

    /// Eight lanes, AVX2 + FMA. Only used after detection confirmed both.
    #[derive(Clone, Copy, Debug)]
    pub(crate) struct Avx2(__m256);

    /// Sixteen lanes, AVX-512F. Only used after detection confirmed it.
    #[derive(Clone, Copy, Debug)]
    pub(crate) struct Avx512(__m512);

    // Every `unsafe` block below calls one intrinsic of the type's ISA. SAFETY (for all of
    // them): values of these types are only created inside functions entered after
    // detection confirmed the ISA (the module is crate-private and every entry point
    // checks), so the instructions exist; pointer arguments carry the trait's contract.

    impl Lanes for Avx2 {
        const N: usize = 8;
        #[inline(always)]
        fn splat(x: f32) -> Self {
            // SAFETY: AVX2 present (see above).
            Avx2(unsafe { _mm256_set1_ps(x) })
        }
        #[inline(always)]
        unsafe fn load(p: *const f32) -> Self {
            // SAFETY: AVX2 present; the caller guarantees 8 readable values.
            Avx2(unsafe { _mm256_loadu_ps(p) })
        }
        #[inline(always)]
        unsafe fn store(self, p: *mut f32) {
            // SAFETY: AVX2 present; the caller guarantees 8 writable values.
            unsafe { _mm256_storeu_ps(p, self.0) }
        }
        #[inline(always)]
        unsafe fn load_i32(p: *const i32) -> Self {
            // SAFETY: AVX2 present; the caller guarantees 8 readable values.
            Avx2(unsafe { _mm256_cvtepi32_ps(_mm256_loadu_si256(p.cast())) })
        }
        #[inline(always)]
        fn prefetch(p: *const f32) {
            // SAFETY: a prefetch never faults, whatever the address.
            unsafe { _mm_prefetch::<_MM_HINT_T0>(p as *const i8) }
        }
        #[inline(always)]
        fn add(self, o: Self) -> Self {
            // SAFETY: AVX2 present.
            Avx2(unsafe { _mm256_add_ps(self.0, o.0) })
        }
        #[inline(always)]
        fn sub(self, o: Self) -> Self {
            // SAFETY: AVX2 present.
            Avx2(unsafe { _mm256_sub_ps(self.0, o.0) })
        }
        #[inline(always)]
        fn mul(self, o: Self) -> Self {
            // SAFETY: AVX2 present.
            Avx2(unsafe { _mm256_mul_ps(self.0, o.0) })
        }
        #[inline(always)]
        fn div(self, o: Self) -> Self {
            // SAFETY: AVX2 present.
            Avx2(unsafe { _mm256_div_ps(self.0, o.0) })
        }
        #[inline(always)]
        fn fma(self, b: Self, c: Self) -> Self {
            // SAFETY: FMA present.
            Avx2(unsafe { _mm256_fmadd_ps(self.0, b.0, c.0) })
        }
        #[inline(always)]
        fn fnma(self, b: Self, c: Self) -> Self {
            // SAFETY: FMA present.
            Avx2(unsafe { _mm256_fnmadd_ps(self.0, b.0, c.0) })
        }
        #[inline(always)]
        fn min(self, o: Self) -> Self {
            // SAFETY: AVX2 present.
            Avx2(unsafe { _mm256_min_ps(self.0, o.0) })
        }
        #[inline(always)]
        fn max(self, o: Self) -> Self {
            // SAFETY: AVX2 present.
            Avx2(unsafe { _mm256_max_ps(self.0, o.0) })
        }
        #[inline(always)]
        fn round(self) -> Self {
            // SAFETY: AVX2 present.
            Avx2(unsafe {
                _mm256_round_ps::<{ _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC }>(self.0)
            })
        }
        #[inline(always)]
        fn pow2i(self) -> Self {
            // SAFETY: AVX2 present.
            Avx2(unsafe {
                _mm256_castsi256_ps(_mm256_slli_epi32::<23>(_mm256_add_epi32(
                    _mm256_cvtps_epi32(self.0),
                    _mm256_set1_epi32(127),
                )))
            })
        }
        #[inline(always)]
        fn abs(self) -> Self {
            // SAFETY: AVX2 present.
            Avx2(unsafe { _mm256_andnot_ps(_mm256_set1_ps(-0.0), self.0) })
        }
        #[inline(always)]
        fn sign(self) -> Self {
            // SAFETY: AVX2 present.
            Avx2(unsafe { _mm256_and_ps(_mm256_set1_ps(-0.0), self.0) })
        }
        #[inline(always)]
        fn or(self, s: Self) -> Self {
            // SAFETY: AVX2 present.
            Avx2(unsafe { _mm256_or_ps(self.0, s.0) })
        }
        #[inline(always)]
        fn neg(self) -> Self {
            // SAFETY: AVX2 present.
            Avx2(unsafe { _mm256_xor_ps(_mm256_set1_ps(-0.0), self.0) })
        }
        #[inline(always)]
        fn rcp(self) -> Self {
            // SAFETY: AVX2 present.
            Avx2(unsafe { _mm256_rcp_ps(self.0) })
        }
        #[inline(always)]
        fn select_lt(self, o: Self, t: Self, f: Self) -> Self {
            // SAFETY: AVX2 present.
            Avx2(unsafe { _mm256_blendv_ps(f.0, t.0, _mm256_cmp_ps::<_CMP_LT_OQ>(self.0, o.0)) })
        }
        #[inline(always)]
        fn select_eq(self, o: Self, t: Self, f: Self) -> Self {
            // SAFETY: AVX2 present.
            Avx2(unsafe { _mm256_blendv_ps(f.0, t.0, _mm256_cmp_ps::<_CMP_EQ_OQ>(self.0, o.0)) })
        }
        #[inline(always)]
        fn reduce_add(self) -> f32 {
            let mut lanes = [0.0f32; 8];
            // SAFETY: lanes holds eight values.
            unsafe { self.store(lanes.as_mut_ptr()) };
            lanes.iter().sum()
        }
        #[inline(always)]
        fn reduce_max(self) -> f32 {
            let mut lanes = [0.0f32; 8];
            // SAFETY: lanes holds eight values.
            unsafe { self.store(lanes.as_mut_ptr()) };
            lanes.iter().copied().fold(f32::NEG_INFINITY, f32::max)
        }
    }

    impl Lanes for Avx512 {
        const N: usize = 16;
        #[inline(always)]
        fn splat(x: f32) -> Self {
            // SAFETY: AVX-512F present (see above).
            Avx512(unsafe { _mm512_set1_ps(x) })
        }
        #[inline(always)]
        unsafe fn load(p: *const f32) -> Self {
            // SAFETY: AVX-512F present; the caller guarantees 16 readable values.
            Avx512(unsafe { _mm512_loadu_ps(p) })
        }
        #[inline(always)]
        unsafe fn store(self, p: *mut f32) {
            // SAFETY: AVX-512F present; the caller guarantees 16 writable values.
            unsafe { _mm512_storeu_ps(p, self.0) }
        }
        #[inline(always)]
        unsafe fn load_i32(p: *const i32) -> Self {
            // SAFETY: AVX-512F present; the caller guarantees 16 readable values.
            Avx512(unsafe { _mm512_cvtepi32_ps(_mm512_loadu_si512(p.cast())) })
        }
        #[inline(always)]
        fn prefetch(p: *const f32) {
            // SAFETY: a prefetch never faults, whatever the address.
            unsafe { _mm_prefetch::<_MM_HINT_T0>(p as *const i8) }
        }
        #[inline(always)]
        fn add(self, o: Self) -> Self {
            // SAFETY: AVX-512F present.
            Avx512(unsafe { _mm512_add_ps(self.0, o.0) })
        }
        #[inline(always)]
        fn sub(self, o: Self) -> Self {
            // SAFETY: AVX-512F present.
            Avx512(unsafe { _mm512_sub_ps(self.0, o.0) })
        }
        #[inline(always)]
        fn mul(self, o: Self) -> Self {
            // SAFETY: AVX-512F present.
            Avx512(unsafe { _mm512_mul_ps(self.0, o.0) })
        }
        #[inline(always)]
        fn div(self, o: Self) -> Self {
            // SAFETY: AVX-512F present.
            Avx512(unsafe { _mm512_div_ps(self.0, o.0) })
        }
        #[inline(always)]
        fn fma(self, b: Self, c: Self) -> Self {
            // SAFETY: AVX-512F present.
            Avx512(unsafe { _mm512_fmadd_ps(self.0, b.0, c.0) })
        }
        #[inline(always)]
        fn fnma(self, b: Self, c: Self) -> Self {
            // SAFETY: AVX-512F present.
            Avx512(unsafe { _mm512_fnmadd_ps(self.0, b.0, c.0) })
        }
        #[inline(always)]
        fn min(self, o: Self) -> Self {
            // SAFETY: AVX-512F present. (vminps: the second operand when either is NaN.)
            Avx512(unsafe { _mm512_min_ps(self.0, o.0) })
        }
        #[inline(always)]
        fn max(self, o: Self) -> Self {
            // SAFETY: AVX-512F present. (vmaxps: the second operand when either is NaN.)
            Avx512(unsafe { _mm512_max_ps(self.0, o.0) })
        }
        #[inline(always)]
        fn round(self) -> Self {
            // SAFETY: AVX-512F present. vrndscaleps with scale 0, round to nearest even.
            Avx512(unsafe {
                _mm512_roundscale_ps::<{ _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC }>(self.0)
            })
        }
        #[inline(always)]
        fn pow2i(self) -> Self {
            // SAFETY: AVX-512F present.
            Avx512(unsafe {
                _mm512_castsi512_ps(_mm512_slli_epi32::<23>(_mm512_add_epi32(
                    _mm512_cvtps_epi32(self.0),
                    _mm512_set1_epi32(127),
                )))
            })
        }
        #[inline(always)]
        fn abs(self) -> Self {
            // SAFETY: AVX-512F present.
            Avx512(unsafe { _mm512_abs_ps(self.0) })
        }
        #[inline(always)]
        fn sign(self) -> Self {
            // SAFETY: AVX-512F present (integer and: AVX-512DQ's and_ps is not needed).
            Avx512(unsafe {
                _mm512_castsi512_ps(_mm512_and_si512(
                    _mm512_castps_si512(self.0),
                    _mm512_set1_epi32(i32::MIN),
                ))
            })
        }
        #[inline(always)]
        fn or(self, s: Self) -> Self {
            // SAFETY: AVX-512F present.
            Avx512(unsafe {
                _mm512_castsi512_ps(_mm512_or_si512(
                    _mm512_castps_si512(self.0),
                    _mm512_castps_si512(s.0),
                ))
            })
        }
        #[inline(always)]
        fn neg(self) -> Self {
            // SAFETY: AVX-512F present.
            Avx512(unsafe {
                _mm512_castsi512_ps(_mm512_xor_si512(
                    _mm512_castps_si512(self.0),
                    _mm512_set1_epi32(i32::MIN),
                ))
            })
        }
        #[inline(always)]
        fn rcp(self) -> Self {
            // SAFETY: AVX-512F present (a 14-bit estimate).
            Avx512(unsafe { _mm512_rcp14_ps(self.0) })
        }
        #[inline(always)]
        fn select_lt(self, o: Self, t: Self, f: Self) -> Self {
            // SAFETY: AVX-512F present.
            Avx512(unsafe {
                _mm512_mask_blend_ps(_mm512_cmp_ps_mask::<_CMP_LT_OQ>(self.0, o.0), f.0, t.0)
            })
        }
        #[inline(always)]
        fn select_eq(self, o: Self, t: Self, f: Self) -> Self {
            // SAFETY: AVX-512F present.
            Avx512(unsafe {
                _mm512_mask_blend_ps(_mm512_cmp_ps_mask::<_CMP_EQ_OQ>(self.0, o.0), f.0, t.0)
            })
        }
        #[inline(always)]
        fn reduce_add(self) -> f32 {
            // SAFETY: AVX-512F present.
            unsafe { _mm512_reduce_add_ps(self.0) }
        }
        #[inline(always)]
        fn reduce_max(self) -> f32 {
            let mut lanes = [0.0f32; 16];
            // SAFETY: lanes holds sixteen values.
            unsafe { self.store(lanes.as_mut_ptr()) };
            lanes.iter().copied().fold(f32::NEG_INFINITY, f32::max)
        }
    }
}
