//! Expanding the paths a user typed into the image files to read.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use walkdir::WalkDir;

use crate::{Error, Result};

/// File extensions treated as images when a directory is walked.
pub const IMAGE_EXTENSIONS: &[&str] = &[
    "png", "jpg", "jpeg", "gif", "bmp", "webp", "tif", "tiff", "ppm", "pgm", "pnm", "tga", "ico",
];

fn is_image(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| IMAGE_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
}

/// What the paths a user typed expand to.
#[derive(Debug, Default)]
pub struct Inputs {
    /// Regular files to read, in order.
    pub files: Vec<PathBuf>,
    /// What was met but cannot be read, with why: a FIFO, socket or device (never opened),
    /// an unreadable folder, a dangling link. Report these as skipped files.
    pub skipped: Vec<(PathBuf, String)>,
}

impl Inputs {
    fn skip(&mut self, path: &Path, why: impl std::fmt::Display) {
        self.skipped.push((path.to_path_buf(), why.to_string()));
    }

    /// Adds `path`, found in a walk or a glob, if it is a regular file; anything else that
    /// `keep` wants is skipped with the reason, without being opened.
    fn add(&mut self, path: &Path, meta: &std::fs::Metadata) {
        if meta.is_file() {
            self.files.push(path.to_path_buf());
        } else {
            self.skip(
                path,
                format_args!(
                    "{}, not a regular file; vitrs reads regular files only",
                    vitrs_tensor::file::kind_of(meta)
                ),
            );
        }
    }
}

/// Walks `root` (following symlinks), depth first in sorted order, adding what `keep`
/// accepts. Each real directory is visited once: a symlink loop, or a second link to a folder
/// already walked, is passed over, so nothing is listed twice and nothing hangs. Folders that
/// cannot be read are skipped and reported, like files that cannot be read.
fn walk(root: &Path, max_depth: usize, keep: &dyn Fn(&Path) -> bool, out: &mut Inputs) {
    let mut seen = HashSet::new();
    let mut it = WalkDir::new(root)
        .follow_links(true)
        .max_depth(max_depth)
        .sort_by_file_name()
        .into_iter();
    while let Some(entry) = it.next() {
        let entry = match entry {
            Ok(entry) => entry,
            // A link back to a folder being walked: its content is reached anyway.
            Err(e) if e.loop_ancestor().is_some() => continue,
            Err(e) => {
                let path = e.path().unwrap_or(root).to_path_buf();
                let is_dir = std::fs::metadata(&path).is_ok_and(|m| m.is_dir());
                if is_dir || keep(&path) {
                    let why = e
                        .io_error()
                        .map_or_else(|| e.to_string(), |io| io.to_string());
                    let what = if is_dir {
                        "cannot read the folder: "
                    } else {
                        ""
                    };
                    out.skip(&path, format_args!("{what}{why}"));
                }
                continue;
            }
        };
        let path = entry.path();
        if entry.file_type().is_dir() {
            // The real folder, once: a second link to it would list its files again.
            let real = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
            if !seen.insert(real) {
                it.skip_current_dir();
            }
            continue;
        }
        if !keep(path) {
            continue;
        }
        match entry.metadata() {
            Ok(meta) => out.add(path, &meta),
            Err(e) => out.skip(path, e),
        }
    }
}

/// The leading components of a glob pattern that hold no wildcard, and whether the rest
/// may cross folders (`**`) or how many levels it spans.
fn glob_base(pattern: &str) -> (PathBuf, usize) {
    let mut base = PathBuf::new();
    let mut comps = Path::new(pattern).components().peekable();
    while let Some(c) = comps.peek() {
        if c.as_os_str().to_string_lossy().contains(['*', '?', '[']) {
            break;
        }
        base.push(c);
        comps.next();
    }
    let rest: Vec<_> = comps.collect();
    let depth = if rest.iter().any(|c| c.as_os_str() == "**") {
        usize::MAX
    } else {
        rest.len()
    };
    (base, depth)
}

/// Expands a glob pattern with the same walker as folders (same rules for links, loops and
/// what is not a regular file), keeping every match that is not a folder.
fn glob(pattern: &str, out: &mut Inputs) -> Result<()> {
    let pat = glob::Pattern::new(pattern)
        .map_err(|e| Error::input(pattern, format!("{pattern}: not a valid pattern: {e}")))?;
    let options = glob::MatchOptions {
        case_sensitive: true,
        require_literal_separator: true,
        require_literal_leading_dot: false,
    };
    let (base, depth) = glob_base(pattern);
    let relative = base.as_os_str().is_empty();
    let root = if relative {
        Path::new(".")
    } else {
        base.as_path()
    };
    let mut found = Inputs::default();
    // `walk` reports paths under `root`; a pattern with no folder part is matched without
    // the `./` the walk adds.
    let strip = |p: &Path| -> PathBuf {
        if relative {
            p.strip_prefix(".").unwrap_or(p).to_path_buf()
        } else {
            p.to_path_buf()
        }
    };
    let keep = |p: &Path| pat.matches_path_with(&strip(p), options);
    walk(root, depth, &keep, &mut found);
    out.files.extend(found.files.iter().map(|p| strip(p)));
    out.skipped
        .extend(found.skipped.into_iter().map(|(p, why)| (strip(&p), why)));
    Ok(())
}

/// Files as given (whatever their extension), directories walked recursively in sorted order
/// keeping image types only, and glob patterns (`*`, `?`, `[...]`, `**`) expanded in sorted
/// order. Only regular files are listed: a FIFO, socket or device, named or met in a folder,
/// is put in [`Inputs::skipped`] with the reason and never opened; so are folders that
/// cannot be read. A path that does not exist and matches nothing is an error that names it.
pub fn expand_inputs(args: &[String]) -> Result<Inputs> {
    let mut out = Inputs::default();
    for arg in args {
        let path = Path::new(arg);
        match std::fs::metadata(path) {
            Ok(meta) if meta.is_dir() => {
                let before = (out.files.len(), out.skipped.len());
                walk(path, usize::MAX, &is_image, &mut out);
                if (out.files.len(), out.skipped.len()) == before {
                    return Err(Error::input(
                        path,
                        format!(
                            "{arg}: the directory holds no image files ({})",
                            IMAGE_EXTENSIONS.join(", ")
                        ),
                    ));
                }
            }
            Ok(meta) => out.add(path, &meta),
            Err(_) if arg.contains(['*', '?', '[']) => {
                let before = (out.files.len(), out.skipped.len());
                glob(arg, &mut out)?;
                if (out.files.len(), out.skipped.len()) == before {
                    return Err(Error::input(
                        path,
                        format!("{arg}: the pattern matches no files"),
                    ));
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(Error::input(
                    path,
                    format!("{arg}: no such file or directory"),
                ))
            }
            Err(e) => out.skip(path, e),
        }
    }
    Ok(out)
}

/// [`expand_inputs`] for callers that only want the files: what is skipped is logged as a
/// warning, `skipped PATH: why`.
pub fn expand(args: &[String]) -> Result<Vec<PathBuf>> {
    let inputs = expand_inputs(args)?;
    for (path, why) in &inputs.skipped {
        log::warn!("skipped {}: {why}", path.display());
    }
    Ok(inputs.files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directories_are_walked_sorted_images_only() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path();
        std::fs::create_dir(d.join("sub")).unwrap();
        for f in ["b.PNG", "a.jpg", "notes.txt", "sub/c.webp"] {
            std::fs::write(d.join(f), b"x").unwrap();
        }
        let got = expand(&[d.to_string_lossy().into_owned()]).unwrap();
        let names: Vec<_> = got
            .iter()
            .map(|p| p.strip_prefix(d).unwrap().to_owned())
            .collect();
        assert_eq!(
            names,
            [
                Path::new("a.jpg"),
                Path::new("b.PNG"),
                Path::new("sub/c.webp")
            ]
        );
        let pattern = format!("{}/*.jpg", d.display());
        assert_eq!(expand(&[pattern]).unwrap(), vec![d.join("a.jpg")]);
    }

    #[cfg(unix)]
    fn mkfifo(path: &Path) {
        let ok = std::process::Command::new("mkfifo")
            .arg(path)
            .status()
            .unwrap()
            .success();
        assert!(ok);
    }

    fn names(root: &Path, paths: &[PathBuf]) -> Vec<String> {
        paths
            .iter()
            .map(|p| p.strip_prefix(root).unwrap().to_string_lossy().into_owned())
            .collect()
    }

    #[cfg(unix)]
    #[test]
    fn fifos_sockets_and_devices_are_skipped_never_opened() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path();
        std::fs::write(d.join("a.png"), b"x").unwrap();
        mkfifo(&d.join("fifo.png"));
        let _socket = std::os::unix::net::UnixListener::bind(d.join("sock.png")).unwrap();
        std::os::unix::fs::symlink("/dev/zero", d.join("zero.png")).unwrap();
        std::os::unix::fs::symlink(d.join("gone"), d.join("dangling.png")).unwrap();
        let root = d.to_string_lossy().into_owned();
        let got = expand_inputs(std::slice::from_ref(&root)).unwrap();
        assert_eq!(names(d, &got.files), ["a.png"]);
        let skipped: Vec<String> = got
            .skipped
            .iter()
            .map(|(p, why)| format!("{}: {why}", p.strip_prefix(d).unwrap().display()))
            .collect();
        assert_eq!(skipped.len(), 4, "{skipped:?}");
        assert!(skipped[0].starts_with("dangling.png: "), "{skipped:?}");
        assert!(skipped[1].starts_with("fifo.png: a FIFO"), "{skipped:?}");
        assert!(skipped[2].starts_with("sock.png: a socket"), "{skipped:?}");
        assert!(
            skipped[3].starts_with("zero.png: a character device"),
            "{skipped:?}"
        );
        // Named directly, and through a glob: the same.
        let fifo = d.join("fifo.png").to_string_lossy().into_owned();
        let got = expand_inputs(&[fifo]).unwrap();
        assert!(got.files.is_empty() && got.skipped[0].1.contains("a FIFO"));
        let got = expand_inputs(&[format!("{root}/*.png")]).unwrap();
        assert_eq!(names(d, &got.files), ["a.png"]);
        assert_eq!(got.skipped.len(), 4);
    }

    #[cfg(unix)]
    #[test]
    fn symlink_loops_and_repeated_folders_are_walked_once() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path();
        std::fs::create_dir_all(d.join("real/deep")).unwrap();
        std::fs::write(d.join("real/deep/x.jpg"), b"x").unwrap();
        // A loop back to the root, a loop to itself, and two more links to `real`.
        std::os::unix::fs::symlink(d, d.join("real/deep/up")).unwrap();
        std::os::unix::fs::symlink("self", d.join("self")).unwrap();
        std::os::unix::fs::symlink(d.join("real"), d.join("again")).unwrap();
        std::os::unix::fs::symlink("real", d.join("zz")).unwrap();
        let root = d.to_string_lossy().into_owned();
        let got = expand_inputs(std::slice::from_ref(&root)).unwrap();
        // `again` sorts first, so `real` is reached through it, once.
        assert_eq!(names(d, &got.files), ["again/deep/x.jpg"]);
        let got = expand_inputs(&[format!("{root}/**/*.jpg")]).unwrap();
        assert_eq!(names(d, &got.files), ["again/deep/x.jpg"]);
    }

    #[cfg(unix)]
    #[test]
    fn an_unreadable_folder_is_skipped_and_reported() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path();
        std::fs::create_dir(d.join("locked")).unwrap();
        std::fs::write(d.join("locked/in.png"), b"x").unwrap();
        std::fs::write(d.join("ok.png"), b"x").unwrap();
        let locked = d.join("locked");
        std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o000)).unwrap();
        // Root (or CAP_DAC_OVERRIDE) reads it anyway: then it is simply walked.
        let readable = std::fs::read_dir(&locked).is_ok();
        let got = expand_inputs(&[d.to_string_lossy().into_owned()]);
        std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o755)).unwrap();
        let got = got.unwrap();
        if readable {
            assert_eq!(names(d, &got.files), ["locked/in.png", "ok.png"]);
            assert!(got.skipped.is_empty());
        } else {
            assert_eq!(names(d, &got.files), ["ok.png"]);
            assert_eq!(got.skipped.len(), 1);
            assert_eq!(got.skipped[0].0, locked);
            assert!(
                got.skipped[0].1.contains("cannot read the folder"),
                "{got:?}"
            );
        }
    }

    #[test]
    fn missing_and_empty_inputs_are_named() {
        let tmp = tempfile::tempdir().unwrap();
        let empty = tmp.path().to_string_lossy().into_owned();
        let e = expand(std::slice::from_ref(&empty))
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with(&empty) && e.contains("holds no image files"),
            "{e}"
        );
        let e = expand(&["/no/such.png".into()]).unwrap_err().to_string();
        assert_eq!(e, "/no/such.png: no such file or directory");
        let e = expand(&[format!("{empty}/*.png")]).unwrap_err().to_string();
        assert!(e.contains("matches no files"), "{e}");
    }
}
