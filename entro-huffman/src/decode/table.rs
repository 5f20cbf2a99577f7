//! Multi-symbol decode table construction.
//!
//! The table has `2^bits` entries indexed by the next `bits` input bits (least significant bit
//! first). An entry holds every whole symbol whose code fits in those bits, up to
//! [`MAX_CODES_PER_ENTRY`] output codes, packed so that the hot loop needs one load, one unaligned
//! 8-byte store and two shifts per lookup:
//!
//! ```text
//! bits 0..8   total code length consumed (1..=bits)
//! bits 8..16  number of output codes (1..=MAX_CODES_PER_ENTRY)
//! bits 16..64 the output codes, first in the lowest byte
//! ```

use crate::{Alphabet, Codebook};

/// Most output codes one table entry can hold (six bytes of the 64-bit entry).
pub(super) const MAX_CODES_PER_ENTRY: usize = 6;

/// Tables are at least this wide so that short codes pack several symbols per lookup; 2^11 entries
/// of 8 bytes keep the table at 16 KiB, well inside L1.
pub(super) const MIN_TABLE_BITS: u8 = 11;

/// Bit length stored in an entry.
#[inline(always)]
pub(super) fn entry_bits(entry: u64) -> u32 {
    (entry & 0xff) as u32
}

/// Output code count stored in an entry.
#[inline(always)]
pub(super) fn entry_codes(entry: u64) -> usize {
    ((entry >> 8) & 0xff) as usize
}

/// The `2^table_bits` entries for a non-empty codebook.
pub(super) fn build_entries(codebook: &Codebook, table_bits: u8) -> Box<[u64]> {
    let size = 1usize << table_bits;
    let lengths = codebook.lengths();
    let codes = codebook.canonical_codes();

    // First symbol and its length for every index; a complete code fills every slot exactly once.
    let mut first: Vec<(u8, u8)> = vec![(0, 0); size];
    for (symbol, (&len, &code)) in (0..=255u8).zip(lengths.iter().zip(&codes)) {
        if len == 0 {
            continue;
        }
        let reversed = usize::from(code.reverse_bits() >> (16 - u32::from(len)));
        for slot in first.iter_mut().skip(reversed).step_by(1 << len) {
            *slot = (symbol, len);
        }
    }

    let alphabet = codebook.alphabet();
    let per_symbol = alphabet.codes_per_symbol();
    let mut entries = vec![0u64; size].into_boxed_slice();
    for (index, entry) in entries.iter_mut().enumerate() {
        let mut used_bits = 0u32;
        let mut count = 0usize;
        let mut packed = 0u64;
        loop {
            // Bits above the table width read as zero; a symbol is only taken if its whole code lies
            // within the `table_bits - used_bits` real bits.
            let (symbol, len) = first[index >> used_bits];
            let len = u32::from(len);
            if len == 0
                || used_bits + len > u32::from(table_bits)
                || count + per_symbol > MAX_CODES_PER_ENTRY
            {
                break;
            }
            for code in symbol_codes(alphabet, symbol) {
                packed |= u64::from(code) << (8 * count);
                count += 1;
            }
            used_bits += len;
        }
        *entry = u64::from(used_bits) | (count as u64) << 8 | packed << 16;
    }
    entries
}

/// The codes one symbol stands for.
pub(super) fn symbol_codes(alphabet: Alphabet, symbol: u8) -> impl Iterator<Item = u8> {
    let (codes, count) = match alphabet {
        Alphabet::Bytes => ([symbol, 0], 1),
        Alphabet::NibblePairs => ([symbol >> 4, symbol & 0x0f], 2),
    };
    codes.into_iter().take(count)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_pack_as_many_whole_symbols_as_fit() {
        // Lengths: a = 1 (code 0), b = 2 (10), c = 3 (110), d = 3 (111).
        let mut lengths = [0u8; 256];
        for (symbol, len) in [(b'a', 1), (b'b', 2), (b'c', 3), (b'd', 3)] {
            lengths[usize::from(symbol)] = len;
        }
        let codebook = Codebook::from_lengths(Alphabet::Bytes, lengths).unwrap();
        let entries = build_entries(&codebook, 11);
        // All zero bits: eleven `a`s would fit, six are kept.
        assert_eq!(entry_codes(entries[0]), 6);
        assert_eq!(entry_bits(entries[0]), 6);
        assert_eq!(entries[0] >> 16, u64::from_le_bytes(*b"aaaaaa\0\0"));
        // Stream bits (first bit lowest) 1,1,1 then 1,0 then 1,1,0: `d`, `b`, `c`, then zeros (`a`s).
        let index = 0b011_01_111;
        assert_eq!(entries[index] >> 16, u64::from_le_bytes(*b"dbcaaa\0\0"));
        assert_eq!(entry_bits(entries[index]), 3 + 2 + 3 + 1 + 1 + 1);
    }

    #[test]
    fn pair_entries_emit_two_codes_per_symbol() {
        let codebook = Codebook::build(&[1, 2, 1, 2, 3, 4], Alphabet::NibblePairs, 11).unwrap();
        let entries = build_entries(&codebook, 11);
        for &entry in entries.iter() {
            assert_eq!(entry_codes(entry) % 2, 0);
            assert!(entry_codes(entry) >= 2);
        }
    }
}
