//! Writing embeddings as `.npy`, safetensors or JSON lines. Every format is written to a
//! temporary file and renamed into place once complete.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use std::io::Write;

use vitrs_tensor::Tensor;

use crate::error::IoContext;
use crate::output::{Destination, Partial};
use crate::{Error, Result};

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
    /// The format a file name implies, if its extension names one (any case).
    pub fn from_path(path: &Path) -> Option<Format> {
        path.extension()?
            .to_str()?
            .to_ascii_lowercase()
            .parse()
            .ok()
    }

    /// The format of `-o path`: `--format` if given, else the extension; `-` (stdout) is
    /// jsonl. A missing or unknown extension is an error, not a guess.
    pub fn for_output(path: &Path, explicit: Option<Format>) -> Result<Format> {
        if let Some(f) = explicit {
            return Ok(f);
        }
        if path == Path::new("-") {
            return Ok(Format::Jsonl);
        }
        if let Some(f) = Format::from_path(path) {
            return Ok(f);
        }
        let message = match path.extension() {
            Some(ext) => format!(
                "{}: unknown extension `.{}`; name the file .npy, .safetensors or .jsonl, or \
                 pass --format",
                path.display(),
                ext.to_string_lossy()
            ),
            None => format!(
                "{}: no extension to choose the format by; name the file .npy, .safetensors or \
                 .jsonl, or pass --format",
                path.display()
            ),
        };
        Err(Error::output(path, message))
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

/// Writes embeddings one image at a time to a checked [`Destination`]: jsonl is streamed
/// (to stdout as rows come, or to the temporary file); npy and safetensors rows are kept
/// and written at [`Writer::finish`]. The temporary file is made at [`Writer::new`], so an
/// unwritable folder is found before any work; it is removed unless `finish` succeeds.
pub struct Writer {
    format: Format,
    dest: Destination,
    partial: Option<Partial>,
    rows: Vec<(PathBuf, Tensor)>,
    written: usize,
}

impl Writer {
    /// Starts writing `format` to `dest`.
    pub fn new(dest: Destination, format: Format) -> Result<Writer> {
        if format != Format::Jsonl {
            dest.check_binary(&format!("{format}"))?;
        }
        let partial = match &dest {
            Destination::File(t) => Some(t.create()?),
            Destination::Stdout => None,
        };
        Ok(Writer {
            format,
            dest,
            partial,
            rows: Vec::new(),
            written: 0,
        })
    }

    /// The format written.
    pub fn format(&self) -> Format {
        self.format
    }

    /// Where the rows go, for messages.
    pub fn shown(&self) -> String {
        self.dest.shown()
    }

    /// Adds the embedding of `path`. In npy and safetensors every row must have the first
    /// row's shape: a different one is an error naming both images, before anything is
    /// written.
    pub fn push(&mut self, path: &Path, embedding: Tensor) -> Result<()> {
        if self.format == Format::Jsonl {
            let mut row = crate::output::json_path(path);
            let e = &embedding;
            let value = match e.dims() {
                [_, d] => serde_json::json!(e.data().chunks((*d).max(1)).collect::<Vec<_>>()),
                _ => serde_json::json!(e.data()),
            };
            row.insert("embedding".into(), value);
            let mut line = serde_json::Value::Object(row).to_string();
            line.push('\n');
            match &mut self.partial {
                Some(p) => {
                    let shown = self.dest.shown();
                    p.write_all(line.as_bytes())
                        .io_err(Path::new(&shown), || format!("writing {shown}"))?
                }
                None => crate::output::print(&line)?,
            }
            self.written += 1;
            return Ok(());
        }
        if let Some((first, t)) = self.rows.first() {
            if t.dims() != embedding.dims() {
                return Err(Error::output(
                    Path::new(&self.dest.shown()),
                    format!(
                        "{}: its embedding has shape {:?} but the one of {} has {:?}: rows of \
                         different shapes cannot share one {} array (nothing written); use \
                         --format jsonl (one row per line), or --size to give every image the \
                         same size",
                        path.display(),
                        embedding.dims(),
                        first.display(),
                        t.dims(),
                        self.format
                    ),
                ));
            }
        }
        self.rows.push((path.to_path_buf(), embedding));
        Ok(())
    }

    /// Writes what is kept and renames the file into place. With no row at all nothing is
    /// written and this is an error.
    pub fn finish(mut self) -> Result<()> {
        if self.written == 0 && self.rows.is_empty() {
            return Err(Error::output(
                Path::new(&self.dest.shown()),
                format!(
                    "no image could be embedded, so {} was not written",
                    self.dest.shown()
                ),
            ));
        }
        let bytes = match self.format {
            Format::Jsonl => None,
            Format::Npy => {
                let row = self.rows[0].1.dims().to_vec();
                let mut dims = vec![self.rows.len()];
                dims.extend_from_slice(&row);
                let data: Vec<f32> = self
                    .rows
                    .iter()
                    .flat_map(|(_, e)| e.data().iter().copied())
                    .collect();
                Some(npy_bytes(&dims, &data))
            }
            Format::Safetensors => {
                let row = self.rows[0].1.dims().to_vec();
                let mut dims = vec![self.rows.len()];
                dims.extend_from_slice(&row);
                let data: Vec<f32> = self
                    .rows
                    .iter()
                    .flat_map(|(_, e)| e.data().iter().copied())
                    .collect();
                let names: Vec<String> = self
                    .rows
                    .iter()
                    .map(|(p, _)| p.to_string_lossy().into_owned())
                    .collect();
                let tensor = Tensor::new(&dims, data)?;
                let serialising =
                    |source: Box<dyn std::error::Error + Send + Sync>| Error::Serialize {
                        action: format!("serialising {}", self.dest.shown()),
                        source,
                    };
                let paths = serde_json::to_string(&names).map_err(|e| serialising(e.into()))?;
                let metadata: std::collections::HashMap<_, _> =
                    [("paths".to_string(), paths)].into();
                let views = [("embeddings".to_string(), crate::io::f32_view(&tensor))];
                Some(
                    safetensors::tensor::serialize(views, &Some(metadata))
                        .map_err(|e| serialising(e.into()))?,
                )
            }
        };
        match (self.partial.take(), bytes) {
            (Some(mut p), bytes) => {
                if let Some(b) = bytes {
                    let shown = self.dest.shown();
                    p.write_all(&b)
                        .io_err(Path::new(&shown), || format!("writing {shown}"))?;
                }
                p.commit()
            }
            (None, Some(b)) => self.dest.write_all(&b),
            (None, None) => Ok(()),
        }
    }
}

/// Writes the embeddings of `paths` (same order, same shapes) to `out` in `format`, after
/// the checks of [`crate::output::Target::check`].
pub fn write(out: &Path, format: Format, paths: &[PathBuf], embeddings: &[Tensor]) -> Result<()> {
    let dest = Destination::parse(out, &crate::output::Inputs::new())?;
    let mut w = Writer::new(dest, format)?;
    for (p, e) in paths.iter().zip(embeddings) {
        w.push(p, e.clone())?;
    }
    w.finish()
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
