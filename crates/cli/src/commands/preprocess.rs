//! `vitrs preprocess`: image files to `pixel_values`, exactly as transformers'
//! `ViTImageProcessor` (PIL backend) makes them.
//!
//! A contract other tools drive: OUT gets `pixel_values` f32 `[N, 3, H, W]`, images in
//! argument order.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Result};
use vitrs_image::{ImageProcessor, Limits};
use vitrs_tensor::Tensor;

use vitrs::io::write_tensors_to;
use vitrs::output::{Destination, Inputs};

/// Arguments of `vitrs preprocess`.
#[derive(clap::Args)]
pub struct Args {
    /// Image files, in the order their rows should have.
    #[arg(required = true)]
    images: Vec<PathBuf>,
    /// Model folder whose preprocessor_config.json to follow (transformers' defaults if it
    /// has none).
    #[arg(long)]
    model: PathBuf,
    /// Where to write `pixel_values` (safetensors; `-` for stdout).
    #[arg(long, short)]
    output: PathBuf,
    /// Largest image accepted, in pixels (width × height), checked before decoding.
    #[arg(long, default_value_t = vitrs_image::DEFAULT_MAX_PIXELS)]
    max_pixels: u64,
}

/// Runs the subcommand. Every image must succeed: rows are positional, so a missing one
/// would shift the rest.
pub fn main(args: Args) -> Result<ExitCode> {
    let mut inputs = Inputs::new();
    for path in &args.images {
        inputs.file(path, "an image being preprocessed");
    }
    inputs.folder(&args.model, "a file of the model");
    let dest = Destination::parse(&args.output, &inputs)?;
    dest.check_binary("safetensors")?;
    let mut processor = ImageProcessor::from_dir(&args.model)?;
    processor.set_limits(Limits {
        max_pixels: args.max_pixels,
    });
    let mut rows = Vec::with_capacity(args.images.len());
    let mut failures = Vec::new();
    for path in &args.images {
        match processor.preprocess_path(path) {
            Ok(t) => rows.push(t),
            Err(e) => failures.push(e.to_string()),
        }
    }
    if !failures.is_empty() {
        bail!("{} (nothing written)", failures.join("; "));
    }
    let dims = rows[0].dims().to_vec();
    if let Some(other) = rows.iter().find(|r| r.dims() != dims.as_slice()) {
        bail!(
            "images preprocess to different sizes ({:?} and {:?}): this config keeps the aspect \
             ratio, so they cannot share one tensor; preprocess them one at a time",
            dims,
            other.dims()
        );
    }
    let mut shape = vec![rows.len()];
    shape.extend(&dims);
    let data = rows.iter().flat_map(|r| r.data().iter().copied()).collect();
    let pixels = Tensor::new(&shape, data)?;
    write_tensors_to(
        &dest,
        &[("pixel_values".to_string(), &pixels)],
        Default::default(),
    )?;
    Ok(ExitCode::SUCCESS)
}
