//! `vitrs embed`: image files in, one embedding per image out.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use vitrs::embed::write::{Format, Writer};
use vitrs::embed::{inputs, Pool};
use vitrs::output::{Destination, Inputs};

use super::model_args::ModelArgs;
use super::values::{FormatArg, PoolArg};

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
    /// Output file; its extension (.npy, .safetensors, .jsonl) picks the format unless
    /// --format is given. `-` is stdout (jsonl streamed as images are done; npy and
    /// safetensors written whole at the end). Without it the embeddings are computed and
    /// summarised but not written.
    #[arg(short, long)]
    output: Option<PathBuf>,
    /// The output format (default: from the extension of -o; jsonl for stdout).
    #[arg(long, value_enum)]
    format: Option<FormatArg>,
    /// How tokens become an embedding. Default: the family's natural embedding — cls for
    /// ViT, DeiT and DINOv2, image_embeds for CLIP with projection (pooler without), pooler
    /// (the MAP head) for SigLIP.
    #[arg(long, value_enum)]
    pool: Option<PoolArg>,
    /// L2-normalise each embedding (as CLIPModel and SiglipModel do before comparing).
    #[arg(long)]
    normalize: bool,
    /// Images per forward pass.
    #[arg(long, default_value_t = 8)]
    batch: usize,
    /// Worker threads (default: RAYON_NUM_THREADS if set, else one per core).
    #[arg(long)]
    threads: Option<usize>,
    /// Largest image accepted, in pixels (width × height), checked in the file header before
    /// decoding; lower it to refuse decompression bombs sooner.
    #[arg(long, default_value_t = vitrs_image::DEFAULT_MAX_PIXELS)]
    max_pixels: u64,
    /// Run at another input size (see --size) by resizing the position table.
    #[arg(long)]
    interpolate_pos_encoding: bool,
    /// Input size in pixels (square), instead of the processor's; needs
    /// --interpolate-pos-encoding unless it equals the model's.
    #[arg(long)]
    size: Option<usize>,
}

/// Exit code when some images were skipped but the rest were embedded and written.
pub const SOME_SKIPPED: u8 = super::SOME_SKIPPED;

/// Runs the subcommand.
pub fn main(args: Args) -> Result<ExitCode> {
    vitrs::limits::init_threads(args.threads);
    let inputs = inputs::expand_inputs(&args.paths)?;
    let paths = inputs.files;
    // The destination and its format are checked, and its temporary file made, before the
    // model is loaded: a typo or an unwritable folder costs nothing.
    let mut writer = match &args.output {
        Some(out) => {
            let mut inputs = Inputs::new();
            for p in &paths {
                inputs.file(p, "an image being embedded");
            }
            inputs.model(&args.model.model);
            let dest = Destination::parse(out, &inputs)?;
            let format = Format::for_output(out, args.format.map(Into::into))?;
            Some(Writer::new(dest, format)?)
        }
        None => None,
    };
    let mut pipeline = args.model.pipeline()?;
    pipeline.set_limits(vitrs_image::Limits {
        max_pixels: args.max_pixels,
    });
    args.image.apply(pipeline.processor_mut())?;
    let cfg = pipeline.model().config();
    let mut size = cfg.image_size;
    if let Some(s) = args.size {
        vitrs::limits::check_size(s, cfg)?;
        size = [s, s];
    }
    // A batch larger than the images given is only as large as they are.
    vitrs::limits::check_batch(args.batch.clamp(1, paths.len().max(1)), cfg, size)?;
    if let Some(s) = args.size {
        pipeline.set_size([s, s]);
    }
    pipeline.interpolate_pos_encoding = args.interpolate_pos_encoding;
    pipeline.normalize = args.normalize;
    let pool = args
        .pool
        .map_or_else(|| Pool::natural(pipeline.model()), Into::into);
    pool.check(pipeline.model())
        .map_err(|m| vitrs::Error::option("--pool", m))?;

    let bar = ProgressBar::new(paths.len() as u64);
    if !log::log_enabled!(log::Level::Info) {
        bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} images  {per_sec}  eta {eta}")
            .expect("valid template"),
    );
    let start = Instant::now();
    let mut embedded = 0usize;
    let mut row = Vec::new();
    // What the walk could not read counts as skipped, like a file that fails to decode.
    let mut skipped = Vec::new();
    for (path, why) in inputs.skipped {
        log::warn!("skipped {}: {why}", path.display());
        skipped.push(path);
    }
    let total = paths.len() + skipped.len();
    let mut tokens_shape = None;
    for chunk in paths.chunks(args.batch.max(1)) {
        let batch = pipeline.embed_paths(chunk, pool)?;
        for (path, result) in chunk.iter().zip(batch) {
            let result = result.map_err(|e| e.to_string()).and_then(|done| {
                match done.embedding.data().iter().position(|v| !v.is_finite()) {
                    Some(i) if !args.model.allow_nonfinite => Err(format!(
                        "{}: the embedding holds {} at index {i}; not written (pass \
                         --allow-nonfinite to write non-finite values)",
                        path.display(),
                        done.embedding.data()[i]
                    )),
                    _ => Ok(done),
                }
            });
            match result {
                Ok(done) => {
                    tokens_shape.get_or_insert(done.tokens);
                    if row.is_empty() {
                        row = done.embedding.dims().to_vec();
                    }
                    if let Some(w) = &mut writer {
                        w.push(path, done.embedding)
                            .with_context(|| format!("writing {}", w.shown()))?;
                    }
                    embedded += 1;
                }
                Err(e) => {
                    bar.suspend(|| log::warn!("skipped {e}"));
                    skipped.push(path.clone());
                }
            }
            bar.inc(1);
        }
    }
    bar.finish_and_clear();
    let secs = start.elapsed().as_secs_f64();

    let mut written_to = None;
    if let Some(w) = writer {
        let shown = w.shown();
        let format = w.format();
        w.finish().with_context(|| format!("writing {shown}"))?;
        written_to = Some(format!(" → {shown} ({format})"));
    }
    let mut summary = format!(
        "embedded {} image{} in {secs:.2} s ({:.1} images/s): last_hidden_state {:?} per image, \
         --pool {} gives {:?} each",
        embedded,
        if embedded == 1 { "" } else { "s" },
        embedded as f64 / secs.max(1e-9),
        tokens_shape.unwrap_or_default(),
        pool,
        row,
    );
    summary.push_str(written_to.as_deref().unwrap_or(""));
    log::info!("{summary}");
    if skipped.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    log::warn!("skipped {} of {total} files:", skipped.len());
    for p in &skipped {
        log::warn!("  {}", p.display());
    }
    if embedded == 0 {
        anyhow::bail!("no image could be embedded");
    }
    Ok(ExitCode::from(SOME_SKIPPED))
}
