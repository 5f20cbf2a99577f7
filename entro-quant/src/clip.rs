//! Optional range clipping: shrink a block's range to the one whose grid
//! reconstructs the block with the least squared error.

use crate::ChosenScheme;
use crate::derive::block_params;
use crate::encode::{Encoder, Grid};
use crate::scan::BlockRange;

/// Candidate shrink factors: `1 - k / 50` for `k = 0..=40`, from the full
/// range down to a fifth of it.
const CANDIDATES: u32 = 41;
const SHRINK_STEP: f32 = 1.0 / 50.0;

/// Largest number of weights the search evaluates per block; longer blocks are
/// sampled with a fixed stride, so results are deterministic.
pub(crate) const CLIP_SAMPLE: usize = 1 << 16;

/// Stride that takes at most [`CLIP_SAMPLE`] elements from a block of `len`.
pub(crate) fn sample_stride(len: usize) -> usize {
    len.div_ceil(CLIP_SAMPLE).max(1)
}

/// The candidate range (scaled copy of `range`) with the least squared
/// reconstruction error over `sample`; ties go to the wider range.
pub(crate) fn clipped_range(
    scheme: ChosenScheme,
    bits: u8,
    range: BlockRange,
    sample: &[f32],
    scratch_codes: &mut Vec<u8>,
) -> BlockRange {
    if range.is_constant() || range.lo > range.hi || sample.is_empty() {
        return range;
    }
    scratch_codes.resize(sample.len(), 0);
    let max_code = u8::try_from((1u32 << bits) - 1).unwrap_or(u8::MAX);
    let mut best = (f64::INFINITY, range);
    for k in 0..CANDIDATES {
        let shrink = 1.0 - k as f32 * SHRINK_STEP;
        let candidate = BlockRange {
            lo: range.lo * shrink,
            hi: range.hi * shrink,
        };
        let params = block_params(scheme, bits, candidate.lo, candidate.hi);
        let grid = Grid::new(params, scheme.min_code(), max_code);
        let mut encoder = Encoder::new(range.lo.abs().max(range.hi.abs()));
        encoder.encode(&grid, sample, scratch_codes);
        let sums = encoder.finish();
        if sums.squared_error < best.0 {
            best = (sums.squared_error, candidate);
        }
    }
    best.1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outliers_get_clipped_and_uniform_data_does_not() {
        // A bell-shaped bulk plus one far outlier: at 3 bits the error is
        // dominated by the bulk, so a narrower range wins.
        let mut values: Vec<f32> = (0..4000)
            .map(|i| {
                let u = (i as f32 + 0.5) / 4000.0;
                (u - 0.5) * (1.0 - (2.0 * u - 1.0).abs())
            })
            .collect();
        values.push(8.0);
        let range = BlockRange { lo: -0.25, hi: 8.0 };
        let mut scratch = Vec::new();
        let clipped = clipped_range(ChosenScheme::Asymmetric, 3, range, &values, &mut scratch);
        assert!(clipped.hi < range.hi, "{clipped:?}");

        let uniform: Vec<f32> = (0..=1000).map(|i| i as f32 / 1000.0).collect();
        let range = BlockRange { lo: 0.0, hi: 1.0 };
        let kept = clipped_range(
            ChosenScheme::Unsigned { negated: false },
            8,
            range,
            &uniform,
            &mut scratch,
        );
        assert_eq!(kept, range);
    }

    #[test]
    fn constant_and_empty_blocks_are_left_alone() {
        let mut scratch = Vec::new();
        let constant = BlockRange { lo: 2.0, hi: 2.0 };
        assert_eq!(
            clipped_range(ChosenScheme::Symmetric, 4, constant, &[2.0], &mut scratch),
            constant
        );
        let empty = BlockRange {
            lo: f32::INFINITY,
            hi: f32::NEG_INFINITY,
        };
        assert_eq!(
            clipped_range(ChosenScheme::Symmetric, 4, empty, &[], &mut scratch),
            empty
        );
        assert_eq!(sample_stride(0), 1);
        assert_eq!(sample_stride(CLIP_SAMPLE), 1);
        assert_eq!(sample_stride(CLIP_SAMPLE + 1), 2);
    }
}
