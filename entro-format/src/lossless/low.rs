//! The low 16 bits of F32 elements, bit-packed per segment.
//!
//! The elements coded plainly are cut into segments of [`SEGMENT`] elements (the last may be
//! shorter). Each segment keeps only the top `w` of the 16 low bits, where `16 - w` is the number of
//! trailing zero bits all of its elements share: F32 tensors converted from F16 or BF16, or padded
//! rows, have 13 or 16 of them. Layout:
//!
//! ```text
//! widths plane   one byte per segment, w in 0..=16 (a plane: usually constant 16, 2 bytes)
//! packed bits    per segment, its elements' kept bits, w each, least significant bit first,
//!                the segment padded with zero bits to a whole byte (w = 16: plain LE u16s)
//! ```

use super::LosslessError;
use super::plane::{ChunkPlane, HuffmanMargin, PlaneBytes, decode_plane, encode_plane};
use super::reader::ChunkReader;

/// Elements per segment: a few rows of a typical matrix, so that rows of reduced precision are
/// caught, while the width byte costs at most 1/8 bit per element.
pub(crate) const SEGMENT: usize = 64;

/// Widths: full precision.
const FULL: u8 = 16;

/// Appends the widths plane and the packed bits of `lows`; returns the bytes written.
pub(crate) fn encode_low(
    lows: &[u16],
    margin: HuffmanMargin,
    out: &mut Vec<u8>,
) -> Result<usize, LosslessError> {
    let start = out.len();
    let widths: Vec<u8> = lows.chunks(SEGMENT).map(segment_width).collect();
    encode_plane(ChunkPlane::LowWidths, &widths, margin, out)?;
    for (segment, &width) in lows.chunks(SEGMENT).zip(&widths) {
        match width {
            0 => {}
            FULL => segment
                .iter()
                .for_each(|low| out.extend_from_slice(&low.to_le_bytes())),
            _ => pack(segment, width, out),
        }
    }
    Ok(out.len() - start)
}

/// 16 minus the trailing zero bits every element of `segment` has.
fn segment_width(segment: &[u16]) -> u8 {
    let ored = segment.iter().fold(0u16, |acc, &low| acc | low);
    // trailing_zeros of a u16 is at most 16.
    FULL - u8::try_from(ored.trailing_zeros()).unwrap_or(FULL)
}

fn pack(segment: &[u16], width: u8, out: &mut Vec<u8>) {
    let drop = u32::from(FULL - width);
    let mut acc = 0u64;
    let mut bits = 0u32;
    for &low in segment {
        acc |= u64::from(low >> drop) << bits;
        bits += u32::from(width);
        while bits >= 8 {
            out.push(acc.to_le_bytes()[0]);
            acc >>= 8;
            bits -= 8;
        }
    }
    if bits > 0 {
        out.push(acc.to_le_bytes()[0]);
    }
}

/// Reads the low halves of `scratch.len() / 2` elements as little-endian u16s: straight from the
/// chunk when every segment has full width, else unpacked into `scratch`.
pub(crate) fn decode_low<'a>(
    reader: &mut ChunkReader<'_>,
    chunk: &'a [u8],
    scratch: &'a mut [u8],
) -> Result<&'a [u8], LosslessError> {
    let count = scratch.len() / 2;
    let segments = count.div_ceil(SEGMENT);
    let mut widths = vec![0u8; segments];
    let widths_at = reader.offset();
    let widths = match decode_plane(ChunkPlane::LowWidths, reader, &mut widths)? {
        PlaneBytes::Constant(FULL) => {
            let start = reader.offset();
            reader.skip(count * 2)?;
            return Ok(chunk.get(start..reader.offset()).unwrap_or(&[]));
        }
        PlaneBytes::Constant(width) => {
            widths.fill(width);
            widths
        }
        PlaneBytes::InChunk(range) => chunk.get(range).unwrap_or(&[]).to_vec(),
        PlaneBytes::InScratch => widths,
    };
    if let Some(&width) = widths.iter().find(|&&width| width > FULL) {
        return Err(LosslessError::InvalidField {
            offset: widths_at,
            what: "low-bit width",
            expected: format!("at most {FULL}"),
            found: u64::from(width),
        });
    }
    for (segment, &width) in scratch.chunks_mut(SEGMENT * 2).zip(&widths) {
        let packed_at = reader.offset();
        let packed = reader.take((segment.len() / 2 * usize::from(width)).div_ceil(8))?;
        match width {
            0 => segment.fill(0),
            FULL => segment.copy_from_slice(packed),
            _ => unpack(packed, width, segment).map_err(|()| LosslessError::InvalidField {
                offset: packed_at,
                what: "low-bit padding",
                expected: "zero bits".to_owned(),
                found: u64::from(packed.last().copied().unwrap_or(0)),
            })?,
        }
    }
    Ok(scratch)
}

/// Unpacks `segment.len() / 2` values of `width` bits into LE u16s; `Err` for non-zero padding.
fn unpack(packed: &[u8], width: u8, segment: &mut [u8]) -> Result<(), ()> {
    let drop = u32::from(FULL - width);
    let mask = (1u64 << width) - 1;
    let mut bytes = packed.iter();
    let mut acc = 0u64;
    let mut bits = 0u32;
    for slot in segment.chunks_exact_mut(2) {
        while bits < u32::from(width) {
            acc |= u64::from(bytes.next().copied().unwrap_or(0)) << bits;
            bits += 8;
        }
        // The value has at most 15 bits and is shifted back into a u16.
        let low = low_u16_of(acc & mask) << drop;
        slot.copy_from_slice(&low.to_le_bytes());
        acc >>= width;
        bits -= u32::from(width);
    }
    if acc == 0 { Ok(()) } else { Err(()) }
}

/// The low 16 bits of a masked value (the mask keeps at most 15 bits).
fn low_u16_of(value: u64) -> u16 {
    let [b0, b1, ..] = value.to_le_bytes();
    u16::from_le_bytes([b0, b1])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(lows: &[u16]) -> usize {
        let mut coded = Vec::new();
        let written = encode_low(lows, HuffmanMargin::Speed, &mut coded).unwrap();
        assert_eq!(written, coded.len());
        let mut scratch = vec![0u8; lows.len() * 2];
        let mut reader = ChunkReader::new(&coded);
        let decoded = decode_low(&mut reader, &coded, &mut scratch).unwrap();
        let decoded: Vec<u16> = decoded
            .chunks_exact(2)
            .map(|pair| u16::from_le_bytes([pair[0], pair[1]]))
            .collect();
        assert_eq!(decoded, lows);
        assert!(reader.rest().is_empty());
        written
    }

    #[test]
    fn widths_follow_the_shared_trailing_zeros() {
        let full: Vec<u16> = (0..300u16).map(|i| i.wrapping_mul(40_503)).collect();
        assert_eq!(round_trip(&full), 2 + 600);
        // Values converted from f16: 13 trailing zero bits, 3 bits kept per element.
        let from_f16: Vec<u16> = (0..128u16).map(|i| (i % 8) << 13).collect();
        assert_eq!(round_trip(&from_f16), 2 + 2 * 24);
        assert_eq!(round_trip(&[0; 100]), 2);
        let mut mixed = from_f16.clone();
        mixed.extend_from_slice(&full[..77]);
        mixed.push(0x8000);
        round_trip(&mixed);
        for width in 1..16u16 {
            let lows: Vec<u16> = (0..69u16)
                .map(|i| (i.wrapping_mul(7919) | 1) << (16 - width))
                .collect();
            round_trip(&lows);
        }
    }

    #[test]
    fn bad_widths_and_padding_are_format_errors() {
        let mut reader = ChunkReader::new(&[1, 17]);
        let mut scratch = [0u8; 4];
        assert!(matches!(
            decode_low(&mut reader, &[1, 17], &mut scratch),
            Err(LosslessError::InvalidField {
                offset: 0,
                found: 17,
                ..
            })
        ));
        // Two elements of width 3 fit one byte; its top two bits must be zero.
        let chunk = [1, 3, 0b1100_0000];
        let mut reader = ChunkReader::new(&chunk);
        assert!(matches!(
            decode_low(&mut reader, &chunk, &mut scratch),
            Err(LosslessError::InvalidField { offset: 2, .. })
        ));
    }
}
