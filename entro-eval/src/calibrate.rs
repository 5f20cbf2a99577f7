//! What the linear layers of a model see on a calibration text: the Gram matrix `Σ x xᵀ` of each
//! layer's inputs, which [`crate::gptq`] needs to round weights so that the layer's *outputs*
//! change least.
//!
//! BERT-family encoders are run here layer by layer (the same arithmetic as candle-transformers'
//! `bert`, checked against it by a test) so that every linear layer's input can be read; llama-family
//! models report theirs from [`Llama::forward_observed`].

use std::collections::HashMap;

use candle_core::{D, Tensor};
use candle_nn::{LayerNorm, Linear, Module};
use candle_transformers::models::bert::{Config as BertConfig, HiddenAct};

use crate::llama::Llama;
use crate::model_dir::{Architecture, ModelDir};
use crate::{Error, Result, Weights};

/// `Σ x xᵀ` over the input vectors one linear layer saw.
#[derive(Debug, Clone, PartialEq)]
pub struct InputGram {
    dim: usize,
    sum: Vec<f64>,
    samples: u64,
}

impl InputGram {
    fn new(dim: usize) -> Self {
        Self {
            dim,
            sum: vec![0.0; dim * dim],
            samples: 0,
        }
    }

    /// Adds the rows of `inputs` (`tokens × dim`).
    fn add(&mut self, inputs: &Tensor) -> Result<()> {
        let (tokens, dim) = inputs.dims2()?;
        if dim != self.dim {
            return Err(Error::InvalidArgument {
                what: "calibration input width",
                value: dim.to_string(),
                expected: "the layer's input width",
            });
        }
        let gram = inputs
            .t()?
            .matmul(inputs)?
            .flatten_all()?
            .to_vec1::<f32>()?;
        for (sum, value) in self.sum.iter_mut().zip(gram) {
            *sum += f64::from(value);
        }
        self.samples += tokens as u64;
        Ok(())
    }

    /// Width of the inputs (the layer's column count).
    #[must_use]
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Input vectors summed.
    #[must_use]
    pub fn samples(&self) -> u64 {
        self.samples
    }

    /// Memory the matrix holds.
    fn bytes(&self) -> u64 {
        (self.sum.len() * size_of::<f64>()) as u64
    }

    /// The mean `x xᵀ`, row-major `dim × dim` (zeros before any sample).
    #[must_use]
    pub fn mean(&self) -> Vec<f64> {
        let count = self.samples.max(1) as f64;
        self.sum.iter().map(|value| value / count).collect()
    }

    /// A Gram matrix from explicit input vectors (rows of `dim` values), for tests and tools.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] when `inputs` is not a whole number of rows.
    pub fn from_rows(dim: usize, inputs: &[f32]) -> Result<Self> {
        if dim == 0 || !inputs.len().is_multiple_of(dim) {
            return Err(Error::InvalidArgument {
                what: "calibration inputs",
                value: format!("{} values for width {dim}", inputs.len()),
                expected: "whole rows of a positive width",
            });
        }
        let mut gram = Self::new(dim);
        for row in inputs.chunks(dim) {
            for (i, &a) in row.iter().enumerate() {
                for (j, &b) in row.iter().enumerate() {
                    gram.sum[i * dim + j] += f64::from(a) * f64::from(b);
                }
            }
            gram.samples += 1;
        }
        Ok(gram)
    }
}

/// Receives each linear layer's input during a calibration run: the names of the weights that
/// read it (query, key and value share theirs) and the inputs, `tokens × width` (with a leading
/// batch dimension of 1 from llama-family models).
pub type Observer<'a> = dyn FnMut(&[String], &Tensor) -> Result<()> + 'a;

/// Most bytes of Gram matrices a calibration holds (one `width² × 8` matrix per distinct linear
/// input): enough for models of a few hundred million weights, and a clear error instead of an
/// out-of-memory abort for larger ones, which would need layer-by-layer calibration.
pub const MAX_GRAM_BYTES: u64 = 4 << 30;

/// Tokens per window when a causal model is calibrated (its text is cut into windows).
const CALIBRATION_WINDOW: usize = 512;

/// Most windows a causal model is calibrated on (8,192 tokens).
const MAX_CALIBRATION_WINDOWS: usize = 16;

/// The input Gram matrices of a model's linear layers, by weight tensor name.
#[derive(Debug, Default, Clone)]
pub struct Calibration {
    grams: Vec<InputGram>,
    by_weight: HashMap<String, usize>,
}

impl Calibration {
    /// Runs the model of `dir` with `weights` over `text`: an encoder over each non-empty line
    /// (one sequence per line, as `entro eval` embeds them; at most `max_lines` lines), a causal
    /// model over the text tokenized whole without BOS, in windows of 512 tokens (at most 16).
    ///
    /// # Errors
    ///
    /// [`Error::TextTooShort`] for a text without tokens; [`Error::LimitExceeded`] past
    /// [`MAX_GRAM_BYTES`]; tokenizer and model errors.
    pub fn from_text(
        dir: &ModelDir,
        weights: &Weights,
        text: &str,
        max_lines: Option<usize>,
    ) -> Result<Self> {
        let sequences = dir.encode_text(text, max_lines)?;
        let calibration = match dir.architecture() {
            Architecture::Bert(config) => Self::bert(config, weights, &sequences)?,
            Architecture::Llama(config) => {
                let model = Llama::load(config, weights)?;
                let mut calibration = Self::default();
                let windows = sequences
                    .iter()
                    .flat_map(|tokens| tokens.chunks(CALIBRATION_WINDOW))
                    .take(MAX_CALIBRATION_WINDOWS);
                for window in windows {
                    model.forward_observed(window, &mut |names: &[String], inputs: &Tensor| {
                        calibration.record(names, inputs)
                    })?;
                }
                calibration
            }
        };
        if calibration.is_empty() {
            return Err(Error::TextTooShort {
                found: 0,
                needed: 1,
            });
        }
        Ok(calibration)
    }

    /// Runs a BERT encoder over `sequences` of token ids and records its linear layers' inputs.
    ///
    /// # Errors
    ///
    /// [`Error::Tensor`] or [`Error::Candle`] for missing or misshapen weights;
    /// [`Error::LimitExceeded`] past [`MAX_GRAM_BYTES`].
    pub fn bert(config: &BertConfig, weights: &Weights, sequences: &[Vec<u32>]) -> Result<Self> {
        let model = BertLayers::load(config, weights)?;
        let mut calibration = Self::default();
        for ids in sequences.iter().filter(|ids| !ids.is_empty()) {
            model.forward(ids, &mut |names: &[String], inputs: &Tensor| {
                calibration.record(names, inputs)
            })?;
        }
        Ok(calibration)
    }

    /// Adds `inputs` (`tokens × width`, or with a leading batch dimension of 1) to the Gram matrix
    /// shared by the weights called `names`.
    fn record(&mut self, names: &[String], inputs: &Tensor) -> Result<()> {
        let inputs = if inputs.rank() == 3 {
            inputs.squeeze(0)?
        } else {
            inputs.clone()
        };
        let index = match names.first().and_then(|name| self.by_weight.get(name)) {
            Some(&index) => index,
            None => {
                let dim = inputs.dims2()?.1;
                let held: u64 = self.grams.iter().map(|gram| gram.bytes()).sum();
                let total = held.saturating_add((dim * dim * 8) as u64);
                if total > MAX_GRAM_BYTES {
                    return Err(Error::LimitExceeded {
                        what: "calibration statistics (bytes)",
                        found: total,
                        limit: MAX_GRAM_BYTES,
                    });
                }
                self.grams.push(InputGram::new(dim));
                let index = self.grams.len() - 1;
                for name in names {
                    self.by_weight.insert(name.clone(), index);
                }
                index
            }
        };
        self.grams[index].add(&inputs)
    }

    /// A calibration from Gram matrices already at hand, by weight name (for tests and tools).
    #[must_use]
    pub fn from_grams(grams: impl IntoIterator<Item = (String, InputGram)>) -> Self {
        let mut calibration = Self::default();
        for (name, gram) in grams {
            calibration.by_weight.insert(name, calibration.grams.len());
            calibration.grams.push(gram);
        }
        calibration
    }

    /// The Gram matrix of the inputs of the linear layer whose weight is `weight_name`.
    #[must_use]
    pub fn gram(&self, weight_name: &str) -> Option<&InputGram> {
        self.grams.get(*self.by_weight.get(weight_name)?)
    }

    /// Linear layers (weights) calibrated.
    #[must_use]
    pub fn len(&self) -> usize {
        self.by_weight.len()
    }

    /// Whether no layer was calibrated.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.by_weight.is_empty()
    }
}

/// A BERT encoder as plain layers, so that the inputs of its linear layers can be read.
pub(crate) struct BertLayers {
    prefix: &'static str,
    word: Tensor,
    position: Tensor,
    token_type: Tensor,
    embeddings_norm: LayerNorm,
    layers: Vec<BertLayer>,
    heads: usize,
    act: HiddenAct,
}

struct BertLayer {
    index: usize,
    query: Linear,
    key: Linear,
    value: Linear,
    attention_out: Linear,
    attention_norm: LayerNorm,
    intermediate: Linear,
    output: Linear,
    output_norm: LayerNorm,
}

impl BertLayers {
    pub(crate) fn load(config: &BertConfig, weights: &Weights) -> Result<Self> {
        let prefix = if weights.contains("bert.embeddings.word_embeddings.weight") {
            "bert."
        } else {
            ""
        };
        let hidden = config.hidden_size;
        let tensor =
            |name: &str, shape: &[usize]| weights.require(&format!("{prefix}{name}"), shape);
        let norm = |name: &str| -> Result<LayerNorm> {
            Ok(LayerNorm::new(
                tensor(&format!("{name}.weight"), &[hidden])?,
                tensor(&format!("{name}.bias"), &[hidden])?,
                config.layer_norm_eps,
            ))
        };
        let linear = |name: &str, out: usize, input: usize| -> Result<Linear> {
            Ok(Linear::new(
                tensor(&format!("{name}.weight"), &[out, input])?,
                Some(tensor(&format!("{name}.bias"), &[out])?),
            ))
        };
        let mut layers = Vec::with_capacity(config.num_hidden_layers);
        for index in 0..config.num_hidden_layers {
            let at = |part: &str| format!("encoder.layer.{index}.{part}");
            let inner = config.intermediate_size;
            layers.push(BertLayer {
                index,
                query: linear(&at("attention.self.query"), hidden, hidden)?,
                key: linear(&at("attention.self.key"), hidden, hidden)?,
                value: linear(&at("attention.self.value"), hidden, hidden)?,
                attention_out: linear(&at("attention.output.dense"), hidden, hidden)?,
                attention_norm: norm(&at("attention.output.LayerNorm"))?,
                intermediate: linear(&at("intermediate.dense"), inner, hidden)?,
                output: linear(&at("output.dense"), hidden, inner)?,
                output_norm: norm(&at("output.LayerNorm"))?,
            });
        }
        Ok(Self {
            prefix,
            word: tensor(
                "embeddings.word_embeddings.weight",
                &[config.vocab_size, hidden],
            )?,
            position: tensor(
                "embeddings.position_embeddings.weight",
                &[config.max_position_embeddings, hidden],
            )?,
            token_type: tensor(
                "embeddings.token_type_embeddings.weight",
                &[config.type_vocab_size, hidden],
            )?,
            embeddings_norm: norm("embeddings.LayerNorm")?,
            layers,
            heads: config.num_attention_heads.max(1),
            act: config.hidden_act,
        })
    }

    /// The last hidden states (`tokens × hidden`) of one sequence (token type 0, no padding);
    /// `seen(weight name, inputs)` receives every linear layer's input.
    pub(crate) fn forward(&self, ids: &[u32], seen: &mut Observer<'_>) -> Result<Tensor> {
        let tokens = ids.len();
        if tokens > self.position.dims()[0] {
            return Err(Error::LimitExceeded {
                what: "sequence length",
                found: tokens as u64,
                limit: self.position.dims()[0] as u64,
            });
        }
        let device = self.word.device();
        let index = Tensor::new(ids, device)?;
        let embedded = self
            .word
            .index_select(&index, 0)?
            .broadcast_add(&self.token_type.get(0)?)?
            .add(&self.position.narrow(0, 0, tokens)?)?;
        let mut hidden = self.embeddings_norm.forward(&embedded)?;
        for layer in &self.layers {
            hidden = self.layer(layer, &hidden, seen)?;
        }
        Ok(hidden)
    }

    fn layer(&self, layer: &BertLayer, hidden: &Tensor, seen: &mut Observer<'_>) -> Result<Tensor> {
        let name =
            |part: &str| format!("{}encoder.layer.{}.{part}.weight", self.prefix, layer.index);
        let projections = [
            "attention.self.query",
            "attention.self.key",
            "attention.self.value",
        ];
        seen(&projections.map(name), hidden)?;
        let (tokens, width) = hidden.dims2()?;
        let head = width / self.heads;
        let split = |x: Tensor| -> Result<Tensor> {
            Ok(x.reshape((tokens, self.heads, head))?
                .transpose(0, 1)?
                .contiguous()?)
        };
        let query = split(layer.query.forward(hidden)?)?;
        let key = split(layer.key.forward(hidden)?)?;
        let value = split(layer.value.forward(hidden)?)?;
        let scores = (query.matmul(&key.t()?)? / (head as f64).sqrt())?;
        let probs = candle_nn::ops::softmax(&scores, D::Minus1)?;
        let context = probs
            .matmul(&value)?
            .transpose(0, 1)?
            .contiguous()?
            .reshape((tokens, width))?;
        seen(&[name("attention.output.dense")], &context)?;
        let attended = layer
            .attention_norm
            .forward(&(layer.attention_out.forward(&context)? + hidden)?)?;
        seen(&[name("intermediate.dense")], &attended)?;
        let inner = layer.intermediate.forward(&attended)?;
        let inner = match self.act {
            HiddenAct::Gelu => inner.gelu_erf()?,
            HiddenAct::GeluApproximate => inner.gelu()?,
            HiddenAct::Relu => inner.relu()?,
        };
        seen(&[name("output.dense")], &inner)?;
        Ok(layer
            .output_norm
            .forward(&(layer.output.forward(&inner)? + attended)?)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bert::BertEncoder;
    use crate::synthetic::write_tiny_bert;

    #[test]
    fn the_plain_layers_compute_what_candle_transformers_computes() {
        let dir = tempfile::tempdir().unwrap();
        write_tiny_bert(dir.path(), 5).unwrap();
        let model = ModelDir::open(dir.path()).unwrap();
        let weights = model.load_weights().unwrap();
        let Architecture::Bert(config) = model.architecture() else {
            panic!("a BERT model")
        };
        let ids = [1u32, 7, 3, 12, 2];
        let reference = BertEncoder::load(config, &weights)
            .unwrap()
            .embed(&ids)
            .unwrap();
        let layers = BertLayers::load(config, &weights).unwrap();
        let mut seen = Vec::new();
        let hidden = layers
            .forward(&ids, &mut |names, inputs| {
                for name in names {
                    seen.push((name.clone(), inputs.dims().to_vec()));
                }
                Ok(())
            })
            .unwrap();
        let pooled = hidden.mean(0).unwrap().to_vec1::<f32>().unwrap();
        for (a, b) in pooled.iter().zip(&reference) {
            assert!((a - b).abs() <= 1e-5 * (1.0 + b.abs()), "{a} {b}");
        }
        // Six linear inputs per layer, the query, key and value ones the same.
        assert_eq!(seen.len(), 6 * config.num_hidden_layers);
        assert_eq!(seen[0].0, "encoder.layer.0.attention.self.query.weight");
        assert_eq!(seen[5].1, vec![ids.len(), config.intermediate_size]);

        let calibration = Calibration::bert(config, &weights, &[ids.to_vec(), vec![4, 5]]).unwrap();
        assert_eq!(calibration.len(), 6 * config.num_hidden_layers);
        let gram = calibration
            .gram("encoder.layer.0.output.dense.weight")
            .unwrap();
        assert_eq!((gram.dim(), gram.samples()), (config.intermediate_size, 7));
    }

    #[test]
    fn llama_models_report_every_linear_input_once_per_window() {
        let dir = tempfile::tempdir().unwrap();
        crate::synthetic::write_tiny_llama(dir.path(), 3).unwrap();
        let model = ModelDir::open(dir.path()).unwrap();
        let weights = model.load_weights().unwrap();
        let Architecture::Llama(config) = model.architecture() else {
            panic!("a llama model")
        };
        let text = crate::synthetic::tiny_text(300, 4);
        let calibration = Calibration::from_text(&model, &weights, &text, None).unwrap();
        let layers = config.num_hidden_layers;
        assert_eq!(calibration.len(), 7 * layers);
        let query = calibration
            .gram("model.layers.0.self_attn.q_proj.weight")
            .unwrap();
        let value = calibration
            .gram("model.layers.0.self_attn.v_proj.weight")
            .unwrap();
        assert!(std::ptr::eq(query, value), "one input, one matrix");
        assert_eq!(query.dim(), config.hidden_size);
        let down = calibration
            .gram("model.layers.0.mlp.down_proj.weight")
            .unwrap();
        assert_eq!(down.dim(), config.intermediate_size);
        let tokens = model
            .tokenizer()
            .unwrap()
            .encode(text.as_str(), false)
            .unwrap()
            .len() as u64;
        assert_eq!(
            down.samples(),
            tokens.min((CALIBRATION_WINDOW * MAX_CALIBRATION_WINDOWS) as u64)
        );
        assert!(calibration.gram("model.embed_tokens.weight").is_none());
        let err = Calibration::from_text(&model, &weights, "", None).unwrap_err();
        assert!(matches!(err, Error::TextTooShort { .. }), "{err}");
    }

    #[test]
    fn gram_matrices_sum_outer_products() {
        let gram = InputGram::from_rows(2, &[1.0, 2.0, 3.0, -1.0]).unwrap();
        assert_eq!(gram.samples(), 2);
        assert_eq!(gram.mean(), vec![5.0, -0.5, -0.5, 2.5]);
        assert!(matches!(
            InputGram::from_rows(2, &[1.0]),
            Err(Error::InvalidArgument { .. })
        ));
    }
}
