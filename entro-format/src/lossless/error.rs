//! Errors of the lossless codec, in the categories a caller can tell apart.

use entro_huffman::{CodebookError, DecodeError, EncodeError};

use super::{ChunkPlane, FloatLayout};

/// The category of a [`LosslessError`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LosslessErrorKind {
    /// The chunk bytes are corrupt or were not written by this codec.
    Format,
    /// The caller passed lengths that cannot be right, whatever the chunk holds.
    Parameter,
    /// A count is above one of the codec's `MAX_*` bounds.
    Limit,
}

/// Why a chunk could not be encoded or decoded. Offsets count bytes from the start of the chunk.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LosslessError {
    /// Parameter error: the byte length is not a whole number of elements.
    #[error("{len} bytes is not a whole number of {element_bytes}-byte elements")]
    RaggedLength {
        /// The length given, in bytes.
        len: usize,
        /// Bytes per element of the layout.
        element_bytes: usize,
    },
    /// Parameter error: a chunk must hold at least one element.
    #[error("a chunk must hold at least one element")]
    EmptyChunk,
    /// Limit exceeded: more elements than [`super::MAX_CHUNK_ELEMENTS`] in one chunk.
    #[error("{elements} elements in one chunk, over the limit of {max}")]
    TooManyElements {
        /// The element count asked for.
        elements: usize,
        /// The limit.
        max: usize,
    },
    /// Format error: the chunk ends before a field it needs.
    #[error("chunk truncated at byte {offset}: needs {needed} more bytes, {found} left")]
    Truncated {
        /// Where the field starts.
        offset: usize,
        /// Bytes the field needs.
        needed: usize,
        /// Bytes left in the chunk.
        found: usize,
    },
    /// Format error: the chunk kind byte is unknown (not a lossless chunk, or a later version).
    #[error("unknown lossless chunk kind {found} at byte {offset}")]
    UnknownChunkKind {
        /// Where the byte is.
        offset: usize,
        /// The byte read.
        found: u8,
    },
    /// Format error: the chunk was written for another element layout.
    #[error("chunk at byte {offset} codes layout tag {found}, expected {expected:?}")]
    LayoutMismatch {
        /// Where the tag is.
        offset: usize,
        /// The layout the caller asked for.
        expected: FloatLayout,
        /// The tag read.
        found: u8,
    },
    /// Format error: the chunk holds another element count than the output has room for.
    #[error("chunk at byte {offset} holds {found} elements, the output has room for {expected}")]
    ElementCountMismatch {
        /// Where the count is.
        offset: usize,
        /// Elements the output holds.
        expected: usize,
        /// Elements the chunk declares.
        found: u64,
    },
    /// Format error: a plane's coding mode byte is unknown.
    #[error("{plane} at byte {offset} has unknown mode {found}")]
    UnknownPlaneMode {
        /// Where the mode byte is.
        offset: usize,
        /// Which plane.
        plane: ChunkPlane,
        /// The byte read.
        found: u8,
    },
    /// Format error: a field holds a value the format does not allow.
    #[error("invalid {what} at byte {offset}: found {found}, expected {expected}")]
    InvalidField {
        /// Where the field is.
        offset: usize,
        /// Which field.
        what: &'static str,
        /// What the format allows.
        expected: String,
        /// The value read.
        found: u64,
    },
    /// Format error: a plane's Huffman codebook is corrupt.
    #[error("{plane}: corrupt codebook at byte {offset}: {source}")]
    Codebook {
        /// Where the codebook starts.
        offset: usize,
        /// Which plane.
        plane: ChunkPlane,
        /// What entro-huffman found wrong.
        #[source]
        source: CodebookError,
    },
    /// Format error: a plane's Huffman stream is corrupt.
    #[error("{plane}: corrupt huffman stream at byte {offset}: {source}")]
    Stream {
        /// Where the stream starts.
        offset: usize,
        /// Which plane.
        plane: ChunkPlane,
        /// What entro-huffman found wrong (its bit offsets count from the stream's start).
        #[source]
        source: DecodeError,
    },
    /// Format error: bytes are left after the last plane.
    #[error("{found} unused bytes at the end of the chunk, from byte {offset}")]
    TrailingBytes {
        /// Where the unused bytes start.
        offset: usize,
        /// How many there are.
        found: usize,
    },
    /// Encoding failed inside entro-huffman; this is a bug in this codec, never caused by the input.
    #[error("{plane}: huffman encoding failed: {source}")]
    Encode {
        /// Which plane.
        plane: ChunkPlane,
        /// What entro-huffman reported.
        #[source]
        source: EncodeError,
    },
}

impl LosslessError {
    /// Which category the error belongs to.
    #[must_use]
    pub fn kind(&self) -> LosslessErrorKind {
        match self {
            Self::RaggedLength { .. } | Self::EmptyChunk | Self::Encode { .. } => {
                LosslessErrorKind::Parameter
            }
            Self::TooManyElements { .. } => LosslessErrorKind::Limit,
            Self::Truncated { .. }
            | Self::UnknownChunkKind { .. }
            | Self::LayoutMismatch { .. }
            | Self::ElementCountMismatch { .. }
            | Self::UnknownPlaneMode { .. }
            | Self::InvalidField { .. }
            | Self::Codebook { .. }
            | Self::Stream { .. }
            | Self::TrailingBytes { .. } => LosslessErrorKind::Format,
        }
    }
}
