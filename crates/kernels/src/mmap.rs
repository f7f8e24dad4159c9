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
    /// Tells the kernel the bytes in `range` will not be read again soon, so their pages can
    /// leave this process's resident set. A checkpoint decodes each tensor once into its own
    /// buffers; releasing the source pages as it goes keeps peak memory near one copy of the
    /// weights instead of two. Out-of-range requests and platforms without `madvise` are
    /// ignored: this is a hint, never a correctness matter.
    pub fn release(&self, range: std::ops::Range<usize>) {
        #[cfg(unix)]
        if range.start < range.end && range.end <= self.map.len() {
            // SAFETY: MADV_DONTNEED on a read-only, private file mapping only drops clean
            // pages; any later read faults them back in from the file with the same contents,
            // so no Rust reference to the mapped bytes can observe a change.
            let _ = unsafe {
                self.map.unchecked_advise_range(
                    memmap2::UncheckedAdvice::DontNeed,
                    range.start,
                    range.len(),
                )
            };
        }
        #[cfg(not(unix))]
        let _ = range;
    }

    /// Maps the file at `path`. An empty file maps to an empty slice.
    pub fn open(path: &Path) -> io::Result<Self> {
        Self::map(File::open(path)?)
    }

    /// Maps an open file (one the caller has already checked, say, to be a regular file).
    pub fn map(file: File) -> io::Result<Self> {
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

impl MappedFile {
    /// The `len` floats at byte `offset`, or None if they are out of bounds or not aligned
    /// for `f32`. Read as stored: the bytes of a file written on a machine of the same
    /// endianness.
    pub fn f32s(&self, offset: usize, len: usize) -> Option<&[f32]> {
        let end = offset.checked_add(len.checked_mul(4)?)?;
        let bytes = self.map.get(offset..end)?;
        // SAFETY: every bit pattern is a valid f32, and align_to only reinterprets the part
        // of `bytes` that is aligned for f32; we use it only when that part is all of it.
        let (head, floats, tail) = unsafe { bytes.align_to::<f32>() };
        (head.is_empty() && tail.is_empty()).then_some(floats)
    }

    /// The `len` bytes at `offset` as `i8`, or None if they are out of bounds.
    pub fn i8s(&self, offset: usize, len: usize) -> Option<&[i8]> {
        let bytes = self.map.get(offset..offset.checked_add(len)?)?;
        Some(bytemuck::cast_slice(bytes))
    }
}

impl Deref for MappedFile {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        &self.map
    }
}
