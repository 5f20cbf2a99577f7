//! A block's parameters prepared for encoding: rounding to codes.

use crate::BlockParams;
use crate::encode::{ErrorSums, HALF_STEP_SLACK};

/// Accumulator lanes of the squared-error loop.
const LANES: usize = 8;

/// Adding 2^23 to a value in `0.0..=255.0` rounds it to the nearest integer
/// (ties to even) and leaves that integer in the low mantissa bits, so the code
/// is a bit cast away and the rounded value is exact: no float-to-int
/// conversion, whose saturating semantics cost extra instructions per lane.
const MAGIC: f32 = 8_388_608.0;

/// The power of two `2^-e` with `max_abs_weight * 2^-e` in `[1, 2)`, or `None`
/// when that is not a normal f32 (all-zero or subnormal-only tensors).
pub(crate) fn normalizer(max_abs_weight: f32) -> Option<f32> {
    let usable = (2f32.powi(-100)..=f32::MAX).contains(&max_abs_weight);
    if !usable {
        return None;
    }
    // Exponent bits of a normal f32: value in [2^e, 2^(e+1)).
    let exponent = ((max_abs_weight.to_bits() >> 23) & 0xff) as i32 - 127;
    Some(2f32.powi(-exponent))
}

/// A block's parameters prepared for the encoding loop.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Grid {
    pub(crate) params: BlockParams,
    pub(crate) inverse: f32,
    zero_point: f32,
    min_code: f32,
    max_code: f32,
    /// Whether the fast loop may apply: a normal scale with a normal inverse
    /// (true for the quantizer's own non-constant blocks).
    pub(crate) fast: bool,
    /// Absolute error above which a weight counts as saturated.
    pub(crate) saturation: f32,
}

impl Grid {
    pub(crate) fn new(params: BlockParams, min_code: u8, max_code: u8) -> Self {
        let inverse = if params.scale == 0.0 {
            0.0
        } else {
            1.0 / params.scale
        };
        Grid {
            params,
            inverse,
            zero_point: params.zero_point as f32,
            min_code: f32::from(min_code),
            max_code: f32::from(max_code),
            fast: params.scale.is_normal() && inverse.is_normal(),
            saturation: params.scale.abs() * (0.5 + HALF_STEP_SLACK),
        }
    }

    /// Error magnitude above which a weight counts as saturated.
    pub(crate) fn saturation(&self) -> f32 {
        self.saturation
    }

    /// The code nearest to `value` under the exact dequantization formula, for
    /// constant blocks. Rounds in f64 (where `1 / scale` stays finite even for
    /// subnormal scales), then checks both neighbours so that any exactly
    /// representable value comes back exactly.
    #[expect(
        clippy::cast_possible_truncation,
        reason = "the value is clamped to min_code..=max_code, both in 0..=255, before the cast"
    )]
    pub(crate) fn nearest_code(&self, value: f32) -> u8 {
        let (min_code, max_code) = (f64::from(self.min_code), f64::from(self.max_code));
        let steps = if self.params.scale == 0.0 {
            0.0
        } else {
            f64::from(value) / f64::from(self.params.scale)
        };
        let start = (steps + f64::from(self.params.zero_point))
            .round()
            .clamp(min_code, max_code) as u8;
        let error = |code: u8| (value - self.params.dequantize_code(code)).abs();
        let mut best = start;
        for candidate in [start.saturating_sub(1), start.saturating_add(1)] {
            let in_range = (min_code..=max_code).contains(&f64::from(candidate));
            if in_range && error(candidate) < error(best) {
                best = candidate;
            }
        }
        best
    }

    /// Code of `value` and `(code - zero_point) as f32`, given `steps = value * inverse`.
    #[inline(always)]
    #[expect(
        clippy::cast_possible_truncation,
        reason = "the low byte of the mantissa is the code, by construction of MAGIC"
    )]
    pub(crate) fn round(&self, steps: f32) -> (u8, f32) {
        let shifted = steps + self.zero_point;
        let shifted = if shifted > self.min_code {
            shifted
        } else {
            self.min_code
        };
        let shifted = if shifted < self.max_code {
            shifted
        } else {
            self.max_code
        };
        let shifted = shifted + MAGIC;
        // Both subtractions are exact: the operands are small integers.
        (shifted.to_bits() as u8, (shifted - MAGIC) - self.zero_point)
    }

    /// Sum of squared reconstruction errors of `values`, each multiplied by
    /// `normalizer` first (exact f64 sums when there is none), without writing
    /// codes: the inner loop of the clipping search.
    pub(crate) fn squared_error(&self, values: &[f32], normalizer: Option<f32>) -> f64 {
        let Some(normalizer) = normalizer.filter(|_| self.fast) else {
            return values
                .iter()
                .map(|&value| {
                    let (code, _) = self.round(value * self.inverse);
                    f64::from(value - self.params.dequantize_code(code)).powi(2)
                })
                .sum();
        };
        let mut sums = [0.0f32; LANES];
        let (inverse, scale) = (self.inverse, self.params.scale);
        let mut chunks = values.chunks_exact(LANES);
        for chunk in &mut chunks {
            for lane in 0..LANES {
                let value = chunk[lane];
                let (_, offset) = self.round(value * inverse);
                let error = (value - offset * scale) * normalizer;
                sums[lane] += error * error;
            }
        }
        for (lane, &value) in chunks.remainder().iter().enumerate() {
            let (_, offset) = self.round(value * inverse);
            let error = (value - offset * scale) * normalizer;
            sums[lane] += error * error;
        }
        let unscale = 1.0 / (f64::from(normalizer) * f64::from(normalizer));
        sums.iter().map(|&sum| f64::from(sum) * unscale).sum()
    }

    /// Scalar path with f64 sums of absolute errors, for scales whose inverse
    /// is not a normal number (only possible with parameters from elsewhere)
    /// and for pieces whose step sums overflowed.
    pub(crate) fn encode_exact(&self, values: &[f32], codes: &mut [u8], sums: &mut ErrorSums) {
        let saturation = self.saturation;
        for (&value, code) in values.iter().zip(codes.iter_mut()) {
            let (rounded, _) = self.round(value * self.inverse);
            *code = rounded;
            sums.add_repeated(value, self.params.dequantize_code(rounded), 1, saturation);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizer_maps_the_largest_weight_into_one_to_two() {
        for max in [
            1.0f32,
            1.5,
            2.0,
            3e-20,
            7e30,
            f32::MIN_POSITIVE * 2f32.powi(30),
        ] {
            let scaled = max * normalizer(max).unwrap();
            assert!((1.0..2.0).contains(&scaled), "{max}: {scaled}");
        }
        assert_eq!(normalizer(0.0), None);
        assert_eq!(normalizer(1e-40), None);
    }
    #[test]
    fn nearest_code_is_exact_for_grid_values() {
        let params = BlockParams {
            scale: 1e-40,
            zero_point: 1,
        };
        let grid = Grid::new(params, 0, 3);
        assert_eq!(grid.nearest_code(-1e-40), 0);
        assert_eq!(grid.nearest_code(2e-40), 3);
        let zero = Grid::new(
            BlockParams {
                scale: 0.0,
                zero_point: 8,
            },
            1,
            15,
        );
        assert_eq!(zero.nearest_code(0.0), 8);
    }
}
