//! The check behind the `quant_roundtrip` fuzz target.
//!
//! `fuzz/fuzz_targets/quant_roundtrip.rs` includes this file with `#[path]`, and
//! `tests/fuzz_regressions.rs` replays the committed corpus (`fuzz/corpus/quant_roundtrip/seed-*` and
//! `regressions/*`) through the same function, so CI covers every crash input on stable. The input
//! is parsed by hand from plain bytes, so corpus files stay readable with a hex dump.

#![allow(
    dead_code,
    reason = "the test binary and the fuzz target use different parts"
)]

use entro_quant::{
    BlockLayout, ChosenScheme, FloatSlice, FloatSliceMut, Granularity, MAX_ABS_WEIGHT, MAX_BITS,
    MIN_BITS, QuantConfig, QuantError, QuantReport, Scheme, dequantize, quantize,
    quantize_with_params,
};
use half::{bf16, f16};

/// Bytes before the weights: bits, options, group size, row length.
pub(crate) const HEADER_LEN: usize = 4;

/// What a `quant_roundtrip` input did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum QuantOutcome {
    /// Too short to hold the header.
    TooShort,
    /// Rejected with exactly the error the input calls for.
    Rejected,
    /// Quantized, and every weight is within the bound of its reconstruction.
    Quantized,
}

/// The weights of an input, in their format, and the same widened to f32.
enum Weights {
    F32(Vec<f32>),
    F16(Vec<f16>),
    Bf16(Vec<bf16>),
}

impl Weights {
    fn parse(format: u8, bytes: &[u8]) -> Self {
        let pairs = || {
            bytes
                .chunks_exact(2)
                .map(|pair| u16::from_le_bytes([pair[0], pair[1]]))
        };
        match format {
            1 => Self::F16(pairs().map(f16::from_bits).collect()),
            2 => Self::Bf16(pairs().map(bf16::from_bits).collect()),
            _ => Self::F32(
                bytes
                    .chunks_exact(4)
                    .map(|four| f32::from_le_bytes([four[0], four[1], four[2], four[3]]))
                    .collect(),
            ),
        }
    }

    fn truncate(&mut self, len: usize) {
        match self {
            Self::F32(values) => values.truncate(len),
            Self::F16(values) => values.truncate(len),
            Self::Bf16(values) => values.truncate(len),
        }
    }

    fn slice(&self) -> FloatSlice<'_> {
        match self {
            Self::F32(values) => FloatSlice::F32(values),
            Self::F16(values) => FloatSlice::F16(values),
            Self::Bf16(values) => FloatSlice::BF16(values),
        }
    }

    fn widened(&self) -> Vec<f32> {
        match self {
            Self::F32(values) => values.clone(),
            Self::F16(values) => values.iter().map(|v| v.to_f32()).collect(),
            Self::Bf16(values) => values.iter().map(|v| v.to_f32()).collect(),
        }
    }
}

/// `quant_roundtrip`: arbitrary floats, bit width, scheme and granularity.
///
/// Layout: `bits_byte` (bits = `1 + b % 9`, so 1 and 9 are invalid), `options` (bits 0..2 scheme
/// auto/unsigned/asymmetric/symmetric; bits 2..4 granularity tensor/channel/group of `group_byte`/
/// group of `1000 * group_byte`; bit 4 clip; bits 5..7 format f32/f16/bf16/f32; bit 7 a 1-D shape),
/// `group_byte`, `row_byte` (row length `1 + b % 64` for a 2-D shape), then little-endian weights.
///
/// Every error must be the one the input calls for, in the documented order: bad configuration,
/// then the first weight that is not finite or above [`MAX_ABS_WEIGHT`], then `unsigned` on mixed
/// signs. Without clipping every weight is within `|scale| * (1/2 + 2^-12)` of its reconstruction
/// and constant blocks are exact; with or without, F16/BF16 output is the rounded F32 output and
/// re-quantizing the reconstruction with the same parameters gives the same codes.
pub(crate) fn quant_roundtrip(data: &[u8]) -> QuantOutcome {
    let Some((header, rest)) = data.split_first_chunk::<HEADER_LEN>() else {
        return QuantOutcome::TooShort;
    };
    let [bits_byte, options, group_byte, row_byte] = *header;
    let config = QuantConfig {
        bits: 1 + bits_byte % 9,
        scheme: Scheme::ALL[usize::from(options & 3)],
        granularity: match options >> 2 & 3 {
            0 => Granularity::Tensor,
            1 => Granularity::Channel,
            2 => Granularity::Group(u32::from(group_byte)),
            _ => Granularity::Group(u32::from(group_byte) * 1000),
        },
        clip: options & 16 != 0,
    };
    let mut weights = Weights::parse(options >> 5 & 3, rest);
    let count = weights.widened().len();
    let shape = if options & 128 != 0 {
        vec![count]
    } else {
        let row_len = 1 + usize::from(row_byte % 64);
        weights.truncate(count / row_len * row_len);
        vec![count / row_len, row_len]
    };
    let values = weights.widened();
    let mut codes = vec![0xffu8; values.len()];
    let result = quantize("fuzz", weights.slice(), &shape, &config, &mut codes);
    match (expected_error(&config, &values), result) {
        (Some(expected), Err(err)) => {
            assert!(
                same_error(&expected, &err),
                "expected {expected:?}, got {err:?}"
            );
            QuantOutcome::Rejected
        }
        (Some(expected), Ok(_)) => panic!("expected {expected:?}, but quantization succeeded"),
        (None, Err(err)) => panic!("unexpected error {err:?} for {config:?} on shape {shape:?}"),
        (None, Ok(report)) => {
            check_report(&config, &shape, &values, &codes, &report);
            QuantOutcome::Quantized
        }
    }
}

/// The error `quantize` must return for this configuration and these weights, if any.
fn expected_error(config: &QuantConfig, values: &[f32]) -> Option<QuantError> {
    if !(MIN_BITS..=MAX_BITS).contains(&config.bits) {
        return Some(QuantError::InvalidBits { bits: config.bits });
    }
    if config.granularity == Granularity::Group(0) {
        return Some(QuantError::InvalidGroupSize { group: 0 });
    }
    let tensor = "fuzz".to_owned();
    for (index, &value) in values.iter().enumerate() {
        if !value.is_finite() {
            return Some(QuantError::NonFinite {
                tensor,
                index,
                value,
            });
        }
        if value.abs() > MAX_ABS_WEIGHT {
            return Some(QuantError::ValueTooLarge {
                tensor,
                index,
                value,
                limit: MAX_ABS_WEIGHT,
            });
        }
    }
    let min = values.iter().copied().fold(f32::INFINITY, f32::min);
    let max = values.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mixed_signs = min < 0.0 && max > 0.0;
    (config.scheme == Scheme::Unsigned && mixed_signs).then_some(QuantError::SchemeMismatch {
        tensor,
        scheme: Scheme::Unsigned,
        min,
        max,
    })
}

/// Equal errors, comparing float fields bit for bit (so NaN equals the same NaN).
fn same_error(expected: &QuantError, got: &QuantError) -> bool {
    match (expected, got) {
        (
            QuantError::NonFinite {
                index: a,
                value: va,
                ..
            },
            QuantError::NonFinite {
                index: b,
                value: vb,
                ..
            },
        ) => a == b && va.to_bits() == vb.to_bits(),
        _ => expected == got,
    }
}

/// Checks a successful quantization against the documented guarantees.
fn check_report(
    config: &QuantConfig,
    shape: &[usize],
    values: &[f32],
    codes: &[u8],
    report: &QuantReport,
) {
    let params = &report.params;
    let layout = BlockLayout::new(shape, config.granularity).expect("layout of a quantized shape");
    assert_eq!(params.bits, config.bits);
    assert_eq!(params.granularity, config.granularity);
    assert_eq!(params.blocks.len(), layout.block_count());
    match (config.scheme, params.scheme) {
        (Scheme::Auto | Scheme::Unsigned, ChosenScheme::Unsigned { .. })
        | (Scheme::Auto | Scheme::Asymmetric, ChosenScheme::Asymmetric)
        | (Scheme::Symmetric, ChosenScheme::Symmetric) => {}
        (asked, chosen) => panic!("asked for {asked:?}, got {chosen:?}"),
    }
    let mut histogram = [0u64; 256];
    for (index, &code) in codes.iter().enumerate() {
        assert!(
            code <= params.max_code(),
            "code {code} at {index} is above the maximum"
        );
        assert!(
            code >= params.scheme.min_code(),
            "code {code} at {index} is below the minimum"
        );
        histogram[usize::from(code)] += 1;
    }
    assert_eq!(histogram, report.histogram);
    assert_eq!(report.stats.elements, values.len());
    assert!((0.0..=f64::from(config.bits) + 1e-9).contains(&report.stats.entropy_bits));

    let mut restored = vec![0.0f32; values.len()];
    dequantize(codes, params, shape, FloatSliceMut::F32(&mut restored)).expect("dequantize f32");
    if !config.clip {
        assert_eq!(report.stats.saturated, 0);
        for (block, range) in layout.block_ranges().enumerate() {
            let scale = params.blocks[block].scale;
            let bound = scale.abs() * (0.5 + 1.0 / 4096.0);
            let constant = values[range.clone()]
                .windows(2)
                .all(|pair| pair[0] == pair[1]);
            for index in range {
                let error = (values[index] - restored[index]).abs();
                assert!(
                    error <= bound && (!constant || error == 0.0),
                    "weight {index} = {} restored as {} (scale {scale}, block {block})",
                    values[index],
                    restored[index]
                );
            }
        }
    }

    let mut halves = vec![f16::ZERO; values.len()];
    dequantize(codes, params, shape, FloatSliceMut::F16(&mut halves)).expect("dequantize f16");
    let mut brains = vec![bf16::ZERO; values.len()];
    dequantize(codes, params, shape, FloatSliceMut::BF16(&mut brains)).expect("dequantize bf16");
    for (index, &value) in restored.iter().enumerate() {
        assert_eq!(
            halves[index].to_bits(),
            f16::from_f32(value).to_bits(),
            "f16 at {index}"
        );
        assert_eq!(
            brains[index].to_bits(),
            bf16::from_f32(value).to_bits(),
            "bf16 at {index}"
        );
    }

    // A weight within half a step of MAX_ABS_WEIGHT can be reconstructed just above it, and
    // re-quantizing rejects that value like any other weight over the limit (found by fuzzing).
    let over_limit = restored
        .iter()
        .position(|value| value.abs() > MAX_ABS_WEIGHT);
    let mut again = vec![0u8; codes.len()];
    let requantized = quantize_with_params(
        "fuzz",
        FloatSlice::F32(&restored),
        shape,
        params,
        &mut again,
    );
    match (requantized, over_limit) {
        (Ok(_), None) => {}
        (Err(QuantError::ValueTooLarge { index, .. }), Some(first)) if index == first => return,
        (result, _) => {
            panic!("re-quantizing gave {result:?}; first value over the limit: {over_limit:?}")
        }
    }
    for (index, (&first, &second)) in codes.iter().zip(&again).enumerate() {
        let block = layout.block_of(index).expect("block of an element");
        let same_value = params.blocks[block].dequantize_code(first)
            == params.blocks[block].dequantize_code(second);
        // Two codes can only both be right when they stand for the same value (a zero scale).
        assert!(
            first == second || same_value,
            "code {first} at {index} re-quantized as {second}"
        );
    }
}
