//! Output elements of the decode loops.
//!
//! The hot loop stores the value bits of a table entry as one 8-byte word and advances by the
//! entry's count, so an output element is whatever a slice of that word packs: a code (8 bits, up
//! to six per entry) or a mapped 16-bit value such as an `f16` bit pattern (up to three per entry).
//! Values are packed so that the word's little-endian bytes are the elements in memory order on
//! any target.

/// An element type the decode loops can write.
pub(super) trait Lane: Copy + Default + std::fmt::Debug {
    /// Bits of one value inside an entry's 48 value bits.
    const BITS: u32;

    /// Elements covered by one 8-byte store.
    const PER_STORE: usize = 8 / size_of::<Self>();

    /// Most values one entry holds.
    const PER_ENTRY: usize = (48 / Self::BITS) as usize;

    /// `value` placed as the lowest element of a packed word.
    fn pack(value: Self) -> u64;

    /// The `index`-th element of a packed word.
    fn nth(word: u64, index: usize) -> Self;

    /// `value` as the low bits of a 32-bit word (the vector table's element field).
    fn widen(value: Self) -> u32;
}

impl Lane for u8 {
    const BITS: u32 = 8;

    fn pack(value: Self) -> u64 {
        u64::from(value)
    }

    fn nth(word: u64, index: usize) -> Self {
        word.to_le_bytes()[index]
    }

    fn widen(value: Self) -> u32 {
        u32::from(value)
    }
}

impl Lane for u16 {
    const BITS: u32 = 16;

    fn pack(value: Self) -> u64 {
        // Byte-swapped on big-endian targets, so that the word's little-endian store puts the
        // value's native bytes in memory.
        u64::from(value.to_le())
    }

    fn nth(word: u64, index: usize) -> Self {
        let bytes = word.to_le_bytes();
        Self::from_ne_bytes([bytes[2 * index], bytes[2 * index + 1]])
    }

    fn widen(value: Self) -> u32 {
        u32::from(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packed_words_store_elements_in_memory_order() {
        let word = u16::pack(0x1234) | u16::pack(0xabcd) << 16;
        let stored = word.to_le_bytes();
        let first = u16::from_ne_bytes([stored[0], stored[1]]);
        let second = u16::from_ne_bytes([stored[2], stored[3]]);
        assert_eq!((first, second), (0x1234, 0xabcd));
        assert_eq!((u16::nth(word, 0), u16::nth(word, 1)), (0x1234, 0xabcd));
        let word = u8::pack(7) | u8::pack(9) << 8;
        assert_eq!((u8::nth(word, 0), u8::nth(word, 1)), (7, 9));
        assert_eq!((u8::PER_ENTRY, u16::PER_ENTRY), (6, 3));
        assert_eq!((u8::PER_STORE, u16::PER_STORE), (8, 4));
    }
}
