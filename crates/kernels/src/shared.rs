//! Weights shared between processes: the packed weights of a model's layers (the panels of
//! its f32 [`Linear`]s, the packed `i8` of its int8 [`QLinear`]s) in a file, memory-mapped
//! read-only, so that N workers on one machine (Spark's Python workers,
//! several Ray actors) hold one copy of the weights in the page cache instead of N private
//! ones.
//!
//! The file is named by a hash of what it holds and is only ever created whole (written to a
//! temporary name, then renamed), never changed in place. Its contents are not trusted: each
//! layer moves to the file only if the mapped bytes equal, bit for bit, the ones this
//! process packed itself, so a stale, foreign or damaged file costs the sharing, never
//! correctness.

use std::fs;
use std::hash::Hasher;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::mmap::MappedFile;
use crate::qgemm::{AnyLinear, QLinear};
use crate::Linear;

/// `VITRSPK` and the format version (2: int8 layers, lengths in bytes).
const MAGIC: &[u8; 8] = b"VITRSPK\x02";
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

/// A layer whose packed weight [`share`] can move into the file.
pub enum Layer<'a> {
    /// An f32 layer: its packed panels.
    F32(&'a mut Linear),
    /// An int8 layer: its packed `i8` weight (its residual, scales and bias stay private).
    Int8(&'a mut QLinear),
}

impl<'a> From<&'a mut Linear> for Layer<'a> {
    fn from(l: &'a mut Linear) -> Self {
        Layer::F32(l)
    }
}

impl<'a> From<&'a mut AnyLinear> for Layer<'a> {
    fn from(l: &'a mut AnyLinear) -> Self {
        match l {
            AnyLinear::F32(l) => Layer::F32(l),
            AnyLinear::Int8(l) => Layer::Int8(l),
        }
    }
}

impl Layer<'_> {
    /// What the header records of the layer besides where its bytes are: the kind (0 f32,
    /// 1 int8), `k`, `n` and the packing's `nr` and `kc` (each ISA packs its own way; 0 for
    /// int8, whose depth is whole).
    fn fields(&self) -> [u64; 5] {
        match self {
            Layer::F32(l) => {
                let p = l.packed();
                let shape = p.layout();
                [
                    0,
                    p.k() as u64,
                    p.n() as u64,
                    shape.nr as u64,
                    shape.kc as u64,
                ]
            }
            Layer::Int8(l) => [
                1,
                l.in_features() as u64,
                l.out_features() as u64,
                l.isa().nr() as u64,
                0,
            ],
        }
    }

    /// The packed weight as stored in the file (little-endian, which [`share`] checks).
    fn bytes(&self) -> &[u8] {
        match self {
            Layer::F32(l) => bytemuck::cast_slice(l.packed().values()),
            Layer::Int8(l) => bytemuck::cast_slice(l.packed()),
        }
    }

    /// Moves the layer to `range` if its bytes equal the layer's own.
    fn share(&mut self, range: SharedRange) -> bool {
        match self {
            Layer::F32(l) => l.packed_mut().share(range),
            Layer::Int8(l) => l.share(range),
        }
    }
}

/// `len` bytes at byte `offset` of a mapped weight file: where [`share`] moved a layer's
/// packed weight, checked then (in bounds, 64-byte aligned, equal to the layer's own).
#[derive(Clone)]
pub(crate) struct SharedRange {
    map: Arc<MappedFile>,
    offset: usize,
    len: usize,
}

impl SharedRange {
    /// The bytes as `f32` (None unless whole, aligned floats within the file).
    pub(crate) fn f32s(&self) -> Option<&[f32]> {
        self.len
            .is_multiple_of(4)
            .then(|| self.map.f32s(self.offset, self.len / 4))
            .flatten()
    }

    /// The bytes as `i8` (None unless within the file).
    pub(crate) fn i8s(&self) -> Option<&[i8]> {
        self.map.i8s(self.offset, self.len)
    }
}

impl std::fmt::Debug for SharedRange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SharedRange({} bytes at byte {})", self.len, self.offset)
    }
}

/// Values per layer in the header: [`Layer::fields`], the byte offset and the byte count.
const FIELDS: usize = 7;
type Entry = [u64; FIELDS];
/// Where the bytes' offset is in an [`Entry`], and their count.
const OFFSET: usize = 5;
const LEN: usize = 6;

/// One [`Entry`] per layer, and the file's length.
fn layout(layers: &[Layer]) -> (Vec<Entry>, usize) {
    let header = 16 + 8 * FIELDS * layers.len();
    let mut at = header.div_ceil(PAGE) * PAGE;
    let mut entries = Vec::with_capacity(layers.len());
    for l in layers {
        let len = l.bytes().len();
        let [kind, k, n, nr, kc] = l.fields();
        entries.push([kind, k, n, nr, kc, at as u64, len as u64]);
        at = (at + len).div_ceil(ALIGN) * ALIGN;
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

/// A 64-bit hash of the header and every packed byte (std's SipHash with fixed keys: a
/// name, not a check; the contents are compared anyway).
fn fingerprint(header: &[u8], layers: &[Layer]) -> u64 {
    let mut h = std::hash::DefaultHasher::new();
    h.write(header);
    for l in layers {
        h.write(l.bytes());
    }
    h.finish()
}

/// Moves the packed weights of `layers` into a shared read-only file in `dir` (created if
/// need be), named by their contents: the first process writes it, the others map it. Each
/// layer's private panels are freed once the mapped ones are found equal to them.
///
/// Errors: `dir` cannot be created or written, or a file just written does not read back
/// equal (then every layer keeps its private copy).
pub fn share(layers: &mut [Layer], dir: &Path) -> io::Result<Shared> {
    let done = share_or_keep(layers, dir)?;
    if done.bytes > 0 {
        release_freed_memory();
    }
    Ok(done)
}

/// Hands the heap's free pages back to the operating system. glibc keeps freed blocks below
/// its (adaptive, up to 32 MB) mapping threshold in its free lists, still resident: without
/// this, int8 ViT-B/16's packed weights (0.6–2.4 MB a layer), freed once shared, stayed in
/// each worker's memory (measured: 86.7 MB of private memory per worker instead of 25.0).
/// Elsewhere a no-op.
fn release_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns free heap pages to the system; no live allocation
    // moves or changes.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// [`share`] before the free memory is handed back.
fn share_or_keep(layers: &mut [Layer], dir: &Path) -> io::Result<Shared> {
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
    layers: &[Layer],
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
        for (l, e) in layers.iter().zip(entries) {
            out.write_all(&vec![0u8; e[OFFSET] as usize - at])?;
            out.write_all(l.bytes())?;
            at = (e[OFFSET] + e[LEN]) as usize;
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
    layers: &mut [Layer],
) -> io::Result<Option<Shared>> {
    let map = Arc::new(MappedFile::open(path)?);
    if map.get(..head.len()) != Some(head) {
        return Ok(None);
    }
    // Check all before moving any, so that a mismatch leaves every layer private.
    let bytes_at = |e: &Entry| {
        let start = e[OFFSET] as usize;
        map.get(start..start.checked_add(e[LEN] as usize)?)
    };
    let equal = layers
        .iter()
        .zip(entries)
        .all(|(l, e)| (e[OFFSET] as usize).is_multiple_of(ALIGN) && bytes_at(e) == Some(l.bytes()));
    if !equal {
        return Ok(None);
    }
    let mut bytes = 0;
    for (l, e) in layers.iter_mut().zip(entries) {
        let range = SharedRange {
            map: Arc::clone(&map),
            offset: e[OFFSET] as usize,
            len: e[LEN] as usize,
        };
        if l.share(range) {
            bytes += e[LEN] as usize;
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
    use crate::qgemm::{QIsa, QuantizedWeight};
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
        let first = share(&mut a.iter_mut().map(Layer::from).collect::<Vec<_>>(), &dir).unwrap();
        assert!(first.created && first.layers == 3);
        assert!(a.iter().all(|l| l.packed().is_shared()));
        assert_eq!(outputs(&a), want);
        // A second "process" maps the same file.
        let mut b = make();
        let second = share(&mut b.iter_mut().map(Layer::from).collect::<Vec<_>>(), &dir).unwrap();
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
        let path = share(&mut a.iter_mut().map(Layer::from).collect::<Vec<_>>(), &dir)
            .unwrap()
            .path;
        drop(a);
        // Flip one panel value in the file (a new inode, as an editor would write it).
        let mut bytes = fs::read(&path).unwrap();
        bytes[PAGE + 4] ^= 0x40;
        fs::remove_file(&path).unwrap();
        fs::write(&path, &bytes).unwrap();
        let mut b = vec![layer(20, 40, 9)];
        let again = share(&mut b.iter_mut().map(Layer::from).collect::<Vec<_>>(), &dir).unwrap();
        assert!(again.created, "the damaged file is rewritten");
        assert_eq!(outputs(&b), want);
        fs::remove_dir_all(&dir).unwrap();
    }

    /// Int8 layers (of both kernels on AVX2: the coarse one's split leaves a residual, which
    /// stays private) share their packed weight beside f32 ones and compute what they did.
    #[test]
    fn int8_layers_share_their_packed_weight() {
        let dir = temp_dir("int8");
        let qlayer = |n: usize, k: usize, seed: u32, isa: QIsa| {
            // Small weights below each row's last (its largest, 127 once quantized), but four
            // of row 0's (one i16 sum of the pair tile) at the top of the range too:
            // 4·127 > 258 moves two of them to the residual.
            let w: Vec<f32> = (0..n * k)
                .map(|i| match (i / k, i % k) {
                    (0, 0 | 1 | 4 | 5) => 1.0,
                    (_, c) if c == k - 1 => 1.0,
                    _ => (((i as u32).wrapping_mul(2654435761) ^ seed) % 1000) as f32 / 4000.0,
                })
                .collect();
            let q = QuantizedWeight::quantize(&w, n, k).unwrap();
            QLinear::with_isa(q, Some((0..n).map(|i| i as f32).collect()), isa).unwrap()
        };
        let make = || {
            vec![
                AnyLinear::Int8(qlayer(40, 96, 4, QIsa::detect())),
                AnyLinear::F32(layer(24, 50, 5)),
                AnyLinear::Int8(qlayer(48, 256, 6, QIsa::detect_coarse())),
                AnyLinear::Int8(qlayer(7, 13, 7, QIsa::detect_coarse())),
            ]
        };
        let run = |layers: &[AnyLinear]| -> Vec<Vec<f32>> {
            layers
                .iter()
                .map(|l| {
                    let (n, k) = match l {
                        AnyLinear::F32(l) => (l.out_features(), l.in_features()),
                        AnyLinear::Int8(l) => (l.out_features(), l.in_features()),
                    };
                    let x: Vec<f32> = (0..5 * k).map(|i| (i % 11) as f32 / 5.0 - 1.0).collect();
                    let mut y = vec![0.0; 5 * n];
                    l.forward(&x, 5, &mut y, Epilogue::Store);
                    y
                })
                .collect()
        };
        let mut a = make();
        if QIsa::detect() == QIsa::Avx2I16 {
            assert!(matches!(&a[2], AnyLinear::Int8(l) if l.residual_len() > 0));
        }
        let want = run(&a);
        let own: usize = a
            .iter()
            .map(|l| match l {
                AnyLinear::F32(l) => 4 * l.packed().values().len(),
                AnyLinear::Int8(l) => l.packed().len(),
            })
            .sum();
        let first = share(&mut a.iter_mut().map(Layer::from).collect::<Vec<_>>(), &dir).unwrap();
        assert!(first.created && first.layers == 4 && first.bytes == own);
        assert!(a.iter().all(|l| match l {
            AnyLinear::F32(l) => l.packed().is_shared(),
            AnyLinear::Int8(l) => l.is_shared(),
        }));
        assert_eq!(run(&a), want);
        let mut b = make();
        let second = share(&mut b.iter_mut().map(Layer::from).collect::<Vec<_>>(), &dir).unwrap();
        assert_eq!((second.path, second.created), (first.path, false));
        assert_eq!(run(&b), want);
        fs::remove_dir_all(&dir).unwrap();
    }
}
