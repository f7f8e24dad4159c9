//! A folder tree built from arbitrary bytes (folders, files, sockets, symlinks to anything
//! already made, the root included, and dangling ones), then walked as `vitrs embed DIR` and
//! `vitrs embed 'DIR/**/*'` walk it: the walk must end, list only regular files, list each
//! real folder's files once, and never panic.
#![no_main]

use std::collections::HashSet;
use std::path::PathBuf;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().to_path_buf();
    let mut made: Vec<PathBuf> = vec![root.clone()];
    let mut dirs: Vec<PathBuf> = vec![root.clone()];
    for (i, op) in data.chunks(2).take(64).enumerate() {
        let (kind, pick) = (op[0] % 5, *op.get(1).unwrap_or(&0) as usize);
        let parent = dirs[pick % dirs.len()].clone();
        let path = parent.join(format!("e{i}.png"));
        match kind {
            0 => {
                if std::fs::create_dir(&path).is_ok() {
                    dirs.push(path.clone());
                }
            }
            1 => {
                let _ = std::fs::write(&path, b"x");
            }
            #[cfg(unix)]
            2 => {
                let target = made[pick % made.len()].clone();
                let _ = std::os::unix::fs::symlink(target, &path);
            }
            #[cfg(unix)]
            3 => {
                let _ = std::os::unix::net::UnixListener::bind(&path);
            }
            #[cfg(unix)]
            _ => {
                let _ = std::os::unix::fs::symlink(root.join("nowhere"), &path);
            }
            #[cfg(not(unix))]
            _ => {}
        }
        made.push(path);
    }
    let arg = root.to_string_lossy().into_owned();
    for args in [vec![arg.clone()], vec![format!("{arg}/**/*")]] {
        let Ok(inputs) = vitrs::embed::inputs::expand_inputs(&args) else {
            continue;
        };
        let mut real = HashSet::new();
        for f in &inputs.files {
            assert!(std::fs::metadata(f).unwrap().is_file(), "{}", f.display());
            // The same real file twice would mean a folder walked twice.
            assert!(
                real.insert(std::fs::canonicalize(f).unwrap()),
                "{} listed twice",
                f.display()
            );
        }
    }
});
