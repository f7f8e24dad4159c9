//! `vitrs run`: the model on `pixel_values` from a safetensors file, outputs to another.
//!
//! This is a contract other tools drive: IN holds `pixel_values` f32 `[B, C, H, W]`; OUT gets
//! `last_hidden_state` `[B, T, D]`, plus `pooler_output` `[B, P]` when the checkpoint has a
//! pooler, `image_embeds` `[B, E]` when it has CLIP's projection and `logits` `[B, L]` when
//! it has a classifier, all f32 and named as transformers names them.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use vitrs_model::ForwardOptions;

use vitrs::io::{read_tensor, write_tensors_to};
use vitrs::output::{Destination, Inputs};

use super::model_args::ModelArgs;

/// `vitrs run --help` examples.
pub const EXAMPLES: &str = "\
Examples:
  vitrs run --model google/vit-base-patch16-224 --input pixels.safetensors --output out.safetensors
  vitrs run --model ./dinov2 --input p.safetensors --output o.safetensors --output-hidden-states";

/// Arguments of `vitrs run`.
#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    model: ModelArgs,
    /// Safetensors file holding `pixel_values` f32 [B, C, H, W].
    #[arg(long)]
    input: PathBuf,
    /// Where to write the outputs (safetensors; `-` for stdout).
    #[arg(long)]
    output: PathBuf,
    /// Accept inputs of any size by resizing the position table, as transformers does.
    #[arg(long)]
    interpolate_pos_encoding: bool,
    /// Worker threads (default: RAYON_NUM_THREADS if set, else one per core).
    #[arg(long)]
    threads: Option<usize>,
    /// Also write `hidden_states.{i}` (embeddings, then every layer before the final norm).
    #[arg(long)]
    output_hidden_states: bool,
    /// Also write `attentions.{i}`, every layer's attention probabilities [B, heads, T, T].
    #[arg(long)]
    output_attentions: bool,
}

/// Runs the subcommand.
pub fn main(args: Args) -> Result<ExitCode> {
    vitrs::limits::init_threads(args.threads);
    let mut inputs = Inputs::new();
    inputs.file(&args.input, "the --input file");
    inputs.model(&args.model.model);
    let dest = Destination::parse(&args.output, &inputs)?;
    dest.check_binary("safetensors")?;
    let pixels = read_tensor(&args.input, "pixel_values")?;
    let vit = args.model.load()?.vit;
    let opts = ForwardOptions {
        interpolate_pos_encoding: args.interpolate_pos_encoding,
        output_hidden_states: args.output_hidden_states,
        output_attentions: args.output_attentions,
        prefix_only: false,
    };
    let out = vit
        .forward(&pixels, &opts)
        .map_err(|e| anyhow::anyhow!("{}: {e}", args.input.display()))?;
    let mut tensors = vec![("last_hidden_state".to_string(), &out.last_hidden_state)];
    if let Some(p) = &out.pooler_output {
        tensors.push(("pooler_output".to_string(), p));
    }
    if let Some(e) = &out.image_embeds {
        tensors.push(("image_embeds".to_string(), e));
    }
    if let Some(l) = &out.logits {
        tensors.push(("logits".to_string(), l));
    }
    for (i, h) in out.hidden_states.iter().enumerate() {
        tensors.push((format!("hidden_states.{i}"), h));
    }
    for (i, a) in out.attentions.iter().enumerate() {
        tensors.push((format!("attentions.{i}"), a));
    }
    write_tensors_to(&dest, &tensors, Default::default())?;
    Ok(ExitCode::SUCCESS)
}
