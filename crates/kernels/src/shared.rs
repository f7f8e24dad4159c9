//! Weights shared between processes: the packed panels of a model's [`Linear`] layers in a
//! file, memory-mapped read-only, so that N workers on one machine (Spark's Python workers,
//! several Ray actors) hold one copy of the weights in the page cache instead of N private
//! ones.
//!
//! The file is named by a hash of what it holds and is only ever created whole (written to a
//! temporary name, then renamed), never changed in place. Its contents are not trusted: each
//! layer moves to the file only if the mapped panels equal, bit for bit, the ones this
//! process packed itself, so a stale, foreign or damaged file costs the sharing, never
//! correctness.

use std::fs;
use std::hash::Hasher;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::gemm::SharedPanels;
use crate::mmap::MappedFile;
use crate::Linear;

/// `VITRSPK` and the format version.
const MAGIC: &[u8; 8] = b"VITRSPK\x01";
/// Each layer's panels start on a multiple of this many bytes (a cache line).
const ALIGN: usize = 64;
/// The data starts on a page.
const PAGE: usize = 4096;

/// What [`share`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shared {
    /// The mapped file.
    pub path: PathBuf,
    /// Whether this call wrote it (no equal file was there).
    pub created: bool,
    /// Layers now reading their panels from the file.
    pub layers: usize,
    /// Bytes of panels now shared instead of private.
    pub bytes: usize,
}

/// Values per layer in the header: `k`, `n`, the panel layout's `nr` and `kc` (each ISA
/// packs its own way), the byte offset and the float count.
const FIELDS: usize = 6;
type Entry = [u64; FIELDS];
/// Where the panels' byte offset is in an [`Entry`], and their float count.
const OFFSET: usize = 4;
const LEN: usize = 5;

/// One [`Entry`] per layer, and the file's length.
fn layout(layers: &[&mut Linear]) -> (Vec<Entry>, usize) {
    let header = 16 + 8 * FIELDS * layers.len();
    let mut at = header.div_ceil(PAGE) * PAGE;
    let mut entries = Vec::with_capacity(layers.len());
    for l in layers {
        let p = l.packed();
        let len = p.values().len();
        let shape = p.layout();
        entries.push([
            p.k() as u64,
            p.n() as u64,
            shape.nr as u64,
            shape.kc as u64,
            at as u64,
            len as u64,
        ]);
        at = (at + 4 * len).div_ceil(ALIGN) * ALIGN;
    }
    (entries, at)
}

fn header(entries: &[Entry]) -> Vec<u8> {
    let mut h = Vec::with_capacity(16 + 8 * FIELDS * entries.len());
    h.extend_from_slice(MAGIC);
    h.extend_from_slice(&(entries.len() as u64).to_le_bytes());
    for e in entries {
        for v in e {
            h.extend_from_slice(&v.to_le_bytes());
        }
    }
    h
}

/// A 64-bit hash of the header and every panel value (std's SipHash with fixed keys: a
/// name, not a check; the contents are compared anyway).
fn fingerprint(header: &[u8], layers: &[&mut Linear]) -> u64 {
    let mut h = std::hash::DefaultHasher::new();
    h.write(header);
    let mut buf = Vec::with_capacity(1 << 16);
    for l in layers {
        for chunk in l.packed().values().chunks(1 << 14) {
            buf.clear();
            chunk
                .iter()
                .for_each(|v| buf.extend_from_slice(&v.to_le_bytes()));
            h.write(&buf);
        }
    }
    h.finish()
}

/// Moves the packed weights of `layers` into a shared read-only file in `dir` (created if
/// need be), named by their contents: the first process writes it, the others map it. Each
/// layer's private panels are freed once the mapped ones are found equal to them.
///
/// Errors: `dir` cannot be created or written, or a file just written does not read back
/// equal (then every layer keeps its private copy).
pub fn share(layers: &mut [&mut Linear], dir: &Path) -> io::Result<Shared> {
    if cfg!(target_endian = "big") {
        return Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "shared weight files are little-endian; this machine is big-endian",
        ));
    }
    let (entries, total) = layout(layers);
    let head = header(&entries);
    let path = dir.join(format!("packed-{:016x}.bin", fingerprint(&head, layers)));
    let existing = path.is_file();
    if existing {
        if let Some(done) = map_equal(&path, &head, &entries, layers)? {
            return Ok(done);
        }
    }
    fs::create_dir_all(dir)?;
    let tmp = write(&path, &head, &entries, total, layers)?;
    // Another process may be writing the same file now: the first to link its copy in wins
    // and the others map that one. A file that was there but held other values is replaced.
    let placed = if existing {
        fs::rename(&tmp, &path)
    } else {
        match fs::hard_link(&tmp, &path) {
            Ok(()) => fs::remove_file(&tmp),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                if let Some(done) = map_equal(&path, &head, &entries, layers)? {
                    let _ = fs::remove_file(&tmp);
                    return Ok(done);
                }
                fs::rename(&tmp, &path)
            }
            // A file system without hard links.
            Err(_) => fs::rename(&tmp, &path),
        }
    };
    if let Err(e) = placed {
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    match map_equal(&path, &head, &entries, layers)? {
        Some(done) => Ok(Shared {
            created: true,
            ..done
        }),
        None => Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{}: did not read back as written", path.display()),
        )),
    }
}

/// Writes the file under a temporary name beside `path` (returned), flushed to disk.
fn write(
    path: &Path,
    head: &[u8],
    entries: &[Entry],
    total: usize,
    layers: &[&mut Linear],
) -> io::Result<PathBuf> {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("packed");
    let tmp = path.with_file_name(format!(".{name}.{}.tmp", std::process::id()));
    let result = (|| {
        let file = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)?;
        let mut out = io::BufWriter::with_capacity(1 << 20, file);
        out.write_all(head)?;
        let mut at = head.len();
        let mut buf = Vec::with_capacity(1 << 16);
        for (l, e) in layers.iter().zip(entries) {
            out.write_all(&vec![0u8; e[OFFSET] as usize - at])?;
            at = e[OFFSET] as usize;
            for chunk in l.packed().values().chunks(1 << 14) {
                buf.clear();
                chunk
                    .iter()
                    .for_each(|v| buf.extend_from_slice(&v.to_le_bytes()));
                out.write_all(&buf)?;
                at += buf.len();
            }
        }
        out.write_all(&vec![0u8; total - at])?;
        out.into_inner().map_err(|e| e.into_error())?.sync_all()
    })();
    match result {
        Ok(()) => Ok(tmp),
        Err(e) => {
            let _ = fs::remove_file(&tmp);
            Err(e)
        }
    }
}

/// Maps `path` and moves every layer to it if its header and each layer's panels are the
/// expected ones; None (nothing moved) if any differs.
fn map_equal(
    path: &Path,
    head: &[u8],
    entries: &[Entry],
    layers: &mut [&mut Linear],
) -> io::Result<Option<Shared>> {
    let map = Arc::new(MappedFile::open(path)?);
    if map.get(..head.len()) != Some(head) {
        return Ok(None);
    }
    let mut bytes = 0;
    // Check all before moving any, so that a mismatch leaves every layer private.
    let equal = layers.iter().zip(entries).all(|(l, e)| {
        map.f32s(e[OFFSET] as usize, e[LEN] as usize)
            .is_some_and(|m| {
                let own = l.packed().values();
                m.len() == own.len() && m.iter().zip(own).all(|(a, b)| a.to_bits() == b.to_bits())
            })
    });
    if !equal {
        return Ok(None);
    }
    for (l, e) in layers.iter_mut().zip(entries) {
        let panels = SharedPanels {
            map: Arc::clone(&map),
            offset: e[OFFSET] as usize,
            len: e[LEN] as usize,
        };
        if l.packed_mut().share(panels) {
            bytes += 4 * e[LEN] as usize;
        }
    }
    Ok(Some(Shared {
        path: path.to_path_buf(),
        created: false,
        layers: layers.len(),
        bytes,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Epilogue;

    fn layer(n: usize, k: usize, seed: u32) -> Linear {
        let w = (0..n * k)
            .map(|i| (((i as u32).wrapping_mul(2654435761) ^ seed) % 1000) as f32 / 250.0 - 2.0)
            .collect();
        let b = (0..n).map(|i| i as f32 / 8.0).collect();
        Linear::new(w, Some(b), n, k).unwrap()
    }

    fn outputs(layers: &[Linear]) -> Vec<Vec<f32>> {
        layers
            .iter()
            .map(|l| {
                let rows = 7;
                let x: Vec<f32> = (0..rows * l.in_features())
                    .map(|i| (i % 13) as f32 / 6.0 - 1.0)
                    .collect();
                let mut y = vec![0.0; rows * l.out_features()];
                l.forward(&x, rows, &mut y, Epilogue::Store);
                y
            })
            .collect()
    }

    fn temp_dir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("vitrs-shared-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        d
    }

    #[test]
    fn shared_layers_compute_what_private_ones_do() {
        let dir = temp_dir("same");
        // Shapes off the tile (n % NR, k % KC), a deep one (k > KC) and a tiny one.
        let make = || vec![layer(37, 300, 1), layer(16, 5, 2), layer(3, 600, 3)];
        let mut a = make();
        let want = outputs(&a);
        let first = share(&mut a.iter_mut().collect::<Vec<_>>(), &dir).unwrap();
        assert!(first.created && first.layers == 3);
        assert!(a.iter().all(|l| l.packed().is_shared()));
        assert_eq!(outputs(&a), want);
        // A second "process" maps the same file.
        let mut b = make();
        let second = share(&mut b.iter_mut().collect::<Vec<_>>(), &dir).unwrap();
        assert_eq!(
            (second.path.clone(), second.created),
            (first.path.clone(), false)
        );
        assert_eq!(second.bytes, first.bytes);
        assert_eq!(outputs(&b), want);
        // Unpacking (as `Linear::concat` does) reads the shared panels.
        let private = make();
        let joined = Linear::concat(&[private[0].clone(), private[0].clone()]).unwrap();
        let from_shared = Linear::concat(&[b[0].clone(), b[0].clone()]).unwrap();
        assert!(!from_shared.packed().is_shared());
        assert_eq!(outputs(&[from_shared]), outputs(&[joined]));
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_damaged_file_is_replaced_not_trusted() {
        let dir = temp_dir("damaged");
        let mut a = vec![layer(20, 40, 9)];
        let want = outputs(&a);
        let path = share(&mut a.iter_mut().collect::<Vec<_>>(), &dir)
            .unwrap()
            .path;
        drop(a);
        // Flip one panel value in the file (a new inode, as an editor would write it).
        let mut bytes = fs::read(&path).unwrap();
        bytes[PAGE + 4] ^= 0x40;
        fs::remove_file(&path).unwrap();
        fs::write(&path, &bytes).unwrap();
        let mut b = vec![layer(20, 40, 9)];
        let again = share(&mut b.iter_mut().collect::<Vec<_>>(), &dir).unwrap();
        assert!(again.created, "the damaged file is rewritten");
        assert_eq!(outputs(&b), want);
        fs::remove_dir_all(&dir).unwrap();
    }
}
