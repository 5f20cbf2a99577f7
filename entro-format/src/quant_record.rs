//! The body of a quantized tensor's record: parameters, statistics, codebook, chunk table.

use entro_huffman::{Alphabet, Codebook, MAX_CHUNK_CODES};
use entro_quant::{BlockLayout, BlockParams, ChosenScheme, Granularity, QuantParams, QuantStats};

use crate::bytes::{Cursor, put_count, put_f32, put_f64, put_i32, put_u8, put_u32, put_varint};
use crate::dtype::Dtype;
use crate::entry::ChunkEntry;
use crate::error::{Error, Result, as_u64};
use crate::limits::{MAX_BLOCKS, MAX_CHUNKS, MAX_CODEBOOK_LEN};
use crate::quantized::QuantizedEntry;

/// Bytes per quantization block: `f32` scale and `i32` zero point.
const BLOCK_LEN: usize = 8;
/// Fewest bytes per chunk table entry: a one-byte varint length and a `u32` CRC-32C.
const CHUNK_ENTRY_LEN: usize = 5;

pub(crate) fn encode(entry: &QuantizedEntry, out: &mut Vec<u8>) -> Result<()> {
    let params = &entry.params;
    put_u8(out, params.bits);
    put_u8(out, params.scheme.tag());
    let (granularity_tag, group) = params.granularity.to_parts();
    put_u8(out, granularity_tag);
    put_varint(out, u64::from(group));
    put_count(out, "quantization blocks", params.blocks.len(), MAX_BLOCKS)?;
    for block in &params.blocks {
        put_f32(out, block.scale);
        put_i32(out, block.zero_point);
    }
    encode_stats(&entry.stats, out);
    let mut codebook = Vec::new();
    entry.codebook.to_bytes(&mut codebook);
    put_count(out, "codebook length", codebook.len(), MAX_CODEBOOK_LEN)?;
    out.extend_from_slice(&codebook);
    put_varint(out, u64::from(entry.chunk_codes));
    put_count(out, "chunk count", entry.chunks.len(), MAX_CHUNKS)?;
    for chunk in &entry.chunks {
        put_varint(out, u64::from(chunk.len));
        put_u32(out, chunk.crc32c);
    }
    Ok(())
}

fn encode_stats(stats: &QuantStats, out: &mut Vec<u8>) {
    for value in [stats.min, stats.max, stats.range_min, stats.range_max] {
        put_f32(out, value);
    }
    for value in [
        stats.entropy_bits,
        stats.squared_error,
        stats.squared_weight,
        stats.rel_rms_error,
        stats.max_abs_error,
        stats.snr_db,
    ] {
        put_f64(out, value);
    }
    put_varint(out, stats.saturated);
}

/// Reads and validates a quantized record body for a tensor of `shape`
/// (`elements` elements) whose payload is `payload_len` bytes.
pub(crate) fn decode(
    cursor: &mut Cursor<'_>,
    dtype: Dtype,
    shape: &[usize],
    elements: u64,
    payload_len: u64,
) -> Result<QuantizedEntry> {
    if !dtype.is_quantizable_float() {
        return Err(cursor.error("F32, F16 or BF16 for a quantized tensor", dtype.to_string()));
    }
    let params_offset = cursor.offset();
    let params = decode_params(cursor, shape)?;
    let elements_usize = usize::try_from(elements)
        .map_err(|_| Error::limit("tensor elements", as_u64(usize::MAX), elements))?;
    let stats = decode_stats(cursor, elements_usize)?;
    if let Err(err) = params.validate(shape) {
        return Err(Error::format(
            params_offset,
            "valid quantization parameters",
            err.to_string(),
        ));
    }
    let codebook = decode_codebook(cursor)?;
    if codebook.is_empty() && elements > 0 {
        return Err(cursor.error(
            "a codebook with symbols for a non-empty tensor",
            "an empty codebook",
        ));
    }
    let chunk_codes_offset = cursor.offset();
    let chunk_codes = cursor.varint_u32("codes per chunk")?;
    let pairs = codebook.alphabet() == Alphabet::NibblePairs;
    if chunk_codes == 0
        || usize::try_from(chunk_codes).map_or(true, |n| n > MAX_CHUNK_CODES)
        || (pairs && chunk_codes % 2 == 1)
    {
        return Err(Error::format(
            chunk_codes_offset,
            format!("1..={MAX_CHUNK_CODES} codes per chunk (even for nibble pairs)"),
            chunk_codes.to_string(),
        ));
    }
    let count_offset = cursor.offset();
    let chunk_count = cursor.count("chunk count", MAX_CHUNKS)?;
    let expected_chunks = elements.div_ceil(u64::from(chunk_codes));
    if as_u64(chunk_count) != expected_chunks {
        return Err(Error::format(
            count_offset,
            format!("{expected_chunks} chunks ({elements} codes, {chunk_codes} per chunk)"),
            chunk_count.to_string(),
        ));
    }
    let mut chunks = Vec::with_capacity(chunk_count.min(cursor.remaining() / CHUNK_ENTRY_LEN));
    let mut offset: u64 = 0;
    for index in 0..chunk_count {
        let first_code = as_u64(index).saturating_mul(u64::from(chunk_codes));
        let codes = elements
            .saturating_sub(first_code)
            .min(u64::from(chunk_codes));
        let len = cursor.varint_u32("chunk length")?;
        let crc32c = cursor.u32("chunk checksum")?;
        // `codes` is at most `chunk_codes`, a u32.
        let codes = u32::try_from(codes).unwrap_or(chunk_codes);
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
    Ok(QuantizedEntry {
        params,
        stats,
        codebook,
        chunk_codes,
        chunks,
    })
}

fn decode_params(cursor: &mut Cursor<'_>, shape: &[usize]) -> Result<QuantParams> {
    let bits = cursor.u8("bit width")?;
    let scheme_offset = cursor.offset();
    let scheme_tag = cursor.u8("scheme tag")?;
    let scheme = ChosenScheme::from_tag(scheme_tag)
        .map_err(|err| Error::format(scheme_offset, "a known scheme tag", err.to_string()))?;
    let granularity_offset = cursor.offset();
    let granularity_tag = cursor.u8("granularity tag")?;
    let group = cursor.varint_u32("group size")?;
    let granularity = Granularity::from_parts(granularity_tag, group)
        .ok()
        .filter(|granularity| granularity.to_parts() == (granularity_tag, group))
        .ok_or_else(|| {
            Error::format(
                granularity_offset,
                "a known granularity (group size 0 unless grouped, positive if grouped)",
                format!("tag {granularity_tag} with group size {group}"),
            )
        })?;
    let count_offset = cursor.offset();
    let count = cursor.count("quantization blocks", MAX_BLOCKS)?;
    let layout = BlockLayout::new(shape, granularity).map_err(|err| {
        Error::format(
            count_offset,
            "a shape the granularity can split",
            err.to_string(),
        )
    })?;
    if count != layout.block_count() {
        return Err(Error::format(
            count_offset,
            format!(
                "{} blocks for {granularity} granularity",
                layout.block_count()
            ),
            count.to_string(),
        ));
    }
    let mut blocks = Vec::with_capacity(count.min(cursor.remaining() / BLOCK_LEN));
    for _ in 0..count {
        let scale = cursor.f32("block scale")?;
        let zero_point = cursor.i32("block zero point")?;
        blocks.push(BlockParams { scale, zero_point });
    }
    Ok(QuantParams {
        bits,
        scheme,
        granularity,
        blocks,
    })
}

/// The element count is not stored: it is the tensor's, which the writer checks.
fn decode_stats(cursor: &mut Cursor<'_>, elements: usize) -> Result<QuantStats> {
    let mut floats = [0f32; 4];
    for value in &mut floats {
        *value = cursor.f32("statistics")?;
    }
    let mut doubles = [0f64; 6];
    for value in &mut doubles {
        *value = cursor.f64("statistics")?;
    }
    let saturated = cursor.varint("saturated count")?;
    let [min, max, range_min, range_max] = floats;
    let [
        entropy_bits,
        squared_error,
        squared_weight,
        rel_rms_error,
        max_abs_error,
        snr_db,
    ] = doubles;
    Ok(QuantStats {
        elements,
        min,
        max,
        range_min,
        range_max,
        entropy_bits,
        squared_error,
        squared_weight,
        rel_rms_error,
        max_abs_error,
        snr_db,
        saturated,
    })
}

fn decode_codebook(cursor: &mut Cursor<'_>) -> Result<Codebook> {
    let len = cursor.count("codebook length", MAX_CODEBOOK_LEN)?;
    let offset = cursor.offset();
    let bytes = cursor.take(len, "codebook")?;
    let (codebook, used) = Codebook::from_bytes(bytes)
        .map_err(|err| Error::format(offset, "a valid canonical codebook", err.to_string()))?;
    if used != len {
        return Err(Error::format(
            offset,
            format!("a codebook of {len} bytes"),
            format!("one of {used} bytes"),
        ));
    }
    Ok(codebook)
}
