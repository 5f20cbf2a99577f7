//! Deterministic, llama-shaped synthetic checkpoints for demos, tests and
//! benchmarks, so that nothing needs a download.
//!
//! Real LLM weights are roughly Laplace-distributed around zero with a few
//! large outliers per tensor; those outliers are what make per-tensor scales
//! coarse and the codes spiky. The generator reproduces both traits, plus
//! norm weights near one (all positive, like RMSNorm gains).

use std::path::Path;

use half::bf16;

use crate::dtype::Dtype;
use crate::error::Result;
use crate::metadata::MetadataMap;
use crate::safetensors::{SafetensorsWriter, TensorSpec};

/// The shape of a synthetic llama-family model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntheticModel {
    /// Width of the residual stream.
    pub hidden: usize,
    /// Width of the MLP.
    pub intermediate: usize,
    /// Number of transformer blocks.
    pub layers: usize,
    /// Vocabulary size (rows of the embedding matrix).
    pub vocab: usize,
    /// Number of key/value heads relative to query heads (grouped-query attention).
    pub kv_fraction: usize,
    /// Seed for the pseudo-random weights.
    pub seed: u64,
}

/// One generated tensor description; `fill` produces its values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntheticTensor {
    /// Hugging Face llama parameter name.
    pub name: String,
    /// Row-major shape.
    pub shape: Vec<usize>,
    kind: TensorKind,
    seed: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TensorKind {
    Matrix { fan_in: usize },
    Norm,
}

impl SyntheticModel {
    /// A model with about `params` parameters, shaped like a small llama.
    ///
    /// The width is fixed to a common small-model shape and the layer count
    /// grows with `params`, so every size keeps realistic tensor shapes.
    pub fn with_params(params: u64, seed: u64) -> Self {
        let mut model = SyntheticModel {
            hidden: 768,
            intermediate: 2048,
            layers: 1,
            vocab: 32_000,
            kv_fraction: 4,
            seed,
        };
        let fixed = model.embedding_params();
        let per_layer = model.layer_params().max(1);
        let layers = params.saturating_sub(fixed) / per_layer;
        model.layers = usize::try_from(layers.max(1)).unwrap_or(usize::MAX);
        model
    }

    fn embedding_params(&self) -> u64 {
        (self.vocab * self.hidden + self.hidden) as u64
    }

    fn layer_params(&self) -> u64 {
        let kv = self.hidden / self.kv_fraction;
        let attention = 2 * self.hidden * self.hidden + 2 * kv * self.hidden;
        let mlp = 3 * self.hidden * self.intermediate;
        (attention + mlp + 2 * self.hidden) as u64
    }

    /// Total parameter count.
    pub fn param_count(&self) -> u64 {
        self.embedding_params() + self.layer_params() * self.layers as u64
    }

    /// Every tensor, in the order Hugging Face checkpoints list them.
    pub fn tensors(&self) -> Vec<SyntheticTensor> {
        let h = self.hidden;
        let kv = h / self.kv_fraction;
        let i = self.intermediate;
        let mut out = Vec::new();
        let mut push = |name: String, shape: Vec<usize>, kind: TensorKind| {
            let seed = self.seed ^ fnv1a(name.as_bytes());
            out.push(SyntheticTensor {
                name,
                shape,
                kind,
                seed,
            });
        };
        push(
            "model.embed_tokens.weight".into(),
            vec![self.vocab, h],
            TensorKind::Matrix { fan_in: h },
        );
        for layer in 0..self.layers {
            let p = format!("model.layers.{layer}");
            let matrices = [
                ("self_attn.q_proj", h, h),
                ("self_attn.k_proj", kv, h),
                ("self_attn.v_proj", kv, h),
                ("self_attn.o_proj", h, h),
                ("mlp.gate_proj", i, h),
                ("mlp.up_proj", i, h),
                ("mlp.down_proj", h, i),
            ];
            push(
                format!("{p}.input_layernorm.weight"),
                vec![h],
                TensorKind::Norm,
            );
            for (name, rows, cols) in matrices {
                push(
                    format!("{p}.{name}.weight"),
                    vec![rows, cols],
                    TensorKind::Matrix { fan_in: cols },
                );
            }
            push(
                format!("{p}.post_attention_layernorm.weight"),
                vec![h],
                TensorKind::Norm,
            );
        }
        push("model.norm.weight".into(), vec![h], TensorKind::Norm);
        out
    }
}

impl SyntheticTensor {
    /// Number of elements.
    pub fn len(&self) -> usize {
        self.shape.iter().product()
    }

    /// Whether the tensor has no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The tensor's values as BF16, the dtype most LLM checkpoints ship in.
    pub fn values_bf16(&self) -> Vec<bf16> {
        let mut rng = SplitMix64(self.seed);
        match self.kind {
            TensorKind::Norm => (0..self.len())
                .map(|_| bf16::from_f64(1.0 + 0.1 * (rng.next_unit() - 0.5)))
                .collect(),
            TensorKind::Matrix { fan_in } => {
                // Laplace with the standard deviation of a typical init, plus
                // one outlier in ~20k weights, 10-40x larger.
                let std = 1.0 / (fan_in as f64).sqrt();
                let b = std / std::f64::consts::SQRT_2;
                (0..self.len())
                    .map(|_| {
                        let u = rng.next_unit();
                        let sign = if rng.next_u64() & 1 == 0 { 1.0 } else { -1.0 };
                        let mut x = -b * (1.0 - u).ln() * sign;
                        if rng.next_u64().is_multiple_of(20_000) {
                            x *= 10.0 + 30.0 * rng.next_unit();
                        }
                        bf16::from_f64(x)
                    })
                    .collect()
            }
        }
    }
}

/// A small, fast, well-mixed PRNG; enough for test data, not for secrets.
#[derive(Debug, Clone)]
struct SplitMix64(u64);

impl SplitMix64 {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn next_unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Writes `model` as a BF16 safetensors file at `path` (atomically), one
/// tensor at a time so that memory stays at one tensor.
///
/// # Errors
///
/// Any error of [`SafetensorsWriter`].
pub fn write_safetensors(model: &SyntheticModel, path: &Path) -> Result<()> {
    let tensors = model.tensors();
    let specs = tensors
        .iter()
        .map(|t| TensorSpec {
            name: t.name.clone(),
            dtype: Dtype::BF16,
            shape: t.shape.clone(),
        })
        .collect();
    let mut metadata = MetadataMap::new();
    metadata.insert("format", "pt");
    metadata.insert("generator", "entro synthetic llama");
    let mut writer = SafetensorsWriter::create(path, specs, Some(&metadata))?;
    for tensor in &tensors {
        let values = tensor.values_bf16();
        let mut bytes = Vec::with_capacity(values.len() * 2);
        for value in values {
            bytes.extend_from_slice(&value.to_le_bytes());
        }
        writer.write_tensor(&tensor.name, &bytes)?;
    }
    writer.finish()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sized_model_lands_near_the_requested_parameter_count() {
        let model = SyntheticModel::with_params(100_000_000, 7);
        let count = model.param_count();
        assert!((90_000_000..=110_000_000).contains(&count), "{count}");
        let listed: u64 = model.tensors().iter().map(|t| t.len() as u64).sum();
        assert_eq!(listed, count);
    }

    #[test]
    fn values_are_deterministic_and_heavy_tailed() {
        let model = SyntheticModel::with_params(1, 3);
        let tensor = &model.tensors()[2];
        let a = tensor.values_bf16();
        assert_eq!(a, tensor.values_bf16());
        let f: Vec<f32> = a.iter().map(|v| v.to_f32()).collect();
        let mean_sq = f.iter().map(|x| x * x).sum::<f32>() / f.len() as f32;
        let max = f.iter().fold(0.0f32, |m, x| m.max(x.abs()));
        // An outlier far outside the bulk, as in real checkpoints.
        assert!(
            max > 8.0 * mean_sq.sqrt(),
            "max {max} rms {}",
            mean_sq.sqrt()
        );
        assert!(f.iter().any(|x| *x < 0.0) && f.iter().any(|x| *x > 0.0));
    }

    #[test]
    fn written_file_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tiny.safetensors");
        let model = SyntheticModel {
            hidden: 16,
            intermediate: 32,
            layers: 2,
            vocab: 50,
            kv_fraction: 4,
            seed: 1,
        };
        write_safetensors(&model, &path).unwrap();
        let checkpoint = crate::safetensors::SafetensorsCheckpoint::open(&path).unwrap();
        assert_eq!(checkpoint.tensors().len(), model.tensors().len());
        let first = &checkpoint.tensors()[0];
        assert_eq!(first.name(), "model.embed_tokens.weight");
        assert_eq!(first.shape(), &[50, 16]);
    }
}
