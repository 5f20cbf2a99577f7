//! Error types, one enum per stage so callers can tell bad input from misuse.

use thiserror::Error;

/// Why a codebook could not be built from symbols or a histogram.
///
/// Every variant is a parameter error: the caller asked for something impossible.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum BuildError {
    /// The requested maximum code length is outside `1..=MAX_CODE_LENGTH`.
    #[error("maximum code length {max_len} is outside 1..={limit}")]
    MaxLengthOutOfRange {
        /// The requested maximum length.
        max_len: u8,
        /// The hard limit, [`crate::MAX_CODE_LENGTH`].
        limit: u8,
    },
    /// `2^max_len` is smaller than the number of distinct symbols, so no prefix code fits.
    #[error("maximum code length {max_len} cannot code {symbols} distinct symbols")]
    MaxLengthTooSmall {
        /// The requested maximum length.
        max_len: u8,
        /// How many distinct symbols occur.
        symbols: usize,
    },
    /// A code is too large for the alphabet (only codes below 16 can be paired).
    #[error("code {code} at index {index} does not fit the nibble-pair alphabet (must be < 16)")]
    CodeOutOfRange {
        /// Position of the code in the input.
        index: usize,
        /// The offending code.
        code: u8,
    },
}

/// Why serialized codebook bytes (or a set of code lengths) were rejected.
///
/// All variants describe bad input; none of them can be caused by a codebook this crate wrote.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum CodebookError {
    /// The input ended before the codebook did.
    #[error("codebook truncated: needs {needed} bytes, found {found}")]
    Truncated {
        /// Bytes needed to read the next field.
        needed: usize,
        /// Bytes available.
        found: usize,
    },
    /// The header names an alphabet this version does not know.
    #[error("unknown alphabet tag {tag}")]
    UnknownAlphabet {
        /// The tag read.
        tag: u8,
    },
    /// The header names a length encoding this version does not know.
    #[error("unknown codebook layout tag {tag}")]
    UnknownLayout {
        /// The tag read.
        tag: u8,
    },
    /// A code length exceeds [`crate::MAX_CODE_LENGTH`].
    #[error("symbol {symbol} has code length {length}, over the limit {limit}")]
    LengthOverLimit {
        /// The symbol.
        symbol: u8,
        /// Its length.
        length: u8,
        /// The limit.
        limit: u8,
    },
    /// The code lengths claim more code space than exists (Kraft sum above 1): not a prefix code.
    #[error(
        "code lengths are over-subscribed: they use {used} of {available} code slots (kraft sum > 1)"
    )]
    OverSubscribed {
        /// Code space used, in units of `2^-MAX_CODE_LENGTH`.
        used: u64,
        /// Code space available, `2^MAX_CODE_LENGTH`.
        available: u64,
    },
    /// The code lengths leave code space unused (Kraft sum below 1); canonical codebooks here are complete.
    #[error(
        "code lengths are incomplete: they use {used} of {available} code slots (kraft sum < 1)"
    )]
    Incomplete {
        /// Code space used, in units of `2^-MAX_CODE_LENGTH`.
        used: u64,
        /// Code space available, `2^MAX_CODE_LENGTH`.
        available: u64,
    },
    /// A sparse codebook lists symbols out of strictly increasing order (or twice).
    #[error("sparse codebook entry {index} lists symbol {symbol} after symbol {previous}")]
    UnorderedSymbol {
        /// Position of the entry in the list.
        index: usize,
        /// The symbol listed.
        symbol: u8,
        /// The symbol listed before it.
        previous: u8,
    },
    /// A sparse codebook lists a symbol with length zero (unused symbols are simply left out).
    #[error("sparse codebook entry {index} gives symbol {symbol} length zero")]
    ZeroLengthListed {
        /// Position of the entry in the list.
        index: usize,
        /// The symbol listed.
        symbol: u8,
    },
}

/// Why a stream of codes could not be encoded.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum EncodeError {
    /// Parameter error: `chunk_codes` is zero or above [`crate::MAX_CHUNK_CODES`].
    #[error("chunk size {chunk_codes} codes is outside 1..={max}")]
    ChunkCodesOutOfRange {
        /// The requested codes per chunk.
        chunk_codes: usize,
        /// The largest allowed value.
        max: usize,
    },
    /// Parameter error: nibble pairs never straddle chunks, so chunks must hold an even number of codes.
    #[error(
        "chunk size {chunk_codes} codes is odd; the nibble-pair alphabet needs an even chunk size"
    )]
    OddChunkForPairs {
        /// The requested codes per chunk.
        chunk_codes: usize,
    },
    /// A code is too large for the alphabet (only codes below 16 can be paired).
    #[error("code {code} at index {index} does not fit the nibble-pair alphabet (must be < 16)")]
    CodeOutOfRange {
        /// Position of the code in the input.
        index: usize,
        /// The offending code.
        code: u8,
    },
    /// The codebook has no code for a symbol that occurs (it was built from other data).
    #[error("symbol {symbol} (from the code at index {index}) has no code in the codebook")]
    MissingSymbol {
        /// Position of the (first) code forming the symbol.
        index: usize,
        /// The Huffman symbol (a code, or `hi << 4 | lo` for nibble pairs).
        symbol: u8,
    },
    /// Limit exceeded: a chunk's coded size or the code count does not fit the 32-bit fields.
    #[error("chunk {chunk} is too large for the chunk index ({bytes} bytes)")]
    ChunkTooLarge {
        /// Index of the chunk.
        chunk: usize,
        /// Its size in bytes.
        bytes: usize,
    },
}

/// Why a chunk could not be decoded. Every variant names the chunk and a bit offset
/// counted from the first byte of that chunk.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The chunk is shorter than its fixed header.
    #[error(
        "chunk {chunk}: header truncated at bit {bit_offset} (needs {needed} bytes, found {found})"
    )]
    HeaderTruncated {
        /// Index of the chunk.
        chunk: usize,
        /// Where the data ended.
        bit_offset: u64,
        /// Header size in bytes.
        needed: usize,
        /// Bytes available.
        found: usize,
    },
    /// The stream lengths in the header do not add up to the chunk's size.
    #[error(
        "chunk {chunk}: header declares {declared} bytes of streams but {available} follow the header (bit {bit_offset})"
    )]
    StreamLengthMismatch {
        /// Index of the chunk.
        chunk: usize,
        /// Where the streams start.
        bit_offset: u64,
        /// Total stream bytes the header declares.
        declared: u64,
        /// Bytes that follow the header.
        available: u64,
    },
    /// Decoding the expected number of codes needed bits past the end of a stream.
    #[error("chunk {chunk}: stream {stream} overrun, ran past its end at bit {bit_offset}")]
    StreamOverrun {
        /// Index of the chunk.
        chunk: usize,
        /// Which of the interleaved streams.
        stream: usize,
        /// The end of that stream.
        bit_offset: u64,
    },
    /// After the expected number of codes a stream has a whole unused byte or non-zero padding.
    #[error(
        "chunk {chunk}: stream {stream} has trailing data after its last code at bit {bit_offset}"
    )]
    TrailingData {
        /// Index of the chunk.
        chunk: usize,
        /// Which of the interleaved streams.
        stream: usize,
        /// Where the last code ended.
        bit_offset: u64,
    },
    /// The codebook has no symbols but the chunk should hold codes.
    #[error("chunk {chunk}: {codes} codes expected but the codebook is empty (bit {bit_offset})")]
    EmptyCodebook {
        /// Index of the chunk.
        chunk: usize,
        /// Where the streams start.
        bit_offset: u64,
        /// Codes the caller asked for.
        codes: usize,
    },
    /// Chunk index entries point outside the data or disagree with the output length.
    #[error("chunk {chunk}: index entry out of range (bit {bit_offset}): {reason}")]
    BadChunkIndex {
        /// Index of the chunk.
        chunk: usize,
        /// The entry's offset in bits from the start of the data.
        bit_offset: u64,
        /// What is wrong.
        reason: &'static str,
    },
}
