//! `cargo xtask`: the project's chores.
//!
//! - `fixtures [--full]`: builds the pinned Python venv, runs the generators in `xtask/python/`
//!   and writes `fixtures/` (and, with `--full`, `fixtures/full/`) with a sha256 manifest.
//! - `verify [--full]`: checks the manifest and runs every fixture case, printing a table.
//! - `bench-peers [--quick]`: vitrs against ONNX Runtime, PyTorch and Pillow in one run.
//! - `msrv`: checks that the stated `rust-version` is the one the lockfile needs.

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
    },
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Fixtures { full, only } => fixtures::run(full, only.as_deref()),
        Command::Verify { full } => verify::run(full),
        Command::BenchPeers { quick } => bench_peers::run(quick),
        Command::Msrv => msrv::run(),
        Command::Manifest => {
            let n = manifest::write(&paths::fixtures())?;
            println!("fixtures/manifest.json lists {n} files");
            Ok(())
        }
    }
}
