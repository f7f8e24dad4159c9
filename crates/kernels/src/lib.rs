//! The compute of vitrs. Every inner loop works on plain slices so it can be benchmarked and
//! property-tested on its own; the model calls only what this crate exports.
//!
//! - [`gemm`]: `y = x·Wᵀ + b` with fused epilogues ([`Linear`], [`Epilogue`]), and the
//!   strided form attention uses ([`gemm::gemm_strided`]).
//! - [`qgemm`]: the int8 linear layer ([`qgemm::QLinear`]) and its kernels.
//! - [`layer_norm`]: LayerNorm over the last axis.
//! - [`resample`]: the horizontal pass of an 8-bit RGB resize in fixed point (Pillow's and
//!   torch's), for the image crate.
//! - [`softmax`]: row-wise softmax.
//! - [`activation`]: GELU (erf and tanh forms) and the other `ACT2FN` activations.
//! - [`attention`]: multi-head self-attention for one image from a fused `[T, 3D]` q/k/v.
//! - `lanes`, `simd`, `dispatch` (private): the vector type the SIMD code is written against
//!   (AVX-512, AVX2, sixteen emulated lanes), the vector maths on it, and an entry point per
//!   ISA.
//! - [`threads`]: the worker pool.
//! - [`mmap`]: read-only file mapping (all of the project's `unsafe` lives in this crate).
//! - [`shared`]: packed weights in a read-only mapped file that processes share.

pub mod activation;
pub mod attention;
mod dispatch;
pub mod gemm;
mod lanes;
pub mod layer_norm;
pub mod mmap;
pub mod qgemm;
pub mod resample;
pub mod shared;
mod simd;
pub mod softmax;
pub mod threads;

pub use activation::Activation;
pub use gemm::{Epilogue, Linear};
