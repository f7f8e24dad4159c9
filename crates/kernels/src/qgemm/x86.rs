//! The x86-64 lanes: thin mappings of [`Lanes`] and [`WordLanes`] onto intrinsics, one per ISA.
//!
//! - [`Avx2Words`]: AVX2 has no `vpdpbusd`, and its `vpmaddubsw` (u8×s8 pairs → i16)
//!   saturates for 8-bit activations (255·(−128)·2 = −65280). The exact 8-bit kernel
//!   ([`kernel_avx2_i16`], q/k/v) therefore multiplies in `i16`: activations are packed as
//!   `i16` (each `u8` zero-extended, [`super::QIsa::act_bytes`]), the packed `i8` weights are
//!   widened with `vpmovsxbw` as they are loaded (once per group for all six rows; no extra
//!   weight memory), and `vpmaddwd` + `vpaddd` accumulate: per 32 multiply-adds two
//!   `vpmaddwd` and two `vpaddd`, where the u8×s8 form needs `vpmaddubsw`, `vpmaddwd` and one
//!   `vpaddd`. Its sums are those of `vpdpbusd`, so AVX2 results equal the VNNI kernels'.
//! - [`Avx2U7`]: `vpmaddubsw` on 7-bit activations (exact below 128), two groups added in
//!   `i16` before one `vpmaddwd` ([`super::kernel::tile_pairs`], on weights made safe for
//!   that by [`super::quantize::split_pairs`]): about 1.35× the speed of the `i16` kernel
//!   on Zen 3 (whole layers at ViT-B/16 shapes); the attention output and MLP use it.
//! - [`AvxVnni`]: `vpdpbusd` on 256 bits (VEX, `avxvnni`).
//! - [`Avx512Vnni`]: `vpdpbusd` on 512 bits (EVEX, `avx512vnni`).
//!
//! Each method is one or two intrinsics; the kernel logic they run is
//! [`super::kernel::tile`], [`super::kernel::tile_words`] or [`super::kernel::tile_pairs`],
//! tested on every machine through emulated lanes ([`super::lanes::Emulated`], `EmulatedWords`).

use std::arch::x86_64::*;

use super::kernel::{tile, tile_pairs, tile_words};
use super::lanes::{ByteLanes, Lanes, WordLanes};

/// Eight lanes of AVX2 for 7-bit activations ([`ByteLanes`]): `vpmaddubsw` (u8×s8 pairs,
/// exact while `a ≤ 127`), `vpaddw`, and `vpmaddwd` by ones.
#[derive(Clone, Copy)]
pub struct Avx2U7(__m256i);

impl ByteLanes for Avx2U7 {
    const N: usize = 8;
    #[inline(always)]
    unsafe fn zero() -> Self {
        Avx2U7(_mm256_setzero_si256())
    }
    #[inline(always)]
    unsafe fn splat4(a: *const u8) -> Self {
        // SAFETY: four readable bytes at a (caller).
        Avx2U7(_mm256_set1_epi32(unsafe {
            a.cast::<i32>().read_unaligned()
        }))
    }
    #[inline(always)]
    unsafe fn load(b: *const i8) -> Self {
        // SAFETY: 32 readable bytes at b (caller).
        Avx2U7(unsafe { _mm256_loadu_si256(b.cast()) })
    }
    #[inline(always)]
    unsafe fn maddubs(a: Self, b: Self) -> Self {
        Avx2U7(_mm256_maddubs_epi16(a.0, b.0))
    }
    #[inline(always)]
    unsafe fn add16(x: Self, y: Self) -> Self {
        Avx2U7(_mm256_add_epi16(x.0, y.0))
    }
    #[inline(always)]
    unsafe fn widen_add(acc: Self, x: Self) -> Self {
        Avx2U7(_mm256_add_epi32(
            acc.0,
            _mm256_madd_epi16(x.0, _mm256_set1_epi16(1)),
        ))
    }
    #[inline(always)]
    unsafe fn store(self, c: *mut i32) {
        // SAFETY: 8 writable i32 at c (caller).
        unsafe { _mm256_storeu_si256(c.cast(), self.0) }
    }
}

/// The one-group-at-a-time form ([`Lanes`]: `vpmaddubsw`, `vpmaddwd` by ones, `vpaddd`), for
/// weights [`super::quantize::split_pairs`] would take too much of.
impl Lanes for Avx2U7 {
    const N: usize = 8;
    #[inline(always)]
    unsafe fn zero() -> Self {
        // SAFETY: forwarded (AVX2, the caller's).
        unsafe { <Self as ByteLanes>::zero() }
    }
    #[inline(always)]
    unsafe fn splat4(a: *const u8) -> Self {
        // SAFETY: forwarded.
        unsafe { <Self as ByteLanes>::splat4(a) }
    }
    #[inline(always)]
    unsafe fn load(b: *const i8) -> Self {
        // SAFETY: forwarded.
        unsafe { <Self as ByteLanes>::load(b) }
    }
    /// Here `a` must be at most 127 (pairs within 2·127·128 = 32512).
    #[inline(always)]
    unsafe fn dpbusd(acc: Self, a: Self, b: Self) -> Self {
        // SAFETY: forwarded.
        unsafe { Self::widen_add(acc, Self::maddubs(a, b)) }
    }
    #[inline(always)]
    unsafe fn store(self, c: *mut i32) {
        // SAFETY: forwarded.
        unsafe { <Self as ByteLanes>::store(self, c) }
    }
}

/// Eight lanes of AVX2 over `i16` pairs ([`WordLanes`]): the exact 8-bit kernel.
#[derive(Clone, Copy)]
pub struct Avx2Words(__m256i);

impl WordLanes for Avx2Words {
    const N: usize = 8;
    #[inline(always)]
    unsafe fn zero() -> Self {
        Avx2Words(_mm256_setzero_si256())
    }
    #[inline(always)]
    unsafe fn splat4(a: *const i16) -> Self {
        // SAFETY: four readable i16 (eight bytes) at a (caller).
        Avx2Words(_mm256_set1_epi64x(unsafe {
            a.cast::<i64>().read_unaligned()
        }))
    }
    #[inline(always)]
    unsafe fn widen(b: *const i8) -> Self {
        // SAFETY: 16 readable bytes at b (caller).
        Avx2Words(_mm256_cvtepi8_epi16(unsafe { _mm_loadu_si128(b.cast()) }))
    }
    #[inline(always)]
    unsafe fn madd(acc: Self, a: Self, b: Self) -> Self {
        Avx2Words(_mm256_add_epi32(acc.0, _mm256_madd_epi16(a.0, b.0)))
    }
    #[inline(always)]
    unsafe fn fold(lo: Self, hi: Self) -> Self {
        // [c0 c1 c4 c5 | c2 c3 c6 c7] → [c0 … c7]
        let sums = _mm256_hadd_epi32(lo.0, hi.0);
        Avx2Words(_mm256_permute4x64_epi64::<0b11_01_10_00>(sums))
    }
    #[inline(always)]
    unsafe fn store(self, c: *mut i32) {
        // SAFETY: 8 writable i32 at c (caller).
        unsafe { _mm256_storeu_si256(c.cast(), self.0) }
    }
}

/// Eight lanes of AVX-VNNI.
#[derive(Clone, Copy)]
pub struct AvxVnni(__m256i);

impl Lanes for AvxVnni {
    const N: usize = 8;
    #[inline(always)]
    unsafe fn zero() -> Self {
        AvxVnni(_mm256_setzero_si256())
    }
    #[inline(always)]
    unsafe fn splat4(a: *const u8) -> Self {
        // SAFETY: four readable bytes at a (caller).
        AvxVnni(_mm256_set1_epi32(unsafe {
            a.cast::<i32>().read_unaligned()
        }))
    }
    #[inline(always)]
    unsafe fn load(b: *const i8) -> Self {
        // SAFETY: 32 readable bytes at b (caller).
        AvxVnni(unsafe { _mm256_loadu_si256(b.cast()) })
    }
    #[inline(always)]
    unsafe fn dpbusd(acc: Self, a: Self, b: Self) -> Self {
        AvxVnni(_mm256_dpbusd_avx_epi32(acc.0, a.0, b.0))
    }
    #[inline(always)]
    unsafe fn store(self, c: *mut i32) {
        // SAFETY: 8 writable i32 at c (caller).
        unsafe { _mm256_storeu_si256(c.cast(), self.0) }
    }
}

/// Sixteen lanes of AVX512-VNNI.
#[derive(Clone, Copy)]
pub struct Avx512Vnni(__m512i);

impl Lanes for Avx512Vnni {
    const N: usize = 16;
    #[inline(always)]
    unsafe fn zero() -> Self {
        Avx512Vnni(_mm512_setzero_si512())
    }
    #[inline(always)]
    unsafe fn splat4(a: *const u8) -> Self {
        // SAFETY: four readable bytes at a (caller).
        Avx512Vnni(_mm512_set1_epi32(unsafe {
            a.cast::<i32>().read_unaligned()
        }))
    }
    #[inline(always)]
    unsafe fn load(b: *const i8) -> Self {
        // SAFETY: 64 readable bytes at b (caller).
        Avx512Vnni(unsafe { _mm512_loadu_si512(b.cast()) })
    }
    #[inline(always)]
    unsafe fn dpbusd(acc: Self, a: Self, b: Self) -> Self {
        Avx512Vnni(_mm512_dpbusd_epi32(acc.0, a.0, b.0))
    }
    #[inline(always)]
    unsafe fn store(self, c: *mut i32) {
        // SAFETY: 16 writable i32 at c (caller).
        unsafe { _mm512_storeu_si512(c.cast(), self.0) }
    }
}

/// The tile kernel on AVX2 for 7-bit activations ([`tile_pairs`]): exact for every byte of
/// `a` at most 127 and `b` split by [`super::quantize::split_pairs`].
///
/// # Safety
/// As [`super::kernel::QKernelFn`]; the CPU must have AVX2.
#[target_feature(enable = "avx2")]
pub unsafe fn kernel_avx2_u7(k4: usize, a: *const u8, b: *const i8, c: *mut i32) {
    // One pass over the six rows (in L1, 1.2× the one-group-at-a-time tile on Zen 3; passes of
    // three or two rows measured no faster).
    // SAFETY: the caller's contract is tile_pairs'.
    unsafe { tile_pairs::<Avx2U7>(k4, a, b, c) }
}

/// The tile kernel on AVX2 for 7-bit activations one group at a time ([`tile`] over
/// `vpmaddubsw` + `vpmaddwd`): exact for every byte of `a` at most 127 and any `b`; what a layer
/// runs when [`super::quantize::split_pairs`] would take out too many weights.
///
/// # Safety
/// As [`super::kernel::QKernelFn`]; the CPU must have AVX2.
#[target_feature(enable = "avx2")]
pub unsafe fn kernel_avx2_u7_single(k4: usize, a: *const u8, b: *const i8, c: *mut i32) {
    // SAFETY: the caller's contract is tile's.
    unsafe { tile::<Avx2U7>(k4, a, b, c) }
}

/// The exact 8-bit tile kernel on AVX2: activations packed as `i16`.
///
/// # Safety
/// As [`super::kernel::QKernelFn`] with `a` packed as `i16` ([`super::QIsa::act_bytes`]); the
/// CPU must have AVX2.
#[target_feature(enable = "avx2")]
pub unsafe fn kernel_avx2_i16(k4: usize, a: *const u8, b: *const i8, c: *mut i32) {
    // SAFETY: the caller's contract is tile_words'.
    unsafe { tile_words::<Avx2Words>(k4, a, b, c) }
}

/// The tile kernel on AVX-VNNI.
///
/// # Safety
/// As [`super::kernel::QKernelFn`]; the CPU must have AVX2 and AVX-VNNI.
#[target_feature(enable = "avx2,avxvnni")]
pub unsafe fn kernel_avxvnni(k4: usize, a: *const u8, b: *const i8, c: *mut i32) {
    // SAFETY: the caller's contract is tile's.
    unsafe { tile::<AvxVnni>(k4, a, b, c) }
}

/// The tile kernel on AVX512-VNNI.
///
/// # Safety
/// As [`super::kernel::QKernelFn`]; the CPU must have AVX-512 F, BW and VNNI.
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
pub unsafe fn kernel_avx512vnni(k4: usize, a: *const u8, b: *const i8, c: *mut i32) {
    // SAFETY: the caller's contract is tile's.
    unsafe { tile::<Avx512Vnni>(k4, a, b, c) }
}
