//! `vitrs embed`: image files in, one embedding per image out.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use vitrs::embed::{self, inputs, write::Format, Pool};
use vitrs::load::ModelArgs;
use vitrs::pipeline::Pipeline;

/// Arguments of `vitrs embed`.
#[derive(clap::Args)]
pub struct Args {
    /// Image files, directories (walked recursively, image types only) and glob patterns.
    #[arg(required = true)]
    paths: Vec<String>,
    #[command(flatten)]
    model: ModelArgs,
    #[command(flatten)]
    image: super::image_args::ImageArgs,
    /// Output file; its extension picks the format unless --format is given. Without it the
    /// embeddings are computed and summarised but not written.
    #[arg(short, long)]
    output: Option<PathBuf>,
    /// npy, safetensors or jsonl.
    #[arg(long)]
    format: Option<Format>,
    /// cls, mean (patch tokens), pooler or none (all tokens).
    #[arg(long, default_value = "cls")]
    pool: Pool,
    /// Images per forward pass.
    #[arg(long, default_value_t = 8)]
    batch: usize,
    /// Worker threads (default: one per core).
    #[arg(long)]
    threads: Option<usize>,
    /// Run at another input size (see --size) by resizing the position table.
    #[arg(long)]
    interpolate_pos_encoding: bool,
    /// Input size in pixels (square), instead of the processor's; needs
    /// --interpolate-pos-encoding unless it equals the model's.
    #[arg(long)]
    size: Option<usize>,
}

/// Exit code when some images were skipped but the rest were embedded and written.
pub const SOME_SKIPPED: u8 = 2;

/// Runs the subcommand.
pub fn main(args: Args) -> Result<ExitCode> {
    vitrs_kernels::threads::init(
        args.threads
            .unwrap_or_else(vitrs_kernels::threads::available),
    );
    let paths = inputs::expand(&args.paths)?;
    let format = match (args.format, &args.output) {
        (Some(f), _) => f,
        (None, Some(out)) => Format::from_path(out).unwrap_or(Format::Npy),
        (None, None) => Format::Npy,
    };
    let mut pipeline = Pipeline::from_args(&args.model)?;
    args.image.apply(pipeline.processor_mut())?;
    if let Some(size) = args.size {
        pipeline.set_size([size, size]);
    }
    pipeline.interpolate_pos_encoding = args.interpolate_pos_encoding;
    if args.pool == Pool::Pooler && !pipeline.model().has_pooler() {
        anyhow::bail!("--pool pooler: this model has no pooler; use --pool cls or --pool mean");
    }

    let bar = ProgressBar::new(paths.len() as u64);
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} images  {per_sec}  eta {eta}")
            .expect("valid template"),
    );
    let start = Instant::now();
    let mut done_paths = Vec::new();
    let mut embeddings = Vec::new();
    let mut skipped = Vec::new();
    let mut tokens_shape = None;
    for chunk in paths.chunks(args.batch.max(1)) {
        let batch = pipeline.embed_paths(chunk, args.pool)?;
        for (path, result) in chunk.iter().zip(batch) {
            match result {
                Ok(done) => {
                    tokens_shape.get_or_insert(done.tokens);
                    done_paths.push(path.clone());
                    embeddings.push(done.embedding);
                }
                Err(e) => {
                    bar.suspend(|| eprintln!("skipped {e}"));
                    skipped.push(path.clone());
                }
            }
            bar.inc(1);
        }
    }
    bar.finish_and_clear();
    let secs = start.elapsed().as_secs_f64();

    if let Some(out) = &args.output {
        embed::write::write(out, format, &done_paths, &embeddings)
            .with_context(|| format!("writing {}", out.display()))?;
    }
    let row = embeddings
        .first()
        .map(|e| e.dims().to_vec())
        .unwrap_or_default();
    let mut summary = format!(
        "embedded {} image{} in {secs:.2} s ({:.1} images/s): last_hidden_state {:?} per image, \
         --pool {} gives {:?} each",
        embeddings.len(),
        if embeddings.len() == 1 { "" } else { "s" },
        embeddings.len() as f64 / secs.max(1e-9),
        tokens_shape.unwrap_or_default(),
        args.pool,
        row,
    );
    if let Some(out) = &args.output {
        summary.push_str(&format!(" → {} ({format})", out.display()));
    }
    eprintln!("{summary}");
    if skipped.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    eprintln!("skipped {} of {} files:", skipped.len(), paths.len());
    for p in &skipped {
        eprintln!("  {}", p.display());
    }
    if embeddings.is_empty() {
        anyhow::bail!("no image could be embedded");
    }
    Ok(ExitCode::from(SOME_SKIPPED))
}
