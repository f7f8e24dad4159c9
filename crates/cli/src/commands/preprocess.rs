//! `vitrs preprocess`: image files to `pixel_values`, exactly as transformers'
//! `ViTImageProcessor` makes them (torchvision backend by default, `--backend pil` for
//! `ViTImageProcessorPil`).
//!
//! A contract other tools drive: OUT gets `pixel_values` f32 `[N, 3, H, W]`, images in
//! argument order.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Result};
use vitrs_image::Limits;
use vitrs_tensor::Tensor;

use vitrs::io::write_tensors_to;
use vitrs::output::{Destination, Inputs};

/// `vitrs preprocess --help` examples.
pub const EXAMPLES: &str = "\
Examples:
  vitrs preprocess cat.jpg dog.png --model google/vit-base-patch16-224 -o pixels.safetensors
  vitrs preprocess cat.jpg --model ./my-vit --backend pil --no-exif -o - | xxd | head";

/// Arguments of `vitrs preprocess`.
#[derive(clap::Args)]
pub struct Args {
    /// Image files, in the order their rows should have.
    #[arg(required = true)]
    images: Vec<PathBuf>,
    /// The model whose preprocessor_config.json to follow, named as for `embed`: a folder
    /// (transformers' defaults if it has none), a Hub id (org/name[@revision]) or
    /// random:NAME. A folder that does not exist is an error.
    #[arg(long)]
    model: String,
    /// Where to write `pixel_values` (safetensors; `-` for stdout).
    #[arg(long, short)]
    output: PathBuf,
    /// Largest image accepted, in pixels (width × height), checked before decoding.
    #[arg(long, default_value_t = vitrs_image::DEFAULT_MAX_PIXELS)]
    max_pixels: u64,
    #[command(flatten)]
    image: super::image_args::ImageArgs,
}

/// Runs the subcommand. Every image must succeed: rows are positional, so a missing one
/// would shift the rest.
pub fn main(args: Args) -> Result<ExitCode> {
    let mut inputs = Inputs::new();
    for path in &args.images {
        inputs.file(path, "an image being preprocessed");
    }
    inputs.model(&args.model);
    let dest = Destination::parse(&args.output, &inputs)?;
    dest.check_binary("safetensors")?;
    let mut processor = vitrs::load::image_processor(&args.model)?;
    args.image.apply(&mut processor)?;
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
