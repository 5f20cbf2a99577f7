//! Second pass: codes and error sums, block after block.

use crate::grid::{Grid, normalizer};

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::BlockParams;

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
}
