//! `cargo xtask fixtures`: run every generator in `xtask/python/` with the pinned stack.

use std::process::Command;

use anyhow::{Context, Result};

use crate::{manifest, paths, venv};

/// Runs each `xtask/python/gen_*.py` (those matching `only`, if given), then rewrites the
/// manifests.
pub fn run(full: bool, only: Option<&str>) -> Result<()> {
    generate(full, only, &paths::fixtures())
}

/// Only the full-size fixtures (for `bench-peers`): the generators' small outputs go to a
/// scratch folder under `target/`, so the committed fixtures are never rewritten (the oracle's
/// sums differ in the last bits from one machine load to the next).
pub fn run_full_only(only: Option<&str>) -> Result<()> {
    let scratch = paths::root().join("target").join("fixtures-scratch");
    let result = generate(true, only, &scratch);
    let _ = std::fs::remove_dir_all(&scratch);
    result
}

fn generate(full: bool, only: Option<&str>, small_out: &std::path::Path) -> Result<()> {
    let python = venv::python()?;
    let dir = paths::root().join("xtask").join("python");
    let mut scripts: Vec<_> = std::fs::read_dir(&dir)
        .with_context(|| format!("listing {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            let name = p.file_name().unwrap_or_default().to_string_lossy();
            name.starts_with("gen_")
                && name.ends_with(".py")
                && only.is_none_or(|o| name.contains(o))
        })
        .collect();
    scripts.sort();
    for script in &scripts {
        eprintln!("xtask: running {}", script.display());
        let mut cmd = Command::new(&python);
        cmd.arg(script)
            .arg("--out")
            .arg(small_out)
            .arg("--full-out")
            .arg(paths::full_fixtures())
            .env("PYTHONHASHSEED", "0")
            .env("CUBLAS_WORKSPACE_CONFIG", ":4096:8");
        if full {
            cmd.arg("--full");
        }
        venv::run(&mut cmd)?;
    }
    if small_out == paths::fixtures() {
        let n = manifest::write(small_out)?;
        eprintln!("xtask: fixtures/manifest.json lists {n} files");
    }
    if full {
        let n = manifest::write(&paths::full_fixtures())?;
        eprintln!("xtask: fixtures/full/manifest.json lists {n} files");
    }
    Ok(())
}
