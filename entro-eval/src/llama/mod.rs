//! A llama-family decoder on candle, in `f32`, returning the logits of every position.
//!
//! candle-transformers' `llama::Llama::forward` returns the logits of the last position only (it is
//! written for generation), and perplexity needs all of them; so the forward pass is assembled here
//! from candle-nn's pieces (RMS norm, rotary embedding, softmax, linear layers) following Hugging
//! Face transformers' `LlamaForCausalLM`.

mod config;

use candle_core::{D, DType, Device, Tensor};
use candle_nn::{Linear, Module};

pub use config::{LlamaConfig, MAX_DIMENSION, RopeScaling};

use crate::calibrate::Observer;
use crate::{Error, Result, Weights};

/// Longest input [`Llama::forward`] accepts in one call.
pub const MAX_SEQUENCE: usize = 1 << 16;

/// A llama-family causal language model, ready to run.
#[derive(Debug, Clone)]
pub struct Llama {
    config: LlamaConfig,
    embeddings: Tensor,
    layers: Vec<Layer>,
    final_norm: Tensor,
    head: Linear,
    inverse_frequencies: Vec<f32>,
}

#[derive(Debug, Clone)]
struct Layer {
    attention_norm: Tensor,
    query: Linear,
    key: Linear,
    value: Linear,
    output: Linear,
    mlp_norm: Tensor,
    gate: Linear,
    up: Linear,
    down: Linear,
}

impl Llama {
    /// Builds the model from Hugging Face tensor names (`model.embed_tokens.weight`,
    /// `model.layers.{i}.self_attn.q_proj.weight`, ...). The output head is
    /// `lm_head.weight`, or the token embeddings when `tie_word_embeddings` is set or `lm_head`
    /// is absent.
    ///
    /// # Errors
    ///
    /// The errors of [`LlamaConfig::validate`]; [`Error::Tensor`] for a missing or misshapen tensor.
    pub fn load(config: &LlamaConfig, weights: &Weights) -> Result<Self> {
        config.validate()?;
        let hidden = config.hidden_size;
        let heads = config.num_attention_heads * config.head_width();
        let kv = config.kv_heads() * config.head_width();
        let inner = config.intermediate_size;
        let embeddings =
            weights.require("model.embed_tokens.weight", &[config.vocab_size, hidden])?;
        let head_weight = if config.tie_word_embeddings || !weights.contains("lm_head.weight") {
            embeddings.clone()
        } else {
            weights.require("lm_head.weight", &[config.vocab_size, hidden])?
        };
        let linear = |name: &str, rows: usize, columns: usize, bias: bool| -> Result<Linear> {
            let weight = weights.require(&format!("{name}.weight"), &[rows, columns])?;
            let bias = if bias {
                Some(weights.require(&format!("{name}.bias"), &[rows])?)
            } else {
                None
            };
            Ok(Linear::new(weight, bias))
        };
        let mut layers = Vec::with_capacity(config.num_hidden_layers);
        for index in 0..config.num_hidden_layers {
            let prefix = format!("model.layers.{index}");
            let attn = format!("{prefix}.self_attn");
            let mlp = format!("{prefix}.mlp");
            let attn_bias = config.attention_bias;
            layers.push(Layer {
                attention_norm: weights
                    .require(&format!("{prefix}.input_layernorm.weight"), &[hidden])?,
                query: linear(&format!("{attn}.q_proj"), heads, hidden, attn_bias)?,
                key: linear(&format!("{attn}.k_proj"), kv, hidden, attn_bias)?,
                value: linear(&format!("{attn}.v_proj"), kv, hidden, attn_bias)?,
                output: linear(&format!("{attn}.o_proj"), hidden, heads, attn_bias)?,
                mlp_norm: weights.require(
                    &format!("{prefix}.post_attention_layernorm.weight"),
                    &[hidden],
                )?,
                gate: linear(&format!("{mlp}.gate_proj"), inner, hidden, config.mlp_bias)?,
                up: linear(&format!("{mlp}.up_proj"), inner, hidden, config.mlp_bias)?,
                down: linear(&format!("{mlp}.down_proj"), hidden, inner, config.mlp_bias)?,
            });
        }
        Ok(Self {
            config: config.clone(),
            embeddings,
            layers,
            final_norm: weights.require("model.norm.weight", &[hidden])?,
            head: Linear::new(head_weight, None),
            inverse_frequencies: config.inverse_frequencies(),
        })
    }

    /// The configuration the model was built from.
    #[must_use]
    pub fn config(&self) -> &LlamaConfig {
        &self.config
    }

    /// Runs `tokens` (one sequence, positions from 0) and returns the logits of every position,
    /// shape `[tokens.len(), vocab_size]`, in `f32`.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] for an empty input or a token outside the vocabulary;
    /// [`Error::LimitExceeded`] above [`MAX_SEQUENCE`] tokens; [`Error::Candle`] if a tensor
    /// operation fails.
    pub fn forward(&self, tokens: &[u32]) -> Result<Tensor> {
        self.forward_observed(tokens, &mut |_, _| Ok(()))
    }

    /// [`Llama::forward`], reporting every linear layer's input to `seen` with the names of the
    /// weights that read it (query, key and value share one input, as do gate and up), shape
    /// `[1, tokens, width]`: what calibration ([`crate::calibrate`]) needs.
    ///
    /// # Errors
    ///
    /// Those of [`Llama::forward`], and any error `seen` returns.
    pub fn forward_observed(&self, tokens: &[u32], seen: &mut Observer<'_>) -> Result<Tensor> {
        let length = tokens.len();
        if length == 0 {
            return Err(Error::InvalidArgument {
                what: "input length",
                value: "0".to_owned(),
                expected: "at least one token",
            });
        }
        if length > MAX_SEQUENCE {
            return Err(Error::LimitExceeded {
                what: "input length",
                found: length as u64,
                limit: MAX_SEQUENCE as u64,
            });
        }
        if let Some(&token) = tokens
            .iter()
            .find(|&&token| token as usize >= self.config.vocab_size)
        {
            return Err(Error::InvalidArgument {
                what: "token id",
                value: token.to_string(),
                expected: "an id below the vocabulary size",
            });
        }
        let device = Device::Cpu;
        let ids = Tensor::new(tokens, &device)?;
        let mut hidden = self.embeddings.index_select(&ids, 0)?.unsqueeze(0)?;
        let (cos, sin) = self.rotary_tables(length)?;
        let mask = causal_mask(length)?;
        for (index, layer) in self.layers.iter().enumerate() {
            let name = |part: &str| format!("model.layers.{index}.{part}.weight");
            let names = LayerNames {
                attention: ["self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj"].map(name),
                output: [name("self_attn.o_proj")],
                mlp: ["mlp.gate_proj", "mlp.up_proj"].map(name),
                down: [name("mlp.down_proj")],
            };
            hidden = self.layer_forward(layer, &hidden, (&cos, &sin, &mask), &names, seen)?;
        }
        let eps = self.norm_eps();
        let normed = candle_nn::ops::rms_norm(&hidden, &self.final_norm, eps)?;
        let logits = self.head.forward(&normed.squeeze(0)?)?;
        Ok(logits.to_dtype(DType::F32)?)
    }

    fn norm_eps(&self) -> f32 {
        config::narrow(self.config.rms_norm_eps)
    }

    fn layer_forward(
        &self,
        layer: &Layer,
        hidden: &Tensor,
        (cos, sin, mask): (&Tensor, &Tensor, &Tensor),
        names: &LayerNames,
        seen: &mut Observer<'_>,
    ) -> Result<Tensor> {
        let eps = self.norm_eps();
        let (batch, length, _) = hidden.dims3()?;
        let heads = self.config.num_attention_heads;
        let kv_heads = self.config.kv_heads();
        let width = self.config.head_width();

        let normed = candle_nn::ops::rms_norm(hidden, &layer.attention_norm, eps)?;
        seen(&names.attention, &normed)?;
        let split = |projected: Tensor, count: usize| -> Result<Tensor> {
            Ok(projected
                .reshape((batch, length, count, width))?
                .transpose(1, 2)?
                .contiguous()?)
        };
        let query = split(layer.query.forward(&normed)?, heads)?;
        let key = split(layer.key.forward(&normed)?, kv_heads)?;
        let value = split(layer.value.forward(&normed)?, kv_heads)?;
        let query = candle_nn::rotary_emb::rope(&query, cos, sin)?;
        let key = candle_nn::rotary_emb::rope(&key, cos, sin)?;
        let repeats = heads / kv_heads;
        let key = candle_transformers::utils::repeat_kv(key, repeats)?.contiguous()?;
        let value = candle_transformers::utils::repeat_kv(value, repeats)?.contiguous()?;

        let scale = 1.0 / (width as f64).sqrt();
        let scores = (query.matmul(&key.t()?)? * scale)?.broadcast_add(mask)?;
        let probabilities = candle_nn::ops::softmax_last_dim(&scores)?;
        let attended = probabilities.matmul(&value)?.transpose(1, 2)?.reshape((
            batch,
            length,
            heads * width,
        ))?;
        seen(&names.output, &attended)?;
        let hidden = (hidden + layer.output.forward(&attended)?)?;

        let normed = candle_nn::ops::rms_norm(&hidden, &layer.mlp_norm, eps)?;
        seen(&names.mlp, &normed)?;
        let gated =
            (candle_nn::ops::silu(&layer.gate.forward(&normed)?)? * layer.up.forward(&normed)?)?;
        seen(&names.down, &gated)?;
        Ok((&hidden + layer.down.forward(&gated)?)?)
    }

    /// Cosine and sine of every (position, frequency) angle, `[length, head_dim / 2]` each,
    /// computed as transformers does: the angle in `f32`, then `cos` and `sin`.
    fn rotary_tables(&self, length: usize) -> Result<(Tensor, Tensor)> {
        let pairs = self.inverse_frequencies.len();
        let mut cos = Vec::with_capacity(length * pairs);
        let mut sin = Vec::with_capacity(length * pairs);
        for position in 0..length {
            for &frequency in &self.inverse_frequencies {
                let angle = position as f32 * frequency;
                cos.push(angle.cos());
                sin.push(angle.sin());
            }
        }
        let device = Device::Cpu;
        Ok((
            Tensor::from_vec(cos, (length, pairs), &device)?,
            Tensor::from_vec(sin, (length, pairs), &device)?,
        ))
    }
}

/// The weight names of one layer, grouped by the input they read.
struct LayerNames {
    attention: [String; 3],
    output: [String; 1],
    mlp: [String; 2],
    down: [String; 1],
}

/// `[length, length]` additive mask: 0 where a position may attend, `-inf` above the diagonal.
fn causal_mask(length: usize) -> Result<Tensor> {
    let mask: Vec<f32> = (0..length)
        .flat_map(|row| {
            (0..length).map(move |column| if column > row { f32::NEG_INFINITY } else { 0.0 })
        })
        .collect();
    Ok(Tensor::from_vec(mask, (length, length), &Device::Cpu)?)
}

/// Index of the largest logit of each row of a `[positions, vocab]` tensor.
///
/// # Errors
///
/// [`Error::Candle`] if `logits` is not two-dimensional.
pub fn argmax_rows(logits: &Tensor) -> Result<Vec<u32>> {
    Ok(logits.argmax(D::Minus1)?.to_vec1::<u32>()?)
}
