//! The crate's only `unsafe`: mapping a file read-only into memory.

use std::fs::File;
use std::path::Path;

use memmap2::Mmap;

use crate::error::{Error, Result};

/// Maps `file` (opened from `path`) read-only.
///
/// The caller must treat the mapped bytes as untrusted: they are validated like
/// any other input before use.
#[expect(
    unsafe_code,
    reason = "memory-mapping a file is inherently unsafe in Rust"
)]
pub(crate) fn map_file(file: &File, path: &Path) -> Result<Mmap> {
    // SAFETY: `Mmap::map` is unsafe because another process could modify or
    // truncate the file while it is mapped, which Rust cannot rule out. The
    // map is read-only and private to this process, every byte is validated
    // (bounds, checksums) before it is trusted, and, like the safetensors
    // ecosystem, we document that checkpoint files must not be modified while
    // open.
    unsafe { Mmap::map(file) }.map_err(|source| Error::io(path, source))
}

/// File bytes, either mapped or held in memory (for tests and fuzzing).
#[derive(Debug)]
pub(crate) enum Backing {
    Mapped(Mmap),
    Owned(Vec<u8>),
}

impl Backing {
    /// Maps the file at `path`; empty files (which some platforms refuse to map) are read as empty.
    pub(crate) fn open(path: &Path) -> Result<Self> {
        let file = File::open(path).map_err(|source| Error::io(path, source))?;
        let len = file
            .metadata()
            .map_err(|source| Error::io(path, source))?
            .len();
        if len == 0 {
            Ok(Self::Owned(Vec::new()))
        } else {
            Ok(Self::Mapped(map_file(&file, path)?))
        }
    }

    pub(crate) fn bytes(&self) -> &[u8] {
        match self {
            Self::Mapped(map) => map,
            Self::Owned(bytes) => bytes,
        }
    }
}
