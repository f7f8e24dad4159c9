//! `vitrs convert`: timm or JAX checkpoints (or HF ones, to change dtype) into an HF-layout
//! folder.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use vitrs_convert::{convert, convert_int8, DType, Format};

/// Arguments of `vitrs convert`.
#[derive(clap::Args)]
pub struct Args {
    /// A timm `model.safetensors` (or its folder, with timm's config.json), a JAX `.npz`, or
    /// an HF folder.
    input: PathBuf,
    /// The folder to write (config.json, model.safetensors, preprocessor_config.json).
    out_dir: PathBuf,
    /// The source layout: timm, jax or hf (detected when omitted).
    #[arg(long)]
    from: Option<Format>,
    /// Weights dtype of the output: f32, f16, bf16, or int8 (the encoder's linear weights
    /// quantized per output channel to I8 with F32 `weight_scale`s, the rest f32; runs with
    /// `--dtype int8` without quantizing again).
    #[arg(long, default_value = "f32")]
    dtype: OutDtype,
}

/// `--dtype` of `convert`: a float dtype, or int8.
#[derive(Debug, Clone, Copy)]
enum OutDtype {
    Float(DType),
    Int8,
}

impl std::str::FromStr for OutDtype {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "int8" => Ok(OutDtype::Int8),
            other => other
                .parse::<DType>()
                .map(OutDtype::Float)
                .map_err(|e| format!("{e} (or int8)")),
        }
    }
}

impl std::fmt::Display for OutDtype {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OutDtype::Float(d) => write!(f, "{d}"),
            OutDtype::Int8 => f.write_str("int8"),
        }
    }
}

/// Runs the subcommand.
pub fn main(args: Args) -> Result<ExitCode> {
    let report = match args.dtype {
        OutDtype::Float(dtype) => convert(&args.input, &args.out_dir, args.from, dtype)?,
        OutDtype::Int8 => convert_int8(&args.input, &args.out_dir, args.from)?,
    };
    eprintln!(
        "converted {:?} checkpoint: {} tensors, {:.1} MB as {} → {} ({})",
        report.format,
        report.tensors,
        report.bytes as f64 / 1e6,
        args.dtype,
        args.out_dir.display(),
        report.architecture
    );
    Ok(ExitCode::SUCCESS)
}
