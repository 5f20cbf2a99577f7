//! Second pass: codes, histogram and error sums for one block at a time.

use crate::BlockParams;

/// Accumulator lanes of the fused loop (see `scan::LANES`).
const LANES: usize = 8;

/// Error sums over the quantized weights, all in absolute units.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct ErrorSums {
    pub(crate) squared_error: f64,
    pub(crate) squared_weight: f64,
    pub(crate) max_abs_error: f64,
    /// Weights whose error exceeds half a step (plus rounding slack): those
    /// outside the grid, which only clipping or foreign parameters produce.
    pub(crate) saturated: u64,
}

impl ErrorSums {
    /// Adds `count` copies of a weight `value` reconstructed as `dequantized`.
    pub(crate) fn add_repeated(
        &mut self,
        value: f32,
        dequantized: f32,
        count: usize,
        saturation: f32,
    ) {
        let error = value - dequantized;
        let count_f = count as f64;
        self.squared_error += f64::from(error) * f64::from(error) * count_f;
        self.squared_weight += f64::from(value) * f64::from(value) * count_f;
        if count > 0 {
            self.max_abs_error = self.max_abs_error.max(f64::from(error.abs()));
            if error.abs() > saturation {
                self.saturated += count as u64;
            }
        }
    }
}

/// Relative slack on the half-step bound for f32 rounding (see the crate docs).
pub(crate) const HALF_STEP_SLACK: f32 = 1.0 / 4096.0;

/// Histogram counts kept in four interleaved tables so that runs of equal codes
/// do not serialise on one counter (store-to-load forwarding stalls).
#[derive(Debug, Clone)]
pub(crate) struct Histogram {
    tables: Box<[[u32; 256]; 4]>,
    pending: usize,
    totals: [u64; 256],
}

/// Flush the u32 tables well before any counter could overflow.
const FLUSH_AFTER: usize = 1 << 30;

impl Histogram {
    pub(crate) fn new() -> Self {
        Histogram {
            tables: Box::new([[0; 256]; 4]),
            pending: 0,
            totals: [0; 256],
        }
    }

    pub(crate) fn count(&mut self, codes: &[u8]) {
        if self.pending + codes.len() > FLUSH_AFTER {
            self.flush();
        }
        self.pending += codes.len();
        let [t0, t1, t2, t3] = &mut *self.tables;
        let mut quads = codes.chunks_exact(4);
        for quad in &mut quads {
            t0[usize::from(quad[0])] += 1;
            t1[usize::from(quad[1])] += 1;
            t2[usize::from(quad[2])] += 1;
            t3[usize::from(quad[3])] += 1;
        }
        for &code in quads.remainder() {
            t0[usize::from(code)] += 1;
        }
    }

    pub(crate) fn add(&mut self, code: u8, count: usize) {
        self.totals[usize::from(code)] += count as u64;
    }

    fn flush(&mut self) {
        for table in self.tables.iter_mut() {
            for (total, count) in self.totals.iter_mut().zip(table.iter_mut()) {
                *total += u64::from(*count);
                *count = 0;
            }
        }
        self.pending = 0;
    }

    pub(crate) fn finish(mut self) -> [u64; 256] {
        self.flush();
        self.totals
    }
}

/// Adding 2^23 to a value in `0.0..=255.0` rounds it to the nearest integer
/// (ties to even) and leaves that integer in the low mantissa bits, so the code
/// is a bit cast away and the rounded value is exact: no float-to-int
/// conversion, whose saturating semantics cost extra instructions per lane.
const MAGIC: f32 = 8_388_608.0;

/// Fold the f32 lanes into the f64 sums after this many weights, which bounds
/// the f32 rounding of the sums to a relative 2^-15 or so.
const FLUSH_WEIGHTS: usize = 4096;

/// Encodes blocks one after another, accumulating error sums in f32 lanes
/// across blocks (so short blocks cost no reduction each) and folding them
/// into f64 every [`FLUSH_WEIGHTS`] weights.
///
/// Errors and weights are multiplied by a power of two (exact) that brings the
/// largest weight into `[1, 2)` before squaring, so the f32 squares neither
/// overflow nor lose the error of a tensor of tiny weights; only terms below
/// 2^-126 of the largest squared weight are lost to underflow.
#[derive(Debug)]
pub(crate) struct Encoder {
    squared_error: [f32; LANES],
    squared_weight: [f32; LANES],
    max_error: [f32; LANES],
    saturated: [u32; LANES],
    pending: usize,
    /// Power of two that maps the largest weight into `[1, 2)`.
    normalizer: f32,
    /// Set for tensors whose largest weight is too small for a normal
    /// normalizer; they take the exact f64 path.
    exact_only: bool,
    sums: ErrorSums,
}

/// Grids whose scale, normalized, exceeds this take the exact path, so that
/// normalized errors stay far from f32 overflow. The quantizer's own grids are
/// below 4/3.
const MAX_NORMALIZED_SCALE: f32 = 1024.0;

impl Encoder {
    /// An encoder for weights of magnitude at most `max_abs_weight`.
    pub(crate) fn new(max_abs_weight: f32) -> Self {
        Encoder {
            squared_error: [0.0; LANES],
            squared_weight: [0.0; LANES],
            max_error: [0.0; LANES],
            saturated: [0; LANES],
            pending: 0,
            normalizer: normalizer(max_abs_weight).unwrap_or(1.0),
            exact_only: normalizer(max_abs_weight).is_none(),
            sums: ErrorSums::default(),
        }
    }

    /// Encodes `values` into `codes` (same length) on `grid`.
    ///
    /// Errors are measured against the exact dequantization formula: the
    /// rounded step count (an exact small integer) times the scale.
    pub(crate) fn encode(&mut self, grid: &Grid, values: &[f32], codes: &mut [u8]) {
        let normalizer = self.normalizer;
        if self.exact_only
            || !grid.fast
            || grid.params.scale.abs() * normalizer > MAX_NORMALIZED_SCALE
        {
            grid.encode_exact(values, codes, &mut self.sums);
            return;
        }
        let mut squared_error = self.squared_error;
        let mut squared_weight = self.squared_weight;
        let mut max_error = self.max_error;
        let mut saturated = self.saturated;
        let (inverse, scale, saturation) = (grid.inverse, grid.params.scale, grid.saturation);
        let mut step = |lane: usize, value: f32, code: &mut u8| {
            let (rounded, offset) = grid.round(value * inverse);
            *code = rounded;
            let error = value - offset * scale;
            let magnitude = error.abs();
            let (error, value) = (error * normalizer, value * normalizer);
            squared_error[lane] += error * error;
            squared_weight[lane] += value * value;
            max_error[lane] = if magnitude > max_error[lane] {
                magnitude
            } else {
                max_error[lane]
            };
            saturated[lane] += u32::from(magnitude > saturation);
        };
        let mut value_chunks = values.chunks_exact(LANES);
        let mut code_chunks = codes.chunks_exact_mut(LANES);
        for (value_chunk, code_chunk) in (&mut value_chunks).zip(&mut code_chunks) {
            for lane in 0..LANES {
                step(lane, value_chunk[lane], &mut code_chunk[lane]);
            }
        }
        let tail = value_chunks.remainder().iter();
        for (lane, (&value, code)) in tail.zip(code_chunks.into_remainder()).enumerate() {
            step(lane, value, code);
        }
        self.squared_error = squared_error;
        self.squared_weight = squared_weight;
        self.max_error = max_error;
        self.saturated = saturated;
        self.pending += values.len();
        if self.pending >= FLUSH_WEIGHTS {
            self.flush();
        }
    }

    fn flush(&mut self) {
        let unscale = 1.0 / (f64::from(self.normalizer) * f64::from(self.normalizer));
        for lane in 0..LANES {
            self.sums.squared_error += f64::from(self.squared_error[lane]) * unscale;
            self.sums.squared_weight += f64::from(self.squared_weight[lane]) * unscale;
            let max_error = f64::from(self.max_error[lane]);
            self.sums.max_abs_error = self.sums.max_abs_error.max(max_error);
            self.sums.saturated += u64::from(self.saturated[lane]);
        }
        self.squared_error = [0.0; LANES];
        self.squared_weight = [0.0; LANES];
        self.max_error = [0.0; LANES];
        self.saturated = [0; LANES];
        self.pending = 0;
    }

    /// Adds the sums of weights handled elsewhere (constant blocks).
    pub(crate) fn sums_mut(&mut self) -> &mut ErrorSums {
        &mut self.sums
    }

    /// All sums so far.
    pub(crate) fn finish(mut self) -> ErrorSums {
        self.flush();
        self.sums
    }
}

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
    params: BlockParams,
    inverse: f32,
    zero_point: f32,
    min_code: f32,
    max_code: f32,
    /// Whether the fast loop may apply: a normal scale with a normal inverse
    /// (true for the quantizer's own non-constant blocks).
    fast: bool,
    /// Absolute error above which a weight counts as saturated.
    saturation: f32,
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
    fn round(&self, steps: f32) -> (u8, f32) {
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
    fn encode_exact(&self, values: &[f32], codes: &mut [u8], sums: &mut ErrorSums) {
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
    fn encode_picks_nearest_codes_and_sums_errors() {
        let params = BlockParams {
            scale: 0.5,
            zero_point: 2,
        };
        let grid = Grid::new(params, 0, 7);
        let values = [-1.0f32, -0.74, -0.26, 0.0, 0.3, 1.24, 2.5, 10.0, -10.0];
        let mut codes = [0u8; 9];
        let mut encoder = Encoder::new(10.0);
        encoder.encode(&grid, &values, &mut codes);
        let sums = encoder.finish();
        assert_eq!(codes, [0, 1, 1, 2, 3, 4, 7, 7, 0]);
        let expected: f64 = values
            .iter()
            .zip(&codes)
            .map(|(&v, &c)| f64::from(v - params.dequantize_code(c)).powi(2))
            .sum();
        assert!((sums.squared_error - expected).abs() <= expected * 1e-6);
        assert_eq!(sums.saturated, 2);
        assert!((sums.max_abs_error - 9.0).abs() < 1e-6);
    }

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
    fn tiny_and_huge_tensors_get_accurate_sums() {
        for magnitude in [1e-35f32, 1e-25, 1e-5, 1e10, 1e35] {
            let values: Vec<f32> = (0..1000)
                .map(|i| (i as f32 - 500.3) * magnitude / 500.0)
                .collect();
            let params = BlockParams {
                scale: 2.0 * magnitude / 255.0,
                zero_point: 128,
            };
            let grid = Grid::new(params, 0, 255);
            let mut codes = vec![0u8; values.len()];
            let mut encoder = Encoder::new(magnitude);
            encoder.encode(&grid, &values, &mut codes);
            let sums = encoder.finish();
            let (mut error, mut weight) = (0.0f64, 0.0f64);
            for (&v, &c) in values.iter().zip(&codes) {
                error += f64::from(v - params.dequantize_code(c)).powi(2);
                weight += f64::from(v).powi(2);
            }
            assert!(
                (sums.squared_error / error - 1.0).abs() < 1e-5,
                "{magnitude}"
            );
            assert!(
                (sums.squared_weight / weight - 1.0).abs() < 1e-5,
                "{magnitude}"
            );
        }
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

    #[test]
    fn histogram_counts_every_code() {
        let codes: Vec<u8> = (0..10_007u32).map(|i| (i * i % 251) as u8).collect();
        let mut histogram = Histogram::new();
        histogram.count(&codes[..5000]);
        histogram.count(&codes[5000..]);
        histogram.add(3, 10);
        let counts = histogram.finish();
        let mut expected = [0u64; 256];
        for &code in &codes {
            expected[usize::from(code)] += 1;
        }
        expected[3] += 10;
        assert_eq!(counts, expected);
    }
}
