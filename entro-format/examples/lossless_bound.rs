//! How small could a lossless file of entro's kind get? An optimistic estimate, in bits per float
//! weight, for the model class issue 8's analysis considered: the exponent with the top mantissa
//! bits entropy-coded (ideally, no table or chunk costs) and optionally conditioned on a class of
//! the element's scale (its row's RMS, or its row's times its column's); the sign and the other mantissa bits stored as they are, except the low
//! 13 bits of F32 elements that F16 holds exactly, which cost nothing here.
//!
//! ```text
//! cargo run --release -p entro-format --example lossless_bound
//! ```
//!
//! The scale-class gain is measured out of sample (a model fitted on the even rows scores the odd
//! rows and the other way round), because a context model fitted to the data it codes looks
//! better than any coder that has to transmit or learn it. The order-0 part is the in-sample
//! entropy of every tensor, a little below what a coder pays.
//!
//! Grid blocks (values dequantized from llama.cpp blocks) are not modelled: for SmolLM2-135M,
//! whose every block lies on a grid, the estimate is what a natively trained BF16 checkpoint of
//! the same statistics would get. Compare with `--example lossless_ratio`, which writes the files.
//!
//! Models: see `benches/support/models.rs`; absent ones are skipped with the reason.

#[path = "../benches/support/models.rs"]
mod models;

use entro_format::Dtype;

/// Mantissa bits joined to the exponent in the modelled symbol (the rest are close to uniform).
const TOP_MANTISSA_BITS: u32 = 4;
/// Scale-class counts tried; the best out-of-sample one counts.
const CLASS_COUNTS: [usize; 3] = [4, 16, 64];
/// Weight of the tensor-wide distribution in every row-class model (additive backoff).
const BACKOFF_WEIGHT: f64 = 8.0;

/// IEEE layout of a float dtype: exponent bits and mantissa bits.
fn float_bits(dtype: Dtype) -> Option<(u32, u32)> {
    match dtype {
        Dtype::F32 => Some((8, 23)),
        Dtype::F16 => Some((5, 10)),
        Dtype::BF16 => Some((8, 7)),
        _ => None,
    }
}

#[derive(Default)]
struct Totals {
    weights: f64,
    order0_bits: f64,
    scale_class_bits: f64,
    raw_bits: f64,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    for model in models::available() {
        let mut totals = Totals::default();
        for tensor in model.checkpoint.tensors() {
            let Some((exponent_bits, mantissa_bits)) = float_bits(tensor.dtype()) else {
                continue;
            };
            let bytes = model.checkpoint.data(tensor)?;
            let values = element_bits(bytes, tensor.dtype());
            if values.is_empty() {
                continue;
            }
            let rows = if tensor.shape().len() >= 2 {
                tensor.shape()[0]
            } else {
                1
            };
            let top_shift = mantissa_bits - TOP_MANTISSA_BITS;
            let symbols: Vec<u32> = values
                .iter()
                .map(|&bits| (bits >> top_shift) & ((1 << (exponent_bits + TOP_MANTISSA_BITS)) - 1))
                .collect();
            let counts = histogram(symbols.iter().copied());
            let order0 = entropy(&counts);
            let alphabet = counts.iter().filter(|&&count| count > 0.0).count() as f64;
            let mut gain = 0.0_f64;
            if rows >= 2 * CLASS_COUNTS[CLASS_COUNTS.len() - 1] {
                for scales in log_scales(&values, rows, tensor.dtype()) {
                    for classes in CLASS_COUNTS {
                        let class = quantile_classes(&scales, classes);
                        gain = gain.max(class_gain(&symbols, alphabet, &class, rows, classes));
                    }
                }
            }
            let raw: f64 = values
                .iter()
                .map(|&bits| {
                    let rest = 1 + top_shift;
                    let free = if tensor.dtype() == Dtype::F32 && f16_holds(bits) {
                        13
                    } else {
                        0
                    };
                    f64::from(rest - free)
                })
                .sum();
            let n = values.len() as f64;
            totals.weights += n;
            totals.order0_bits += order0 * n;
            totals.scale_class_bits += (order0 - gain) * n;
            totals.raw_bits += raw;
        }
        if totals.weights == 0.0 {
            continue;
        }
        let per_weight = |bits: f64| (bits + totals.raw_bits) / totals.weights;
        println!(
            "{}: {} float weights; sign and lower mantissa bits {:.4} bits/weight; \
             estimate with order-0 symbols {:.4}, with the best scale classes {:.4}",
            model.name,
            totals.weights,
            totals.raw_bits / totals.weights,
            per_weight(totals.order0_bits),
            per_weight(totals.scale_class_bits),
        );
    }
    Ok(())
}

/// Every element's bits as an integer (little-endian storage).
fn element_bits(bytes: &[u8], dtype: Dtype) -> Vec<u32> {
    if dtype == Dtype::F32 {
        bytes
            .chunks_exact(4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect()
    } else {
        bytes
            .chunks_exact(2)
            .map(|b| u32::from(u16::from_le_bytes([b[0], b[1]])))
            .collect()
    }
}

/// Whether an F32 value survives a round trip through F16 (its low 13 mantissa bits are then
/// zero, and a coder that knew which elements these are would not store them).
fn f16_holds(bits: u32) -> bool {
    let value = f32::from_bits(bits);
    half::f16::from_f32(value).to_f32().to_bits() == bits
}

/// Entropy in bits of the distribution `counts` describes.
fn entropy(counts: &[f64]) -> f64 {
    let n: f64 = counts.iter().sum();
    counts
        .iter()
        .filter(|&&count| count > 0.0)
        .map(|&count| -(count / n) * (count / n).log2())
        .sum()
}

/// Counts per symbol; symbols are below `1 << (8 + TOP_MANTISSA_BITS)`.
fn histogram(symbols: impl Iterator<Item = u32>) -> Vec<f64> {
    let mut counts = vec![0.0; 1 << (8 + TOP_MANTISSA_BITS)];
    for symbol in symbols {
        counts[symbol as usize] += 1.0;
    }
    counts
}

/// Each element's log scale two ways: its row's RMS, and its row's times its column's.
fn log_scales(values: &[u32], rows: usize, dtype: Dtype) -> [Vec<f64>; 2] {
    let width = values.len() / rows;
    let log_rms = |squares: f64, count: usize| (squares / count as f64).max(f64::MIN_POSITIVE).ln();
    let mut row_squares = vec![0.0; rows];
    let mut column_squares = vec![0.0; width];
    for (index, &bits) in values.iter().enumerate() {
        let square = value_of(bits, dtype).powi(2);
        row_squares[index / width] += square;
        column_squares[index % width] += square;
    }
    let row_scales: Vec<f64> = (0..values.len())
        .map(|index| log_rms(row_squares[index / width], width))
        .collect();
    let with_columns = (row_scales.iter().enumerate())
        .map(|(index, row)| row + log_rms(column_squares[index % width], rows))
        .collect();
    [row_scales, with_columns]
}

/// Quantile classes of `scores`, `0..classes`.
fn quantile_classes(scores: &[f64], classes: usize) -> Vec<usize> {
    let mut sorted = scores.to_vec();
    sorted.sort_by(f64::total_cmp);
    scores
        .iter()
        .map(|&score| {
            let rank = sorted.partition_point(|&s| s < score);
            (rank * classes / scores.len()).min(classes - 1)
        })
        .collect()
}

/// Bits per element saved out of sample by coding each element with a model of its scale class
/// instead of one tensor-wide model (0 when it loses). Models are fitted on the even rows and
/// score the odd ones, then the other way round.
///
/// The tensor-wide model is smoothed by adding half a count to each of the `alphabet` symbols
/// seen anywhere in the tensor (a coder's table would list them).
fn class_gain(symbols: &[u32], alphabet: f64, class: &[usize], rows: usize, classes: usize) -> f64 {
    let width = symbols.len() / rows;
    let fold_of = |index: usize| (index / width) % 2;
    let (mut with_classes, mut without) = (0.0, 0.0);
    for held_out in 0..2 {
        let fitted = || (0..symbols.len()).filter(move |&index| fold_of(index) != held_out);
        let global = histogram(fitted().map(|index| symbols[index]));
        let global_total: f64 = global.iter().sum();
        let mut per_class = vec![vec![0.0; global.len()]; classes];
        let mut class_totals = vec![0.0; classes];
        for index in fitted() {
            per_class[class[index]][symbols[index] as usize] += 1.0;
            class_totals[class[index]] += 1.0;
        }
        for index in (0..symbols.len()).filter(|&index| fold_of(index) == held_out) {
            let (symbol, class) = (symbols[index] as usize, class[index]);
            let g = (global[symbol] + 0.5) / (global_total + 0.5 * alphabet);
            without -= g.log2();
            with_classes -= ((per_class[class][symbol] + BACKOFF_WEIGHT * g)
                / (class_totals[class] + BACKOFF_WEIGHT))
                .log2();
        }
    }
    ((without - with_classes) / symbols.len() as f64).max(0.0)
}

fn value_of(bits: u32, dtype: Dtype) -> f64 {
    // 16-bit elements sit in the low half of `bits`.
    let low = bits.to_le_bytes();
    let value = match dtype {
        Dtype::F32 => f32::from_bits(bits),
        Dtype::F16 => half::f16::from_le_bytes([low[0], low[1]]).to_f32(),
        _ => half::bf16::from_le_bytes([low[0], low[1]]).to_f32(),
    };
    // A NaN or an infinity says nothing about the row's scale.
    if value.is_finite() {
        f64::from(value)
    } else {
        0.0
    }
}
