//! The ViT graph of vitrs: what transformers' `ViTModel`, `ViTForImageClassification`,
//! DeiT, DINOv2, and the CLIP and SigLIP vision towers compute — one graph, each family's
//! differences declared as data in [`family`].
//!
//! ```text
//! pixel_values [B, C, H, W]
//!   → embeddings      patch GEMM, CLS, + position table        [B, T, D]
//!   → encoder         L × (LN, attention, +, LN, MLP, +)        [B, T, D]
//!   → layernorm                                                 [B, T, D]  last_hidden_state
//!   → pooler          act(W·x[:, 0] + b) / x[:, 0] / MAP head      [B, P]
//!   → projection      W·pooler_output      (CLIP)                  [B, E]     image_embeds
//!   → classifier      W·x[:, 0] + b        (ForImageClassification) [B, L]
//! ```
//!
//! - [`ViTConfig`]: the fields of `config.json`.
//! - [`checkpoint`]: safetensors files (single or sharded), memory-mapped.
//! - [`ViT`]: the loaded model and its [`ViT::forward`].
//!
//! ```no_run
//! use vitrs_model::{ForwardOptions, ViT};
//! let vit = ViT::load("path/to/vit-base-patch16-224-in21k".as_ref())?;
//! let pixels = vitrs_tensor::Tensor::zeros(&[1, 3, 224, 224])?;
//! let out = vit.forward(&pixels, &ForwardOptions::default())?;
//! assert_eq!(out.last_hidden_state.dims(), &[1, 197, 768]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod checkpoint;
mod config;
mod embeddings;
mod encoder;
mod error;
pub mod family;
mod heads;
mod interpolate;
mod output;
mod vit;
mod weights;

pub use checkpoint::{Checkpoint, WeightSource};
pub use config::{Layout, ViTConfig};
pub use error::ModelError;
pub use family::{Family, Variant};
pub use interpolate::{bicubic_resize, bicubic_resize_antialiased};
pub use output::{ForwardOptions, ViTOutput};
pub use vit::{ComputeDtype, LoadOptions, ViT, MAX_TOKENS};
