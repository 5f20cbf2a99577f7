//! The two entry points that produce codes: [`quantize`] and [`quantize_with_params`].

use crate::clip::clipped_range;
use crate::derive::{block_params, choose_scheme};
use crate::encode::Encoder;
use crate::grid::Grid;
use crate::histogram::Histogram;
use crate::scan::{BlockRange, block_ranges, overall};
use crate::stats::summarize;
use crate::{BlockLayout, FloatSlice, QuantConfig, QuantError, QuantParams, QuantReport};

/// Quantizes one tensor.
///
/// `input` holds the weights in row-major order for `shape`; `codes` (same
/// length) receives one code per weight. `name` only labels errors. The pass
/// scans the block ranges, picks the scheme (see [`Scheme`](crate::Scheme)),
/// optionally clips, derives per-block parameters, then writes codes while
/// counting the histogram and summing errors.
///
/// Without clipping every weight `x` and its reconstruction `x̂` satisfy
/// `|x - x̂| <= |scale| * (1/2 + 2^-12)` (half a step, plus f32 rounding), and
/// a block whose weights are all equal is reconstructed exactly.
///
/// # Errors
///
/// [`QuantError::InvalidBits`] / [`QuantError::InvalidGroupSize`] for a bad
/// config, [`QuantError::LengthMismatch`] when a slice does not match the
/// shape, [`QuantError::NonFinite`] / [`QuantError::ValueTooLarge`] for a bad
/// weight, [`QuantError::SchemeMismatch`] for `unsigned` on a tensor with both
/// signs, and the shape errors of [`BlockLayout::new`].
pub fn quantize(
    name: &str,
    input: FloatSlice<'_>,
    shape: &[usize],
    config: &QuantConfig,
    codes: &mut [u8],
) -> Result<QuantReport, QuantError> {
    config.validate()?;
    let layout = BlockLayout::new(shape, config.granularity)?;
    check_lengths(shape, &layout, input.len(), codes.len())?;
    let ranges = block_ranges(name, input, &layout)?;
    let whole = overall(&ranges);
    let scheme = choose_scheme(name, config.scheme, whole.lo, whole.hi)?;
    let fitted = if config.clip {
        clip_ranges(input, &layout, &ranges, scheme, config.bits)
    } else {
        ranges.clone()
    };
    let params = QuantParams {
        bits: config.bits,
        scheme,
        granularity: config.granularity,
        blocks: fitted
            .iter()
            .map(|range| block_params(scheme, config.bits, range.lo, range.hi))
            .collect(),
    };
    Ok(encode_all(input, &layout, params, &ranges, whole, codes))
}

/// Quantizes one tensor with parameters chosen elsewhere (for example read
/// from a file, or computed on another tensor).
///
/// Each weight gets the code nearest to it among the valid codes, so weights
/// that are already grid values of `params` come back unchanged: dequantizing
/// and re-quantizing with the same parameters is the identity on codes.
///
/// # Errors
///
/// As [`quantize`], plus the validation errors of [`QuantParams::validate`];
/// never [`QuantError::SchemeMismatch`] (weights outside the grid saturate and
/// are counted in [`QuantStats::saturated`](crate::QuantStats::saturated)).
pub fn quantize_with_params(
    name: &str,
    input: FloatSlice<'_>,
    shape: &[usize],
    params: &QuantParams,
    codes: &mut [u8],
) -> Result<QuantReport, QuantError> {
    let layout = params.validate(shape)?;
    check_lengths(shape, &layout, input.len(), codes.len())?;
    let ranges = block_ranges(name, input, &layout)?;
    let whole = overall(&ranges);
    Ok(encode_all(
        input,
        &layout,
        params.clone(),
        &ranges,
        whole,
        codes,
    ))
}

fn check_lengths(
    shape: &[usize],
    layout: &BlockLayout,
    input: usize,
    codes: usize,
) -> Result<(), QuantError> {
    for (what, found) in [("input", input), ("codes", codes)] {
        if found != layout.elements() {
            return Err(QuantError::LengthMismatch {
                what,
                shape: shape.to_vec(),
                expected: layout.elements(),
                found,
            });
        }
    }
    Ok(())
}

/// Per-block clipped ranges, each searched over all of the block's weights.
fn clip_ranges(
    input: FloatSlice<'_>,
    layout: &BlockLayout,
    ranges: &[BlockRange],
    scheme: crate::ChosenScheme,
    bits: u8,
) -> Vec<BlockRange> {
    let mut scratch = Vec::new();
    layout
        .block_ranges()
        .zip(ranges)
        .map(|(elements, &range)| {
            clipped_range(scheme, bits, range, |grid, normalizer| {
                let mut total = 0.0;
                input.for_each_piece(elements.clone(), &mut scratch, |_, values| {
                    total += grid.squared_error(values, normalizer);
                });
                total
            })
        })
        .collect()
}

/// Codes per histogram update (see `encode_all`).
const COUNT_BATCH: usize = 4096;

/// Second pass over all blocks: codes, histogram, error sums and statistics.
fn encode_all(
    input: FloatSlice<'_>,
    layout: &BlockLayout,
    params: QuantParams,
    ranges: &[BlockRange],
    whole: BlockRange,
    codes: &mut [u8],
) -> QuantReport {
    let (min_code, max_code) = (params.min_code(), params.max_code());
    let mut histogram = Histogram::new(params.bits);
    let mut encoder = Encoder::new(whole.lo.abs().max(whole.hi.abs()));
    let mut scratch = Vec::new();
    // Codes before this index are in the histogram.
    let mut counted = 0;
    let blocks = layout.block_ranges().zip(ranges).zip(&params.blocks);
    for ((elements, range), &block) in blocks {
        let grid = Grid::new(block, min_code, max_code);
        if range.is_constant() {
            // Every weight is the same: one code, computed once, exact when the
            // parameters allow it.
            let value = range.lo;
            let code = grid.nearest_code(value);
            let count = elements.len();
            // Count what is pending first, so that this block is counted once.
            histogram.count(&codes[counted..elements.start]);
            counted = elements.end;
            codes[elements].fill(code);
            histogram.add(code, count);
            encoder.sums_mut().add_repeated(
                value,
                block.dequantize_code(code),
                count,
                grid.saturation(),
            );
            continue;
        }
        input.for_each_piece(elements, &mut scratch, |start, values| {
            let end = start + values.len();
            if let Some(out) = codes.get_mut(start..end) {
                encoder.encode(&grid, values, out);
            }
            // Count codes in batches of a few thousand, while they are still in
            // cache, rather than per (possibly tiny) block or per huge tensor.
            if end - counted >= COUNT_BATCH {
                histogram.count(&codes[counted..end]);
                counted = end;
            }
        });
    }
    histogram.count(&codes[counted..]);
    let histogram = histogram.finish();
    let stats = summarize(
        &params,
        &histogram,
        encoder.finish(),
        layout.elements(),
        (whole.lo, whole.hi),
    );
    QuantReport {
        params,
        histogram,
        stats,
    }
}
