//! `cargo xtask fixtures`: run every generator in `xtask/python/` with the pinned stack.

use std::process::Command;

use anyhow::{Context, Result};

use crate::{manifest, paths, venv};

/// Runs each `xtask/python/gen_*.py` (those matching `only`, if given), then rewrites the
/// manifests.
pub fn run(full: bool, only: Option<&str>) -> Result<()> {
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
            .arg(paths::fixtures())
            .arg("--full-out")
            .arg(paths::full_fixtures())
            .env("PYTHONHASHSEED", "0")
            .env("CUBLAS_WORKSPACE_CONFIG", ":4096:8");
        if full {
            cmd.arg("--full");
        }
        venv::run(&mut cmd)?;
    }
    let n = manifest::write(&paths::fixtures())?;
    eprintln!("xtask: fixtures/manifest.json lists {n} files");
    if full {
        let n = manifest::write(&paths::full_fixtures())?;
        eprintln!("xtask: fixtures/full/manifest.json lists {n} files");
    }
    Ok(())
}
