//! Elements coded plainly. The top 16 bits of an element are `s xxxxxxxx yyyyyyy`: the sign, 8
//! bits `x` (the exponent for BF16 and F32; for F16 its 5-bit exponent and top 3 mantissa bits),
//! and 7 low bits `y`. A chunk picks `k` (how many top bits of `y` join `x`) and a window of
//! `2^(8 - k) - 1` values of `x` starting at `base`:
//!
//! ```text
//! k          u8, 0..=7
//! base       u8
//! escapes    u32 LE, elements whose x lies outside the window
//! plane 0    one symbol per element: (x - base) << k | top k bits of y, where x - base is
//!            2^(8 - k) - 1 for an escaped element
//! escapes    plane of the escaped elements' x, in order
//! rest       sign and low 7 - k bits of y, 8 - k bits per element (packing module)
//! low        F32 only: the low 16 bits (low module)
//! ```
//!
//! Weights use few exponents, so plane 0 is Huffman-coded to about 2.6 bits plus k (its top
//! bits depend on the exponent), while the sign and low mantissa bits, close to uniform, are
//! stored as they are and decode at memory speed.

use super::layout::{FloatLayout, low_u16};
use super::low::{decode_low, encode_low};
use super::packing::{pack, packed_len, unpack};
use super::plane::{ChunkPlane, HuffmanMargin, decode_plane_bytes, encode_plane};
use super::reader::ChunkReader;
use super::scratch::{Scratch, as_le_u16, as_le_u32};
use super::window::{Joiner, MAX_K, Window, best_window, is_escape};
use super::{ChunkStats, LosslessError};

/// Elements joined per step (a multiple of 8, so that blocks of packed fields start on bytes).
const JOIN_BLOCK: usize = 4096;

/// Symbols screened at once for escapes.
const ESCAPE_GROUP: usize = 64;

/// Appends the plain coding of `elements` (a whole number of elements, possibly none).
pub(crate) fn encode_plain(
    layout: FloatLayout,
    elements: &[u8],
    margin: HuffmanMargin,
    out: &mut Vec<u8>,
    stats: &mut ChunkStats,
) -> Result<(), LosslessError> {
    if elements.is_empty() {
        return Ok(());
    }
    let bits = elements
        .chunks_exact(layout.element_bytes())
        .map(|element| layout.read_bits(element));
    let (tops, lows): (Vec<u16>, Vec<u16>) = match layout {
        FloatLayout::F32 => bits
            .map(|bits| (low_u16(bits >> 16), low_u16(bits)))
            .unzip(),
        FloatLayout::F16 | FloatLayout::BF16 => (bits.map(low_u16).collect(), Vec::new()),
    };
    let window = best_window(&tops);
    let mut symbols = Vec::with_capacity(tops.len());
    let mut rests = Vec::with_capacity(tops.len());
    let mut escaped = Vec::new();
    for &top in &tops {
        let (symbol, escapes) = window.symbol(top);
        symbols.push(symbol);
        rests.push(window.rest(top));
        if escapes {
            escaped.push((top >> 7 & 0xff).to_le_bytes()[0]);
        }
    }
    let start = out.len();
    out.extend_from_slice(&[window.k, window.base]);
    // At most MAX_CHUNK_ELEMENTS escapes.
    out.extend_from_slice(
        &u32::try_from(escaped.len())
            .unwrap_or(u32::MAX)
            .to_le_bytes(),
    );
    stats.joined_mantissa_bits = Some(window.k);
    stats.header_bytes += out.len() - start;
    stats.top_bytes[0] += encode_plane(ChunkPlane::Top(0), &symbols, margin, out)?;
    let rest_start = out.len();
    encode_plane(ChunkPlane::Escapes, &escaped, margin, out)?;
    pack(&rests, 8 - window.k, out);
    stats.top_bytes[1] += out.len() - rest_start;
    if layout == FloatLayout::F32 {
        stats.low_bytes += encode_low(&lows, margin, out)?;
    }
    Ok(())
}

/// Decodes the plain coding of `out.len() / element_bytes` elements into `out`.
pub(crate) fn decode_plain(
    layout: FloatLayout,
    reader: &mut ChunkReader<'_>,
    chunk: &[u8],
    scratch: &mut Scratch,
    out: &mut [u8],
) -> Result<(), LosslessError> {
    let count = out.len() / layout.element_bytes();
    if count == 0 {
        return Ok(());
    }
    let k_at = reader.offset();
    let k = reader.u8()?;
    if k > MAX_K {
        return Err(LosslessError::InvalidField {
            offset: k_at,
            what: "mantissa bits joined to the exponent",
            expected: format!("at most {MAX_K}"),
            found: u64::from(k),
        });
    }
    let window = Window {
        k,
        base: reader.u8()?,
    };
    let escapes_at = reader.offset();
    let escapes = reader.u32()? as usize;
    if escapes > count {
        return Err(LosslessError::InvalidField {
            offset: escapes_at,
            what: "escape count",
            expected: format!("at most {count} (the element count)"),
            found: escapes as u64,
        });
    }
    let mut symbols_buffer = scratch.buffer(count);
    let symbols = decode_plane_bytes(ChunkPlane::Top(0), reader, chunk, &mut symbols_buffer)?;
    let mut escaped_buffer = scratch.buffer(escapes);
    let escaped = decode_plane_bytes(ChunkPlane::Escapes, reader, chunk, &mut escaped_buffer)?;
    let rest_at = reader.offset();
    let width = 8 - k;
    let packed = reader.take(packed_len(count, width))?;
    let mut low_buffer = scratch.buffer(if layout == FloatLayout::F32 {
        count * 2
    } else {
        0
    });
    let lows = match layout {
        FloatLayout::F32 => decode_low(reader, chunk, &mut low_buffer)?,
        FloatLayout::F16 | FloatLayout::BF16 => &[],
    };
    let joiner = Joiner::new(window);
    // Rest fields are unpacked a block at a time into a buffer that stays in the L1 cache.
    let mut rests = [0u8; JOIN_BLOCK];
    let packed_block = JOIN_BLOCK / 8 * usize::from(width);
    let element_bytes = layout.element_bytes();
    let mut stored = escaped.iter();
    let mut found = 0;
    for (index, (symbols, out)) in symbols
        .chunks(JOIN_BLOCK)
        .zip(out.chunks_mut(JOIN_BLOCK * element_bytes))
        .enumerate()
    {
        let start = index * packed_block;
        let packed = packed
            .get(start..start + packed_len(symbols.len(), width))
            .unwrap_or(&[]);
        let rests = &mut rests[..symbols.len()];
        unpack(packed, width, rests).map_err(|()| padding_error(rest_at + start, packed))?;
        if layout == FloatLayout::F32 {
            let lows = lows.get(index * JOIN_BLOCK * 2..).unwrap_or(&[]);
            join_u32(joiner, symbols, rests, lows, out);
        } else {
            join_u16(joiner, symbols, rests, out);
        }
        // A chunk declaring no escape is not searched for escape symbols: any there decode with
        // a meaningless exponent, which is harmless (checksums catch corruption) and saves a pass.
        if escapes > 0 {
            found += patch_escapes(element_bytes, window, symbols, &mut stored, out);
        }
    }
    if escapes > 0 && found != escapes {
        return Err(LosslessError::InvalidField {
            offset: escapes_at,
            what: "escape count",
            expected: format!("{found} (the escape symbols in plane 0)"),
            found: escapes as u64,
        });
    }
    scratch.give_back(low_buffer);
    scratch.give_back(symbols_buffer);
    scratch.give_back(escaped_buffer);
    Ok(())
}

/// Writes 16-bit elements from their plane 0 symbols and rest fields.
fn join_u16(joiner: Joiner, symbols: &[u8], rests: &[u8], out: &mut [u8]) {
    match as_le_u16(out) {
        Some(words) => {
            for ((word, &symbol), &rest) in words.iter_mut().zip(symbols).zip(rests) {
                *word = joiner.top(symbol, rest);
            }
        }
        None => {
            for ((element, &symbol), &rest) in out.chunks_exact_mut(2).zip(symbols).zip(rests) {
                element.copy_from_slice(&joiner.top(symbol, rest).to_le_bytes());
            }
        }
    }
}

/// Writes F32 elements from their plane 0 symbols, rest fields and low halves (LE u16s).
fn join_u32(joiner: Joiner, symbols: &[u8], rests: &[u8], lows: &[u8], out: &mut [u8]) {
    let element = |symbol: u8, rest: u8, low: &[u8]| {
        u32::from(joiner.top(symbol, rest)) << 16 | u32::from(u16::from_le_bytes([low[0], low[1]]))
    };
    let fields = symbols.iter().zip(rests).zip(lows.chunks_exact(2));
    match as_le_u32(out) {
        Some(words) => {
            for (word, ((&symbol, &rest), low)) in words.iter_mut().zip(fields) {
                *word = element(symbol, rest, low);
            }
        }
        None => {
            for (bytes, ((&symbol, &rest), low)) in out.chunks_exact_mut(4).zip(fields) {
                bytes.copy_from_slice(&element(symbol, rest, low).to_le_bytes());
            }
        }
    }
}

/// Sets the stored x of every escaped element of a block (`symbols` and `out` cover the same
/// elements), taking the values from `stored`; returns how many escape symbols the block has.
fn patch_escapes<'a>(
    element_bytes: usize,
    window: Window,
    symbols: &[u8],
    stored: &mut impl Iterator<Item = &'a u8>,
    out: &mut [u8],
) -> usize {
    let mut found = 0;
    // Escapes are rare: groups are first screened with a maximum, which vectorizes.
    for (group_index, group) in symbols.chunks(ESCAPE_GROUP).enumerate() {
        let largest = group
            .iter()
            .fold(0u8, |largest, &symbol| largest.max(symbol));
        if !is_escape(window, largest) {
            continue;
        }
        for (offset, &symbol) in group.iter().enumerate() {
            if !is_escape(window, symbol) {
                continue;
            }
            found += 1;
            let Some(&x) = stored.next() else { continue };
            // x sits in bits 7..15 of the top 16 bits, which are the element's last two bytes.
            let at = (group_index * ESCAPE_GROUP + offset + 1) * element_bytes - 2;
            if let Some(top) = out.get_mut(at..at + 2) {
                top[0] = (top[0] & 0x7f) | x << 7;
                top[1] = (top[1] & 0x80) | x >> 1;
            }
        }
    }
    found
}

fn padding_error(offset: usize, packed: &[u8]) -> LosslessError {
    LosslessError::InvalidField {
        offset,
        what: "padding of the packed sign and mantissa bits",
        expected: "zero bits".to_owned(),
        found: u64::from(packed.last().copied().unwrap_or(0)),
    }
}
