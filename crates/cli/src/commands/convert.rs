//! `vitrs convert`.

use std::process::ExitCode;

/// Arguments of `vitrs convert`.
#[derive(clap::Args)]
pub struct Args {}

/// Runs the subcommand.
pub fn main(_args: Args) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`vitrs convert` is not implemented yet")
}
