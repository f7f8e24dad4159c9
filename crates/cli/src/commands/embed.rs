//! `vitrs embed`: image files in, one embedding per image out.
//!
//! Images are decoded and preprocessed on worker threads a bounded window ahead of the model
//! ([`vitrs::embed::stream`]), rows are written as they come ([`vitrs::embed::rows`]), to one
//! file or to a folder of shards with a manifest ([`vitrs::embed::shard`]).

use std::collections::BTreeMap;
use std::io::{IsTerminal, Read};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use vitrs::embed::manifest::{self, Entry, Key, Outcome};
use vitrs::embed::rows::RowFile;
use vitrs::embed::shard::{self, Part, Shards};
use vitrs::embed::stream::{self, Ahead, Flow};
use vitrs::embed::write::Format;
use vitrs::embed::{inputs, Pool};
use vitrs::output::{Destination, Inputs, Partial, Target};
use vitrs::pipeline::Skipped;
use vitrs_model::ForwardOptions;
use vitrs_tensor::Tensor;

use super::model_args::ModelArgs;
use super::values::{FormatArg, PoolArg};

/// Arguments of `vitrs embed`.
#[derive(clap::Args)]
pub struct Args {
    /// Image files, directories (walked recursively, image types only) and glob patterns.
    #[arg(required_unless_present = "files_from")]
    paths: Vec<String>,
    #[command(flatten)]
    model: ModelArgs,
    #[command(flatten)]
    image: super::image_args::ImageArgs,
    /// Output file, or folder of shards (with --shard-size, a name ending in `/`, or
    /// --resume / --shard-of with a name that has no output file extension). A file's extension (.npy, .safetensors, .jsonl) picks the format unless
    /// --format is given; an .npy file gets a sidecar FILE.manifest.jsonl naming each row's
    /// image. `-` is stdout (jsonl streamed; npy and safetensors written at the end). Without
    /// it the embeddings are computed and summarised but not written.
    #[arg(short, long)]
    output: Option<PathBuf>,
    /// The output format (default: from the extension of -o; jsonl for stdout; npy for a
    /// folder of shards).
    #[arg(long, value_enum)]
    format: Option<FormatArg>,
    /// Write a folder of shards of at most N rows: OUT/emb-00000.npy, emb-00001.npy, … and
    /// OUT/manifest.jsonl (one line per image: path, shard, row, size, status, error).
    /// Default 10000 when -o is a folder.
    #[arg(long, value_name = "N")]
    shard_size: Option<usize>,
    /// Continue an interrupted run into the same folder: images already in its manifest (same
    /// path as given, same size in bytes and modification time) are skipped, and new shards
    /// are appended.
    #[arg(long)]
    resume: bool,
    /// Take part I (from 0) of N of the sorted input list (a contiguous block), for N
    /// processes sharing the work; shard and manifest names carry the part (emb-IofN-….npy,
    /// manifest-IofN.jsonl). Needs -o FOLDER.
    #[arg(long, value_name = "I/N")]
    shard_of: Option<Part>,
    /// Read image paths from a file, or `-` for stdin: one per line, or NUL-separated (as
    /// `find -print0`) when the input holds a NUL byte. Taken as files (no walking, no globs).
    #[arg(long, value_name = "FILE")]
    files_from: Option<String>,
    /// Images that cannot be embedded are expected: exit 0 (not 3) when some were skipped,
    /// and report counts by cause instead of naming each file (the manifest names them).
    #[arg(long)]
    skip_errors: bool,
    /// Seconds between progress lines when stderr is not a terminal (a log file, a batch
    /// job); on a terminal a progress bar is drawn instead.
    #[arg(long, value_name = "SECS", default_value_t = 10.0)]
    progress_every: f64,
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
    /// Worker threads of the forward pass (default: RAYON_NUM_THREADS if set, else one per
    /// core).
    #[arg(long)]
    threads: Option<usize>,
    /// Threads decoding and preprocessing images ahead of the forward pass (default: one per
    /// core). They run at a lower priority than the forward pass, so they fill the cores
    /// it leaves idle without slowing it.
    #[arg(long, value_name = "N")]
    decode_threads: Option<usize>,
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

/// Where rows go.
enum Out {
    /// Not written (no `-o`).
    Nowhere,
    /// One file, with a sidecar manifest for npy.
    File {
        rows: RowFile,
        sidecar: Option<(Partial, String)>,
    },
    /// A folder of shards.
    Folder(Shards),
}

impl Out {
    fn push(&mut self, entry: Entry, embedding: &Tensor) -> Result<()> {
        match self {
            Out::Nowhere => Ok(()),
            Out::File { rows, sidecar } => {
                let row = rows.rows();
                rows.push(&entry.path, embedding.dims(), embedding.data())
                    .with_context(|| format!("writing {}", rows.shown()))?;
                if let Some((side, name)) = sidecar {
                    let entry = Entry {
                        outcome: Outcome::Ok {
                            shard: name.clone(),
                            row,
                        },
                        ..entry
                    };
                    std::io::Write::write_all(side, entry.line().as_bytes())
                        .context("writing the manifest sidecar")?;
                }
                Ok(())
            }
            Out::Folder(s) => Ok(s.push(entry, embedding.dims(), embedding.data())?),
        }
    }

    fn push_error(&mut self, entry: Entry) -> Result<()> {
        match self {
            Out::Nowhere | Out::File { sidecar: None, .. } => Ok(()),
            Out::File {
                sidecar: Some((side, _)),
                ..
            } => std::io::Write::write_all(side, entry.line().as_bytes())
                .context("writing the manifest sidecar"),
            Out::Folder(s) => {
                s.push_error(entry);
                Ok(())
            }
        }
    }
}

/// The file list: positional paths expanded, or `--files-from`.
fn list_inputs(args: &Args) -> Result<inputs::Inputs> {
    let mut found = if args.paths.is_empty() {
        inputs::Inputs::default()
    } else {
        inputs::expand_inputs(&args.paths)?
    };
    if let Some(from) = &args.files_from {
        let mut bytes = Vec::new();
        if from == "-" {
            std::io::stdin()
                .lock()
                .read_to_end(&mut bytes)
                .context("reading the file list from stdin")?;
        } else {
            let (f, _) = vitrs_tensor::file::open_regular(Path::new(from))
                .with_context(|| format!("--files-from {from}"))?;
            std::io::BufReader::new(f)
                .read_to_end(&mut bytes)
                .with_context(|| format!("reading {from}"))?;
        }
        let sep = if bytes.contains(&0) { 0 } else { b'\n' };
        for item in bytes.split(|&b| b == sep) {
            let item = if sep == b'\n' {
                item.strip_suffix(b"\r").unwrap_or(item)
            } else {
                item
            };
            if !item.is_empty() {
                use std::os::unix::ffi::OsStrExt;
                found
                    .files
                    .push(PathBuf::from(std::ffi::OsStr::from_bytes(item)));
            }
        }
    }
    if found.files.is_empty() && found.skipped.is_empty() {
        bail!("no input images");
    }
    Ok(found)
}

/// Progress: a bar on a terminal, a line every few seconds otherwise, nothing with `-q`
/// (the log level below info).
struct Progress {
    bar: Option<ProgressBar>,
    every: Option<Duration>,
    start: Instant,
    last: Instant,
    total: usize,
    done: usize,
}

impl Progress {
    fn new(total: usize, quiet: bool, every: f64) -> Progress {
        let terminal = std::io::stderr().is_terminal();
        let bar = (!quiet && terminal).then(|| {
            let bar = ProgressBar::new(total as u64);
            bar.set_style(
                ProgressStyle::with_template("{bar:40} {pos}/{len} images  {per_sec}  eta {eta}")
                    .expect("valid template"),
            );
            bar
        });
        let every = (!quiet && !terminal && every.is_finite() && every > 0.0)
            .then(|| Duration::from_secs_f64(every.min(1e9)));
        let now = Instant::now();
        Progress {
            bar,
            every,
            start: now,
            last: now,
            total,
            done: 0,
        }
    }

    fn inc(&mut self) {
        self.done += 1;
        if let Some(bar) = &self.bar {
            bar.inc(1);
        } else if let Some(every) = self.every {
            if self.last.elapsed() >= every {
                self.last = Instant::now();
                let secs = self.start.elapsed().as_secs_f64();
                let rate = self.done as f64 / secs.max(1e-9);
                let left = (self.total - self.done) as f64 / rate.max(1e-9);
                log::info!(
                    "embed: {}/{} images ({:.0}%), {rate:.2} images/s, {:.0} s elapsed, eta {}",
                    self.done,
                    self.total,
                    100.0 * self.done as f64 / self.total.max(1) as f64,
                    secs,
                    duration(left)
                );
            }
        }
    }

    fn message(&self, text: &str) {
        match &self.bar {
            Some(bar) => bar.suspend(|| log::info!("{text}")),
            None => log::info!("{text}"),
        }
    }

    fn warn(&self, text: &str) {
        match &self.bar {
            Some(bar) => bar.suspend(|| log::warn!("{text}")),
            None => log::warn!("{text}"),
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

fn duration(secs: f64) -> String {
    if !secs.is_finite() {
        return "?".into();
    }
    let s = secs.round() as u64;
    match s {
        0..=99 => format!("{s}s"),
        100..=5999 => format!("{}m{:02}s", s / 60, s % 60),
        _ => format!("{}h{:02}m", s / 3600, (s / 60) % 60),
    }
}

/// What a decoding worker hands the model.
struct Decoded {
    key: Option<Key>,
    result: Result<(Tensor, [u32; 2]), vitrs::Error>,
}

/// `VITRS_TEST_SIGNAL_AFTER="K SIGNAL"` (tests only): after K images are handled, the
/// process sends itself SIGNAL (`KILL`, `TERM`, `INT`) and waits for it, so an interrupted
/// run is reproducible to the image.
fn test_signal() -> Option<(usize, i32)> {
    let v = std::env::var("VITRS_TEST_SIGNAL_AFTER").ok()?;
    let (k, sig) = v.split_once(' ')?;
    let sig = match sig {
        "KILL" => libc::SIGKILL,
        "TERM" => libc::SIGTERM,
        "INT" => libc::SIGINT,
        _ => return None,
    };
    Some((k.parse().ok()?, sig))
}

/// Lowers the calling thread's scheduling priority by `by` nice levels (at most to 19;
/// Linux `nice` is per thread), once per thread.
fn lower_priority(by: i32) {
    thread_local!(static DONE: std::cell::Cell<bool> = const { std::cell::Cell::new(false) });
    if DONE.with(|d| d.replace(true)) {
        return;
    }
    use rustix::process::{getpriority_process, setpriority_process};
    let tid = Some(rustix::thread::gettid());
    if let Ok(now) = getpriority_process(tid) {
        // Not being allowed to is harmless: the threads then share the cores evenly.
        let _ = setpriority_process(tid, (now + by).min(19));
    }
}

/// Runs the subcommand.
pub fn main(args: Args) -> Result<ExitCode> {
    let threads = vitrs::limits::init_threads(args.threads);
    let resume_or_part = args.resume || args.shard_of.is_some();
    let found = list_inputs(&args)?;
    let mut paths = found.files;
    let mut walk_skipped = found.skipped;
    if let Some(part) = args.shard_of {
        if args
            .output
            .as_deref()
            .is_none_or(|o| !shard::is_folder(o, args.shard_size.is_some(), resume_or_part))
        {
            bail!("--shard-of needs -o FOLDER (each part writes its own shards and manifest)");
        }
        paths = shard::split(paths, part);
        // What the walk skipped belongs to the part its path sorts into.
        let all: Vec<PathBuf> = walk_skipped.iter().map(|(p, _)| p.clone()).collect();
        let mine = shard::split(all, part);
        walk_skipped.retain(|(p, _)| mine.contains(p));
    }
    if args.resume
        && args
            .output
            .as_deref()
            .is_none_or(|o| !shard::is_folder(o, args.shard_size.is_some(), resume_or_part))
    {
        bail!("--resume needs -o FOLDER (a folder of shards with its manifest)");
    }

    // The destination, its format and (when resuming) its manifest are checked, and the
    // temporary file made, before the model is loaded: a typo or an unwritable folder costs
    // nothing.
    let mut done = manifest::Done::default();
    let mut out = match &args.output {
        None => Out::Nowhere,
        Some(o) if shard::is_folder(o, args.shard_size.is_some(), resume_or_part) => {
            let format = args.format.map_or(Format::Npy, Into::into);
            let size = args.shard_size.unwrap_or(shard::DEFAULT_SHARD_SIZE);
            let (shards, d) = Shards::open(o, format, size, args.shard_of, args.resume)?;
            done = d;
            Out::Folder(shards)
        }
        Some(o) => {
            let mut inputs = Inputs::new();
            for p in &paths {
                inputs.file(p, "an image being embedded");
            }
            inputs.model(&args.model.model);
            let dest = Destination::parse(o, &inputs)?;
            let format = Format::for_output(o, args.format.map(Into::into))?;
            let sidecar = match (&dest, format) {
                (Destination::File(t), Format::Npy) => {
                    let mut side = o.as_os_str().to_owned();
                    side.push(".manifest.jsonl");
                    let side = Target::check(Path::new(&side), &inputs)?;
                    let name = t
                        .path()
                        .file_name()
                        .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
                    Some((side.create()?, name))
                }
                _ => None,
            };
            Out::File {
                rows: RowFile::new(&dest, format)?,
                sidecar,
            }
        }
    };

    // Already in the manifest: not read again.
    let before = paths.len();
    if !done.keys.is_empty() {
        paths.retain(|p| Key::of(p).is_none_or(|k| !done.keys.contains(&k)));
    }
    let resumed = before - paths.len();

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
    let batch = args.batch.clamp(1, paths.len().max(1));
    vitrs::limits::check_batch(batch, cfg, size)?;
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
    let opts = ForwardOptions {
        interpolate_pos_encoding: pipeline.interpolate_pos_encoding,
        ..Default::default()
    };
    let channels = pipeline.model().config().num_channels;
    // A processor that makes one size whatever the image: checked against the model now,
    // not at the first image.
    let fixed = pipeline.processor().output_size([480, 640]);
    if fixed == pipeline.processor().output_size([640, 480]) {
        pipeline
            .model()
            .check_input(&[1, channels, fixed[0], fixed[1]], &opts)
            .context("the image processor's output does not fit the model")?;
    }

    let quiet = !log::log_enabled!(log::Level::Info);
    let mut progress = Progress::new(paths.len(), quiet, args.progress_every);
    if resumed > 0 {
        progress.message(&format!(
            "embed: {resumed} images already in the manifest, {} to go",
            paths.len()
        ));
    }
    let start = Instant::now();
    let mut embedded = 0usize;
    let mut row = Vec::new();
    let mut tokens_shape = None;
    let mut causes: BTreeMap<&'static str, usize> = BTreeMap::new();
    let mut skipped_paths: Vec<PathBuf> = Vec::new();
    let mut skip = |out: &mut Out,
                    progress: &Progress,
                    path: &Path,
                    key: Option<Key>,
                    size: Option<[u32; 2]>,
                    cause: &'static str,
                    message: String|
     -> Result<()> {
        *causes.entry(cause).or_default() += 1;
        if !args.skip_errors {
            progress.warn(&format!("skipped {message}"));
        }
        skipped_paths.push(path.to_path_buf());
        out.push_error(Entry {
            path: path.to_path_buf(),
            key,
            size,
            outcome: Outcome::Error { cause, message },
        })
    };
    walk_skipped.retain(|(p, _)| !done.unkeyed.contains(p));
    for (path, why) in &walk_skipped {
        skip(
            &mut out,
            &progress,
            path,
            None,
            None,
            "not a regular file",
            format!("{}: {why}", path.display()),
        )?;
    }

    let cores = vitrs_kernels::threads::available();
    let ahead = Ahead {
        workers: args.decode_threads.unwrap_or(cores).max(1),
        window: 2 * batch + cores,
    };
    let nice: i32 = std::env::var("VITRS_DECODE_NICE")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10);
    let signal_after = test_signal();
    let mut handled = 0usize;
    let mut pending: Vec<(usize, Decoded)> = Vec::with_capacity(batch);
    let n = paths.len();
    let pipeline = &pipeline;
    let paths_ref = &paths;
    let work = |i: usize| {
        if nice != 0 {
            lower_priority(nice);
        }
        let path = &paths_ref[i];
        let key = Key::of(path);
        let result = pipeline
            .processor()
            .preprocess_path_sized(path, |[h, w]| {
                pipeline
                    .model()
                    .check_input(&[1, channels, h, w], &opts)
                    .map(drop)
                    .map_err(|e| e.to_string())
            })
            .map_err(vitrs::Error::from);
        Decoded { key, result }
    };
    let mut run_batch = |pending: &mut Vec<(usize, Decoded)>,
                         out: &mut Out,
                         progress: &mut Progress|
     -> Result<()> {
        let mut meta = Vec::with_capacity(pending.len());
        let mut pixels = Vec::with_capacity(pending.len());
        for (i, d) in pending.drain(..) {
            let path = paths_ref[i].clone();
            match d.result {
                Ok((t, wh)) => {
                    meta.push((path, d.key, Some(wh)));
                    pixels.push(Ok(t));
                }
                Err(error) => {
                    meta.push((path.clone(), d.key, None));
                    pixels.push(Err(Skipped { path, error }));
                }
            }
        }
        let results = pipeline.embed_preprocessed(pixels, pool)?;
        for ((path, key, wh), result) in meta.into_iter().zip(results) {
            let result = match result {
                Err(s) => Err((manifest::cause_of(&s.error), format!("{:#}", s.error))),
                Ok(done) => match done.embedding.data().iter().position(|v| !v.is_finite()) {
                    Some(i) if !args.model.allow_nonfinite => Err((
                        "non-finite embedding",
                        format!(
                            "{}: the embedding holds {} at index {i}; not written (pass \
                             --allow-nonfinite to write non-finite values)",
                            path.display(),
                            done.embedding.data()[i]
                        ),
                    )),
                    _ => Ok(done),
                },
            };
            match result {
                Ok(done) => {
                    tokens_shape.get_or_insert(done.tokens);
                    if row.is_empty() {
                        row = done.embedding.dims().to_vec();
                    }
                    let entry = Entry {
                        path,
                        key,
                        size: wh,
                        outcome: Outcome::Error {
                            cause: "",
                            message: String::new(),
                        },
                    };
                    out.push(entry, &done.embedding)?;
                    embedded += 1;
                }
                Err((cause, message)) => {
                    skip(out, progress, &path, key, wh, cause, message)?;
                }
            }
            progress.inc();
            handled += 1;
            if let Some((k, sig)) = signal_after {
                if handled == k {
                    let _ = signal_hook::low_level::raise(sig);
                    loop {
                        std::thread::park();
                    }
                }
            }
        }
        Ok(())
    };
    stream::ordered(n, ahead, work, |i, decoded| {
        pending.push((i, decoded));
        if pending.len() == batch || i + 1 == n {
            run_batch(&mut pending, &mut out, &mut progress)?;
        }
        Ok::<_, anyhow::Error>(Flow::Continue)
    })?;
    progress.finish();
    let secs = start.elapsed().as_secs_f64();

    let written_to = match out {
        Out::Nowhere => String::new(),
        Out::File { rows, sidecar } => {
            let shown = rows.shown().to_string();
            rows.finish().with_context(|| format!("writing {shown}"))?;
            if let Some((side, _)) = sidecar {
                side.commit()?;
            }
            format!(" → {shown}")
        }
        Out::Folder(shards) => {
            let dir = shards.dir().display().to_string();
            let manifest = shards.manifest_path().display().to_string();
            let written = shards.finish()?;
            match (written.first(), written.last()) {
                (Some(a), Some(b)) if a != b => {
                    format!(" → {dir}: {} shards {a} … {b}, {manifest}", written.len())
                }
                (Some(a), _) => format!(" → {dir}: {a}, {manifest}"),
                _ => format!(" → {manifest} (no new shard)"),
            }
        }
    };
    let skipped = skipped_paths.len();
    if !quiet {
        log::info!(
            "embedded {} image{} in {secs:.2} s ({:.2} images/s, {threads} forward threads, {} \
             decoding): last_hidden_state {:?} per image, --pool {} gives {:?} each{written_to}",
            embedded,
            if embedded == 1 { "" } else { "s" },
            embedded as f64 / secs.max(1e-9),
            ahead.workers.min(n.max(1)),
            tokens_shape.unwrap_or_default(),
            pool,
            row,
        );
    }
    if skipped == 0 {
        return Ok(ExitCode::SUCCESS);
    }
    let total = n + walk_skipped.len();
    let counts: Vec<String> = causes.iter().map(|(c, k)| format!("{k} {c}")).collect();
    log::warn!("skipped {skipped} of {total} files: {}", counts.join(", "));
    if !args.skip_errors {
        for p in &skipped_paths {
            log::warn!("  {}", p.display());
        }
    }
    if embedded == 0 && resumed == 0 {
        bail!("no image could be embedded");
    }
    Ok(ExitCode::from(if args.skip_errors {
        0
    } else {
        SOME_SKIPPED
    }))
}
