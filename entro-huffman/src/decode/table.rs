//! Multi-symbol decode table construction.
//!
//! The primary table has `2^TABLE_BITS` entries indexed by the next `TABLE_BITS` input bits (least
//! significant bit first). An entry holds every whole symbol whose code fits in those bits, up to
//! [`MAX_CODES_PER_ENTRY`] output codes, packed so that the hot loop needs one load, one unaligned
//! 8-byte store and two shifts per lookup:
//!
//! ```text
//! bits 0..8   total code length consumed (1..=TABLE_BITS)
//! bits 8..16  number of output codes (1..=MAX_CODES_PER_ENTRY)
//! bits 16..64 the output codes, first in the lowest byte
//! ```
//!
//! An all-zero entry marks a prefix of a code longer than `TABLE_BITS`; those rare codes are decoded
//! by [`LongCodes`], the classic canonical "first code per length" search.

use super::lane::Lane;
use crate::{Alphabet, Codebook, MAX_CODE_LENGTH};

/// Most output codes one table entry can hold (six bytes of the 64-bit entry).
pub(super) const MAX_CODES_PER_ENTRY: usize = 6;

/// Input bits per primary lookup: 2^12 entries of 8 bytes are 32 KiB, inside a 48 KiB L1 cache,
/// and four lookups fit the 56 bits a refill guarantees.
pub(super) const TABLE_BITS: u32 = crate::FAST_CODE_LENGTH as u32;

/// Entries in the primary table.
pub(super) const TABLE_SIZE: usize = 1 << TABLE_BITS;

/// The primary table.
pub(super) type Entries = [u64; TABLE_SIZE];

/// Mask selecting a table index from a window.
const INDEX_MASK: u64 = (1 << TABLE_BITS) - 1;

/// Table index for the next `TABLE_BITS` bits of `window`.
#[inline(always)]
pub(super) fn table_index(window: u64) -> usize {
    (window & INDEX_MASK) as usize
}

/// Shift amount that consumes an entry's bits; a shift uses only the low 6 bits, which hold the
/// bit length (at most 15), so the optimizer drops the mask.
#[inline(always)]
pub(super) fn entry_shift(entry: u64) -> u32 {
    (entry & 0x3f) as u32
}

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

/// The primary table of a non-empty codebook, whose output elements are `values[code]` packed as
/// `T` (codes themselves when `values` is the identity).
#[cfg(test)]
pub(super) fn build_entries<T: Lane>(codebook: &Codebook, values: &[T; 256]) -> Box<Entries> {
    let words = symbol_words(codebook.alphabet(), values);
    build_entries_from_words(codebook, &words, ElementShape::of::<T>())
}

/// How output elements pack into an entry's 48 value bits.
#[derive(Clone, Copy, Debug)]
pub(super) struct ElementShape {
    /// Bits per element.
    pub(super) bits: u32,
    /// Most elements per entry.
    pub(super) per_entry: usize,
}

impl ElementShape {
    pub(super) fn of<T: Lane>() -> Self {
        Self {
            bits: T::BITS,
            per_entry: T::PER_ENTRY,
        }
    }
}

/// [`build_entries`] from each symbol's packed output elements (see [`symbol_words`]).
pub(super) fn build_entries_from_words(
    codebook: &Codebook,
    words: &[u64; 256],
    shape: ElementShape,
) -> Box<Entries> {
    // First symbol and its length for every index; a complete code fills every slot whose prefix is
    // a code of at most TABLE_BITS bits, and leaves (0, 0) under the prefixes of longer codes.
    let mut first: Vec<(u8, u8)> = vec![(0, 0); TABLE_SIZE];
    fill_by_code(codebook, &mut first, |symbol, len| (symbol, len));

    let per_symbol = codebook.alphabet().codes_per_symbol();
    // One or two elements per symbol.
    let symbol_bits = shape.bits * u32::try_from(per_symbol).unwrap_or(2);
    let mut entries = Box::new([0u64; TABLE_SIZE]);
    for (index, entry) in entries.iter_mut().enumerate() {
        let mut used_bits = 0u32;
        let mut count = 0usize;
        let mut packed = 0u64;
        let mut shift = 0u32;
        loop {
            // Bits above the table width read as zero; a symbol is only taken if its whole code lies
            // within the `TABLE_BITS - used_bits` real bits.
            let (symbol, len) = first[index >> used_bits];
            let len = u32::from(len);
            if len == 0 || used_bits + len > TABLE_BITS || count + per_symbol > shape.per_entry {
                break;
            }
            packed |= words[usize::from(symbol)] << shift;
            shift += symbol_bits;
            count += per_symbol;
            used_bits += len;
        }
        *entry = u64::from(used_bits) | (count as u64) << 8 | packed << 16;
    }
    entries
}

/// Sets `table[i]` to `entry(symbol, len)` for every index `i` whose low `len` bits are the
/// symbol's code (first bit lowest, as the decoders read), for every code that fits the table's
/// `log2(table.len())` index bits; slots under longer codes keep their value.
pub(super) fn fill_by_code<E: Copy>(
    codebook: &Codebook,
    table: &mut [E],
    entry: impl Fn(u8, u8) -> E,
) {
    let index_bits = table.len().trailing_zeros();
    let codes = codebook.canonical_codes();
    for (symbol, (&len, &code)) in (0..=255u8).zip(codebook.lengths().iter().zip(&codes)) {
        if len == 0 || u32::from(len) > index_bits {
            continue;
        }
        let reversed = usize::from(code.reverse_bits() >> (16 - u32::from(len)));
        let value = entry(symbol, len);
        for slot in table.iter_mut().skip(reversed).step_by(1 << len) {
            *slot = value;
        }
    }
}

/// The output elements of every symbol, packed as in a table entry's value bits.
pub(super) fn symbol_words<T: Lane>(alphabet: Alphabet, values: &[T; 256]) -> Box<[u64; 256]> {
    let mut words = Box::new([0u64; 256]);
    for (symbol, word) in (0..=255u8).zip(words.iter_mut()) {
        for (shift, code) in (0..)
            .step_by(T::BITS as usize)
            .zip(symbol_codes(alphabet, symbol))
        {
            *word |= T::pack(values[usize::from(code)]) << shift;
        }
    }
    words
}

/// The identity mapping: decode to the codes themselves.
pub(super) const IDENTITY: [u8; 256] = {
    let mut codes = [0u8; 256];
    let mut code = 0u8;
    loop {
        codes[code as usize] = code;
        if code == u8::MAX {
            break codes;
        }
        code += 1;
    }
};

/// Canonical decoding of codes longer than [`TABLE_BITS`]: codes of one length are consecutive
/// numbers starting at `first_code[len]`, in symbol order.
#[derive(Clone, Debug)]
pub(super) struct LongCodes {
    first_code: [u32; 16],
    count: [u32; 16],
    first_index: [usize; 16],
    symbols: [u8; 256],
}

impl LongCodes {
    pub(super) fn new(codebook: &Codebook) -> Self {
        let lengths = codebook.lengths();
        let mut count = [0u32; 16];
        for &len in lengths {
            count[usize::from(len)] += 1;
        }
        count[0] = 0;
        let mut first_code = [0u32; 16];
        let mut first_index = [0usize; 16];
        let (mut code, mut index) = (0u32, 0usize);
        for len in 1..16 {
            code = (code + count[len - 1]) << 1;
            index += count[len - 1] as usize;
            first_code[len] = code;
            first_index[len] = index;
        }
        let mut symbols = [0u8; 256];
        let mut next = first_index;
        for (symbol, &len) in (0..=255u8).zip(lengths) {
            if len > 0 {
                symbols[next[usize::from(len)]] = symbol;
                next[usize::from(len)] += 1;
            }
        }
        Self {
            first_code,
            count,
            first_index,
            symbols,
        }
    }

    /// Decodes the symbol at the start of `window` (the next 15 bits, first bit lowest) whose code is
    /// longer than [`TABLE_BITS`]; returns it with its length. Never fails: for an index that no
    /// long code starts with (impossible for a complete code) it returns some symbol and 15 bits.
    pub(super) fn decode(&self, window: u64) -> (u8, u32) {
        self.decode_from(window, TABLE_BITS + 1)
    }

    /// Like [`Self::decode`], for a code of any length from `min_len` on (used for the single
    /// symbols at the very end of a stream).
    pub(super) fn decode_from(&self, window: u64, min_len: u32) -> (u8, u32) {
        let max = u32::from(MAX_CODE_LENGTH);
        // The same bits, first bit highest, as the canonical code numbers are written.
        let value = ((window & 0x7fff) as u32).reverse_bits() >> (32 - max);
        for len in min_len.max(1)..=max {
            let l = len as usize;
            let offset = (value >> (max - len)).wrapping_sub(self.first_code[l]);
            if offset < self.count[l] {
                let index = self.first_index[l] + offset as usize;
                return (self.symbols.get(index).copied().unwrap_or(0), len);
            }
        }
        (self.symbols[0], max)
    }
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
        let entries = build_entries(&codebook, &IDENTITY);
        // All zero bits: twelve `a`s would fit, six are kept.
        assert_eq!(entry_codes(entries[0]), 6);
        assert_eq!(entry_bits(entries[0]), 6);
        assert_eq!(entries[0] >> 16, u64::from_le_bytes(*b"aaaaaa\0\0"));
        // Stream bits (first bit lowest) 1,1,1 then 1,0 then 1,1,0: `d`, `b`, `c`, then zeros (`a`s).
        let index = 0b0110_1111;
        assert_eq!(entries[index] >> 16, u64::from_le_bytes(*b"dbcaaa\0\0"));
        assert_eq!(entry_bits(entries[index]), 3 + 2 + 3 + 1 + 1 + 1);
    }

    #[test]
    fn long_codes_leave_empty_entries_and_decode_canonically() {
        // Lengths 1, 2, ..., 14, 15, 15: the last three codes are longer than the table.
        let mut lengths = [0u8; 256];
        for (symbol, len) in (10u8..).zip(1..=15u8) {
            lengths[usize::from(symbol)] = len;
        }
        lengths[200] = 15;
        let codebook = Codebook::from_lengths(Alphabet::Bytes, lengths).unwrap();
        let entries = build_entries(&codebook, &IDENTITY);
        let long = LongCodes::new(&codebook);
        let codes = codebook.canonical_codes();
        // All-ones prefixes of 12 bits belong to the long codes.
        assert_eq!(entries[TABLE_SIZE - 1], 0);
        for symbol in [22u8, 23, 24, 200] {
            let len = u32::from(lengths[usize::from(symbol)]);
            let window = u64::from(codes[usize::from(symbol)].reverse_bits() >> (16 - len));
            assert_eq!(long.decode(window), (symbol, len));
        }
    }

    #[test]
    fn pair_entries_emit_two_codes_per_symbol() {
        let codebook = Codebook::build(&[1, 2, 1, 2, 3, 4], Alphabet::NibblePairs, 11).unwrap();
        let entries = build_entries(&codebook, &IDENTITY);
        for &entry in entries.iter() {
            assert_eq!(entry_codes(entry) % 2, 0);
            assert!(entry_codes(entry) >= 2);
        }
    }
}
