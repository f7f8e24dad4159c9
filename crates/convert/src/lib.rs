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
//! - [`write`](mod@write): the streaming safetensors writer.
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

/// A conversion ready to write: the source opened and the plan made, nothing written.
pub struct Conversion {
    format: Format,
    file: std::path::PathBuf,
    source: Box<dyn TensorSource>,
    plan: Plan,
}

/// Opens `input` (a file, or a folder holding `model.safetensors` / `*.npz`) and plans its
/// conversion. Reads headers and configs only.
pub fn prepare(input: &Path, from: Option<Format>) -> Result<Conversion, ConvertError> {
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
    Ok(Conversion {
        format,
        file,
        source,
        plan,
    })
}

impl Conversion {
    /// The layout read.
    pub fn format(&self) -> Format {
        self.format
    }

    /// The weights file read.
    pub fn weights_file(&self) -> &Path {
        &self.file
    }

    /// The plan.
    pub fn plan(&self) -> &Plan {
        &self.plan
    }

    /// Writes `model.safetensors` to `w` as `dtype` (`out` names it in errors); returns its
    /// size in bytes.
    pub fn write_weights(
        &self,
        w: &mut dyn std::io::Write,
        out: &Path,
        dtype: DType,
    ) -> Result<u64, ConvertError> {
        write::write_plan_to(&self.plan, self.source.as_ref(), w, out, dtype)
    }

    /// Writes `model.safetensors` to `w` as an int8 checkpoint: the encoder's linear weights
    /// (see [`write::is_quantized_linear`]) quantized per output channel to `I8` `X.weight`
    /// with an `F32` `X.weight_scale` `[out]` beside it (`weight ≈ weight_scale[:, None] ·
    /// weight`), every other tensor `F32`; the header's metadata says
    /// `"vitrs_quantization": "int8"`. `--dtype int8` loads it without quantizing again.
    pub fn write_weights_int8(
        &self,
        w: &mut dyn std::io::Write,
        out: &Path,
    ) -> Result<u64, ConvertError> {
        write::write_plan_int8_to(&self.plan, self.source.as_ref(), w, out)
    }

    /// The text of `config.json`.
    pub fn config_json(&self) -> String {
        serde_json::to_string_pretty(&self.plan.config).expect("JSON values serialise") + "\n"
    }

    /// The text of `preprocessor_config.json`, when the source says how it was trained.
    pub fn preprocessor_json(&self) -> Option<String> {
        self.plan
            .preprocessor
            .as_ref()
            .map(|pp| serde_json::to_string_pretty(pp).expect("JSON values serialise") + "\n")
    }

    /// What was done, once `bytes` of weights were written.
    pub fn report(&self, bytes: u64) -> Report {
        Report {
            format: self.format,
            tensors: self.plan.tensors.len(),
            bytes,
            architecture: self.plan.config["architectures"][0]
                .as_str()
                .unwrap_or("ViTModel")
                .to_string(),
        }
    }
}

/// Converts `input` into an HF-layout folder `out_dir` with weights stored as `dtype`.
///
/// Every file is written to a temporary file in `out_dir` first, and all are renamed into
/// place only once all are complete: on any error (a full disk included) nothing is left but
/// what was there before.
pub fn convert(
    input: &Path,
    out_dir: &Path,
    from: Option<Format>,
    dtype: DType,
) -> Result<Report, ConvertError> {
    let conversion = prepare(input, from)?;
    std::fs::create_dir_all(out_dir).map_err(|e| ConvertError::io(out_dir, e))?;
    let weights = out_dir.join("model.safetensors");
    let mut tmp = write::temp_beside(&weights)?;
    let bytes = {
        let mut w = std::io::BufWriter::new(tmp.as_file_mut());
        let bytes = conversion.write_weights(&mut w, &weights, dtype)?;
        std::io::Write::flush(&mut w).map_err(|e| ConvertError::io(&weights, e))?;
        bytes
    };
    let mut files = vec![(tmp, weights)];
    let texts = [
        Some(("config.json", conversion.config_json())),
        conversion
            .preprocessor_json()
            .map(|t| ("preprocessor_config.json", t)),
    ];
    for (name, text) in texts.into_iter().flatten() {
        let path = out_dir.join(name);
        let mut tmp = write::temp_beside(&path)?;
        std::io::Write::write_all(&mut tmp, text.as_bytes())
            .map_err(|e| ConvertError::io(&path, e))?;
        files.push((tmp, path));
    }
    for (tmp, path) in &files {
        tmp.as_file()
            .sync_all()
            .map_err(|e| ConvertError::io(path, e))?;
    }
    for (tmp, path) in files {
        tmp.persist(&path)
            .map_err(|e| ConvertError::io(&path, e.error))?;
    }
    Ok(conversion.report(bytes))
}
