//! Elements coded plainly: the top 16 bits as two byte planes (see the layout module), and for
//! F32 the low 16 bits bit-packed per segment.
//!
//! ```text
//! split      u8, j in 0..=7
//! plane 0    (top >> (7 - j)) & 0xff, one per element
//! plane 1    the other 8 top bits
//! low        F32 only: see the low module
//! ```

use entro_huffman::Histogram;

use super::layout::{FloatLayout, MAX_SPLIT, Split, low_u16};
use super::low::{decode_low, encode_low};
use super::plane::{ChunkPlane, decode_plane_bytes, plan_bytes, write_plane};
use super::reader::ChunkReader;
use super::{ChunkStats, LosslessError};

/// Appends the plain coding of `elements` (a whole number of elements, possibly none).
pub(crate) fn encode_plain(
    layout: FloatLayout,
    elements: &[u8],
    out: &mut Vec<u8>,
    stats: &mut ChunkStats,
) -> Result<(), LosslessError> {
    let element_bytes = layout.element_bytes();
    if elements.is_empty() {
        return Ok(());
    }
    let bits = elements
        .chunks_exact(element_bytes)
        .map(|element| layout.read_bits(element));
    let (tops, lows): (Vec<u16>, Vec<u16>) = match layout {
        FloatLayout::F32 => bits
            .map(|bits| (low_u16(bits >> 16), low_u16(bits)))
            .unzip(),
        FloatLayout::F16 | FloatLayout::BF16 => (bits.map(low_u16).collect(), Vec::new()),
    };
    let mut counts = vec![0u64; 1 << 16];
    for &top in &tops {
        counts[usize::from(top)] += 1;
    }
    // Every split's plane histograms follow from the counts of whole top halves.
    let (j, plans) = (0..=MAX_SPLIT)
        .map(|j| {
            let split = Split::new(j);
            let mut plane0 = [0u64; 256];
            let mut plane1 = [0u64; 256];
            for (top, &count) in (0..=u16::MAX).zip(&counts) {
                if count > 0 {
                    let (p0, p1) = split.split(top);
                    plane0[usize::from(p0)] += count;
                    plane1[usize::from(p1)] += count;
                }
            }
            let plans = [plane0, plane1].map(|counts| plan_bytes(&Histogram::from_counts(counts)));
            (j, plans)
        })
        .min_by_key(|(_, plans)| plans[0].bytes + plans[1].bytes)
        .unwrap_or_else(|| unreachable!("the range of splits is not empty"));
    let split = Split::new(j);
    let (plane0, plane1): (Vec<u8>, Vec<u8>) = tops.iter().map(|&top| split.split(top)).unzip();
    out.push(j);
    stats.split = Some(j);
    stats.header_bytes += 1;
    for ((index, plan), plane) in [0u8, 1].into_iter().zip(&plans).zip([plane0, plane1]) {
        let start = out.len();
        write_plane(ChunkPlane::Top(index), plan, &plane, out)?;
        stats.top_bytes[usize::from(index)] += out.len() - start;
    }
    if layout == FloatLayout::F32 {
        stats.low_bytes += encode_low(&lows, out)?;
    }
    Ok(())
}

/// Decodes the plain coding of `out.len() / element_bytes` elements into `out`.
pub(crate) fn decode_plain(
    layout: FloatLayout,
    reader: &mut ChunkReader<'_>,
    chunk: &[u8],
    out: &mut [u8],
) -> Result<(), LosslessError> {
    let count = out.len() / layout.element_bytes();
    if count == 0 {
        return Ok(());
    }
    let split_at = reader.offset();
    let j = reader.u8()?;
    if j > MAX_SPLIT {
        return Err(LosslessError::InvalidField {
            offset: split_at,
            what: "split shift",
            expected: format!("at most {MAX_SPLIT}"),
            found: u64::from(j),
        });
    }
    let split = Split::new(j);
    let mut scratch0 = vec![0u8; count];
    let mut scratch1 = vec![0u8; count];
    let plane0 = decode_plane_bytes(ChunkPlane::Top(0), reader, chunk, &mut scratch0)?;
    let plane1 = decode_plane_bytes(ChunkPlane::Top(1), reader, chunk, &mut scratch1)?;
    match layout {
        FloatLayout::F16 | FloatLayout::BF16 => {
            for ((element, &p0), &p1) in out.chunks_exact_mut(2).zip(plane0).zip(plane1) {
                element.copy_from_slice(&split.join(p0, p1).to_le_bytes());
            }
        }
        FloatLayout::F32 => {
            let mut low_scratch = vec![0u8; count * 2];
            let lows = decode_low(reader, chunk, &mut low_scratch)?;
            let planes = plane0.iter().zip(plane1).zip(lows.chunks_exact(2));
            for (element, ((&p0, &p1), low)) in out.chunks_exact_mut(4).zip(planes) {
                let [b2, b3] = split.join(p0, p1).to_le_bytes();
                element.copy_from_slice(&[low[0], low[1], b2, b3]);
            }
        }
    }
    Ok(())
}
