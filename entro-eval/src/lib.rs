//! Measure what compression does to a language model, on the CPU, on the user's own checkpoint.
//!
//! - **Llama-family decoders** ([`llama::Llama`]) are scored by windowed perplexity
//!   ([`perplexity`](perplexity::perplexity)), the way llama.cpp's `llama-perplexity` does it: the
//!   text tokenized whole without BOS, windows of 513 tokens every 512, each token but the first
//!   scored once.
//! - **BERT-family encoders** ([`bert::BertEncoder`], candle-transformers' `bert`) are scored by
//!   the fidelity of their mean-pooled sentence embeddings: the mean and minimum cosine similarity
//!   to the original model's, line by line ([`bert::fidelity`]).
//!
//! Weights come from a Hugging Face folder ([`ModelDir`], safetensors in any float type) or
//! straight from a `.entro` file ([`Weights::from_entro`]), decoded in memory by entro-decode
//! with no temporary safetensors file. Everything runs in `f32` (BF16 and F16 weights are widened
//! exactly), so two checkpoints of one model differ only by their weights. [`Evaluator`] ties it
//! together for `entro eval`.
//!
//! # Example
//!
//! Perplexity of a model that predicts uniformly over 4 tokens is exactly 4, however the text is
//! windowed:
//!
//! ```
//! use candle_core::{Device, Tensor};
//! use entro_eval::perplexity::{CausalLm, perplexity, windows};
//!
//! struct Uniform;
//!
//! impl CausalLm for Uniform {
//!     fn logits(&self, tokens: &[u32]) -> entro_eval::Result<Tensor> {
//!         Ok(Tensor::zeros((tokens.len(), 4), candle_core::DType::F32, &Device::Cpu)?)
//!     }
//! }
//!
//! # fn main() -> entro_eval::Result<()> {
//! let tokens: Vec<u32> = (0..1200).map(|i| i % 4).collect();
//! assert_eq!(windows(tokens.len(), 512)?.len(), 3);
//! let result = perplexity(&Uniform, &tokens, 512, &mut |_, _| {})?;
//! assert_eq!(result.tokens, 1199);
//! assert!((result.perplexity() - 4.0).abs() < 1e-9);
//! # Ok(())
//! # }
//! ```
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod bert;
pub mod calibrate;
mod error;
mod evaluate;
pub mod gptq;
pub mod llama;
mod model_dir;
pub mod perplexity;
pub mod preset;
pub mod synthetic;
mod weights;

pub use candle_core;
pub use error::{Error, ErrorKind, Result};
pub use evaluate::{EvalOptions, Evaluator, Score};
pub use model_dir::{Architecture, ModelDir};
pub use weights::Weights;
