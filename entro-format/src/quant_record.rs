//! The body of a quantized tensor's record: parameters, statistics, codebook, chunk table.

use entro_huffman::{Alphabet, Codebook, MAX_CHUNK_CODES};
use entro_quant::{BlockLayout, ChosenScheme, Granularity, QuantParams, QuantStats};

use crate::block_params;
use crate::bytes::{Cursor, put_count, put_f32, put_f64, put_u8, put_varint};
use crate::chunk_table;
use crate::dtype::Dtype;
use crate::error::{Error, Result, as_u64};
use crate::limits::{MAX_BLOCKS, MAX_CODEBOOK_LEN};
use crate::quantized::{QuantizedEntry, RecordForm};
use crate::relative::CodeForm;

pub(crate) fn encode(entry: &QuantizedEntry, out: &mut Vec<u8>) -> Result<()> {
    let params = &entry.params;
    put_u8(out, params.bits);
    put_u8(out, params.scheme.tag());
    let (granularity_tag, group) = params.granularity.to_parts();
    put_u8(out, granularity_tag);
    put_varint(out, u64::from(group));
    put_count(out, "quantization blocks", params.blocks.len(), MAX_BLOCKS)?;
    block_params::encode(&params.blocks, out)?;
    encode_stats(&entry.stats, out);
    let mut codebook = Vec::new();
    entry.codebook.to_bytes(&mut codebook);
    put_count(out, "codebook length", codebook.len(), MAX_CODEBOOK_LEN)?;
    out.extend_from_slice(&codebook);
    put_varint(out, u64::from(entry.chunk_codes));
    chunk_table::encode(&entry.chunks, out)
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
/// (`elements` elements) whose payload is `payload_len` bytes; `form` is what the encoding tag
/// announced.
pub(crate) fn decode(
    cursor: &mut Cursor<'_>,
    dtype: Dtype,
    shape: &[usize],
    elements: u64,
    payload_len: u64,
    form: RecordForm,
) -> Result<QuantizedEntry> {
    if !dtype.is_quantizable_float() {
        return Err(cursor.error("F32, F16 or BF16 for a quantized tensor", dtype.to_string()));
    }
    let params_offset = cursor.offset();
    let params = decode_params(cursor, shape, form.coded_params)?;
    if form.codes == CodeForm::RelativeToZeroPoints && !block_params::coded(&params.blocks) {
        // The writer only stores relative codes with coded parameters, so that re-encoding the
        // entry gives the same tag.
        return Err(Error::format(
            params_offset,
            "64 or more blocks for codes relative to zero points",
            params.blocks.len().to_string(),
        ));
    }
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
    let chunks = chunk_table::decode(cursor, elements, chunk_codes, payload_len)?;
    Ok(QuantizedEntry {
        params,
        stats,
        codebook,
        chunk_codes,
        chunks,
        code_form: form.codes,
    })
}

fn decode_params(
    cursor: &mut Cursor<'_>,
    shape: &[usize],
    coded_params: bool,
) -> Result<QuantParams> {
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
    let blocks = block_params::decode(cursor, count, coded_params)?;
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
