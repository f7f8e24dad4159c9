//! `vitrs convert`: timm or JAX checkpoints (or HF ones, to change dtype) into an HF-layout
//! folder.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use vitrs_convert::{convert, DType, Format};

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
    /// Weights dtype of the output: f32, f16 or bf16.
    #[arg(long, default_value = "f32")]
    dtype: DType,
}

/// Runs the subcommand.
pub fn main(args: Args) -> Result<ExitCode> {
    let report = convert(&args.input, &args.out_dir, args.from, args.dtype)?;
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
