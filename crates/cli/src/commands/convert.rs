//! `vitrs convert`: timm or JAX checkpoints (or HF ones, to change dtype) into an HF-layout
//! folder.
//!
//! The folder's files are checked before anything is read (none may be an input: converting
//! a folder into itself is refused), written to temporary files, and renamed into place only
//! once all are complete; on any error, a full disk or a signal included, nothing is left
//! but what was there before (a folder this command created is removed again).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use vitrs::output::{Inputs, Target};
use vitrs_convert::prepare;

use super::values::{DTypeArg, SourceFormatArg};

/// `vitrs convert --help` examples.
pub const EXAMPLES: &str = "\
Examples:
  vitrs convert vit_base_patch16_224.augreg_in21k/model.safetensors vit-hf/
  vitrs convert ViT-B_16.npz vit-hf/ --from jax
  vitrs convert vit-hf/ vit-hf-bf16/ --dtype bf16";

/// Arguments of `vitrs convert`.
#[derive(clap::Args)]
pub struct Args {
    /// A timm `model.safetensors` (or its folder, with timm's config.json), a JAX `.npz`, or
    /// an HF folder.
    input: PathBuf,
    /// The folder to write (config.json, model.safetensors, preprocessor_config.json).
    out_dir: PathBuf,
    /// The source layout (detected when omitted).
    #[arg(long, value_enum)]
    from: Option<SourceFormatArg>,
    /// Weights dtype of the output: int8 quantizes the encoder's linear weights per output
    /// channel to I8 with F32 `weight_scale`s (the rest f32); the result runs with
    /// `--dtype int8` without quantizing again.
    #[arg(long, value_enum, default_value_t = DTypeArg::F32)]
    dtype: DTypeArg,
}

const FILES: [&str; 3] = [
    "model.safetensors",
    "config.json",
    "preprocessor_config.json",
];

/// `out_dir` must be a folder, or a name whose nearest existing ancestor is one.
fn check_out_dir(out_dir: &Path) -> Result<bool> {
    match std::fs::metadata(out_dir) {
        Ok(m) if m.is_dir() => return Ok(true),
        Ok(_) => bail!("{}: exists and is not a folder", out_dir.display()),
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            bail!(
                "{}: cannot use it as the output folder: {e}",
                out_dir.display()
            )
        }
        Err(_) => {}
    }
    let mut up = out_dir.parent();
    while let Some(p) = up.filter(|p| !p.as_os_str().is_empty()) {
        match std::fs::metadata(p) {
            Ok(m) if m.is_dir() => return Ok(false),
            Ok(_) => bail!("{}: {} is not a folder", out_dir.display(), p.display()),
            Err(_) => up = p.parent(),
        }
    }
    Ok(false)
}

/// Runs the subcommand.
pub fn main(args: Args) -> Result<ExitCode> {
    let mut inputs = Inputs::new();
    inputs.file(&args.input, "the checkpoint being converted");
    let input_dir = if args.input.is_dir() {
        args.input.clone()
    } else {
        args.input
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."))
            .to_path_buf()
    };
    inputs.folder(&input_dir, "a file of the checkpoint being converted");
    let existed = check_out_dir(&args.out_dir)?;
    if existed {
        for f in FILES {
            Target::check(&args.out_dir.join(f), &inputs)?;
        }
    }
    let conversion = prepare(&args.input, args.from.map(Into::into))?;
    if !existed {
        std::fs::create_dir_all(&args.out_dir)
            .with_context(|| format!("creating {}", args.out_dir.display()))?;
    }
    let result = write(&args, &conversion, &inputs);
    if result.is_err() && !existed {
        // Only if empty: what this command made, nothing else.
        let _ = std::fs::remove_dir(&args.out_dir);
    }
    let bytes = result?;
    let report = conversion.report(bytes);
    log::info!(
        "converted {:?} checkpoint: {} tensors, {:.1} MB as {} → {} ({})",
        report.format,
        report.tensors,
        report.bytes as f64 / 1e6,
        args.dtype.name(),
        args.out_dir.display(),
        report.architecture
    );
    Ok(ExitCode::SUCCESS)
}

/// Every file to a temporary file, then all renamed; returns the weights' size.
fn write(args: &Args, conversion: &vitrs_convert::Conversion, inputs: &Inputs) -> Result<u64> {
    let [weights, config, pre] = FILES.map(|f| args.out_dir.join(f));
    let mut partial = Target::check(&weights, inputs)?.create()?;
    let bytes = match args.dtype.float() {
        Some(dtype) => conversion.write_weights(&mut partial, &weights, dtype)?,
        None => conversion.write_weights_int8(&mut partial, &weights)?,
    };
    let mut done = vec![partial];
    let texts = [
        Some((config, conversion.config_json())),
        conversion.preprocessor_json().map(|t| (pre, t)),
    ];
    for (path, text) in texts.into_iter().flatten() {
        let mut p = Target::check(&path, inputs)?.create()?;
        p.write_all(text.as_bytes())
            .with_context(|| format!("writing {}", path.display()))?;
        done.push(p);
    }
    for p in done {
        p.commit()?;
    }
    Ok(bytes)
}
