//! The sha256 manifest of a fixture folder: `manifest.json`, `{"files": {path: sha256}}`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use sha2::{Digest, Sha256};

const NAME: &str = "manifest.json";

/// Every file under `dir`, relative, sorted; skips the manifest itself and `full/`.
fn files(dir: &Path) -> Result<Vec<PathBuf>> {
    fn walk(base: &Path, dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
        for entry in std::fs::read_dir(dir).with_context(|| format!("listing {}", dir.display()))? {
            let path = entry?.path();
            let rel = path.strip_prefix(base)?.to_path_buf();
            if rel == Path::new(NAME) || rel == Path::new("full") {
                continue;
            }
            if path.is_dir() {
                walk(base, &path, out)?;
            } else {
                out.push(rel);
            }
        }
        Ok(())
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out)?;
    out.sort();
    Ok(out)
}

fn sha256(path: &Path) -> Result<String> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    Ok(format!("{:x}", Sha256::digest(&bytes)))
}

fn key(rel: &Path) -> String {
    rel.to_string_lossy().replace('\\', "/")
}

/// Writes `dir/manifest.json` listing every file under `dir` with its sha256.
pub fn write(dir: &Path) -> Result<usize> {
    let mut map = BTreeMap::new();
    for rel in files(dir)? {
        map.insert(key(&rel), sha256(&dir.join(&rel))?);
    }
    let json = serde_json::json!({ "files": map });
    std::fs::write(dir.join(NAME), serde_json::to_string_pretty(&json)? + "\n")?;
    Ok(map.len())
}

/// Checks that every file the manifest lists exists with its sha256 and that no file is unlisted.
pub fn check(dir: &Path) -> Result<usize> {
    let path = dir.join(NAME);
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("reading {} (run `cargo xtask fixtures`)", path.display()))?;
    let json: serde_json::Value = serde_json::from_str(&text)?;
    let listed = json["files"]
        .as_object()
        .with_context(|| format!("{}: no \"files\" object", path.display()))?;
    let mut problems = Vec::new();
    for (rel, want) in listed {
        let file = dir.join(rel);
        match sha256(&file) {
            Ok(got) if Some(got.as_str()) == want.as_str() => {}
            Ok(got) => problems.push(format!("{rel}: sha256 {got}, manifest says {want}")),
            Err(_) => problems.push(format!("{rel}: listed in the manifest but missing")),
        }
    }
    for rel in files(dir)? {
        if !listed.contains_key(&key(&rel)) {
            problems.push(format!("{}: present but not in the manifest", key(&rel)));
        }
    }
    if !problems.is_empty() {
        bail!(
            "{} does not match:\n  {}",
            path.display(),
            problems.join("\n  ")
        );
    }
    Ok(listed.len())
}
