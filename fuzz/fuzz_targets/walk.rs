//! A folder tree built from arbitrary bytes (folders, files, sockets, symlinks to anything
//! already made, the root included, and dangling ones), then walked as `vitrs embed DIR` and
//! `vitrs embed 'DIR/**/*'` walk it: the walk must end, list only regular files, list each
//! real folder's entries once, and never panic.
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
        let mut seen = HashSet::new();
        for f in &inputs.files {
            assert!(std::fs::metadata(f).unwrap().is_file(), "{}", f.display());
            // A name in the same real folder twice would mean a folder walked twice. (The same
            // real file under two names is fine: a link to a file is listed as the user made
            // it, as `vitrs embed` of a folder of links expects.)
            let folder = std::fs::canonicalize(f.parent().unwrap()).unwrap();
            assert!(
                seen.insert((folder, f.file_name().unwrap().to_owned())),
                "{} listed twice",
                f.display()
            );
        }
    }
});
