//! Optimal length-limited code lengths by package-merge (Larmore and Hirschberg, 1990).
//!
//! Package-merge solves the "coin collector" problem: every symbol is a coin at each depth
//! `1..=max_len`, worth `2^-depth` with its count as cost. Choosing the cheapest set of coins worth
//! `n - 1` gives, for each symbol, the number of depths it was chosen at, which is its code length.
//! The result minimises `sum(count * length)` under the limit and always meets the Kraft equality.

use crate::{BuildError, MAX_CODE_LENGTH};

/// One entry of a package-merge list: a single leaf, or a package of two entries of the next
/// deeper list (which two is implied by the package's rank among the packages of its list).
#[derive(Clone, Copy, Debug)]
struct Item {
    weight: u128,
    /// The symbol for a leaf, `None` for a package.
    leaf: Option<u8>,
}

/// Returns optimal code lengths (0 = symbol absent) for `counts`, none longer than `max_len`.
///
/// A single used symbol gets a second, unused "phantom" symbol (`symbol ^ 1`) so that every codebook is
/// a complete prefix code; it costs one bit per coded symbol.
pub(crate) fn limited_lengths(counts: &[u64; 256], max_len: u8) -> Result<[u8; 256], BuildError> {
    if !(1..=MAX_CODE_LENGTH).contains(&max_len) {
        return Err(BuildError::MaxLengthOutOfRange {
            max_len,
            limit: MAX_CODE_LENGTH,
        });
    }
    let mut leaves: Vec<(u64, u8)> = (0..=255u8)
        .filter(|&symbol| counts[usize::from(symbol)] > 0)
        .map(|symbol| (counts[usize::from(symbol)], symbol))
        .collect();
    let mut lengths = [0u8; 256];
    match leaves.len() {
        0 => return Ok(lengths),
        1 => {
            let symbol = leaves[0].1;
            lengths[usize::from(symbol)] = 1;
            lengths[usize::from(symbol ^ 1)] = 1;
            return Ok(lengths);
        }
        symbols if symbols > 1usize << max_len => {
            return Err(BuildError::MaxLengthTooSmall { max_len, symbols });
        }
        _ => {}
    }
    leaves.sort_unstable();
    let leaf_items: Vec<Item> = leaves
        .iter()
        .map(|&(count, symbol)| Item {
            weight: u128::from(count),
            leaf: Some(symbol),
        })
        .collect();

    // lists[0] is depth max_len (leaves only); each next list is one level shallower.
    let mut lists: Vec<Vec<Item>> = Vec::with_capacity(usize::from(max_len));
    lists.push(leaf_items.clone());
    for _ in 1..max_len {
        let deeper = lists.last().map(Vec::as_slice).unwrap_or_default();
        let packages = deeper.chunks_exact(2).map(|pair| Item {
            weight: pair[0].weight + pair[1].weight,
            leaf: None,
        });
        lists.push(merge_by_weight(&leaf_items, packages));
    }

    // Take the 2n - 2 cheapest items at depth 1; each chosen package pulls in the first two
    // unchosen-so-far items of the next deeper list, i.e. a prefix of it.
    let mut take = 2 * leaves.len() - 2;
    for list in lists.iter().rev() {
        let chosen = &list[..take.min(list.len())];
        let mut packages = 0;
        for item in chosen {
            match item.leaf {
                Some(symbol) => lengths[usize::from(symbol)] += 1,
                None => packages += 1,
            }
        }
        take = 2 * packages;
    }
    Ok(lengths)
}

/// Merges sorted leaves with sorted packages; on equal weight the leaf comes first.
fn merge_by_weight(leaves: &[Item], packages: impl Iterator<Item = Item>) -> Vec<Item> {
    let mut merged = Vec::with_capacity(2 * leaves.len());
    let mut packages = packages.peekable();
    let mut leaves = leaves.iter().peekable();
    loop {
        let take_leaf = match (leaves.peek(), packages.peek()) {
            (Some(leaf), Some(package)) => leaf.weight <= package.weight,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (None, None) => break,
        };
        let item = if take_leaf {
            leaves.next().copied()
        } else {
            packages.next()
        };
        merged.extend(item);
    }
    merged
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kraft_sum_scaled(lengths: &[u8; 256]) -> u64 {
        lengths
            .iter()
            .filter(|&&len| len > 0)
            .map(|&len| 1u64 << (MAX_CODE_LENGTH - len))
            .sum()
    }

    #[test]
    fn two_symbols_get_one_bit_each() {
        let mut counts = [0u64; 256];
        counts[10] = 1;
        counts[20] = 1000;
        let lengths = limited_lengths(&counts, 11).unwrap();
        assert_eq!((lengths[10], lengths[20]), (1, 1));
        assert_eq!(lengths.iter().filter(|&&len| len > 0).count(), 2);
    }

    #[test]
    fn fibonacci_counts_are_clamped_to_the_limit() {
        // Unlimited Huffman on Fibonacci counts gives lengths 1, 2, ..., n - 1.
        let mut counts = [0u64; 256];
        let (mut a, mut b) = (1u64, 1u64);
        for slot in counts.iter_mut().take(30) {
            *slot = a;
            (a, b) = (b, a + b);
        }
        for max_len in [5u8, 8, 11, 15] {
            let lengths = limited_lengths(&counts, max_len).unwrap();
            assert!(lengths.iter().all(|&len| len <= max_len));
            assert_eq!(kraft_sum_scaled(&lengths), 1 << MAX_CODE_LENGTH);
        }
    }

    #[test]
    fn matches_unlimited_huffman_cost_when_limit_is_loose() {
        let counts_list = [
            [5u64, 9, 12, 13, 16, 45],
            [1, 1, 1, 1, 1, 1],
            [1, 2, 4, 8, 16, 32],
        ];
        // Costs of an unlimited Huffman code for these counts, worked out by hand.
        let expected = [224u64, 16, 119];
        for (small, want) in counts_list.iter().zip(expected) {
            let mut counts = [0u64; 256];
            counts[..6].copy_from_slice(small);
            let lengths = limited_lengths(&counts, 15).unwrap();
            let cost: u64 = (0..6).map(|i| counts[i] * u64::from(lengths[i])).sum();
            assert_eq!(cost, want, "counts {small:?} lengths {:?}", &lengths[..6]);
        }
    }

    #[test]
    fn rejects_impossible_limits() {
        let counts = [1u64; 256];
        assert!(matches!(
            limited_lengths(&counts, 7),
            Err(BuildError::MaxLengthTooSmall {
                max_len: 7,
                symbols: 256
            })
        ));
        assert!(matches!(
            limited_lengths(&counts, 0),
            Err(BuildError::MaxLengthOutOfRange { max_len: 0, .. })
        ));
        assert!(matches!(
            limited_lengths(&counts, 16),
            Err(BuildError::MaxLengthOutOfRange { max_len: 16, .. })
        ));
        let lengths = limited_lengths(&counts, 8).unwrap();
        assert!(lengths.iter().all(|&len| len == 8));
    }

    #[test]
    fn single_symbol_gets_a_phantom_partner() {
        let mut counts = [0u64; 256];
        counts[255] = 42;
        let lengths = limited_lengths(&counts, 1).unwrap();
        assert_eq!((lengths[255], lengths[254]), (1, 1));
        assert_eq!(kraft_sum_scaled(&lengths), 1 << MAX_CODE_LENGTH);
    }

    #[test]
    fn huge_counts_do_not_overflow() {
        let mut counts = [u64::MAX; 256];
        counts[0] = 1;
        let lengths = limited_lengths(&counts, 12).unwrap();
        assert_eq!(kraft_sum_scaled(&lengths), 1 << MAX_CODE_LENGTH);
    }
}
