//! `cargo xtask`: the project's chores.
//!
//! - `fixtures [--full]`: builds the pinned Python venv, runs the generators in `xtask/python/`
//!   and writes `fixtures/` (and, with `--full`, `fixtures/full/`) with a sha256 manifest.
//! - `verify [--full] [--all-isas]`: checks the manifest and runs every fixture case, printing
//!   a table (with `--all-isas`, once per ISA the CPU has, each in its own process).
//! - `bench-peers [--quick] [--baseline BIN] [--only f32,families,preprocess,int8]`: vitrs against ONNX Runtime, OpenVINO, PyTorch
//!   and Pillow in one run.
//! - `msrv`: checks that the stated `rust-version` is the one the lockfile and vitrs's own
//!   code need.

mod bench_peers;
mod fixtures;
mod manifest;
mod msrv;
mod paths;
mod venv;
mod verify;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "cargo xtask",
    about = "Fixtures, verification and peer benchmarks for vitrs"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Build the venv, generate fixtures with the pinned transformers, write the manifests.
    Fixtures {
        /// Also generate the full-size cases into fixtures/full/ (ignored by git).
        #[arg(long)]
        full: bool,
        /// Only run generators whose name contains this (e.g. `models`).
        #[arg(long)]
        only: Option<String>,
    },
    /// Time vitrs, ONNX Runtime and PyTorch on the same ViT-B/16 weights, and preprocessing
    /// against Pillow, in one run; prints a table (also target/bench-peers.md).
    BenchPeers {
        /// Fewer runs per configuration.
        #[arg(long)]
        quick: bool,
        /// Another vitrs binary (e.g. main's, built elsewhere) timed in the same rounds.
        #[arg(long)]
        baseline: Option<std::path::PathBuf>,
        /// Only these sections, comma-separated: f32, families, preprocess, int8 (int8 reuses
        /// the inputs and ONNX export an earlier f32 run left in target/bench-peers).
        #[arg(long, value_delimiter = ',')]
        only: Vec<bench_peers::Section>,
    },
    /// Check that the workspace's rust-version is the newest one its locked dependencies state.
    Msrv,
    /// Rewrite fixtures/manifest.json from the files present (after a merge, say).
    Manifest,
    /// Check the manifest and run every fixture case against its reference outputs.
    Verify {
        /// Also run the generated full-size cases in fixtures/full/.
        #[arg(long)]
        full: bool,
        /// Run it once under each ISA this CPU has (`VITRS_ISA` = avx512, avx2, emu16,
        /// portable), each in its own process.
        #[arg(long)]
        all_isas: bool,
    },
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Fixtures { full, only } => fixtures::run(full, only.as_deref()),
        Command::Verify {
            full,
            all_isas: false,
        } => verify::run(full),
        Command::Verify {
            full,
            all_isas: true,
        } => verify::run_all_isas(full),
        Command::BenchPeers {
            quick,
            baseline,
            only,
        } => bench_peers::run(quick, baseline.as_deref(), &only),
        Command::Msrv => msrv::run(),
        Command::Manifest => {
            let n = manifest::write(&paths::fixtures())?;
            println!("fixtures/manifest.json lists {n} files");
            Ok(())
        }
    }
}
