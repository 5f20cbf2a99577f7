//! Optional range clipping: shrink a block's range to the one whose grid
//! reconstructs the block with the least squared error.

use crate::ChosenScheme;
use crate::derive::block_params;
use crate::grid::{Grid, normalizer};
use crate::scan::BlockRange;

/// The search shrinks the range by factors in `[MIN_SHRINK, 1]`: first in
/// steps of 0.1, then around the best factor in steps of 0.025 and 0.00625.
/// About 19 evaluations reach the resolution of a 129-point grid.
const MIN_SHRINK: f32 = 0.2;
const COARSE_STEP: f32 = 0.1;
const REFINEMENTS: [(f32, i32); 2] = [(0.025, 3), (0.006_25, 3)];

/// The candidate range (scaled copy of `range`) whose grid gives the least
/// squared reconstruction error, as measured by `squared_error` over every
/// weight of the block (a sample would miss the rare outliers that clipping
/// hurts most); ties go to the wider range.
pub(crate) fn clipped_range(
    scheme: ChosenScheme,
    bits: u8,
    range: BlockRange,
    mut squared_error: impl FnMut(&Grid, Option<f32>) -> f64,
) -> BlockRange {
    if range.is_constant() || range.lo > range.hi {
        return range;
    }
    let max_code = u8::try_from((1u32 << bits) - 1).unwrap_or(u8::MAX);
    let normalizer = normalizer(range.lo.abs().max(range.hi.abs()));
    let scaled = |shrink: f32| BlockRange {
        lo: range.lo * shrink,
        hi: range.hi * shrink,
    };
    let mut error_of = |shrink: f32| {
        let candidate = scaled(shrink);
        let params = block_params(scheme, bits, candidate.lo, candidate.hi);
        squared_error(&Grid::new(params, scheme.min_code(), max_code), normalizer)
    };
    let mut best = (error_of(1.0), 1.0f32);
    let mut consider = |best: &mut (f64, f32), shrink: f32| {
        if (MIN_SHRINK..1.0).contains(&shrink) {
            let error = error_of(shrink);
            if error < best.0 {
                *best = (error, shrink);
            }
        }
    };
    let mut shrink = 1.0 - COARSE_STEP;
    while shrink >= MIN_SHRINK - COARSE_STEP / 2.0 {
        consider(&mut best, shrink.max(MIN_SHRINK));
        shrink -= COARSE_STEP;
    }
    for (step, reach) in REFINEMENTS {
        let center = best.1;
        for j in 1..=reach {
            consider(&mut best, center + j as f32 * step);
            consider(&mut best, center - j as f32 * step);
        }
    }
    scaled(best.1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn over(values: &[f32]) -> impl FnMut(&Grid, Option<f32>) -> f64 + '_ {
        |grid, normalizer| grid.squared_error(values, normalizer)
    }

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
        let clipped = clipped_range(ChosenScheme::Asymmetric, 3, range, over(&values));
        assert!(clipped.hi < range.hi, "{clipped:?}");

        let uniform: Vec<f32> = (0..=1000).map(|i| i as f32 / 1000.0).collect();
        let range = BlockRange { lo: 0.0, hi: 1.0 };
        let kept = clipped_range(
            ChosenScheme::Unsigned { negated: false },
            8,
            range,
            over(&uniform),
        );
        assert_eq!(kept, range);
    }

    #[test]
    fn constant_and_empty_blocks_are_left_alone() {
        let constant = BlockRange { lo: 2.0, hi: 2.0 };
        assert_eq!(
            clipped_range(ChosenScheme::Symmetric, 4, constant, over(&[2.0])),
            constant
        );
        let empty = BlockRange {
            lo: f32::INFINITY,
            hi: f32::NEG_INFINITY,
        };
        assert_eq!(
            clipped_range(ChosenScheme::Symmetric, 4, empty, over(&[])),
            empty
        );
    }
}
