//! vitrs: Vision Transformers on a CPU, without Python.
//!
//! This crate is both the `vitrs` command and the library API that reads like it: resolve a
//! model (a folder, a Hub id or a `random:` architecture), load it with its image processor,
//! and embed or classify images.
//!
//! - [`embed`]: input expansion, pooling and output formats of `vitrs embed`.
//! - [`pipeline`]: a model with its image processor: embed and classify files.
//! - [`load`]: a `--model` argument to a loaded model.
//! - [`io`]: safetensors in and out, written atomically.
//! - [`output`]: output paths checked before any work, atomic writes, cleanup on signals.
//! - [`limits`]: command-line numbers checked against the machine (threads, batch memory).
//! - [`zoo`]: `random:NAME`, the Hub's architectures with seeded random weights.
//! - [`hub`]: finding a model folder from a Hub id in the Hugging Face cache, or downloading it.

pub mod embed;
pub mod hub;
pub mod io;
pub mod limits;
pub mod load;
pub mod output;
pub mod pipeline;
pub mod zoo;
