//! Where `vitrs embed` writes: one file (`-o emb.npy`), or a folder of shards with a manifest
//! (`-o out/ --shard-size N`).
//!
//! A folder holds `emb-00000.npy`, `emb-00001.npy`, … (or `.safetensors`, `.jsonl`) of at most
//! N rows each, and `manifest.jsonl` (see [`super::manifest`]). With `--shard-of i/n` the
//! names carry the part, `emb-3of8-00000.npy` and `manifest-3of8.jsonl`, so n processes can
//! share one folder. Each shard is written to a temporary file and renamed into place when
//! full; only then are its manifest lines appended. So an interrupted run keeps every finished
//! shard, and the one in progress is discarded (SIGINT, SIGTERM, SIGHUP remove it; after
//! SIGKILL a `.vitrs-partial-XXXXXX` file is left, which no manifest line names).

use std::fs;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use super::manifest::{self, Done, Entry, Manifest, Outcome};
use super::rows::RowFile;
use super::write::Format;
use crate::error::IoContext;
use crate::output::{Destination, Inputs, Target};
use crate::{Error, Result};

/// Rows per shard when `-o` is a folder and `--shard-size` is not given.
pub const DEFAULT_SHARD_SIZE: usize = 10_000;

/// `--shard-of i/n`: this process takes part `i` (from 0) of `n`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Part {
    /// This part, `0..count`.
    pub index: usize,
    /// How many parts.
    pub count: usize,
}

impl FromStr for Part {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        let bad = || format!("--shard-of {s:?}: expected i/n with 0 <= i < n, as 0/4");
        let (i, n) = s.split_once('/').ok_or_else(bad)?;
        let (index, count): (usize, usize) = (
            i.trim().parse().map_err(|_| bad())?,
            n.trim().parse().map_err(|_| bad())?,
        );
        if count == 0 || index >= count {
            return Err(bad());
        }
        Ok(Part { index, count })
    }
}

impl Part {
    /// The contiguous block of `0..len` this part takes: sizes differ by at most one, and the
    /// `n` parts cover every index exactly once.
    pub fn range(&self, len: usize) -> std::ops::Range<usize> {
        let at = |k: usize| ((len as u128 * k as u128) / self.count as u128) as usize;
        at(self.index)..at(self.index + 1)
    }

    /// `3of8`, zero-padded to the width of `n` so names sort.
    pub fn tag(&self) -> String {
        let w = self.count.to_string().len();
        format!("{:0w$}of{}", self.index, self.count)
    }
}

/// `--shard-of`: sorts `files` by their bytes (dropping repeats) and keeps this part's block.
pub fn split(mut files: Vec<PathBuf>, part: Part) -> Vec<PathBuf> {
    files.sort_by(|a, b| manifest::path_bytes(a).cmp(manifest::path_bytes(b)));
    files.dedup();
    let r = part.range(files.len());
    files.drain(r).collect()
}

/// Whether `-o` names a folder of shards: `--shard-size` given, a name ending in `/`, or
/// `--resume` / `--shard-of` (`resume_or_part`) with a name that has no output file
/// extension. An existing folder named without any of them is refused as an output file, as
/// before shards existed.
pub fn is_folder(out: &Path, shard_size: bool, resume_or_part: bool) -> bool {
    shard_size
        || out.as_os_str().as_bytes().ends_with(b"/")
        || (resume_or_part && Format::from_path(out).is_none())
}

/// An output folder of shards with its manifest, open and locked.
pub struct Shards {
    dir: PathBuf,
    format: Format,
    size: usize,
    prefix: String,
    next: usize,
    current: Option<(RowFile, String)>,
    /// Lines of the shard in progress and of failures since the last shard, appended when
    /// the shard is complete.
    pending: Vec<Entry>,
    manifest: Manifest,
    manifest_path: PathBuf,
    /// Shards written by this run.
    written: Vec<String>,
    created_dir: bool,
    created_manifest: bool,
    lines: usize,
    /// `next` when opened.
    first: usize,
}

impl Shards {
    /// Opens `dir` for shards of `size` rows in `format`: creates the folder (its parent must
    /// exist), opens and locks the manifest, and reads it when `resume`. Without `resume` a
    /// folder that already holds this part's manifest or shards is refused (nothing is
    /// overwritten). All of it happens before the model loads; if nothing is written in the
    /// end, what this created is removed again.
    pub fn open(
        dir: &Path,
        format: Format,
        size: usize,
        part: Option<Part>,
        resume: bool,
    ) -> Result<(Shards, Done)> {
        if size == 0 {
            return Err(Error::option(
                "--shard-size",
                "--shard-size must be at least 1",
            ));
        }
        let shown = dir.display();
        let created_dir = match fs::metadata(dir) {
            Ok(m) if m.is_dir() => false,
            Ok(_) => {
                return Err(Error::output(
                    dir,
                    format!("{shown}: not a folder; -o with --shard-size names a folder"),
                ))
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                fs::create_dir(dir).io_err(dir, || format!("{shown}: cannot create the folder"))?;
                true
            }
            Err(e) => return Err(Error::output(dir, format!("{shown}: cannot use it: {e}"))),
        };
        let (prefix, manifest_name) = match part {
            Some(p) => (
                format!("emb-{}-", p.tag()),
                format!("manifest-{}.jsonl", p.tag()),
            ),
            None => ("emb-".to_string(), "manifest.jsonl".to_string()),
        };
        let manifest_path = dir.join(&manifest_name);
        let existed = fs::symlink_metadata(&manifest_path).is_ok();
        let existing = shard_numbers(dir, &prefix)?;
        if !resume && (existed || !existing.is_empty()) {
            return Err(Error::output(
                dir,
                format!(
                    "{shown}: holds the output of an earlier run ({}); pass --resume to \
                     continue it, or give another folder",
                    if existed {
                        manifest_name.clone()
                    } else {
                        format!("{prefix}*")
                    }
                ),
            ));
        }
        let mut shards = Shards {
            dir: dir.to_path_buf(),
            format,
            size,
            prefix,
            next: 0,
            current: None,
            pending: Vec::new(),
            manifest: Manifest::open(&manifest_path)?,
            manifest_path,
            written: Vec::new(),
            created_dir,
            created_manifest: !existed,
            lines: 0,
            first: 0,
        };
        let done = if existed {
            manifest::read(&shards.manifest_path)?
        } else {
            Done::default()
        };
        // Never reuse a number: not one the manifest names, nor a file left by a run killed
        // between renaming a shard and appending its lines.
        let named = done.shards.iter().filter_map(|s| number(s, &shards.prefix));
        shards.next = existing.into_iter().chain(named).max().map_or(0, |n| n + 1);
        shards.first = shards.next;
        Ok((shards, done))
    }

    /// The manifest's path.
    pub fn manifest_path(&self) -> &Path {
        &self.manifest_path
    }

    /// The folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Adds an embedded image: a row of the current shard (started if need be); a full
    /// shard is completed.
    pub fn push(&mut self, mut entry: Entry, dims: &[usize], data: &[f32]) -> Result<()> {
        if self.current.is_none() {
            let name = format!("{}{:05}.{}", self.prefix, self.next, self.format);
            let path = self.dir.join(&name);
            if fs::symlink_metadata(&path).is_ok() {
                return Err(Error::output(
                    &path,
                    format!(
                        "{}: already exists; refusing to overwrite it",
                        path.display()
                    ),
                ));
            }
            let dest = Destination::File(Target::check(&path, &Inputs::new())?);
            self.current = Some((RowFile::new(&dest, self.format)?, name));
        }
        let (file, name) = self.current.as_mut().expect("just made");
        let row = file.rows();
        file.push(&entry.path, dims, data)?;
        entry.outcome = Outcome::Ok {
            shard: name.clone(),
            row,
        };
        self.pending.push(entry);
        if file.rows() >= self.size {
            self.complete()?;
        }
        Ok(())
    }

    /// Adds an image that could not be embedded (written with the next shard).
    pub fn push_error(&mut self, entry: Entry) {
        self.pending.push(entry);
    }

    /// Renames the current shard into place and appends its lines (and pending failures) to
    /// the manifest, with signal cleanup held off so the two happen together.
    fn complete(&mut self) -> Result<()> {
        let _hold = crate::output::hold_signals();
        if let Some((file, name)) = self.current.take() {
            file.finish()?;
            self.written.push(name);
            self.next += 1;
        }
        self.manifest.append(&self.pending)?;
        self.lines += self.pending.len();
        self.pending.clear();
        Ok(())
    }

    /// Completes the last shard and the manifest. Returns the shards written by this run.
    pub fn finish(mut self) -> Result<Vec<String>> {
        self.complete()?;
        Ok(std::mem::take(&mut self.written))
    }
}

impl Drop for Shards {
    fn drop(&mut self) {
        // Failed before writing anything: leave the folder as it was.
        if self.lines == 0 && self.written.is_empty() && self.next == self.first {
            if self.created_manifest {
                let _ = fs::remove_file(&self.manifest_path);
            }
            if self.created_dir {
                let _ = fs::remove_dir(&self.dir);
            }
        }
    }
}

/// The number in a shard name `PREFIX00042.ext`.
fn number(name: &str, prefix: &str) -> Option<usize> {
    let rest = name.strip_prefix(prefix)?;
    let (digits, ext) = rest.split_once('.')?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Format::from_str(ext).ok()?;
    digits.parse().ok()
}

/// Numbers of the shard files `PREFIX*.{npy,safetensors,jsonl}` in `dir`.
fn shard_numbers(dir: &Path, prefix: &str) -> Result<Vec<usize>> {
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => {
            return Err(Error::io(
                format!("{}: cannot list it", dir.display()),
                dir,
                e,
            ))
        }
    };
    Ok(entries
        .flatten()
        .filter_map(|e| number(&e.file_name().to_string_lossy(), prefix))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_cover_the_list_exactly_once() {
        for len in [0, 1, 7, 100, 101] {
            for count in [1, 2, 3, 8] {
                let mut all = Vec::new();
                for index in 0..count {
                    let r = Part { index, count }.range(len);
                    assert!(r.len() == len / count || r.len() == len / count + 1);
                    all.extend(r);
                }
                assert_eq!(all, (0..len).collect::<Vec<_>>());
            }
        }
        assert_eq!("2/8".parse::<Part>().unwrap().tag(), "2of8");
        assert_eq!("2/10".parse::<Part>().unwrap().tag(), "02of10");
        for bad in ["8/8", "1", "a/2", "0/0", "-1/2"] {
            assert!(bad.parse::<Part>().is_err(), "{bad}");
        }
    }

    #[test]
    fn shard_names_are_recognised() {
        assert_eq!(number("emb-00042.npy", "emb-"), Some(42));
        assert_eq!(number("emb-1of2-00003.jsonl", "emb-1of2-"), Some(3));
        assert_eq!(number("emb-1of2-00003.jsonl", "emb-"), None);
        assert_eq!(number("emb-00042.txt", "emb-"), None);
        assert_eq!(number("emb-.npy", "emb-"), None);
    }
}
