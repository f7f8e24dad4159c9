//! The families that share the one encoder, and what each declares differently.
//!
//! Every family is a ViT: patch embedding, a few tokens before the patches, a position table,
//! L pre-norm layers, a final norm and a pooling head. What differs is data — a [`Variant`]
//! read from `config.json` and a table of [`Names`] for its checkpoint tensors — and each
//! family's file says, in one place, how it differs from `ViTModel`:
//!
//! - [`vit`]: the baseline.
//! - [`deit`]: a distillation token; the two-headed classifier of the teacher variant.
//! - [`dinov2`]: LayerScale, SwiGLU, register tokens, a table always resized to the input.
//! - [`clip`]: no patch bias, a 1-D class embedding, a norm before the encoder, no final norm
//!   on the tokens, a projection.
//! - [`siglip`]: no CLS token, an attention-pooling (MAP) head.

pub mod clip;
pub mod deit;
pub mod dinov2;
pub mod siglip;
pub mod vit;

use crate::config::Fields;
use crate::ModelError;

/// The checkpoint families vitrs runs, by `model_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// `vit`: `ViTModel`, `ViTForImageClassification`.
    Vit,
    /// `deit`: `DeiTModel`, `DeiTForImageClassification(WithTeacher)`.
    Deit,
    /// `dinov2`: `Dinov2Model`.
    Dinov2,
    /// `dinov2_with_registers`: `Dinov2WithRegistersModel`.
    Dinov2WithRegisters,
    /// `clip`, `clip_vision_model`: the vision tower, with or without projection.
    Clip,
    /// `siglip`, `siglip_vision_model`: the vision tower.
    Siglip,
}

/// The `model_type`s accepted in `config.json`, for error messages and early refusal.
pub const MODEL_TYPES: &[&str] = &[
    "vit",
    "deit",
    "dinov2",
    "dinov2_with_registers",
    "clip",
    "clip_vision_model",
    "siglip",
    "siglip_vision_model",
];

impl Family {
    /// The family of a `model_type`, if vitrs runs it.
    pub fn from_model_type(model_type: &str) -> Option<Family> {
        Some(match model_type {
            "vit" => Family::Vit,
            "deit" => Family::Deit,
            "dinov2" => Family::Dinov2,
            "dinov2_with_registers" => Family::Dinov2WithRegisters,
            "clip" | "clip_vision_model" => Family::Clip,
            "siglip" | "siglip_vision_model" => Family::Siglip,
            _ => return None,
        })
    }

    /// Its name as the CLI shows it.
    pub fn name(self) -> &'static str {
        match self {
            Family::Vit => "vit",
            Family::Deit => "deit",
            Family::Dinov2 => "dinov2",
            Family::Dinov2WithRegisters => "dinov2_with_registers",
            Family::Clip => "clip",
            Family::Siglip => "siglip",
        }
    }

    /// Its name in prose ("ViT", "DINOv2", "CLIP vision"...).
    pub fn title(self) -> &'static str {
        match self {
            Family::Vit => "ViT",
            Family::Deit => "DeiT",
            Family::Dinov2 => "DINOv2",
            Family::Dinov2WithRegisters => "DINOv2 with registers",
            Family::Clip => "CLIP vision",
            Family::Siglip => "SigLIP vision",
        }
    }

    /// Two-tower checkpoints (`clip`, `siglip`) keep the vision fields under `vision_config`.
    pub fn has_vision_config(self) -> bool {
        matches!(self, Family::Clip | Family::Siglip)
    }

    /// The family's tensor names.
    pub fn names(self) -> &'static Names {
        match self {
            Family::Vit => &vit::NAMES,
            Family::Deit => &deit::NAMES,
            Family::Dinov2 | Family::Dinov2WithRegisters => &dinov2::NAMES,
            Family::Clip => &clip::NAMES,
            Family::Siglip => &siglip::NAMES,
        }
    }

    /// Reads what the family's config says beyond the shared fields.
    pub(crate) fn read(self, f: &Fields, dims: &mut Dims) -> Result<Variant, ModelError> {
        match self {
            Family::Vit => Ok(vit::variant()),
            Family::Deit => Ok(deit::variant()),
            Family::Dinov2 | Family::Dinov2WithRegisters => dinov2::read(self, f, dims),
            Family::Clip => Ok(clip::variant()),
            Family::Siglip => siglip::read(f),
        }
    }

    /// Transformers' defaults of the shared fields for this family's config class.
    pub(crate) fn defaults(self) -> Dims {
        match self {
            Family::Vit | Family::Deit => vit::DEFAULTS,
            Family::Dinov2 | Family::Dinov2WithRegisters => dinov2::DEFAULTS,
            Family::Clip => clip::DEFAULTS,
            Family::Siglip => siglip::DEFAULTS,
        }
    }
}

/// The shared config fields' defaults, per family.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Dims {
    pub hidden_size: usize,
    pub num_hidden_layers: usize,
    pub num_attention_heads: usize,
    pub intermediate_size: usize,
    /// The MLP width comes from `mlp_ratio` (DINOv2), not `intermediate_size`.
    pub mlp_from_ratio: bool,
    pub hidden_act: vitrs_kernels::Activation,
    pub layer_norm_eps: f64,
    pub image_size: usize,
    pub patch_size: usize,
}

/// The first token: a learned `[1, 1, D]` CLS (ViT), a 1-D `[D]` class embedding (CLIP), or
/// none (SigLIP).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cls {
    /// No class token: the sequence is the patches.
    None,
    /// `[1, 1, D]`.
    Token,
    /// `[D]`.
    Vector,
}

/// The tokens before the patches: `[CLS?, DIST?, REG × registers, patches]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tokens {
    /// The class token.
    pub cls: Cls,
    /// A distillation token after CLS, with its own position row (DeiT).
    pub distillation: bool,
    /// Register tokens after CLS, added after the positions (no position row).
    pub registers: usize,
}

impl Tokens {
    /// Tokens before the patches that have a position row (CLS and DIST).
    pub fn positioned(&self) -> usize {
        usize::from(self.cls != Cls::None) + usize::from(self.distillation)
    }

    /// All tokens before the patches.
    pub fn prefix(&self) -> usize {
        self.positioned() + self.registers
    }
}

/// When and how the position table is resized to another patch grid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Positions {
    /// Resized for every input whose grid differs (DINOv2), not only with
    /// `interpolate_pos_encoding`.
    pub always_resize: bool,
    /// PyTorch's antialiased bicubic instead of the plain one (DINOv2 with registers).
    pub antialias: bool,
    /// The table is stored `[1, P, D]` (a parameter) rather than `[P, D]` (an `nn.Embedding`).
    pub leading_one: bool,
}

/// The MLP of each layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MlpKind {
    /// `fc2(act(fc1 x))`.
    Plain,
    /// `out(silu(gate) ⊙ up)` with `[gate; up]` packed in one `[2F, D]` weight.
    SwiGlu,
}

/// Where the final norm goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FinalNorm {
    /// Over every token: `last_hidden_state` is normed.
    AllTokens,
    /// On the pooled first token only; `last_hidden_state` is the raw last layer (CLIP).
    FirstToken,
}

/// What `pooler_output` is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pooling {
    /// `act(dense(token 0))` when the checkpoint has the dense layer, else none (ViT, DeiT).
    Dense,
    /// The normed first token itself (DINOv2, CLIP).
    FirstToken,
    /// The attention-pooling head over all tokens (SigLIP).
    AttentionProbe,
    /// No pooler output.
    None,
}

/// What a family computes differently from `ViTModel`, as data the loader fills in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Variant {
    /// The family.
    pub family: Family,
    /// Tokens before the patches.
    pub tokens: Tokens,
    /// Whether the patch convolution has a bias.
    pub patch_bias: bool,
    /// The position table.
    pub positions: Positions,
    /// A LayerNorm over the embeddings before layer 0 (CLIP's `pre_layrnorm`).
    pub pre_norm: bool,
    /// LayerScale `λ ⊙` on both residual branches (DINOv2).
    pub layer_scale: bool,
    /// The layers' MLP.
    pub mlp: MlpKind,
    /// The final norm.
    pub final_norm: FinalNorm,
    /// The pooler.
    pub pooling: Pooling,
}

/// A family's checkpoint names, relative to the tower prefix (heads at the file's root).
#[derive(Debug, Clone, Copy)]
pub struct Names {
    /// Tower prefixes, the first whose patch weight exists wins (`"vit."`, `"vision_model."`, `""`).
    pub prefixes: &'static [&'static str],
    /// Class token.
    pub cls: &'static str,
    /// Distillation token.
    pub distillation: &'static str,
    /// Register tokens `[1, R, D]`.
    pub registers: &'static str,
    /// Position table.
    pub positions: &'static str,
    /// Patch convolution (`.weight`, `.bias`).
    pub patch: &'static str,
    /// Norm before the encoder.
    pub pre_norm: &'static str,
    /// The layer list (`encoder.layer`, `encoder.layers`).
    pub layers: &'static str,
    /// In a layer: the norm before attention.
    pub norm1: &'static str,
    /// Query, key and value projections.
    pub qkv: [&'static str; 3],
    /// Attention output projection.
    pub attn_out: &'static str,
    /// LayerScale of the attention branch.
    pub layer_scale1: &'static str,
    /// The norm before the MLP.
    pub norm2: &'static str,
    /// Plain MLP: first and second linear; SwiGLU: packed in and out.
    pub mlp: [&'static str; 2],
    /// SwiGLU's packed in and out.
    pub swiglu: [&'static str; 2],
    /// LayerScale of the MLP branch.
    pub layer_scale2: &'static str,
    /// The final norm.
    pub final_norm: &'static str,
    /// The pooler (`pooler.dense` or the SigLIP `head`).
    pub pooler: &'static str,
    /// At the root: the projection of `pooler_output` (`image_embeds`).
    pub projection: &'static str,
    /// At the root: the classifier on token 0.
    pub classifier: &'static str,
    /// At the root: the two heads of the teacher variant (tokens 0 and 1, averaged).
    pub teacher: [&'static str; 2],
    /// Tensors the file may hold that the vision tower never reads (matched as name
    /// prefixes, with and without the tower prefix).
    pub ignored: &'static [&'static str],
}
