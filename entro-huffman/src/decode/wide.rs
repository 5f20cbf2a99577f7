//! Decoding straight to 16-bit values.

use super::drive::Tables;
use super::{decode_lanes, table::TABLE_BITS};
use crate::{Alphabet, Codebook, DecodeError};

/// A decode table whose output is a 16-bit value per code, `values[code]`, written by the decode
/// loop itself: e.g. the `f16` or `bf16` bit patterns of dequantized weights.
///
/// [`crate::DecodeTable::decode_chunk_mapped`] decodes codes into a small buffer and maps them in a
/// second pass; here the table entries hold the mapped values (up to three per lookup instead of six
/// codes), so there is no second pass. That is faster where codes average more than about 4 bits,
/// as 8-bit weights do; for nibble pairs the code table with a mapping pass is usually faster.
/// Immutable, so one table can serve many threads; building one takes about as long as building a
/// [`crate::DecodeTable`].
#[derive(Clone)]
pub struct DecodeTable16 {
    alphabet: Alphabet,
    /// `None` for the empty codebook.
    tables: Option<Tables>,
}

impl std::fmt::Debug for DecodeTable16 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DecodeTable16")
            .field("alphabet", &self.alphabet)
            .field("empty", &self.tables.is_none())
            .finish_non_exhaustive()
    }
}

impl DecodeTable16 {
    /// Builds the table for a (validated) codebook whose code `c` decodes to `values[c]`.
    pub fn new(codebook: &Codebook, values: &[u16; 256]) -> Self {
        Self {
            alphabet: codebook.alphabet(),
            tables: Tables::build(codebook, values),
        }
    }

    /// The alphabet of the codebook.
    pub fn alphabet(&self) -> Alphabet {
        self.alphabet
    }

    /// Input bits per primary table lookup; longer codes take a slower path.
    pub fn table_bits(&self) -> u8 {
        u8::try_from(TABLE_BITS).unwrap_or(u8::MAX)
    }

    /// Decodes one chunk written by [`crate::encode`] into `values[code]` per code; `out.len()` must
    /// be the chunk's code count. `chunk_index` only labels errors.
    ///
    /// # Errors
    /// As [`crate::DecodeTable::decode_chunk`], for the same input.
    pub fn decode_chunk(
        &self,
        chunk_index: usize,
        chunk: &[u8],
        out: &mut [u16],
    ) -> Result<(), DecodeError> {
        decode_lanes(self.alphabet, self.tables.as_ref(), chunk_index, chunk, out)
    }
}

#[cfg(test)]
#[expect(
    clippy::cast_possible_truncation,
    reason = "test streams are small and their generator's values are reduced before the casts"
)]
mod tests {
    use super::*;
    use crate::{DecodeTable, encode};

    /// Values that differ from the codes in both bytes, so a swapped byte or a code leaking
    /// through shows.
    fn values() -> [u16; 256] {
        let mut values = [0u16; 256];
        for (code, value) in (0u16..).zip(values.iter_mut()) {
            *value = 0x3c00 ^ code.wrapping_mul(0x9e37);
        }
        values
    }

    fn round_trip(codes: &[u8], bits: u8, chunk_codes: usize) {
        let codebook = Codebook::build_best(codes, bits, crate::DEFAULT_MAX_CODE_LENGTH).unwrap();
        let mut stream = Vec::new();
        let chunks = encode(codes, &codebook, chunk_codes, &mut stream).unwrap();
        let (codes_table, wide) = (
            DecodeTable::new(&codebook),
            DecodeTable16::new(&codebook, &values()),
        );
        let mut at = 0;
        for (index, info) in chunks.iter().enumerate() {
            let start = info.offset as usize;
            let bytes = &stream[start..start + info.len as usize];
            let count = info.codes as usize;
            let mut out = vec![0u16; count];
            wide.decode_chunk(index, bytes, &mut out).unwrap();
            let expected: Vec<u16> = codes[at..at + count]
                .iter()
                .map(|&c| values()[usize::from(c)])
                .collect();
            assert_eq!(out, expected, "chunk {index} of {chunk_codes}-code chunks");
            let mut plain = vec![0u8; count];
            codes_table.decode_chunk(index, bytes, &mut plain).unwrap();
            assert_eq!(plain, codes[at..at + count]);
            at += count;
        }
        assert_eq!(at, codes.len());
    }

    /// A deterministic skewed stream, with rare symbols long enough to leave the primary table.
    fn skewed(len: usize, seed: u64) -> Vec<u8> {
        let mut state = seed;
        (0..len)
            .map(|_| {
                state = state
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                let r = (state >> 33) as u32;
                match r % 1000 {
                    0..=599 => 128,
                    600..=899 => (120 + r % 16) as u8,
                    900..=995 => (r % 256) as u8,
                    _ => (r >> 8) as u8,
                }
            })
            .collect()
    }

    #[test]
    fn decodes_to_the_mapped_values_at_every_chunk_size() {
        let codes = skewed(20_000, 1);
        for chunk_codes in [1, 2, 3, 5, 17, 64, 255, 1000, 4096, 20_000] {
            round_trip(&codes, 8, chunk_codes);
        }
    }

    #[test]
    fn long_codes_and_nibble_pairs_decode_too() {
        // Geometric counts force codes up to the 14-bit limit.
        let mut codes = Vec::new();
        for symbol in 0..40u8 {
            codes.extend(std::iter::repeat_n(
                symbol,
                1usize << (20 - symbol.min(20) / 2),
            ));
        }
        round_trip(&codes, 8, 65_536);
        let nibbles: Vec<u8> = skewed(9_999, 2).iter().map(|&c| c % 16 / 5).collect();
        round_trip(&nibbles, 4, 1000);
        round_trip(&[5], 8, 1);
        round_trip(&[], 8, 16);
    }

    #[test]
    fn corrupt_chunks_give_the_same_error_as_the_code_table() {
        let codes = skewed(5_000, 3);
        let codebook = Codebook::build_best(&codes, 8, crate::DEFAULT_MAX_CODE_LENGTH).unwrap();
        let mut stream = Vec::new();
        let chunks = encode(&codes, &codebook, 5_000, &mut stream).unwrap();
        let (codes_table, wide) = (
            DecodeTable::new(&codebook),
            DecodeTable16::new(&codebook, &values()),
        );
        let len = chunks[0].len as usize;
        for cut in [0, 3, 12, 13, len / 2, len - 1] {
            let bytes = &stream[..cut];
            let wide_err = wide
                .decode_chunk(0, bytes, &mut vec![0u16; 5_000])
                .unwrap_err();
            let code_err = codes_table
                .decode_chunk(0, bytes, &mut vec![0u8; 5_000])
                .unwrap_err();
            assert_eq!(wide_err, code_err, "cut at {cut}");
        }
        for flip in (0..len).step_by(7) {
            let mut bytes = stream[..len].to_vec();
            bytes[flip] ^= 0x5a;
            let wide_result = wide.decode_chunk(0, &bytes, &mut vec![0u16; 5_000]);
            let code_result = codes_table.decode_chunk(0, &bytes, &mut vec![0u8; 5_000]);
            assert_eq!(wide_result, code_result, "flip at {flip}");
        }
    }
}
