//! Table-driven chunk decoding.

mod kernel;
mod reader;
mod table;

use crate::chunk::{HEADER_BYTES, STREAMS, StreamSplit};
use crate::{Alphabet, ChunkInfo, Codebook, DecodeError};
use reader::StreamReader;
use table::{MIN_TABLE_BITS, build_entries, entry_bits, entry_codes};

/// Codes decoded per stream between two passes of the fused mapping in
/// [`DecodeTable::decode_chunk_mapped`]; four such blocks live on the stack.
const MAPPED_BLOCK: usize = 2048;

/// Below this many codes left in some stream the four-stream loop of the mapped decoder stops and
/// each stream finishes on its own.
const MAPPED_TAIL: usize = 64;

/// A decode table for one codebook: `2^table_bits` multi-symbol entries (16 KiB for codes of up to 11
/// bits, at most 256 KiB for 15-bit codes). Immutable, so one table can serve many threads.
#[derive(Clone)]
pub struct DecodeTable {
    alphabet: Alphabet,
    table_bits: u8,
    /// Empty for the empty codebook, else `2^table_bits` entries.
    entries: Box<[u64]>,
    /// Code lengths, for decoding single symbols at the end of a stream.
    lengths: [u8; 256],
}

impl std::fmt::Debug for DecodeTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DecodeTable")
            .field("alphabet", &self.alphabet)
            .field("table_bits", &self.table_bits)
            .finish_non_exhaustive()
    }
}

impl DecodeTable {
    /// Builds the table for a (validated) codebook.
    pub fn new(codebook: &Codebook) -> Self {
        let (table_bits, entries) = if codebook.is_empty() {
            (0, Box::default())
        } else {
            let bits = codebook.max_length().max(MIN_TABLE_BITS);
            (bits, build_entries(codebook, bits))
        };
        Self {
            alphabet: codebook.alphabet(),
            table_bits,
            entries,
            lengths: *codebook.lengths(),
        }
    }

    /// The alphabet of the codebook.
    pub fn alphabet(&self) -> Alphabet {
        self.alphabet
    }

    /// Input bits per table lookup (0 for the empty codebook).
    pub fn table_bits(&self) -> u8 {
        self.table_bits
    }

    /// Decodes one chunk written by [`crate::encode`]; `out.len()` must be the chunk's code count.
    /// `chunk_index` only labels errors.
    ///
    /// # Errors
    /// A [`DecodeError`] naming the chunk and the bit offset for a header that is truncated or does not
    /// match the chunk's size, a stream that runs out of bits or has data left over, or codes asked
    /// from an empty codebook. Corrupt input never panics, loops or reads out of bounds; the content of
    /// `out` is unspecified after an error.
    pub fn decode_chunk(
        &self,
        chunk_index: usize,
        chunk: &[u8],
        out: &mut [u8],
    ) -> Result<(), DecodeError> {
        let mut readers = self.prepare(chunk_index, chunk, out.len())?;
        let split = StreamSplit::new(self.alphabet, out.len());
        let mut outs = split_four(out, &split);
        if !self.entries.is_empty() {
            let mut pos = [0usize; STREAMS];
            let [o0, o1, o2, o3] = &mut outs;
            self.fast4(chunk, &mut readers, [o0, o1, o2, o3], &mut pos);
            for ((reader, out), pos) in readers.iter_mut().zip(outs).zip(pos) {
                let mut pos = pos;
                self.fast1(chunk, reader, out, &mut pos);
                self.decode_exact(chunk, reader, &mut out[pos..]);
            }
        }
        self.finish(chunk_index, &readers)
    }

    /// Like [`DecodeTable::decode_chunk`] but writes `lut[code]` for every code, e.g. to dequantize to
    /// `f32` while decoding.
    ///
    /// # Errors
    /// As [`DecodeTable::decode_chunk`].
    pub fn decode_chunk_mapped<T: Copy>(
        &self,
        chunk_index: usize,
        chunk: &[u8],
        lut: &[T; 256],
        out: &mut [T],
    ) -> Result<(), DecodeError> {
        let mut readers = self.prepare(chunk_index, chunk, out.len())?;
        let split = StreamSplit::new(self.alphabet, out.len());
        let mut outs = split_four(out, &split);
        if !self.entries.is_empty() {
            let mut scratch = [[0u8; MAPPED_BLOCK]; STREAMS];
            let mut done = [0usize; STREAMS];
            loop {
                let left: [usize; STREAMS] = std::array::from_fn(|k| outs[k].len() - done[k]);
                if left.iter().any(|&left| left < MAPPED_TAIL) {
                    break;
                }
                // A slice of `left + 2` bytes never receives more than `left` codes (see kernel).
                let [s0, s1, s2, s3] = &mut scratch;
                let room = |k: usize| MAPPED_BLOCK.min(left[k] + 2);
                let blocks = [
                    &mut s0[..room(0)],
                    &mut s1[..room(1)],
                    &mut s2[..room(2)],
                    &mut s3[..room(3)],
                ];
                let mut pos = [0usize; STREAMS];
                self.fast4(chunk, &mut readers, blocks, &mut pos);
                for k in 0..STREAMS {
                    map_codes(&scratch[k][..pos[k]], lut, &mut outs[k][done[k]..]);
                    done[k] += pos[k];
                }
                if pos == [0; STREAMS] {
                    break;
                }
            }
            for (k, reader) in readers.iter_mut().enumerate() {
                let (out, block) = (&mut outs[k], &mut scratch[k]);
                loop {
                    let room = MAPPED_BLOCK.min(out.len() - done[k] + 2);
                    let mut pos = 0;
                    self.fast1(chunk, reader, &mut block[..room], &mut pos);
                    map_codes(&block[..pos], lut, &mut out[done[k]..]);
                    done[k] += pos;
                    if pos == 0 {
                        break;
                    }
                }
                while done[k] < out.len() {
                    let count = MAPPED_BLOCK.min(out.len() - done[k]);
                    self.decode_exact(chunk, reader, &mut block[..count]);
                    map_codes(&block[..count], lut, &mut out[done[k]..]);
                    done[k] += count;
                }
            }
        }
        self.finish(chunk_index, &readers)
    }

    /// Decodes consecutive chunks of one encoded stream (as returned by [`crate::encode`]) into `out`,
    /// one after the other on this thread. `data` starts where the encoder started appending.
    ///
    /// # Errors
    /// [`DecodeError::BadChunkIndex`] if a chunk lies outside `data` or the code counts do not add up
    /// to `out.len()`, and the errors of [`DecodeTable::decode_chunk`].
    pub fn decode_chunks(
        &self,
        data: &[u8],
        chunks: &[ChunkInfo],
        out: &mut [u8],
    ) -> Result<(), DecodeError> {
        let mut at = 0usize;
        for (index, info) in chunks.iter().enumerate() {
            let bad = |reason| DecodeError::BadChunkIndex {
                chunk: index,
                bit_offset: info.offset.saturating_mul(8),
                reason,
            };
            let bytes = usize::try_from(info.offset)
                .ok()
                .and_then(|start| data.get(start..start.checked_add(info.len as usize)?))
                .ok_or_else(|| bad("chunk lies outside the data"))?;
            let codes = info.codes as usize;
            let dst = at
                .checked_add(codes)
                .and_then(|end| out.get_mut(at..end))
                .ok_or_else(|| bad("chunk codes exceed the output"))?;
            self.decode_chunk(index, bytes, dst)?;
            at += codes;
        }
        if at != out.len() {
            return Err(DecodeError::BadChunkIndex {
                chunk: chunks.len(),
                bit_offset: data.len() as u64 * 8,
                reason: "chunk codes do not fill the output",
            });
        }
        Ok(())
    }

    /// Parses the chunk header into one reader per stream.
    fn prepare(
        &self,
        chunk_index: usize,
        chunk: &[u8],
        codes: usize,
    ) -> Result<[StreamReader; STREAMS], DecodeError> {
        let header = chunk
            .get(..HEADER_BYTES)
            .ok_or(DecodeError::HeaderTruncated {
                chunk: chunk_index,
                bit_offset: chunk.len() as u64 * 8,
                needed: HEADER_BYTES,
                found: chunk.len(),
            })?;
        let mut bounds = [HEADER_BYTES; STREAMS + 1];
        let mut end = HEADER_BYTES as u64;
        for (stream, field) in header.chunks_exact(4).enumerate() {
            let mut len = [0u8; 4];
            len.copy_from_slice(field);
            end += u64::from(u32::from_le_bytes(len));
            if end > chunk.len() as u64 {
                return Err(DecodeError::StreamLengthMismatch {
                    chunk: chunk_index,
                    bit_offset: HEADER_BYTES as u64 * 8,
                    declared: end - HEADER_BYTES as u64,
                    available: (chunk.len() - HEADER_BYTES) as u64,
                });
            }
            // end <= chunk.len() was just checked, so it fits usize.
            bounds[stream + 1] = end as usize;
        }
        bounds[STREAMS] = chunk.len();
        if codes > 0 && self.entries.is_empty() {
            return Err(DecodeError::EmptyCodebook {
                chunk: chunk_index,
                bit_offset: HEADER_BYTES as u64 * 8,
                codes,
            });
        }
        Ok(std::array::from_fn(|k| {
            StreamReader::new(bounds[k], bounds[k + 1])
        }))
    }

    /// Four-stream fast loop with the table as a fixed-size array of the right width.
    fn fast4(
        &self,
        chunk: &[u8],
        readers: &mut [StreamReader; STREAMS],
        outs: [&mut [u8]; STREAMS],
        pos: &mut [usize; STREAMS],
    ) {
        macro_rules! run {
            ($bits:literal) => {
                if let Ok(table) = <&[u64; 1 << $bits]>::try_from(&*self.entries) {
                    kernel::decode4(table, chunk, readers, outs, pos);
                }
            };
        }
        match self.table_bits {
            11 => run!(11),
            12 => run!(12),
            13 => run!(13),
            14 => run!(14),
            _ => run!(15),
        }
    }

    /// Single-stream fast loop, dispatched like [`Self::fast4`].
    fn fast1(&self, chunk: &[u8], reader: &mut StreamReader, out: &mut [u8], pos: &mut usize) {
        macro_rules! run {
            ($bits:literal) => {
                if let Ok(table) = <&[u64; 1 << $bits]>::try_from(&*self.entries) {
                    kernel::decode1(table, chunk, reader, out, pos);
                }
            };
        }
        match self.table_bits {
            11 => run!(11),
            12 => run!(12),
            13 => run!(13),
            14 => run!(14),
            _ => run!(15),
        }
    }

    /// Decodes exactly `out.len()` codes, a symbol at a time where a whole entry would not fit.
    /// Works anywhere in the chunk, including its last bytes. The table must not be empty.
    fn decode_exact(&self, chunk: &[u8], reader: &mut StreamReader, out: &mut [u8]) {
        let mask = self.entries.len().wrapping_sub(1);
        let mut pos = 0;
        while pos < out.len() {
            if reader.count < 16 {
                reader.refill(chunk);
            }
            let entry = self
                .entries
                .get((reader.buf as usize) & mask)
                .copied()
                .unwrap_or(0);
            let bytes = (entry >> 16).to_le_bytes();
            let left = out.len() - pos;
            let codes = entry_codes(entry);
            // Every entry holds at least one symbol, so each pass writes at least one code.
            let (written, bits) = if (1..=left).contains(&codes) {
                (codes, entry_bits(entry))
            } else {
                let symbol = match self.alphabet {
                    Alphabet::Bytes => bytes[0],
                    Alphabet::NibblePairs => bytes[0] << 4 | bytes[1],
                };
                (
                    self.alphabet.codes_per_symbol().min(left),
                    u32::from(self.lengths[usize::from(symbol)]),
                )
            };
            out[pos..pos + written].copy_from_slice(&bytes[..written]);
            pos += written;
            reader.consume(bits);
        }
    }

    /// Checks that every stream ended exactly on its last byte with zero padding.
    fn finish(
        &self,
        chunk_index: usize,
        readers: &[StreamReader; STREAMS],
    ) -> Result<(), DecodeError> {
        for (stream, reader) in readers.iter().enumerate() {
            let (consumed, total) = (reader.consumed_bits(), reader.total_bits());
            let base = reader.start as u64 * 8;
            if consumed > total {
                return Err(DecodeError::StreamOverrun {
                    chunk: chunk_index,
                    stream,
                    bit_offset: base + total,
                });
            }
            let padding = total - consumed;
            // With fewer than 8 bits left the last byte has been loaded, so `buf` holds the padding.
            if padding >= 8 || reader.buf & ((1u64 << padding) - 1) != 0 {
                return Err(DecodeError::TrailingData {
                    chunk: chunk_index,
                    stream,
                    bit_offset: base + consumed,
                });
            }
        }
        Ok(())
    }
}

/// Splits `out` at the stream boundaries.
fn split_four<'a, T>(out: &'a mut [T], split: &StreamSplit) -> [&'a mut [T]; STREAMS] {
    let (first, rest) = out.split_at_mut(split.codes[0].len());
    let (second, rest) = rest.split_at_mut(split.codes[1].len());
    let (third, fourth) = rest.split_at_mut(split.codes[2].len());
    [first, second, third, fourth]
}

#[inline]
fn map_codes<T: Copy>(codes: &[u8], lut: &[T; 256], out: &mut [T]) {
    for (slot, &code) in out.iter_mut().zip(codes) {
        *slot = lut[usize::from(code)];
    }
}
