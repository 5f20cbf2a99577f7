//! Symbol counts over the 256 byte symbols.

use crate::BuildError;

/// How often each of the 256 byte symbols occurs.
///
/// For [`crate::Alphabet::NibblePairs`] the symbols are pairs `hi << 4 | lo` of consecutive codes; see
/// [`Histogram::from_nibble_pairs`].
#[derive(Clone, PartialEq, Eq)]
pub struct Histogram {
    counts: [u64; 256],
}

impl Histogram {
    /// Counts the byte symbols in `symbols`.
    pub fn from_symbols(symbols: &[u8]) -> Self {
        // Four interleaved tables break the store-to-load dependency when a symbol repeats.
        let mut tables = [[0u64; 256]; 4];
        let mut quads = symbols.chunks_exact(4);
        for quad in &mut quads {
            tables[0][usize::from(quad[0])] += 1;
            tables[1][usize::from(quad[1])] += 1;
            tables[2][usize::from(quad[2])] += 1;
            tables[3][usize::from(quad[3])] += 1;
        }
        for &symbol in quads.remainder() {
            tables[0][usize::from(symbol)] += 1;
        }
        let mut counts = [0u64; 256];
        for (slot, count) in counts.iter_mut().enumerate() {
            *count = tables.iter().map(|table| table[slot]).sum();
        }
        Self { counts }
    }

    /// Counts the pair symbols `codes[2i] << 4 | codes[2i + 1]`; an odd last code is paired with 0,
    /// which is what [`crate::encode`] does with the tail of a stream (and of each chunk when the chunk
    /// size is even, which it must be for this alphabet).
    ///
    /// # Errors
    /// [`BuildError::CodeOutOfRange`] if a code is 16 or more.
    pub fn from_nibble_pairs(codes: &[u8]) -> Result<Self, BuildError> {
        if let Some(index) = codes.iter().position(|&code| code >= 16) {
            return Err(BuildError::CodeOutOfRange {
                index,
                code: codes[index],
            });
        }
        let mut counts = [0u64; 256];
        let mut pairs = codes.chunks_exact(2);
        for pair in &mut pairs {
            counts[usize::from(pair[0] << 4 | pair[1])] += 1;
        }
        if let [last] = pairs.remainder() {
            counts[usize::from(*last << 4)] += 1;
        }
        Ok(Self { counts })
    }

    /// Uses the given counts as they are.
    pub fn from_counts(counts: [u64; 256]) -> Self {
        Self { counts }
    }

    /// The count of every symbol.
    pub fn counts(&self) -> &[u64; 256] {
        &self.counts
    }

    /// The number of symbols counted (saturating at `u64::MAX`).
    pub fn total(&self) -> u64 {
        self.counts
            .iter()
            .fold(0u64, |sum, &count| sum.saturating_add(count))
    }

    /// How many distinct symbols occur.
    pub fn distinct(&self) -> usize {
        self.counts.iter().filter(|&&count| count > 0).count()
    }

    /// Order-0 Shannon entropy in bits per symbol (0 for an empty histogram).
    pub fn entropy_bits(&self) -> f64 {
        entropy_bits(&self.counts)
    }
}

impl std::fmt::Debug for Histogram {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // 256 numbers are unreadable; show only the symbols that occur.
        let used: Vec<(usize, u64)> = self
            .counts
            .iter()
            .copied()
            .enumerate()
            .filter(|&(_, count)| count > 0)
            .collect();
        f.debug_struct("Histogram")
            .field("total", &self.total())
            .field("used", &used)
            .finish()
    }
}

/// Shannon entropy of a count vector in bits per counted item.
pub(crate) fn entropy_bits(counts: &[u64]) -> f64 {
    let total: f64 = counts.iter().map(|&count| count as f64).sum();
    if total == 0.0 {
        return 0.0;
    }
    counts
        .iter()
        .filter(|&&count| count > 0)
        .map(|&count| {
            let p = count as f64 / total;
            -p * p.log2()
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_every_symbol_once() {
        let symbols: Vec<u8> = (0..=255u8).chain([7, 7, 7]).collect();
        let histogram = Histogram::from_symbols(&symbols);
        assert_eq!(histogram.total(), 259);
        assert_eq!(histogram.counts()[7], 4);
        assert_eq!(histogram.counts()[8], 1);
        assert_eq!(histogram.distinct(), 256);
    }

    #[test]
    fn entropy_of_uniform_and_constant() {
        let uniform = Histogram::from_symbols(&(0..=255u8).collect::<Vec<_>>());
        assert!((uniform.entropy_bits() - 8.0).abs() < 1e-12);
        let constant = Histogram::from_symbols(&[3; 100]);
        assert_eq!(constant.entropy_bits(), 0.0);
        assert_eq!(Histogram::from_symbols(&[]).entropy_bits(), 0.0);
    }

    #[test]
    fn nibble_pairs_pad_odd_tail_with_zero() {
        let histogram = Histogram::from_nibble_pairs(&[1, 2, 3]).unwrap();
        assert_eq!(histogram.counts()[0x12], 1);
        assert_eq!(histogram.counts()[0x30], 1);
        assert_eq!(histogram.total(), 2);
    }

    #[test]
    fn nibble_pairs_reject_wide_codes() {
        let err = Histogram::from_nibble_pairs(&[1, 16]).unwrap_err();
        assert!(matches!(
            err,
            BuildError::CodeOutOfRange { index: 1, code: 16 }
        ));
    }

    #[test]
    fn total_saturates() {
        let mut counts = [0u64; 256];
        counts[0] = u64::MAX;
        counts[1] = 5;
        assert_eq!(Histogram::from_counts(counts).total(), u64::MAX);
    }
}
