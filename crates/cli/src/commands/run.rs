//! `vitrs run`.

use std::process::ExitCode;

/// Arguments of `vitrs run`.
#[derive(clap::Args)]
pub struct Args {}

/// Runs the subcommand.
pub fn main(_args: Args) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`vitrs run` is not implemented yet")
}
