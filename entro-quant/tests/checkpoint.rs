//! The quantizer on whole checkpoints: the real SmolLM2-135M-Instruct from
//! `../shared` when present, and a synthetic safetensors file through the same
//! loader and checks everywhere.

mod common;

use std::path::PathBuf;

use common::checkpoint::{LoadedTensor, quantizable_tensors, real_checkpoint};
use common::{block_of_each, half_step};
use entro_quant::{
    ChosenScheme, FloatSliceMut, Granularity, QuantConfig, Scheme, dequantize, quantize,
};
use half::{bf16, f16};
use safetensors::{Dtype, tensor::TensorView};

/// Quantizes every tensor with `config`, checks the half-step bound on each
/// and returns the size-weighted mean relative RMS error.
fn weighted_error(tensors: &[LoadedTensor], config: &QuantConfig) -> f64 {
    let (mut weighted, mut total) = (0.0, 0.0);
    for tensor in tensors {
        let mut codes = vec![0u8; tensor.weights.len()];
        let report = quantize(
            &tensor.name,
            tensor.weights.slice(),
            &tensor.shape,
            config,
            &mut codes,
        )
        .unwrap_or_else(|err| panic!("{}: {err}", tensor.name));
        let mut restored = vec![0.0f32; codes.len()];
        dequantize(
            &codes,
            &report.params,
            &tensor.shape,
            FloatSliceMut::F32(&mut restored),
        )
        .unwrap();
        let blocks = block_of_each(&report.params, &tensor.shape);
        let original = tensor.weights.widened();
        for i in 0..original.len() {
            assert!(
                (original[i] - restored[i]).abs() <= half_step(blocks[i]),
                "{} [{i}]",
                tensor.name
            );
        }
        let mixed = report.stats.min < 0.0 && report.stats.max > 0.0;
        if config.scheme == Scheme::Auto {
            let expected_asymmetric = mixed;
            assert_eq!(
                report.params.scheme == ChosenScheme::Asymmetric,
                expected_asymmetric,
                "{}",
                tensor.name
            );
        }
        let n = report.stats.elements as f64;
        weighted += report.stats.rel_rms_error * n;
        total += n;
    }
    weighted / total
}

#[test]
fn real_checkpoint_error_matches_the_issue_figures() {
    let path = match real_checkpoint() {
        Ok(path) => path,
        Err(reason) => {
            println!("skipping the real-checkpoint test: {reason}");
            return;
        }
    };
    let tensors = quantizable_tensors(&path).unwrap();
    assert_eq!(
        tensors.len(),
        211,
        "30 layers of 7 matrices plus the tied embedding"
    );
    let per_tensor = weighted_error(&tensors, &QuantConfig::default());
    assert!(
        (0.02..0.04).contains(&per_tensor),
        "per-tensor 8-bit error {per_tensor}"
    );
    let per_channel = QuantConfig {
        granularity: Granularity::Channel,
        ..QuantConfig::default()
    };
    let per_channel = weighted_error(&tensors, &per_channel);
    assert!(per_channel < 0.015, "per-channel 8-bit error {per_channel}");
    assert!(per_channel < per_tensor / 2.0);
}

/// A small safetensors file with quantizable and non-quantizable tensors.
fn synthetic_checkpoint() -> PathBuf {
    let matrix: Vec<u8> = (0..64 * 32)
        .flat_map(|i| bf16::from_f32(((i * 7919) % 257) as f32 / 257.0 - 0.4).to_le_bytes())
        .collect();
    let norm: Vec<u8> = (0..32)
        .flat_map(|i| (1.0f32 + i as f32 / 100.0).to_le_bytes())
        .collect();
    let square: Vec<u8> = (0..64)
        .flat_map(|i| f16::from_f32(-(i as f32) / 64.0).to_le_bytes())
        .collect();
    let ids: Vec<u8> = (0..4i64).flat_map(|i| i.to_le_bytes()).collect();
    let views = [
        (
            "layer.weight",
            TensorView::new(Dtype::BF16, vec![64, 32], &matrix).unwrap(),
        ),
        (
            "layer.norm",
            TensorView::new(Dtype::F32, vec![32], &norm).unwrap(),
        ),
        (
            "layer.square",
            TensorView::new(Dtype::F16, vec![8, 8], &square).unwrap(),
        ),
        (
            "layer.ids",
            TensorView::new(Dtype::I64, vec![2, 2], &ids).unwrap(),
        ),
    ];
    let bytes = safetensors::serialize(views, None).unwrap();
    let path = std::env::temp_dir().join(format!(
        "entro-quant-synthetic-{}.safetensors",
        std::process::id()
    ));
    std::fs::write(&path, bytes).unwrap();
    path
}

#[test]
fn synthetic_checkpoint_goes_through_the_same_loader_and_checks() {
    let path = synthetic_checkpoint();
    let tensors = quantizable_tensors(&path).unwrap();
    std::fs::remove_file(&path).unwrap();
    let mut names: Vec<&str> = tensors.iter().map(|t| t.name.as_str()).collect();
    names.sort_unstable();
    assert_eq!(
        names,
        ["layer.square", "layer.weight"],
        "1-D and integer tensors are kept exactly"
    );
    let square = tensors.iter().find(|t| t.name == "layer.square").unwrap();
    assert_eq!(square.shape, [8, 8]);
    assert_eq!(square.weights.widened()[5], -5.0 / 64.0);
    let per_tensor = weighted_error(&tensors, &QuantConfig::default());
    let per_channel = weighted_error(
        &tensors,
        &QuantConfig {
            granularity: Granularity::Channel,
            ..QuantConfig::default()
        },
    );
    assert!(
        per_tensor < 0.01 && per_channel < 0.01,
        "{per_tensor} {per_channel}"
    );
    let four_bit = weighted_error(
        &tensors,
        &QuantConfig {
            bits: 4,
            ..QuantConfig::default()
        },
    );
    assert!(four_bit > per_tensor);
}
