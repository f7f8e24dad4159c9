//! Where commands write, checked before any work and written so that nothing is destroyed.
//!
//! - [`Inputs`]: the files a command reads (images, model files, `--input`), known by device
//!   and inode, so an output can never replace one of them.
//! - [`Destination`]: `-o PATH` checked at once: `-` is stdout; a path may only be a regular
//!   file (replaced), a symlink to one (its target replaced, the link kept) or a new name in
//!   an existing folder. FIFOs, devices, sockets, folders, read-only files and the command's
//!   own inputs are refused with the path and the reason.
//! - [`Partial`]: the temporary file an output is written to (`.vitrs-partial-XXXXXX` in the
//!   destination's folder), renamed over the destination only once complete. A replaced file
//!   keeps its permission bits (and owner, where allowed); a new file gets `0666` less the
//!   umask, as `>` in a shell would.
//! - [`remove_partial_files`]: what a signal handler calls (the `vitrs` command does on SIGINT,
//!   SIGTERM and SIGHUP) to remove every partial file before the process dies.

use std::fs::{self, Metadata, Permissions};
use std::io::{self, BufWriter, IsTerminal, Write};
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, OnceLock};

use tempfile::NamedTempFile;

use crate::error::IoContext;
use crate::hub::{CacheState, ModelSpec, ResolveOptions};
use crate::{Error, Result};

/// Prefix of the temporary files outputs are written to, in the destination's folder.
pub const PARTIAL_PREFIX: &str = ".vitrs-partial-";

/// Symlinks followed from an output path before giving up (as the kernel's `ELOOP`).
const MAX_LINKS: usize = 40;

/// The files a command reads, by device and inode, with what each one is.
#[derive(Debug, Clone, Default)]
pub struct Inputs {
    files: Vec<InputFile>,
}

#[derive(Debug, Clone)]
struct InputFile {
    dev: u64,
    ino: u64,
    path: PathBuf,
    role: String,
}

impl Inputs {
    /// No inputs.
    pub fn new() -> Self {
        Self::default()
    }

    /// `path` (followed through symlinks) as an input; `role` says what it is ("an image
    /// being embedded"). Paths that do not exist are ignored: they cannot be overwritten.
    pub fn file(&mut self, path: &Path, role: &str) {
        if let Ok(m) = fs::metadata(path) {
            self.files.push(InputFile {
                dev: m.dev(),
                ino: m.ino(),
                path: path.to_path_buf(),
                role: role.to_string(),
            });
        }
    }

    /// Every file directly in `dir` (the files of a model folder).
    pub fn folder(&mut self, dir: &Path, role: &str) {
        let Ok(entries) = fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let path = e.path();
            if fs::metadata(&path).is_ok_and(|m| m.is_file()) {
                self.file(&path, role);
            }
        }
    }

    /// The files of the model `spec` names, where they can be known without loading it or
    /// using the network: a folder's files, or a Hub id's cached snapshot.
    pub fn model(&mut self, spec: &str) {
        let dir = match spec.parse::<ModelSpec>() {
            Ok(ModelSpec::Dir(dir)) => dir,
            Ok(ModelSpec::Hub { repo, revision }) => {
                let opts = ResolveOptions::from_env();
                match crate::hub::lookup_cached(&repo, revision.as_deref(), &opts) {
                    Ok(CacheState::Complete(dir) | CacheState::NoPreprocessorInfo(dir)) => dir,
                    // A revision that is not a plain name is refused when the model loads.
                    Ok(CacheState::Missing) | Err(_) => return,
                }
            }
            _ => return,
        };
        self.folder(&dir, "a file of the model");
    }

    fn find(&self, m: &Metadata) -> Option<&InputFile> {
        self.files
            .iter()
            .find(|f| f.dev == m.dev() && f.ino == m.ino())
    }
}

/// Where `-o` points: stdout, or a file checked by [`Target::check`].
#[derive(Debug)]
pub enum Destination {
    /// `-o -`.
    Stdout,
    /// A file.
    File(Target),
}

impl Destination {
    /// `-` is stdout; anything else must pass [`Target::check`].
    pub fn parse(path: &Path, inputs: &Inputs) -> Result<Self> {
        if path == Path::new("-") {
            return Ok(Destination::Stdout);
        }
        Target::check(path, inputs).map(Destination::File)
    }

    /// The destination for messages (`stdout` or the path as given).
    pub fn shown(&self) -> String {
        match self {
            Destination::Stdout => "stdout".into(),
            Destination::File(t) => t.shown.display().to_string(),
        }
    }

    /// Refuses binary output to a terminal, where it would only garble the screen.
    pub fn check_binary(&self, what: &str) -> Result<()> {
        if matches!(self, Destination::Stdout) && io::stdout().is_terminal() {
            return Err(Error::output(
                Path::new("-"),
                format!(
                    "-o -: {what} is binary and stdout is a terminal; redirect it to a file or \
                     a pipe"
                ),
            ));
        }
        Ok(())
    }

    /// Writes `bytes` whole: to stdout, or to the file through a [`Partial`].
    pub fn write_all(&self, bytes: &[u8]) -> Result<()> {
        match self {
            Destination::Stdout => {
                let mut out = io::stdout().lock();
                out.write_all(bytes)
                    .and_then(|_| out.flush())
                    .io_err(Path::new("-"), || "writing to stdout".into())
            }
            Destination::File(t) => {
                let mut p = t.create()?;
                p.write_all(bytes)
                    .io_err(&t.shown, || format!("writing {}", t.shown.display()))?;
                p.commit()
            }
        }
    }
}

/// A checked output file.
#[derive(Debug, Clone)]
pub struct Target {
    shown: PathBuf,
    /// The file the rename replaces: the path itself, or the end of its symlink chain.
    real: PathBuf,
    /// Mode, owner and group of the file being replaced, if there is one.
    existing: Option<(u32, u32, u32)>,
    inputs: Inputs,
}

/// What a non-regular file is, for messages.
fn kind(m: &Metadata) -> &'static str {
    let t = m.file_type();
    if t.is_dir() {
        "a directory"
    } else if t.is_fifo() {
        "a FIFO (named pipe)"
    } else if t.is_char_device() {
        "a character device"
    } else if t.is_block_device() {
        "a block device"
    } else if t.is_socket() {
        "a socket"
    } else {
        "not a regular file"
    }
}

/// Follows `path` through symlinks to the name a rename must replace, and its metadata if
/// it exists.
fn resolve_links(path: &Path) -> Result<(PathBuf, Option<Metadata>)> {
    let mut p = path.to_path_buf();
    for _ in 0..MAX_LINKS {
        match fs::symlink_metadata(&p) {
            Ok(m) if m.file_type().is_symlink() => {
                let to =
                    fs::read_link(&p).io_err(&p, || format!("reading the link {}", p.display()))?;
                p = match p.parent() {
                    Some(dir) if to.is_relative() => dir.join(to),
                    _ => to,
                };
            }
            Ok(m) => return Ok((p, Some(m))),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok((p, None)),
            Err(e) => {
                return Err(Error::output(
                    path,
                    format!("{}: cannot inspect it: {e}", path.display()),
                ))
            }
        }
    }
    Err(Error::output(
        path,
        format!(
            "{}: more than {MAX_LINKS} symlinks in a chain (a loop?)",
            path.display()
        ),
    ))
}

impl Target {
    /// Checks that `path` may be written, before any work: a regular file we can write (to be
    /// replaced), a symlink whose chain ends in one or in a new name, or a new name in an
    /// existing folder; and none of `inputs`. The error names the path and why.
    pub fn check(path: &Path, inputs: &Inputs) -> Result<Target> {
        let shown = path.display();
        let refuse = |message: String| Err(Error::output(path, message));
        let (real, existing) = resolve_links(path)?;
        let via = if real != path {
            format!(" (a symlink to {})", real.display())
        } else {
            String::new()
        };
        if real.file_name().is_none() || path.as_os_str().to_string_lossy().ends_with('/') {
            return refuse(format!(
                "{shown}: not a file name; give the output file's name"
            ));
        }
        if let Some(m) = &existing {
            if !m.is_file() {
                return refuse(format!(
                    "{shown}{via}: refusing to write: it is {}; vitrs writes only regular files",
                    kind(m)
                ));
            }
            if let Some(input) = inputs.find(m) {
                return refuse(format!(
                    "{shown}{via}: refusing to write over {}, {} this command reads",
                    input.path.display(),
                    input.role
                ));
            }
            // Opening for writing (no truncation, non-blocking) asks the kernel whether we may
            // write it: a read-only file is not silently replaced.
            if let Err(e) = fs::OpenOptions::new()
                .write(true)
                .custom_flags(libc::O_NONBLOCK)
                .open(&real)
            {
                return refuse(format!("{shown}{via}: refusing to replace it: {e}"));
            }
        } else {
            let dir = parent(&real);
            match fs::metadata(dir) {
                Ok(m) if m.is_dir() => {}
                Ok(_) => return refuse(format!("{shown}{via}: {} is not a folder", dir.display())),
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    return refuse(format!(
                        "{shown}{via}: the folder {} does not exist",
                        dir.display()
                    ))
                }
                Err(e) => {
                    return refuse(format!(
                        "{shown}{via}: cannot use the folder {}: {e}",
                        dir.display()
                    ))
                }
            }
        }
        Ok(Target {
            shown: path.to_path_buf(),
            real,
            existing: existing.map(|m| (m.mode(), m.uid(), m.gid())),
            inputs: inputs.clone(),
        })
    }

    /// The path as the user gave it.
    pub fn path(&self) -> &Path {
        &self.shown
    }

    /// Starts writing: a temporary file beside the destination, removed on drop, on error and
    /// on SIGINT/SIGTERM/SIGHUP unless [`Partial::commit`] renamed it into place.
    pub fn create(&self) -> Result<Partial> {
        let dir = parent(&self.real);
        let mut registry = partials();
        let tmp = tempfile::Builder::new()
            .prefix(PARTIAL_PREFIX)
            .permissions(Permissions::from_mode(0o666))
            .tempfile_in(dir)
            .io_err(&self.shown, || {
                format!(
                    "{}: cannot create a temporary file in {}",
                    self.shown.display(),
                    dir.display()
                )
            })?;
        registry.push(tmp.path().to_path_buf());
        drop(registry);
        let partial = Partial {
            path: tmp.path().to_path_buf(),
            w: Some(BufWriter::with_capacity(1 << 20, tmp)),
            target: self.clone(),
        };
        if let Some((mode, uid, gid)) = self.existing {
            let file = partial.file();
            // Keep the owner where we may (root, or our own file), then the mode.
            let _ = std::os::unix::fs::fchown(file, Some(uid), Some(gid));
            file.set_permissions(Permissions::from_mode(mode & 0o777))
                .io_err(&partial.path, || {
                    format!("{}: setting permissions", partial.path.display())
                })?;
        }
        Ok(partial)
    }
}

fn parent(p: &Path) -> &Path {
    match p.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    }
}

/// An output being written: a temporary file that becomes the destination on
/// [`Partial::commit`], and is removed otherwise.
pub struct Partial {
    path: PathBuf,
    w: Option<BufWriter<NamedTempFile>>,
    target: Target,
}

impl Partial {
    fn file(&self) -> &fs::File {
        self.w
            .as_ref()
            .expect("present until commit")
            .get_ref()
            .as_file()
    }

    /// The temporary file's path (`.vitrs-partial-XXXXXX` beside the destination).
    pub fn temp_path(&self) -> &Path {
        &self.path
    }

    /// Flushes, syncs, checks the destination once more and renames the file into place.
    pub fn commit(mut self) -> Result<()> {
        let shown = self.target.shown.clone();
        let w = self.w.take().expect("present until commit");
        let tmp = w.into_inner().map_err(|e| {
            let source = io::Error::new(e.error().kind(), e.error().to_string());
            Error::io(format!("writing {}", shown.display()), &shown, source)
        })?;
        tmp.as_file()
            .sync_all()
            .io_err(&shown, || format!("writing {}", shown.display()))?;
        let mut registry = partials();
        // The destination may have changed while we worked: check it again just before.
        let (real, existing) = resolve_links(&shown)?;
        if let Some(m) = &existing {
            if !m.is_file() {
                return Err(Error::output(
                    &shown,
                    format!(
                        "{}: it became {} while vitrs worked; nothing written",
                        shown.display(),
                        kind(m)
                    ),
                ));
            }
            if let Some(input) = self.target.inputs.find(m) {
                return Err(Error::output(
                    &shown,
                    format!(
                        "{}: refusing to write over {}, {} this command reads",
                        shown.display(),
                        input.path.display(),
                        input.role
                    ),
                ));
            }
        }
        let result = tmp.persist(&real).map(|_| ()).map_err(|e| {
            Error::io(
                format!("renaming the finished file to {}", shown.display()),
                &shown,
                e.error,
            )
        });
        registry.retain(|p| p != &self.path);
        result
    }
}

impl io::Seek for Partial {
    fn seek(&mut self, pos: io::SeekFrom) -> io::Result<u64> {
        self.w.as_mut().expect("present until commit").seek(pos)
    }
}

impl Write for Partial {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.w.as_mut().expect("present until commit").write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.w.as_mut().expect("present until commit").flush()
    }
}

impl Drop for Partial {
    fn drop(&mut self) {
        if let Some(w) = self.w.take() {
            let mut registry = partials();
            let _ = fs::remove_file(&self.path);
            registry.retain(|p| p != &self.path);
            // The file is gone: dropping the writer may fail to flush into it, harmlessly.
            drop(w);
        }
    }
}

fn partials() -> MutexGuard<'static, Vec<PathBuf>> {
    static FILES: OnceLock<Mutex<Vec<PathBuf>>> = OnceLock::new();
    FILES
        .get_or_init(|| Mutex::new(Vec::new()))
        .lock()
        .unwrap_or_else(|e| e.into_inner())
}

/// Held while a group of files must change together (a shard renamed into place and its
/// lines appended to a manifest): the signal cleanup waits for it, so SIGINT, SIGTERM or
/// SIGHUP never lands between the two.
pub fn hold_signals() -> MutexGuard<'static, ()> {
    static HOLD: Mutex<()> = Mutex::new(());
    HOLD.lock().unwrap_or_else(|e| e.into_inner())
}

/// Removes the temporary files of writes still in progress, and keeps any other from being
/// created or committed until the returned guard is dropped.
pub fn remove_partial_files() -> MutexGuard<'static, Vec<PathBuf>> {
    let mut files = partials();
    for f in files.drain(..) {
        let _ = fs::remove_file(f);
    }
    files
}

/// Writes `text` to stdout and flushes it; a closed pipe or a full disk is an error saying
/// so, never a panic (as `print!` would).
pub fn print(text: &str) -> Result<()> {
    let mut out = io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|_| out.flush())
        .io_err(Path::new("-"), || "writing to stdout".into())
}

/// A path for JSON output: `{"path": ...}`, lossy for a name that is not UTF-8, which then
/// also gets `"path_bytes"`, its exact bytes, so no two files are confused.
pub fn json_path(path: &Path) -> serde_json::Map<String, serde_json::Value> {
    use std::os::unix::ffi::OsStrExt;
    let mut m = serde_json::Map::new();
    m.insert(
        "path".into(),
        serde_json::Value::String(path.to_string_lossy().into_owned()),
    );
    if path.to_str().is_none() {
        m.insert(
            "path_bytes".into(),
            serde_json::json!(path.as_os_str().as_bytes()),
        );
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_file_gets_the_umask_mode_and_a_replaced_one_keeps_its_mode() {
        let tmp = tempfile::tempdir().unwrap();
        let new = tmp.path().join("new.npy");
        Destination::parse(&new, &Inputs::new())
            .unwrap()
            .write_all(b"x")
            .unwrap();
        let mode = fs::metadata(&new).unwrap().mode() & 0o777;
        assert_ne!(mode, 0o600, "not tempfile's private mode");
        assert_eq!(mode & 0o600, 0o600);

        let old = tmp.path().join("old.npy");
        fs::write(&old, b"old").unwrap();
        fs::set_permissions(&old, Permissions::from_mode(0o640)).unwrap();
        Destination::parse(&old, &Inputs::new())
            .unwrap()
            .write_all(b"new")
            .unwrap();
        assert_eq!(fs::read(&old).unwrap(), b"new");
        assert_eq!(fs::metadata(&old).unwrap().mode() & 0o777, 0o640);
    }

    #[test]
    fn a_symlink_is_written_through_and_kept() {
        let tmp = tempfile::tempdir().unwrap();
        let real = tmp.path().join("real.jsonl");
        fs::write(&real, b"old").unwrap();
        let link = tmp.path().join("link.jsonl");
        std::os::unix::fs::symlink("real.jsonl", &link).unwrap();
        Destination::parse(&link, &Inputs::new())
            .unwrap()
            .write_all(b"new")
            .unwrap();
        assert!(fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(fs::read(&real).unwrap(), b"new");
        // A dangling link creates its target.
        let dangling = tmp.path().join("dangling.npy");
        std::os::unix::fs::symlink("made.npy", &dangling).unwrap();
        Destination::parse(&dangling, &Inputs::new())
            .unwrap()
            .write_all(b"x")
            .unwrap();
        assert_eq!(fs::read(tmp.path().join("made.npy")).unwrap(), b"x");
    }

    #[test]
    fn inputs_folders_and_missing_folders_are_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let img = tmp.path().join("a.png");
        fs::write(&img, b"png").unwrap();
        let mut inputs = Inputs::new();
        inputs.file(&img, "an image being embedded");
        let e = Target::check(&img, &inputs).unwrap_err().to_string();
        assert!(e.contains("an image being embedded"), "{e}");
        let e = Target::check(tmp.path(), &inputs).unwrap_err().to_string();
        assert!(
            e.contains("a directory") || e.contains("not a file name"),
            "{e}"
        );
        let e = Target::check(&tmp.path().join("no/such/x.npy"), &inputs)
            .unwrap_err()
            .to_string();
        assert!(e.contains("does not exist"), "{e}");
        let e = Target::check(Path::new("/dev/null"), &inputs)
            .unwrap_err()
            .to_string();
        assert!(e.contains("a character device"), "{e}");
    }

    #[test]
    fn a_failed_write_leaves_no_partial_file() {
        let tmp = tempfile::tempdir().unwrap();
        let t = Target::check(&tmp.path().join("x.npy"), &Inputs::new()).unwrap();
        let mut p = t.create().unwrap();
        p.write_all(b"half").unwrap();
        let temp = p.temp_path().to_path_buf();
        assert!(temp.exists());
        drop(p);
        assert!(!temp.exists());
        assert_eq!(fs::read_dir(tmp.path()).unwrap().count(), 0);
    }

    #[test]
    fn non_utf8_paths_are_kept_exactly_in_json() {
        use std::os::unix::ffi::OsStrExt;
        let p = Path::new(std::ffi::OsStr::from_bytes(b"a\xff.png"));
        let m = json_path(p);
        assert_eq!(m["path"], "a\u{fffd}.png");
        assert_eq!(
            m["path_bytes"],
            serde_json::json!([97, 255, 46, 112, 110, 103])
        );
        assert!(json_path(Path::new("b.png")).get("path_bytes").is_none());
    }
}
