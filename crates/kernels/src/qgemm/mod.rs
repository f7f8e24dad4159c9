//! Int8 matrix multiplication: `y = x·Wᵀ + b` with `W` in `i8` and `x` in `u8`, accumulated
//! in `i32`, dequantized in the f32 epilogue.
//!
//! - Weights: symmetric `i8` per output channel ([`QuantizedWeight`]), packed once.
//! - Activations: asymmetric per row, `x ≈ lo + step·q` with `q` in `0..=act_max`, quantized
//!   and packed on each call; `lo·Σw` is a per-column constant folded into the epilogue.
//! - Kernel: one generic tile ([`kernel::tile`]) over the `vpdpbusd` operation ([`Lanes`]),
//!   instantiated on AVX512-VNNI, AVX-VNNI, AVX2 (7-bit activations) and emulated lanes (the
//!   portable kernel), and on AVX2 the exact 8-bit tile [`kernel::tile_words`] over
//!   `vpmaddwd` ([`WordLanes`]); chosen once at run time ([`QIsa::detect`]).
//!
//! AVX2 has no `vpdpbusd`: `vpmaddubsw` multiplies u8×s8 and adds pairs with `i16`
//! saturation, which 255·(−128)·2 overflows. The AVX2 path has two kernels (see `x86`):
//! q/k/v run the exact one ([`QIsa::Avx2I16`]: activations packed as `i16`, the `i8` weights
//! widened as they are loaded, `vpmaddwd`), whose sums and quantization are those of the VNNI
//! kernels; the attention output and the MLP run plain `vpmaddubsw` on 7-bit activations
//! ([`QIsa::Avx2U7`], exact below 128), two groups summed in `i16` before widening
//! ([`kernel::tile_pairs`], on weights made safe for it by [`split_pairs`]), about 1.35×
//! faster on Zen 3. The weights keep their full 8 bits, the same `i8` values on every ISA, so
//! an int8 checkpoint runs unchanged everywhere. 7-bit activations on every layer measured
//! below the 0.9995 cosine bar on the fixtures (0.99935), as did 7-bit weights (0.99904).

mod kernel;
mod lanes;
mod linear;
mod quantize;
#[cfg(target_arch = "x86_64")]
mod x86;

pub use kernel::{
    kernel_emu16, kernel_portable, tile, tile_pairs, tile_words, QIsa, QKernelFn, MR, NR_MAX,
};
pub use lanes::{ByteLanes, Emulated, Lanes, WordLanes};
pub(crate) use linear::{dequant_portable, QTile};
pub use linear::{AnyLinear, QLinear};
pub use quantize::{
    pack_b, packed_a_len, quantize_pack_a, split_pairs, PairResidual, QuantizedWeight, RowQuant,
};

#[cfg(test)]
mod tests;
