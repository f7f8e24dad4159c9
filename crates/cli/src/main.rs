//! The `vitrs` command. Each subcommand lives in `commands/<name>.rs`; this file only parses
//! arguments and turns errors into one line and a non-zero exit code.

mod commands;

use std::io::Write;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "vitrs", version, about = "Run Vision Transformers on a CPU")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the model on `pixel_values` from a safetensors file.
    Run(commands::run::Args),
    /// Turn image files into `pixel_values` exactly as ViTImageProcessor does.
    Preprocess(commands::preprocess::Args),
    /// Embed images: one vector (or token matrix) per image.
    Embed(commands::embed::Args),
    /// Classify images with a ViTForImageClassification checkpoint.
    Classify(commands::classify::Args),
    /// Time the forward pass; prints one JSON object.
    Bench(commands::bench::Args),
    /// Describe a model: module tree, parameters, size, tokens and GFLOP per image.
    Info(commands::info::Args),
    /// Convert a timm or JAX checkpoint into the Hugging Face layout.
    Convert(commands::convert::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // SIGINT, SIGTERM, SIGHUP: outputs are renamed into place only when complete, so it is
    // enough to remove the partial temporary files and die of the signal.
    if let Err(e) = vitrs::output::install_signal_cleanup() {
        let _ = writeln!(
            std::io::stderr(),
            "vitrs: cannot catch signals ({e}); an interrupted run may leave a {}XXXXXX file",
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
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            // Not eprintln!: a full or broken stderr must not turn an error into a panic.
            let _ = writeln!(std::io::stderr(), "error: {}", one_line(&err));
            ExitCode::FAILURE
        }
    }
}

/// The error and its causes on one line, outermost first.
fn one_line(err: &anyhow::Error) -> String {
    err.chain()
        .map(|e| e.to_string())
        .collect::<Vec<_>>()
        .join(": ")
}
