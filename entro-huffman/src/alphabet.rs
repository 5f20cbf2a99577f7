//! What a Huffman symbol stands for: one code, or a pair of 4-bit codes.

use crate::{Codebook, DEFAULT_MAX_CODE_LENGTH};

/// How input codes map to Huffman symbols. Decoders always output one `u8` code per weight,
/// whatever the alphabet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Alphabet {
    /// Every code (0..=255) is one symbol.
    Bytes,
    /// Codes are all below 16 and two consecutive codes `hi, lo` form the symbol `hi << 4 | lo`.
    ///
    /// This halves the number of symbols, so a stream whose entropy is below 1 bit per code can be
    /// coded below the 1 bit per symbol floor of Huffman coding. Pairs never straddle chunks: a chunk
    /// (or a whole stream) with an odd number of codes pads its last pair with a code the codebook
    /// knows, and the decoder drops it.
    NibblePairs,
}

impl Alphabet {
    /// How many codes one symbol stands for.
    pub const fn codes_per_symbol(self) -> usize {
        match self {
            Self::Bytes => 1,
            Self::NibblePairs => 2,
        }
    }

    /// How many Huffman symbols code `codes` codes.
    pub const fn symbols_for(self, codes: usize) -> usize {
        codes.div_ceil(self.codes_per_symbol())
    }

    /// Picks the alphabet that codes `codes` (quantized to `bits` bits) in the fewest bytes, codebook
    /// included, with codes no longer than [`DEFAULT_MAX_CODE_LENGTH`].
    ///
    /// Codes wider than 4 bits (or any code of 16 or more) always get [`Alphabet::Bytes`]. This counts
    /// the data once per candidate alphabet; see [`Codebook::build_best`] to get the codebook as well.
    pub fn best_for(codes: &[u8], bits: u8) -> Self {
        Codebook::build_best(codes, bits, DEFAULT_MAX_CODE_LENGTH)
            .map_or(Self::Bytes, |codebook| codebook.alphabet())
    }

    pub(crate) const fn tag(self) -> u8 {
        match self {
            Self::Bytes => 0,
            Self::NibblePairs => 1,
        }
    }

    pub(crate) const fn from_tag(tag: u8) -> Option<Self> {
        match tag {
            0 => Some(Self::Bytes),
            1 => Some(Self::NibblePairs),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symbol_counts() {
        assert_eq!(Alphabet::Bytes.symbols_for(7), 7);
        assert_eq!(Alphabet::NibblePairs.symbols_for(7), 4);
        assert_eq!(Alphabet::NibblePairs.symbols_for(0), 0);
    }

    #[test]
    fn low_entropy_nibbles_choose_pairs() {
        // 90 % zeros: about 0.6 bits per code, well under Huffman's 1 bit floor for single codes.
        let codes: Vec<u8> = (0..10_000u32)
            .map(|i| if i % 10 == 3 { 5 } else { 0 })
            .collect();
        assert_eq!(Alphabet::best_for(&codes, 4), Alphabet::NibblePairs);
    }

    #[test]
    fn wide_or_uniform_codes_choose_bytes() {
        let wide: Vec<u8> = (0..=255u8).collect();
        assert_eq!(Alphabet::best_for(&wide, 8), Alphabet::Bytes);
        assert_eq!(Alphabet::best_for(&wide, 4), Alphabet::Bytes);
        // Uniform random 4-bit codes: pairs cannot beat 4 bits per code and need a bigger codebook.
        let mut state = 0x2545_f491_u32;
        let uniform: Vec<u8> = (0..20_000)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                (state >> 28) as u8
            })
            .collect();
        assert_eq!(Alphabet::best_for(&uniform, 4), Alphabet::Bytes);
    }

    #[test]
    fn tags_round_trip() {
        for alphabet in [Alphabet::Bytes, Alphabet::NibblePairs] {
            assert_eq!(Alphabet::from_tag(alphabet.tag()), Some(alphabet));
        }
        assert_eq!(Alphabet::from_tag(2), None);
    }
}
