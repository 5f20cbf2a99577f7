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

/// A block's parameters prepared for the encoding loop.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Grid {
    params: BlockParams,
    inverse: f32,
    /// `zero_point + 0.5`: adding it turns truncation into round-half-up.
    bias: f32,
    min_code: f32,
    max_code: f32,
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
            bias: params.zero_point as f32 + 0.5,
            min_code: f32::from(min_code),
            max_code: f32::from(max_code),
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

    #[inline(always)]
    #[expect(
        clippy::cast_possible_truncation,
        reason = "the value is clamped to min_code..=max_code, both in 0..=255, before the cast"
    )]
    fn code_of(&self, value: f32) -> u8 {
        let t = value * self.inverse + self.bias;
        let t = if t > self.min_code { t } else { self.min_code };
        let t = if t < self.max_code { t } else { self.max_code };
        t as u8
    }

    /// Encodes `values` into `codes` (same length) and adds their errors to `sums`.
    ///
    /// One loop does both: the dequantized value is recomputed from the code
    /// with the exact formula, so the sums are true reconstruction errors.
    pub(crate) fn encode(&self, values: &[f32], codes: &mut [u8], sums: &mut ErrorSums) {
        let mut squared_error = [0.0f64; LANES];
        let mut squared_weight = [0.0f64; LANES];
        let mut max_error = [0.0f32; LANES];
        let mut saturated = [0u32; LANES];
        let mut step = |lane: usize, value: f32, code: &mut u8| {
            *code = self.code_of(value);
            let error = value - self.params.dequantize_code(*code);
            let magnitude = error.abs();
            squared_error[lane] += f64::from(error) * f64::from(error);
            squared_weight[lane] += f64::from(value) * f64::from(value);
            max_error[lane] = if magnitude > max_error[lane] {
                magnitude
            } else {
                max_error[lane]
            };
            saturated[lane] += u32::from(magnitude > self.saturation);
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
        for lane in 0..LANES {
            sums.squared_error += squared_error[lane];
            sums.squared_weight += squared_weight[lane];
            sums.max_abs_error = sums.max_abs_error.max(f64::from(max_error[lane]));
            sums.saturated += u64::from(saturated[lane]);
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
        let mut sums = ErrorSums::default();
        grid.encode(&values, &mut codes, &mut sums);
        assert_eq!(codes, [0, 1, 1, 2, 3, 4, 7, 7, 0]);
        let expected: f64 = values
            .iter()
            .zip(&codes)
            .map(|(&v, &c)| f64::from(v - params.dequantize_code(c)).powi(2))
            .sum();
        assert!((sums.squared_error - expected).abs() < 1e-9);
        assert_eq!(sums.saturated, 2);
        assert!((sums.max_abs_error - 9.0).abs() < 1e-6);
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
