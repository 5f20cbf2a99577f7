//! Property tests of the guarantees in the crate documentation.

mod common;

use common::{Weights, block_of_each, half_step, reference_value};
use entro_quant::{
    BlockParams, ChosenScheme, FloatSliceMut, Granularity, QuantConfig, QuantError, QuantParams,
    Scheme, code_entropy, dequantize, quantize, quantize_with_params,
};
use half::{bf16, f16};
use proptest::prelude::*;

/// A tensor: shape, f32 values and an input format (0 f32, 1 f16, 2 bf16).
fn tensor() -> impl Strategy<Value = (Vec<usize>, Vec<f32>, u8)> {
    let shape = prop_oneof![
        (1usize..6, 1usize..40).prop_map(|(r, c)| vec![r, c]),
        (1usize..4, 1usize..5, 1usize..9).prop_map(|(a, b, c)| vec![a, b, c]),
        (1usize..3).prop_map(|r| vec![r, 1]),
    ];
    // Magnitudes from subnormal to huge, several sign patterns, constants and zeros.
    let values = |n: usize| {
        let magnitude = (-44i32..36).prop_map(|e| 10f32.powi(e));
        let pattern = 0u8..6;
        (magnitude, pattern, prop::collection::vec(-1.0f32..1.0, n)).prop_map(
            |(magnitude, pattern, unit)| {
                unit.iter()
                    .enumerate()
                    .map(|(i, &u)| match pattern {
                        0 => u * magnitude,
                        1 => u.abs() * magnitude,
                        2 => -u.abs() * magnitude,
                        3 => magnitude,
                        4 if i % 3 == 0 => 0.0,
                        4 => u * magnitude,
                        _ if i % 7 == 0 => -0.0,
                        _ => (u * u * u) * magnitude,
                    })
                    .collect::<Vec<f32>>()
            },
        )
    };
    shape.prop_flat_map(move |shape| {
        let n = shape.iter().product();
        (Just(shape), values(n), 0u8..3)
    })
}

fn granularity() -> impl Strategy<Value = Granularity> {
    prop_oneof![
        Just(Granularity::Tensor),
        Just(Granularity::Channel),
        (1u32..50).prop_map(Granularity::Group),
    ]
}

fn scheme() -> impl Strategy<Value = Scheme> {
    prop_oneof![
        Just(Scheme::Auto),
        Just(Scheme::Unsigned),
        Just(Scheme::Asymmetric),
        Just(Scheme::Symmetric)
    ]
}

fn config() -> impl Strategy<Value = QuantConfig> {
    (2u8..=8, scheme(), granularity()).prop_map(|(bits, scheme, granularity)| QuantConfig {
        bits,
        scheme,
        granularity,
        clip: false,
    })
}

fn dequantized(codes: &[u8], params: &QuantParams, shape: &[usize]) -> Vec<f32> {
    let mut out = vec![0.0f32; codes.len()];
    dequantize(codes, params, shape, FloatSliceMut::F32(&mut out)).unwrap();
    out
}

fn has_both_signs(values: &[f32]) -> bool {
    values.iter().any(|&v| v < 0.0) && values.iter().any(|&v| v > 0.0)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn half_step_bound_and_code_range((shape, values, dtype) in tensor(), config in config()) {
        let weights = Weights::new(&values, dtype);
        let x = weights.widened();
        let mut codes = vec![0u8; x.len()];
        let result = quantize("t", weights.slice(), &shape, &config, &mut codes);
        if config.scheme == Scheme::Unsigned && has_both_signs(&x) {
            let mismatch = matches!(result, Err(QuantError::SchemeMismatch { .. }));
            prop_assert!(mismatch, "{:?}", result);
            return Ok(());
        }
        let report = result.unwrap();
        let params = &report.params;
        let max_code = (1u32 << config.bits) - 1;
        let min_code = u8::from(params.scheme == ChosenScheme::Symmetric);
        let blocks = block_of_each(params, &shape);
        let restored = dequantized(&codes, params, &shape);
        let mut counts = [0u64; 256];
        for i in 0..x.len() {
            let code = codes[i];
            prop_assert!(u32::from(code) <= max_code && code >= min_code, "code {} at {}", code, i);
            counts[usize::from(code)] += 1;
            let value = reference_value(blocks[i], code);
            prop_assert_eq!(value.to_bits(), restored[i].to_bits());
            prop_assert!(
                (x[i] - value).abs() <= half_step(blocks[i]),
                "x {} -> {} (block {:?})", x[i], value, blocks[i]
            );
        }
        prop_assert_eq!(counts, report.histogram);
        prop_assert!(counts.iter().filter(|&&c| c > 0).count() <= (1usize << config.bits));
        prop_assert_eq!(report.stats.saturated, 0);
    }

    #[test]
    fn auto_follows_the_sign_rule((shape, values, dtype) in tensor(), bits in 2u8..=8, granularity in granularity()) {
        let weights = Weights::new(&values, dtype);
        let x = weights.widened();
        let config = QuantConfig { bits, granularity, ..QuantConfig::default() };
        let mut codes = vec![0u8; x.len()];
        let report = quantize("t", weights.slice(), &shape, &config, &mut codes).unwrap();
        let min = x.iter().copied().fold(f32::INFINITY, f32::min);
        let max = x.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        // The rule, in exact arithmetic: min * max >= 0 means one sign.
        let one_sign = f64::from(min) * f64::from(max) >= 0.0;
        let expected = if one_sign {
            ChosenScheme::Unsigned { negated: max <= 0.0 && min < 0.0 }
        } else {
            ChosenScheme::Asymmetric
        };
        prop_assert_eq!(report.params.scheme, expected);
        prop_assert_eq!(report.stats.min, min);
        prop_assert_eq!(report.stats.max, max);
        if let ChosenScheme::Unsigned { negated } = expected {
            for block in &report.params.blocks {
                prop_assert_eq!(block.zero_point, 0);
                let sign_ok = if negated { block.scale <= 0.0 } else { block.scale >= 0.0 };
                prop_assert!(sign_ok, "{:?}", block);
            }
            // Zero maps to code 0.
            for (i, &v) in x.iter().enumerate() {
                if v == 0.0 {
                    prop_assert_eq!(codes[i], 0);
                }
            }
        }
    }

    #[test]
    fn requantizing_dequantized_values_is_the_identity((shape, values, dtype) in tensor(), config in config()) {
        let weights = Weights::new(&values, dtype);
        let mut codes = vec![0u8; values.len()];
        let Ok(report) = quantize("t", weights.slice(), &shape, &config, &mut codes) else {
            return Ok(());
        };
        let restored = dequantized(&codes, &report.params, &shape);
        let mut again = vec![0u8; codes.len()];
        let second = quantize_with_params(
            "t",
            Weights::F32(restored.clone()).slice(),
            &shape,
            &report.params,
            &mut again,
        ).unwrap();
        prop_assert_eq!(&again, &codes);
        prop_assert_eq!(second.histogram, report.histogram);
        prop_assert_eq!(second.stats.squared_error, 0.0);
        let restored_again = dequantized(&again, &report.params, &shape);
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        prop_assert_eq!(bits(&restored_again), bits(&restored));
    }

    #[test]
    fn parameters_round_trip_field_by_field((shape, values, dtype) in tensor(), config in config()) {
        let weights = Weights::new(&values, dtype);
        let mut codes = vec![0u8; values.len()];
        let Ok(report) = quantize("t", weights.slice(), &shape, &config, &mut codes) else {
            return Ok(());
        };
        let params = &report.params;
        prop_assert_eq!(params.blocks.len(), params.layout(&shape).unwrap().block_count());
        // Serialize as a container would, then parse back through the validating constructor.
        let (tag, parameter) = params.granularity.to_parts();
        let raw: Vec<(u32, i32)> = params.blocks.iter().map(|b| (b.scale.to_bits(), b.zero_point)).collect();
        let rebuilt = QuantParams::new(
            params.bits,
            ChosenScheme::from_tag(params.scheme.tag()).unwrap(),
            Granularity::from_parts(tag, parameter).unwrap(),
            raw.iter().map(|&(s, z)| BlockParams { scale: f32::from_bits(s), zero_point: z }).collect(),
            &shape,
        ).unwrap();
        prop_assert_eq!(&rebuilt, params);
        let a = dequantized(&codes, params, &shape);
        let b = dequantized(&codes, &rebuilt, &shape);
        prop_assert_eq!(a.iter().map(|v| v.to_bits()).collect::<Vec<_>>(), b.iter().map(|v| v.to_bits()).collect::<Vec<_>>());
        // Half-precision outputs round the f32 values to nearest.
        let mut halves = vec![f16::ZERO; codes.len()];
        dequantize(&codes, params, &shape, FloatSliceMut::F16(&mut halves)).unwrap();
        let mut brains = vec![bf16::ZERO; codes.len()];
        dequantize(&codes, params, &shape, FloatSliceMut::BF16(&mut brains)).unwrap();
        for i in 0..codes.len() {
            prop_assert_eq!(halves[i].to_bits(), f16::from_f32(a[i]).to_bits());
            prop_assert_eq!(brains[i].to_bits(), bf16::from_f32(a[i]).to_bits());
        }
        // A LUT gives the same values.
        let blocks = block_of_each(params, &shape);
        for i in 0..codes.len() {
            prop_assert_eq!(blocks[i].lut_f32()[usize::from(codes[i])].to_bits(), a[i].to_bits());
        }
    }

    #[test]
    fn statistics_match_a_direct_computation((shape, values, dtype) in tensor(), config in config(), clip in any::<bool>()) {
        let weights = Weights::new(&values, dtype);
        let x = weights.widened();
        let config = QuantConfig { clip, ..config };
        let mut codes = vec![0u8; x.len()];
        let Ok(report) = quantize("t", weights.slice(), &shape, &config, &mut codes) else {
            return Ok(());
        };
        let restored = dequantized(&codes, &report.params, &shape);
        let (mut squared_error, mut squared_weight, mut max_error) = (0.0f64, 0.0f64, 0.0f64);
        for (&w, &r) in x.iter().zip(&restored) {
            let e = f64::from(w - r);
            squared_error += e * e;
            squared_weight += f64::from(w) * f64::from(w);
            max_error = max_error.max(e.abs());
        }
        let stats = &report.stats;
        let close = |a: f64, b: f64| (a - b).abs() <= 1e-4 * a.abs().max(b.abs()) || a == b;
        prop_assert!(close(stats.squared_error, squared_error), "{} vs {}", stats.squared_error, squared_error);
        prop_assert!(close(stats.squared_weight, squared_weight));
        prop_assert!(close(stats.max_abs_error, max_error));
        prop_assert_eq!(stats.entropy_bits, code_entropy(&report.histogram));
        prop_assert!(stats.entropy_bits <= f64::from(config.bits) + 1e-9);
        prop_assert_eq!(stats.elements, x.len());
        if squared_error == 0.0 {
            prop_assert_eq!(stats.rel_rms_error, 0.0);
            prop_assert_eq!(stats.snr_db, f64::INFINITY);
        } else {
            prop_assert!(close(stats.rel_rms_error, (squared_error / squared_weight).sqrt()));
        }
        prop_assert!(stats.range_min <= stats.range_max);
    }

    #[test]
    fn clipping_never_loses_to_the_full_range((shape, values, dtype) in tensor(), config in config()) {
        let weights = Weights::new(&values, dtype);
        let x = weights.widened();
        let mut codes = vec![0u8; x.len()];
        let Ok(plain) = quantize("t", weights.slice(), &shape, &config, &mut codes) else {
            return Ok(());
        };
        let clipped_config = QuantConfig { clip: true, ..config };
        let clipped = quantize("t", weights.slice(), &shape, &clipped_config, &mut codes).unwrap();
        prop_assert_eq!(clipped.params.scheme, plain.params.scheme);
        prop_assert!(clipped.stats.squared_error <= plain.stats.squared_error * (1.0 + 1e-3) + f64::MIN_POSITIVE);
        // Inside each block's grid the half-step bound still holds.
        let blocks = block_of_each(&clipped.params, &shape);
        let top = u8::try_from((1u32 << config.bits) - 1).unwrap();
        let restored = dequantized(&codes, &clipped.params, &shape);
        for i in 0..x.len() {
            let ends = [reference_value(blocks[i], clipped.params.min_code()), reference_value(blocks[i], top)];
            let (low, high) = (ends[0].min(ends[1]), ends[0].max(ends[1]));
            if (low..=high).contains(&x[i]) {
                prop_assert!((x[i] - restored[i]).abs() <= half_step(blocks[i]));
            }
        }
    }
}
