//! DINOv2 (`model_type: dinov2`, `dinov2_with_registers`): how it differs from ViT.
//!
//! - **LayerScale**: `x += λ1 ⊙ attn(norm1 x)`, `x += λ2 ⊙ mlp(norm2 x)`
//!   (`layer_scale{1,2}.lambda1`, `[D]`). vitrs folds each λ into the rows of the linear
//!   before it at load time (`λ ⊙ (W·h + b) = (λ ⊙ W)·h + λ ⊙ b`), so it costs nothing.
//! - **Position table always resized** to the input's patch grid, without any flag (the Hub
//!   checkpoints hold a 37 × 37 table for 518 px and are used at 224): CLS row kept, patch
//!   rows resized with PyTorch bicubic; as is only when the patch count matches and the input
//!   is square. With registers the resize is PyTorch's **antialiased** bicubic.
//! - **SwiGLU** MLP (`use_swiglu_ffn`, dinov2-giant): `weights_out(silu(gate) ⊙ up)` with
//!   `weights_in = [gate; up]`, hidden `F = (⌊2·D·mlp_ratio/3⌋ + 7) / 8 · 8`.
//! - **Registers** (`num_register_tokens`, 4 on the Hub): `[CLS, reg × R, patches]`, the
//!   registers inserted after the position add.
//! - eps 1e-6, patch 14, `intermediate = D · mlp_ratio`; `mask_token` is in the file but only
//!   used for masked pre-training (ignored).
//! - `pooler_output` = the normed CLS (no dense, no tanh).
//! - Names: `norm1`, `norm2`, `mlp.fc1`, `mlp.fc2`, `layer_scale{1,2}.lambda1`, else ViT's.

use vitrs_kernels::Activation;

use super::{vit, Dims, Family, MlpKind, Names, Pooling, Positions, Tokens, Variant};
use crate::config::Fields;
use crate::ModelError;

pub(crate) const DEFAULTS: Dims = Dims {
    hidden_size: 768,
    num_hidden_layers: 12,
    num_attention_heads: 12,
    intermediate_size: 3072,
    mlp_from_ratio: true,
    hidden_act: Activation::Gelu,
    layer_norm_eps: 1e-6,
    image_size: 224,
    patch_size: 14,
};

/// Reads `mlp_ratio`, `use_swiglu_ffn` and `num_register_tokens`.
pub(crate) fn read(family: Family, f: &Fields, dims: &mut Dims) -> Result<Variant, ModelError> {
    let ratio = f.float("mlp_ratio", 4.0)?;
    let swiglu = f.boolean("use_swiglu_ffn", false)?;
    // int(hidden_size * mlp_ratio), then SwiGLU's (int(h * 2 / 3) + 7) // 8 * 8
    let mut hidden = (dims.hidden_size as f64 * ratio) as usize;
    if swiglu {
        hidden = (hidden * 2 / 3).div_ceil(8) * 8;
    }
    if hidden == 0 {
        return Err(f.err(
            "mlp_ratio",
            "a ratio giving a positive MLP width",
            &ratio.into(),
        ));
    }
    dims.intermediate_size = hidden;
    let registers = match family {
        Family::Dinov2WithRegisters => f.count("num_register_tokens", 4)?,
        _ => 0,
    };
    let base = vit::variant();
    Ok(Variant {
        family,
        tokens: Tokens {
            registers,
            ..base.tokens
        },
        positions: Positions {
            always_resize: true,
            antialias: family == Family::Dinov2WithRegisters,
            leading_one: true,
        },
        layer_scale: true,
        mlp: if swiglu {
            MlpKind::SwiGlu
        } else {
            MlpKind::Plain
        },
        pooling: Pooling::FirstToken,
        ..base
    })
}

/// `Dinov2Model` / `Dinov2WithRegistersModel` tensor names.
pub const NAMES: Names = Names {
    prefixes: &[""],
    registers: "embeddings.register_tokens",
    norm1: "norm1",
    layer_scale1: "layer_scale1.lambda1",
    norm2: "norm2",
    mlp: ["mlp.fc1", "mlp.fc2"],
    swiglu: ["mlp.weights_in", "mlp.weights_out"],
    layer_scale2: "layer_scale2.lambda1",
    pooler: "",
    classifier: "",
    ..vit::NAMES
};
