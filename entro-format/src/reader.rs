//! Opening a `.entro` file: map it, validate all of it, then hand out zero-copy views.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::entry::{ChunkEntry, TensorEncoding, TensorEntry};
use crate::error::{ChecksumLocation, Error, Result, as_u64};
use crate::header::decode_header;
use crate::layout::{Footer, PREAMBLE_LEN, align_up, check_preamble};
use crate::metadata::FileMetadata;
use crate::mmap::Backing;

/// A validated `.entro` file.
///
/// [`EntroFile::open`] memory-maps the file and checks the whole header before
/// returning: preamble, footer, header checksum, every record, and that the
/// payloads tile the file with only zero alignment padding between them. What
/// is left to check later is the payload checksums, which cover most of the
/// file and are verified per chunk, at decode time ([`EntroFile::verify_chunk`]).
#[derive(Debug)]
pub struct EntroFile {
    backing: Backing,
    path: Option<PathBuf>,
    metadata: FileMetadata,
    tensors: Vec<TensorEntry>,
    by_name: HashMap<String, usize>,
    layout: FileLayout,
}

/// Where the bytes of a `.entro` file go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileLayout {
    /// Total file length.
    pub file_len: u64,
    /// Bytes of tensor payloads (Huffman chunks and raw tensor bytes).
    pub payload_bytes: u64,
    /// Zero bytes that align payloads and the header.
    pub padding_bytes: u64,
    /// Absolute offset of the header.
    pub header_offset: u64,
    /// Length of the header (metadata, records, codebooks, chunk tables).
    pub header_len: u64,
}

impl FileLayout {
    /// Everything that is not payload: preamble, padding, header and footer.
    #[must_use]
    pub fn overhead_bytes(&self) -> u64 {
        self.file_len.saturating_sub(self.payload_bytes)
    }
}

impl EntroFile {
    /// Memory-maps and validates the file at `path`.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] if the file cannot be opened or mapped; otherwise any
    /// validation error of [`EntroFile::from_bytes`].
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let mut opened = Self::validate(Backing::open(path)?)?;
        opened.path = Some(path.to_path_buf());
        Ok(opened)
    }

    /// Validates a `.entro` file held in memory, exactly as [`EntroFile::open`] does.
    ///
    /// # Errors
    ///
    /// [`Error::Format`] (with the offset and what was expected there),
    /// [`Error::UnsupportedVersion`], [`Error::UnsupportedEncoding`],
    /// [`Error::LimitExceeded`], or [`Error::ChecksumMismatch`] for the header.
    pub fn from_bytes(bytes: impl Into<Vec<u8>>) -> Result<Self> {
        Self::validate(Backing::Owned(bytes.into()))
    }

    fn validate(backing: Backing) -> Result<Self> {
        let file = backing.bytes();
        check_preamble(file)?;
        let footer = Footer::read(file)?;
        let header_range = usize::try_from(footer.header_offset)
            .ok()
            .and_then(|start| {
                Some(start..start.checked_add(usize::try_from(footer.header_len).ok()?)?)
            });
        let header = header_range
            .and_then(|range| file.get(range))
            .ok_or_else(|| {
                Error::format(
                    footer.header_offset,
                    "a header inside the file",
                    "a range past its end",
                )
            })?;
        let found = crc32c::crc32c(header);
        if found != footer.header_crc32c {
            return Err(Error::ChecksumMismatch {
                location: ChecksumLocation::Header,
                expected: footer.header_crc32c,
                found,
            });
        }
        let (metadata, tensors) = decode_header(header, footer.header_offset)?;
        let layout = check_tiling(file, &tensors, &footer)?;
        let by_name = tensors
            .iter()
            .enumerate()
            .map(|(i, t)| (t.name.clone(), i))
            .collect();
        Ok(Self {
            backing,
            path: None,
            metadata,
            tensors,
            by_name,
            layout,
        })
    }

    /// The path the file was opened from (`None` for [`EntroFile::from_bytes`]).
    #[must_use]
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// The whole file's bytes.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        self.backing.bytes()
    }

    /// Checkpoint and entro metadata.
    #[must_use]
    pub fn metadata(&self) -> &FileMetadata {
        &self.metadata
    }

    /// All tensors, in file order (the source checkpoint's order).
    #[must_use]
    pub fn tensors(&self) -> &[TensorEntry] {
        &self.tensors
    }

    /// The tensor called `name`.
    #[must_use]
    pub fn tensor(&self, name: &str) -> Option<&TensorEntry> {
        self.by_name
            .get(name)
            .and_then(|&index| self.tensors.get(index))
    }

    /// Sizes of the file's parts.
    #[must_use]
    pub fn layout(&self) -> FileLayout {
        self.layout
    }

    /// The payload of `entry`, without copying or verifying it.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] if `entry` does not come from this file.
    pub fn payload(&self, entry: &TensorEntry) -> Result<&[u8]> {
        slice(self.as_bytes(), entry.payload_offset, entry.payload_len)
            .ok_or_else(|| foreign_entry(entry))
    }

    /// The bytes of chunk `chunk` of a quantized or lossless tensor, without verifying them.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] if `entry` is raw, does not come from this
    /// file, or has no chunk `chunk`.
    pub fn chunk_bytes(&self, entry: &TensorEntry, chunk: usize) -> Result<&[u8]> {
        let info = chunk_info(entry, chunk)?;
        let payload = self.payload(entry)?;
        let start = usize::try_from(info.offset).ok();
        let range = start.and_then(|s| Some(s..s.checked_add(usize::try_from(info.len).ok()?)?));
        range
            .and_then(|range| payload.get(range))
            .ok_or_else(|| foreign_entry(entry))
    }

    /// Checks the CRC-32C of one chunk of a quantized or lossless tensor.
    ///
    /// # Errors
    ///
    /// [`Error::ChecksumMismatch`] if the chunk was damaged; the errors of
    /// [`EntroFile::chunk_bytes`].
    pub fn verify_chunk(&self, entry: &TensorEntry, chunk: usize) -> Result<()> {
        let expected = chunk_info(entry, chunk)?.crc32c;
        let found = crc32c::crc32c(self.chunk_bytes(entry, chunk)?);
        if found == expected {
            Ok(())
        } else {
            let location = ChecksumLocation::Chunk {
                tensor: entry.name.clone(),
                chunk,
            };
            Err(Error::ChecksumMismatch {
                location,
                expected,
                found,
            })
        }
    }

    /// The original bytes of a tensor kept exactly, after checking their CRC-32C.
    ///
    /// # Errors
    ///
    /// [`Error::ChecksumMismatch`] if the payload was damaged;
    /// [`Error::InvalidArgument`] if `entry` is not raw or not from this file.
    pub fn read_raw(&self, entry: &TensorEntry) -> Result<&[u8]> {
        let TensorEncoding::Raw { crc32c: expected } = entry.encoding else {
            return Err(Error::invalid_argument(format!(
                "tensor `{}` is {}, not raw",
                entry.name,
                entry.encoding.name()
            )));
        };
        let payload = self.payload(entry)?;
        let found = crc32c::crc32c(payload);
        if found == expected {
            Ok(payload)
        } else {
            let location = ChecksumLocation::RawPayload {
                tensor: entry.name.clone(),
            };
            Err(Error::ChecksumMismatch {
                location,
                expected,
                found,
            })
        }
    }

    /// Checks every checksum of one tensor's payload.
    ///
    /// # Errors
    ///
    /// The first [`Error::ChecksumMismatch`] found.
    pub fn verify_tensor(&self, entry: &TensorEntry) -> Result<()> {
        match &entry.encoding {
            TensorEncoding::Raw { .. } => self.read_raw(entry).map(|_| ()),
            TensorEncoding::Quantized(_) | TensorEncoding::Lossless(_) => {
                (0..entry.chunks().len()).try_for_each(|chunk| self.verify_chunk(entry, chunk))
            }
        }
    }

    /// Checks every payload checksum in the file.
    ///
    /// # Errors
    ///
    /// The first [`Error::ChecksumMismatch`] found.
    pub fn verify_all(&self) -> Result<()> {
        self.tensors
            .iter()
            .try_for_each(|entry| self.verify_tensor(entry))
    }
}

fn slice(bytes: &[u8], offset: u64, len: u64) -> Option<&[u8]> {
    let start = usize::try_from(offset).ok()?;
    let end = start.checked_add(usize::try_from(len).ok()?)?;
    bytes.get(start..end)
}

fn foreign_entry(entry: &TensorEntry) -> Error {
    Error::invalid_argument(format!(
        "tensor entry `{}` does not belong to this file",
        entry.name
    ))
}

fn chunk_info(entry: &TensorEntry, chunk: usize) -> Result<&ChunkEntry> {
    if matches!(entry.encoding, TensorEncoding::Raw { .. }) {
        return Err(Error::invalid_argument(format!(
            "tensor `{}` is raw and has no chunks",
            entry.name
        )));
    }
    entry.chunks().get(chunk).ok_or_else(|| {
        Error::invalid_argument(format!(
            "tensor `{}` has {} chunks, no chunk {chunk}",
            entry.name,
            entry.chunks().len()
        ))
    })
}

/// Checks that the payloads, in record order, tile `[PREAMBLE_LEN, header_offset)`:
/// each starts at the first aligned offset after the previous one ends, and every
/// byte in between is zero. Returns the byte accounting.
fn check_tiling(file: &[u8], tensors: &[TensorEntry], footer: &Footer) -> Result<FileLayout> {
    let mut end = as_u64(PREAMBLE_LEN);
    let mut payload_bytes: u64 = 0;
    let mut padding_bytes: u64 = 0;
    let overflow = |at: u64| Error::format(at, "offsets that fit in 64 bits", "an overflow");
    let mut check_gap = |from: u64, to: u64| -> Result<()> {
        let gap = slice(file, from, to.saturating_sub(from))
            .ok_or_else(|| Error::format(from, "padding inside the file", "the end of the file"))?;
        if let Some(position) = gap.iter().position(|&byte| byte != 0) {
            return Err(Error::format(
                from.saturating_add(as_u64(position)),
                "zero padding",
                format!("byte {:#04x}", gap[position]),
            ));
        }
        padding_bytes = padding_bytes.saturating_add(to.saturating_sub(from));
        Ok(())
    };
    // The header decoder checked each payload's offset (the tiling position)
    // and that it ends before the header; what is left is the padding.
    for entry in tensors {
        check_gap(end, entry.payload_offset)?;
        end = entry
            .payload_offset
            .checked_add(entry.payload_len)
            .ok_or_else(|| overflow(entry.payload_offset))?;
        payload_bytes = payload_bytes.saturating_add(entry.payload_len);
    }
    let header_start = align_up(end).ok_or_else(|| overflow(end))?;
    if header_start != footer.header_offset {
        return Err(Error::format(
            end,
            format!("the header at byte {header_start}, right after the last payload"),
            format!("the header at byte {}", footer.header_offset),
        ));
    }
    check_gap(end, header_start)?;
    let file_len = as_u64(file.len());
    Ok(FileLayout {
        file_len,
        payload_bytes,
        padding_bytes,
        header_offset: footer.header_offset,
        header_len: footer.header_len,
    })
}
