//! `vitrs completions SHELL`: a completion script for the shell, on stdout.

use std::process::ExitCode;

use anyhow::Result;
use clap_complete::Shell;

/// `vitrs completions --help` examples.
pub const EXAMPLES: &str = "\
Examples:
  vitrs completions bash > ~/.local/share/bash-completion/completions/vitrs
  vitrs completions zsh > ~/.zfunc/_vitrs        # with fpath+=(~/.zfunc) in ~/.zshrc
  vitrs completions fish > ~/.config/fish/completions/vitrs.fish";

/// Arguments of `vitrs completions`.
#[derive(clap::Args)]
pub struct Args {
    /// The shell to complete in.
    #[arg(value_enum)]
    shell: Shell,
}

/// Runs the subcommand on the command `cmd` describes.
pub fn main(args: Args, cmd: &mut clap::Command) -> Result<ExitCode> {
    let mut script = Vec::new();
    clap_complete::generate(args.shell, cmd, "vitrs", &mut script);
    vitrs::output::print(&String::from_utf8_lossy(&script))?;
    Ok(ExitCode::SUCCESS)
}
