//! Table-driven chunk decoding.

mod drive;
mod kernel;
mod lane;
mod reader;
mod table;
mod wide;
mod wide_kernel;

use crate::chunk::{Layout, NARROW_STREAMS, StreamSplit, WIDE_STREAMS, WideSplit};
use crate::{Alphabet, ChunkInfo, Codebook, DecodeError};
use drive::{ScalarTables, Tables, finish};
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

/// A decode table for one codebook: for the AVX-512 loop over wide chunks, a 16 KiB table of `2^12`
/// one-code entries; for the scalar loops (built on first use), a 32 KiB primary table of `2^12`
/// multi-symbol entries (up to six codes per lookup) plus a canonical search for the rare codes
/// longer than 12 bits. Immutable once built, so one table can serve many threads.
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
        let layout = layout_for(self.alphabet, tables, out.len());
        if layout == Layout::Wide {
            // A wide chunk's streams interleave in the output; its codes go through one buffer
            // (64 KiB with the default chunk size, so it stays in the cache) and one mapping pass.
            let mut codes = vec![0u8; out.len()];
            decode_lanes(self.alphabet, tables, chunk_index, chunk, &mut codes)?;
            map_codes(&codes, lut, out);
            return Ok(());
        }
        let mut readers = prepare(tables, layout, chunk_index, chunk, out.len())?;
        if let Some(tables) = tables {
            let split = StreamSplit::new(self.alphabet, out.len(), layout.streams());
            let streams = split_lengths(out, split.codes.iter().map(ExactSizeIterator::len));
            // A narrow chunk has exactly four streams.
            if let (Ok(readers), Ok(outs)) = (
                <&mut [StreamReader; NARROW_STREAMS]>::try_from(&mut readers[..]),
                <[&mut [T]; NARROW_STREAMS]>::try_from(streams),
            ) {
                decode_four_mapped(tables.scalar(), chunk, readers, outs, lut);
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

/// The layout of a chunk of `codes` codes, from what the decoder knows of its codebook.
fn layout_for(alphabet: Alphabet, tables: Option<&Tables>, codes: usize) -> Layout {
    Layout::for_code(alphabet, tables.map_or(0, |tables| tables.max_len), codes)
}

/// Decodes one chunk into `out`.
fn decode_lanes<T: Lane>(
    alphabet: Alphabet,
    tables: Option<&Tables>,
    chunk_index: usize,
    chunk: &[u8],
    out: &mut [T],
) -> Result<(), DecodeError> {
    let layout = layout_for(alphabet, tables, out.len());
    let mut readers = prepare(tables, layout, chunk_index, chunk, out.len())?;
    if let Some(tables) = tables {
        match layout {
            Layout::Narrow => {
                let split = StreamSplit::new(alphabet, out.len(), layout.streams());
                let lengths = split.codes.iter().map(ExactSizeIterator::len);
                decode_streams(
                    tables,
                    chunk,
                    &mut readers,
                    &mut split_lengths(out, lengths),
                );
            }
            Layout::Wide => decode_wide(tables, chunk, &mut readers, out),
        }
    }
    finish(chunk_index, &readers)
}

/// Decodes a wide chunk: its full rows with the vector loop where it runs, then what is left of
/// every stream with the scalar loops into a buffer, copied to its places.
fn decode_wide<T: Lane>(
    tables: &Tables,
    chunk: &[u8],
    readers: &mut [StreamReader],
    out: &mut [T],
) {
    let split = WideSplit::new(out.len());
    let done = tables.drive_wide(chunk, readers, out, split.rows);
    let left: Vec<usize> = (0..WIDE_STREAMS)
        .map(|stream| split.stream_len(stream).saturating_sub(done))
        .collect();
    if left.iter().all(|&left| left == 0) {
        return;
    }
    let mut buffer = vec![T::default(); left.iter().sum()];
    let mut streams = split_lengths(&mut buffer, left);
    decode_streams(tables, chunk, readers, &mut streams);
    for (stream, decoded) in streams.iter().enumerate() {
        let mut decoded = &decoded[..];
        for run in split.runs(stream, done) {
            let (now, later) = decoded.split_at(run.len().min(decoded.len()));
            out[run].copy_from_slice(now);
            decoded = later;
        }
    }
}

/// Decodes every stream into its slice of `outs` with the scalar loops: four streams at a time,
/// then each stream's tail exactly.
fn decode_streams<T: Lane>(
    tables: &Tables,
    chunk: &[u8],
    readers: &mut [StreamReader],
    outs: &mut [&mut [T]],
) {
    let mut pos = vec![0usize; outs.len()];
    for ((readers, outs), pos) in readers
        .chunks_exact_mut(NARROW_STREAMS)
        .zip(outs.chunks_exact_mut(NARROW_STREAMS))
        .zip(pos.chunks_exact_mut(NARROW_STREAMS))
    {
        if let (Ok(readers), [o0, o1, o2, o3], Ok(pos)) =
            (readers.try_into(), outs, <&mut [usize; 4]>::try_from(pos))
        {
            let limits = [o0.len(), o1.len(), o2.len(), o3.len()];
            if limits == [0; NARROW_STREAMS] {
                continue;
            }
            let outs = [&mut **o0, &mut **o1, &mut **o2, &mut **o3];
            tables.scalar().drive4(chunk, readers, outs, limits, pos);
        }
    }
    for ((reader, out), &pos) in readers.iter_mut().zip(outs.iter_mut()).zip(&pos) {
        if pos == out.len() {
            continue;
        }
        let mut pos = pos;
        let scalar = tables.scalar();
        scalar.drive1(chunk, reader, out, out.len(), &mut pos);
        scalar.decode_exact(chunk, reader, &mut out[pos..]);
    }
}

/// Decodes four streams to `lut[code]` through small code buffers, four streams side by side
/// while every stream has codes left, then each stream on its own.
fn decode_four_mapped<T: Copy>(
    tables: &ScalarTables,
    chunk: &[u8],
    readers: &mut [StreamReader; NARROW_STREAMS],
    mut outs: [&mut [T]; NARROW_STREAMS],
    lut: &[T; 256],
) {
    // Each block has 8 bytes of slack for the kernel's overhanging stores.
    let mut scratch = [[0u8; MAPPED_BLOCK + 8]; NARROW_STREAMS];
    let mut done = [0usize; NARROW_STREAMS];
    loop {
        let left: [usize; NARROW_STREAMS] = std::array::from_fn(|k| outs[k].len() - done[k]);
        if left.iter().any(|&left| left < MAPPED_TAIL) {
            break;
        }
        let [s0, s1, s2, s3] = &mut scratch;
        let blocks = [&mut s0[..], &mut s1[..], &mut s2[..], &mut s3[..]];
        let limits = left.map(|left| left.min(MAPPED_BLOCK));
        let mut pos = [0usize; NARROW_STREAMS];
        tables.drive4(chunk, readers, blocks, limits, &mut pos);
        for k in 0..NARROW_STREAMS {
            map_codes(&scratch[k][..pos[k]], lut, &mut outs[k][done[k]..]);
            done[k] += pos[k];
        }
        if pos == [0; NARROW_STREAMS] {
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

/// Parses the chunk header into one reader per stream.
fn prepare(
    tables: Option<&Tables>,
    layout: Layout,
    chunk_index: usize,
    chunk: &[u8],
    codes: usize,
) -> Result<Vec<StreamReader>, DecodeError> {
    let header_bytes = layout.header_bytes();
    let truncated = DecodeError::HeaderTruncated {
        chunk: chunk_index,
        bit_offset: chunk.len() as u64 * 8,
        needed: header_bytes,
        found: chunk.len(),
    };
    // A narrow chunk's stream lengths lead, a wide chunk's trail (see `chunk.rs`).
    let (header, first, streams_end) = match layout {
        Layout::Narrow => (
            chunk.get(..header_bytes).ok_or(truncated)?,
            header_bytes,
            chunk.len(),
        ),
        Layout::Wide => {
            let trailer_at = chunk.len().checked_sub(header_bytes).ok_or(truncated)?;
            (&chunk[trailer_at..], 0, trailer_at)
        }
    };
    let mismatch = |declared| DecodeError::StreamLengthMismatch {
        chunk: chunk_index,
        bit_offset: if first == 0 { streams_end } else { first } as u64 * 8,
        declared,
        available: (streams_end - first) as u64,
    };
    let streams = layout.streams();
    let mut bounds = vec![first; streams + 1];
    let mut end = first as u64;
    for (stream, field) in header.chunks_exact(layout.length_bytes()).enumerate() {
        let mut len = [0u8; 4];
        len[..field.len()].copy_from_slice(field);
        end += u64::from(u32::from_le_bytes(len));
        if end > streams_end as u64 {
            return Err(mismatch(end - first as u64));
        }
        // end <= streams_end was just checked, so it fits usize.
        bounds[stream + 1] = usize::try_from(end).unwrap_or(streams_end);
    }
    bounds[streams] = streams_end;
    if codes > 0 && tables.is_none() {
        return Err(DecodeError::EmptyCodebook {
            chunk: chunk_index,
            bit_offset: first as u64 * 8,
            codes,
        });
    }
    Ok(bounds
        .windows(2)
        .map(|bounds| StreamReader::new(bounds[0], bounds[1]))
        .collect())
}

/// Splits `out` into consecutive slices of the given lengths (which add up to at most its length).
fn split_lengths<T>(out: &mut [T], lengths: impl IntoIterator<Item = usize>) -> Vec<&mut [T]> {
    let mut rest = out;
    lengths
        .into_iter()
        .map(|len| {
            let (stream, tail) = std::mem::take(&mut rest).split_at_mut(len);
            rest = tail;
            stream
        })
        .collect()
}

#[inline]
fn map_codes<T: Copy>(codes: &[u8], lut: &[T; 256], out: &mut [T]) {
    for (slot, &code) in out.iter_mut().zip(codes) {
        *slot = lut[usize::from(code)];
    }
}
