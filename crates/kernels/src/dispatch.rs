//! One entry point per ISA for the generic vector code of [`crate::simd`]: each instantiates
//! it inside a function compiled for that ISA, so the [`crate::lanes`] operations inline to
//! single instructions.

use crate::gemm::Isa;
#[cfg(target_arch = "x86_64")]
use crate::lanes::{Avx2, Avx512};
use crate::lanes::{Emu16, Lanes};
use crate::simd;
use crate::Activation;

/// Defines `$name` dispatching `$body` (generic over `V`) to each vector ISA, and the
/// portable code `$portable` for [`Isa::Portable`].
macro_rules! per_isa {
    ($(#[$m:meta])* unsafe fn $name:ident($($arg:ident: $ty:ty),*) -> $ret:ty
        { generic: $g:ident, portable: $portable:expr }) => {
        $(#[$m])*
        pub(crate) unsafe fn $name(isa: Isa, $($arg: $ty),*) -> $ret {
            #[inline(always)]
            unsafe fn body<V: Lanes>($($arg: $ty),*) -> $ret {
                // SAFETY: forwarded from the caller.
                unsafe { $g::<V>($($arg),*) }
            }
            #[cfg(target_arch = "x86_64")]
            #[target_feature(enable = "avx2,fma")]
            unsafe fn avx2($($arg: $ty),*) -> $ret {
                // SAFETY: forwarded; AVX2 and FMA are present (the caller's contract).
                unsafe { body::<Avx2>($($arg),*) }
            }
            #[cfg(target_arch = "x86_64")]
            #[target_feature(enable = "avx512f,avx2,fma")]
            unsafe fn avx512($($arg: $ty),*) -> $ret {
                // SAFETY: forwarded; AVX-512F is present (the caller's contract).
                unsafe { body::<Avx512>($($arg),*) }
            }
            match isa {
                // SAFETY (each arm): the caller guarantees isa is supported by this CPU.
                #[cfg(target_arch = "x86_64")]
                Isa::Avx2Fma => unsafe { avx2($($arg),*) },
                #[cfg(target_arch = "x86_64")]
                Isa::Avx512 => unsafe { avx512($($arg),*) },
                Isa::Emulated16 => unsafe { body::<Emu16>($($arg),*) },
                #[allow(unreachable_patterns)]
                _ => $portable,
            }
        }
    };
}

unsafe fn dequant_g<V: Lanes>(c: *mut f32, ld: usize, t: &crate::qgemm::QTile<'_>) {
    // SAFETY: forwarded.
    unsafe { simd::dequant::<V>(c, ld, t) }
}

per_isa! {
    /// [`simd::dequant`] on `isa`; the scalar form for [`Isa::Portable`].
    ///
    /// # Safety
    /// As [`simd::dequant`]; `isa` must be supported by this CPU.
    unsafe fn dequant(c: *mut f32, ld: usize, t: &crate::qgemm::QTile<'_>) -> ()
    { generic: dequant_g, portable: {
        // SAFETY: forwarded.
        unsafe { crate::qgemm::dequant_portable(c, ld, t) }
    } }
}

unsafe fn bias_act_g<V: Lanes>(
    c: *mut f32,
    ld: usize,
    rows: usize,
    cols: usize,
    bias: Option<&[f32]>,
    act: Activation,
) {
    // SAFETY: forwarded.
    unsafe { simd::bias_act::<V>(c, ld, rows, cols, bias, act) }
}

per_isa! {
    /// [`simd::bias_act`] on `isa`; the portable form for [`Isa::Portable`].
    ///
    /// # Safety
    /// As [`simd::bias_act`]; `isa` must be supported by this CPU.
    unsafe fn bias_act(c: *mut f32, ld: usize, rows: usize, cols: usize, bias: Option<&[f32]>, act: Activation) -> ()
    { generic: bias_act_g, portable: {
        for r in 0..rows {
            // SAFETY: row r, as the caller guarantees.
            let row = unsafe { std::slice::from_raw_parts_mut(c.add(r * ld), cols) };
            if let Some(b) = bias {
                row.iter_mut().zip(b).for_each(|(v, b)| *v += b);
            }
            act.apply_slice_portable(row);
        }
    } }
}

unsafe fn exp_row_g<V: Lanes>(row: &mut [f32], scale: f32) -> f32 {
    simd::exp_row::<V>(row, scale)
}

per_isa! {
    /// [`simd::exp_row`] on `isa`; `portable` for [`Isa::Portable`].
    ///
    /// # Safety
    /// `isa` must be supported by this CPU.
    unsafe fn exp_row(row: &mut [f32], scale: f32) -> f32
    { generic: exp_row_g, portable: crate::softmax::exp_row_portable(row, scale) }
}

unsafe fn layer_norm_g<V: Lanes>(
    x: &[f32],
    gamma: &[f32],
    beta: &[f32],
    eps: f32,
    out: &mut [f32],
) {
    crate::layer_norm::layer_norm_loop::<V>(x, gamma, beta, eps, out)
}

per_isa! {
    /// LayerNorm rows on `isa`.
    ///
    /// # Safety
    /// `isa` must be supported by this CPU.
    unsafe fn layer_norm(x: &[f32], gamma: &[f32], beta: &[f32], eps: f32, out: &mut [f32]) -> ()
    { generic: layer_norm_g, portable: crate::layer_norm::layer_norm_portable(x, gamma, beta, eps, out) }
}

/// One core's FMA throughput on `isa` in GFLOP/s: 12 independent chains of FMAs (enough to
/// keep two FMA pipes of latency 4–5 busy) for about `iters` steps each.
///
/// # Safety
/// `isa` must be supported by this CPU.
pub(crate) unsafe fn fma_gflops(isa: Isa, iters: usize) -> f64 {
    #[inline(always)]
    unsafe fn chains<V: Lanes>(iters: usize) -> f32 {
        let (m, a) = (
            V::splat(std::hint::black_box(0.999_999)),
            V::splat(std::hint::black_box(1e-7)),
        );
        let mut acc = [V::splat(1.0); 12];
        for _ in 0..iters {
            for c in acc.iter_mut() {
                *c = c.fma(m, a);
            }
        }
        acc.iter().map(|v| v.reduce_add()).sum()
    }
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn avx2(iters: usize) -> f32 {
        // SAFETY: AVX2 and FMA present (the caller's contract).
        unsafe { chains::<Avx2>(iters) }
    }
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f,avx2,fma")]
    unsafe fn avx512(iters: usize) -> f32 {
        // SAFETY: AVX-512F present (the caller's contract).
        unsafe { chains::<Avx512>(iters) }
    }
    fn scalar(iters: usize) -> f32 {
        let mut acc = [1.0f32; 12];
        let (m, a) = (
            std::hint::black_box(0.999_999f32),
            std::hint::black_box(1e-7f32),
        );
        for _ in 0..iters {
            for c in acc.iter_mut() {
                *c = *c * m + a;
            }
        }
        acc.iter().sum()
    }
    let start = std::time::Instant::now();
    let (sink, lanes) = match isa {
        // SAFETY (both): the caller guarantees the ISA.
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2Fma => (unsafe { avx2(iters) }, 8),
        #[cfg(target_arch = "x86_64")]
        Isa::Avx512 => (unsafe { avx512(iters) }, 16),
        // SAFETY: Emu16 needs no CPU feature.
        Isa::Emulated16 => (unsafe { chains::<Emu16>(iters) }, 16),
        _ => (scalar(iters), 1),
    };
    std::hint::black_box(sink);
    let flops = (iters * 12 * lanes * 2) as f64;
    flops / start.elapsed().as_secs_f64() / 1e9
}
