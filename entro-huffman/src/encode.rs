//! Chunked encoding into interleaved bit streams (4, or 64 in the wide layout) per chunk.

use crate::chunk::{Layout, StreamSplit, WideSplit};
use crate::{Alphabet, Codebook, EncodeError, MAX_CHUNK_CODES};

/// Where one chunk lies in the encoder's output and how many codes it holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ChunkInfo {
    /// Codes (weights) in the chunk: `chunk_codes` for all chunks but the last.
    pub codes: u32,
    /// Byte offset of the chunk, relative to where [`encode`] started appending.
    pub offset: u64,
    /// Size of the chunk in bytes.
    pub len: u32,
}

/// Encodes `codes` with `codebook` into independently decodable chunks of `chunk_codes` codes
/// (the last one may be shorter), appending them to `out`. Returns one [`ChunkInfo`] per chunk;
/// an empty input gives no chunks.
///
/// With [`Alphabet::NibblePairs`], two consecutive codes form one symbol; a chunk with an odd number of
/// codes (only the last one can have that) pads its last pair with whichever code the codebook codes
/// shortest.
///
/// # Errors
/// Parameter errors ([`EncodeError::ChunkCodesOutOfRange`], [`EncodeError::OddChunkForPairs`]),
/// [`EncodeError::CodeOutOfRange`] and [`EncodeError::MissingSymbol`] for input the codebook cannot
/// code, [`EncodeError::ChunkTooLarge`] if a chunk would not fit 32-bit fields. On error `out` is left
/// as it was.
pub fn encode(
    codes: &[u8],
    codebook: &Codebook,
    chunk_codes: usize,
    out: &mut Vec<u8>,
) -> Result<Vec<ChunkInfo>, EncodeError> {
    if !(1..=MAX_CHUNK_CODES).contains(&chunk_codes) {
        return Err(EncodeError::ChunkCodesOutOfRange {
            chunk_codes,
            max: MAX_CHUNK_CODES,
        });
    }
    let alphabet = codebook.alphabet();
    if alphabet == Alphabet::NibblePairs {
        if chunk_codes % 2 == 1 {
            return Err(EncodeError::OddChunkForPairs { chunk_codes });
        }
        if let Some(index) = codes.iter().position(|&code| code >= 16) {
            return Err(EncodeError::CodeOutOfRange {
                index,
                code: codes[index],
            });
        }
    }
    let table = EncodeTable::new(codebook);
    let base = out.len();
    let mut chunks = Vec::with_capacity(codes.len().div_ceil(chunk_codes));
    for (chunk_index, chunk) in codes.chunks(chunk_codes).enumerate() {
        let start = out.len();
        let first_code = chunk_index * chunk_codes;
        let layout = Layout::of(codebook, chunk.len());
        let at = (chunk_index, first_code);
        if let Err(err) = encode_chunk(chunk, at, layout, &table, alphabet, out) {
            out.truncate(base);
            return Err(err);
        }
        let len = u32::try_from(out.len() - start).map_err(|_| {
            let bytes = out.len() - start;
            out.truncate(base);
            EncodeError::ChunkTooLarge {
                chunk: chunk_index,
                bytes,
            }
        })?;
        chunks.push(ChunkInfo {
            // chunk.len() <= chunk_codes <= MAX_CHUNK_CODES < 2^32.
            codes: u32::try_from(chunk.len()).unwrap_or(u32::MAX),
            offset: (start - base) as u64,
            len,
        });
    }
    Ok(chunks)
}

/// Bit-reversed canonical code and length of every symbol (length 0: no code).
#[derive(Debug)]
struct EncodeTable {
    reversed: [u64; 256],
    lengths: [u8; 256],
}

impl EncodeTable {
    fn new(codebook: &Codebook) -> Self {
        let codes = codebook.canonical_codes();
        let lengths = *codebook.lengths();
        let reversed = std::array::from_fn(|symbol| match lengths[symbol] {
            0 => 0,
            len => u64::from(codes[symbol].reverse_bits() >> (16 - u32::from(len))),
        });
        Self { reversed, lengths }
    }
}

/// Which codes each stream of a chunk holds.
enum StreamOrder {
    /// A narrow chunk: a consecutive run each.
    Runs(StreamSplit),
    /// A wide chunk: pieces of rows.
    Rows(WideSplit),
}

/// Writes one chunk, the `chunk_index`-th, whose first code is the stream's `first_code`-th:
/// its streams and their lengths.
fn encode_chunk(
    chunk: &[u8],
    (chunk_index, first_code): (usize, usize),
    layout: Layout,
    table: &EncodeTable,
    alphabet: Alphabet,
    out: &mut Vec<u8>,
) -> Result<(), EncodeError> {
    let chunk_start = out.len();
    // A narrow chunk's stream lengths lead, a wide chunk's trail (see `chunk.rs`).
    let mut lengths = Vec::with_capacity(layout.header_bytes());
    if layout == Layout::Narrow {
        out.resize(chunk_start + layout.header_bytes(), 0);
    }
    let streams = layout.streams();
    let order = match layout {
        Layout::Narrow => StreamOrder::Runs(StreamSplit::new(alphabet, chunk.len(), streams)),
        Layout::Wide => StreamOrder::Rows(WideSplit::new(chunk.len())),
    };
    for stream in 0..streams {
        let stream_start = out.len();
        let mut writer = BitWriter {
            out: &mut *out,
            acc: 0,
            bits: 0,
        };
        match &order {
            // Wide chunks are always byte-coded.
            StreamOrder::Rows(wide) => {
                for position in wide.runs(stream, 0).flatten() {
                    writer.put(table, chunk[position], first_code + position)?;
                }
            }
            StreamOrder::Runs(split) => {
                let range = split.codes[stream].clone();
                let first = first_code + range.start;
                let codes = &chunk[range];
                match alphabet {
                    Alphabet::Bytes => {
                        for (offset, &symbol) in codes.iter().enumerate() {
                            writer.put(table, symbol, first + offset)?;
                        }
                    }
                    Alphabet::NibblePairs => {
                        let mut pairs = codes.chunks_exact(2);
                        for (pair_index, pair) in (&mut pairs).enumerate() {
                            writer.put(table, pair[0] << 4 | pair[1], first + 2 * pair_index)?;
                        }
                        if let [last] = pairs.remainder() {
                            let index = first + codes.len() - 1;
                            writer.put(table, padded_pair(table, *last), index)?;
                        }
                    }
                }
            }
        }
        writer.finish();
        if stream < streams - 1 {
            let len = out.len() - stream_start;
            let width = layout.length_bytes();
            let field = u32::try_from(len)
                .ok()
                .filter(|&len| width == 4 || u16::try_from(len).is_ok())
                .ok_or(EncodeError::ChunkTooLarge {
                    chunk: chunk_index,
                    bytes: out.len() - chunk_start,
                })?;
            lengths.extend_from_slice(&field.to_le_bytes()[..width]);
        }
    }
    match layout {
        Layout::Narrow => out[chunk_start..chunk_start + lengths.len()].copy_from_slice(&lengths),
        Layout::Wide => out.extend_from_slice(&lengths),
    }
    Ok(())
}

/// The pair `last << 4 | pad` with the shortest code; `last << 4` (reported missing) if none has one.
fn padded_pair(table: &EncodeTable, last: u8) -> u8 {
    (0..16u8)
        .map(|pad| last << 4 | pad)
        .filter(|&symbol| table.lengths[usize::from(symbol)] > 0)
        .min_by_key(|&symbol| table.lengths[usize::from(symbol)])
        .unwrap_or(last << 4)
}

/// Least-significant-bit-first bit writer appending to a byte vector.
#[derive(Debug)]
struct BitWriter<'a> {
    out: &'a mut Vec<u8>,
    acc: u64,
    bits: u32,
}

impl BitWriter<'_> {
    #[inline]
    fn put(&mut self, table: &EncodeTable, symbol: u8, index: usize) -> Result<(), EncodeError> {
        let len = table.lengths[usize::from(symbol)];
        if len == 0 {
            return Err(EncodeError::MissingSymbol { index, symbol });
        }
        // bits < 32 here and len <= 15, so the accumulator never overflows.
        self.acc |= table.reversed[usize::from(symbol)] << self.bits;
        self.bits += u32::from(len);
        if self.bits >= 32 {
            self.out.extend_from_slice(&self.acc.to_le_bytes()[..4]);
            self.acc >>= 32;
            self.bits -= 32;
        }
        Ok(())
    }

    fn finish(self) {
        let bytes = self.bits.div_ceil(8) as usize;
        self.out.extend_from_slice(&self.acc.to_le_bytes()[..bytes]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_bad_parameters_and_symbols() {
        let codebook = Codebook::build(&[1, 2, 3], Alphabet::Bytes, 11).unwrap();
        let mut out = vec![9];
        assert!(matches!(
            encode(&[1], &codebook, 0, &mut out),
            Err(EncodeError::ChunkCodesOutOfRange { chunk_codes: 0, .. })
        ));
        assert!(matches!(
            encode(&[1, 2, 4, 1], &codebook, 2, &mut out),
            Err(EncodeError::MissingSymbol {
                index: 2,
                symbol: 4
            })
        ));
        assert_eq!(out, [9], "a failed encode leaves the output untouched");
        let pairs = Codebook::build(&[1, 2, 3, 4], Alphabet::NibblePairs, 11).unwrap();
        assert!(matches!(
            encode(&[1, 2], &pairs, 3, &mut out),
            Err(EncodeError::OddChunkForPairs { chunk_codes: 3 })
        ));
        assert!(matches!(
            encode(&[1, 2, 17], &pairs, 4, &mut out),
            Err(EncodeError::CodeOutOfRange { index: 2, code: 17 })
        ));
        assert!(matches!(
            encode(&[1, 2, 3, 5], &pairs, 4, &mut out),
            Err(EncodeError::MissingSymbol {
                index: 2,
                symbol: 0x35
            })
        ));
    }

    #[test]
    fn chunk_index_matches_output() {
        let codes: Vec<u8> = (0..1000u32).map(|i| (i % 7) as u8).collect();
        let codebook = Codebook::build(&codes, Alphabet::Bytes, 11).unwrap();
        let mut out = vec![0xEE; 5];
        let chunks = encode(&codes, &codebook, 300, &mut out).unwrap();
        let counts: Vec<u32> = chunks.iter().map(|chunk| chunk.codes).collect();
        assert_eq!(counts, [300, 300, 300, 100]);
        let mut expected_offset = 0;
        for chunk in &chunks {
            assert_eq!(chunk.offset, expected_offset);
            expected_offset += u64::from(chunk.len);
        }
        assert_eq!(usize::try_from(expected_offset).unwrap(), out.len() - 5);
        assert!(encode(&[], &codebook, 300, &mut out).unwrap().is_empty());
    }

    #[test]
    fn single_symbol_costs_one_bit_per_symbol() {
        let codes = [42u8; 64];
        let codebook = Codebook::build(&codes, Alphabet::Bytes, 11).unwrap();
        let mut out = Vec::new();
        let chunks = encode(&codes, &codebook, 64, &mut out).unwrap();
        assert_eq!(
            chunks[0].len as usize,
            Layout::Narrow.header_bytes() + 64 / 8
        );
        // A wide chunk: 64 streams of one-bit codes.
        let codes = [42u8; crate::chunk::WIDE_MIN_CODES];
        let chunks = encode(&codes, &codebook, codes.len(), &mut out).unwrap();
        assert_eq!(Layout::of(&codebook, codes.len()), Layout::Wide);
        let stream_bytes = codes.len() / crate::chunk::WIDE_STREAMS / 8;
        assert_eq!(
            chunks[0].len as usize,
            Layout::Wide.header_bytes() + crate::chunk::WIDE_STREAMS * stream_bytes
        );
    }
}
