//! Helpers shared by the integration tests.
#![allow(dead_code, reason = "each test binary uses a different subset")]
#![allow(unreachable_pub, reason = "a test helper module, not an API")]

pub mod checkpoint;

use entro_quant::{
    BlockParams, FloatSlice, FloatSliceMut, QuantConfig, QuantParams, QuantReport, dequantize,
    quantize,
};
use half::{bf16, f16};

/// Weights in one of the three input formats, with their f32 view.
#[derive(Debug, Clone)]
pub enum Weights {
    F32(Vec<f32>),
    F16(Vec<f16>),
    BF16(Vec<bf16>),
}

impl Weights {
    /// Rounds `values` to `dtype` (0 = f32, 1 = f16, 2 = bf16).
    pub fn new(values: &[f32], dtype: u8) -> Self {
        match dtype {
            0 => Weights::F32(values.to_vec()),
            // Clamped to f16's finite range: overflow to infinity is tested elsewhere.
            1 => Weights::F16(
                values
                    .iter()
                    .map(|&v| f16::from_f32(v.clamp(-65504.0, 65504.0)))
                    .collect(),
            ),
            _ => Weights::BF16(values.iter().map(|&v| bf16::from_f32(v)).collect()),
        }
    }

    pub fn slice(&self) -> FloatSlice<'_> {
        match self {
            Weights::F32(v) => FloatSlice::F32(v),
            Weights::F16(v) => FloatSlice::F16(v),
            Weights::BF16(v) => FloatSlice::BF16(v),
        }
    }

    pub fn len(&self) -> usize {
        self.slice().len()
    }

    /// The weights as f32, exactly as the quantizer sees them.
    pub fn widened(&self) -> Vec<f32> {
        match self {
            Weights::F32(v) => v.clone(),
            Weights::F16(v) => v.iter().map(|x| x.to_f32()).collect(),
            Weights::BF16(v) => v.iter().map(|x| x.to_f32()).collect(),
        }
    }
}

/// The block parameters of every element, by the contract's indexing rule.
pub fn block_of_each(params: &QuantParams, shape: &[usize]) -> Vec<BlockParams> {
    let layout = params.layout(shape).unwrap();
    (0..layout.elements())
        .map(|i| params.blocks[layout.block_of(i).unwrap()])
        .collect()
}

/// The contract's dequantization formula, written out independently.
pub fn reference_value(block: BlockParams, code: u8) -> f32 {
    ((code as i32 - block.zero_point) as f32) * block.scale
}

/// The documented half-step bound.
pub fn half_step(block: BlockParams) -> f32 {
    block.scale.abs() * (0.5 + 1.0 / 4096.0)
}

/// Quantizes F32 `values` and dequantizes them back: (report, codes, restored).
pub fn run(
    values: &[f32],
    shape: &[usize],
    config: &QuantConfig,
) -> (QuantReport, Vec<u8>, Vec<f32>) {
    let mut codes = vec![0u8; values.len()];
    let report = quantize("t", FloatSlice::F32(values), shape, config, &mut codes).unwrap();
    let mut restored = vec![0.0f32; values.len()];
    dequantize(
        &codes,
        &report.params,
        shape,
        FloatSliceMut::F32(&mut restored),
    )
    .unwrap();
    (report, codes, restored)
}

/// Bell-shaped weights from a fixed generator, with a few outliers.
pub fn bell(n: usize, outlier_every: usize) -> Vec<f32> {
    let mut state = 0x2545_f491_4f6c_dd1du64;
    (0..n)
        .map(|i| {
            let mut sum = 0.0f32;
            for _ in 0..4 {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                sum += (state >> 40) as f32 / (1u64 << 24) as f32;
            }
            let w = (sum - 2.0) * 0.02;
            if outlier_every > 0 && i % outlier_every == 0 {
                w * 25.0
            } else {
                w
            }
        })
        .collect()
}
