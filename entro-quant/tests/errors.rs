//! Errors: bad weights, caller mistakes, and parameters from elsewhere.

mod common;

use common::{bell, run};

use entro_quant::{
    BlockParams, ChosenScheme, FloatSlice, Granularity, MAX_ABS_WEIGHT, QuantConfig, QuantError,
    QuantParams, Scheme, quantize, quantize_with_params,
};
use half::f16;

fn config(bits: u8, scheme: Scheme, granularity: Granularity) -> QuantConfig {
    QuantConfig {
        bits,
        scheme,
        granularity,
        clip: false,
    }
}

#[test]
fn bad_weights_name_the_tensor_and_index() {
    let mut values = bell(300, 0);
    values[123] = f32::NAN;
    values[200] = f32::INFINITY;
    let err = quantize(
        "model.layers.0.w",
        FloatSlice::F32(&values),
        &[3, 100],
        &QuantConfig::default(),
        &mut [0; 300],
    )
    .unwrap_err();
    assert!(
        matches!(err, QuantError::NonFinite { ref tensor, index: 123, .. } if tensor == "model.layers.0.w"),
        "{err}"
    );
    assert_eq!(
        err.to_string(),
        "tensor \"model.layers.0.w\": weight at index 123 is not finite (NaN)"
    );

    let halves = [f16::ONE, f16::NEG_INFINITY];
    let err = quantize(
        "h",
        FloatSlice::F16(&halves),
        &[1, 2],
        &QuantConfig::default(),
        &mut [0; 2],
    )
    .unwrap_err();
    assert!(matches!(
        err,
        QuantError::NonFinite {
            index: 1,
            value: f32::NEG_INFINITY,
            ..
        }
    ));

    let err = quantize(
        "big",
        FloatSlice::F32(&[1.0, -2e36]),
        &[1, 2],
        &QuantConfig::default(),
        &mut [0; 2],
    )
    .unwrap_err();
    assert!(matches!(
        err,
        QuantError::ValueTooLarge {
            index: 1,
            limit: MAX_ABS_WEIGHT,
            ..
        }
    ));
    // The limit itself is accepted.
    let (report, _, restored) = run(
        &[MAX_ABS_WEIGHT, -MAX_ABS_WEIGHT, 0.0],
        &[1, 3],
        &config(2, Scheme::Auto, Granularity::Tensor),
    );
    assert!(restored.iter().all(|r| r.is_finite()));
    assert!(report.stats.snr_db.is_finite());
}

#[test]
fn caller_mistakes_are_parameter_errors() {
    let values = [1.0f32; 6];
    let mut codes = [0u8; 6];
    let input = FloatSlice::F32(&values);
    let err = quantize("t", input, &[2, 2], &QuantConfig::default(), &mut codes).unwrap_err();
    assert!(matches!(
        err,
        QuantError::LengthMismatch {
            what: "input",
            expected: 4,
            found: 6,
            ..
        }
    ));
    let err = quantize(
        "t",
        input,
        &[2, 3],
        &QuantConfig::default(),
        &mut codes[..5],
    )
    .unwrap_err();
    assert!(matches!(
        err,
        QuantError::LengthMismatch {
            what: "codes",
            expected: 6,
            found: 5,
            ..
        }
    ));
    let err = quantize(
        "t",
        input,
        &[2, 3],
        &config(9, Scheme::Auto, Granularity::Tensor),
        &mut codes,
    )
    .unwrap_err();
    assert!(matches!(err, QuantError::InvalidBits { bits: 9 }));
    let err = quantize(
        "t",
        input,
        &[2, 3],
        &config(1, Scheme::Auto, Granularity::Tensor),
        &mut codes,
    )
    .unwrap_err();
    assert!(matches!(err, QuantError::InvalidBits { bits: 1 }));
    let err = quantize(
        "t",
        input,
        &[2, 3],
        &config(8, Scheme::Auto, Granularity::Group(0)),
        &mut codes,
    )
    .unwrap_err();
    assert!(matches!(err, QuantError::InvalidGroupSize { group: 0 }));
    let err = quantize(
        "t",
        input,
        &[usize::MAX, 3],
        &QuantConfig::default(),
        &mut codes,
    )
    .unwrap_err();
    assert!(matches!(err, QuantError::ShapeOverflow { .. }));
}

#[test]
fn foreign_parameters_saturate_instead_of_failing() {
    let params = QuantParams::new(
        4,
        ChosenScheme::Asymmetric,
        Granularity::Tensor,
        vec![BlockParams {
            scale: 0.1,
            zero_point: 8,
        }],
        &[1, 4],
    )
    .unwrap();
    let mut codes = [0u8; 4];
    let report = quantize_with_params(
        "t",
        FloatSlice::F32(&[-0.8, 0.0, 0.7, 5.0]),
        &[1, 4],
        &params,
        &mut codes,
    )
    .unwrap();
    assert_eq!(codes, [0, 8, 15, 15]);
    assert_eq!(report.stats.saturated, 1);
    assert!((report.stats.max_abs_error - 4.3).abs() < 1e-5);
    // A zero scale or a subnormal one still gives codes and honest statistics.
    for scale in [0.0f32, 1e-41] {
        let params = QuantParams {
            blocks: vec![BlockParams {
                scale,
                zero_point: 3,
            }],
            ..params.clone()
        };
        let report = quantize_with_params(
            "t",
            FloatSlice::F32(&[1.0, 2.0, 0.0, -1.0]),
            &[1, 4],
            &params,
            &mut codes,
        )
        .unwrap();
        assert!(
            (report.stats.squared_error - 6.0).abs() < 1e-4,
            "{scale}: {:?}",
            report.stats
        );
        assert!(codes.iter().all(|&c| c <= 15));
    }
}
