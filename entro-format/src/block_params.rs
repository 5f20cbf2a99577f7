//! The block parameters of a quantized record: raw pairs, or entropy-coded planes.
//!
//! Fine granularities (a block per row, or per 32 weights) make the parameters a large part of a
//! file when stored raw: 64 bits per 32-weight block is 2 bits per weight. The coded form stores
//! the scales as lossless F32 chunks (their exponents are Huffman-coded, mantissas packed) and the
//! zero points as a byte plane (constant, packed or Huffman-coded), so that a fine grid costs
//! what its parameters' entropy is rather than a fixed 64 bits. The record's encoding tag says
//! which form follows ([`crate::ENCODING_QUANTIZED_CODED_PARAMS`] for the coded one), so readers
//! that predate the coded form reject it as an unknown encoding instead of misreading it.
//!
//! ```text
//! raw:    count x (scale f32 LE, zero point i32 LE)
//! coded:  pieces of PIECE_BLOCKS blocks (the last one shorter), each:
//!         scales_len varint, a lossless F32 chunk of the piece's scales (scales_len bytes)
//!         zeros_len  varint, the piece's zero points as a byte plane (zeros_len bytes)
//! ```

use entro_quant::BlockParams;

use crate::bytes::{Cursor, put_f32, put_i32, put_varint};
use crate::error::{Error, Result, as_u64};
use crate::lossless::{
    self, ChunkPlane, ChunkReader, FloatLayout, LosslessError, decode_plane_bytes, plan,
    write_plane,
};

/// Below this many blocks the raw form is about as small, and simpler.
const MIN_CODED_BLOCKS: usize = 64;

/// Blocks per coded piece: bounds the decoder's scratch memory per piece (5 MiB).
const PIECE_BLOCKS: usize = 1 << 20;

/// Bytes per block in the raw coding.
const RAW_BLOCK_LEN: usize = 8;

/// Whether `blocks` are written in the coded form: there are enough of them for it to pay, and
/// every zero point fits a byte (always so for parameters that validate).
pub(crate) fn coded(blocks: &[BlockParams]) -> bool {
    blocks.len() >= MIN_CODED_BLOCKS
        && blocks
            .iter()
            .all(|block| u8::try_from(block.zero_point).is_ok())
}

/// Appends `blocks` in the form [`coded`] chooses for them.
pub(crate) fn encode(blocks: &[BlockParams], out: &mut Vec<u8>) -> Result<()> {
    if coded(blocks) {
        return encode_planes(blocks, out);
    }
    for block in blocks {
        put_f32(out, block.scale);
        put_i32(out, block.zero_point);
    }
    Ok(())
}

fn encode_planes(blocks: &[BlockParams], out: &mut Vec<u8>) -> Result<()> {
    let mut piece = Vec::new();
    let mut zeros = Vec::new();
    for (index, blocks) in blocks.chunks(PIECE_BLOCKS).enumerate() {
        piece.clear();
        zeros.clear();
        for block in blocks {
            piece.extend_from_slice(&block.scale.to_le_bytes());
            // `coded` checked that it fits.
            zeros.push(u8::try_from(block.zero_point).unwrap_or(0));
        }
        let mut chunk = Vec::new();
        lossless::encode_chunk(FloatLayout::F32, &piece, &mut chunk)
            .map_err(|source| encode_error(index, source))?;
        put_varint(out, as_u64(chunk.len()));
        out.extend_from_slice(&chunk);
        chunk.clear();
        write_plane(ChunkPlane::ZeroPoints, &plan(&zeros), &zeros, &mut chunk)
            .map_err(|source| encode_error(index, source))?;
        put_varint(out, as_u64(chunk.len()));
        out.extend_from_slice(&chunk);
    }
    Ok(())
}

/// Pieces are never empty nor over the codec's limits, so this is not expected to happen.
fn encode_error(piece: usize, source: LosslessError) -> Error {
    Error::LosslessEncode {
        tensor: "<block parameters>".to_owned(),
        chunk: piece,
        source,
    }
}

/// Reads `count` blocks (a count the caller checked against the tensor's layout) in the raw or
/// the coded form.
pub(crate) fn decode(
    cursor: &mut Cursor<'_>,
    count: usize,
    coded: bool,
) -> Result<Vec<BlockParams>> {
    if coded {
        return decode_planes(cursor, count);
    }
    let mut blocks = Vec::with_capacity(count.min(cursor.remaining() / RAW_BLOCK_LEN));
    for _ in 0..count {
        let scale = cursor.f32("block scale")?;
        let zero_point = cursor.i32("block zero point")?;
        blocks.push(BlockParams { scale, zero_point });
    }
    Ok(blocks)
}

fn decode_planes(cursor: &mut Cursor<'_>, count: usize) -> Result<Vec<BlockParams>> {
    // Grows piece by piece, so memory follows the pieces present rather than the declared count:
    // a piece takes at least a few bytes, and stands for at most PIECE_BLOCKS blocks.
    let mut blocks = Vec::new();
    let mut scales = Vec::new();
    let mut zero_scratch = Vec::new();
    let mut remaining = count;
    while remaining > 0 {
        let len = remaining.min(PIECE_BLOCKS);
        scales.clear();
        scales.resize(len * 4, 0);
        let (chunk_offset, chunk) = piece_part(cursor, "block scales chunk")?;
        lossless::decode_chunk(FloatLayout::F32, chunk, &mut scales).map_err(|err| {
            Error::format(chunk_offset, "a valid block scales chunk", err.to_string())
        })?;
        let (zeros_offset, zeros) = piece_part(cursor, "block zero points plane")?;
        zero_scratch.clear();
        zero_scratch.resize(len, 0);
        let mut reader = ChunkReader::new(zeros);
        let zero_points = decode_plane_bytes(
            ChunkPlane::ZeroPoints,
            &mut reader,
            zeros,
            &mut zero_scratch,
        )
        .map_err(|err| Error::format(zeros_offset, "a valid zero points plane", err.to_string()))?;
        if !reader.rest().is_empty() {
            return Err(Error::format(
                zeros_offset,
                "a zero points plane that fills its length",
                format!("{} unused bytes", reader.rest().len()),
            ));
        }
        blocks.extend(
            scales
                .chunks_exact(4)
                .zip(zero_points)
                .map(|(scale, &zero)| BlockParams {
                    scale: f32::from_le_bytes([scale[0], scale[1], scale[2], scale[3]]),
                    zero_point: i32::from(zero),
                }),
        );
        remaining -= len;
    }
    Ok(blocks)
}

/// A length-prefixed part of a piece and the offset where its bytes start.
fn piece_part<'a>(cursor: &mut Cursor<'a>, what: &'static str) -> Result<(u64, &'a [u8])> {
    let len_offset = cursor.offset();
    let len = cursor.varint(what)?;
    let len = usize::try_from(len)
        .ok()
        .filter(|&len| len <= cursor.remaining())
        .ok_or_else(|| {
            Error::format(
                len_offset,
                format!(
                    "a {what} length within the record ({} bytes left)",
                    cursor.remaining()
                ),
                len.to_string(),
            )
        })?;
    let offset = cursor.offset();
    Ok((offset, cursor.take(len, what)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(blocks: &[BlockParams]) -> (Vec<u8>, Vec<BlockParams>) {
        let mut bytes = Vec::new();
        encode(blocks, &mut bytes).unwrap();
        let mut cursor = Cursor::new(&bytes, 0);
        let decoded = decode(&mut cursor, blocks.len(), coded(blocks)).unwrap();
        assert_eq!(cursor.remaining(), 0, "the whole encoding is consumed");
        (bytes, decoded)
    }

    fn grid_blocks(count: usize) -> Vec<BlockParams> {
        (0..count)
            .zip((0..97u8).cycle().zip((120..137).cycle()))
            .map(|(_, (step, zero_point))| BlockParams {
                // Scales of one magnitude with varied mantissas, zero points in a narrow band.
                scale: 0.001 * (1.0 + f32::from(step) / 97.0),
                zero_point,
            })
            .collect()
    }

    #[test]
    fn many_blocks_are_coded_smaller_than_raw_and_round_trip_exactly() {
        let blocks = grid_blocks(50_000);
        assert!(coded(&blocks));
        let (bytes, decoded) = round_trip(&blocks);
        assert!(
            bytes.len() < blocks.len() * RAW_BLOCK_LEN * 3 / 4,
            "{} bytes",
            bytes.len()
        );
        assert_eq!(decoded.len(), blocks.len());
        for (a, b) in decoded.iter().zip(&blocks) {
            assert_eq!(a.scale.to_bits(), b.scale.to_bits());
            assert_eq!(a.zero_point, b.zero_point);
        }
    }

    #[test]
    fn a_single_block_and_wide_zero_points_stay_raw() {
        let one = [BlockParams {
            scale: 0.5,
            zero_point: 3,
        }];
        assert!(!coded(&one));
        let (bytes, decoded) = round_trip(&one);
        assert_eq!(bytes.len(), RAW_BLOCK_LEN);
        assert_eq!(decoded, one);
        let mut wide = grid_blocks(5_000);
        wide[7].zero_point = 300;
        assert!(!coded(&wide));
        let (bytes, decoded) = round_trip(&wide);
        assert_eq!(bytes.len(), wide.len() * RAW_BLOCK_LEN);
        assert_eq!(decoded, wide);
    }

    #[test]
    fn pieces_split_past_the_piece_size() {
        let blocks = grid_blocks(PIECE_BLOCKS + 3);
        let (_, decoded) = round_trip(&blocks);
        assert_eq!(decoded, blocks);
    }

    #[test]
    fn truncations_and_bad_codings_are_format_errors() {
        let blocks = grid_blocks(3_000);
        let mut bytes = Vec::new();
        encode(&blocks, &mut bytes).unwrap();
        for len in 0..bytes.len() {
            let mut cursor = Cursor::new(&bytes[..len], 100);
            let err = decode(&mut cursor, blocks.len(), true).unwrap_err();
            assert!(matches!(err, Error::Format { .. }), "length {len}: {err:?}");
        }
        // A scales chunk length past the record's end names the length field.
        let mut bad = bytes.clone();
        bad[0] = 0xff;
        bad[1] = 0x7f;
        let err = decode(&mut Cursor::new(&bad, 100), blocks.len(), true).unwrap_err();
        assert!(matches!(&err, Error::Format { offset: 100, .. }), "{err:?}");
        // Claiming more blocks than the pieces hold runs out of bytes instead of allocating.
        let err = decode(&mut Cursor::new(&bytes, 0), 1 << 27, true).unwrap_err();
        assert!(matches!(err, Error::Format { .. }), "{err:?}");
    }
}
