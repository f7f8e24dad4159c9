//! The portable micro-kernel: the same contract as the SIMD ones, in plain Rust. It is the
//! fallback on CPUs without AVX2 + FMA and is tested on every machine.

use super::kernel::{MR, NR};

/// See [`super::kernel::KernelFn`].
///
/// # Safety
/// As [`super::kernel::KernelFn`].
#[allow(clippy::too_many_arguments)]
pub unsafe fn kernel(
    kc: usize,
    a: *const f32,
    b: *const f32,
    c: *mut f32,
    ldc: usize,
    accumulate: bool,
    _prefetch: *const f32,
    bias: *const f32,
) {
    let mut acc = [[0.0f32; NR]; MR];
    // SAFETY: the caller guarantees `a` holds kc·MR and `b` kc·NR values.
    let (a, b) = unsafe {
        (
            std::slice::from_raw_parts(a, kc * MR),
            std::slice::from_raw_parts(b, kc * NR),
        )
    };
    for (ap, bp) in a.chunks_exact(MR).zip(b.chunks_exact(NR)) {
        for (row, &av) in acc.iter_mut().zip(ap) {
            for (x, &bv) in row.iter_mut().zip(bp) {
                *x += av * bv;
            }
        }
    }
    // SAFETY: the caller guarantees NR bias values unless the pointer is null.
    let bias = (!bias.is_null()).then(|| unsafe { std::slice::from_raw_parts(bias, NR) });
    for (i, row) in acc.iter().enumerate() {
        // SAFETY: the caller guarantees MR rows of NR writable values at stride ldc.
        let out = unsafe { std::slice::from_raw_parts_mut(c.add(i * ldc), NR) };
        for (j, (o, &v)) in out.iter_mut().zip(row).enumerate() {
            let sum = if accumulate { *o + v } else { v };
            *o = bias.map_or(sum, |b| sum + b[j]);
        }
    }
}
