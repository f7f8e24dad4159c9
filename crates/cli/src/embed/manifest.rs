//! `manifest.jsonl`: one JSON line per input image, saying where its embedding is (shard file
//! and row) or why there is none. pandas (`read_json(..., lines=True)`), duckdb
//! (`read_json_auto`) and polars (`read_ndjson`) read it directly; the manifests of several
//! `--shard-of` parts concatenate into one table.
//!
//! Fields: `path` (as given; plus `path_bytes` when it is not UTF-8), `bytes` and `mtime_ns`
//! (the file's size and modification time when it was read: with the path, the key
//! `--resume` skips by), `status` (`ok` or `error`), `shard` (file name in the output folder,
//! `null` for errors), `row` (within the shard, `null` for errors), `width` and `height` (the
//! upright image size from its header, `null` when unknown), `cause` (a short class of
//! error, `""` when ok) and `error` (the message, `""` when ok).
//!
//! Lines are appended a shard at a time, after the shard is renamed into place, so every
//! line names a complete file.

use std::collections::HashSet;
use std::ffi::OsString;
use std::fs::{self, File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use crate::error::IoContext;
use crate::{Error, Result};

/// Largest manifest read back by `--resume` (16 GiB: about 50 million lines).
const MAX_MANIFEST_BYTES: u64 = 16 << 30;

/// What identifies an input across runs: its path as given, size in bytes and modification
/// time in nanoseconds. A file that changed (size or mtime) is embedded again.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Key {
    /// The path as given.
    pub path: PathBuf,
    /// Size in bytes.
    pub bytes: u64,
    /// Modification time, nanoseconds since the epoch.
    pub mtime_ns: i64,
}

impl Key {
    /// The key of `path` now (`None` if it cannot be inspected).
    pub fn of(path: &Path) -> Option<Key> {
        let m = fs::metadata(path).ok()?;
        Some(Key {
            path: path.to_path_buf(),
            bytes: m.size(),
            mtime_ns: m
                .mtime()
                .saturating_mul(1_000_000_000)
                .saturating_add(m.mtime_nsec()),
        })
    }
}

/// Where an image's embedding went, or why it has none.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// Embedded: `row` of the shard file `shard`.
    Ok {
        /// Shard file name.
        shard: String,
        /// Row within the shard.
        row: usize,
    },
    /// Not embedded.
    Error {
        /// A short class (`decode`, `unreadable`, ...).
        cause: &'static str,
        /// The message, naming the file.
        message: String,
    },
}

/// One manifest line.
#[derive(Debug, Clone)]
pub struct Entry {
    /// The file as given.
    pub path: PathBuf,
    /// Its key when read, if it could be inspected.
    pub key: Option<Key>,
    /// Upright `[width, height]` from the header, if known.
    pub size: Option<[u32; 2]>,
    /// What happened.
    pub outcome: Outcome,
}

impl Entry {
    /// The JSON line, with its newline.
    pub fn line(&self) -> String {
        let mut m = crate::output::json_path(&self.path);
        let key = self.key.as_ref();
        m.insert("bytes".into(), key.map(|k| k.bytes).into());
        m.insert("mtime_ns".into(), key.map(|k| k.mtime_ns).into());
        let (status, shard, row, cause, error) = match &self.outcome {
            Outcome::Ok { shard, row } => ("ok", Some(shard.clone()), Some(*row), "", ""),
            Outcome::Error { cause, message } => ("error", None, None, *cause, message.as_str()),
        };
        m.insert("status".into(), status.into());
        m.insert("shard".into(), shard.into());
        m.insert("row".into(), row.into());
        m.insert("width".into(), self.size.map(|s| s[0]).into());
        m.insert("height".into(), self.size.map(|s| s[1]).into());
        m.insert("cause".into(), cause.into());
        m.insert("error".into(), error.into());
        let mut line = serde_json::Value::Object(m).to_string();
        line.push('\n');
        line
    }
}

/// What an existing manifest holds, for `--resume`.
#[derive(Debug, Default)]
pub struct Done {
    /// Keys of every image with a line (embedded or failed).
    pub keys: HashSet<Key>,
    /// Paths of lines with no size and time (what the folder walk skipped unopened).
    pub unkeyed: HashSet<PathBuf>,
    /// Shard file names referred to.
    pub shards: HashSet<String>,
    /// Lines read.
    pub lines: usize,
}

/// Reads the manifest at `path`. A last line without its newline (the process was killed
/// while appending) is ignored; any other line that is not a manifest entry is an error
/// naming its line number.
pub fn read(path: &Path) -> Result<Done> {
    let mut text = Vec::new();
    vitrs_tensor::file::open_regular(path)
        .and_then(|(f, _)| {
            f.take(MAX_MANIFEST_BYTES + 1).read_to_end(&mut text)?;
            Ok(())
        })
        .io_err(path, || format!("reading {}", path.display()))?;
    if text.len() as u64 > MAX_MANIFEST_BYTES {
        return Err(Error::input(
            path,
            format!(
                "{}: more than {MAX_MANIFEST_BYTES} bytes; not a manifest vitrs wrote",
                path.display()
            ),
        ));
    }
    let complete = text.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    let mut done = Done::default();
    for (n, line) in text[..complete].split(|&b| b == b'\n').enumerate() {
        if line.is_empty() {
            continue;
        }
        let bad = |why: &str| {
            Error::input(
                path,
                format!(
                    "{} line {}: {why}; not a manifest vitrs wrote (move it away to start over)",
                    path.display(),
                    n + 1
                ),
            )
        };
        let v: serde_json::Value =
            serde_json::from_slice(line).map_err(|e| bad(&format!("not JSON ({e})")))?;
        let p = match (v.get("path_bytes"), v.get("path")) {
            (Some(b), _) => {
                let bytes: Vec<u8> = serde_json::from_value(b.clone())
                    .map_err(|_| bad("`path_bytes` is not a list of bytes"))?;
                PathBuf::from(OsString::from_vec(bytes))
            }
            (None, Some(serde_json::Value::String(s))) => PathBuf::from(s),
            _ => return Err(bad("no `path`")),
        };
        if let Some(serde_json::Value::String(s)) = v.get("shard") {
            done.shards.insert(s.clone());
        }
        match (
            v.get("bytes").and_then(|b| b.as_u64()),
            v.get("mtime_ns").and_then(|m| m.as_i64()),
        ) {
            (Some(bytes), Some(mtime_ns)) => {
                done.keys.insert(Key {
                    path: p,
                    bytes,
                    mtime_ns,
                });
            }
            _ => {
                done.unkeyed.insert(p);
            }
        }
        done.lines += 1;
    }
    Ok(done)
}

/// The manifest of an output folder, open for appending and locked against a second vitrs
/// writing the same folder.
pub struct Manifest {
    file: File,
    path: PathBuf,
}

impl Manifest {
    /// Opens (creating it if need be) the manifest at `path` for appending, takes an
    /// exclusive lock on it (another process holding it is an error, not a wait), and cuts
    /// off a last line left without its newline by a killed run.
    pub fn open(path: &Path) -> Result<Manifest> {
        if let Ok(m) = fs::symlink_metadata(path) {
            if !m.is_file() {
                return Err(Error::output(
                    path,
                    format!(
                        "{}: refusing to use it as the manifest: it is not a regular file",
                        path.display()
                    ),
                ));
            }
        }
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .io_err(path, || format!("opening {}", path.display()))?;
        if let Err(e) =
            rustix::fs::flock(&file, rustix::fs::FlockOperation::NonBlockingLockExclusive)
        {
            return Err(Error::output(
                path,
                format!(
                    "{}: another vitrs is writing this folder ({e})",
                    path.display()
                ),
            ));
        }
        let reading = || format!("reading {}", path.display());
        let len = file.metadata().io_err(path, reading)?.len();
        if len > 0 {
            // Find the end of the last complete line.
            let mut keep = len;
            let mut buf = [0u8; 4096];
            while keep > 0 {
                let start = keep.saturating_sub(buf.len() as u64);
                let chunk = &mut buf[..(keep - start) as usize];
                file.seek(SeekFrom::Start(start)).io_err(path, reading)?;
                file.read_exact(chunk).io_err(path, reading)?;
                match chunk.iter().rposition(|&b| b == b'\n') {
                    Some(i) => {
                        keep = start + i as u64 + 1;
                        break;
                    }
                    None => keep = start,
                }
            }
            if keep != len {
                file.set_len(keep)
                    .io_err(path, || format!("truncating {}", path.display()))?;
            }
        }
        file.seek(SeekFrom::End(0)).io_err(path, reading)?;
        Ok(Manifest {
            file,
            path: path.to_path_buf(),
        })
    }

    /// Appends `entries` in one write and syncs.
    pub fn append(&mut self, entries: &[Entry]) -> Result<()> {
        if entries.is_empty() {
            return Ok(());
        }
        let text: String = entries.iter().map(Entry::line).collect();
        self.file
            .write_all(text.as_bytes())
            .and_then(|_| self.file.sync_data())
            .io_err(&self.path, || {
                format!("appending to {}", self.path.display())
            })
    }
}

/// The short cause of an image error, for the counts at the end and the manifest's `cause`.
pub fn cause_of(e: &Error) -> &'static str {
    use vitrs_image::ImageError as E;
    let Error::Image(e) = e else {
        return "other";
    };
    match **e {
        E::Io { .. } => "unreadable",
        E::Empty { .. } => "empty file",
        E::UnknownFormat { .. } => "not an image",
        E::TooLarge { .. } | E::OutputTooLarge { .. } => "too large",
        E::ZeroSize { .. } => "zero size after resize",
        E::Refused { .. } => "refused by the model",
        E::Decode { .. } => "decode error",
        _ => "other",
    }
}

/// `path` as bytes, for sorting the way the file system names them.
pub fn path_bytes(path: &Path) -> &[u8] {
    path.as_os_str().as_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_read_back_and_a_torn_last_line_is_cut() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("manifest.jsonl");
        let ok = Entry {
            path: "a.png".into(),
            key: Some(Key {
                path: "a.png".into(),
                bytes: 10,
                mtime_ns: 5,
            }),
            size: Some([4, 3]),
            outcome: Outcome::Ok {
                shard: "emb-00000.npy".into(),
                row: 0,
            },
        };
        let bad = Entry {
            path: std::ffi::OsStr::from_bytes(b"b\xff.png").into(),
            key: Some(Key {
                path: std::ffi::OsStr::from_bytes(b"b\xff.png").into(),
                bytes: 3,
                mtime_ns: -1,
            }),
            size: None,
            outcome: Outcome::Error {
                cause: "decode error",
                message: "b.png: cannot decode".into(),
            },
        };
        let line: serde_json::Value = serde_json::from_str(&ok.line()).unwrap();
        assert_eq!(line["shard"], "emb-00000.npy");
        assert_eq!(line["width"], 4);
        assert_eq!(line["error"], "");
        let mut m = Manifest::open(&path).unwrap();
        m.append(&[ok.clone(), bad.clone()]).unwrap();
        drop(m);
        // A killed append leaves half a line: ignored when read, cut when reopened.
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(br#"{"path": "c.p"#).unwrap();
        let done = read(&path).unwrap();
        assert_eq!(done.lines, 2);
        assert!(done.keys.contains(ok.key.as_ref().unwrap()));
        assert!(done.keys.contains(bad.key.as_ref().unwrap()));
        assert_eq!(done.shards.len(), 1);
        let m = Manifest::open(&path).unwrap();
        // A second writer is refused while the first holds the lock.
        let e = Manifest::open(&path).err().unwrap().to_string();
        assert!(e.contains("another vitrs"), "{e}");
        drop(m);
        let text = fs::read_to_string(&path).unwrap();
        assert!(text.ends_with('\n') && text.lines().count() == 2);
    }
}
