//! The `vitrs` command. Each subcommand lives in `commands/<name>.rs`; this file parses the
//! arguments, sets up logging and signal handling, and turns errors into one line and an
//! exit code.

mod commands;

use std::io::Write;
use std::process::ExitCode;

use clap::{ArgAction, CommandFactory, Parser, Subcommand};
use log::{Level, LevelFilter, Metadata, Record};

/// Exit codes, as `--help` documents them.
pub mod exit {
    /// Nothing useful was done: the model, an output or every input failed.
    pub const FAILURE: u8 = 1;
    /// The command line is wrong: an unknown flag, a missing or malformed value, or a value
    /// refused for this model or this machine (`--size`, `--batch`, `--pool`, ...).
    pub const USAGE: u8 = 2;
    /// Some inputs were skipped (unreadable, or a non-finite result); the rest were done and
    /// written.
    pub const SOME_SKIPPED: u8 = 3;
}

const EXIT_CODES: &str = "\
Exit codes:
  0  success
  1  failure (model, output or every input failed)
  2  usage error (bad flag or value, or a value refused for this model or machine)
  3  some inputs were skipped (reported on stderr); the others were done and written";

const EXAMPLES: &str = "\
Examples:
  vitrs embed photos/ --model google/vit-base-patch16-224-in21k -o photos.npy
  vitrs embed 'shots/**/*.jpg' --model random:dinov2-small --normalize -o - | head -1
  vitrs classify cat.jpg --model google/vit-base-patch16-224 --top-k 5
  vitrs info --model facebook/dino-vitb16
  vitrs completions bash > ~/.local/share/bash-completion/completions/vitrs

Threads: --threads N, else RAYON_NUM_THREADS, else one per core.
Models: a folder, a Hub id (org/name[@revision]; HF_HOME, HF_HUB_CACHE, HF_ENDPOINT, HF_TOKEN,
HF_HUB_OFFLINE=1 as in Python; fetch ahead with `hf download ORG/NAME`), or random:NAME.";

#[derive(Parser)]
#[command(
    name = "vitrs",
    version,
    about = "Run Vision Transformers on a CPU",
    after_help = format!("{EXAMPLES}\n\n{EXIT_CODES}"),
)]
struct Cli {
    /// Print less: -q hides progress and summaries (warnings and errors remain), -qq leaves
    /// errors only.
    #[arg(short, long, action = ArgAction::Count, global = true, conflicts_with = "verbose")]
    quiet: u8,
    /// Print more: -v adds debug messages, -vv traces.
    #[arg(short, long, action = ArgAction::Count, global = true)]
    verbose: u8,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the model on `pixel_values` from a safetensors file.
    #[command(after_help = commands::run::EXAMPLES)]
    Run(commands::run::Args),
    /// Turn image files into `pixel_values` exactly as ViTImageProcessor does.
    #[command(after_help = commands::preprocess::EXAMPLES)]
    Preprocess(commands::preprocess::Args),
    /// Embed images: one vector (or token matrix) per image.
    #[command(after_help = format!("{}\n\n{EXIT_CODES}", commands::EMBED_EXAMPLES))]
    Embed(commands::embed::Args),
    /// Classify images with a ViTForImageClassification checkpoint.
    #[command(after_help = format!("{}\n\n{EXIT_CODES}", commands::classify::EXAMPLES))]
    Classify(commands::classify::Args),
    /// Time the forward pass; prints one JSON object.
    #[command(after_help = commands::bench::EXAMPLES)]
    Bench(commands::bench::Args),
    /// Describe a model: module tree, parameters, size, tokens and GFLOP per image.
    #[command(after_help = commands::info::EXAMPLES)]
    Info(commands::info::Args),
    /// Convert a timm or JAX checkpoint into the Hugging Face layout.
    #[command(after_help = commands::convert::EXAMPLES)]
    Convert(commands::convert::Args),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell) on stdout.
    #[command(after_help = commands::completions::EXAMPLES)]
    Completions(commands::completions::Args),
}

/// Log records on stderr: the library's prefixed `vitrs: `, the command's own messages as
/// they are; other crates only from warnings up.
struct StderrLogger {
    level: LevelFilter,
}

impl StderrLogger {
    fn ours(target: &str) -> bool {
        target == "vitrs" || target.starts_with("vitrs::") || target.starts_with("vitrs_")
    }
}

impl log::Log for StderrLogger {
    fn enabled(&self, m: &Metadata) -> bool {
        m.level() <= self.level && (Self::ours(m.target()) || m.level() <= Level::Warn)
    }

    fn log(&self, r: &Record) {
        if !self.enabled(r.metadata()) {
            return;
        }
        let command = r.target() == "vitrs" || r.target().starts_with("vitrs::commands");
        let line = match r.level() {
            Level::Error => format!("error: {}", r.args()),
            Level::Warn | Level::Info if command => format!("{}", r.args()),
            Level::Warn | Level::Info => format!("vitrs: {}", r.args()),
            level => format!("vitrs [{} {}]: {}", level, r.target(), r.args()),
        };
        // Not eprintln!: a full or broken stderr must not turn a message into a panic.
        let _ = writeln!(std::io::stderr(), "{line}");
    }

    fn flush(&self) {}
}

fn init_logging(quiet: u8, verbose: u8) {
    let level = match (quiet, verbose) {
        (0, 0) => LevelFilter::Info,
        (1, _) => LevelFilter::Warn,
        (_, 0) => LevelFilter::Error,
        (_, 1) => LevelFilter::Debug,
        _ => LevelFilter::Trace,
    };
    let logger: &'static StderrLogger = Box::leak(Box::new(StderrLogger { level }));
    if log::set_logger(logger).is_ok() {
        log::set_max_level(level);
    }
}

/// SIGINT, SIGTERM and SIGHUP: remove partial files, then die of the signal as if unhandled
/// (so a shell sees 130, 143 or 129). SIGXFSZ (a file-size limit, `ulimit -f`) is caught so the
/// write fails with `EFBIG` and the command cleans up, instead of the process dying mid-write.
fn install_signal_cleanup() -> std::io::Result<()> {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM, SIGXFSZ};
    let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP])?;
    std::thread::Builder::new()
        .name("vitrs-signals".into())
        .spawn(move || {
            if let Some(sig) = signals.forever().next() {
                let _hold = vitrs::output::hold_signals();
                let _guard = vitrs::output::remove_partial_files();
                let _ = signal_hook::low_level::emulate_default_handler(sig);
                std::process::exit(128 + sig);
            }
        })?;
    signal_hook::flag::register(SIGXFSZ, Default::default())?;
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.quiet, cli.verbose);
    if let Err(e) = install_signal_cleanup() {
        log::warn!(
            "cannot catch signals ({e}); an interrupted run may leave a {}XXXXXX file",
            vitrs::output::PARTIAL_PREFIX
        );
    }
    // VITRS_ISA asking for kernels this CPU lacks (or naming none) is an error here, before
    // anything would run on them.
    if let Err(err) = vitrs_kernels::gemm::select() {
        let _ = writeln!(std::io::stderr(), "error: {err}");
        return ExitCode::FAILURE;
    }
    let result = match cli.command {
        Command::Run(args) => commands::run::main(args),
        Command::Preprocess(args) => commands::preprocess::main(args),
        Command::Convert(args) => commands::convert::main(args),
        Command::Bench(args) => commands::bench::main(args),
        Command::Embed(args) => commands::embed::main(args),
        Command::Classify(args) => commands::classify::main(args),
        Command::Info(args) => commands::info::main(args),
        Command::Completions(args) => commands::completions::main(args, &mut Cli::command()),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            // Not eprintln!: a full or broken stderr must not turn an error into a panic.
            let _ = writeln!(std::io::stderr(), "error: {}", one_line(&err));
            ExitCode::from(exit_code(&err))
        }
    }
}

/// [`exit::USAGE`] for a value the command line got wrong, [`exit::FAILURE`] otherwise.
fn exit_code(err: &anyhow::Error) -> u8 {
    let usage = err.chain().any(|e| {
        e.downcast_ref::<commands::UsageError>().is_some()
            || matches!(
                e.downcast_ref::<vitrs::Error>(),
                Some(vitrs::Error::Option { .. })
            )
    });
    if usage {
        exit::USAGE
    } else {
        exit::FAILURE
    }
}

/// The error and its causes on one line, outermost first; a cause the message already ends
/// with (an error that shows its source itself) is not repeated.
fn one_line(err: &anyhow::Error) -> String {
    let mut text = String::new();
    for e in err.chain() {
        let part = e.to_string();
        if text.is_empty() {
            text = part;
        } else if !text.ends_with(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }
}
