//! ViT (`model_type: vit`) — the baseline every other family is described against.
//!
//! ```text
//! [CLS, patches] + positions (resized only with interpolate_pos_encoding)
//!   → L × (LN, attention, +, LN, MLP, +) → layernorm (all tokens)   last_hidden_state
//!   → tanh(dense(token 0)) when the file has `pooler.dense`            pooler_output
//!   → classifier(token 0) under `vit.`                                 logits
//! ```

use vitrs_kernels::Activation;

use super::{Cls, Dims, Family, FinalNorm, MlpKind, Names, Pooling, Positions, Tokens, Variant};

pub(crate) const DEFAULTS: Dims = Dims {
    hidden_size: 768,
    num_hidden_layers: 12,
    num_attention_heads: 12,
    intermediate_size: 3072,
    mlp_from_ratio: false,
    hidden_act: Activation::Gelu,
    layer_norm_eps: 1e-12,
    image_size: 224,
    patch_size: 16,
};

/// `ViTModel`'s variant.
pub fn variant() -> Variant {
    Variant {
        family: Family::Vit,
        tokens: Tokens {
            cls: Cls::Token,
            distillation: false,
            registers: 0,
        },
        patch_bias: true,
        positions: Positions {
            always_resize: false,
            antialias: false,
            leading_one: true,
        },
        pre_norm: false,
        layer_scale: false,
        mlp: MlpKind::Plain,
        final_norm: FinalNorm::AllTokens,
        pooling: Pooling::Dense,
    }
}

/// `ViTModel` / `ViTForImageClassification` tensor names.
pub const NAMES: Names = Names {
    prefixes: &["vit.", ""],
    cls: "embeddings.cls_token",
    distillation: "",
    registers: "",
    positions: "embeddings.position_embeddings",
    patch: "embeddings.patch_embeddings.projection",
    pre_norm: "",
    layers: "encoder.layer",
    norm1: "layernorm_before",
    qkv: [
        "attention.attention.query",
        "attention.attention.key",
        "attention.attention.value",
    ],
    attn_out: "attention.output.dense",
    layer_scale1: "",
    norm2: "layernorm_after",
    mlp: ["intermediate.dense", "output.dense"],
    swiglu: ["", ""],
    layer_scale2: "",
    final_norm: "layernorm",
    pooler: "pooler.dense",
    projection: "",
    classifier: "classifier",
    teacher: ["", ""],
    ignored: &["embeddings.mask_token"],
};
