//! The Python venv holding the pinned oracle stack.

use std::path::PathBuf;
use std::process::Command;

use anyhow::{bail, Context, Result};

use crate::paths;

/// Returns the venv's python, creating the venv and installing `xtask/requirements.txt` if the
/// venv is missing or its requirements stamp is stale. `VITRS_VENV` overrides the location
/// (default `.venv/` at the workspace root).
pub fn python() -> Result<PathBuf> {
    let dir = std::env::var_os("VITRS_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| paths::root().join(".venv"));
    let python = dir.join("bin").join("python");
    let requirements = paths::root().join("xtask").join("requirements.txt");
    let wanted = std::fs::read_to_string(&requirements)
        .with_context(|| format!("reading {}", requirements.display()))?;
    let stamp = dir.join("vitrs-requirements.txt");
    if python.exists() && std::fs::read_to_string(&stamp).ok().as_deref() == Some(&wanted) {
        return Ok(python);
    }
    if !python.exists() {
        eprintln!("xtask: creating venv in {}", dir.display());
        run(Command::new("python3").arg("-m").arg("venv").arg(&dir))?;
    }
    eprintln!("xtask: installing the pinned oracle stack (this takes a few minutes once)");
    run(Command::new(&python)
        .args(["-m", "pip", "install", "--quiet", "-r"])
        .arg(&requirements))?;
    std::fs::write(&stamp, wanted)?;
    Ok(python)
}

/// Runs a command, failing with its name if it does not succeed.
pub fn run(cmd: &mut Command) -> Result<()> {
    let status = cmd.status().with_context(|| format!("starting {cmd:?}"))?;
    if !status.success() {
        bail!("{cmd:?} failed with {status}");
    }
    Ok(())
}
