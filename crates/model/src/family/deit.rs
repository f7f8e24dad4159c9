//! DeiT (`model_type: deit`): ViT plus a distillation token.
//!
//! - The sequence is `[CLS, DIST, patches]`; the table has a row for each (`[1, N+2, D]`),
//!   and interpolation keeps the first two rows and resizes the rest.
//! - `DeiTForImageClassificationWithTeacher`: `cls_classifier` on token 0 and
//!   `distillation_classifier` on token 1; `logits` is their mean.
//! - Everything else (blocks, final `layernorm`, optional tanh pooler, eps 1e-12, tensor
//!   names under `deit.`) is ViT's.

use super::{vit, Family, Names, Tokens, Variant};

/// `DeiTModel`'s variant.
pub fn variant() -> Variant {
    Variant {
        family: Family::Deit,
        tokens: Tokens {
            distillation: true,
            ..vit::variant().tokens
        },
        ..vit::variant()
    }
}

/// DeiT tensor names: ViT's under `deit.`, plus the distillation token and teacher heads.
pub const NAMES: Names = Names {
    prefixes: &["deit.", ""],
    distillation: "embeddings.distillation_token",
    teacher: ["cls_classifier", "distillation_classifier"],
    ..vit::NAMES
};
