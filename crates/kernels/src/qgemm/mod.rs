//! Int8 matrix multiplication: `y = x·Wᵀ + b` with `W` in `i8` and `x` in `u8`, accumulated
//! in `i32`, dequantized in the f32 epilogue.
//!
//! - Weights: symmetric `i8` per output channel ([`QuantizedWeight`]), packed once.
//! - Activations: asymmetric per row, `x ≈ lo + step·q` with `q` in `0..=act_max`, quantized
//!   and packed on each call; `lo·Σw` is a per-column constant folded into the epilogue.
//! - Kernel: one generic tile ([`kernel::tile`]) over the `vpdpbusd` operation ([`Lanes`]),
//!   instantiated on AVX512-VNNI, AVX-VNNI, AVX2 and emulated lanes (the portable kernel),
//!   chosen once at run time ([`QIsa::detect`]).
//!
//! AVX2 has no `vpdpbusd`: `vpmaddubsw` multiplies u8×s8 and adds pairs with `i16`
//! saturation, which 255·(−128)·2 overflows. The AVX2 path quantizes activations to 7 bits
//! (`0..=127`, pairs within ±32512), keeping the weights' full 8 bits (the same `i8` weights
//! as on every ISA, so an int8 checkpoint runs unchanged everywhere).

mod kernel;
mod lanes;
mod linear;
mod quantize;
#[cfg(target_arch = "x86_64")]
mod x86;

pub use kernel::{kernel_portable, tile, QIsa, QKernelFn, MR, NR_MAX};
pub use lanes::{Emulated, Lanes};
pub use linear::{AnyLinear, QLinear};
pub use quantize::{pack_b, packed_a_len, quantize_pack_a, QuantizedWeight, RowQuant};

#[cfg(test)]
mod tests;
