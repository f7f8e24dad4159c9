//! Matrix multiplication: the packed GEMM and the [`Linear`] layer built on it.
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
//!
//! Attention multiplies strided per-head views with the same kernels ([`gemm_strided`]).
//! `matrixmultiply` is the reference the tests and benchmarks check this GEMM against; it is
//! not used at run time.

#[cfg(target_arch = "x86_64")]
mod avx2;
mod kernel;
mod linear;
pub(crate) use linear::assert_rows;
mod pack;
mod packed;
mod portable;
mod tile;

pub use kernel::{detect, force, kernel, requested, select, Isa, IsaError, Layout, MR, NR, NR_MAX};
pub use linear::{Epilogue, Linear, LinearError};
pub use pack::{PackedB, KC};
pub use packed::{
    gemm as gemm_packed, gemm_packed_a, gemm_strided, pack_a_panels, packed_a_len, Finish,
};
