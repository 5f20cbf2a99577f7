//! Behaviour of `quantize` / `dequantize` on hand-picked tensors.

mod common;

use common::{bell, block_of_each, half_step, run};
use entro_quant::{
    ChosenScheme, FloatSlice, FloatSliceMut, Granularity, QuantConfig, QuantError, Scheme,
    dequantize, quantize,
};
use half::{bf16, f16};

fn config(bits: u8, scheme: Scheme, granularity: Granularity) -> QuantConfig {
    QuantConfig {
        bits,
        scheme,
        granularity,
        clip: false,
    }
}

#[test]
fn default_config_is_the_papers_method() {
    let config = QuantConfig::default();
    assert_eq!(
        (config.bits, config.scheme, config.granularity, config.clip),
        (8, Scheme::Auto, Granularity::Tensor, false)
    );
    let weights = bell(4096, 0);
    let (report, _, restored) = run(&weights, &[64, 64], &config);
    assert_eq!(report.params.scheme, ChosenScheme::Asymmetric);
    assert_eq!(report.params.blocks.len(), 1);
    assert!(report.stats.rel_rms_error < 0.02, "{:?}", report.stats);
    assert!(report.stats.entropy_bits < 8.0);
    let step = half_step(report.params.blocks[0]);
    assert!(
        weights
            .iter()
            .zip(&restored)
            .all(|(w, r)| (w - r).abs() <= step)
    );
}

#[test]
fn finer_granularity_and_clipping_cut_the_error_of_outlier_tensors() {
    let weights = bell(64 * 256, 997);
    let shape = [64, 256];
    let tensor = run(
        &weights,
        &shape,
        &config(4, Scheme::Auto, Granularity::Tensor),
    )
    .0
    .stats;
    let group = run(
        &weights,
        &shape,
        &config(4, Scheme::Auto, Granularity::Group(32)),
    )
    .0
    .stats;
    let clipped = QuantConfig {
        clip: true,
        ..config(4, Scheme::Auto, Granularity::Tensor)
    };
    let clipped = run(&weights, &shape, &clipped).0.stats;
    assert!(
        group.rel_rms_error < tensor.rel_rms_error * 0.5,
        "{group:?} vs {tensor:?}"
    );
    assert!(
        clipped.rel_rms_error < tensor.rel_rms_error,
        "{clipped:?} vs {tensor:?}"
    );
    assert!(clipped.saturated > 0);
    assert!(clipped.range_max < tensor.range_max);
    assert_eq!(tensor.saturated, 0);
    assert!(group.snr_db > tensor.snr_db);
}

#[test]
fn one_signed_tensors_use_unsigned_codes() {
    let positive: Vec<f32> = (0..100).map(|i| i as f32 * 0.01).collect();
    let (report, codes, restored) = run(
        &positive,
        &[10, 10],
        &config(8, Scheme::Auto, Granularity::Tensor),
    );
    assert_eq!(
        report.params.scheme,
        ChosenScheme::Unsigned { negated: false }
    );
    assert_eq!(codes[0], 0);
    assert_eq!(codes[99], 255);
    assert_eq!(restored[0], 0.0);

    let negative: Vec<f32> = positive.iter().map(|v| -v).collect();
    let (report, codes, restored) = run(
        &negative,
        &[10, 10],
        &config(8, Scheme::Auto, Granularity::Tensor),
    );
    assert_eq!(
        report.params.scheme,
        ChosenScheme::Unsigned { negated: true }
    );
    assert!(report.params.blocks[0].scale < 0.0);
    assert_eq!(codes[99], 255, "magnitudes are stored");
    assert!((restored[99] + 0.99).abs() < 0.002);
    assert_eq!(restored[0], 0.0);

    let err = quantize(
        "mixed",
        FloatSlice::F32(&[-1.0, 1.0]),
        &[1, 2],
        &config(8, Scheme::Unsigned, Granularity::Tensor),
        &mut [0; 2],
    )
    .unwrap_err();
    assert!(
        matches!(err, QuantError::SchemeMismatch { ref tensor, scheme: Scheme::Unsigned, min: -1.0, max: 1.0 } if tensor == "mixed")
    );
}

#[test]
fn symmetric_codes_are_offset_binary_around_the_middle() {
    let values = [-1.0f32, -0.5, 0.0, 0.25, 1.0];
    let (report, codes, restored) = run(
        &values,
        &[1, 5],
        &config(4, Scheme::Symmetric, Granularity::Tensor),
    );
    assert_eq!(report.params.scheme, ChosenScheme::Symmetric);
    assert_eq!(report.params.blocks[0].zero_point, 8);
    assert_eq!(codes[2], 8);
    assert_eq!(codes[0], 1);
    assert_eq!(codes[4], 15);
    assert_eq!(restored[2], 0.0);
    assert_eq!(restored[0], -1.0);
}

#[test]
fn constant_empty_and_single_element_tensors_are_exact() {
    let schemes = [
        Scheme::Auto,
        Scheme::Unsigned,
        Scheme::Asymmetric,
        Scheme::Symmetric,
    ];
    let granularities = [
        Granularity::Tensor,
        Granularity::Channel,
        Granularity::Group(3),
    ];
    for value in [0.0f32, -0.0, 0.1, -0.1, 3e-39, -7e-45, 1e30, 123.456] {
        for scheme in schemes {
            for granularity in granularities {
                for bits in [2, 4, 8] {
                    let values = vec![value; 12];
                    let (report, _, restored) =
                        run(&values, &[3, 4], &config(bits, scheme, granularity));
                    assert!(
                        restored.iter().all(|&r| r == value),
                        "{value} {scheme} {granularity} {bits}: {restored:?}"
                    );
                    assert_eq!(report.stats.squared_error, 0.0);
                    assert_eq!(report.stats.rel_rms_error, 0.0);
                    assert_eq!(report.stats.snr_db, f64::INFINITY);
                    assert_eq!(report.stats.entropy_bits, 0.0);
                    let (_, _, single) = run(&[value], &[1, 1], &config(bits, scheme, granularity));
                    assert_eq!(single[0], value);
                }
            }
        }
    }
    for shape in [&[0usize, 4][..], &[4, 0], &[0, 0, 3]] {
        for granularity in granularities {
            let (report, _, _) = run(&[], shape, &config(8, Scheme::Auto, granularity));
            assert_eq!(report.stats.elements, 0);
            assert_eq!(report.histogram, [0; 256]);
            assert_eq!((report.stats.min, report.stats.max), (0.0, 0.0));
        }
    }
}

#[test]
fn zeros_stay_zero_in_mixed_tensors() {
    let values = [0.3f32, -0.0, 0.0, -0.7, 0.0, 1.1];
    for scheme in [Scheme::Auto, Scheme::Asymmetric, Scheme::Symmetric] {
        for bits in 2..=8 {
            let (_, _, restored) =
                run(&values, &[2, 3], &config(bits, scheme, Granularity::Tensor));
            for i in [1, 2, 4] {
                assert_eq!(restored[i], 0.0, "{scheme} {bits}");
            }
        }
    }
}

#[test]
fn group_blocks_follow_the_indexing_rule() {
    let values: Vec<f32> = (0..2 * 3 * 5)
        .map(|i| (i as f32 - 11.0) * (1.0 + (i % 4) as f32))
        .collect();
    let shape = [2, 3, 5];
    let (report, _, _) = run(
        &values,
        &shape,
        &config(6, Scheme::Asymmetric, Granularity::Group(4)),
    );
    // Rows of 15 elements, 4 groups per row (4 + 4 + 4 + 3).
    assert_eq!(report.params.blocks.len(), 8);
    let blocks = block_of_each(&report.params, &shape);
    assert_eq!(blocks[15], report.params.blocks[4]);
    assert_eq!(blocks[14], report.params.blocks[3]);
    let (report, _, _) = run(
        &values,
        &shape,
        &config(6, Scheme::Asymmetric, Granularity::Group(100)),
    );
    assert_eq!(
        report.params.blocks.len(),
        2,
        "a group longer than a row is cut at the row end"
    );
}

#[test]
fn half_precision_inputs_and_outputs() {
    let weights = bell(1024, 0);
    let halves: Vec<f16> = weights.iter().map(|&w| f16::from_f32(w)).collect();
    let brains: Vec<bf16> = weights.iter().map(|&w| bf16::from_f32(w)).collect();
    let config = config(8, Scheme::Auto, Granularity::Channel);
    let shape = [16, 64];
    let mut codes = vec![0u8; 1024];
    for input in [FloatSlice::F16(&halves), FloatSlice::BF16(&brains)] {
        let report = quantize("h", input, &shape, &config, &mut codes).unwrap();
        let mut out16 = vec![f16::ZERO; 1024];
        dequantize(
            &codes,
            &report.params,
            &shape,
            FloatSliceMut::F16(&mut out16),
        )
        .unwrap();
        let mut out32 = vec![0.0f32; 1024];
        dequantize(
            &codes,
            &report.params,
            &shape,
            FloatSliceMut::F32(&mut out32),
        )
        .unwrap();
        for i in 0..1024 {
            assert_eq!(out16[i], f16::from_f32(out32[i]));
            assert!(
                (input.get(i).unwrap() - out32[i]).abs() <= half_step(report.params.blocks[i / 64])
            );
        }
    }
}

#[test]
fn histograms_of_large_tensors_match_a_direct_count() {
    // Several histogram batches, with constant rows in between.
    let mut values = bell(3000 * 17, 101);
    for row in (0..3000).step_by(7) {
        values[row * 17..(row + 1) * 17].fill(0.25);
    }
    for granularity in [
        Granularity::Tensor,
        Granularity::Channel,
        Granularity::Group(5),
        Granularity::Group(4096),
    ] {
        for bits in [8, 3] {
            let (report, codes, _) = run(
                &values,
                &[3000, 17],
                &config(bits, Scheme::Auto, granularity),
            );
            let mut counts = [0u64; 256];
            for &code in &codes {
                counts[usize::from(code)] += 1;
            }
            assert_eq!(counts, report.histogram, "{granularity} {bits}");
        }
    }
}
