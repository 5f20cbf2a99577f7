//! The parts of a Hugging Face llama `config.json` that inference needs, validated.

use serde::Deserialize;

use crate::{Error, Result};

/// Largest hidden size, layer count, head count... accepted from a configuration file, so that a
/// hostile `config.json` cannot ask for absurd allocations.
pub const MAX_DIMENSION: usize = 1 << 20;

/// RoPE frequency scaling (`rope_scaling` in `config.json`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct RopeScaling {
    /// `"llama3"` (Llama 3.1 and later) or `"default"` (no scaling). Other types are rejected.
    #[serde(alias = "type")]
    pub rope_type: String,
    /// How much the long wavelengths are stretched.
    #[serde(default = "one")]
    pub factor: f64,
    /// Wavelengths above `original_max_position_embeddings / low_freq_factor` are fully scaled.
    #[serde(default = "one")]
    pub low_freq_factor: f64,
    /// Wavelengths below `original_max_position_embeddings / high_freq_factor` are kept.
    #[serde(default = "four")]
    pub high_freq_factor: f64,
    /// The context length the model was pre-trained with.
    #[serde(default = "default_original_context")]
    pub original_max_position_embeddings: f64,
}

fn one() -> f64 {
    1.0
}

fn four() -> f64 {
    4.0
}

fn default_original_context() -> f64 {
    8192.0
}

fn default_rope_theta() -> f64 {
    10_000.0
}

fn default_act() -> String {
    "silu".to_owned()
}

/// A llama-family decoder's shape and constants, as read from `config.json`.
///
/// candle-transformers' `LlamaConfig` has no `head_dim`, `attention_bias` or `mlp_bias`; models
/// such as SmolLM2 and Llama 3.2 are described in full only with them, so this crate reads its own.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct LlamaConfig {
    /// Width of the residual stream.
    pub hidden_size: usize,
    /// Width of the MLP's hidden layer.
    pub intermediate_size: usize,
    /// Number of tokens.
    pub vocab_size: usize,
    /// Number of decoder layers.
    pub num_hidden_layers: usize,
    /// Query heads.
    pub num_attention_heads: usize,
    /// Key and value heads (grouped-query attention); the query head count when absent.
    #[serde(default)]
    pub num_key_value_heads: Option<usize>,
    /// Width of a head; `hidden_size / num_attention_heads` when absent.
    #[serde(default)]
    pub head_dim: Option<usize>,
    /// Epsilon of the RMS norms.
    pub rms_norm_eps: f64,
    /// Base of the rotary position frequencies.
    #[serde(default = "default_rope_theta")]
    pub rope_theta: f64,
    /// Optional rotary frequency scaling.
    #[serde(default)]
    pub rope_scaling: Option<RopeScaling>,
    /// Whether the output head reuses the token embeddings.
    #[serde(default)]
    pub tie_word_embeddings: bool,
    /// Whether the attention projections have biases.
    #[serde(default)]
    pub attention_bias: bool,
    /// Whether the MLP projections have biases.
    #[serde(default)]
    pub mlp_bias: bool,
    /// The MLP activation; only `silu` is supported.
    #[serde(default = "default_act")]
    pub hidden_act: String,
}

impl LlamaConfig {
    /// Key and value heads.
    #[must_use]
    pub fn kv_heads(&self) -> usize {
        self.num_key_value_heads.unwrap_or(self.num_attention_heads)
    }

    /// Width of one attention head.
    #[must_use]
    pub fn head_width(&self) -> usize {
        self.head_dim
            .unwrap_or(self.hidden_size / self.num_attention_heads.max(1))
    }

    /// Checks that the numbers describe a model this crate can run.
    ///
    /// # Errors
    ///
    /// [`Error::LimitExceeded`] for a dimension above [`MAX_DIMENSION`]; [`Error::InvalidArgument`]
    /// for zero sizes, head counts that do not divide, odd head widths, activations other than
    /// `silu`, unknown RoPE scaling types and non-positive constants.
    pub fn validate(&self) -> Result<()> {
        for (what, value) in [
            ("hidden_size", self.hidden_size),
            ("intermediate_size", self.intermediate_size),
            ("vocab_size", self.vocab_size),
            ("num_hidden_layers", self.num_hidden_layers),
            ("num_attention_heads", self.num_attention_heads),
            ("num_key_value_heads", self.kv_heads()),
            ("head_dim", self.head_width()),
        ] {
            if value == 0 {
                return Err(invalid(what, value, "a positive size"));
            }
            if value > MAX_DIMENSION {
                return Err(Error::LimitExceeded {
                    what,
                    found: value as u64,
                    limit: MAX_DIMENSION as u64,
                });
            }
        }
        if !self.num_attention_heads.is_multiple_of(self.kv_heads()) {
            return Err(invalid(
                "num_key_value_heads",
                self.kv_heads(),
                "a divisor of num_attention_heads",
            ));
        }
        if !self.head_width().is_multiple_of(2) {
            return Err(invalid("head_dim", self.head_width(), "an even width"));
        }
        if self.hidden_act != "silu" {
            return Err(Error::InvalidArgument {
                what: "hidden_act",
                value: self.hidden_act.clone(),
                expected: "silu",
            });
        }
        let positive = |value: f64| value.is_finite() && value > 0.0;
        if !positive(self.rope_theta) || !positive(self.rms_norm_eps) {
            return Err(Error::InvalidArgument {
                what: "rope_theta or rms_norm_eps",
                value: format!("{} / {}", self.rope_theta, self.rms_norm_eps),
                expected: "positive finite numbers",
            });
        }
        if let Some(scaling) = &self.rope_scaling {
            let known = matches!(scaling.rope_type.as_str(), "llama3" | "default");
            let sane = [
                scaling.factor,
                scaling.low_freq_factor,
                scaling.high_freq_factor,
                scaling.original_max_position_embeddings,
            ]
            .into_iter()
            .all(positive)
                && scaling.high_freq_factor > scaling.low_freq_factor;
            if !known || !sane {
                return Err(Error::InvalidArgument {
                    what: "rope_scaling",
                    value: format!("{scaling:?}"),
                    expected: "type llama3 or default, with positive factors, high above low",
                });
            }
        }
        Ok(())
    }

    /// The rotary inverse frequencies, one per pair of head channels, in `f32` as Hugging Face
    /// transformers computes them.
    #[must_use]
    pub fn inverse_frequencies(&self) -> Vec<f32> {
        let width = self.head_width();
        let base: Vec<f64> = (0..width / 2)
            .map(|pair| 1.0 / self.rope_theta.powf((2 * pair) as f64 / width as f64))
            .collect();
        let Some(scaling) = self
            .rope_scaling
            .as_ref()
            .filter(|s| s.rope_type == "llama3")
        else {
            return base.into_iter().map(narrow).collect();
        };
        // Llama 3.1 scaling: stretch long wavelengths by `factor`, keep short ones, and blend
        // linearly (in frequency) in between.
        let low_wavelength = scaling.original_max_position_embeddings / scaling.low_freq_factor;
        let high_wavelength = scaling.original_max_position_embeddings / scaling.high_freq_factor;
        base.into_iter()
            .map(|frequency| {
                let wavelength = 2.0 * std::f64::consts::PI / frequency;
                let scaled = if wavelength < high_wavelength {
                    frequency
                } else if wavelength > low_wavelength {
                    frequency / scaling.factor
                } else {
                    let smooth = (scaling.original_max_position_embeddings / wavelength
                        - scaling.low_freq_factor)
                        / (scaling.high_freq_factor - scaling.low_freq_factor);
                    (1.0 - smooth) * frequency / scaling.factor + smooth * frequency
                };
                narrow(scaled)
            })
            .collect()
    }
}

/// Rounds to the nearest `f32`, as transformers stores its frequencies and epsilons.
#[expect(
    clippy::cast_possible_truncation,
    reason = "rounding f64 to the nearest f32 is the intent"
)]
pub(crate) fn narrow(value: f64) -> f32 {
    value as f32
}

fn invalid(what: &'static str, value: usize, expected: &'static str) -> Error {
    Error::InvalidArgument {
        what,
        value: value.to_string(),
        expected,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn smollm2() -> LlamaConfig {
        serde_json::from_str(
            r#"{"hidden_size":576,"intermediate_size":1536,"vocab_size":49152,
            "num_hidden_layers":30,"num_attention_heads":9,"num_key_value_heads":3,
            "rms_norm_eps":1e-5,"rope_theta":100000.0,"tie_word_embeddings":true,
            "head_dim":64,"hidden_act":"silu","model_type":"llama"}"#,
        )
        .unwrap()
    }

    #[test]
    fn reads_a_real_configuration() {
        let config = smollm2();
        config.validate().unwrap();
        assert_eq!(config.kv_heads(), 3);
        assert_eq!(config.head_width(), 64);
        let frequencies = config.inverse_frequencies();
        assert_eq!(frequencies.len(), 32);
        assert_eq!(frequencies[0], 1.0);
        let last = 1.0 / 100_000f64.powf(62.0 / 64.0);
        assert!((f64::from(frequencies[31]) - last).abs() < 1e-9);
    }

    #[test]
    fn rejects_impossible_shapes() {
        let mut config = smollm2();
        config.num_key_value_heads = Some(4);
        assert!(matches!(
            config.validate(),
            Err(Error::InvalidArgument {
                what: "num_key_value_heads",
                ..
            })
        ));
        let mut config = smollm2();
        config.hidden_size = MAX_DIMENSION + 1;
        assert!(matches!(
            config.validate(),
            Err(Error::LimitExceeded {
                what: "hidden_size",
                ..
            })
        ));
        let mut config = smollm2();
        config.hidden_act = "gelu".to_owned();
        assert!(matches!(
            config.validate(),
            Err(Error::InvalidArgument {
                what: "hidden_act",
                ..
            })
        ));
    }

    #[test]
    fn llama3_scaling_keeps_short_and_stretches_long_wavelengths() {
        let mut config = smollm2();
        config.rope_theta = 500_000.0;
        config.rope_scaling = Some(RopeScaling {
            rope_type: "llama3".to_owned(),
            factor: 32.0,
            low_freq_factor: 1.0,
            high_freq_factor: 4.0,
            original_max_position_embeddings: 8192.0,
        });
        config.validate().unwrap();
        let plain = {
            let mut unscaled = config.clone();
            unscaled.rope_scaling = None;
            unscaled.inverse_frequencies()
        };
        let scaled = config.inverse_frequencies();
        assert_eq!(scaled[0], plain[0]);
        let last = plain.len() - 1;
        assert!((scaled[last] * 32.0 - plain[last]).abs() <= plain[last] * 1e-6);
    }
}
