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
//! saturation, which 255·(−128)·2 overflows. The AVX2 path keeps 8-bit activations by storing
//! them signed (`q − 127`) and multiplying in the s8×s8 form `vpmaddubsw(|w|, sign(a, w))`,
//! whose pairs stay within ±32512 (see `x86`); the weights keep their full 8 bits, the same
//! `i8` values on every ISA, so an int8 checkpoint runs unchanged everywhere. 7-bit
//! activations (plain u8×s8, one instruction fewer) measured below the 0.9995 cosine bar on
//! the fixtures (0.99935 vs 0.99964 with 8 bits), as did 7-bit weights (0.99904).

mod kernel;
mod lanes;
mod linear;
mod quantize;
#[cfg(target_arch = "x86_64")]
mod x86;

pub use kernel::{kernel_emu16, kernel_portable, tile, tile_rows, QIsa, QKernelFn, MR, NR_MAX};
pub use lanes::{Emulated, Lanes};
pub use linear::{AnyLinear, QLinear};
pub use quantize::{pack_b, packed_a_len, quantize_pack_a, QuantizedWeight, RowQuant};

#[cfg(test)]
mod tests;
