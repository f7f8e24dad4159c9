//! `cargo xtask msrv`: the Rust version the workspace states (`rust-version`) must be the one
//! it really needs: the newer of what its lockfile needs (the newest `rust-version` among the
//! resolved dependencies, from `cargo metadata`, offline) and what vitrs's own code needs
//! ([`OWN_CODE_NEEDS`]), so a user on the stated toolchain can build it and no older one is
//! excluded for nothing.

use std::process::Command;

use anyhow::{bail, Context, Result};
use serde::Deserialize;

#[derive(Deserialize)]
struct Metadata {
    packages: Vec<Package>,
    workspace_members: Vec<String>,
    resolve: Option<Resolve>,
}

#[derive(Deserialize)]
struct Package {
    id: String,
    name: String,
    version: String,
    rust_version: Option<String>,
}

#[derive(Deserialize)]
struct Resolve {
    nodes: Vec<Node>,
}

#[derive(Deserialize)]
struct Node {
    id: String,
}

/// The Rust version vitrs's own code needs, and why. Raise it with the feature that needs it.
const OWN_CODE_NEEDS: ((u32, u32, u32), &str) = (
    (1, 89, 0),
    "the AVX-512 intrinsics and `avx512vnni` / `avxvnni` target features of the int8 kernels (qgemm/x86.rs) are stable since 1.89",
);

/// `1.88` or `1.88.0` as a comparable triple.
fn parse(version: &str) -> Result<(u32, u32, u32)> {
    let mut parts = version.split('.').map(str::parse::<u32>);
    let mut next = || parts.next().transpose();
    let major = next()?.context("empty version")?;
    Ok((major, next()?.unwrap_or(0), next()?.unwrap_or(0)))
}

/// Prints the needed version and fails if the workspace states another.
pub fn run() -> Result<()> {
    let out = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(["metadata", "--format-version", "1", "--locked", "--offline"])
        .current_dir(crate::paths::root())
        .output()
        .context("running cargo metadata")?;
    if !out.status.success() {
        bail!(
            "cargo metadata failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let meta: Metadata = serde_json::from_slice(&out.stdout).context("parsing cargo metadata")?;
    let resolved: std::collections::HashSet<&str> = meta
        .resolve
        .as_ref()
        .context("cargo metadata gave no resolve graph")?
        .nodes
        .iter()
        .map(|n| n.id.as_str())
        .collect();
    let mut needed: Option<((u32, u32, u32), String)> = None;
    let mut stated = Vec::new();
    for p in &meta.packages {
        let Some(rv) = &p.rust_version else { continue };
        let v = parse(rv).with_context(|| format!("{}: rust-version {rv:?}", p.name))?;
        if meta.workspace_members.contains(&p.id) {
            stated.push((p.name.clone(), v, rv.clone()));
        } else if resolved.contains(p.id.as_str()) && needed.as_ref().is_none_or(|(n, _)| v > *n) {
            needed = Some((v, format!("{} {} (rust-version {rv})", p.name, p.version)));
        }
    }
    let Some((locked, by)) = needed else {
        bail!("no dependency states a rust-version");
    };
    println!(
        "the lockfile needs Rust {}.{}.{}: {by}",
        locked.0, locked.1, locked.2
    );
    let (own, why) = OWN_CODE_NEEDS;
    println!(
        "vitrs's own code needs Rust {}.{}.{}: {why}",
        own.0, own.1, own.2
    );
    let needed = locked.max(own);
    let wrong: Vec<String> = stated
        .iter()
        .filter(|(_, v, _)| *v != needed)
        .map(|(name, _, rv)| format!("{name} states {rv}"))
        .collect();
    if stated.is_empty() || !wrong.is_empty() {
        bail!(
            "workspace rust-version must be {}.{}: {}",
            needed.0,
            needed.1,
            if wrong.is_empty() {
                "none is stated".to_string()
            } else {
                wrong.join(", ")
            }
        );
    }
    println!("every workspace crate states it");
    Ok(())
}
