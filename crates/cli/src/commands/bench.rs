//! `vitrs bench`: time the forward pass and print one JSON object on stdout.
//!
//! A contract other tools drive: at least `min_ms`, `median_ms`, `images_per_s`, `gflops` and
//! `peak_rss_mb` for the forward pass, with loading reported apart as `load_ms`; `all_ms`
//! lists every timed run (sorted), so that runs from several invocations can be pooled.
//! `isa` names the kernels that ran and `peak_gflops` is an FMA loop of that ISA on the same
//! threads, measured in the same process after the timed runs: `gflops / peak_gflops` is
//! the efficiency.

use std::process::ExitCode;
use std::time::Instant;

use anyhow::Result;
use vitrs_model::ForwardOptions;
use vitrs_tensor::Tensor;

use super::model_args::ModelArgs;

/// `vitrs bench --help` examples.
pub const EXAMPLES: &str = "\
Examples:
  vitrs bench --model google/vit-base-patch16-224 --batch 8 --threads 2 --runs 20
  vitrs bench --model random:vit-base-patch16-224 --preprocess cat.jpg --runs 50";

/// Arguments of `vitrs bench`.
#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    model: ModelArgs,
    /// Images per forward pass.
    #[arg(long, default_value_t = 1)]
    batch: usize,
    /// Worker threads (default: RAYON_NUM_THREADS if set, else one per core).
    #[arg(long)]
    threads: Option<usize>,
    /// Timed runs.
    #[arg(long, default_value_t = 10)]
    runs: usize,
    /// Time decoding + preprocessing of these images (with the model's processor) instead of
    /// the forward pass; repeatable.
    #[arg(long, value_name = "IMAGE")]
    preprocess: Vec<std::path::PathBuf>,
    /// Untimed runs first.
    #[arg(long, default_value_t = 2)]
    warmup: usize,
    /// Time the pass `classify` and `embed --pool cls|pooler|image_embeds` run: the last layer
    /// for the tokens before the patches only (the default times the whole
    /// `last_hidden_state`).
    #[arg(long)]
    prefix_only: bool,
}

/// Most timed runs (`--runs`): their times are kept to sort them.
const MAX_RUNS: usize = 1_000_000;

/// Peak resident memory of this process in MB (Linux `VmHWM`), if known.
pub fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// Milliseconds of `runs` calls of `f`, sorted.
fn time_runs<E>(runs: usize, mut f: impl FnMut() -> Result<(), E>) -> Result<Vec<f64>, E> {
    let mut ms = Vec::with_capacity(runs.max(1));
    for _ in 0..runs.max(1) {
        let start = Instant::now();
        f()?;
        ms.push(start.elapsed().as_secs_f64() * 1e3);
    }
    ms.sort_by(f64::total_cmp);
    Ok(ms)
}

fn median(sorted: &[f64]) -> f64 {
    let n = sorted.len();
    if n % 2 == 1 {
        sorted[n / 2]
    } else {
        (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
    }
}

fn bench_preprocess(args: &Args) -> Result<ExitCode> {
    let pipeline = args.model.pipeline()?;
    let mut out = serde_json::Map::new();
    for path in &args.preprocess {
        for _ in 0..args.warmup {
            pipeline.preprocess(path)?;
        }
        let ms = time_runs(args.runs, || pipeline.preprocess(path).map(|_| ()))?;
        let name = path
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        out.insert(
            name,
            serde_json::json!({"min_ms": ms[0], "median_ms": median(&ms), "runs": ms.len()}),
        );
    }
    vitrs::output::print(&format!("{}\n", serde_json::json!({ "preprocess": out })))?;
    Ok(ExitCode::SUCCESS)
}

/// The input size to time: the model's, except for families whose position table is always
/// resized to the input (DINOv2: a 518 px table used at 224), where the processor's output
/// size is what actually runs.
fn input_size(loaded: &vitrs::load::Loaded) -> [usize; 2] {
    let cfg = loaded.vit.config();
    if !cfg.variant.positions.always_resize {
        return cfg.image_size;
    }
    let processor = loaded.image_processor().ok();
    let from_processor = processor.and_then(|p| {
        match (
            p.config().do_center_crop,
            p.config().crop_size,
            p.config().size,
        ) {
            (true, Some(crop), _) => Some(crop),
            (_, _, vitrs_image::Size::Exact { height, width }) => Some([height, width]),
            _ => None,
        }
    });
    from_processor.unwrap_or(cfg.image_size)
}

/// Runs the subcommand.
pub fn main(args: Args) -> Result<ExitCode> {
    if args.runs > MAX_RUNS {
        return Err(super::UsageError(format!(
            "--runs {}: at most {MAX_RUNS} timed runs",
            args.runs
        ))
        .into());
    }
    let threads = vitrs::limits::init_threads(args.threads);
    if !args.preprocess.is_empty() {
        return bench_preprocess(&args);
    }
    let loaded = args.model.load()?;
    let cfg = loaded.vit.config();
    let [h, w] = input_size(&loaded);
    vitrs::limits::check_batch(args.batch, cfg, [h, w])?;
    // Bounded by check_batch: the pixels are part of the memory it counts.
    let n = args.batch * cfg.num_channels * h * w;
    // A fixed, non-trivial input: the timing does not depend on the values.
    let data = (0..n).map(|i| ((i % 255) as f32 / 127.5) - 1.0).collect();
    let pixels = Tensor::new(&[args.batch, cfg.num_channels, h, w], data)?;
    if args.prefix_only && !loaded.vit.prefix_suffices() {
        return Err(vitrs::Error::option(
            "--prefix-only",
            format!(
                "--prefix-only: {}'s outputs read every token (SigLIP's attention pooling); \
                 time it without --prefix-only",
                args.model.model
            ),
        )
        .into());
    }
    let opts = ForwardOptions {
        prefix_only: args.prefix_only,
        ..Default::default()
    };
    for _ in 0..args.warmup {
        loaded.vit.forward(&pixels, &opts)?;
    }
    let ms = time_runs(args.runs, || loaded.vit.forward(&pixels, &opts).map(|_| ()))?;
    let median = median(&ms);
    let gflop_per_image = 2.0 * loaded.vit.macs_per_image_with([h, w], &opts) as f64 / 1e9;
    let isa = vitrs_kernels::gemm::detect();
    let peak_gflops = vitrs_kernels::threads::peak_gflops(isa)?;
    let json = serde_json::json!({
        "isa": isa.name(),
        "peak_gflops": peak_gflops,
        "model": args.model.model,
        "dtype": args.model.compute_dtype().to_string(),
        "int8_kernel": match args.model.compute_dtype() {
            vitrs_model::ComputeDtype::Int8 => Some(vitrs_kernels::qgemm::QIsa::summary()?),
            vitrs_model::ComputeDtype::F32 => None,
        },
        "batch": args.batch,
        "prefix_only": args.prefix_only,
        "size": [h, w],
        "threads": threads,
        "runs": ms.len(),
        "load_ms": loaded.load_ms,
        "min_ms": ms[0],
        "median_ms": median,
        "mean_ms": ms.iter().sum::<f64>() / ms.len() as f64,
        "max_ms": ms[ms.len() - 1],
        "images_per_s": args.batch as f64 / (median / 1e3),
        "gflop_per_image": gflop_per_image,
        "gflops": gflop_per_image * args.batch as f64 / (median / 1e3),
        "peak_rss_mb": peak_rss_mb(),
        "all_ms": ms,
    });
    vitrs::output::print(&format!("{json}\n"))?;
    Ok(ExitCode::SUCCESS)
}
