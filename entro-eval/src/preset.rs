//! Named compression presets: per-tensor step sizes chosen by sensitivity, measured with this crate
//! on SmolLM2-135M and all-MiniLM-L6-v2 (see the repository README's frontier section).
//!
//! Every quantized tensor gets 8-bit codes on one grid per row ([`row_budget_params`]) whose step
//! is `max(row range / 254, e * rms of the tensor)`: the finest 8-bit step the row allows, unless
//! the error budget `e` permits a coarser one. With entropy coding the unused code space costs
//! nothing, so a coarser step saves about one bit per weight for each doubling, while rows with
//! outliers still get a grid wide enough to hold them. The budget `e` depends on the tensor's role,
//! because roles differ in how much a given weight error moves the output: value and output
//! projections and the MLP's input and output are the sensitive ones in both models measured.
//!
//! `compact` gives a llama model's token embeddings two budgets ([`Rule::RowBudgetRareRows`]): the
//! rows past the first third of the vocabulary are the rarest tokens in a byte-pair vocabulary,
//! which numbers tokens in merge order, and take a coarser step. On SmolLM2-135M, against 0.13 for
//! every row, budgets of 0.13 and 0.2 save 0.08 bits/weight for 0.5 points more perplexity
//! change (+1.86 % in all on `gpl-3.0.txt`), where 0.2 for every row saves 0.13 bits for 3.8
//! points more; on a held-out text (the repository's license files) the two budgets cost +1.78 %
//! against +1.56 % for 0.13 throughout.
//!
//! Each budget rule also tries 8-bit grids over 32-weight blocks and keeps them when they are both
//! more accurate and smaller than the row grids: so they are for checkpoints dequantized from
//! llama.cpp's block formats, whose blocks they reconstruct almost exactly ([`Preset::quantize`]).
//! `entro compress` goes one step further for such checkpoints: it stores a tensor losslessly
//! wherever that takes no more bytes than the preset's quantization (entro-format's lossless codec
//! finds the blocks' grids and codes their indices, Huffman-coded under a preset), which on
//! SmolLM2-135M holds for every linear layer under both presets.

use crate::calibrate::Calibration;
use crate::gptq::quantize_calibrated;
use entro_quant::{
    BlockLayout, BlockParams, ChosenScheme, FloatSlice, Granularity, QuantError, QuantParams,
    QuantReport, quantize_with_params,
};

/// What a preset does with one tensor.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Rule {
    /// Store it exactly.
    Keep,
    /// 8-bit per-row grids with step `max(row range / 254, relative_step * rms)`; 0 gives the
    /// finest step each row allows.
    RowBudget {
        /// The error budget `e`, relative to the tensor's root mean square.
        relative_step: f32,
    },
    /// [`Rule::RowBudget`], with the coarser budget `rare_relative_step` for the rows from
    /// `rare_from` (a fraction of the row count) on. Meant for token embeddings: byte-pair
    /// vocabularies number their tokens in merge order, so the later rows are the rarer tokens
    /// (on SmolLM2-135M, 92 % of the tokens of an English text are among its first third).
    RowBudgetRareRows {
        /// The error budget of the first rows.
        relative_step: f32,
        /// Where the rare rows start, as a fraction of the rows.
        rare_from: f32,
        /// The error budget of the rare rows.
        rare_relative_step: f32,
    },
}

/// A named set of per-role rules.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Preset {
    /// The name `entro compress --preset` takes.
    pub name: &'static str,
    /// One line for `--help` and reports.
    pub summary: &'static str,
    /// `(name fragments, rule)`: the first entry with a fragment contained in the tensor's name
    /// applies.
    pub rules: &'static [(&'static [&'static str], Rule)],
    /// The rule for every other tensor with 2 or more dimensions.
    pub fallback: Rule,
    /// Rules that replace [`Preset::rules`] when the model is calibrated ([`Calibration`]):
    /// calibrated rounding ([`crate::gptq`]) lowers the output error of linear layers several
    /// times over, so the same fidelity takes coarser steps. Roles not listed keep their rule.
    pub calibrated: &'static [(&'static [&'static str], Rule)],
}

const fn budget(relative_step: f32) -> Rule {
    Rule::RowBudget { relative_step }
}

// Tensor roles, by their Hugging Face names in llama and BERT checkpoints. Order matters:
// BERT's `attention.output.dense` must be matched before its MLP `output.dense`.
const TOKEN_TYPES: &[&str] = &["token_type_embeddings"];
const VALUE: &[&str] = &["v_proj", "attention.self.value"];
const ATTENTION_OUT: &[&str] = &["o_proj", "attention.output.dense"];
const MLP_IN: &[&str] = &["gate_proj", "intermediate.dense"];
const MLP_UP: &[&str] = &["up_proj"];
const MLP_OUT: &[&str] = &["down_proj", "output.dense"];
const QUERY_KEY: &[&str] = &[
    "q_proj",
    "k_proj",
    "attention.self.query",
    "attention.self.key",
];
const WORD_EMBEDDINGS: &[&str] = &["word_embeddings"];
/// Llama token embeddings (also its output head when tied): byte-pair vocabularies.
const TOKEN_EMBEDDINGS: &[&str] = &["embed_tokens", "lm_head"];
const EMBEDDINGS: &[&str] = &["embed_tokens", "lm_head", "position_embeddings"];

/// Every preset, finest first.
pub const PRESETS: &[Preset] = &[
    Preset {
        name: "fidelity",
        summary: "about 4.9-6.2 bits/weight: sensitive tensors at the finest 8-bit step of each row",
        rules: &[
            (TOKEN_TYPES, Rule::Keep),
            (VALUE, budget(0.0)),
            (ATTENTION_OUT, budget(0.03)),
            (MLP_IN, budget(0.0)),
            (MLP_UP, budget(0.06)),
            (MLP_OUT, budget(0.0)),
            (QUERY_KEY, budget(0.06)),
            (WORD_EMBEDDINGS, budget(0.12)),
            (EMBEDDINGS, budget(0.03)),
        ],
        fallback: budget(0.05),
        // Tuned on all-MiniLM-L6-v2: calibrated on lines 554-674 of gpl-3.0.txt, scored on lines
        // 401-553 (the frontier scores lines 1-400).
        calibrated: &[
            (VALUE, budget(0.02)),
            (ATTENTION_OUT, budget(0.05)),
            (MLP_IN, budget(0.02)),
            (MLP_OUT, budget(0.02)),
            (QUERY_KEY, budget(0.08)),
            (WORD_EMBEDDINGS, budget(0.15)),
        ],
    },
    Preset {
        name: "compact",
        summary: "about 4.2-4.5 bits/weight: error budgets scaled to each role's sensitivity",
        rules: &[
            (TOKEN_TYPES, Rule::Keep),
            (VALUE, budget(0.07)),
            (ATTENTION_OUT, budget(0.13)),
            (MLP_IN, budget(0.09)),
            (MLP_UP, budget(0.13)),
            (MLP_OUT, budget(0.13)),
            (QUERY_KEY, budget(0.15)),
            (WORD_EMBEDDINGS, budget(0.5)),
            (
                TOKEN_EMBEDDINGS,
                Rule::RowBudgetRareRows {
                    relative_step: 0.13,
                    rare_from: 1.0 / 3.0,
                    rare_relative_step: 0.2,
                },
            ),
            (EMBEDDINGS, budget(0.13)),
        ],
        fallback: budget(0.2),
        // The same steps: calibration buys fidelity here, not bits.
        calibrated: &[],
    },
];

/// The preset called `name`.
#[must_use]
pub fn preset(name: &str) -> Option<&'static Preset> {
    PRESETS.iter().find(|preset| preset.name == name)
}

impl Preset {
    /// The rule for the tensor called `name` in a model compressed without calibration.
    #[must_use]
    pub fn rule_for(&self, name: &str) -> Rule {
        self.rule_in(name, false)
    }

    /// The rule for the tensor called `name`, with or without calibration.
    #[must_use]
    pub fn rule_in(&self, name: &str, calibrated: bool) -> Rule {
        let find = |rules: &[(&[&str], Rule)]| {
            rules
                .iter()
                .find(|(fragments, _)| fragments.iter().any(|fragment| name.contains(fragment)))
                .map(|&(_, rule)| rule)
        };
        calibrated
            .then(|| find(self.calibrated))
            .flatten()
            .or_else(|| find(self.rules))
            .unwrap_or(self.fallback)
    }

    /// Whether the tensor called `name` is stored exactly, with or without calibration.
    #[must_use]
    pub fn keeps(&self, name: &str, calibrated: bool) -> bool {
        self.rule_in(name, calibrated) == Rule::Keep
    }

    /// Quantizes one tensor by its rule into `codes` (one per weight). With a `calibration` the
    /// calibrated rules apply, and a tensor that the calibration saw as a linear layer's weight is
    /// rounded by [`quantize_calibrated`] on its row grids.
    ///
    /// # Errors
    ///
    /// [`QuantError::LengthMismatch`] or [`QuantError::ShapeOverflow`] for shapes the grids do not fit, and
    /// [`QuantError::NonFinite`] for NaN or infinite weights (from [`row_budget_params`] or
    /// [`quantize_with_params`]); [`QuantError::Parse`] when the rule is [`Rule::Keep`] (the caller
    /// should have stored the tensor exactly) or the calibration's inputs do not fit the tensor.
    pub fn quantize(
        &self,
        name: &str,
        input: FloatSlice<'_>,
        shape: &[usize],
        calibration: Option<&Calibration>,
        codes: &mut [u8],
    ) -> Result<QuantReport, QuantError> {
        match self.rule_in(name, calibration.is_some()) {
            Rule::Keep => Err(QuantError::Parse {
                what: "preset rule",
                input: format!("{} keeps `{name}` exactly", self.name),
                expected: "a tensor the preset quantizes",
            }),
            Rule::RowBudget { relative_step } => {
                let params = row_budget_params(name, input, shape, relative_step)?;
                quantize_on_rows(name, input, shape, &params, calibration, codes)
            }
            Rule::RowBudgetRareRows {
                relative_step,
                rare_from,
                rare_relative_step,
            } => {
                let rows = shape.first().copied().unwrap_or(0);
                // The first row at or past the fraction (row counts are far below 2^53, so the
                // product is exact to well under a row).
                #[expect(
                    clippy::cast_possible_truncation,
                    clippy::cast_sign_loss,
                    reason = "rare_from is a fraction in 0..=1, so the product lies in 0..=rows"
                )]
                let first_rare =
                    (rows as f64 * f64::from(rare_from.clamp(0.0, 1.0))).ceil() as usize;
                let params = row_params(name, input, shape, |row| {
                    if row < first_rare {
                        relative_step
                    } else {
                        rare_relative_step
                    }
                })?;
                quantize_on_rows(name, input, shape, &params, calibration, codes)
            }
        }
    }
}

/// Quantizes on the row grids `params` of a budget rule, or on 32-weight block grids where those
/// are both more accurate and smaller; calibrated rounding where `calibration` saw the tensor.
fn quantize_on_rows(
    name: &str,
    input: FloatSlice<'_>,
    shape: &[usize],
    params: &QuantParams,
    calibration: Option<&Calibration>,
    codes: &mut [u8],
) -> Result<QuantReport, QuantError> {
    let rows = quantize_with_params(name, input, shape, params, codes)?;
    let mut grid_codes = vec![0u8; codes.len()];
    let grid_params = block_grid_params(name, input, shape)?;
    let grid = quantize_with_params(name, input, shape, &grid_params, &mut grid_codes)?;
    if grid.stats.squared_error <= rows.stats.squared_error
        && estimated_bits(&grid, GRID_PARAM_BITS) < estimated_bits(&rows, ROW_PARAM_BITS)
    {
        codes.copy_from_slice(&grid_codes);
        return Ok(grid);
    }
    match calibration.and_then(|calibration| calibration.gram(name)) {
        Some(gram) => quantize_calibrated(name, input, shape, params, gram, codes),
        None => Ok(rows),
    }
}

/// Weights per block of the second candidate of every budget rule.
const GRID_BLOCK: u32 = 32;

/// Significant bits kept in a block grid's step (as many as an f16 has). The file stores steps
/// as lossless F32 chunks, so the dropped low bits cost nothing; a relative change of at most
/// 2^-10 moves a grid's top code by at most a quarter step, so the codes of a block that lies on
/// an older grid stay exact.
const GRID_STEP_BITS: u32 = 11;

/// Coded parameter bits per row grid, about: full-precision steps (36 bits per block on random
/// weights in entro-format's tests).
const ROW_PARAM_BITS: f64 = 36.0;
/// Coded parameter bits per block grid, about: SmolLM2-135M's 3.3 million block grids take 18.6
/// bits each in the file, chunk tables included.
const GRID_PARAM_BITS: f64 = 20.0;

/// The size of a tensor quantized as `report` says, estimated from its code entropy and its
/// block count (what the file's codebook and coded parameters will roughly take).
fn estimated_bits(report: &QuantReport, param_bits: f64) -> f64 {
    report.stats.entropy_bits * report.stats.elements as f64
        + report.params.blocks.len() as f64 * param_bits
}

/// The second candidate of every budget rule: 8-bit min-max grids over 32-weight blocks of each
/// row (widened to include zero), with steps of 11 significant bits (as many as an f16 has).
///
/// Checkpoints dequantized from llama.cpp's block formats (Q4_0, Q4_1, Q8_0: 32 weights per
/// block, each with its own step) hold few distinct values per block, all on one grid. A 32-weight
/// 8-bit grid lands on them, codes them at about the entropy of the original block indices, and
/// reconstructs them within 1/34 of their step; the row grids of the budget cannot do that. For
/// natively trained weights it costs more bits than the row grids, so it is not chosen.
///
/// # Errors
///
/// [`QuantError::NonFinite`] for a NaN or infinite weight; the errors of [`QuantParams::new`].
pub fn block_grid_params(
    name: &str,
    input: FloatSlice<'_>,
    shape: &[usize],
) -> Result<QuantParams, QuantError> {
    let granularity = Granularity::Group(GRID_BLOCK);
    let blocks = block_extents(name, input, shape, granularity)?
        .ranges
        .into_iter()
        .map(|(low, high)| block_grid(low, high))
        .collect();
    QuantParams::new(8, ChosenScheme::Asymmetric, granularity, blocks, shape)
}

/// The 8-bit grid for one block spanning `[low, high]` (`low <= 0 <= high`).
fn block_grid(low: f64, high: f64) -> BlockParams {
    let scale = round_up_significant(narrow((high - low) / 255.0), GRID_STEP_BITS);
    if scale <= 0.0 || !scale.is_finite() {
        return BlockParams {
            scale: 0.0,
            zero_point: 0,
        };
    }
    let zero = (-low / f64::from(scale)).round();
    BlockParams {
        scale,
        zero_point: (0..=255).find(|&z| f64::from(z) >= zero).unwrap_or(255),
    }
}

/// `value` (positive, finite) rounded up to `bits` significant bits.
fn round_up_significant(value: f32, bits: u32) -> f32 {
    let dropped = f32::MANTISSA_DIGITS - bits;
    let mask = (1u32 << dropped) - 1;
    let raw = value.to_bits();
    if raw & mask == 0 || !value.is_finite() || value <= 0.0 {
        return value;
    }
    // Carrying into the exponent is the right result (the next power of two).
    f32::from_bits((raw | mask) + 1)
}

/// Per-row asymmetric 8-bit parameters: each row's grid covers the row's range (widened to
/// include zero, so that zero is exact) with step `max(range / 254, relative_step * rms)`, where
/// `rms` is the whole tensor's root mean square, and is centred on the range.
///
/// # Errors
///
/// [`QuantError::NonFinite`] for a NaN or infinite weight; the errors of [`QuantParams::new`].
pub fn row_budget_params(
    name: &str,
    input: FloatSlice<'_>,
    shape: &[usize],
    relative_step: f32,
) -> Result<QuantParams, QuantError> {
    row_params(name, input, shape, |_| relative_step)
}

/// [`row_budget_params`] with the budget of each row given by `budget_of(row)`.
fn row_params(
    name: &str,
    input: FloatSlice<'_>,
    shape: &[usize],
    budget_of: impl Fn(usize) -> f32,
) -> Result<QuantParams, QuantError> {
    let extents = block_extents(name, input, shape, Granularity::Channel)?;
    let rms = extents.mean_square.sqrt();
    let blocks = extents
        .ranges
        .into_iter()
        .enumerate()
        .map(|(row, (low, high))| row_grid(low, high, f64::from(budget_of(row).max(0.0)) * rms))
        .collect();
    QuantParams::new(
        8,
        ChosenScheme::Asymmetric,
        Granularity::Channel,
        blocks,
        shape,
    )
}

/// What the grids of a tensor are built from.
struct Extents {
    /// Each block's `(low, high)`, widened to include zero.
    ranges: Vec<(f64, f64)>,
    /// The mean squared weight of the whole tensor (0 when it is empty).
    mean_square: f64,
}

/// The [`Extents`] of the blocks of `granularity`.
fn block_extents(
    name: &str,
    input: FloatSlice<'_>,
    shape: &[usize],
    granularity: Granularity,
) -> Result<Extents, QuantError> {
    let layout = BlockLayout::new(shape, granularity)?;
    let mut ranges = Vec::with_capacity(layout.block_count());
    let mut squares = 0f64;
    for block in layout.block_ranges() {
        let (mut low, mut high) = (0f64, 0f64);
        for index in block {
            let value = input.get(index).unwrap_or(0.0);
            if !value.is_finite() {
                return Err(QuantError::NonFinite {
                    tensor: name.to_owned(),
                    index,
                    value,
                });
            }
            let value = f64::from(value);
            low = low.min(value);
            high = high.max(value);
            squares += value * value;
        }
        ranges.push((low, high));
    }
    Ok(Extents {
        ranges,
        mean_square: squares / layout.elements().max(1) as f64,
    })
}

/// The grid for one row spanning `[low, high]` (`low <= 0 <= high`) with step at least `floor`.
fn row_grid(low: f64, high: f64, floor: f64) -> BlockParams {
    // 254 rather than 255 steps: the zero point is an integer, so one spare step guarantees a
    // placement that covers both ends.
    let scale = ((high - low) / 254.0).max(floor);
    let scale32 = narrow(scale);
    if scale32 <= 0.0 || !scale32.is_finite() {
        // An all-zero row: any grid holds it exactly.
        return BlockParams {
            scale: 0.0,
            zero_point: 0,
        };
    }
    let scale = f64::from(scale32);
    // Codes 0..=255 stand for (code - zero) * scale: cover low with code 0 and high with 255.
    let lowest_zero = (-low / scale).ceil();
    let highest_zero = (255.0 - high / scale).floor();
    let centre = ((lowest_zero + highest_zero) / 2.0).round();
    let zero = centre.clamp(lowest_zero.min(highest_zero), highest_zero.max(lowest_zero));
    BlockParams {
        scale: scale32,
        zero_point: (0..=255).find(|&z| f64::from(z) >= zero).unwrap_or(255),
    }
}

#[expect(
    clippy::cast_possible_truncation,
    reason = "rounding a step size to the nearest f32 is the intent"
)]
fn narrow(value: f64) -> f32 {
    value as f32
}

#[cfg(test)]
mod tests {
    use entro_quant::{FloatSliceMut, dequantize};

    use crate::calibrate::InputGram;

    use super::*;

    fn roundtrip(values: &[f32], shape: &[usize], step: f32) -> (QuantParams, Vec<f32>) {
        let params = row_budget_params("w", FloatSlice::F32(values), shape, step).unwrap();
        let mut codes = vec![0u8; values.len()];
        let report =
            quantize_with_params("w", FloatSlice::F32(values), shape, &params, &mut codes).unwrap();
        assert_eq!(report.stats.saturated, 0, "the grids cover every row");
        let mut restored = vec![0f32; values.len()];
        dequantize(&codes, &params, shape, FloatSliceMut::F32(&mut restored)).unwrap();
        (params, restored)
    }

    #[test]
    fn finest_budget_keeps_every_weight_within_half_a_row_step() {
        let values: Vec<f32> = (0..600)
            .map(|i| ((i * 37 % 101) as f32 - 40.0) / 97.0)
            .collect();
        let mut shifted = values.clone();
        shifted[300..].iter_mut().for_each(|v| *v = v.abs() + 0.5);
        let (params, restored) = roundtrip(&shifted, &[2, 300], 0.0);
        for (row, block) in params.blocks.iter().enumerate() {
            let part = &shifted[row * 300..(row + 1) * 300];
            let low = part.iter().fold(0f32, |m, v| m.min(*v));
            let high = part.iter().fold(0f32, |m, v| m.max(*v));
            assert!(block.scale <= (high - low) / 254.0 * 1.0001);
        }
        for (index, (value, back)) in shifted.iter().zip(&restored).enumerate() {
            let step = params.blocks[index / 300].scale;
            assert!(
                (value - back).abs() <= step * 0.5001,
                "{value} {back} {step}"
            );
        }
    }

    #[test]
    fn a_larger_budget_gives_a_coarser_grid_and_zero_stays_exact() {
        let values: Vec<f32> = (0..512)
            .map(|i| ((i * 91 % 257) as f32 - 128.0) / 64.0)
            .collect();
        let (fine, _) = roundtrip(&values, &[4, 128], 0.0);
        let (coarse, restored) = roundtrip(&values, &[4, 128], 0.5);
        let rms = (values.iter().map(|v| v * v).sum::<f32>() / 512.0).sqrt();
        for (fine, coarse) in fine.blocks.iter().zip(&coarse.blocks) {
            assert!(coarse.scale > fine.scale);
            assert!((coarse.scale - 0.5 * rms).abs() <= rms * 1e-5);
            assert_eq!(
                coarse.dequantize_code(u8::try_from(coarse.zero_point).unwrap()),
                0.0
            );
        }
        let zero_index = values.iter().position(|v| *v == 0.0).unwrap();
        assert_eq!(restored[zero_index], 0.0);
    }

    #[test]
    fn all_zero_rows_and_bad_weights() {
        let (params, restored) = roundtrip(&[0.0; 8], &[2, 4], 0.1);
        assert!(params.blocks.iter().all(|b| b.scale == 0.0));
        assert_eq!(restored, vec![0.0; 8]);
        let err =
            row_budget_params("w", FloatSlice::F32(&[1.0, f32::NAN]), &[1, 2], 0.0).unwrap_err();
        assert!(matches!(err, QuantError::NonFinite { index: 1, .. }));
    }

    /// Deterministic pseudo-random numbers in [0, 1).
    fn uniform(seed: &mut u64) -> f32 {
        *seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
        (*seed >> 40) as f32 / (1u64 << 24) as f32
    }

    #[test]
    fn block_grids_are_chosen_for_dequantized_blocks_and_row_grids_otherwise() {
        let fidelity = preset("fidelity").unwrap();
        let name = "model.layers.0.mlp.down_proj.weight";
        let (rows, row_len) = (64, 256);
        let mut seed = 7;
        // Like llama.cpp's Q4_1: per 32 weights a minimum and a step, 16 levels, the block's
        // minimum and maximum on levels 0 and 15.
        let mut dequantized = Vec::new();
        for _ in 0..rows * row_len / 32 {
            let step = 0.002 + 0.004 * uniform(&mut seed);
            let min = -8.0 * step * (0.5 + uniform(&mut seed));
            for index in 0..32 {
                let level = match index {
                    0 => 0.0,
                    1 => 15.0,
                    _ => ((uniform(&mut seed) + uniform(&mut seed)) * 8.0)
                        .floor()
                        .min(15.0),
                };
                dequantized.push(min + level * step);
            }
        }
        let mut codes = vec![0u8; dequantized.len()];
        let shape = [rows, row_len];
        let report = fidelity
            .quantize(
                name,
                FloatSlice::F32(&dequantized),
                &shape,
                None,
                &mut codes,
            )
            .unwrap();
        assert_eq!(report.params.granularity, Granularity::Group(32));
        assert!(
            report.stats.entropy_bits < 4.5,
            "{}",
            report.stats.entropy_bits
        );
        assert!(
            report.stats.rel_rms_error < 0.01,
            "{}",
            report.stats.rel_rms_error
        );
        // Sums of uniforms: no grid structure, so the row grids win on size.
        let natural: Vec<f32> = (0..rows * row_len)
            .map(|_| (0..4).map(|_| uniform(&mut seed) - 0.5).sum::<f32>() * 0.02)
            .collect();
        let report = fidelity
            .quantize(name, FloatSlice::F32(&natural), &shape, None, &mut codes)
            .unwrap();
        assert_eq!(report.params.granularity, Granularity::Channel);
    }

    #[test]
    fn block_grid_steps_are_short_and_cover_their_blocks() {
        assert_eq!(round_up_significant(1.0, 11), 1.0);
        assert_eq!(
            round_up_significant(1.0 + f32::EPSILON, 11),
            1.0 + 1.0 / 1024.0
        );
        // Carrying into the exponent.
        assert_eq!(round_up_significant(2.0 - f32::EPSILON, 11), 2.0);
        let values: Vec<f32> = (0..200)
            .map(|i| ((i * 53 % 97) as f32 - 30.0) / 41.0)
            .collect();
        let params = block_grid_params("w", FloatSlice::F32(&values), &[2, 100]).unwrap();
        assert_eq!(
            params.blocks.len(),
            2 * 4,
            "100 weights per row make 4 blocks"
        );
        let mut codes = vec![0u8; values.len()];
        let report = quantize_with_params(
            "w",
            FloatSlice::F32(&values),
            &[2, 100],
            &params,
            &mut codes,
        )
        .unwrap();
        assert_eq!(report.stats.saturated, 0);
        for block in &params.blocks {
            assert_eq!(block.scale.to_bits() & 0x1fff, 0, "{}", block.scale);
        }
        let err =
            block_grid_params("w", FloatSlice::F32(&[0.0, f32::INFINITY]), &[1, 2]).unwrap_err();
        assert!(matches!(err, QuantError::NonFinite { index: 1, .. }));
    }

    #[test]
    fn token_embeddings_take_the_coarser_budget_from_their_rare_rows_on() {
        let compact = preset("compact").unwrap();
        let rule = compact.rule_for("model.embed_tokens.weight");
        let Rule::RowBudgetRareRows {
            relative_step,
            rare_from,
            rare_relative_step,
        } = rule
        else {
            panic!("token embeddings take {rule:?}");
        };
        assert!(rare_relative_step > relative_step);
        assert_eq!(compact.rule_for("lm_head.weight"), rule);
        // Other embeddings keep one budget.
        assert_eq!(
            compact.rule_for("embeddings.position_embeddings.weight"),
            budget(relative_step)
        );
        assert_eq!(
            preset("fidelity")
                .unwrap()
                .rule_for("model.embed_tokens.weight"),
            budget(0.03)
        );

        // Nine rows of the same narrow-range weights: the first ceil(9 * rare_from) rows get the
        // fine step, the rest the coarse one (both above the finest step the range allows).
        let mut seed = 11;
        let values: Vec<f32> = (0..9 * 256).map(|_| uniform(&mut seed) - 0.5).collect();
        let rms = (values.iter().map(|v| v * v).sum::<f32>() / values.len() as f32).sqrt();
        let mut codes = vec![0u8; values.len()];
        let report = compact
            .quantize(
                "model.embed_tokens.weight",
                FloatSlice::F32(&values),
                &[9, 256],
                None,
                &mut codes,
            )
            .unwrap();
        let first_rare = (0u32..9)
            .find(|&row| f64::from(row) >= 9.0 * f64::from(rare_from))
            .map_or(9, |row| usize::try_from(row).unwrap());
        assert!((1..9).contains(&first_rare));
        for (row, block) in report.params.blocks.iter().enumerate() {
            let expected = if row < first_rare {
                relative_step
            } else {
                rare_relative_step
            } * rms;
            assert!(
                (block.scale - expected).abs() <= expected * 1e-4,
                "row {row}: step {} instead of {expected}",
                block.scale
            );
        }
        assert_eq!(report.stats.saturated, 0);
    }

    #[test]
    fn presets_pick_rules_by_role() {
        let fidelity = preset("fidelity").unwrap();
        assert!(fidelity.keeps("embeddings.token_type_embeddings.weight", false));
        assert!(fidelity.keeps("embeddings.token_type_embeddings.weight", true));
        // Calibrated rules replace only the roles they list.
        assert_eq!(
            fidelity.rule_in("encoder.layer.0.output.dense.weight", true),
            budget(0.02)
        );
        assert_eq!(
            fidelity.rule_in("embeddings.position_embeddings.weight", true),
            budget(0.03)
        );
        assert_eq!(fidelity.rule_in("something.else", true), fidelity.fallback);
        assert_eq!(
            fidelity.rule_for("encoder.layer.0.attention.output.dense.weight"),
            budget(0.03)
        );
        assert_eq!(
            fidelity.rule_for("encoder.layer.0.output.dense.weight"),
            budget(0.0)
        );
        assert_eq!(
            fidelity.rule_for("model.layers.3.mlp.up_proj.weight"),
            budget(0.06)
        );
        assert_eq!(fidelity.rule_for("something.else"), fidelity.fallback);
        assert!(preset("nope").is_none());
        let mut codes = [0u8; 4];
        let err = fidelity
            .quantize(
                "embeddings.token_type_embeddings.weight",
                FloatSlice::F32(&[0.0; 4]),
                &[2, 2],
                None,
                &mut codes,
            )
            .unwrap_err();
        assert!(matches!(err, QuantError::Parse { .. }));
        let compact = preset("compact").unwrap();
        let mut seed = 3;
        let natural: Vec<f32> = (0..8 * 128)
            .map(|_| (0..4).map(|_| uniform(&mut seed) - 0.5).sum::<f32>())
            .collect();
        let mut codes = vec![0u8; natural.len()];
        let report = compact
            .quantize(
                "model.layers.0.mlp.down_proj.weight",
                FloatSlice::F32(&natural),
                &[8, 128],
                None,
                &mut codes,
            )
            .unwrap();
        assert_eq!(report.params.bits, 8);
        assert_eq!(report.params.granularity, Granularity::Channel);
    }

    #[test]
    fn calibrated_tensors_keep_their_grids_and_lower_the_output_error() {
        let fidelity = preset("fidelity").unwrap();
        let name = "encoder.layer.0.output.dense.weight";
        let (rows, cols) = (16, 256);
        let mut seed = 11;
        let weights: Vec<f32> = (0..rows * cols)
            .map(|_| (0..4).map(|_| uniform(&mut seed) - 0.5).sum::<f32>() * 0.02)
            .collect();
        // Correlated inputs: a shared signal in every column.
        let inputs: Vec<f32> = (0..300)
            .flat_map(|_| {
                let shared = uniform(&mut seed) - 0.5;
                (0..cols)
                    .map(|_| shared + 0.05 * (uniform(&mut seed) - 0.5))
                    .collect::<Vec<_>>()
            })
            .collect();
        let calibration = Calibration::from_grams([(
            name.to_owned(),
            InputGram::from_rows(cols, &inputs).unwrap(),
        )]);
        let shape = [rows, cols];
        let mut plain = vec![0u8; rows * cols];
        let mut calibrated = vec![0u8; rows * cols];
        let input = FloatSlice::F32(&weights);
        let plain_report = fidelity
            .quantize(name, input, &shape, None, &mut plain)
            .unwrap();
        let report = fidelity
            .quantize(name, input, &shape, Some(&calibration), &mut calibrated)
            .unwrap();
        assert_eq!(report.params.granularity, Granularity::Channel);
        assert_ne!(plain, calibrated, "calibration changes the rounding");
        assert!(report.stats.squared_error >= plain_report.stats.squared_error);
        // A tensor the calibration did not see is rounded to nearest, by the calibrated rules.
        let mut other = vec![0u8; rows * cols];
        let report = fidelity
            .quantize("x.weight", input, &shape, Some(&calibration), &mut other)
            .unwrap();
        let alone = fidelity
            .quantize("x.weight", input, &shape, None, &mut plain)
            .unwrap();
        assert_eq!((report, other), (alone, plain));
    }
}
