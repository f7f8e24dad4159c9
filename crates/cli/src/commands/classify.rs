//! `vitrs classify`: the most likely labels of each image, as a table or JSON.

use std::process::ExitCode;

use anyhow::Result;
use vitrs::embed::inputs;

use super::model_args::ModelArgs;

/// `vitrs classify --help` examples.
pub const EXAMPLES: &str = "\
Examples:
  vitrs classify cat.jpg --model google/vit-base-patch16-224 --top-k 5
  vitrs classify photos/ --model facebook/deit-tiny-patch16-224 --json > labels.jsonl";

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
    /// Worker threads (default: RAYON_NUM_THREADS if set, else one per core).
    #[arg(long)]
    threads: Option<usize>,
    /// Largest image accepted, in pixels (width × height), checked in the file header before
    /// decoding; lower it to refuse decompression bombs sooner.
    #[arg(long, default_value_t = vitrs_image::DEFAULT_MAX_PIXELS)]
    max_pixels: u64,
}

/// Runs the subcommand.
pub fn main(args: Args) -> Result<ExitCode> {
    vitrs::limits::init_threads(args.threads);
    let inputs = inputs::expand_inputs(&args.paths)?;
    let paths = inputs.files;
    let mut pipeline = args.model.pipeline()?;
    pipeline.set_limits(vitrs_image::Limits {
        max_pixels: args.max_pixels,
    });
    args.image.apply(pipeline.processor_mut())?;
    if pipeline.model().labels().is_none() {
        anyhow::bail!(
            "{}: this model has no classifier (a ViTModel checkpoint); use `vitrs embed` for \
             embeddings, or a ViTForImageClassification checkpoint",
            args.model.model
        );
    }
    // What the walk could not read counts as skipped, like a file that fails to decode.
    let mut skipped = inputs.skipped.len();
    for (path, why) in &inputs.skipped {
        log::warn!("skipped {}: {why}", path.display());
    }
    let total = paths.len() + skipped;
    for path in &paths {
        let result = pipeline
            .classify(path, args.top_k)
            .map_err(anyhow::Error::from)
            .and_then(|top| match top.iter().find(|p| !p.logit.is_finite()) {
                Some(p) if !args.model.allow_nonfinite => anyhow::bail!(
                    "{}: logit {} of `{}` is not finite; no prediction printed (pass \
                     --allow-nonfinite to print it)",
                    path.display(),
                    p.logit,
                    p.label
                ),
                _ => Ok(top),
            });
        match result {
            Ok(top) => {
                let mut text = String::new();
                if args.json {
                    let labels: Vec<_> = top
                        .iter()
                        .map(|p| serde_json::json!({"label": p.label, "index": p.index, "probability": p.probability}))
                        .collect();
                    let mut row = vitrs::output::json_path(path);
                    row.insert("labels".into(), labels.into());
                    text = serde_json::Value::Object(row).to_string();
                    text.push('\n');
                } else {
                    text.push_str(&format!("{}\n", path.display()));
                    for p in &top {
                        text.push_str(&format!(
                            "  {:>6.2}%  {:>5}  {}\n",
                            100.0 * p.probability,
                            p.index,
                            p.label
                        ));
                    }
                }
                vitrs::output::print(&text)?;
            }
            Err(e) => {
                log::warn!("skipped {}", vitrs::error::chain_of(e.as_ref()));
                skipped += 1;
            }
        }
    }
    if skipped == 0 {
        Ok(ExitCode::SUCCESS)
    } else if skipped == total {
        anyhow::bail!("no image could be classified");
    } else {
        log::warn!("skipped {skipped} of {total} files");
        Ok(ExitCode::from(super::SOME_SKIPPED))
    }
}
