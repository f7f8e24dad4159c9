//! CLIP's vision tower (`model_type: clip_vision_model`, or the `vision_config` of a two-tower
//! `clip` checkpoint): how it differs from ViT.
//!
//! - Patch convolution **without bias**; the class token is a 1-D `class_embedding` `[D]`;
//!   the position table is an `nn.Embedding` stored `[N+1, D]`.
//! - **`pre_layrnorm`** (sic) over the whole sequence before layer 0.
//! - Layers: `layer_norm1`, `self_attn.{q,k,v,out}_proj`, `layer_norm2`, `mlp.fc1/fc2`;
//!   `quick_gelu`, eps 1e-5.
//! - `last_hidden_state` is the raw last layer (**not normed**); `pooler_output` =
//!   `post_layernorm(h[:, 0])`; with `visual_projection` (`CLIPVisionModelWithProjection`, or a
//!   two-tower `CLIPModel` file) `image_embeds` = projection of `pooler_output` (no bias, not
//!   L2-normalised: `CLIPModel` normalises afterwards).
//! - Files: a `CLIPVisionModel` saved alone has no prefix; `WithProjection` and two-tower files
//!   put the tower under `vision_model.` and the projection at the root; the text tower
//!   (`text_model.*`, `text_projection`, `logit_scale`) is ignored.

use vitrs_kernels::Activation;

use super::{vit, Cls, Dims, Family, FinalNorm, Names, Pooling, Positions, Tokens, Variant};

pub(crate) const DEFAULTS: Dims = Dims {
    hidden_size: 768,
    num_hidden_layers: 12,
    num_attention_heads: 12,
    intermediate_size: 3072,
    mlp_from_ratio: false,
    hidden_act: Activation::QuickGelu,
    layer_norm_eps: 1e-5,
    image_size: 224,
    patch_size: 32,
};

/// The CLIP vision tower's variant.
pub fn variant() -> Variant {
    Variant {
        family: Family::Clip,
        tokens: Tokens {
            cls: Cls::Vector,
            distillation: false,
            registers: 0,
        },
        patch_bias: false,
        positions: Positions {
            always_resize: false,
            antialias: false,
            leading_one: false,
        },
        pre_norm: true,
        final_norm: FinalNorm::FirstToken,
        pooling: Pooling::FirstToken,
        ..vit::variant()
    }
}

/// The CLIP / SigLIP vision-tower names (SigLIP's file shares them).
pub const NAMES: Names = Names {
    prefixes: &["vision_model.", ""],
    cls: "embeddings.class_embedding",
    distillation: "",
    registers: "",
    positions: "embeddings.position_embedding.weight",
    patch: "embeddings.patch_embedding",
    pre_norm: "pre_layrnorm",
    layers: "encoder.layers",
    norm1: "layer_norm1",
    qkv: ["self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj"],
    attn_out: "self_attn.out_proj",
    layer_scale1: "",
    norm2: "layer_norm2",
    mlp: ["mlp.fc1", "mlp.fc2"],
    swiglu: ["", ""],
    layer_scale2: "",
    final_norm: "post_layernorm",
    pooler: "",
    projection: "visual_projection",
    classifier: "",
    teacher: ["", ""],
    ignored: &["text_model.", "text_projection.", "logit_scale"],
};
