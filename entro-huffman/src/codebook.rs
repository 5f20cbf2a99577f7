//! Canonical codebooks: code lengths only, always a complete prefix code.

use crate::length_limit::limited_lengths;
use crate::{
    Alphabet, BuildError, CodebookError, FAST_CODE_LENGTH, FAST_LENGTH_MAX_COST, Histogram,
    MAX_CODE_LENGTH,
};

/// Code space of a complete code, in units of the shortest possible code slot.
pub(crate) const KRAFT_TOTAL: u64 = 1 << MAX_CODE_LENGTH;

/// A canonical Huffman codebook over 256 byte symbols.
///
/// It holds only the code length of every symbol (0 = absent) and the [`Alphabet`]; the codes follow
/// from the lengths (shorter codes first, ties by symbol value). Every codebook is either empty (no
/// symbols, codes nothing but empty streams) or a complete prefix code (Kraft sum exactly 1), with no
/// length above [`MAX_CODE_LENGTH`].
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Codebook {
    alphabet: Alphabet,
    lengths: [u8; 256],
}

impl Codebook {
    /// Builds the optimal codebook for `codes` with no code longer than `max_len` bits.
    ///
    /// With [`Alphabet::NibblePairs`] the symbols are pairs of consecutive codes, as
    /// [`Histogram::from_nibble_pairs`] counts them.
    ///
    /// # Errors
    /// [`BuildError::CodeOutOfRange`] for a code of 16 or more with nibble pairs, and the errors of
    /// [`Codebook::from_histogram`].
    pub fn build(codes: &[u8], alphabet: Alphabet, max_len: u8) -> Result<Self, BuildError> {
        let histogram = match alphabet {
            Alphabet::Bytes => Histogram::from_symbols(codes),
            Alphabet::NibblePairs => Histogram::from_nibble_pairs(codes)?,
        };
        Self::from_histogram(&histogram, alphabet, max_len)
    }

    /// Builds the optimal length-limited codebook for symbol counts (package-merge).
    ///
    /// Symbols with count 0 get no code. A single used symbol is paired with an unused partner so the
    /// code stays complete (one bit per symbol).
    ///
    /// # Errors
    /// [`BuildError::MaxLengthOutOfRange`] unless `1 <= max_len <= MAX_CODE_LENGTH`;
    /// [`BuildError::MaxLengthTooSmall`] if more than `2^max_len` symbols occur.
    pub fn from_histogram(
        histogram: &Histogram,
        alphabet: Alphabet,
        max_len: u8,
    ) -> Result<Self, BuildError> {
        let lengths = limited_lengths(histogram.counts(), max_len)?;
        Ok(Self { alphabet, lengths })
    }

    /// Builds codebooks for every alphabet that can code `codes` (quantized to `bits` bits) and keeps
    /// the one giving the smallest coded size, codebook bytes included.
    ///
    /// Nibble pairs are tried only when `bits <= 4` and every code is below 16. When the byte
    /// code needs lengths over [`FAST_CODE_LENGTH`] and limiting them to it costs at most
    /// [`FAST_LENGTH_MAX_COST`] of the coded size, the limited code is kept: its chunks then take
    /// the wide layout, which the AVX-512 decoder runs (8-bit streams decode about twice as fast).
    /// Nibble pairs keep the optimal code: they decode two codes per symbol, several times faster
    /// than zstd already, and every bit counts at the entropies of 4-bit codes.
    ///
    /// # Errors
    /// As [`Codebook::from_histogram`].
    pub fn build_best(codes: &[u8], bits: u8, max_len: u8) -> Result<Self, BuildError> {
        let bytes_histogram = Histogram::from_symbols(codes);
        let narrow = bytes_histogram.counts()[16..]
            .iter()
            .all(|&count| count == 0);
        let bytes = Self::fast_bytes_if_cheap(&bytes_histogram, max_len)?;
        if bits > 4 || !narrow {
            return Ok(bytes);
        }
        let pair_histogram = Histogram::from_nibble_pairs(codes)?;
        let pairs = Self::from_histogram(&pair_histogram, Alphabet::NibblePairs, max_len)?;
        let pairs_size = pairs.coded_size_bytes(&pair_histogram);
        let bytes_size = bytes.coded_size_bytes(&bytes_histogram);
        Ok(if pairs_size < bytes_size {
            pairs
        } else {
            bytes
        })
    }

    /// The optimal codebook within `max_len` for symbol counts, except that a byte codebook is
    /// limited to [`FAST_CODE_LENGTH`] bits where that costs at most [`FAST_LENGTH_MAX_COST`] of
    /// the coded size, as in [`Codebook::build_best`], so that its chunks take the wide layout.
    ///
    /// # Errors
    /// As [`Codebook::from_histogram`].
    pub fn from_histogram_decode_friendly(
        histogram: &Histogram,
        alphabet: Alphabet,
        max_len: u8,
    ) -> Result<Self, BuildError> {
        match alphabet {
            Alphabet::Bytes => Self::fast_bytes_if_cheap(histogram, max_len),
            Alphabet::NibblePairs => Self::from_histogram(histogram, alphabet, max_len),
        }
    }

    /// The optimal byte codebook within `max_len`, or the one within [`FAST_CODE_LENGTH`] if that
    /// costs at most [`FAST_LENGTH_MAX_COST`] more.
    fn fast_bytes_if_cheap(histogram: &Histogram, max_len: u8) -> Result<Self, BuildError> {
        let optimal = Self::from_histogram(histogram, Alphabet::Bytes, max_len)?;
        if optimal.max_length() <= FAST_CODE_LENGTH {
            return Ok(optimal);
        }
        // Too many symbols for FAST_CODE_LENGTH bits is an error here, and keeps the optimal code.
        let Ok(fast) = Self::from_histogram(histogram, Alphabet::Bytes, FAST_CODE_LENGTH) else {
            return Ok(optimal);
        };
        let (fast_size, optimal_size) = (
            fast.coded_size_bytes(histogram),
            optimal.coded_size_bytes(histogram),
        );
        let (allowed, per) = FAST_LENGTH_MAX_COST;
        let within = u128::from(fast_size) * u128::from(per)
            <= u128::from(optimal_size) * u128::from(per + allowed);
        Ok(if within { fast } else { optimal })
    }

    /// Checks a full set of code lengths and makes a codebook of them.
    ///
    /// # Errors
    /// [`CodebookError::LengthOverLimit`], [`CodebookError::OverSubscribed`] or
    /// [`CodebookError::Incomplete`]; an all-zero set is the valid empty codebook.
    pub fn from_lengths(alphabet: Alphabet, lengths: [u8; 256]) -> Result<Self, CodebookError> {
        validate_lengths(&lengths)?;
        Ok(Self { alphabet, lengths })
    }

    /// The alphabet the symbols belong to.
    pub fn alphabet(&self) -> Alphabet {
        self.alphabet
    }

    /// The code length of every symbol; 0 means the symbol has no code.
    pub fn lengths(&self) -> &[u8; 256] {
        &self.lengths
    }

    /// The longest code length used (0 for the empty codebook).
    pub fn max_length(&self) -> u8 {
        self.lengths.iter().copied().max().unwrap_or(0)
    }

    /// How many symbols have a code.
    pub fn symbol_count(&self) -> usize {
        self.lengths.iter().filter(|&&len| len > 0).count()
    }

    /// Whether no symbol has a code (only empty streams can be coded).
    pub fn is_empty(&self) -> bool {
        self.symbol_count() == 0
    }

    /// The canonical code of every symbol, most significant bit first, in the low
    /// `lengths()[symbol]` bits (0 for absent symbols).
    pub fn canonical_codes(&self) -> [u16; 256] {
        let mut codes = [0u16; 256];
        let mut next: u32 = 0;
        for len in 1..=MAX_CODE_LENGTH {
            for (symbol, &symbol_len) in self.lengths.iter().enumerate() {
                if symbol_len == len {
                    // A complete code of lengths <= 15 never needs more than 15 bits.
                    codes[symbol] = u16::try_from(next).unwrap_or(u16::MAX);
                    next += 1;
                }
            }
            next <<= 1;
        }
        codes
    }

    /// Bits needed to code the symbols counted in `histogram` (not including the codebook), or `None`
    /// if a counted symbol has no code.
    pub fn coded_bits(&self, histogram: &Histogram) -> Option<u64> {
        let mut bits: u64 = 0;
        for (&count, &len) in histogram.counts().iter().zip(&self.lengths) {
            if count > 0 && len == 0 {
                return None;
            }
            bits = bits.saturating_add(count.saturating_mul(u64::from(len)));
        }
        Some(bits)
    }

    /// Serialized codebook size plus the coded bits rounded up to bytes (`u64::MAX` if a symbol is
    /// missing).
    fn coded_size_bytes(&self, histogram: &Histogram) -> u64 {
        self.coded_bits(histogram).map_or(u64::MAX, |bits| {
            bits.div_ceil(8)
                .saturating_add(self.serialized_len() as u64)
        })
    }
}

impl std::fmt::Debug for Codebook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let used: Vec<(usize, u8)> = self
            .lengths
            .iter()
            .copied()
            .enumerate()
            .filter(|&(_, len)| len > 0)
            .collect();
        f.debug_struct("Codebook")
            .field("alphabet", &self.alphabet)
            .field("lengths", &used)
            .finish()
    }
}

/// Rejects lengths over the limit and any set that is not a complete prefix code (or empty).
pub(crate) fn validate_lengths(lengths: &[u8; 256]) -> Result<(), CodebookError> {
    let mut used: u64 = 0;
    let mut symbols = 0usize;
    for (symbol, &length) in (0..=255u8).zip(lengths) {
        if length > MAX_CODE_LENGTH {
            return Err(CodebookError::LengthOverLimit {
                symbol,
                length,
                limit: MAX_CODE_LENGTH,
            });
        }
        if length > 0 {
            used += 1 << (MAX_CODE_LENGTH - length);
            symbols += 1;
        }
    }
    match used.cmp(&KRAFT_TOTAL) {
        _ if symbols == 0 => Ok(()),
        std::cmp::Ordering::Greater => Err(CodebookError::OverSubscribed {
            used,
            available: KRAFT_TOTAL,
        }),
        std::cmp::Ordering::Less => Err(CodebookError::Incomplete {
            used,
            available: KRAFT_TOTAL,
        }),
        std::cmp::Ordering::Equal => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_codes_are_ordered_by_length_then_symbol() {
        let mut lengths = [0u8; 256];
        lengths[b'a' as usize] = 2;
        lengths[b'b' as usize] = 1;
        lengths[b'c' as usize] = 3;
        lengths[b'd' as usize] = 3;
        let codebook = Codebook::from_lengths(Alphabet::Bytes, lengths).unwrap();
        let codes = codebook.canonical_codes();
        assert_eq!(codes[b'b' as usize], 0b0);
        assert_eq!(codes[b'a' as usize], 0b10);
        assert_eq!(codes[b'c' as usize], 0b110);
        assert_eq!(codes[b'd' as usize], 0b111);
    }

    #[test]
    fn from_lengths_rejects_bad_sets_with_exact_variants() {
        let mut over = [0u8; 256];
        over[..3].copy_from_slice(&[1, 1, 1]);
        assert!(matches!(
            Codebook::from_lengths(Alphabet::Bytes, over),
            Err(CodebookError::OverSubscribed {
                used: 49152,
                available: 32768
            })
        ));
        let mut incomplete = [0u8; 256];
        incomplete[..2].copy_from_slice(&[1, 2]);
        assert!(matches!(
            Codebook::from_lengths(Alphabet::Bytes, incomplete),
            Err(CodebookError::Incomplete { used: 24576, .. })
        ));
        let mut single = [0u8; 256];
        single[9] = 1;
        assert!(matches!(
            Codebook::from_lengths(Alphabet::Bytes, single),
            Err(CodebookError::Incomplete { .. })
        ));
        let mut too_long = [0u8; 256];
        too_long[200] = 16;
        assert!(matches!(
            Codebook::from_lengths(Alphabet::Bytes, too_long),
            Err(CodebookError::LengthOverLimit {
                symbol: 200,
                length: 16,
                limit: 15
            })
        ));
        assert!(
            Codebook::from_lengths(Alphabet::NibblePairs, [0; 256])
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn build_best_prefers_bytes_for_wide_codes() {
        let codes: Vec<u8> = (0..1000u32).map(|i| (i * 7 % 200) as u8).collect();
        let codebook = Codebook::build_best(&codes, 8, 11).unwrap();
        assert_eq!(codebook.alphabet(), Alphabet::Bytes);
        assert_eq!(codebook.symbol_count(), 200);
    }

    #[test]
    fn coded_bits_reports_missing_symbols() {
        let codebook = Codebook::build(&[1, 2, 2, 3], Alphabet::Bytes, 11).unwrap();
        assert_eq!(
            codebook.coded_bits(&Histogram::from_symbols(&[1, 2, 2, 3])),
            Some(6)
        );
        assert_eq!(codebook.coded_bits(&Histogram::from_symbols(&[4])), None);
    }

    /// `main` byte values `main_count` times each, then `rare` further values `rare_count` times each
    /// and a chain of values whose counts double from 1 up to 512 (the chain needs long codes).
    fn two_level_codes(main: u8, main_count: usize, rare: u8, rare_count: usize) -> Vec<u8> {
        let mut codes = Vec::new();
        for symbol in 0..main {
            codes.extend(std::iter::repeat_n(symbol, main_count));
        }
        for symbol in main..main + rare {
            codes.extend(std::iter::repeat_n(symbol, rare_count));
        }
        for (step, symbol) in (main + rare..=255).take(11).enumerate() {
            codes.extend(std::iter::repeat_n(symbol, 1 << step.saturating_sub(1)));
        }
        codes
    }

    fn size_with(codes: &[u8], max_len: u8) -> (Codebook, u64) {
        let histogram = Histogram::from_symbols(codes);
        let codebook = Codebook::from_histogram(&histogram, Alphabet::Bytes, max_len).unwrap();
        let size = codebook.coded_size_bytes(&histogram);
        (codebook, size)
    }

    #[test]
    fn build_best_limits_byte_codes_to_the_table_width_when_nearly_free() {
        let (allowed, per) = FAST_LENGTH_MAX_COST;
        // Long codes for a few rare symbols: limiting them costs almost nothing.
        let cheap = two_level_codes(200, 10_000, 0, 0);
        let (optimal, optimal_size) = size_with(&cheap, 14);
        let (_, fast_size) = size_with(&cheap, FAST_CODE_LENGTH);
        assert!(optimal.max_length() > FAST_CODE_LENGTH);
        assert!(fast_size * per <= optimal_size * (per + allowed));
        let chosen = Codebook::build_best(&cheap, 8, 14).unwrap();
        assert_eq!(chosen.max_length(), FAST_CODE_LENGTH);
        assert_eq!(chosen.alphabet(), Alphabet::Bytes);

        // A long geometric tail carries real weight: limiting it costs too much, the optimal stays.
        let costly = two_level_codes(16, 61_000, 200, 60);
        let (optimal, optimal_size) = size_with(&costly, 14);
        let (_, fast_size) = size_with(&costly, FAST_CODE_LENGTH);
        assert!(fast_size * per > optimal_size * (per + allowed));
        assert_eq!(Codebook::build_best(&costly, 8, 14).unwrap(), optimal);

        // A limit at or under the table width is used as given.
        assert_eq!(
            Codebook::build_best(&cheap, 8, 11).unwrap().max_length(),
            11
        );
    }

    #[test]
    fn decode_friendly_histograms_follow_build_best() {
        for codes in [
            two_level_codes(200, 10_000, 0, 0),
            two_level_codes(16, 61_000, 200, 60),
        ] {
            let histogram = Histogram::from_symbols(&codes);
            assert_eq!(
                Codebook::from_histogram_decode_friendly(&histogram, Alphabet::Bytes, 14).unwrap(),
                Codebook::build_best(&codes, 8, 14).unwrap()
            );
        }
        // Pair codebooks stay optimal, long codes and all.
        let pairs: Vec<u8> = (0..16u8)
            .flat_map(|symbol| std::iter::repeat_n(symbol, 1usize << (16 - symbol).min(15)))
            .collect();
        let histogram = Histogram::from_nibble_pairs(&pairs).unwrap();
        let optimal = Codebook::from_histogram(&histogram, Alphabet::NibblePairs, 14).unwrap();
        assert!(optimal.max_length() > FAST_CODE_LENGTH);
        assert_eq!(
            Codebook::from_histogram_decode_friendly(&histogram, Alphabet::NibblePairs, 14)
                .unwrap(),
            optimal
        );
    }

    #[test]
    fn build_best_keeps_optimal_nibble_pair_codes() {
        // Pairs of 4-bit codes with a steep histogram: the pair code needs more than 12 bits.
        let mut codes = Vec::new();
        for symbol in 0..16u8 {
            let run = 1usize << (16 - symbol).min(15);
            codes.extend(std::iter::repeat_n(symbol, run));
        }
        let pairs = Codebook::build(&codes, Alphabet::NibblePairs, 14).unwrap();
        let chosen = Codebook::build_best(&codes, 4, 14).unwrap();
        assert_eq!(chosen.alphabet(), Alphabet::NibblePairs);
        assert_eq!(chosen, pairs);
        assert!(chosen.max_length() > FAST_CODE_LENGTH);
    }
}
