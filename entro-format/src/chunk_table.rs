//! The chunk table shared by the chunked encodings (quantized and lossless):
//! a count, then a length and a CRC-32C per chunk. The chunks tile the payload
//! in order; each covers a fixed number of elements but the last.

use crate::bytes::{Cursor, put_count, put_u32, put_varint};
use crate::entry::ChunkEntry;
use crate::error::{Result, as_u64};
use crate::limits::MAX_CHUNKS;

/// Fewest bytes per chunk table entry: a one-byte varint length and a `u32` CRC-32C.
const CHUNK_ENTRY_LEN: usize = 5;

/// Appends the chunk count and every chunk's length and checksum.
pub(crate) fn encode(chunks: &[ChunkEntry], out: &mut Vec<u8>) -> Result<()> {
    put_count(out, "chunk count", chunks.len(), MAX_CHUNKS)?;
    for chunk in chunks {
        put_varint(out, u64::from(chunk.len));
        put_u32(out, chunk.crc32c);
    }
    Ok(())
}

/// Reads the chunk count and table of a tensor of `elements` elements cut into
/// chunks of `per_chunk` (already checked to be at least 1), and checks that
/// the count is `ceil(elements / per_chunk)` and the lengths add up to
/// `payload_len` exactly.
pub(crate) fn decode(
    cursor: &mut Cursor<'_>,
    elements: u64,
    per_chunk: u32,
    payload_len: u64,
) -> Result<Vec<ChunkEntry>> {
    let count_offset = cursor.offset();
    let chunk_count = cursor.count("chunk count", MAX_CHUNKS)?;
    let expected_chunks = elements.div_ceil(u64::from(per_chunk.max(1)));
    if as_u64(chunk_count) != expected_chunks {
        return Err(crate::Error::format(
            count_offset,
            format!("{expected_chunks} chunks ({elements} elements, {per_chunk} per chunk)"),
            chunk_count.to_string(),
        ));
    }
    // The header length, not the untrusted count, bounds the allocation.
    let mut chunks = Vec::with_capacity(chunk_count.min(cursor.remaining() / CHUNK_ENTRY_LEN));
    let mut offset: u64 = 0;
    for index in 0..chunk_count {
        let first_code = as_u64(index).saturating_mul(u64::from(per_chunk));
        let codes = elements
            .saturating_sub(first_code)
            .min(u64::from(per_chunk));
        let len = cursor.varint_u32("chunk length")?;
        let crc32c = cursor.u32("chunk checksum")?;
        // `codes` is at most `per_chunk`, a u32.
        let codes = u32::try_from(codes).unwrap_or(per_chunk);
        chunks.push(ChunkEntry {
            codes,
            first_code,
            offset,
            len,
            crc32c,
        });
        offset = offset.saturating_add(u64::from(len));
    }
    if offset != payload_len {
        return Err(cursor.error(
            format!("chunk lengths adding up to the payload length {payload_len}"),
            format!("{offset} bytes"),
        ));
    }
    Ok(chunks)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Error;

    fn table(lens: &[u32]) -> Vec<ChunkEntry> {
        let mut offset = 0;
        lens.iter()
            .map(|&len| {
                let chunk = ChunkEntry {
                    codes: 0,
                    first_code: 0,
                    offset,
                    len,
                    crc32c: len.wrapping_mul(7),
                };
                offset += u64::from(len);
                chunk
            })
            .collect()
    }

    #[test]
    fn round_trips_with_element_counts_derived() {
        let mut bytes = Vec::new();
        encode(&table(&[10, 300, 2]), &mut bytes).unwrap();
        let chunks = decode(&mut Cursor::new(&bytes, 0), 25, 10, 312).unwrap();
        let counts: Vec<(u32, u64, u64)> = chunks
            .iter()
            .map(|c| (c.codes, c.first_code, c.offset))
            .collect();
        assert_eq!(counts, [(10, 0, 0), (10, 10, 10), (5, 20, 310)]);
        assert_eq!(chunks[1].crc32c, 2100);
    }

    #[test]
    fn wrong_counts_and_lengths_are_format_errors() {
        let mut bytes = Vec::new();
        encode(&table(&[10, 300, 2]), &mut bytes).unwrap();
        let wrong_count = decode(&mut Cursor::new(&bytes, 100), 31, 10, 312).unwrap_err();
        assert!(matches!(wrong_count, Error::Format { offset: 100, .. }));
        let wrong_len = decode(&mut Cursor::new(&bytes, 0), 25, 10, 313).unwrap_err();
        assert!(matches!(wrong_len, Error::Format { .. }));
        let truncated = decode(&mut Cursor::new(&bytes[..6], 0), 25, 10, 312).unwrap_err();
        assert!(matches!(truncated, Error::Format { .. }));
        let empty = decode(&mut Cursor::new(&[0], 0), 0, 10, 0).unwrap();
        assert!(empty.is_empty());
    }
}
