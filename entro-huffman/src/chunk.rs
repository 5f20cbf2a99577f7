//! Chunk layout shared by the encoder and the decoder.
//!
//! A chunk codes a run of at most `chunk_codes` codes on its own. Its symbols are split into
//! [`STREAMS`] consecutive quarters, each written as its own bit stream, so a decoder can run the four
//! dependency chains side by side (as zstd's huff0 does). Layout:
//!
//! ```text
//! [len0: u32 LE][len1: u32 LE][len2: u32 LE][stream 0][stream 1][stream 2][stream 3]
//! ```
//!
//! Stream 3's length is whatever is left. Each stream is little-endian and least significant bit
//! first: a symbol's code is stored bit-reversed so that the decoder indexes its table with the low
//! bits of a 64-bit window. A stream ends with zero bits up to the next byte boundary.

use std::ops::Range;

use crate::Alphabet;

/// Interleaved bit streams per chunk.
pub(crate) const STREAMS: usize = 4;

/// Bytes of the chunk header (the lengths of all streams but the last).
pub(crate) const HEADER_BYTES: usize = 4 * (STREAMS - 1);

/// Where each stream's symbols and codes lie in a chunk of `codes` codes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StreamSplit {
    /// Symbol index range of every stream.
    pub(crate) symbols: [Range<usize>; STREAMS],
    /// Code index range of every stream (the last may end in half a pair).
    pub(crate) codes: [Range<usize>; STREAMS],
}

impl StreamSplit {
    pub(crate) fn new(alphabet: Alphabet, codes: usize) -> Self {
        let symbols = alphabet.symbols_for(codes);
        let quarter = symbols.div_ceil(STREAMS);
        let per_symbol = alphabet.codes_per_symbol();
        let symbol_ranges: [Range<usize>; STREAMS] = std::array::from_fn(|stream| {
            (stream * quarter).min(symbols)..((stream + 1) * quarter).min(symbols)
        });
        let code_ranges = std::array::from_fn(|stream| {
            let range = &symbol_ranges[stream];
            (range.start * per_symbol).min(codes)..(range.end * per_symbol).min(codes)
        });
        Self {
            symbols: symbol_ranges,
            codes: code_ranges,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_cover_everything_in_order() {
        for alphabet in [Alphabet::Bytes, Alphabet::NibblePairs] {
            for codes in 0..40 {
                let split = StreamSplit::new(alphabet, codes);
                assert_eq!(split.codes[0].start, 0);
                assert_eq!(split.codes[STREAMS - 1].end, codes);
                assert_eq!(split.symbols[STREAMS - 1].end, alphabet.symbols_for(codes));
                for pair in split.codes.windows(2) {
                    assert_eq!(pair[0].end, pair[1].start);
                }
            }
        }
        let split = StreamSplit::new(Alphabet::NibblePairs, 9);
        assert_eq!(split.symbols, [0..2, 2..4, 4..5, 5..5]);
        assert_eq!(split.codes, [0..4, 4..8, 8..9, 9..9]);
    }
}
