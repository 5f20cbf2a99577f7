//! Table-driven chunk decoding.

mod drive;
mod kernel;
mod lane;
mod reader;
mod table;
mod wide;

use crate::chunk::{HEADER_BYTES, STREAMS, StreamSplit};
use crate::{Alphabet, ChunkInfo, Codebook, DecodeError};
use drive::{Tables, finish};
use lane::Lane;
use reader::StreamReader;
use table::{IDENTITY, TABLE_BITS};

pub use wide::DecodeTable16;

/// Codes decoded per stream between two passes of the fused mapping in
/// [`DecodeTable::decode_chunk_mapped`]; four such blocks live on the stack.
const MAPPED_BLOCK: usize = 4096;

/// Below this many codes left in some stream the four-stream loop of the mapped decoder stops and
/// each stream finishes on its own.
const MAPPED_TAIL: usize = 64;

/// A decode table for one codebook: a 32 KiB primary table of `2^12` multi-symbol entries (up to
/// six codes per lookup) plus a canonical search for the rare codes longer than 12 bits.
/// Immutable, so one table can serve many threads.
#[derive(Clone)]
pub struct DecodeTable {
    alphabet: Alphabet,
    /// `None` for the empty codebook.
    tables: Option<Tables>,
}

impl std::fmt::Debug for DecodeTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DecodeTable")
            .field("alphabet", &self.alphabet)
            .field("empty", &self.tables.is_none())
            .finish_non_exhaustive()
    }
}

impl DecodeTable {
    /// Builds the table for a (validated) codebook.
    pub fn new(codebook: &Codebook) -> Self {
        Self {
            alphabet: codebook.alphabet(),
            tables: Tables::build(codebook, &IDENTITY),
        }
    }

    /// The alphabet of the codebook.
    pub fn alphabet(&self) -> Alphabet {
        self.alphabet
    }

    /// Input bits per primary table lookup; longer codes take a slower path.
    pub fn table_bits(&self) -> u8 {
        u8::try_from(TABLE_BITS).unwrap_or(u8::MAX)
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
        decode_lanes(self.alphabet, self.tables.as_ref(), chunk_index, chunk, out)
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
        let tables = self.tables.as_ref();
        let mut readers = prepare(tables, chunk_index, chunk, out.len())?;
        if let Some(tables) = tables {
            let split = StreamSplit::new(self.alphabet, out.len());
            let mut outs = split_four(out, &split);
            // Each block has 8 bytes of slack for the kernel's overhanging stores.
            let mut scratch = [[0u8; MAPPED_BLOCK + 8]; STREAMS];
            let mut done = [0usize; STREAMS];
            loop {
                let left: [usize; STREAMS] = std::array::from_fn(|k| outs[k].len() - done[k]);
                if left.iter().any(|&left| left < MAPPED_TAIL) {
                    break;
                }
                let [s0, s1, s2, s3] = &mut scratch;
                let blocks = [&mut s0[..], &mut s1[..], &mut s2[..], &mut s3[..]];
                let limits = left.map(|left| left.min(MAPPED_BLOCK));
                let mut pos = [0usize; STREAMS];
                tables.drive4(chunk, &mut readers, blocks, limits, &mut pos);
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
                    let limit = MAPPED_BLOCK.min(out.len() - done[k]);
                    let mut pos = 0;
                    tables.drive1(chunk, reader, &mut block[..], limit, &mut pos);
                    map_codes(&block[..pos], lut, &mut out[done[k]..]);
                    done[k] += pos;
                    if pos == 0 {
                        break;
                    }
                }
                while done[k] < out.len() {
                    let count = MAPPED_BLOCK.min(out.len() - done[k]);
                    tables.decode_exact(chunk, reader, &mut block[..count]);
                    map_codes(&block[..count], lut, &mut out[done[k]..]);
                    done[k] += count;
                }
            }
        }
        finish(chunk_index, &readers)
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
}

/// Decodes one chunk into `out`, four streams at a time, then each stream's tail exactly.
fn decode_lanes<T: Lane>(
    alphabet: Alphabet,
    tables: Option<&Tables>,
    chunk_index: usize,
    chunk: &[u8],
    out: &mut [T],
) -> Result<(), DecodeError> {
    let mut readers = prepare(tables, chunk_index, chunk, out.len())?;
    if let Some(tables) = tables {
        let split = StreamSplit::new(alphabet, out.len());
        let [o0, o1, o2, o3] = split_four(out, &split);
        let limits = [o0.len(), o1.len(), o2.len(), o3.len()];
        let mut pos = [0usize; STREAMS];
        let outs = [&mut *o0, &mut *o1, &mut *o2, &mut *o3];
        tables.drive4(chunk, &mut readers, outs, limits, &mut pos);
        for ((reader, out), pos) in readers.iter_mut().zip([o0, o1, o2, o3]).zip(pos) {
            let mut pos = pos;
            tables.drive1(chunk, reader, out, out.len(), &mut pos);
            tables.decode_exact(chunk, reader, &mut out[pos..]);
        }
    }
    finish(chunk_index, &readers)
}

/// Parses the chunk header into one reader per stream.
fn prepare(
    tables: Option<&Tables>,
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
        bounds[stream + 1] = usize::try_from(end).unwrap_or(chunk.len());
    }
    bounds[STREAMS] = chunk.len();
    if codes > 0 && tables.is_none() {
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
