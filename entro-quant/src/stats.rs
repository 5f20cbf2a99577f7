//! What one quantization pass reports: the parameters, the code histogram and
//! error statistics.

use crate::QuantParams;
use crate::encode::ErrorSums;

/// Result of [`quantize`](crate::quantize): everything a container format needs
/// besides the codes themselves.
#[derive(Debug, Clone, PartialEq)]
pub struct QuantReport {
    /// Parameters to dequantize the codes with.
    pub params: QuantParams,
    /// How often each code occurs (entries at or above `2^bits` are zero).
    pub histogram: [u64; 256],
    /// Statistics of the tensor and of the reconstruction error.
    pub stats: QuantStats,
}

/// Per-tensor statistics, computed in the same pass as the codes.
///
/// Errors are `weight - dequantized`, with the dequantized value computed by
/// the exact formula of [`BlockParams::dequantize_code`](crate::BlockParams::dequantize_code)
/// in f32, and summed in f64.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct QuantStats {
    /// Number of weights.
    pub elements: usize,
    /// Smallest weight (0.0 for an empty tensor).
    pub min: f32,
    /// Largest weight (0.0 for an empty tensor).
    pub max: f32,
    /// Smallest value any block's codes can represent. Without clipping the
    /// grid covers `[min, max]` to within half a step; with clipping this shows
    /// the clipped range.
    pub range_min: f32,
    /// Largest value any block's codes can represent.
    pub range_max: f32,
    /// Order-0 Shannon entropy of the codes, in bits per weight: the size an
    /// ideal per-tensor entropy coder approaches (0 for an empty tensor).
    pub entropy_bits: f64,
    /// Sum of squared errors.
    pub squared_error: f64,
    /// Sum of squared weights.
    pub squared_weight: f64,
    /// `sqrt(squared_error / squared_weight)`; 0 when the reconstruction is
    /// exact (including an all-zero tensor), infinite when only the weights are all zero.
    pub rel_rms_error: f64,
    /// Largest absolute error.
    pub max_abs_error: f64,
    /// Signal-to-noise ratio `10 log10(squared_weight / squared_error)` in dB;
    /// `f64::INFINITY` when the reconstruction is exact.
    pub snr_db: f64,
    /// Weights whose error exceeds half a step: those outside the grid, which
    /// only clipping (or parameters from elsewhere) produces.
    pub saturated: u64,
}

/// Order-0 Shannon entropy of a code histogram, in bits per code (0 when empty).
pub fn code_entropy(histogram: &[u64; 256]) -> f64 {
    let total: u64 = histogram.iter().sum();
    if total == 0 {
        return 0.0;
    }
    let total = total as f64;
    let sum: f64 = histogram
        .iter()
        .filter(|&&count| count > 0)
        .map(|&count| {
            let p = count as f64 / total;
            -p * p.log2()
        })
        .sum();
    // Rounding can leave -0.0 or a hair below zero for a single code.
    sum.max(0.0)
}

/// Builds the statistics from the scan and encode results.
pub(crate) fn summarize(
    params: &QuantParams,
    histogram: &[u64; 256],
    sums: ErrorSums,
    elements: usize,
    min_max: (f32, f32),
) -> QuantStats {
    let (mut range_min, mut range_max) = (f32::INFINITY, f32::NEG_INFINITY);
    for block in &params.blocks {
        for code in [params.min_code(), params.max_code()] {
            let value = block.dequantize_code(code);
            range_min = range_min.min(value);
            range_max = range_max.max(value);
        }
    }
    if range_min > range_max {
        (range_min, range_max) = (0.0, 0.0);
    }
    let (min, max) = if elements == 0 { (0.0, 0.0) } else { min_max };
    let (rel_rms_error, snr_db) = if sums.squared_error == 0.0 {
        (0.0, f64::INFINITY)
    } else {
        (
            (sums.squared_error / sums.squared_weight).sqrt(),
            10.0 * (sums.squared_weight / sums.squared_error).log10(),
        )
    };
    QuantStats {
        elements,
        min,
        max,
        range_min,
        range_max,
        entropy_bits: code_entropy(histogram),
        squared_error: sums.squared_error,
        squared_weight: sums.squared_weight,
        rel_rms_error,
        max_abs_error: sums.max_abs_error,
        snr_db,
        saturated: sums.saturated,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entropy_of_simple_histograms() {
        let mut histogram = [0u64; 256];
        assert_eq!(code_entropy(&histogram), 0.0);
        histogram[7] = 10;
        assert_eq!(code_entropy(&histogram), 0.0);
        histogram[9] = 10;
        assert!((code_entropy(&histogram) - 1.0).abs() < 1e-12);
        let uniform = [3u64; 256];
        assert!((code_entropy(&uniform) - 8.0).abs() < 1e-12);
        histogram[9] = 30;
        let p: f64 = 0.25;
        let expected = -(p * p.log2() + (1.0 - p) * (1.0 - p).log2());
        assert!((code_entropy(&histogram) - expected).abs() < 1e-12);
    }
}
