//! Streaming `.entro` writer: payloads go to disk one tensor at a time, the
//! header and footer at the end, and the file appears only when complete.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use crate::atomic::AtomicFile;
use crate::bytes::Cursor;
use crate::dtype::Dtype;
use crate::entry::{TensorEncoding, TensorEntry};
use crate::error::{Error, Result, as_u64, check_limit};
use crate::header::{decode_record, encode_header, encode_record};
use crate::layout::{FOOTER_LEN, Footer, PREAMBLE_LEN, align_up, preamble};
use crate::limits::{MAX_ELEMENTS, MAX_HEADER_LEN, MAX_TENSORS};
use crate::lossless_tensor::{EncodedLossless, encode_lossless};
use crate::metadata::FileMetadata;
use crate::quantized::EncodedTensor;
use crate::reader::FileLayout;

/// Zeros for alignment padding (never more than `ALIGNMENT - 1` are needed).
const ZEROS: [u8; 64] = [0; 64];

/// Writes a `.entro` file tensor by tensor.
///
/// Only the header records (a few dozen bytes per tensor plus codebooks and
/// chunk tables) stay in memory; payloads are written as they are added. The
/// data goes to a temporary file beside the target, which [`EntroWriter::finish`]
/// renames into place; dropping the writer unfinished (or any error) leaves no
/// file behind.
#[derive(Debug)]
pub struct EntroWriter {
    file: AtomicFile,
    metadata: FileMetadata,
    position: u64,
    records: Vec<u8>,
    names: HashSet<String>,
    payload_bytes: u64,
    padding_bytes: u64,
    broken: bool,
}

/// What [`EntroWriter::finish`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteSummary {
    /// The file written.
    pub path: PathBuf,
    /// Number of tensors.
    pub tensors: usize,
    /// Sizes of the file's parts.
    pub layout: FileLayout,
}

impl EntroWriter {
    /// Starts writing a `.entro` file that will appear at `path` (replacing
    /// any file there) when [`EntroWriter::finish`] succeeds.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] if the temporary file cannot be created;
    /// [`Error::LimitExceeded`] if the metadata is over a limit.
    pub fn create(path: impl AsRef<Path>, metadata: FileMetadata) -> Result<Self> {
        // Encode once now so that oversized metadata fails before any work is done.
        metadata.encode(&mut Vec::new())?;
        let mut file = AtomicFile::create(path.as_ref())?;
        file.write_all(&preamble())?;
        Ok(Self {
            file,
            metadata,
            position: as_u64(PREAMBLE_LEN),
            records: Vec::new(),
            names: HashSet::new(),
            payload_bytes: 0,
            padding_bytes: 0,
            broken: false,
        })
    }

    /// Number of tensors added so far.
    #[must_use]
    pub fn tensor_count(&self) -> usize {
        self.names.len()
    }

    /// Adds a tensor kept exactly: `bytes` are its little-endian elements in `dtype`.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] for a repeated name or a byte length that does
    /// not match `shape` and `dtype`; [`Error::LimitExceeded`]; [`Error::Io`].
    pub fn add_raw(
        &mut self,
        name: &str,
        shape: &[usize],
        dtype: Dtype,
        bytes: &[u8],
    ) -> Result<()> {
        let elements = element_count(shape)?;
        let expected = dtype.byte_len(elements);
        if expected != Some(as_u64(bytes.len())) {
            return Err(Error::invalid_argument(format!(
                "tensor `{name}`: {} bytes given, but {elements} elements of {dtype} take {}",
                bytes.len(),
                expected.map_or_else(|| "a partial byte".to_owned(), |n| n.to_string())
            )));
        }
        let encoding = TensorEncoding::Raw {
            crc32c: crc32c::crc32c(bytes),
        };
        self.add(name, shape, dtype, elements, encoding, bytes)
    }

    /// Adds a quantized, Huffman-coded tensor (see [`crate::encode_quantized`]).
    ///
    /// `dtype` is the element type of the original tensor, which decoding restores.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] for a repeated name or an encoded tensor that
    /// does not match `shape` and `dtype` (quantization blocks, chunk code
    /// counts, payload length, codebook); [`Error::LimitExceeded`]; [`Error::Io`].
    pub fn add_quantized(
        &mut self,
        name: &str,
        shape: &[usize],
        dtype: Dtype,
        tensor: &EncodedTensor,
    ) -> Result<()> {
        let elements = element_count(shape)?;
        if as_u64(tensor.stats().elements) != elements {
            return Err(Error::invalid_argument(format!(
                "tensor `{name}`: statistics cover {} elements, the shape has {elements}",
                tensor.stats().elements
            )));
        }
        let encoding = TensorEncoding::Quantized(Box::new(tensor.to_entry()?));
        self.add(name, shape, dtype, elements, encoding, tensor.payload())
    }

    /// Codes a float tensor losslessly in chunks of `chunk_elements` elements
    /// (see [`crate::encode_lossless`]; [`crate::lossless::DEFAULT_CHUNK_ELEMENTS`]
    /// when there is no reason to choose) and adds it. `bytes` are its
    /// little-endian elements in `dtype`, which must be F32, F16 or BF16;
    /// decoding gives them back bit for bit.
    ///
    /// The chunks are coded one after the other on the calling thread; to code
    /// them in parallel, code pieces with [`crate::encode_lossless`], join them
    /// with [`EncodedLossless::concat`] and call [`EntroWriter::add_lossless_encoded`].
    ///
    /// # Errors
    ///
    /// The errors of [`crate::encode_lossless`] and [`EntroWriter::add_lossless_encoded`].
    pub fn add_lossless(
        &mut self,
        name: &str,
        shape: &[usize],
        dtype: Dtype,
        bytes: &[u8],
        chunk_elements: usize,
    ) -> Result<()> {
        let elements = element_count(shape)?;
        if dtype.byte_len(elements) != Some(as_u64(bytes.len())) {
            return Err(Error::invalid_argument(format!(
                "tensor `{name}`: {} bytes given, but {elements} elements of {dtype} take {}",
                bytes.len(),
                dtype.byte_len(elements).unwrap_or(u64::MAX)
            )));
        }
        let encoded = encode_lossless(name, dtype, bytes, chunk_elements)?;
        self.add_lossless_encoded(name, shape, dtype, &encoded)
    }

    /// Adds a tensor coded by [`crate::encode_lossless`] (or joined by
    /// [`EncodedLossless::concat`]); `dtype` is its element type.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] for a repeated name, or an encoded tensor
    /// whose layout does not match `dtype` or whose element count does not
    /// match `shape`; [`Error::LimitExceeded`]; [`Error::Io`].
    pub fn add_lossless_encoded(
        &mut self,
        name: &str,
        shape: &[usize],
        dtype: Dtype,
        tensor: &EncodedLossless,
    ) -> Result<()> {
        let elements = element_count(shape)?;
        if dtype.float_layout() != Some(tensor.layout()) || tensor.elements() != elements {
            return Err(Error::invalid_argument(format!(
                "tensor `{name}`: {} {:?} elements coded, but the tensor has {elements} of {dtype}",
                tensor.elements(),
                tensor.layout()
            )));
        }
        let encoding = TensorEncoding::Lossless(Box::new(tensor.entry().clone()));
        self.add(name, shape, dtype, elements, encoding, tensor.payload())
    }

    fn add(
        &mut self,
        name: &str,
        shape: &[usize],
        dtype: Dtype,
        elements: u64,
        encoding: TensorEncoding,
        payload: &[u8],
    ) -> Result<()> {
        if self.broken {
            return Err(Error::invalid_argument(
                "the writer failed earlier and cannot continue",
            ));
        }
        if self.names.contains(name) {
            return Err(Error::invalid_argument(format!(
                "tensor `{name}` was already added"
            )));
        }
        check_limit(
            "tensor count",
            as_u64(self.names.len()).saturating_add(1),
            as_u64(MAX_TENSORS),
        )?;
        let payload_offset = align_up(self.position)
            .ok_or_else(|| Error::invalid_argument("the file would exceed 2^64 bytes"))?;
        let entry = TensorEntry {
            name: name.to_owned(),
            dtype,
            shape: shape.to_vec(),
            elements,
            payload_offset,
            payload_len: as_u64(payload.len()),
            encoding,
        };
        let mut record = Vec::new();
        encode_record(&entry, &mut record)?;
        // Read the record back with the reader's own checks, so the writer can
        // never produce a file the reader rejects.
        decode_record(&mut Cursor::new(&record, 0), payload_offset, u64::MAX).map_err(|err| {
            match err {
                Error::LimitExceeded { .. } => err,
                other => {
                    Error::invalid_argument(format!("tensor `{name}` is inconsistent: {other}"))
                }
            }
        })?;
        check_limit(
            "header length",
            as_u64(self.records.len()).saturating_add(as_u64(record.len())),
            MAX_HEADER_LEN,
        )?;
        // An i/o error from here on leaves the file in an unknown state.
        self.broken = true;
        self.pad_to(payload_offset)?;
        self.file.write_all(payload)?;
        self.position = payload_offset.saturating_add(entry.payload_len);
        self.payload_bytes = self.payload_bytes.saturating_add(entry.payload_len);
        self.records.extend_from_slice(&record);
        self.names.insert(entry.name);
        self.broken = false;
        Ok(())
    }

    fn pad_to(&mut self, offset: u64) -> Result<()> {
        let gap = offset.saturating_sub(self.position);
        let gap = usize::try_from(gap).unwrap_or(ZEROS.len()).min(ZEROS.len());
        self.file.write_all(&ZEROS[..gap])?;
        self.padding_bytes = self.padding_bytes.saturating_add(as_u64(gap));
        self.position = offset;
        Ok(())
    }

    /// Writes the header and footer, syncs, and renames the file into place.
    ///
    /// # Errors
    ///
    /// [`Error::Io`], or [`Error::LimitExceeded`] if the header is too long;
    /// the temporary file is removed in either case.
    pub fn finish(mut self) -> Result<WriteSummary> {
        if self.broken {
            return Err(Error::invalid_argument(
                "the writer failed earlier and cannot finish",
            ));
        }
        let header = encode_header(&self.metadata, self.names.len(), &self.records)?;
        let header_len = as_u64(header.len());
        check_limit("header length", header_len, MAX_HEADER_LEN)?;
        let header_offset = align_up(self.position)
            .ok_or_else(|| Error::invalid_argument("the file would exceed 2^64 bytes"))?;
        self.pad_to(header_offset)?;
        self.file.write_all(&header)?;
        let footer = Footer {
            header_offset,
            header_len,
            header_crc32c: crc32c::crc32c(&header),
        };
        self.file.write_all(&footer.to_bytes())?;
        let layout = FileLayout {
            file_len: header_offset
                .saturating_add(header_len)
                .saturating_add(as_u64(FOOTER_LEN)),
            payload_bytes: self.payload_bytes,
            padding_bytes: self.padding_bytes,
            header_offset,
            header_len,
        };
        let path = self.file.final_path().to_path_buf();
        let tensors = self.names.len();
        self.file.persist()?;
        Ok(WriteSummary {
            path,
            tensors,
            layout,
        })
    }
}

/// The product of `shape`, checked against [`MAX_ELEMENTS`].
fn element_count(shape: &[usize]) -> Result<u64> {
    shape.iter().try_fold(1u64, |count, &dim| {
        let count = count
            .checked_mul(as_u64(dim))
            .ok_or_else(|| Error::limit("tensor elements", MAX_ELEMENTS, u64::MAX))?;
        check_limit("tensor elements", count, MAX_ELEMENTS)?;
        Ok(count)
    })
}
