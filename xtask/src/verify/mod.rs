//! `cargo xtask verify`: the manifest, then every fixture case, as one table.
//!
//! Each area of fixtures has a module here that turns its cases into [`Row`]s; a case that
//! cannot even run becomes a failing row carrying the error, so one broken case never hides
//! the others.

mod convert;
mod images;
mod models;

use std::path::Path;

use anyhow::{bail, Result};

use crate::{manifest, paths};

/// One line of the verification table.
pub struct Row {
    /// Case name (the fixture folder).
    pub case: String,
    /// Which output was compared.
    pub output: String,
    /// The measured disagreement (max |diff| unless the area says otherwise).
    pub diff: f64,
    /// The bound it must stay within.
    pub tolerance: f64,
    /// Why the row failed beyond the numbers (missing output, error...), if it did.
    pub error: Option<String>,
    /// Something worth showing beside a passing row (the refusal message, say).
    pub note: Option<String>,
}

#[allow(dead_code)] // constructors are used as fixture areas are written
impl Row {
    /// A compared output.
    pub fn compared(case: &str, output: &str, diff: f64, tolerance: f64) -> Row {
        Row {
            case: case.to_string(),
            output: output.to_string(),
            diff,
            tolerance,
            error: None,
            note: None,
        }
    }

    /// The same row with a note printed after it.
    pub fn with_note(mut self, note: String) -> Row {
        self.note = Some(note);
        self
    }

    /// A case or output that could not be compared.
    pub fn failed(case: &str, output: &str, error: impl std::fmt::Display) -> Row {
        Row {
            case: case.to_string(),
            output: output.to_string(),
            diff: f64::NAN,
            tolerance: f64::NAN,
            error: Some(error.to_string()),
            note: None,
        }
    }

    /// Whether the row passes.
    pub fn pass(&self) -> bool {
        self.error.is_none() && self.diff <= self.tolerance
    }
}

/// The case folders (those holding a `case.json`) under `dir`, sorted; none if `dir` does not
/// exist.
pub fn case_dirs(dir: &Path) -> Vec<std::path::PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut cases: Vec<_> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("case.json").exists())
        .collect();
    cases.sort();
    cases
}

fn verify_dir(dir: &Path, rows: &mut Vec<Row>) -> Result<()> {
    let n = manifest::check(dir)?;
    println!("{}: manifest OK ({n} files)", dir.display());
    rows.extend(models::verify(&dir.join("models")));
    rows.extend(images::verify(&dir.join("preprocess")));
    rows.extend(convert::verify(&dir.join("convert")));
    Ok(())
}

/// Runs the whole verification once per ISA this CPU has (the emulated sixteen lanes
/// included), each in a child process with `VITRS_ISA` set: the kernels are chosen once per
/// process. Fails if any of them fails.
pub fn run_all_isas(full: bool) -> Result<()> {
    let exe = std::env::current_exe()?;
    let isas = vitrs_kernels::gemm::Isa::available();
    let mut failed = Vec::new();
    for isa in &isas {
        println!("=== verify with VITRS_ISA={isa} ===");
        let mut cmd = std::process::Command::new(&exe);
        cmd.arg("verify").env("VITRS_ISA", isa.name());
        cmd.env_remove("VITRS_PORTABLE");
        if full {
            cmd.arg("--full");
        }
        if !cmd.status()?.success() {
            failed.push(isa.name());
        }
    }
    let names: Vec<_> = isas.iter().map(|i| i.name()).collect();
    let absent: Vec<_> = vitrs_kernels::gemm::Isa::ALL
        .iter()
        .filter(|i| !i.supported())
        .map(|i| i.name())
        .collect();
    println!(
        "verify ran under: {}; not on this CPU: {}",
        names.join(", "),
        if absent.is_empty() {
            "none".to_string()
        } else {
            absent.join(", ")
        }
    );
    if !failed.is_empty() {
        bail!("verify failed under VITRS_ISA={}", failed.join(", "));
    }
    Ok(())
}

/// Checks manifests and runs every case; fails if any row fails.
pub fn run(full: bool) -> Result<()> {
    let isa = vitrs_kernels::gemm::select()?;
    println!("kernels: {isa} ({} f32 lanes)", isa.lanes());
    println!("int8 kernels: {}", vitrs_kernels::qgemm::QIsa::summary()?);
    let mut rows = Vec::new();
    verify_dir(&paths::fixtures(), &mut rows)?;
    if full {
        verify_dir(&paths::full_fixtures(), &mut rows)?;
    }
    print_table(&rows);
    let failed = rows.iter().filter(|r| !r.pass()).count();
    if failed > 0 {
        bail!("{failed} of {} checks failed", rows.len());
    }
    println!("all {} checks passed", rows.len());
    Ok(())
}

fn print_table(rows: &[Row]) {
    let cw = rows.iter().map(|r| r.case.len()).max().unwrap_or(4).max(4);
    let ow = rows
        .iter()
        .map(|r| r.output.len())
        .max()
        .unwrap_or(6)
        .max(6);
    println!(
        "{:cw$}  {:ow$}  {:>10}  {:>10}  pass",
        "case", "output", "max|diff|", "tolerance"
    );
    for r in rows {
        let verdict = if r.pass() { "yes" } else { "NO" };
        println!(
            "{:cw$}  {:ow$}  {:>10.3e}  {:>10.1e}  {verdict}{}",
            r.case,
            r.output,
            r.diff,
            r.tolerance,
            r.error
                .as_deref()
                .or(r.note.as_deref())
                .map(|e| format!("  ({e})"))
                .unwrap_or_default()
        );
    }
}
