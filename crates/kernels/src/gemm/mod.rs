//! Matrix multiplication: the strided [`sgemm`] and the [`Linear`] layer built on it.
//!
//! The packed GEMM follows the usual design (as in BLIS and matrixmultiply): `B` is packed
//! once into `KC`-deep blocks of `NR`-wide panels, `A` is packed per call into `MR`-row
//! panels, and a micro-kernel chosen once at run time ([`detect`]: AVX2 + FMA, or the
//! portable kernel) computes `MR × NR` tiles in registers.
//!
//! A ViT spends almost all of its time in `y = x·Wᵀ + b` with `W` stored `[out, in]` as in
//! PyTorch. [`Linear`] owns such a weight in whatever layout the kernel prefers, so the model
//! never sees the layout; [`Epilogue`] says what happens to each output element after the
//! product (bias always, then an activation or an accumulate into a residual stream).

#[cfg(target_arch = "x86_64")]
mod avx2;
mod kernel;
mod linear;
mod pack;
mod packed;
mod portable;

pub use kernel::{detect, kernel, Isa, MR, NR};
pub use linear::{Epilogue, Linear, LinearError};
pub use pack::{PackedB, KC};
pub use packed::{
    gemm as gemm_packed, gemm_packed_a, gemm_strided, pack_a_panels, packed_a_len, Finish,
};

/// `C ← alpha·A·B + beta·C` for `f32` matrices with arbitrary strides (in elements).
///
/// `A` is `m × k`, `B` is `k × n`, `C` is `m × n`; element `(i, j)` of a matrix with row stride
/// `rs` and column stride `cs` is at `i·rs + j·cs`. The slices must hold every element the
/// strides reach; this is checked and a violation panics (it is a bug in the caller, not bad
/// input).
#[allow(clippy::too_many_arguments)]
pub fn sgemm(
    m: usize,
    k: usize,
    n: usize,
    alpha: f32,
    a: (&[f32], usize, usize),
    b: (&[f32], usize, usize),
    beta: f32,
    c: (&mut [f32], usize, usize),
) {
    if m == 0 || n == 0 {
        return;
    }
    assert!(
        c.0.len() >= reach(m, n, c.1, c.2),
        "C is shorter than its strides reach"
    );
    // SAFETY: the assert proves every element of the C tile lies inside the slice, and `c` is
    // a unique borrow, so no one else writes it.
    unsafe { sgemm_to(m, k, n, alpha, a, b, beta, (c.0.as_mut_ptr(), c.1, c.2)) }
}

/// Elements a `rows × cols` matrix with strides `rs`, `cs` reaches from its first.
fn reach(rows: usize, cols: usize, rs: usize, cs: usize) -> usize {
    (rows - 1) * rs + (cols.max(1) - 1) * cs + 1
}

/// [`sgemm`] writing through a raw pointer, for callers whose tasks share one output and
/// write disjoint strided tiles of it (no `&mut` slice may overlap another task's).
///
/// # Safety
/// Every element `(i, j)` of the `m × n` tile at `c + i·rsc + j·csc` must be valid for writes
/// and written by no one else during the call; `a` and `b` as in [`sgemm`].
#[allow(clippy::too_many_arguments)]
pub unsafe fn sgemm_to(
    m: usize,
    k: usize,
    n: usize,
    alpha: f32,
    a: (&[f32], usize, usize),
    b: (&[f32], usize, usize),
    beta: f32,
    c: (*mut f32, usize, usize),
) {
    if m == 0 || n == 0 {
        return;
    }
    if k > 0 {
        assert!(
            a.0.len() >= reach(m, k, a.1, a.2),
            "A is shorter than its strides reach"
        );
        assert!(
            b.0.len() >= reach(k, n, b.1, b.2),
            "B is shorter than its strides reach"
        );
    }
    // SAFETY: A and B are in bounds (asserted); C's validity is the caller's contract.
    unsafe {
        matrixmultiply::sgemm(
            m,
            k,
            n,
            alpha,
            a.0.as_ptr(),
            a.1 as isize,
            a.2 as isize,
            b.0.as_ptr(),
            b.1 as isize,
            b.2 as isize,
            beta,
            c.0,
            c.1 as isize,
            c.2 as isize,
        );
    }
}
