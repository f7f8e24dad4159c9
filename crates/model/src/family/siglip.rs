//! SigLIP's vision tower (`model_type: siglip_vision_model`, or the `vision_config` of a
//! two-tower `siglip` checkpoint): how it differs from ViT.
//!
//! - **No CLS token**: the sequence is the patches; positions `Embedding(N, D)` stored
//!   `[N, D]`, interpolated (with the flag) over the whole table.
//! - Patch convolution with bias; layers named as CLIP's; `gelu_pytorch_tanh`, eps 1e-6; no
//!   norm before the encoder.
//! - `last_hidden_state` = `post_layernorm` over all tokens.
//! - `pooler_output` (when `vision_use_head`, the default) = the **attention-pooling (MAP)
//!   head**: a learned `probe` `[1, 1, D]` attends over the tokens through
//!   `nn.MultiheadAttention` (`in_proj_{weight,bias}` packing q|k|v, `out_proj`), then
//!   `h + mlp(layernorm(h))`. No projection (`SiglipModel` L2-normalises afterwards).
//! - Files as CLIP's: `vision_model.` prefix in two-tower files (text tower, `logit_scale`,
//!   `logit_bias` ignored), none in a `SiglipVisionModel` saved alone.

use vitrs_kernels::Activation;

use super::{clip, Cls, Dims, Family, FinalNorm, Names, Pooling, Tokens, Variant};
use crate::config::Fields;
use crate::ModelError;

pub(crate) const DEFAULTS: Dims = Dims {
    hidden_size: 768,
    num_hidden_layers: 12,
    num_attention_heads: 12,
    intermediate_size: 3072,
    mlp_from_ratio: false,
    hidden_act: Activation::GeluTanh,
    layer_norm_eps: 1e-6,
    image_size: 224,
    patch_size: 16,
};

/// Reads `vision_use_head`.
pub(crate) fn read(f: &Fields) -> Result<Variant, ModelError> {
    let head = f.boolean("vision_use_head", true)?;
    Ok(Variant {
        family: Family::Siglip,
        tokens: Tokens {
            cls: Cls::None,
            distillation: false,
            registers: 0,
        },
        patch_bias: true,
        pre_norm: false,
        final_norm: FinalNorm::AllTokens,
        pooling: if head {
            Pooling::AttentionProbe
        } else {
            Pooling::None
        },
        ..clip::variant()
    })
}

/// SigLIP vision-tower names: CLIP's, with the MAP `head` and no projection.
pub const NAMES: Names = Names {
    cls: "",
    pre_norm: "",
    pooler: "head",
    projection: "",
    ignored: &["text_model.", "logit_scale", "logit_bias"],
    ..clip::NAMES
};
