//! Checkpoints that exist only as timm or original JAX files, into the Hugging Face layout
//! every vitrs command (and transformers) loads.
//!
//! ```text
//! source (timm safetensors | JAX .npz | HF safetensors)
//!   → plan: every HF tensor, its shape, and how to make it from one source tensor
//!   → model.safetensors written header first, then tensor by tensor
//!   → config.json (+ preprocessor_config.json from timm's pretrained_cfg)
//! ```
//!
//! Conversion streams: one source tensor is decoded at a time, so memory stays near the
//! largest tensor. Variants that are a different model (fc_norm, LayerScale, register tokens,
//! no CLS token, average pooling) are refused by name.
//!
//! - [`source`]: reading tensors from safetensors and `.npz` files ([`npy`] parses members).
//! - [`timm`], [`jax`], [`hf`]: the three mappings.
//! - [`write`]: the streaming safetensors writer.
//! - [`convert`]: the whole job.

mod error;
pub mod hf;
pub mod jax;
pub mod npy;
mod plan;
pub mod source;
pub mod timm;
pub mod write;

use std::path::Path;

pub use error::ConvertError;
pub use plan::{Plan, PlannedTensor, Transform};
use source::{Npz, SafetensorsSource, TensorSource};
pub use vitrs_tensor::DType;

/// The layouts vitrs converts from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// timm `VisionTransformer` weights (safetensors).
    Timm,
    /// The original JAX `.npz` of google-research/vision_transformer.
    Jax,
    /// Already Hugging Face (re-encode only).
    Hf,
}

impl std::str::FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "timm" => Ok(Format::Timm),
            "jax" => Ok(Format::Jax),
            "hf" => Ok(Format::Hf),
            _ => Err(format!("unknown format {s:?}; expected timm, jax or hf")),
        }
    }
}

/// What [`convert`] did.
#[derive(Debug, Clone)]
pub struct Report {
    /// The layout read.
    pub format: Format,
    /// Tensors written.
    pub tensors: usize,
    /// Bytes of `model.safetensors`.
    pub bytes: u64,
    /// The architecture written (`ViTModel` or `ViTForImageClassification`).
    pub architecture: String,
}

/// Finds the weights file and layout of `input` (a file, or a folder holding
/// `model.safetensors` / `*.npz`).
fn locate(
    input: &Path,
    from: Option<Format>,
) -> Result<(std::path::PathBuf, Format), ConvertError> {
    let file = if input.is_dir() {
        let st = input.join("model.safetensors");
        if st.exists() {
            st
        } else {
            std::fs::read_dir(input)
                .map_err(|e| ConvertError::io(input, e))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .find(|p| p.extension().is_some_and(|e| e == "npz"))
                .ok_or_else(|| ConvertError::Unknown {
                    path: input.to_path_buf(),
                    found: "no model.safetensors or .npz file".into(),
                })?
        }
    } else {
        input.to_path_buf()
    };
    if let Some(f) = from {
        return Ok((file, f));
    }
    if file.extension().is_some_and(|e| e == "npz") {
        return Ok((file, Format::Jax));
    }
    let src = SafetensorsSource::open(&file)?;
    let names = src.names();
    let format = if names
        .iter()
        .any(|n| n == "cls_token" || n.starts_with("blocks."))
    {
        Format::Timm
    } else if names.iter().any(|n| n.contains("embeddings.cls_token")) {
        Format::Hf
    } else {
        return Err(ConvertError::Unknown {
            path: file,
            found: format!(
                "tensors [{}]",
                names.iter().take(6).cloned().collect::<Vec<_>>().join(", ")
            ),
        });
    };
    Ok((file, format))
}

/// Converts `input` into an HF-layout folder `out_dir` with weights stored as `dtype`.
pub fn convert(
    input: &Path,
    out_dir: &Path,
    from: Option<Format>,
    dtype: DType,
) -> Result<Report, ConvertError> {
    convert_as(input, out_dir, from, Some(dtype))
}

/// [`convert`] to an int8 checkpoint: the encoder's linear weights (see
/// [`write::is_quantized_linear`]) quantized per output channel to `I8` `name.weight` with an
/// `F32` `name.weight_scale` `[out]` beside it (`weight ≈ weight_scale[:, None] · weight`),
/// every other tensor `F32`; the header's metadata says `"vitrs_quantization": "int8"`.
/// `vitrs --dtype int8` loads it without quantizing again.
pub fn convert_int8(
    input: &Path,
    out_dir: &Path,
    from: Option<Format>,
) -> Result<Report, ConvertError> {
    convert_as(input, out_dir, from, None)
}

/// `dtype` `None` is int8.
fn convert_as(
    input: &Path,
    out_dir: &Path,
    from: Option<Format>,
    dtype: Option<DType>,
) -> Result<Report, ConvertError> {
    let (file, format) = locate(input, from)?;
    let source: Box<dyn TensorSource> = match format {
        Format::Jax => Box::new(Npz::open(&file)?),
        _ => Box::new(SafetensorsSource::open(&file)?),
    };
    let folder = file.parent().unwrap_or(Path::new("."));
    let plan = match format {
        Format::Timm => timm::plan(source.as_ref(), &folder.join("config.json"))?,
        Format::Jax => jax::plan(source.as_ref())?,
        Format::Hf => hf::plan(source.as_ref(), &folder.join("config.json"))?,
    };
    std::fs::create_dir_all(out_dir).map_err(|e| ConvertError::io(out_dir, e))?;
    let out = out_dir.join("model.safetensors");
    let bytes = match dtype {
        Some(dtype) => write::write_plan(&plan, source.as_ref(), &out, dtype)?,
        None => write::write_plan_int8(&plan, source.as_ref(), &out)?,
    };
    let config = serde_json::to_string_pretty(&plan.config).expect("JSON values serialise");
    std::fs::write(out_dir.join("config.json"), config + "\n")
        .map_err(|e| ConvertError::io(out_dir, e))?;
    if let Some(pp) = &plan.preprocessor {
        let text = serde_json::to_string_pretty(pp).expect("JSON values serialise");
        std::fs::write(out_dir.join("preprocessor_config.json"), text + "\n")
            .map_err(|e| ConvertError::io(out_dir, e))?;
    }
    Ok(Report {
        format,
        tensors: plan.tensors.len(),
        bytes,
        architecture: plan.config["architectures"][0]
            .as_str()
            .unwrap_or("ViTModel")
            .to_string(),
    })
}
