//! The tensor core of vitrs: shapes, element types and f32 storage.
//!
//! Computation happens in `f32`; `f16` and `bf16` exist as storage formats that are decoded
//! into `f32` on load and encoded on save. This crate holds no maths beyond what a container
//! needs.
//!
//! - [`DType`]: the element types a checkpoint may hold.
//! - [`Shape`]: dimensions with overflow-checked element counts.
//! - [`Tensor`] / [`TensorView`]: owned and borrowed row-major `f32` tensors.
//! - [`decode`] / [`encode`]: little-endian bytes of any [`DType`] to and from `f32`.
//! - [`file`](mod@file): bounded reads of input files (regular files only, with a size cap), shared by
//!   every vitrs crate.

mod dtype;
mod error;
pub mod file;
mod shape;
mod storage;
mod tensor;

pub use dtype::DType;
pub use error::TensorError;
pub use shape::Shape;
pub use storage::{decode, decode_into, encode};
pub use tensor::{Tensor, TensorView};
