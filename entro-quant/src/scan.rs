//! First pass: the range of every block, and rejection of weights that are not
//! finite or too large.

use crate::{BlockLayout, FloatSlice, QuantError};

/// Largest accepted weight magnitude, `2^120`. Bounding weights keeps every
/// scale, grid point and `1 / scale` of the quantizer finite and normal; real
/// checkpoints are many orders of magnitude below it.
pub const MAX_ABS_WEIGHT: f32 = 1.329_228e36;

/// Range of one block: `lo > hi` when the block is empty.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct BlockRange {
    pub(crate) lo: f32,
    pub(crate) hi: f32,
}

impl BlockRange {
    const EMPTY: BlockRange = BlockRange {
        lo: f32::INFINITY,
        hi: f32::NEG_INFINITY,
    };

    pub(crate) fn is_constant(self) -> bool {
        self.lo == self.hi
    }

    fn merge(self, other: BlockRange) -> BlockRange {
        BlockRange {
            lo: if other.lo < self.lo {
                other.lo
            } else {
                self.lo
            },
            hi: if other.hi > self.hi {
                other.hi
            } else {
                self.hi
            },
        }
    }
}

/// Accumulator lanes: enough independent chains to hide latency and let the
/// compiler use full vector registers.
const LANES: usize = 16;

/// Range of `values` and whether they are all finite.
///
/// `x * 0.0` is 0 for finite `x` and NaN for NaN or infinity, so one sum
/// detects both without a branch. Compare-and-select (rather than `f32::min`)
/// compiles to plain vector min/max instructions.
fn range_of(values: &[f32]) -> (BlockRange, bool) {
    let mut lo = [f32::INFINITY; LANES];
    let mut hi = [f32::NEG_INFINITY; LANES];
    let mut poison = [0.0f32; LANES];
    let mut chunks = values.chunks_exact(LANES);
    for chunk in &mut chunks {
        for lane in 0..LANES {
            let x = chunk[lane];
            lo[lane] = if x < lo[lane] { x } else { lo[lane] };
            hi[lane] = if x > hi[lane] { x } else { hi[lane] };
            poison[lane] += x * 0.0;
        }
    }
    for (lane, &x) in chunks.remainder().iter().enumerate() {
        lo[lane] = if x < lo[lane] { x } else { lo[lane] };
        hi[lane] = if x > hi[lane] { x } else { hi[lane] };
        poison[lane] += x * 0.0;
    }
    // Halving reduction: a serial fold over the lanes would cost more than the
    // main loop for short blocks.
    let mut width = LANES / 2;
    while width > 0 {
        for lane in 0..width {
            let (other_lo, other_hi) = (lo[lane + width], hi[lane + width]);
            lo[lane] = if other_lo < lo[lane] {
                other_lo
            } else {
                lo[lane]
            };
            hi[lane] = if other_hi > hi[lane] {
                other_hi
            } else {
                hi[lane]
            };
            poison[lane] += poison[lane + width];
        }
        width /= 2;
    }
    let (range, sum) = (
        BlockRange {
            lo: lo[0],
            hi: hi[0],
        },
        poison[0],
    );
    (range, !sum.is_nan())
}

/// Ranges of all blocks of `input` (whose length the caller has checked
/// against `layout`), or the error for the first bad weight.
pub(crate) fn block_ranges(
    tensor: &str,
    input: FloatSlice<'_>,
    layout: &BlockLayout,
) -> Result<Vec<BlockRange>, QuantError> {
    let mut ranges = Vec::with_capacity(layout.block_count());
    let mut all_finite = true;
    let mut scratch = Vec::new();
    for block in layout.block_ranges() {
        let mut range = BlockRange::EMPTY;
        input.for_each_piece(block, &mut scratch, |_, values| {
            let (piece, finite) = range_of(values);
            range = range.merge(piece);
            all_finite &= finite;
        });
        ranges.push(range);
    }
    let whole = ranges
        .iter()
        .fold(BlockRange::EMPTY, |acc, &r| acc.merge(r));
    if !all_finite || whole.lo < -MAX_ABS_WEIGHT || whole.hi > MAX_ABS_WEIGHT {
        return Err(first_bad_weight(tensor, input));
    }
    Ok(ranges)
}

/// Slow path, only taken when something is wrong: find and describe the first
/// offending weight.
fn first_bad_weight(tensor: &str, input: FloatSlice<'_>) -> QuantError {
    for index in 0..input.len() {
        let value = input.get(index).unwrap_or(0.0);
        if !value.is_finite() {
            return QuantError::NonFinite {
                tensor: tensor.to_owned(),
                index,
                value,
            };
        }
        if value.abs() > MAX_ABS_WEIGHT {
            return QuantError::ValueTooLarge {
                tensor: tensor.to_owned(),
                index,
                value,
                limit: MAX_ABS_WEIGHT,
            };
        }
    }
    unreachable!("the fast scan reported a bad weight that the slow scan cannot find")
}

/// Smallest and largest weight over all blocks (`lo > hi` when there are none).
pub(crate) fn overall(ranges: &[BlockRange]) -> BlockRange {
    ranges
        .iter()
        .fold(BlockRange::EMPTY, |acc, &r| acc.merge(r))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Granularity;

    #[test]
    fn limit_is_two_to_the_120() {
        assert_eq!(MAX_ABS_WEIGHT, 2f32.powi(120));
    }

    #[test]
    fn ranges_per_block_match_a_plain_scan() {
        let values: Vec<f32> = (0..1000)
            .map(|i| ((i * 37 % 101) as f32 - 50.0) * 0.25)
            .collect();
        let layout = BlockLayout::new(&[10, 100], Granularity::Group(33)).unwrap();
        let ranges = block_ranges("t", FloatSlice::F32(&values), &layout).unwrap();
        assert_eq!(ranges.len(), layout.block_count());
        for (block, range) in layout.block_ranges().enumerate() {
            let slice = &values[range];
            let lo = slice.iter().copied().fold(f32::INFINITY, f32::min);
            let hi = slice.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            assert_eq!(ranges[block], BlockRange { lo, hi });
        }
        assert_eq!(
            overall(&ranges),
            BlockRange {
                lo: -12.5,
                hi: 12.5
            }
        );
    }

    #[test]
    fn first_bad_weight_is_reported() {
        let layout = BlockLayout::new(&[4, 10], Granularity::Channel).unwrap();
        for (bad, index) in [(f32::NAN, 17), (f32::INFINITY, 3), (f32::NEG_INFINITY, 39)] {
            let mut values = vec![1.0f32; 40];
            values[index] = bad;
            if let Some(next) = values.get_mut(index + 1) {
                *next = 1e38;
            }
            let err = block_ranges("w", FloatSlice::F32(&values), &layout).unwrap_err();
            assert!(
                matches!(&err, QuantError::NonFinite { tensor, index: i, .. } if tensor == "w" && *i == index),
                "{err:?}"
            );
        }
        let mut values = vec![1.0f32; 40];
        values[5] = -1e37;
        let err = block_ranges("w", FloatSlice::F32(&values), &layout).unwrap_err();
        assert!(
            matches!(err, QuantError::ValueTooLarge { index: 5, .. }),
            "{err:?}"
        );
    }

    #[test]
    fn empty_blocks_have_empty_ranges() {
        let layout = BlockLayout::new(&[3, 0], Granularity::Channel).unwrap();
        let ranges = block_ranges("e", FloatSlice::F32(&[]), &layout).unwrap();
        assert_eq!(ranges, vec![BlockRange::EMPTY; 3]);
        assert!(overall(&ranges).lo > overall(&ranges).hi);
    }
}
