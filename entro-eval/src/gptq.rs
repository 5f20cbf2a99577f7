//! Calibrated rounding (GPTQ, Frantar et al. 2022, "Accurate Post-Training Quantization for
//! Generative Pre-trained Transformers"): the codes of a linear layer's weights are chosen one input
//! column at a time, and the rounding error of each column is spread over the columns not yet
//! rounded, weighted by the inverse of the layer's input Gram matrix ([`InputGram`]). The grids
//! stay what they were (so the file format and the bits are unchanged); what changes is which grid
//! point each weight takes: nearest rounding minimises the weights' error, this minimises the error
//! of the layer's outputs on the calibration inputs.

use entro_quant::{
    BlockParams, FloatSlice, Granularity, QuantError, QuantParams, QuantReport, code_entropy,
    quantize_with_params,
};

use crate::calibrate::InputGram;

/// Added to the Gram matrix's diagonal, relative to its mean: GPTQ's 1 % keeps the inverse well
/// conditioned when inputs are nearly collinear.
const DAMPING: f64 = 0.01;

/// Quantizes `input` (a matrix of `shape`, `[rows, cols]` or more dimensions flattened after the
/// first) on the per-row grids of `params` with calibrated rounding for inputs whose Gram matrix
/// is `gram` (of width `cols`). The report's statistics are those of the calibrated codes.
///
/// # Errors
///
/// The errors of [`quantize_with_params`] (shape, non-finite weights); [`QuantError::Parse`] when
/// the parameters are not per row or `gram` does not match the column count.
pub fn quantize_calibrated(
    name: &str,
    input: FloatSlice<'_>,
    shape: &[usize],
    params: &QuantParams,
    gram: &InputGram,
    codes: &mut [u8],
) -> Result<QuantReport, QuantError> {
    // Nearest rounding first: it validates everything and gives the statistics of the weights.
    let mut report = quantize_with_params(name, input, shape, params, codes)?;
    let rows = shape.first().copied().unwrap_or(1);
    let cols = codes.len().checked_div(rows).unwrap_or(0);
    if params.granularity != Granularity::Channel
        || gram.dim() != cols
        || rows * cols != codes.len()
    {
        return Err(QuantError::Parse {
            what: "calibrated rounding",
            input: format!(
                "{} grids over {rows}x{cols} with inputs of width {}",
                params.granularity,
                gram.dim()
            ),
            expected: "one grid per row and inputs as wide as a row",
        });
    }
    let Some(factor) = inverse_factor(gram.mean(), cols) else {
        // No usable inputs (all zero): nearest rounding is as good as any.
        return Ok(report);
    };
    let mut weights: Vec<f64> = (0..codes.len())
        .map(|index| f64::from(input.get(index).unwrap_or(0.0)))
        .collect();
    let top = (1u32 << params.bits.min(8)) - 1;
    for column in 0..cols {
        let pivot = factor[column * cols + column];
        let tail = &factor[column * cols + column + 1..(column + 1) * cols];
        for (row, block) in params.blocks.iter().enumerate() {
            let at = row * cols + column;
            let weight = weights[at];
            let code = nearest_code(block, weight, top);
            codes[at] = code;
            let error = (weight - f64::from(block.dequantize_code(code))) / pivot;
            let rest = &mut weights[at + 1..(row + 1) * cols];
            for (value, &coefficient) in rest.iter_mut().zip(tail) {
                *value -= error * coefficient;
            }
        }
    }
    restate(&mut report, input, codes, params);
    Ok(report)
}

/// The code of the grid point of `block` nearest to `weight`, within `0..=top`.
fn nearest_code(block: &BlockParams, weight: f64, top: u32) -> u8 {
    if block.scale == 0.0 {
        return u8::try_from(block.zero_point.clamp(0, 255)).unwrap_or(0);
    }
    let level = (weight / f64::from(block.scale)).round() + f64::from(block.zero_point);
    let level = level.clamp(0.0, f64::from(top));
    // Within 0..=255 after the clamp.
    #[expect(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "clamped to the code range above"
    )]
    let code = level as u8;
    code
}

/// The upper Cholesky factor `U` of the inverse of the damped Gram matrix (`H⁻¹ = Uᵀ U`),
/// row-major; `None` when the matrix has no positive diagonal.
fn inverse_factor(mut gram: Vec<f64>, n: usize) -> Option<Vec<f64>> {
    let mean_diagonal = (0..n).map(|i| gram[i * n + i]).sum::<f64>() / n.max(1) as f64;
    if mean_diagonal <= 0.0 || !mean_diagonal.is_finite() {
        return None;
    }
    for i in 0..n {
        // An input that is always zero: its weights never matter, any rounding will do.
        if gram[i * n + i] <= 0.0 {
            gram[i * n + i] = mean_diagonal;
        }
        gram[i * n + i] += DAMPING * mean_diagonal;
    }
    let lower = cholesky(&gram, n)?;
    let inverse = inverse_from_cholesky(&lower, n);
    // Upper factor of the inverse: the transpose of its lower Cholesky factor.
    let lower_of_inverse = cholesky(&inverse, n)?;
    let mut upper = vec![0.0; n * n];
    for i in 0..n {
        for j in 0..=i {
            upper[j * n + i] = lower_of_inverse[i * n + j];
        }
    }
    Some(upper)
}

/// The lower Cholesky factor of a symmetric positive definite `n × n` matrix.
fn cholesky(matrix: &[f64], n: usize) -> Option<Vec<f64>> {
    let mut lower = vec![0.0; n * n];
    for i in 0..n {
        for j in 0..=i {
            let dot: f64 = lower[i * n..i * n + j]
                .iter()
                .zip(&lower[j * n..j * n + j])
                .map(|(a, b)| a * b)
                .sum();
            let value = matrix[i * n + j] - dot;
            if i == j {
                if value <= 0.0 || !value.is_finite() {
                    return None;
                }
                lower[i * n + i] = value.sqrt();
            } else {
                lower[i * n + j] = value / lower[j * n + j];
            }
        }
    }
    Some(lower)
}

/// `(L Lᵀ)⁻¹` from the lower factor `L`.
fn inverse_from_cholesky(lower: &[f64], n: usize) -> Vec<f64> {
    // Row c of `transposed` is column c of L⁻¹ (zero before c), from L x = e_c by forward
    // substitution; every inner loop then runs over contiguous memory.
    let mut transposed = vec![0.0; n * n];
    for column in 0..n {
        let x = &mut transposed[column * n..(column + 1) * n];
        for i in column..n {
            let row = &lower[i * n..i * n + i];
            let dot: f64 = row[column..]
                .iter()
                .zip(&x[column..i])
                .map(|(l, v)| l * v)
                .sum();
            let unit = if i == column { 1.0 } else { 0.0 };
            x[i] = (unit - dot) / lower[i * n + i];
        }
    }
    // (L Lᵀ)⁻¹ = L⁻ᵀ L⁻¹: entry (i, j) is the dot product of columns i and j of L⁻¹.
    let mut inverse = vec![0.0; n * n];
    for i in 0..n {
        for j in 0..=i {
            let value: f64 = transposed[i * n + i..(i + 1) * n]
                .iter()
                .zip(&transposed[j * n + i..(j + 1) * n])
                .map(|(a, b)| a * b)
                .sum();
            inverse[i * n + j] = value;
            inverse[j * n + i] = value;
        }
    }
    inverse
}

/// Recomputes the error statistics and the code histogram of `report` for `codes`.
fn restate(report: &mut QuantReport, input: FloatSlice<'_>, codes: &[u8], params: &QuantParams) {
    let cols = codes.len() / params.blocks.len().max(1);
    let mut histogram = [0u64; 256];
    let (mut squared_error, mut max_abs_error) = (0f64, 0f64);
    for (index, &code) in codes.iter().enumerate() {
        histogram[usize::from(code)] += 1;
        let block = &params.blocks[index / cols.max(1)];
        let error =
            f64::from(input.get(index).unwrap_or(0.0)) - f64::from(block.dequantize_code(code));
        squared_error += error * error;
        max_abs_error = max_abs_error.max(error.abs());
    }
    let stats = &mut report.stats;
    stats.entropy_bits = code_entropy(&histogram);
    stats.squared_error = squared_error;
    stats.max_abs_error = max_abs_error;
    stats.rel_rms_error = if stats.squared_weight > 0.0 {
        (squared_error / stats.squared_weight).sqrt()
    } else {
        0.0
    };
    stats.snr_db = if squared_error > 0.0 {
        10.0 * (stats.squared_weight / squared_error).log10()
    } else {
        f64::INFINITY
    };
    report.histogram = histogram;
}

#[cfg(test)]
mod tests {
    use entro_quant::{ChosenScheme, FloatSliceMut, dequantize};

    use super::*;

    /// A small deterministic generator, so that the test data needs no dependency.
    fn noise(seed: u64, len: usize) -> Vec<f32> {
        let mut state = seed;
        (0..len)
            .map(|_| {
                state = state
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1);
                ((state >> 40) as f32 / (1u64 << 24) as f32) - 0.5
            })
            .collect()
    }

    fn output_error(weights: &[f32], restored: &[f32], inputs: &[f32], cols: usize) -> f64 {
        let rows = weights.len() / cols;
        let mut total = 0.0;
        for x in inputs.chunks(cols) {
            for row in 0..rows {
                let delta: f64 = (0..cols)
                    .map(|c| {
                        f64::from(weights[row * cols + c] - restored[row * cols + c])
                            * f64::from(x[c])
                    })
                    .sum();
                total += delta * delta;
            }
        }
        total
    }

    #[test]
    fn calibrated_rounding_lowers_the_output_error_on_correlated_inputs() {
        let (rows, cols, samples) = (24, 16, 400);
        let weights = noise(1, rows * cols);
        // Strongly correlated inputs: every column is a shared signal plus a little noise.
        let shared = noise(2, samples);
        let extra = noise(3, samples * cols);
        let inputs: Vec<f32> = (0..samples * cols)
            .map(|i| shared[i / cols] + 0.1 * extra[i])
            .collect();
        let gram = InputGram::from_rows(cols, &inputs).unwrap();
        let blocks = (0..rows)
            .map(|_| BlockParams {
                scale: 0.05,
                zero_point: 128,
            })
            .collect();
        let shape = [rows, cols];
        let params = QuantParams::new(
            8,
            ChosenScheme::Asymmetric,
            Granularity::Channel,
            blocks,
            &shape,
        )
        .unwrap();
        let mut nearest = vec![0u8; rows * cols];
        let plain = quantize_with_params(
            "w",
            FloatSlice::F32(&weights),
            &shape,
            &params,
            &mut nearest,
        )
        .unwrap();
        let mut calibrated = vec![0u8; rows * cols];
        let report = quantize_calibrated(
            "w",
            FloatSlice::F32(&weights),
            &shape,
            &params,
            &gram,
            &mut calibrated,
        )
        .unwrap();
        let restore = |codes: &[u8]| {
            let mut out = vec![0f32; codes.len()];
            dequantize(codes, &params, &shape, FloatSliceMut::F32(&mut out)).unwrap();
            out
        };
        let (near, cal) = (restore(&nearest), restore(&calibrated));
        let near_error = output_error(&weights, &near, &inputs, cols);
        let cal_error = output_error(&weights, &cal, &inputs, cols);
        assert!(cal_error < 0.5 * near_error, "{cal_error} vs {near_error}");
        // The weights themselves move further: that is the trade.
        assert!(report.stats.squared_error > plain.stats.squared_error);
        let direct: f64 = weights
            .iter()
            .zip(&cal)
            .map(|(w, r)| f64::from(w - r).powi(2))
            .sum();
        assert!((report.stats.squared_error - direct).abs() <= 1e-9 * direct.max(1.0));
    }

    #[test]
    fn mismatched_inputs_and_granularity_are_refused() {
        let weights = noise(4, 8 * 4);
        let shape = [8, 4];
        let gram = InputGram::from_rows(3, &noise(5, 30)).unwrap();
        let params = QuantParams::new(
            8,
            ChosenScheme::Asymmetric,
            Granularity::Channel,
            vec![
                BlockParams {
                    scale: 0.01,
                    zero_point: 128
                };
                8
            ],
            &shape,
        )
        .unwrap();
        let mut codes = vec![0u8; 32];
        let err = quantize_calibrated(
            "w",
            FloatSlice::F32(&weights),
            &shape,
            &params,
            &gram,
            &mut codes,
        )
        .unwrap_err();
        assert!(matches!(err, QuantError::Parse { .. }), "{err}");
    }

    #[test]
    fn cholesky_inverse_is_an_inverse() {
        let matrix = [4.0, 2.0, 0.4, 2.0, 3.0, 0.5, 0.4, 0.5, 2.0];
        let lower = cholesky(&matrix, 3).unwrap();
        let inverse = inverse_from_cholesky(&lower, 3);
        for i in 0..3 {
            for j in 0..3 {
                let product: f64 = (0..3).map(|k| matrix[i * 3 + k] * inverse[k * 3 + j]).sum();
                let expected = if i == j { 1.0 } else { 0.0 };
                assert!((product - expected).abs() < 1e-12);
            }
        }
        assert!(
            cholesky(&[1.0, 2.0, 2.0, 1.0], 2).is_none(),
            "not positive definite"
        );
    }
}
