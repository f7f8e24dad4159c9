//! `vitrs classify`: the most likely labels of each image, as a table or JSON.

use std::process::ExitCode;

use anyhow::Result;
use vitrs::embed::inputs;
use vitrs::load::ModelArgs;
use vitrs::pipeline::Pipeline;

/// Arguments of `vitrs classify`.
#[derive(clap::Args)]
pub struct Args {
    /// Image files, directories (walked recursively, image types only) and glob patterns.
    #[arg(required = true)]
    paths: Vec<String>,
    #[command(flatten)]
    model: ModelArgs,
    #[command(flatten)]
    image: super::image_args::ImageArgs,
    /// How many labels to show per image.
    #[arg(long, default_value_t = 5)]
    top_k: usize,
    /// One JSON object per image on stdout instead of a table.
    #[arg(long)]
    json: bool,
    /// Worker threads (default: one per core).
    #[arg(long)]
    threads: Option<usize>,
}

/// Runs the subcommand.
pub fn main(args: Args) -> Result<ExitCode> {
    vitrs_kernels::threads::init(
        args.threads
            .unwrap_or_else(vitrs_kernels::threads::available),
    );
    let paths = inputs::expand(&args.paths)?;
    let mut pipeline = Pipeline::from_args(&args.model)?;
    args.image.apply(pipeline.processor_mut())?;
    if pipeline.model().labels().is_none() {
        anyhow::bail!(
            "{}: this model has no classifier (a ViTModel checkpoint); use `vitrs embed` for \
             embeddings, or a ViTForImageClassification checkpoint",
            args.model.model
        );
    }
    let mut skipped = 0;
    for path in &paths {
        match pipeline.classify(path, args.top_k) {
            Ok(top) => {
                if args.json {
                    let labels: Vec<_> = top
                        .iter()
                        .map(|p| serde_json::json!({"label": p.label, "index": p.index, "probability": p.probability}))
                        .collect();
                    println!("{}", serde_json::json!({"path": path, "labels": labels}));
                } else {
                    println!("{}", path.display());
                    for p in &top {
                        println!(
                            "  {:>6.2}%  {:>5}  {}",
                            100.0 * p.probability,
                            p.index,
                            p.label
                        );
                    }
                }
            }
            Err(e) => {
                eprintln!("skipped {e:#}");
                skipped += 1;
            }
        }
    }
    if skipped == 0 {
        Ok(ExitCode::SUCCESS)
    } else if skipped == paths.len() {
        anyhow::bail!("no image could be classified");
    } else {
        eprintln!("skipped {skipped} of {} files", paths.len());
        Ok(ExitCode::from(super::embed::SOME_SKIPPED))
    }
}
