//! One output file of embeddings, written row by row as they are computed: memory stays flat
//! however many rows there are.
//!
//! - npy: a header of fixed length is written first with a placeholder shape and patched with
//!   the row count at the end; rows go straight to the file.
//! - jsonl: one line per row, with the path.
//! - safetensors: the header (with the paths in its metadata) must come first, so rows go to
//!   an unnamed temporary file beside the destination and are copied after the header at the
//!   end. The paths of the file are kept in memory until then.
//! - stdout (`-o -`): jsonl is streamed; npy and safetensors go through the temporary file.
//!
//! The destination is a [`Partial`] until [`RowFile::finish`]: an interrupted write leaves
//! nothing at the destination.

use std::fs::File;
use std::io::{self, BufWriter, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use super::write::Format;
use crate::error::IoContext;
use crate::output::{Destination, Partial};
use crate::{Error, Result};

/// Bytes reserved for the `.npy` header (magic, version, length, dict, padding): room for a
/// shape of 20-digit numbers.
const NPY_HEADER: usize = 128;

/// The `.npy` header for an f32 array of `dims`, padded to exactly `len` bytes (a multiple
/// of 64, as numpy aligns it).
pub fn npy_header(dims: &[usize], len: usize) -> Result<Vec<u8>> {
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
    let mut dict = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': {shape}, }}");
    let used = 10 + dict.len() + 1;
    if used > len || !len.is_multiple_of(64) {
        return Err(Error::output(
            Path::new(""),
            format!("the npy header for shape {shape} does not fit in {len} bytes"),
        ));
    }
    dict.push_str(&" ".repeat(len - used));
    dict.push('\n');
    let mut out = Vec::with_capacity(len);
    out.extend_from_slice(b"\x93NUMPY\x01\x00");
    out.extend_from_slice(&((len - 10) as u16).to_le_bytes());
    out.extend_from_slice(dict.as_bytes());
    Ok(out)
}

enum Sink {
    File(Partial),
    Stdout,
}

/// One output file being written row by row.
pub struct RowFile {
    format: Format,
    shown: String,
    sink: Sink,
    /// Rows waiting for their header (safetensors, and npy to stdout).
    spool: Option<BufWriter<File>>,
    rows: usize,
    /// The shape of one row and the image that gave the first.
    first: Option<(Vec<usize>, PathBuf)>,
    /// The paths, for the safetensors metadata.
    paths: Vec<String>,
}

impl RowFile {
    /// Starts writing `format` to `dest`; the temporary file is made now, so an unwritable
    /// folder is found before any work.
    pub fn new(dest: &Destination, format: Format) -> Result<RowFile> {
        if format != Format::Jsonl {
            dest.check_binary(&format!("{format}"))?;
        }
        let shown = dest.shown();
        let (sink, spool_dir) = match dest {
            Destination::File(t) => {
                let p = t.create()?;
                let dir = p
                    .temp_path()
                    .parent()
                    .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
                (Sink::File(p), Some(dir))
            }
            Destination::Stdout => (Sink::Stdout, None),
        };
        let needs_spool = matches!(
            (format, &sink),
            (Format::Safetensors, _) | (Format::Npy, Sink::Stdout)
        );
        let spool = if needs_spool {
            let file = match &spool_dir {
                Some(dir) => tempfile::tempfile_in(dir),
                None => tempfile::tempfile(),
            }
            .io_err(Path::new(&shown), || {
                format!("{shown}: cannot make a temporary file for the rows")
            })?;
            Some(BufWriter::with_capacity(1 << 20, file))
        } else {
            None
        };
        let mut f = RowFile {
            format,
            shown,
            sink,
            spool,
            rows: 0,
            first: None,
            paths: Vec::new(),
        };
        if let (Format::Npy, Sink::File(p)) = (format, &mut f.sink) {
            p.write_all(&npy_header(&[0, 0], NPY_HEADER)?)
                .io_err(Path::new(&f.shown), || format!("writing {}", f.shown))?;
        }
        Ok(f)
    }

    /// Rows written so far.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Where the rows go, for messages.
    pub fn shown(&self) -> &str {
        &self.shown
    }

    /// Appends the embedding of `path`. In npy and safetensors every row must have the first
    /// row's shape: a different one is an error naming both images.
    pub fn push(&mut self, path: &Path, dims: &[usize], data: &[f32]) -> Result<()> {
        if self.format == Format::Jsonl {
            let mut row = crate::output::json_path(path);
            let value = match dims {
                [_, d] => serde_json::json!(data.chunks((*d).max(1)).collect::<Vec<_>>()),
                _ => serde_json::json!(data),
            };
            row.insert("embedding".into(), value);
            let mut line = serde_json::Value::Object(row).to_string();
            line.push('\n');
            match &mut self.sink {
                Sink::File(p) => p
                    .write_all(line.as_bytes())
                    .io_err(Path::new(&self.shown), || format!("writing {}", self.shown))?,
                Sink::Stdout => crate::output::print(&line)?,
            }
            self.rows += 1;
            return Ok(());
        }
        match &self.first {
            Some((first, first_path)) if first.as_slice() != dims => {
                return Err(Error::output(
                    Path::new(&self.shown),
                    format!(
                        "{}: its embedding has shape {:?} but the one of {} has {:?}: rows of \
                         different shapes cannot share one {} array; use --format jsonl (one \
                         row per line), or --size to give every image the same size",
                        path.display(),
                        dims,
                        first_path.display(),
                        first,
                        self.format
                    ),
                ))
            }
            Some(_) => {}
            None => self.first = Some((dims.to_vec(), path.to_path_buf())),
        }
        let w: &mut dyn Write = match (&mut self.spool, &mut self.sink) {
            (Some(s), _) => s,
            (None, Sink::File(p)) => p,
            (None, Sink::Stdout) => unreachable!("binary rows to stdout are spooled"),
        };
        write_f32(w, data).io_err(Path::new(&self.shown), || format!("writing {}", self.shown))?;
        if self.format == Format::Safetensors {
            self.paths.push(path.to_string_lossy().into_owned());
        }
        self.rows += 1;
        Ok(())
    }

    /// Completes the file (header, rows) and renames it into place. A file with no row is an
    /// error and nothing is written.
    pub fn finish(mut self) -> Result<usize> {
        let shown = self.shown.clone();
        if self.rows == 0 {
            return Err(Error::output(
                Path::new(&shown),
                format!("no image could be embedded, so {shown} was not written"),
            ));
        }
        let at = Path::new(&shown);
        let ctx = || format!("writing {shown}");
        let header = match self.format {
            Format::Jsonl => None,
            Format::Npy => {
                let mut dims = vec![self.rows];
                dims.extend(self.first.as_ref().map_or(&[][..], |f| &f.0[..]));
                Some(npy_header(&dims, NPY_HEADER)?)
            }
            Format::Safetensors => Some(self.safetensors_header()?),
        };
        let spool = match self.spool.take() {
            Some(s) => {
                let mut f = s.into_inner().map_err(|e| e.into_error()).io_err(at, ctx)?;
                f.seek(SeekFrom::Start(0)).io_err(at, ctx)?;
                Some(f)
            }
            None => None,
        };
        match self.sink {
            Sink::File(mut p) => {
                match (self.format, header, spool) {
                    (Format::Npy, Some(h), None) => {
                        p.seek(SeekFrom::Start(0)).io_err(at, ctx)?;
                        p.write_all(&h).io_err(at, ctx)?;
                    }
                    (_, Some(h), Some(mut s)) => {
                        p.write_all(&h).io_err(at, ctx)?;
                        io::copy(&mut s, &mut p).io_err(at, ctx)?;
                    }
                    _ => {}
                }
                p.commit()?;
            }
            Sink::Stdout => {
                let mut out = io::stdout().lock();
                if let Some(h) = header {
                    out.write_all(&h)
                        .io_err(Path::new("-"), || "writing to stdout".into())?;
                }
                if let Some(mut s) = spool {
                    io::copy(&mut s, &mut out)
                        .io_err(Path::new("-"), || "writing to stdout".into())?;
                }
                out.flush()
                    .io_err(Path::new("-"), || "writing to stdout".into())?;
            }
        }
        Ok(self.rows)
    }

    /// The safetensors header: tensor `embeddings` `[N, ...]` f32 and the paths as JSON in the
    /// metadata key `paths`, padded with spaces to a multiple of 8 bytes.
    fn safetensors_header(&self) -> Result<Vec<u8>> {
        let mut dims = vec![self.rows];
        dims.extend(self.first.as_ref().map_or(&[][..], |f| &f.0[..]));
        let bytes = dims
            .iter()
            .try_fold(4usize, |a, &d| a.checked_mul(d))
            .ok_or_else(|| {
                Error::output(
                    Path::new(&self.shown),
                    format!("{}: the embeddings are too large for one file", self.shown),
                )
            })?;
        let paths = serde_json::to_string(&self.paths).map_err(|e| Error::Serialize {
            action: format!("serialising {}", self.shown),
            source: e.into(),
        })?;
        let json = serde_json::json!({
            "__metadata__": { "paths": paths },
            "embeddings": { "dtype": "F32", "shape": dims, "data_offsets": [0, bytes] },
        });
        let mut text = json.to_string();
        text.push_str(&" ".repeat((8 - text.len() % 8) % 8));
        let mut out = Vec::with_capacity(8 + text.len());
        out.extend_from_slice(&(text.len() as u64).to_le_bytes());
        out.extend_from_slice(text.as_bytes());
        Ok(out)
    }
}

/// Writes `data` as little-endian f32.
fn write_f32(w: &mut dyn Write, data: &[f32]) -> io::Result<()> {
    let mut buf = [0u8; 4096];
    for chunk in data.chunks(buf.len() / 4) {
        for (b, v) in buf.chunks_exact_mut(4).zip(chunk) {
            b.copy_from_slice(&v.to_le_bytes());
        }
        w.write_all(&buf[..chunk.len() * 4])?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::Inputs;

    fn dest(p: &Path) -> Destination {
        Destination::parse(p, &Inputs::new()).unwrap()
    }

    #[test]
    fn npy_rows_stream_and_the_header_is_patched() {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("e.npy");
        let mut f = RowFile::new(&dest(&out), Format::Npy).unwrap();
        f.push(Path::new("a"), &[3], &[1.0, 2.0, 3.0]).unwrap();
        f.push(Path::new("b"), &[3], &[4.0, 5.0, 6.0]).unwrap();
        let e = f.push(Path::new("c"), &[2], &[0.0, 0.0]).unwrap_err();
        assert!(
            e.to_string().starts_with("c: its embedding has shape [2]"),
            "{e}"
        );
        assert_eq!(f.finish().unwrap(), 2);
        let bytes = std::fs::read(&out).unwrap();
        let data: Vec<f32> = (1..=6).map(|v| v as f32).collect();
        let want = super::super::write::npy_bytes(&[2, 3], &data);
        // The same array as the whole-file writer, header padded further.
        assert_eq!(&bytes[NPY_HEADER..], &want[want.len() - 24..]);
        let header = std::str::from_utf8(&bytes[10..NPY_HEADER]).unwrap();
        assert!(header.contains("'shape': (2, 3)") && header.ends_with('\n'));
        assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 1);
    }

    #[test]
    fn safetensors_is_written_through_a_spool_and_reads_back() {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("e.safetensors");
        let mut f = RowFile::new(&dest(&out), Format::Safetensors).unwrap();
        f.push(Path::new("x.png"), &[2], &[1.0, 2.0]).unwrap();
        f.push(Path::new("y.png"), &[2], &[3.0, 4.0]).unwrap();
        f.finish().unwrap();
        let bytes = std::fs::read(&out).unwrap();
        let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
        let t = st.tensor("embeddings").unwrap();
        assert_eq!(t.shape(), &[2, 2]);
        let got: Vec<f32> = t
            .data()
            .chunks(4)
            .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
            .collect();
        assert_eq!(got, [1.0, 2.0, 3.0, 4.0]);
        let (_, meta) = safetensors::SafeTensors::read_metadata(&bytes).unwrap();
        let paths = &meta.metadata().as_ref().unwrap()["paths"];
        assert_eq!(paths, r#"["x.png","y.png"]"#);
    }

    #[test]
    fn nothing_is_left_when_a_file_is_abandoned_or_empty() {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("e.safetensors");
        let mut f = RowFile::new(&dest(&out), Format::Safetensors).unwrap();
        f.push(Path::new("x.png"), &[1], &[1.0]).unwrap();
        drop(f);
        let f = RowFile::new(&dest(&out), Format::Npy).unwrap();
        assert!(f.finish().is_err());
        assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 0);
    }
}
