//! `vitrs preprocess`.

use std::process::ExitCode;

/// Arguments of `vitrs preprocess`.
#[derive(clap::Args)]
pub struct Args {}

/// Runs the subcommand.
pub fn main(_args: Args) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`vitrs preprocess` is not implemented yet")
}
