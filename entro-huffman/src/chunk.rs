//! Chunk layout shared by the encoder and the decoder.
//!
//! A chunk codes a run of at most `chunk_codes` codes on its own. Its symbols are split into
//! consecutive runs of (almost) equal length, each written as its own bit stream, so that a decoder
//! can run several dependency chains side by side (as zstd's huff0 does with four). Two layouts:
//!
//! - **narrow**, four streams: `[len0: u32 LE][len1][len2][stream 0][stream 1][stream 2][stream 3]`;
//! - **wide**, [`WIDE_STREAMS`] streams: `[stream 0]..[stream 63][len0: u16 LE]..[len62]`. A
//!   vector decoder runs all 64 at once, sixteen per register (see `decode/wide_kernel.rs`). The
//!   lengths trail the streams so that every stream, the last one too, is followed by at least
//!   126 bytes of the chunk: the vector loop may read a few bytes past a stream's end, and so it
//!   runs to the end of every stream instead of stopping short of the chunk's end. The streams
//!   interleave in rows ([`WideSplit`]): stream `k` holds codes `16 k .. 16 k + 16` of every row of
//!   1024 codes, so the vector loop writes its output front to back, as a single-stream decoder
//!   would, instead of to 64 places at once (which cost a quarter of its speed in cache misses).
//!
//! The last stream's length is whatever is left. In a narrow chunk each stream holds a
//! consecutive run of the symbols. The layout follows from things the decoder
//! already knows (the codebook and the chunk's code count), see [`Layout::of`]: wide where the
//! vector decoder can take the chunk, namely byte symbols whose codes all fit its 12-bit table,
//! with enough codes per stream to pay for the longer header, and few enough that every stream
//! length fits 16 bits. Each stream is little-endian and least significant bit first: a symbol's
//! code is stored bit-reversed so that the decoder indexes its table with the low bits of its
//! window. A stream ends with zero bits up to the next byte boundary.

use std::ops::Range;

use crate::{Alphabet, Codebook};

/// Streams of a narrow chunk.
pub(crate) const NARROW_STREAMS: usize = 4;

/// Streams of a wide chunk: four vector registers of sixteen 32-bit lanes.
pub(crate) const WIDE_STREAMS: usize = 64;

/// Longest code a wide chunk may use: two codes per 32-bit window reload (25 valid bits).
pub(crate) const WIDE_MAX_CODE_LENGTH: u8 = crate::FAST_CODE_LENGTH;

/// Fewest codes a wide chunk holds: 64 per stream (four vector blocks). The wide header is 114
/// bytes longer than the narrow one: about 4 % of the smallest wide chunk of 8-bit weights and
/// 0.25 % of a default one (64 Ki codes). The last, partial chunk of a tensor is usually smaller
/// than the others; laid out wide, it too decodes in the vector loop, without the scalar tables.
pub(crate) const WIDE_MIN_CODES: usize = WIDE_STREAMS * 64;

/// Most codes a wide chunk holds: a stream then has at most 32 Ki codes of at most 12 bits,
/// 48 KiB, so its length fits the header's 16 bits.
pub(crate) const WIDE_MAX_CODES: usize = 1 << 21;

const _: () = assert!(
    (WIDE_MAX_CODES / WIDE_STREAMS) * WIDE_MAX_CODE_LENGTH as usize / 8 < u16::MAX as usize,
    "wide stream lengths must fit u16"
);

/// Most bytes a chunk of `codes` codes coded with `codebook` takes beyond its codes' bits: its
/// stream lengths plus the padding of its streams to whole bytes (at most one byte per stream
/// beyond the total bits rounded up to bytes).
pub fn chunk_overhead_bytes(codebook: &Codebook, codes: usize) -> usize {
    let layout = Layout::of(codebook, codes);
    layout.header_bytes() + layout.streams()
}

/// How a chunk's codes are laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Layout {
    /// Four streams, `u32` lengths.
    Narrow,
    /// [`WIDE_STREAMS`] streams, `u16` lengths.
    Wide,
}

impl Layout {
    /// The layout of a chunk of `codes` codes coded with `codebook`.
    pub(crate) fn of(codebook: &Codebook, codes: usize) -> Self {
        Self::for_code(codebook.alphabet(), codebook.max_length(), codes)
    }

    /// [`Layout::of`] from the codebook's alphabet and longest code length.
    pub(crate) fn for_code(alphabet: Alphabet, max_len: u8, codes: usize) -> Self {
        let wide = alphabet == Alphabet::Bytes
            && (1..=WIDE_MAX_CODE_LENGTH).contains(&max_len)
            && (WIDE_MIN_CODES..=WIDE_MAX_CODES).contains(&codes);
        if wide { Self::Wide } else { Self::Narrow }
    }

    /// Streams in the chunk.
    pub(crate) fn streams(self) -> usize {
        match self {
            Self::Narrow => NARROW_STREAMS,
            Self::Wide => WIDE_STREAMS,
        }
    }

    /// Bytes of one stream length in the header.
    pub(crate) fn length_bytes(self) -> usize {
        match self {
            Self::Narrow => 4,
            Self::Wide => 2,
        }
    }

    /// Bytes of the chunk header (the lengths of all streams but the last).
    pub(crate) fn header_bytes(self) -> usize {
        self.length_bytes() * (self.streams() - 1)
    }
}

/// Where each stream's symbols and codes lie in a chunk of `codes` codes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StreamSplit {
    /// Symbol index range of every stream.
    pub(crate) symbols: Vec<Range<usize>>,
    /// Code index range of every stream (the last may end in half a pair).
    pub(crate) codes: Vec<Range<usize>>,
}

impl StreamSplit {
    pub(crate) fn new(alphabet: Alphabet, codes: usize, streams: usize) -> Self {
        let symbols = alphabet.symbols_for(codes);
        let share = symbols.div_ceil(streams);
        let per_symbol = alphabet.codes_per_symbol();
        let symbol_ranges: Vec<Range<usize>> = (0..streams)
            .map(|stream| (stream * share).min(symbols)..((stream + 1) * share).min(symbols))
            .collect();
        let code_ranges = symbol_ranges
            .iter()
            .map(|range| (range.start * per_symbol).min(codes)..(range.end * per_symbol).min(codes))
            .collect();
        Self {
            symbols: symbol_ranges,
            codes: code_ranges,
        }
    }
}

/// Codes of one stream in each row of a wide chunk.
pub(crate) const PIECE: usize = 16;

/// Codes of a full row of a wide chunk: a piece of every stream.
pub(crate) const ROW: usize = PIECE * WIDE_STREAMS;

/// Which codes of a wide chunk each stream holds. The chunk's codes form rows of [`ROW`] codes,
/// and stream `k` holds codes `16 k .. 16 k + 16` of every full row, so that a decoder that runs
/// all streams at once writes its output front to back, a row at a time. The codes after the
/// last full row are split into 64 consecutive runs, one per stream, as in a narrow chunk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct WideSplit {
    /// Full rows.
    pub(crate) rows: usize,
    /// Where each stream's run of the last, partial row lies in the chunk.
    pub(crate) tails: Vec<Range<usize>>,
}

impl WideSplit {
    pub(crate) fn new(codes: usize) -> Self {
        let rows = codes / ROW;
        let rest = StreamSplit::new(Alphabet::Bytes, codes - rows * ROW, WIDE_STREAMS);
        let base = rows * ROW;
        let tails = rest
            .codes
            .iter()
            .map(|range| base + range.start..base + range.end)
            .collect();
        Self { rows, tails }
    }

    /// Codes stream `stream` holds.
    pub(crate) fn stream_len(&self, stream: usize) -> usize {
        self.rows * PIECE + self.tails.get(stream).map_or(0, ExactSizeIterator::len)
    }

    /// The runs of chunk positions that stream `stream` holds, in its order, from its `from`-th
    /// code on.
    pub(crate) fn runs(&self, stream: usize, from: usize) -> impl Iterator<Item = Range<usize>> {
        let pieces = (0..self.rows).map(move |row| {
            let start = row * ROW + stream * PIECE;
            start..start + PIECE
        });
        let tail = self.tails.get(stream).cloned().into_iter();
        let mut skip = from;
        pieces.chain(tail).filter_map(move |range| {
            let len = range.len();
            if skip >= len {
                skip -= len;
                return None;
            }
            let run = range.start + skip..range.end;
            skip = 0;
            Some(run)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_cover_everything_in_order() {
        for alphabet in [Alphabet::Bytes, Alphabet::NibblePairs] {
            for streams in [NARROW_STREAMS, WIDE_STREAMS] {
                for codes in 0..200 {
                    let split = StreamSplit::new(alphabet, codes, streams);
                    assert_eq!(split.codes.len(), streams);
                    assert_eq!(split.codes[0].start, 0);
                    assert_eq!(split.codes[streams - 1].end, codes);
                    assert_eq!(split.symbols[streams - 1].end, alphabet.symbols_for(codes));
                    for pair in split.codes.windows(2) {
                        assert_eq!(pair[0].end, pair[1].start);
                    }
                }
            }
        }
        let split = StreamSplit::new(Alphabet::NibblePairs, 9, NARROW_STREAMS);
        assert_eq!(split.symbols, [0..2, 2..4, 4..5, 5..5]);
        assert_eq!(split.codes, [0..4, 4..8, 8..9, 9..9]);
    }

    #[test]
    fn wide_splits_give_every_code_to_one_stream_row_by_row() {
        for codes in [0, 1, 63, 64, 1000, ROW, ROW + 1, 5 * ROW + 777, 64 * ROW] {
            let split = WideSplit::new(codes);
            let mut owner = vec![usize::MAX; codes];
            let mut total = 0;
            for stream in 0..WIDE_STREAMS {
                let runs: Vec<_> = split.runs(stream, 0).collect();
                let len: usize = runs.iter().map(ExactSizeIterator::len).sum();
                assert_eq!(len, split.stream_len(stream));
                total += len;
                for position in runs.into_iter().flatten() {
                    assert_eq!(owner[position], usize::MAX, "position {position} twice");
                    owner[position] = stream;
                }
                // Starting later skips exactly that many codes.
                for from in [0, 1, PIECE, PIECE + 3, len] {
                    let later: Vec<usize> = split.runs(stream, from).flatten().collect();
                    let all: Vec<usize> = split.runs(stream, 0).flatten().collect();
                    assert_eq!(later, all[from.min(all.len())..]);
                }
            }
            assert_eq!(total, codes);
        }
        // Full rows: stream k holds bytes 16 k .. 16 k + 16 of each row.
        let split = WideSplit::new(2 * ROW + 100);
        assert_eq!(split.runs(3, 0).next(), Some(48..64));
        assert_eq!(split.runs(3, 16).next(), Some(ROW + 48..ROW + 64));
        assert_eq!(split.tails[0], 2 * ROW..2 * ROW + 2);
    }

    #[test]
    fn wide_layout_needs_short_byte_codes_and_a_mid_sized_chunk() {
        let wide = |alphabet, max_len, codes| Layout::for_code(alphabet, max_len, codes);
        assert_eq!(wide(Alphabet::Bytes, 12, WIDE_MIN_CODES), Layout::Wide);
        assert_eq!(wide(Alphabet::Bytes, 1, WIDE_MAX_CODES), Layout::Wide);
        assert_eq!(wide(Alphabet::Bytes, 13, 1 << 16), Layout::Narrow);
        assert_eq!(wide(Alphabet::Bytes, 0, 1 << 16), Layout::Narrow);
        assert_eq!(wide(Alphabet::NibblePairs, 8, 1 << 16), Layout::Narrow);
        assert_eq!(
            wide(Alphabet::Bytes, 12, WIDE_MIN_CODES - 1),
            Layout::Narrow
        );
        assert_eq!(
            wide(Alphabet::Bytes, 12, WIDE_MAX_CODES + 1),
            Layout::Narrow
        );
        assert_eq!(Layout::Wide.header_bytes(), 126);
        assert_eq!(Layout::Narrow.header_bytes(), 12);
    }
}
