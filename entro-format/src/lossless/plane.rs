//! Coding one byte plane of a chunk: stored raw, as one constant, or Huffman-coded.
//!
//! ```text
//! mode 0, raw:      the plane's bytes, one per element
//! mode 1, constant: one byte, the value of every element (0 bits per element)
//! mode 2, huffman:  codebook (entro-huffman serialized form), coded length (u32 LE),
//!                   then one entro-huffman chunk coding the plane
//! ```

use std::ops::Range;

use entro_huffman::{Alphabet, Codebook, DEFAULT_MAX_CODE_LENGTH, DecodeTable, Histogram, encode};

use super::LosslessError;
use super::reader::ChunkReader;

const MODE_RAW: u8 = 0;
const MODE_CONSTANT: u8 = 1;
const MODE_HUFFMAN: u8 = 2;

/// Fixed bytes of an entro-huffman chunk (its stream lengths) plus the padding of its streams.
const HUFFMAN_CHUNK_OVERHEAD: u64 = 12 + 4;

/// Huffman must save at least 1/64 of a plane's raw size (1.6 %, an eighth of a bit per element):
/// a raw plane decodes several times faster than a Huffman-coded one.
const MIN_SAVING_SHIFT: u32 = 6;

/// Appends the cheapest coding of `plane` to `out`.
pub(crate) fn encode_plane(
    index: usize,
    plane: &[u8],
    out: &mut Vec<u8>,
) -> Result<(), LosslessError> {
    let histogram = Histogram::from_symbols(plane);
    if let (1, Some(&value)) = (histogram.distinct(), plane.first()) {
        out.extend_from_slice(&[MODE_CONSTANT, value]);
        return Ok(());
    }
    let raw_bytes = plane.len() as u64;
    let huffman = Codebook::from_histogram(&histogram, Alphabet::Bytes, DEFAULT_MAX_CODE_LENGTH)
        .ok()
        .and_then(|codebook| {
            let bits = codebook.coded_bits(&histogram)?;
            let bytes = bits.div_ceil(8) + HUFFMAN_CHUNK_OVERHEAD + 4;
            let bytes = bytes + codebook.serialized_len() as u64;
            (bytes + (raw_bytes >> MIN_SAVING_SHIFT) < raw_bytes).then_some(codebook)
        });
    match huffman {
        Some(codebook) => {
            out.push(MODE_HUFFMAN);
            codebook.to_bytes(out);
            let len_at = out.len();
            out.extend_from_slice(&[0; 4]);
            let chunks = encode(plane, &codebook, plane.len(), out).map_err(|source| {
                LosslessError::Encode {
                    plane: index,
                    source,
                }
            })?;
            let len = chunks.first().map_or(0, |chunk| chunk.len);
            out[len_at..len_at + 4].copy_from_slice(&len.to_le_bytes());
        }
        None => {
            out.push(MODE_RAW);
            out.extend_from_slice(plane);
        }
    }
    Ok(())
}

/// Where a decoded plane's bytes are.
#[derive(Debug)]
pub(crate) enum PlaneBytes {
    /// Stored raw at this range of the chunk.
    InChunk(Range<usize>),
    /// Written to the plane's scratch buffer.
    InScratch,
}

/// Reads one plane of `scratch.len()` elements from `reader`, decoding it into `scratch` unless it
/// is stored raw.
pub(crate) fn decode_plane(
    index: usize,
    reader: &mut ChunkReader<'_>,
    scratch: &mut [u8],
) -> Result<PlaneBytes, LosslessError> {
    let mode_at = reader.offset();
    match reader.u8()? {
        MODE_RAW => {
            let start = reader.offset();
            reader.skip(scratch.len())?;
            Ok(PlaneBytes::InChunk(start..reader.offset()))
        }
        MODE_CONSTANT => {
            scratch.fill(reader.u8()?);
            Ok(PlaneBytes::InScratch)
        }
        MODE_HUFFMAN => {
            let codebook_at = reader.offset();
            let (codebook, used) =
                Codebook::from_bytes(reader.rest()).map_err(|source| LosslessError::Codebook {
                    offset: codebook_at,
                    plane: index,
                    source,
                })?;
            reader.skip(used)?;
            let len = reader.u32()? as usize;
            let stream_at = reader.offset();
            let stream = reader.take(len)?;
            DecodeTable::new(&codebook)
                .decode_chunk(0, stream, scratch)
                .map_err(|source| LosslessError::Stream {
                    offset: stream_at,
                    plane: index,
                    source,
                })?;
            Ok(PlaneBytes::InScratch)
        }
        found => Err(LosslessError::UnknownPlaneMode {
            offset: mode_at,
            plane: index,
            found,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(plane: &[u8]) -> (Vec<u8>, Vec<u8>) {
        let mut coded = Vec::new();
        encode_plane(0, plane, &mut coded).unwrap();
        let mut scratch = vec![0u8; plane.len()];
        let mut reader = ChunkReader::new(&coded);
        let decoded = match decode_plane(0, &mut reader, &mut scratch).unwrap() {
            PlaneBytes::InChunk(range) => coded[range].to_vec(),
            PlaneBytes::InScratch => scratch,
        };
        assert!(reader.rest().is_empty());
        (coded, decoded)
    }

    #[test]
    fn each_mode_is_chosen_where_it_pays() {
        let constant = vec![0x7f; 1000];
        let (coded, decoded) = round_trip(&constant);
        assert_eq!(coded, [MODE_CONSTANT, 0x7f]);
        assert_eq!(decoded, constant);

        let skewed: Vec<u8> = (0..4000u32)
            .map(|i| [120, 121, 121, 122][(i % 4) as usize])
            .collect();
        let (coded, decoded) = round_trip(&skewed);
        assert_eq!(coded[0], MODE_HUFFMAN);
        assert!(
            coded.len() < 1100,
            "1.5 bits per element, got {} bytes",
            coded.len()
        );
        assert_eq!(decoded, skewed);

        let uniform: Vec<u8> = (0..4096u32).map(|i| (i * 167).to_le_bytes()[0]).collect();
        let (coded, decoded) = round_trip(&uniform);
        assert_eq!(coded[0], MODE_RAW);
        assert_eq!(coded.len(), 1 + uniform.len());
        assert_eq!(decoded, uniform);
    }

    #[test]
    fn unknown_mode_is_named() {
        let mut scratch = [0u8; 4];
        let mut reader = ChunkReader::new(&[7]);
        assert!(matches!(
            decode_plane(3, &mut reader, &mut scratch),
            Err(LosslessError::UnknownPlaneMode {
                offset: 0,
                plane: 3,
                found: 7
            })
        ));
    }
}
