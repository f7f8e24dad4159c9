//! Expanding the paths a user typed into the image files to read.

use std::path::{Path, PathBuf};

use anyhow::{bail, Result};

/// File extensions treated as images when a directory is walked.
pub const IMAGE_EXTENSIONS: &[&str] = &[
    "png", "jpg", "jpeg", "gif", "bmp", "webp", "tif", "tiff", "ppm", "pgm", "pnm", "tga", "ico",
];

fn is_image(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| IMAGE_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| anyhow::anyhow!("{}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            walk(&p, out)?;
        } else if is_image(&p) {
            out.push(p);
        }
    }
    Ok(())
}

/// Files as given (whatever their extension), directories walked recursively in sorted order
/// keeping image types only, and glob patterns (`*`, `?`, `[...]`) expanded in sorted order.
/// A path that does not exist and matches nothing is an error that names it.
pub fn expand(args: &[String]) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for arg in args {
        let path = Path::new(arg);
        if path.is_dir() {
            let before = out.len();
            walk(path, &mut out)?;
            if out.len() == before {
                bail!(
                    "{arg}: the directory holds no image files ({})",
                    IMAGE_EXTENSIONS.join(", ")
                );
            }
        } else if path.exists() {
            out.push(path.to_path_buf());
        } else if arg.contains(['*', '?', '[']) {
            let matches: Vec<PathBuf> = glob::glob(arg)
                .map_err(|e| anyhow::anyhow!("{arg}: not a valid pattern: {e}"))?
                .filter_map(|p| p.ok())
                .filter(|p| p.is_file())
                .collect();
            if matches.is_empty() {
                bail!("{arg}: the pattern matches no files");
            }
            out.extend(matches);
        } else {
            bail!("{arg}: no such file or directory");
        }
    }
    Ok(out)
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
