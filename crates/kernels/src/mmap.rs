//! Read-only memory mapping of checkpoint files.
//!
//! Mapping a file is `unsafe` because another process may change the file while it is mapped;
//! the project keeps every `unsafe` block inside `vitrs-kernels`, so the one mapping call lives
//! here.

use std::fs::File;
use std::io;
use std::ops::Deref;
use std::path::Path;

/// A file mapped read-only into memory.
pub struct MappedFile {
    map: memmap2::Mmap,
    file: File,
}

impl MappedFile {
    /// Maps the file at `path`. An empty file maps to an empty slice.
    pub fn open(path: &Path) -> io::Result<Self> {
        let file = File::open(path)?;
        // SAFETY: the mapping is read-only and private to this process. A writer that truncates
        // the file underneath us could fault a later read; checkpoints are opened read-only and
        // callers validate every offset against the length seen here before touching bytes.
        let map = unsafe { memmap2::Mmap::map(&file)? };
        Ok(MappedFile { map, file })
    }
}

impl MappedFile {
    /// Whether the file on disk is still at least as long as the mapping. Reading a mapped
    /// page past the end of a file that shrank faults the process, so callers check this
    /// before touching bytes of a file that someone else might be rewriting.
    pub fn still_whole(&self) -> bool {
        self.file
            .metadata()
            .is_ok_and(|m| m.len() >= self.map.len() as u64)
    }
}

impl Deref for MappedFile {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        &self.map
    }
}
