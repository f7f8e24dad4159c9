//! Bounded reads of input files: what vitrs reads must be a regular file (never a FIFO, a
//! device or a socket, which could block forever or never end) of a size proportionate to
//! what it holds.
//!
//! This lives in the tensor crate only because every other vitrs crate depends on it; it
//! holds no tensor logic.
//!
//! The check is made twice: on the path's metadata before opening (so a FIFO is never
//! opened), and on the open handle (`fstat`), so a file swapped for a FIFO or device between
//! the two is caught too. On Unix the open itself is non-blocking, so even that race cannot
//! hang.

use std::fs::{File, Metadata};
use std::io::{self, Read};
use std::path::Path;

/// Size caps for the kinds of file vitrs reads whole.
pub mod caps {
    /// `config.json`: a few KB, up to a few MB with tens of thousands of `id2label` entries.
    pub const CONFIG_JSON: u64 = 16 << 20;
    /// `preprocessor_config.json`: a few hundred bytes in practice.
    pub const PREPROCESSOR_JSON: u64 = 1 << 20;
    /// `model.safetensors.index.json`: one line per tensor.
    pub const INDEX_JSON: u64 = 16 << 20;
    /// A Hub cache `refs/` file (a 40-character commit hash) or a token file.
    pub const SMALL_TEXT: u64 = 4 << 10;
}

/// What a non-regular file is, for messages ("a FIFO", "a directory", ...).
pub fn kind_of(meta: &Metadata) -> &'static str {
    let t = meta.file_type();
    if t.is_dir() {
        return "a directory";
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if t.is_fifo() {
            return "a FIFO (named pipe)";
        }
        if t.is_char_device() {
            return "a character device";
        }
        if t.is_block_device() {
            return "a block device";
        }
        if t.is_socket() {
            return "a socket";
        }
    }
    if t.is_file() {
        "a regular file"
    } else {
        "not a regular file"
    }
}

fn not_regular(meta: &Metadata) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        format!(
            "{}, not a regular file; vitrs reads regular files only",
            kind_of(meta)
        ),
    )
}

/// Opens `path` (following symlinks) for reading if, and only if, it is a regular file;
/// returns the handle and its length. Never blocks on a FIFO.
pub fn open_regular(path: &Path) -> io::Result<(File, u64)> {
    let meta = std::fs::metadata(path)?;
    if !meta.is_file() {
        return Err(not_regular(&meta));
    }
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        // O_NONBLOCK: a path swapped for a FIFO after the check above opens at once instead of
        // waiting for a writer (it has no effect on regular files); O_NOCTTY: a terminal
        // device never becomes our controlling terminal.
        options.custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY);
    }
    let file = options.open(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(not_regular(&meta));
    }
    Ok((file, meta.len()))
}

/// The whole of the regular file at `path`, refused (before reading) when it is longer than
/// `cap` bytes; `what` names the kind of file in that message ("a config.json").
pub fn read_capped(path: &Path, cap: u64, what: &str) -> io::Result<Vec<u8>> {
    let (file, len) = open_regular(path)?;
    let too_big = |len: u64| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "{len} bytes is more than the {cap}-byte limit for {what}; refused before \
                 reading"
            ),
        )
    };
    if len > cap {
        return Err(too_big(len));
    }
    let mut bytes = Vec::with_capacity(len as usize);
    // The file may grow while it is read: never take more than the cap.
    file.take(cap + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > cap {
        return Err(too_big(bytes.len() as u64));
    }
    Ok(bytes)
}

/// [`read_capped`] as UTF-8 text.
pub fn read_capped_string(path: &Path, cap: u64, what: &str) -> io::Result<String> {
    String::from_utf8(read_capped(path, cap, what)?).map_err(|e| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("not UTF-8 text ({})", e.utf8_error()),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regular_files_within_the_cap_are_read() {
        let tmp = std::env::temp_dir().join(format!("vitrs-file-test-{}", std::process::id()));
        std::fs::write(&tmp, b"{\"a\": 1}").unwrap();
        assert_eq!(read_capped(&tmp, 8, "a test").unwrap(), b"{\"a\": 1}");
        let e = read_capped(&tmp, 7, "a test").unwrap_err().to_string();
        assert!(
            e.contains("8 bytes is more than the 7-byte limit for a test"),
            "{e}"
        );
        std::fs::remove_file(&tmp).unwrap();
    }

    #[test]
    fn directories_and_devices_are_refused() {
        let e = read_capped(&std::env::temp_dir(), 10, "x").unwrap_err();
        assert!(e.to_string().contains("a directory"), "{e}");
        #[cfg(unix)]
        {
            let e = read_capped(Path::new("/dev/zero"), 10, "x").unwrap_err();
            assert!(e.to_string().contains("a character device"), "{e}");
        }
    }
}
