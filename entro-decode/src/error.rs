//! Errors of this crate, grouped in categories a caller can tell apart ([`ErrorKind`]).

use entro_format::Dtype;

use crate::OutputKind;

/// Everything that can go wrong decoding a `.entro` file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Damaged input: a chunk's bytes do not match the CRC-32C stored for them.
    #[error(
        "chunk {chunk} of tensor `{tensor}` is damaged: stored checksum {expected:#010x}, computed {found:#010x}"
    )]
    ChecksumMismatch {
        /// The tensor's name.
        tensor: String,
        /// The chunk's index within the tensor.
        chunk: usize,
        /// The checksum stored in the file.
        expected: u32,
        /// The checksum of the bytes as they are.
        found: u32,
    },
    /// Damaged input: the payload of a tensor kept exactly does not match its CRC-32C.
    #[error(
        "payload of raw tensor `{tensor}` is damaged: stored checksum {expected:#010x}, computed {found:#010x}"
    )]
    RawChecksumMismatch {
        /// The tensor's name.
        tensor: String,
        /// The checksum stored in the file.
        expected: u32,
        /// The checksum of the bytes as they are.
        found: u32,
    },
    /// Damaged input: a chunk's bit stream is not a valid Huffman stream for the tensor's codebook.
    #[error("chunk {chunk} of tensor `{tensor}` is corrupt at bit {bit_offset}: {source}")]
    Corrupt {
        /// The tensor's name.
        tensor: String,
        /// The chunk's index within the tensor.
        chunk: usize,
        /// Bit offset of the problem, counted from the chunk's first byte.
        bit_offset: u64,
        /// The Huffman decoder's report.
        #[source]
        source: entro_huffman::DecodeError,
    },
    /// Damaged input: a lossless chunk (whose checksum matched, or was not checked) does not decode.
    #[error("chunk {chunk} of lossless tensor `{tensor}` is corrupt: {source}")]
    LosslessCorrupt {
        /// The tensor's name.
        tensor: String,
        /// The chunk's index within the tensor.
        chunk: usize,
        /// The lossless codec's report.
        #[source]
        source: entro_format::lossless::LosslessError,
    },
    /// Damaged input: the codebook codes a symbol that stands for a code above `2^bits - 1`.
    #[error(
        "tensor `{tensor}` has a codebook entry for symbol {symbol}, which does not fit {bits}-bit codes"
    )]
    CodebookOutOfRange {
        /// The tensor's name.
        tensor: String,
        /// The Huffman symbol (a code, or `hi << 4 | lo` for nibble pairs).
        symbol: u8,
        /// The tensor's bit width.
        bits: u8,
    },
    /// Damaged input: the quantization parameters do not describe the tensor's shape.
    #[error("tensor `{tensor}` has unusable quantization parameters: {source}")]
    Params {
        /// The tensor's name.
        tensor: String,
        /// Why the parameters were rejected.
        #[source]
        source: entro_quant::QuantError,
    },
    /// Damaged input: an element of a chunk falls in no quantization block.
    #[error("tensor `{tensor}`: element {element} falls outside every quantization block")]
    BadBlock {
        /// The tensor's name.
        tensor: String,
        /// Index of the element within the tensor.
        element: usize,
    },
    /// Damaged input: the chunk table does not cover the tensor's elements.
    #[error("the chunks of tensor `{tensor}` hold {found} codes, expected {expected}")]
    ChunkCoverage {
        /// The tensor's name.
        tensor: String,
        /// The tensor's element count.
        expected: u64,
        /// Codes the chunk table lists.
        found: u64,
    },
    /// Damaged input: a quantized tensor claims more codes than its payload can hold (a Huffman
    /// symbol takes at least one bit and stands for at most two codes). Checked before any buffer is
    /// allocated, so that a damaged header cannot make the decoder allocate without bound.
    #[error(
        "tensor `{tensor}` claims {elements} codes but its {payload_len}-byte payload holds at most {max}"
    )]
    Implausible {
        /// The tensor's name.
        tensor: String,
        /// The element count the header declares.
        elements: u64,
        /// The payload length in bytes.
        payload_len: u64,
        /// The most codes that many bytes can code.
        max: u64,
    },
    /// Caller misuse: an output buffer's length does not match the tensor.
    #[error("output for tensor `{tensor}` as {kind} has length {found}, expected {expected}")]
    OutputSize {
        /// The tensor's name.
        tensor: String,
        /// What the buffer was to receive.
        kind: OutputKind,
        /// Length the tensor needs (elements for typed buffers, bytes for byte buffers).
        expected: usize,
        /// Length of the buffer given.
        found: usize,
    },
    /// Caller misuse: the tensor cannot be turned into the requested output (for example codes of a
    /// tensor kept exactly or stored losslessly, or an integer tensor as floats).
    #[error("tensor `{tensor}` stored as {encoding} {from} cannot be decoded to {to}")]
    UnsupportedConversion {
        /// The tensor's name.
        tensor: String,
        /// `"raw"`, `"quantized"` or `"lossless"`.
        encoding: &'static str,
        /// The tensor's original element type.
        from: Dtype,
        /// The requested output.
        to: OutputKind,
    },
    /// Caller misuse: a tensor entry that is not one of this file's entries.
    #[error("tensor entry `{tensor}` does not belong to the file being decoded")]
    ForeignTensor {
        /// The entry's name.
        tensor: String,
    },
    /// Limit exceeded: the tensor's decoded size does not fit this machine's address space.
    #[error("tensor `{tensor}` with {elements} elements is too large to decode on this machine")]
    TooLarge {
        /// The tensor's name.
        tensor: String,
        /// Its element count.
        elements: u64,
    },
    /// Resource error: the decoding thread pool could not be built.
    #[error("could not start a pool of {threads} decoding threads: {source}")]
    ThreadPool {
        /// The requested thread count.
        threads: usize,
        /// Rayon's report.
        #[source]
        source: rayon::ThreadPoolBuildError,
    },
    /// Resource error: the layer iterator's prefetch thread could not be started.
    #[error("could not start the prefetch thread: {source}")]
    Spawn {
        /// The operating system's report.
        #[source]
        source: std::io::Error,
    },
    /// An error of the container layer (reading the file, a malformed entry).
    #[error(transparent)]
    Format(#[from] entro_format::Error),
}

/// The category of an [`Error`], for callers that map errors to exit codes or retries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The file's bytes are damaged or malformed.
    Corrupt,
    /// The caller asked for something impossible (buffer sizes, conversions, foreign entries).
    InvalidArgument,
    /// A size is beyond what this machine or a named limit allows.
    LimitExceeded,
    /// Threads or files could not be obtained from the operating system.
    Resource,
    /// The file uses a version or encoding this reader does not support.
    Unsupported,
}

impl Error {
    /// The category this error belongs to.
    #[must_use]
    pub fn kind(&self) -> ErrorKind {
        use entro_format::ErrorKind as F;
        match self {
            Self::ChecksumMismatch { .. }
            | Self::RawChecksumMismatch { .. }
            | Self::Corrupt { .. }
            | Self::LosslessCorrupt { .. }
            | Self::CodebookOutOfRange { .. }
            | Self::Params { .. }
            | Self::BadBlock { .. }
            | Self::ChunkCoverage { .. }
            | Self::Implausible { .. } => ErrorKind::Corrupt,
            Self::OutputSize { .. }
            | Self::UnsupportedConversion { .. }
            | Self::ForeignTensor { .. } => ErrorKind::InvalidArgument,
            Self::TooLarge { .. } => ErrorKind::LimitExceeded,
            Self::ThreadPool { .. } | Self::Spawn { .. } => ErrorKind::Resource,
            Self::Format(inner) => match inner.kind() {
                F::Io => ErrorKind::Resource,
                F::Format | F::Checksum => ErrorKind::Corrupt,
                F::Unsupported => ErrorKind::Unsupported,
                F::LimitExceeded => ErrorKind::LimitExceeded,
                F::InvalidArgument => ErrorKind::InvalidArgument,
            },
        }
    }

    /// The tensor the error is about, if it is about one.
    #[must_use]
    pub fn tensor(&self) -> Option<&str> {
        match self {
            Self::ChecksumMismatch { tensor, .. }
            | Self::RawChecksumMismatch { tensor, .. }
            | Self::Corrupt { tensor, .. }
            | Self::LosslessCorrupt { tensor, .. }
            | Self::CodebookOutOfRange { tensor, .. }
            | Self::Params { tensor, .. }
            | Self::BadBlock { tensor, .. }
            | Self::ChunkCoverage { tensor, .. }
            | Self::Implausible { tensor, .. }
            | Self::OutputSize { tensor, .. }
            | Self::UnsupportedConversion { tensor, .. }
            | Self::ForeignTensor { tensor }
            | Self::TooLarge { tensor, .. } => Some(tensor),
            Self::ThreadPool { .. } | Self::Spawn { .. } | Self::Format(_) => None,
        }
    }

    /// Wraps a Huffman decoding error of chunk `chunk` of `tensor`.
    pub(crate) fn corrupt(tensor: &str, chunk: usize, source: entro_huffman::DecodeError) -> Self {
        use entro_huffman::DecodeError as D;
        let bit_offset = match &source {
            D::HeaderTruncated { bit_offset, .. }
            | D::StreamLengthMismatch { bit_offset, .. }
            | D::StreamOverrun { bit_offset, .. }
            | D::TrailingData { bit_offset, .. }
            | D::EmptyCodebook { bit_offset, .. }
            | D::BadChunkIndex { bit_offset, .. } => *bit_offset,
            _ => 0,
        };
        Self::Corrupt {
            tensor: tensor.to_owned(),
            chunk,
            bit_offset,
            source,
        }
    }
}

/// Shorthand for results of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
