//! vitrs: Vision Transformers on a CPU, without Python.
//!
//! This crate is both the `vitrs` command and the library API that reads like it: resolve a
//! model (a folder, a Hub id or a `random:` architecture), load it with its image processor,
//! and embed or classify images given as files, encoded bytes or decoded pixels.
//!
//! ```no_run
//! use vitrs::{Pipeline, Pool};
//!
//! fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     // A Hub id (from the Hugging Face cache, or downloaded), a folder, or random:NAME.
//!     let vit = Pipeline::from_pretrained("google/vit-base-patch16-224")?;
//!     let embedding = vit.embed("cat.jpg", Pool::Cls)?; // a vitrs::Tensor of dims [768]
//!     let values: &[f32] = embedding.data();
//!     println!("{} values, first {}", values.len(), values[0]);
//!     let bytes = std::fs::read("cat.jpg")?; // or encoded bytes from anywhere
//!     for p in vit.classify(&bytes[..], 5)? {
//!         println!("{:.3} {}", p.probability, p.label);
//!     }
//!     Ok(())
//! }
//! ```
//!
//! - [`Pipeline`] ([`pipeline`]): a model with its image processor; [`Input`] is what it
//!   reads, [`PipelineBuilder`] its options.
//! - [`Error`]: the one error type, wrapping the lower crates' errors.
//! - [`embed`]: input expansion, pooling and output formats of `vitrs embed`.
//! - [`load`]: a model name to a loaded model.
//! - [`io`]: safetensors in and out, written atomically.
//! - [`output`]: output paths checked before any work, atomic writes, cleanup on signals.
//! - [`limits`]: command-line numbers checked against the machine (threads, batch memory).
//! - [`zoo`]: `random:NAME`, the Hub's architectures with seeded random weights.
//! - [`hub`]: finding a model folder from a Hub id in the Hugging Face cache, or downloading it
//!   (the `hub` feature).
//!
//! # Features
//!
//! - `hub` (default): download models from the Hugging Face Hub (`hf-hub`, `ureq`, `rustls`).
//!   Without it, Hub ids are still found in the local Hugging Face cache.
//! - `progress` (default, with `cli`): a progress bar while downloading (`indicatif`).
//! - `cli` (default): the `vitrs` binary and what only it needs (`clap`, `clap_complete`,
//!   `anyhow`, `signal-hook`).
//! - `libjpeg` (default): JPEG decoding bit-identical to Pillow's (libjpeg-turbo, built with the
//!   system C compiler); without it JPEGs go through the `image` crate's decoder, a level or
//!   two off on some pixels.
//!
//! A library that wants no network or terminal crates depends on
//! `vitrs = { version = "0.1", default-features = false, features = ["libjpeg"] }`.
//!
//! The library never prints: what it has to say (a `random:` model in use, a clamped thread
//! count, a skipped file) goes to the [`log`](https://docs.rs/log) crate, for the
//! application's logger to show or not.

pub mod embed;
pub mod error;
pub mod hub;
pub mod io;
pub mod limits;
pub mod load;
pub mod output;
pub mod pipeline;
pub mod zoo;

pub use embed::Pool;
pub use error::{Error, Result};
pub use pipeline::{Embedded, Input, Pipeline, PipelineBuilder, Prediction, Skipped};
/// The `image` crate vitrs decodes with, for building [`Input::Image`] / [`Input::Rgb`].
pub use vitrs_image::image;
pub use vitrs_image::{Backend, ImageProcessor, Limits};
pub use vitrs_model::{ForwardOptions, LoadOptions, ViT, ViTConfig, ViTOutput};
pub use vitrs_tensor::Tensor;
