//! Writing embeddings as `.npy`, safetensors or JSON lines. Every format is written to a
//! temporary file and renamed into place once complete.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use anyhow::{bail, Result};
use vitrs_tensor::Tensor;

use crate::io::write_atomic;

/// Output formats of `vitrs embed`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// NumPy `.npy`: one f32 array `[N, D]` (or `[N, T, D]`), rows in input order.
    Npy,
    /// safetensors: tensor `embeddings` plus the paths as JSON in the metadata key `paths`.
    Safetensors,
    /// One JSON object per line: `{"path": ..., "embedding": [...]}`.
    Jsonl,
}

impl FromStr for Format {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "npy" => Ok(Format::Npy),
            "safetensors" => Ok(Format::Safetensors),
            "jsonl" => Ok(Format::Jsonl),
            _ => Err(format!(
                "unknown format {s:?}; expected npy, safetensors or jsonl"
            )),
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Format::Npy => "npy",
            Format::Safetensors => "safetensors",
            Format::Jsonl => "jsonl",
        })
    }
}

impl Format {
    /// The format a file name implies, if its extension names one.
    pub fn from_path(path: &Path) -> Option<Format> {
        path.extension()?.to_str()?.parse().ok()
    }
}

/// The `.npy` (version 1.0) encoding of an f32 array.
pub fn npy_bytes(dims: &[usize], data: &[f32]) -> Vec<u8> {
    let shape = match dims {
        [n] => format!("({n},)"),
        _ => format!(
            "({})",
            dims.iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let mut header = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': {shape}, }}");
    // Magic (6) + version (2) + length (2) + header + '\n' is padded to a multiple of 64.
    let unpadded = 10 + header.len() + 1;
    header.push_str(&" ".repeat((64 - unpadded % 64) % 64));
    header.push('\n');
    let mut out = Vec::with_capacity(10 + header.len() + data.len() * 4);
    out.extend_from_slice(b"\x93NUMPY\x01\x00");
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    out.extend(data.iter().flat_map(|v| v.to_le_bytes()));
    out
}

/// Writes the embeddings of `paths` (same order, same shapes) to `out` in `format`.
pub fn write(out: &Path, format: Format, paths: &[PathBuf], embeddings: &[Tensor]) -> Result<()> {
    let Some(first) = embeddings.first() else {
        bail!(
            "no image could be embedded, so {} was not written",
            out.display()
        );
    };
    let row = first.dims().to_vec();
    let mut dims = vec![embeddings.len()];
    dims.extend_from_slice(&row);
    let data: Vec<f32> = embeddings
        .iter()
        .flat_map(|e| e.data().iter().copied())
        .collect();
    let names: Vec<String> = paths
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    match format {
        Format::Npy => write_atomic(out, &npy_bytes(&dims, &data)),
        Format::Safetensors => {
            let tensor = Tensor::new(&dims, data)?;
            let metadata = [("paths".to_string(), serde_json::to_string(&names)?)];
            crate::io::write_tensors_with_metadata(
                out,
                &[("embeddings".to_string(), &tensor)],
                metadata.into_iter().collect(),
            )
        }
        Format::Jsonl => {
            let mut text = String::new();
            for (name, e) in names.iter().zip(embeddings) {
                let embedding = match e.dims() {
                    [_, d] => serde_json::json!(e.data().chunks(*d).collect::<Vec<_>>()),
                    _ => serde_json::json!(e.data()),
                };
                text.push_str(
                    &serde_json::json!({"path": name, "embedding": embedding}).to_string(),
                );
                text.push('\n');
            }
            write_atomic(out, text.as_bytes())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn npy_header_is_aligned_and_describes_the_array() {
        let b = npy_bytes(&[2, 3], &[0.0; 6]);
        let hlen = u16::from_le_bytes([b[8], b[9]]) as usize;
        assert_eq!((10 + hlen) % 64, 0);
        let header = std::str::from_utf8(&b[10..10 + hlen]).unwrap();
        assert!(header.contains("'shape': (2, 3)") && header.ends_with('\n'));
        assert_eq!(b.len(), 10 + hlen + 24);
    }
}
