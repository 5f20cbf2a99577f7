//! Encoding and strict decoding of the header: metadata, then one record per tensor.

use std::collections::HashSet;

use crate::bytes::{Cursor, put_count, put_string, put_u8, put_u32, put_varint};
use crate::dtype::Dtype;
use crate::entry::{
    ENCODING_LOSSLESS, ENCODING_QUANTIZED_CODED_PARAMS, ENCODING_QUANTIZED_HUFFMAN,
    ENCODING_QUANTIZED_RELATIVE, ENCODING_RAW, TensorEncoding, TensorEntry,
};
use crate::error::{Error, Result, as_u64, check_limit};
use crate::layout::{PREAMBLE_LEN, align_up};
use crate::limits::{MAX_ELEMENTS, MAX_NAME_LEN, MAX_NDIM, MAX_TENSORS};
use crate::lossless_tensor::LosslessEntry;
use crate::metadata::FileMetadata;
use crate::quantized::{QuantizedEntry, RecordForm};
use crate::relative::CodeForm;

/// Bytes in the smallest possible record: a raw scalar with an empty name.
const MIN_RECORD_LEN: usize = 1 + 1 + 1 + 1 + 1 + 1 + 4;

/// Appends the record of `entry` to `out`.
pub(crate) fn encode_record(entry: &TensorEntry, out: &mut Vec<u8>) -> Result<()> {
    put_string(out, "tensor name length", &entry.name, MAX_NAME_LEN)?;
    put_u8(out, entry.dtype.tag());
    check_limit(
        "tensor dimensions",
        as_u64(entry.shape.len()),
        as_u64(MAX_NDIM),
    )?;
    // MAX_NDIM is far below 256, so the count fits the u8 field.
    put_u8(out, u8::try_from(entry.shape.len()).unwrap_or(u8::MAX));
    for &dim in &entry.shape {
        put_varint(out, as_u64(dim));
    }
    put_u8(out, entry.encoding.tag());
    put_varint(out, entry.payload_offset);
    put_varint(out, entry.payload_len);
    match &entry.encoding {
        TensorEncoding::Raw { crc32c } => put_u32(out, *crc32c),
        TensorEncoding::Quantized(quantized) => quantized.encode(out)?,
        TensorEncoding::Lossless(lossless) => lossless.encode(out)?,
    }
    Ok(())
}

/// Reads and validates one record whose payload must start at `payload_start`
/// (the tiling position) and end by `payload_limit` (the header offset).
/// Checks everything that one record determines; the padding bytes between
/// payloads are checked by the reader.
pub(crate) fn decode_record(
    cursor: &mut Cursor<'_>,
    payload_start: u64,
    payload_limit: u64,
) -> Result<TensorEntry> {
    let name = cursor
        .string("tensor name length", MAX_NAME_LEN)?
        .to_owned();
    let dtype_offset = cursor.offset();
    let dtype_tag = cursor.u8("dtype tag")?;
    let dtype = Dtype::from_tag(dtype_tag)
        .ok_or_else(|| Error::format(dtype_offset, "a known dtype tag", dtype_tag.to_string()))?;
    let ndim = usize::from(cursor.u8("dimension count")?);
    check_limit("tensor dimensions", as_u64(ndim), as_u64(MAX_NDIM))?;
    let mut shape = Vec::with_capacity(ndim);
    let mut elements: u64 = 1;
    for _ in 0..ndim {
        let dim = cursor.varint("dimension")?;
        elements = elements
            .checked_mul(dim)
            .ok_or_else(|| Error::limit("tensor elements", MAX_ELEMENTS, u64::MAX))?;
        check_limit("tensor elements", elements, MAX_ELEMENTS)?;
        shape.push(usize::try_from(dim).map_err(|_| Error::limit("dimension", MAX_ELEMENTS, dim))?);
    }
    let tag_offset = cursor.offset();
    let tag = cursor.u8("encoding tag")?;
    if ![
        ENCODING_RAW,
        ENCODING_QUANTIZED_HUFFMAN,
        ENCODING_LOSSLESS,
        ENCODING_QUANTIZED_CODED_PARAMS,
        ENCODING_QUANTIZED_RELATIVE,
    ]
    .contains(&tag)
    {
        return Err(Error::UnsupportedEncoding {
            tensor: name,
            tag,
            offset: tag_offset,
        });
    }
    let offset_offset = cursor.offset();
    let payload_offset = cursor.varint("payload offset")?;
    if payload_offset != payload_start {
        return Err(Error::format(
            offset_offset,
            format!(
                "payload offset {payload_start} (the first aligned byte after the previous payload)"
            ),
            payload_offset.to_string(),
        ));
    }
    let len_offset = cursor.offset();
    let payload_len = cursor.varint("payload length")?;
    let payload_room = payload_limit.saturating_sub(payload_start);
    if payload_len > payload_room {
        return Err(Error::format(
            len_offset,
            format!("a payload length of at most {payload_room} (it must end before the header)"),
            payload_len.to_string(),
        ));
    }
    let encoding = if tag == ENCODING_RAW {
        let expected = dtype.byte_len(elements).ok_or_else(|| {
            Error::format(
                dtype_offset,
                format!("a whole number of bytes for {elements} elements of {dtype}"),
                "a partial byte",
            )
        })?;
        if payload_len != expected {
            return Err(Error::format(
                len_offset,
                format!("payload length {expected} ({elements} elements of {dtype})"),
                payload_len.to_string(),
            ));
        }
        TensorEncoding::Raw {
            crc32c: cursor.u32("payload checksum")?,
        }
    } else if tag != ENCODING_LOSSLESS {
        let form = RecordForm {
            coded_params: tag != ENCODING_QUANTIZED_HUFFMAN,
            codes: if tag == ENCODING_QUANTIZED_RELATIVE {
                CodeForm::RelativeToZeroPoints
            } else {
                CodeForm::Absolute
            },
        };
        let quantized = QuantizedEntry::decode(cursor, dtype, &shape, elements, payload_len, form)?;
        TensorEncoding::Quantized(Box::new(quantized))
    } else {
        let lossless = LosslessEntry::decode(cursor, dtype, elements, payload_len)?;
        TensorEncoding::Lossless(Box::new(lossless))
    };
    Ok(TensorEntry {
        name,
        dtype,
        shape,
        elements,
        payload_offset,
        payload_len,
        encoding,
    })
}

/// The header bytes: metadata, tensor count, then the already encoded records.
pub(crate) fn encode_header(
    metadata: &FileMetadata,
    tensor_count: usize,
    records: &[u8],
) -> Result<Vec<u8>> {
    let mut header = Vec::with_capacity(records.len().saturating_add(256));
    metadata.encode(&mut header)?;
    put_count(&mut header, "tensor count", tensor_count, MAX_TENSORS)?;
    header.extend_from_slice(records);
    Ok(header)
}

/// Parses a whole header that starts at absolute offset `base`; every byte must be used.
pub(crate) fn decode_header(header: &[u8], base: u64) -> Result<(FileMetadata, Vec<TensorEntry>)> {
    let mut cursor = Cursor::new(header, base);
    let metadata = FileMetadata::decode(&mut cursor)?;
    let count = cursor.count("tensor count", MAX_TENSORS)?;
    // The header length, not the untrusted count, bounds the allocation.
    let mut tensors = Vec::with_capacity(count.min(cursor.remaining() / MIN_RECORD_LEN));
    let mut names = HashSet::with_capacity(tensors.capacity());
    // Payloads tile the file: each starts at the first aligned byte after the last.
    let mut payload_end = as_u64(PREAMBLE_LEN);
    for _ in 0..count {
        let offset = cursor.offset();
        let payload_start = align_up(payload_end)
            .ok_or_else(|| Error::format(offset, "offsets that fit in 64 bits", "an overflow"))?;
        let entry = decode_record(&mut cursor, payload_start, base)?;
        // decode_record checked that the payload ends before the header at `base`.
        payload_end = payload_start.saturating_add(entry.payload_len);
        if !names.insert(entry.name.clone()) {
            return Err(Error::format(
                offset,
                "unique tensor names",
                format!("`{}` a second time", entry.name),
            ));
        }
        tensors.push(entry);
    }
    cursor.finish("the header")?;
    Ok((metadata, tensors))
}
